"""The verifiers against an adversarial wallet: the negatives of the OpenID Foundation
verifier test plan, and the scenario-5 families it lacks. Each broken presentation is
refused at the response_uri (4xx) with its own reason code in the transaction result."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._json import b64url_encode
from passerelle.jose import KeySigner
from passerelle.oid4vp import (
    AuthorizationRequest,
    build_vp_token,
    direct_post_form,
    parse_authorization_request_url,
    parse_request_reference,
    verify_request_object,
)
from passerelle.sd_jwt import KeyBindingInput, create_kb_jwt, parse_sd_jwt, present_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from tests.e2e.conftest import Stack
from tests.pki import make_chain

PID = "urn:eudi:pid:1"
LEGAL = "https://credentials.passerelle.example/eu/legal-person/v1"
PID_CLAIMS = {
    "given_name": "Mallory",
    "family_name": "Adversaire",
    "age_equal_or_over": {"18": True},
}
PID_PATHS = [("given_name",), ("family_name",), ("age_equal_or_over", "18")]


@dataclass
class Attempt:
    request: AuthorizationRequest
    transaction_id: str


def _open(stack: Stack, policy: str) -> Attempt:
    made = stack.transaction("ca-verifier", policy, response_mode="direct_post")
    ref = parse_request_reference(dict(parse_authorization_request_url(made["request_url"]).params))
    assert ref.request_uri is not None
    token = httpx.get(ref.request_uri).text
    pki = load_pki(stack.data_dir)
    verified = verify_request_object(
        token,
        client_id_from_url=ref.client_id,
        anchors=[pki.anchor("eu-wrpac-provider-ca")],
        did_resolver=None,
        now=utc_now(),
        skew=timedelta(seconds=60),
        wallet_nonce=None,
    )
    return Attempt(request=verified.request, transaction_id=made["transaction_id"])


def _pid(
    stack: Stack,
    holder: ec.EllipticCurvePrivateKey,
    *,
    now: datetime | None = None,
    vct: str = PID,
    signer_name: str = "eu-pid-provider",
    not_before: datetime | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    pki = load_pki(stack.data_dir)
    return issue_sd_jwt_vc(
        claims or PID_CLAIMS,
        vct=vct,
        signer=pki.signer(signer_name),
        random=SecretsRandom(),
        now=now or utc_now(),
        disclosable=PID_PATHS,
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        not_before=not_before,
        x5c=pki.x5c(signer_name),
    )


def _send(
    stack: Stack, attempt: Attempt, query_id: str, presentation: str
) -> tuple[int, dict[str, Any]]:
    form = direct_post_form(build_vp_token({query_id: [presentation]}), attempt.request.state)
    response = httpx.post(attempt.request.response_uri, data=form)
    result = stack.result("ca-verifier", attempt.transaction_id)
    return response.status_code, result


def _bind(holder: ec.EllipticCurvePrivateKey, attempt: Attempt, **changes: Any) -> KeyBindingInput:
    values = {
        "nonce": attempt.request.nonce,
        "audience": attempt.request.client_id,
        "now": utc_now(),
        **changes,
    }
    return KeyBindingInput(signer=KeySigner(values.pop("key", holder)), **values)


def _honest(stack: Stack, attempt: Attempt, holder: ec.EllipticCurvePrivateKey) -> str:
    return present_sd_jwt(
        _pid(stack, holder), disclose=PID_PATHS, key_binding=_bind(holder, attempt)
    )


def test_an_honest_presentation_of_a_crafted_pid_is_accepted(stack: Stack) -> None:
    # The control: the negatives below differ from this in one thing each.
    holder = ec.generate_private_key(ec.SECP256R1())
    attempt = _open(stack, "age-and-name")
    status, result = _send(stack, attempt, "pid", _honest(stack, attempt, holder))
    assert status == 200, result
    assert result["state"] == "verified"


def test_a_minor_shown_anyway_is_refused_at_the_age_check(stack: Stack) -> None:
    # The policy asks age_equal_or_over.18 with values [true] (OpenID4VP §6.3). A wallet
    # that ignores it and shows false does not answer the query: "If the Wallet cannot
    # deliver all non-optional Credentials requested by the Verifier according to these
    # rules, it MUST NOT return any Credential(s)" (§6.4.1), so the verifier refuses.
    holder = ec.generate_private_key(ec.SECP256R1())
    attempt = _open(stack, "age-and-name")
    minor = _pid(stack, holder, claims={**PID_CLAIMS, "age_equal_or_over": {"18": False}})
    shown = present_sd_jwt(minor, disclose=PID_PATHS, key_binding=_bind(holder, attempt))
    status, result = _send(stack, attempt, "pid", shown)
    assert status == 400, result
    assert result["result"]["accepted"] is False
    assert result["result"]["reason"] == "dcql.claim_value_mismatch", result["result"]


def _tampered(stack: Stack, attempt: Attempt, holder: ec.EllipticCurvePrivateKey) -> str:
    shown = _honest(stack, attempt, holder)
    victim = parse_sd_jwt(shown).disclosures[0]
    forged = b64url_encode(json.dumps([victim.salt, victim.name, "Eve"]).encode())
    return shown.replace(victim.encoded, forged)


def _bad_signature(stack: Stack, attempt: Attempt, holder: ec.EllipticCurvePrivateKey) -> str:
    shown = _honest(stack, attempt, holder)
    jwt, rest = shown.split("~", 1)
    head, body, sig = jwt.split(".")
    return f"{head}.{body}.{sig[:-6]}AAAAAA~{rest}"


def _wrong_sd_hash(stack: Stack, attempt: Attempt, holder: ec.EllipticCurvePrivateKey) -> str:
    token = _pid(stack, holder)
    fewer = present_sd_jwt(token, disclose=PID_PATHS[:2])
    kb = create_kb_jwt(fewer, binding=_bind(holder, attempt), hash_alg="sha-256")
    more = present_sd_jwt(token, disclose=PID_PATHS)
    return more + kb


def _untrusted_issuer(stack: Stack, attempt: Attempt, holder: ec.EllipticCurvePrivateKey) -> str:
    from passerelle.x509 import encode_x5c

    chain = make_chain(utc_now(), name="Impostor PID Provider")
    token = issue_sd_jwt_vc(
        PID_CLAIMS,
        vct=PID,
        signer=KeySigner(chain.leaf_key),
        random=SecretsRandom(),
        now=utc_now(),
        disclosable=PID_PATHS,
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        x5c=encode_x5c([chain.leaf]),
    )
    return present_sd_jwt(token, disclose=PID_PATHS, key_binding=_bind(holder, attempt))


Builder = Callable[[Stack, Attempt, ec.EllipticCurvePrivateKey], str]

CASES: list[tuple[str, Builder, str]] = [
    ("invalid credential signature", _bad_signature, "jws.invalid_signature"),
    ("tampered disclosure", _tampered, "sd_jwt.unreferenced_disclosure"),
    (
        "KB-JWT signed by another key",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h),
            disclose=PID_PATHS,
            key_binding=_bind(h, a, key=ec.generate_private_key(ec.SECP256R1())),
        ),
        "kb_jwt.invalid_signature",
    ),
    (
        "KB-JWT nonce",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h), disclose=PID_PATHS, key_binding=_bind(h, a, nonce="replayed-nonce")
        ),
        "kb_jwt.nonce_mismatch",
    ),
    (
        "KB-JWT aud",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h),
            disclose=PID_PATHS,
            key_binding=_bind(h, a, audience="x509_san_dns:evil.example"),
        ),
        "kb_jwt.aud_mismatch",
    ),
    ("KB-JWT sd_hash", _wrong_sd_hash, "kb_jwt.sd_hash_mismatch"),
    (
        "KB-JWT iat in the past",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h),
            disclose=PID_PATHS,
            key_binding=_bind(h, a, now=utc_now() - timedelta(hours=1)),
        ),
        "kb_jwt.iat_out_of_window",
    ),
    (
        "KB-JWT iat in the future",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h),
            disclose=PID_PATHS,
            key_binding=_bind(h, a, now=utc_now() + timedelta(hours=1)),
        ),
        "kb_jwt.iat_out_of_window",
    ),
    (
        "expired credential",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h, now=utc_now() - timedelta(days=60)),
            disclose=PID_PATHS,
            key_binding=_bind(h, a),
        ),
        "credential.expired",
    ),
    (
        "credential not yet valid",
        lambda s, a, h: present_sd_jwt(
            _pid(s, h, not_before=utc_now() + timedelta(days=2)),
            disclose=PID_PATHS,
            key_binding=_bind(h, a),
        ),
        "credential.not_yet_valid",
    ),
    ("issuer in no list", _untrusted_issuer, "x509.chain_invalid"),
]


@pytest.mark.parametrize(("name", "build", "reason"), CASES, ids=[c[0] for c in CASES])
def test_broken_presentations_are_refused_with_their_reason(
    stack: Stack, name: str, build: Builder, reason: str
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    attempt = _open(stack, "age-and-name")
    status, result = _send(stack, attempt, "pid", build(stack, attempt, holder))
    assert status == 400, (name, result)
    assert result["state"] == "failed"
    assert result["result"]["reason"] == reason, (name, result["result"])


def test_issuer_listed_for_another_type(stack: Stack) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    attempt = _open(stack, "business-registration")
    pki = load_pki(stack.data_dir)
    token = issue_sd_jwt_vc(
        {"euid": "FR.X", "legal_name": "Fausse SA", "country": "FR"}, vct=LEGAL,
        signer=pki.signer("eu-pid-provider"), random=SecretsRandom(), now=utc_now(),
        disclosable=[("euid",), ("legal_name",), ("country",)], holder_key=holder.public_key(),
        valid_for=timedelta(days=30), x5c=pki.x5c("eu-pid-provider"),
    )  # fmt: skip
    shown = present_sd_jwt(
        token,
        disclose=[("euid",), ("legal_name",), ("country",)],
        key_binding=_bind(holder, attempt),
    )
    status, result = _send(stack, attempt, "legal_person", shown)
    assert status == 400
    assert result["result"]["reason"] == "trust.not_authorized_for_type", result["result"]


def test_a_response_is_processed_once(stack: Stack) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    attempt = _open(stack, "age-and-name")
    shown = _honest(stack, attempt, holder)
    assert _send(stack, attempt, "pid", shown)[0] == 200
    status, result = _send(stack, attempt, "pid", shown)
    assert status == 400
    assert result["state"] == "verified"  # the first, honest outcome stands


W3C_QUERY = {
    "credentials": [
        {
            "id": "business",
            "format": "jwt_vc_json",
            "meta": {"type_values": [["VerifiableCredential", "BusinessRegistrationCredential"]]},
            "claims": [{"path": ["credentialSubject", "entity_name"]}],
        }
    ]
}


def test_w3c_presentation_accepted_but_a_bare_credential_refused(stack: Stack) -> None:
    from passerelle.vc import did_jwk_from_key, issue_jwt_vc_json

    stack.receive("ca-issuer", "ca-business-registration-jwt-vc", "boulangerie-cote")
    made = stack.transaction("ca-verifier", dcql_query=W3C_QUERY, response_mode="direct_post")
    honest = stack.present(made["request_url"])
    result = stack.result("ca-verifier", made["transaction_id"])["result"]
    assert honest["accepted"], json.dumps(
        {k: v for k, v in result.items() if k in ("reason", "detail")}
    )
    result = stack.result("ca-verifier", made["transaction_id"])["result"]
    steps = {s["step"]: s["outcome"] for s in result["credentials"]["business"][0]["steps"]}
    assert steps["holder_binding"] == "passed"
    # A credential sent as it is, with no VP around it: no nonce, no aud, no holder
    # signature. OpenID4VP §14.1.2: it must be rejected.
    pki = load_pki(stack.data_dir)
    holder = ec.generate_private_key(ec.SECP256R1())
    bare = issue_jwt_vc_json(
        {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential", "BusinessRegistrationCredential"],
            "issuer": stack.urls["ca-issuer"],
            "issuanceDate": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": did_jwk_from_key(holder.public_key()), "entity_name": "X"},
        },
        signer=pki.signer("ca-issuer"),
        kid=str(pki.jwk("ca-issuer")["kid"]),
        now=utc_now(),
    )
    attempt = stack.transaction("ca-verifier", dcql_query=W3C_QUERY, response_mode="direct_post")
    ref = parse_request_reference(
        dict(parse_authorization_request_url(attempt["request_url"]).params)
    )
    assert ref.request_uri is not None
    request = verify_request_object(
        httpx.get(ref.request_uri).text,
        client_id_from_url=ref.client_id,
        anchors=[pki.anchor("eu-wrpac-provider-ca")],
        did_resolver=None,
        now=utc_now(),
        skew=timedelta(seconds=60),
        wallet_nonce=None,
    ).request
    form = direct_post_form(build_vp_token({"business": [bare]}), request.state)
    assert httpx.post(request.response_uri, data=form).status_code == 400
    refused = stack.result("ca-verifier", attempt["transaction_id"])["result"]
    assert refused["accepted"] is False
    assert refused["reason"].startswith(("vp.", "vc.", "jws.")), refused


def test_garbage_does_not_consume_a_transaction_and_the_request_id_reads_nothing(
    stack: Stack,
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    attempt = _open(stack, "age-and-name")
    # Anyone who saw the QR code knows the response_uri; a post without the right state
    # is refused without moving the transaction.
    junk = httpx.post(attempt.request.response_uri, data={"vp_token": "x", "state": "guess"})
    assert junk.status_code == 400
    request_id = attempt.request.response_uri.rsplit("/", 1)[-1]
    assert httpx.get(f"{stack.urls['ca-verifier']}/transactions/{request_id}").status_code == 404
    status, result = _send(stack, attempt, "pid", _honest(stack, attempt, holder))
    assert status == 200, result
    assert result["state"] == "verified"
