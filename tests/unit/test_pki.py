"""The development PKI of ``passerelle init`` (services/pki.py), in a temporary data dir."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import ExtendedKeyUsageOID

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle.jose import jwk_thumbprint, load_public_jwk, public_jwk, sign_jws, verify_jws
from passerelle.sd_jwt_vc import IssuerKeyMethod, IssuerKeyPolicy, resolve_issuer_key_from
from passerelle.services.pki import (
    DEFAULT_HOSTS,
    ENTITY_NAMES,
    EntityKind,
    Pki,
    did_web_identifier,
    init_pki,
    load_pki,
)
from passerelle.x509 import (
    check_x509_san_dns,
    load_certificate_pem,
    san_dns_names,
    verify_certificate_chain,
    verify_x5c_chain,
    x509_hash,
)
from tests.conftest import NOW, SeededRandom

ROOTS = (
    "eu-lote-operator-ca",
    "eu-pid-provider-ca",
    "eu-pubeaa-provider-ca",
    "eu-wrpac-provider-ca",
    "ca-registry-operator-ca",
    "conformance-lab-ca",
    "wallet-provider-ca",
    "tls-ca",
    "eu-pid-iaca",
    "ca-mdl-iaca",
)
LEAVES = {
    "eu-lote-operator": "eu-lote-operator-ca",
    "eu-pid-provider": "eu-pid-provider-ca",
    "eu-pubeaa-provider": "eu-pubeaa-provider-ca",
    "eu-verifier-access": "eu-wrpac-provider-ca",
    "ca-verifier-access": "eu-wrpac-provider-ca",
    "ca-registry-operator": "ca-registry-operator-ca",
    "conformance-lab": "conformance-lab-ca",
    "wallet-provider": "wallet-provider-ca",
    "tls-server": "tls-ca",
    "eu-pid-mdoc-signer": "eu-pid-iaca",
    "ca-mdl-signer": "ca-mdl-iaca",
}
MDOC_SIGNERS = ("eu-pid-mdoc-signer", "ca-mdl-signer")
SIGNING_LEAVES = (
    "eu-lote-operator",
    "eu-pid-provider",
    "eu-pubeaa-provider",
    "ca-registry-operator",
    "conformance-lab",
    "wallet-provider",
)
DID_KEYS = (
    "ca-dataspace-sme",
    "eu-dataspace-sme",
    "ca-dataspace-provider",
    "eu-dataspace-provider",
)
PUBLIC_DOCS = ("did.json", "jwt-vc-issuer.json", "cert.pem", "chain.pem", "hosts.json")


def _snapshot(data_dir: Path) -> dict[Path, bytes]:
    return {p.relative_to(data_dir): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}


def _changed(before: dict[Path, bytes], after: dict[Path, bytes]) -> set[Path]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    init_pki(tmp_path, now=NOW, random=SeededRandom())
    return tmp_path


@pytest.fixture
def pki(data_dir: Path) -> Pki:
    return load_pki(data_dir, now=NOW)


# --- files ------------------------------------------------------------------------------


def test_every_file_is_created_and_keys_are_0600(tmp_path: Path) -> None:
    report = init_pki(tmp_path, now=NOW)
    pki_dir = tmp_path / "pki"
    expected = {Path("pki/hosts.json"), Path("tls/server.pem"), Path("tls/server.key")}
    expected.add(Path("tls/ca.pem"))
    for name in ENTITY_NAMES:
        expected.add(Path("pki", name, "key.jwk"))
    for root in ROOTS:
        expected.add(Path("pki", root, "cert.pem"))
    for leaf in LEAVES:
        expected |= {Path("pki", leaf, "cert.pem"), Path("pki", leaf, "chain.pem")}
    for name in DID_KEYS:
        expected.add(Path("pki", name, "did.json"))
    expected.add(Path("pki/ca-issuer/jwt-vc-issuer.json"))
    assert set(_snapshot(tmp_path)) == expected
    assert set(report.created) == expected
    assert report.replaced == ()
    assert report.changed
    # Roots have no chain; bare keys have no certificate.
    for root in ROOTS:
        assert not (pki_dir / root / "chain.pem").exists()
    assert not (pki_dir / "ca-issuer" / "cert.pem").exists()
    for path in expected:
        private = path.name in ("key.jwk", "server.key")
        assert _mode(tmp_path / path) == (0o600 if private else 0o644), path
    for name in ENTITY_NAMES:
        jwk = json.loads((pki_dir / name / "key.jwk").read_text())
        assert jwk["kty"] == "EC"
        assert jwk["crv"] == "P-256"
        assert "d" in jwk
    assert json.loads((pki_dir / "hosts.json").read_text()) == dict(DEFAULT_HOSTS)
    # No temporary file is left behind by the atomic writes.
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]


def test_a_second_run_changes_nothing(data_dir: Path) -> None:
    before = _snapshot(data_dir)
    report = init_pki(data_dir, now=NOW + timedelta(days=3))
    assert _snapshot(data_dir) == before
    assert report.created == ()
    assert report.replaced == ()
    assert not report.changed
    assert set(report.kept) == set(before)


def test_a_loosened_key_file_is_tightened_again(data_dir: Path) -> None:
    key = data_dir / "pki" / "eu-pid-provider" / "key.jwk"
    key.chmod(0o644)
    before = _snapshot(data_dir)
    init_pki(data_dir, now=NOW)
    assert _mode(key) == 0o600
    assert _snapshot(data_dir) == before


def test_deleting_a_leaf_certificate_regenerates_only_it(data_dir: Path) -> None:
    leaf = data_dir / "pki" / "eu-pid-provider"
    old = load_certificate_pem((leaf / "cert.pem").read_bytes())
    before = _snapshot(data_dir)
    (leaf / "cert.pem").unlink()
    report = init_pki(data_dir, now=NOW)
    after = _snapshot(data_dir)
    # The chain holds the certificate, so it follows; the key stays.
    assert _changed(before, after) == {
        Path("pki/eu-pid-provider/cert.pem"),
        Path("pki/eu-pid-provider/chain.pem"),
    }
    assert report.created == (Path("pki/eu-pid-provider/cert.pem"),)
    assert report.replaced == (Path("pki/eu-pid-provider/chain.pem"),)
    new = load_certificate_pem((leaf / "cert.pem").read_bytes())
    assert new.serial_number != old.serial_number
    assert _spki(new) == _spki(old)
    load_pki(data_dir, now=NOW)


def test_deleting_a_ca_key_reissues_the_ca_and_its_leaves(data_dir: Path) -> None:
    before = _snapshot(data_dir)
    (data_dir / "pki" / "eu-wrpac-provider-ca" / "key.jwk").unlink()
    init_pki(data_dir, now=NOW)
    after = _snapshot(data_dir)
    assert _changed(before, after) == {
        Path("pki/eu-wrpac-provider-ca/key.jwk"),
        Path("pki/eu-wrpac-provider-ca/cert.pem"),
        Path("pki/eu-verifier-access/cert.pem"),
        Path("pki/eu-verifier-access/chain.pem"),
        Path("pki/ca-verifier-access/cert.pem"),
        Path("pki/ca-verifier-access/chain.pem"),
    }
    pki = load_pki(data_dir, now=NOW)
    for leaf in ("eu-verifier-access", "ca-verifier-access"):
        verify_certificate_chain(
            pki.chain(leaf), anchors=[pki.anchor("eu-wrpac-provider-ca")], now=NOW
        )


def test_deleting_a_ca_certificate_reissues_its_leaves_keeping_keys(data_dir: Path) -> None:
    before = _snapshot(data_dir)
    (data_dir / "pki" / "tls-ca" / "cert.pem").unlink()
    init_pki(data_dir, now=NOW)
    assert _changed(before, _snapshot(data_dir)) == {
        Path("pki/tls-ca/cert.pem"),
        Path("pki/tls-server/cert.pem"),
        Path("pki/tls-server/chain.pem"),
        Path("tls/server.pem"),
        Path("tls/ca.pem"),
    }


def test_a_leaf_key_regenerated_brings_a_new_certificate(data_dir: Path) -> None:
    before = _snapshot(data_dir)
    (data_dir / "pki" / "tls-server" / "key.jwk").unlink()
    init_pki(data_dir, now=NOW)
    assert _changed(before, _snapshot(data_dir)) == {
        Path("pki/tls-server/key.jwk"),
        Path("pki/tls-server/cert.pem"),
        Path("pki/tls-server/chain.pem"),
        Path("tls/server.pem"),
        Path("tls/server.key"),
    }


def test_a_missing_document_is_regenerated_identically(data_dir: Path) -> None:
    path = data_dir / "pki" / "eu-dataspace-provider" / "did.json"
    original = path.read_bytes()
    path.unlink()
    report = init_pki(data_dir, now=NOW)
    assert path.read_bytes() == original
    assert report.created == (Path("pki/eu-dataspace-provider/did.json"),)


def test_expired_leaves_are_renewed(data_dir: Path) -> None:
    later = NOW + timedelta(days=400)
    with pytest.raises(PasserelleError) as exc:
        load_pki(data_dir, now=later)
    assert exc.value.reason is Reason.X509_EXPIRED
    before = _snapshot(data_dir)
    init_pki(data_dir, now=later)
    changed = _changed(before, _snapshot(data_dir))
    assert {Path("pki", leaf, "cert.pem") for leaf in LEAVES} <= changed
    assert not any(p.name == "key.jwk" for p in changed)
    assert not any(Path("pki", root, "cert.pem") in changed for root in ROOTS)
    load_pki(data_dir, now=later)


# --- hosts -------------------------------------------------------------------------------


def test_changed_hosts_reissue_what_embeds_them_and_keep_keys(data_dir: Path) -> None:
    before = _snapshot(data_dir)
    hosts = {**DEFAULT_HOSTS, "eu-verifier": "https://verifier.eu.example:8443"}
    report = init_pki(data_dir, now=NOW, hosts=hosts)
    after = _snapshot(data_dir)
    assert _changed(before, after) == {
        Path("pki/hosts.json"),
        Path("pki/eu-verifier-access/cert.pem"),
        Path("pki/eu-verifier-access/chain.pem"),
        Path("pki/tls-server/cert.pem"),
        Path("pki/tls-server/chain.pem"),
        Path("tls/server.pem"),
    }
    assert report.hosts["eu-verifier"] == "https://verifier.eu.example:8443"
    pki = load_pki(data_dir, now=NOW)
    assert "verifier.eu.example" in san_dns_names(pki.certificate("eu-verifier-access"))
    assert "verifier.eu.example" in san_dns_names(pki.certificate("tls-server"))
    # Without hosts, the recorded ones stay in force: nothing changes.
    again = init_pki(data_dir, now=NOW)
    assert not again.changed
    assert _snapshot(data_dir) == after


def test_changed_dataspace_host_rewrites_did_documents_only(data_dir: Path) -> None:
    before = _snapshot(data_dir)
    init_pki(data_dir, now=NOW, hosts={"ca-dataspace": "https://ds.example.ca"})
    changed = _changed(before, _snapshot(data_dir))
    assert Path("pki/ca-dataspace-sme/did.json") in changed
    assert Path("pki/ca-dataspace-provider/did.json") in changed
    assert not any(p.name == "key.jwk" for p in changed)
    assert Path("pki/eu-dataspace-sme/did.json") not in changed
    pki = load_pki(data_dir, now=NOW)
    assert pki.did("ca-dataspace-sme") == "did:web:ds.example.ca:sme"


@pytest.mark.parametrize(
    "hosts",
    [
        {"eu-verifier": "ftp://verifier.example"},
        {"eu-verifier": "https://"},
        {"eu-verifier": "https://verifier.example/?x=1"},
        {"eu-verifier": "https://verifier.example:99999"},
        {"Not A Role": "https://verifier.example"},
    ],
)
def test_bad_hosts_are_refused(tmp_path: Path, hosts: dict[str, str]) -> None:
    with pytest.raises(PasserelleError) as exc:
        init_pki(tmp_path, now=NOW, hosts=hosts)
    assert exc.value.reason is Reason.INPUT_MALFORMED
    assert not (tmp_path / "pki").exists()


def test_naive_now_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PasserelleError) as exc:
        init_pki(tmp_path, now=NOW.replace(tzinfo=None))
    assert exc.value.reason is Reason.INPUT_MALFORMED


# --- certificates ------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", SIGNING_LEAVES)
def test_signing_leaves_verify_to_their_root(pki: Pki, leaf: str) -> None:
    x5c = pki.x5c(leaf)
    root = pki.anchor(LEAVES[leaf])
    assert len(x5c) == 1  # HAIP: the trust anchor is not in x5c
    verified = verify_x5c_chain(x5c, anchors=[root], now=NOW)
    assert verified.anchor == root
    assert verified.leaf == pki.certificate(leaf)
    # The key the signer uses is the certified one.
    token = sign_jws({"typ": "JWT"}, {"hello": "world"}, pki.signer(leaf))
    assert verify_jws(token, key=verified.public_key, algorithms=["ES256"]).payload == {
        "hello": "world"
    }
    # And it does not chain to another root.
    other = pki.anchor("tls-ca")
    with pytest.raises(PasserelleError) as exc:
        verify_x5c_chain(x5c, anchors=[other], now=NOW)
    assert exc.value.reason is Reason.X509_CHAIN_INVALID


def test_validity_periods(pki: Pki) -> None:
    start = NOW - timedelta(days=1)
    for root in ROOTS:
        cert = pki.certificate(root)
        assert cert.not_valid_before_utc == start
        assert cert.not_valid_after_utc == start + timedelta(days=3650)
        assert cert.issuer == cert.subject
    for leaf in LEAVES:
        cert = pki.certificate(leaf)
        assert cert.not_valid_before_utc == start
        assert cert.not_valid_after_utc == start + timedelta(days=365)


def test_subjects_satisfy_the_trust_list_rules(pki: Pki) -> None:
    def attrs(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]

    operator = pki.certificate("eu-lote-operator")
    # ETSI TS 119 602 clause 6.8.0: the LoTE signer's C is the territory, EU.
    assert attrs(operator, x509.NameOID.COUNTRY_NAME) == ["EU"]
    assert attrs(operator, x509.NameOID.ORGANIZATION_NAME) == ["Passerelle EU Trust List Operator"]
    root = pki.certificate("eu-lote-operator-ca")
    assert attrs(root, x509.NameOID.COMMON_NAME) == ["EU Trusted List Operator (Passerelle dev)"]
    assert attrs(root, x509.NameOID.COUNTRY_NAME) == ["BE"]
    registry = pki.certificate("ca-registry-operator-ca")
    assert attrs(registry, x509.NameOID.COMMON_NAME) == ["Canada Trust Registry (Passerelle dev)"]
    assert attrs(registry, x509.NameOID.COUNTRY_NAME) == ["CA"]
    assert attrs(pki.certificate("eu-pid-provider"), x509.NameOID.COMMON_NAME) == [
        "EU PID Provider (Passerelle dev)"
    ]
    assert attrs(pki.certificate("tls-ca"), x509.NameOID.COMMON_NAME) == ["Passerelle local TLS CA"]


def test_pid_leaf_names_the_eu_issuer(pki: Pki) -> None:
    san = pki.certificate("eu-pid-provider").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
        DEFAULT_HOSTS["eu-issuer"]
    ]
    assert "eu-issuer.localhost" in san.value.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize(
    ("leaf", "role"), [("eu-verifier-access", "eu-verifier"), ("ca-verifier-access", "ca-verifier")]
)
def test_access_certificates_carry_the_verifier_hostnames(pki: Pki, leaf: str, role: str) -> None:
    cert = pki.certificate(leaf)
    # Verifiers default to http://localhost:<port>: x509_san_dns:localhost then matches
    # the response_uri host, as OpenID4VP asks, on a machine that resolves no *.localhost.
    assert san_dns_names(cert) == ("localhost", f"{role}.localhost")
    # Usable as x509_san_dns: the chain verifies with the name required.
    verify_certificate_chain(
        pki.chain(leaf),
        anchors=[pki.anchor("eu-wrpac-provider-ca")],
        now=NOW,
        require_dns_name=f"{role}.localhost",
    )
    with pytest.raises(PasserelleError) as exc:
        check_x509_san_dns(cert, "wallet.localhost")
    assert exc.value.reason is Reason.X509_SAN_MISMATCH
    # Usable as x509_hash: the value is over the certificate x5c carries.
    assert x509_hash(cert) == x509_hash(pki.chain(leaf)[0])


def test_access_certificates_follow_custom_hosts(tmp_path: Path) -> None:
    init_pki(tmp_path, now=NOW, hosts={"ca-verifier": "https://verifier.ca.example"})
    cert = load_pki(tmp_path, now=NOW).certificate("ca-verifier-access")
    assert san_dns_names(cert) == ("verifier.ca.example", "ca-verifier.localhost")


def test_tls_server_certificate_and_files(pki: Pki, data_dir: Path) -> None:
    cert = pki.certificate("tls-server")
    names = san_dns_names(cert)
    assert names[0] == "localhost"
    assert {f"{role}.localhost" for role in DEFAULT_HOSTS} <= set(names)
    # No IP literal smuggled in as a dNSName (the builder takes no iPAddress SANs).
    assert "127.0.0.1" not in names
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert load_certificate_pem(pki.tls_certfile.read_bytes()) == cert
    assert load_certificate_pem(pki.tls_ca.read_bytes()) == pki.anchor("tls-ca")
    key = load_pem_private_key(pki.tls_keyfile.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.private_numbers() == pki.private_key("tls-server").private_numbers()
    assert b"BEGIN PRIVATE KEY" in pki.tls_keyfile.read_bytes()  # PKCS#8
    assert _mode(pki.tls_keyfile) == 0o600
    verify_certificate_chain(
        [cert], anchors=[pki.anchor("tls-ca")], now=NOW, require_dns_name="localhost"
    )


# --- documents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("http://127.0.0.1:8106", "did:web:127.0.0.1%3A8106"),
        ("https://w3c-ccg.github.io", "did:web:w3c-ccg.github.io"),
        # The did:web specification's own examples.
        ("https://w3c-ccg.github.io/user/alice", "did:web:w3c-ccg.github.io:user:alice"),
        ("https://example.com:3000/user/alice", "did:web:example.com%3A3000:user:alice"),
        ("https://Example.COM/", "did:web:example.com"),
    ],
)
def test_did_web_identifier(url: str, did: str) -> None:
    assert did_web_identifier(url) == did


@pytest.mark.parametrize(
    ("name", "did"),
    [
        ("ca-dataspace-sme", "did:web:127.0.0.1%3A8106:sme"),
        ("ca-dataspace-provider", "did:web:127.0.0.1%3A8106:provider"),
        ("eu-dataspace-sme", "did:web:127.0.0.1%3A8107:sme"),
        ("eu-dataspace-provider", "did:web:127.0.0.1%3A8107:provider"),
    ],
)
def test_did_documents(pki: Pki, data_dir: Path, name: str, did: str) -> None:
    doc = json.loads((data_dir / "pki" / name / "did.json").read_text())
    assert doc == pki.document(name)
    assert pki.did(name) == did
    assert doc["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/jws-2020/v1",
    ]
    assert doc["id"] == did
    (method,) = doc["verificationMethod"]
    assert method["id"] == f"{did}#key-1"
    assert method["type"] == "JsonWebKey2020"
    assert method["controller"] == did
    assert method["publicKeyJwk"] == public_jwk(pki.private_key(name))
    assert doc["authentication"] == [f"{did}#key-1"]
    assert doc["assertionMethod"] == [f"{did}#key-1"]


def test_did_documents_follow_the_host_and_port(tmp_path: Path) -> None:
    init_pki(tmp_path, now=NOW, hosts={"eu-dataspace": "https://ds.example.eu:9443"})
    pki = load_pki(tmp_path, now=NOW)
    assert pki.did("eu-dataspace-provider") == "did:web:ds.example.eu%3A9443:provider"


def test_jwt_vc_issuer_metadata(tmp_path: Path) -> None:
    issuer = "https://ca-issuer.example"
    init_pki(tmp_path, now=NOW, hosts={"ca-issuer": issuer + "/"})
    pki = load_pki(tmp_path, now=NOW)
    doc = json.loads((tmp_path / "pki" / "ca-issuer" / "jwt-vc-issuer.json").read_text())
    assert doc["issuer"] == issuer  # one spelling, no trailing slash
    (jwk,) = doc["jwks"]["keys"]
    key = pki.private_key("ca-issuer")
    assert jwk == {
        **public_jwk(key),
        "kid": jwk_thumbprint(key.public_key()),
        "use": "sig",
        "alg": "ES256",
    }
    assert pki.jwk("ca-issuer") == jwk
    # The core's key discovery finds the key through this metadata.
    resolved = resolve_issuer_key_from(
        iss=issuer,
        x5c=None,
        kid=jwk["kid"],
        policy=IssuerKeyPolicy(issuer_metadata={issuer: doc}),
        now=NOW,
    )
    assert resolved.method is IssuerKeyMethod.JWT_VC_ISSUER_METADATA
    assert public_jwk(resolved.key) == public_jwk(key)


def _walk_keys(value: JsonValue) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _walk_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _walk_keys(v)}
    return set()


def test_no_private_key_material_in_public_files(data_dir: Path) -> None:
    secrets: list[str] = []
    for name in ENTITY_NAMES:
        jwk = json.loads((data_dir / "pki" / name / "key.jwk").read_text())
        secrets.append(jwk["d"])
    public = [p for p in data_dir.rglob("*") if p.name in PUBLIC_DOCS]
    public += [data_dir / "tls" / "server.pem", data_dir / "tls" / "ca.pem"]
    assert len(public) > 20
    for path in public:
        text = path.read_text()
        assert "PRIVATE KEY" not in text, path
        assert not any(d in text for d in secrets), path
        if path.suffix == ".json":
            assert "d" not in _walk_keys(json.loads(text)), path
            if path.name != "hosts.json":
                for jwk in _jwks(json.loads(text)):
                    load_public_jwk(jwk)  # refuses private members


def _jwks(doc: JsonObject) -> list[JsonObject]:
    """The public JWKs a DID document or issuer metadata publishes (metadata members off)."""
    found: list[JsonObject] = []
    methods = doc.get("verificationMethod")
    for method in methods if isinstance(methods, list) else []:
        jwk = method.get("publicKeyJwk") if isinstance(method, dict) else None
        if isinstance(jwk, dict):
            found.append(jwk)
    jwks = doc.get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for key in keys if isinstance(keys, list) else []:
        if isinstance(key, dict):
            found.append({k: v for k, v in key.items() if k not in ("kid", "use", "alg")})
    assert found
    return found


# --- loading -----------------------------------------------------------------------------


def test_load_gives_typed_accessors(pki: Pki, data_dir: Path) -> None:
    assert set(pki.entities) == set(ENTITY_NAMES)
    assert pki.path("eu-pid-provider") == data_dir / "pki" / "eu-pid-provider"
    assert pki.entities["ca-issuer"].kind is EntityKind.KEY
    assert pki.anchor("eu-pid-provider") == pki.certificate("eu-pid-provider-ca")
    assert set(pki.certificates) == set(ROOTS) | set(LEAVES)
    assert pki.hosts == DEFAULT_HOSTS
    assert pki.signer("eu-pid-provider").alg == "ES256"
    assert pki.jwk("eu-pid-provider")["kid"] == jwk_thumbprint(
        pki.private_key("eu-pid-provider").public_key()
    )


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("certificate", "ca-issuer"),
        ("x5c", "eu-pid-provider-ca"),
        ("chain", "ca-dataspace-sme"),
        ("document", "eu-pid-provider"),
        ("signer", "no-such-entity"),
    ],
)
def test_accessors_refuse_the_wrong_kind(pki: Pki, call: str, name: str) -> None:
    with pytest.raises(PasserelleError) as exc:
        getattr(pki, call)(name)
    assert exc.value.reason is Reason.INPUT_MALFORMED


def test_load_refuses_a_leaf_that_does_not_chain_to_its_ca(data_dir: Path) -> None:
    # Swap in another root (key and certificate both): the PID leaf no longer chains.
    pki_dir = data_dir / "pki"
    for filename in ("key.jwk", "cert.pem"):
        source = (pki_dir / "eu-pubeaa-provider-ca" / filename).read_bytes()
        (pki_dir / "eu-pid-provider-ca" / filename).write_bytes(source)
    with pytest.raises(PasserelleError) as exc:
        load_pki(data_dir, now=NOW)
    assert exc.value.reason is Reason.X509_CHAIN_INVALID
    # init repairs it by re-issuing the leaf under the root now in place.
    init_pki(data_dir, now=NOW)
    load_pki(data_dir, now=NOW)


def test_load_refuses_a_certificate_for_another_key(data_dir: Path) -> None:
    pki_dir = data_dir / "pki"
    other = (pki_dir / "eu-pubeaa-provider" / "key.jwk").read_bytes()
    (pki_dir / "eu-pid-provider" / "key.jwk").write_bytes(other)
    with pytest.raises(PasserelleError) as exc:
        load_pki(data_dir, now=NOW)
    assert exc.value.reason is Reason.X509_MALFORMED


def test_load_refuses_a_document_for_another_key(data_dir: Path) -> None:
    pki_dir = data_dir / "pki"
    other = (pki_dir / "eu-dataspace-sme" / "did.json").read_bytes()
    (pki_dir / "ca-dataspace-sme" / "did.json").write_bytes(other)
    with pytest.raises(PasserelleError) as exc:
        load_pki(data_dir, now=NOW)
    assert exc.value.reason is Reason.JWK_INVALID


def test_load_refuses_a_missing_file(data_dir: Path) -> None:
    (data_dir / "pki" / "ca-registry-operator" / "chain.pem").unlink()
    with pytest.raises(PasserelleError) as exc:
        load_pki(data_dir, now=NOW)
    assert exc.value.reason is Reason.INPUT_MALFORMED


def test_load_refuses_an_uninitialised_directory(tmp_path: Path) -> None:
    with pytest.raises(PasserelleError) as exc:
        load_pki(tmp_path, now=NOW)
    assert exc.value.reason is Reason.INPUT_MALFORMED


def test_init_refuses_to_overwrite_an_unreadable_key(data_dir: Path) -> None:
    path = data_dir / "pki" / "eu-lote-operator" / "key.jwk"
    path.write_text('{"kty": "EC"}')
    with pytest.raises(PasserelleError) as exc:
        init_pki(data_dir, now=NOW)
    assert exc.value.reason is Reason.JWK_INVALID
    assert path.read_text() == '{"kty": "EC"}'


def test_init_refuses_an_unreadable_certificate(data_dir: Path) -> None:
    (data_dir / "pki" / "eu-lote-operator-ca" / "cert.pem").write_text("not a certificate")
    with pytest.raises(PasserelleError) as exc:
        init_pki(data_dir, now=NOW)
    assert exc.value.reason is Reason.X509_MALFORMED


# --- with the trust-list builder ---------------------------------------------------------


def test_the_operators_can_sign_the_trust_lists(pki: Pki, tmp_path: Path) -> None:
    from passerelle.services.trust.build import OperatorKey, build_trust_lists

    sources = Path(__file__).parents[2] / "trust_lists"
    result = build_trust_lists(
        sources=sources,
        data_dir=tmp_path,
        certificates=pki.certificates,
        eu_operator=OperatorKey(
            signer=pki.signer("eu-lote-operator"), x5c=pki.x5c("eu-lote-operator")
        ),
        ca_operator=OperatorKey(
            signer=pki.signer("ca-registry-operator"), x5c=pki.x5c("ca-registry-operator")
        ),
        substitutions={},
        now=NOW,
    )
    assert set(result.lists) == {
        "pid-providers",
        "pubeaa-providers",
        "wrpac-providers",
        "wallet-providers",
    }
    assert result.registry.is_file()


def test_tls_certificate_names_loopback_by_ip(tmp_path: Path) -> None:
    import ipaddress

    from cryptography import x509 as cx509

    init_pki(tmp_path, now=NOW)
    cert = load_pki(tmp_path, now=NOW).certificate("tls-server")
    san = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(cx509.IPAddress)
