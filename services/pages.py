"""What every service's pages for people share: one shell and one style (the Jinja2
templates in ``templates/``), QR codes, and the words for values and reason codes.

Autoescape is on for every template. ``None`` and Python containers never reach a
page as reprs: the finalizer turns them into words (``human``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup

from passerelle.explain import Explanation, explain

__all__ = ["answer_of", "explain_reason", "human", "qr_svg", "render"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def human(value: object) -> str:
    """A value as a person reads it: no ``None``, no ``True``, no ``['a']``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(human(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {human(v)}" for k, v in value.items())
    return str(value)


def _finalize(value: object) -> object:
    # Markup (a QR code's SVG) and plain text pass; everything else becomes words.
    if isinstance(value, (str, Markup, int, float)) and not isinstance(value, bool):
        return value
    return human(value)


def qr_svg(data: str) -> Markup:
    """A QR code as inline SVG; segno builds it from ``data`` alone, so it is safe markup."""
    return Markup(segno.make(data, error="m").svg_inline(scale=4))  # noqa: S704


def explain_reason(reason: object) -> Explanation | None:
    return explain(str(reason)) if reason else None


def answer_of(text: object) -> dict[str, str]:
    """The string members of a peer's error envelope (``reason``, ``error``,
    ``error_description``), if the text is one; nothing otherwise."""
    try:
        body = json.loads(str(text))
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in body.items() if isinstance(k, str) and isinstance(v, str)}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        # A member a view lacks renders as nothing (never "None", never a 500).
        undefined=Undefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["qr_svg"] = qr_svg
    env.globals["explain"] = explain_reason
    env.filters["human"] = human
    return env


def render(template: str, **context: Any) -> str:
    """A whole page from ``templates/<template>``, which extends the one shell."""
    return _environment().get_template(template).render(**context)
