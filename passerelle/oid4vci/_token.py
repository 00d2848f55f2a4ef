"""The OAuth side of OpenID4VCI 1.0: authorization (PAR, PKCE) and the Token Endpoint.

§5 Authorization Endpoint with RFC 9126 PAR and RFC 7636 PKCE (``S256`` only, as
HAIP 1.0 and FAPI 2.0 require), §6 Token Endpoint for both grants. Storage of
codes, their expiry and single use belong to the service and the session table
(:mod:`._session`); these functions check what the messages themselves carry.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue, b64url_encode, parse_json
from .._random import RandomSource
from ._errors import oid4vci_error
from ._models import (
    AUTHORIZATION_CODE_GRANT,
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    AuthorizationDetail,
    AuthorizationRequest,
    TokenRequest,
    _string_array,
)

__all__ = [
    "PAR_REQUEST_URI_PREFIX",
    "CredentialIdentifiers",
    "check_pre_authorized_code",
    "grant_credential_identifiers",
    "granted_credential_identifiers",
    "make_authorization_code",
    "make_pre_authorized_code",
    "make_tx_code",
    "par_response",
    "parse_authorization_details",
    "parse_authorization_request",
    "parse_token_request",
    "requested_configuration_ids",
    "token_response",
    "verify_pkce",
]

PAR_REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"

# RFC 7636 §4.1: code_verifier = 43*128unreserved; §4.2: an S256 challenge is the
# base64url of a SHA-256, 43 characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def _token_error(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_TOKEN_REQUEST_INVALID, detail)


def _authz_error(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID, detail)


def _details_error(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID, detail)


def parse_authorization_details(value: str | JsonValue) -> tuple[AuthorizationDetail, ...]:
    """RFC 9396 ``authorization_details`` (a JSON array, or its form-encoded string).

    Entries of other types are allowed next to ``openid_credential`` (§5.1.1) and are
    skipped here; unknown members of an ``openid_credential`` entry are kept.
    """
    parsed = parse_json(value, what="authorization_details") if isinstance(value, str) else value
    if not isinstance(parsed, list) or not parsed:
        raise _details_error("authorization_details is not a non-empty JSON array")
    out: list[AuthorizationDetail] = []
    for entry in parsed:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise _details_error("an authorization_details entry has no string type")
        if entry["type"] != OPENID_CREDENTIAL:
            continue
        config_id = entry.get("credential_configuration_id")
        if not isinstance(config_id, str) or not config_id:
            raise _details_error("openid_credential entry without credential_configuration_id")
        locations: tuple[str, ...] = ()
        if "locations" in entry:
            locations = _string_array(entry["locations"], _details_error, what="locations")
        claims: tuple[JsonObject, ...] | None = None
        if "claims" in entry:
            raw_claims = entry["claims"]
            if (
                not isinstance(raw_claims, list)
                or not raw_claims
                or not all(
                    isinstance(c, dict) and isinstance(c.get("path"), list) for c in raw_claims
                )
            ):
                raise _details_error("claims is not a non-empty array of claims descriptions")
            claims = tuple(c for c in raw_claims if isinstance(c, dict))
        known = {"type", "credential_configuration_id", "locations", "claims"}
        out.append(
            AuthorizationDetail(
                credential_configuration_id=config_id,
                locations=locations,
                claims=claims,
                extra={k: v for k, v in entry.items() if k not in known},
            )
        )
    return tuple(out)


def _scope(value: str | None) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


_AUTHZ_KNOWN = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "scope",
        "authorization_details",
        "state",
        "issuer_state",
        "resource",
    }
)


def parse_authorization_request(params: Mapping[str, str]) -> AuthorizationRequest:
    """Validate a (pushed) authorization request, or raise ``invalid_request``.

    PKCE is required with ``S256``; ``plain`` and a missing method (which RFC 7636
    §4.3 would read as ``plain``) are refused. A ``request_uri`` is refused: RFC 9126
    §2.1 forbids it in a pushed request, and the authorize endpoint resolves one
    before calling this. At least one credential must be asked for, by ``scope`` or
    ``authorization_details`` (§5.1).
    """
    get = params.get
    if "request_uri" in params:
        raise _authz_error("request_uri must not be sent in a pushed authorization request")
    if "request" in params:
        raise _authz_error("request objects are not supported")
    response_type = get("response_type")
    if response_type != "code":
        raise _authz_error(f"response_type must be 'code', not {response_type!r}")
    client_id = get("client_id")
    if not client_id:
        raise _authz_error("client_id is required")
    challenge = get("code_challenge")
    if not challenge:
        raise _authz_error("code_challenge is required (PKCE)")
    method = get("code_challenge_method")
    if method != "S256":
        raise oid4vci_error(
            Reason.OID4VCI_PKCE_METHOD_UNSUPPORTED,
            f"code_challenge_method must be S256, not {method!r}",
        )
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise _authz_error("code_challenge is not a base64url SHA-256 value")
    details: tuple[AuthorizationDetail, ...] = ()
    raw_details = get("authorization_details")
    if raw_details is not None:
        details = parse_authorization_details(raw_details)
    scope = _scope(get("scope"))
    if not scope and not details:
        raise _authz_error("neither scope nor openid_credential authorization_details given")
    return AuthorizationRequest(
        response_type=response_type,
        client_id=client_id,
        code_challenge=challenge,
        code_challenge_method=method,
        redirect_uri=get("redirect_uri"),
        scope=scope,
        authorization_details=details,
        state=get("state"),
        issuer_state=get("issuer_state"),
        resource=get("resource"),
        extra={k: v for k, v in params.items() if k not in _AUTHZ_KNOWN},
    )


def requested_configuration_ids(
    request: AuthorizationRequest | TokenRequest,
    *,
    credential_configurations: Mapping[str, JsonObject],
) -> tuple[str, ...]:
    """The configuration ids a request asks for, by authorization details and by scope.

    Unknown scope values are ignored (§5.1.2 "MUST ignore unknown scope values"); an
    unknown ``credential_configuration_id`` in authorization details is an error.
    """
    wanted: list[str] = []
    for detail in request.authorization_details:
        if detail.credential_configuration_id not in credential_configurations:
            raise _details_error(
                f"unknown credential_configuration_id {detail.credential_configuration_id!r}"
            )
        wanted.append(detail.credential_configuration_id)
    for config_id, config in credential_configurations.items():
        if config.get("scope") in request.scope and config_id not in wanted:
            wanted.append(config_id)
    return tuple(wanted)


def par_response(request_uri: str, *, expires_in: int) -> JsonObject:
    """RFC 9126 §2.2 body (sent with HTTP 201)."""
    if not request_uri.startswith(PAR_REQUEST_URI_PREFIX) or expires_in <= 0:
        raise PasserelleError(
            Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID,
            "request_uri must be a urn:ietf:params:oauth:request_uri and expires_in positive",
            fault=Fault.LOCAL,
        )
    return {"request_uri": request_uri, "expires_in": expires_in}


_TOKEN_KNOWN = frozenset(
    {
        "grant_type",
        "pre-authorized_code",
        "tx_code",
        "code",
        "redirect_uri",
        "code_verifier",
        "client_id",
        "scope",
        "authorization_details",
    }
)


def parse_token_request(form: Mapping[str, str]) -> TokenRequest:
    """§6.1 Token Request from its form fields, or raise.

    ``invalid_request`` for a missing parameter or one that does not belong to the
    grant, ``unsupported_grant_type`` for any grant but the two of OpenID4VCI.
    Unknown parameters are kept (§6.1: the AS "MUST ignore" them).
    """
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _token_error("grant_type is required")
    details: tuple[AuthorizationDetail, ...] = ()
    if form.get("authorization_details") is not None:
        details = parse_authorization_details(form["authorization_details"])
    common = {
        "client_id": form.get("client_id"),
        "scope": _scope(form.get("scope")),
        "authorization_details": details,
        "extra": {k: v for k, v in form.items() if k not in _TOKEN_KNOWN},
    }
    if grant_type == PRE_AUTHORIZED_CODE_GRANT:
        code = form.get("pre-authorized_code")
        if not code:
            raise _token_error("pre-authorized_code is required for this grant")
        return TokenRequest(
            grant_type=grant_type,
            pre_authorized_code=code,
            tx_code=form.get("tx_code"),
            **common,  # type: ignore[arg-type]
        )
    if grant_type == AUTHORIZATION_CODE_GRANT:
        if "tx_code" in form:
            # §6.1: tx_code "MUST only be used" with the pre-authorized grant.
            raise _token_error("tx_code is only allowed with the pre-authorized_code grant")
        code = form.get("code")
        if not code:
            raise _token_error("code is required for the authorization_code grant")
        verifier = form.get("code_verifier")
        if not verifier:
            raise _token_error("code_verifier is required (PKCE)")
        return TokenRequest(
            grant_type=grant_type,
            code=code,
            redirect_uri=form.get("redirect_uri"),
            code_verifier=verifier,
            **common,  # type: ignore[arg-type]
        )
    raise oid4vci_error(
        Reason.OID4VCI_GRANT_TYPE_UNSUPPORTED, f"grant_type {grant_type!r} is not supported"
    )


def check_pre_authorized_code(request: TokenRequest, *, expected_tx_code: str | None) -> None:
    """The Transaction Code rules of §6.3, for a code the caller has already found valid.

    ``expected_tx_code`` is None when the offer carried no ``tx_code`` object. Missing
    or unexpected codes are ``invalid_request``; a wrong code is ``invalid_grant``.
    """
    if request.grant_type != PRE_AUTHORIZED_CODE_GRANT:
        raise PasserelleError(
            Reason.OID4VCI_TOKEN_REQUEST_INVALID,
            "check_pre_authorized_code called for another grant",
            fault=Fault.LOCAL,
        )
    if expected_tx_code is None:
        if request.tx_code is not None:
            raise oid4vci_error(
                Reason.OID4VCI_TX_CODE_UNEXPECTED, "a tx_code was sent but none was expected"
            )
        return
    if request.tx_code is None:
        raise oid4vci_error(Reason.OID4VCI_TX_CODE_MISSING, "the offer requires a tx_code")
    if not hmac.compare_digest(request.tx_code.encode(), expected_tx_code.encode()):
        raise oid4vci_error(Reason.OID4VCI_TX_CODE_MISMATCH, "the tx_code is wrong")


def verify_pkce(code_verifier: str, code_challenge: str, method: str = "S256") -> None:
    """RFC 7636 §4.6: ``BASE64URL(SHA256(code_verifier)) == code_challenge``, or raise.

    Only ``S256`` is accepted; ``plain`` would let whoever sees the authorization
    request redeem the code.
    """
    if method != "S256":
        raise PasserelleError(
            Reason.OID4VCI_PKCE_METHOD_UNSUPPORTED,
            f"PKCE method {method!r} is not accepted",
            wire_error="invalid_grant",
        )
    if not isinstance(code_verifier, str) or not _VERIFIER.fullmatch(code_verifier):
        raise oid4vci_error(
            Reason.OID4VCI_PKCE_MISMATCH, "code_verifier is not 43-128 unreserved characters"
        )
    computed = b64url_encode(hashlib.sha256(code_verifier.encode("ascii")).digest())
    if not hmac.compare_digest(computed.encode(), code_challenge.encode()):
        raise oid4vci_error(Reason.OID4VCI_PKCE_MISMATCH, "code_verifier does not match")


def token_response(
    access_token: str,
    *,
    expires_in: int,
    authorization_details: Sequence[JsonObject] | None = None,
    token_type: str = "Bearer",  # noqa: S107 (a token type, not a secret)
) -> JsonObject:
    """§6.2 Token Response body. No ``c_nonce``: in 1.0 nonces come from §7 only."""
    if expires_in <= 0:
        raise PasserelleError(
            Reason.OID4VCI_TOKEN_REQUEST_INVALID, "expires_in must be positive", fault=Fault.LOCAL
        )
    body: JsonObject = {
        "access_token": access_token,
        "token_type": token_type,
        "expires_in": expires_in,
    }
    if authorization_details is not None:
        if not authorization_details:
            raise PasserelleError(
                Reason.OID4VCI_TOKEN_REQUEST_INVALID,
                "authorization_details must be non-empty when given",
                fault=Fault.LOCAL,
            )
        body["authorization_details"] = list(authorization_details)
    return body


def _random_token(random: RandomSource) -> str:
    return b64url_encode(random.token_bytes(32))


def make_pre_authorized_code(random: RandomSource) -> str:
    """A fresh, unguessable Pre-Authorized Code (256 bits)."""
    return _random_token(random)


def make_authorization_code(random: RandomSource) -> str:
    """A fresh, unguessable authorization code (256 bits)."""
    return _random_token(random)


def make_tx_code(random: RandomSource, *, length: int = 6) -> str:
    """A numeric Transaction Code (``input_mode`` ``numeric``), uniformly distributed."""
    if not 4 <= length <= 12:
        raise PasserelleError(
            Reason.OID4VCI_OFFER_INVALID, "tx_code length must be 4..12", fault=Fault.LOCAL
        )
    digits: list[str] = []
    while len(digits) < length:
        byte = random.token_bytes(1)[0]
        # Rejection sampling: 250 is the largest multiple of 10 below 256.
        if byte < 250:
            digits.append(str(byte % 10))
    return "".join(digits)


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialIdentifiers:
    """What a Token Response says about ``authorization_details`` (§6.2), and the
    credential identifiers the access token then covers, each mapped to its
    configuration id (what :func:`parse_credential_request` takes as ``authorized``)."""

    authorization_details: tuple[JsonObject, ...]
    identifiers: Mapping[str, str]


def grant_credential_identifiers(
    details: Sequence[AuthorizationDetail],
    *,
    granted: Collection[str],
    random: RandomSource,
) -> CredentialIdentifiers:
    """§6.2: ``authorization_details`` is "REQUIRED when the ``authorization_details``
    parameter ... is used in either the Authorization Request or Token Request", each
    entry with "``credential_identifiers``: REQUIRED. A non-empty array of strings, each
    uniquely identifying a Credential Dataset". One fresh identifier per entry.

    ``granted`` holds the configuration ids the grant covers (the offer's, or those
    authorized at the authorization endpoint); asking for another is
    ``invalid_authorization_details``: §6.1 recommends accepting "a subset", not more.
    """
    if not details:
        raise PasserelleError(
            Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID,
            "no openid_credential authorization_details to answer",
            fault=Fault.LOCAL,
        )
    out: list[JsonObject] = []
    identifiers: dict[str, str] = {}
    for detail in details:
        config_id = detail.credential_configuration_id
        if config_id not in granted:
            raise _details_error(f"the grant does not cover {config_id!r}")
        identifier = f"{config_id}#{b64url_encode(random.token_bytes(12))}"
        identifiers[identifier] = config_id
        entry: JsonObject = {
            "type": OPENID_CREDENTIAL,
            "credential_configuration_id": config_id,
            "credential_identifiers": [identifier],
        }
        if detail.claims is not None:
            entry["claims"] = list(detail.claims)
        out.append(entry)
    return CredentialIdentifiers(authorization_details=tuple(out), identifiers=identifiers)


def granted_credential_identifiers(
    token: Mapping[str, JsonValue], *, configuration_id: str
) -> tuple[str, ...]:
    """The wallet's reading of §6.2: the ``credential_identifiers`` a Token Response
    grants for ``configuration_id``, which "The Wallet MUST use ... in subsequent
    Credential Requests"; empty when it names none (then the configuration id is used).

    Entries of other types and unknown members are ignored ("The Wallet MUST ignore any
    unrecognized data fields in the ``authorization_details``").
    """
    details = token.get("authorization_details")
    if details is None:
        return ()
    if not isinstance(details, list):
        raise PasserelleError(
            Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID,
            "the Token Response's authorization_details is not an array",
        )
    found: list[str] = []
    for entry in details:
        if not isinstance(entry, dict) or entry.get("type") != OPENID_CREDENTIAL:
            continue
        if entry.get("credential_configuration_id") != configuration_id:
            continue
        ids = entry.get("credential_identifiers")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise PasserelleError(
                Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID,
                "credential_identifiers is not a non-empty array of strings",
            )
        found.extend(str(i) for i in ids)
    return tuple(found)
