"""Running services: one role as an ASGI app, or several on loopback ports at once.

``passerelle serve ROLE`` runs one; ``passerelle up`` and the end-to-end tests run a
stack. Every role is built here and nowhere else, with the same arguments whichever
way it is started (compose uses the same commands).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import uvicorn
from fastapi import FastAPI

__all__ = [
    "DATASPACE_ROLES",
    "ROLES",
    "RunningStack",
    "build_app",
    "start_stack",
    "store_for",
]

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

    def stop(self) -> None:
        for running in self._running:
            running.server.should_exit = True
        for running in self._running:
            running.thread.join(timeout=10)


def start_stack(
    *,
    data_dir: Path,
    hosts: Mapping[str, str],
    roles: Iterable[str],
    store: str | None = None,
    tls: tuple[str, str] | None = None,
    quirks: Mapping[str, Iterable[str]] | None = None,
    timeout: float = 300.0,
) -> RunningStack:
    """Start each role on the port its URL names, in this process; return when all
    are accepting connections."""
    stack = RunningStack(urls={})
    for role in roles:
        url = hosts[role]
        parts = urlsplit(url)
        app = build_app(role, data_dir=data_dir, store=store, quirks=(quirks or {}).get(role, ()))
        config = uvicorn.Config(
            app,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 80,
            log_level="warning",
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
    deadline = time.monotonic() + timeout
    for running in stack._running:
        while not running.server.started:
            if time.monotonic() > deadline or not running.thread.is_alive():
                stack.stop()
                raise RuntimeError("a service did not start")
            time.sleep(0.05)
    return stack
