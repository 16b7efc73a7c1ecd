"""The package's import graph: no module reaches itself through others, and packages point one way.

Read from the source with `ast`, every import counted (inside functions and `TYPE_CHECKING`
blocks too): a circle that only type checkers follow is still a circle for a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "albicilla"
# package -> the packages it must not import from (proxy -> apis -> logs; conv -> logs)
FORBIDDEN = {
    "albicilla.apis": ("albicilla.proxy", "albicilla.conv", "albicilla.logs"),
    "albicilla.logs": ("albicilla.proxy", "albicilla.conv", "albicilla.apis", "albicilla.view"),
    "albicilla.conv": ("albicilla.proxy",),
}

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT) -> Graph:
    """Module -> the modules of the package it imports (a name from a package is that package,
    or its submodule when there is one of that name)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: Graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    targets.add(child if child in files else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One import circle as the list of modules along it, else None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_circle_of_three_and_none_in_a_chain() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_resolves_relative_imports_to_modules(tmp_path: Path) -> None:
    package = tmp_path / "albicilla" / "conv"
    package.mkdir(parents=True)
    (tmp_path / "albicilla" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "convert.py").write_text("from .report import Report\nfrom . import stats\n")
    (package / "report.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .convert import Stats\n"
    )
    (package / "stats.py").write_text("from ..conv.report import x\n")
    graph = import_graph(tmp_path / "albicilla")
    assert graph["albicilla.conv.convert"] == {"albicilla.conv.report", "albicilla.conv.stats"}
    assert graph["albicilla.conv.stats"] == {"albicilla.conv.report"}
    assert find_cycle(graph) == ["albicilla.conv.convert", "albicilla.conv.report"] + [
        "albicilla.conv.convert"
    ]


def test_no_module_of_albicilla_imports_itself_through_others() -> None:
    graph = import_graph()
    assert "albicilla.conv.convert" in graph and "albicilla.proxy.relay" in graph
    assert find_cycle(graph) is None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_downward(package: str) -> None:
    graph = import_graph()
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module == package or module.startswith(package + ".")
        for target in targets
        if target.startswith(FORBIDDEN[package])
    )
    assert wrong == []
