"""The ``passerelle`` command as a new user meets it: every command's help reads as
prose with help for every option, and each expected failure is one line with a hint,
never a traceback."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from passerelle.cli import app
from passerelle.cli._demo import _summary
from passerelle.services.scenarios import DATASPACE_SCENARIOS, SCENARIOS

runner = CliRunner()


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    # Typer carries its own copy of click: groups are known by their commands.
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_walk_reaches_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"inspect", "demo", "up", "conformance run", "wallet receive", "trust show"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "top")
def test_help_reads_as_prose(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "<list[" not in result.output
    # No command's summary is cut short with an ellipsis.
    cut = [line for line in result.output.splitlines() if re.search(r"\w\.\.\.$", line)]
    assert cut == [], result.output
    command = dict(COMMANDS)[path]
    for param in command.params:
        assert getattr(param, "help", None), f"{' '.join(path)} {param.name} has no help"
    assert (command.help or "").strip(), f"{' '.join(path)} has no help"


def _one_line_with_hint(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert lines[0].startswith("error: "), output
    assert ";" in lines[0], output  # the message, then the hint
    return lines[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_stack_that_is_not_running(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["wallet", "list", "--url", url, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    line = _one_line_with_hint(result.output)
    assert url in line
    assert "passerelle up" in line


@pytest.mark.parametrize(
    "command",
    [
        ["wallet", "list"],
        ["wallet", "receive", "openid-credential-offer://?x"],
        ["trust", "show"],
        ["trust", "build"],
        ["serve", "trust"],
    ],
    ids=" ".join,
)
def test_a_missing_data_directory(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, [*command, "--data-dir", str(missing)])
    assert result.exit_code == 2
    line = _one_line_with_hint(result.output)
    assert f"passerelle init --data-dir {missing}" in line


def test_trust_show_without_lists_prints_no_empty_table(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--data-dir", str(tmp_path)]).exit_code == 0
    for signed in (tmp_path / "trust").rglob("*.jwt"):
        signed.unlink()
    result = runner.invoke(app, ["trust", "show", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    line = _one_line_with_hint(result.output)
    assert "passerelle trust build" in line


def test_inspect_a_file_that_does_not_exist_is_misuse() -> None:
    result = runner.invoke(app, ["inspect", "/no/such/file"])
    assert result.exit_code == 2
    assert "/no/such/file" in _one_line_with_hint(result.output)


@pytest.mark.parametrize("command", [["demo"], ["conformance", "run", "--quiet"]], ids=" ".join)
def test_a_data_directory_with_no_stack_running_is_said(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    line = _one_line_with_hint(result.output)
    assert f"passerelle up --data-dir {tmp_path}" in line


# --- the demo's story -------------------------------------------------------------------


def test_scenario_titles_carry_no_number() -> None:
    # Numbers come from the order played: a scenario appended anywhere renumbers itself.
    for scenario in (*SCENARIOS, *DATASPACE_SCENARIOS):
        assert not re.match(r"\d", scenario.title), scenario.title


def test_without_a_terminal_the_summary_keeps_every_reason_code_whole() -> None:
    long = "trust.recognition_out_of_scope"
    rows = [
        ("Conformity attestation outside the recognised scope is refused", long, long, True),
        ("A deviation", "accepted", "conformance.attestation_missing", False),
    ]
    out = io.StringIO()
    Console(file=out, width=80, force_terminal=False).print(_summary(rows))
    text = out.getvalue()
    assert long in text
    assert "conformance.attestation_missing (expected accepted)" in text
    assert "…" not in text
    assert re.search(r"│\s+1 │", text)
    assert re.search(r"│\s+2 │", text)


def test_up_on_a_port_another_program_holds(tmp_path: Path) -> None:
    from passerelle.services.launcher import ROLES
    from passerelle.services.scenarios import free_ports, stack_hosts

    hosts = stack_hosts(free_ports(len(ROLES)))
    init = [f"--host={role}={url}" for role, url in hosts.items()]
    assert runner.invoke(app, ["init", "--data-dir", str(tmp_path), *init]).exit_code == 0
    port = int(hosts["trust"].rsplit(":", 1)[1])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = runner.invoke(app, ["up", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    line = _one_line_with_hint(result.output)
    assert f"port {port} (trust) already in use" in line
    assert "passerelle init" in line
    assert not (tmp_path / "stack.json").exists()
