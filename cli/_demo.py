"""``passerelle demo``: start the stack on loopback ports, play the cross-border
scenarios of DESIGN §2 over HTTP, narrate each step, write a report, and say whether
every scenario ended as expected."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, start_stack
from passerelle.services.pki import init_pki
from passerelle.services.scenarios import (
    DATA_RECEIVED,
    DATASPACE_SCENARIOS,
    DATASPACE_STACK,
    SCENARIOS,
    DataspaceClient,
    DataspaceOutcome,
    Outcome,
    StackClient,
    free_ports,
    play,
    play_dataspace,
    stack_hosts,
)
from passerelle.services.trust.build import build_with_pki

__all__ = ["run_demo"]


def _trace(result: dict[str, Any]) -> list[str]:
    lines = []
    for decisions in (result.get("credentials") or {}).values():
        for decision in decisions:
            for step in decision.get("steps", []):
                mark = {"passed": "✔", "failed": "✘", "skipped": "·"}.get(step["outcome"], "?")
                reason = f" [{step['reason']}]" if step.get("reason") else ""
                lines.append(f"   {mark} {step['step']}: {step['detail']}{reason}")
    return lines


def _narrate(console: Console, outcome: Outcome) -> None:
    s = outcome.scenario
    console.rule(f"[bold]{s.title}")
    console.print(f"{s.issuer} → wallet → {s.verifier}")
    for step in outcome.issuance.get("issuance_steps", []):
        # The HAIP issuance as it happened: PAR, PKCE, DPoP, wallet and key attestation.
        console.print(f"   ⇢ issuance: {step}", highlight=False)
    disclosed = outcome.wallet.get("disclosed")
    if disclosed:
        console.print(f"wallet disclosed only: {json.dumps(disclosed, ensure_ascii=False)}")
    for line in _trace(outcome.result):
        console.print(line, highlight=False)
    mapped = outcome.result.get("mapped")
    if outcome.result.get("accepted") and mapped:
        console.print(f"in the verifier's vocabulary: {json.dumps(mapped, ensure_ascii=False)}")
    expected = s.expect or "accepted"
    verdict = "[green]as expected[/green]" if outcome.as_expected else "[red]DEVIATION[/red]"
    console.print(f"outcome: [bold]{outcome.outcome}[/bold] (expected {expected}) → {verdict}")


_MARK = {"passed": "✔", "failed": "✘", "skipped": "·"}


def _narrate_dataspace(console: Console, outcome: DataspaceOutcome) -> None:
    s = outcome.scenario
    console.rule(f"[bold]{s.title}")
    console.print(f"SME of {s.consumer} → provider of {s.provider}: {s.dataset}")
    shown = ", ".join(outcome.catalog) or "(nothing)"
    console.print(f"catalog shown to the SME: {shown}", highlight=False)
    if s.hidden:
        console.print("the SME negotiates anyway, with the offer known out of band")
    decision = outcome.decision.get("decision") or {}
    proof = decision.get("proof") or {}
    for credential in proof.get("credentials", []):
        trust = credential.get("trust") or {}
        console.print(
            f"   {credential['type']} from {credential['issuer']}: "
            f"trusted in {trust.get('framework')}, status {credential.get('status')}",
            highlight=False,
        )
        for step in trust.get("steps", []):
            reason = f" [{step['reason']}]" if step.get("reason") else ""
            mark = _MARK.get(step["outcome"], "?")
            console.print(f"      {mark} {step['step']}: {step['detail']}{reason}", highlight=False)
    for line in (decision.get("policy") or {}).get("trace", []):
        mark = "✔" if line["satisfied"] else "✘"
        if line["left_operand"]:
            operand = str(line["left_operand"]).rsplit("/", 1)[-1]
            console.print(
                f"   {mark} ODRL {operand} {line['operator']} "
                f"{json.dumps(line['right_operand'])} (proved: {json.dumps(line['actual'])})",
                highlight=False,
            )
    states = " → ".join(e["event"] for e in outcome.negotiation.get("events", []))
    console.print(f"negotiation: {states}", highlight=False)
    if outcome.negotiation.get("code"):
        console.print(f"terminated with [bold]{outcome.negotiation['code']}[/bold]")
    if outcome.transfer:
        states = " → ".join(e["event"] for e in outcome.transfer.get("events", []))
        rows = (outcome.transfer.get("data") or {}).get("rows") or []
        console.print(f"pull transfer: {states}; {len(rows)} rows received", highlight=False)
    expected = s.expect or DATA_RECEIVED
    verdict = "[green]as expected[/green]" if outcome.as_expected else "[red]DEVIATION[/red]"
    console.print(f"outcome: [bold]{outcome.outcome}[/bold] (expected {expected}) → {verdict}")


def _play_dataspace(
    console: Console, urls: dict[str, str], data_dir: Path
) -> list[DataspaceOutcome]:
    missing = [role for role in DATASPACE_STACK if role not in urls]
    if missing:
        console.print(f"data-space scenarios skipped: {', '.join(missing)} not running")
        return []
    client = DataspaceClient(urls=urls, data_dir=data_dir)
    console.rule("[bold]3. On the data-space path: VC 2.0 credentials to the SMEs' did:web")
    for issued in client.enrol():
        console.print(
            f"{issued['issuer']} issued {issued['credential_type']} to {issued['holder']}",
            highlight=False,
        )
    outcomes = []
    for scenario in DATASPACE_SCENARIOS:
        outcome = play_dataspace(client, scenario)
        _narrate_dataspace(console, outcome)
        outcomes.append(outcome)
    return outcomes


def _play_all(console: Console, client: StackClient) -> list[Outcome]:
    table = Table(title="Services")
    table.add_column("role")
    table.add_column("url")
    for role, url in client.urls.items():
        table.add_row(role, url)
    console.print(table)
    outcomes = []
    for scenario in SCENARIOS:
        outcome = play(client, scenario)
        _narrate(console, outcome)
        outcomes.append(outcome)
    return outcomes


def run_demo(
    *,
    console: Console,
    report: Path | None,
    running: tuple[dict[str, str], Path] | None = None,
) -> bool:
    """Play every scenario — against ``running`` (its URLs and data directory), or a fresh
    stack on free loopback ports — and return True when each ended as expected."""
    now = datetime.now(UTC)
    if running is not None:
        urls, directory = running
        console.print(f"playing against the running stack of {directory}")
        outcomes = _play_all(console, StackClient(urls=urls, data_dir=directory))
        dataspace = _play_dataspace(console, urls, directory)
    else:
        with tempfile.TemporaryDirectory(prefix="passerelle-demo-") as scratch:
            directory = Path(scratch)
            hosts = stack_hosts(free_ports(len(ROLES)))
            console.print(f"development PKI and trust lists in {directory}")
            init_pki(directory, now=now, hosts=hosts)
            build_with_pki(data_dir=directory, sources=data_root() / "trust_lists", now=now)
            stack = start_stack(data_dir=directory, hosts=hosts, roles=ROLES)
            console.print("plain HTTP on loopback: a development relaxation")
            try:
                outcomes = _play_all(console, StackClient(urls=stack.urls, data_dir=directory))
                dataspace = _play_dataspace(console, stack.urls, directory)
            finally:
                stack.stop()
    summary = Table(title="Passerelle demo")
    for column in ("scenario", "expected", "outcome", ""):
        summary.add_column(column)
    for o in outcomes:
        summary.add_row(
            o.scenario.title,
            o.scenario.expect or "accepted",
            o.outcome,
            "✔" if o.as_expected else "✘",
        )
    for d in dataspace:
        summary.add_row(
            d.scenario.title,
            d.scenario.expect or DATA_RECEIVED,
            d.outcome,
            "✔" if d.as_expected else "✘",
        )
    console.print(summary)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(
                {
                    "run_at": now.isoformat(),
                    "transport": "http (loopback)",
                    "scenarios": [
                        {
                            "title": o.scenario.title,
                            "expected": o.scenario.expect or "accepted",
                            "outcome": o.outcome,
                            "as_expected": o.as_expected,
                            "disclosed": o.wallet.get("disclosed"),
                            "decision": o.result,
                        }
                        for o in outcomes
                    ],
                    "dataspace": [
                        {
                            "title": d.scenario.title,
                            "expected": d.scenario.expect or DATA_RECEIVED,
                            "outcome": d.outcome,
                            "as_expected": d.as_expected,
                            "catalog": list(d.catalog),
                            "negotiation": {
                                k: v for k, v in d.negotiation.items() if k != "events"
                            },
                            "decision": d.decision.get("decision"),
                            "rows_received": len((d.transfer.get("data") or {}).get("rows") or []),
                        }
                        for d in dataspace
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        console.print(f"report written to {report}")
    return all(o.as_expected for o in outcomes) and all(d.as_expected for d in dataspace)
