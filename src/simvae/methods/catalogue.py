"""What `simvae methods` lists, read from the registry and the code itself (no table kept by hand): each registered
method's family and source (its class attributes) and its hyper-parameters (its config dataclass's fields: name,
type, default, bounds, and the comment written beside the field)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import textwrap
import tokenize
from dataclasses import dataclass
from typing import Any

from simvae.methods import METHODS


@dataclass(frozen=True)
class HyperParameter:
    name: str  # set with method.<name>=value
    type: str  # as annotated, e.g. "float" or "Literal['gaussian', 'uniform']"
    default: Any
    bounds: str  # e.g. "> 0", or "" when the field declares none
    comment: str  # the comment beside (or just above) the field in its dataclass, or ""


@dataclass(frozen=True)
class MethodInfo:
    name: str
    family: str
    source: str
    min_views: int
    hyperparameters: tuple[HyperParameter, ...]


def describe(name: str) -> MethodInfo:
    """Method `name` of the registry, described from its class and its config dataclass."""
    method = METHODS[name]
    comments = field_comments(method.Config)
    hyperparameters = tuple(
        HyperParameter(f.name, str(f.type), default_of(f), str(f.metadata.get("bounds", "")), comments.get(f.name, ""))
        for f in dataclasses.fields(method.Config) if f.name != "name")
    return MethodInfo(name, method.family, method.source, method.min_views, hyperparameters)


def catalogue() -> list[MethodInfo]:
    """Every registered method, in the registry's order."""
    return [describe(name) for name in METHODS]


def default_of(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def field_comments(config: type) -> dict[str, str]:
    """field name -> the comment on its line(s), after any comment lines just above it, in the dataclasses of
    `config`'s MRO (a subclass's comment replaces its base's). Classes without source files give none."""
    comments: dict[str, str] = {}
    for cls in reversed(config.__mro__):
        if not dataclasses.is_dataclass(cls):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        found = {token.start[0]: token.string.lstrip("#").strip()
                 for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type == tokenize.COMMENT}
        for node in ast.parse(source).body[0].body:
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            above, line = [], node.lineno - 1
            while line in found and lines[line - 1].lstrip().startswith("#"):
                above.insert(0, found[line])
                line -= 1
            beside = [found[n] for n in range(node.lineno, node.end_lineno + 1) if n in found]
            if above or beside:
                comments[node.target.id] = " ".join(above + beside)
    return comments
