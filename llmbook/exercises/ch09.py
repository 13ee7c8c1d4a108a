"""Chapter 9 checks: a few-shot prompt, answer extraction, majority vote, BM25, a chat template,
digits-only logits."""

from __future__ import annotations

import random

import torch

from llmbook import generation, prompting, search, wordproblems
from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal
from llmbook.finetune import format_chat


@exercise("09.1", "few_shot", points=2, ko="퓨샷 프롬프트 만들기", en="Build a few-shot prompt")
def _few_shot(fn) -> None:
    pool = wordproblems.problems(8, "en", "train", seed=91)
    for k in (0, 1, 3):
        demos, question = pool[:k], pool[-1].question
        got = call(fn, [(p.question, p.answer) for p in demos], question)
        expected = prompting.few_shot_prompt(demos, question, "en")
        if k and isinstance(got, str) and got != expected and got.replace("\n\n", "\n") == expected.replace("\n\n", "\n"):
            raise Fail(f"few_shot({k}개 예시, ...): 예시와 질문 사이는 빈 줄 하나(\\n\\n)로 구분합니다.",
                       f"few_shot({k} demos, ...): examples and the question are separated by a blank "
                       "line (\\n\\n).")  # fmt: skip
        expect_equal(got, expected, f"few_shot({k} demos, ...)")


@exercise("09.2", "extract_answer", points=2, ko="답 추출하기", en="Extract the answer")
def _extract_answer(fn) -> None:
    cases = [" 42", " 42.", " 3+4=7. 7*2=14. The answer is 14.", " 12\n\nQ: 5", " 3+4=7. 7+1=8.",
             " The answer is 5. The answer is 6.", " no idea", "", " 17 apples"]  # fmt: skip
    for text in cases:
        got, expected = call(fn, text), prompting.extract_answer(text, "en")
        if got != expected and expected is not None and "answer is" in text:
            raise Fail(f"extract_answer({text!r}): 답은 \"The answer is\" 뒤의 (마지막) 수입니다. "
                       f"받은 값: {got!r}",
                       f"extract_answer({text!r}): the answer is the last number after \"The answer "
                       f"is\". Got: {got!r}")  # fmt: skip
        expect_equal(got, expected, f"extract_answer({text!r})")


@exercise("09.3", "majority_vote", points=2, ko="다수결", en="Majority vote")
def _majority_vote(fn) -> None:
    rng = random.Random(93)
    cases = [[3, 5, 3], [5, 3, 3, 5], [None, None], [], [None, 7, 7, 2], [2, None, 7, 7, 2]]
    cases += [[rng.choice([None, 1, 2, 3, 4]) for _ in range(rng.randint(1, 9))] for _ in range(20)]
    for answers in cases:
        got = call(fn, list(answers))
        if got is None and prompting.majority_vote(answers) is not None:
            raise Fail(f"majority_vote({answers}): None은 답이 아닙니다 (답을 찾지 못한 샘플). 세지 말고 "
                       "건너뛰세요.",
                       f"majority_vote({answers}): None is not an answer (a sample with no answer "
                       "found): skip it, do not count it.")  # fmt: skip
        expect_equal(got, prompting.majority_vote(answers), f"majority_vote({answers})")


@exercise("09.4", "bm25_scores", points=3, ko="BM25 점수", en="BM25 scores")
def _bm25(fn) -> None:
    rng = random.Random(94)
    words = list("abcdefg")
    for _ in range(6):
        docs = [
            [rng.choice(words) for _ in range(rng.randint(1, 8))] for _ in range(rng.randint(2, 6))
        ]
        query = [rng.choice(words) for _ in range(rng.randint(1, 3))]
        got = call(fn, [list(d) for d in docs], list(query))
        if not isinstance(got, (list, tuple)) or len(got) != len(docs):
            raise Fail(f"문서마다 점수 하나씩, 길이 {len(docs)}인 리스트를 반환해야 합니다.",
                       f"return a list with one score per document ({len(docs)}).")  # fmt: skip
        expect_close(torch.tensor([float(x) for x in got]), torch.tensor(search.BM25(docs).scores(query)),
                     f"bm25_scores({docs}, {query})", atol=1e-6)  # fmt: skip


@exercise("09.5", "chat_template", points=2, ko="채팅 템플릿", en="A chat template")
def _chat_template(fn) -> None:
    convs = [[{"role": "user", "content": "Hi"}],
             [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
              {"role": "user", "content": "안녕"}]]  # fmt: skip
    for messages in convs:
        for gen in (False, True):
            got = call(fn, [dict(m) for m in messages], gen)
            if isinstance(got, str) and "<|end|>" not in got:
                raise Fail(f"chat_template({messages}, {gen}): 메시지마다 끝에 <|end|>를 붙입니다.",
                           f"chat_template({messages}, {gen}): every message ends with <|end|>.")  # fmt: skip
            expect_equal(got, format_chat(messages, gen),
                         f"chat_template({messages}, {gen})")  # fmt: skip


@exercise("09.6", "digits_only", points=2, ko="숫자 토큰만 남기기", en="Keep only digit tokens")
def _digits_only(fn) -> None:
    gen = torch.Generator().manual_seed(96)
    for vocab, allowed in ((10, [1, 4]), (50, [0, 7, 8, 49]), (5, [2])):
        logits = torch.randn(vocab, generator=gen)
        got = call(fn, logits.clone(), list(allowed))
        if isinstance(got, torch.Tensor) and got.shape == logits.shape and bool(torch.isfinite(got).all()):
            raise Fail(f"digits_only(<{vocab}개 로짓>, {allowed}): 허용되지 않은 토큰의 로짓은 -inf여야 합니다 "
                       "(softmax에서 확률이 정확히 0).",
                       f"digits_only(logits of {vocab}, {allowed}): tokens not allowed need the logit "
                       "-inf (probability exactly 0 after softmax).")  # fmt: skip
        expect_close(
            got, generation.allow_only(logits, allowed), f"digits_only(logits of {vocab}, {allowed})"
        )
