"""The outbound fetch policy: https only, plain http only to loopback when allowed,
no internal IP literals, bounded size, no redirects followed."""

from __future__ import annotations

import httpx
import pytest

from passerelle import PasserelleError, Reason
from passerelle.services.fetch import Fetcher, FetchPolicy


def _fetcher(handler, **policy: object) -> Fetcher:  # type: ignore[no-untyped-def]
    return Fetcher(FetchPolicy(**policy), transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://issuer.example/x", True),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://10.0.0.1:22/", False),
        ("https://127.0.0.1/", False),
        ("ftp://issuer.example/", True),
    ],
)
def test_refused_targets(url: str, loopback: bool) -> None:
    fetcher = _fetcher(
        lambda request: httpx.Response(200, json={}), allow_insecure_loopback=loopback
    )
    with pytest.raises(PasserelleError) as err:
        fetcher.request("GET", url)
    assert err.value.reason is Reason.INPUT_MALFORMED


def test_allowed_targets_and_bounds() -> None:
    fetcher = _fetcher(
        lambda request: httpx.Response(200, json={"ok": True}), allow_insecure_loopback=True
    )
    assert fetcher.get_json("https://issuer.example/metadata") == {"ok": True}
    assert fetcher.get_json("http://127.0.0.1:8101/metadata") == {"ok": True}
    big = _fetcher(lambda request: httpx.Response(200, content=b"x" * 5000), max_bytes=1000)
    with pytest.raises(PasserelleError) as err:
        big.request("GET", "https://issuer.example/big")
    assert err.value.reason is Reason.INPUT_TOO_LARGE


def test_redirects_are_not_followed() -> None:
    fetcher = _fetcher(
        lambda request: httpx.Response(302, headers={"Location": "https://10.0.0.1/"})
    )
    response = fetcher.request("GET", "https://issuer.example/moved")
    assert response.status_code == 302
    with pytest.raises(PasserelleError):
        fetcher.get_json("https://issuer.example/moved")


def test_loopback_over_https_only_when_the_policy_says_so() -> None:
    ok = _fetcher(lambda request: httpx.Response(200, json={}), allow_loopback=True)
    assert ok.get_json("https://127.0.0.1:8101/x") == {}
    with pytest.raises(PasserelleError):
        ok.request("GET", "https://10.1.2.3/")
