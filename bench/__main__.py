"""Every performance figure in one run: ``python -m bench`` (or ``bench/run``, which also
measures the code as it was before, for the "before" column).

    python -m bench                      # full run; writes bench/results/bench.json
    python -m bench --quick              # tiny sizes: the plumbing only, figures meaningless
    python -m bench --before FILE.json   # also fill RESULTS.md's "before" column from FILE
    python -m bench --markdown PATH      # where RESULTS.md goes (default: bench/RESULTS.md)
    python -m bench --only http          # one section (repeatable); http brings core, whose
                                         # decision rate it is compared with; no RESULTS.md

Each figure is measured in the same run as what it is compared with; ratios are medians
of per-round ratios where rounds interleave the candidates (see ``bench/_timing.py``).
Sections that the code being measured cannot run (a "before" tree without a feature)
are recorded as refused or missing, never guessed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._timing import rounded

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "bench.json"
MARKDOWN = ROOT / "bench" / "RESULTS.md"


def machine() -> dict[str, Any]:
    import importlib.metadata

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    load = os.getloadavg()
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "cryptography": version("cryptography"),
        "sd-jwt": version("sd-jwt"),
        "uvicorn": version("uvicorn"),
        "uvloop": version("uvloop"),
        "httptools": version("httptools"),
    }


SECTIONS = (
    "core",
    "mdoc",
    "disclosures",
    "eu_list_entities",
    "registry_records",
    "status_list",
    "http",
    "conformance",
)
# A section measured as a ratio to another's figure brings that one along.
_NEEDS = {"http": ("core",)}


def chosen_sections(only: list[str] | None, *, with_http: bool) -> frozenset[str]:
    """The sections a run measures: all, or those named and what they are compared with."""
    names = set(only or SECTIONS)
    for name in list(names):
        names.update(_NEEDS.get(name, ()))
    if not with_http:
        names.discard("http")
    return frozenset(names)


def _section(report: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    if name not in report["chosen"]:
        return None
    started = time.perf_counter()
    print(f"[bench] {name} …", flush=True)
    try:
        value = fn()
    except (Exception, SystemExit) as exc:  # a "before" tree may lack a feature
        # The tree measured is a temporary directory for a "before" run: no machine path
        # in what is committed.
        said = str(exc).replace(str(ROOT), "<measured tree>")
        report["errors"][name] = f"{type(exc).__name__}: {said}"
        traceback.print_exc()
        value = None
    report["sections"][name] = value
    report["section_seconds"][name] = round(time.perf_counter() - started, 2)
    return value


def _mdoc(*, rounds: int, batch_seconds: float, quick: bool) -> Any:
    # Imported in the section: a "before" tree has no passerelle.mdoc, which is an error
    # of this section alone.
    from .bench_mdoc import mdoc_presentation

    return mdoc_presentation(rounds=rounds, batch_seconds=batch_seconds, quick=quick)


def measure(
    *,
    quick: bool,
    label: str,
    with_http: bool,
    soak: int | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    from ._http import http_path
    from ._inprocess import core, disclosure_curve, eu_list_curve, registry_curve, status_curve
    from ._world import make_world

    rounds = 3 if quick else 15
    batch = 0.002 if quick else 0.03
    report: dict[str, Any] = {
        "bench": "issue-17",
        "label": label,
        "quick": quick,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sections": {},
        "section_seconds": {},
        "errors": {},
        "chosen": sorted(chosen_sections(only, with_http=with_http)),
    }
    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as tmp:
        work = Path(tmp)
        now = datetime.now(UTC).replace(microsecond=0)
        world = make_world(work, now=now)
        inproc = _section(
            report, "core", lambda: core(world, rounds=rounds, batch_seconds=batch, quick=quick)
        )
        _section(
            report,
            "mdoc",
            lambda: _mdoc(rounds=rounds, batch_seconds=batch, quick=quick),
        )
        _section(
            report,
            "disclosures",
            lambda: disclosure_curve(rounds=rounds, batch_seconds=batch, quick=quick),
        )
        sizes = (10, 100) if quick else (10, 1_000, 100_000)
        _section(
            report,
            "eu_list_entities",
            lambda: eu_list_curve(
                world, sizes, rounds=rounds, batch_seconds=batch * 4, quick=quick
            ),
        )
        _section(report, "registry_records", lambda: registry_curve(world, sizes))
        status_sizes = (1_000, 10_000) if quick else (1_000, 1_000_000)
        _section(report, "status_list", lambda: status_curve(world, status_sizes, quick=quick))
        if "http" in report["chosen"]:
            decide_rate = inproc["per_second"]["decide"] if inproc else None
            _section(
                report,
                "http",
                lambda: http_path(
                    world,
                    root=ROOT,
                    work=work,
                    quick=quick,
                    decide_per_second=decide_rate,
                    soak=soak or (40 if quick else 10_000),
                ),
            )
        _section(report, "conformance", lambda: conformance_run(quick=quick))
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return rounded(report, 4)  # type: ignore[no-any-return]


def conformance_run(*, quick: bool) -> dict[str, Any]:
    """A full conformance run on a fresh local stack (``bench_conformance``), then the
    run time for 1, 2 and 4 targets: copies of the local stack, each in a process of its
    own, checked side by side on loopback, and again with each exchange the suite starts
    waiting the modelled partner network (bench/README.md says why both)."""
    from passerelle.conformance import select_checks

    from .bench_conformance import NETWORK_LATENCY_S, _quick, several_targets
    from .bench_conformance import measure as measure_conformance

    report = measure_conformance(plans=None, quick=quick, limit=60.0)
    seconds = report["seconds"]
    out: dict[str, Any] = {
        "checks": report["checks"],
        "results": report["results"],
        "suite_ok": report["suite_ok"],
        "total_s": seconds["total_s"],
        "run_s": seconds["run_s"],
        "stack_start_s": seconds["stack_start_s"],
        "sleep_s": seconds["sleep_s"],
        # Targets checked side by side (run_checks' jobs); 1: one check at a time.
        "jobs": report["settings"].get("jobs", 1),
    }
    checks = select_checks(None)
    if quick:
        checks = _quick(checks)
    copies = (1, 2, 4)
    loopback = several_targets(checks, copies, latency_s=0.0)
    modelled = several_targets(checks, copies, latency_s=NETWORK_LATENCY_S)
    out["targets_loopback"] = loopback
    out["targets_modelled"] = modelled
    out["four_over_one_loopback"] = loopback.get("4_over_1")
    # The target's figure: partners' services on their own machines, behind a network.
    out["four_over_one"] = modelled.get("4_over_1")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: plumbing only")
    parser.add_argument("--label", default="after", help="what code this run measures")
    parser.add_argument(
        "--out",
        type=Path,
        help="where the JSON goes (default: bench/results/bench.json; with --only, a "
        "temporary file, never over the committed results)",
    )
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="where RESULTS.md goes")
    parser.add_argument("--before", type=Path, help="a JSON of the same bench on older code")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP sections")
    parser.add_argument("--soak", type=int, help="presentations in the soak (default 10,000)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="measure only this section (repeatable; http also runs core); RESULTS.md is "
        "then left alone",
    )
    args = parser.parse_args(argv)
    report = measure(
        quick=args.quick,
        label=args.label,
        with_http=not args.no_http,
        soak=args.soak,
        only=args.only,
    )
    out: Path = args.out or (
        RESULTS if not args.only else Path(tempfile.gettempdir()) / "passerelle-bench-only.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if args.label == "after" and not args.only:
        from ._report import render

        before = json.loads(args.before.read_text()) if args.before else None
        args.markdown.write_text(render(report, before), encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
