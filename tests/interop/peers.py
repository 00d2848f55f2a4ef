"""Plumbing to run the interop peers: the npm ``@sd-jwt`` peer behind ``sdjwt_peer.mjs``
and the PyPI ``sd-jwt`` peer behind ``pypi_peer.py``. Locally a missing peer skips;
with ``CI`` set it fails, since an interop suite that silently skips proves nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from passerelle._json import JsonObject, parse_json_object

HERE = Path(__file__).resolve().parent
NODE_PEER = HERE / "sdjwt_peer.mjs"
NODE_MODULES = HERE / "node_modules"


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def peer_unavailable(reason: str) -> None:
    """Skip locally; in CI an interop suite that silently skips proves nothing."""
    if _in_ci():
        pytest.fail(f"{reason}; CI is set, so the interop peers must be installed", pytrace=False)
    pytest.skip(reason)


def require_node_peer() -> None:
    if shutil.which("node") is None:
        peer_unavailable("node is not on PATH (needed for the @sd-jwt interop peer)")
    if not (NODE_MODULES / "@sd-jwt" / "sd-jwt-vc").is_dir():
        peer_unavailable(
            "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop`"
        )


def run_node_peer(request: JsonObject) -> tuple[int, JsonObject]:
    """Send one request to ``sdjwt_peer.mjs``; return its exit code and its JSON answer."""
    require_node_peer()
    completed = subprocess.run(
        ["node", str(NODE_PEER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.stdout, f"node peer wrote nothing; stderr: {completed.stderr}"
    return completed.returncode, parse_json_object(completed.stdout)


def node_ok(request: JsonObject) -> JsonObject:
    code, answer = run_node_peer(request)
    assert code == 0, answer
    assert "error" not in answer
    return answer


def node_error(request: JsonObject) -> str:
    code, answer = run_node_peer(request)
    assert code == 1, answer
    error = answer.get("error")
    assert isinstance(error, str)
    assert error
    return error


def load_pypi_peer() -> ModuleType:
    try:
        import pypi_peer
    except ImportError as exc:
        peer_unavailable(f"the PyPI sd-jwt peer cannot be imported: {exc}")
        raise  # unreachable: peer_unavailable always raises
    return pypi_peer


def require_pypi_peer(module: str) -> None:
    """A peer from PyPI (the ``dev`` extra) must be importable; skip or fail as above."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        peer_unavailable(f"{module} is not installed: run `.venv/bin/pip install -e '.[dev]'`")
