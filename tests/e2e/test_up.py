"""``passerelle up`` as a developer runs it: one command, every service on its recorded
loopback port, /health saying which transport is in use, a clean stop on Ctrl-C."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from passerelle.cli._stack import running_stack
from services.launcher import ROLES
from services.scenarios import free_ports, stack_hosts

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_up_serves_every_role_and_stops_cleanly_on_ctrl_c(tmp_path: Path, tls: bool) -> None:
    data_dir = tmp_path / "data"
    # Free ports recorded by init, so the test never meets a stack a developer runs.
    hosts = stack_hosts(free_ports(len(ROLES)))
    init = subprocess.run(
        [*PASSERELLE, "init", "--data-dir", str(data_dir)]
        + [f"--host={role}={url}" for role, url in hosts.items()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    command = [*PASSERELLE, "up", "--data-dir", str(data_dir), *(["--tls"] if tls else [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while running_stack(data_dir) is None:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the stack never came up"
            time.sleep(0.3)
        state = json.loads((data_dir / "stack.json").read_text())
        scheme = "https" if tls else "http"
        assert set(state["urls"]) == set(ROLES)
        verify = ssl.create_default_context(cafile=state["tls_ca"]) if tls else True
        for role, url in state["urls"].items():
            assert url.startswith(f"{scheme}://")
            assert url.split("://", 1)[1] == hosts[role].split("://", 1)[1]
            health = httpx.get(f"{url}/health", verify=verify, timeout=5).json()
            assert health["transport"] == scheme, role
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0
    assert not (data_dir / "stack.json").exists()
