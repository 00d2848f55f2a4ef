"""``bench/RESULTS.md`` from one run's JSON (and, for the "before" column, the same
bench run on the code as it was before the performance work)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["TARGETS", "Target", "render"]


def _get(report: dict[str, Any] | None, *path: str) -> Any:
    value: Any = report["sections"] if report else None
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def _http(report: dict[str, Any] | None, workers: int, concurrency: int, key: str) -> Any:
    rows = _get(report, "http", "presentations") or []
    for row in rows:
        if row["workers"] == workers and row["concurrency"] == concurrency:
            return row.get(key)
    return None


def _inverse(value: Any) -> Any:
    return None if not value else 1 / value


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    figure: str
    read: Callable[[dict[str, Any] | None], Any]
    limit: float
    at_most: bool  # True: the figure must be ≤ limit; False: ≥ limit

    def met(self, value: Any) -> bool | None:
        if not isinstance(value, int | float):
            return None
        return value <= self.limit if self.at_most else value >= self.limit


TARGETS = (
    Target(
        "full decision ≥ 0.5 × floor rate",
        "decide rate / floor rate",
        lambda r: _inverse(_get(r, "core", "ratios", "decide_over_floor")),
        0.5,
        False,
    ),
    Target(
        "bare verification ≥ 0.7 × floor rate",
        "verify_sd_jwt rate / floor rate",
        lambda r: _inverse(_get(r, "core", "ratios", "bare_over_floor")),
        0.7,
        False,
    ),
    Target(
        "decision ahead of PyPI sd-jwt",
        "decide time / sd-jwt time",
        lambda r: _get(r, "core", "ratios", "decide_over_peer_sd_jwt"),
        1.0,
        True,
    ),
    Target(
        "decision ahead of @sd-jwt/sd-jwt-vc",
        "decide time / sd-jwt-vc time",
        lambda r: _get(r, "core", "ratios", "decide_over_peer_sd_jwt_vc"),
        1.0,
        True,
    ),
    Target(
        "bare verification ahead of PyPI sd-jwt",
        "verify time / sd-jwt time",
        lambda r: _get(r, "core", "ratios", "bare_over_peer_sd_jwt"),
        1.0,
        True,
    ),
    Target(
        "bare verification ahead of @sd-jwt/sd-jwt-vc",
        "verify time / sd-jwt-vc time",
        lambda r: _get(r, "core", "ratios", "bare_over_peer_sd_jwt_vc"),
        1.0,
        True,
    ),
    Target(
        "HTTP, 1 worker ≥ 0.4 × in-process decision rate",
        "presentations/s (c=8) / decide rate",
        lambda r: _http(r, 1, 8, "over_inprocess_decide"),
        0.4,
        False,
    ),
    Target(
        "2 workers ≥ 1.6 × 1 worker",
        "presentations/s at c=8, 2 workers / 1",
        lambda r: _get(r, "http", "two_workers_over_one_c8"),
        1.6,
        False,
    ),
    Target(
        "EU decision at 100,000 entities ≤ 1.2 × at 10",
        "decision time, largest list / 10",
        lambda r: _get(r, "eu_list_entities", "growth"),
        1.2,
        True,
    ),
    Target(
        "100,000-record registry loads in ≤ 2 s",
        "seconds",
        lambda r: _get(r, "registry_records", "load_s", "100000"),
        2.0,
        True,
    ),
    Target(
        "1,000,000-entry status token served from cache ≤ 1 ms",
        "ms per request",
        lambda r: _get(r, "status_list", "served_ms", "1000000"),
        1.0,
        True,
    ),
    Target(
        "1,000,000-entry status token encoded ≤ 50 ms",
        "ms, at the service's zlib level",
        lambda r: (
            _get(r, "status_list", "encode_ms", "1000000", "6")
            or _get(r, "status_list", "encode_ms", "1000000", "9")
        ),
        50.0,
        True,
    ),
    Target(
        "verification linear in disclosures",
        "µs per disclosure 10→100 / 1→10",
        lambda r: _get(r, "disclosures", "marginal_ratio"),
        1.5,
        True,
    ),
    Target(
        "full conformance run on the local stack ≤ 10 s",
        "seconds (stack start + run)",
        lambda r: _get(r, "conformance", "total_s"),
        10.0,
        True,
    ),
    Target(
        "conformance: 4 targets ≤ 2 × one target",
        "run time, 4 targets / 1, each target's services in its own process, "
        "50 ms of network per exchange",
        lambda r: _get(r, "conformance", "four_over_one"),
        2.0,
        True,
    ),
    Target(
        "conformance: 4 targets on loopback no worse than linear",
        "run time, 4 targets / 1, all four stacks on this machine's two cores",
        lambda r: _get(r, "conformance", "four_over_one_loopback"),
        4.0,
        True,
    ),
    Target(
        "soak: RSS growth after warm-up ≤ 10 MB",
        "MB over the soak",
        lambda r: _get(r, "http", "soak", "growth_mb"),
        10.0,
        True,
    ),
)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def render(after: dict[str, Any], before: dict[str, Any] | None) -> str:
    m = after["machine"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run` (`python -m bench`); every figure below comes from one run "
        "of the code as committed, and each ratio from candidates measured side by side in "
        'that run. The "before" column is the same bench run, in the same command, on the '
        "code before this work (`bench/run` exports it from git).",
        "",
        f"Machine: {m['cpus']} × {m['cpu_model']}, {m['platform']}, Python {m['python']}, "
        f"cryptography {m['cryptography']}. Load average at start "
        f"{m['load_average_at_start']}, at end {m.get('load_average_at_end')}: the machine "
        "was shared, so absolute rates are indicative and ratios are what count."
        + (" **Quick mode: tiny sizes, figures meaningless.**" if after["quick"] else ""),
        "",
        "## Targets",
        "",
        "| target | figure | limit | before | after | met |",
        "|---|---|---|---|---|---|",
    ]
    for t in TARGETS:
        now, then = t.read(after), t.read(before)
        mark = {True: "yes", False: "**no**", None: "not measured"}[t.met(now)]
        sign = "≤" if t.at_most else "≥"
        lines.append(
            f"| {t.name} | {t.figure} | {sign} {t.limit:g} | {_fmt(then)} | {_fmt(now)} | {mark} |"
        )
    lines += ["", "## Figures", ""]
    core = _get(after, "core")
    if core:
        lines += [
            "In process, one EU PID presented to the Canadian verifier (x5c chain to the EU "
            "list, recognition, signature, status from a verified list, KB-JWT, schema), "
            f"{core['presentation_bytes']} bytes, the same bytes for every candidate:",
            "",
            "| candidate | µs per presentation | per second |",
            "|---|---|---|",
        ]
        for name, us in core["median_us"].items():
            rate = core["per_second"].get(name)
            lines.append(f"| {name} | {_fmt(us)} | {_fmt(rate)} |")
        lines += ["", "Ratios (time): " + ", ".join(
            f"{k} {_fmt(v)}" for k, v in core["ratios"].items()
        ) + ".", ""]  # fmt: skip
    http = _get(after, "http")
    if http:
        issuance = http["issuance"]
        lines += [
            f"Issuance (OpenID4VCI pre-authorized code, 4 requests each, concurrency "
            f"{issuance.get('concurrency')}, 1 worker): {_fmt(issuance.get('per_second'))} "
            f"credentials/s, p50 {_fmt(issuance.get('p50_ms'))} ms, "
            f"p99 {_fmt(issuance.get('p99_ms'))} ms.",
            "",
            "Presentations over HTTP (create transaction, fetch the request object, post the "
            "response; wallets in a separate process, credentials issued beforehand, a fresh "
            "KB-JWT each):",
            "",
            "| served by | workers | concurrency | presentations/s | p50 ms | p99 ms "
            "| server CPU ms each | / in-process decide |",
            "|---|---|---|---|---|---|---|---|",
        ]
        served = [("verifier", r) for r in http["presentations"]]
        served += [("floor", r) for r in http.get("floor") or []]
        served += [("verifier, pinned", r) for r in http.get("pinned") or []]
        for who, row in served:
            lines.append(
                f"| {who} | {row['workers']} | {row['concurrency']} | "
                f"{_fmt(row['per_second'])} | {_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | "
                f"{_fmt(row.get('cpu_ms'))} | {_fmt(row.get('over_inprocess_decide'))} |"
            )
        turns = [
            f"{who}, {row['workers']} worker{'s' if row['workers'] > 1 else ''}: "
            + ", ".join(_fmt(r) for r in row["rounds_per_second"])
            for who, row in served
            if len(row.get("rounds_per_second") or ()) > 1
        ]
        if turns:
            lines += [
                "",
                "At concurrency 8 the servers of 1 and 2 workers took turns, each row being "
                "its median turn, since a shared machine's load moves a rate from one run to "
                f"the next (presentations/s of each turn: {'; '.join(turns)}).",
            ]
        if http.get("floor"):
            lines += [
                "",
                "The floor is the same three requests answered with constants on the same "
                "server stack (`bench/_http_floor.py`): transport, framework and the bench's "
                "wallets, no store, no decision. The verifier at concurrency 8 on one worker "
                f"serves {_fmt(http.get('verifier_over_floor_c8'))} × the floor's rate. "
                "One worker runs its Python on one core at a time, so no verifier on this "
                "stack serves more than one presentation per (the floor's CPU per "
                "presentation + one in-process decision): on this machine, "
                f"{_fmt(http.get('one_worker_ceiling_over_inprocess_decide'))} × the "
                "in-process decision rate.",
            ]
        if http.get("pinned"):
            lines += [
                "",
                "Pinned: the verifier with each worker kept to a CPU of its own "
                "(`passerelle serve --pin`), so that its event loop and pool threads hand "
                "the interpreter lock over on the CPU they share. At concurrency 8 one "
                f"pinned worker serves {_fmt(http.get('pinned_over_unpinned_c8'))} × the "
                "rate of one unpinned, and two pinned workers "
                f"{_fmt(http.get('pinned_two_workers_over_one_c8'))} × one pinned. The "
                "targets above are the default's, unpinned.",
            ]
        soak = http.get("soak") or {}
        lines += [
            "",
            f"Soak: {soak.get('presentations')} presentations at concurrency 8 after "
            f"{soak.get('warm_up')} of warm-up; verifier RSS "
            f"{_fmt(soak.get('rss_after_warm_up_mb'))} MB → "
            f"{_fmt(soak.get('rss_after_soak_mb'))} MB.",
            "",
        ]
    for name, title in (
        ("disclosures", "Disclosures (bare verify_sd_jwt, µs)"),
        ("eu_list_entities", "EU list entities (decision µs, list load s)"),
        ("registry_records", "Registry records (load s)"),
        ("status_list", "Status list (encode ms at zlib 6 and 9, served ms)"),
        ("conformance", "Conformance run"),
    ):
        value = _get(after, name)
        then = _get(before, name)
        lines += [f"### {title}", "", "```", f"after:  {value}", f"before: {then}", "```", ""]
    if after.get("errors") or (before or {}).get("errors"):
        lines += ["### Sections that did not run", ""]
        for label, report in (("after", after), ("before", before)):
            for name, error in ((report or {}).get("errors") or {}).items():
                lines.append(f"- {label}, {name}: {error}")
        lines.append("")
    return "\n".join(lines)
