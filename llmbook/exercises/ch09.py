"""Chapter 9 checks: a few-shot prompt, answer extraction, majority vote, BM25, a chat template,
digits-only logits."""

from __future__ import annotations

import random

import torch

from llmbook import gpt, prompting, retrieval, wordproblems
from llmbook.exercises.core import Fail, call, exercise, expect_close, expect_equal


@exercise("09.1", "few_shot", points=2, ko="퓨샷 프롬프트 만들기", en="Build a few-shot prompt")
def _few_shot(fn) -> None:
    pool = wordproblems.problems(8, "en", "train", seed=91)
    for k in (0, 1, 3):
        demos, question = pool[:k], pool[-1].question
        got = call(fn, [(p.question, p.answer) for p in demos], question)
        expect_equal(
            got, prompting.few_shot_prompt(demos, question, "en"), f"few_shot({k} demos, ...)"
        )


@exercise("09.2", "extract_answer", points=2, ko="답 추출하기", en="Extract the answer")
def _extract_answer(fn) -> None:
    cases = [" 42", " 42.", " 3+4=7. 7*2=14. The answer is 14.", " 12\n\nQ: 5", " 3+4=7. 7+1=8.",
             " The answer is 5. The answer is 6.", " no idea", "", " 17 apples"]  # fmt: skip
    for text in cases:
        expect_equal(
            call(fn, text), prompting.extract_answer(text, "en"), f"extract_answer({text!r})"
        )


@exercise("09.3", "majority_vote", points=2, ko="다수결", en="Majority vote")
def _majority_vote(fn) -> None:
    rng = random.Random(93)
    cases = [[3, 5, 3], [5, 3, 3, 5], [None, None], [], [None, 7, 7, 2], [2, None, 7, 7, 2]]
    cases += [[rng.choice([None, 1, 2, 3, 4]) for _ in range(rng.randint(1, 9))] for _ in range(20)]
    for answers in cases:
        expect_equal(
            call(fn, list(answers)), prompting.majority_vote(answers), f"majority_vote({answers})"
        )


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
        expect_close(torch.tensor([float(x) for x in got]), torch.tensor(retrieval.BM25(docs).scores(query)),
                     f"bm25_scores({docs}, {query})", atol=1e-6)  # fmt: skip


@exercise("09.5", "chat_template", points=2, ko="채팅 템플릿", en="A chat template")
def _chat_template(fn) -> None:
    from llmbook.finetune import format_chat

    convs = [[{"role": "user", "content": "Hi"}],
             [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
              {"role": "user", "content": "안녕"}]]  # fmt: skip
    for messages in convs:
        for gen in (False, True):
            expect_equal(call(fn, [dict(m) for m in messages], gen), format_chat(messages, gen),
                         f"chat_template({messages}, {gen})")  # fmt: skip


@exercise("09.6", "digits_only", points=2, ko="숫자 토큰만 남기기", en="Keep only digit tokens")
def _digits_only(fn) -> None:
    gen = torch.Generator().manual_seed(96)
    for vocab, allowed in ((10, [1, 4]), (50, [0, 7, 8, 49]), (5, [2])):
        logits = torch.randn(vocab, generator=gen)
        got = call(fn, logits.clone(), list(allowed))
        expect_close(
            got, gpt.allow_only(logits, allowed), f"digits_only(logits of {vocab}, {allowed})"
        )
