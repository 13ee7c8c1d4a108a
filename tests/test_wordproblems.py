"""Word problems: answers recomputed independently, steps that add up, determinism, splits."""

import re

import pytest

from llmbook import wordproblems as W


def independent_answer(p: W.Problem) -> int:
    """The answer worked out again from the numbers in the question text."""
    nums = [int(x) for x in re.findall(r"\d+", p.question)]
    if p.template == "sister":  # the age gap is what stays the same
        then, now = nums
        return now - (then - then // 2)
    if p.template == "pens":
        n, price, book = nums
        return n * price + book
    if p.template == "change":
        money, n, price = nums
        return money - n * price
    if p.template == "age_sum":
        tom, older = nums
        return tom + tom + older
    if p.template == "marbles":
        red, blue, out = nums
        return red + blue - out
    raise AssertionError(p.template)


@pytest.mark.parametrize("lang", W.LANGS)
@pytest.mark.parametrize("split", W.SPLITS)
def test_answers_and_steps_are_right(lang, split):
    probs = W.problems(300, lang, split, seed=3)
    assert {p.template for p in probs} >= {"sister", "pens", "change", "age_sum"}
    for p in probs:
        assert p.answer == independent_answer(p), p
        assert p.answer >= 0
        for step in p.steps:  # every equation holds (a/b is whole-number division here)
            lhs, rhs = step.split("=")
            a, op, b = re.fullmatch(r"(\d+)([-+*/])(\d+)", lhs).groups()
            a, b = int(a), int(b)
            assert {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op] == int(rhs), step
        assert p.steps[-1].endswith(f"={p.answer}")


def test_seed_example_from_the_chapter():
    p = W.make_problem("sister", (6, 70), "en")
    assert p.answer == 67
    assert p.steps == ("6/2=3", "6-3=3", "70-3=67")
    assert "6" in p.question and "70" in p.question
    assert W.make_problem("sister", (6, 70), "ko").answer == 67


def test_deterministic_and_seeded():
    assert W.problems(50, "ko", "train", seed=1) == W.problems(50, "ko", "train", seed=1)
    assert W.problems(50, "ko", "train", seed=1) != W.problems(50, "ko", "train", seed=2)


def test_heldout_is_disjoint():
    key = lambda p: (p.template, p.numbers)  # noqa: E731
    for lang in W.LANGS:
        train = {key(p) for p in W.problems(2000, lang, "train")}
        test = W.problems(500, lang, "test")
        assert not train & {key(p) for p in test}
        assert {t for t, _ in train}.isdisjoint(W.TEST_ONLY_TEMPLATES)
        assert any(p.template in W.TEST_ONLY_TEMPLATES for p in test)
        assert all(W.split_of(*key(p)) == "test" for p in test)


def test_bad_input():
    with pytest.raises(ValueError, match="lang"):
        W.problems(3, "fr")
    with pytest.raises(ValueError, match="split"):
        W.problems(3, "en", "dev")
    with pytest.raises(ValueError, match="only in the test split"):
        W.problems(3, "en", "train", templates=("marbles",))
    with pytest.raises(ValueError, match="template"):
        W.make_problem("trains", (1, 2), "en")
