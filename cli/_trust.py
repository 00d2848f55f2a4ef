"""``passerelle init``, ``passerelle trust build|verify|show`` and ``passerelle serve``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from passerelle.services.catalog import data_root

from .._errors import PasserelleError
from ._options import DataDir, fail, require_data_dir, what_to_do

__all__ = ["init", "serve", "trust_app"]


def default_sources() -> Path:
    from passerelle.services.trust.sources import trust_sources

    return trust_sources()


Sources = Annotated[
    Path,
    typer.Option(
        "--sources",
        help="The trust-list sources, partners/ included (default: $PASSERELLE_TRUST_SOURCES "
        "or the checkout's trust_lists/).",
        default_factory=default_sources,
    ),
]

trust_app = typer.Typer(
    help="Build, verify and show the trust lists.", no_args_is_help=True, rich_markup_mode=None
)
console = Console()


def _fail(exc: PasserelleError) -> typer.Exit:
    console.print(f"[bold red]FAILED[/bold red] {exc.reason}: {exc.detail}", highlight=False)
    console.print(f"  {what_to_do(exc.reason)}", highlight=False, markup=False)
    return typer.Exit(1)


def _build(data_dir: Path, sources: Path | None = None) -> None:
    from passerelle.services.trust.build import build_with_pki

    result = build_with_pki(
        data_dir=data_dir, sources=sources or default_sources(), now=datetime.now(UTC)
    )
    for name, path in {**result.lists, "ca-registry": result.registry}.items():
        console.print(f"signed {name:<18} sequence {result.sequences[name]:>4}  {path}")
    for partner, where in result.placed.items():
        console.print(f"partner {partner} is on {where}")


def _hosts(given: list[str] | None) -> dict[str, str] | None:
    if not given:
        return None
    pairs = [item.partition("=") for item in given for item in item.split(",") if item]
    bad = [f"{role}{eq}{url}" for role, eq, url in pairs if not eq or not role or not url]
    if bad:
        raise typer.BadParameter(f"expected ROLE=URL, got {bad}", param_hint="--host")
    return {role.strip(): url.strip() for role, _, url in pairs}


def init(
    data_dir: DataDir,
    host: Annotated[
        list[str] | None,
        typer.Option(
            envvar="PASSERELLE_HOSTS",
            metavar="ROLE=URL",
            help="ROLE=URL: the base URL a service is reached at (certificates and lists "
            "name it); repeatable, or comma-separated in $PASSERELLE_HOSTS. Default: the "
            "URLs recorded by the previous init, else loopback ports 8100-8107.",
        ),
    ] = None,
) -> None:
    """Create (or complete) the development PKI under the data directory, then build and
    sign the trust lists. Idempotent: existing keys and certificates are kept."""
    from passerelle.services.pki import init_pki

    try:
        report = init_pki(data_dir, now=datetime.now(UTC), hosts=_hosts(host))
        console.print(
            f"PKI in {data_dir}: {len(report.created)} created, {len(report.replaced)} "
            f"re-issued, {len(report.kept)} kept"
        )
        for note in report.notes:
            console.print(f"note: {note}")
        from passerelle.services.trust.build import EU_LISTS, trust_dir

        out = trust_dir(data_dir)
        built = [out / "eu" / f"{n}.jwt" for n in EU_LISTS] + [out / "ca" / "registry.jwt"]
        # Idempotent: the lists are signed again only when the PKI changed or one is missing;
        # `passerelle trust build` signs them again whenever asked.
        if report.changed or not all(p.is_file() for p in built):
            _build(data_dir)
        else:
            console.print("trust lists already built; `passerelle trust build` re-signs them")
    except PasserelleError as exc:
        raise _fail(exc) from exc


@trust_app.command("build", short_help="Sign every list with the development PKI.")
def trust_build(data_dir: DataDir, sources: Sources) -> None:
    """Sign every list from trust_lists/ (and trust_lists/partners/) with the dev PKI.

    A running stack notices the new lists within seconds: no restart."""
    require_data_dir(data_dir)
    try:
        _build(data_dir, sources)
    except PasserelleError as exc:
        raise _fail(exc) from exc


def _verify_file(path: Path, data_dir: Path) -> dict[str, object]:
    from passerelle.jose import decode_unverified_jws
    from passerelle.services.pki import load_pki
    from passerelle.trust import REGISTRY_SNAPSHOT_TYP, verify_lote, verify_registry_snapshot

    now = datetime.now(UTC)
    pki = load_pki(data_dir, now=now)
    token = path.read_text().strip()
    typ = decode_unverified_jws(token).header.get("typ")
    if typ == REGISTRY_SNAPSHOT_TYP:
        registry = verify_registry_snapshot(
            token, operator_anchors=[pki.anchor("ca-registry-operator")], now=now
        )
        return {
            "kind": "ca-registry",
            "authority": registry.registry.authority_id,
            "sequence": registry.sequence_number,
            "next_update": registry.next_update.isoformat(),
            "authorizations": len(registry.registry.authorizations),
        }
    schema = json.loads((data_root() / "trust_lists" / "schemas" / "lote.schema.json").read_text())
    lote = verify_lote(
        token, operator_anchors=[pki.anchor("eu-lote-operator")], now=now, schema=schema
    )
    return {
        "kind": lote.list_type,
        "operator": lote.operator_name,
        "sequence": lote.sequence_number,
        "next_update": lote.next_update.isoformat(),
        "services": [
            {
                "entity": s.entity_name,
                "service_type": s.service_type,
                "status": s.status,
                "credential_types": list(s.credential_types),
            }
            for s in lote.services
        ],
    }


@trust_app.command("verify", short_help="Verify one signed list.")
def trust_verify(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A signed list (.jwt) to verify.")],
    data_dir: DataDir,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify a signed list: signature, chain to the operator, freshness, schema."""
    require_data_dir(data_dir)
    if not file.is_file():
        raise fail(f"no such file: {file}", hint="give a signed list, e.g. DIR/trust/eu/*.jwt")
    try:
        result = _verify_file(file, data_dir)
    except PasserelleError as exc:
        if as_json:
            typer.echo(json.dumps({"verified": False, **exc.as_dict()}))
            raise typer.Exit(1) from exc
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({"verified": True, **result}))
    else:
        console.print(f"[green]verified[/green] {json.dumps(result, indent=2)}")


@trust_app.command("show")
def trust_show(data_dir: DataDir) -> None:
    """What each signed list holds now."""
    from passerelle.services.trust.build import EU_LISTS, trust_dir

    require_data_dir(data_dir)
    out = trust_dir(data_dir)
    paths = [out / "eu" / f"{n}.jwt" for n in EU_LISTS] + [out / "ca" / "registry.jwt"]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise fail(
            f"{len(missing)} signed lists missing in {out} ({missing[0].name}, ...)",
            hint=f"run `passerelle trust build --data-dir {data_dir}`",
        )
    table = Table(title=f"Trust lists in {data_dir}")
    for column in ("list", "sequence", "next update", "entries"):
        table.add_column(column)
    try:
        for path in paths:
            info = _verify_file(path, data_dir)
            services = info.get("services")
            entries = (
                "\n".join(
                    f"{s['entity']} ({s['status'] or 'listed'}): {', '.join(s['credential_types'])}"
                    for s in services
                )
                if isinstance(services, list)
                else f"{info['authorizations']} authorizations by {info['authority']}"
            )
            table.add_row(
                str(info["kind"]).rsplit("/", 1)[-1],
                str(info["sequence"]),
                str(info["next_update"]),
                entries,
            )
    except PasserelleError as exc:
        raise _fail(exc) from exc
    console.print(table)


def serve(
    role: Annotated[
        str,
        typer.Argument(
            metavar="ROLE",
            help="The service: trust, ca-issuer, eu-issuer, wallet, ca-verifier, eu-verifier, "
            "ca-dataspace, eu-dataspace.",
        ),
    ],
    data_dir: DataDir,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: from the PKI hosts).")] = None,
    store: Annotated[
        str | None,
        typer.Option(
            envvar="PASSERELLE_STORE",
            metavar="URL",
            help="Storage URL (postgresql://...); default SQLite.",
        ),
    ] = None,
    quirk: Annotated[
        list[str] | None,
        typer.Option(metavar="QUIRK", help="Break one requirement on purpose (self-test)."),
    ] = None,
    tls: Annotated[bool, typer.Option(help="Serve HTTPS with the certificate from init.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes sharing the port; state is shared through the store."
        ),
    ] = 1,
    pin: Annotated[
        bool,
        typer.Option(
            help="Keep each worker on a CPU of its own (Linux): its threads then hand over "
            "on the CPU they share. For a machine that runs little else."
        ),
    ] = False,
) -> None:
    """Run one service on its own."""
    from urllib.parse import urlsplit

    import uvicorn

    from passerelle.services.cpus import can_pin
    from passerelle.services.launcher import (
        APP_FACTORY,
        ROLES,
        build_app,
        pin_to_a_cpu,
        worker_environment,
    )
    from passerelle.services.pki import load_pki

    if role not in ROLES:
        raise fail(f"unknown role {role!r}", hint=f"one of {', '.join(ROLES)}")
    require_data_dir(data_dir)
    pki = load_pki(data_dir)
    listen = port or urlsplit(pki.hosts[role]).port or 8100
    options: dict[str, object] = {}
    if tls:
        options = {"ssl_certfile": str(pki.tls_certfile), "ssl_keyfile": str(pki.tls_keyfile)}
    if pin and not can_pin():
        console.print("--pin: not pinned (this platform cannot pin, or there is one CPU to run on)")
        pin = False
    if workers > 1:
        # Each worker process builds the app itself, from what this process puts in
        # its environment; they share the port and, through the store, their state.
        os.environ.update(
            worker_environment(role, data_dir=data_dir, store=store, quirks=quirk or (), pin=pin)
        )
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            workers=workers,
            host=host,
            port=listen,
            log_level="info",
            **options,  # type: ignore[arg-type]
        )
        return
    if pin:
        pin_to_a_cpu(data_dir)
    app = build_app(role, data_dir=data_dir, store=store, quirks=quirk or ())
    uvicorn.run(app, host=host, port=listen, log_level="info", **options)  # type: ignore[arg-type]
