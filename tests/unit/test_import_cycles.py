"""No circle of imports among the modules of ``services/`` and ``conformance/``.

A circle makes the order in which modules load matter, and hides which module is the
lower one. The graph is read from the source: every ``import`` anywhere in a file counts,
inside functions and under ``TYPE_CHECKING`` too, since a deferred import is still a
dependency (it only moves the failure to run time). Importing ``pkg.mod`` counts as an
edge to ``pkg.mod`` (and to ``pkg`` when the file names ``pkg`` itself, as in
``from pkg import name``); the implicit load of a package's ``__init__`` on the way to a
submodule does not, or every package re-exporting its submodules would be a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).parents[2]
FOLDERS = {"passerelle.services": ROOT / "services", "passerelle.conformance": ROOT / "conformance"}

ALLOWED: dict[frozenset[str], str] = {}
"""Circles known and kept, each with the reason breaking it is out of scope here."""


def module_files(folders: Mapping[str, Path]) -> dict[str, tuple[Path, bool]]:
    """Module name → (file, whether it is a package's ``__init__``)."""
    found: dict[str, tuple[Path, bool]] = {}
    for prefix, folder in folders.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join([prefix, *parts])] = (path, is_package)
    return found


def _targets(node: ast.AST, package: str) -> Iterable[tuple[str, tuple[str, ...]]]:
    """(module named, names imported from it) for one import statement."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, ()
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        yield base, tuple(a.name for a in node.names)


def import_graph(folders: Mapping[str, Path]) -> dict[str, set[str]]:
    modules = module_files(folders)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            for base, names in _targets(node, package):
                hits = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
                if (base in modules and len(hits) < len(names)) or not names:
                    hits.append(base)
                graph[name].update(h for h in hits if h in modules and h != name)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a deep chain of imports cannot hit the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_services_and_conformance_have_no_import_cycle() -> None:
    found = [c for c in cycles(import_graph(FOLDERS)) if c not in ALLOWED]
    assert [sorted(c) for c in found] == []


def test_every_allowed_cycle_still_exists() -> None:
    # An allowance outliving its circle would hide the next one between those modules.
    assert set(ALLOWED) <= set(cycles(import_graph(FOLDERS)))


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import A\n")
    (pkg / "a.py").write_text("from .b import B\nA = 1\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import c\n"
    )
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("def f() -> None:\n    from ..a import A\n")
    (pkg / "d.py").write_text("from . import a\n")
    found = cycles(import_graph({"x.pkg": pkg}))
    assert found == [frozenset({"x.pkg.a", "x.pkg.b", "x.pkg.sub.c"})]
    (pkg / "sub" / "c.py").write_text("def f() -> None:\n    pass\n")
    assert cycles(import_graph({"x.pkg": pkg})) == []
