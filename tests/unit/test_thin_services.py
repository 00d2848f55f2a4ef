"""The services stay thin: no function in ``services/`` is longer than a screen.

A service is a set of routers over a small state object; protocol decisions live in
the core, where they are tested without HTTP. A function that outgrows 80 lines is the
sign that a decision moved back into a route (or that an app factory is building its
routes as closures again). Lines are counted from the ``def`` (decorators excluded) to
the function's last line, nested functions included in their parent's count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
SERVICES = ROOT / "services"
LIMIT = 80


def long_functions(folder: Path, limit: int = LIMIT) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    where = path.relative_to(folder)
                    found.append(f"{where}:{node.lineno} {node.name} is {length} lines")
    return found


def test_services_has_modules() -> None:
    assert len(list(SERVICES.rglob("*.py"))) > 20


def test_no_function_in_services_is_longer_than_80_lines() -> None:
    assert long_functions(SERVICES) == []


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT - 1))
    (tmp_path / "fits.py").write_text(f"def fits() -> None:\n{body}")
    assert long_functions(tmp_path) == []
    nested = "".join(f"        y{i} = {i}\n" for i in range(LIMIT))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.py").write_text(
        f"def factory() -> None:\n    async def route() -> None:\n{nested}"
    )
    assert long_functions(tmp_path) == [
        f"sub/bad.py:1 factory is {LIMIT + 2} lines",
        f"sub/bad.py:2 route is {LIMIT + 1} lines",
    ]
