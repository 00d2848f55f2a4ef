"""The local stack in a child process (what `passerelle conformance` checks without a
targets file): it serves the same targets, and it never outlives the suite."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from passerelle.conformance._local import start_local_stack_process
from passerelle.conformance._stack_process import StackProcess


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1):
            return True
    except OSError:
        return False


def test_the_child_serves_the_stack_and_stops_with_it(tmp_path: Path) -> None:
    stack, targets = start_local_stack_process(tmp_path)
    try:
        issuer = targets.targets["ca-issuer"]
        assert httpx.get(f"{issuer.url}/health", timeout=5).status_code == 200
        # The suite's identities and the stack's trust lists come from one PKI.
        assert targets.suite.pki_dir == tmp_path
    finally:
        stack.stop()
    assert stack.returncode == 0
    assert not any(_accepts(url) for url in stack.urls.values())


def test_a_child_whose_parent_goes_away_before_the_order_exits() -> None:
    # The parent's end of the pipe closes (a parent that stops, or dies, early).
    stack = StackProcess.spawn()
    stack.stop()
    assert stack.returncode == 0
