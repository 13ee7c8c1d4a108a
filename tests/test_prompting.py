"""Prompting: templates, answer extraction, majority vote, few-shot length, decoding."""

import re

import pytest
import torch

from llmbook import prompting as P
from llmbook import wordproblems as W
from llmbook.gpt import GPT, GPTConfig, allow_only, generate
from llmbook.pretrain import eot_id
from llmbook.tokenizer import default_tokenizer


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return GPT(
        GPTConfig(vocab_size=4096, context_length=128, n_layer=1, n_head=2, n_embd=16)
    ).eval()


def test_templates():
    p = W.make_problem("sister", (6, 70), "en")
    assert P.prompt(p.question, "en") == f"Q: {p.question}\nA:"
    assert P.target(p) == " 67"
    cot = P.demonstration(p, cot=True)
    assert cot.startswith(P.prompt(p.question, "en", cot=True))
    assert cot.endswith(" 6/2=3. 6-3=3. 70-3=67. The answer is 67.")
    assert P.extract_answer(P.target(p, cot=True), "en") == 67
    k = W.make_problem("pens", (3, 5, 4), "ko")
    assert P.extract_answer(P.target(k, cot=True), "ko") == 19 == k.answer


@pytest.mark.parametrize(("text", "lang", "expected"), [
    (" 42", "en", 42), (" 42.\n\nQ: 7", "en", 42), (" 3+4=7. The answer is 7.", "en", 7),
    (" 3+4=7. 7+1=8.", "en", None), (" none", "en", None), (" 5*2=10. 따라서 답은 10.", "ko", 10),
    ("", "ko", None),
])  # fmt: skip
def test_extract_answer(text, lang, expected):
    assert P.extract_answer(text, lang) == expected


def test_majority_vote_and_ties():
    assert P.majority_vote([3, 5, 3, None, 5, 3]) == 3
    assert P.majority_vote([None, None]) is None
    assert P.majority_vote([]) is None
    assert P.majority_vote([None, 7]) == 7
    # a tie goes to the answer that appeared first
    assert P.majority_vote([5, 3, 3, 5]) == 5
    assert P.majority_vote([None, 3, 5, 5, 3]) == 3


def test_few_shot_prompt_fits_or_raises():
    demos = W.problems(6, "ko", "train")
    q = W.problems(1, "ko", "test")[0]
    one = P.few_shot_prompt(demos[:1], q.question, "ko", max_tokens=120)
    assert one.count("문제:") == 2 and one.endswith("답:") and P.DEMO_SEPARATOR in one
    with pytest.raises(ValueError, match="fewer or shorter"):
        P.few_shot_prompt(demos, q.question, "ko", max_tokens=120)
    assert P.few_shot_prompt([], q.question, "ko") == P.prompt(q.question, "ko")


def test_greedy_complete_matches_generate(tiny):
    prompts = ["Q: Tom is 3.\nA:", "Q: When I was 8\nA:", "Q: x\nA:"]
    got = P.complete(tiny, prompts, 10)
    tok = default_tokenizer()
    for p, g in zip(prompts, got):
        ids = torch.tensor([[eot_id()] + P.encode(p)])
        ref = generate(tiny, ids, 10, greedy=True)[0, ids.shape[1] :].tolist()
        assert g == tok.decode(ref).split("\n")[0].split("<|endoftext|>")[0]


def test_constrained_decoding_emits_only_allowed_tokens(tiny):
    out = P.complete(tiny, ["Q: 1+1\nA: ", "Q: hi\nA: "], 8, allowed_ids=P.digit_token_ids())
    assert all(re.fullmatch(r"\d*", o) for o in out) and any(out)
    sampled = P.complete(tiny, ["Q: hi\nA: "] * 6, 8, temperature=1.5, allowed_ids=P.digit_token_ids(),
                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert all(re.fullmatch(r"\d*", o) for o in sampled)
    free = P.complete(tiny, ["Q: hi\nA: "], 8)
    # without the mask this random model writes other things
    assert not re.fullmatch(r"\d+", free[0])


def test_sampling_is_repeatable_and_context_checked(tiny):
    def run(seed):
        return P.complete(
            tiny, ["Q: a\nA:"] * 4, 6, 1.0, generator=torch.Generator().manual_seed(seed)
        )

    assert run(1) == run(1)
    with pytest.raises(ValueError, match="context"):
        P.complete(tiny, ["word " * 200], 5)
    with pytest.raises(TypeError):
        P.complete(tiny, "Q: a", 5)


def test_predict_and_accuracy(tiny):
    test = W.problems(4, "en", "test")
    for method in ("zero-shot", "cot"):
        preds = P.predict(tiny, test, method)
        assert len(preds) == 4 and 0 <= P.accuracy(preds, test) <= 1
    assert P.accuracy([p.answer for p in test], test) == 1.0
    assert P.accuracy([None] * 4, test) == 0.0
    with pytest.raises(ValueError, match="temperature"):
        P.predict(tiny, test, "self-consistency", samples=3)
    with pytest.raises(ValueError, match="method"):
        P.predict(tiny, test, "magic")


def test_allow_only_masks_everything_else():
    logits = torch.tensor([1.0, 5.0, -2.0, 0.5])
    out = allow_only(logits, [0, 2])
    assert out[0] == 1.0 and out[2] == -2.0 and torch.isinf(out[[1, 3]]).all()
    assert torch.softmax(out, -1)[[1, 3]].sum() == 0 and out.argmax() == 0
    with pytest.raises(ValueError, match="empty"):
        allow_only(logits, [])
    assert set(P.digit_token_ids()) >= {P.encode(str(d))[0] for d in range(10)}
