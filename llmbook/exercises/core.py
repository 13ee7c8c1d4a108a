"""Graded checks: a learner calls ``check("01.2")`` and gets a verdict, never a traceback.

A chapter registers each exercise with :func:`exercise`. The check function receives the learner's
objects, looked up by name in the notebook's namespace (so the score never depends on which cell
defined them), compares them against ``llmbook``'s own reference code, and raises :class:`Fail`
with a bilingual hint when the answer is wrong. Everything else a wrong answer can do (raise,
return the wrong type, loop forever, print warnings, call ``sys.exit()``) is caught here and turned
into a verdict. Whatever the answer returns is rebuilt from plain data (:mod:`.plain`) before a
check compares it, so no learner's object decides an equality. ``llmbook grade`` runs the same
checks in its own process, with the learner's functions as :class:`Remote` calls into a sandbox.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import math
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llmbook.exercises.plain import NotPlain, plain

LANGS = ("ko", "en")
TIME_LIMIT_S = 10.0  # per check; a learner's answer that runs longer is interrupted

MISSING = object()  # a name the learner has not defined


STATUSES = ("passed", "failed", "timed out", "crashed", "sandbox violation")
MARKS = {True: "✓", False: "✗"}  # in DejaVu Sans and Noto CJK: no tofu without an emoji font
HEADS = {
    "passed": {"ko": "통과", "en": "Passed"},
    "failed": {"ko": "아직 아닙니다", "en": "Not yet"},
    "timed out": {"ko": "시간 초과", "en": "Timed out"},
    "crashed": {"ko": "실행 중단", "en": "Crashed"},
    "sandbox violation": {"ko": "샌드박스 위반", "en": "Sandbox violation"},
}


class Fail(Exception):
    """A wrong answer: carries the hint in both languages and the verdict's status (one of
    :data:`STATUSES` but "passed")."""

    def __init__(self, ko: str, en: str, status: str = "failed"):
        super().__init__(en)
        self.text = {"ko": ko, "en": en}
        self.status = status


class _TimeUp(BaseException):
    """Raised inside the learner's code when the time limit passes (BaseException so that a
    learner's ``except Exception`` cannot swallow it)."""


class Remote:
    """A learner's function that lives in another process (the batch grader's sandbox). Calling
    it sends plain arguments and returns the plain result; ``invoke`` raises :class:`Fail` for
    anything else (an error, a time-out, a crash)."""

    def __init__(self, name: str, invoke: Callable[[str, tuple], Any]):
        self.name = self.__name__ = name
        self._invoke = invoke

    def __call__(self, *args: Any) -> Any:
        return self._invoke(self.name, args)


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
    status: str = "failed"

    def __post_init__(self) -> None:
        if self.passed:
            object.__setattr__(self, "status", "passed")

    def __str__(self) -> str:
        head = f"{MARKS[self.passed]} {HEADS[self.status][self.lang]}"
        if self.lang == "ko":
            score = f"{self.points:g}/{self.max_points}점"
        else:
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


def _inject(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode (``None`` clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None
    )


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the enclosed code after ``seconds`` (``None``: no limit). A watchdog thread
    raises :class:`_TimeUp` in this thread, again every 50 ms until the block is left, so an
    answer can neither cancel the limit (no signal or timer to reset) nor swallow it once."""
    if seconds is None:
        yield
        return
    target, done = threading.get_ident(), threading.Event()

    def watch() -> None:
        if done.wait(seconds):
            return
        while not done.is_set():
            _inject(target, _TimeUp)
            done.wait(0.05)

    watchdog = threading.Thread(target=watch, name="llmbook-check-timer", daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        done.set()
        watchdog.join()
        _inject(target, None)


def raised(name: str, e: BaseException) -> Fail:
    """The verdict for an answer that raised ``e`` (``sys.exit()`` included)."""
    if isinstance(e, NotImplementedError):
        return Fail(
            f"`{name}`이(가) 아직 NotImplementedError를 냅니다. 함수 본문을 작성하세요.",
            f"`{name}` still raises NotImplementedError: write its body.",
        )
    if isinstance(e, SystemExit):
        return Fail(f"`{name}`이(가) 프로그램을 끝내려고 했습니다 (sys.exit). 값을 return 하세요.",
                    f"`{name}` tried to end the program (sys.exit): return a value instead.",
                    "crashed")  # fmt: skip
    if isinstance(e, MemoryError):
        return Fail(f"`{name}`이(가) 메모리를 너무 많이 썼습니다.", f"`{name}` ran out of memory.",
                    "crashed")  # fmt: skip
    return Fail(
        f"`{name}`을(를) 호출했더니 오류가 났습니다: {type(e).__name__}: {e}",
        f"calling `{name}` raised {type(e).__name__}: {e}",
    )


def not_plain(name: str, kind: str) -> Fail:
    """The verdict for an answer whose value is not plain data."""
    return Fail(
        f"`{name}`의 값({kind})을 읽을 수 없습니다. 숫자, 문자열, 리스트, 튜플, 딕셔너리, 텐서로 "
        "돌려주세요.",
        f"the value of `{name}` ({kind}) cannot be read: use numbers, strings, lists, tuples, "
        "dicts or tensors.",
    )


def call(fn: Any, *args: Any, what: str = "") -> Any:
    """Call the learner's function and return its result rebuilt from plain data; a
    non-callable, an exception (``SystemExit`` included) or an unreadable result becomes a
    :class:`Fail`. A :class:`Remote` function is called in the grader's sandbox."""
    name = what or getattr(fn, "__name__", "your function")
    if isinstance(fn, Remote):
        return fn(*args)
    if fn is Ellipsis or fn is None:
        raise Fail(f"`{name}`을(를) 아직 작성하지 않았습니다.", f"`{name}` is not written yet.")
    if not callable(fn):
        raise Fail(
            f"`{name}`은(는) 함수여야 하는데 {type(fn).__name__} 값입니다.",
            f"`{name}` should be a function, but it is a {type(fn).__name__}.",
        )
    try:
        got = fn(*args)
    except _TimeUp:
        raise
    except BaseException as e:  # the learner's bug, or sys.exit(): report it, do not crash
        raise raised(name, e) from None
    try:
        return plain(got)
    except _TimeUp:
        raise
    except Exception as e:  # a custom object, or one whose methods raise
        raise not_plain(name, str(e) if isinstance(e, NotPlain) else type(got).__name__) from None


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


@contextlib.contextmanager
def _quiet(on: bool) -> Iterator[None]:
    """Swallow the learner's prints and warnings (``on``). The grader runs checks in several
    threads with the learner's code elsewhere: there the global streams are left alone, since
    swapping them from two threads at once would lose the grader's own output."""
    if not on:
        yield
        return
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_check(id: str, namespace: dict[str, Any], lang: str = "en", sandboxed: bool = False) -> Verdict:
    """Grade exercise ``id`` against the learner's ``namespace``. Never raises on a bad answer;
    prints nothing, writes nothing to stderr. The grader and :func:`check` both use this; the
    grader's namespace holds :class:`Remote` functions (``sandboxed``: its sandbox bounds each
    call, so no :data:`TIME_LIMIT_S` here)."""
    time_limit = None if sandboxed else TIME_LIMIT_S
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
    try:
        args = [a if callable(a) else plain(a) for a in args]
    except NotPlain as e:
        names = ", ".join(ex.names)
        return Verdict(id, False, 0, ex.points, not_plain(names, str(e)).text[lang], lang)
    try:
        with _quiet(not sandboxed), _time_limit(time_limit):
            ex.check(*args)
    except Fail as f:
        return Verdict(id, False, 0, ex.points, f.text[lang], lang, f.status)
    except _TimeUp:
        text = timed_out(time_limit or 0).text[lang]
        return Verdict(id, False, 0, ex.points, text, lang, "timed out")
    except Exception as e:  # a wrong-typed answer tripped the check's own code
        msg = {
            "ko": f"답을 검사하다가 오류가 났습니다 ({type(e).__name__}: {e}). 답의 형식을 확인하세요.",
            "en": f"Checking the answer failed ({type(e).__name__}: {e}): check its type and shape.",
        }
        return Verdict(id, False, 0, ex.points, msg[lang], lang)
    return Verdict(id, True, ex.points, ex.points, "", lang)


def timed_out(seconds: float) -> Fail:
    """The verdict for an answer stopped after ``seconds``."""
    return Fail(f"{seconds:g}초 안에 끝나지 않아 중단했습니다. 무한 루프가 없는지 확인하세요.",
                f"Stopped after {seconds:g} s: check your answer for an endless loop.",
                "timed out")  # fmt: skip


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
        if os.environ.get("LLMBOOK_GRADING_SANDBOX"):  # `llmbook grade` checks from outside
            return
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
