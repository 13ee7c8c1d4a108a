"""Compute budget: 6·N·D FLOPs, Chinchilla tokens, wall-clock time, reference models."""

import math

import pytest

from llmbook import scaling
from llmbook.gpt import GPTConfig


def test_training_flops_is_six_n_d():
    assert scaling.training_flops(10, 3) == 180
    # GPT-3: 175e9 parameters x 300e9 tokens; the paper reports ~3.14e23 FLOPs of training compute
    assert scaling.training_flops(175e9, 300e9) == pytest.approx(3.15e23)
    assert math.isclose(scaling.training_flops(175e9, 300e9), 3.14e23, rel_tol=0.01)


def test_chinchilla_tokens():
    assert scaling.chinchilla_tokens(70e9) == pytest.approx(1.4e12)  # Chinchilla's own size
    assert scaling.chinchilla_tokens(1_000, tokens_per_param=5) == 5_000


def test_throughput_and_time_by_hand():
    # 1M parameters at 1,000 tokens/s: 6e9 FLOP/s
    assert scaling.flops_per_second(1e6, 1_000) == pytest.approx(6e9)
    # 1e18 FLOPs at 1e15 peak, 40% achieved: 2,500 s
    assert scaling.training_seconds(1e18, 1e15, 0.4) == pytest.approx(2_500)
    # a measured throughput (utilisation 1) reproduces the time the tokens took
    fps = scaling.flops_per_second(2e6, 500)
    assert scaling.training_seconds(scaling.training_flops(2e6, 500 * 60), fps) == pytest.approx(60)


@pytest.mark.parametrize("seconds, text", [
    (0, "0.0 s"), (4.25, "4.2 s"), (45, "45 s"), (90, "1.5 min"), (3 * 3600, "3.0 h"),
    (36 * 3600, "1.5 days"), (20 * 86400, "20 days"), (2 * 365.25 * 86400, "2.0 years"),
    (41e3 * 365.25 * 86400, "41,000 years"),
])  # fmt: skip
def test_format_duration(seconds, text):
    assert scaling.format_duration(seconds) == text


def test_format_duration_in_korean():
    assert scaling.format_duration(90, lang="ko") == "1.5 분"
    assert scaling.format_duration(25 * 365.25 * 86400, lang="ko") == "25 년"
    with pytest.raises(ValueError, match="lang"):
        scaling.format_duration(1, lang="fr")


@pytest.mark.parametrize("call", [
    lambda: scaling.training_flops(0, 10),
    lambda: scaling.training_flops(10, -1),
    lambda: scaling.training_flops(float("nan"), 1),
    lambda: scaling.chinchilla_tokens(-5),
    lambda: scaling.training_seconds(1e9, 1e9, utilisation=0),
    lambda: scaling.training_seconds(1e9, 1e9, utilisation=1.5),
    lambda: scaling.flops_per_second(1e6, 0),
    lambda: scaling.format_duration(-1),
])  # fmt: skip
def test_bad_numbers_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_non_numbers_raise_type_error():
    with pytest.raises(TypeError, match="number"):
        scaling.training_flops("124M", 10)
    with pytest.raises(TypeError):
        scaling.chinchilla_tokens(True)
    with pytest.raises(TypeError, match="ReferenceModel"):
        scaling.budget_table([("GPT-2", 124e6, 1e9)], 1e12)


def test_reference_models_match_presets_and_published_counts():
    refs = {m.name: m for m in scaling.REFERENCE_MODELS}
    assert refs["GPT-2 small"].parameters == GPTConfig.preset("gpt2-124m").num_parameters()
    assert refs["GPT-2 XL"].parameters == GPTConfig.preset("gpt2-1558m").num_parameters()
    assert not refs["GPT-2 small"].tokens_published  # GPT-2's paper gives no token count
    assert refs["GPT-2 small"].tokens == 20 * refs["GPT-2 small"].parameters
    assert refs["GPT-3"].tokens == 300e9 and refs["GPT-3"].tokens_published
    assert refs["GPT-3"].flops == scaling.training_flops(175e9, 300e9)


def test_budget_table_times_scale_with_throughput():
    models = scaling.REFERENCE_MODELS
    slow = scaling.budget_table(models, 1e12)
    fast = scaling.budget_table(models, scaling.H100_PEAK_FLOPS, scaling.TYPICAL_UTILISATION)
    for s, f, m in zip(slow, fast, models, strict=True):
        assert s["name"] == m.name and s["flops"] == m.flops
        assert s["seconds"] == pytest.approx(m.flops / 1e12)
        ratio = scaling.H100_PEAK_FLOPS * scaling.TYPICAL_UTILISATION / 1e12
        assert s["seconds"] / f["seconds"] == pytest.approx(ratio)
