"""The ``passerelle`` command. The one place in ``passerelle/`` that reads files,
the clock and the terminal; everything it does is a call into the pure core."""

from __future__ import annotations

import json
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
from ._inspect import InspectOptions, describe_token
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
)


def _read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    # A compact token is never a plausible path, so a long argument is taken as a token.
    try:
        if len(source) < 1024 and Path(source).is_file():
            return Path(source).read_text()
    except OSError:
        pass
    return source


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


@app.command()
def inspect(
    token: Annotated[str, typer.Argument(help="The token, a file holding it, or - for stdin.")],
    key: Annotated[
        Path | None, typer.Option(help="Issuer public key: JWK file, PEM key or certificate.")
    ] = None,
    anchor: Annotated[
        list[Path] | None, typer.Option(help="Trust anchor certificate (PEM) for x5c; repeatable.")
    ] = None,
    nonce: Annotated[str | None, typer.Option(help="Expected KB-JWT nonce.")] = None,
    aud: Annotated[str | None, typer.Option(help="Expected KB-JWT audience.")] = None,
    response_uri: Annotated[
        str | None,
        typer.Option(help="mdoc DeviceResponse: the OpenID4VP response_uri (with --aud, --nonce)."),
    ] = None,
    at: Annotated[
        int | None, typer.Option(help="Check validity at this epoch second instead of now.")
    ] = None,
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
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    report = describe_token(_read_input(token), options)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        render_report(report, console)
    verification = report.get("verification")
    failed = isinstance(verification, dict) and verification.get("reason") is not None
    raise typer.Exit(1 if failed else 0)


@app.command()
def demo(
    report: Annotated[Path, typer.Option(help="Where to write the JSON report of the run.")] = Path(
        "reports/demo.json"
    ),
) -> None:
    """Play the cross-border scenarios against the running `passerelle up` stack (or a
    fresh one on free loopback ports), and exit non-zero if any deviates from its
    expected outcome."""
    from ._demo import run_demo
    from ._options import default_data_dir
    from ._stack import running_stack

    data_dir = default_data_dir()
    urls = running_stack(data_dir)
    ok = run_demo(
        console=Console(), report=report, running=(urls, data_dir) if urls is not None else None
    )
    raise typer.Exit(0 if ok else 1)


@app.command()
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
app.command()(init)
app.command()(up)
app.command()(serve)
app.add_typer(conformance_app, name="conformance")
app.add_typer(trust_app, name="trust")
app.add_typer(wallet_app, name="wallet")


def main() -> None:
    app()
