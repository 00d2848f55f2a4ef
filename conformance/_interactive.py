"""Interactive mode: a local page through which a person runs the checks that need a device.

A real mobile wallet or a commercial issuer has no test API. With
``passerelle conformance run --interactive`` the suite serves a page (on loopback by
default) that shows, for each wallet check, the suite's request or offer as a QR code
and a link, and waits for the device. What the suite can observe decides by itself: a
presentation (or an error response) reaching the suite's ``response_uri`` completes the
step without anyone clicking. What only a person can see — a wallet that shows an
error screen and sends nothing, a wallet that stored a credential — is answered on the
page, and the report marks that result as reviewed by a person. Issuer checks that
have neither an adapter nor a one-shot offer ask for an offer: pasted into the page, or
sent to ``POST {console}/offers`` (JSON ``{"offer", "tx_code"}``, or the offer itself).

The page polls ``GET /state``; answers are ``POST /prompts/{id}``. Everything is in
memory for the length of the run.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import segno

from ._model import CheckError, CheckFailed, CheckSkipped, ErrorClass

if TYPE_CHECKING:
    from ._context import CheckContext, Target

__all__ = [
    "Answer",
    "Console",
    "ask_wallet",
    "interactive_offer",
    "is_interactive",
    "receive_interactively",
    "wallet_backchannel",
]

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
                self._send(200, _page(), "text/html; charset=utf-8")
            elif self.path == "/state":
                self._json(200, console.state())
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            fields = self._fields()
            if self.path.startswith("/prompts/"):
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


# --- the hooks the plans call ----------------------------------------------------------------


def is_interactive(ctx: CheckContext) -> bool:
    return ctx.suite.console is not None


def _console(ctx: CheckContext) -> Console:
    console = ctx.suite.console
    assert console is not None
    return console


def wallet_backchannel(ctx: CheckContext) -> str:
    """The wallet's test API; none is needed in interactive mode, where a person holds
    the device."""
    if is_interactive(ctx):
        return str(ctx.target.get("backchannel") or "").rstrip("/")
    return str(ctx.target.require("backchannel")).rstrip("/")


def _person(ctx: CheckContext, answer: Answer, said: str) -> None:
    if answer.by_person:
        ctx.record(reviewed_by_person=True, person_said=said)


def ask_wallet(ctx: CheckContext, backchannel: str, pending: Any) -> dict[str, Any]:
    """The wallet's decision on ``pending`` (a request of the suite's verifier): from its
    backchannel, or in interactive mode from the device — a presentation or an error
    response reaching the suite decides by itself; a refusal only the screen shows is a
    person's answer."""
    if not is_interactive(ctx):
        response = ctx.http.post(
            f"{backchannel}/presentations", json={"request": pending.link, "consent": "minimal"}
        )
        if response.status_code >= 500:
            raise CheckError(
                ErrorClass.UNPARSEABLE,
                f"the wallet's backchannel failed on the request: HTTP {response.status_code}",
            )
        return ctx.json_object(response, "the wallet's backchannel (presentations)")

    def observed() -> str | None:
        for arrival in list(pending.arrivals):
            if arrival.carries_presentation:
                return "presented"
            if arrival.is_error_response:
                return "refused"
        return None

    answer = _console(ctx).ask(
        check=ctx.check_id,
        subject=ctx.target.name,
        text="Scan this request with the wallet (or open the link on the device), and "
        "follow what the wallet asks. If the wallet refuses it, say so below.",
        link=pending.link,
        choices=(
            ("refused", "The wallet refused: it showed an error and sent nothing"),
            ("presented", "The wallet says it sent the presentation"),
        ),
        observed=observed,
    )
    _person(ctx, answer, answer.value)
    return {
        "accepted": answer.value == "presented",
        "stage": "person" if answer.by_person else "observed",
        "reviewed_by_person": answer.by_person,
    }


def receive_interactively(
    ctx: CheckContext, issuer: Target, configuration: str, link: str, tx_code: str | None
) -> dict[str, Any]:
    """Hand the device an offer; the person says whether the wallet stored the credential.
    What the wallet holds is read from the issuer's metadata (format, type, claims)."""
    from ._holder import discover

    text = "Scan this credential offer with the wallet and accept the credential."
    if tx_code:
        text += f" Transaction code: {tx_code}"
    answer = _console(ctx).ask(
        check=ctx.check_id,
        subject=ctx.target.name,
        text=text,
        link=link,
        choices=(
            ("accepted", "The wallet stored the credential"),
            ("refused", "The wallet refused or failed"),
        ),
    )
    _person(ctx, answer, answer.value)
    if answer.value != "accepted":
        raise CheckFailed(f"the person reports that the wallet did not accept {configuration}")
    config = discover(ctx, issuer).configuration(configuration)
    described = (config.get("credential_metadata") or {}).get("claims") or config.get("claims")
    claims = []
    for entry in described if isinstance(described, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(path, list) and path and isinstance(path[0], str):
            claims.append(path[0])
    return {
        "credential_id": f"interactive:{configuration}",
        "format": str(config.get("format")),
        "vct": str(config.get("vct") or configuration),
        "claims": tuple(dict.fromkeys(claims)),
    }


def interactive_offer(ctx: CheckContext, issuer: Target, configuration_ids: Sequence[str]) -> Any:
    """An offer a person pastes into the page or sends to the suite, for an issuer with
    no adapter."""
    if not is_interactive(ctx):
        return None
    answer = _console(ctx).ask(
        check=ctx.check_id,
        subject=issuer.name,
        text=f"Make a pre-authorized offer of {', '.join(configuration_ids)} in "
        f"{issuer.name}, then paste it here or POST it to {_console(ctx).url}offers",
        accepts_offer=True,
        choices=(("skip", "This issuer cannot make that offer"),),
    )
    if answer.offer is None:
        raise CheckSkipped(f"the person had no offer of {list(configuration_ids)} to give")
    return answer
