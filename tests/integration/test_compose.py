"""``compose.yaml`` without a Docker engine: valid against the Compose Specification
schema, consistent with the launcher, and every service's command, run as a local
process with its compose environment, becomes healthy.

What a local process cannot have is the compose network: the ``*.passerelle.localhost``
aliases and the ``postgres`` host; nor the image's file system. So three values of the
compose environment are replaced, and only those: ``PASSERELLE_HOSTS`` (the same roles on
free loopback ports), the host of ``PASSERELLE_STORE`` (this machine's PostgreSQL, tables
under a fresh prefix) and ``PASSERELLE_TRUST_SOURCES`` (the checkout's ``trust_lists/``,
which the image holds a copy of, with ``partners/`` mounted from the checkout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
import yaml

from passerelle.services.launcher import ROLES
from passerelle.services.scenarios import free_ports
from tests.storage_backends import PG_URL, _drop_postgres_table, _require_postgres

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SCHEMA = json.loads((ROOT / "tests" / "vectors" / "compose" / "compose-spec.json").read_text())
PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]
# Six services starting at once on a loaded two-core machine: the loop ends as soon as
# each is healthy, so only a broken service ever waits this long.
HEALTHY_WITHIN = 300


def _services() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in COMPOSE["services"].items() if k in ROLES}


def _hosts(env: dict[str, str]) -> dict[str, str]:
    pairs = (item.strip().partition("=") for item in env["PASSERELLE_HOSTS"].split(","))
    return {role: url for role, _, url in pairs}


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    validator.check_schema(SCHEMA)
    validator.validate(COMPOSE)
    broken = {**COMPOSE, "services": {"x": {"image": "a", "ports": [{"bogus": 1}]}}}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_every_role_is_a_service_reachable_under_one_name_inside_and_out() -> None:
    services = _services()
    assert set(services) == set(ROLES)
    for role, service in services.items():
        env = service["environment"]
        url = _hosts(env)[role]
        port = url.rsplit(":", 1)[1]
        host = f"{role}.passerelle.localhost"
        assert url == f"http://{host}:{port}"
        # Inside its container a service listens on every interface.
        assert service["command"] == ["serve", role, "--host", "0.0.0.0", "--port", port]  # noqa: S104
        # Published as itself, on the host's loopback only: not to the network.
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
        # Partners join by a file in trust_lists/partners/, without rebuilding the image.
        sources = env["PASSERELLE_TRUST_SOURCES"]
        assert f"./trust_lists/partners:{sources}/partners:ro" in service["volumes"]
        if role != "trust":
            assert service["depends_on"]["trust"]["condition"] == "service_healthy"
        else:
            assert "trust" not in service["depends_on"]
        assert host in service["networks"]["default"]["aliases"]
        assert f"127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert env["PASSERELLE_STORE"].startswith("postgresql://")
    assert "passerelle-data" in COMPOSE["volumes"]
    assert COMPOSE["services"]["postgres"]["healthcheck"]["test"][1] == "pg_isready"


def _local_env(
    tmp_path: Path, compose_env: dict[str, str], ports: dict[str, int], prefix: str
) -> dict[str, str]:
    env = {**os.environ, **compose_env}
    env["PASSERELLE_DATA_DIR"] = str(tmp_path / "data")
    env["PASSERELLE_HOSTS"] = ",".join(
        f"{role}=http://{'localhost' if 'verifier' in role else '127.0.0.1'}:{ports[role]}"
        for role in ROLES
    )
    env["PASSERELLE_STORE"] = f"{PG_URL}?prefix={prefix}"
    env["PASSERELLE_TRUST_SOURCES"] = str(ROOT / "trust_lists")
    return env


@pytest.mark.postgres
def test_every_compose_service_command_becomes_healthy_as_a_local_process(tmp_path: Path) -> None:
    _require_postgres()
    services = _services()
    ports = dict(zip(ROLES, free_ports(len(ROLES)), strict=True))
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    env = _local_env(tmp_path, COMPOSE["services"]["init"]["environment"], ports, prefix)
    init = subprocess.run(
        [*PASSERELLE, *COMPOSE["services"]["init"]["command"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    processes: dict[str, subprocess.Popen[str]] = {}
    try:
        for role, service in services.items():
            command = [
                str(ports[role]) if part == service["command"][-1] else part
                for part in service["command"]
            ]
            command[command.index("--host") + 1] = "127.0.0.1"
            processes[role] = subprocess.Popen(
                [*PASSERELLE, *command],
                env=_local_env(tmp_path, service["environment"], ports, prefix),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        for role, service in services.items():
            # The compose health check itself, pointed at this process's port.
            check = [
                part.replace(service["command"][-1], str(ports[role]))
                for part in service["healthcheck"]["test"][1:]
            ]
            check[0] = sys.executable if check[0] == "python" else check[0]
            deadline = time.monotonic() + HEALTHY_WITHIN
            while True:
                assert processes[role].poll() is None, processes[role].stderr.read()  # type: ignore[union-attr]
                if (
                    subprocess.run(check, capture_output=True, timeout=60, check=False).returncode
                    == 0
                ):
                    break
                assert time.monotonic() < deadline, f"{role} never became healthy"
                time.sleep(0.3)
        # The services keep their state in PostgreSQL, each under a table of its own.
        with psycopg.connect(PG_URL) as conn:
            tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables")}
        stateful = [r for r in ROLES if r != "trust"]
        assert {f"{prefix}_{r.replace('-', '_')}_store" for r in stateful} <= tables
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for role in ROLES:
            _drop_postgres_table(f"{prefix}_{role.replace('-', '_')}")
