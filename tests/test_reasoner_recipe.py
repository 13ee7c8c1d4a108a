"""The reasoner's recipe (llmbook.recipes.reasoner): its training mix."""

import re

from llmbook import prompting as P
from llmbook import wordproblems as W
from llmbook.recipes import reasoner as R
from llmbook.tokens import eot_id


def test_training_examples_mix_styles_and_never_show_test_problems():
    examples = R.training_examples(600)
    prompts = "\n".join(p for p, _ in examples)
    # the trigger is always in the prompt: the model is never trained to start reasoning unasked
    assert not any("step by step" in r or "단계별로" in r for _, r in examples)
    assert "Let's think step by step." in prompts and "단계별로 생각하자." in prompts
    assert any(P.DEMO_SEPARATOR in p for p, _ in examples)
    assert "Context:" in prompts and "참고:" in prompts
    for p, r in examples:  # a bare answer after "A:", worked steps after the trigger
        if p.endswith(("A:", "답:")) and "Context:" not in p and "참고:" not in p:
            assert re.fullmatch(r" \d+", r), (p, r)
    for lang in W.LANGS:
        for p in W.problems(200, lang, "test"):
            assert p.question not in prompts
    pairs = R.training_pairs(300)
    assert all(len(a) + len(b) - 1 <= 128 and b[-1] == eot_id() for a, b in pairs)
