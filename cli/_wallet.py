"""``passerelle wallet ...``: the wallet's backchannel from a terminal (receive an offer,
answer a request, list what it holds and every decision it made)."""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from ._options import DataDir

__all__ = ["wallet_app"]

wallet_app = typer.Typer(help="Drive the wallet service.", no_args_is_help=True)

Url = Annotated[str | None, typer.Option(help="Wallet URL (default: from the data dir's hosts).")]


def _base(url: str | None, data_dir: Any) -> str:
    if url:
        return url.rstrip("/")
    from passerelle.services.pki import load_pki

    return load_pki(data_dir).hosts["wallet"]


def _verify(data_dir: Any) -> ssl.SSLContext:
    """The system's CAs and, when the data directory has one, its development TLS CA: a
    stack started with ``passerelle up --tls`` presents certificates only it vouches for."""
    ca = Path(data_dir) / "tls" / "ca.pem"
    context = ssl.create_default_context()  # with cafile= it would load that file only
    if ca.is_file():
        context.load_verify_locations(cafile=str(ca))
    return context


def _auth(data_dir: Any) -> dict[str, str]:
    """The wallet backchannel's bearer token, when the stack made one (``--tls`` or a
    host others can reach; loopback development needs none)."""
    token = os.environ.get("PASSERELLE_API_TOKEN")
    path = Path(data_dir) / "wallet" / "api-token"
    if not token and path.is_file():
        token = path.read_text().strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _show(answer: Any, *, refused: bool) -> None:
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    raise typer.Exit(1 if refused else 0)


@wallet_app.command("receive")
def receive(
    offer: Annotated[
        str, typer.Argument(help="openid-credential-offer:// link, offer URL or JSON.")
    ],
    data_dir: DataDir,
    tx_code: Annotated[str | None, typer.Option(help="The transaction code.")] = None,
    persona: Annotated[str | None, typer.Option(help="Persona for a mock login.")] = None,
    url: Url = None,
) -> None:
    """Accept a credential offer; exit 1 if the wallet refused what it received."""
    body = {"offer": offer, "tx_code": tx_code, "persona": persona}
    outcomes = httpx.post(
        f"{_base(url, data_dir)}/api/offers",
        json=body,
        headers=_auth(data_dir),
        timeout=60,
        verify=_verify(data_dir),
    ).json()["outcomes"]
    _show(outcomes, refused=not all(o.get("accepted") for o in outcomes))


@wallet_app.command("present")
def present(
    request: Annotated[str, typer.Argument(help="openid4vp:// or haip-vp:// request URL.")],
    data_dir: DataDir,
    decline: Annotated[bool, typer.Option(help="Refuse instead of presenting.")] = False,
    url: Url = None,
) -> None:
    """Answer a presentation request with the least disclosure; exit 1 if not accepted."""
    body = {"request": request, "consent": "deny" if decline else "minimal"}
    answer = httpx.post(
        f"{_base(url, data_dir)}/api/presentations",
        json=body,
        headers=_auth(data_dir),
        timeout=60,
        verify=_verify(data_dir),
    ).json()
    _show(answer, refused=not answer.get("accepted"))


@wallet_app.command("list")
def list_credentials(data_dir: DataDir, url: Url = None) -> None:
    """The credentials the wallet holds (types, issuers, claim names)."""
    answer = httpx.get(
        f"{_base(url, data_dir)}/api/credentials",
        headers=_auth(data_dir),
        timeout=30,
        verify=_verify(data_dir),
    )
    _show(answer.json(), refused=False)


@wallet_app.command("decisions")
def decisions(data_dir: DataDir, url: Url = None) -> None:
    """Every accept and refuse, with its reason code."""
    answer = httpx.get(
        f"{_base(url, data_dir)}/api/decisions",
        headers=_auth(data_dir),
        timeout=30,
        verify=_verify(data_dir),
    )
    _show(answer.json(), refused=False)
