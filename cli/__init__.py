"""The ``passerelle`` command. The one place in ``passerelle/`` that reads files,
the clock and the terminal; everything it does is a call into the pure core."""

from __future__ import annotations

import json
import re
import string
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from rich.console import Console

from .. import __version__
from .._errors import PasserelleError, Reason
from .._json import parse_json_object
from ..jose import PublicKey, load_public_jwk
from ._conformance import conformance_app
from ._inspect import InspectOptions, check_token_status, describe_token
from ._options import OptionalDataDir, fail
from ._render import render_report
from ._stack import up
from ._trust import init, serve, trust_app
from ._wallet import wallet_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="passerelle",
    help="Passerelle: Canada-EU verifiable-credential interoperability testbed.",
    no_args_is_help=True,
    add_completion=False,
    # Click's plain help: paragraphs reflowed to the terminal, flags without a type.
    rich_markup_mode=None,
)


_TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.~=")
_FILE_NAME = re.compile(r"^[^.]+\.[A-Za-z][A-Za-z0-9-]{0,7}$")


def _names_a_file(source: str) -> bool:
    """A path (a character no token has, such as ``/``) or a name with one short
    extension (``token.txt``): never a compact JWS, SD-JWT or mdoc."""
    text = source.strip()
    return not set(text) <= _TOKEN_CHARACTERS or bool(_FILE_NAME.match(text))


def _read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        is_file = len(source) < 1024 and path.is_file()
    except OSError:  # a name too long for the file system is a token
        is_file = False
    if is_file:
        try:
            return path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {source}: {exc}", hint="give a token, a file or -") from exc
    if not _names_a_file(source):
        return source
    raise fail(
        f"no such file: {source}",
        hint="give the token itself, a file holding it, or - to read standard input",
    )


def _fetch_status_list(uri: str) -> str:
    """The status list behind a token's ``status`` claim (the CLI's one outbound fetch)."""
    import httpx

    try:
        response = httpx.get(
            uri, timeout=10, headers={"Accept": "application/statuslist+jwt"}, follow_redirects=True
        )
    except httpx.HTTPError as exc:
        raise PasserelleError(Reason.STATUS_UNAVAILABLE, f"{uri}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise PasserelleError(Reason.STATUS_UNAVAILABLE, f"{uri} answered {response.status_code}")
    return response.text.strip()


def _load_key(path: Path) -> PublicKey:
    """A public key from a JWK (JSON) file, a PEM public key, or a PEM certificate."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"{"):
        return load_public_jwk(parse_json_object(data, what="JWK file"))
    key = (
        x509.load_pem_x509_certificate(data).public_key()
        if b"BEGIN CERTIFICATE" in data
        else load_pem_public_key(data)
    )
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise PasserelleError(Reason.JWK_UNSUPPORTED, "only EC and Ed25519 keys are supported")
    return key


@app.command(short_help="Decode a credential; verify it when given keys.")
def inspect(
    token: Annotated[
        str, typer.Argument(metavar="TOKEN", help="The token, a file holding it, or - for stdin.")
    ],
    key: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Issuer public key: JWK file, PEM key or certificate."),
    ] = None,
    anchor: Annotated[
        list[Path] | None,
        typer.Option(metavar="PEM", help="Trust anchor certificate (PEM) for x5c; repeatable."),
    ] = None,
    nonce: Annotated[str | None, typer.Option(help="Expected KB-JWT nonce.")] = None,
    aud: Annotated[str | None, typer.Option(help="Expected KB-JWT audience.")] = None,
    response_uri: Annotated[
        str | None,
        typer.Option(help="mdoc DeviceResponse: the OpenID4VP response_uri (with --aud, --nonce)."),
    ] = None,
    at: Annotated[
        int | None,
        typer.Option(metavar="EPOCH", help="Check validity at this epoch second instead of now."),
    ] = None,
    status: Annotated[
        bool,
        typer.Option(
            "--status",
            help="Fetch the token's status list and print its entry; the list is verified "
            "with --key or --anchor when given.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Decode an SD-JWT VC, SD-JWT+KB, jwt_vc_json, vc+jwt or mdoc (IssuerSigned or
    DeviceResponse, base64url or hex); verify it when keys are given.

    Exit status: 0 decoded (and verified, when asked); 1 the token failed with a reason
    code; 2 the command was misused (unreadable key file, ...).
    """
    console = Console(stderr=False)
    try:
        anchors = [x509.load_pem_x509_certificate(p.read_bytes()) for p in anchor or []]
        options = InspectOptions(
            now=datetime.fromtimestamp(at, UTC) if at is not None else datetime.now(UTC),
            key=_load_key(key) if key is not None else None,
            anchors=anchors,
            nonce=nonce,
            audience=aud,
            response_uri=response_uri,
        )
    except (OSError, ValueError, PasserelleError) as exc:
        raise fail(str(exc), hint="--key and --anchor take readable PEM or JWK files") from exc
    report = describe_token(_read_input(token), options)
    if status:
        report["status"] = check_token_status(report, options, _fetch_status_list)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        render_report(report, console)
    verification = report.get("verification")
    failed = isinstance(verification, dict) and verification.get("reason") is not None
    listed = report.get("status")
    if isinstance(listed, dict) and (
        listed.get("reason") or (listed.get("checked") and listed.get("value") != "VALID")
    ):
        failed = True  # revoked, suspended, another status than valid, or not checkable
    raise typer.Exit(1 if failed else 0)


@app.command(short_help="Play the cross-border scenarios.")
def demo(
    data_dir: OptionalDataDir = None,
    report: Annotated[
        Path, typer.Option(metavar="FILE", help="Where to write the JSON report of the run.")
    ] = Path("reports/demo.json"),
) -> None:
    """Play the cross-border scenarios and say whether each ended as expected.

    They run against the stack `passerelle up` runs (on --data-dir, or the default data
    directory), else on a fresh stack on free loopback ports. Exit status: 0 when every
    scenario ended as expected, 1 otherwise, 2 when --data-dir names no running stack.
    """
    from ._demo import run_demo
    from ._stack import find_stack

    console = Console()
    running = find_stack(
        data_dir, lambda line: console.print(line, highlight=False, soft_wrap=True)
    )
    ok = run_demo(console=console, report=report, running=running)
    raise typer.Exit(0 if ok else 1)


@app.command(short_help="Print the versions of the specifications spoken.")
def version() -> None:
    """Print the versions of Passerelle and of the specifications it speaks."""
    from ..oid4vci import SPEC_VERSION as OID4VCI
    from ..oid4vp import SPEC_VERSION as OID4VP
    from ..sd_jwt_vc import SPEC_VERSION as SD_JWT_VC
    from ..trust import TRQP_VERSION

    typer.echo(f"passerelle {__version__}")
    typer.echo("SD-JWT: RFC 9901")
    typer.echo(f"SD-JWT VC: {SD_JWT_VC}")
    typer.echo(f"OpenID4VCI: {OID4VCI}")
    typer.echo(f"OpenID4VP: {OID4VP} (DCQL); HAIP 1.0 (partial) for the EU profiles")
    typer.echo("Lists of trusted entities: ETSI TS 119 602 V1.1.1 (JSON, JAdES B-B)")
    typer.echo(f"Trust registry: ToIP TRQP v{TRQP_VERSION} (HTTPS binding)")
    typer.echo("Status: IETF Token Status List (statuslist+jwt); W3C Bitstring Status List")
    typer.echo("mdoc: ISO/IEC 18013-5:2021 (mso_mdoc), OpenID4VP 1.0 Appendix B SessionTranscript")


# The subcommands are composed here, at the top: the modules below know nothing of each
# other's apps.
app.command(short_help="Create the development PKI and sign the trust lists.")(init)
app.command(short_help="Start the whole stack on loopback ports.")(up)
app.command(short_help="Run one service on its own.")(serve)
app.add_typer(conformance_app, name="conformance", short_help="Run the conformance suite.")
app.add_typer(trust_app, name="trust")
app.add_typer(wallet_app, name="wallet")


def main() -> None:
    app()
