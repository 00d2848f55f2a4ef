"""Options that several commands share, and the one way a command reports an expected
failure: one line on stderr with a hint, never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from passerelle.explain import explain

__all__ = [
    "DataDir",
    "OptionalDataDir",
    "default_data_dir",
    "fail",
    "missing_data_dir",
    "require_data_dir",
    "what_to_do",
]


def default_data_dir() -> Path:
    return Path(os.environ.get("PASSERELLE_DATA_DIR", ".passerelle"))


DATA_DIR_HELP = (
    "Where the development PKI, signed lists and service data live "
    "(default: $PASSERELLE_DATA_DIR or ./.passerelle)."
)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help=DATA_DIR_HELP,
        default_factory=default_data_dir,
    ),
]

OptionalDataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Use the stack `passerelle up --data-dir DIR` runs (refused when none runs "
        "there). Default: the stack running on $PASSERELLE_DATA_DIR or ./.passerelle, "
        "else a fresh one on free loopback ports.",
    ),
]


def fail(message: str, *, hint: str | None = None, code: int = 2) -> typer.Exit:
    """Print ``error: message (hint)`` as one line on stderr; return the exit to raise.

    Exit 2 is the command's misuse or a missing precondition (no data directory, no
    running stack); 1 is reserved for "the thing checked was refused"."""
    line = f"error: {message}" + (f"; {hint}" if hint else "")
    sys.stderr.write(" ".join(line.split()) + "\n")
    return typer.Exit(code)


def what_to_do(reason: object) -> str:
    """The line the command prints under a refusal: passerelle.explain's hint for
    ``reason``, the words the pages show too."""
    return f"what you can do: {explain(str(reason)).hint}"


def missing_data_dir(data_dir: Path) -> typer.Exit:
    return fail(
        f"no development PKI in {data_dir}",
        hint=f"run `passerelle init --data-dir {data_dir}` first",
    )


def require_data_dir(data_dir: Path) -> None:
    """Exit with a hint unless ``passerelle init`` has run on ``data_dir``."""
    from passerelle.services.pki import pki_dir

    if not pki_dir(data_dir).is_dir():
        raise missing_data_dir(data_dir)
