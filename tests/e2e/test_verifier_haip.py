"""The verifier side of HAIP 1.0 §5 and §5.1, on the running stack.

- "The JWE enc ... values A128GCM and A256GCM ... MUST be supported by Verifiers. ...
  Verifiers MUST list both A128GCM and A256GCM in encrypted_response_enc_values_supported
  in their client metadata."
- "Verifiers MUST supply ephemeral encryption public keys specific to each Authorization
  Request passed via client metadata".
- §5.1, same-device flow: "Verifiers MUST include redirect_uri in the HTTP response to
  the Wallet's HTTP POST to the response_uri, as defined in Section 8.2 of [OIDF.OID4VP]"
  and "MUST reject presentations if Wallets do not follow the redirect back"; OpenID4VP
  §14.2: the Response URI "MUST require the frontend to pass the respective Response
  Code when fetching the Authorization Response".
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._json import JsonObject, b64url_decode
from passerelle.jose import KeySigner
from passerelle.oid4vp import (
    AuthorizationRequest,
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
QUERY: JsonObject = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [PID]},
            "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}],
        }
    ]
}
FRONTEND = "https://frontend.example/done?session=s1"


def _request(stack: Stack, made: dict[str, Any]) -> AuthorizationRequest:
    ref = parse_request_reference(dict(parse_authorization_request_url(made["request_url"]).params))
    assert ref.request_uri is not None
    fetched = httpx.get(ref.request_uri)
    assert fetched.status_code == 200, fetched.text
    return verify_request_object(
        fetched.text,
        client_id_from_url=ref.client_id,
        anchors=[load_pki(stack.data_dir).anchor("eu-wrpac-provider-ca")],
        did_resolver=None,
        now=utc_now(),
        skew=timedelta(seconds=60),
        wallet_nonce=None,
    ).request


def _encrypted_answer(stack: Stack, request: AuthorizationRequest, enc: str) -> httpx.Response:
    pki = load_pki(stack.data_dir)
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = issue_sd_jwt_vc(
        {"given_name": "Ada", "family_name": "Lovelace"},
        vct=PID,
        signer=pki.signer("eu-pid-provider"),
        random=SecretsRandom(),
        now=utc_now(),
        disclosable=[("given_name",), ("family_name",)],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        x5c=pki.x5c("eu-pid-provider"),
    )
    shown = present_sd_jwt(
        credential,
        disclose=[("given_name",), ("family_name",)],
        key_binding=KeyBindingInput(
            signer=KeySigner(holder), nonce=request.nonce, audience=request.client_id, now=utc_now()
        ),
    )
    assert request.client_metadata is not None
    assert request.client_metadata.jwks is not None
    payload: JsonObject = {"vp_token": build_vp_token({"pid": [shown]}), "state": request.state}
    jwe = encrypt_response(
        payload, verifier_jwks=request.client_metadata.jwks, enc_values_supported=[enc]
    )
    assert json.loads(b64url_decode(jwe.split(".")[0]))["enc"] == enc
    return httpx.post(request.response_uri, data={"response": jwe})


@pytest.mark.parametrize("verifier", ["eu-verifier", "ca-verifier"])
@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_both_aes_gcm_sizes_are_listed_and_accepted(stack: Stack, verifier: str, enc: str) -> None:
    made = stack.transaction(verifier, dcql_query=QUERY, response_mode="direct_post.jwt")
    request = _request(stack, made)
    assert request.client_metadata is not None
    offered = request.client_metadata.encrypted_response_enc_values_supported
    assert offered is not None
    assert {"A128GCM", "A256GCM"} <= set(offered)
    answer = _encrypted_answer(stack, request, enc)
    assert answer.status_code == 200, answer.text
    result = stack.result(verifier, made["transaction_id"])
    assert result["state"] == "verified", result


def test_each_request_has_its_own_encryption_key(stack: Stack) -> None:
    keys = []
    for _ in range(3):
        made = stack.transaction("eu-verifier", dcql_query=QUERY)
        request = _request(stack, made)
        assert request.client_metadata is not None
        assert request.client_metadata.jwks is not None
        (jwk,) = request.client_metadata.jwks["keys"]  # type: ignore[misc]
        assert isinstance(jwk, dict)
        keys.append(jwk)
        # A second fetch of the same request_uri serves the same request, same key.
        again = _request(stack, made)
        assert again.client_metadata is not None
        assert again.client_metadata.jwks == {"keys": [jwk]}
    assert len({(k["x"], k["y"]) for k in keys}) == 3
    assert len({k["kid"] for k in keys}) == 3


def test_a_response_to_one_request_does_not_decrypt_for_another(stack: Stack) -> None:
    """Keys are bound to their request: a JWE made for one transaction's key is refused
    at another's response_uri."""
    first = _request(stack, stack.transaction("eu-verifier", dcql_query=QUERY))
    made = stack.transaction("eu-verifier", dcql_query=QUERY)
    second = _request(stack, made)
    assert first.client_metadata is not None
    assert second.client_metadata is not None
    crossed = AuthorizationRequest(
        client_id=second.client_id,
        response_mode=second.response_mode,
        response_uri=second.response_uri,
        nonce=second.nonce,
        state=second.state,
        dcql_query=second.dcql_query,
        client_metadata=first.client_metadata,
    )
    answer = _encrypted_answer(stack, crossed, "A256GCM")
    assert answer.status_code == 400
    assert answer.json()["reason"] == "oid4vp.response_decryption_failed"


@pytest.fixture(scope="module")
def holds_a_pid(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")


def _code_of(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == FRONTEND.split("?")[0]
    query = parse_qs(parts.query)
    assert query["session"] == ["s1"]  # the frontend's own parameters are kept
    (code,) = query["response_code"]
    return code


def test_same_device_answer_redirects_and_withholds_the_result(
    stack: Stack, holds_a_pid: None
) -> None:
    codes = []
    for _ in range(2):
        made = stack.transaction(
            "eu-verifier", "pid-equivalent", same_device=True, redirect_uri=FRONTEND
        )
        tid = made["transaction_id"]
        wallet = stack.present(made["request_url"])
        assert wallet["accepted"] is True, wallet
        code = _code_of(wallet["redirect_uri"])
        codes.append(code)
        # §8.2: a fresh value of (as it RECOMMENDS) 128 bits or more.
        assert len(b64url_decode(code)) >= 16
        base = f"{stack.urls['eu-verifier']}/transactions/{tid}"
        withheld = httpx.get(base).json()
        # Neither the outcome nor the checks leak before the code (§14.2).
        assert withheld["state"] == "response_received"
        assert "result" not in withheld
        assert withheld["awaiting_response_code"] is True
        events = [e["event"] for e in withheld["events"]]
        assert events[-1] == "response_received", events
        assert not {"check", "redirect_issued", "wallet_error"} & set(events)
        assert code not in json.dumps(withheld)
        wrong = httpx.get(base, params={"response_code": code + "x"})
        assert wrong.status_code == 403
        assert wrong.json()["reason"] == "oid4vp.response_code_mismatch"
        released = httpx.get(base, params={"response_code": code}).json()
        assert released["result"]["accepted"] is True
    assert codes[0] != codes[1]


def test_haip_same_device_needs_a_redirect_target(stack: Stack) -> None:
    answer = httpx.post(
        f"{stack.urls['eu-verifier']}/transactions",
        json={"policy": "pid-equivalent", "same_device": True},
    )
    assert answer.status_code == 400
    assert answer.json()["reason"] == "oid4vp.profile_violation"
    # §8.2: "an absolute URI as defined by [RFC3986] Section 4.3" (a scheme, no fragment).
    for target in ("/relative", "https://frontend.example/cb#frag"):
        bad = httpx.post(
            f"{stack.urls['eu-verifier']}/transactions",
            json={"policy": "pid-equivalent", "same_device": True, "redirect_uri": target},
        )
        assert bad.status_code == 400, target
        assert bad.json()["reason"] == "input.malformed"
    app_link = httpx.post(
        f"{stack.urls['eu-verifier']}/transactions",
        json={"policy": "pid-equivalent", "same_device": True, "redirect_uri": "rp-app:/done"},
    )
    assert app_link.status_code == 201, app_link.text


def test_cross_device_answer_has_no_redirect(stack: Stack, holds_a_pid: None) -> None:
    """OpenID4VP §8.2: the redirect_uri is OPTIONAL; without a frontend to return to,
    the verifier sends none, and the result is read without a code."""
    made = stack.transaction("eu-verifier", "pid-equivalent")
    wallet = stack.present(made["request_url"])
    assert wallet["accepted"] is True, wallet
    assert "redirect_uri" not in wallet
    result = stack.result("eu-verifier", made["transaction_id"])
    assert result["result"]["accepted"] is True


def test_the_wallet_page_sends_the_browser_to_the_redirect_uri(
    stack: Stack, holds_a_pid: None
) -> None:
    """HAIP 1.0 §5.1: "Wallets MUST follow the redirect to redirect_uri"; the wallet's
    page is where its user agent is, so that is where it goes on."""
    made = stack.transaction(
        "eu-verifier", "pid-equivalent", same_device=True, redirect_uri=FRONTEND
    )
    review = httpx.get(
        f"{stack.urls['wallet']}/present", params={"request": made["request_url"]}, timeout=120
    )
    assert review.status_code == 200, review.text
    pending = re.search(r"action=[\"']/present/([^\"']+)[\"']", review.text)
    assert pending is not None
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending.group(1)}",
        data={"consent": "approve"},
        timeout=120,
    )
    assert answer.status_code == 303, answer.text
    code = _code_of(answer.headers["location"])
    base = f"{stack.urls['eu-verifier']}/transactions/{made['transaction_id']}"
    assert httpx.get(base, params={"response_code": code}).json()["result"]["accepted"] is True


def test_the_html_pages_withhold_the_result_until_the_code_is_presented(
    stack: Stack, holds_a_pid: None
) -> None:
    """§14.2: the frontend "MUST" pass the Response Code to fetch the response; the
    transaction page and its live fragment are a frontend like the JSON route."""
    made = stack.transaction(
        "eu-verifier", "pid-equivalent", same_device=True, redirect_uri=FRONTEND
    )
    wallet = stack.present(made["request_url"])
    assert wallet["accepted"] is True, wallet
    code = _code_of(wallet["redirect_uri"])
    base = f"{stack.urls['eu-verifier']}/transactions/{made['transaction_id']}"
    for route in ("page", "live"):
        withheld = httpx.get(f"{base}/{route}")
        assert withheld.status_code == 200, withheld.text
        assert "The presentation was verified." not in withheld.text
        assert 'id="decision"' not in withheld.text
        assert "Lefèvre-Dubois" not in withheld.text
        assert 'data-state="response_received"' in withheld.text
        wrong = httpx.get(f"{base}/{route}", params={"response_code": code + "x"})
        assert wrong.status_code == 403
        assert "oid4vp.response_code_mismatch" in wrong.text
        released = httpx.get(f"{base}/{route}", params={"response_code": code})
        assert released.status_code == 200
        assert "The presentation was verified." in released.text
        assert "Lefèvre-Dubois" in released.text
    # The page's script polls the fragment with the code it was opened with.
    page = httpx.get(f"{base}/page", params={"response_code": code}).text
    assert f"/live?response_code={code}" in page


def test_a_same_device_decline_goes_back_to_the_frontend(stack: Stack, holds_a_pid: None) -> None:
    """§8.2: "The Response URI MAY return the redirect_uri parameter ... for Error
    Responses"; HAIP 1.0 §5.1: "Wallets MUST follow the redirect to redirect_uri"."""
    made = stack.transaction(
        "eu-verifier", "pid-equivalent", same_device=True, redirect_uri=FRONTEND
    )
    declined = stack.present(made["request_url"], consent="deny")
    assert declined["accepted"] is False
    assert declined["reason"] == "wallet.holder_declined"
    code = _code_of(declined["redirect_uri"])
    base = f"{stack.urls['eu-verifier']}/transactions/{made['transaction_id']}"
    assert "result" not in httpx.get(base).json()
    released = httpx.get(base, params={"response_code": code}).json()
    assert released["result"]["reason"] == "oid4vp.wallet_error"
    # On the wallet page: the browser goes back to the frontend.
    made = stack.transaction(
        "eu-verifier", "pid-equivalent", same_device=True, redirect_uri=FRONTEND
    )
    review = httpx.get(
        f"{stack.urls['wallet']}/present", params={"request": made["request_url"]}, timeout=120
    )
    pending = re.search(r"action=[\"']/present/([^\"']+)[\"']", review.text)
    assert pending is not None
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending.group(1)}", data={"consent": "deny"}, timeout=120
    )
    assert answer.status_code == 303, answer.text
    code = _code_of(answer.headers["location"])
    base = f"{stack.urls['eu-verifier']}/transactions/{made['transaction_id']}"
    released = httpx.get(base, params={"response_code": code}).json()
    assert released["result"]["reason"] == "oid4vp.wallet_error"
