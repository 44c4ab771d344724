"""The lessons: classic neural-network questions answered by runnable, verified experiments.

Each lesson is a module with ``run(quick=False, seed=0, progress=None) -> LessonResult``,
written with chainrule's public API only, as a user would write it. A result carries the
lesson's key numbers (``result.numbers``), the claims it verified (``result.checks``),
tables, figures and logs; in a notebook it displays as its section of the report.

=================  ====================================================================
name               question
=================  ====================================================================
separability       Which point sets can a single neuron separate, and how do we *prove*
                   that one cannot? (perceptron rule, logistic regression, LP certificates)
convolution        How many weights does a convolution have, and what do filters respond to?
jacobians          Backpropagation is a product of Jacobians: three ways to get dy/dx.
loss_gradients     Why does sigmoid + MSE learn slowly from confident mistakes?
long_range         Why do RNN gradients vanish or explode, and how does the LSTM avoid it?
=================  ====================================================================

From the shell: ``chainrule labs [NAME ...] [--out reports/] [--quick]``. From Python:

    >>> from chainrule import labs
    >>> result = labs.run_lesson("separability")     # doctest: +SKIP
    >>> labs.run_lessons(out="reports")               # all lessons + the report  # doctest: +SKIP

Needs the ``labs`` extra (matplotlib, scipy, tqdm): ``pip install chainrule[labs]``.
"""
from .report import Check, Figure, LessonResult, Table, render_html, render_markdown, write_report
from .runner import LESSONS, lesson_names, resolve, run_lesson, run_lessons

__all__ = [
           "LESSONS",
           "Check",
           "Figure",
           "LessonResult",
           "Table",
           "lesson_names",
           "render_html",
           "render_markdown",
           "resolve",
           "run_lesson",
           "run_lessons",
           "write_report",
]
