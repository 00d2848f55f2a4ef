"""What every service's pages for people share: one shell, one style, QR codes, and
the rendering of a decision trace. Every value is escaped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

import segno

__all__ = ["page", "qr_svg", "trace_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem} h2{font-size:1.1rem} code,pre{background:#f3f3f3;padding:.1rem .3rem;
word-break:break-all;white-space:pre-wrap}
.card{border:1px solid #ddd;border-radius:.5rem;padding:1rem;margin:1rem 0}
button{padding:.4rem .9rem;margin:.2rem} .tx{font-size:1.6rem;letter-spacing:.3rem}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}
.passed{color:#11631b} .failed{color:#a40e0e} .skipped{color:#666}
input[type=text]{width:100%;padding:.3rem;box-sizing:border-box} a{word-break:break-all}
"""


def page(title: str, body: str, *, refresh_seconds: int | None = None) -> str:
    """A whole page. ``refresh_seconds`` reloads it (live status) without any script."""
    refresh = (
        f"<meta http-equiv='refresh' content='{int(refresh_seconds)}'>" if refresh_seconds else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"{refresh}<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def qr_svg(data: str) -> str:
    return segno.make(data, error="m").svg_inline(scale=4)


_MARK = {"passed": "✔", "failed": "✘", "skipped": "·"}


def trace_html(result: Mapping[str, Any]) -> str:
    """A verifier's decision, step by step, per credential: what people read to learn
    *why* a presentation was accepted or refused."""
    if not result:
        return ""
    verdict = "accepted" if result.get("accepted") else f"refused: {result.get('reason')}"
    parts = [f"<p>Decision: <b id='decision'>{escape(str(verdict))}</b></p>"]
    for query_id, decisions in (result.get("credentials") or {}).items():
        for decision in decisions or ():
            rows = "".join(
                f"<tr class='{escape(str(step.get('outcome')))}'>"
                f"<td>{_MARK.get(str(step.get('outcome')), '?')} "
                f"{escape(str(step.get('step')))}</td>"
                f"<td>{escape(str(step.get('detail', '')))}</td>"
                + (
                    f"<td><code>{escape(str(step['reason']))}</code></td>"
                    if step.get("reason")
                    else "<td></td>"
                )
                + "</tr>"
                for step in decision.get("steps", ())
            )
            parts.append(
                f"<h2>{escape(str(query_id))}</h2><table class='trace'>"
                f"<tr><th>step</th><th>detail</th><th>reason</th></tr>{rows}</table>"
            )
    mapped = result.get("mapped")
    if result.get("accepted") and mapped:
        parts.append(
            "<h2>Claims, in this verifier's vocabulary</h2>"
            f"<pre>{escape(json.dumps(mapped, indent=1, ensure_ascii=False))}</pre>"
        )
    return "".join(parts)
