"""The issuer plan, authorization-code path: the suite plays a public client (a wallet)
through PAR (RFC 9126), the authorization endpoint's login and the token endpoint, with
PKCE (RFC 7636), and tries what the OpenID Foundation's HAIP issuer plan tries with its
FAPI 2.0 Security Profile modules: no PKCE, ``plain`` PKCE, a wrong or missing
``code_verifier``, a code redeemed twice or by another client, a ``request_uri`` used
twice or by another client.

An issuer that authenticates its clients at the PAR endpoint (HAIP 1.0 §4.3, a wallet
attestation) skips these checks, saying so: the suite's client is a public one. The
login is the one part no protocol standardises. The suite drives Passerelle's
development login (a form that takes a persona, named for each configuration in the
targets file); an issuer whose login it cannot drive skips these checks, saying so.
Each check runs its own flow from the pushed request on, so that one finding never
turns into a cascade.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from .._context import CheckContext
from .._model import CheckSkipped, CheckWarning, Requirement, Severity
from .._registry import check, expect_oauth_error, expect_rejected
from .issuer import PLAN, _endpoints, _first, _rfc

_REDIRECT_URI = "https://wallet.conformance.invalid/callback"
"""Where the login sends the browser back; the suite reads the redirect, never follows."""
_FAPI2 = "FAPI 2.0 Security Profile"
_FAPI2_URL = "https://openid.net/specs/fapi-security-profile-2_0-final.html"
_OIDF = "fapi2-security-profile-final-"


def _fapi2(section: str, text: str) -> Requirement:
    return Requirement(
        spec=_FAPI2, section=section, text=text, link=f"{_FAPI2_URL}#section-5.3.2.2"
    )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class _Flow:
    """One authorization-code flow of one public client."""

    par: str
    authorize: str
    token: str
    configuration: str
    persona: str
    client_id: str
    verifier: str

    def pushed_form(self, **changes: str | None) -> dict[str, str]:
        form: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": _REDIRECT_URI,
            "code_challenge": _s256(self.verifier),
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(12),
            "authorization_details": json.dumps(
                [{"type": "openid_credential", "credential_configuration_id": self.configuration}]
            ),
        }
        form.update(changes)
        return {k: v for k, v in form.items() if v is not None}


def _flow(ctx: CheckContext) -> _Flow:
    server = _endpoints(ctx).authorization_server
    # RFC 8414 §2: grant_types_supported defaults to ["authorization_code", "implicit"].
    grants = server.get("grant_types_supported") or ["authorization_code"]
    par = server.get("pushed_authorization_request_endpoint")
    authorize = server.get("authorization_endpoint")
    if "authorization_code" not in grants or not isinstance(authorize, str):
        raise CheckSkipped(f"{ctx.target.name} does not offer the authorization code grant")
    if not isinstance(par, str):
        raise CheckSkipped(f"{ctx.target.name} has no pushed authorization request endpoint")
    configuration, persona = _first(ctx)
    return _Flow(
        par=par,
        authorize=authorize,
        token=_endpoints(ctx).token_endpoint,
        configuration=configuration,
        persona=persona,
        client_id=f"suite-wallet-{secrets.token_hex(4)}",
        verifier=secrets.token_urlsafe(48),
    )


def _push(ctx: CheckContext, flow: _Flow, **changes: str | None) -> httpx.Response:
    response = ctx.http.post(flow.par, data=flow.pushed_form(**changes))
    ctx.record(par_status=response.status_code)
    return response


def _request_uri(ctx: CheckContext, flow: _Flow) -> str:
    """An honest pushed request's ``request_uri``; the flow cannot start without one."""
    response = _push(ctx, flow)
    try:
        request_uri = response.json().get("request_uri")
    except (ValueError, AttributeError):
        request_uri = None
    if response.status_code == 401:
        # HAIP 1.0 §4.3: a wallet authenticates at the PAR endpoint (wallet attestation).
        raise CheckSkipped(
            "the issuer requires client authentication at the PAR endpoint (a HAIP wallet "
            "attestation), which the suite's public client does not present"
        )
    if response.status_code != 201 or not isinstance(request_uri, str):
        raise CheckSkipped(
            f"the honest pushed authorization request failed (HTTP {response.status_code})"
        )
    return request_uri


def _open(ctx: CheckContext, flow: _Flow, request_uri: str, client_id: str) -> httpx.Response:
    """The authorization request a browser would send: client_id and request_uri."""
    query = urlencode({"client_id": client_id, "request_uri": request_uri})
    return ctx.http.get(f"{flow.authorize}?{query}")


def _login(ctx: CheckContext, flow: _Flow, request_uri: str) -> httpx.Response:
    return ctx.http.post(flow.authorize, data={"request_uri": request_uri, "persona": flow.persona})


def _code_of(response: httpx.Response) -> str | None:
    if response.status_code not in (302, 303):
        return None
    codes = parse_qs(urlsplit(response.headers.get("location", "")).query).get("code")
    return codes[0] if codes else None


def _code(ctx: CheckContext, flow: _Flow) -> str:
    """An authorization code from an honest push and login, or skip: the login is not
    one the suite can drive."""
    request_uri = _request_uri(ctx, flow)
    opened = _open(ctx, flow, request_uri, flow.client_id)
    code = _code_of(_login(ctx, flow, request_uri)) if opened.status_code == 200 else None
    if code is None:
        raise CheckSkipped(
            "the suite cannot drive this issuer's login (it drives Passerelle's development "
            f"login, which takes a persona); the authorization page answered HTTP "
            f"{opened.status_code}"
        )
    return code


def _redeem(
    ctx: CheckContext,
    flow: _Flow,
    code: str,
    *,
    verifier: str | None = "",
    client_id: str | None = None,
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _REDIRECT_URI,
        "client_id": client_id or flow.client_id,
        "code_verifier": flow.verifier if verifier == "" else verifier,
    }
    response = ctx.http.post(flow.token, data={k: v for k, v in form.items() if v is not None})
    ctx.record(token_status=response.status_code)
    return response


def _control(ctx: CheckContext, flow: _Flow) -> None:
    """An honest code is redeemed: without that, a refusal could be about anything the
    token endpoint wants beyond PKCE and the code (a DPoP proof, client authentication)."""
    honest = _redeem(ctx, flow, _code(ctx, flow))
    if honest.status_code != 200:
        raise CheckSkipped(
            f"the honest token request failed (HTTP {honest.status_code}, "
            f"{_error(honest)!r}): the suite cannot isolate this fault"
        )


def _error(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


@check(
    "ISS-AUTH-01",
    "A pushed authorization request without PKCE is refused",
    plan=PLAN,
    catches=("issuer:pkce_optional",),
    oidf=f"{_OIDF}par-ensure-pkce-required",
    requirement=_fapi2(
        "5.3.2.2",
        "For flows that use the authorization endpoint, authorization servers: … shall "
        "require PKCE [RFC7636] with S256 as the code challenge method;",
    ),
)
def _pkce_required(ctx: CheckContext) -> None:
    flow = _flow(ctx)
    _request_uri(ctx, flow)  # the honest request is accepted: a refusal is about PKCE
    expect_rejected(
        _push(ctx, flow, code_challenge=None, code_challenge_method=None),
        "pushed authorization request without code_challenge",
    )


@check(
    "ISS-AUTH-02",
    "A pushed authorization request with plain PKCE is refused",
    plan=PLAN,
    catches=("issuer:plain_pkce",),
    oidf=f"{_OIDF}par-plain-pkce-rejected",
    requirement=_fapi2(
        "5.3.2.2",
        "For flows that use the authorization endpoint, authorization servers: … shall "
        "require PKCE [RFC7636] with S256 as the code challenge method;",
    ),
)
def _plain_pkce(ctx: CheckContext) -> None:
    flow = _flow(ctx)
    _request_uri(ctx, flow)
    expect_rejected(
        _push(ctx, flow, code_challenge=flow.verifier, code_challenge_method="plain"),
        "pushed authorization request with code_challenge_method plain",
    )


@check(
    "ISS-AUTH-03",
    "A token request with a wrong or no code_verifier is refused with invalid_grant",
    plan=PLAN,
    catches=("issuer:skip_code_verifier",),
    oidf=(
        f"{_OIDF}incorrect-pkce-code-verifier-rejected",
        f"{_OIDF}ensure-pkce-code-verifier-required",
    ),
    requirement=_rfc(
        7636,
        "4.6",
        'If the values are not equal, an error response indicating "invalid_grant" as '
        "described in Section 5.2 of [RFC6749] MUST be returned.",
    ),
)
def _wrong_verifier(ctx: CheckContext) -> None:
    flow = _flow(ctx)
    _control(ctx, flow)
    wrong = _redeem(ctx, flow, _code(ctx, flow), verifier=secrets.token_urlsafe(48))
    expect_oauth_error(wrong, 400, "invalid_grant")
    missing = _redeem(ctx, flow, _code(ctx, flow), verifier=None)
    # A missing parameter is an invalid_request (RFC 6749 §5.2) as much as an
    # invalid_grant; either refuses.
    expect_rejected(missing, "token request without code_verifier")


@check(
    "ISS-AUTH-04",
    "An authorization code redeemed a second time, a second later, is refused",
    plan=PLAN,
    catches=("issuer:reusable_authorization_code",),
    oidf=f"{_OIDF}attempt-reuse-authorization-code-after-one-second",
    requirement=_rfc(
        6749,
        "4.1.2",
        "The client MUST NOT use the authorization code more than once. If an authorization "
        "code is used more than once, the authorization server MUST deny the request and "
        "SHOULD revoke (when possible) all tokens previously issued based on that authorization "
        "code.",
    ),
)
def _code_reuse(ctx: CheckContext) -> None:
    flow = _flow(ctx)
    code = _code(ctx, flow)
    first = _redeem(ctx, flow, code)
    if first.status_code != 200:
        raise CheckSkipped(f"the honest token request failed (HTTP {first.status_code})")
    time.sleep(1)
    expect_oauth_error(_redeem(ctx, flow, code), 400, "invalid_grant")


@check(
    "ISS-AUTH-05",
    "An authorization code is refused to a client it was not issued to",
    plan=PLAN,
    catches=("issuer:code_for_any_client",),
    oidf=f"{_OIDF}ensure-authorization-code-is-bound-to-client",
    requirement=_rfc(
        6749,
        "4.1.3",
        "The authorization server MUST: … ensure that the authorization code was issued to "
        "the authenticated confidential client, or if the client is public, ensure that the "
        'code was issued to "client_id" in the request,',
    ),
)
def _code_bound_to_client(ctx: CheckContext) -> None:
    flow = _flow(ctx)
    _control(ctx, flow)
    other = f"suite-wallet-{secrets.token_hex(4)}"
    expect_oauth_error(_redeem(ctx, flow, _code(ctx, flow), client_id=other), 400, "invalid_grant")


@check(
    "ISS-AUTH-06",
    "A request_uri that served a login is not served again",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("issuer:reusable_request_uri",),
    oidf=f"{_OIDF}par-attempt-reuse-request_uri",
    requirement=_rfc(
        9126,
        "7.3",
        "Authorization servers SHOULD treat request_uri values as one-time use but MAY allow "
        "for duplicate requests due to a user reloading/refreshing their user agent.",
    ),
)
def _request_uri_reuse(ctx: CheckContext) -> None:
    flow = _flow(ctx)
    request_uri = _request_uri(ctx, flow)
    opened = _open(ctx, flow, request_uri, flow.client_id)
    if _code_of(_login(ctx, flow, request_uri)) is None or opened.status_code != 200:
        raise CheckSkipped("the suite cannot drive this issuer's login")
    again = _login(ctx, flow, request_uri)
    ctx.record(second_login_status=again.status_code)
    if _code_of(again) is not None:
        raise CheckWarning("a second login on the same request_uri got another code")


@check(
    "ISS-AUTH-07",
    "A request_uri is not served to another client than the one that pushed it",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("issuer:request_uri_for_any_client",),
    oidf=f"{_OIDF}par-attempt-to-use-request_uri-for-different-client",
    requirement=_rfc(
        9126,
        "4",
        "The authorization server MUST validate authorization requests arising from a "
        "pushed request as it would any other authorization request.",
    ),
)
def _request_uri_other_client(ctx: CheckContext) -> None:
    """RFC 9126 binds the request_uri to its client only through that validation (the
    client_id of the request must be the pushed request's), hence a recommendation."""
    flow = _flow(ctx)
    request_uri = _request_uri(ctx, flow)
    other = _open(ctx, flow, request_uri, f"suite-wallet-{secrets.token_hex(4)}")
    ctx.record(other_client_status=other.status_code)
    if not 400 <= other.status_code < 500:
        raise CheckWarning(
            f"the authorization endpoint answered HTTP {other.status_code} to another "
            "client presenting this request_uri"
        )
