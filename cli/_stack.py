"""``passerelle up``: the whole stack on loopback ports, from one command.

It writes ``stack.json`` in the data directory while it runs, so that other commands
(``passerelle conformance run``) find a running stack instead of starting their own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import typer
from rich.console import Console
from rich.table import Table

from ._options import DataDir, default_data_dir, fail

__all__ = ["find_stack", "running_stack", "stack_verify", "up"]

console = Console()
STATE_FILE = "stack.json"


def _state(data_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
        state["urls"] = {str(k): str(v) for k, v in state["urls"].items()}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None
    return state  # type: ignore[no-any-return]


def stack_verify(data_dir: Path) -> ssl.SSLContext | bool:
    """What clients verify a running stack's TLS with: its development CA, if it has one."""
    state = _state(data_dir)
    ca = state.get("tls_ca") if state else None
    return ssl.create_default_context(cafile=ca) if ca else True


def running_stack(data_dir: Path) -> dict[str, str] | None:
    """The URLs of a stack ``passerelle up`` runs on this data directory, if every one of
    its services answers ``/health``."""
    state = _state(data_dir)
    if state is None:
        return None
    urls: dict[str, str] = state["urls"]
    verify = ssl.create_default_context(cafile=state.get("tls_ca"))
    try:
        for url in urls.values():
            if httpx.get(f"{url}/health", timeout=2, verify=verify).status_code != 200:
                return None
    except httpx.HTTPError:
        return None
    return urls


def find_stack(
    data_dir: Path | None, say: Callable[[str], None]
) -> tuple[dict[str, str], Path] | None:
    """The stack a command plays against: the one ``passerelle up --data-dir`` runs on
    ``data_dir`` (given: it must run, or the command exits with a hint), else the one on
    the default data directory, else None (the caller starts a fresh one). Says which."""
    directory = data_dir if data_dir is not None else default_data_dir()
    urls = running_stack(directory)
    if urls is not None:
        say(f"using the stack `passerelle up` runs on {directory}")
        return urls, directory
    recorded = (directory / STATE_FILE).is_file()
    if data_dir is not None:
        problem = (
            f"the stack recorded in {directory / STATE_FILE} does not answer"
            if recorded
            else f"no stack runs on {directory} (no {STATE_FILE} there)"
        )
        raise fail(
            problem,
            hint=f"start it with `passerelle up --data-dir {directory}`, or leave out "
            "--data-dir to use a fresh stack on free loopback ports",
        )
    why = "does not answer" if recorded else "is not running"
    say(f"the stack of {directory} {why}: starting a fresh one on free loopback ports")
    return None


def _unresolved(hosts: dict[str, str]) -> list[tuple[str, str, str]]:
    """Roles whose host name this machine cannot resolve: each service listens on its
    URL's host, and the others reach it there. Names under ``.localhost`` are loopback
    by RFC 6761, but not every resolver knows it (browsers do; glibc without
    nss-myhostname does not)."""
    missing = []
    for role, url in hosts.items():
        host = urlsplit(url).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except OSError:
            missing.append((role, url, host))
    return missing


def _taken(hosts: dict[str, str]) -> list[str]:
    """The services whose port something else already listens on."""
    taken = []
    for role, url in hosts.items():
        parts = urlsplit(url)
        probe = socket.socket(socket.AF_INET6 if ":" in (parts.hostname or "") else socket.AF_INET)
        # As uvicorn binds: a port in TIME_WAIT is free to it, so it is free here too.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((parts.hostname or "127.0.0.1", parts.port or 80))
        except socket.gaierror:
            pass  # a name this machine cannot resolve: said below, with its own hint
        except OSError:
            taken.append(f"{parts.port} ({role})")
        finally:
            probe.close()
    return taken


def up(
    data_dir: DataDir,
    postgres: Annotated[
        str | None, typer.Option(help="Store in PostgreSQL at this URL instead of SQLite.")
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(help="Serve HTTPS with the TLS certificates from `passerelle init`."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes per issuer, wallet, verifier and trust service (the "
            "connectors stay single); state is shared through the store.",
        ),
    ] = 1,
) -> None:
    """Start the trust service, both issuers, the wallet, both verifiers and both
    data-space connectors on loopback ports; stop them with Ctrl-C."""
    from passerelle.services.launcher import ROLES, start_stack
    from passerelle.services.pki import DEFAULT_HOSTS, load_pki, pki_dir

    from ._trust import init

    if running_stack(data_dir) is not None:
        # Before init: a running stack's PKI and lists are left exactly as they are.
        found = _state(data_dir) or {}
        console.print(
            f"a stack is already running on {data_dir} (process {found.get('pid')}, "
            f"{len(found.get('urls', {}))} services, listed in {data_dir / STATE_FILE}); "
            "nothing to start",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(0)
    recorded = load_pki(data_dir).hosts if pki_dir(data_dir).is_dir() else DEFAULT_HOSTS
    scheme = "https" if tls else "http"
    # Identifiers, certificates and lists name each service's URL, scheme included: a
    # change of scheme is a change of hosts, which init re-issues what depends on.
    wanted = {role: f"{scheme}://{url.split('://', 1)[1]}" for role, url in recorded.items()}
    # Before init: a port in use is the one thing to say, not after the PKI lines.
    taken = _taken({role: wanted[role] for role in ROLES if role in wanted})
    if taken:
        raise fail(
            f"{'ports' if len(taken) > 1 else 'port'} {', '.join(taken)} already in use "
            "by another program (or by a stack on another data directory)",
            hint="stop it, or choose other ports once with `passerelle init --data-dir "
            f"{data_dir} --host ROLE=URL`",
        )
    init(data_dir, host=[f"{role}={url}" for role, url in wanted.items()])
    pki = load_pki(data_dir)
    hosts = {role: pki.hosts[role] for role in ROLES}
    unresolved = _unresolved(hosts)
    if unresolved:
        for role, url, host in unresolved:
            console.print(
                f"[red]{role} at {url}: {host} does not resolve on this machine[/red]; add "
                f"`127.0.0.1 {host}` to /etc/hosts, or run `passerelle init --host "
                f"{role}=http://localhost:{urlsplit(url).port or 80}`"
            )
        raise typer.Exit(2)
    try:
        stack = start_stack(
            data_dir=data_dir,
            hosts=hosts,
            roles=ROLES,
            store=postgres,
            tls=(str(pki.tls_certfile), str(pki.tls_keyfile)) if tls else None,
            workers=workers,
        )
    except RuntimeError as exc:
        console.print(
            f"[red]{exc}[/red]: each service listens on its URL's host and port "
            f"({', '.join(urlsplit(u).netloc for u in hosts.values())}); is one in use, or "
            "below 1024? Choose others with `passerelle init --host ROLE=URL`."
        )
        raise typer.Exit(2) from exc
    transport = (
        f"HTTPS (trust {pki.tls_ca})"
        if tls
        else "plain HTTP on loopback (a development relaxation)"
    )
    state: dict[str, Any] = {
        "urls": stack.urls,
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).isoformat(),
        "transport": scheme,
        "tls_ca": str(pki.tls_ca.resolve()) if tls else None,
        "store": "postgresql" if postgres else "sqlite",
        "workers": workers,
    }
    (data_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
    table = Table(title=f"Passerelle is up — {transport}, storage {state['store']}")
    table.add_column("role")
    table.add_column("url")
    for role, url in stack.urls.items():
        table.add_row(role, url)
    console.print(table)
    console.print("Ctrl-C stops every service.")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        stopping.wait()
    finally:
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        stack.stop()
        console.print("stopped")
