"""The `render_html` fixture (tests/conftest.py): headless Chromium's counts of tables, rows and (broken) images."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest


def png(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def data_uri(payload: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(payload).decode()


def table(n_rows: int) -> str:
    rows = "".join(f"<tr><td>{i}</td><td>{i * i}</td></tr>" for i in range(n_rows))
    return f"<table><tr><th>k</th><th>v</th></tr>{rows}</table>"


def page(title: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"


def test_self_contained_page_reports_its_tables_rows_and_loaded_images(tmp_path, render_html):
    body = (
        f"<h1>report</h1>{table(2)}<img src='{data_uri(png())}' alt='a'>"
        f"<p>more</p>{table(4)}<img src='{data_uri(png(5, 4, (0, 90, 200)))}' alt='b'>"
    )
    path = tmp_path / "report.html"
    path.write_text(page("Report & results", body), encoding="utf-8")

    result = render_html(path)

    assert result == {"images": 2, "broken_images": [], "tables": 2, "rows": (1 + 2) + (1 + 4), "title": "Report & results"}
    assert path.read_text(encoding="utf-8") == page("Report & results", body)  # the probe went into a copy only


def test_garbage_and_missing_images_are_broken_while_a_relative_file_beside_the_page_loads(tmp_path, render_html):
    garbage = data_uri(b"this is not a PNG at all" * 8)
    (tmp_path / "present.png").write_bytes(png())
    body = f"<img src='{garbage}'><img src='missing.png'><img src='present.png'>"
    path = tmp_path / "broken.html"
    path.write_text(page("broken", body), encoding="utf-8")

    result = render_html(path)

    assert result["images"] == 3
    assert result["broken_images"] == [garbage[:80], "missing.png"]
    assert (result["tables"], result["rows"], result["title"]) == (0, 0, "broken")


def test_missing_chromium_fails_with_the_fix_rather_than_skipping(tmp_path, render_html, monkeypatch):
    monkeypatch.setitem(render_html.__globals__, "CHROMIUM", tmp_path / "no-chromium")
    path = tmp_path / "page.html"
    path.write_text(page("t", "<p>x</p>"), encoding="utf-8")

    with pytest.raises(pytest.fail.Exception, match="headless Chromium not found: install Debian's chromium"):
        render_html(path)
