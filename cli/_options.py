"""Options that several commands share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DataDir", "default_data_dir"]


def default_data_dir() -> Path:
    return Path(os.environ.get("PASSERELLE_DATA_DIR", ".passerelle"))


DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="Where the development PKI, signed lists and service data live "
        "(default: $PASSERELLE_DATA_DIR or ./.passerelle).",
        default_factory=default_data_dir,
    ),
]
