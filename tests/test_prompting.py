"""Prompting: templates, answer extraction, majority vote, few-shot length, decoding."""


import pytest
import torch

from llmbook import prompting as P
from llmbook import wordproblems as W
from llmbook.gpt import GPT, GPTConfig


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


