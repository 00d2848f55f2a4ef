"""``passerelle demo``: play the cross-border scenarios over HTTP against a running
stack or a fresh one on loopback ports, narrate each step, write a report, and say
whether every scenario ended as expected. Scenarios are numbered by the order played."""

from __future__ import annotations

import json
import ssl
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from passerelle.explain import finding_note
from passerelle.services.catalog import data_root
from passerelle.services.display import TECHNICAL
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

from ._options import what_to_do
from ._stack import stack_verify

__all__ = ["run_demo"]


_MARK = {"passed": "✔", "failed": "✘", "skipped": "·"}


def _step_line(step: dict[str, Any]) -> str:
    """One decision step; print it with ``markup=False``: ``[reason]`` is not a style."""
    reason = f" [{step['reason']}]" if step.get("reason") else ""
    return f"{_MARK.get(step['outcome'], '?')} {step['step']}: {step['detail']}{reason}"


def _trace(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for decisions in (result.get("credentials") or {}).values():
        for decision in decisions:
            lines.extend(f"   {_step_line(step)}" for step in decision.get("steps", []))
            for finding in decision.get("findings") or []:
                note = finding_note(finding)
                lines.append(
                    f"     also found, not decided on: {_step_line(finding)}"
                    + (f" ({note})" if note else "")
                )
    return lines


def _dotted(path: list[Any]) -> str:
    return ".".join("*" if p is None else str(p) for p in path)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _asked(query: dict[str, Any]) -> str:
    """What a DCQL query asks, one short phrase per Credential Query."""
    phrases = []
    for credential in query.get("credentials", []):
        claims = []
        for claim in credential.get("claims", []):
            wanted = claim.get("values")
            shown = _dotted(claim["path"])
            if wanted:
                shown += " = " + " or ".join(_show(v) for v in wanted)
            claims.append(shown)
        phrases.append(f"{credential['id']}: {', '.join(claims) or 'the credential'}")
    return "; ".join(phrases)


def _pick(claims: Any, path: list[Any]) -> Any:
    for part in path:
        if isinstance(claims, dict) and str(part) in claims:
            claims = claims[str(part)]
        elif isinstance(claims, list) and isinstance(part, int) and part < len(claims):
            claims = claims[part]
        else:
            return None
    return claims


def _read(outcome: Outcome) -> list[str]:
    """What the verifier read: the disclosed claims' values, then, when a crosswalk
    changed the vocabulary, the same in the verifier's own, without the technical claims."""
    lines = []
    disclosed = outcome.wallet.get("disclosed") or {}
    claims = outcome.result.get("claims") or {}
    mapped = outcome.result.get("mapped") or {}
    for query_id, paths in disclosed.items():
        for index, original in enumerate(claims.get(query_id) or []):
            values = ", ".join(f"{_dotted(p)} = {_show(_pick(original, p))}" for p in paths)
            lines.append(f"verifier read: {values}")
            translated = (mapped.get(query_id) or [])[index : index + 1]
            if translated and translated[0].get("vct") != original.get("vct"):
                shown = {k: v for k, v in translated[0].items() if k not in TECHNICAL}
                pairs = ", ".join(f"{k} = {_show(v)}" for k, v in shown.items())
                lines.append(f"in the verifier's vocabulary ({translated[0].get('vct')}): {pairs}")
    return lines


def _narrate(console: Console, number: int, outcome: Outcome) -> None:
    s = outcome.scenario
    console.rule()
    console.print(f"[bold]{number}. {s.title}[/bold]", highlight=False)
    console.print(f"{s.issuer} → wallet → {s.verifier}", highlight=False)
    if s.note:
        console.print(s.note, highlight=False)
    console.print(f"verifier asks {_asked(s.query)}", highlight=False)
    for step in outcome.issuance.get("issuance_steps", []):
        # The HAIP issuance as it happened: PAR, PKCE, DPoP, wallet and key attestation.
        console.print(f"   ⇢ issuance: {step}", highlight=False)
    disclosed = outcome.wallet.get("disclosed")
    if disclosed:
        paths = [_dotted(p) for query_paths in disclosed.values() for p in query_paths]
        console.print(f"wallet disclosed only: {', '.join(paths)}", highlight=False)
    elif outcome.wallet.get("stage") in ("request", "query"):
        console.print(
            f"wallet declined as a whole: {outcome.wallet.get('reason')} "
            f"({outcome.wallet.get('detail')}); nothing was disclosed",
            highlight=False,
            markup=False,
        )
    trace = _trace(outcome.result)
    for line in trace:
        console.print(line, highlight=False, markup=False)
    if outcome.result and not outcome.result.get("accepted") and not trace:
        console.print(
            f"the verifier recorded {outcome.result.get('reason')}: {outcome.result.get('detail')}",
            highlight=False,
            markup=False,
        )
    declined = outcome.wallet.get("stage") in ("request", "query") and not disclosed
    refused = outcome.wallet.get("reason") if declined else outcome.result.get("reason")
    if refused and not outcome.result.get("accepted"):
        console.print(what_to_do(refused), highlight=False, markup=False)
    if outcome.result.get("accepted"):
        for line in _read(outcome):
            console.print(line, highlight=False, markup=False)
    expected = s.expect or "accepted"
    verdict = "[green]as expected[/green]" if outcome.as_expected else "[red]DEVIATION[/red]"
    console.print(f"outcome: [bold]{outcome.outcome}[/bold] (expected {expected}) → {verdict}")


def _narrate_dataspace(console: Console, number: int, outcome: DataspaceOutcome) -> None:
    s = outcome.scenario
    console.rule()
    console.print(f"[bold]{number}. {s.title}[/bold]", highlight=False)
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
            console.print(f"      {_step_line(step)}", highlight=False, markup=False)
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
        console.print(what_to_do(outcome.negotiation["code"]), highlight=False, markup=False)
    if outcome.transfer:
        states = " → ".join(e["event"] for e in outcome.transfer.get("events", []))
        rows = (outcome.transfer.get("data") or {}).get("rows") or []
        console.print(f"pull transfer: {states}; {len(rows)} rows received", highlight=False)
    expected = s.expect or DATA_RECEIVED
    verdict = "[green]as expected[/green]" if outcome.as_expected else "[red]DEVIATION[/red]"
    console.print(f"outcome: [bold]{outcome.outcome}[/bold] (expected {expected}) → {verdict}")


def _play_dataspace(
    console: Console,
    urls: dict[str, str],
    data_dir: Path,
    first: int,
    verify: ssl.SSLContext | bool = True,
) -> list[DataspaceOutcome]:
    """The data-space scenarios, numbered on from ``first``."""
    missing = [role for role in DATASPACE_STACK if role not in urls]
    if missing:
        console.print(f"data-space scenarios skipped: {', '.join(missing)} not running")
        return []
    client = DataspaceClient(urls=urls, data_dir=data_dir, verify=verify)
    console.rule()
    console.print("[bold]On the data-space path: VC 2.0 credentials to the SMEs' did:web[/bold]")
    for issued in client.enrol():
        console.print(
            f"{issued['issuer']} issued {issued['credential_type']} to {issued['holder']}",
            highlight=False,
        )
    outcomes = []
    for number, scenario in enumerate(DATASPACE_SCENARIOS, start=first):
        outcome = play_dataspace(client, scenario)
        _narrate_dataspace(console, number, outcome)
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
    # Numbers come from the order played, never from the titles.
    for number, scenario in enumerate(SCENARIOS, start=1):
        outcome = play(client, scenario)
        _narrate(console, number, outcome)
        outcomes.append(outcome)
    return outcomes


def _summary(rows: list[tuple[str, str, str, bool]]) -> Table:
    """The closing table. Reason codes are what a reader acts on: their column never
    wraps or truncates, whatever the width (CI has no terminal: 80 columns); titles wrap."""
    cells = [o if ok else f"{o} (expected {e})" for _, e, o, ok in rows]
    table = Table(title="Passerelle demo")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("scenario", ratio=1)
    table.add_column("outcome", no_wrap=True, min_width=max(map(len, cells), default=7))
    table.add_column("", no_wrap=True)
    for number, ((title, _, _, ok), cell) in enumerate(zip(rows, cells, strict=True), start=1):
        table.add_row(str(number), title, cell, "✔" if ok else "✘")
    return table


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
        verify = stack_verify(directory)
        client = StackClient(urls=urls, data_dir=directory, verify=verify)
        outcomes = _play_all(console, client)
        dataspace = _play_dataspace(console, urls, directory, len(outcomes) + 1, verify)
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
                dataspace = _play_dataspace(console, stack.urls, directory, len(outcomes) + 1)
            finally:
                stack.stop()
    rows = [
        (o.scenario.title, o.scenario.expect or "accepted", o.outcome, o.as_expected)
        for o in outcomes
    ]
    rows += [
        (d.scenario.title, d.scenario.expect or DATA_RECEIVED, d.outcome, d.as_expected)
        for d in dataspace
    ]
    console.print(_summary(rows))
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(
                {
                    "run_at": now.isoformat(),
                    "transport": "http (loopback)",
                    "scenarios": [
                        {
                            "number": number,
                            "title": o.scenario.title,
                            "expected": o.scenario.expect or "accepted",
                            "outcome": o.outcome,
                            "as_expected": o.as_expected,
                            "disclosed": o.wallet.get("disclosed"),
                            "decision": o.result,
                        }
                        for number, o in enumerate(outcomes, start=1)
                    ],
                    "dataspace": [
                        {
                            "number": number,
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
                        for number, d in enumerate(dataspace, start=len(outcomes) + 1)
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        console.print(f"report written to {report}", highlight=False, soft_wrap=True)
    return all(o.as_expected for o in outcomes) and all(d.as_expected for d in dataspace)
