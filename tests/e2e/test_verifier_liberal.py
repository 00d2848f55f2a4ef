"""Both verifiers ignore what OpenID4VP 1.0 tells them to ignore.

A third-party wallet adds members we never send: random unknown parameters at the
request_uri (with ``wallet_nonce`` and a ``wallet_metadata`` full of unknown metadata),
at the response_uri beside ``vp_token`` / ``response``, and inside the encrypted
response payload. OpenID4VP 1.0:

- Request URI endpoint (§5.10) and wallet metadata (§10.1): "The Verifier MUST ignore
  any unrecognized parameters."
- Authorization Response (§8.1): "The Client MUST ignore any unrecognized parameters."

Each presentation here is honest, so each must be verified; the noise must change
nothing.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._json import JsonObject
from passerelle.jose import KeySigner
from passerelle.oid4vp import (
    build_vp_token,
    encrypt_response,
    parse_authorization_request_url,
    parse_request_reference,
    verify_request_object,
)
from passerelle.sd_jwt import KeyBindingInput, present_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from tests.e2e.conftest import Stack

PID = "urn:eudi:pid:1"
CLAIMS = {"given_name": "Ada", "family_name": "Lovelace", "birthdate": "1815-12-10"}
PATHS = [("given_name",), ("family_name",), ("birthdate",)]


def _noise() -> dict[str, str]:
    return {f"x_{secrets.token_hex(4)}": secrets.token_urlsafe(8) for _ in range(3)}


def _query() -> JsonObject:
    return {
        "credentials": [
            {
                "id": "pid",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [PID]},
                "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}],
            }
        ]
    }


@pytest.mark.parametrize(
    ("verifier", "mode"),
    [
        ("ca-verifier", "direct_post"),
        ("ca-verifier", "direct_post.jwt"),
        ("eu-verifier", "direct_post.jwt"),
    ],
)
def test_unknown_parameters_are_ignored_at_request_uri_and_response_uri(
    stack: Stack, verifier: str, mode: str
) -> None:
    pki = load_pki(stack.data_dir)
    made = stack.transaction(
        verifier, dcql_query=_query(), response_mode=mode, request_uri_method="post"
    )
    ref = parse_request_reference(dict(parse_authorization_request_url(made["request_url"]).params))
    assert ref.request_uri is not None
    wallet_nonce = secrets.token_urlsafe(16)
    wallet_metadata = {
        "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"]}},
        "x_wallet_feature": {"nested": [1, 2, 3]},
        **_noise(),
    }
    fetched = httpx.post(
        ref.request_uri,
        data={
            "wallet_nonce": wallet_nonce,
            "wallet_metadata": json.dumps(wallet_metadata),
            **_noise(),
        },
    )
    assert fetched.status_code == 200, fetched.text
    verified = verify_request_object(
        fetched.text,
        client_id_from_url=ref.client_id,
        anchors=[pki.anchor("eu-wrpac-provider-ca")],
        did_resolver=None,
        now=utc_now(),
        skew=timedelta(seconds=60),
        wallet_nonce=wallet_nonce,
    )
    request = verified.request

    holder = ec.generate_private_key(ec.SECP256R1())
    credential = issue_sd_jwt_vc(
        CLAIMS,
        vct=PID,
        signer=pki.signer("eu-pid-provider"),
        random=SecretsRandom(),
        now=utc_now(),
        disclosable=PATHS,
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        x5c=pki.x5c("eu-pid-provider"),
    )
    presentation = present_sd_jwt(
        credential,
        disclose=[("given_name",), ("family_name",)],
        key_binding=KeyBindingInput(
            signer=KeySigner(holder),
            nonce=request.nonce,
            audience=request.client_id,
            now=utc_now(),
        ),
    )
    vp_token = build_vp_token({"pid": [presentation]})
    if mode == "direct_post":
        form = {"vp_token": json.dumps(vp_token), **_noise()}
        if request.state is not None:
            form["state"] = request.state
    else:
        assert request.client_metadata is not None
        assert request.client_metadata.jwks is not None
        payload: JsonObject = {"vp_token": vp_token, **_noise(), "x_object": {"a": [1]}}
        if request.state is not None:
            payload["state"] = request.state
        jwe = encrypt_response(
            payload,
            verifier_jwks=request.client_metadata.jwks,
            enc_values_supported=request.client_metadata.encrypted_response_enc_values_supported,
        )
        form = {"response": jwe, **_noise()}
    answer = httpx.post(request.response_uri, data=form)
    assert answer.status_code == 200, answer.text
    result = stack.result(verifier, made["transaction_id"])
    assert result["state"] == "verified", result
    assert result["result"]["accepted"] is True
