"""Prompting a small model: templates, few-shot, chain of thought, self-consistency, and
measuring what each one changes (the completions themselves, constrained decoding included, come
from :func:`llmbook.generation.complete`).

Everything runs on our own model. The reasoner is trained on a mix of word problems
(:mod:`llmbook.wordproblems`) answered directly, answered with worked steps after a trigger
phrase (chain of thought), after one or two solved examples (few-shot), and reading-from-context
questions (:mod:`llmbook.documents`); :mod:`llmbook.recipes.reasoner` fine-tunes the shipped base
model on it (loss on the answers only, :func:`llmbook.finetune.finetune`) and ships the result as
the store's ``reasoner``, with its held-out accuracies on the card.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import torch

from llmbook import wordproblems
from llmbook.generation import complete
from llmbook.gpt import GPT
from llmbook.pretrain import MODEL_CONFIG
from llmbook.tokens import digit_token_ids, encode
from llmbook.wordproblems import Problem

# Per language: question prefix, answer prefix, chain-of-thought trigger, final-answer sentence.
FORMATS = {
    "en": {
        "q": "Q: ",
        "a": "A:",
        "cot": " Let's think step by step.",
        "final": "The answer is {}.",
    },
    "ko": {"q": "문제: ", "a": "답:", "cot": " 단계별로 생각하자.", "final": "따라서 답은 {}."},
}
DEMO_SEPARATOR = "\n\n"
_FINAL_RE = {"en": re.compile(r"answer is\s*(-?\d+)"), "ko": re.compile(r"답은\s*(-?\d+)")}


def _fmt(lang: str) -> dict[str, str]:
    if lang not in FORMATS:
        raise ValueError(f"lang must be one of {tuple(FORMATS)}, got {lang!r}")
    return FORMATS[lang]


def prompt(question: str, lang: str, cot: bool = False) -> str:
    """The question in the question/answer template, ending where the model should continue:
    ``"Q: ...\\nA:"``, plus the trigger phrase for chain of thought."""
    f = _fmt(lang)
    return f"{f['q']}{question}\n{f['a']}" + (f["cot"] if cot else "")


def target(problem: Problem, cot: bool = False) -> str:
    """What should follow :func:`prompt`: the bare answer, or the worked steps then the answer."""
    if not cot:
        return f" {problem.answer}"
    return (
        " "
        + " ".join(f"{s}." for s in problem.steps)
        + " "
        + _fmt(problem.lang)["final"].format(problem.answer)
    )


def demonstration(problem: Problem, cot: bool = False) -> str:
    """A solved example: prompt and answer together."""
    return prompt(problem.question, problem.lang, cot) + target(problem, cot)


def few_shot_prompt(demos: Sequence[Problem], question: str, lang: str, cot: bool = False,
                    max_tokens: int | None = None) -> str:  # fmt: skip
    """``len(demos)`` solved examples, then the question, separated by blank lines. With
    ``max_tokens`` (the model's context, minus room for the answer) a prompt that does not fit
    raises ``ValueError`` instead of being cut silently."""
    text = DEMO_SEPARATOR.join(
        [demonstration(d, cot) for d in demos] + [prompt(question, lang, cot)]
    )
    if max_tokens is not None:
        n = len(encode(text)) + 1  # + the <|endoftext|> the model reads first
        if n > max_tokens:
            raise ValueError(f"the {len(demos)}-shot prompt is {n} tokens, more than the {max_tokens} "
                             "that fit: use fewer or shorter examples")  # fmt: skip
    return text


def extract_answer(text: str, lang: str) -> int | None:
    """The number a completion gives as its answer: the one after "The answer is" / "답은", or
    a first line that is just a number (a direct answer); ``None`` otherwise (e.g. steps that
    never reach a final answer)."""
    _fmt(lang)
    found = _FINAL_RE[lang].findall(text)
    if found:
        return int(found[-1])
    first = re.fullmatch(r"\s*(-?\d+)\.?\s*", text.split("\n")[0])
    return int(first.group(1)) if first else None


def majority_vote(answers: Sequence[int | None]) -> int | None:
    """The most common answer, ignoring ``None`` (no answer found). Ties go to the tied answer
    that appears first in ``answers`` (the earliest sample), so the vote is deterministic;
    ``None`` if no sample gave an answer."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == best)


# ----- evaluation -----------------------------------------------------------------------------

METHODS = ("zero-shot", "few-shot", "cot", "few-shot-cot", "self-consistency")


def demos_for(lang: str, k: int, cot: bool = False, seed: int = 0) -> list[Problem]:
    """``k`` solved training problems to show as examples: the shortest of a fixed pool,
    different templates first, so that k of them still leave room for the question."""
    pool = wordproblems.problems(40, lang, "train", seed=1000 + seed)
    pool.sort(key=lambda p: len(encode(demonstration(p, cot))))
    chosen, seen = [], set()
    for p in pool:  # one per template first, then the rest
        if p.template not in seen and len(chosen) < k:
            chosen.append(p)
            seen.add(p.template)
    chosen += [p for p in pool if p not in chosen][: k - len(chosen)]
    return chosen


def method_prompts(problems: Sequence[Problem], method: str, k: int = 0,
                   context_length: int | None = None) -> tuple[list[str], int]:  # fmt: skip
    """The prompts for ``method`` and how many tokens to let the model write; a prompt that
    leaves no room for them in ``context_length`` tokens (default: the shipped models') raises
    ``ValueError``."""
    if context_length is None:
        context_length = MODEL_CONFIG.context_length
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    cot = method in ("cot", "few-shot-cot", "self-consistency")
    n_new = 40 if cot else 6
    shots = k if method in ("few-shot", "few-shot-cot") else 0
    out = []
    for p in problems:
        demos = demos_for(p.lang, shots, cot)
        out.append(
            few_shot_prompt(demos, p.question, p.lang, cot, max_tokens=context_length - n_new)
        )
    return out, n_new


def predict(model: GPT, problems: Sequence[Problem], method: str = "zero-shot", k: int = 0,
            samples: int = 1, temperature: float = 0.0, constrained: bool = False,
            seed: int = 0) -> list[int | None]:  # fmt: skip
    """The model's answer to each problem with ``method``: ``zero-shot``, ``few-shot`` (``k``
    solved examples first), ``cot`` (the trigger phrase), ``few-shot-cot`` (k worked examples) or
    ``self-consistency`` (``samples`` chain-of-thought answers drawn at ``temperature``, majority
    vote). ``constrained=True`` lets a direct answer contain only digits."""
    prompts, n_new = method_prompts(problems, method, k, model.config.context_length)
    allowed = None
    if constrained:
        if method not in ("zero-shot", "few-shot"):
            raise ValueError("constrained decoding here forces a bare number: use it with "
                             "zero-shot or few-shot, not with worked steps")  # fmt: skip
        prompts, allowed = [p + " " for p in prompts], digit_token_ids()
    if method == "self-consistency":
        return [
            majority_vote(a)
            for a in sample_answers(model, problems, samples, temperature, seed=seed)
        ]
    texts = complete(
        model, prompts, n_new, temperature, allowed, generator=torch.Generator().manual_seed(seed)
    )
    return [extract_answer(t, p.lang) for t, p in zip(texts, problems)]


def sample_answers(model: GPT, problems: Sequence[Problem], samples: int, temperature: float,
                   method: str = "cot", k: int = 0, seed: int = 0) -> list[list[int | None]]:  # fmt: skip
    """``samples`` answers per problem, each from its own reasoning path drawn at ``temperature``
    (the raw material of self-consistency: vote over the first N of them for any N)."""
    if temperature <= 0:
        raise ValueError(
            "sampling several answers needs temperature > 0 (0 gives one greedy answer)"
        )
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    prompts, n_new = method_prompts(problems, "cot" if method == "self-consistency" else method, k,
                                    model.config.context_length)  # fmt: skip
    texts = complete(model, [p for p in prompts for _ in range(samples)], n_new, temperature,
                     generator=torch.Generator().manual_seed(seed))  # fmt: skip
    return [[extract_answer(t, p.lang) for t in texts[i * samples : (i + 1) * samples]]
            for i, p in enumerate(problems)]  # fmt: skip


def accuracy(predictions: Sequence[int | None], problems: Sequence[Problem]) -> float:
    """Fraction of problems whose predicted answer equals the true one."""
    if len(predictions) != len(problems):
        raise ValueError(f"{len(predictions)} predictions for {len(problems)} problems")
    return sum(a == p.answer for a, p in zip(predictions, problems)) / max(1, len(problems))


def fits(problems: Sequence[Problem], method: str, k: int, context_length: int | None = None) -> bool:
    """Whether every prompt of ``method`` with ``k`` examples fits the context (default: the
    shipped models' context), leaving room for the answer."""
    try:
        method_prompts(problems, method, k, context_length)
    except ValueError:
        return False
    return True
