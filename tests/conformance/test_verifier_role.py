"""The suite's own verifier (conformance._verifier_role): what it serves, what it records,
that it stops, and that a wallet target without a backchannel is skipped, never passed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from passerelle import JsonObject, PasserelleError
from passerelle.conformance import Status, load_targets, run_checks, select_checks
from passerelle.conformance._verifier_role import (
    Deviation,
    SuiteVerifier,
    foreign_key_identity,
    untrusted_identity,
)
from passerelle.jose import decode_unverified_jws, verify_jws
from passerelle.oid4vp import (
    REQUEST_OBJECT_TYP,
    STATIC_AUDIENCE,
    ResponseMode,
    encrypt_response,
    parse_authorization_request_url,
)

QUERY: JsonObject = {
    "credentials": [{"id": "q", "format": "dc+sd-jwt", "claims": [{"path": ["given_name"]}]}]
}


def _now() -> datetime:
    return datetime.now(UTC)


def test_serves_a_signed_request_and_records_a_direct_post_response() -> None:
    identity = untrusted_identity(dns_names=["localhost"], now=_now())
    with SuiteVerifier() as verifier:
        pending = verifier.create_request(
            identity=identity,
            client_id=identity.x509_san_dns("localhost"),
            dcql_query=QUERY,
            now=_now(),
        )
        link = parse_authorization_request_url(pending.link)
        assert link.params["client_id"] == "x509_san_dns:localhost"
        token = httpx.get(link.params["request_uri"]).text
        verified = verify_jws(
            token,
            key=identity.leaf.public_key(),  # type: ignore[arg-type]
            algorithms=["ES256"],
            typ=REQUEST_OBJECT_TYP,
        )
        claims = verified.payload
        assert claims["nonce"] == pending.nonce
        assert claims["state"] == pending.state
        assert claims["aud"] == STATIC_AUDIENCE
        assert claims["response_uri"] == pending.response_uri
        assert pending.response_uri.startswith(f"http://localhost:{verifier.port}/")
        answer = httpx.post(
            pending.response_uri,
            data={"vp_token": json.dumps({"q": ["x~"]}), "state": pending.state},
        )
        assert answer.status_code == 200
        arrivals = verifier.wait_for_arrival(pending, timeout=60)
    assert len(pending.fetches) == 1
    assert [a.carries_presentation for a in arrivals] == [True]
    assert arrivals[0].params is not None
    assert arrivals[0].params["state"] == pending.state


def test_direct_post_jwt_is_decrypted_with_the_request_key() -> None:
    identity = untrusted_identity(dns_names=["localhost"], now=_now())
    with SuiteVerifier() as verifier:
        pending = verifier.create_request(
            identity=identity,
            client_id=identity.x509_hash,
            dcql_query=QUERY,
            now=_now(),
            response_mode=ResponseMode.DIRECT_POST_JWT,
        )
        token = httpx.post(pending.request_uri, data={"wallet_nonce": "wn-1"}).text
        claims = decode_unverified_jws(token).payload_json()
        assert claims["wallet_nonce"] == "wn-1"
        metadata = claims["client_metadata"]
        assert isinstance(metadata, dict)
        jwe = encrypt_response(
            {"vp_token": {"q": ["x~"]}, "state": pending.state},
            verifier_jwks=metadata["jwks"],  # type: ignore[arg-type]
            enc_values_supported=["A128GCM"],
        )
        httpx.post(pending.response_uri, data={"response": jwe})
        httpx.post(pending.response_uri, data={"error": "access_denied"})
        arrivals = verifier.wait_for_arrival(pending, timeout=60)
    encrypted, error = arrivals
    assert encrypted.encrypted
    assert encrypted.params == {
        "vp_token": {"q": ["x~"]},
        "state": pending.state,
    }
    assert encrypted.jwe_header is not None
    assert encrypted.jwe_header["kid"] == pending.encryption_kid
    assert error.is_error_response
    assert not error.carries_presentation


@pytest.mark.parametrize(
    ("deviation", "expect"),
    [
        (Deviation(typ="JWT"), lambda h, c: h["typ"] == "JWT"),
        (Deviation(omit=frozenset({"nonce"})), lambda h, c: "nonce" not in c),
        (Deviation(aud="https://x.invalid"), lambda h, c: c["aud"] == "https://x.invalid"),
        (Deviation(response_mode="nope"), lambda h, c: c["response_mode"] == "nope"),
        (
            Deviation(issued_ago=timedelta(minutes=15)),
            lambda h, c: c["exp"] < _now().timestamp(),
        ),
        (
            Deviation(response_uri_host="127.0.0.1"),
            lambda h, c: str(c["response_uri"]).startswith("http://127.0.0.1:"),
        ),
    ],
)
def test_each_deviation_changes_one_thing(
    deviation: Deviation, expect: Callable[[JsonObject, JsonObject], bool]
) -> None:
    identity = untrusted_identity(dns_names=["localhost"], now=_now())
    with SuiteVerifier() as verifier:
        pending = verifier.create_request(
            identity=identity,
            client_id=identity.x509_san_dns("localhost"),
            dcql_query=QUERY,
            now=_now(),
            deviation=deviation,
        )
        jws = decode_unverified_jws(httpx.get(pending.request_uri).text)
    assert expect(jws.header, jws.payload_json())
    # Still signed by the identity: one thing wrong, not two.
    verify_jws(
        jws,
        key=identity.leaf.public_key(),  # type: ignore[arg-type]
        algorithms=["ES256"],
    )


def test_a_foreign_key_signature_does_not_verify_under_the_leaf() -> None:
    identity = untrusted_identity(dns_names=["localhost"], now=_now())
    foreign = foreign_key_identity(identity)
    assert foreign.x5c == identity.x5c
    with SuiteVerifier() as verifier:
        pending = verifier.create_request(
            identity=foreign,
            client_id=foreign.x509_san_dns("localhost"),
            dcql_query=QUERY,
            now=_now(),
        )
        token = httpx.get(pending.request_uri).text
    with pytest.raises(PasserelleError):
        verify_jws(token, key=identity.leaf.public_key(), algorithms=["ES256"])  # type: ignore[arg-type]


def test_the_server_stops_and_frees_its_port() -> None:
    verifier = SuiteVerifier()
    with verifier:
        url = verifier.url()
        assert httpx.get(f"{url}/request/unknown").status_code == 404
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/request/unknown", timeout=1)


def test_a_wallet_without_backchannel_is_skipped_never_passed() -> None:
    targets = load_targets(
        "targets:\n  partner-wallet:\n    role: wallet\n    url: https://wallet.example\n"
    )
    run = run_checks(targets, select_checks(["wallet"]))
    assert len(run.results) >= 12
    for result in run.results:
        assert result.status is Status.SKIPPED, result
        assert "backchannel" in result.message
