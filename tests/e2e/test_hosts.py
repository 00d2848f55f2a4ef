"""Every role on an IP address: ``passerelle init --host ROLE=http://127.0.0.1:<port>``
for all of them, ``passerelle up``, and ``passerelle conformance run`` exits 0.

The Canadian verifier's profile prefers ``x509_san_dns``, which needs a DNS name
(OpenID4VP 1.0 §5.9.3); on 127.0.0.1 it identifies itself by ``x509_hash`` instead, and
wallets (ours and the suite's) answer it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from passerelle.cli._stack import _unresolved, running_stack
from passerelle.services.launcher import ROLES
from passerelle.services.pki import load_pki
from passerelle.services.scenarios import free_ports
from passerelle.x509 import x509_hash

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]


def _wait_for_stack(process: subprocess.Popen[str], data_dir: Path) -> dict[str, str]:
    deadline = time.monotonic() + 120
    while (urls := running_stack(data_dir)) is None:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, "the stack never came up"
        time.sleep(0.3)
    return urls


def test_every_role_on_127_0_0_1_passes_the_conformance_suite(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    hosts = {
        role: f"http://127.0.0.1:{port}"
        for role, port in zip(ROLES, free_ports(len(ROLES)), strict=True)
    }
    init = subprocess.run(
        [*PASSERELLE, "init", "--data-dir", str(data_dir)]
        + [f"--host={role}={url}" for role, url in hosts.items()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    env = {**os.environ, "PASSERELLE_DATA_DIR": str(data_dir)}
    up = subprocess.Popen(
        [*PASSERELLE, "up", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        urls = _wait_for_stack(up, data_dir)
        assert urls == hosts
        health = httpx.get(f"{urls['ca-verifier']}/health", timeout=10).json()
        access = load_pki(data_dir).certificate("ca-verifier-access")
        assert health["client_id"] == f"x509_hash:{x509_hash(access)}"
        page = httpx.get(f"{urls['ca-verifier']}/", timeout=10).text
        assert "<code>x509_hash</code>" in page  # the page says which prefix is in use
        report = tmp_path / "report"
        run = subprocess.run(
            [*PASSERELLE, "conformance", "run", "--report", str(report)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            env=env,
        )
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
        results = json.loads((report / "report.json").read_text())
        statuses = {(r["check_id"], r["subject"]): r["status"] for r in results["results"]}
        # The suite really answered the Canadian verifier and our wallet (not skipped).
        assert statuses[("VER-PRES-01", "ca-verifier")] == "passed"
        assert statuses[("WAL-02", "wallet")] == "passed"
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            raise


def test_up_refuses_a_host_name_this_machine_cannot_resolve() -> None:
    # RFC 6761 §6.4: .invalid never resolves; a *.localhost name may not either.
    assert _unresolved({"wallet": "http://wallet.invalid:8103"}) == [
        ("wallet", "http://wallet.invalid:8103", "wallet.invalid")
    ]
    assert _unresolved({"wallet": "http://127.0.0.1:8103", "trust": "http://localhost:8100"}) == []


@pytest.mark.parametrize("role", ["ca-verifier"])
def test_init_says_why_a_verifier_on_an_ip_uses_x509_hash(tmp_path: Path, role: str) -> None:
    [port] = free_ports(1)
    init = subprocess.run(
        [
            *PASSERELLE,
            "init",
            "--data-dir",
            str(tmp_path),
            f"--host={role}=http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    assert "x509_hash" in init.stdout


def test_up_names_the_fix_when_a_port_is_taken(tmp_path: Path) -> None:
    import socket

    hosts = {
        role: f"http://127.0.0.1:{port}"
        for role, port in zip(ROLES, free_ports(len(ROLES)), strict=True)
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(hosts["wallet"].rsplit(":", 1)[1])))
        taken.listen()
        init = subprocess.run(
            [*PASSERELLE, "init", "--data-dir", str(tmp_path)]
            + [f"--host={role}={url}" for role, url in hosts.items()],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert init.returncode == 0, init.stdout + init.stderr
        up = subprocess.run(
            [*PASSERELLE, "up", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert up.returncode == 2, up.stdout + up.stderr
    # a one-line failure, on stderr, naming the fix
    assert "passerelle init --data-dir" in up.stderr
    assert "--host ROLE=URL" in up.stderr
    assert not (tmp_path / "stack.json").exists()
