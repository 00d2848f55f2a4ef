"""OAuth 2.0 Demonstrating Proof of Possession (DPoP), RFC 9449.

Client side: :func:`create_dpop_proof`. Server side: :func:`verify_dpop_proof` runs the
twelve checks of §4.3 against the request it is given, and
:func:`verify_protected_request` adds the Authorization header rules of §7.1 and §7.2
(the ``DPoP`` scheme, and no DPoP-bound token used as a bearer token). Nothing here
touches HTTP: header values come in as the lists a framework hands over, and errors
go out as :class:`DpopErrorResponse` values the service copies onto the wire.

Wire errors (§5, §7.1, §8, §9): a bad proof is ``invalid_dpop_proof``; a missing or
stale server nonce is ``use_dpop_nonce`` with a fresh ``DPoP-Nonce`` header; a token
whose binding does not hold is ``invalid_token``. The authorization server answers
400, the resource server 401 with a ``WWW-Authenticate: DPoP`` challenge.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from .._errors import Fault, PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, b64url_encode
from .._random import RandomSource
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    jwk_thumbprint,
    load_public_jwk,
    public_jwk,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ._replay import JtiReplayRegistry

__all__ = [
    "DPOP_HEADER",
    "DPOP_NONCE_HEADER",
    "DPOP_TYP",
    "AccessTokenCredentials",
    "DpopErrorResponse",
    "ProtectedRequest",
    "TokenScheme",
    "VerifiedDpopProof",
    "access_token_hash",
    "check_dpop_jkt",
    "confirmation_claim",
    "create_dpop_proof",
    "dpop_error_response",
    "make_dpop_nonce",
    "normalize_htu",
    "parse_authorization_header",
    "read_bound_jkt",
    "read_dpop_header",
    "read_dpop_nonce",
    "verify_dpop_proof",
    "verify_protected_request",
]

DPOP_TYP = "dpop+jwt"
DPOP_HEADER = "DPoP"
DPOP_NONCE_HEADER = "DPoP-Nonce"

_WHAT = "DPoP proof"
# RFC 9110 §11.2 token68, the syntax of the DPoP header (§4.1) and of DPoP credentials (§7.1).
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6749 Appendix A NQCHAR, the nonce syntax of §8.1: %x21 / %x23-5B / %x5D-7E.
_NONCE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class TokenScheme(enum.StrEnum):
    BEARER = "Bearer"
    DPOP = "DPoP"


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedDpopProof:
    """A DPoP proof that passed every check of RFC 9449 §4.3 for one request."""

    public_key: PublicKey
    jwk: JsonObject
    #: RFC 7638 SHA-256 thumbprint of ``jwk``: what ``cnf.jkt`` of a bound token holds.
    jkt: str
    jti: str
    htm: str
    htu: str
    iat: datetime
    nonce: str | None = None
    ath: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessTokenCredentials:
    """The access token of an ``Authorization`` header and the scheme it came with."""

    scheme: TokenScheme
    token: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectedRequest:
    """A request to a protected resource whose token presentation checked out."""

    credentials: AccessTokenCredentials
    #: The verified proof; None only for a bearer token the profile allows.
    proof: VerifiedDpopProof | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DpopErrorResponse:
    """What a service puts on the wire for a refused DPoP request."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: JsonObject = field(default_factory=dict)


def _error(reason: Reason, detail: str, *, wire: str = "invalid_dpop_proof") -> PasserelleError:
    return PasserelleError(reason, detail, wire_error=wire)


def access_token_hash(access_token: str) -> str:
    """§4.2 ``ath``: base64url of the SHA-256 of the ASCII access token."""
    try:
        raw = access_token.encode("ascii")
    except UnicodeEncodeError as exc:
        raise local_error(Reason.INPUT_MALFORMED, "an access token is ASCII") from exc
    return b64url_encode(hashlib.sha256(raw).digest())


def make_dpop_nonce(random: RandomSource) -> str:
    """A fresh server nonce for ``DPoP-Nonce`` (§8: "Nonce values MUST be unpredictable")."""
    return b64url_encode(random.token_bytes(32))


def _normalize_percent(text: str) -> str:
    # RFC 3986 §6.2.2.1-2: hex digits upper case, unreserved characters decoded.
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT.sub(fix, text)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 §5.2.4, on a path that starts with "/".
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = path.endswith(("/.", "/.."))
    return "/" + "/".join(output) + ("/" if trailing and output else "")


def normalize_htu(uri: str) -> str:
    """A target URI without query and fragment, normalised for comparison.

    RFC 9449 §4.3: "To reduce the likelihood of false negatives, servers SHOULD employ
    syntax-based normalization (Section 6.2.2 of [RFC3986]) and scheme-based
    normalization (Section 6.2.3 of [RFC3986]) before comparing the htu claim." So:
    scheme and host in lower case, the default port dropped, an empty path made
    ``/``, percent-encodings normalised, dot segments removed, and any userinfo left
    out (a target URI has none, RFC 9110 §4.2.4).
    """
    if not isinstance(uri, str) or not uri:
        raise PasserelleError(Reason.INPUT_MALFORMED, "a URI is a non-empty string")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{uri!r} is not a URI") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{uri!r} is not an http(s) URI")
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _remove_dot_segments(_normalize_percent(parts.path or "/"))
    return f"{scheme}://{authority}{path}"


def read_dpop_header(values: Sequence[str]) -> str | None:
    """The one DPoP header value of a request, or None when there is none.

    §4.3 checks 1 and 2: "There is not more than one DPoP HTTP request header field"
    and its value is a single JWT, in the token68 syntax of §4.1.
    """
    if isinstance(values, str):
        raise local_error(Reason.INPUT_MALFORMED, "pass the list of DPoP header values")
    if not values:
        return None
    if len(values) > 1:
        raise _error(Reason.DPOP_PROOF_INVALID, "more than one DPoP header field")
    value = values[0].strip()
    if not _TOKEN68.fullmatch(value) or value.count(".") != 2:
        raise _error(Reason.DPOP_PROOF_INVALID, "the DPoP header is not a single compact JWT")
    return value


def read_dpop_nonce(values: Sequence[str]) -> str | None:
    """The client's reading of a response's ``DPoP-Nonce`` header, or None without one.

    §8: "there MUST NOT be more than one DPoP-Nonce header"; §8.1: the value is
    ``1*NQCHAR``. A server breaking either is answered with an error, not guessed at.
    """
    if isinstance(values, str):
        raise local_error(Reason.INPUT_MALFORMED, "pass the list of DPoP-Nonce header values")
    if not values:
        return None
    if len(values) > 1 or not _NONCE.fullmatch(values[0]):
        raise PasserelleError(
            Reason.DPOP_NONCE_MISMATCH, "the server sent more than one or a malformed DPoP-Nonce"
        )
    return values[0]


def create_dpop_proof(
    *,
    signer: Signer,
    public_key_jwk: JsonObject,
    method: str,
    url: str,
    now: datetime,
    random: RandomSource,
    access_token: str | None = None,
    nonce: str | None = None,
) -> str:
    """A DPoP proof (§4.2) for one request: ``typ`` ``dpop+jwt``, the public key in
    ``jwk``, a fresh ``jti`` of 128 random bits, ``htm``, ``htu`` (the URL without
    query and fragment, normalised), ``iat``, and ``ath``/``nonce`` when given."""
    if "d" in public_key_jwk:
        raise local_error(Reason.JWK_PRIVATE, "the DPoP jwk header must be the public key")
    if not method or not method.isupper():
        raise local_error(Reason.INPUT_MALFORMED, "htm is an upper-case HTTP method")
    claims: JsonObject = {
        "jti": b64url_encode(random.token_bytes(16)),
        "htm": method,
        "htu": normalize_htu(url),
        "iat": epoch(now),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return sign_jws({"typ": DPOP_TYP, "jwk": dict(public_key_jwk)}, claims, signer)


def _string_claim(claims: JsonObject, name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        # §4.3 check 3: "All required claims per Section 4.2 are contained in the JWT."
        raise _error(Reason.DPOP_PROOF_INVALID, f"DPoP proof claim {name!r} is missing")
    return value


def _check_nonce(nonce: object, accepted_nonces: Collection[str] | None) -> str | None:
    if nonce is not None and not isinstance(nonce, str):
        raise _error(Reason.DPOP_PROOF_INVALID, "DPoP proof nonce is not a string")
    if accepted_nonces is None:
        # No server nonce is in use; a nonce the client sends anyway is not ours to judge.
        return nonce
    if nonce is None:
        raise _error(
            Reason.DPOP_NONCE_MISSING,
            "the server requires a nonce in DPoP proofs",
            wire="use_dpop_nonce",
        )
    # §8: "If the nonce claim in the DPoP proof does not exactly match a nonce recently
    # supplied by the authorization server to the client, the authorization server MUST
    # reject the request."
    if not any(hmac.compare_digest(nonce.encode(), n.encode()) for n in accepted_nonces):
        raise _error(
            Reason.DPOP_NONCE_MISMATCH, "the DPoP nonce is not a current one", wire="use_dpop_nonce"
        )
    return nonce


def verify_dpop_proof(
    proof: str,
    *,
    method: str,
    url: str,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    max_age: timedelta,
    replay: JtiReplayRegistry,
    accepted_nonces: Collection[str] | None = None,
    access_token: str | None = None,
    bound_jkt: str | None = None,
) -> VerifiedDpopProof:
    """Check a DPoP proof against the request it came with (RFC 9449 §4.3), or raise.

    ``method`` and ``url`` are the request's (the URL as the client addressed it, the
    public URL behind any proxy). ``accepted_nonces`` is None when the server hands out
    no DPoP nonces, else the nonces it still accepts. ``access_token`` is given at a
    protected resource (check 12: ``ath``); ``bound_jkt`` is the token's ``cnf.jkt``.
    ``iat`` must lie within ``max_age`` in the past and ``skew`` in the future. The
    ``jti`` is registered last, so a proof refused for any other reason burns nothing.
    """
    if not algorithms or "none" in algorithms:
        raise local_error(
            Reason.JWS_ALG_NOT_ALLOWED, "DPoP algorithms must be a non-empty allow-list"
        )
    expected_htu = normalize_htu(url)
    try:
        jws = decode_unverified_jws(proof, what=_WHAT)
        header = jws.header
        # Check 4 first: a token of another type must not be judged on its other merits.
        if not typ_matches(header.get("typ"), DPOP_TYP):
            raise PasserelleError(
                Reason.JWS_TYP_MISMATCH, f"DPoP proof typ {header.get('typ')!r} is not {DPOP_TYP}"
            )
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise _error(Reason.DPOP_PROOF_INVALID, "DPoP proof header has no jwk")
        # Check 7 (no private key) is load_public_jwk's; checks 5 and 6 are verify_jws's.
        key = load_public_jwk(jwk)
        claims = verify_jws(jws, key=key, algorithms=algorithms, typ=DPOP_TYP, what=_WHAT).payload
    except PasserelleError as exc:
        raise exc.for_wire("invalid_dpop_proof") from exc
    jti = _string_claim(claims, "jti")
    htm = _string_claim(claims, "htm")
    htu = _string_claim(claims, "htu")
    if "iat" not in claims:
        raise _error(Reason.DPOP_PROOF_INVALID, "DPoP proof claim 'iat' is missing")
    # Check 8; RFC 9110 §9.1: "The method token is case-sensitive".
    if htm != method:
        raise _error(Reason.DPOP_HTM_MISMATCH, f"htm {htm!r} is not the request method {method!r}")
    # Check 9: "The htu claim matches the HTTP URI value for the HTTP request in which
    # the JWT was received, ignoring any query and fragment parts."
    try:
        claimed_htu = normalize_htu(htu)
    except PasserelleError as exc:
        raise _error(Reason.DPOP_HTU_MISMATCH, f"htu {htu!r} is not an http(s) URI") from exc
    if claimed_htu != expected_htu:
        raise _error(Reason.DPOP_HTU_MISMATCH, f"htu {htu!r} is not the request URI")
    nonce = _check_nonce(claims.get("nonce"), accepted_nonces)
    # Check 11, "within an acceptable window (see Section 11.1)".
    try:
        check_jwt_times(claims, now=now, skew=skew, require=("iat",), what=_WHAT)
    except PasserelleError as exc:
        raise _error(Reason.DPOP_IAT_OUT_OF_WINDOW, exc.detail) from exc
    iat_value = claims["iat"]
    assert isinstance(iat_value, int | float)  # check_jwt_times required a NumericDate
    iat = int(iat_value)
    if epoch(now) - iat > (max_age + skew).total_seconds():
        raise _error(Reason.DPOP_IAT_OUT_OF_WINDOW, f"DPoP proof iat {iat} is too old")
    ath = claims.get("ath")
    # Check 12: "ensure that the value of the ath claim equals the hash of that access
    # token".
    if access_token is not None and (
        not isinstance(ath, str)
        or not hmac.compare_digest(ath.encode(), access_token_hash(access_token).encode())
    ):
        raise _error(Reason.DPOP_ATH_MISMATCH, "ath is not the hash of the access token")
    jkt = jwk_thumbprint(key)
    if bound_jkt is not None and not hmac.compare_digest(jkt.encode(), bound_jkt.encode()):
        # Check 12: "confirm that the public key to which the access token is bound
        # matches the public key from the DPoP proof"; §7.1 Figure 16 makes it invalid_token.
        raise _error(
            Reason.DPOP_KEY_MISMATCH, "the DPoP key is not the token's key", wire="invalid_token"
        )
    expires_at = datetime.fromtimestamp(iat, UTC) + max_age + skew * 2
    if not replay.register(scope=f"dpop:{jkt}", jti=jti, expires_at=expires_at):
        # §11.1: servers keep the jti of recent proofs and refuse a second use.
        raise _error(Reason.DPOP_JTI_REPLAYED, "this DPoP proof was already used")
    return VerifiedDpopProof(
        public_key=key,
        jwk=public_jwk(key),
        jkt=jkt,
        jti=jti,
        htm=htm,
        htu=htu,
        iat=datetime.fromtimestamp(iat, UTC),
        nonce=nonce,
        ath=ath if isinstance(ath, str) else None,
    )


def confirmation_claim(proof: VerifiedDpopProof) -> JsonObject:
    """The ``cnf`` of an access token bound to this proof's key (§6.1: "jkt: JWK
    SHA-256 Thumbprint confirmation method")."""
    return {"jkt": proof.jkt}


_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


def read_bound_jkt(cnf: JsonValue) -> str | None:
    """The ``cnf.jkt`` of a token's claims or introspection record, or None when the
    token is not DPoP-bound. A ``cnf`` whose ``jkt`` is not a SHA-256 thumbprint is a
    local error: tokens are ours, so a bad one is our bug, never a bearer fallback."""
    if cnf is None:
        return None
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if jkt is None and isinstance(cnf, dict):
        return None
    if not isinstance(jkt, str) or not _JKT.fullmatch(jkt):
        raise local_error(Reason.DPOP_KEY_MISMATCH, "cnf.jkt is not a SHA-256 JWK thumbprint")
    return jkt


def check_dpop_jkt(dpop_jkt: str | None, proof: VerifiedDpopProof) -> None:
    """RFC 9449 §10: with a ``dpop_jkt`` in the authorization (or pushed) request, the
    token request's proof must be made with that key: "If they do not match, it MUST
    reject the request"."""
    if dpop_jkt is not None and not hmac.compare_digest(dpop_jkt.encode(), proof.jkt.encode()):
        raise _error(Reason.DPOP_KEY_MISMATCH, "the DPoP key is not the dpop_jkt of the request")


def parse_authorization_header(values: Sequence[str]) -> AccessTokenCredentials:
    """The access token and scheme of an ``Authorization`` header.

    The scheme is compared case-insensitively: RFC 9110 §11.1 "It uses a
    case-insensitive token to identify the authentication scheme". Anything but one
    header with ``Bearer`` or ``DPoP`` and a token68 value is ``invalid_request``.
    """
    if isinstance(values, str):
        raise local_error(Reason.INPUT_MALFORMED, "pass the list of Authorization header values")
    if len(values) != 1:
        raise _error(
            Reason.DPOP_AUTHORIZATION_INVALID,
            "exactly one Authorization header is needed",
            wire="invalid_request",
        )
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip(" ")
    for known in TokenScheme:
        if scheme.lower() == known.value.lower():
            if not _TOKEN68.fullmatch(token):
                raise _error(
                    Reason.DPOP_AUTHORIZATION_INVALID,
                    f"the {known.value} credentials are not a token68 value",
                    wire="invalid_request",
                )
            return AccessTokenCredentials(scheme=known, token=token)
    raise _error(
        Reason.DPOP_AUTHORIZATION_INVALID,
        "the Authorization scheme is neither Bearer nor DPoP",
        wire="invalid_request",
    )


def verify_protected_request(
    *,
    authorization: Sequence[str],
    dpop: Sequence[str],
    method: str,
    url: str,
    token_jkt: str | None,
    require_dpop: bool,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    max_age: timedelta,
    replay: JtiReplayRegistry,
    accepted_nonces: Collection[str] | None = None,
) -> ProtectedRequest:
    """Check how a request to a protected resource presents its access token.

    ``token_jkt`` is the ``cnf.jkt`` the token was issued with (None for a bearer
    token). ``require_dpop`` is the profile's rule that every token is DPoP-bound.
    Whether the token itself is valid is the caller's check; this one decides whether
    it was presented as its binding demands:

    - a DPoP-bound token sent as ``Bearer`` fails (§7.2: "such a protected resource MUST
      reject a DPoP-bound access token received as a bearer token per [RFC6750]"),
      and so does any bearer presentation where the profile requires DPoP;
    - the ``DPoP`` scheme needs a DPoP proof (§7.1: "a resource server MUST check that
      a DPoP proof was also received in the DPoP header field") that verifies with
      ``ath`` and the bound key.
    """
    credentials = parse_authorization_header(authorization)
    proof_value = read_dpop_header(dpop)
    if credentials.scheme is TokenScheme.BEARER:
        if token_jkt is not None or require_dpop:
            raise _error(
                Reason.DPOP_BOUND_TOKEN_AS_BEARER,
                "a DPoP-bound access token was presented as a bearer token",
                wire="invalid_token",
            )
        return ProtectedRequest(credentials=credentials)
    if token_jkt is None:
        raise _error(
            Reason.DPOP_KEY_MISMATCH,
            "the access token is not bound to a DPoP key",
            wire="invalid_token",
        )
    if proof_value is None:
        raise _error(Reason.DPOP_PROOF_MISSING, "the DPoP scheme needs a DPoP proof")
    proof = verify_dpop_proof(
        proof_value,
        method=method,
        url=url,
        algorithms=algorithms,
        now=now,
        skew=skew,
        max_age=max_age,
        replay=replay,
        accepted_nonces=accepted_nonces,
        access_token=credentials.token,
        bound_jkt=token_jkt,
    )
    return ProtectedRequest(credentials=credentials, proof=proof)


def _quoted(text: str) -> str:
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)


def dpop_error_response(
    exc: PasserelleError,
    *,
    at_resource_server: bool,
    new_nonce: str | None,
    algorithms: Collection[str],
) -> DpopErrorResponse:
    """The status, headers and body for a refused request (RFC 9449 §7.1, §8, §9).

    ``new_nonce`` goes into ``DPoP-Nonce`` (§8: "The authorization server includes a
    DPoP-Nonce HTTP header in the response supplying a nonce value to be used when
    sending the subsequent request"); it is needed for ``use_dpop_nonce``.
    """
    if exc.fault is Fault.LOCAL:
        raise local_error(exc.reason, "a local error is not a DPoP wire error")
    error = exc.wire_error or "invalid_dpop_proof"
    if error == "use_dpop_nonce" and new_nonce is None:
        raise local_error(Reason.INPUT_MALFORMED, "use_dpop_nonce needs a new nonce to send")
    if new_nonce is not None and not _NONCE.fullmatch(new_nonce):
        raise local_error(Reason.INPUT_MALFORMED, "a DPoP nonce is 1*NQCHAR (§8.1)")
    headers = {"Cache-Control": "no-store"}
    if new_nonce is not None:
        headers[DPOP_NONCE_HEADER] = new_nonce
    body: JsonObject = {"error": error, "error_description": _quoted(exc.detail)}
    if at_resource_server:
        challenge = f'DPoP error="{error}", error_description="{_quoted(exc.detail)}"'
        if algorithms:
            challenge += f', algs="{" ".join(algorithms)}"'
        headers["WWW-Authenticate"] = challenge
        status = 400 if error == "invalid_request" else 401
    else:
        status = 401 if error == "invalid_client" else 400
    return DpopErrorResponse(status=status, headers=headers, body=body)
