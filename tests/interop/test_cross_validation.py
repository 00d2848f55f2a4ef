"""Our SD-JWT VCs against implementations nobody here wrote, in both directions,
with key binding: the PyPI ``sd-jwt`` reference library and ``@sd-jwt/sd-jwt-vc`` 0.19.

* ours → theirs: we issue and present with a KB-JWT; each peer verifies the issuer
  signature, the disclosures and the KB-JWT (nonce, aud, sd_hash), and sees exactly
  the claims we disclosed.
* theirs → ours: each peer issues and presents; our verifier accepts it with key binding
  and reveals the same claims; a wrong nonce is refused with our reason code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from peers import load_pypi_peer, node_ok

from passerelle import PasserelleError, Reason
from passerelle._json import JsonObject
from passerelle.jose import KeySigner, private_jwk, public_jwk
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, present_sd_jwt
from passerelle.sd_jwt_vc import IssuerKeyPolicy, issue_sd_jwt_vc, verify_sd_jwt_vc
from tests.conftest import SeededRandom

pytestmark = pytest.mark.interop

ISSUER = "https://ca-issuer.example"
VCT = "https://credentials.passerelle.example/ca/person/v1"
NONCE = "x-border-nonce-1"
AUD = "x509_hash:verifier-eu"
NOW = datetime.now(UTC).replace(microsecond=0)

SUBJECT: JsonObject = {
    "given_name": "Zoé",
    "family_name": "Lefèvre-Dubois",
    "birthdate": "1988-02-29",
    "address": {"street_address": "12 rue Sainte-Catherine", "locality": "Montréal"},
    "nationalities": ["CA", "FR"],
}
# Every element of `nationalities` is disclosable and none is disclosed: RFC 9901 leaves
# an empty array behind, in our verifier and in both peers alike.
DISCLOSED: JsonObject = {
    "given_name": "Zoé",
    "address": {"street_address": "12 rue Sainte-Catherine"},
    "nationalities": [],
}


@pytest.fixture
def keys() -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey]:
    return ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def pypi() -> ModuleType:
    return load_pypi_peer()


def _ours_presented(issuer: ec.EllipticCurvePrivateKey, holder: ec.EllipticCurvePrivateKey) -> str:
    token = issue_sd_jwt_vc(
        SUBJECT,
        vct=VCT,
        issuer=ISSUER,
        signer=KeySigner(issuer),
        random=SeededRandom(11),
        now=NOW - timedelta(minutes=1),
        disclosable=[
            ("given_name",),
            ("family_name",),
            ("birthdate",),
            ("address",),
            ("address", "street_address"),
            ("address", "locality"),
            ("nationalities", None),
        ],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        max_decoys=3,
    )
    return present_sd_jwt(
        token,
        disclose=[("given_name",), ("address", "street_address")],
        key_binding=KeyBindingInput(signer=KeySigner(holder), nonce=NONCE, audience=AUD, now=NOW),
    )


def _subject_claims(claims: JsonObject) -> JsonObject:
    registered = {"iss", "iat", "exp", "nbf", "vct", "cnf", "_sd_alg", "status", "sub"}
    return {k: v for k, v in claims.items() if k not in registered}


def _ours_verify(token: str, issuer: ec.EllipticCurvePrivateKey, *, nonce: str = NONCE):  # type: ignore[no-untyped-def]
    return verify_sd_jwt_vc(
        token,
        keys=IssuerKeyPolicy(
            issuer_metadata={ISSUER: {"issuer": ISSUER, "jwks": {"keys": [public_jwk(issuer)]}}}
        ),
        algorithms=["ES256"],
        now=NOW,
        key_binding=KeyBindingCheck(nonce=nonce, audience=AUD, max_age=timedelta(minutes=10)),
    )


# --- ours → theirs ----------------------------------------------------------------------


def test_node_peer_verifies_our_presentation(keys) -> None:  # type: ignore[no-untyped-def]
    issuer, holder = keys
    answer = node_ok(
        {
            "op": "verify",
            "token": _ours_presented(issuer, holder),
            "issuerJwk": public_jwk(issuer),
            "requireKeyBinding": True,
            "nonce": NONCE,
            "aud": AUD,
        }
    )
    assert answer["keyBinding"] is True
    assert _subject_claims(answer["payload"]) == DISCLOSED  # type: ignore[arg-type]
    assert answer["payload"]["vct"] == VCT  # type: ignore[index]


def test_node_peer_refuses_our_presentation_for_another_nonce(keys) -> None:  # type: ignore[no-untyped-def]
    from peers import node_error

    issuer, holder = keys
    assert node_error(
        {
            "op": "verify",
            "token": _ours_presented(issuer, holder),
            "issuerJwk": public_jwk(issuer),
            "requireKeyBinding": True,
            "nonce": "another",
            "aud": AUD,
        }
    )


def test_pypi_peer_verifies_our_presentation(keys, pypi) -> None:  # type: ignore[no-untyped-def]
    issuer, holder = keys
    claims = pypi.verify(
        _ours_presented(issuer, holder), public_jwk(issuer), expected_aud=AUD, expected_nonce=NONCE
    )
    assert _subject_claims(claims) == DISCLOSED
    with pytest.raises(pypi.PeerError):
        pypi.verify(
            _ours_presented(issuer, holder),
            public_jwk(issuer),
            expected_aud=AUD,
            expected_nonce="x",
        )


# --- theirs → ours ----------------------------------------------------------------------

_PEER_CLAIMS: JsonObject = {"iss": ISSUER, "vct": VCT, **SUBJECT}


def test_we_verify_a_node_peer_presentation(keys) -> None:  # type: ignore[no-untyped-def]
    issuer, holder = keys
    token = node_ok(
        {
            "op": "issue",
            "payload": {
                **_PEER_CLAIMS,
                "iat": int(NOW.timestamp()) - 60,
                "cnf": {"jwk": public_jwk(holder)},
            },
            "disclosureFrame": {
                "_sd": ["given_name", "family_name", "birthdate", "address"],
                "address": {"_sd": ["street_address", "locality"]},
                "nationalities": {"_sd": [0, 1]},
            },
            "issuerJwk": private_jwk(issuer),
        }
    )["token"]
    shown = node_ok(
        {
            "op": "present",
            "token": token,
            "presentationFrame": {"given_name": True, "address": {"street_address": True}},
            "holderJwk": private_jwk(holder),
            "nonce": NONCE,
            "aud": AUD,
            "iat": int(NOW.timestamp()),
        }
    )["token"]
    assert isinstance(shown, str)
    verified = _ours_verify(shown, issuer)
    assert verified.holder_bound
    assert _subject_claims(verified.claims) == DISCLOSED
    with pytest.raises(PasserelleError) as err:
        _ours_verify(shown, issuer, nonce="another")
    assert err.value.reason is Reason.KB_JWT_NONCE_MISMATCH


def test_we_verify_a_pypi_peer_presentation(keys, pypi) -> None:  # type: ignore[no-untyped-def]
    issuer, holder = keys
    token = pypi.issue(
        {**_PEER_CLAIMS, "iat": int(NOW.timestamp()) - 60},
        [("given_name",), ("family_name",), ("address",), ("address", "street_address")],
        private_jwk(issuer),
        public_jwk(holder),
        decoys=True,
    )
    shown = pypi.present(
        token,
        {"given_name": True, "address": {"street_address": True}},
        private_jwk(holder),
        nonce=NONCE,
        aud=AUD,
        iat=int(NOW.timestamp()),
    )
    verified = _ours_verify(shown, issuer)
    assert verified.holder_bound
    subject = _subject_claims(verified.claims)
    assert subject["given_name"] == "Zoé"
    # Only street_address was made disclosable inside address; locality stays in clear.
    assert subject["address"] == {
        "street_address": "12 rue Sainte-Catherine",
        "locality": "Montréal",
    }
    assert "family_name" not in subject
    with pytest.raises(PasserelleError) as err:
        _ours_verify(shown, issuer, nonce="another")
    assert err.value.reason is Reason.KB_JWT_NONCE_MISMATCH
