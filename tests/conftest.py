"""Fixtures shared by all tests: `render_html` loads an HTML file in headless Chromium and reports what rendered."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from simvae.data.shapes import load_shapes

CHROMIUM = Path("/usr/bin/chromium")
MISSING_CHROMIUM = (
    "headless Chromium not found: install Debian's chromium (apt-get install chromium; scripts/setup.sh does this as root)"
)
MARKER_ID = "render-check"
TIMEOUT_S = 60

# Runs before </body>; on window 'load' (every image has loaded or failed by then) it writes its counts into the DOM,
# which `--dump-dom` then prints.
PROBE = f"""<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.images);
  var report = {{
    images: images.length,
    broken_images: images.filter(function (img) {{ return !img.complete || img.naturalWidth === 0; }})
      .map(function (img) {{ return (img.getAttribute("src") || img.currentSrc || "").slice(0, 80); }}),
    tables: document.getElementsByTagName("table").length,
    rows: document.getElementsByTagName("tr").length,
    title: document.title
  }};
  var pre = document.createElement("pre");
  pre.id = "{MARKER_ID}";
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
}});
</script>"""
MARKER = re.compile(rf'<pre id="{MARKER_ID}">(.*?)</pre>', re.DOTALL)


def _instrument(page: str, base: Path) -> str:
    """The page with PROBE before its last </body>, and a <base> so relative URLs still resolve against `base`."""
    if not re.search(r"<base\s", page, re.IGNORECASE):
        tag = f'<base href="{html.escape(base.as_uri().rstrip("/") + "/")}">'
        head = re.search(r"<head[^>]*>", page, re.IGNORECASE)
        page = page[: head.end()] + tag + page[head.end() :] if head else tag + page
    end = page.lower().rfind("</body>")
    return page[:end] + PROBE + page[end:] if end >= 0 else page + PROBE


def _stderr_tail(stderr: str, limit: int = 4000) -> str:
    """Chromium's stderr without the D-Bus noise of a container, last `limit` characters."""
    lines = [line for line in stderr.splitlines() if "dbus/" not in line]
    return "\n".join(lines)[-limit:] or "(empty)"


def render_in_chromium(path: str | os.PathLike) -> dict:
    """Load a copy of `path` in headless Chromium; return images, broken_images, tables, rows and title as rendered.

    broken_images holds the src (first 80 characters) of every image not complete or of zero natural width.
    Fails the test when Chromium is not installed, and raises AssertionError when the page did not report back.
    """
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    source = Path(path).resolve()
    page = _instrument(source.read_text(encoding="utf-8"), source.parent)
    with tempfile.TemporaryDirectory(prefix="render-html-") as scratch:
        copy = Path(scratch) / source.name
        copy.write_text(page, encoding="utf-8")
        command = [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={Path(scratch) / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", copy.as_uri(),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            dom, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the renderer and helpers go too
            _, stderr = process.communicate()
            raise AssertionError(
                f"headless Chromium did not finish {source} within {TIMEOUT_S} s; its stderr:\n{_stderr_tail(stderr)}"
            ) from None
    match = MARKER.search(dom)
    if match is None:
        raise AssertionError(
            f"headless Chromium rendered no {MARKER_ID} report for {source} (exit status {process.returncode}; "
            f"the page never fired 'load' or Chromium failed); its stderr:\n{_stderr_tail(stderr)}"
        )
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture
def render_html() -> Callable[[str | os.PathLike], dict]:
    """`render_html(path)` -> {"images", "broken_images", "tables", "rows", "title"}: see render_in_chromium."""
    return render_in_chromium


@pytest.fixture(scope="session")
def small_shapes():
    """A small copy of the embedded shapes data (the full data takes seconds to generate)."""
    return load_shapes(0.1, 0, sizes={"train": 300, "test": 300})
