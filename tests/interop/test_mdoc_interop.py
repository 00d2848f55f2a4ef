"""mdoc interoperability with implementations nobody here wrote.

- npm ``@animo-id/mdoc`` (behind ``mdoc_peer.mjs``): it verifies an IssuerSigned and a
  DeviceResponse made by us, we verify a DeviceResponse made by it; tampered versions
  are refused by both sides.
- PyPI ``pymdoccbor`` (with ``pycose``): it verifies the issuer signature and element
  digests of our DeviceResponse (its verifier does not check device authentication),
  and we verify an mdoc it issued.

Keys and certificates are made here; the session transcript is the OpenID4VP 1.0 one.
Locally a missing peer skips; with ``CI`` set it fails.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from peers import peer_unavailable, run_node

from passerelle import mdoc
from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject
from passerelle.jose import private_jwk, public_jwk
from tests.unit.mdoc_world import NOW, World, make_ds, make_iaca

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
PEER = HERE / "mdoc_peer.mjs"

ELEMENTS: dict[str, object] = {
    "family_name": "Tremblay",
    "given_name": "Élodie",
    "issuing_country": "CA",
    "document_number": "T6543-210987-01",
    "age_over_18": True,
    "age_over_21": False,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _node(request: JsonObject) -> tuple[int, JsonObject]:
    return run_node(PEER, request, package="@animo-id/mdoc")


def _node_ok(request: JsonObject) -> JsonObject:
    code, answer = _node(request)
    assert code == 0, answer
    return answer


def _node_refuses(request: dict[str, object]) -> str:
    code, answer = _node(request)
    assert code == 1, answer
    error = answer.get("error")
    assert isinstance(error, str)
    assert error
    return error


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _der(world: World) -> str:
    return _b64(world.iaca.public_bytes(Encoding.DER))


def _tamper_first_value(response: bytes) -> bytes:
    """The DeviceResponse with the first disclosed element's value changed, its
    IssuerSignedItem re-wrapped (so only the digest can tell)."""
    decoded = cbor2.loads(response)
    items = decoded["documents"][0]["issuerSigned"]["nameSpaces"][mdoc.NAMESPACE_MDL]
    item = cbor2.loads(items[0].value)
    value = item["elementValue"]
    item["elementValue"] = (not value) if isinstance(value, bool) else f"{value}x"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    return bytes(cbor2.dumps(decoded))


# --- @animo-id/mdoc verifies ours --------------------------------------------------------


def test_animo_verifies_our_issuer_signed(world: World) -> None:
    issued = world.issue(elements=ELEMENTS)
    answer = _node_ok(
        {
            "op": "verifyIssuerSigned",
            "issuerSigned": _b64(issued),
            "docType": mdoc.DOCTYPE_MDL,
            "trusted": [_der(world)],
            "now": NOW.isoformat(),
        }
    )
    assert answer["docType"] == mdoc.DOCTYPE_MDL
    assert answer["nameSpaces"] == {mdoc.NAMESPACE_MDL: ELEMENTS}


def test_animo_verifies_our_device_response(world: World) -> None:
    response = world.present(world.issue(elements=ELEMENTS), "given_name", "age_over_18")
    answer = _node_ok(
        {
            "op": "verify",
            "deviceResponse": _b64(response),
            "sessionTranscript": _b64(world.transcript()),
            "trusted": [_der(world)],
            "now": NOW.isoformat(),
        }
    )
    assert answer["documents"] == [
        {
            "docType": mdoc.DOCTYPE_MDL,
            "nameSpaces": {mdoc.NAMESPACE_MDL: {"given_name": "Élodie", "age_over_18": True}},
        }
    ]


def test_animo_refuses_our_tampered_device_response(world: World) -> None:
    response = world.present(world.issue(elements=ELEMENTS), "age_over_21")
    base = {
        "op": "verify",
        "sessionTranscript": _b64(world.transcript()),
        "trusted": [_der(world)],
        "now": NOW.isoformat(),
    }
    _node_refuses({**base, "deviceResponse": _b64(_tamper_first_value(response))})
    # Presented for another nonce: the device signature does not cover this session.
    _node_refuses(
        {**base, "deviceResponse": _b64(response), "sessionTranscript": _b64(world.transcript("x"))}
    )
    # An IACA the peer does not trust.
    stranger = make_iaca(ec.generate_private_key(ec.SECP256R1()))
    _node_refuses(
        {
            **base,
            "deviceResponse": _b64(response),
            "trusted": [_b64(stranger.public_bytes(Encoding.DER))],
        }
    )


# --- we verify @animo-id/mdoc's ----------------------------------------------------------


@pytest.fixture(scope="module")
def animo_response(world: World) -> bytes:
    validity = world.validity()
    issued = _node_ok(
        {
            "op": "issue",
            "docType": mdoc.DOCTYPE_MDL,
            "nameSpaces": {mdoc.NAMESPACE_MDL: ELEMENTS},
            "devicePublicJwk": public_jwk(world.device_key),
            "issuerPrivateJwk": private_jwk(world.ds_key),
            "issuerCertificate": _b64(world.ds.public_bytes(Encoding.DER)),
            "validity": {
                "signed": validity.signed.isoformat(),
                "validFrom": validity.valid_from.isoformat(),
                "validUntil": validity.valid_until.isoformat(),
            },
        }
    )
    # Our verifier accepts the peer's IssuerSigned as issued, too.
    issuer_signed = issued["issuerSigned"]
    assert isinstance(issuer_signed, str)
    verified = mdoc.verify_issuer_signed(_unb64(issuer_signed), anchors=[world.iaca], now=NOW)
    assert dict(verified.namespaces[mdoc.NAMESPACE_MDL]) == ELEMENTS
    presented = _node_ok(
        {
            "op": "present",
            "mdoc": issued["mdoc"],
            "docType": mdoc.DOCTYPE_MDL,
            "disclose": {mdoc.NAMESPACE_MDL: ["family_name", "age_over_18"]},
            "devicePrivateJwk": private_jwk(world.device_key),
            "sessionTranscript": _b64(world.transcript()),
        }
    )
    response = presented["deviceResponse"]
    assert isinstance(response, str)
    return _unb64(response)


def test_we_verify_animo_device_response(world: World, animo_response: bytes) -> None:
    verified = mdoc.verify_device_response(
        animo_response,
        session_transcript=world.transcript(),
        anchors=[world.iaca],
        now=NOW,
        expected_doc_type=mdoc.DOCTYPE_MDL,
    )
    assert dict(verified.namespaces[mdoc.NAMESPACE_MDL]) == {
        "family_name": "Tremblay",
        "age_over_18": True,
    }
    assert verified.device_auth == "signature"
    assert verified.document_signer == world.ds


def test_we_refuse_tampered_animo_device_response(world: World, animo_response: bytes) -> None:
    def reason(data: bytes, transcript: bytes) -> Reason:
        with pytest.raises(PasserelleError) as info:
            mdoc.verify_device_response(
                data, session_transcript=transcript, anchors=[world.iaca], now=NOW
            )
        return info.value.reason

    assert reason(_tamper_first_value(animo_response), world.transcript()) == (
        Reason.MDOC_DIGEST_MISMATCH
    )
    assert reason(animo_response, world.transcript("another")) == (
        Reason.MDOC_DEVICE_SIGNATURE_INVALID
    )


# --- pymdoccbor -------------------------------------------------------------------------


def _pymdoccbor() -> object:
    try:
        import pymdoccbor.mdoc.verifier as verifier
    except ImportError as exc:
        peer_unavailable(f"pymdoccbor cannot be imported: {exc}")
        raise
    return verifier


def test_pymdoccbor_verifies_our_device_response(world: World) -> None:
    verifier = _pymdoccbor()
    response = world.present(world.issue(elements=ELEMENTS), "family_name", "age_over_21")
    ours = verifier.MdocCbor()  # type: ignore[attr-defined]
    ours.loads(response)
    assert ours.verify(trusted_root_certs=[world.iaca]) is True

    tampered = verifier.MdocCbor()  # type: ignore[attr-defined]
    tampered.loads(_tamper_first_value(response))
    assert tampered.verify(trusted_root_certs=[world.iaca]) is False

    stranger = make_iaca(ec.generate_private_key(ec.SECP256R1()))
    untrusted = verifier.MdocCbor()  # type: ignore[attr-defined]
    untrusted.loads(response)
    assert untrusted.verify(trusted_root_certs=[stranger]) is False


def test_we_verify_a_pymdoccbor_mdoc() -> None:
    try:
        from pymdoccbor.mdoc.issuer import MdocCborIssuer
    except ImportError as exc:
        peer_unavailable(f"pymdoccbor cannot be imported: {exc}")
        raise
    # pymdoccbor reads the clock itself (validFrom = now), so this world lives now.
    now = datetime.now(UTC)
    world = World()
    world.iaca = make_iaca(world.iaca_key)
    world.ds = make_ds(world.iaca, world.iaca_key, world.ds_key, not_before=now - timedelta(days=1))
    ds_numbers = world.ds_key.private_numbers()
    device = mdoc.cose_key_from_public(world.device_key.public_key())
    issuer = MdocCborIssuer(
        # The peer signs with the key's own alg (label 3), ES256 here.
        private_key={
            1: 2,
            3: -7,
            -1: 1,
            -2: ds_numbers.public_numbers.x.to_bytes(32, "big"),
            -3: ds_numbers.public_numbers.y.to_bytes(32, "big"),
            -4: ds_numbers.private_value.to_bytes(32, "big"),
        },
        alg="ES256",
    )
    issuer.new(
        data={mdoc.NAMESPACE_MDL: ELEMENTS},
        doctype=mdoc.DOCTYPE_MDL,
        validity={
            "issuance_date": now.date().isoformat(),
            "expiry_date": (now + timedelta(days=30)).date().isoformat(),
        },
        devicekeyinfo=device,
        x509_chain=[world.ds],
    )
    document = cbor2.loads(issuer.dump())["documents"][0]
    issuer_signed = cbor2.dumps(document["issuerSigned"])
    verified = mdoc.verify_issuer_signed(
        issuer_signed, anchors=[world.iaca], now=now + timedelta(minutes=1)
    )
    assert dict(verified.namespaces[mdoc.NAMESPACE_MDL]) == ELEMENTS
    # And holder binding on top of the peer's issuance, through our DeviceResponse.
    response = mdoc.create_device_response(
        issuer_signed,
        disclose={mdoc.NAMESPACE_MDL: ["age_over_18"]},
        session_transcript=world.transcript(),
        device_key=world.device_key,
    )
    presented = mdoc.verify_device_response(
        response,
        session_transcript=world.transcript(),
        anchors=[world.iaca],
        now=now + timedelta(minutes=1),
    )
    assert dict(presented.namespaces[mdoc.NAMESPACE_MDL]) == {"age_over_18": True}
