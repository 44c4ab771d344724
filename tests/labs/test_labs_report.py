"""The report: self-contained HTML and its Markdown twin; in a real browser (headless
Chromium) every figure must decode, every link must resolve, and a screenshot is kept."""
from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chainrule.cli import main as cli_main
from chainrule.labs import Check, Figure, LessonResult, Table, lesson_names, write_report

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def _tiny_png() -> bytes:
    from matplotlib.figure import Figure as MplFigure

    from chainrule.labs.report import render_figure
    fig = MplFigure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    return render_figure(fig, "line", "a line").png


def _demo_result() -> LessonResult:
    r = LessonResult(key="demo", number=1, title="Demo <lesson>", summary="It **works**.")
    r.explanation = ["A `code` span and *emphasis*.\n\n- one\n- two"]
    r.checks = [Check("holds", True, "1 = 1"), Check("fails", False, "1 != 2")]
    r.tables = [Table("numbers", ["a", "b"], [[1, 0.000123], ["x|y", True]])]
    r.figures = [Figure("line", "a line", _tiny_png())]
    r.logs = {"log": "step 1 <ok>"}
    r.numbers = {"a": 1.5}
    return r


def test_report_html_is_self_contained_and_markdown_has_figures(tmp_path):
    paths = write_report([_demo_result()], tmp_path)
    page = paths["html"].read_text()
    assert "<script" not in page and "src=\"http" not in page and "href=\"http" not in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert "Demo &lt;lesson&gt;" in page and "step 1 &lt;ok&gt;" in page
    assert "<strong>works</strong>" in page and "<code>code</code>" in page
    assert "<em>emphasis</em>" in page and "<li>one</li>" in page
    assert "1 of 2 claims verified" in page and "FAILED" in page
    markdown = paths["markdown"].read_text()
    assert "![line](figures/lesson1_line.png)" in markdown
    assert (tmp_path / "figures" / "lesson1_line.png").read_bytes().startswith(b"\x89PNG")
    assert "| x\\|y | yes |" in markdown
    for anchor in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{anchor}"' in page


def test_cli_labs_writes_the_report(tmp_path, capsys):
    status = cli_main(["labs", "jacobians", "--quick", "--out", str(tmp_path),
                       "--no-progress"])
    assert status == 0
    assert (tmp_path / "index.html").stat().st_size > 10_000
    assert "Lesson 3" in (tmp_path / "index.md").read_text()
    assert "claims verified" in capsys.readouterr().out
    assert cli_main(["labs", "no-such-lesson", "--out", str(tmp_path)]) == 2


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


# Injected into a copy of the page: once everything has loaded, write what the browser saw
# into the DOM, where --dump-dom can read it.
_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  // 'load' fires after every image has loaded; an image that failed to decode has
  // naturalWidth 0.
  var imgs = Array.prototype.slice.call(document.images);
  (function () {
    var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
    var links = Array.prototype.slice.call(document.querySelectorAll('a[href]'));
    var broken = links.filter(function (a) {
      var href = a.getAttribute('href');
      return href.charAt(0) !== '#' || !document.getElementById(href.slice(1));
    });
    var out = document.createElement('pre');
    out.id = 'chainrule-browser-check';
    out.textContent = JSON.stringify({
      images: imgs.length,
      decoded: imgs.length - bad.length,
      undecoded: bad.map(function (i) { return i.id; }),
      widths: imgs.map(function (i) { return i.naturalWidth; }),
      links: links.length,
      broken_links: broken.map(function (a) { return a.getAttribute('href'); })
    });
    document.body.appendChild(out);
  })();
});
</script>"""


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "HOME": str(profile)})


@pytest.mark.slow
def test_report_in_headless_chromium(lesson, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium found (Debian: apt-get install chromium); the browser test "
                    "of the lessons' report needs it")
    results = [lesson(name) for name in lesson_names()]
    paths = write_report(results, tmp_path / "report", quick=True)
    page = paths["html"].read_text()
    expected_images = page.count("<img ")
    assert expected_images == sum(len(r.figures) for r in results) >= 10

    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", _CHECK_SCRIPT + "</body>"))
    done = _run_chromium(browser, tmp_path / "profile", "--virtual-time-budget=15000",
                         "--dump-dom", checked.as_uri())
    match = re.search(r'<pre id="chainrule-browser-check">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, f"the page's check did not run; chromium said: {done.stderr[-2000:]}"
    seen = json.loads(html.unescape(match.group(1)))
    assert seen["images"] == expected_images
    assert seen["decoded"] == expected_images, seen["undecoded"]
    assert min(seen["widths"]) > 0
    assert seen["links"] >= len(results) and not seen["broken_links"], seen["broken_links"]

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "labs_report.png"
    if shot.exists():
        shot.unlink()
    done = _run_chromium(browser, tmp_path / "profile2", "--window-size=1280,2600",
                         f"--screenshot={shot}", paths["html"].as_uri())
    assert shot.exists(), f"no screenshot; chromium said: {done.stderr[-2000:]}"
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
