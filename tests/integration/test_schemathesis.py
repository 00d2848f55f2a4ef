"""Every service's OpenAPI document, fuzzed by schemathesis: no answer is a server
error, and every answer matches what the document says (the error envelope included).

Bounded: a few dozen generated requests per operation, in-process (ASGI), on a fresh
data directory. Nothing leaves the machine: outbound fetches the services make for a
generated request may resolve and reach loopback only (a guard below refuses every
other name and address before a socket is opened)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.result import Err

from passerelle.services.launcher import ROLES, build_app
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now

EXAMPLES = 30

COUNTS: dict[str, int] = {"cases": 0}


def _loopback_only(host: str) -> bool:
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    """No generated URL may make this test talk to anything but this machine."""
    real_resolve = socket.getaddrinfo
    real_connect = httpcore.SyncBackend.connect_tcp

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback_only(str(host)):
            raise socket.gaierror(socket.EAI_NONAME, "offline test")
        return real_resolve(host, *args, **kwargs)

    def connect(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if not _loopback_only(host):
            raise httpcore.ConnectError("offline test")
        return real_connect(self, host, port, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", resolve)
        patch.setattr(httpcore.SyncBackend, "connect_tcp", connect)
        yield


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schemathesis")
    init_pki(path, now=utc_now())
    return path


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_and_as_documented(role: str, data_dir: Path, offline: None) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", build_app(role, data_dir=data_dir))
    failures: list[str] = []
    operations = 0
    cases = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation cannot be read: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        # Positive (valid per the document) and negative (invalid on purpose) requests.
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            nonlocal cases
            cases += 1
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:  # one failing operation must not hide the others
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    COUNTS[role] = operations
    COUNTS["cases"] += cases
    print(f"schemathesis {role}: {operations} operations, {cases} cases, {len(failures)} failing")
    assert not failures, "\n\n".join(failures)
