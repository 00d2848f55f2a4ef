"""Property-based fuzzing of every parser in the core: nothing escapes but
:class:`PasserelleError` (DESIGN §9: bad input gets a reason code, never a crash).

Each parser is fed two kinds of input. Arbitrary JSON values and strings find the
crashes at the door; mutations of a valid document (a member replaced, deleted, given
another type or moved, several times over) reach the checks deep inside, where a
forgotten ``isinstance`` turns into a ``TypeError``. Signed formats are re-signed
after mutation with a key the verifier trusts, so the fuzzing goes past the signature
into the claims.

The search is bounded by the ``passerelle-fuzz`` profile of :mod:`tests.fuzzing`.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import example, given
from hypothesis import strategies as st

from passerelle import JsonValue, PasserelleError, Reason, dcp, dsp, oid4vci, oid4vp
from passerelle._json import b64url_encode
from passerelle.dcql import parse_dcql_query
from passerelle.jose import (
    KeySigner,
    decode_unverified_jws,
    load_public_jwk,
    public_jwk,
    verify_jws,
)
from passerelle.odrl import parse_policy
from passerelle.sd_jwt import (
    KeyBindingCheck,
    hash_b64url,
    parse_sd_jwt,
    verify_sd_jwt,
)
from passerelle.status_list import (
    check_bitstring_status,
    check_status,
    create_status_list,
    decode_bitstring,
    decode_status_list,
    encode_status_list,
    verify_status_list_token,
)
from passerelle.trust import (
    parse_authorization_answer,
    parse_authorization_query,
    parse_recognition_answer,
    parse_recognition_query,
    verify_lote,
    verify_registry_snapshot,
)
from passerelle.vc import resolve_did_jwk, verify_jwt_vc_json, verify_vp_jwt
from passerelle.x509 import decode_unverified_x5c, encode_x5c
from tests.fuzzing import FUZZ
from tests.trust_world import TrustWorld
from tests.unit.test_dsp import SPEC_EXAMPLES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=60)
ES256 = ("ES256",)
AUD = "https://verifier.example"
NONCE = "n-0S6_WzA2Mj"


def survives(call: Callable[[], object]) -> None:
    """The property: ``call`` returns, or raises a :class:`PasserelleError`."""
    with contextlib.suppress(PasserelleError):
        call()


# --- strategies ------------------------------------------------------------------------

_KEYS = st.sampled_from(
    ["id", "type", "@type", "@id", "@context", "alg", "typ", "kid", "iss", "sub", "aud",
     "exp", "iat", "nbf", "nonce", "_sd", "_sd_alg", "...", "cnf", "jwk", "x5c", "vct",
     "status", "status_list", "idx", "uri", "bits", "lst", "claims", "path", "values",
     "credentials", "format", "meta", "grants", "tx_code", "permission", "constraint",
     "leftOperand", "operator", "rightOperand", "action", "target"]
)  # fmt: skip
_INTERESTING: list[JsonValue] = [
    None, True, False, 0, -1, 1, 2, 2**31, 2**63, -(2**63), 10**30, 1.5, -0.0, 1e300,
    "", " ", "0", "-1", "1e999", "ES256", "none", "HS256", "~", ".", "#", "did:web:",
    "https://", "http://127.0.0.1", "\u0000", "\ud7ff", "é", "a" * 300, [], {}, [None],
    [[]], {"": None}, {"_sd": None}, ["salt", "name"], ["salt", "...", 1],
]  # fmt: skip
_LEAVES = (
    # A fresh copy each time: a mutation must never edit the shared constant.
    st.sampled_from(_INTERESTING).map(copy.deepcopy)
    | st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc: JsonValue, here: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield here
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*here, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*here, index))


def _at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn, seed: JsonValue, *, rounds: int = 3) -> JsonValue:
    """``seed`` with up to ``rounds`` changes: replace, delete, insert, retype."""
    doc: JsonValue = copy.deepcopy(seed)
    for _ in range(draw(st.integers(min_value=0, max_value=rounds))):
        path = draw(st.sampled_from(list(_paths(doc))))
        action = draw(st.sampled_from(["replace", "delete", "insert", "retype", "duplicate"]))
        target = _at(doc, path)
        if action == "replace" or not path:
            new = draw(JSON)
            if not path:
                doc = new if action == "replace" else [doc, new]
                continue
            _at(doc, path[:-1])[path[-1]] = new
        elif action == "delete":
            parent = _at(doc, path[:-1])
            del parent[path[-1]]
        elif action == "insert" and isinstance(target, dict):
            target[draw(_KEYS | st.text(max_size=6))] = draw(JSON)
        elif action == "insert" and isinstance(target, list):
            target.insert(draw(st.integers(0, len(target))), draw(JSON))
        elif action == "retype":
            retyped: JsonValue = (
                ([target] if not isinstance(target, list) else {"x": target})
                if draw(st.booleans())
                else json.dumps(target)
            )
            _at(doc, path[:-1])[path[-1]] = retyped
        else:  # duplicate: the same subtree somewhere else too
            other = draw(st.sampled_from(list(_paths(doc))))
            holder = _at(doc, other)
            if isinstance(holder, dict):
                holder[draw(_KEYS)] = copy.deepcopy(target)
            elif isinstance(holder, list):
                holder.append(copy.deepcopy(target))
    return doc


def documents(*seeds: JsonValue) -> st.SearchStrategy[JsonValue]:
    """Arbitrary JSON, or a mutation of one of the valid ``seeds``."""
    return JSON | st.sampled_from(seeds).flatmap(lambda seed: mutated(seed))


def _b64(value: JsonValue) -> str:
    return b64url_encode(json.dumps(value).encode())


def sign(header: JsonValue, payload: JsonValue, key: ec.EllipticCurvePrivateKey) -> str:
    """A compact JWS over any JSON (objects or not), with a valid ES256 signature."""
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    signature = KeySigner(key).sign(signing_input.encode())
    return f"{signing_input}.{b64url_encode(signature)}"


@st.composite
def signed(
    draw: st.DrawFn,
    header: JsonValue,
    payload: JsonValue,
    key: ec.EllipticCurvePrivateKey,
) -> str:
    """A validly signed compact JWS over a mutation of ``header`` and ``payload``."""
    which = draw(st.sampled_from(["payload", "payload", "header", "both"]))
    if which in ("header", "both"):
        header = draw(mutated(header, rounds=2))
    if which in ("payload", "both"):
        payload = draw(mutated(payload))
    return sign(header, payload, key)


STRINGS = st.text(max_size=80) | st.text(alphabet="eyJ.~_-abcAB019=", max_size=120)


@st.composite
def compact(draw: st.DrawFn) -> str:
    """Compact-serialization look-alikes: base64url JSON segments joined by dots."""
    parts = draw(st.lists(JSON.map(_b64) | st.text(max_size=8), min_size=1, max_size=5))
    return draw(st.sampled_from([".", "~"])).join(parts)


# --- keys and worlds, made once per test run --------------------------------------------

ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())
HOLDER_KEY = ec.generate_private_key(ec.SECP256R1())


@cache
def world() -> TrustWorld:
    """The trust lists to mutate, built once (hypothesis runs many examples per test,
    where a function-scoped fixture would be rebuilt for each)."""
    import atexit
    import shutil
    import tempfile

    where = Path(tempfile.mkdtemp(prefix="passerelle-fuzz-"))
    atexit.register(shutil.rmtree, where, ignore_errors=True)
    made = TrustWorld(now=NOW, tmp=where)
    made.build()
    return made


def _decoded(token: str) -> tuple[JsonValue, JsonValue]:
    jws = decode_unverified_jws(token)
    return dict(jws.header), jws.payload_json()


# --- compact JWS ----------------------------------------------------------------------


@FUZZ
@given(STRINGS | compact())
def test_compact_jws_decoding(text: str) -> None:
    survives(lambda: decode_unverified_jws(text))


@FUZZ
@given(signed({"alg": "ES256", "typ": "JWT", "kid": "k"}, {"iss": "x", "iat": 1}, ISSUER_KEY))
def test_jws_verification(token: str) -> None:
    survives(lambda: verify_jws(token, key=ISSUER_KEY.public_key(), algorithms=ES256, typ="JWT"))


@FUZZ
@given(documents(public_jwk(ISSUER_KEY), {"kty": "OKP", "crv": "Ed25519", "x": "AA"}))
def test_jwk_loading(jwk: JsonValue) -> None:
    survives(lambda: load_public_jwk(jwk))  # type: ignore[arg-type]


@FUZZ
@given(documents(encode_x5c([world().eu_operator[0]]), ["AAAA"]))
def test_x5c_decoding(x5c: JsonValue) -> None:
    survives(lambda: decode_unverified_x5c(x5c))


# --- SD-JWT, disclosures and KB-JWT ---------------------------------------------------

_SD_PAYLOAD: JsonValue = {
    "iss": "https://issuer.example",
    "iat": int(NOW.timestamp()),
    "_sd_alg": "sha-256",
    "cnf": {"jwk": public_jwk(HOLDER_KEY)},
    "vct": "urn:eudi:pid:1",
    "nationalities": ["CA"],
}
_DISCLOSURES: list[JsonValue] = [
    ["2GLC42sKQveCfGfryNRN9w", "given_name", "Élise"],
    ["eluV5Og3gSNII8EYnsxA_A", "address", {"_sd": [], "locality": "Gatineau"}],
    ["6Ij7tM-a5iVPGboS5tmvVA", "EU"],
]


def assemble_sd_jwt(
    disclosures: list[JsonValue],
    *,
    payload: Callable[[Any], JsonValue] = lambda p: p,
    order: Callable[[list[str]], list[str]] = lambda shown: shown,
    kb: Callable[[JsonValue, JsonValue], str] | None = None,
) -> str:
    """An issuer-signed SD-JWT whose digests match ``disclosures`` (whatever their
    shape), so that disclosure processing runs on them; then a KB-JWT if asked."""
    encoded = [_b64(d) for d in disclosures]
    digests = [hash_b64url("sha-256", e) for e in encoded]
    claims: Any = copy.deepcopy(_SD_PAYLOAD)
    claims["_sd"] = digests[:2]
    claims["nationalities"].append({"...": digests[2]})
    issuer_jwt = sign({"alg": "ES256", "typ": "dc+sd-jwt"}, payload(claims), ISSUER_KEY)
    text = "~".join([issuer_jwt, *order(encoded)]) + "~"
    if kb is None:
        return text
    sd_hash = hash_b64url("sha-256", text)
    kb_payload = {"nonce": NONCE, "aud": AUD, "iat": int(NOW.timestamp()), "sd_hash": sd_hash}
    return text + kb({"alg": "ES256", "typ": "kb+jwt"}, kb_payload)


@st.composite
def sd_jwts(draw: st.DrawFn, *, key_binding: bool) -> str:
    disclosures = [draw(mutated(d, rounds=2)) for d in _DISCLOSURES]
    extra = draw(st.lists(st.text(alphabet="eyJAQ_-0", max_size=12), max_size=2))

    def kb(header: JsonValue, claims: JsonValue) -> str:
        return draw(signed(header, claims, HOLDER_KEY))

    return assemble_sd_jwt(
        disclosures,
        payload=lambda claims: draw(mutated(claims, rounds=2)),
        order=lambda shown: draw(st.permutations([*shown, *extra])),
        kb=kb if key_binding else None,
    )


@FUZZ
@given(STRINGS | compact())
def test_sd_jwt_parsing(text: str) -> None:
    survives(lambda: parse_sd_jwt(text))


@FUZZ
@given(sd_jwts(key_binding=False))
def test_sd_jwt_disclosure_processing(token: str) -> None:
    survives(
        lambda: verify_sd_jwt(
            token, issuer_key=ISSUER_KEY.public_key(), algorithms=ES256, now=NOW, skew=SKEW
        )
    )


@FUZZ
@given(sd_jwts(key_binding=True))
def test_kb_jwt_verification(token: str) -> None:
    survives(
        lambda: verify_sd_jwt(
            token,
            issuer_key=ISSUER_KEY.public_key(),
            algorithms=ES256,
            now=NOW,
            skew=SKEW,
            key_binding=KeyBindingCheck(nonce=NONCE, audience=AUD),
        )
    )


# --- DCQL -----------------------------------------------------------------------------

_DCQL: JsonValue = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:eudi:pid:1"]},
            "claims": [
                {"id": "a", "path": ["given_name"]},
                {"id": "b", "path": ["address", "locality"], "values": ["Gatineau"]},
                {"id": "c", "path": ["nationalities", None]},
            ],
            "claim_sets": [["a", "b"], ["a"]],
            "trusted_authorities": [{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],
        },
        {
            "id": "mdl",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "org.iso.18013.5.1.mDL"},
            "claims": [{"path": ["org.iso.18013.5.1", "family_name"], "intent_to_retain": False}],
        },
        {
            "id": "vc",
            "format": "jwt_vc_json",
            "meta": {"type_values": [["VerifiableCredential", "PersonCredential"]]},
            "multiple": True,
            "require_cryptographic_holder_binding": True,
        },
    ],
    "credential_sets": [{"options": [["pid"], ["mdl", "vc"]], "required": True}],
}


@FUZZ
@given(documents(_DCQL))
def test_dcql_query_parsing(doc: JsonValue) -> None:
    survives(lambda: parse_dcql_query(doc))


# --- EU lists (LoTE) and the Canadian registry (TRQP) ------------------------------------


@st.composite
def lotes(draw: st.DrawFn) -> str:
    lists, _ = world().tokens()
    header, payload = _decoded(draw(st.sampled_from(sorted(lists.values()))))
    return draw(signed(header, payload, world().eu_operator[1]))


@FUZZ
@given(lotes())
def test_lote_verification(token: str) -> None:
    anchors = [world().eu_operator_root[0]]
    survives(lambda: verify_lote(token, operator_anchors=anchors, now=NOW))


@st.composite
def registry_snapshots(draw: st.DrawFn) -> str:
    _, registry = world().tokens()
    header, payload = _decoded(registry)
    return draw(signed(header, payload, world().ca_operator[1]))


@FUZZ
@given(registry_snapshots())
def test_registry_snapshot_verification(token: str) -> None:
    anchors = [world().ca_operator_root[0]]
    survives(lambda: verify_registry_snapshot(token, operator_anchors=anchors, now=NOW))


_TRQP_QUERY: JsonValue = {
    "entity_id": "https://ca-issuer.test",
    "authority_id": "https://trust.ca.test",
    "action": "issue",
    "resource": "https://credentials.passerelle.example/ca/person/v1",
    "context": {"time": "2026-11-23T12:00:00Z"},
}
_TRQP_ANSWER: JsonValue = {
    **_TRQP_QUERY,  # type: ignore[dict-item]
    "time_requested": "2026-11-23T12:00:00Z",
    "time_evaluated": "2026-11-23T12:00:01Z",
    "message": "authorized",
    "authorized": True,
    "recognized": True,
}


@FUZZ
@given(documents(_TRQP_QUERY))
def test_trqp_queries(doc: JsonValue) -> None:
    survives(lambda: parse_authorization_query(doc))
    survives(lambda: parse_recognition_query(doc))


@FUZZ
@given(documents(_TRQP_ANSWER))
def test_trqp_answers(doc: JsonValue) -> None:
    survives(lambda: parse_authorization_answer(doc))
    survives(lambda: parse_recognition_answer(doc))


# --- OpenID4VCI: offers, offer links, PAR, token and credential requests ----------------

ISSUER = "https://credential-issuer.example.com"
PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
_OFFER: JsonValue = {
    "credential_issuer": ISSUER,
    "credential_configuration_ids": ["UniversityDegreeCredential", "org.iso.18013.5.1.mDL"],
    "grants": {
        PRE: {
            "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
            "tx_code": {"length": 4, "input_mode": "numeric", "description": "PIN"},
        },
        "authorization_code": {"issuer_state": "eyJhbGciOiJSU0Et", "authorization_server": ISSUER},
    },
}


@FUZZ
@given(documents(_OFFER))
@example(None)  # found: parse_json took a non-text value to .decode()
@example([])
def test_credential_offer_parsing(doc: JsonValue) -> None:
    survives(lambda: oid4vci.parse_credential_offer(doc))  # type: ignore[arg-type]
    survives(lambda: oid4vci.parse_credential_offer(json.dumps(doc)))


@st.composite
def offer_links(draw: st.DrawFn) -> str:
    from urllib.parse import quote

    scheme = draw(st.sampled_from(["openid-credential-offer://", "haip-vci://", "https://w.ex/"]))
    param = draw(st.sampled_from(["credential_offer", "credential_offer_uri", "x"]))
    value = draw(documents(_OFFER).map(json.dumps) | STRINGS)
    glue = draw(st.sampled_from(["?", "", "?a=1&", "#"]))
    return f"{scheme}{glue}{param}={quote(value) if draw(st.booleans()) else value}"


@FUZZ
@given(offer_links() | STRINGS)
@example("openid-credential-offer://credential_offer=[]")  # found: urlsplit's ValueError
@example("openid-credential-offer://[::1")
def test_offer_link_parsing(url: str) -> None:
    survives(lambda: oid4vci.parse_offer_link(url))
    survives(lambda: oid4vci.parse_offer_link(url, allow_loopback_http=True))


_FORM_KEYS = st.sampled_from(
    ["grant_type", "pre-authorized_code", "tx_code", "code", "code_verifier", "redirect_uri",
     "client_id", "response_type", "code_challenge", "code_challenge_method",
     "authorization_details", "scope", "state", "issuer_state", "request_uri", "nonce",
     "response_mode", "request", "client_metadata", "dcql_query", "response_uri"]
)  # fmt: skip


def forms(seed: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """Form bodies: the seed with members changed, dropped or added (strings only)."""
    changes = st.dictionaries(_FORM_KEYS, STRINGS | JSON.map(json.dumps), max_size=4)
    drops = st.lists(st.sampled_from(sorted(seed)), max_size=3)
    return st.tuples(changes, drops).map(
        lambda cd: {k: v for k, v in {**seed, **cd[0]}.items() if k not in cd[1]}
    )


_PAR = {
    "response_type": "code",
    "client_id": "CLIENT1234",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
    "redirect_uri": "https://wallet.example.org/cb",
    "authorization_details": json.dumps(
        [{"type": "openid_credential", "credential_configuration_id": "UniversityDegree"}]
    ),
}


@FUZZ
@given(forms(_PAR))
def test_oid4vci_authorization_request_parsing(form: dict[str, str]) -> None:
    survives(lambda: oid4vci.parse_authorization_request(form))
    survives(lambda: oid4vci.parse_authorization_details(form.get("authorization_details", "")))


@FUZZ
@given(documents(json.loads(_PAR["authorization_details"])))
def test_authorization_details_parsing(doc: JsonValue) -> None:
    survives(lambda: oid4vci.parse_authorization_details(doc))


_TOKEN_PRE = {"grant_type": PRE, "pre-authorized_code": "SplxlOBeZQQYbYS6WxSbIA", "tx_code": "4935"}
_TOKEN_CODE = {"grant_type": "authorization_code", "code": "c", "code_verifier": "v" * 43}


@FUZZ
@given(forms(_TOKEN_PRE) | forms(_TOKEN_CODE))
def test_token_request_parsing(form: dict[str, str]) -> None:
    survives(lambda: oid4vci.parse_token_request(form))


_CONFIGURATIONS = {
    "UniversityDegree": {
        "format": "dc+sd-jwt",
        "vct": "https://credentials.example.com/degree",
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
    }
}
_CREDENTIAL_REQUEST: JsonValue = {
    "credential_configuration_id": "UniversityDegree",
    "proofs": {"jwt": ["eyJhbGciOiJFUzI1NiJ9.e30.AA"]},
}


@FUZZ
@given(documents(_CREDENTIAL_REQUEST, {"credential_identifier": "x", "proof": {}}))
def test_credential_request_parsing(doc: JsonValue) -> None:
    survives(
        lambda: oid4vci.parse_credential_request(
            doc,  # type: ignore[arg-type]
            metadata_configurations=_CONFIGURATIONS,  # type: ignore[arg-type]
            authorized=["UniversityDegree"],
            batch_size=2,
        )
    )
    survives(lambda: oid4vci.parse_deferred_request(doc))  # type: ignore[arg-type]
    survives(lambda: oid4vci.parse_notification_request(doc))  # type: ignore[arg-type]


_PROOF_HEADER: JsonValue = {
    "alg": "ES256",
    "typ": "openid4vci-proof+jwt",
    "jwk": public_jwk(HOLDER_KEY),
}
_PROOF: JsonValue = {"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": NONCE, "iss": "wallet"}


def verify_proof(proof: str) -> object:
    return oid4vci.verify_jwt_proof(
        proof,
        audience=ISSUER,
        expected_nonce=NONCE,
        algorithms=ES256,
        now=NOW,
        max_age=timedelta(minutes=5),
        skew=SKEW,
        client_id="wallet",
    )


@FUZZ
@given(signed(_PROOF_HEADER, _PROOF, HOLDER_KEY))
def test_key_proof_verification(proof: str) -> None:
    survives(lambda: oid4vci.read_unverified_proof_nonce(proof))
    survives(lambda: verify_proof(proof))


@FUZZ
@given(
    documents(
        {
            "credential_issuer": ISSUER,
            "credential_endpoint": f"{ISSUER}/credential",
            "nonce_endpoint": f"{ISSUER}/nonce",
            "credential_configurations_supported": _CONFIGURATIONS,  # type: ignore[dict-item]
            "display": [{"name": "Issuer", "locale": "en"}],
        }
    )
)
def test_credential_issuer_metadata_parsing(doc: JsonValue) -> None:
    survives(lambda: oid4vci.parse_credential_issuer_metadata(doc, expected_issuer=ISSUER))  # type: ignore[arg-type]


# --- OpenID4VP: request objects, authorization requests, responses ----------------------

_REQUEST: JsonValue = {
    "client_id": "x509_san_dns:client.example.org",
    "response_uri": "https://client.example.org/post",
    "response_type": "vp_token",
    "response_mode": "direct_post.jwt",
    "dcql_query": _DCQL,
    "nonce": NONCE,
    "state": "st-1",
    "wallet_nonce": "qPmxiNFCR3QTm19POc8u",
    "client_metadata": {
        "jwks": {"keys": [{**public_jwk(HOLDER_KEY), "use": "enc", "kid": "e", "alg": "ECDH-ES"}]},
        "encrypted_response_enc_values_supported": ["A128GCM"],
        "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"]}},
    },
    "aud": "https://self-issued.me/v2",
    "iat": int(NOW.timestamp()),
    "exp": int(NOW.timestamp()) + 300,
}


@FUZZ
@given(documents(_REQUEST), st.booleans())
def test_authorization_request_parsing(doc: JsonValue, from_object: bool) -> None:
    survives(lambda: oid4vp.parse_authorization_request(doc, from_request_object=from_object))  # type: ignore[arg-type]


@cache
def _verifier_chain() -> Any:
    from passerelle.x509 import LeafUsage
    from tests.pki import make_chain

    return make_chain(
        NOW, name="Verifier", usage=LeafUsage.ACCESS, dns_names=("client.example.org",)
    )


def _request_header() -> JsonValue:
    chain = _verifier_chain()
    return {"alg": "ES256", "typ": "oauth-authz-req+jwt", "x5c": encode_x5c([chain.leaf])}


@st.composite
def request_objects(draw: st.DrawFn) -> str:
    return draw(signed(_request_header(), _REQUEST, _verifier_chain().leaf_key))


def verify_request(token: str) -> object:
    return oid4vp.verify_request_object(
        token,
        client_id_from_url="x509_san_dns:client.example.org",
        anchors=[_verifier_chain().root],
        did_resolver=None,
        now=NOW,
        skew=SKEW,
        wallet_nonce="qPmxiNFCR3QTm19POc8u",
    )


@FUZZ
@given(request_objects())
def test_request_object_verification(token: str) -> None:
    survives(lambda: verify_request(token))


@st.composite
def request_urls(draw: st.DrawFn) -> str:
    from urllib.parse import urlencode

    scheme = draw(
        st.sampled_from(["openid4vp://", "haip-vp://", "https://w.ex/", "eudi-openid4vp://"])
    )
    params = draw(
        forms(
            {
                "client_id": "x509_san_dns:client.example.org",
                "request_uri": "https://client.example.org/request/1",
                "request_uri_method": "post",
            }
        )
    )
    return f"{scheme}?{urlencode(params)}" if draw(st.booleans()) else f"{scheme}{params}"


@FUZZ
@given(request_urls() | STRINGS)
@example("openid4vp://[?client_id=x")  # found: urlsplit's "Invalid IPv6 URL"
@example("haip-vp://[]/?request_uri=x")
def test_authorization_request_url_parsing(url: str) -> None:
    survives(lambda: oid4vp.parse_authorization_request_url(url))


@FUZZ
@given(
    forms(
        {
            "client_id": "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
            "request_uri": "https://client.example.org/request/1",
        }
    )
)
def test_request_reference_parsing(params: dict[str, str]) -> None:
    survives(lambda: oid4vp.parse_request_reference(params))


@FUZZ
@given(
    documents(
        "x509_san_dns:client.example.org",
        "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk",
        "redirect_uri:https://client.example.org/cb",
        "decentralized_identifier:did:web:verifier.example",
    )
    | STRINGS
)
def test_client_id_parsing(value: JsonValue) -> None:
    survives(lambda: oid4vp.parse_client_id(value))


@FUZZ
@given(
    documents({"pid": ["eyJhbGciOiJFUzI1NiJ9.e30.AA~"], "mdl": ["o2d2ZXJzaW9u"]}),
    st.sampled_from(list(oid4vp.ResponseMode)),
)
def test_authorization_response_parsing(vp_token: JsonValue, mode: oid4vp.ResponseMode) -> None:
    form = {"vp_token": json.dumps(vp_token), "state": "st-1"}
    survives(lambda: oid4vp.parse_vp_token(vp_token))
    survives(
        lambda: oid4vp.parse_authorization_response(
            form,
            response_mode=mode,
            expected_state="st-1",
            decrypt=lambda jwe: {"vp_token": vp_token},  # type: ignore[dict-item]
        )
    )


@FUZZ
@given(
    forms({"vp_token": "{}", "state": "st-1", "error": "access_denied", "response": "a.b.c.d.e"})
)
def test_authorization_response_forms(form: dict[str, str]) -> None:
    for mode in oid4vp.ResponseMode:
        survives(
            lambda mode=mode: oid4vp.parse_authorization_response(  # type: ignore[misc]
                form, response_mode=mode, expected_state="st-1", decrypt=None
            )
        )


# --- W3C VCs as JWT (jwt_vc_json, VP JWT) ----------------------------------------------

_VC_PAYLOAD: JsonValue = {
    "iss": "did:jwk:x",
    "sub": "did:example:holder",
    "nbf": int(NOW.timestamp()) - 60,
    "vc": {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential", "PersonCredential"],
        "credentialSubject": {"given_name": "Élise"},
        "credentialStatus": {"id": "https://s.example/1#4", "type": "BitstringStatusListEntry"},
    },
}


@FUZZ
@given(signed({"alg": "ES256", "typ": "JWT"}, _VC_PAYLOAD, ISSUER_KEY))
def test_jwt_vc_json_verification(token: str) -> None:
    survives(
        lambda: verify_jwt_vc_json(
            token, issuer_key=ISSUER_KEY.public_key(), algorithms=ES256, now=NOW, skew=SKEW
        )
    )


@FUZZ
@given(
    signed(
        {"alg": "ES256", "typ": "JWT"},
        {
            "iss": "did:example:holder",
            "aud": AUD,
            "nonce": NONCE,
            "iat": int(NOW.timestamp()),
            "vp": {
                "@context": ["https://www.w3.org/2018/credentials/v1"],
                "type": ["VerifiablePresentation"],
                "verifiableCredential": ["eyJhbGciOiJFUzI1NiJ9.e30.AA"],
            },
        },
        HOLDER_KEY,
    )
)
def test_vp_jwt_verification(token: str) -> None:
    def credential(inner: str) -> Any:
        return verify_jwt_vc_json(
            inner, issuer_key=ISSUER_KEY.public_key(), algorithms=ES256, now=NOW, skew=SKEW
        )

    survives(
        lambda: verify_vp_jwt(
            token,
            format="jwt_vc_json",
            holder_key=HOLDER_KEY.public_key(),
            nonce=NONCE,
            audience=AUD,
            algorithms=ES256,
            now=NOW,
            skew=SKEW,
            credential_verifier=credential,
        )
    )


# --- data space: DSP, ODRL, DCP, DID documents ------------------------------------------

_DSP_PARSERS: dict[str, Callable[[JsonValue], object]] = {
    "catalog-request-message": dsp.parse_catalog_request,
    "catalog": dsp.parse_catalog,
    "dataset": dsp.parse_dataset,
    "catalog-error": dsp.parse_dsp_error,
    "protocol-version": dsp.parse_version_metadata,
    "contract-request-message": dsp.parse_contract_request,
    "contract-agreement-message": dsp.parse_contract_agreement,
    "contract-agreement-message-full": dsp.parse_contract_agreement,
    "contract-agreement-verification-message": dsp.parse_agreement_verification,
    "contract-negotiation-event-message": dsp.parse_negotiation_event,
    "contract-negotiation-termination-message": dsp.parse_negotiation_termination,
    "contract-negotiation": dsp.parse_contract_negotiation,
    "contract-negotiation-error": dsp.parse_dsp_error,
    "transfer-request-message": dsp.parse_transfer_request,
    "transfer-start-message": dsp.parse_transfer_start,
    "transfer-suspension-message": dsp.parse_transfer_suspension,
    "transfer-completion-message": dsp.parse_transfer_completion,
    "transfer-termination-message": dsp.parse_transfer_termination,
    "transfer-process": dsp.parse_transfer_process,
    "transfer-error": dsp.parse_dsp_error,
}


@FUZZ
@given(
    st.sampled_from(sorted(_DSP_PARSERS)).flatmap(
        lambda name: st.tuples(st.just(name), documents(SPEC_EXAMPLES[name]))
    )
)
def test_dsp_message_parsing(case: tuple[str, JsonValue]) -> None:
    name, doc = case
    survives(lambda: _DSP_PARSERS[name](doc))


_ODRL: JsonValue = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Offer",
    "@id": "urn:uuid:offer-1",
    "target": "urn:uuid:dataset-1",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "https://w3id.org/passerelle/odrl#issuerJurisdiction",
                    "operator": "isAnyOf",
                    "rightOperand": ["eu"],
                },
                {
                    "and": [
                        {
                            "leftOperand": "dateTime",
                            "operator": "lt",
                            "rightOperand": {
                                "@value": "2030-01-01T00:00:00Z",
                                "@type": "xsd:dateTime",
                            },
                        },
                    ]
                },
            ],
        }
    ],
    "prohibition": [{"action": "distribute"}],
    "obligation": [],
}


@FUZZ
@given(documents(_ODRL))
def test_odrl_policy_parsing(doc: JsonValue) -> None:
    survives(lambda: parse_policy(doc))


@FUZZ
@given(
    documents(
        {
            "@context": [
                "https://w3id.org/tractusx-trust/v0.8",
                "https://identity.foundation/presentation-exchange/submission/v1",
            ],
            "type": "PresentationQueryMessage",
            "scope": ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"],
        },
        {
            "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
            "type": "PresentationResponseMessage",
            "presentation": ["eyJhbGciOiJFUzI1NiJ9.e30.AA"],
        },
    )
)
def test_dcp_message_parsing(doc: JsonValue) -> None:
    survives(lambda: dcp.parse_presentation_query(doc))
    survives(lambda: dcp.parse_presentation_response(doc))
    survives(lambda: dcp.parse_presentation_response(json.dumps(doc).encode()))


_DID = "did:web:issuer.example"
_DID_DOCUMENT: JsonValue = {
    "@context": ["https://www.w3.org/ns/did/v1"],
    "id": _DID,
    "verificationMethod": [
        {
            "id": f"{_DID}#key-1",
            "type": "JsonWebKey2020",
            "controller": _DID,
            "publicKeyJwk": public_jwk(ISSUER_KEY),
        }
    ],
    "assertionMethod": [f"{_DID}#key-1"],
    "authentication": ["#key-1", {"id": f"{_DID}#key-2", "type": "JsonWebKey2020"}],
    "service": [{"id": "#cs", "type": "CredentialService", "serviceEndpoint": "https://x"}],
}


@FUZZ
@given(
    documents(_DID_DOCUMENT),
    st.sampled_from([f"{_DID}#key-1", "#key-1", _DID, f"{_DID}#key-2", "did:web:other#k"]),
)
def test_did_document_reading(doc: JsonValue, kid: str) -> None:
    survives(lambda: dcp.verification_key(doc, kid))  # type: ignore[arg-type]
    survives(lambda: dcp.verification_key(doc, kid, relationship=dcp.ASSERTION_METHOD))  # type: ignore[arg-type]
    survives(lambda: dcp.key_resolver({_DID: doc})(kid))  # type: ignore[dict-item]
    survives(lambda: dcp.credential_service_endpoint(doc))  # type: ignore[arg-type]


@FUZZ
@given(
    STRINGS
    | st.sampled_from(["did:web:a.example%3A8443:x", "did:jwk:", "did:web:127.0.0.1%3A1"])
    | st.text(alphabet="did:webjk%3A.#/-_eyJ0", max_size=40)
)
def test_did_identifiers(text: str) -> None:
    survives(lambda: dcp.did_of_key_id(text))
    survives(lambda: dcp.did_web_to_url(text, allow_loopback=True))
    survives(lambda: dcp.url_to_did_web(text, allow_insecure_loopback=True))
    survives(lambda: resolve_did_jwk(text))
    survives(lambda: resolve_did_jwk("did:jwk:" + b64url_encode(text.encode())))


# --- status lists ------------------------------------------------------------------------

STATUS_URI = "https://issuer.example/status/1"
_STATUS_LIST = encode_status_list(create_status_list(bits=2, size=1024))


@FUZZ
@given(documents(_STATUS_LIST, {"bits": 8, "lst": "eNrbuRgAAhcBXQ"}))
def test_status_list_decoding(doc: JsonValue) -> None:
    survives(lambda: decode_status_list(doc, max_bytes=1 << 16))


_STATUS_HEADER: JsonValue = {"alg": "ES256", "typ": "statuslist+jwt"}
_STATUS_TOKEN: JsonValue = {
    "sub": STATUS_URI,
    "iss": "https://issuer.example",
    "iat": int(NOW.timestamp()),
    "exp": int(NOW.timestamp()) + 3600,
    "ttl": 300,
    "status_list": _STATUS_LIST,
}
_STATUS_REFERENCE: JsonValue = {"status_list": {"idx": 7, "uri": STATUS_URI}}


def verify_status(token: str) -> Any:
    return verify_status_list_token(
        token,
        expected_uri=STATUS_URI,
        key=ISSUER_KEY.public_key(),
        algorithms=ES256,
        now=NOW,
        skew=SKEW,
    )


@FUZZ
@given(signed(_STATUS_HEADER, _STATUS_TOKEN, ISSUER_KEY), documents(_STATUS_REFERENCE))
def test_status_list_token_verification(token: str, reference: JsonValue) -> None:
    try:
        verified = verify_status(token)
    except PasserelleError:
        return
    survives(lambda: check_status(reference, verified))  # type: ignore[arg-type]


@FUZZ
@given(
    documents("uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA", "u"),
    documents(
        {
            "id": "https://s.example/1#4",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "4",
            "statusListCredential": "https://s.example/1",
        }
    ),
)
def test_bitstring_status_list(encoded: JsonValue, entry: JsonValue) -> None:
    survives(lambda: decode_bitstring(encoded, max_bytes=1 << 16))
    credential: JsonValue = {
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "validFrom": "2026-11-01T00:00:00Z",
        "credentialSubject": {
            "id": "https://s.example/1#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    survives(lambda: check_bitstring_status(entry, credential, now=NOW))  # type: ignore[arg-type]


# --- the seeds are valid ----------------------------------------------------------------


def test_every_seed_is_accepted_unmutated() -> None:
    """A fuzz target whose seed is already refused would only ever test the first check:
    each valid document the mutations start from must pass its parser whole."""
    token = assemble_sd_jwt(_DISCLOSURES)
    verified = verify_sd_jwt(token, issuer_key=ISSUER_KEY.public_key(), algorithms=ES256, now=NOW)
    assert verified.claims["given_name"] == "Élise"
    with_kb = assemble_sd_jwt(_DISCLOSURES, kb=lambda h, p: sign(h, p, HOLDER_KEY))
    check = KeyBindingCheck(nonce=NONCE, audience=AUD)
    assert verify_sd_jwt(
        with_kb, issuer_key=ISSUER_KEY.public_key(), algorithms=ES256, now=NOW, key_binding=check
    ).key_binding
    parse_dcql_query(_DCQL)
    lists, registry = world().tokens()
    for lote in lists.values():
        verify_lote(
            sign(*_decoded(lote), world().eu_operator[1]),
            operator_anchors=[world().eu_operator_root[0]],
            now=NOW,
        )
    verify_registry_snapshot(
        sign(*_decoded(registry), world().ca_operator[1]),
        operator_anchors=[world().ca_operator_root[0]],
        now=NOW,
    )
    parse_authorization_query(_TRQP_QUERY)
    oid4vci.parse_credential_offer(_OFFER)  # type: ignore[arg-type]
    oid4vci.parse_authorization_request(_PAR)
    oid4vci.parse_token_request(_TOKEN_PRE)
    oid4vci.parse_token_request(_TOKEN_CODE)
    oid4vci.parse_credential_request(
        _CREDENTIAL_REQUEST,  # type: ignore[arg-type]
        metadata_configurations=_CONFIGURATIONS,  # type: ignore[arg-type]
        authorized=["UniversityDegree"],
        batch_size=2,
    )
    verify_proof(sign(_PROOF_HEADER, _PROOF, HOLDER_KEY))
    verify_request(sign(_request_header(), _REQUEST, _verifier_chain().leaf_key))
    for name, parse in _DSP_PARSERS.items():
        parse(SPEC_EXAMPLES[name])
    parse_policy(_ODRL)
    dcp.verification_key(_DID_DOCUMENT, f"{_DID}#key-1", relationship=dcp.ASSERTION_METHOD)  # type: ignore[arg-type]
    verified_list = verify_status(sign(_STATUS_HEADER, _STATUS_TOKEN, ISSUER_KEY))
    check_status(_STATUS_REFERENCE, verified_list)  # type: ignore[arg-type]


def test_regressions_found_by_fuzzing() -> None:
    """What the fuzzers found, pinned with the reason each now gets."""
    lists, _ = world().tokens()
    header, payload = _decoded(next(iter(lists.values())))
    info: Any = payload["LoTE"]["ListAndSchemeInformation"]  # type: ignore[index,call-overload]
    info["SchemeTypeCommunityRules"][0]["uriValue"] = ["not", "hashable"]
    forged = sign(header, payload, world().eu_operator[1])
    with pytest.raises(PasserelleError) as info_lote:
        verify_lote(forged, operator_anchors=[world().eu_operator_root[0]], now=NOW)
    assert info_lote.value.reason is Reason.TRUST_LIST_MALFORMED
    with pytest.raises(PasserelleError) as info_vp:
        oid4vp.parse_authorization_request_url("openid4vp://[?client_id=x")
    assert info_vp.value.reason is Reason.OID4VP_REQUEST_INVALID
    with pytest.raises(PasserelleError) as info_vci:
        oid4vci.parse_offer_link("openid-credential-offer://credential_offer=[]")
    assert info_vci.value.reason is Reason.OID4VCI_OFFER_INVALID
