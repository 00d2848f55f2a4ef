"""passerelle.x509: building the development PKI, x5c validation, OpenID4VP client ids."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from passerelle import Fault, JsonValue, PasserelleError, Reason
from passerelle.jose import PrivateKey
from passerelle.x509 import (
    LeafUsage,
    TrustAnchors,
    VerifiedChain,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    certificate_to_der,
    certificate_to_pem,
    check_x509_hash,
    check_x509_san_dns,
    decode_unverified_x5c,
    draw_serial_number,
    encode_x5c,
    load_certificate_der,
    load_certificate_pem,
    san_dns_names,
    verify_certificate_chain,
    verify_haip_x5c,
    verify_x5c_chain,
    x509_hash,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

KeyMaker = Callable[[], PrivateKey]


def p256() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def p384() -> PrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def ed() -> PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


_serials = iter(range(1000, 10**6))


def serial() -> int:
    return next(_serials)


@dataclass
class Pki:
    root_key: PrivateKey
    root: x509.Certificate
    inter_key: PrivateKey
    inter: x509.Certificate
    leaf_key: PrivateKey
    leaf: x509.Certificate

    @property
    def x5c(self) -> list[str]:
        return encode_x5c([self.leaf, self.inter])


def make_root(key: PrivateKey, *, cn: str = "Test Root", **times: datetime) -> x509.Certificate:
    return build_ca_certificate(
        subject=build_name(common_name=cn, organization="Passerelle", country="CA"),
        key=key,
        not_before=times.get("not_before", NOW - 365 * DAY),
        not_after=times.get("not_after", NOW + 3650 * DAY),
        serial=serial(),
        path_length=1,
    )


def make_inter(
    key: PrivateKey, root: x509.Certificate, root_key: PrivateKey, **times: datetime
) -> x509.Certificate:
    return build_ca_certificate(
        subject=build_name(common_name="Test Issuing CA", organization="Passerelle"),
        key=key,
        issuer_cert=root,
        issuer_key=root_key,
        not_before=times.get("not_before", NOW - 30 * DAY),
        not_after=times.get("not_after", NOW + 365 * DAY),
        serial=serial(),
        path_length=0,
    )


def make_leaf(
    key: PrivateKey,
    inter: x509.Certificate,
    inter_key: PrivateKey,
    *,
    usage: LeafUsage = LeafUsage.SIGNING,
    dns_names: Sequence[str] = (),
    **times: datetime,
) -> x509.Certificate:
    return build_leaf_certificate(
        subject=build_name(common_name="Test Credential Signer"),
        public_key=key.public_key(),
        issuer_cert=inter,
        issuer_key=inter_key,
        not_before=times.get("not_before", NOW - DAY),
        not_after=times.get("not_after", NOW + 90 * DAY),
        serial=serial(),
        usage=usage,
        dns_names=dns_names,
    )


def make_pki(
    ca_keys: KeyMaker = p256, leaf_keys: KeyMaker | None = None, **leaf_opts: object
) -> Pki:
    root_key, inter_key = ca_keys(), ca_keys()
    leaf_key = (leaf_keys or ca_keys)()
    root = make_root(root_key)
    inter = make_inter(inter_key, root, root_key)
    leaf = make_leaf(leaf_key, inter, inter_key, **leaf_opts)  # type: ignore[arg-type]
    return Pki(root_key, root, inter_key, inter, leaf_key, leaf)


def raw_cert(
    *,
    subject: str,
    issuer: x509.Certificate | None,
    issuer_key: PrivateKey,
    public_key: object,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
    not_before: datetime = NOW - DAY,
    not_after: datetime = NOW + 30 * DAY,
) -> x509.Certificate:
    """A certificate outside the builder's profiles, for the negative cases."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def key_usage(**flags: bool) -> x509.KeyUsage:
    names = _KEY_USAGE_FLAGS
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def reason_of(call: Callable[[], object]) -> Reason:
    with pytest.raises(PasserelleError) as info:
        call()
    return info.value.reason


def verify(pki: Pki, x5c: list[str] | None = None, **kwargs: object) -> VerifiedChain:
    options: dict[str, object] = {"anchors": [pki.root], "now": NOW, **kwargs}
    return verify_x5c_chain(pki.x5c if x5c is None else x5c, **options)  # type: ignore[arg-type]


# --- happy paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ca_keys", "leaf_keys"),
    [(p256, p256), (p384, p384), (p256, p384), (p256, ed), (p384, ed)],
    ids=["P-256", "P-384", "P-256 CA, P-384 leaf", "P-256 CA, Ed25519 leaf", "P-384 CA, Ed25519"],
)
def test_root_intermediate_leaf_verifies(ca_keys: KeyMaker, leaf_keys: KeyMaker) -> None:
    pki = make_pki(ca_keys, leaf_keys)
    verified = verify(pki)
    assert verified.leaf == pki.leaf
    assert verified.chain == (pki.leaf, pki.inter, pki.root)
    assert verified.anchor == pki.root
    assert certificate_to_der(verified.leaf) == certificate_to_der(pki.leaf)
    assert type(verified.public_key) is type(pki.leaf_key.public_key())
    assert verified.public_key == pki.leaf_key.public_key()


def test_ed25519_signed_certificates_are_refused_by_the_library() -> None:
    # Documented limit: cryptography's verifier has the Web-PKI algorithm set, which
    # has no Ed25519 signatures. If this starts passing, the limit can go.
    pki = make_pki(ed)
    assert reason_of(lambda: verify(pki)) is Reason.X509_CHAIN_INVALID


def test_signing_leaf_needs_no_san_and_no_eku() -> None:
    pki = make_pki()
    ext_oids = {ext.oid for ext in pki.leaf.extensions}
    assert x509.SubjectAlternativeName.oid not in ext_oids
    assert x509.ExtendedKeyUsage.oid not in ext_oids
    assert verify(pki).leaf == pki.leaf


def test_tls_server_leaf_verifies_as_a_signer_too() -> None:
    pki = make_pki(usage=LeafUsage.TLS_SERVER, dns_names=["issuer.localhost"])
    assert verify(pki, require_dns_name="issuer.localhost").leaf == pki.leaf


def test_root_in_x5c_and_any_intermediate_order_are_accepted() -> None:
    pki = make_pki()
    x5c = encode_x5c([pki.leaf, pki.root, pki.inter])
    assert verify(pki, x5c).chain == (pki.leaf, pki.inter, pki.root)


def test_haip_x5c_refuses_the_anchor_in_x5c_and_a_malformed_header() -> None:
    # HAIP 1.0 §4.5.1: "The X.509 certificate of the trust anchor MUST NOT be included
    # in the x5c JOSE header"; RFC 7515 alone allows it (the test above).
    pki = make_pki()
    good: list[JsonValue] = list(encode_x5c([pki.leaf, pki.inter]))
    assert verify_haip_x5c(good, anchors=[pki.root], now=NOW).anchor == pki.root
    with_root: list[JsonValue] = list(encode_x5c([pki.leaf, pki.inter, pki.root]))
    assert (
        reason_of(lambda: verify_haip_x5c(with_root, anchors=[pki.root], now=NOW))
        is Reason.X509_CHAIN_INVALID
    )
    for header in (None, [], "MIIB", [*good, 7]):
        with pytest.raises(PasserelleError) as info:
            verify_haip_x5c(header, anchors=[pki.root], now=NOW)
        assert info.value.reason is Reason.X509_MALFORMED


def test_intermediate_as_anchor_ends_the_chain_there() -> None:
    pki = make_pki()
    verified = verify(pki, encode_x5c([pki.leaf]), anchors=[pki.inter])
    assert verified.chain == (pki.leaf, pki.inter)
    assert verified.anchor == pki.inter


def test_leaf_as_anchor_is_direct_trust() -> None:
    pki = make_pki()
    verified = verify(pki, encode_x5c([pki.leaf]), anchors=[pki.leaf])
    assert verified.chain == (pki.leaf,)


def test_right_anchor_is_picked_among_several() -> None:
    pki, other = make_pki(), make_pki()
    assert verify(pki, anchors=[other.root, pki.root]).anchor == pki.root


def test_validity_bounds_are_inclusive() -> None:
    pki = make_pki()
    assert verify(pki, now=pki.leaf.not_valid_after_utc).leaf == pki.leaf
    assert verify(pki, now=pki.leaf.not_valid_before_utc).leaf == pki.leaf


def test_now_in_another_timezone_is_the_same_instant() -> None:
    pki = make_pki()
    after = pki.leaf.not_valid_after_utc + timedelta(seconds=1)
    eastern = after.astimezone(datetime.fromisoformat("2026-01-01T00:00:00-05:00").tzinfo)
    assert reason_of(lambda: verify(pki, now=eastern)) is Reason.X509_EXPIRED


def test_verify_certificate_chain_takes_certificates() -> None:
    pki = make_pki()
    verified = verify_certificate_chain([pki.leaf, pki.inter], anchors=[pki.root], now=NOW)
    assert verified.chain == (pki.leaf, pki.inter, pki.root)


def test_prebuilt_anchors_validate_like_a_list() -> None:
    pki, other = make_pki(), make_pki()
    anchors = TrustAnchors([other.root, pki.root])
    assert len(anchors) == 2
    assert list(anchors) == [other.root, pki.root]
    # The same store serves many validations, and refuses what a list refuses.
    for _ in range(2):
        assert verify(pki, anchors=anchors).anchor == pki.root
    only_other = TrustAnchors([other.root])
    assert reason_of(lambda: verify(pki, anchors=only_other)) is Reason.X509_CHAIN_INVALID
    assert reason_of(lambda: verify(pki, anchors=TrustAnchors([]))) is Reason.X509_CHAIN_INVALID


def test_a_remembered_chain_is_still_judged_at_each_time() -> None:
    pki = make_pki()
    anchors = TrustAnchors([pki.root])
    assert verify(pki, anchors=anchors).leaf == pki.leaf  # remembered from here on
    assert verify(pki, anchors=anchors).chain == (pki.leaf, pki.inter, pki.root)
    after = pki.leaf.not_valid_after_utc + timedelta(seconds=1)
    assert reason_of(lambda: verify(pki, anchors=anchors, now=after)) is Reason.X509_EXPIRED
    before = pki.leaf.not_valid_before_utc - timedelta(seconds=1)
    assert reason_of(lambda: verify(pki, anchors=anchors, now=before)) is Reason.X509_NOT_YET_VALID
    # Another set of anchors remembers nothing of this one.
    other = make_pki()
    assert reason_of(lambda: verify(pki, anchors=TrustAnchors([other.root]))) is (
        Reason.X509_CHAIN_INVALID
    )


# --- chain failures ----------------------------------------------------------------


def test_chain_to_another_root_is_refused() -> None:
    pki, other = make_pki(), make_pki()
    assert reason_of(lambda: verify(pki, anchors=[other.root])) is Reason.X509_CHAIN_INVALID


def test_root_with_same_name_but_other_key_is_refused() -> None:
    pki = make_pki()
    impostor = make_root(p256())
    assert impostor.subject == pki.root.subject
    assert reason_of(lambda: verify(pki, anchors=[impostor])) is Reason.X509_CHAIN_INVALID


def test_missing_intermediate_is_refused() -> None:
    pki = make_pki()
    x5c = encode_x5c([pki.leaf])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def _tamper(cert: x509.Certificate, needle: bytes) -> str:
    der = bytearray(certificate_to_der(cert))
    at = der.find(needle)
    assert at > 0
    der[at] ^= 0x01
    return base64.b64encode(bytes(der)).decode()


def test_tampered_leaf_is_refused() -> None:
    pki = make_pki()
    x5c = [_tamper(pki.leaf, b"Test Credential Signer"), pki.x5c[1]]
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_tampered_intermediate_is_refused() -> None:
    pki = make_pki()
    x5c = [pki.x5c[0], _tamper(pki.inter, b"Test Issuing CA")]
    # Its name changed, so the leaf's issuer is no longer found: no path.
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_tampered_intermediate_signature_is_refused() -> None:
    pki = make_pki()
    der = bytearray(certificate_to_der(pki.inter))
    der[-5] ^= 0x01  # inside the ECDSA signature value
    x5c = [pki.x5c[0], base64.b64encode(bytes(der)).decode()]
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_self_signed_leaf_is_refused_even_when_anchored() -> None:
    key = p256()
    leaf = raw_cert(
        subject="self",
        issuer=None,
        issuer_key=key,
        public_key=key.public_key(),
        extensions=[(x509.BasicConstraints(ca=False, path_length=None), True)],
    )
    pki = make_pki()
    for anchors in ([pki.root], [leaf]):
        got = reason_of(lambda a=anchors: verify(pki, encode_x5c([leaf]), anchors=a))  # type: ignore[misc]
        assert got is Reason.X509_SELF_SIGNED_LEAF


def test_intermediate_without_ca_flag_is_refused() -> None:
    pki = make_pki()
    fake_key = p256()
    fake_inter = raw_cert(
        subject="Test Issuing CA",
        issuer=pki.root,
        issuer_key=pki.root_key,
        public_key=fake_key.public_key(),
        extensions=[
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (key_usage(digital_signature=True, key_cert_sign=True), True),
        ],
    )
    leaf = make_leaf(p256(), fake_inter, fake_key)
    x5c = encode_x5c([leaf, fake_inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_leaf_certificate_used_as_intermediate_is_refused() -> None:
    pki = make_pki()
    below = make_leaf(p256(), pki.leaf, pki.leaf_key)  # "issued" by a signing leaf
    x5c = encode_x5c([below, pki.leaf, pki.inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_ca_without_key_cert_sign_is_refused() -> None:
    pki = make_pki()
    ca_key = p256()
    ca = raw_cert(
        subject="Test Issuing CA",
        issuer=pki.root,
        issuer_key=pki.root_key,
        public_key=ca_key.public_key(),
        extensions=[
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (key_usage(digital_signature=True), True),
        ],
    )
    x5c = encode_x5c([make_leaf(p256(), ca, ca_key), ca])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_path_length_constraint_is_enforced() -> None:
    pki = make_pki()  # the intermediate has pathLenConstraint 0
    sub_key = p256()
    sub = make_inter(sub_key, pki.inter, pki.inter_key)
    x5c = encode_x5c([make_leaf(p256(), sub, sub_key), sub, pki.inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_max_chain_depth_is_enforced() -> None:
    pki = make_pki()
    assert reason_of(lambda: verify(pki, max_chain_depth=0)) is Reason.X509_CHAIN_INVALID
    assert verify(pki, max_chain_depth=1).leaf == pki.leaf


def test_unknown_critical_extension_on_leaf_is_refused() -> None:
    pki = make_pki()
    leaf = raw_cert(
        subject="leaf",
        issuer=pki.inter,
        issuer_key=pki.inter_key,
        public_key=p256().public_key(),
        extensions=[
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (
                x509.UnrecognizedExtension(
                    x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"
                ),
                True,
            ),
        ],
    )
    x5c = encode_x5c([leaf, pki.inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_CHAIN_INVALID


def test_expired_anchor_fails_the_path() -> None:
    pki = make_pki()
    old_root = build_ca_certificate(
        subject=pki.root.subject,
        key=pki.root_key,
        not_before=NOW - 400 * DAY,
        not_after=NOW - DAY,
        serial=serial(),
    )
    assert reason_of(lambda: verify(pki, anchors=[old_root])) is Reason.X509_CHAIN_INVALID


# --- validity ----------------------------------------------------------------------


def test_expired_leaf() -> None:
    pki = make_pki(not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    assert reason_of(lambda: verify(pki)) is Reason.X509_EXPIRED


def test_leaf_one_second_past_not_after_is_expired() -> None:
    pki = make_pki()
    later = pki.leaf.not_valid_after_utc + timedelta(seconds=1)
    assert reason_of(lambda: verify(pki, now=later)) is Reason.X509_EXPIRED


def test_not_yet_valid_leaf() -> None:
    pki = make_pki(not_before=NOW + DAY, not_after=NOW + 10 * DAY)
    assert reason_of(lambda: verify(pki)) is Reason.X509_NOT_YET_VALID


def test_expired_intermediate() -> None:
    pki = make_pki()
    inter = make_inter(pki.inter_key, pki.root, pki.root_key, not_after=NOW - DAY)
    x5c = encode_x5c([pki.leaf, inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_EXPIRED


def test_not_yet_valid_intermediate() -> None:
    pki = make_pki()
    inter = make_inter(pki.inter_key, pki.root, pki.root_key, not_before=NOW + DAY)
    x5c = encode_x5c([pki.leaf, inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_NOT_YET_VALID


# --- leaf purpose and key type -----------------------------------------------------


def test_leaf_asserting_ca_is_refused() -> None:
    pki = make_pki()
    ca_leaf = make_inter(p256(), pki.inter, pki.inter_key)
    x5c = encode_x5c([ca_leaf, pki.inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_KEY_USAGE


def test_leaf_without_digital_signature_is_refused() -> None:
    pki = make_pki()
    leaf = raw_cert(
        subject="leaf",
        issuer=pki.inter,
        issuer_key=pki.inter_key,
        public_key=p256().public_key(),
        extensions=[
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (key_usage(key_agreement=True), True),
        ],
    )
    x5c = encode_x5c([leaf, pki.inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.X509_KEY_USAGE


def test_leaf_key_outside_our_jose_algorithms_is_refused() -> None:
    pki = make_pki()
    leaf = raw_cert(
        subject="leaf",
        issuer=pki.inter,
        issuer_key=pki.inter_key,
        public_key=ec.generate_private_key(ec.SECP521R1()).public_key(),
        extensions=[(x509.BasicConstraints(ca=False, path_length=None), True)],
    )
    x5c = encode_x5c([leaf, pki.inter])
    assert reason_of(lambda: verify(pki, x5c)) is Reason.JWK_UNSUPPORTED


# --- malformed input ---------------------------------------------------------------


def _not_der() -> list[str]:
    return [base64.b64encode(b"hello, not a certificate").decode()]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param([], id="empty list"),
        pytest.param("MIIB", id="a string, not a list"),
        pytest.param(["!!!!"], id="not base64"),
        pytest.param([""], id="empty member"),
        pytest.param([None], id="not a string"),
        pytest.param(_not_der(), id="base64 of garbage"),
    ],
)
def test_malformed_x5c(bad: object) -> None:
    pki = make_pki()
    assert reason_of(lambda: verify(pki, bad)) is Reason.X509_MALFORMED  # type: ignore[arg-type]


def test_x5c_must_be_padded_standard_base64_not_base64url() -> None:
    pki = make_pki()
    # The vector certificate's base64 has '+', '/' and padding, so each variant differs.
    der = certificate_to_der(load_certificate_pem(VECTOR_PEM))
    standard = base64.b64encode(der).decode()
    variants = [
        base64.urlsafe_b64encode(der).decode(),
        standard.rstrip("="),
        base64.encodebytes(der).decode(),  # MIME line breaks
        " " + standard,
    ]
    for member in variants:
        assert member != standard
        x5c = [member, pki.x5c[1]]
        assert reason_of(lambda x=x5c: verify(pki, x)) is Reason.X509_MALFORMED  # type: ignore[misc]


def test_x5c_with_trailing_bytes_is_malformed() -> None:
    pki = make_pki()
    member = base64.b64encode(certificate_to_der(pki.leaf) + b"\x00").decode()
    assert reason_of(lambda: verify(pki, [member, pki.x5c[1]])) is Reason.X509_MALFORMED


def test_x5c_length_is_bounded() -> None:
    pki = make_pki()
    x5c = pki.x5c + [pki.x5c[1]] * 10
    assert reason_of(lambda: verify(pki, x5c)) is Reason.INPUT_TOO_LARGE


def test_empty_certificate_list() -> None:
    pki = make_pki()
    got = reason_of(lambda: verify_certificate_chain([], anchors=[pki.root], now=NOW))
    assert got is Reason.X509_MALFORMED


def test_misuse_is_a_local_fault() -> None:
    pki = make_pki()
    calls: list[Callable[[], object]] = [
        lambda: verify(pki, now=NOW.replace(tzinfo=None)),
        lambda: verify(pki, anchors=[]),
        lambda: verify(pki, max_chain_depth=-1),
    ]
    for call in calls:
        with pytest.raises(PasserelleError) as info:
            call()
        assert info.value.fault is Fault.LOCAL


# --- OpenID4VP client identifiers --------------------------------------------------

# A fixed certificate (Ed25519 signatures are deterministic, so the builder makes it
# again byte for byte). Its x509_hash was computed independently of this code:
#   openssl x509 -outform DER | openssl dgst -sha256 -binary | basenc --base64url
VECTOR_PEM = """-----BEGIN CERTIFICATE-----
MIIBeDCCASqgAwIBAgIBKjAFBgMrZXAwMzELMAkGA1UEBhMCQ0ExJDAiBgNVBAMM
G1Bhc3NlcmVsbGUgeDUwOV9oYXNoIHZlY3RvcjAeFw0yNTAxMDEwMDAwMDBaFw0z
NTAxMDEwMDAwMDBaMDMxCzAJBgNVBAYTAkNBMSQwIgYDVQQDDBtQYXNzZXJlbGxl
IHg1MDlfaGFzaCB2ZWN0b3IwKjAFBgMrZXADIQADoQe/884Qvh1w3RjnS8CZZ+TW
MJulDV8d3IZkElUxuKNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AQYwHQYDVR0OBBYEFP2Bpttk1vr39wLAeXGoLCXB3DyQMB8GA1UdIwQYMBaAFP2B
pttk1vr39wLAeXGoLCXB3DyQMAUGAytlcANBAJ1oh1fq3xFUTR7kAgEScZW0UhAj
oV95wPstZvxa5+Hejg+TEcwUEyhXlPksR6fZTk45AkeVDOg+D7NXJlggZQQ=
-----END CERTIFICATE-----
"""
VECTOR_HASH = "e6OoNmRq5ecQooRbt6U6kWtjYuWX7atN6XhKTD0pglY"


def test_x509_hash_vector() -> None:
    cert = load_certificate_pem(VECTOR_PEM)
    assert x509_hash(cert) == VECTOR_HASH
    check_x509_hash(cert, VECTOR_HASH)


def test_builder_reproduces_the_vector() -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    cert = build_ca_certificate(
        subject=build_name(common_name="Passerelle x509_hash vector", country="CA"),
        key=key,
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=datetime(2035, 1, 1, tzinfo=UTC),
        serial=0x2A,
    )
    assert certificate_to_pem(cert) == VECTOR_PEM


def test_x509_hash_mismatch() -> None:
    pki = make_pki()
    check_x509_hash(pki.leaf, x509_hash(pki.leaf))
    for wrong in (x509_hash(pki.inter), "x509_hash:" + x509_hash(pki.leaf), "", "é"):
        assert reason_of(lambda w=wrong: check_x509_hash(pki.leaf, w)) is Reason.X509_HASH_MISMATCH  # type: ignore[misc]


def test_x509_san_dns() -> None:
    pki = make_pki(usage=LeafUsage.ACCESS, dns_names=["verifier.example.eu", "rp.example.ca"])
    assert san_dns_names(pki.leaf) == ("verifier.example.eu", "rp.example.ca")
    check_x509_san_dns(pki.leaf, "rp.example.ca")
    check_x509_san_dns(pki.leaf, "Verifier.Example.EU")
    assert verify(pki, require_dns_name="verifier.example.eu").leaf == pki.leaf
    for wrong in ("example.eu", "evil.example.eu", "verifier.example.eu.", ""):
        got = reason_of(lambda w=wrong: check_x509_san_dns(pki.leaf, w))  # type: ignore[misc]
        assert got is Reason.X509_SAN_MISMATCH


def test_san_mismatch_in_chain_verification() -> None:
    pki = make_pki(usage=LeafUsage.ACCESS, dns_names=["verifier.example.eu"])
    got = reason_of(lambda: verify(pki, require_dns_name="other.example.eu"))
    assert got is Reason.X509_SAN_MISMATCH


def test_san_dns_without_san_extension() -> None:
    pki = make_pki()
    assert san_dns_names(pki.leaf) == ()
    got = reason_of(lambda: check_x509_san_dns(pki.leaf, "issuer.example"))
    assert got is Reason.X509_SAN_MISMATCH


def test_wildcard_san_is_not_expanded() -> None:
    pki = make_pki(usage=LeafUsage.ACCESS, dns_names=["*.example.eu"])
    got = reason_of(lambda: check_x509_san_dns(pki.leaf, "verifier.example.eu"))
    assert got is Reason.X509_SAN_MISMATCH


# --- the builder -------------------------------------------------------------------


def _ext(
    cert: x509.Certificate, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


def test_ca_profile() -> None:
    pki = make_pki()
    for cert, path_length in ((pki.root, 1), (pki.inter, 0)):
        bc = _ext(cert, x509.BasicConstraints)
        assert bc.critical
        assert bc.value == x509.BasicConstraints(ca=True, path_length=path_length)
        ku = _ext(cert, x509.KeyUsage)
        assert ku.critical
        assert ku.value == key_usage(key_cert_sign=True, crl_sign=True)
        ski = _ext(cert, x509.SubjectKeyIdentifier).value
        assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    root_ski = _ext(pki.root, x509.SubjectKeyIdentifier).value
    assert isinstance(root_ski, x509.SubjectKeyIdentifier)
    inter_aki = _ext(pki.inter, x509.AuthorityKeyIdentifier).value
    assert isinstance(inter_aki, x509.AuthorityKeyIdentifier)
    assert inter_aki.key_identifier == root_ski.digest
    assert pki.root.issuer == pki.root.subject
    assert pki.inter.issuer == pki.root.subject
    pki.root.verify_directly_issued_by(pki.root)
    pki.inter.verify_directly_issued_by(pki.root)
    assert pki.root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CA"


@pytest.mark.parametrize(
    ("usage", "eku"),
    [
        (LeafUsage.SIGNING, None),
        (LeafUsage.ACCESS, None),
        (LeafUsage.TLS_SERVER, [ExtendedKeyUsageOID.SERVER_AUTH]),
    ],
)
def test_leaf_profiles(usage: LeafUsage, eku: list[x509.ObjectIdentifier] | None) -> None:
    pki = make_pki(usage=usage, dns_names=["svc.localhost"])
    leaf = pki.leaf
    bc = _ext(leaf, x509.BasicConstraints)
    assert bc.critical
    assert bc.value == x509.BasicConstraints(ca=False, path_length=None)
    ku = _ext(leaf, x509.KeyUsage)
    assert ku.critical
    assert ku.value == key_usage(digital_signature=True)
    aki = _ext(leaf, x509.AuthorityKeyIdentifier).value
    inter_ski = _ext(pki.inter, x509.SubjectKeyIdentifier).value
    assert isinstance(aki, x509.AuthorityKeyIdentifier)
    assert isinstance(inter_ski, x509.SubjectKeyIdentifier)
    assert aki.key_identifier == inter_ski.digest
    san = _ext(leaf, x509.SubjectAlternativeName)
    assert not san.critical
    assert san_dns_names(leaf) == ("svc.localhost",)
    if eku is None:
        with pytest.raises(x509.ExtensionNotFound):
            _ext(leaf, x509.ExtendedKeyUsage)
    else:
        assert list(_ext(leaf, x509.ExtendedKeyUsage).value) == eku  # type: ignore[call-overload]


def test_leaf_with_uri_san() -> None:
    root_key, inter_key = p256(), p256()
    root = make_root(root_key)
    inter = make_inter(inter_key, root, root_key)
    leaf = build_leaf_certificate(
        subject=x509.Name([]),
        public_key=p256().public_key(),
        issuer_cert=inter,
        issuer_key=inter_key,
        not_before=NOW - DAY,
        not_after=NOW + DAY,
        serial=serial(),
        usage=LeafUsage.SIGNING,
        uris=["https://issuer.example.ca"],
    )
    san = _ext(leaf, x509.SubjectAlternativeName)
    assert san.critical  # the subject is empty, RFC 5280 §4.2.1.6
    assert isinstance(san.value, x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
        "https://issuer.example.ca"
    ]


@pytest.mark.parametrize(
    ("make_key", "hash_name"),
    [(p256, "sha256"), (p384, "sha384"), (ed, None)],
)
def test_signature_hash_follows_the_issuer_key(make_key: KeyMaker, hash_name: str | None) -> None:
    root = make_root(make_key())
    algorithm = root.signature_hash_algorithm
    assert (algorithm.name if algorithm is not None else None) == hash_name


def test_builder_misuse_is_a_local_fault() -> None:
    root_key = p256()
    root = make_root(root_key)
    base: dict[str, object] = {
        "subject": build_name(common_name="leaf"),
        "public_key": p256().public_key(),
        "issuer_cert": root,
        "issuer_key": root_key,
        "not_before": NOW,
        "not_after": NOW + DAY,
        "serial": 7,
        "usage": LeafUsage.SIGNING,
    }
    bad_options: list[dict[str, object]] = [
        {"issuer_key": p256()},  # does not match issuer_cert
        {"not_after": NOW},  # empty validity
        {"not_before": NOW.replace(tzinfo=None)},
        {"serial": 0},
        {"serial": 1 << 160},
        {"usage": LeafUsage.TLS_SERVER},  # without a DNS name
        {"dns_names": "svc.localhost"},  # a string, not a sequence of them
        {"dns_names": ["bücher.example"]},
        {"public_key": ec.generate_private_key(ec.SECP521R1()).public_key()},
    ]
    for change in bad_options:
        with pytest.raises(PasserelleError) as info:
            build_leaf_certificate(**{**base, **change})  # type: ignore[arg-type]
        assert info.value.fault is Fault.LOCAL, change
    with pytest.raises(PasserelleError) as info:
        build_ca_certificate(
            subject=build_name(common_name="x"),
            key=p256(),
            issuer_cert=root,  # without issuer_key
            not_before=NOW,
            not_after=NOW + DAY,
            serial=1,
        )
    assert info.value.fault is Fault.LOCAL


def test_build_name_rejects_bad_country() -> None:
    with pytest.raises(PasserelleError):
        build_name(common_name="x", country="Canada")


class FixedRandom:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def token_bytes(self, n: int, /) -> bytes:
        return self.data[:n]


def test_draw_serial_number() -> None:
    assert draw_serial_number(FixedRandom(b"\xff" * 16)) == (1 << 127) - 1
    assert draw_serial_number(FixedRandom(b"\x00" * 16)) == 1
    assert (
        draw_serial_number(FixedRandom(bytes(range(16)))) == int.from_bytes(bytes(range(16))) >> 1
    )


# --- encodings ---------------------------------------------------------------------


def test_der_pem_and_x5c_round_trips() -> None:
    pki = make_pki()
    assert load_certificate_der(certificate_to_der(pki.leaf)) == pki.leaf
    assert load_certificate_pem(certificate_to_pem(pki.leaf)) == pki.leaf
    assert load_certificate_pem(certificate_to_pem(pki.leaf).encode()) == pki.leaf
    x5c = encode_x5c([pki.leaf, pki.inter])
    assert x5c[0] == base64.b64encode(certificate_to_der(pki.leaf)).decode()
    assert decode_unverified_x5c(x5c) == (pki.leaf, pki.inter)


def test_loading_garbage_is_malformed() -> None:
    assert reason_of(lambda: load_certificate_der(b"\x30\x03\x02\x01\x01")) is Reason.X509_MALFORMED
    assert reason_of(lambda: load_certificate_pem("-----BEGIN CERTIFICATE-----\n")) is (
        Reason.X509_MALFORMED
    )


def test_duplicate_extension_is_malformed_at_load() -> None:
    pki = make_pki()
    der = bytearray(certificate_to_der(pki.leaf))
    # Rewrite the SKI OID (2.5.29.14) into the AKI one (2.5.29.35): two AKIs now.
    ski_oid = bytes.fromhex("0603551d0e")
    at = der.find(ski_oid)
    assert at > 0
    der[at + 4] = 0x23
    assert reason_of(lambda: load_certificate_der(bytes(der))) is Reason.X509_MALFORMED
