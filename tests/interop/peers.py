"""Plumbing to run the interop peers: the npm ``@sd-jwt`` peer behind ``sdjwt_peer.mjs``
and the PyPI ``sd-jwt`` peer behind ``pypi_peer.py``. Locally a missing peer skips;
with ``CI`` set it fails, since an interop suite that silently skips proves nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
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


def require_node_package(package: str) -> None:
    """Skip (fail in CI) unless node and the npm ``package`` of a peer are installed."""
    if shutil.which("node") is None:
        peer_unavailable(f"node is not on PATH (needed for the {package} interop peer)")
    if not (NODE_MODULES / package).is_dir():
        peer_unavailable(f"{package} is not installed: run `npm ci --prefix tests/interop`")


def require_node_peer() -> None:
    require_node_package("@sd-jwt/sd-jwt-vc")


def run_node(
    script: Path,
    request: JsonObject,
    *,
    package: str,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> tuple[int, JsonObject]:
    """Send one JSON request to a node peer ``script`` (which needs the npm ``package``)
    on stdin; return its exit code and its JSON answer."""
    require_node_package(package)
    completed = subprocess.run(
        ["node", str(script)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else dict(env),
    )
    assert completed.stdout, f"{script.name} wrote nothing; stderr: {completed.stderr}"
    return completed.returncode, parse_json_object(completed.stdout)


def run_node_peer(request: JsonObject) -> tuple[int, JsonObject]:
    """Send one request to ``sdjwt_peer.mjs``; return its exit code and its JSON answer."""
    return run_node(NODE_PEER, request, package="@sd-jwt/sd-jwt-vc", timeout=60)


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
