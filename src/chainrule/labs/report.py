"""What a lesson returns, and the report it becomes: one HTML page and its Markdown twin.

A lesson returns a :class:`LessonResult`: its key numbers (a dict a notebook or a test can
read), the claims it verified (:class:`Check`), tables, figures (PNG bytes) and logs. The
report writer turns a list of them into

- ``index.html``: self-contained (CSS inline, every figure embedded as a base64 PNG), so the
  single file can be mailed or opened offline;
- ``index.md``: the same text, with the figures saved beside it in ``figures/``.

Explanations are written in a small Markdown subset: paragraphs, ``- `` bullet lists,
```code```, ``**bold**`` and ``*italic*``.

Example:
    >>> result = LessonResult(key="demo", number=0, title="Demo", summary="It works.")
    >>> result.check("one plus one", 1 + 1 == 2, "1 + 1 = 2")
    >>> write_report([result], "reports")          # doctest: +SKIP
"""
from __future__ import annotations

import base64
import datetime as _datetime
import html
import io
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Check",
    "Figure",
    "LessonResult",
    "Table",
    "render_figure",
    "render_html",
    "render_markdown",
    "write_report",
]


@dataclass
class Figure:
    """A rendered figure: ``name`` (a file stem), ``caption`` and the PNG bytes."""

    name: str
    caption: str
    png: bytes

    def _repr_png_(self) -> bytes:  # shown inline by Jupyter
        return self.png


@dataclass
class Table:
    """A small table: a title, column names and rows of values (formatted on output)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Check:
    """A claim the lesson verified numerically: what, whether it held, and the evidence."""

    claim: str
    passed: bool
    detail: str = ""


@dataclass
class LessonResult:
    """Everything one lesson found: numbers, verified claims, tables, figures and logs.

    Attributes:
        key: the lesson's name on the command line (``chainrule labs KEY``).
        number: its position in the report.
        title: a heading.
        summary: the answer in one or two sentences.
        explanation: paragraphs (small Markdown subset) saying what was done and why it
            comes out this way.
        numbers: the key numbers by name (what tests and notebooks read).
        checks: claims verified numerically; a lesson whose check fails says so in red.
        tables, figures, logs: the evidence to look at (logs: title -> preformatted text).
        seconds: how long the lesson took.
    """

    key: str
    number: int
    title: str
    summary: str = ""
    explanation: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def check(self, claim: str, passed: bool, detail: str = "") -> bool:
        """Record a verified claim; returns ``passed`` so it can be used in a condition."""
        self.checks.append(Check(claim, bool(passed), detail))
        return bool(passed)

    @property
    def passed(self) -> bool:
        """True when the lesson ran and every claim it checked held."""
        return self.error is None and all(c.passed for c in self.checks)

    def figure(self, name: str) -> Figure:
        """The figure called ``name``."""
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(f"lesson {self.key!r} has no figure {name!r}; it has "
                       f"{[f.name for f in self.figures]}")

    def _repr_html_(self) -> str:  # a notebook shows the lesson as it appears in the report
        return _lesson_html(self)


def render_figure(fig, name: str, caption: str, dpi: int = 110) -> Figure:
    """Render a matplotlib ``Figure`` (made with ``matplotlib.figure.Figure``) to PNG bytes.

    Uses the Agg canvas directly, so no pyplot state or GUI backend is involved.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return Figure(name=name, caption=caption, png=buffer.getvalue())


# -- formatting ------------------------------------------------------------------------------

def format_value(value: Any) -> str:
    """Numbers as a person reads them: 4 significant digits, small/large in scientific form."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value == 0.0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<em>\1</em>"),
]


def _inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replacement in _INLINE:
        out = pattern.sub(replacement, out)
    return out


def _markdown_html(text: str) -> str:
    """Paragraphs and ``- `` bullet lists of the small Markdown subset, as HTML."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if all(line.lstrip().startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline_html(line.lstrip()[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline_html(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(blocks)


def _anchor(result: LessonResult) -> str:
    return f"lesson-{result.number}-{result.key}"


# -- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
 background:#f6f7f9;color:#1d2433;line-height:1.5}
header{background:#1d2433;color:#fff;padding:1.6em 2em}
header h1{margin:0 0 .2em;font-size:1.9em} header p{margin:.2em 0;color:#c9d1e0}
nav{background:#fff;border-bottom:1px solid #dde2ea;padding:.7em 2em;position:sticky;top:0;
 z-index:2}
nav a{margin-right:1.2em;color:#2357c6;text-decoration:none;font-weight:600}
main{max-width:1100px;margin:0 auto;padding:1em 2em 3em}
section{background:#fff;border:1px solid #dde2ea;border-radius:8px;margin:1.6em 0;
 padding:1.2em 1.8em}
h2{margin-top:.2em} h3{margin-bottom:.3em;color:#3a4660}
.summary{font-size:1.08em;background:#eef3ff;border-left:4px solid #2357c6;padding:.6em 1em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.93em}
th,td{border:1px solid #dde2ea;padding:.25em .7em;text-align:left;vertical-align:top}
th{background:#f0f2f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#137333;font-weight:700} .fail{color:#c5221f;font-weight:700}
figure{margin:1em 0;text-align:center} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#4a5568;font-size:.92em;margin-top:.3em}
pre{background:#f4f5f7;padding:.8em;overflow-x:auto;font-size:.82em;line-height:1.35}
code{background:#f0f2f6;padding:0 .2em;border-radius:3px}
details{margin:.6em 0} summary{cursor:pointer;color:#2357c6;font-weight:600}
.error{background:#fdecea;border:1px solid #f5c2c0;padding:.8em}
.meta{color:#6b7385;font-size:.85em}
"""


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for value in row:
            cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(
                value, bool) else ""
            cells.append(f"<td{cls}>{html.escape(format_value(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<h3>{html.escape(table.title)}</h3>" if table.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _checks_html(checks: Sequence[Check]) -> str:
    rows = []
    for c in checks:
        mark = '<span class="pass">&#10003; holds</span>' if c.passed else \
            '<span class="fail">&#10007; FAILED</span>'
        rows.append(f"<tr><td>{mark}</td><td>{_inline_html(c.claim)}</td>"
                    f"<td>{_inline_html(c.detail)}</td></tr>")
    return ("<h3>Verified claims</h3><table><thead><tr><th></th><th>claim</th><th>evidence</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _lesson_html(r: LessonResult) -> str:
    parts = [f'<section id="{_anchor(r)}"><h2>Lesson {r.number}: {html.escape(r.title)}</h2>']
    if r.error:
        parts.append(f'<div class="error"><strong>This lesson failed.</strong>'
                     f'<pre>{html.escape(r.error)}</pre></div>')
    if r.summary:
        parts.append(f'<p class="summary">{_inline_html(r.summary)}</p>')
    # Pictures first, then the words, then the evidence in numbers.
    for f in r.figures:
        data = base64.b64encode(f.png).decode("ascii")
        parts.append(f'<figure><img src="data:image/png;base64,{data}" '
                     f'alt="{html.escape(f.caption)}" id="fig-{r.number}-{html.escape(f.name)}">'
                     f"<figcaption>{_inline_html(f.caption)}</figcaption></figure>")
    parts.extend(_markdown_html(p) for p in r.explanation)
    if r.checks:
        parts.append(_checks_html(r.checks))
    parts.extend(_table_html(t) for t in r.tables)
    if r.numbers:
        rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td>"
                       f'<td class="num">{html.escape(format_value(v))}</td></tr>'
                       for k, v in r.numbers.items())
        parts.append("<details><summary>All numbers of this lesson</summary><table><thead><tr>"
                     f"<th>name</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"
                     "</details>")
    for title, text in r.logs.items():
        parts.append(f"<details><summary>{html.escape(title)}</summary>"
                     f"<pre>{html.escape(text)}</pre></details>")
    parts.append(f'<p class="meta">Ran in {r.seconds:.1f} s. Re-run: '
                 f"<code>chainrule labs {html.escape(r.key)}</code> or, in Python, "
                 f"<code>chainrule.labs.run_lesson(&quot;{html.escape(r.key)}&quot;)</code>.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(results: Sequence[LessonResult], *, quick: bool = False,
                total_seconds: float | None = None) -> str:
    """The whole report as one self-contained HTML document."""
    from .. import __version__

    nav = "".join(f'<a href="#{_anchor(r)}">{r.number}. {html.escape(r.title)}</a>'
                  for r in results)
    checks = [c for r in results for c in r.checks]
    held = sum(c.passed for c in checks)
    when = _datetime.datetime.now(_datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    budget = "quick budget" if quick else "full budget"
    took = f", {total_seconds:.0f} s" if total_seconds is not None else ""
    body = "\n".join(_lesson_html(r) for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chainrule lessons</title><style>{_CSS}</style></head>
<body>
<header><h1>chainrule lessons</h1>
<p>Classic neural-network questions answered by experiments that check their own claims.</p>
<p>{len(results)} lessons, {held} of {len(checks)} claims verified &middot; {budget}{took}
&middot; chainrule {html.escape(__version__)} &middot; {when}</p></header>
<nav>{nav}</nav>
<main>
{body}
</main></body></html>
"""


# -- Markdown ----------------------------------------------------------------------------------

def _md_cell(value: Any) -> str:
    return format_value(value).replace("|", "\\|")


def render_markdown(results: Sequence[LessonResult], figure_dir: str = "figures", *,
                    quick: bool = False, total_seconds: float | None = None) -> str:
    """The report as Markdown; figures are referenced as ``figure_dir/<lesson>_<name>.png``."""
    checks = [c for r in results for c in r.checks]
    held = sum(c.passed for c in checks)
    took = f", {total_seconds:.0f} s" if total_seconds is not None else ""
    lines = ["# chainrule lessons", "",
             ("Classic neural-network questions answered by experiments that check their own "
              "claims."), "",
             (f"{len(results)} lessons, {held} of {len(checks)} claims verified "
              f"({'quick' if quick else 'full'} budget{took})."), ""]
    for r in results:
        lines.append(f"- [Lesson {r.number}: {r.title}](#{_anchor(r)})")
    lines.append("")
    for r in results:
        lines += [f'<a id="{_anchor(r)}"></a>', "", f"## Lesson {r.number}: {r.title}", ""]
        if r.error:
            lines += ["**This lesson failed.**", "", "```", r.error.rstrip(), "```", ""]
        if r.summary:
            lines += [f"> {r.summary}", ""]
        for f in r.figures:
            lines += [f"![{f.name}]({figure_dir}/{_figure_file(r, f)})", "",
                      f"Figure: {f.caption}", ""]
        for p in r.explanation:
            lines += [p.strip(), ""]
        if r.checks:
            lines += ["### Verified claims", "", "| | claim | evidence |", "| --- | --- | --- |"]
            for c in r.checks:
                mark = "✓ holds" if c.passed else "✗ **FAILED**"
                lines.append(f"| {mark} | {c.claim.replace('|', '/')} | "
                             f"{c.detail.replace('|', '/')} |")
            lines.append("")
        for t in r.tables:
            if t.title:
                lines += [f"### {t.title}", ""]
            lines.append("| " + " | ".join(str(c) for c in t.columns) + " |")
            lines.append("|" + " --- |" * len(t.columns))
            for row in t.rows:
                lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
            lines.append("")
        for title, text in r.logs.items():
            lines += [f"<details><summary>{title}</summary>", "", "```", text.rstrip(), "```",
                      "", "</details>", ""]
        lines += [f"Ran in {r.seconds:.1f} s (`chainrule labs {r.key}`).", ""]
    return "\n".join(lines)


def _figure_file(result: LessonResult, figure: Figure) -> str:
    return f"lesson{result.number}_{figure.name}.png"


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it, so a crash leaves no half file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)  # mkstemp makes the file private; give it the usual permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_report(results: Sequence[LessonResult], out_dir: str | os.PathLike = "reports", *,
                 quick: bool = False, total_seconds: float | None = None) -> dict[str, Path]:
    """Write ``index.html`` (self-contained) and ``index.md`` (+ ``figures/``) to ``out_dir``.

    Returns:
        ``{"html": path, "markdown": path, "figures": directory}``.
    """
    out = Path(out_dir)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for r in results:
        for f in r.figures:
            _atomic_write(figures / _figure_file(r, f), f.png)
    html_path, md_path = out / "index.html", out / "index.md"
    _atomic_write(html_path, render_html(results, quick=quick,
                                         total_seconds=total_seconds).encode("utf-8"))
    _atomic_write(md_path, render_markdown(results, "figures", quick=quick,
                                           total_seconds=total_seconds).encode("utf-8"))
    return {"html": html_path, "markdown": md_path, "figures": figures}
