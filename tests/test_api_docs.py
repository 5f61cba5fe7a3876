"""The API reference (scripts/api_docs.py, pdoc) builds, with a page per public module holding each public name and
its docstring, and no page for the internals."""

from __future__ import annotations

import html
import importlib
import inspect
import re
import runpy
from pathlib import Path

SCRIPT = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "api_docs.py"))


def page(out: Path, module: str) -> str:
    return (out / (module.replace(".", "/") + ".html")).read_text(encoding="utf-8")


def defined_in(module) -> list[str]:
    """The public functions and classes a module without `__all__` defines (not those it imports)."""
    return [name for name, value in vars(module).items() if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__]


def test_the_reference_documents_every_public_name_from_its_docstring(tmp_path):
    index = SCRIPT["build"](tmp_path)
    assert index.is_file()
    for name in SCRIPT["PUBLIC_MODULES"]:
        module = importlib.import_module(name)
        text = page(tmp_path, name)
        public = getattr(module, "__all__", None) or defined_in(module)
        missing = [member for member in public if f'<section id="{member}">' not in text]
        assert not missing, f"{name}: no entry for {missing}"
    simvae_page = html.unescape(re.sub(r"<[^>]+>", "", page(tmp_path, "simvae")))
    first_line = inspect.getdoc(importlib.import_module("simvae.api").train).splitlines()[0]
    assert re.sub(r"`", "", first_line) in simvae_page  # the docstring, rendered (Markdown backticks become <code>)
    pages = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.html")}
    assert pages == {"index.html", *(name.replace(".", "/") + ".html" for name in SCRIPT["PUBLIC_MODULES"])}
