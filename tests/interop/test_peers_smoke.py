"""Each interop peer works on its own, before anything of ours is compared with it.

For both peers (the npm ``@sd-jwt/*`` libraries behind ``sdjwt_peer.mjs`` and the PyPI
``sd-jwt`` library behind ``pypi_peer.py``): issue, verify, present with a KB-JWT,
verify with the KB-JWT, and the rejections a cross-validation test will lean on. The
``*_known_deviations`` tests pin what README.md says each library does differently from
RFC 9901, so that an upgrade that changes it is noticed.

Locally a missing ``node`` or ``node_modules`` skips; with ``CI`` set it fails.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from peers import load_pypi_peer, node_error, node_ok, require_node_peer

from passerelle._json import JsonObject, b64url_decode, b64url_encode, parse_json_object
from passerelle.jose import private_jwk, public_jwk

pytestmark = pytest.mark.interop

NODE_PEER = Path(__file__).resolve().parent / "sdjwt_peer.mjs"

ISSUER = "https://issuer.example.ca"
VCT = "https://credentials.example.ca/person/v1"
NONCE = "n-0S6_WzA2Mj"
AUD = "https://verifier.example.eu"
KB_IAT = 1_700_000_100


@pytest.fixture
def pypi() -> ModuleType:
    return load_pypi_peer()


# --- shared data -----------------------------------------------------------------------


# Local on purpose, shadowing tests/conftest.py: both peers are wired for ES256 only.
@pytest.fixture
def issuer_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def holder_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def person_claims(holder: ec.EllipticCurvePrivateKey) -> JsonObject:
    return {
        "iss": ISSUER,
        "vct": VCT,
        "iat": 1_700_000_000,
        "cnf": {"jwk": public_jwk(holder)},
        "given_name": "Ada",
        "family_name": "Tremblay",
        "birthdate": "1990-01-01",
        "address": {"street_address": "1 rue Principale", "locality": "Gatineau", "country": "CA"},
        "nationalities": ["CA", "FR"],
    }


def split(token: str) -> tuple[str, list[str], str]:
    """Issuer-signed JWT, Disclosures, and the KB-JWT ('' when absent)."""
    jwt, *disclosures, kb = token.split("~")
    return jwt, disclosures, kb


def jwt_part(compact: str, index: int) -> JsonObject:
    return parse_json_object(b64url_decode(compact.split(".")[index]))


def sha256_b64(text: str) -> str:
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def expected_sd_hash(presentation: str) -> str:
    """RFC 9901 §4.3.1: the hash over everything up to and including the last '~'."""
    return sha256_b64(presentation[: presentation.rindex("~") + 1])


def digests_in(value: Any) -> set[str]:
    """Every ``_sd`` and ``...`` digest in a payload or disclosure value, recursively."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, member in value.items():
            if name == "_sd":
                found.update(member)
            elif name == "...":
                found.add(member)
            else:
                found |= digests_in(member)
    elif isinstance(value, list):
        for element in value:
            found |= digests_in(element)
    return found


def tamper_payload(token: str) -> str:
    jwt, rest = token.split("~", 1)
    header, payload, signature = jwt.split(".")
    claims = parse_json_object(b64url_decode(payload))
    claims["vct"] = "https://credentials.example.ca/other"
    forged = b64url_encode(json.dumps(claims).encode())
    return f"{header}.{forged}.{signature}~{rest}"


def add_disclosure(token: str, disclosure: list[Any]) -> str:
    """Append a Disclosure that no digest in the token refers to (before any KB-JWT)."""
    jwt, disclosures, kb = split(token)
    encoded = b64url_encode(json.dumps(disclosure).encode())
    return "~".join([jwt, *disclosures, encoded, kb])


# --- npm @sd-jwt peer --------------------------------------------------------------------

NODE_FRAME: JsonObject = {
    "_sd": ["given_name", "family_name", "birthdate", "address"],
    "address": {"_sd": ["street_address"]},
    "nationalities": {"_sd": [1]},
}


def node_issue(
    issuer: ec.EllipticCurvePrivateKey, holder: ec.EllipticCurvePrivateKey, **extra: Any
) -> str:
    request: JsonObject = {
        "op": "issue",
        "payload": person_claims(holder),
        "disclosureFrame": NODE_FRAME,
        "issuerJwk": private_jwk(issuer),
        **extra,
    }
    token = node_ok(request)["token"]
    assert isinstance(token, str)
    return token


def node_present(token: str, holder: ec.EllipticCurvePrivateKey) -> str:
    presentation = node_ok(
        {
            "op": "present",
            "token": token,
            "presentationFrame": {"given_name": True, "address": {"street_address": True}},
            "holderJwk": private_jwk(holder),
            "nonce": NONCE,
            "aud": AUD,
            "iat": KB_IAT,
        }
    )["token"]
    assert isinstance(presentation, str)
    return presentation


def test_node_peer_issues_an_sd_jwt_vc(
    issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    token = node_issue(issuer_key, holder_key)
    jwt, disclosures, kb = split(token)
    assert kb == ""
    assert jwt_part(jwt, 0) == {"typ": "dc+sd-jwt", "alg": "ES256"}
    payload = jwt_part(jwt, 1)
    assert payload["_sd_alg"] == "sha-256"
    for hidden in ("given_name", "family_name", "birthdate", "address"):
        assert hidden not in payload
    assert payload["iss"] == ISSUER
    assert payload["vct"] == VCT
    assert len(disclosures) == 6
    # Every Disclosure is referenced by its SHA-256 digest, checked with our own hashing.
    referenced = digests_in(payload)
    for encoded in disclosures:
        referenced |= digests_in(json.loads(b64url_decode(encoded))[-1])
    assert {sha256_b64(d) for d in disclosures} <= referenced

    decoded = node_ok({"op": "decode", "token": token})
    assert decoded["payload"] == payload
    assert decoded["claims"] == person_claims(holder_key)
    assert decoded["disclosureDigests"] == [sha256_b64(d) for d in disclosures]
    assert decoded["disclosures"] == [json.loads(b64url_decode(d)) for d in disclosures]
    assert decoded["kbJwt"] is None


def test_node_peer_round_trip_with_key_binding(
    issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    token = node_issue(issuer_key, holder_key)
    verified = node_ok({"op": "verify", "token": token, "issuerJwk": public_jwk(issuer_key)})
    assert verified["payload"] == person_claims(holder_key)
    assert verified["keyBinding"] is False
    assert verified["header"] == {"typ": "dc+sd-jwt", "alg": "ES256"}

    presentation = node_present(token, holder_key)
    _, disclosures, kb = split(presentation)
    assert len(disclosures) == 3  # given_name, address, address.street_address
    assert jwt_part(kb, 0) == {"typ": "kb+jwt", "alg": "ES256"}
    assert jwt_part(kb, 1) == {
        "iat": KB_IAT,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": expected_sd_hash(presentation),
    }

    verified = node_ok(
        {
            "op": "verify",
            "token": presentation,
            "issuerJwk": public_jwk(issuer_key),
            "requireKeyBinding": True,
            "nonce": NONCE,
            "aud": AUD,
        }
    )
    assert verified["keyBinding"] is True
    payload = verified["payload"]
    assert isinstance(payload, dict)
    assert payload["given_name"] == "Ada"
    assert payload["address"] == {
        "street_address": "1 rue Principale",
        "locality": "Gatineau",
        "country": "CA",
    }
    assert payload["nationalities"] == ["CA"]
    for withheld in ("family_name", "birthdate"):
        assert withheld not in payload
    kb_answer = verified["kb"]
    assert isinstance(kb_answer, dict)
    assert kb_answer["payload"] == jwt_part(kb, 1)


@pytest.mark.parametrize(
    "case",
    [
        "wrong_nonce",
        "wrong_aud",
        "wrong_issuer_key",
        "kb_missing",
        "kb_by_other_key",
        "tampered_payload",
    ],
)
def test_node_peer_rejects(
    case: str, issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    token = node_issue(issuer_key, holder_key)
    presentation = node_present(token, holder_key)
    request: JsonObject = {
        "op": "verify",
        "token": presentation,
        "issuerJwk": public_jwk(issuer_key),
        "requireKeyBinding": True,
        "nonce": NONCE,
        "aud": AUD,
    }
    if case == "wrong_nonce":
        request["nonce"] = "another-nonce"
    elif case == "wrong_aud":
        request["aud"] = "https://other-verifier.example"
    elif case == "wrong_issuer_key":
        request["issuerJwk"] = public_jwk(ec.generate_private_key(ec.SECP256R1()))
    elif case == "kb_missing":
        request["token"] = token
    elif case == "kb_by_other_key":
        request["token"] = node_present(token, ec.generate_private_key(ec.SECP256R1()))
    elif case == "tampered_payload":
        request["token"] = tamper_payload(presentation)
    node_error(request)


def test_node_peer_protocol_errors() -> None:
    assert node_error({"op": "no-such-op"})
    assert node_error({"op": "verify"})
    require_node_peer()
    completed = subprocess.run(
        ["node", str(NODE_PEER)],
        input="not json",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "error" in parse_json_object(completed.stdout)


def test_node_peer_never_touches_the_network(
    issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    status = {"status_list": {"idx": 3, "uri": "https://status.example.ca/lists/1"}}
    token = node_issue(
        issuer_key, holder_key, payload={**person_claims(holder_key), "status": status}
    )
    # Without the list in the request's "statusLists" the library would have fetched it.
    error = node_error({"op": "verify", "token": token, "issuerJwk": public_jwk(issuer_key)})
    assert "https://status.example.ca/lists/1" in error


def test_node_peer_known_deviations(
    issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    issuer_jwk = public_jwk(issuer_key)
    token = node_issue(issuer_key, holder_key)

    # RFC 9901 §7.1: a Disclosure no digest refers to MUST make the SD-JWT rejected.
    stray = add_disclosure(token, ["c2FsdHNhbHRzYWx0c2FsdA", "nickname", "stray"])
    accepted = node_ok({"op": "verify", "token": stray, "issuerJwk": issuer_jwk})
    assert isinstance(accepted["payload"], dict)
    assert "nickname" not in accepted["payload"]

    # RFC 9901 §7.1: a disclosed name that already exists at that level MUST be rejected.
    shadow = ["c2FsdHNhbHRzYWx0c2FsdA", "iss", "https://attacker.example"]
    shadow_encoded = b64url_encode(json.dumps(shadow).encode())
    claims: JsonObject = {**person_claims(holder_key), "_sd": [sha256_b64(shadow_encoded)]}
    signed = node_ok({"op": "issue", "payload": claims, "issuerJwk": private_jwk(issuer_key)})[
        "token"
    ]
    assert isinstance(signed, str)
    answer = node_ok(
        {"op": "verify", "token": f"{signed}{shadow_encoded}~", "issuerJwk": issuer_jwk}
    )
    assert isinstance(answer["payload"], dict)
    assert answer["payload"]["iss"] == "https://attacker.example"

    # SD-JWT VC: typ must be dc+sd-jwt; the library's verify does not look.
    plain = node_issue(issuer_key, holder_key, header={"typ": "JWT"})
    answer = node_ok({"op": "verify", "token": plain, "issuerJwk": issuer_jwk})
    assert answer["header"] == {"typ": "JWT", "alg": "ES256"}


# --- PyPI sd-jwt peer ----------------------------------------------------------------------

PYPI_DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("birthdate",),
    ("address",),
    ("address", "street_address"),
    ("nationalities", 1),
]
PYPI_DISCLOSE = {"given_name": True, "address": {"street_address": True}}


def pypi_issue(
    pypi: ModuleType,
    issuer: ec.EllipticCurvePrivateKey,
    holder: ec.EllipticCurvePrivateKey,
    **options: Any,
) -> str:
    claims = {k: v for k, v in person_claims(holder).items() if k != "cnf"}
    token = pypi.issue(claims, PYPI_DISCLOSABLE, private_jwk(issuer), public_jwk(holder), **options)
    assert isinstance(token, str)
    return token


def test_pypi_peer_issues_an_sd_jwt_vc(
    pypi: ModuleType, issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    token = pypi_issue(pypi, issuer_key, holder_key)
    jwt, disclosures, kb = split(token)
    assert kb == ""
    assert jwt_part(jwt, 0) == {"alg": "ES256", "typ": "dc+sd-jwt"}
    payload = jwt_part(jwt, 1)
    assert payload["_sd_alg"] == "sha-256"
    assert payload["cnf"] == {"jwk": public_jwk(holder_key)}
    for hidden in ("given_name", "family_name", "birthdate", "address"):
        assert hidden not in payload
    assert len(disclosures) == 6
    referenced = digests_in(payload)
    for encoded in disclosures:
        referenced |= digests_in(json.loads(b64url_decode(encoded))[-1])
    assert {sha256_b64(d) for d in disclosures} <= referenced


def test_pypi_peer_round_trip_with_key_binding(
    pypi: ModuleType, issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    token = pypi_issue(pypi, issuer_key, holder_key)
    claims = pypi.verify(token, public_jwk(issuer_key), expected_aud=None, expected_nonce=None)
    assert claims == person_claims(holder_key)

    presentation = pypi.present(
        token, PYPI_DISCLOSE, private_jwk(holder_key), nonce=NONCE, aud=AUD, iat=KB_IAT
    )
    _, disclosures, kb = split(presentation)
    assert len(disclosures) == 3  # given_name, address, address.street_address
    assert jwt_part(kb, 0) == {"alg": "ES256", "typ": "kb+jwt"}
    assert jwt_part(kb, 1) == {
        "nonce": NONCE,
        "aud": AUD,
        "iat": KB_IAT,
        "sd_hash": expected_sd_hash(presentation),
    }

    disclosed = pypi.verify(
        presentation, public_jwk(issuer_key), expected_aud=AUD, expected_nonce=NONCE
    )
    assert disclosed["given_name"] == "Ada"
    assert disclosed["address"] == {
        "street_address": "1 rue Principale",
        "locality": "Gatineau",
        "country": "CA",
    }
    assert disclosed["nationalities"] == ["CA"]
    for withheld in ("family_name", "birthdate"):
        assert withheld not in disclosed


@pytest.mark.parametrize(
    "case",
    [
        "wrong_nonce",
        "wrong_aud",
        "wrong_issuer_key",
        "kb_missing",
        "kb_by_other_key",
        "tampered_payload",
        "duplicate_disclosure",
    ],
)
def test_pypi_peer_rejects(
    case: str,
    pypi: ModuleType,
    issuer_key: ec.EllipticCurvePrivateKey,
    holder_key: ec.EllipticCurvePrivateKey,
) -> None:
    token = pypi_issue(pypi, issuer_key, holder_key)
    presentation = pypi.present(token, PYPI_DISCLOSE, private_jwk(holder_key), nonce=NONCE, aud=AUD)
    issuer_jwk = public_jwk(issuer_key)
    nonce, aud = NONCE, AUD
    if case == "wrong_nonce":
        nonce = "another-nonce"
    elif case == "wrong_aud":
        aud = "https://other-verifier.example"
    elif case == "wrong_issuer_key":
        issuer_jwk = public_jwk(ec.generate_private_key(ec.SECP256R1()))
    elif case == "kb_missing":
        presentation = token
    elif case == "kb_by_other_key":
        other = private_jwk(ec.generate_private_key(ec.SECP256R1()))
        presentation = pypi.present(token, PYPI_DISCLOSE, other, nonce=NONCE, aud=AUD)
    elif case == "tampered_payload":
        presentation = tamper_payload(presentation)
    elif case == "duplicate_disclosure":
        jwt, disclosures, kb = split(presentation)
        presentation = "~".join([jwt, *disclosures, disclosures[0], kb])
    with pytest.raises(pypi.PeerError):
        pypi.verify(presentation, issuer_jwk, expected_aud=aud, expected_nonce=nonce)


def test_pypi_peer_refuses_unknown_claim_paths(
    pypi: ModuleType, issuer_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(pypi.PeerError):
        pypi.issue({"iss": ISSUER, "vct": VCT}, [("given_name",)], private_jwk(issuer_key))


def test_pypi_peer_known_deviations(
    pypi: ModuleType, issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    issuer_jwk = public_jwk(issuer_key)
    token = pypi_issue(pypi, issuer_key, holder_key)

    # RFC 9901 §7.1: a Disclosure no digest refers to MUST make the SD-JWT rejected.
    stray = add_disclosure(token, ["c2FsdHNhbHRzYWx0c2FsdA", "nickname", "stray"])
    claims = pypi.verify(stray, issuer_jwk, expected_aud=None, expected_nonce=None)
    assert "nickname" not in claims

    # Neither exp nor the issuer-signed JWT's typ is checked.
    expired = pypi.issue(
        {"iss": ISSUER, "vct": VCT, "exp": 1_000_000_000}, [], private_jwk(issuer_key), typ="JWT"
    )
    claims = pypi.verify(expired, issuer_jwk, expected_aud=None, expected_nonce=None)
    assert claims["exp"] == 1_000_000_000


# --- the two peers agree with each other ----------------------------------------------------


def test_peers_accept_each_others_presentations(
    pypi: ModuleType, issuer_key: ec.EllipticCurvePrivateKey, holder_key: ec.EllipticCurvePrivateKey
) -> None:
    """A baseline for cross-validation: if the peers disagree, neither is an oracle."""
    issuer_jwk = public_jwk(issuer_key)
    from_node = node_present(node_issue(issuer_key, holder_key), holder_key)
    claims = pypi.verify(from_node, issuer_jwk, expected_aud=AUD, expected_nonce=NONCE)
    assert claims["given_name"] == "Ada"
    assert "family_name" not in claims

    token = pypi_issue(pypi, issuer_key, holder_key)
    from_pypi = pypi.present(token, PYPI_DISCLOSE, private_jwk(holder_key), nonce=NONCE, aud=AUD)
    answer = node_ok(
        {
            "op": "verify",
            "token": from_pypi,
            "issuerJwk": issuer_jwk,
            "requireKeyBinding": True,
            "nonce": NONCE,
            "aud": AUD,
        }
    )
    assert answer["keyBinding"] is True
    assert answer["payload"] == claims
