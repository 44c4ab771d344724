"""Run lessons by name with a progress display, and write the report.

Each lesson module has ``run(quick=False, seed=0, progress=None) -> LessonResult``; the runner
imports it only when asked for (so ``chainrule labs separability`` needs nothing of the
convolution or recurrent layers), times it, and keeps going when one fails: the failure, with
its traceback, becomes that lesson's section of the report and the exit status says so.

Example:
    >>> from chainrule.labs import run_lesson, run_lessons
    >>> result = run_lesson("loss_gradients", quick=True)    # doctest: +SKIP
    >>> result.numbers["sigmoid_mse_grad"]                   # doctest: +SKIP
    -0.00660...
    >>> run_lessons(out="reports")                            # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from .report import LessonResult, write_report

__all__ = ["LESSONS", "lesson_names", "resolve", "run_lesson", "run_lessons"]

# name -> (module, number, title); the order is the report's.
LESSONS: dict[str, tuple[str, int, str]] = {
    "separability": ("lesson1_separability", 1, "Linear separability and feature maps"),
    "convolution": ("lesson2_convolution", 2, "Convolution filters and feature maps"),
    "jacobians": ("lesson3_jacobians", 3, "Backpropagation as a product of Jacobians"),
    "loss_gradients": ("lesson4_loss_gradients", 4, "Which output/loss pairing learns"),
    "long_range": ("lesson5_long_range", 5,
                   "Long-range dependencies: vanishing and exploding gradients"),
}


def lesson_names() -> list[str]:
    """The lesson names in report order."""
    return list(LESSONS)


def resolve(name: str) -> str:
    """A lesson's canonical name from its name, number (``"3"``), ``lesson3`` or module name."""
    key = name.strip().lower().replace("-", "_")
    if key in LESSONS:
        return key
    for canonical, (module, number, _title) in LESSONS.items():
        if key in (str(number), f"lesson{number}", module):
            return canonical
    raise ValueError(f"unknown lesson {name!r}; choose from {', '.join(LESSONS)} "
                     f"(or their numbers 1-{len(LESSONS)})")


def run_lesson(name: str, quick: bool = False, seed: int = 0,
               progress: Callable[[str], None] | None = None) -> LessonResult:
    """Run one lesson and return its result (exceptions propagate).

    Args:
        name: see :func:`resolve`.
        quick: a small budget (seconds, for tests); the numbers it checks still hold.
        seed: the random seed of every experiment in the lesson.
        progress: called with a short description of each stage as the lesson enters it.
    """
    key = resolve(name)
    module = importlib.import_module(f"{__package__}.{LESSONS[key][0]}")
    start = time.perf_counter()
    result = module.run(quick=quick, seed=seed, progress=progress)
    result.seconds = time.perf_counter() - start
    return result


class _Progress:
    """A tqdm bar over lessons whose postfix names the current stage (plain lines without tqdm)."""

    def __init__(self, total: int, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.label = ""
        if enabled:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc="lessons", unit="lesson", file=sys.stderr,
                                dynamic_ncols=True, bar_format="{desc}: {n_fmt}/{total_fmt} "
                                "|{bar:20}| {elapsed} {postfix}")
            except ImportError:
                self.bar = None

    def start(self, label: str) -> None:
        self.label = label
        self.stage("starting")

    def stage(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.label}: {text}", refresh=True)
        else:
            print(f"  {self.label}: {text}", file=sys.stderr, flush=True)

    def done(self, result: LessonResult) -> None:
        if not self.enabled:
            return
        status = "failed" if result.error else (
            "ok" if result.passed else "ran, some claims FAILED")
        line = f"{self.label}: {status} in {result.seconds:.1f} s"
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_lessons(names: Sequence[str] | None = None, out: str | Path | None = "reports",
                quick: bool = False, seed: int = 0, show_progress: bool = True
                ) -> list[LessonResult]:
    """Run lessons (all by default) in report order and write the report to ``out``.

    A lesson that raises is recorded with its traceback (``result.error``) and the others
    still run. ``out=None`` writes nothing.

    Returns:
        The results, in report order.
    """
    keys = [resolve(n) for n in names] if names else lesson_names()
    keys = sorted(dict.fromkeys(keys), key=lambda k: LESSONS[k][1])
    progress = _Progress(len(keys), show_progress)
    results = []
    start = time.perf_counter()
    try:
        for key in keys:
            _module, number, title = LESSONS[key]
            progress.start(f"{number}. {key}")
            t0 = time.perf_counter()
            try:
                result = run_lesson(key, quick=quick, seed=seed, progress=progress.stage)
            except Exception:  # noqa: BLE001 - one broken lesson must not hide the others
                result = LessonResult(key=key, number=number, title=title,
                                      error=traceback.format_exc())
                result.seconds = time.perf_counter() - t0
            results.append(result)
            progress.done(result)
    finally:
        progress.close()
    if out is not None:
        write_report(results, out, quick=quick, total_seconds=time.perf_counter() - start)
    return results
