"""mdoc (ISO/IEC 18013-5): issue, present element by element, verify; and every refusal
by its reason code. Keys, IACA and document signer certificates are made here."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from passerelle import mdoc
from passerelle._errors import Fault, PasserelleError, Reason
from tests.unit.mdoc_world import (
    MDL_ELEMENTS,
    NOW,
    SystemRandom,
    World,
    indefinite_map,
    make_ds,
    make_iaca,
    retag_items,
)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def issued(world: World) -> bytes:
    return world.issue()


def _reason(call: object) -> Reason:
    assert callable(call)
    with pytest.raises(PasserelleError) as info:
        call()
    return info.value.reason


def _verify(world: World, response: bytes, **options: object) -> mdoc.VerifiedMdoc:
    kwargs: dict[str, object] = {
        "session_transcript": world.transcript(),
        "anchors": [world.iaca],
        "now": NOW,
    }
    kwargs.update(options)
    return mdoc.verify_device_response(response, **kwargs)  # type: ignore[arg-type]


# --- round trips ------------------------------------------------------------------------


def test_issuer_signed_round_trip(world: World, issued: bytes) -> None:
    verified = mdoc.verify_issuer_signed(issued, anchors=[world.iaca], now=NOW)
    assert verified.doc_type == mdoc.DOCTYPE_MDL
    assert dict(verified.namespaces[mdoc.NAMESPACE_MDL]) == MDL_ELEMENTS
    assert verified.device_auth is None
    assert verified.document_signer == world.ds
    assert verified.iaca == world.iaca
    assert verified.digest_algorithm == "SHA-256"
    assert verified.device_key.public_numbers() == world.device_key.public_key().public_numbers()


def test_device_response_discloses_only_the_chosen_elements(world: World, issued: bytes) -> None:
    response = world.present(issued, "given_name", "age_over_18")
    verified = _verify(world, response, expected_doc_type=mdoc.DOCTYPE_MDL)
    assert dict(verified.namespaces[mdoc.NAMESPACE_MDL]) == {
        "given_name": "Élodie",
        "age_over_18": True,
    }
    assert verified.device_auth == "signature"
    assert verified.status is None
    assert verified.validity.valid_until == world.validity().valid_until


def test_every_salt_and_digest_id_is_fresh(world: World) -> None:
    first = mdoc.decode_unverified_issuer_signed(world.issue())
    second = mdoc.decode_unverified_issuer_signed(world.issue())
    items = first.items[mdoc.NAMESPACE_MDL]
    salts = {cbor2.loads(raw)["random"] for raw in items.values()}
    assert len(salts) == len(MDL_ELEMENTS)
    assert all(len(salt) >= 16 for salt in salts)
    assert items["family_name"] != second.items[mdoc.NAMESPACE_MDL]["family_name"]
    ids = sorted(cbor2.loads(raw)["digestID"] for raw in items.values())
    assert ids == list(range(len(MDL_ELEMENTS)))


@pytest.mark.parametrize("algorithm", ["SHA-256", "SHA-384", "SHA-512"])
def test_digest_algorithms(world: World, algorithm: str) -> None:
    verified = mdoc.verify_issuer_signed(
        world.issue(digest_algorithm=algorithm), anchors=[world.iaca], now=NOW
    )
    assert verified.digest_algorithm == algorithm


@pytest.mark.parametrize(
    "device_key",
    [
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP521R1()),
        ed25519.Ed25519PrivateKey.generate(),
    ],
    ids=["ES384", "ES512", "EdDSA"],
)
def test_device_key_algorithms(device_key: mdoc.DevicePrivateKey) -> None:
    world = World(device_key=device_key)  # type: ignore[arg-type]
    response = world.present(world.issue())
    assert _verify(world, response).device_auth == "signature"


def test_p384_document_signer_and_status_reference() -> None:
    world = World(
        iaca_key=ec.generate_private_key(ec.SECP384R1()),
        ds_key=ec.generate_private_key(ec.SECP384R1()),
    )
    status = mdoc.StatusReference(idx=412, uri="https://status.example.ca/lists/3")
    verified = _verify(world, world.present(world.issue(status=status)))
    assert verified.status == status


def test_decode_unverified_issuer_signed(world: World, issued: bytes) -> None:
    unverified = mdoc.decode_unverified_issuer_signed(issued)
    assert unverified.doc_type == mdoc.DOCTYPE_MDL
    assert unverified.elements[mdoc.NAMESPACE_MDL]["document_number"] == "T6543-210987-01"


def test_presenting_an_element_the_mdoc_lacks_is_a_local_error(world: World, issued: bytes) -> None:
    with pytest.raises(PasserelleError) as info:
        world.present(issued, "height")
    assert info.value.reason == Reason.MDOC_ELEMENT_NOT_FOUND
    assert info.value.fault == Fault.LOCAL


# --- OpenID4VP 1.0 SessionTranscript ------------------------------------------------------


def test_session_transcript_binds_every_request_parameter(world: World, issued: bytes) -> None:
    response = world.present(issued)
    for other in (
        mdoc.create_openid4vp_session_transcript(
            client_id="x509_san_dns:other.example.eu",
            nonce="n-0S6_WzA2Mj",
            response_uri="https://verifier.example.eu/response",
            jwk_thumbprint=None,
        ),
        world.transcript(nonce="another-nonce"),
        mdoc.create_openid4vp_session_transcript(
            client_id="x509_san_dns:verifier.example.eu",
            nonce="n-0S6_WzA2Mj",
            response_uri="https://verifier.example.eu/other",
            jwk_thumbprint=None,
        ),
        # Encrypted-response variant: the thumbprint of the encryption key is bound too.
        mdoc.create_openid4vp_session_transcript(
            client_id="x509_san_dns:verifier.example.eu",
            nonce="n-0S6_WzA2Mj",
            response_uri="https://verifier.example.eu/response",
            jwk_thumbprint=bytes(32),
        ),
    ):
        assert (
            _reason(lambda t=other: _verify(world, response, session_transcript=t))
            == Reason.MDOC_DEVICE_SIGNATURE_INVALID
        )


def test_session_transcript_thumbprint_must_be_32_octets() -> None:
    with pytest.raises(PasserelleError) as info:
        mdoc.create_openid4vp_session_transcript(
            client_id="a", nonce="b", response_uri="https://c", jwk_thumbprint=b"short"
        )
    assert info.value.fault == Fault.LOCAL


# --- refusals: issuer data --------------------------------------------------------------


def test_tampered_element_value_is_a_digest_mismatch(world: World, issued: bytes) -> None:
    def older(items: list[dict[str, object]]) -> None:
        for item in items:
            if item["elementIdentifier"] == "age_over_21":
                item["elementValue"] = False

    tampered = retag_items(issued, older)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DIGEST_MISMATCH
    )
    response = world.present(tampered, "age_over_21")
    assert _reason(lambda: _verify(world, response)) == Reason.MDOC_DIGEST_MISMATCH


def test_item_with_unknown_digest_id(world: World, issued: bytes) -> None:
    def renumber(items: list[dict[str, object]]) -> None:
        items[0]["digestID"] = 999

    tampered = retag_items(issued, renumber)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DIGEST_MISSING
    )


def test_duplicate_digest_ids(world: World, issued: bytes) -> None:
    def duplicate(items: list[dict[str, object]]) -> None:
        items.append(dict(items[0], elementIdentifier="family_name_again"))

    tampered = retag_items(issued, duplicate)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DUPLICATE_DIGEST_ID
    )


def test_short_salt(world: World) -> None:
    def short(items: list[dict[str, object]]) -> None:
        items[0]["random"] = b"0123456789"

    tampered = retag_items(world.issue(), short)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_SALT_TOO_SHORT
    )


def test_unknown_digest_algorithm(world: World, issued: bytes) -> None:
    def md5(mso: dict[str, object]) -> None:
        mso["digestAlgorithm"] = "MD5"

    tampered = world.resign_mso(issued, md5)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DIGEST_ALG_UNSUPPORTED
    )


def test_wrong_doctype(world: World, issued: bytes) -> None:
    assert (
        _reason(
            lambda: mdoc.verify_issuer_signed(
                issued, anchors=[world.iaca], now=NOW, expected_doc_type=mdoc.DOCTYPE_PID
            )
        )
        == Reason.MDOC_DOCTYPE_MISMATCH
    )
    response = world.present(issued)
    assert (
        _reason(lambda: _verify(world, response, expected_doc_type=mdoc.DOCTYPE_PID))
        == Reason.MDOC_DOCTYPE_MISMATCH
    )

    # The Document says mDL, the signed MSO says PID.
    def pid(mso: dict[str, object]) -> None:
        mso["docType"] = mdoc.DOCTYPE_PID

    relabelled = world.present(world.resign_mso(issued, pid))
    decoded = cbor2.loads(relabelled)
    decoded["documents"][0]["docType"] = mdoc.DOCTYPE_MDL
    assert _reason(lambda: _verify(world, cbor2.dumps(decoded))) == Reason.MDOC_DOCTYPE_MISMATCH


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (NOW - timedelta(days=5), Reason.MDOC_NOT_YET_VALID),
        (NOW + timedelta(days=400), Reason.MDOC_EXPIRED),
    ],
    ids=["not-yet-valid", "expired"],
)
def test_validity_window(now: datetime, reason: Reason) -> None:
    # A long-lived DS so that only the MSO window is at fault.
    world = World()
    world.ds = make_ds(world.iaca, world.iaca_key, world.ds_key, days=450)
    issued = world.issue()
    assert _reason(lambda: mdoc.verify_issuer_signed(issued, anchors=[world.iaca], now=now)) in {
        reason
    }


def test_clock_skew_is_honoured() -> None:
    world = World()
    world.ds = make_ds(world.iaca, world.iaca_key, world.ds_key, days=450)
    issued = world.issue()
    valid_until = world.validity().valid_until
    late = valid_until + timedelta(seconds=30)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(issued, anchors=[world.iaca], now=late))
        == Reason.MDOC_EXPIRED
    )
    mdoc.verify_issuer_signed(
        issued, anchors=[world.iaca], now=late, clock_skew=timedelta(minutes=1)
    )


def test_valid_from_before_signed(world: World, issued: bytes) -> None:
    def backdate(mso: dict[str, object]) -> None:
        info = mso["validityInfo"]
        assert isinstance(info, dict)
        info["validFrom"] = info["signed"] - timedelta(days=1)

    tampered = world.resign_mso(issued, backdate)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_VALIDITY_INVALID
    )


def test_signed_outside_the_document_signer_validity(world: World, issued: bytes) -> None:
    def too_early(mso: dict[str, object]) -> None:
        info = mso["validityInfo"]
        assert isinstance(info, dict)
        info["signed"] = world.ds.not_valid_before_utc - timedelta(days=1)

    tampered = world.resign_mso(issued, too_early)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_SIGNED_OUTSIDE_CERTIFICATE
    )


@pytest.mark.parametrize(
    "status",
    [
        {"status_list": {"idx": -1, "uri": "https://s"}},
        {"status_list": {"idx": 3}},
        {"status_list": {"idx": 3, "uri": 7}},
        {},
        [],
    ],
    ids=["negative-idx", "no-uri", "uri-not-text", "empty-map", "not-a-map"],
)
def test_malformed_status(world: World, issued: bytes, status: object) -> None:
    def bad(mso: dict[str, object]) -> None:
        mso["status"] = status

    tampered = world.resign_mso(issued, bad)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_STATUS_INVALID
    )


def test_another_status_mechanism_is_not_ours_to_judge(world: World, issued: bytes) -> None:
    def other(mso: dict[str, object]) -> None:
        mso["status"] = {"identifier_list": {"id": b"\x01", "uri": "https://ids"}}

    verified = mdoc.verify_issuer_signed(
        world.resign_mso(issued, other), anchors=[world.iaca], now=NOW
    )
    assert verified.status is None


# The three refusals below are backed by RFC 8949 §4.2.1 (Core Deterministic Encoding
# Requirements): "Indefinite-length items MUST NOT appear.", which ISO/IEC 18013-5:2021
# §8.1 applies to the MSO, each IssuerSignedItem and DeviceNameSpaces (the ISO text is
# not public; this reading of it is a maintainer's of another mdoc implementation), and
# by RFC 9052 §9 for the protected header inside the Sig_structure: "Encoding MUST be
# done using definite lengths". The unsigned outer containers are accepted either way
# (the last test of the group).


def test_indefinite_length_protected_header(world: World, issued: bytes) -> None:
    tampered = world.resign_mso(issued, lambda mso: None, protected=bytes.fromhex("bf0126ff"))
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_INDEFINITE_LENGTH
    )


def test_indefinite_length_mso(world: World, issued: bytes) -> None:
    tampered = world.resign_mso(issued, lambda mso: None, encode_mso=indefinite_map)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_INDEFINITE_LENGTH
    )


def test_indefinite_length_issuer_signed_item(world: World, issued: bytes) -> None:
    # The item re-encoded with an indefinite-length map, and the MSO re-signed with its
    # digest, so that only the encoding is at fault.
    decoded = cbor2.loads(issued)
    items = decoded["nameSpaces"][mdoc.NAMESPACE_MDL]
    item = cbor2.loads(items[0].value)
    items[0] = cbor2.CBORTag(24, indefinite_map(item))
    digest = hashlib.sha256(cbor2.dumps(items[0])).digest()

    def redigest(mso: dict[str, object]) -> None:
        digests = mso["valueDigests"]
        assert isinstance(digests, dict)
        digests[mdoc.NAMESPACE_MDL][item["digestID"]] = digest

    tampered = world.resign_mso(cbor2.dumps(decoded), redigest)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_INDEFINITE_LENGTH
    )


def test_indefinite_length_outer_container_is_accepted(world: World, issued: bytes) -> None:
    # Nothing is hashed over the IssuerSigned map itself; it is decoded liberally.
    decoded = cbor2.loads(issued)
    liberal = indefinite_map(decoded)
    assert mdoc.verify_issuer_signed(liberal, anchors=[world.iaca], now=NOW).doc_type == (
        mdoc.DOCTYPE_MDL
    )


def test_issuer_signature_over_other_bytes(world: World, issued: bytes) -> None:
    decoded = cbor2.loads(issued)
    signature = bytearray(decoded["issuerAuth"][3])
    signature[5] ^= 0x01
    decoded["issuerAuth"][3] = bytes(signature)
    tampered = cbor2.dumps(decoded)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_ISSUER_SIGNATURE_INVALID
    )


def test_unsupported_alg(world: World, issued: bytes) -> None:
    # ES256 is -7; -257 (RS256) is not an mdoc algorithm here.
    tampered = world.resign_mso(issued, lambda mso: None, protected=cbor2.dumps({1: -257}))
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_ALG_UNSUPPORTED
    )


# --- refusals: certificates ---------------------------------------------------------------


def test_x5chain_missing(world: World, issued: bytes) -> None:
    decoded = cbor2.loads(issued)
    decoded["issuerAuth"][1] = {}
    assert (
        _reason(
            lambda: mdoc.verify_issuer_signed(cbor2.dumps(decoded), anchors=[world.iaca], now=NOW)
        )
        == Reason.MDOC_X5CHAIN_MISSING
    )


def test_chain_to_another_iaca(world: World, issued: bytes) -> None:
    stranger = make_iaca(ec.generate_private_key(ec.SECP256R1()))
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(issued, anchors=[stranger], now=NOW))
        == Reason.X509_CHAIN_INVALID
    )


def test_expired_document_signer() -> None:
    world = World()
    world.ds = make_ds(
        world.iaca, world.iaca_key, world.ds_key, not_before=NOW - timedelta(days=20), days=10
    )
    # The MSO itself is still valid; only the certificate has expired.
    issued = mdoc.create_issuer_signed(
        doc_type=mdoc.DOCTYPE_MDL,
        namespaces={mdoc.NAMESPACE_MDL: {"age_over_18": True}},
        device_key=world.device_key.public_key(),
        validity=mdoc.ValidityInfo(
            signed=NOW - timedelta(days=15),
            valid_from=NOW - timedelta(days=15),
            valid_until=NOW + timedelta(days=30),
        ),
        signer_key=world.ds_key,
        certificate_chain=[world.ds],
        random=SystemRandom(),
    )
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(issued, anchors=[world.iaca], now=NOW))
        == Reason.X509_EXPIRED
    )


def _leaf(world: World, **changes: object) -> x509.Certificate:
    """A DS certificate like the good one, with one Annex B rule broken."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            changes.get("subject", world.ds.subject)  # type: ignore[arg-type]
        )
        .issuer_name(world.iaca.subject)
        .public_key(world.ds_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(world.ds.not_valid_before_utc)
        .not_valid_after(
            changes.get("not_after", world.ds.not_valid_after_utc)  # type: ignore[arg-type]
        )
    )
    for ext in world.ds.extensions:
        if type(ext.value) in changes.get("drop", ()):  # type: ignore[operator]
            continue
        builder = builder.add_extension(ext.value, critical=ext.critical)
    for value, critical in changes.get("add", ()):  # type: ignore[attr-defined]
        builder = builder.add_extension(value, critical=critical)
    from cryptography.hazmat.primitives import hashes

    return builder.sign(world.iaca_key, hashes.SHA256())


@pytest.mark.parametrize(
    "changes",
    [
        {"drop": (x509.ExtendedKeyUsage,)},
        {
            "drop": (x509.ExtendedKeyUsage,),
            "add": [(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), True)],
        },
        {"drop": (x509.KeyUsage,)},
        {"drop": (x509.IssuerAlternativeName,)},
        {"not_after": NOW + timedelta(days=500)},
    ],
    ids=[
        "no-eku",
        "eku-not-mdl-ds",
        "no-key-usage",
        "no-issuer-alt-name",
        "over-457-days",
    ],
)
def test_document_signer_profile(world: World, changes: dict[str, object]) -> None:
    ds = _leaf(world, **changes)
    assert (
        _reason(lambda: mdoc.verify_document_signer_chain([ds], anchors=[world.iaca], now=NOW))
        == Reason.MDOC_CERTIFICATE_PROFILE
    )


def test_iaca_profile_requires_path_length_zero() -> None:
    from cryptography.hazmat.primitives import hashes

    world = World()
    iaca = world.iaca
    builder = (
        x509.CertificateBuilder()
        .subject_name(iaca.subject)
        .issuer_name(iaca.subject)
        .public_key(world.iaca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(iaca.not_valid_before_utc)
        .not_valid_after(iaca.not_valid_after_utc)
    )
    for ext in iaca.extensions:
        value = ext.value
        if isinstance(value, x509.BasicConstraints):
            value = x509.BasicConstraints(ca=True, path_length=None)
        builder = builder.add_extension(value, critical=ext.critical)
    loose_iaca = builder.sign(world.iaca_key, hashes.SHA256())
    assert (
        _reason(
            lambda: mdoc.verify_document_signer_chain([world.ds], anchors=[loose_iaca], now=NOW)
        )
        == Reason.MDOC_CERTIFICATE_PROFILE
    )


# --- refusals: device authentication and response shape ---------------------------------


def test_device_signature_by_another_key(world: World, issued: bytes) -> None:
    thief = ec.generate_private_key(ec.SECP256R1())
    response = mdoc.create_device_response(
        issued,
        disclose={mdoc.NAMESPACE_MDL: ["age_over_18"]},
        session_transcript=world.transcript(),
        device_key=thief,
    )
    assert _reason(lambda: _verify(world, response)) == Reason.MDOC_DEVICE_SIGNATURE_INVALID


def test_device_auth_missing(world: World, issued: bytes) -> None:
    decoded = cbor2.loads(world.present(issued))
    decoded["documents"][0]["deviceSigned"]["deviceAuth"] = {}
    assert _reason(lambda: _verify(world, cbor2.dumps(decoded))) == Reason.MDOC_DEVICE_AUTH_MISSING
    del decoded["documents"][0]["deviceSigned"]
    assert _reason(lambda: _verify(world, cbor2.dumps(decoded))) == Reason.MDOC_DEVICE_AUTH_MISSING


def test_device_mac_needs_the_reader_key(world: World, issued: bytes) -> None:
    decoded = cbor2.loads(world.present(issued))
    decoded["documents"][0]["deviceSigned"]["deviceAuth"] = {
        "deviceMac": [cbor2.dumps({1: 5}), {}, None, bytes(32)]
    }
    assert (
        _reason(lambda: _verify(world, cbor2.dumps(decoded))) == Reason.MDOC_DEVICE_MAC_KEY_MISSING
    )


def test_response_status_and_documents(world: World, issued: bytes) -> None:
    decoded = cbor2.loads(world.present(issued))
    decoded["status"] = 10
    assert _reason(lambda: _verify(world, cbor2.dumps(decoded))) == Reason.MDOC_RESPONSE_STATUS
    empty = {"version": "1.0", "documents": [], "status": 0}
    assert _reason(lambda: _verify(world, cbor2.dumps(empty))) == Reason.MDOC_NO_DOCUMENT


def test_cbor_level_refusals(world: World, issued: bytes) -> None:
    response = world.present(issued)
    assert _reason(lambda: _verify(world, response + b"\x00")) == Reason.MDOC_MALFORMED
    assert _reason(lambda: _verify(world, b"")) == Reason.MDOC_MALFORMED
    # {"status": 0, "status": 0}: a map with duplicate keys is not valid CBOR (RFC 8949 §5.6).
    duplicate = bytes.fromhex("a2") + (cbor2.dumps("status") + b"\x00") * 2
    assert _reason(lambda: _verify(world, duplicate)) == Reason.MDOC_DUPLICATE_KEY


def test_options_are_checked(world: World, issued: bytes) -> None:
    with pytest.raises(PasserelleError) as info:
        mdoc.verify_issuer_signed(issued, anchors=[], now=NOW)
    assert info.value.fault == Fault.LOCAL
    with pytest.raises(PasserelleError) as info:
        mdoc.verify_issuer_signed(issued, anchors=[world.iaca], now=NOW.replace(tzinfo=None))
    assert info.value.fault == Fault.LOCAL


def test_validity_info_is_checked_when_built() -> None:
    with pytest.raises(PasserelleError) as info:
        mdoc.ValidityInfo(
            signed=NOW, valid_from=NOW - timedelta(seconds=1), valid_until=NOW + timedelta(days=1)
        )
    assert info.value.reason == Reason.MDOC_VALIDITY_INVALID
    with pytest.raises(PasserelleError):
        mdoc.ValidityInfo(
            signed=datetime(2026, 1, 1),
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            valid_until=datetime(2026, 2, 1, tzinfo=UTC),
        )


def test_a_session_transcript_that_is_not_one_is_our_mistake(world: World, issued: bytes) -> None:
    response = world.present(issued)
    for transcript in (b"", b"\x01", cbor2.dumps([None, None]), world.transcript() + b"\x00"):
        with pytest.raises(PasserelleError) as info:
            _verify(world, response, session_transcript=transcript)
        assert info.value.fault == Fault.LOCAL
        with pytest.raises(PasserelleError) as info:
            mdoc.create_device_response(
                issued,
                disclose={mdoc.NAMESPACE_MDL: ["age_over_18"]},
                session_transcript=transcript,
                device_key=world.device_key,
            )
        assert info.value.fault == Fault.LOCAL


def test_p521_iaca_and_document_signer() -> None:
    world = World(
        iaca_key=ec.generate_private_key(ec.SECP521R1()),
        ds_key=ec.generate_private_key(ec.SECP521R1()),
    )
    verified = _verify(world, world.present(world.issue()))
    assert verified.document_signer == world.ds


def test_an_empty_disclosure_still_authenticates_the_document(world: World, issued: bytes) -> None:
    response = mdoc.create_device_response(
        issued, disclose={}, session_transcript=world.transcript(), device_key=world.device_key
    )
    assert "nameSpaces" not in cbor2.loads(response)["documents"][0]["issuerSigned"]
    verified = _verify(world, response)
    assert dict(verified.namespaces) == {}
    assert verified.device_auth == "signature"


def test_a_non_critical_mdl_ds_eku_is_accepted(world: World) -> None:
    ds = _leaf(
        world,
        drop=(x509.ExtendedKeyUsage,),
        add=[(x509.ExtendedKeyUsage([mdoc.MDL_DS_EKU]), False)],
    )
    chain, _ = mdoc.verify_document_signer_chain([ds], anchors=[world.iaca], now=NOW)
    assert chain == (ds, world.iaca)


def test_ed25519_document_signer_key_under_an_ecdsa_iaca() -> None:
    world = World(ds_key=ed25519.Ed25519PrivateKey.generate())  # type: ignore[arg-type]
    issued = world.issue()
    assert cbor2.loads(cbor2.loads(issued)["issuerAuth"][0]) == {1: mdoc.ALG_EDDSA}
    verified = _verify(world, world.present(issued))
    assert verified.document_signer == world.ds


def test_duplicate_element_identifier(world: World, issued: bytes) -> None:
    # Two items for one element, each under its own genuine digest ID: which value
    # would a verifier believe? Neither.
    decoded = cbor2.loads(issued)
    items = decoded["nameSpaces"][mdoc.NAMESPACE_MDL]
    first, second = cbor2.loads(items[0].value), cbor2.loads(items[1].value)
    second["elementIdentifier"] = first["elementIdentifier"]
    items[1] = cbor2.CBORTag(24, cbor2.dumps(second))
    digest = hashlib.sha256(cbor2.dumps(items[1])).digest()

    def redigest(mso: dict[str, object]) -> None:
        digests = mso["valueDigests"]
        assert isinstance(digests, dict)
        digests[mdoc.NAMESPACE_MDL][second["digestID"]] = digest

    tampered = world.resign_mso(cbor2.dumps(decoded), redigest)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DUPLICATE_ELEMENT
    )


@pytest.mark.parametrize(
    "device_key",
    [
        {1: 2, -1: 1, -2: bytes(32), -3: bytes(32)},  # not a point on P-256
        {1: 2, -1: 1, -2: bytes(31), -3: bytes(32)},  # a coordinate one octet short
        {1: 3, -1: b"n", -2: b"e"},  # RSA: not an mdoc device key here
        "not a map",
    ],
    ids=["off-curve", "short-coordinate", "rsa", "not-a-map"],
)
def test_invalid_device_key(world: World, issued: bytes, device_key: object) -> None:
    def replace(mso: dict[str, object]) -> None:
        mso["deviceKeyInfo"] = {"deviceKey": device_key}

    tampered = world.resign_mso(issued, replace)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DEVICE_KEY_INVALID
    )


def test_device_key_with_private_material_is_refused(world: World, issued: bytes) -> None:
    def leak(mso: dict[str, object]) -> None:
        info = mso["deviceKeyInfo"]
        assert isinstance(info, dict)
        info["deviceKey"][-4] = world.device_key.private_numbers().private_value.to_bytes(32, "big")

    tampered = world.resign_mso(issued, leak)
    assert (
        _reason(lambda: mdoc.verify_issuer_signed(tampered, anchors=[world.iaca], now=NOW))
        == Reason.MDOC_DEVICE_KEY_INVALID
    )


SELF = "org.example.self_asserted"


def test_device_signed_elements_need_key_authorizations(world: World, issued: bytes) -> None:
    response = mdoc.create_device_response(
        issued,
        disclose={mdoc.NAMESPACE_MDL: ["age_over_18"]},
        session_transcript=world.transcript(),
        device_key=world.device_key,
        device_elements={mdoc.NAMESPACE_MDL: {"age_over_65": True}},
    )
    assert _reason(lambda: _verify(world, response)) == Reason.MDOC_DEVICE_ELEMENT_UNAUTHORIZED


def test_device_signed_elements_of_an_authorized_namespace(world: World) -> None:
    issued = mdoc.create_issuer_signed(
        doc_type=mdoc.DOCTYPE_MDL,
        namespaces={mdoc.NAMESPACE_MDL: {"age_over_18": True}},
        device_key=world.device_key.public_key(),
        validity=world.validity(),
        signer_key=world.ds_key,
        certificate_chain=[world.ds],
        random=SystemRandom(),
        device_signed_namespaces=[SELF],
    )
    response = mdoc.create_device_response(
        issued,
        disclose={mdoc.NAMESPACE_MDL: ["age_over_18"]},
        session_transcript=world.transcript(),
        device_key=world.device_key,
        device_elements={SELF: {"nickname": "Lodie"}},
    )
    verified = _verify(world, response)
    assert dict(verified.device_namespaces[SELF]) == {"nickname": "Lodie"}
    assert dict(verified.namespaces[mdoc.NAMESPACE_MDL]) == {"age_over_18": True}


def test_device_signed_elements_authorized_one_by_one(world: World, issued: bytes) -> None:
    def authorize(mso: dict[str, object]) -> None:
        info = mso["deviceKeyInfo"]
        assert isinstance(info, dict)
        info["keyAuthorizations"] = {"dataElements": {SELF: ["nickname"]}}

    authorized = world.resign_mso(issued, authorize)

    def present(elements: dict[str, object]) -> bytes:
        return mdoc.create_device_response(
            authorized,
            disclose={},
            session_transcript=world.transcript(),
            device_key=world.device_key,
            device_elements={SELF: elements},
        )

    assert dict(_verify(world, present({"nickname": "Lodie"})).device_namespaces[SELF]) == {
        "nickname": "Lodie"
    }
    assert (
        _reason(lambda: _verify(world, present({"nickname": "Lodie", "height": 170})))
        == Reason.MDOC_DEVICE_ELEMENT_UNAUTHORIZED
    )

    def garble(mso: dict[str, object]) -> None:
        info = mso["deviceKeyInfo"]
        assert isinstance(info, dict)
        info["keyAuthorizations"] = {"nameSpaces": SELF}

    assert (
        _reason(
            lambda: mdoc.verify_issuer_signed(
                world.resign_mso(issued, garble), anchors=[world.iaca], now=NOW
            )
        )
        == Reason.MDOC_MALFORMED
    )
