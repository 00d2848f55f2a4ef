"""Unknown members are ignored wherever the specifications say so, at every level of
every message the core parses, on both sides (issuer and wallet, verifier and wallet).

Each case sends the message a conforming peer would send plus random members nobody
defined, and checks that the parse succeeds, reads the known members unchanged, and
keeps the unknown ones aside (``extra``) instead of acting on them. The sentences:

- OpenID4VCI 1.0 §4.1.1 (offer), §12.2.4 (metadata): "The Wallet MUST ignore any
  unrecognized parameters."
- §6.1 (token): "The Authorization Server MUST ignore any unrecognized parameters."
- §8.2 (credential), §9.1, §11.1: "The Credential Issuer MUST ignore any unrecognized
  parameters."
- OpenID4VP 1.0 §5 (request): "The Wallet MUST ignore any unrecognized parameters,
  other than the `transaction_data` parameter."
- §6 (DCQL): "Implementations MUST ignore any unknown properties."
- §8.1 (response): "The Client MUST ignore any unrecognized parameters."
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from passerelle._json import JsonObject
from passerelle.dcql import parse_dcql_query
from passerelle.oid4vci import (
    parse_credential_offer,
    parse_credential_request,
    parse_deferred_request,
    parse_notification_request,
    parse_token_request,
)
from passerelle.oid4vp import (
    ResponseMode,
    parse_authorization_request,
    parse_authorization_response,
)

ISSUER = "https://credential-issuer.example.com"
PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def _noise() -> dict[str, Any]:
    text, nested = (f"x_{secrets.token_hex(4)}" for _ in range(2))
    return {text: secrets.token_urlsafe(8), nested: {"nested": [1, {"deep": True}]}}


def _text_noise() -> dict[str, str]:
    return {f"x_{secrets.token_hex(4)}": secrets.token_urlsafe(8) for _ in range(2)}


def test_credential_offer_with_unknown_members_at_every_level() -> None:
    top, grants, pre, tx, auth = _noise(), _noise(), _noise(), _noise(), _noise()
    offer = parse_credential_offer(
        {
            "credential_issuer": ISSUER,
            "credential_configuration_ids": ["UniversityDegreeCredential"],
            "grants": {
                PRE: {
                    "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
                    "tx_code": {"input_mode": "numeric", "length": 6, **tx},
                    **pre,
                },
                "authorization_code": {"issuer_state": "eyJhbGci", **auth},
                "urn:example:unknown-grant": {"x": 1},
                **grants,
            },
            **top,
        }
    )
    assert offer.credential_configuration_ids == ("UniversityDegreeCredential",)
    assert offer.grants is not None
    assert offer.grants.pre_authorized_code is not None
    assert offer.grants.pre_authorized_code.pre_authorized_code == "oaKazRN8I0IbtZ0C7JuMn5"
    assert offer.grants.pre_authorized_code.tx_code is not None
    assert offer.grants.pre_authorized_code.tx_code.length == 6
    assert offer.grants.authorization_code is not None
    assert offer.grants.authorization_code.issuer_state == "eyJhbGci"
    assert offer.extra == top
    assert offer.grants.pre_authorized_code.extra == pre
    assert offer.grants.authorization_code.extra == auth
    assert set(grants) <= set(offer.grants.other)


def test_token_request_with_unknown_parameters() -> None:
    noise = _text_noise()
    request = parse_token_request(
        {"grant_type": PRE, "pre-authorized_code": "code", "tx_code": "493536", **noise}
    )
    assert request.pre_authorized_code == "code"
    assert request.tx_code == "493536"
    assert request.extra == noise


def test_credential_request_with_unknown_parameters() -> None:
    noise = _noise()
    request = parse_credential_request(
        {"credential_configuration_id": "pid", "proofs": {"jwt": ["a.b.c"]}, **noise},
        metadata_configurations={"pid": {"format": "dc+sd-jwt"}},
        authorized=["pid"],
    )
    assert request.credential_configuration_id == "pid"
    assert request.proofs == ("a.b.c",)
    assert request.extra == noise


def test_deferred_and_notification_requests_with_unknown_parameters() -> None:
    noise = _noise()
    deferred = parse_deferred_request({"transaction_id": "8xLOxBtZp8", **noise})
    assert deferred.transaction_id == "8xLOxBtZp8"
    assert deferred.extra == noise
    notification = parse_notification_request(
        {"notification_id": "3fwe98js", "event": "credential_accepted", **noise}
    )
    assert notification.notification_id == "3fwe98js"
    assert notification.extra == noise


DCQL: JsonObject = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:eudi:pid:1"], "x_meta": 1},
            "claims": [{"path": ["given_name"], "x_claim": True}],
            "x_credential": {"a": 1},
        }
    ],
    "credential_sets": [{"options": [["pid"]], "x_set": "y"}],
    "x_top": [1, 2],
}


def test_dcql_query_with_unknown_properties_at_every_level() -> None:
    query = parse_dcql_query(DCQL)
    assert [c.id for c in query.credentials] == ["pid"]
    assert query.extra == {"x_top": [1, 2]}
    assert query.credentials[0].extra == {"x_credential": {"a": 1}}


def test_authorization_request_with_unknown_parameters_and_metadata_members() -> None:
    noise = _noise()
    request = parse_authorization_request(
        {
            "client_id": "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            "response_type": "vp_token",
            "response_mode": "direct_post.jwt",
            "response_uri": "https://verifier.example/post",
            "nonce": "n-0S6_WzA2Mj",
            "state": "st-1",
            "dcql_query": DCQL,
            "client_metadata": {
                "jwks": {
                    "keys": [
                        {
                            "kty": "EC",
                            "crv": "P-256",
                            "kid": "k1",
                            "use": "enc",
                            "alg": "ECDH-ES",
                            "x": "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0",
                            "y": "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc",
                            "x_key_member": "kept",
                        }
                    ]
                },
                "vp_formats_supported": {"dc+sd-jwt": {"x_alg_values": ["ES256"]}},
                "x_metadata": {"any": "thing"},
            },
            **noise,
        },
        from_request_object=True,
    )
    assert request.response_mode is ResponseMode.DIRECT_POST_JWT
    assert request.nonce == "n-0S6_WzA2Mj"
    assert request.extra == noise
    assert request.client_metadata is not None
    assert request.client_metadata.extra == {"x_metadata": {"any": "thing"}}


def test_authorization_response_with_unknown_parameters() -> None:
    noise = _text_noise()
    vp_token = {"pid": ["eyJhbGciOiJFUzI1NiJ9.e30.c2ln~"]}
    parsed = parse_authorization_response(
        {"vp_token": json.dumps(vp_token), "state": "st-1", **noise},
        response_mode=ResponseMode.DIRECT_POST,
        expected_state="st-1",
        decrypt=None,
    )
    assert parsed.vp_token == {"pid": ("eyJhbGciOiJFUzI1NiJ9.e30.c2ln~",)}
    assert parsed.extra == noise


def test_key_proof_with_unknown_header_members_and_claims() -> None:
    """A key proof is a JWT: unknown claims and non-critical header parameters are
    ignored (RFC 7519 §4: "all claims that are not understood by implementations MUST be
    ignored"; RFC 7515 §4: a recipient ignores header parameters it does not understand
    unless listed in ``crit``)."""
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives.asymmetric import ec

    from passerelle.jose import KeySigner, epoch, public_jwk, sign_jws
    from passerelle.oid4vci import verify_jwt_proof

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    holder = ec.generate_private_key(ec.SECP256R1())
    header = {"typ": "openid4vci-proof+jwt", "jwk": public_jwk(holder), "x_header": "h"}
    claims = {"aud": ISSUER, "iat": epoch(now), "nonce": "n", "jti": "j-1", **_noise()}
    proof = verify_jwt_proof(
        sign_jws(header, claims, KeySigner(holder)),
        audience=ISSUER,
        expected_nonce="n",
        algorithms=["ES256"],
        now=now,
        max_age=timedelta(minutes=5),
        skew=timedelta(seconds=30),
        client_id=None,
    )
    assert proof.jwk == public_jwk(holder)
