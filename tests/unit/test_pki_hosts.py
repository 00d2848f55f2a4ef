"""Which ``--host`` forms ``passerelle init`` accepts: each one it accepts must give a
stack that works (tests/e2e/test_hosts.py runs one), and each one it refuses is refused
before anything is written, with the fix in the message."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from passerelle import PasserelleError, Reason
from passerelle.services.pki import (
    DEFAULT_HOSTS,
    client_id_prefix_for,
    init_pki,
    load_pki,
    verifier_client_id,
)
from passerelle.x509 import san_dns_names, x509_hash
from tests.conftest import NOW

LOOPBACK_IP_HOSTS = {role: f"http://127.0.0.1:{9100 + i}" for i, role in enumerate(DEFAULT_HOSTS)}


@pytest.mark.parametrize(
    ("hosts", "fix"),
    [
        # A path: the well-known documents live at the root of the origin.
        ({"ca-issuer": "http://127.0.0.1:8101/issuer"}, "http://127.0.0.1:8101"),
        # Plain http off this machine: every peer (ours too) refuses it.
        ({"ca-issuer": "http://issuer.example.org:8101"}, "https://issuer.example.org:8101"),
        # An internal address other than loopback: our fetch policy never goes there.
        ({"wallet": "https://10.1.2.3:8443"}, "DNS name"),
        ({"wallet": "https://[fe80::1]:8443"}, "DNS name"),
        # Where a server listens is not where peers reach it.
        ({"trust": "https://0.0.0.0:8100"}, "0.0.0.0"),  # noqa: S104
        # Two roles on one port: the second would never start.
        ({"ca-issuer": "http://127.0.0.1:8100"}, "trust"),
        ({"ca-issuer": "http://localhost:8100"}, "trust"),
        # did:web cannot name an IPv6 address: the issuers and connectors need one.
        ({"ca-dataspace": "http://[::1]:8106"}, "localhost or 127.0.0.1"),
    ],
)
def test_unusable_hosts_are_refused_naming_the_fix(
    tmp_path: Path, hosts: dict[str, str], fix: str
) -> None:
    with pytest.raises(PasserelleError) as exc:
        init_pki(tmp_path, now=NOW, hosts=hosts)
    assert exc.value.reason is Reason.INPUT_MALFORMED
    assert fix in exc.value.detail
    assert not (tmp_path / "pki").exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8104",
        "http://127.0.0.1:8104",
        "http://ca-verifier.localhost:8104",
        "https://127.0.0.1:8104",
        "https://verifier.ca.example",
        "https://verifier.ca.example:8443/",
    ],
)
def test_usable_hosts_are_accepted(tmp_path: Path, url: str) -> None:
    report = init_pki(tmp_path, now=NOW, hosts={"ca-verifier": url})
    assert report.hosts["ca-verifier"] == url.rstrip("/")


def test_a_verifier_on_an_ip_address_identifies_itself_by_x509_hash(tmp_path: Path) -> None:
    report = init_pki(tmp_path, now=NOW, hosts=LOOPBACK_IP_HOSTS)
    pki = load_pki(tmp_path, now=NOW)
    # OpenID4VP 1.0 §5.9.3: "When the Client Identifier Prefix is x509_san_dns, the
    # original Client Identifier ... MUST be a DNS name": 127.0.0.1 is none.
    assert client_id_prefix_for("x509_san_dns", pki.hosts["ca-verifier"]) == "x509_hash"
    client_id = verifier_client_id(
        pki, prefix="x509_san_dns", role="ca-verifier", access_certificate="ca-verifier-access"
    )
    assert client_id == "x509_hash:" + x509_hash(pki.certificate("ca-verifier-access"))
    assert any("ca-verifier" in note and "x509_hash" in note for note in report.notes)


def test_a_verifier_on_a_name_keeps_x509_san_dns(tmp_path: Path) -> None:
    report = init_pki(tmp_path, now=NOW)
    pki = load_pki(tmp_path, now=NOW)
    client_id = verifier_client_id(
        pki, prefix="x509_san_dns", role="ca-verifier", access_certificate="ca-verifier-access"
    )
    assert client_id == "x509_san_dns:localhost"
    assert "localhost" in san_dns_names(pki.certificate("ca-verifier-access"))
    assert report.notes == ()
    # A profile asking for x509_hash keeps it wherever it is.
    assert client_id_prefix_for("x509_hash", "http://localhost:8105") == "x509_hash"


def test_loopback_addresses_are_named_localhost_in_certificates(tmp_path: Path) -> None:
    """The conformance suite signs requests as the EU verifier from http://localhost:
    its access certificate must name localhost even when the verifier sits on 127.0.0.1."""
    init_pki(tmp_path, now=NOW, hosts=LOOPBACK_IP_HOSTS)
    pki = load_pki(tmp_path, now=NOW)
    for leaf, role in (
        ("eu-verifier-access", "eu-verifier"),
        ("ca-verifier-access", "ca-verifier"),
    ):
        assert san_dns_names(pki.certificate(leaf)) == ("localhost", f"{role}.localhost")


def test_tls_certificate_names_every_ip_address_a_role_is_reached_at(tmp_path: Path) -> None:
    public = "9.9.9.9"
    assert ipaddress.ip_address(public).is_global
    init_pki(tmp_path, now=NOW, hosts={"wallet": f"https://{public}:8443"})
    cert = load_pki(tmp_path, now=NOW).certificate("tls-server")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1", public} <= ips
