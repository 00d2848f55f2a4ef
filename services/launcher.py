"""Running services: one role as an ASGI app, or several on loopback ports at once.

``passerelle serve ROLE`` runs one; ``passerelle up`` and the end-to-end tests run a
stack. Every role is built here and nowhere else, with the same arguments whichever
way it is started (compose uses the same commands).

With several workers a role runs as several processes behind one listening socket
(uvicorn's supervisor): each worker builds the app from the environment the parent
set (:func:`app_from_environment`). Whatever must hold across workers (nonces,
pre-authorized codes, transaction states, status indices) lives in the store, which
is SQLite in WAL mode or PostgreSQL; each worker keeps only caches of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import uvicorn
from fastapi import FastAPI

__all__ = [
    "APP_FACTORY",
    "DATASPACE_ROLES",
    "ROLES",
    "RunningStack",
    "app_from_environment",
    "build_app",
    "start_stack",
    "store_for",
    "worker_environment",
]

APP_FACTORY = "passerelle.services.launcher:app_from_environment"
_ROLE_ENV = "PASSERELLE_ROLE"
_DATA_DIR_ENV = "PASSERELLE_DATA_DIR"
_STORE_ENV = "PASSERELLE_STORE"
_QUIRKS_ENV = "PASSERELLE_QUIRKS"
_PIN_ENV = "PASSERELLE_PIN"

DATASPACE_ROLES = ("ca-dataspace", "eu-dataspace")
ROLES = (
    "trust",
    "ca-issuer",
    "eu-issuer",
    "wallet",
    "ca-verifier",
    "eu-verifier",
    *DATASPACE_ROLES,
)
"""The data-space connectors (issue 9). Started on request (the e2e data-space tests,
``passerelle demo``); ``build_app`` knows them like any other role."""


def build_app(
    role: str,
    *,
    data_dir: Path,
    store: str | None = None,
    quirks: Iterable[str] = (),
) -> FastAPI:
    """The app of one role. ``store`` is a storage URL (default: SQLite in data_dir)."""
    store = store_for(role, store)
    if role == "trust":
        from passerelle.services.trust.app import create_trust_app
        from passerelle.services.trust.quirks import TrustQuirk
        from passerelle.services.trust.sources import trust_sources

        return create_trust_app(
            data_dir=data_dir,
            sources=trust_sources(),
            quirks=frozenset(TrustQuirk(q) for q in quirks),
        )
    if role in ("ca-issuer", "eu-issuer"):
        from passerelle.services.issuer.app import create_issuer_app
        from passerelle.services.issuer.quirks import IssuerQuirk

        chosen = frozenset(IssuerQuirk(q) for q in quirks) if quirks else None
        return create_issuer_app(
            profile_name=role, data_dir=data_dir, store_url=store, quirks=chosen
        )
    if role == "wallet":
        from passerelle.services.wallet.app import create_wallet_app
        from passerelle.services.wallet.quirks import WalletQuirk

        return create_wallet_app(
            data_dir=data_dir,
            store_url=store,
            quirks=frozenset(WalletQuirk(q) for q in quirks),
        )
    if role in ("ca-verifier", "eu-verifier"):
        from passerelle.services.verifier.app import create_verifier_app
        from passerelle.services.verifier.quirks import VerifierQuirk

        return create_verifier_app(
            profile_name=role,
            data_dir=data_dir,
            store_url=store,
            quirks=frozenset(VerifierQuirk(q) for q in quirks),
        )
    if role in DATASPACE_ROLES:
        from passerelle.services.dataspace.app import create_dataspace_app
        from passerelle.services.dataspace.profile import ROLE_PROFILES
        from passerelle.services.dataspace.quirks import ConnectorQuirk

        return create_dataspace_app(
            profile_name=ROLE_PROFILES[role],
            data_dir=data_dir,
            store_url=store,
            quirks=frozenset(ConnectorQuirk(q) for q in quirks),
        )
    raise ValueError(f"unknown role {role!r}; one of {ROLES}")


def worker_environment(
    role: str,
    *,
    data_dir: Path,
    store: str | None = None,
    quirks: Iterable[str] = (),
    pin: bool = False,
) -> dict[str, str]:
    """What a worker process needs to build the app of ``role``, as variables; ``pin``:
    each worker keeps to a CPU of its own (:func:`pin_to_a_cpu`)."""
    env = {_ROLE_ENV: role, _DATA_DIR_ENV: str(Path(data_dir).resolve())}
    if store is not None:
        env[_STORE_ENV] = store
    chosen = ",".join(quirks)
    if chosen:
        env[_QUIRKS_ENV] = chosen
    if pin:
        env[_PIN_ENV] = "1"
    return env


def pin_to_a_cpu(data_dir: Path) -> int | None:
    """Keep this serving process on a CPU, spreading the processes pinned from the same
    data directory over the CPUs (services/cpus.py); that CPU, or None where it cannot."""
    from passerelle.services.cpus import CLAIMS_DIR, claim_cpu

    return claim_cpu(Path(data_dir) / CLAIMS_DIR)


def app_from_environment() -> FastAPI:
    """The app factory each worker process calls (``uvicorn --factory``)."""
    data_dir = Path(os.environ[_DATA_DIR_ENV])
    if os.environ.get(_PIN_ENV):
        # Here, in the worker's main thread, before its pool has started a thread.
        pin_to_a_cpu(data_dir)
    quirks = [q for q in os.environ.get(_QUIRKS_ENV, "").split(",") if q]
    return build_app(
        os.environ[_ROLE_ENV],
        data_dir=data_dir,
        store=os.environ.get(_STORE_ENV) or None,
        quirks=quirks,
    )


def store_for(role: str, store: str | None) -> str | None:
    """Each role's own tables in a shared PostgreSQL database: two issuers both keep
    ``offers`` and ``nonces``, which must never meet. The role is appended to the URL's
    table prefix (default ``passerelle``). SQLite is a file per role already."""
    if store is None or not store.startswith(("postgresql://", "postgres://")):
        return store
    parts = urlsplit(store)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), "passerelle")
    query = [(k, v) for k, v in query if k != "prefix"]
    query.append(("prefix", f"{prefix}_{role.replace('-', '_')}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(slots=True)
class _Running:
    server: uvicorn.Server
    thread: threading.Thread


@dataclass(slots=True)
class RunningStack:
    urls: dict[str, str]
    _running: list[_Running] = field(default_factory=list)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for running in self._running:
            running.server.should_exit = True
        for process in self._processes:
            process.terminate()
        for running in self._running:
            running.thread.join(timeout=10)
        for process in self._processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _start_workers(
    role: str,
    *,
    url: str,
    workers: int,
    data_dir: Path,
    store: str | None,
    tls: tuple[str, str] | None,
    quirks: Iterable[str],
) -> subprocess.Popen[bytes]:
    parts = urlsplit(url)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        APP_FACTORY,
        "--factory",
        "--host",
        parts.hostname or "127.0.0.1",
        "--port",
        str(parts.port or 80),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "2",
    ]
    if tls:
        command += ["--ssl-certfile", tls[0], "--ssl-keyfile", tls[1]]
    env = {**os.environ, **worker_environment(role, data_dir=data_dir, store=store, quirks=quirks)}
    # Our own interpreter and module, with arguments from our own configuration.
    return subprocess.Popen(command, env=env)  # noqa: S603


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 0.5):
            return True
    except OSError:
        return False


def _worker_answers(url: str) -> bool:
    """Whether a worker behind the supervisor's socket answers (the socket is bound
    before any worker has built its app)."""
    if not url.startswith("http://"):
        return _accepts(url)  # no CA here to check the certificate with; the port will do
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_stack(
    *,
    data_dir: Path,
    hosts: Mapping[str, str],
    roles: Iterable[str],
    store: str | None = None,
    tls: tuple[str, str] | None = None,
    quirks: Mapping[str, Iterable[str]] | None = None,
    timeout: float = 300.0,
    workers: int = 1,
) -> RunningStack:
    """Start each role on the port its URL names, in this process; return when all
    are accepting connections. With ``workers`` > 1 each role runs instead as that
    many worker processes sharing its port (the data-space connectors, whose
    negotiations call back into their own process, stay single)."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    stack = RunningStack(urls={})
    for role in roles:
        url = hosts[role]
        if workers > 1 and role not in DATASPACE_ROLES:
            stack._processes.append(
                _start_workers(
                    role,
                    url=url,
                    workers=workers,
                    data_dir=data_dir,
                    store=store,
                    tls=tls,
                    quirks=(quirks or {}).get(role, ()),
                )
            )
            stack.urls[role] = url
            continue
        parts = urlsplit(url)
        app = build_app(role, data_dir=data_dir, store=store, quirks=(quirks or {}).get(role, ()))
        config = uvicorn.Config(
            app,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 80,
            log_level="warning",
            access_log=False,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
            # Services of one stack keep TLS keep-alive connections to each other; a
            # graceful shutdown would wait for them until the join timeout (Ctrl-C took
            # 30 s), so open connections get two seconds.
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"passerelle-{role}", daemon=True)
        thread.start()
        stack._running.append(_Running(server=server, thread=thread))
        stack.urls[role] = url
    deadline = time.monotonic() + timeout * (2 if workers > 1 else 1)
    for running in stack._running:
        while not running.server.started:
            if time.monotonic() > deadline or not running.thread.is_alive():
                stack.stop()
                raise RuntimeError("a service did not start")
            time.sleep(0.05)
    for process, (role, url) in zip(
        stack._processes,
        [(r, u) for r, u in stack.urls.items() if workers > 1 and r not in DATASPACE_ROLES],
        strict=True,
    ):
        while not _worker_answers(url):
            if time.monotonic() > deadline or process.poll() is not None:
                stack.stop()
                raise RuntimeError(f"{role} did not start")
            time.sleep(0.1)
    return stack
