"""Rich rendering of an inspect report, for people."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from .._json import JsonObject, JsonValue
from ._options import what_to_do

__all__ = ["render_report"]


def _pretty(value: JsonValue) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


_LABELS = {"iat": "issued", "nbf": "valid from", "exp": "expires"}


def _date(value: JsonValue) -> str:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _dates(validity: JsonObject) -> str:
    """``valid: issued 2026-12-06 10:00:00 UTC, expires ...`` (checked at ...)."""
    parts = [f"{label} {_date(validity[k])}" for k, label in _LABELS.items() if k in validity]
    checked = f" (checked at {_date(validity['checked_at'])})" if "checked_at" in validity else ""
    return f"{validity.get('state')}: {', '.join(parts) or 'no dates in the token'}{checked}"


def _status(status: JsonObject) -> str:
    where = f"{status.get('uri')} index {status.get('idx')}"
    if status.get("checked"):
        how = (
            "verified list"
            if status.get("verified")
            else "list NOT verified (give --key or --anchor)"
        )
        return f"{status.get('value')} in {where} ({how})"
    if status.get("reason"):
        return f"[red]not checked[/red] {status['reason']}: {status.get('detail')} ({where})"
    return f"not checked: {status.get('detail')}"


def render_report(report: JsonObject, console: Console) -> None:
    console.print(f"[bold]format[/bold] {report.get('format', 'unknown')}")
    for part in ("header", "payload"):
        if part in report:
            console.print(Panel(_pretty(report[part]), title=part, expand=False))
    disclosures = report.get("disclosures")
    if isinstance(disclosures, list) and disclosures:
        table = Table(title="disclosures")
        for column in ("path", "name", "value", "salt", "digest"):
            table.add_column(column, overflow="fold")
        for item in disclosures:
            if isinstance(item, dict):
                path = item.get("path")
                table.add_row(
                    "/".join(str(p) for p in path) if isinstance(path, list) else "",
                    str(item.get("name") or "[array element]"),
                    _pretty(item.get("value")),
                    str(item.get("salt")),
                    str(item.get("digest")),
                )
        console.print(table)
    if "claims" in report:
        console.print(Panel(_pretty(report["claims"]), title="disclosed claims", expand=False))
    if "kb_jwt" in report:
        console.print(Panel(_pretty(report["kb_jwt"]), title="KB-JWT", expand=False))
    certificates = report.get("certificates")
    if isinstance(certificates, list) and certificates:
        table = Table(title="x5c certificates (decoded, not verified)")
        for column in ("#", "subject", "issuer", "valid from", "valid until", "now"):
            table.add_column(column, overflow="fold")
        for cert in certificates:
            if isinstance(cert, dict):
                table.add_row(
                    *(
                        str(cert.get(k, ""))
                        for k in ("index", "subject", "issuer", "not_before", "not_after")
                    ),
                    str(cert.get("state") or cert.get("error")),
                )
        console.print(table)
    validity = report.get("validity")
    if isinstance(validity, dict):
        console.print(f"[bold]validity[/bold] {_dates(validity)}", highlight=False)
    status = report.get("status")
    if isinstance(status, dict):
        console.print(f"[bold]status[/bold] {_status(status)}", highlight=False)
    verification = report.get("verification")
    if isinstance(verification, dict):
        if verification.get("verified"):
            console.print("[bold green]verified[/bold green]")
        elif verification.get("reason"):
            reason, detail = verification["reason"], verification.get("detail")
            console.print(f"[bold red]FAILED[/bold red] {reason}: {detail}")
            console.print(f"  {what_to_do(reason)}", highlight=False, markup=False)
        else:
            console.print("[yellow]not verified[/yellow] (give --key or --anchor to verify)")
