"""Rich rendering of an inspect report, for people."""

from __future__ import annotations

import json

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from .._json import JsonObject, JsonValue

__all__ = ["render_report"]


def _pretty(value: JsonValue) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


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
    validity = report.get("validity")
    if isinstance(validity, dict):
        console.print(f"[bold]validity[/bold] {validity.get('state')} ({_pretty(validity)})")
    verification = report.get("verification")
    if isinstance(verification, dict):
        if verification.get("verified"):
            console.print("[bold green]verified[/bold green]")
        elif verification.get("reason"):
            reason, detail = verification["reason"], verification.get("detail")
            console.print(f"[bold red]FAILED[/bold red] {reason}: {detail}")
        else:
            console.print("[yellow]not verified[/yellow] (give --key or --anchor to verify)")
