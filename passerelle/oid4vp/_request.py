"""Authorization Requests (OpenID4VP 1.0 §5), Request Objects (JAR, RFC 9101) and
wallet invocation URLs, from both sides.

Verifier: :func:`create_request_object`, :func:`authorization_request_url`,
:func:`authorization_request_value_url`. Wallet: :func:`parse_authorization_request_url`,
:func:`parse_request_reference`, :func:`verify_request_object`,
:func:`parse_authorization_request`, :func:`check_profile`.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from cryptography import x509

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue, parse_json
from .._net import is_loopback_host, split_url
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    sign_jws,
    verify_jws,
)
from ..x509 import check_x509_hash, verify_x5c_chain
from ._client_id import DidResolver, parse_client_id, resolve_did_request_key
from ._models import (
    DEFAULT_RESPONSE_ENC,
    HAIP_SCHEME,
    OPENID4VP_SCHEME,
    REQUEST_OBJECT_TYP,
    RESPONSE_TYPE_VP_TOKEN,
    STATIC_AUDIENCE,
    AuthorizationRequest,
    ClientId,
    ClientIdPrefix,
    ClientMetadata,
    Profile,
    RequestLink,
    RequestReference,
    RequestUriMethod,
    ResponseMode,
    VerifiedAuthorizationRequest,
    VerifierInfo,
    oid4vp_error,
)

__all__ = [
    "DEFAULT_REQUEST_OBJECT_ALGORITHMS",
    "authorization_request_url",
    "authorization_request_value_url",
    "check_profile",
    "create_request_object",
    "parse_authorization_request",
    "parse_authorization_request_url",
    "parse_request_reference",
    "request_to_claims",
    "request_to_params",
    "verify_request_object",
]

DEFAULT_REQUEST_OBJECT_ALGORITHMS: tuple[str, ...] = ("ES256", "ES384", "Ed25519", "EdDSA")

# §5.2: nonce and state "MUST only contain ASCII URL safe characters".
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
_MAX_URL = 64 * 1024
_SCHEMES = frozenset({OPENID4VP_SCHEME, HAIP_SCHEME, "https"})
_KNOWN = frozenset(
    {
        "client_id",
        "response_type",
        "response_mode",
        "response_uri",
        "redirect_uri",
        "nonce",
        "state",
        "dcql_query",
        "scope",
        "client_metadata",
        "wallet_nonce",
        "verifier_info",
        "transaction_data",
        "request",
        "request_uri",
        "request_uri_method",
        # JWT claims of a Request Object; ``iss`` "MUST be ignored" (§5).
        "iss",
        "aud",
        "iat",
        "exp",
        "nbf",
        "jti",
    }
)


def _invalid(detail: str) -> PasserelleError:
    return oid4vp_error(Reason.OID4VP_REQUEST_INVALID, detail)


def _string(params: Mapping[str, JsonValue], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"{name} must be a non-empty string")
    return value


def _url_safe(params: Mapping[str, JsonValue], name: str) -> str | None:
    value = _string(params, name)
    if value is not None and not _URL_SAFE.fullmatch(value):
        raise _invalid(f"{name} holds characters outside the URL-safe set")
    return value


def _json_member(params: Mapping[str, JsonValue], name: str, *, from_object: bool) -> JsonValue:
    value = params.get(name)
    if value is None or from_object:
        return value
    # RFC 6749 form parameters are strings; objects travel as JSON text (§5.1).
    if not isinstance(value, str):
        raise _invalid(f"{name} must be JSON text in a URL parameter")
    try:
        return parse_json(value, what=name)
    except PasserelleError as exc:
        raise _invalid(f"{name} is not valid JSON") from exc


def _is_allowed_http_url(value: str) -> bool:
    parts = split_url(value)
    if parts.fragment or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    # DESIGN §3: plain HTTP on loopback is the development relaxation, nowhere else.
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def _parse_client_metadata(value: JsonValue) -> ClientMetadata | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise oid4vp_error(
            Reason.OID4VP_CLIENT_METADATA_INVALID, "client_metadata is not an object"
        )
    jwks = value.get("jwks")
    if jwks is not None:
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(jwks, dict) or not isinstance(keys, list) or not keys:
            raise oid4vp_error(
                Reason.OID4VP_CLIENT_METADATA_INVALID, "client_metadata.jwks is not a JWK Set"
            )
        kids: set[str] = set()
        for key in keys:
            # §5.1: "Each JWK in the set MUST have a kid ... that uniquely identifies" it.
            kid = key.get("kid") if isinstance(key, dict) else None
            if not isinstance(kid, str) or not kid or kid in kids:
                raise oid4vp_error(
                    Reason.OID4VP_CLIENT_METADATA_INVALID, "each jwks key needs a unique kid"
                )
            if "d" in key:  # type: ignore[operator]
                raise oid4vp_error(
                    Reason.OID4VP_CLIENT_METADATA_INVALID, "jwks must not hold private keys"
                )
            kids.add(kid)
    enc = value.get("encrypted_response_enc_values_supported")
    enc_values: tuple[str, ...] | None = None
    if enc is not None:
        if not isinstance(enc, list) or not enc or not all(isinstance(e, str) for e in enc):
            raise oid4vp_error(
                Reason.OID4VP_CLIENT_METADATA_INVALID,
                "encrypted_response_enc_values_supported is not a non-empty array of strings",
            )
        enc_values = tuple(str(e) for e in enc)
    formats = value.get("vp_formats_supported")
    if formats is not None and not isinstance(formats, dict):
        raise oid4vp_error(
            Reason.OID4VP_CLIENT_METADATA_INVALID, "vp_formats_supported is not an object"
        )
    used = {"jwks", "encrypted_response_enc_values_supported", "vp_formats_supported"}
    return ClientMetadata(
        jwks=jwks if isinstance(jwks, dict) else None,
        encrypted_response_enc_values_supported=enc_values,
        vp_formats_supported=formats,
        extra={k: v for k, v in value.items() if k not in used},
    )


def _parse_verifier_info(value: JsonValue) -> tuple[VerifierInfo, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise _invalid("verifier_info is not a non-empty array")
    out: list[VerifierInfo] = []
    for item in value:
        if not isinstance(item, dict):
            raise _invalid("verifier_info entries are objects")
        fmt, data, ids = item.get("format"), item.get("data"), item.get("credential_ids")
        if not isinstance(fmt, str) or not isinstance(data, str | dict):
            raise _invalid("verifier_info entries need format (string) and data")
        if ids is not None and (
            not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids)
        ):
            raise _invalid("verifier_info credential_ids is not a non-empty array of strings")
        out.append(
            VerifierInfo(format=fmt, data=data, credential_ids=tuple(str(i) for i in ids or ()))
        )
    return tuple(out)


def _check_prefix_rules(client: ClientId, *, response_uri: str, from_request_object: bool) -> None:
    if client.prefix is ClientIdPrefix.REDIRECT_URI:
        if from_request_object:
            # §5.9.3: "Requests using the redirect_uri Client Identifier Prefix cannot
            # be signed".
            raise oid4vp_error(
                Reason.OID4VP_SIGNED_REQUEST_NOT_ALLOWED,
                "a redirect_uri client must not send a signed Request Object",
            )
        if client.identifier != response_uri:
            raise oid4vp_error(
                Reason.OID4VP_CLIENT_ID_INVALID,
                "under redirect_uri:, the client_id must be the response_uri",
            )
        return
    if not from_request_object:
        raise oid4vp_error(
            Reason.OID4VP_SIGNED_REQUEST_REQUIRED,
            f"the {client.prefix.value} prefix requires a signed Request Object",
        )
    if client.prefix is ClientIdPrefix.X509_SAN_DNS:
        # §5.9.3: without a list of trusted Client Identifiers, "the FQDN of the
        # redirect_uri value MUST match the Client Identifier"; we keep no such list.
        host = split_url(response_uri).hostname or ""
        if host.lower() != client.identifier.lower():
            raise oid4vp_error(
                Reason.OID4VP_CLIENT_ID_INVALID,
                f"response_uri host {host!r} is not the x509_san_dns name",
            )


def parse_authorization_request(
    params: Mapping[str, JsonValue], *, from_request_object: bool
) -> AuthorizationRequest:
    """Read an Authorization Request from URL parameters or Request Object claims.

    ``from_request_object`` says which: URL parameters carry objects as JSON text,
    and the prefix rules differ (``redirect_uri`` is never signed, the others always).
    The signature itself is :func:`verify_request_object`'s business.
    """
    if not isinstance(params, Mapping):
        raise _invalid("the request is not an object")
    if "request" in params or "request_uri" in params:
        raise _invalid("request and request_uri are references; use parse_request_reference")
    if "request_uri_method" in params:
        # §5.1: "request_uri_method parameter MUST NOT be present if a request_uri
        # parameter is not present".
        raise _invalid("request_uri_method without request_uri")
    client = parse_client_id(params.get("client_id"))
    if params.get("transaction_data") is not None:
        raise oid4vp_error(
            Reason.OID4VP_TRANSACTION_DATA_UNSUPPORTED, "transaction_data is not supported"
        )
    response_type = params.get("response_type")
    if response_type != RESPONSE_TYPE_VP_TOKEN:
        raise oid4vp_error(
            Reason.OID4VP_RESPONSE_TYPE_UNSUPPORTED,
            f"response_type {response_type!r} is not supported; only vp_token",
        )
    raw_mode = params.get("response_mode")
    try:
        mode = ResponseMode(raw_mode) if isinstance(raw_mode, str) else None
    except ValueError:
        mode = None
    if mode is None:
        raise oid4vp_error(
            Reason.OID4VP_RESPONSE_MODE_UNSUPPORTED,
            f"response_mode {raw_mode!r} is not supported; direct_post or direct_post.jwt",
        )
    if "redirect_uri" in params:
        # §8.2: "If the redirect_uri Authorization Request parameter is present when
        # the Response Mode is direct_post, the Wallet MUST return an invalid_request".
        raise oid4vp_error(
            Reason.OID4VP_REDIRECT_URI_WITH_DIRECT_POST,
            "redirect_uri must not be present with response_mode direct_post",
        )
    response_uri = _string(params, "response_uri")
    if response_uri is None:
        raise oid4vp_error(Reason.OID4VP_RESPONSE_URI_MISSING, f"{mode} requires response_uri")
    if not _is_allowed_http_url(response_uri):
        raise _invalid("response_uri is not an https URL")
    nonce = _url_safe(params, "nonce")
    if nonce is None:
        raise oid4vp_error(Reason.OID4VP_NONCE_MISSING, "nonce is required")
    state = _url_safe(params, "state")
    has_scope = params.get("scope") is not None
    dcql = _json_member(params, "dcql_query", from_object=from_request_object)
    if dcql is not None and has_scope:
        raise _invalid("dcql_query and scope must not both be present")
    if dcql is None:
        if has_scope:
            raise oid4vp_error(
                Reason.OID4VP_SCOPE_UNSUPPORTED, "scope aliases for DCQL queries are not supported"
            )
        raise oid4vp_error(Reason.OID4VP_DCQL_QUERY_MISSING, "dcql_query is required")
    if not isinstance(dcql, dict):
        raise _invalid("dcql_query is not a JSON object")
    metadata = _parse_client_metadata(
        _json_member(params, "client_metadata", from_object=from_request_object)
    )
    verifier_info = _parse_verifier_info(
        _json_member(params, "verifier_info", from_object=from_request_object)
    )
    wallet_nonce = _string(params, "wallet_nonce")
    _check_prefix_rules(client, response_uri=response_uri, from_request_object=from_request_object)
    return AuthorizationRequest(
        client_id=client.value,
        response_type=RESPONSE_TYPE_VP_TOKEN,
        response_mode=mode,
        response_uri=response_uri,
        nonce=nonce,
        state=state,
        dcql_query=dcql,
        client_metadata=metadata,
        wallet_nonce=wallet_nonce,
        verifier_info=verifier_info,
        extra={k: v for k, v in params.items() if k not in _KNOWN},
    )


def _metadata_to_json(metadata: ClientMetadata) -> JsonObject:
    out: JsonObject = dict(metadata.extra)
    if metadata.jwks is not None:
        out["jwks"] = metadata.jwks
    if metadata.encrypted_response_enc_values_supported is not None:
        out["encrypted_response_enc_values_supported"] = list(
            metadata.encrypted_response_enc_values_supported
        )
    if metadata.vp_formats_supported is not None:
        out["vp_formats_supported"] = metadata.vp_formats_supported
    return out


def request_to_claims(request: AuthorizationRequest) -> JsonObject:
    """The request as a JSON object: the claims of a Request Object, before JWT claims."""
    out: JsonObject = dict(request.extra)
    out.update(
        {
            "client_id": request.client_id,
            "response_type": request.response_type,
            "response_mode": request.response_mode.value,
            "response_uri": request.response_uri,
            "nonce": request.nonce,
            "dcql_query": request.dcql_query,
        }
    )
    if request.state is not None:
        out["state"] = request.state
    if request.client_metadata is not None:
        out["client_metadata"] = _metadata_to_json(request.client_metadata)
    if request.wallet_nonce is not None:
        out["wallet_nonce"] = request.wallet_nonce
    if request.verifier_info:
        out["verifier_info"] = [
            {
                "format": info.format,
                "data": info.data,
                **({"credential_ids": list(info.credential_ids)} if info.credential_ids else {}),
            }
            for info in request.verifier_info
        ]
    return out


def request_to_params(request: AuthorizationRequest) -> dict[str, str]:
    """The request as URL parameters: objects and arrays JSON-encoded (§5.1)."""
    out: dict[str, str] = {}
    for name, value in request_to_claims(request).items():
        if isinstance(value, str):
            out[name] = value
        else:
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return out


def _check_scheme(scheme: str) -> None:
    if scheme not in _SCHEMES:
        raise oid4vp_error(
            Reason.OID4VP_REQUEST_INVALID, f"unsupported scheme {scheme!r}", fault=Fault.LOCAL
        )


def authorization_request_url(
    *,
    scheme: str,
    client_id: str,
    request_uri: str,
    request_uri_method: RequestUriMethod | None = None,
    authority: str = "",
) -> str:
    """A wallet invocation URL passing the Request Object by reference (JAR §5.2)."""
    _check_scheme(scheme)
    params = {"client_id": client_id, "request_uri": request_uri}
    if request_uri_method is not None:
        params["request_uri_method"] = request_uri_method.value
    return f"{scheme}://{authority}?{urlencode(params)}"


def authorization_request_value_url(
    request: AuthorizationRequest, *, scheme: str, authority: str = ""
) -> str:
    """A wallet invocation URL with the request by value: only for ``redirect_uri:``."""
    _check_scheme(scheme)
    if parse_client_id(request.client_id).prefix is not ClientIdPrefix.REDIRECT_URI:
        raise oid4vp_error(
            Reason.OID4VP_SIGNED_REQUEST_REQUIRED,
            "only redirect_uri clients send unsigned requests",
            fault=Fault.LOCAL,
        )
    return f"{scheme}://{authority}?{urlencode(request_to_params(request))}"


def parse_authorization_request_url(url: str) -> RequestLink:
    """Split a wallet invocation URL; each parameter must appear at most once."""
    if not isinstance(url, str) or len(url) > _MAX_URL:
        raise _invalid("the request URL is not a string of bounded size")
    parts = split_url(url)
    if parts.scheme not in _SCHEMES:
        raise _invalid(f"scheme {parts.scheme!r} is not a wallet invocation scheme")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise _invalid("the request URL query is malformed") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        # RFC 6749 §3.1: "Request and response parameters MUST NOT be included more
        # than once."
        if name in params:
            raise _invalid(f"parameter {name} appears more than once")
        params[name] = value
    return RequestLink(scheme=parts.scheme, params=params)


def parse_request_reference(params: Mapping[str, str]) -> RequestReference:
    """Read ``client_id`` with ``request`` or ``request_uri`` (+ ``request_uri_method``).

    Other parameters next to a reference are ignored: the Wallet "MUST only use the
    parameters in this Request Object" (§5.10.1).
    """
    client_id = _string(params, "client_id")
    if client_id is None:
        raise _invalid("client_id is required next to a Request Object")
    request, request_uri = _string(params, "request"), _string(params, "request_uri")
    if (request is None) == (request_uri is None):
        raise _invalid("exactly one of request and request_uri is required")
    raw_method = params.get("request_uri_method")
    method: RequestUriMethod | None = None
    if raw_method is not None:
        if request_uri is None:
            raise _invalid("request_uri_method without request_uri")
        try:
            method = RequestUriMethod(raw_method)
        except ValueError:
            raise oid4vp_error(
                Reason.OID4VP_REQUEST_URI_METHOD_INVALID,
                f"request_uri_method {raw_method!r} is neither get nor post",
            ) from None
    if request_uri is not None and not _is_allowed_http_url(request_uri):
        raise oid4vp_error(Reason.OID4VP_REQUEST_INVALID, "request_uri is not an https URL")
    return RequestReference(
        client_id=client_id, request_uri=request_uri, request_uri_method=method, request=request
    )


def create_request_object(
    request: AuthorizationRequest,
    *,
    signer: Signer,
    now: datetime,
    x5c: Sequence[str] | None = None,
    kid: str | None = None,
    audience: str = STATIC_AUDIENCE,
    expires_in: timedelta = timedelta(minutes=5),
    wallet_nonce: str | None = None,
    extra_claims: Mapping[str, JsonValue] | None = None,
) -> str:
    """Sign ``request`` as a Request Object (``typ`` ``oauth-authz-req+jwt``).

    ``x5c`` (leaf first) for the ``x509_*`` prefixes, ``kid`` (a DID URL) for
    ``decentralized_identifier``. ``wallet_nonce`` echoes the Wallet's POST (§5.10).
    ``extra_claims`` are members beyond the request's own (never overriding them).
    """
    client = parse_client_id(request.client_id)
    if client.prefix is ClientIdPrefix.REDIRECT_URI:
        raise oid4vp_error(
            Reason.OID4VP_SIGNED_REQUEST_NOT_ALLOWED,
            "redirect_uri clients cannot sign requests",
            fault=Fault.LOCAL,
        )
    wants_x5c = client.prefix in (ClientIdPrefix.X509_SAN_DNS, ClientIdPrefix.X509_HASH)
    if wants_x5c != (x5c is not None) or (not wants_x5c) != (kid is not None):
        raise oid4vp_error(
            Reason.OID4VP_REQUEST_INVALID,
            f"the {client.prefix.value} prefix needs {'x5c' if wants_x5c else 'kid'} only",
            fault=Fault.LOCAL,
        )
    header: dict[str, object] = {"typ": REQUEST_OBJECT_TYP}
    if x5c is not None:
        header["x5c"] = list(x5c)
    if kid is not None:
        header["kid"] = kid
    issued = epoch(now)
    claims = {**(extra_claims or {}), **request_to_claims(request)}
    claims.update({"aud": audience, "iat": issued, "exp": issued + int(expires_in.total_seconds())})
    if wallet_nonce is not None:
        claims["wallet_nonce"] = wallet_nonce
    return sign_jws(header, claims, signer)


def _signer_key(
    client: ClientId,
    header: JsonObject,
    *,
    anchors: Sequence[x509.Certificate],
    did_resolver: DidResolver | None,
    now: datetime,
) -> tuple[PublicKey, tuple[x509.Certificate, ...], str | None]:
    if client.prefix is ClientIdPrefix.DECENTRALIZED_IDENTIFIER:
        if did_resolver is None:
            raise oid4vp_error(
                Reason.OID4VP_DID_KEY_UNRESOLVED, "no DID resolver was given", fault=Fault.LOCAL
            )
        key, method = resolve_did_request_key(client.identifier, header.get("kid"), did_resolver)
        return key, (), method
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
        raise oid4vp_error(
            Reason.OID4VP_REQUEST_OBJECT_INVALID, f"{client.prefix.value} requires an x5c header"
        )
    members = [str(c) for c in x5c]
    if client.prefix is ClientIdPrefix.X509_SAN_DNS:
        chain = verify_x5c_chain(
            members, anchors=anchors, now=now, require_dns_name=client.identifier
        )
    else:
        chain = verify_x5c_chain(members, anchors=anchors, now=now)
        check_x509_hash(chain.leaf, client.identifier)
    return chain.public_key, chain.chain, None


def _as_request_object_error(exc: PasserelleError) -> PasserelleError:
    # RFC 9101 §6.3: a Request Object that fails as a JWT is invalid_request_object.
    if exc.reason.split(".")[0] in ("jws", "jwt", "jwk", "input"):
        return exc.for_wire("invalid_request_object")
    return exc


def verify_request_object(
    token: str,
    *,
    client_id_from_url: str | None,
    anchors: Sequence[x509.Certificate],
    did_resolver: DidResolver | None,
    now: datetime,
    skew: timedelta,
    wallet_nonce: str | None,
    audiences: Collection[str] = (STATIC_AUDIENCE,),
    algorithms: Collection[str] = DEFAULT_REQUEST_OBJECT_ALGORITHMS,
) -> VerifiedAuthorizationRequest:
    """Verify a Request Object as a Wallet, and return the request it carries.

    Checks, in order: the JWS shape and ``typ``; the ``client_id`` claim equals the
    URL's ``client_id`` (§5.10.1, including the prefix); the prefix is supported and
    allows signing; the signing key is the one the prefix designates (``x5c`` chain
    to ``anchors`` with the SAN or hash rule, or the DID's verification method named
    by ``kid``); the signature; ``exp``/``nbf``/``iat``; ``aud`` is one of
    ``audiences`` (§5.8); ``wallet_nonce`` when the Wallet POSTed one; then the
    request parameters themselves. ``iss`` is ignored, as §5 says.
    """
    try:
        unverified = decode_unverified_jws(token, what="Request Object")
        claims = unverified.payload_json(what="Request Object payload")
    except PasserelleError as exc:
        raise _as_request_object_error(exc) from exc
    claimed = claims.get("client_id")
    if client_id_from_url is not None and claimed != client_id_from_url:
        raise oid4vp_error(
            Reason.OID4VP_CLIENT_ID_MISMATCH,
            "client_id in the Request Object differs from the client_id parameter",
        )
    client = parse_client_id(claimed)
    if client.prefix is ClientIdPrefix.REDIRECT_URI:
        raise oid4vp_error(
            Reason.OID4VP_SIGNED_REQUEST_NOT_ALLOWED,
            "a redirect_uri client must not send a signed Request Object",
        )
    key, chain, method = _signer_key(
        client, unverified.header, anchors=anchors, did_resolver=did_resolver, now=now
    )
    try:
        verified = verify_jws(
            unverified,
            key=key,
            algorithms=algorithms,
            typ=REQUEST_OBJECT_TYP,
            what="Request Object",
        )
        check_jwt_times(verified.payload, now=now, skew=skew, what="Request Object")
    except PasserelleError as exc:
        raise _as_request_object_error(exc) from exc
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a in audiences for a in auds):
        raise oid4vp_error(
            Reason.OID4VP_REQUEST_OBJECT_AUD_INVALID, f"aud {aud!r} is not this Wallet"
        )
    if wallet_nonce is not None:
        echoed = claims.get("wallet_nonce")
        if not isinstance(echoed, str) or not hmac.compare_digest(
            echoed.encode(), wallet_nonce.encode()
        ):
            raise oid4vp_error(
                Reason.OID4VP_WALLET_NONCE_MISMATCH, "the Request Object does not echo wallet_nonce"
            )
    request = parse_authorization_request(claims, from_request_object=True)
    return VerifiedAuthorizationRequest(
        request=request,
        client_id=client,
        header=unverified.header,
        claims=claims,
        signer_key=key,
        certificate_chain=chain,
        verification_method=method,
    )


def check_profile(
    request: AuthorizationRequest | VerifiedAuthorizationRequest, profile: Profile
) -> None:
    """Raise ``oid4vp.profile_violation`` unless the request keeps to ``profile``.

    A plain :class:`AuthorizationRequest` counts as unsigned.
    """

    def violation(detail: str) -> PasserelleError:
        return oid4vp_error(Reason.OID4VP_PROFILE_VIOLATION, f"{profile.name}: {detail}")

    signed = isinstance(request, VerifiedAuthorizationRequest)
    inner = request.request if isinstance(request, VerifiedAuthorizationRequest) else request
    prefix = parse_client_id(inner.client_id).prefix
    if prefix not in profile.client_id_prefixes:
        raise violation(f"Client Identifier Prefix {prefix.value} is not allowed")
    if inner.response_mode not in profile.response_modes:
        raise violation(f"response_mode {inner.response_mode.value} is not allowed")
    if profile.require_signed_request and not signed:
        raise violation("the request must be a signed Request Object")
    if isinstance(request, VerifiedAuthorizationRequest) and (
        request.alg not in profile.request_object_algorithms
    ):
        raise violation(f"Request Object alg {request.alg} is not allowed")
    if inner.response_mode is ResponseMode.DIRECT_POST_JWT and profile.required_response_enc:
        metadata = inner.client_metadata
        offered = (
            metadata.encrypted_response_enc_values_supported
            if metadata is not None and metadata.encrypted_response_enc_values_supported
            else (DEFAULT_RESPONSE_ENC,)
        )
        if not profile.required_response_enc & set(offered):
            raise violation(
                f"the Verifier offers enc {list(offered)}, "
                f"none of {sorted(profile.required_response_enc)}"
            )
        if metadata is None or metadata.jwks is None:
            raise violation("direct_post.jwt needs client_metadata.jwks")
