"""Reports of a conformance run: JSON for machines, JUnit XML for CI, HTML for people.

All three say the same thing. Every result carries the requirement it enforces (the
spec's own sentence and a link) and, in JSON and HTML, the HTTP exchanges the recorder
kept, secrets already replaced. Evidence is scrubbed once more here: a check may have
recorded a token the recorder never saw.

Expected failures (the targets file's ``expected_failures``) are mapped for CI: one that
still fails is *skipped* with "expected failure: ...", one that passed is a *failure*,
so a partner notices that the entry can go.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

import passerelle
from passerelle import oid4vci, oid4vp, sd_jwt_vc, trust

from ._context import _BEARER, _SECRET_HEADERS, _SECRET_KEYS, REDACTED
from ._model import Result, Status
from ._registry import PLANS
from ._runner import Run

__all__ = [
    "FORMAT",
    "matrix_cells",
    "render_html",
    "spec_versions",
    "to_json",
    "to_junit",
    "verdict",
    "write_html",
    "write_json",
    "write_junit",
]

FORMAT = "passerelle-conformance-report/1"
"""Names the JSON layout; bumped when a field changes meaning."""

CROSS_BORDER = "cross-border"

# Worst first: a matrix cell, or a plan, shows the worst verdict among its results.
_VERDICT_RANK = {
    "xpass": 0,
    "failed": 1,
    "error": 2,
    "warning": 3,
    "xfail": 4,
    "passed": 5,
    "skipped": 6,
}
_VERDICT_LABEL = {
    "passed": "passed",
    "failed": "failed",
    "warning": "warning",
    "skipped": "skipped",
    "error": "error",
    "xfail": "expected failure",
    "xpass": "expected failure passed",
}


def spec_versions() -> dict[str, str]:
    """The versions of the specifications the suite speaks, from the core itself."""
    return {
        "oid4vci": oid4vci.SPEC_VERSION,
        "oid4vp": oid4vp.SPEC_VERSION,
        "sd_jwt_vc": sd_jwt_vc.SPEC_VERSION,
        "trqp": f"ToIP TRQP v{trust.TRQP_VERSION}",
    }


def verdict(result: Result) -> str:
    """The status with the expected-failure list applied: ``xfail`` is a failure the
    targets file expects, ``xpass`` an expected failure that did not happen."""
    if result.expected_failure:
        if result.status is Status.PASSED:
            return "xpass"
        if result.status in (Status.FAILED, Status.ERROR):
            return "xfail"
    return result.status.value


def _worst(verdicts: Iterable[str]) -> str:
    return min(verdicts, key=lambda v: _VERDICT_RANK[v], default="skipped")


def _transport(url: str) -> str:
    return urlsplit(url).scheme or "unknown"


def _overall_transport(run: Run) -> str:
    schemes = {_transport(t.url) for t in run.targets.targets.values()}
    if len(schemes) == 1:
        return schemes.pop()
    return "mixed" if schemes else "none"


_SECRETS = _SECRET_KEYS | _SECRET_HEADERS
_REDACTED_ENCODED = quote_plus(REDACTED)


def _scrub(value: Any) -> Any:
    """Evidence fit for a report: JSON values only, secrets replaced."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if str(k).lower() in _SECRETS and v is not None else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_scrub(v) for v in items]
    if isinstance(value, str):
        # The recorder's form and query redaction comes out percent-encoded: show the mark.
        value = value.replace(_REDACTED_ENCODED, REDACTED)
        return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes):
        return _scrub(value.decode("utf-8", "replace"))
    if isinstance(value, datetime):
        return value.isoformat()
    return _scrub(str(value))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _duration_ms(run: Run) -> int | None:
    if run.finished_at is None:
        return None
    return int((run.finished_at - run.started_at).total_seconds() * 1000)


def _result_json(result: Result) -> dict[str, Any]:
    check = result.check
    requirement = check.requirement
    return {
        "check_id": check.id,
        "title": check.title,
        "plan": check.plan,
        "role": check.role,
        "subject": result.subject,
        "severity": check.severity.value,
        "status": result.status.value,
        "verdict": verdict(result),
        "error_class": None if result.error_class is None else result.error_class.value,
        "message": result.message,
        "expected_failure": result.expected_failure,
        "unexpected": result.unexpected,
        "retried": result.retried,
        # Interactive mode: part of the verdict is a person's answer, not an observation.
        "reviewed_by_person": result.evidence.get("reviewed_by_person") is True,
        "duration_ms": result.duration_ms,
        "requirement": {
            "spec": requirement.spec,
            "section": requirement.section,
            "text": requirement.text,
            "link": requirement.link,
            "level": requirement.level,
        },
        "evidence": _scrub(result.evidence),
        "exchanges": _scrub(result.exchanges),
    }


@dataclass(frozen=True, slots=True)
class _Cell:
    subject: str
    issuer: str
    verifier: str
    configuration: str
    results: tuple[Result, ...]
    expected: Any
    outcome: Any
    trace: Any

    @property
    def verdict(self) -> str:
        return _worst(verdict(r) for r in self.results)


def _parse_subject(subject: str) -> tuple[str, str, str] | None:
    issuer, arrow, rest = subject.partition("→")
    verifier, colon, configuration = rest.partition(":")
    if not (arrow and colon and issuer and verifier):
        return None
    return issuer, verifier, configuration


def _cells(run: Run) -> list[_Cell]:
    grouped: dict[str, list[Result]] = {}
    for result in run.results:
        if result.check.plan == CROSS_BORDER and _parse_subject(result.subject) is not None:
            grouped.setdefault(result.subject, []).append(result)
    declared = {f"{c['issuer']}→{c['verifier']}:{c['configuration']}": c for c in run.targets.cells}
    cells = []
    for subject, results in grouped.items():
        parsed = _parse_subject(subject)
        assert parsed is not None
        evidence: dict[str, Any] = {}
        for r in results:  # the first result that recorded a field wins
            for key in ("outcome", "expected", "trace"):
                if key in r.evidence and key not in evidence:
                    evidence[key] = r.evidence[key]
        expected = evidence.get("expected", declared.get(subject, {}).get("expect"))
        cells.append(
            _Cell(
                subject=subject,
                issuer=parsed[0],
                verifier=parsed[1],
                configuration=parsed[2],
                results=tuple(results),
                expected=_scrub(expected),
                outcome=_scrub(evidence.get("outcome")),
                trace=_scrub(evidence.get("trace")),
            )
        )
    return cells


def matrix_cells(run: Run) -> list[dict[str, Any]]:
    """The cross-border matrix: one entry per issuer → verifier : configuration."""
    return [
        {
            "subject": cell.subject,
            "issuer": cell.issuer,
            "verifier": cell.verifier,
            "configuration": cell.configuration,
            "verdict": cell.verdict,
            "outcome": cell.outcome,
            "expected": cell.expected,
            "trace": cell.trace,
            "checks": [
                {
                    "check_id": r.check.id,
                    "status": r.status.value,
                    "verdict": verdict(r),
                    "message": r.message,
                }
                for r in cell.results
            ],
        }
        for cell in _cells(run)
    ]


def to_json(run: Run) -> dict[str, Any]:
    targets = {
        t.name: {
            "name": t.name,
            "role": t.role,
            "profile": t.profile,
            "url": t.url,
            "transport": _transport(t.url),
        }
        for t in run.targets.targets.values()
    }
    return {
        "format": FORMAT,
        "passerelle_version": passerelle.__version__,
        "spec_versions": spec_versions(),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": _duration_ms(run),
        "plans": list(run.plans),
        "targets_source": run.targets.source,
        "transport": _overall_transport(run),
        "targets": targets,
        "summary": run.counts(),
        "ok": run.ok,
        "results": [_result_json(r) for r in run.results],
        "matrix": matrix_cells(run),
    }


def write_json(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(run), indent=2, ensure_ascii=False) + "\n")


# --- JUnit XML ---------------------------------------------------------------------------

# XML 1.0 cannot carry most control characters, even escaped; a target's body may.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _requirement_text(result: Result) -> str:
    r = result.check.requirement
    return f"Requirement ({r.spec} {r.section}, {r.level}): {r.text}\n{r.link}"


def _evidence_text(result: Result) -> str:
    if not result.evidence:
        return ""
    evidence = json.dumps(_scrub(result.evidence), indent=2, ensure_ascii=False)
    return f"\n\nEvidence:\n{evidence}"


def _plans_in_order(run: Run) -> list[str]:
    return list(dict.fromkeys([*run.plans, *(r.check.plan for r in run.results)]))


def _testcase(result: Result) -> tuple[ET.Element, str]:
    """The testcase element and how JUnit counts it (passed/failure/error/skipped)."""
    check = result.check
    case = ET.Element(
        "testcase",
        {
            "classname": _x(f"{check.plan}.{result.subject}"),
            "name": _x(f"{check.id} {check.title}"),
            "time": f"{result.duration_ms / 1000:.3f}",
        },
    )
    outcome = verdict(result)
    kind = "passed"
    if outcome == "xpass":
        kind = "failure"
        element = ET.SubElement(
            case,
            "failure",
            {"message": "expected failure did not happen", "type": "expected-failure-passed"},
        )
        element.text = _x(
            f"{check.id} is listed in expected_failures, but it passed on {result.subject}: "
            f"remove it from the list.\n\n{_requirement_text(result)}"
        )
    elif outcome == "xfail":
        kind = "skipped"
        ET.SubElement(case, "skipped", {"message": _x(f"expected failure: {result.message}")})
    elif outcome == "failed":
        kind = "failure"
        element = ET.SubElement(
            case, "failure", {"message": _x(result.message), "type": "non-conformance"}
        )
        element.text = _x(
            f"{result.message} [{check.severity.value}]\n\n{_requirement_text(result)}"
            f"{_evidence_text(result)}"
        )
    elif outcome == "error":
        kind = "error"
        error_class = result.error_class.value if result.error_class else "error"
        element = ET.SubElement(case, "error", {"message": _x(result.message), "type": error_class})
        element.text = _x(f"{result.message}{_evidence_text(result)}")
    elif outcome == "skipped":
        kind = "skipped"
        ET.SubElement(case, "skipped", {"message": _x(result.message)})
    elif outcome == "warning":
        out = ET.SubElement(case, "system-out")
        out.text = _x(f"warning: {result.message}\n\n{_requirement_text(result)}")
    return case, kind


def to_junit(run: Run) -> ET.Element:
    root = ET.Element("testsuites", {"name": "passerelle conformance"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_ms = 0
    timestamp = run.started_at.replace(microsecond=0).isoformat()
    for plan in _plans_in_order(run):
        results = [r for r in run.results if r.check.plan == plan]
        counts = {"tests": len(results), "failures": 0, "errors": 0, "skipped": 0}
        cases = []
        for result in results:
            case, kind = _testcase(result)
            cases.append(case)
            if kind == "failure":
                counts["failures"] += 1
            elif kind == "error":
                counts["errors"] += 1
            elif kind == "skipped":
                counts["skipped"] += 1
        plan_ms = sum(r.duration_ms for r in results)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": plan,
                **{k: str(v) for k, v in counts.items()},
                "time": f"{plan_ms / 1000:.3f}",
                "timestamp": timestamp,
            },
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("passerelle", passerelle.__version__),
            *spec_versions().items(),
            ("transport", _overall_transport(run)),
        ):
            ET.SubElement(properties, "property", {"name": name, "value": _x(value)})
        suite.extend(cases)
        for key in totals:
            totals[key] += counts[key]
        total_ms += plan_ms
    root.attrib.update({k: str(v) for k, v in totals.items()})
    root.set("time", f"{total_ms / 1000:.3f}")
    return root


def write_junit(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(to_junit(run))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


# --- HTML ----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _trace_lines(trace: Any) -> list[str]:
    """A trust trace as one line per step, whatever shape the check recorded."""
    if isinstance(trace, Mapping) and isinstance(trace.get("steps"), list):
        trace = trace["steps"]
    if isinstance(trace, str):
        return trace.splitlines()
    if not isinstance(trace, list):
        return [] if trace is None else [_pretty(trace)]
    lines = []
    for step in trace:
        if isinstance(step, Mapping) and "step" in step:
            line = f"{step['step']}: {step.get('outcome', '')}"
            if step.get("reason"):
                line += f" ({step['reason']})"
            if step.get("detail"):
                line += f" — {step['detail']}"
            if step.get("finding"):
                note = f" [{step['note']}]" if step.get("note") else ""
                line = f"also found, not decided on: {line}{note}"
            lines.append(line)
        else:
            lines.append(step if isinstance(step, str) else json.dumps(step, ensure_ascii=False))
    return lines


def _label(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()


_CSS = """
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --passed: #1a7f37; --passed-bg: #dafbe1;
  --failed: #cf222e; --failed-bg: #ffebe9;
  --error: #bc4c00; --error-bg: #fff1e5;
  --warning: #9a6700; --warning-bg: #fff8c5;
  --skipped: #59636e; --skipped-bg: #eff2f5;
  --xfail: #8250df; --xfail-bg: #fbefff;
  --xpass: #cf222e; --xpass-bg: #ffebe9;
  --link: #0969da;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
a { color: var(--link); }
code, pre, .mono {
  font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 13px; }
h1 { font-size: 26px; margin: 0; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
.top { background: #0d2538; color: #fff; padding: 24px 0 20px; }
.top .inner { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
.top .sub { color: #b6c7d6; margin: 4px 0 16px; }
.verdict { display: inline-block; font-weight: 600; font-size: 16px; padding: 6px 14px;
  border-radius: 6px; }
.verdict.ok { background: var(--passed-bg); color: var(--passed); }
.verdict.bad { background: var(--failed-bg); color: var(--failed); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr));
  gap: 8px 24px; margin: 18px 0 0; }
.facts div { min-width: 0; }
.facts dt { color: #b6c7d6; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
nav.toc { margin: 16px 0 0; font-size: 14px; }
nav.toc a { color: #9ecbff; margin-right: 14px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--panel); font-weight: 600; font-size: 13px; }
td.url { overflow-wrap: anywhere; }
.counts { list-style: none; display: flex; flex-wrap: wrap; gap: 10px; padding: 0; margin: 8px 0; }
.counts li { padding: 8px 14px; border-radius: 8px; min-width: 112px;
  border: 1px solid transparent; }
.counts li b { display: block; font-size: 22px; line-height: 1.1; }
.counts.small li { padding: 2px 10px; min-width: 0; font-size: 13px; }
.counts.small li b { display: inline; font-size: 13px; margin-right: 4px; }
.counts .zero { opacity: .45; }
.v-passed { background: var(--passed-bg); color: var(--passed); }
.v-failed { background: var(--failed-bg); color: var(--failed); }
.v-error { background: var(--error-bg); color: var(--error); }
.v-warning { background: var(--warning-bg); color: var(--warning); }
.v-skipped { background: var(--skipped-bg); color: var(--skipped); }
.v-xfail { background: var(--xfail-bg); color: var(--xfail); }
.v-xpass { background: var(--xpass-bg); color: var(--xpass); }
.v-unexpected { background: var(--failed-bg); color: var(--failed);
  border-color: var(--failed) !important; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px;
  border-radius: 999px;
  white-space: nowrap; border: 1px solid currentColor; }
.transport-https { color: var(--passed); }
.top .badge { background: #fff; }
.transport-http, .transport-mixed { color: var(--warning); }
.note { color: var(--muted); font-size: 13px; }
.unexpected-list li { margin: 4px 0; }
.none { color: var(--passed); }
table.matrix { width: auto; min-width: 60%; }
table.matrix th.row { background: var(--panel); white-space: nowrap; }
table.matrix th.row small { display: block; color: var(--muted); font-weight: normal; }
table.matrix td.cell { min-width: 200px; border: 2px solid #fff; border-radius: 6px; }
table.matrix td.empty { color: var(--muted); background: #fafbfc; text-align: center;
  font-size: 13px; }
.cell .cell-verdict { font-weight: 600; }
.cell .vs { font-size: 13px; color: var(--fg); }
.cell details { margin-top: 4px; font-size: 12px; color: var(--fg); }
.cell ol { margin: 4px 0; padding-left: 18px; }
.cell a { font-size: 12px; }
.legend { display: flex; gap: 8px; flex-wrap: wrap; margin: 6px 0 10px; }
details.result { border: 1px solid var(--line); border-left: 6px solid var(--skipped);
  border-radius: 6px;
  margin: 8px 0; background: #fff; }
details.result.r-passed { border-left-color: var(--passed); }
details.result.r-failed, details.result.r-xpass { border-left-color: var(--failed); }
details.result.r-error { border-left-color: var(--error); }
details.result.r-warning { border-left-color: var(--warning); }
details.result.r-xfail { border-left-color: var(--xfail); }
details.result > summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 10px;
  align-items: baseline;
  flex-wrap: wrap; list-style: none; }
details.result > summary::-webkit-details-marker { display: none; }
details.result > summary::before { content: "▸"; color: var(--muted); }
details.result[open] > summary::before { content: "▾"; }
details.result[open] > summary { border-bottom: 1px solid var(--line); }
summary .cid { font-weight: 600; }
summary .subject { color: var(--muted); font-size: 13px; }
summary .sev { margin-left: auto; font-size: 12px; color: var(--muted); }
.body { padding: 4px 16px 12px; }
.message { font-weight: 500; margin: 10px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 13px;
  margin: 8px 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
blockquote { margin: 10px 0; padding: 8px 14px; border-left: 4px solid #8c959f;
  background: var(--panel);
  border-radius: 0 6px 6px 0; }
blockquote p { margin: 0 0 6px; font-style: italic; }
blockquote footer { font-size: 13px; color: var(--muted); }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 6px 0;
  max-height: 480px; }
details.sub { margin: 8px 0; }
details.sub > summary { cursor: pointer; font-weight: 600; font-size: 14px; }
details.exchange { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; }
details.exchange > summary { cursor: pointer; padding: 6px 10px; font-size: 13px;
  overflow-wrap: anywhere; }
details.exchange > div { padding: 0 12px 10px; }
.http { font-weight: 600; }
.http.s2 { color: var(--passed); } .http.s3 { color: var(--link); }
.http.s4 { color: var(--warning); } .http.s5, .http.sx { color: var(--failed); }
table.headers td, table.headers th { padding: 2px 8px; font-size: 12px; }
table.headers td:first-child { white-space: nowrap; color: var(--muted); width: 1%; }
footer.page { margin-top: 40px; color: var(--muted); font-size: 13px;
  border-top: 1px solid var(--line); padding-top: 12px; }
"""


def _badge(v: str) -> str:
    return f'<span class="badge v-{v}">{_e(_VERDICT_LABEL[v])}</span>'


def _counts_html(counts: Mapping[str, int], *, small: bool = False) -> str:
    items = [
        ("passed", "passed"),
        ("failed", "failed"),
        ("error", "errors"),
        ("warning", "warnings"),
        ("skipped", "skipped"),
        ("xfail", "expected failures"),
        ("unexpected", "unexpected"),
    ]
    lis = []
    for key, label in items:
        n = counts.get(key, 0)
        zero = " zero" if n == 0 else ""
        lis.append(f'<li class="v-{key}{zero}"><b>{n}</b> {_e(label)}</li>')
    cls = "counts small" if small else "counts"
    return f'<ul class="{cls}">{"".join(lis)}</ul>'


def _verdict_counts(results: Sequence[Result]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        v = verdict(r)
        # No chip of its own for xpass: it is what "unexpected" is about.
        counts[v] = counts.get(v, 0) + 1
    counts["unexpected"] = sum(1 for r in results if r.unexpected)
    return counts


def _header_html(run: Run) -> str:
    unexpected = sum(1 for r in run.results if r.unexpected)
    if run.ok:
        banner = '<span class="verdict ok">✔ No unexpected failures</span>'
    else:
        plural = "s" if unexpected != 1 else ""
        banner = f'<span class="verdict bad">✘ {unexpected} unexpected result{plural}</span>'
    specs = spec_versions()
    duration = _duration_ms(run)
    transport = _overall_transport(run)
    facts = [
        ("Passerelle", passerelle.__version__),
        ("Started", run.started_at.strftime("%Y-%m-%d %H:%M:%S %Z")),
        ("Duration", "—" if duration is None else f"{duration / 1000:.1f} s"),
        ("Targets file", run.targets.source or "—"),
        ("Issuance", specs["oid4vci"]),
        ("Presentation", specs["oid4vp"]),
        ("Credential format", specs["sd_jwt_vc"]),
        ("Trust registry", specs["trqp"]),
    ]
    dl = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    dl += (
        f'<div><dt>Transport</dt><dd><span class="badge transport-{_e(transport)}">'
        f"{_e(transport)}</span></dd></div>"
    )
    links = [("summary", "Summary"), ("unexpected", "Unexpected")]
    if any(r.check.plan == CROSS_BORDER for r in run.results):
        links.append(("matrix", "Cross-border matrix"))
    links.append(("targets", "Targets"))
    links += [(f"plan-{_slug(p)}", p) for p in _plans_in_order(run)]
    toc = "".join(f'<a href="#{_e(a)}">{_e(t)}</a>' for a, t in links)
    return (
        '<header class="top"><div class="inner">'
        "<h1>Passerelle conformance report</h1>"
        f'<p class="sub">Plans: {_e(", ".join(run.plans) or "—")}</p>'
        f"{banner}"
        f'<dl class="facts">{dl}</dl>'
        f'<nav class="toc">{toc}</nav>'
        "</div></header>"
    )


def _targets_html(run: Run) -> str:
    rows = "".join(
        f"<tr><td><b>{_e(t.name)}</b></td><td>{_e(t.role)}</td><td>{_e(t.profile)}</td>"
        f'<td class="url mono">{_e(t.url)}</td>'
        f'<td><span class="badge transport-{_e(_transport(t.url))}">'
        f"{_e(_transport(t.url))}</span></td></tr>"
        for t in run.targets.targets.values()
    )
    note = ""
    if any(_transport(t.url) == "http" for t in run.targets.targets.values()):
        note = (
            '<p class="note">Plain HTTP is a development relaxation for the local stack on '
            "loopback; partners' systems are tested over HTTPS.</p>"
        )
    return (
        '<section id="targets"><h2>Targets</h2>'
        "<table><thead><tr><th>Target</th><th>Role</th><th>Profile</th><th>URL</th>"
        f"<th>Transport</th></tr></thead><tbody>{rows}</tbody></table>{note}</section>"
    )


def _unexpected_html(run: Run, anchors: Mapping[int, str]) -> str:
    items = []
    for i, r in enumerate(run.results):
        if not r.unexpected:
            continue
        message = (
            "expected failure did not happen: remove it from expected_failures"
            if verdict(r) == "xpass"
            else r.message
        )
        items.append(
            f'<li>{_badge(verdict(r))} <a href="#{anchors[i]}"><code>{_e(r.check.id)}</code></a> '
            f"{_e(r.check.title)} — <i>{_e(r.subject)}</i>: {_e(message)}</li>"
        )
    body = (
        f'<ol class="unexpected-list">{"".join(items)}</ol>'
        if items
        else '<p class="none">None: every required check passed, or failed as expected.</p>'
    )
    return f'<section id="unexpected"><h2>Unexpected results</h2>{body}</section>'


def _matrix_html(run: Run, anchors: Mapping[int, str]) -> str:
    cells = _cells(run)
    if not cells:
        return ""
    index = {id(r): i for i, r in enumerate(run.results)}
    verifiers = list(dict.fromkeys(c.verifier for c in cells))
    rows = list(dict.fromkeys((c.issuer, c.configuration) for c in cells))
    by_position = {(c.issuer, c.configuration, c.verifier): c for c in cells}
    head = "".join(f"<th>{_e(v)}</th>" for v in verifiers)
    body = []
    for issuer, configuration in rows:
        tds = []
        for verifier in verifiers:
            cell = by_position.get((issuer, configuration, verifier))
            if cell is None:
                tds.append('<td class="empty">not tested</td>')
                continue
            tds.append(_matrix_cell_html(cell, anchors, index))
        body.append(
            f'<tr><th class="row">{_e(issuer)}<small class="mono">{_e(configuration)}</small></th>'
            f"{''.join(tds)}</tr>"
        )
    legend = "".join(
        _badge(v) for v in ("passed", "failed", "error", "warning", "xfail", "skipped")
    )
    return (
        '<section id="matrix"><h2>Cross-border matrix</h2>'
        '<p class="note">Each cell is one credential, from the row\'s issuer, presented to the '
        "column's verifier. The colour says whether the verifier decided as the trust "
        "frameworks require (which may be a refusal); the text is the decision against the "
        "expected one. Hover a cell, or open it, for the trust trace.</p>"
        f'<div class="legend">{legend}</div>'
        f'<table class="matrix"><thead><tr><th>issuer · configuration / verifier</th>{head}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _matrix_cell_html(cell: _Cell, anchors: Mapping[int, str], index: Mapping[int, int]) -> str:
    v = cell.verdict
    outcome, expected = _label(cell.outcome), _label(cell.expected)
    if cell.outcome is None:
        vs = f"expected {_e(expected)}"
    elif cell.outcome == cell.expected:
        vs = f"✓ {_e(outcome)}"
    else:
        vs = f"✗ got {_e(outcome)}<br>expected {_e(expected)}"
    lines = _trace_lines(cell.trace)
    title = "\n".join(lines) if lines else cell.subject
    trace = ""
    if lines:
        steps = "".join(f"<li>{_e(line)}</li>" for line in lines)
        trace = f"<details><summary>trust trace</summary><ol>{steps}</ol></details>"
    links = " ".join(
        f'<a href="#{anchors[index[id(r)]]}">{_e(r.check.id)}</a>' for r in cell.results
    )
    return (
        f'<td class="cell v-{v}" title="{_e(title)}">'
        f'<div class="cell-verdict">{_e(_VERDICT_LABEL[v])}</div>'
        f'<div class="vs">{vs}</div>{trace}<div>{links}</div></td>'
    )


def _requirement_html(result: Result) -> str:
    r = result.check.requirement
    link = (
        f'<a href="{_e(r.link)}">{_e(r.link)}</a>'
        if r.link.startswith(("https://", "http://"))
        else _e(r.link)
    )
    cite = f' cite="{_e(r.link)}"' if r.link.startswith(("https://", "http://")) else ""
    return (
        f"<blockquote{cite}><p>“{_e(r.text)}”</p>"
        f"<footer>{_e(r.spec)}, {_e(r.section)} · {_e(r.level)} · {link}</footer></blockquote>"
    )


def _headers_table(headers: Any) -> str:
    if not isinstance(headers, Mapping) or not headers:
        return ""
    rows = "".join(
        f'<tr><td class="mono">{_e(k)}</td><td class="mono">{_e(v)}</td></tr>'
        for k, v in headers.items()
    )
    return f'<table class="headers">{rows}</table>'


def _exchange_html(exchange: Mapping[str, Any]) -> str:
    method, url = exchange.get("method", "?"), exchange.get("url", "?")
    if "error" in exchange:
        return (
            f'<details class="exchange"><summary><code>{_e(method)} {_e(url)}</code> → '
            f'<span class="http sx">{_e(exchange["error"])}</span></summary></details>'
        )
    status = exchange.get("status", "?")
    klass = f"s{str(status)[:1]}" if isinstance(status, int) else "sx"
    elapsed = exchange.get("elapsed_ms")
    timing = f' <span class="note">{_e(elapsed)} ms</span>' if elapsed is not None else ""
    parts = ["<h3>Request</h3>", _headers_table(exchange.get("request_headers"))]
    if exchange.get("request_body"):
        parts.append(f"<pre>{_e(exchange['request_body'])}</pre>")
    parts += ["<h3>Response</h3>", _headers_table(exchange.get("response_headers"))]
    if exchange.get("response_body"):
        parts.append(f"<pre>{_e(exchange['response_body'])}</pre>")
    return (
        f'<details class="exchange"><summary><code>{_e(method)} {_e(url)}</code> → '
        f'<span class="http {klass}">HTTP {_e(status)}</span>{timing}</summary>'
        f"<div>{''.join(parts)}</div></details>"
    )


def _result_html(result: Result, anchor: str) -> str:
    check = result.check
    v = verdict(result)
    is_open = " open" if v in ("failed", "error", "xpass") and result.unexpected else ""
    message = result.message
    if v == "xpass":
        message = "Expected failure did not happen: remove it from expected_failures."
    meta = [
        ("plan", check.plan),
        ("role", check.role),
        ("subject", result.subject),
        ("severity", check.severity.value),
        ("status", result.status.value),
    ]
    if result.error_class is not None:
        meta.append(("error class", result.error_class.value))
    if result.expected_failure:
        meta.append(("expected failure", "listed in the targets file"))
    if result.retried:
        meta.append(("retried", "a request did not reach the target and was sent again"))
    if result.evidence.get("reviewed_by_person") is True:
        said = result.evidence.get("person_said")
        meta.append(("reviewed by a person", f"interactive mode; the person answered {said!r}"))
    meta.append(("duration", f"{result.duration_ms} ms"))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(val)}</dd>" for k, val in meta)
    parts = [
        f'<p class="message">{_e(message)}</p>' if message else "",
        _requirement_html(result),
        f'<dl class="meta">{dl}</dl>',
    ]
    if result.evidence:
        evidence = _pretty(_scrub(result.evidence))
        parts.append(
            f'<details class="sub"{is_open}><summary>Evidence</summary>'
            f"<pre>{_e(evidence)}</pre></details>"
        )
    if result.exchanges:
        exchanges = "".join(_exchange_html(x) for x in _scrub(result.exchanges))
        parts.append(
            f'<details class="sub"{is_open}><summary>HTTP exchanges '
            f"({len(result.exchanges)})</summary>{exchanges}</details>"
        )
    return (
        f'<details class="result r-{v}" id="{_e(anchor)}"{is_open}>'
        f'<summary>{_badge(v)} <code class="cid">{_e(check.id)}</code> '
        f'<span class="title">{_e(check.title)}</span> '
        f'<span class="subject">{_e(result.subject)}</span>'
        f'<span class="sev">{_e(check.severity.value)}</span></summary>'
        f'<div class="body">{"".join(parts)}</div></details>'
    )


def _plans_html(run: Run, anchors: Mapping[int, str]) -> str:
    sections = []
    for plan in _plans_in_order(run):
        indexed = [(i, r) for i, r in enumerate(run.results) if r.check.plan == plan]
        known = PLANS.get(plan)
        description = f'<p class="note">{_e(known.description)}</p>' if known else ""
        cards = "".join(_result_html(r, anchors[i]) for i, r in indexed)
        sections.append(
            f'<section id="plan-{_slug(plan)}"><h2>Plan: {_e(plan)}</h2>{description}'
            f"{_counts_html(_verdict_counts([r for _, r in indexed]), small=True)}{cards}"
            "</section>"
        )
    return "".join(sections)


def render_html(run: Run) -> str:
    """The report as one self-contained page: inline CSS, no script, nothing fetched."""
    anchors = {i: f"r{i}-{_slug(r.check.id)}" for i, r in enumerate(run.results)}
    title = f"Passerelle conformance report — {run.started_at:%Y-%m-%d %H:%M}"
    finished = _iso(run.finished_at) or "—"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"{_header_html(run)}<main>"
        f'<section id="summary"><h2>Summary</h2>{_counts_html(_verdict_counts(run.results))}'
        f'<p class="note">{len(run.results)} results. A required check that fails or errors '
        "without being listed as an expected failure, or an expected failure that passes, is "
        "unexpected and fails the run; recommended checks never do.</p></section>"
        f"{_unexpected_html(run, anchors)}{_matrix_html(run, anchors)}{_targets_html(run)}"
        f"{_plans_html(run, anchors)}"
        f'<footer class="page">Generated by Passerelle {_e(passerelle.__version__)}; run '
        f"finished {_e(finished)}. Secrets in HTTP exchanges and evidence are shown as "
        f"{_e(REDACTED)}.</footer>"
        "</main></body></html>\n"
    )


def write_html(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run), encoding="utf-8")
