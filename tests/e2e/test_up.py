"""``passerelle up`` as a developer runs it: one command, every service on its recorded
loopback port, /health saying which transport is in use, a clean stop on Ctrl-C.

With ``--tls`` the data-space connectors must still work: their did:web identifiers
name a loopback address (``did:web:127.0.0.1%3A<port>:provider``), and their documents,
version metadata, DSP messages and Credential Service queries all go over https."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from passerelle.cli._stack import running_stack, stack_verify
from passerelle.dcp import did_web_to_url
from passerelle.services.launcher import DATASPACE_ROLES, ROLES
from passerelle.services.scenarios import (
    DATA_RECEIVED,
    DATASPACE_SCENARIOS,
    DataspaceClient,
    backchannel_headers,
    free_ports,
    play_dataspace,
    stack_hosts,
)

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]


def _connectors_work(
    urls: dict[str, str], data_dir: Path, verify: ssl.SSLContext | bool, *, tls: bool
) -> None:
    """Discovery and one negotiation + pull transfer, over the stack's own transport."""
    scheme = "https" if tls else "http"
    client = DataspaceClient(urls=urls, data_dir=data_dir, verify=verify)
    for connector in DATASPACE_ROLES:
        base = urls[connector]
        versions = httpx.get(f"{base}/.well-known/dspace-version", verify=verify, timeout=60)
        assert versions.status_code == 200, versions.text
        [version] = versions.json()["protocolVersions"]
        assert version["version"] == "2025-1"
        assert version["binding"] == "HTTPS"
        health = client.health(connector)
        assert health["provider"]["dsp"] == f"{base}/dsp"
        for did, path in (
            (client.provider_did(connector), "provider"),
            (client.sme_did(connector), "sme"),
        ):
            # What a peer resolves the DID to: the same address, over this stack's scheme
            # (a loopback DID is https unless the stack runs without TLS).
            url = did_web_to_url(did, allow_loopback=True, allow_insecure_loopback=not tls)
            assert url == f"{base}/{path}/did.json"
            assert url.startswith(f"{scheme}://127.0.0.1:")
            document = httpx.get(url, verify=verify, timeout=60)
            assert document.status_code == 200, document.text
            assert document.headers["content-type"].startswith("application/did+json")
            assert document.json()["id"] == did
        sme = httpx.get(f"{base}/sme/did.json", verify=verify, timeout=60).json()
        assert sme["service"][0]["serviceEndpoint"] == f"{base}/sme/cs"
    if tls:
        # No plain-http door left open beside the TLS one.
        with pytest.raises(httpx.TransportError):
            httpx.get(urls["ca-dataspace"].replace("https://", "http://") + "/health", timeout=5)

    client.enrol()
    scenario = DATASPACE_SCENARIOS[0]  # the Canadian SME gets the EU supplier registry
    outcome = play_dataspace(client, scenario)
    assert outcome.outcome == DATA_RECEIVED, outcome
    assert outcome.as_expected
    assert outcome.negotiation["state"] == "FINALIZED"
    assert outcome.transfer["state"] == "COMPLETED"
    assert outcome.transfer["data"]["rows"]
    # The provider resolved the SME and the issuers, queried the Credential Service and
    # checked status lists over this transport, and trusted both issuers.
    proof = outcome.decision["decision"]["proof"]
    assert proof["credentials"]
    for credential in proof["credentials"]:
        assert credential["trust"]["trusted"], credential
        assert credential["status"] == "valid"
        assert credential["trust"]["issuer"].startswith(f"{scheme}://127.0.0.1:")


def _passerelle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PASSERELLE, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "100"},
    )


def _commands_find_the_running_stack(
    data_dir: Path, tmp_path: Path, urls: dict[str, str], *, tls: bool
) -> None:
    # A second `up` on the same data directory says so, in one line, and starts nothing.
    again = _passerelle("up", "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("\n") == 1, again.stdout + again.stderr
    assert "already running" in again.stdout
    assert "Traceback" not in again.stderr
    assert "address already in use" not in again.stdout + again.stderr

    # The demo plays against this stack (not a second one), the minor refused at the
    # age check and the adult accepted, its scenarios numbered in order.
    report = tmp_path / "demo.json"
    demo = _passerelle("demo", "--data-dir", str(data_dir), "--report", str(report))
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    assert f"using the stack `passerelle up` runs on {data_dir}" in demo.stdout
    assert "starting a fresh one" not in demo.stdout
    played = json.loads(report.read_text())
    numbers = [s["number"] for s in played["scenarios"] + played["dataspace"]]
    assert numbers == list(range(1, len(numbers) + 1))
    adult, minor = played["scenarios"][:2]
    assert adult["outcome"] == "accepted"
    assert minor["outcome"] == "dcql.no_match"
    assert minor["disclosed"] is None
    assert "1. EU PID of an adult" in demo.stdout
    assert "2. EU PID of a 17-year-old" in demo.stdout
    assert '"cnf"' not in demo.stdout  # no attestation dumped after "disclosed only"
    # What the demo received is in this stack's wallet.
    held = httpx.get(
        f"{urls['wallet']}/api/credentials",
        headers=backchannel_headers(data_dir, "wallet"),
        verify=stack_verify(data_dir),
        timeout=60,
    ).json()
    assert any(c["credential_type"] == "urn:eudi:pid:1" for c in held)

    if tls:
        return
    # The conformance suite too; --quiet prints the counts and the report's path only.
    out = tmp_path / "conformance"
    run = _passerelle(
        "conformance",
        "run",
        "--data-dir",
        str(data_dir),
        "--quiet",
        "--plan",
        "trust-list",
        "--report",
        str(out),
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 2, run.stdout
    assert re.fullmatch(
        r"\d+ passed, \d+ failed, \d+ warning, \d+ skipped, \d+ error; 0 unexpected", lines[0]
    )
    assert lines[1] == f"HTML report: {out / 'report.html'}"
    tested = json.loads((out / "report.json").read_text())["targets"]
    assert {t["url"] for t in tested.values()} & set(urls.values())  # this stack, not another


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
        deadline = time.monotonic() + 300  # ends when the stack answers
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
            health = httpx.get(f"{url}/health", verify=verify, timeout=60).json()
            assert health["transport"] == scheme, role
        _connectors_work(state["urls"], data_dir, verify, tls=tls)
        _commands_find_the_running_stack(data_dir, tmp_path, state["urls"], tls=tls)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0
    assert not (data_dir / "stack.json").exists()
