"""The core does no I/O (STYLE.md, "For Passerelle" 1): no sockets, files, environment,
clock or randomness in ``passerelle/`` outside the floors above it (``passerelle.services``,
``passerelle.conformance``, ``passerelle.cli``, which live at the top of the repository and
are linked in). This test reads the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).parents[2] / "passerelle"
FORBIDDEN_MODULES = {
    "asyncio",
    "fastapi",
    "httpx",
    "os",
    "pathlib",
    "random",
    "requests",
    "secrets",
    "socket",
    "sqlite3",
    "starlette",
    "subprocess",
    "time",
    "urllib.request",
    "uvicorn",
    "services",
    "conformance",
    "passerelle.services",
    "passerelle.conformance",
    "passerelle.cli",
}
UPPER_FLOORS = ("services", "conformance", "cli")
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "urandom", "getenv", "generate_private_key"}


def _core_files() -> list[Path]:
    return [p for p in CORE.rglob("*.py") if p.relative_to(CORE).parts[0] not in UPPER_FLOORS]


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            if any(name == m or name.startswith(f"{m}.") for m in FORBIDDEN_MODULES):
                found.append(f"{path.name}:{node.lineno} imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno} calls {called}()")
    return found


def test_the_core_has_files() -> None:
    assert len(_core_files()) > 10


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_does_no_io(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import httpx\nfrom datetime import datetime\nx = datetime.now()\n"
        "from passerelle.services.fetch import Fetcher\n"
    )
    assert len(_violations(bad)) == 3
