"""Graded checks: a learner calls ``check("01.2")`` and gets a verdict, never a traceback.

A chapter registers each exercise with :func:`exercise`. The check function receives the learner's
objects, looked up by name in the notebook's namespace (so the score never depends on which cell
defined them), compares them against ``llmbook``'s own reference code, and raises :class:`Fail`
with a bilingual hint when the answer is wrong. Everything else a wrong answer can do (raise,
return the wrong type, loop forever, print warnings) is caught here and turned into a verdict.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

LANGS = ("ko", "en")
TIME_LIMIT_S = 10.0  # per check; a learner's answer that runs longer is interrupted

MISSING = object()  # a name the learner has not defined


class Fail(Exception):
    """A wrong answer: carries the hint in both languages."""

    def __init__(self, ko: str, en: str):
        super().__init__(en)
        self.text = {"ko": ko, "en": en}


class _TimeUp(BaseException):
    """Raised inside the learner's code when the time limit passes (BaseException so that a
    learner's ``except Exception`` cannot swallow it)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    names: tuple[str, ...]
    points: int
    title: dict[str, str]
    check: Callable[..., None]

    @property
    def grade_id(self) -> str:
        """nbgrader-compatible id (letters, digits, '_' only): '01.2' -> 'ex01_2'."""
        return "ex" + self.id.replace(".", "_")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check, in one language."""

    id: str
    passed: bool
    points: float
    max_points: int
    message: str
    lang: str

    def __str__(self) -> str:
        if self.lang == "ko":
            head = "✅ 통과" if self.passed else "❌ 아직 아닙니다"
            score = f"{self.points:g}/{self.max_points}점"
        else:
            head = "✅ Passed" if self.passed else "❌ Not yet"
            score = f"{self.points:g}/{self.max_points} points"
        text = f"[{self.id}] {head} — {score}"
        return f"{text}\n{self.message}" if self.message else text


REGISTRY: dict[str, Exercise] = {}


def exercise(
    id: str, names: str | tuple[str, ...], points: int, ko: str, en: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a check. ``names`` are the learner's variables it grades, passed in that order;
    ``ko``/``en`` are the exercise's one-line titles."""
    names = (names,) if isinstance(names, str) else tuple(names)

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if id in REGISTRY:
            raise ValueError(f"exercise {id} is registered twice")
        REGISTRY[id] = Exercise(id, names, points, {"ko": ko, "en": en}, fn)
        return fn

    return register


def get(id: str) -> Exercise:
    """The registered exercise ``id`` ("NN.K"), importing chapter NN's checks on first use."""
    if not isinstance(id, str) or "." not in id:
        raise ValueError(f"an exercise id looks like '01.2' (chapter.number), got {id!r}")
    if id not in REGISTRY:
        _load_chapter(id.split(".")[0])
    if id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none loaded"
        raise ValueError(f"no exercise {id!r} (known: {known})")
    return REGISTRY[id]


def _load_chapter(chapter: str) -> None:
    """Import ``llmbook.exercises.chNN`` (which registers its checks), if that chapter has one."""
    module = f"llmbook.exercises.ch{chapter}"
    try:
        __import__(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise


def exercises_of(chapter: str) -> list[Exercise]:
    """All exercises of a chapter ("01"), in order."""
    _load_chapter(chapter)
    return [REGISTRY[k] for k in sorted(REGISTRY) if k.split(".")[0] == chapter]


# --- running a learner's code safely -------------------------------------------------------


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the enclosed code after ``seconds`` (Unix main thread; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(fn: Any, *args: Any, what: str = "") -> Any:
    """Call the learner's function; a non-callable or an exception becomes a :class:`Fail`."""
    name = what or getattr(fn, "__name__", "your function")
    if fn is Ellipsis or fn is None:
        raise Fail(f"`{name}`을(를) 아직 작성하지 않았습니다.", f"`{name}` is not written yet.")
    if not callable(fn):
        raise Fail(
            f"`{name}`은(는) 함수여야 하는데 {type(fn).__name__} 값입니다.",
            f"`{name}` should be a function, but it is a {type(fn).__name__}.",
        )
    try:
        return fn(*args)
    except NotImplementedError:
        raise Fail(
            f"`{name}`이(가) 아직 NotImplementedError를 냅니다. 함수 본문을 작성하세요.",
            f"`{name}` still raises NotImplementedError: write its body.",
        ) from None
    except Fail:
        raise
    except Exception as e:  # the learner's bug: report it, do not crash
        raise Fail(
            f"`{name}`을(를) 호출했더니 오류가 났습니다: {type(e).__name__}: {e}",
            f"calling `{name}` raised {type(e).__name__}: {e}",
        ) from None


# --- comparing answers ------------------------------------------------------------------------


def expect_close(got: Any, expected: Any, what: str, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Fail unless ``got`` is a number/array/tensor of ``expected``'s shape with close values."""
    import numpy as np
    import torch

    def as_array(x: Any) -> np.ndarray | None:
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().double().numpy()
        if isinstance(x, bool) or x is None or isinstance(x, str):
            return None
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            return None
        return arr

    exp = as_array(expected)
    g = as_array(got)
    if g is None:
        raise Fail(
            f"{what}: 숫자(또는 텐서)를 기대했는데 {type(got).__name__} 값이 나왔습니다.",
            f"{what}: expected a number (or tensor), got a {type(got).__name__}.",
        )
    if g.shape != exp.shape:
        raise Fail(
            f"{what}: 모양(shape)이 {tuple(exp.shape)}이어야 하는데 {tuple(g.shape)}입니다.",
            f"{what}: expected shape {tuple(exp.shape)}, got {tuple(g.shape)}.",
        )
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(exp)):
        raise Fail(f"{what}: NaN 또는 무한대 값이 있습니다.", f"{what}: contains NaN or infinity.")
    if not np.allclose(g, exp, atol=atol, rtol=rtol):
        diff = float(np.max(np.abs(g - exp))) if g.size else math.nan
        raise Fail(
            f"{what}: 값이 기대와 다릅니다 (최대 차이 {diff:.3g}).",
            f"{what}: values differ from the expected ones (max difference {diff:.3g}).",
        )


def expect_equal(got: Any, expected: Any, what: str) -> None:
    """Fail unless ``got == expected`` (for ints, strings, lists, dicts)."""
    try:
        same = bool(got == expected)
    except Exception:
        same = False
    if not same:
        shown = repr(got)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise Fail(
            f"{what}: 기대한 값과 다릅니다. 받은 값: {shown}",
            f"{what}: not the expected value. Got: {shown}",
        )


# --- the entry points -------------------------------------------------------------------------


def run_check(id: str, namespace: dict[str, Any], lang: str = "en") -> Verdict:
    """Grade exercise ``id`` against the learner's ``namespace``. Never raises on a bad answer;
    prints nothing, writes nothing to stderr. The grader and :func:`check` both use this."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'ko' or 'en', got {lang!r}")
    ex = get(id)
    args = [namespace.get(n, MISSING) for n in ex.names]
    missing = [n for n, a in zip(ex.names, args, strict=True) if a is MISSING]
    if missing:
        listed = ", ".join(f"`{n}`" for n in missing)
        fail = Fail(
            f"{listed}을(를) 찾을 수 없습니다. 위의 풀이 셀을 먼저 실행하세요.",
            f"{listed} is not defined: run the answer cell above first.",
        )
        return Verdict(id, False, 0, ex.points, fail.text[lang], lang)
    unwritten = [n for n, a in zip(ex.names, args, strict=True) if a is None or a is Ellipsis]
    if unwritten:
        listed = ", ".join(f"`{n}`" for n in unwritten)
        msg = {
            "ko": f"{listed}을(를) 아직 작성하지 않았습니다 (값이 None 또는 ...입니다).",
            "en": f"{listed} is not written yet (it is None or ...).",
        }
        return Verdict(id, False, 0, ex.points, msg[lang], lang)
    sink = io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
            warnings.catch_warnings(),
            _time_limit(TIME_LIMIT_S),
        ):
            warnings.simplefilter("ignore")
            ex.check(*args)
    except Fail as f:
        return Verdict(id, False, 0, ex.points, f.text[lang], lang)
    except _TimeUp:
        msg = {
            "ko": f"{TIME_LIMIT_S:g}초 안에 끝나지 않아 중단했습니다. 무한 루프가 없는지 확인하세요.",
            "en": f"Stopped after {TIME_LIMIT_S:g} s: check your answer for an endless loop.",
        }
        return Verdict(id, False, 0, ex.points, msg[lang], lang)
    except Exception as e:  # a wrong-typed answer tripped the check's own code
        msg = {
            "ko": f"답을 검사하다가 오류가 났습니다 ({type(e).__name__}: {e}). 답의 형식을 확인하세요.",
            "en": f"Checking the answer failed ({type(e).__name__}: {e}): check its type and shape.",
        }
        return Verdict(id, False, 0, ex.points, msg[lang], lang)
    return Verdict(id, True, ex.points, ex.points, "", lang)


class CheckFailed(Exception):
    """Raised by a failing check in strict mode, for graders that score by exceptions (nbgrader).
    IPython shows only the verdict, not a traceback."""

    def __init__(self, verdict: Verdict):
        super().__init__(str(verdict))
        self.verdict = verdict

    def _render_traceback_(self) -> list[str]:
        return str(self.verdict).splitlines()


def strict() -> bool:
    """Strict mode (env ``LLMBOOK_STRICT_CHECKS=1``): a failing check raises :class:`CheckFailed`
    so that nbgrader's autograde gives the cell 0 points. Off by default, so 'Run all' in an
    exercise notebook shows every verdict instead of stopping at the first unsolved exercise."""
    return os.environ.get("LLMBOOK_STRICT_CHECKS", "") not in ("", "0")


def checker(lang: str) -> Callable[[str], None]:
    """The ``check`` function of an exercise notebook written in ``lang`` ("ko" or "en")."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'ko' or 'en', got {lang!r}")

    def check(id: str) -> None:
        """Grade exercise ``id`` against the variables defined in this notebook; print the verdict."""
        namespace = sys._getframe(1).f_globals
        try:
            verdict = run_check(id, namespace, lang)
        except ValueError as e:  # an exercise id that does not exist
            print(f"⚠️ {e}")
            return
        if strict() and not verdict.passed:
            raise CheckFailed(verdict)
        print(verdict)

    return check
