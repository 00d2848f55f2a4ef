"""``passerelle conformance run|list|requirements|verify``: the judge, from the command line.

Exit status of ``run``: 0 when no required check failed or errored unexpectedly (and
every expected failure still failed); 1 otherwise; 2 when the targets or
expected-failures file cannot be used.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from ._options import OptionalDataDir, default_data_dir, what_to_do

__all__ = ["conformance_app"]

conformance_app = typer.Typer(
    help="Run the conformance suite against the local stack or a partner's targets.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
console = Console()

_MARKS = {
    "passed": "[green]✔ passed[/green]",
    "failed": "[red]✘ failed[/red]",
    "warning": "[yellow]! warning[/yellow]",
    "skipped": "[dim]· skipped[/dim]",
    "error": "[magenta]⚠ error[/magenta]",
}


def _expected_failures(path: Path) -> frozenset[str]:
    """A YAML list of check ids (``ID`` or ``ID@subject``), or one id per line (``#``
    comments allowed)."""
    text = path.read_text()
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        document = None
    if isinstance(document, list):
        return frozenset(str(item) for item in document)
    if isinstance(document, dict) and isinstance(document.get("expected_failures"), list):
        return frozenset(str(item) for item in document["expected_failures"])
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(line for line in lines if line)


def _assignments(items: list[str], option: str) -> dict[str, str]:
    from passerelle.conformance import TargetsError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise TargetsError(f"{option} {item!r}: NAME=VALUE expected")
        out[name] = value
    return out


def _with_static(loaded: Any, role: str, key: str, items: list[str]) -> Any:
    """One-shot inputs from the command line: ``TARGET=URL``, or ``URL`` when the file
    has one target of the role."""
    from dataclasses import replace

    from passerelle.conformance import TargetsError

    if not items:
        return loaded
    targets = dict(loaded.targets)
    candidates = [t.name for t in targets.values() if t.role == role]
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in targets or "://" in name:
            if len(candidates) != 1:
                raise TargetsError(
                    f"--{key.replace('_', '-')} {item[:40]!r}: name the {role} target "
                    f"(TARGET=URL); the file has {candidates or 'none'}"
                )
            name, value = candidates[0], item
        target = targets[name]
        if target.role != role:
            raise TargetsError(f"--{key.replace('_', '-')}: {name} is not a {role} target")
        targets[name] = replace(target, settings={**target.settings, key: value})
    return replace(loaded, targets=targets)


@contextlib.contextmanager
def _local_targets(data_dir: Path | None, say: Callable[[str], None]) -> Iterator[object]:
    """The stack ``passerelle up`` runs (on ``data_dir``, or the default data directory),
    else a fresh one for this run."""
    from passerelle.conformance._local import local_targets, start_local_stack_process

    from ._stack import find_stack

    found = find_stack(data_dir, say)
    if found is not None:
        urls, directory = found
        yield local_targets(urls, directory.resolve())
        return
    with tempfile.TemporaryDirectory(prefix="passerelle-conformance-") as scratch:
        stack, targets = start_local_stack_process(Path(scratch))
        try:
            yield targets
        finally:
            stack.stop()


def _say(quiet: bool) -> Callable[[str], None]:
    def say(line: str) -> None:
        if not quiet:
            console.print(line, highlight=False, soft_wrap=True)

    return say


class _Progress:
    """A bar over the checks with a live count per status; only what needs a look
    (failures, errors, warnings, unexpected results) is printed as a line."""

    def __init__(self, total: int, *, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.quiet = quiet
        self.counts = dict.fromkeys(_MARKS, 0)
        self.seen: set[str] = set()
        self.bar = Progress(
            TextColumn("checks"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
            disable=quiet,
        )
        self.task = self.bar.add_task(self._tally(), total=total)

    def _tally(self) -> str:
        return "  ".join(f"{_MARKS[k]} {n}" for k, n in self.counts.items())

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def show(self, result: Any) -> None:
        status = result.status.value
        self.counts[status] += 1
        self.seen.add(result.check.id)
        self.bar.update(self.task, completed=len(self.seen), description=self._tally())
        if self.quiet or (status in ("passed", "skipped") and not result.unexpected):
            return
        note = f" — {result.message}" if result.message else ""
        if result.expected_failure:
            note += " [dim](expected failure)[/dim]"
        self.bar.console.print(
            f"{_MARKS[status]} {result.check.id} [dim]{result.subject}[/dim]{note}",
            highlight=False,
        )


@conformance_app.command("run")
def run(
    targets: Annotated[
        Path | None, typer.Option(help="Targets file (YAML); default: the local stack.")
    ] = None,
    plan: Annotated[
        list[str] | None, typer.Option(metavar="PLAN", help="Run only this plan; repeatable.")
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option(metavar="ID", help="Run only this check id; repeatable."),
    ] = None,
    report: Annotated[Path, typer.Option(help="Directory for report.json and report.html.")] = Path(
        "reports/conformance"
    ),
    junit: Annotated[
        Path | None, typer.Option(help="JUnit XML file (default: REPORT/junit.xml).")
    ] = None,
    expected_failures: Annotated[
        Path | None, typer.Option(help="Check ids expected to fail (YAML list or lines).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE",
            help="NAME=VALUE for ${NAME} in the targets file; repeatable.",
        ),
    ] = None,
    offer: Annotated[
        list[str] | None,
        typer.Option(
            metavar="[TARGET=]URL",
            help="A one-shot credential offer ([TARGET=]URL: an offer link, a "
            "credential_offer_uri or the JSON) for an issuer target; repeatable.",
        ),
    ] = None,
    request_url: Annotated[
        list[str] | None,
        typer.Option(
            metavar="[TARGET=]URL",
            help="A one-shot presentation request URL ([TARGET=]URL) for a verifier; repeatable.",
        ),
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive",
            help="Serve a local page: wallet checks show QR codes for a device, a person "
            "answers what only a screen shows, issuers without an adapter take pasted offers.",
        ),
    ] = False,
    interactive_port: Annotated[
        int, typer.Option(help="Port of the interactive page (0: a free one).")
    ] = 0,
    interactive_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a device or a person, per step.")
    ] = 600.0,
    data_dir: OptionalDataDir = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the summary: the counts and the report's path."
        ),
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Targets checked side by side; each target's checks stay in order "
            "(--interactive runs one at a time).",
        ),
    ] = 1,
) -> None:
    """Run the plans and write JSON, JUnit and HTML reports.

    Without --targets the suite tests the stack `passerelle up` runs (on --data-dir, or
    the default data directory), else a fresh stack of its own. A bar counts the checks
    by status; failures, errors and warnings are printed as they come."""
    from dataclasses import replace

    from passerelle.conformance import TargetsError, load_targets, run_checks, select_checks
    from passerelle.conformance.reports import write_html, write_json, write_junit

    try:
        checks = select_checks(plan, check)
        extra = _expected_failures(expected_failures) if expected_failures else frozenset()
    except (ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with contextlib.ExitStack() as scope:
        try:
            if targets is not None:
                loaded = load_targets(
                    targets.read_text(),
                    source=str(targets),
                    substitutions=_assignments(set_ or [], "--set"),
                    base_dir=targets.resolve().parent,
                )
            else:
                loaded = scope.enter_context(  # type: ignore[assignment]
                    _local_targets(data_dir, _say(quiet))
                )
            loaded = _with_static(loaded, "issuer", "offer", offer or [])
            loaded = _with_static(loaded, "verifier", "request_url", request_url or [])
        except (TargetsError, OSError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        loaded = replace(loaded, expected_failures=loaded.expected_failures | extra)
        console_page = None
        if interactive:
            from passerelle.conformance._interactive import Console

            console_page = scope.enter_context(
                Console(port=interactive_port, timeout=interactive_timeout)
            )
            loaded = replace(loaded, suite=replace(loaded.suite, console=console_page))
            # Plain output: a test or a person reads this line to open the page.
            typer.echo(f"interactive page: {console_page.url}", err=False)

        watch = scope.enter_context(_Progress(len(checks), quiet=quiet))

        def progress(result: object) -> None:
            from passerelle.conformance import Result

            assert isinstance(result, Result)
            watch.show(result)
            if console_page is not None:
                console_page.show_result(
                    {
                        "check": result.check.id,
                        "subject": result.subject,
                        "status": result.status.value,
                        "reviewed_by_person": result.evidence.get("reviewed_by_person") is True,
                    }
                )

        # A person follows an interactive run step by step: one check at a time.
        lanes = 1 if interactive else jobs
        outcome = run_checks(loaded, checks, progress=progress, jobs=lanes)
        laboratory = _laboratory(loaded)  # read while a scratch stack's PKI still exists
        if console_page is not None:
            console_page.finish(outcome.counts(), linger=10.0)
    report.mkdir(parents=True, exist_ok=True)
    write_json(outcome, report / "report.json")
    write_html(outcome, report / "report.html")
    write_junit(outcome, junit or report / "junit.xml")
    _attest(outcome, report, laboratory, quiet=quiet)
    counts = outcome.counts()
    console.print(
        ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "warning", "skipped", "error"))
        + f"; {counts['unexpected']} unexpected",
        highlight=False,
    )
    console.print(f"HTML report: {report / 'report.html'}", highlight=False, soft_wrap=True)
    raise typer.Exit(0 if outcome.ok else 1)


@conformance_app.command("list", short_help="Every plan and check, with its requirement.")
def list_checks(
    plan: Annotated[
        list[str] | None, typer.Option(metavar="PLAN", help="Only this plan; repeatable.")
    ] = None,
) -> None:
    """Every plan and check: id, severity, title, the requirement it enforces."""
    from passerelle.conformance import PLANS, select_checks

    checks = select_checks(plan)
    for name, meta in PLANS.items():
        mine = [c for c in checks if c.plan == name]
        if not mine:
            continue
        table = Table(title=f"plan {name} — {meta.description}", title_justify="left")
        for column in ("id", "severity", "title", "requirement"):
            table.add_column(column)
        for c in mine:
            table.add_row(c.id, c.severity.value, c.title, c.requirement.key)
        console.print(table)
    console.print(f"{len(checks)} checks")


@conformance_app.command("requirements", short_help="The requirement matrix.")
def requirements(
    output: Annotated[
        Path | None, typer.Option(help="Write the Markdown here instead of printing it.")
    ] = None,
) -> None:
    """The requirement matrix: each requirement and the checks that enforce it, and the
    requirements not yet covered (this is docs/requirements.md)."""
    from passerelle.conformance import select_checks
    from passerelle.conformance.requirements import requirements_markdown

    text = requirements_markdown(select_checks())
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"written {output}")


# --- results as credentials ---------------------------------------------------------------


def _laboratory(loaded: object) -> object | None:
    """The suite's PKI (it signs the attestations), or None when it has none."""
    from passerelle import PasserelleError
    from passerelle.conformance import Targets
    from passerelle.services.pki import load_pki

    assert isinstance(loaded, Targets)
    if loaded.suite.pki_dir is None:
        return None
    try:
        return load_pki(Path(loaded.suite.pki_dir))
    except PasserelleError as exc:
        console.print(f"[yellow]no attestations:[/yellow] the suite PKI: {exc.detail}")
        return None


def _attest(outcome: object, report: Path, laboratory: object | None, *, quiet: bool) -> None:
    from datetime import UTC, datetime

    from passerelle import PasserelleError
    from passerelle.conformance._runner import Run
    from passerelle.conformance.attestations import write_attestations
    from passerelle.services.pki import Pki

    assert isinstance(outcome, Run)
    if not isinstance(laboratory, Pki):
        if not quiet:
            console.print("[yellow]no attestations:[/yellow] the targets file names no suite PKI")
        return
    try:
        written = write_attestations(outcome, report, pki=laboratory, now=datetime.now(UTC))
    except PasserelleError as exc:
        if not quiet:
            console.print(f"[yellow]no attestations:[/yellow] {exc.reason}: {exc.detail}")
        return
    if not quiet:
        console.print(f"{len(written)} conformance attestations in {report / 'attestations'}")


@conformance_app.command("verify", short_help="Check a conformance attestation.")
def verify(
    attestation: Annotated[
        Path, typer.Argument(metavar="FILE", help="An attestations/<target>.jwt file.")
    ],
    report: Annotated[
        Path | None, typer.Option(help="The report.json it summarises: its digest must match.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="The target identifier it must be about.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="The trust lists to check it against (default: the local data dir)."
        ),
    ] = None,
    accept_person_reviewed: Annotated[
        bool,
        typer.Option(
            "--accept-person-reviewed",
            help="Accept verdicts a person gave in an interactive run (refused by default).",
        ),
    ] = False,
) -> None:
    """Check a conformance attestation against the trust lists, and its report.

    Exit status: 0 when it verifies, 1 when it is refused (the reason code is printed),
    2 when the files cannot be read."""
    from datetime import UTC, datetime

    from passerelle import PasserelleError
    from passerelle.conformance.attestations import trust_snapshot_from_files
    from passerelle.conformity import verify_conformance_attestation

    now = datetime.now(UTC)
    try:
        token = attestation.read_text().strip()
        report_bytes = report.read_bytes() if report is not None else None
        trust = trust_snapshot_from_files((data_dir or default_data_dir()).resolve(), now=now)
    except OSError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except PasserelleError as exc:
        console.print(
            f"[red]error:[/red] the trust lists: {exc.reason}: {exc.detail}; "
            f"{what_to_do(exc.reason)}",
            highlight=False,
        )
        raise typer.Exit(2) from exc
    try:
        verified = verify_conformance_attestation(
            token,
            trust=trust,
            now=now,
            report=report_bytes,
            subject=subject,
            accept_person_reviewed=accept_person_reviewed,
        )
    except PasserelleError as exc:
        console.print(f"[red]refused[/red] {exc.reason}: {exc.detail}", highlight=False)
        console.print(f"  {what_to_do(exc.reason)}", highlight=False, markup=False)
        raise typer.Exit(1) from exc
    summary = verified.summary
    verdict = "conformant" if summary.conformant else f"{len(summary.unexpected)} unexpected"
    console.print(
        f"[green]verified[/green] {summary.name} ({summary.subject}): {verdict}; "
        f"plans {', '.join(summary.plans)}; signed by {verified.signer}"
        + ("; report digest matches" if report is not None else ""),
        highlight=False,
    )
