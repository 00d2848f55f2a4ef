"""The floors of DESIGN §4 import downwards only.

    passerelle (core)  <  passerelle.services  <  passerelle.conformance  <  passerelle.cli

A module may import its own floor and the floors below it, never one above. The three
upper floors sit at the top of the repository (``services/``, ``conformance/``, ``cli/``)
and are installed inside ``passerelle`` (links ``passerelle/services`` etc.), so nothing
may import them by their bare folder names either: that would load every module twice,
under two names. This test reads the source; it runs in ``.ci/run`` with the rest.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FLOORS = ("passerelle", "passerelle.services", "passerelle.conformance", "passerelle.cli")
"""From the bottom up."""
FOLDERS = {
    "passerelle": ROOT / "passerelle",
    "passerelle.services": ROOT / "services",
    "passerelle.conformance": ROOT / "conformance",
    "passerelle.cli": ROOT / "cli",
}
BARE = ("services", "conformance", "cli")


def floor_of(module: str) -> int:
    """The index in FLOORS of the highest floor ``module`` belongs to."""
    return max(i for i, f in enumerate(FLOORS) if module == f or module.startswith(f"{f}."))


def _imported(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """Every module a file imports, relative imports resolved against ``package``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            if base == "passerelle":
                # `from passerelle import services` (or `from .. import cli`) names a floor.
                found += [(node.lineno, f"passerelle.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, base))
    return found


def upward_imports(path: Path, floor: int, package: str = "") -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = []
    for line, name in _imported(tree, package):
        if name.split(".")[0] in BARE:
            bad.append(f"{path.name}:{line} imports {name} by its folder name")
        elif name.split(".")[0] == "passerelle" and floor_of(name) > floor:
            bad.append(f"{path.name}:{line} imports {name}, a floor above {FLOORS[floor]}")
    return bad


def _modules() -> list[tuple[Path, int, str]]:
    """(file, floor, the package the file's relative imports start from)."""
    found = []
    for floor, name in enumerate(FLOORS):
        folder = FOLDERS[name]
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).parts
            if floor == 0 and parts[0] in BARE:
                continue  # the links to the upper floors
            found.append((path, floor, ".".join([name, *parts[:-1]])))
    return found


def _everything_else() -> list[Path]:
    """Tests, benches and scripts stand outside the floors: they may import any floor,
    but only by its installed name."""
    return sorted(
        p
        for top in ("tests", "bench")
        for p in (ROOT / top).rglob("*.py")
        if "node_modules" not in p.parts
    )


def test_every_floor_has_modules() -> None:
    counts = [sum(1 for _, f, _ in _modules() if f == i) for i in range(len(FLOORS))]
    assert all(c > 3 for c in counts), counts


@pytest.mark.parametrize(
    ("path", "floor", "package"),
    [pytest.param(*m, id=str(m[0].relative_to(ROOT))) for m in _modules()],
)
def test_no_module_imports_a_floor_above_its_own(path: Path, floor: int, package: str) -> None:
    assert upward_imports(path, floor, package) == []


@pytest.mark.parametrize("path", _everything_else(), ids=lambda p: str(p.relative_to(ROOT)))
def test_tests_and_benches_use_installed_names(path: Path) -> None:
    assert upward_imports(path, len(FLOORS) - 1) == []


def test_the_check_catches_upward_and_bare_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from passerelle.conformance import run\n"
        "import passerelle.cli\n"
        "from passerelle import services\n"
        "from services.fetch import Fetcher\n"
        "from passerelle.sd_jwt import verify_sd_jwt\n"
    )
    assert len(upward_imports(bad, FLOORS.index("passerelle.services"))) == 3
    assert len(upward_imports(bad, 0)) == 4
    relative = tmp_path / "relative.py"
    relative.write_text("from ..conformance import run\nfrom .. import cli\nfrom ..jose import x\n")
    assert len(upward_imports(relative, 1, "passerelle.services")) == 2
    assert upward_imports(bad, len(FLOORS) - 1) == [
        "bad.py:4 imports services.fetch by its folder name"
    ]
