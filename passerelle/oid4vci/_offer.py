"""§4.1 Credential Offers: the object, its JSON, and the links that carry it.

Links use the ``openid-credential-offer://`` scheme of §12.1.1 or, for the EU
profile, ``haip-vci://`` (HAIP 1.0 §4.2, same query parameters as §4.1). The query
holds exactly one of ``credential_offer`` (the JSON, percent-encoded) or
``credential_offer_uri`` (an ``https`` URL).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qs, quote

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue, parse_json_object
from .._net import split_url
from ._errors import oid4vci_error
from ._models import (
    AUTHORIZATION_CODE_GRANT,
    HAIP_OFFER_SCHEME,
    OFFER_SCHEME,
    PRE_AUTHORIZED_CODE_GRANT,
    AuthorizationCodeGrant,
    CredentialOffer,
    OfferGrants,
    OfferLink,
    PreAuthorizedCodeGrant,
    TxCode,
    _optional_str,
    _require_str,
    _string_array,
)

__all__ = [
    "credential_offer_uri_link",
    "credential_offer_value_link",
    "offer_to_json",
    "parse_credential_offer",
    "parse_offer_link",
]

_LINK_SCHEMES = frozenset({OFFER_SCHEME, HAIP_OFFER_SCHEME, "https"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_TX_DESCRIPTION_MAX = 300


def _error(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_OFFER_INVALID, detail)


def _check_https_url(
    value: str, *, what: str, allow_loopback_http: bool, identifier: bool = False
) -> None:
    parts = split_url(value)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if parts.scheme != "https" and not (allow_loopback_http and loopback):
        raise _error(f"{what} must be an https URL")
    if not parts.hostname:
        raise _error(f"{what} has no host")
    if identifier and (parts.query or parts.fragment or "?" in value or "#" in value):
        # §12.2.1: an issuer identifier has no query or fragment component.
        raise _error(f"{what} must not have a query or fragment")


def _parse_tx_code(value: JsonValue) -> TxCode:
    if not isinstance(value, dict):
        raise _error("tx_code is not an object")
    input_mode = _optional_str(value, "input_mode", _error, what="tx_code")
    if input_mode is not None and input_mode not in ("numeric", "text"):
        raise _error(f"tx_code input_mode {input_mode!r} is neither numeric nor text")
    length = value.get("length")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or length < 1
    ):
        raise _error("tx_code length is not a positive integer")
    description = _optional_str(value, "description", _error, what="tx_code")
    if description is not None and len(description) > _TX_DESCRIPTION_MAX:
        raise _error("tx_code description is longer than 300 characters")
    return TxCode(input_mode=input_mode, length=length, description=description)


def _parse_grants(value: JsonValue) -> OfferGrants:
    if not isinstance(value, dict):
        raise _error("grants is not an object")
    auth: AuthorizationCodeGrant | None = None
    pre: PreAuthorizedCodeGrant | None = None
    raw_auth = value.get(AUTHORIZATION_CODE_GRANT)
    if raw_auth is not None:
        if not isinstance(raw_auth, dict):
            raise _error("the authorization_code grant is not an object")
        auth = AuthorizationCodeGrant(
            issuer_state=_optional_str(raw_auth, "issuer_state", _error, what="grant"),
            authorization_server=_optional_str(
                raw_auth, "authorization_server", _error, what="grant"
            ),
            extra={
                k: v
                for k, v in raw_auth.items()
                if k not in ("issuer_state", "authorization_server")
            },
        )
    raw_pre = value.get(PRE_AUTHORIZED_CODE_GRANT)
    if raw_pre is not None:
        if not isinstance(raw_pre, dict):
            raise _error("the pre-authorized_code grant is not an object")
        pre = PreAuthorizedCodeGrant(
            pre_authorized_code=_require_str(raw_pre, "pre-authorized_code", _error, what="grant"),
            tx_code=_parse_tx_code(raw_pre["tx_code"]) if "tx_code" in raw_pre else None,
            authorization_server=_optional_str(
                raw_pre, "authorization_server", _error, what="grant"
            ),
            extra={
                k: v
                for k, v in raw_pre.items()
                if k not in ("pre-authorized_code", "tx_code", "authorization_server")
            },
        )
    other = {
        k: v
        for k, v in value.items()
        if k not in (AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT)
    }
    return OfferGrants(authorization_code=auth, pre_authorized_code=pre, other=other)


def parse_credential_offer(
    data: JsonObject | str | bytes, *, allow_loopback_http: bool = False
) -> CredentialOffer:
    """A §4.1.1 Credential Offer object from JSON, or raise ``oid4vci.offer_invalid``.

    ``allow_loopback_http`` admits ``http://localhost`` issuers, the development
    relaxation of the design; nothing else relaxes the ``https`` rule.
    """
    obj = data if isinstance(data, dict) else parse_json_object(data, what="credential offer")
    issuer = _require_str(obj, "credential_issuer", _error, what="credential offer")
    _check_https_url(
        issuer, what="credential_issuer", allow_loopback_http=allow_loopback_http, identifier=True
    )
    if "credential_configuration_ids" not in obj:
        raise _error("credential_configuration_ids is required")
    ids = _string_array(
        obj["credential_configuration_ids"],
        _error,
        what="credential_configuration_ids",
        unique=True,
    )
    grants = _parse_grants(obj["grants"]) if obj.get("grants") is not None else None
    known = {"credential_issuer", "credential_configuration_ids", "grants"}
    return CredentialOffer(
        credential_issuer=issuer,
        credential_configuration_ids=ids,
        grants=grants,
        extra={k: v for k, v in obj.items() if k not in known},
    )


def _tx_code_json(tx: TxCode) -> JsonObject:
    out: JsonObject = {}
    if tx.input_mode is not None:
        out["input_mode"] = tx.input_mode
    if tx.length is not None:
        out["length"] = tx.length
    if tx.description is not None:
        out["description"] = tx.description
    return out


def offer_to_json(offer: CredentialOffer) -> JsonObject:
    """The wire JSON of an offer (what the offer URI serves, or the link embeds)."""
    out: JsonObject = {
        **offer.extra,
        "credential_issuer": offer.credential_issuer,
        "credential_configuration_ids": list(offer.credential_configuration_ids),
    }
    if offer.grants is not None:
        grants: JsonObject = dict(offer.grants.other)
        auth = offer.grants.authorization_code
        if auth is not None:
            a: JsonObject = dict(auth.extra)
            if auth.issuer_state is not None:
                a["issuer_state"] = auth.issuer_state
            if auth.authorization_server is not None:
                a["authorization_server"] = auth.authorization_server
            grants[AUTHORIZATION_CODE_GRANT] = a
        pre = offer.grants.pre_authorized_code
        if pre is not None:
            p: JsonObject = {**pre.extra, "pre-authorized_code": pre.pre_authorized_code}
            if pre.tx_code is not None:
                p["tx_code"] = _tx_code_json(pre.tx_code)
            if pre.authorization_server is not None:
                p["authorization_server"] = pre.authorization_server
            grants[PRE_AUTHORIZED_CODE_GRANT] = p
        out["grants"] = grants
    return out


def _check_scheme(scheme: str) -> None:
    if scheme not in (OFFER_SCHEME, HAIP_OFFER_SCHEME):
        raise PasserelleError(
            Reason.OID4VCI_OFFER_INVALID,
            f"offer links use {OFFER_SCHEME} or {HAIP_OFFER_SCHEME}, not {scheme!r}",
            fault=Fault.LOCAL,
        )


def credential_offer_uri_link(offer_uri: str, *, scheme: str = OFFER_SCHEME) -> str:
    """``<scheme>://?credential_offer_uri=<percent-encoded https URL>`` (§4.1.3)."""
    _check_scheme(scheme)
    return f"{scheme}://?credential_offer_uri={quote(offer_uri, safe='')}"


def credential_offer_value_link(offer: CredentialOffer, *, scheme: str = OFFER_SCHEME) -> str:
    """``<scheme>://?credential_offer=<percent-encoded JSON>`` (§4.1.2)."""
    _check_scheme(scheme)
    text = json.dumps(offer_to_json(offer), separators=(",", ":"), ensure_ascii=False)
    return f"{scheme}://?credential_offer={quote(text, safe='')}"


def parse_offer_link(url: str, *, allow_loopback_http: bool = False) -> OfferLink:
    """What a wallet reads from a QR code or deep link: the offer, or where to fetch it."""
    if not isinstance(url, str):
        raise _error("offer link is not a string")
    parts = split_url(url.strip())
    if parts.scheme not in _LINK_SCHEMES:
        raise _error(f"offer link scheme {parts.scheme!r} is not an offer scheme")
    try:
        query: Mapping[str, list[str]] = parse_qs(
            parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)
        )
    except ValueError as exc:
        raise _error("offer link query is malformed") from exc
    by_value = query.get("credential_offer")
    by_reference = query.get("credential_offer_uri")
    if (by_value is None) == (by_reference is None):
        raise _error("exactly one of credential_offer and credential_offer_uri is required")
    chosen = by_value if by_value is not None else by_reference
    if chosen is None or len(chosen) != 1:
        raise _error("the offer parameter is repeated")
    if by_value is not None:
        return OfferLink(
            scheme=parts.scheme,
            credential_offer=parse_credential_offer(
                chosen[0], allow_loopback_http=allow_loopback_http
            ),
        )
    _check_https_url(
        chosen[0], what="credential_offer_uri", allow_loopback_http=allow_loopback_http
    )
    return OfferLink(scheme=parts.scheme, credential_offer_uri=chosen[0])
