"""Multi-step arithmetic word problems in Korean and English, generated with known answers.

The prompting chapter needs a task where *how* you ask changes the result: each problem takes two
or three small steps (``6/2=3. 6-3=3. 70-3=67.``), so a model that writes the steps out (chain of
thought) can do what it cannot do in one jump. Problems come from a few templates with random
small numbers; every problem carries its worked steps and its answer. Train and test problems
never share numbers (a fixed hash of the template and numbers decides the split), and the
``marbles`` template appears only in the test split, to see what a prompt does on a kind of
problem the model never trained on. All text is generated here (no outside data).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

LANGS = ("ko", "en")
SPLITS = ("train", "test")
TEST_FRACTION = 4  # one number-tuple in TEST_FRACTION goes to the test split


@dataclass(frozen=True)
class Problem:
    """One word problem: its text, the worked steps (equations), the answer and where it came from."""

    question: str
    steps: tuple[str, ...]
    answer: int
    lang: str
    template: str
    numbers: tuple[int, ...]


# Numbers stay small (every value at most 35) so each single step, such as ``12+7=19``, is a sum
# the model sees many times in training: a worked answer chains facts it knows, while a direct
# answer has to do two or three of them at once in one token.
def _sister(r: random.Random) -> tuple[int, ...]:
    a = 2 * r.randint(2, 9)
    return a, r.randint(a + 1, 30)


def _pens(r: random.Random) -> tuple[int, ...]:
    return r.randint(2, 5), r.randint(2, 5), r.randint(1, 9)


def _change(r: random.Random) -> tuple[int, ...]:
    n, p = r.randint(2, 5), r.randint(2, 5)
    return r.randint(n * p + 1, 30), n, p


def _age_sum(r: random.Random) -> tuple[int, ...]:
    return r.randint(2, 12), r.randint(1, 9)


def _marbles(r: random.Random) -> tuple[int, ...]:
    a, b = r.randint(2, 15), r.randint(2, 9)
    return a, b, r.randint(1, a + b - 1)


# template -> (number sampler, steps from the numbers: [(equation, value)], {lang: question})
TEMPLATES: dict[str, tuple[Callable, Callable, dict[str, str]]] = {
    "sister": (
        _sister,
        lambda a, b: [(f"{a}/2", a // 2), (f"{a}-{a // 2}", a - a // 2), (f"{b}-{a - a // 2}", b - (a - a // 2))],
        {"en": "When I was {0}, my sister was half my age. Now I am {1}. How old is she?",
         "ko": "내가 {0}살 때 동생은 내 나이의 절반이었다. 지금 나는 {1}살이다. 동생은 몇 살인가?"},
    ),
    "pens": (
        _pens,
        lambda n, p, c: [(f"{n}*{p}", n * p), (f"{n * p}+{c}", n * p + c)],
        {"en": "I buy {0} pens at {1} each and a book for {2}. How much do I pay?",
         "ko": "펜 {0}개를 {1}원씩 사고 책을 {2}원에 샀다. 모두 얼마인가?"},
    ),
    "change": (
        _change,
        lambda m, n, p: [(f"{n}*{p}", n * p), (f"{m}-{n * p}", m - n * p)],
        {"en": "I have {0}. I buy {1} apples at {2} each. How much is left?",
         "ko": "나는 {0}원이 있다. 사과 {1}개를 {2}원씩 샀다. 남은 돈은?"},
    ),
    "age_sum": (
        _age_sum,
        lambda a, d: [(f"{a}+{d}", a + d), (f"{a}+{a + d}", 2 * a + d)],
        {"en": "Tom is {0}. Ann is {1} years older than Tom. What is the sum of their ages?",
         "ko": "민수는 {0}살이다. 지수는 민수보다 {1}살 많다. 두 사람 나이의 합은?"},
    ),
    "marbles": (
        _marbles,
        lambda a, b, c: [(f"{a}+{b}", a + b), (f"{a + b}-{c}", a + b - c)],
        {"en": "A box has {0} red and {1} blue balls. I take out {2}. How many are left?",
         "ko": "상자에 빨간 공 {0}개와 파란 공 {1}개가 있다. {2}개를 꺼냈다. 몇 개 남았나?"},
    ),
}  # fmt: skip
TEST_ONLY_TEMPLATES = ("marbles",)


def split_of(template: str, numbers: tuple[int, ...]) -> str:
    """``"train"`` or ``"test"``: a fixed hash of the template and numbers, the same in every
    language and every run, so no test problem's numbers are ever trained on."""
    if template in TEST_ONLY_TEMPLATES:
        return "test"
    h = zlib.crc32(f"{template}:{','.join(map(str, numbers))}".encode())
    return "test" if h % TEST_FRACTION == 0 else "train"


def make_problem(template: str, numbers: tuple[int, ...], lang: str) -> Problem:
    """The problem of ``template`` with these numbers, in ``lang``, with steps and answer."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}; choose from {sorted(TEMPLATES)}")
    _, solve, text = TEMPLATES[template]
    steps = solve(*numbers)
    return Problem(
        question=text[lang].format(*numbers),
        steps=tuple(f"{eq}={value}" for eq, value in steps),
        answer=steps[-1][1], lang=lang, template=template, numbers=tuple(numbers),
    )  # fmt: skip


def problems(n: int, lang: str, split: str = "train", seed: int = 0,
             templates: tuple[str, ...] | None = None) -> list[Problem]:  # fmt: skip
    """``n`` problems of ``split`` in ``lang``, templates taken in turn, numbers drawn with
    ``seed`` (the same arguments give the same list). ``templates`` defaults to every template
    the split has (the test split also has the test-only ones)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a whole number >= 0, got {n!r}")
    if templates is None:
        templates = tuple(t for t in TEMPLATES if split == "test" or t not in TEST_ONLY_TEMPLATES)
    if split == "train" and set(templates) & set(TEST_ONLY_TEMPLATES):
        raise ValueError(f"templates {TEST_ONLY_TEMPLATES} exist only in the test split")
    rng = random.Random(f"{seed}:{lang}:{split}")
    out = []
    while len(out) < n:
        template = templates[len(out) % len(templates)]
        numbers = TEMPLATES[template][0](rng)
        if split_of(template, numbers) == split:
            out.append(make_problem(template, numbers, lang))
    return out
