"""docs/partners.md, followed literally: every ``sh`` block of the guide, in order, in
one shell, from a fresh data directory.

The guide runs from the root of a checkout. The test gives it one of its own: a
directory holding a copy of ``trust_lists/`` (the guide writes partner files there)
and the checkout's ``.venv``. Two settings the guide documents keep the run apart from
anything else on the machine: ``$PASSERELLE_TRUST_SOURCES`` names that copy, and
``$PASSERELLE_HOSTS`` puts the stack on free ports. A block whose first line is
``# expected to fail (reason.code)`` must exit non-zero, and its output must carry that
reason code (the guide shows a refusal there).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from passerelle.services.launcher import ROLES
from passerelle.services.scenarios import free_ports, stack_hosts

REPO = Path(__file__).parents[2]
GUIDE = REPO / "docs" / "partners.md"
EXPECTED_FAILURE = "# expected to fail"
# The stand-in partner's ports, as the guide writes them.
PARTNER_PORTS = (9101, 9102)


def guide_script(text: str) -> str:
    blocks = _blocks(text)
    assert blocks, "the guide has no sh blocks"
    script = ["set -euo pipefail"]
    for number, block in enumerate(blocks, 1):
        script.append(f"echo '### guide block {number}'")
        if block.startswith(EXPECTED_FAILURE):
            script += [
                f"if ( {block.strip()}\n); then",
                f"  echo 'guide block {number} should have failed'; exit 97",
                "fi",
            ]
        else:
            script.append(block)
    return "\n".join(script) + "\n"


def _blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def expected_refusals(text: str) -> dict[int, str]:
    """Block number -> the reason code its ``# expected to fail (code)`` line names."""
    return {
        number: match[1]
        for number, block in enumerate(_blocks(text), 1)
        if (match := re.match(re.escape(EXPECTED_FAILURE) + r" \(([a-z0-9_.]+)\)", block))
    }


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_the_guide_has_its_refusals_marked() -> None:
    script = guide_script(GUIDE.read_text())
    assert script.count("should have failed") == 2
    assert sorted(expected_refusals(GUIDE.read_text()).values()) == [
        "sd_jwt_vc.issuer_key_unresolved",
        "x509.chain_invalid",
    ]
    assert "--tls" in script  # partners meet the stack over HTTPS
    # Every passerelle command that reads or writes a data directory names it.
    for line in script.splitlines():
        if re.search(r"passerelle (init|up|serve|trust|wallet)", line):
            assert "--data-dir" in line, line


def test_the_partner_guide_runs_as_written(tmp_path: Path) -> None:
    if not all(_port_free(p) for p in PARTNER_PORTS):
        # The guide names these ports literally; on a developer's busy machine the test
        # steps aside, in CI (a fresh machine) a busy port is a failure, never a skip.
        message = f"ports {PARTNER_PORTS} (the guide's stand-in partner) are in use"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".venv").symlink_to(REPO / ".venv")
    shutil.copytree(REPO / "trust_lists", checkout / "trust_lists")
    hosts = stack_hosts(free_ports(len(ROLES)))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")},
        "PASSERELLE_TRUST_SOURCES": str(checkout / "trust_lists"),
        "PASSERELLE_HOSTS": ",".join(f"{role}={url}" for role, url in hosts.items()),
    }
    (checkout / "guide.sh").write_text(guide_script(GUIDE.read_text()))
    process = subprocess.Popen(
        ["bash", "guide.sh"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=900)
    finally:
        # The guide leaves the stack and the stand-in partner running in the background.
        for sig in (signal.SIGINT, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            if sig is signal.SIGINT:
                subprocess.run(["sleep", "3"], check=False)
    logs = "".join(f"\n--- {log.name}\n{log.read_text()[-3000:]}" for log in checkout.glob("*.log"))
    assert process.returncode == 0, output[-8000:] + logs
    # Each refusal the guide shows happened, for the reason it names.
    segments = dict(
        (int(n), body)
        for n, body in re.findall(
            r"### guide block (\d+)\n(.*?)(?=### guide|\Z)", output, flags=re.DOTALL
        )
    )
    # `passerelle wallet` answers people with one "✘" line naming the reason code.
    for number, reason in expected_refusals(GUIDE.read_text()).items():
        refused = re.compile(rf"^✘ .*: {re.escape(reason)}\b", re.MULTILINE)
        assert refused.search(segments[number]), segments[number][-3000:]
    # The last receive is the Canadian partner's credential, accepted and kept.
    last = output.rsplit("### guide block", 1)[-1]
    assert re.search(
        r"^✔ kept https://credentials\.passerelle\.example/ca/person/v1 ", last, re.M
    ), output[-4000:]
    sequences = (checkout / ".passerelle" / "trust" / "state.json").read_text()
    assert '"wrpac-providers": ' in sequences
    partners = sorted(p.name for p in (checkout / "trust_lists" / "partners").glob("*.yaml"))
    assert partners == ["nordlys-ca.yaml", "nordlys-pid.yaml", "nordlys-verifier.yaml"]
