"""Scenario 2 of DESIGN §2 clicked through in headless Chromium, as a person would: the
Canadian issuer's page makes an offer, the wallet page accepts it, the EU verifier's page
asks for PID-equivalent claims, the wallet page shows what would be disclosed and sends
it, and the verifier's page shows the decision trace. Screenshots of every step are kept
under reports/artifacts/browser/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from passerelle.conformance._local import start_local_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "artifacts" / "browser"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    stack, _ = start_local_stack(tmp_path_factory.mktemp("browser-stack"))
    try:
        yield stack.urls
    finally:
        stack.stop()


def test_canadian_person_credential_to_the_eu_verifier_clicked_through(
    urls: dict[str, str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})

            def shot(name: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

            # The Canadian issuer: an offer of a person credential, with a transaction code.
            page.goto(urls["ca-issuer"] + "/")
            card = page.locator(".card", has_text="ca-person-sd-jwt").first
            card.locator("input[name=tx_code]").check()
            card.locator("button[value=eloise-tremblay-gagnon]").click()
            expect(page.locator("#tx-code")).to_be_visible()
            assert page.locator("svg").count() >= 1  # the QR code
            shot("1-issuer-offer")
            offer = page.locator("#offer-openid-credential-offer").get_attribute("href")
            tx_code = page.locator("#tx-code").inner_text().strip()
            assert offer is not None
            assert offer.startswith("openid-credential-offer://")

            # The wallet accepts it.
            page.goto(urls["wallet"] + "/")
            page.fill("#offer", offer)
            page.fill("#tx-code", tx_code)
            page.click("#accept")
            expect(page.locator("#received li.passed")).to_contain_text("accepted")
            shot("2-wallet-received")

            # The EU verifier (HAIP) asks for PID-equivalent claims.
            page.goto(urls["eu-verifier"] + "/")
            page.click("#ask-pid-equivalent")
            expect(page.locator("#status")).to_have_text("Waiting for a wallet")
            shot("3-verifier-request")
            transaction_page = page.url
            request = page.locator("#request-link").get_attribute("href")
            assert request is not None
            assert request.startswith("haip-vp://")

            # The wallet shows exactly what would be disclosed, and the person approves.
            page.goto(urls["wallet"] + "/")
            page.fill("#request", request)
            page.click("#review")
            expect(page.locator("#plan")).to_contain_text("Person credential")
            shot("4-wallet-consent")
            page.click("#approve")
            expect(page.locator("#outcome")).to_have_text("accepted by the verifier")
            shot("5-wallet-sent")

            # The verifier's page: the decision and its trust trace, step by step.
            page.goto(transaction_page)
            expect(page.locator("#decision")).to_have_text("accepted")
            steps = page.locator("table.trace tr.passed")
            assert steps.count() >= 5
            expect(page.locator("table.trace")).to_contain_text("recognition")
            shot("6-verifier-decision")
        finally:
            browser.close()
