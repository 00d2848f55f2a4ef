"""What an adapter description reads into: plain data, importing nothing of the suite.

Apart from :mod:`._adapters` (which reads and runs them, and needs the check context)
so that the check context can name the adapter of a target without importing back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Adapter", "Call", "Extract"]


@dataclass(frozen=True, slots=True)
class Extract:
    """Where one value sits in an answer: a JSON Pointer, a template of pointers, or a
    pointer whose value is looked up in ``accepted`` / ``refused`` lists."""

    pointer: str | None = None
    template: str | None = None
    quote: bool = False
    accepted: tuple[Any, ...] = ()
    refused: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    form: bool = False
    """Send the body as ``application/x-www-form-urlencoded`` rather than JSON."""
    extract: Mapping[str, Extract] = field(default_factory=dict)
    ok: tuple[int, ...] = (200, 201)


@dataclass(frozen=True, slots=True)
class Adapter:
    offer: Call | None = None
    request: Call | None = None
    result: Call | None = None
