"""The interactive page's API: prompts, a person's answers, offers sent to the suite."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from passerelle.conformance import CheckContext, CheckError, ErrorClass, Suite, load_targets
from passerelle.conformance._adapters import make_offer
from passerelle.conformance._context import RecordingHttp
from passerelle.conformance._interactive import Answer, Console

OFFER = {
    "credential_issuer": "https://issuer.example",
    "credential_configuration_ids": ["pid"],
    "grants": {
        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c"}
    },
}


@pytest.fixture
def console() -> Iterator[Console]:
    with Console(timeout=30) as page:
        yield page


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except Exception as exc:  # handed to the test thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _wait_for_prompt(console: Console) -> dict[str, Any]:
    with httpx.Client() as client:
        for _ in range(300):
            prompts = client.get(f"{console.url}state").json()["prompts"]
            if prompts:
                return prompts[0]  # type: ignore[no-any-return]
            threading.Event().wait(0.05)
    raise AssertionError("no prompt appeared")


def test_a_persons_answer_is_returned_and_marked(console: Console) -> None:
    thread, out = _in_thread(
        lambda: console.ask(
            check="WAL-09",
            subject="wallet",
            text="t",
            link="openid4vp://?request_uri=x",
            choices=(("refused", "refused"), ("presented", "sent")),
        )
    )
    prompt = _wait_for_prompt(console)
    assert prompt["check"] == "WAL-09"
    assert prompt["qr"].startswith("<svg")
    url = f"{console.url}prompts/{prompt['id']}"
    # Without the token only the console's own page knows, nobody answers for the person.
    forged = httpx.post(url, json={"answer": "refused"})
    assert forged.status_code == 403
    assert f'"X-Console-Token": "{console.token}"' in httpx.get(console.url).text
    token = {"X-Console-Token": console.token}
    wrong = httpx.post(url, json={"answer": "maybe"}, headers=token)
    assert wrong.status_code == 409
    right = httpx.post(url, json={"answer": "refused"}, headers=token)
    assert right.status_code == 200
    thread.join(10)
    assert out["value"] == Answer("refused", by_person=True)
    # Answered once: a second answer is refused.
    again = httpx.post(url, json={"answer": "refused"}, headers=token)
    assert again.status_code == 409


def test_what_the_suite_observes_completes_a_step_without_a_person(console: Console) -> None:
    seen: list[str] = []
    thread, out = _in_thread(
        lambda: console.ask(
            check="WAL-02",
            subject="wallet",
            text="t",
            choices=(("refused", "refused"),),
            observed=lambda: seen[0] if seen else None,
        )
    )
    _wait_for_prompt(console)
    seen.append("presented")
    thread.join(10)
    assert out["value"] == Answer("presented", by_person=False)


def test_nobody_answering_is_a_timeout_error_not_a_verdict() -> None:
    with Console(timeout=0.3) as page, pytest.raises(CheckError) as caught:
        page.ask(check="WAL-02", subject="wallet", text="t", choices=(("a", "a"),))
    assert caught.value.error_class is ErrorClass.TIMEOUT


def test_an_issuer_without_adapter_takes_an_offer_sent_to_the_suite(console: Console) -> None:
    targets = load_targets(
        "targets:\n  commercial:\n    role: issuer\n    url: https://issuer.example\n"
    )
    target = targets.targets["commercial"]
    ctx = CheckContext(
        target=target,
        targets=targets.targets,
        suite=Suite(console=console),
        http=RecordingHttp(timeout=5, transport=httpx.MockTransport(lambda r: httpx.Response(500))),
        shared_state={},
        check_id="ISS-OFFER-01",
    )
    thread, out = _in_thread(lambda: make_offer(ctx, target, ["pid"], "ada"))
    prompt = _wait_for_prompt(console)
    assert prompt["accepts_offer"] is True
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(OFFER), safe="")
    sent = httpx.post(f"{console.url}offers", json={"offer": link, "tx_code": "123456"})
    assert sent.status_code == 202
    thread.join(10)
    assert "error" not in out, out
    assert out["value"].raw == OFFER
    assert out["value"].tx_code == "123456"
    assert ctx.evidence["reviewed_by_person"] is True
    empty = httpx.post(f"{console.url}offers", json={"offer": ""})
    assert empty.status_code == 400
