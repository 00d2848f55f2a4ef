"""What the protocol endpoints take and answer, for the services' OpenAPI documents.

Routes that read their body themselves (forms of OAuth and OpenID4VP, JSON the core
parses) would otherwise document no body at all, and answers built by the core no
schema: a fuzzer then learns nothing and proves little. These are the wire shapes of
the specifications, lenient to extra members as they are. Errors are documented once
for every route by :mod:`services.web`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AUTHORIZATION_RESPONSE_FORM",
    "CREDENTIAL_REQUEST",
    "CREDENTIAL_RESPONSES",
    "NONCE_RESPONSES",
    "PAR_FORM",
    "TOKEN_FORM",
    "TOKEN_RESPONSES",
    "TRANSACTION_RESPONSES",
    "WALLET_CREDENTIALS_RESPONSES",
    "WALLET_DECISIONS_RESPONSES",
    "WALLET_NONCE_FORM",
    "WALLET_OFFER_RESPONSES",
    "WALLET_OUTCOME_RESPONSES",
]


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def _ok(description: str, schema: dict[str, Any], status: int = 200) -> dict[int | str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


_STRING = {"type": "string"}

TOKEN_FORM = _form(
    {
        "grant_type": {
            "type": "string",
            "enum": [
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                "authorization_code",
            ],
        },
        "pre-authorized_code": _STRING,
        "tx_code": _STRING,
        "code": _STRING,
        "redirect_uri": _STRING,
        "code_verifier": _STRING,
        "client_id": _STRING,
    },
    ["grant_type"],
)
"""OpenID4VCI 1.0 §6.1 / RFC 6749 §4.1.3: the Token Request."""

TOKEN_RESPONSES = _ok(
    "Token Response (OpenID4VCI 1.0 §6.2)",
    {
        "type": "object",
        "required": ["access_token", "token_type"],
        "properties": {
            "access_token": _STRING,
            "token_type": _STRING,
            "expires_in": {"type": "integer"},
        },
    },
)

PAR_FORM = _form(
    {
        "response_type": _STRING,
        "client_id": _STRING,
        "redirect_uri": _STRING,
        "scope": _STRING,
        "authorization_details": _STRING,
        "code_challenge": _STRING,
        "code_challenge_method": _STRING,
        "state": _STRING,
        "issuer_state": _STRING,
    },
    ["response_type", "client_id"],
)
"""RFC 9126: a Pushed Authorization Request."""

NONCE_RESPONSES = _ok(
    "Nonce Response (OpenID4VCI 1.0 §7.2)",
    {"type": "object", "required": ["c_nonce"], "properties": {"c_nonce": _STRING}},
)

CREDENTIAL_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "credential_configuration_id": _STRING,
                        "credential_identifier": _STRING,
                        "proofs": {
                            "type": "object",
                            "properties": {"jwt": {"type": "array", "items": _STRING}},
                        },
                        "transaction_id": _STRING,
                    },
                }
            }
        },
    }
}
"""OpenID4VCI 1.0 §8.2 (and the deferred request of §9.1)."""

CREDENTIAL_RESPONSES: dict[int | str, Any] = {
    **_ok(
        "Credential Response (OpenID4VCI 1.0 §8.3)",
        {
            "type": "object",
            "required": ["credentials"],
            "properties": {
                "credentials": {
                    "type": "array",
                    "items": {"type": "object", "required": ["credential"]},
                },
                "notification_id": _STRING,
            },
        },
    ),
    **_ok(
        "Deferred: a transaction_id to poll with (OpenID4VCI 1.0 §8.3)",
        {
            "type": "object",
            "required": ["transaction_id"],
            "properties": {"transaction_id": _STRING, "interval": {"type": "integer"}},
        },
        202,
    ),
}

WALLET_NONCE_FORM = _form({"wallet_nonce": _STRING}, [])
"""OpenID4VP 1.0 §5.10: the request_uri POST."""

AUTHORIZATION_RESPONSE_FORM = _form(
    {
        "vp_token": _STRING,
        "state": _STRING,
        "response": _STRING,
        "error": _STRING,
        "error_description": _STRING,
    },
    [],
)
"""OpenID4VP 1.0 §8.2 (direct_post) and §8.3 (direct_post.jwt: ``response``)."""

TRANSACTION_RESPONSES = _ok(
    "The transaction: its id, the request link and the page",
    {
        "type": "object",
        "required": ["transaction_id", "request_uri", "request_url"],
        "properties": {
            "transaction_id": _STRING,
            "client_id": _STRING,
            "request_uri": _STRING,
            "request_url": _STRING,
            "page": _STRING,
        },
    },
    201,
)

_OUTCOME = {
    "type": "object",
    "description": "A decision of the wallet: accepted, or refused with a reason code",
    "properties": {
        "accepted": {"type": "boolean"},
        "reason": {"type": ["string", "null"]},
        "detail": {"type": ["string", "null"]},
        "stage": _STRING,
        "decision_id": _STRING,
    },
}

WALLET_OFFER_RESPONSES = _ok(
    "One outcome per credential the offer gave (or one refusal)",
    {
        "type": "object",
        "required": ["outcomes"],
        "properties": {"outcomes": {"type": "array", "items": _OUTCOME}},
    },
)

WALLET_OUTCOME_RESPONSES = _ok("The outcome, or the pending request to consent to", _OUTCOME)

WALLET_CREDENTIALS_RESPONSES = _ok(
    "What the wallet holds (no claim values)",
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["credential_id", "format", "credential_type", "issuer", "claims"],
            "properties": {
                "credential_id": _STRING,
                "format": _STRING,
                "credential_type": _STRING,
                "issuer": _STRING,
                "claims": {"type": "array", "items": _STRING},
            },
        },
    },
)

WALLET_DECISIONS_RESPONSES = _ok("Every accept and refuse", {"type": "array", "items": _OUTCOME})
