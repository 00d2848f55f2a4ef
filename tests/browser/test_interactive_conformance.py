"""``passerelle conformance run --interactive`` driven in headless Chromium.

The test is the person in front of the page and our wallet is the device: the page
shows the wallet check's offer and then its request as QR codes with links; the wallet
is pointed at each link (as scanning would); the person confirms what only the wallet's
screen shows (the credential was stored); the presentation reaching the suite completes
the next step by itself; and the results arrive on the page and in the report, the
first marked as reviewed by a person.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from passerelle.conformance._local import start_local_stack
from passerelle.conformance.targets import local_targets_text

TIMEOUT_MS = 180_000


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    data = tmp_path_factory.mktemp("interactive-stack")
    running, _ = start_local_stack(data)
    try:
        yield running.urls, data
    finally:
        running.stop()


def _targets_file(urls: dict[str, str], data: Path, path: Path) -> Path:
    text = local_targets_text()
    for name, value in {**urls, "data_dir": str(data)}.items():
        text = text.replace("${" + name + "}", value)
    path.write_text(text)
    return path


def test_a_wallet_check_is_run_through_the_interactive_page(
    stack: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = _chromium()
    urls, data = stack
    targets = _targets_file(urls, data, tmp_path / "targets.yaml")
    report = tmp_path / "report"
    log = tmp_path / "run.log"
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from passerelle.cli import main; main()",
            "conformance",
            "run",
            "--targets",
            str(targets),
            "--plan",
            "wallet",
            "--check",
            "WAL-01",
            "--check",
            "WAL-02",
            "--interactive",
            "--interactive-timeout",
            "300",
            "--report",
            str(report),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        page_url = None
        while page_url is None and run.poll() is None:
            found = re.search(r"interactive page: (\S+)", log.read_text())
            page_url = found.group(1) if found else None
            time.sleep(0.2)
        assert page_url, "the run never announced its interactive page"
        wallet = urls["wallet"].rstrip("/")
        with sync_playwright() as p, httpx.Client(timeout=60) as device:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(page_url)

            offer = page.locator('article.prompt[data-check="WAL-01"]')
            expect(offer).to_be_visible(timeout=TIMEOUT_MS)
            expect(offer.locator(".qr svg")).to_be_visible()
            link = offer.locator(".link a").get_attribute("href")
            assert link
            assert link.startswith(("openid-credential-offer://", "haip-vci://"))
            pin = re.search(r"Transaction code: (\d+)", offer.locator(".text").inner_text())
            # Our wallet scans the offer.
            taken = device.post(
                f"{wallet}/api/offers", json={"offer": link, "tx_code": pin and pin.group(1)}
            )
            assert taken.status_code == 200, taken.text
            assert all(o.get("accepted") for o in taken.json()["outcomes"])
            # What only the wallet's screen shows: the person answers.
            offer.get_by_role("button", name="The wallet stored the credential").click()

            request = page.locator('article.prompt[data-check="WAL-02"]')
            expect(request).to_be_visible(timeout=TIMEOUT_MS)
            expect(request.locator(".qr svg")).to_be_visible()
            link = request.locator(".link a").get_attribute("href")
            assert link
            # Our wallet scans the request and answers it; nobody clicks: the presentation
            # reaching the suite completes the step.
            answered = device.post(
                f"{wallet}/api/presentations", json={"request": link, "consent": "minimal"}
            )
            assert answered.status_code == 200, answered.text
            assert answered.json().get("accepted") is True, answered.text

            result = page.locator('#results li[data-check="WAL-02"]')
            try:
                expect(result).to_have_attribute("data-status", "passed", timeout=TIMEOUT_MS)
            except AssertionError as exc:
                raise AssertionError(
                    f"the run ({run.poll()}) said: {log.read_text()}; wallet {answered.text}"
                ) from exc
            first = page.locator('#results li[data-check="WAL-01"]')
            expect(first.locator(".person")).to_have_text("reviewed by a person")
            expect(page.locator("#finished")).to_have_attribute("data-unexpected", "0")
            browser.close()
        assert run.wait(timeout=300) == 0
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(timeout=30)
    results = {
        r["check_id"]: r for r in json.loads((report / "report.json").read_text())["results"]
    }
    assert results["WAL-02"]["status"] == "passed"
    assert results["WAL-02"]["reviewed_by_person"] is False
    assert results["WAL-01"]["status"] == "passed"
    assert results["WAL-01"]["reviewed_by_person"] is True
