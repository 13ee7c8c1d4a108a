"""The check framework: verdicts instead of tracebacks, in both languages, nothing on stderr."""

import math
import time

import pytest
import torch

from llmbook.exercises import CheckFailed, checker, core, exercises_of, get, run_check

SOLVED = {
    "make_pairs": lambda ids, k: [(ids[max(0, i - k) : i], ids[i]) for i in range(1, len(ids))],
    "softmax_with_temperature": lambda logits, t: torch.softmax(logits / t, dim=-1),
    "families": {"GPT-2": "decoder", "BERT": "encoder", "T5": "encoder-decoder"},
    "perplexity": math.exp,
}


def ids_of(chapter):
    return [ex.id for ex in exercises_of(chapter)]


def test_chapter_1_has_3_to_5_exercises_with_points():
    exs = exercises_of("01")
    assert 3 <= len(exs) <= 5
    assert all(ex.points > 0 and ex.title["ko"] and ex.title["en"] for ex in exs)
    assert get("01.2").grade_id == "ex01_2"


@pytest.mark.parametrize("id", ids_of("01"))
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_right_answers_pass_and_none_fails_with_a_message(id, lang):
    ok = run_check(id, SOLVED, lang)
    assert ok.passed and ok.points == ok.max_points
    bad = run_check(id, dict.fromkeys(SOLVED), lang)
    assert not bad.passed and bad.points == 0 and bad.message
    assert ("아직" in str(bad)) == (lang == "ko")


def wrong_answers():
    def raises(*a):
        raise RuntimeError("boom")

    def loops(*a):
        while True:
            pass

    def warns_and_prints(*a):
        import sys
        import warnings

        warnings.warn("noisy", stacklevel=1)
        print("hello", file=sys.stderr)
        return "not a number"

    yield "raises", raises, "RuntimeError: boom"
    yield "wrong type", lambda *a: "text", "got a str"
    yield "NaN", lambda logits, t: logits * float("nan"), "NaN"
    yield "wrong shape", lambda logits, t: logits[:3], "shape"
    yield "not callable", 42, "should be a function"
    yield "noisy", warns_and_prints, "got a str"
    yield "endless loop", loops, "Stopped after"
    yield "unwritten", ..., "not written yet"


@pytest.mark.parametrize("name,answer,says", list(wrong_answers()), ids=lambda v: str(v)[:12])
def test_every_wrong_answer_is_a_verdict_never_a_crash(name, answer, says, monkeypatch, capfd):
    monkeypatch.setattr(core, "TIME_LIMIT_S", 0.5)
    start = time.perf_counter()
    v = run_check("01.2", {"softmax_with_temperature": answer}, "en")
    assert time.perf_counter() - start < 5
    assert not v.passed and says in v.message
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_missing_name_says_which_one():
    v = run_check("01.1", {}, "ko")
    assert not v.passed and "`make_pairs`" in v.message


def test_checker_reads_the_callers_namespace_and_prints_one_verdict(capsys, monkeypatch):
    monkeypatch.delenv("LLMBOOK_STRICT_CHECKS", raising=False)
    check = checker("en")
    families = SOLVED["families"]  # noqa: F841  (a local is not the notebook namespace)
    globals()["families"] = SOLVED["families"]
    try:
        check("01.3")
    finally:
        del globals()["families"]
    assert capsys.readouterr().out.startswith("[01.3] ✓ Passed")
    check("99.9")
    assert "no exercise '99.9'" in capsys.readouterr().out


def test_strict_mode_raises_a_clean_failure(monkeypatch):
    monkeypatch.setenv("LLMBOOK_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed) as info:
        checker("ko")("01.4")
    assert info.value._render_traceback_()[0].startswith("[01.4] ✗")


def test_bad_ids_and_languages_are_clear_errors():
    with pytest.raises(ValueError, match="looks like '01.2'"):
        get("1")
    with pytest.raises(ValueError, match="'ko' or 'en'"):
        checker("fr")


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __iter__(self):
        return iter([])


class LyingDict(dict):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


@pytest.mark.parametrize(
    "id,ns",
    [
        ("01.1", {"make_pairs": lambda ids, k: AlwaysEqual()}),
        ("01.3", {"families": LyingDict(BERT="decoder", T5="decoder", **{"GPT-2": "decoder"})}),
        ("01.4", {"perplexity": lambda loss: AlwaysEqual()}),
    ],
    ids=["object", "dict subclass", "number"],
)
def test_no_object_of_the_learner_decides_an_equality(id, ns):
    v = run_check(id, ns, "en")
    assert not v.passed and v.points == 0


def test_sys_exit_in_an_answer_is_a_verdict():
    def leaves(*a):
        raise SystemExit(0)

    v = run_check("01.2", {"softmax_with_temperature": leaves}, "ko")
    assert not v.passed and v.status == "crashed" and "sys.exit" in v.message


def test_the_answer_cannot_cancel_the_time_limit(monkeypatch):
    import signal

    def cancels_and_loops(*a):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            try:
                while True:
                    pass
            except Exception:
                pass

    monkeypatch.setattr(core, "TIME_LIMIT_S", 0.5)
    start = time.perf_counter()
    v = run_check("01.2", {"softmax_with_temperature": cancels_and_loops}, "en")
    assert time.perf_counter() - start < 5
    assert v.status == "timed out" and "Stopped after 0.5 s" in v.message
    time.sleep(0.2)  # no stray time-out arrives after the verdict


def test_marks_render_without_an_emoji_font():
    v = run_check("01.4", {"perplexity": math.exp}, "en")
    assert str(v).startswith("[01.4] ✓ Passed")
    assert "✗" in str(run_check("01.4", {}, "en"))
