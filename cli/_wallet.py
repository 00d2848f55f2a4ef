"""``passerelle wallet ...``: the wallet's backchannel from a terminal (receive an offer,
answer a request, list what it holds and every decision it made).

People get a few lines per answer; ``--json`` gives machines the service's own JSON."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from passerelle.services.display import TECHNICAL
from passerelle.services.pages import answer_of

from ._options import DataDir, fail, require_data_dir, what_to_do

__all__ = ["wallet_app"]

wallet_app = typer.Typer(
    help="Drive the wallet service of a running stack.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Url = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Wallet URL (default: the one the data directory names)."),
]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print the wallet's JSON answer, for machines.")
]


def _base(url: str | None, data_dir: Path) -> str:
    if url:
        return url.rstrip("/")
    from passerelle.services.pki import load_pki

    require_data_dir(data_dir)
    return load_pki(data_dir).hosts["wallet"]


def _verify(data_dir: Path) -> ssl.SSLContext:
    """The system's CAs and, when the data directory has one, its development TLS CA: a
    stack started with ``passerelle up --tls`` presents certificates only it vouches for."""
    ca = Path(data_dir) / "tls" / "ca.pem"
    context = ssl.create_default_context()  # with cafile= it would load that file only
    if ca.is_file():
        context.load_verify_locations(cafile=str(ca))
    return context


def _auth(data_dir: Path) -> dict[str, str]:
    """The wallet backchannel's bearer token, when the stack made one (``--tls`` or a
    host others can reach; loopback development needs none)."""
    token = os.environ.get("PASSERELLE_API_TOKEN")
    path = Path(data_dir) / "wallet" / "api-token"
    if not token and path.is_file():
        token = path.read_text().strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


@contextlib.contextmanager
def _reaching(base: str, data_dir: Path) -> Iterator[None]:
    """A wallet that does not answer, or answers something else than JSON, is one line."""
    try:
        yield
    except httpx.TransportError as exc:
        raise fail(
            f"the wallet at {base} does not answer ({type(exc).__name__})",
            hint=f"is the stack running? start it with `passerelle up --data-dir {data_dir}`",
        ) from exc
    except (ValueError, KeyError) as exc:
        raise fail(
            f"{base} did not answer as a Passerelle wallet ({exc})",
            hint="check --url",
        ) from exc


def _refused_call(base: str, status: int, text: str) -> typer.Exit:
    """A wallet's error envelope (4xx/5xx) as one line with its reason code."""
    said = answer_of(text)
    reason = said.get("reason") or said.get("error")
    words = ": ".join(w for w in (reason, said.get("error_description")) if w)
    return fail(
        f"the wallet at {base} refused the call (HTTP {status})" + (f": {words}" if words else ""),
        hint=what_to_do(reason) if reason else "see the wallet's log",
    )


def _call(
    method: str,
    path: str,
    data_dir: Path,
    url: str | None,
    shape: type[dict[str, Any]] | type[list[Any]] = dict,
    **options: Any,
) -> Any:
    """The wallet's JSON answer, of the ``shape`` the route promises; anything else
    (an error envelope, a body of another shape) is a one-line failure."""
    base = _base(url, data_dir)
    with _reaching(base, data_dir):
        response = httpx.request(
            method,
            f"{base}{path}",
            headers=_auth(data_dir),
            timeout=60,
            verify=_verify(data_dir),
            **options,
        )
        if response.status_code in (401, 403):
            raise fail(
                f"the wallet at {base} refused the backchannel token ({response.status_code})",
                hint="use the data directory the stack runs on, or set $PASSERELLE_API_TOKEN",
            )
        if not response.is_success:
            raise _refused_call(base, response.status_code, response.text)
        answer = response.json()
        if not isinstance(answer, shape):
            raise ValueError(f"not a JSON {'object' if shape is dict else 'array'}")
        return answer


def _failed_step(outcome: dict[str, Any]) -> str:
    for step in outcome.get("steps") or []:
        if step.get("outcome") == "failed":
            return f" at {step.get('step')}: {step.get('detail')}"
    detail = outcome.get("detail")
    return f": {detail}" if detail else ""


def _received_line(outcome: dict[str, Any]) -> str:
    kind = f"{outcome.get('credential_type') or 'a credential'} ({outcome.get('format', '?')})"
    source = f" from {outcome['issuer']}" if outcome.get("issuer") else ""
    if not outcome.get("accepted"):
        return (
            f"✘ refused {kind}{source}: {outcome.get('reason')}{_failed_step(outcome)}\n"
            f"  {what_to_do(outcome.get('reason'))}"
        )
    steps = outcome.get("steps") or []
    passed = sum(1 for s in steps if s.get("outcome") == "passed")
    binding = "bound to the wallet's own key" if outcome.get("holder_bound") else "not key-bound"
    return (
        f"✔ kept {kind}{source}\n  as {outcome.get('credential_id')}: {binding}; "
        f"{passed} of {len(steps)} checks passed"
    )


@wallet_app.command("receive")
def receive(
    offer: Annotated[
        str,
        typer.Argument(metavar="OFFER", help="openid-credential-offer:// link, offer URL or JSON."),
    ],
    data_dir: DataDir,
    tx_code: Annotated[
        str | None, typer.Option(metavar="CODE", help="The transaction code the issuer gave.")
    ] = None,
    persona: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Persona to log in as (authorization code flow)."),
    ] = None,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Accept a credential offer. Exit 1 if the wallet refused what it received."""
    body = {"offer": offer, "tx_code": tx_code, "persona": persona}
    with _reaching(_base(url, data_dir), data_dir):
        outcomes = _call("POST", "/api/offers", data_dir, url, json=body)["outcomes"]
        if not isinstance(outcomes, list) or not all(isinstance(o, dict) for o in outcomes):
            raise ValueError("outcomes is not a list of objects")
    if as_json:
        typer.echo(json.dumps(outcomes, indent=2, ensure_ascii=False))
    else:
        for outcome in outcomes:
            typer.echo(_received_line(outcome))
    raise typer.Exit(0 if all(o.get("accepted") for o in outcomes) else 1)


def _presented_lines(answer: dict[str, Any]) -> list[str]:
    verifier = answer.get("verifier") or "the verifier"
    if answer.get("accepted"):
        shown = [
            f"{query}: {', '.join('.'.join(map(str, p)) for p in paths)}"
            for query, paths in (answer.get("disclosed") or {}).items()
        ]
        return [f"✔ presented to {verifier}, which accepted it", f"  disclosed {'; '.join(shown)}"]
    if answer.get("stage") == "response":
        status = answer.get("verifier_status")
        lines = [f"✘ {verifier} refused the presentation" + (f" (HTTP {status})" if status else "")]
        refused = answer_of(answer.get("verifier_answer"))
        said = [refused.get("reason") or refused.get("error"), refused.get("error_description")]
        if any(said):
            lines.append("  " + ": ".join(w for w in said if w))
        if refused.get("reason"):
            lines.append(f"  {what_to_do(refused['reason'])}")
        return lines
    stage = f" ({answer['stage']})" if answer.get("stage") else ""
    said = [answer.get("reason"), answer.get("detail")]
    return [
        f"✘ the wallet declined{stage}: " + ": ".join(str(w) for w in said if w),
        f"  {what_to_do(answer.get('reason'))}",
    ]


@wallet_app.command("present")
def present(
    request: Annotated[
        str, typer.Argument(metavar="REQUEST", help="openid4vp:// or haip-vp:// request URL.")
    ],
    data_dir: DataDir,
    decline: Annotated[bool, typer.Option(help="Refuse instead of presenting.")] = False,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Answer a presentation request with the least disclosure. Exit 1 if not accepted."""
    body = {"request": request, "consent": "deny" if decline else "minimal"}
    answer = _call("POST", "/api/presentations", data_dir, url, json=body)
    if as_json:
        typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        for line in _presented_lines(answer):
            typer.echo(line)
    raise typer.Exit(0 if answer.get("accepted") else 1)


@wallet_app.command("list")
def list_credentials(data_dir: DataDir, url: Url = None, as_json: AsJson = False) -> None:
    """The credentials the wallet holds: type, issuer, claim names."""
    held = _call("GET", "/api/credentials", data_dir, url, list)
    if as_json:
        typer.echo(json.dumps(held, indent=2, ensure_ascii=False))
        return
    if not held:
        typer.echo("the wallet holds no credential; `passerelle wallet receive OFFER` adds one")
        return
    for item in held:
        claims = [c for c in item.get("claims", []) if c not in TECHNICAL]
        typer.echo(
            f"{item.get('credential_id')}  {item.get('credential_type')} ({item.get('format')})"
            f"\n  from {item.get('issuer')}\n  claims: {', '.join(claims)}"
        )


@wallet_app.command("decisions", short_help="Every accept and refusal, with its reason.")
def decisions(data_dir: DataDir, url: Url = None, as_json: AsJson = False) -> None:
    """Every credential the wallet accepted or refused, and every answer it gave."""
    made = _call("GET", "/api/decisions", data_dir, url, list)
    if as_json:
        typer.echo(json.dumps(made, indent=2, ensure_ascii=False))
        return
    for decision in made:
        mark = "✔" if decision.get("accepted") else "✘"
        what = decision.get("credential_type") or decision.get("verifier") or ""
        reason = "" if decision.get("accepted") else f" {decision.get('reason')}"
        typer.echo(f"{decision.get('at', '')[:19]}  {mark} {decision.get('kind')} {what}{reason}")
