"""Every page for people, clicked through in Debian's headless Chromium: issuance from
the issuer's offer page into the development wallet; consent showing the verifier's
organisation, the values and an optional claim left out; a refusal that reads as a
sentence with a way back; the verifier's page following the answer without a reload;
and ``/docs`` rendering with every request outside the stack refused. Screenshots are
kept under reports/artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from passerelle.conformance._local import start_local_stack
from tests.browser.test_cross_border_in_browser import ARTIFACTS, _chromium

PID = "urn:eudi:pid:1"


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    stack, _ = start_local_stack(tmp_path_factory.mktemp("pages-stack"))
    try:
        yield stack.urls
    finally:
        stack.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"pages-{name}.png"), full_page=True)


def _no_repr(page: Any) -> None:
    text = page.locator("body").inner_text()
    for leak in ("None", "['", "{'", "True", "False"):
        assert leak not in text, (leak, text)


def _receive_pid(page: Any, urls: dict[str, str], persona: str) -> None:
    """Issuance as a person does it: the issuer's offer page, its button to the
    development wallet, the transaction code typed in, Accept."""
    from playwright.sync_api import expect

    page.goto(urls["eu-issuer"] + "/")
    card = page.locator(".card", has_text="eu-pid-sd-jwt").first
    card.locator("input[name=tx_code]").check()
    card.locator(f"button[value={persona}]").click()
    expect(page.locator("#grant")).to_contain_text("pre-authorized code")
    expect(page.locator("#redeemed")).to_have_text("Redeemed: not yet.")
    expect(page.locator(".claims.preview")).to_contain_text("Family name")
    expect(page.locator("#qr-explained")).to_be_visible()
    _no_repr(page)
    _shot(page, f"issuer-offer-{persona}")
    offer_page = page.url
    tx_code = page.locator("#tx-code").inner_text().strip()
    page.click("#open-in-wallet")
    assert page.url.startswith(urls["wallet"])
    assert page.input_value("#offer").startswith("openid-credential-offer://")
    page.fill("#tx-code", tx_code)
    page.click("#accept")
    expect(page.locator("#received li.passed")).to_contain_text("EU Person Identification Data")
    _shot(page, f"wallet-received-{persona}")
    page.goto(offer_page)
    expect(page.locator("#redeemed")).to_contain_text("Redeemed: yes")


def _transaction(urls: dict[str, str], query: dict[str, Any]) -> dict[str, Any]:
    made = httpx.post(f"{urls['ca-verifier']}/transactions", json={"dcql_query": query}, timeout=60)
    made.raise_for_status()
    return made.json()  # type: ignore[no-any-return]


def _pid_query(*, optional_given_name: bool) -> dict[str, Any]:
    claims: list[dict[str, Any]] = [
        {"id": "f", "path": ["family_name"]},
        {"id": "g", "path": ["given_name"]},
    ]
    query: dict[str, Any] = {
        "id": "pid",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": claims,
    }
    if optional_given_name:
        query["claim_sets"] = [["f", "g"], ["f"]]
    return {"credentials": [query]}


def test_issuance_consent_and_a_live_verifier_page(urls: dict[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    _receive_pid(page, urls, "bjoern-mueller")

    # The wallet lists it with display names and values; no cnf, no vct.
    page.goto(urls["wallet"] + "/")
    credential = page.locator(".credential").first
    expect(credential).to_contain_text("Müller")
    expect(credential).to_contain_text("Family name")
    expect(credential).not_to_contain_text("cnf")
    expect(credential).not_to_contain_text("vct")
    _no_repr(page)
    _shot(page, "wallet-credentials")

    # The verifier's page says what is asked before any wallet answers.
    made = _transaction(urls, _pid_query(optional_given_name=True))
    verifier = browser.new_page(viewport={"width": 1100, "height": 900})
    verifier.goto(made["page"])
    expect(verifier.locator("#status")).to_have_text("Waiting for a wallet")
    expect(verifier.locator("#asked")).to_contain_text("Family name")
    expect(verifier.locator("#asked")).to_contain_text("EU Person Identification Data")
    _no_repr(verifier)
    _shot(verifier, "verifier-waiting")
    # A mark that a reload would wipe out.
    verifier.evaluate("window.__notReloaded = true")

    # Consent: the organisation of the access certificate, verified; the values; the
    # optional given name as a toggle, left out.
    page.goto(urls["wallet"] + "/")
    page.fill("#request", made["request_url"])
    page.click("#review")
    expect(page.locator("#verifier")).to_have_text("Passerelle Canadian Verifier")
    expect(page.locator("#verified")).to_be_visible()
    expect(page.locator("#plan")).to_contain_text("Müller")
    toggle = page.locator("tr.optional input[type=checkbox]").first
    expect(page.locator("tr.optional").first).to_contain_text("Given name")
    expect(toggle).to_be_checked()
    toggle.uncheck()
    _no_repr(page)
    _shot(page, "wallet-consent")
    page.click("#approve")
    expect(page.locator("#outcome")).to_have_text("accepted by the verifier")
    _shot(page, "wallet-sent")

    # The verifier's page followed the answer on its own, without a reload.
    expect(verifier.locator("#decision")).to_have_text("accepted", timeout=30_000)
    assert verifier.evaluate("window.__notReloaded === true")
    expect(verifier.locator("#status")).to_have_text("Accepted")
    expect(verifier.locator("table.original")).to_contain_text("Müller")
    expect(verifier.locator("table.original")).not_to_contain_text("Björn")
    expect(verifier.locator("table.mapped")).to_be_visible()
    _no_repr(verifier)
    _shot(verifier, "verifier-decided")


def test_a_refused_presentation_reads_as_a_sentence_with_a_way_back(
    urls: dict[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    made = _transaction(urls, _pid_query(optional_given_name=False))
    verifier = browser.new_page(viewport={"width": 1100, "height": 900})
    verifier.goto(made["page"])
    verifier.evaluate("window.__notReloaded = true")

    page.goto(urls["wallet"] + "/")
    page.fill("#request", made["request_url"])
    page.click("#review")
    page.click("#decline")
    expect(page.locator("#outcome")).to_contain_text("not accepted")
    expect(page.locator(".refusal .sentence")).to_have_text("You declined to share the credential.")
    expect(page.locator(".refusal .hint")).to_contain_text("What you can do")
    _no_repr(page)
    _shot(page, "wallet-refused")

    # Opening the same request again: the verifier's own answer, in words.
    page.goto(urls["wallet"] + "/")
    page.fill("#request", made["request_url"])
    page.click("#review")
    expect(page.locator("#refused .reason")).to_have_text("oid4vp.session_transition_invalid")
    expect(page.locator("#refused .sentence")).to_contain_text("already answered")
    _shot(page, "wallet-request-refused")
    page.click("#back")
    assert urlsplit(page.url).path == "/"
    expect(page.locator("#request")).to_be_visible()

    expect(verifier.locator("#decision")).to_have_text("refused", timeout=30_000)
    assert verifier.evaluate("window.__notReloaded === true")
    expect(verifier.locator("#status")).to_have_text("Refused")
    expect(verifier.locator("#why .hint")).to_contain_text("What you can do")
    _no_repr(verifier)
    _shot(verifier, "verifier-refused")


def test_docs_render_offline(urls: dict[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    stack_hosts = {urlsplit(u).netloc for u in urls.values()}
    outside: list[str] = []

    def only_the_stack(route: Any) -> None:
        if urlsplit(route.request.url).netloc in stack_hosts:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_stack)
    page.goto(urls["ca-verifier"] + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Passerelle verifier")
    expect(page.locator(".opblock").first).to_be_visible()
    _shot(page, "docs-offline")
    assert outside == []


def test_mock_login_and_unknown_pages(urls: dict[str, str], browser: Any) -> None:
    """The issuer's mock login (authorization code flow, RFC 9126 PAR first) and the
    pages for an offer or a request that no longer exists."""
    import base64
    import hashlib
    import secrets

    from playwright.sync_api import expect

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    par = httpx.post(
        f"{urls['ca-issuer']}/par",
        data={
            "response_type": "code",
            "client_id": "test-wallet",
            "redirect_uri": "http://127.0.0.1/cb",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "scope": "ca-person-sd-jwt",
            "state": "s1",
        },
        timeout=60,
    )
    assert par.status_code == 201, par.text
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    redirected: list[str] = []

    def callback(route: Any) -> None:
        redirected.append(route.request.url)
        route.fulfill(status=200, body="back at the wallet")

    page.route("http://127.0.0.1/cb**", callback)
    page.goto(
        f"{urls['ca-issuer']}/authorize?"
        + str(httpx.QueryParams(client_id="test-wallet", request_uri=par.json()["request_uri"]))
    )
    buttons = page.locator("button[name=persona]")
    assert buttons.count() >= 1
    _no_repr(page)
    _shot(page, "issuer-login")
    buttons.first.click()
    expect(page.locator("body")).to_have_text("back at the wallet")
    assert "code=" in redirected[0]
    assert "state=s1" in redirected[0]

    for url in (
        f"{urls['ca-issuer']}/offers/gone/page",
        f"{urls['ca-verifier']}/transactions/gone/page",
    ):
        page.goto(url)
        expect(page.locator("#message")).to_contain_text(
            "Make a new one" if "offers" in url else "Open a new one"
        )
        _no_repr(page)
    _shot(page, "verifier-unknown")
    page.click("#back")
    expect(page.locator("button[id^=ask-]").first).to_be_visible()
