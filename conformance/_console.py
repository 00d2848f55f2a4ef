"""The interactive mode's page: a small HTTP server in the suite's process that shows
each prompt (a QR code, a link, choices) and blocks the running check until a person
or what the suite observes answers it. The hooks the plans call are in
:mod:`._interactive`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import segno

from ._outcomes import CheckError, ErrorClass

__all__ = ["DEFAULT_TIMEOUT_S", "Answer", "Console"]

DEFAULT_TIMEOUT_S = 600.0
_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Answer:
    value: str
    by_person: bool
    """False when what the suite observed completed the step."""
    offer: str | None = None
    tx_code: str | None = None


@dataclass(slots=True)
class _Prompt:
    id: str
    check: str
    subject: str
    text: str
    link: str | None
    choices: tuple[tuple[str, str], ...]
    accepts_offer: bool
    answer: Answer | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "subject": self.subject,
            "text": self.text,
            "link": self.link,
            "qr": _qr_svg(self.link) if self.link else None,
            "choices": [{"value": v, "label": label} for v, label in self.choices],
            "accepts_offer": self.accepts_offer,
        }


def _qr_svg(data: str) -> str:
    return str(segno.make(data, error="m").svg_inline(scale=3, border=2))


@dataclass(slots=True)
class _State:
    prompts: dict[str, _Prompt] = field(default_factory=dict)
    offers: list[tuple[str, str | None]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    finished: dict[str, Any] | None = None


class Console:
    """The page and its small API; ``ask`` blocks the running check until answered."""

    def __init__(
        self, *, bind: str = "127.0.0.1", port: int = 0, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.timeout = timeout
        self._state = _State()
        self.token = secrets.token_urlsafe(24)
        """Put in the page it serves and required on every answer: another page open in
        the same browser cannot answer a prompt in the person's name (it cannot read the
        page, and a cross-origin request with this header needs a preflight we refuse)."""
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer((bind, port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._final_seen = threading.Event()

    def __enter__(self) -> Console:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{'localhost' if name in ('127.0.0.1', '::1') else name}:{port}/"

    # --- what checks call ------------------------------------------------------------------

    def ask(
        self,
        *,
        check: str,
        subject: str,
        text: str,
        link: str | None = None,
        choices: Sequence[tuple[str, str]] = (),
        accepts_offer: bool = False,
        observed: Callable[[], str | None] | None = None,
    ) -> Answer:
        """Show a prompt and wait: for what the suite ``observed`` (a value), for a
        person's answer, or — with ``accepts_offer`` — for an offer."""
        prompt = _Prompt(
            id=str(next(self._ids)),
            check=check,
            subject=subject,
            text=text,
            link=link,
            choices=tuple(choices),
            accepts_offer=accepts_offer,
        )
        deadline = time.monotonic() + self.timeout
        with self._changed:
            self._state.prompts[prompt.id] = prompt
            self._changed.notify_all()
            try:
                while True:
                    if accepts_offer and prompt.answer is None and self._state.offers:
                        offer, pin = self._state.offers.pop(0)
                        prompt.answer = Answer("offer", by_person=True, offer=offer, tx_code=pin)
                    if prompt.answer is not None:
                        return prompt.answer
                    seen = observed() if observed is not None else None
                    if seen is not None:
                        return Answer(seen, by_person=False)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise CheckError(
                            ErrorClass.TIMEOUT,
                            f"interactive: nobody answered within {self.timeout:.0f} s",
                        )
                    self._changed.wait(min(left, _POLL_S))
            finally:
                self._state.prompts.pop(prompt.id, None)
                self._changed.notify_all()

    def show_result(self, summary: dict[str, Any]) -> None:
        with self._changed:
            self._state.results.append(summary)
            self._changed.notify_all()

    def finish(self, summary: dict[str, Any], *, linger: float) -> None:
        """Show the run's end, and keep the page up until it has shown it (at most
        ``linger`` seconds): the last result must not vanish with the server."""
        with self._changed:
            self._state.finished = summary
            self._changed.notify_all()
        self._final_seen.wait(linger)

    # --- what the page calls ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self._changed:
            state = {
                "prompts": [p.public() for p in self._state.prompts.values()],
                "results": list(self._state.results),
                "finished": self._state.finished,
            }
            if self._state.finished is not None:
                self._final_seen.set()
            return state

    def answer(self, prompt_id: str, fields: dict[str, str]) -> bool:
        with self._changed:
            prompt = self._state.prompts.get(prompt_id)
            if prompt is None or prompt.answer is not None:
                return False
            value = fields.get("answer", "")
            offer = (fields.get("offer") or "").strip() or None
            if prompt.accepts_offer and offer is not None:
                value = "offer"
            elif value not in {v for v, _ in prompt.choices}:
                return False
            prompt.answer = Answer(
                value, by_person=True, offer=offer, tx_code=(fields.get("tx_code") or None)
            )
            self._changed.notify_all()
            return True

    def receive_offer(self, offer: str, tx_code: str | None) -> None:
        with self._changed:
            self._state.offers.append((offer, tx_code))
            self._changed.notify_all()


# --- HTTP ----------------------------------------------------------------------------------


def _handler(console: Console) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the run's own output is the log

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value), "application/json")

        def _fields(self) -> dict[str, str]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in self.headers.get("Content-Type", ""):
                try:
                    value = json.loads(raw)
                except ValueError:
                    return {}
                if isinstance(value, dict):
                    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
                return {}
            if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
                return dict(parse_qsl(raw, keep_blank_values=True))
            return {"offer": raw}

        def do_GET(self) -> None:
            if self.path == "/":
                page = _page().replace("__CONSOLE_TOKEN__", console.token)
                self._send(200, page, "text/html; charset=utf-8")
            elif self.path == "/state":
                self._json(200, console.state())
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            fields = self._fields()
            if self.path.startswith("/prompts/"):
                if not secrets.compare_digest(
                    self.headers.get("X-Console-Token", ""), console.token
                ):
                    self._json(403, {"error": "access_denied", "detail": "no console token"})
                    return
                done = console.answer(self.path.removeprefix("/prompts/"), fields)
                self._json(200 if done else 409, {"accepted": done})
            elif self.path == "/offers":
                offer = (fields.get("offer") or "").strip()
                if not offer:
                    self._json(400, {"error": "invalid_request", "detail": "no offer"})
                    return
                console.receive_offer(offer, fields.get("tx_code") or None)
                self._json(202, {"queued": True})
            else:
                self._json(404, {"error": "not_found"})

    return Handler


def _page() -> str:
    return resources.files(__package__).joinpath("interactive.html").read_text()
