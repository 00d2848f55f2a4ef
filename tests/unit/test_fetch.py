"""The outbound fetch policy: https only, plain http only to loopback when allowed,
no internal IP literals, bounded size, no redirects followed."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from passerelle import PasserelleError, Reason
from passerelle.services.fetch import (
    Fetcher,
    FetchPolicy,
    numeric_ipv4_host,
    stack_fetch_policy,
    tls_context,
)


def _fetcher(handler, **policy: object) -> Fetcher:  # type: ignore[no-untyped-def]
    return Fetcher(FetchPolicy(**policy), transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "loopback", "reason"),
    [
        ("http://issuer.example/x", True, Reason.FETCH_SCHEME_REFUSED),
        ("https://169.254.169.254/latest/meta-data", False, Reason.FETCH_ADDRESS_REFUSED),
        ("https://10.0.0.1:22/", False, Reason.FETCH_ADDRESS_REFUSED),
        ("https://127.0.0.1/", False, Reason.FETCH_ADDRESS_REFUSED),
        ("https://[::ffff:127.0.0.1]/", False, Reason.FETCH_ADDRESS_REFUSED),
        ("https://100.64.0.1/", False, Reason.FETCH_ADDRESS_REFUSED),
        ("ftp://issuer.example/", True, Reason.FETCH_SCHEME_REFUSED),
    ],
)
def test_refused_targets(url: str, loopback: bool, reason: Reason) -> None:
    fetcher = _fetcher(
        lambda request: httpx.Response(200, json={}), allow_insecure_loopback=loopback
    )
    with pytest.raises(PasserelleError) as err:
        fetcher.request("GET", url)
    assert err.value.reason is reason


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


def test_partner_allow_list() -> None:
    fetcher = _fetcher(
        lambda request: httpx.Response(200, json={}),
        allowed_hosts=frozenset({"issuer.partner.example", ".registry.example"}),
    )
    assert fetcher.get_json("https://issuer.partner.example/x") == {}
    assert fetcher.get_json("https://eu.registry.example/x") == {}
    for url in ("https://other.example/x", "https://registry.example.evil/x"):
        with pytest.raises(PasserelleError) as err:
            fetcher.request("GET", url)
        assert err.value.reason is Reason.FETCH_HOST_NOT_ALLOWED


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("2852039166", "169.254.169.254"),
        ("0x7f.0.0.1.", "127.0.0.1"),
        ("issuer.example", None),
    ],
)
def test_numeric_hosts_read_as_a_resolver_reads_them(host: str, address: str | None) -> None:
    found = numeric_ipv4_host(host)
    assert (None if found is None else str(found)) == address


def test_a_numeric_last_label_that_is_no_address_is_refused() -> None:
    for host in ("1.2.3.4.5", "10.0.0.256", "issuer.123"):
        with pytest.raises(PasserelleError) as err:
            numeric_ipv4_host(host)
        assert err.value.reason is Reason.FETCH_ADDRESS_REFUSED


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on loopback that never accepts: a connection made to it waits in
    its backlog, where a non-blocking accept() finds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _was_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


NUMERIC_LOOPBACK = (
    "2130706433",
    "127.1",
    "0x7f000001",
    "0177.0.0.1",
    "127.0.0.1",
    "[::ffff:127.0.0.1]",
)


@pytest.mark.parametrize("host", NUMERIC_LOOPBACK)
def test_production_policy_never_connects_to_numeric_loopback(
    listener: socket.socket, host: str
) -> None:
    port = listener.getsockname()[1]
    fetcher = Fetcher(FetchPolicy(timeout_seconds=2))
    for scheme in ("https", "http"):
        with pytest.raises(PasserelleError) as err:
            fetcher.request("GET", f"{scheme}://{host}:{port}/")
        assert err.value.reason in (Reason.FETCH_ADDRESS_REFUSED, Reason.FETCH_SCHEME_REFUSED)
    assert not _was_connected(listener)


def test_names_are_checked_on_what_they_resolve_to(listener: socket.socket) -> None:
    """``localhost`` is a name: refused on its address, before any connection."""
    port = listener.getsockname()[1]
    with pytest.raises(PasserelleError) as err:
        Fetcher(FetchPolicy(timeout_seconds=2)).request("GET", f"https://localhost:{port}/")
    assert err.value.reason is Reason.FETCH_ADDRESS_REFUSED
    assert not _was_connected(listener)


def test_the_listener_would_have_seen_a_connection(listener: socket.socket) -> None:
    """The control: the development policy does connect, so silence above means refusal."""
    port = listener.getsockname()[1]
    with pytest.raises(PasserelleError) as err:
        Fetcher(FetchPolicy(allow_loopback=True, timeout_seconds=1)).request(
            "GET", f"https://127.1:{port}/"
        )
    assert err.value.reason is Reason.FETCH_UNREACHABLE  # the listener never answers
    assert _was_connected(listener)


def test_every_resolved_address_is_checked(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name answering with a public and a loopback address is refused as a whole, and
    nothing is contacted (not even the public address: refusal comes first)."""
    port = listener.getsockname()[1]
    answers = [("93.184.216.34", port), ("127.0.0.1", port)]

    def resolve(host: str, p: object, *args: object, **kwargs: object) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in answers]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(PasserelleError) as err:
        Fetcher(FetchPolicy(timeout_seconds=2)).request("GET", f"https://mixed.example:{port}/")
    assert err.value.reason is Reason.FETCH_ADDRESS_REFUSED
    assert not _was_connected(listener)


def test_the_connection_goes_to_the_checked_address(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolved once, connected there: the name is resolved exactly once per connection
    (a second, rebinding answer is never asked for)."""
    port = listener.getsockname()[1]
    calls: list[str] = []

    def resolve(host: str, p: object, *args: object, **kwargs: object) -> list[Any]:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(PasserelleError):
        Fetcher(FetchPolicy(allow_loopback=True, timeout_seconds=1)).request(
            "GET", f"https://rebind.example:{port}/"
        )
    assert calls.count("rebind.example") == 1  # create_connection re-reads only the IP
    assert _was_connected(listener)


def test_a_connect_error_is_a_reason_not_a_port_scan() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(PasserelleError) as err:
        Fetcher(FetchPolicy(allow_loopback=True, timeout_seconds=2)).request(
            "GET", f"https://127.0.0.1:{port}/"
        )
    assert err.value.reason is Reason.FETCH_UNREACHABLE
    assert err.value.wire_error == "temporarily_unavailable"
    assert "refused" not in err.value.detail.lower()
    assert "errno" not in err.value.detail.lower()


def test_the_development_ca_adds_to_the_system_cas(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from passerelle.services.runtime import utc_now
    from tests.pki import make_chain

    root = make_chain(utc_now(), name="Development TLS").root
    path = tmp_path / "ca.pem"
    path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    system = len(ssl.create_default_context().get_ca_certs())
    both = tls_context(FetchPolicy(ca_file=str(path))).get_ca_certs()
    assert len(both) == system + 1


def test_the_stack_policy_development_and_partner() -> None:
    laptop = {"trust": "http://127.0.0.1:8100", "ca-verifier": "http://localhost:8104"}
    dev = stack_fetch_policy(laptop, ca_file="ca.pem", allowed_hosts=["issuer.partner.example"])
    assert dev.allow_insecure_loopback
    assert dev.allow_loopback
    assert dev.allowed_hosts is None  # the laptop stack fetches whatever its tests serve
    deployed = {"trust": "https://trust.example.ca", "ca-verifier": "https://rp.example.ca"}
    partner = stack_fetch_policy(
        deployed, ca_file="ca.pem", allowed_hosts=["issuer.partner.example"]
    )
    assert not partner.allow_loopback
    assert not partner.allow_insecure_loopback
    assert partner.allowed_hosts == frozenset(
        {"issuer.partner.example", "trust.example.ca", "rp.example.ca"}
    )
    assert stack_fetch_policy(deployed, ca_file="ca.pem").allowed_hosts is None
