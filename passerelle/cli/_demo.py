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

from services.catalog import data_root
from services.launcher import start_stack
from services.pki import init_pki
from services.scenarios import ROLES, SCENARIOS, Outcome, StackClient, free_ports, play, stack_hosts
from services.trust.build import build_with_pki

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
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        console.print(f"report written to {report}")
    return all(o.as_expected for o in outcomes)
