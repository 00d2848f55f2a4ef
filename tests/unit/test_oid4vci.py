"""OpenID4VCI 1.0 core: spec examples as vectors, and every negative that lives in the core.

Examples are from the 1.0 final text (openid/OpenID4VCI tag ``1.0-final``); each
negative asserts both the reason and the wire error of §6.3 / §8.3.1.2.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError, Reason
from passerelle._json import JsonObject, b64url_encode
from passerelle.jose import KeySigner, epoch, private_jwk, public_jwk, sign_jws
from passerelle.oid4vci import (
    HAIP_OFFER_SCHEME,
    HTTP_STATUS_DEFERRED,
    PRE_AUTHORIZED_CODE_GRANT,
    IssuanceEvent,
    IssuanceState,
    NotificationEvent,
    advance,
    build_authorization_server_metadata,
    build_credential_issuer_metadata,
    build_jwt_vc_json_configuration,
    build_sd_jwt_vc_configuration,
    check_pre_authorized_code,
    credential_issuer_metadata_url,
    credential_offer_uri_link,
    credential_offer_value_link,
    credential_response,
    deferred_response,
    error_body,
    error_headers,
    http_status_for,
    make_c_nonce,
    make_tx_code,
    nonce_response,
    offer_to_json,
    parse_authorization_request,
    parse_credential_issuer_metadata,
    parse_credential_offer,
    parse_credential_request,
    parse_deferred_request,
    parse_notification_request,
    parse_offer_link,
    parse_token_request,
    read_unverified_proof_nonce,
    requested_configuration_ids,
    token_response,
    verify_jwt_proof,
    verify_pkce,
)
from passerelle.vc import did_jwk_from_key, did_jwk_key_id
from tests.conftest import NOW, SeededRandom

ISSUER = "https://credential-issuer.example.com"


def _check(exc: pytest.ExceptionInfo[PasserelleError], reason: Reason, wire: str) -> None:
    assert exc.value.reason == reason
    assert exc.value.wire_error == wire


# --- §4.1 Credential Offer ----------------------------------------------------------

OFFER_MULTIPLE: JsonObject = {
    "credential_issuer": ISSUER,
    "credential_configuration_ids": ["UniversityDegreeCredential", "org.iso.18013.5.1.mDL"],
    "grants": {
        PRE_AUTHORIZED_CODE_GRANT: {
            "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
            "tx_code": {
                "length": 4,
                "input_mode": "numeric",
                "description": "Please provide the one-time code that was sent via e-mail",
            },
        }
    },
}
OFFER_BY_REFERENCE: JsonObject = {
    "credential_issuer": ISSUER,
    "credential_configuration_ids": ["UniversityDegree_LDP_VC"],
    "grants": {
        PRE_AUTHORIZED_CODE_GRANT: {"pre-authorized_code": "adhjhdjajkdkhjhdj", "tx_code": {}}
    },
}
OFFER_AUTHZ_CODE: JsonObject = {
    "credential_issuer": ISSUER,
    "credential_configuration_ids": ["UniversityDegreeCredential"],
    "grants": {"authorization_code": {"issuer_state": "eyJhbGciOiJSU0Et...FYUaBy"}},
}


def test_spec_offer_examples_parse_and_round_trip() -> None:
    offer = parse_credential_offer(OFFER_MULTIPLE)
    assert offer.credential_configuration_ids == (
        "UniversityDegreeCredential",
        "org.iso.18013.5.1.mDL",
    )
    assert offer.grants is not None
    assert offer.grants.pre_authorized_code is not None
    pre = offer.grants.pre_authorized_code
    assert pre.pre_authorized_code == "oaKazRN8I0IbtZ0C7JuMn5"
    assert pre.tx_code is not None
    assert pre.tx_code.length == 4
    assert offer_to_json(offer) == OFFER_MULTIPLE

    empty_tx = parse_credential_offer(OFFER_BY_REFERENCE)
    assert empty_tx.grants is not None
    assert empty_tx.grants.pre_authorized_code is not None
    # An empty tx_code object still means a Transaction Code is required (§4.1.1).
    assert empty_tx.grants.pre_authorized_code.tx_code is not None
    assert offer_to_json(empty_tx) == OFFER_BY_REFERENCE

    authz = parse_credential_offer(json.dumps(OFFER_AUTHZ_CODE))
    assert authz.grants is not None
    assert authz.grants.authorization_code is not None
    assert authz.grants.authorization_code.issuer_state == "eyJhbGciOiJSU0Et...FYUaBy"
    assert offer_to_json(authz) == OFFER_AUTHZ_CODE


def test_unknown_offer_members_are_kept() -> None:
    offer = parse_credential_offer({**OFFER_AUTHZ_CODE, "x_partner": {"a": 1}})
    assert offer.extra == {"x_partner": {"a": 1}}
    assert offer_to_json(offer)["x_partner"] == {"a": 1}


@pytest.mark.parametrize(
    "change",
    [
        {"credential_issuer": "http://credential-issuer.example.com"},
        {"credential_issuer": "https://credential-issuer.example.com?x=1"},
        {"credential_configuration_ids": []},
        {"credential_configuration_ids": ["a", "a"]},
        {"grants": {PRE_AUTHORIZED_CODE_GRANT: {}}},
        {"grants": {PRE_AUTHORIZED_CODE_GRANT: {"pre-authorized_code": "c", "tx_code": 4}}},
    ],
)
def test_bad_offers_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(PasserelleError) as exc:
        parse_credential_offer({**OFFER_MULTIPLE, **change})  # type: ignore[dict-item]
    _check(exc, Reason.OID4VCI_OFFER_INVALID, "invalid_request")


def test_spec_offer_link_by_value_parses() -> None:
    # §4.1.2 example, with the display line breaks removed.
    link = (
        "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22:%22https://"
        "credential-issuer.example.com%22,%22credential_configuration_ids%22:%5B%22org.iso."
        "18013.5.1.mDL%22%5D,%22grants%22:%7B%22urn:ietf:params:oauth:grant-type:pre-authori"
        "zed_code%22:%7B%22pre-authorized_code%22:%22oaKazRN8I0IbtZ0C7JuMn5%22,%22tx_code%22:"
        "%7B%22input_mode%22:%22text%22,%22description%22:%22Please%20enter%20the%20serial%20"
        "number%20of%20your%20physical%20drivers%20license%22%7D%7D%7D%7D"
    )
    parsed = parse_offer_link(link)
    assert parsed.scheme == "openid-credential-offer"
    offer = parsed.credential_offer
    assert offer is not None
    assert offer.grants is not None
    tx = offer.grants.pre_authorized_code.tx_code  # type: ignore[union-attr]
    assert tx is not None
    assert tx.input_mode == "text"
    assert tx.description == "Please enter the serial number of your physical drivers license"


def test_spec_offer_link_by_reference_parses() -> None:
    link = (
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom"
        "%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM"
    )
    parsed = parse_offer_link(link)
    assert parsed.credential_offer_uri == (
        "https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM"
    )
    assert parsed.credential_offer is None


def test_links_round_trip_in_both_schemes() -> None:
    offer = parse_credential_offer(OFFER_MULTIPLE)
    for scheme in ("openid-credential-offer", HAIP_OFFER_SCHEME):
        link = credential_offer_value_link(offer, scheme=scheme)
        assert link.startswith(f"{scheme}://?credential_offer=%7B")
        assert parse_offer_link(link).credential_offer == offer
    uri = "https://issuer.example/offers/abc?x=1&y=2"
    link = credential_offer_uri_link(uri, scheme=HAIP_OFFER_SCHEME)
    assert link == f"haip-vci://?credential_offer_uri={quote(uri, safe='')}"
    assert parse_offer_link(link).credential_offer_uri == uri


@pytest.mark.parametrize(
    "link",
    [
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fevil.example%2Fo",
        "openid-credential-offer://?credential_offer=%7B%7D&credential_offer_uri=https%3A%2F%2Fa",
        "openid-credential-offer://?foo=bar",
        "javascript://?credential_offer_uri=https%3A%2F%2Fa.example",
    ],
)
def test_bad_offer_links_are_refused(link: str) -> None:
    with pytest.raises(PasserelleError) as exc:
        parse_offer_link(link)
    assert exc.value.reason == Reason.OID4VCI_OFFER_INVALID


# --- §12.2 metadata -----------------------------------------------------------------


def _spec_long_metadata() -> dict[str, object]:
    sd_jwt = {
        "format": "dc+sd-jwt",
        "scope": "SD_JWT_VC_example_in_OpenID4VCI",
        "credential_signing_alg_values_supported": ["ES256"],
        "cryptographic_binding_methods_supported": ["jwk"],
        "proof_types_supported": {
            "jwt": {
                "proof_signing_alg_values_supported": ["ES256"],
                "key_attestations_required": {
                    "key_storage": ["iso_18045_moderate"],
                    "user_authentication": ["iso_18045_moderate"],
                },
            }
        },
        "vct": "SD_JWT_VC_example_in_OpenID4VCI",
        "credential_metadata": {
            "display": [{"name": "IdentityCredential", "locale": "en-US"}],
            "claims": [{"path": ["given_name"]}, {"path": ["address", "locality"]}],
        },
    }
    return {
        "credential_issuer": ISSUER,
        "authorization_servers": ["https://server.example.com"],
        "credential_endpoint": f"{ISSUER}/credential",
        "nonce_endpoint": f"{ISSUER}/nonce",
        "deferred_credential_endpoint": f"{ISSUER}/deferred_credential",
        "notification_endpoint": f"{ISSUER}/notification",
        "batch_credential_issuance": {"batch_size": 10},
        "display": [
            {"name": "Example University", "locale": "en-US"},
            {"name": "Example Université", "locale": "fr-FR"},
        ],
        "credential_configurations_supported": {"SD_JWT_VC_example_in_OpenID4VCI": sd_jwt},
    }


def test_spec_issuer_metadata_example_parses() -> None:
    meta = parse_credential_issuer_metadata(_spec_long_metadata(), expected_issuer=ISSUER)  # type: ignore[arg-type]
    assert meta.batch_size == 10
    assert meta.nonce_endpoint == f"{ISSUER}/nonce"
    assert meta.authorization_servers == ("https://server.example.com",)
    assert list(meta.credential_configurations_supported) == ["SD_JWT_VC_example_in_OpenID4VCI"]


def test_metadata_of_another_issuer_is_not_used() -> None:
    with pytest.raises(PasserelleError) as exc:
        parse_credential_issuer_metadata(
            _spec_long_metadata(),  # type: ignore[arg-type]
            expected_issuer="https://credential-issuer.example.com/tenant",
        )
    assert exc.value.reason == Reason.OID4VCI_METADATA_INVALID


def test_draft_style_display_at_top_of_a_configuration_is_refused() -> None:
    doc = _spec_long_metadata()
    configs = doc["credential_configurations_supported"]
    assert isinstance(configs, dict)
    configs["SD_JWT_VC_example_in_OpenID4VCI"]["display"] = [{"name": "x"}]
    with pytest.raises(PasserelleError) as exc:
        parse_credential_issuer_metadata(doc, expected_issuer=ISSUER)  # type: ignore[arg-type]
    assert exc.value.reason == Reason.OID4VCI_METADATA_INVALID


def test_built_metadata_matches_the_spec_shape_and_parses_back() -> None:
    pid = build_sd_jwt_vc_configuration(
        vct="urn:eudi:pid:1",
        scope="eu.europa.ec.eudi.pid.1",
        display=[{"name": "PID", "locale": "en"}, {"name": "PID", "locale": "fr"}],
        claims=[{"path": ["given_name"], "display": [{"name": "Given name", "locale": "en"}]}],
    )
    assert pid["cryptographic_binding_methods_supported"] == ["jwk"]
    assert pid["proof_types_supported"] == {
        "jwt": {"proof_signing_alg_values_supported": ["ES256"]}
    }
    assert "display" not in pid
    assert "claims" not in pid
    assert pid["credential_metadata"]["display"][1]["locale"] == "fr"  # type: ignore[index,call-overload]
    degree = build_jwt_vc_json_configuration(
        types=["VerifiableCredential", "PersonCredential"], scope="person"
    )
    assert degree["credential_definition"] == {"type": ["VerifiableCredential", "PersonCredential"]}
    doc = build_credential_issuer_metadata(
        credential_issuer=ISSUER,
        credential_endpoint=f"{ISSUER}/credential",
        nonce_endpoint=f"{ISSUER}/nonce",
        deferred_credential_endpoint=None,
        notification_endpoint=f"{ISSUER}/notification",
        authorization_servers=None,
        display=[{"name": "Issuer", "locale": "en"}, {"name": "Émetteur", "locale": "fr"}],
        credential_configurations={"pid": pid, "person": degree},
        batch_size=5,
    )
    assert doc["batch_credential_issuance"] == {"batch_size": 5}
    assert "deferred_credential_endpoint" not in doc
    meta = parse_credential_issuer_metadata(doc, expected_issuer=ISSUER)
    assert set(meta.credential_configurations_supported) == {"pid", "person"}


def test_batch_size_of_one_is_a_local_error() -> None:
    with pytest.raises(PasserelleError) as exc:
        build_credential_issuer_metadata(
            credential_issuer=ISSUER,
            credential_endpoint=f"{ISSUER}/credential",
            credential_configurations={"p": build_sd_jwt_vc_configuration(vct="v", scope="s")},
            batch_size=1,
        )
    assert exc.value.reason == Reason.OID4VCI_METADATA_INVALID
    assert exc.value.fault.value == "local"


def test_well_known_url_goes_between_host_and_path() -> None:
    # §12.2.2 examples.
    assert (
        credential_issuer_metadata_url("https://issuer.example.com/tenant")
        == "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"
    )
    assert (
        credential_issuer_metadata_url("https://tenant.issuer.example.com")
        == "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"
    )


def test_authorization_server_metadata() -> None:
    doc = build_authorization_server_metadata(
        issuer=ISSUER,
        token_endpoint=f"{ISSUER}/token",
        authorization_endpoint=f"{ISSUER}/authorize",
        pushed_authorization_request_endpoint=f"{ISSUER}/par",
        require_pushed_authorization_requests=True,
    )
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["pre-authorized_grant_anonymous_access_supported"] is True
    assert doc["require_pushed_authorization_requests"] is True
    assert PRE_AUTHORIZED_CODE_GRANT in doc["grant_types_supported"]  # type: ignore[operator]
    pre_only = build_authorization_server_metadata(
        issuer=ISSUER,
        token_endpoint=f"{ISSUER}/token",
        grant_types_supported=[PRE_AUTHORIZED_CODE_GRANT],
    )
    assert "response_types_supported" not in pre_only


# --- §5 authorization, PAR, PKCE ----------------------------------------------------

PAR_EXAMPLE = {
    "response_type": "code",
    "client_id": "CLIENT1234",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
    "redirect_uri": "https://wallet.example.org/cb",
    "authorization_details": '[{"type": "openid_credential", '
    '"credential_configuration_id": "UniversityDegreeCredential"}]',
}


def test_spec_pushed_authorization_request_parses() -> None:
    request = parse_authorization_request(PAR_EXAMPLE)
    assert request.authorization_details[0].credential_configuration_id == (
        "UniversityDegreeCredential"
    )
    assert requested_configuration_ids(
        request, credential_configurations={"UniversityDegreeCredential": {"format": "jwt_vc_json"}}
    ) == ("UniversityDegreeCredential",)
    by_scope = parse_authorization_request(
        {k: v for k, v in PAR_EXAMPLE.items() if k != "authorization_details"}
        | {"scope": "UniversityDegreeCredential openid"}
    )
    assert requested_configuration_ids(
        by_scope,
        credential_configurations={"deg": {"format": "x", "scope": "UniversityDegreeCredential"}},
    ) == ("deg",)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"code_challenge_method": "plain"}, Reason.OID4VCI_PKCE_METHOD_UNSUPPORTED),
        ({"code_challenge_method": None}, Reason.OID4VCI_PKCE_METHOD_UNSUPPORTED),
        ({"code_challenge": None}, Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID),
        ({"response_type": "token"}, Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID),
        ({"authorization_details": None}, Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID),
        ({"request_uri": "urn:x"}, Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID),
    ],
)
def test_bad_authorization_requests_are_invalid_request(
    change: dict[str, str | None], reason: Reason
) -> None:
    params = {k: v for k, v in {**PAR_EXAMPLE, **change}.items() if v is not None}
    with pytest.raises(PasserelleError) as exc:
        parse_authorization_request(params)
    _check(exc, reason, "invalid_request")


def test_rfc7636_appendix_b_vector_verifies() -> None:
    verify_pkce(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_pkce_mismatch_is_invalid_grant() -> None:
    with pytest.raises(PasserelleError) as exc:
        verify_pkce("x" * 43, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    _check(exc, Reason.OID4VCI_PKCE_MISMATCH, "invalid_grant")


def test_plain_pkce_is_refused_even_when_verifier_equals_challenge() -> None:
    with pytest.raises(PasserelleError) as exc:
        verify_pkce("a" * 43, "a" * 43, "plain")
    _check(exc, Reason.OID4VCI_PKCE_METHOD_UNSUPPORTED, "invalid_grant")


# --- §6 token ----------------------------------------------------------------------


def test_spec_token_requests_parse() -> None:
    pre = parse_token_request(
        {
            "grant_type": PRE_AUTHORIZED_CODE_GRANT,
            "pre-authorized_code": "SplxlOBeZQQYbYS6WxSbIA",
            "tx_code": "493536",
            "authorization_details": PAR_EXAMPLE["authorization_details"],
        }
    )
    assert pre.pre_authorized_code == "SplxlOBeZQQYbYS6WxSbIA"
    assert pre.tx_code == "493536"
    assert pre.authorization_details[0].credential_configuration_id == "UniversityDegreeCredential"
    code = parse_token_request(
        {
            "grant_type": "authorization_code",
            "code": "SplxlOBeZQQYbYS6WxSbIA",
            "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "redirect_uri": "https://wallet.example.org/cb",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        }
    )
    assert code.code_verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert "client_assertion_type" in code.extra


@pytest.mark.parametrize(
    ("form", "reason", "wire"),
    [
        ({}, Reason.OID4VCI_TOKEN_REQUEST_INVALID, "invalid_request"),
        (
            {"grant_type": "password"},
            Reason.OID4VCI_GRANT_TYPE_UNSUPPORTED,
            "unsupported_grant_type",
        ),
        (
            {"grant_type": PRE_AUTHORIZED_CODE_GRANT},
            Reason.OID4VCI_TOKEN_REQUEST_INVALID,
            "invalid_request",
        ),
        (
            {"grant_type": "authorization_code", "code": "c"},
            Reason.OID4VCI_TOKEN_REQUEST_INVALID,
            "invalid_request",
        ),
        (
            {"grant_type": "authorization_code", "code": "c", "code_verifier": "v", "tx_code": "1"},
            Reason.OID4VCI_TOKEN_REQUEST_INVALID,
            "invalid_request",
        ),
    ],
)
def test_bad_token_requests(form: dict[str, str], reason: Reason, wire: str) -> None:
    with pytest.raises(PasserelleError) as exc:
        parse_token_request(form)
    _check(exc, reason, wire)


def _pre(tx_code: str | None) -> object:
    form = {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "code"}
    if tx_code is not None:
        form["tx_code"] = tx_code
    return parse_token_request(form)


def test_tx_code_rules_of_section_6_3() -> None:
    check_pre_authorized_code(_pre("493536"), expected_tx_code="493536")  # type: ignore[arg-type]
    check_pre_authorized_code(_pre(None), expected_tx_code=None)  # type: ignore[arg-type]
    cases = [
        ("000000", "493536", Reason.OID4VCI_TX_CODE_MISMATCH, "invalid_grant"),
        (None, "493536", Reason.OID4VCI_TX_CODE_MISSING, "invalid_request"),
        ("493536", None, Reason.OID4VCI_TX_CODE_UNEXPECTED, "invalid_request"),
    ]
    for sent, expected, reason, wire in cases:
        with pytest.raises(PasserelleError) as exc:
            check_pre_authorized_code(_pre(sent), expected_tx_code=expected)  # type: ignore[arg-type]
        _check(exc, reason, wire)


def test_token_response_has_no_c_nonce() -> None:
    body = token_response(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6Ikp..sHQ",
        expires_in=86400,
        authorization_details=[
            {
                "type": "openid_credential",
                "credential_configuration_id": "UniversityDegreeCredential",
                "credential_identifiers": ["CivilEngineeringDegree-2023"],
            }
        ],
    )
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert "c_nonce" not in body
    assert "c_nonce_expires_in" not in body


def test_random_values_come_from_the_injected_source() -> None:
    assert make_c_nonce(SeededRandom(1)) == make_c_nonce(SeededRandom(1))
    assert make_c_nonce(SeededRandom(1)) != make_c_nonce(SeededRandom(2))
    code = make_tx_code(SeededRandom(3), length=6)
    assert len(code) == 6
    assert code.isdigit()
    assert nonce_response("wKI4LT17ac15ES9bw8ac4") == {"c_nonce": "wKI4LT17ac15ES9bw8ac4"}


# --- Appendix F.1 key proofs --------------------------------------------------------

SPEC_PROOF = (
    "eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwiY3J2Ij"
    "oiUC0yNTYiLCJ4IjoiblVXQW9BdjNYWml0aDhFN2kxOU9kYXhPTFlGT3dNLVoyRXVNMDJUaXJUNCIsInkiOiJIc2tI"
    "VThCalVpMVU5WHFpN1N3bWo4Z3dBS18weGtjRGpFV183MVNvc0VZIn19.eyJhdWQiOiJodHRwczovL2NyZWRlbnRpYW"
    "wtaXNzdWVyLmV4YW1wbGUuY29tIiwiaWF0IjoxNzAxOTYwNDQ0LCJub25jZSI6IkxhclJHU2JtVVBZdFJZTzZCUTR5b"
    "jgifQ.-a3EDsxClUB4O3LeDD5DVGEnNMT01FCQW4P6-2-BNBqc_Zxf0Qw4CWayLEpqkAomlkLb9zioZoipdP-jvh1WlA"
)
SPEC_PROOF_TIME = datetime.fromtimestamp(1701960444, tz=UTC)
NONCE = "LarRGSbmUPYtRYO6BQ4yn8"


def _verify(proof: str, **kw: object) -> object:
    options: dict[str, object] = {
        "audience": ISSUER,
        "expected_nonce": NONCE,
        "algorithms": ["ES256"],
        "now": NOW,
        "max_age": timedelta(minutes=5),
        "skew": timedelta(seconds=30),
        "client_id": None,
    }
    options.update(kw)
    return verify_jwt_proof(proof, **options)  # type: ignore[arg-type]


def test_spec_proof_example_verifies() -> None:
    proof = _verify(SPEC_PROOF, now=SPEC_PROOF_TIME + timedelta(seconds=5))
    assert proof.jwk == {  # type: ignore[attr-defined]
        "kty": "EC",
        "crv": "P-256",
        "x": "nUWAoAv3XZith8E7i19OdaxOLYFOwM-Z2EuM02TirT4",
        "y": "HskHU8BjUi1U9Xqi7Swmj8gwAK_0xkcDjEW_71SosEY",
    }
    assert proof.nonce == NONCE  # type: ignore[attr-defined]
    assert read_unverified_proof_nonce(SPEC_PROOF) == NONCE


def _proof(
    key: ec.EllipticCurvePrivateKey,
    *,
    header: dict[str, object] | None = None,
    claims: dict[str, object] | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    h: dict[str, object] = {"typ": "openid4vci-proof+jwt", "jwk": public_jwk(key)}
    h.update(header or {})
    c: dict[str, object] = {"aud": ISSUER, "iat": epoch(NOW), "nonce": NONCE}
    c.update(claims or {})
    for name in drop:
        h.pop(name, None)
        c.pop(name, None)
    return sign_jws(h, c, KeySigner(key))  # type: ignore[arg-type]


def test_fresh_proof_verifies_and_returns_the_holder_key(
    holder_key: ec.EllipticCurvePrivateKey,
) -> None:
    proof = _verify(_proof(holder_key))
    assert proof.jwk == public_jwk(holder_key)  # type: ignore[attr-defined]


def test_did_jwk_kid_proof_verifies(holder_key: ec.EllipticCurvePrivateKey) -> None:
    kid = did_jwk_key_id(did_jwk_from_key(holder_key.public_key()))
    proof = _verify(_proof(holder_key, header={"kid": kid}, drop=("jwk",)))
    assert proof.kid == kid  # type: ignore[attr-defined]


# OpenID4VCI 1.0 Appendix F.1, the whole rule for the proof's ``iss``:
F1_ISS = (
    "iss: OPTIONAL (string). The value of this claim MUST be the client_id of the Client "
    "making the Credential request. This claim MUST be omitted if the access token "
    "authorizing the issuance call was obtained from a Pre-Authorized Code Flow through "
    "anonymous access to the token endpoint."
)


def test_client_bound_proof_checks_iss(holder_key: ec.EllipticCurvePrivateKey) -> None:
    """F1_ISS: "MUST be the client_id" when present."""
    proof = _verify(_proof(holder_key, claims={"iss": "s6BhdRkqt3"}), client_id="s6BhdRkqt3")
    assert proof.iss == "s6BhdRkqt3"  # type: ignore[attr-defined]
    with pytest.raises(PasserelleError) as exc:
        _verify(_proof(holder_key, claims={"iss": "other"}), client_id="s6BhdRkqt3")
    _check(exc, Reason.OID4VCI_PROOF_ISS_MISMATCH, "invalid_proof")


def test_proof_without_iss_is_accepted_from_an_identified_client(
    holder_key: ec.EllipticCurvePrivateKey,
) -> None:
    """F1_ISS: ``iss`` is OPTIONAL. A client that sent its client_id at the token endpoint
    (``clientAuthenticationNone`` of @openid4vc/oauth2 does) and leaves ``iss`` out of the
    proof breaks no rule; refusing it made a stock wallet get nothing from our issuers."""
    proof = _verify(_proof(holder_key, drop=("iss",)), client_id="s6BhdRkqt3")
    assert proof.iss is None  # type: ignore[attr-defined]
    assert proof.jwk == public_jwk(holder_key)  # type: ignore[attr-defined]


def test_proof_without_iss_is_accepted_after_anonymous_access(
    holder_key: ec.EllipticCurvePrivateKey,
) -> None:
    """F1_ISS: "MUST be omitted ... through anonymous access": the one required shape."""
    proof = _verify(_proof(holder_key), client_id=None)
    assert proof.iss is None  # type: ignore[attr-defined]


def test_proof_iss_after_anonymous_access_is_refused(
    holder_key: ec.EllipticCurvePrivateKey,
) -> None:
    """F1_ISS: "This claim MUST be omitted if the access token ... was obtained from a
    Pre-Authorized Code Flow through anonymous access": no client_id is known that a
    present ``iss`` could be checked against."""
    with pytest.raises(PasserelleError) as exc:
        _verify(_proof(holder_key, claims={"iss": "wallet"}), client_id=None)
    _check(exc, Reason.OID4VCI_PROOF_ISS_MISMATCH, "invalid_proof")


def _none_alg_proof(key: ec.EllipticCurvePrivateKey) -> str:
    header = {"typ": "openid4vci-proof+jwt", "alg": "none", "jwk": public_jwk(key)}
    claims = {"aud": ISSUER, "iat": epoch(NOW), "nonce": NONCE}
    enc = [b64url_encode(json.dumps(p).encode()) for p in (header, claims)]
    return f"{enc[0]}.{enc[1]}."


def _tampered(key: ec.EllipticCurvePrivateKey) -> str:
    head, _, sig = _proof(key).split(".")
    other = _proof(key, claims={"nonce": "different"}).split(".")[1]
    return f"{head}.{other}.{sig}"


PROOF_NEGATIVES = {
    # OIDF issuer test plan, in the core:
    "invalid nonce": (
        lambda k: _proof(k, claims={"nonce": "stale"}),
        Reason.OID4VCI_NONCE_MISMATCH,
        "invalid_nonce",
    ),
    "missing nonce": (
        lambda k: _proof(k, drop=("nonce",)),
        Reason.OID4VCI_NONCE_MISSING,
        "invalid_proof",
    ),
    "invalid signature": (_tampered, Reason.JWS_INVALID_SIGNATURE, "invalid_proof"),
    # Extra ones:
    "wrong aud": (
        lambda k: _proof(k, claims={"aud": "https://other.example"}),
        Reason.OID4VCI_PROOF_AUD_MISMATCH,
        "invalid_proof",
    ),
    "aud as array": (
        lambda k: _proof(k, claims={"aud": [ISSUER]}),
        Reason.OID4VCI_PROOF_AUD_MISMATCH,
        "invalid_proof",
    ),
    "iat in the future": (
        lambda k: _proof(k, claims={"iat": epoch(NOW) + 300}),
        Reason.JWT_ISSUED_IN_FUTURE,
        "invalid_proof",
    ),
    "iat too old": (
        lambda k: _proof(k, claims={"iat": epoch(NOW) - 3600}),
        Reason.OID4VCI_PROOF_TOO_OLD,
        "invalid_proof",
    ),
    "iat missing": (lambda k: _proof(k, drop=("iat",)), Reason.JWT_CLAIM_MISSING, "invalid_proof"),
    "typ JWT": (
        lambda k: _proof(k, header={"typ": "JWT"}),
        Reason.JWS_TYP_MISMATCH,
        "invalid_proof",
    ),
    "typ missing": (lambda k: _proof(k, drop=("typ",)), Reason.JWS_TYP_MISMATCH, "invalid_proof"),
    "alg none": (_none_alg_proof, Reason.JWS_ALG_NOT_ALLOWED, "invalid_proof"),
    "private key in jwk": (
        lambda k: _proof(k, header={"jwk": private_jwk(k)}),
        Reason.JWK_PRIVATE,
        "invalid_proof",
    ),
    "jwk and kid": (
        lambda k: _proof(k, header={"kid": "did:example:1#0"}),
        Reason.OID4VCI_PROOF_KEY_INVALID,
        "invalid_proof",
    ),
    "no key": (
        lambda k: _proof(k, drop=("jwk",)),
        Reason.OID4VCI_PROOF_KEY_INVALID,
        "invalid_proof",
    ),
    "kid of another DID method": (
        lambda k: _proof(k, header={"kid": "did:web:example.com#k1"}, drop=("jwk",)),
        Reason.OID4VCI_PROOF_KEY_UNSUPPORTED,
        "invalid_proof",
    ),
    "iss after anonymous access": (
        lambda k: _proof(k, claims={"iss": "wallet"}),
        Reason.OID4VCI_PROOF_ISS_MISMATCH,
        "invalid_proof",
    ),
    "not a JWS": (lambda k: "not-a-jwt", Reason.JWS_MALFORMED, "invalid_proof"),
}


@pytest.mark.parametrize("case", list(PROOF_NEGATIVES))
def test_proof_negatives(case: str, holder_key: ec.EllipticCurvePrivateKey) -> None:
    make, reason, wire = PROOF_NEGATIVES[case]
    with pytest.raises(PasserelleError) as exc:
        _verify(make(holder_key))  # type: ignore[no-untyped-call]
    _check(exc, reason, wire)


def test_proof_signed_by_another_key_than_its_jwk(holder_key: ec.EllipticCurvePrivateKey) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    forged = _proof(other, header={"jwk": public_jwk(holder_key)})
    with pytest.raises(PasserelleError) as exc:
        _verify(forged)
    _check(exc, Reason.JWS_INVALID_SIGNATURE, "invalid_proof")


def test_alg_outside_the_allow_list(holder_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(PasserelleError) as exc:
        _verify(_proof(holder_key), algorithms=["ES384"])
    _check(exc, Reason.JWS_ALG_NOT_ALLOWED, "invalid_proof")


def test_no_nonce_endpoint_means_no_nonce_check(holder_key: ec.EllipticCurvePrivateKey) -> None:
    proof = _verify(_proof(holder_key, drop=("nonce",)), expected_nonce=None)
    assert proof.nonce is None  # type: ignore[attr-defined]


# --- §8 credential request and response ---------------------------------------------

CONFIGS: dict[str, JsonObject] = {
    "org.iso.18013.5.1.mDL": {
        "format": "mso_mdoc",
        "cryptographic_binding_methods_supported": ["cose_key"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
    },
    "pid": build_sd_jwt_vc_configuration(vct="urn:eudi:pid:1", scope="pid"),
    "unbound": build_sd_jwt_vc_configuration(vct="urn:x", scope="x", proof_algs=None),
}
SPEC_PROOF_HEADER_ONLY = (
    "eyJraWQiOiJkaWQ6ZXhhbXBsZTplYmZlYjFmNzEyZWJjNmYxYzI3NmUxMmVjMjEva2V5cy8xIiwiYWxn"
    "IjoiRVMyNTYiLCJ0eXAiOiJKV1QifQ"
)


def test_spec_credential_request_examples_parse() -> None:
    mdl = parse_credential_request(
        {
            "credential_configuration_id": "org.iso.18013.5.1.mDL",
            "proofs": {"jwt": [SPEC_PROOF_HEADER_ONLY]},
        },
        metadata_configurations=CONFIGS,
        authorized={"org.iso.18013.5.1.mDL"},
    )
    assert mdl.proof_type == "jwt"
    assert mdl.proofs == (SPEC_PROOF_HEADER_ONLY,)
    batch = parse_credential_request(
        {
            "credential_identifier": "CivilEngineeringDegree-2023",
            "proofs": {"jwt": [SPEC_PROOF, SPEC_PROOF_HEADER_ONLY]},
        },
        metadata_configurations=CONFIGS,
        authorized={"CivilEngineeringDegree-2023": "pid"},
        batch_size=10,
    )
    assert batch.credential_identifier == "CivilEngineeringDegree-2023"
    assert len(batch.proofs) == 2


def test_configuration_without_binding_needs_no_proofs() -> None:
    request = parse_credential_request(
        {"credential_configuration_id": "unbound"},
        metadata_configurations=CONFIGS,
        authorized={"unbound"},
    )
    assert request.proofs == ()


CREDENTIAL_NEGATIVES = {
    "missing proof": (
        {"credential_configuration_id": "pid"},
        Reason.OID4VCI_PROOF_MISSING,
        "invalid_proof",
    ),
    "unknown configuration": (
        {"credential_configuration_id": "nope", "proofs": {"jwt": ["a.b.c"]}},
        Reason.OID4VCI_UNKNOWN_CREDENTIAL_CONFIGURATION,
        "unknown_credential_configuration",
    ),
    "unknown identifier": (
        {"credential_identifier": "nope", "proofs": {"jwt": ["a.b.c"]}},
        Reason.OID4VCI_UNKNOWN_CREDENTIAL_IDENTIFIER,
        "unknown_credential_identifier",
    ),
    # §8.3.1.2 "invalid_proof: The proofs parameter in the Credential Request is
    # invalid: (1) if the field is missing"; the draft-13 `proof` beside it is ignored.
    "singular proof (draft 13)": (
        {"credential_configuration_id": "pid", "proof": {"proof_type": "jwt", "jwt": "a.b.c"}},
        Reason.OID4VCI_PROOF_PARAMETER_OBSOLETE,
        "invalid_proof",
    ),
    "both identifiers": (
        {
            "credential_configuration_id": "pid",
            "credential_identifier": "i",
            "proofs": {"jwt": ["a.b.c"]},
        },
        Reason.OID4VCI_CREDENTIAL_REQUEST_INVALID,
        "invalid_credential_request",
    ),
    "neither identifier (format only, draft 13)": (
        {"format": "dc+sd-jwt", "vct": "urn:eudi:pid:1", "proofs": {"jwt": ["a.b.c"]}},
        Reason.OID4VCI_CREDENTIAL_REQUEST_INVALID,
        "invalid_credential_request",
    ),
    "two proof types": (
        {"credential_configuration_id": "pid", "proofs": {"jwt": ["a.b.c"], "attestation": ["x"]}},
        Reason.OID4VCI_PROOFS_MALFORMED,
        "invalid_proof",
    ),
    "empty proof array": (
        {"credential_configuration_id": "pid", "proofs": {"jwt": []}},
        Reason.OID4VCI_PROOFS_MALFORMED,
        "invalid_proof",
    ),
    "unsupported proof type": (
        {"credential_configuration_id": "pid", "proofs": {"di_vp": [{}]}},
        Reason.OID4VCI_PROOF_TYPE_UNSUPPORTED,
        "invalid_proof",
    ),
    "batch larger than batch_size": (
        {"credential_configuration_id": "pid", "proofs": {"jwt": ["a.b.c"] * 3}},
        Reason.OID4VCI_BATCH_TOO_LARGE,
        "invalid_credential_request",
    ),
    "configuration not covered by the token": (
        {"credential_configuration_id": "unbound"},
        Reason.OID4VCI_CREDENTIAL_NOT_AUTHORIZED,
        "insufficient_scope",
    ),
    "response encryption asked for": (
        {
            "credential_configuration_id": "pid",
            "proofs": {"jwt": ["a.b.c"]},
            "credential_response_encryption": {"jwk": {}, "enc": "A128GCM"},
        },
        Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID,
        "invalid_encryption_parameters",
    ),
}


@pytest.mark.parametrize("case", list(CREDENTIAL_NEGATIVES))
def test_credential_request_negatives(case: str) -> None:
    body, reason, wire = CREDENTIAL_NEGATIVES[case]
    with pytest.raises(PasserelleError) as exc:
        parse_credential_request(
            body,  # type: ignore[arg-type]
            metadata_configurations=CONFIGS,
            authorized={"pid"},
            batch_size=2,
        )
    _check(exc, reason, wire)


def test_credential_and_deferred_responses_match_the_spec_examples() -> None:
    assert credential_response(
        [
            "LUpixVCWJk0eOt4CXQe1NXK....WZwmhmn9OQp6YxX0a2L",
            "YXNkZnNhZGZkamZqZGFza23....29tZTIzMjMyMzIzMjMy",
        ],
        notification_id="3fwe98js",
    ) == {
        "credentials": [
            {"credential": "LUpixVCWJk0eOt4CXQe1NXK....WZwmhmn9OQp6YxX0a2L"},
            {"credential": "YXNkZnNhZGZkamZqZGFza23....29tZTIzMjMyMzIzMjMy"},
        ],
        "notification_id": "3fwe98js",
    }
    assert deferred_response("8xLOxBtZp8", interval=3600) == {
        "transaction_id": "8xLOxBtZp8",
        "interval": 3600,
    }
    assert HTTP_STATUS_DEFERRED == 202
    assert parse_deferred_request({"transaction_id": "8xLOxBtZp8"}).transaction_id == "8xLOxBtZp8"
    with pytest.raises(PasserelleError) as exc:
        parse_deferred_request({})
    _check(exc, Reason.OID4VCI_DEFERRED_REQUEST_INVALID, "invalid_credential_request")


def test_notification_requests() -> None:
    accepted = parse_notification_request(
        {"notification_id": "3fwe98js", "event": "credential_accepted"}
    )
    assert accepted.event is NotificationEvent.CREDENTIAL_ACCEPTED
    failure = parse_notification_request(
        {
            "notification_id": "3fwe98js",
            "event": "credential_failure",
            "event_description": "Could not store the Credential. Out of storage.",
        },
        known_notification_ids={"3fwe98js"},
    )
    assert failure.event_description == "Could not store the Credential. Out of storage."
    for body in (
        {"notification_id": "3fwe98js", "event": "CREDENTIAL_ACCEPTED"},
        {"event": "credential_accepted"},
        {"notification_id": "3fwe98js", "event": "credential_deleted", "event_description": 'é"'},
    ):
        with pytest.raises(PasserelleError) as exc:
            parse_notification_request(body)  # type: ignore[arg-type]
        _check(exc, Reason.OID4VCI_NOTIFICATION_REQUEST_INVALID, "invalid_notification_request")
    with pytest.raises(PasserelleError) as exc:
        parse_notification_request(
            {"notification_id": "other", "event": "credential_accepted"},
            known_notification_ids={"3fwe98js"},
        )
    _check(exc, Reason.OID4VCI_NOTIFICATION_ID_INVALID, "invalid_notification_id")


# --- error bodies -------------------------------------------------------------------


def test_error_body_status_and_headers() -> None:
    with pytest.raises(PasserelleError) as exc:
        _verify(SPEC_PROOF, now=SPEC_PROOF_TIME, expected_nonce="fresh")
    assert error_body(exc.value) == {
        "error": "invalid_nonce",
        "error_description": exc.value.detail,
    }
    assert http_status_for(exc.value) == 400
    assert error_headers(exc.value) == {"Cache-Control": "no-store"}
    token = PasserelleError(
        Reason.OID4VCI_ACCESS_TOKEN_INVALID, 'bad "token"\n', wire_error="invalid_token"
    )
    assert http_status_for(token) == 401
    assert error_body(token)["error_description"] == "bad ?token??"
    assert error_headers(token, scheme="DPoP")["WWW-Authenticate"].startswith(
        'DPoP error="invalid_token"'
    )


# --- session table ------------------------------------------------------------------


def test_pre_authorized_flow_through_the_table() -> None:
    state = IssuanceState.OFFERED
    for event in (
        IssuanceEvent.REDEEM_PRE_AUTHORIZED_CODE,
        IssuanceEvent.DEFER,
        IssuanceEvent.DEFER,
        IssuanceEvent.ISSUE_DEFERRED_CREDENTIAL,
        IssuanceEvent.NOTIFY,
        IssuanceEvent.NOTIFY,
    ):
        state = advance(state, event)
    assert state is IssuanceState.NOTIFIED


def test_code_flow_through_the_table() -> None:
    state = IssuanceState.OFFERED
    for event in (
        IssuanceEvent.START_AUTHORIZATION,
        IssuanceEvent.ISSUE_CODE,
        IssuanceEvent.REDEEM_CODE,
        IssuanceEvent.ISSUE_CREDENTIAL,
        IssuanceEvent.ISSUE_CREDENTIAL,
    ):
        state = advance(state, event)
    assert state is IssuanceState.CREDENTIAL_ISSUED


@pytest.mark.parametrize(
    ("state", "event", "wire"),
    [
        (IssuanceState.TOKEN_ISSUED, IssuanceEvent.REDEEM_PRE_AUTHORIZED_CODE, "invalid_grant"),
        (IssuanceState.TOKEN_ISSUED, IssuanceEvent.REDEEM_CODE, "invalid_grant"),
        (IssuanceState.AUTHORIZATION_PENDING, IssuanceEvent.REDEEM_CODE, "invalid_grant"),
        (
            IssuanceState.CREDENTIAL_ISSUED,
            IssuanceEvent.ISSUE_DEFERRED_CREDENTIAL,
            "invalid_transaction_id",
        ),
        (IssuanceState.OFFERED, IssuanceEvent.ISSUE_CREDENTIAL, "invalid_token"),
    ],
)
def test_events_out_of_turn_are_refused(
    state: IssuanceState, event: IssuanceEvent, wire: str
) -> None:
    with pytest.raises(PasserelleError) as exc:
        advance(state, event)
    _check(exc, Reason.OID4VCI_SESSION_TRANSITION_INVALID, wire)
    assert state.value in exc.value.detail
    assert event.value in exc.value.detail


def test_reused_pre_authorized_code_is_invalid_grant() -> None:
    state = advance(IssuanceState.OFFERED, IssuanceEvent.REDEEM_PRE_AUTHORIZED_CODE)
    with pytest.raises(PasserelleError) as exc:
        advance(state, IssuanceEvent.REDEEM_PRE_AUTHORIZED_CODE)
    _check(exc, Reason.OID4VCI_SESSION_TRANSITION_INVALID, "invalid_grant")


# --- §6.2 authorization_details in the Token Response ---------------------------------


def test_granted_details_carry_one_fresh_identifier_each() -> None:
    from passerelle.oid4vci import AuthorizationDetail, grant_credential_identifiers

    details = (
        AuthorizationDetail(credential_configuration_id="pid"),
        AuthorizationDetail(credential_configuration_id="mdl", claims=({"path": ["given_name"]},)),
    )
    granted = grant_credential_identifiers(
        details, granted=["pid", "mdl", "other"], random=SeededRandom(4)
    )
    answered = granted.authorization_details
    assert [d["credential_configuration_id"] for d in answered] == ["pid", "mdl"]
    assert all(d["type"] == "openid_credential" for d in answered)
    assert answered[1]["claims"] == [{"path": ["given_name"]}]
    ids = [d["credential_identifiers"][0] for d in answered]  # type: ignore[index]
    assert len(set(ids)) == 2
    assert granted.identifiers == {ids[0]: "pid", ids[1]: "mdl"}
    with pytest.raises(PasserelleError) as exc:
        grant_credential_identifiers(details, granted=["pid"], random=SeededRandom(4))
    _check(exc, Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID, "invalid_authorization_details")


def test_wallet_reads_granted_identifiers_and_ignores_the_rest() -> None:
    from passerelle.oid4vci import granted_credential_identifiers

    token: dict[str, object] = {
        "access_token": "a",
        "token_type": "Bearer",
        "authorization_details": [
            {"type": "urn:example:other", "credential_identifiers": ["nope"]},
            {
                "type": "openid_credential",
                "credential_configuration_id": "pid",
                "credential_identifiers": ["pid-1", "pid-2"],
                "x_unknown": {"ignored": True},
            },
            {
                "type": "openid_credential",
                "credential_configuration_id": "mdl",
                "credential_identifiers": ["mdl-1"],
            },
        ],
    }
    assert granted_credential_identifiers(token, configuration_id="pid") == ("pid-1", "pid-2")
    assert granted_credential_identifiers({"access_token": "a"}, configuration_id="pid") == ()
    token["authorization_details"][1]["credential_identifiers"] = []  # type: ignore[index]
    with pytest.raises(PasserelleError) as exc:
        granted_credential_identifiers(token, configuration_id="pid")
    assert exc.value.reason is Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID
