"""The package's shape: no import cycle between simvae's modules (read with `ast`, imports inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import simvae

PACKAGE = Path(simvae.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The simvae modules `path` imports (a `from package import module` names the module itself)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module in known}


def graph() -> dict[str, set[str]]:
    """module -> the modules whose import it runs: the imported module and its packages' __init__ files,
    except the packages the importer itself lies in (they are already being imported)."""
    found = modules()
    edges: dict[str, set[str]] = {}
    for name, path in found.items():
        own = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")) + 1)}
        targets = set()
        for target in imported(path, name, set(found)):
            parts = target.split(".")
            targets |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)} - own
        edges[name] = targets - {name, "simvae"}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from simvae.config import load_config\n")
    assert imported(module, "simvae.late", {"simvae.config"}) == {"simvae.config"}


def test_simvae_has_no_import_cycle():
    edges = graph()
    assert "simvae.training.loop" in edges and "simvae.config" in edges["simvae.training.loop"]
    assert find_cycle(edges) is None, f"import cycle: {' -> '.join(find_cycle(edges))}"
