"""The issuer plan, HAIP 1.0 part: wallet attestation at the token endpoint and
DPoP-bound access tokens at the credential endpoint.

Each check applies where the issuer's authorization server metadata says the feature
is in use (``attest_jwt_client_auth`` among ``token_endpoint_auth_methods_supported``,
``dpop_signing_alg_values_supported``); elsewhere it is skipped. DPoP-bound tokens are
obtained through the pre-authorized offer of the targets file's adapter, with a DPoP
proof at the token endpoint (RFC 9449 §5): an issuer that binds no token that way
leaves the credential-endpoint checks skipped, not failed. Every check starts from its
own offer, DPoP key and token; server nonces (``DPoP-Nonce``, §8) are taken as the
issuer hands them out, so that a refusal is about the one fault the check plants.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, JsonValue
from passerelle.jose import (
    KeySigner,
    Signer,
    decode_unverified_jws,
    epoch,
    private_jwk,
    public_jwk,
    sign_jws,
)
from passerelle.oauth import (
    AUTH_METHOD,
    create_client_attestation,
    create_client_attestation_pop,
    create_dpop_proof,
)
from passerelle.oid4vci import (
    PRE_AUTHORIZED_CODE_GRANT,
    create_credential_response_encryption,
    create_key_attestation,
    encrypt_credential_request,
)
from passerelle.services.runtime import SecretsRandom

from .._context import CheckContext
from .._holder import (
    IssuerEndpoints,
    access_token,
    discover,
    fresh_nonce,
    key_proof,
    new_holder_key,
    request_offer,
    target_configurations,
)
from .._issuer_haip import ATTESTATION_POP_AUDIENCE, attestation_requirement
from .._model import CheckFailed, CheckSkipped, Requirement, Severity
from .._presenting import suite_pki
from .._registry import check, expect

__all__: list[str] = []

PLAN = "issuer"
_RANDOM = SecretsRandom()
_DPOP_URL = "https://www.rfc-editor.org/rfc/rfc9449"
_VCI_URL = "https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"
#: What a refused DPoP presentation may be answered with (RFC 9449 §7.1, §8, §9).
_DPOP_REFUSALS = ("invalid_dpop_proof", "invalid_token", "use_dpop_nonce", "invalid_request")


def _dpop_req(section: str, text: str) -> Requirement:
    return Requirement(
        spec="RFC 9449", section=section, text=text, link=f"{_DPOP_URL}#section-{section}"
    )


_ALWAYS_VALIDATE = "To validate a DPoP proof, the receiving server MUST ensure the following: … "


def _credential_error(code: str) -> Requirement:
    """OpenID4VCI 1.0 §8.3.1.2's rule for credential-request errors, and ``code``'s entry."""
    return Requirement(
        spec="OpenID4VCI 1.0",
        section="§8.3.1.2",
        text="For errors related to the Credential Request's payload, such as issues with "
        "`type`, `format`, `proofs`, encryption parameters, or if the request is denied, the "
        "specific error codes from this section MUST be used instead of the generic "
        "`invalid_request` parameter defined in Section 3.1 of [RFC6750]. … " + code,
        link=f"{_VCI_URL}#credential-request-errors",
    )


# --- shared steps -----------------------------------------------------------------------------


def _endpoints(ctx: CheckContext) -> IssuerEndpoints:
    return ctx.shared(f"issuer:endpoints:{ctx.target.name}", lambda: discover(ctx, ctx.target))


def _require(endpoints: IssuerEndpoints, *, attestation: bool = False, dpop: bool = False) -> None:
    server = endpoints.authorization_server
    if attestation and AUTH_METHOD not in (
        server.get("token_endpoint_auth_methods_supported") or ()
    ):
        raise CheckSkipped(f"the authorization server does not offer {AUTH_METHOD}")
    if dpop and not server.get("dpop_signing_alg_values_supported"):
        raise CheckSkipped(
            "the authorization server metadata has no dpop_signing_alg_values_supported"
        )


def _error_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _needs_nonce(response: httpx.Response) -> bool:
    return response.status_code in (400, 401) and (
        _error_of(response) == "use_dpop_nonce"
        or 'error="use_dpop_nonce"' in response.headers.get("www-authenticate", "")
    )


@dataclass(slots=True)
class _Dpop:
    """A wallet's DPoP key and the last nonce the server gave it."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    nonce: str | None = None

    def proof(self, ctx: CheckContext, method: str, url: str, *, token: str | None = None) -> str:
        return create_dpop_proof(
            signer=KeySigner(self.key),
            public_key_jwk=public_jwk(self.key),
            method=method,
            url=url,
            now=ctx.now(),
            random=_RANDOM,
            access_token=token,
            nonce=self.nonce,
        )

    def learn(self, response: httpx.Response) -> None:
        nonce = response.headers.get("dpop-nonce")
        if nonce:
            self.nonce = nonce


def _token_call(
    ctx: CheckContext,
    endpoints: IssuerEndpoints,
    form: dict[str, str],
    dpop: _Dpop,
    extra: Callable[[], dict[str, str]] | None = None,
) -> httpx.Response:
    """A token request with a DPoP proof (and ``extra()`` headers, made afresh for each
    attempt), retried once with the server's nonce when it asks for one (§8)."""
    response = httpx.Response(500)
    for _ in range(2):
        headers = {"DPoP": dpop.proof(ctx, "POST", endpoints.token_endpoint)}
        if extra is not None:
            headers.update(extra())
        response = ctx.http.post(endpoints.token_endpoint, data=form, headers=headers)
        dpop.learn(response)
        if not _needs_nonce(response):
            break
    return response


@dataclass(frozen=True, slots=True)
class _Bound:
    endpoints: IssuerEndpoints
    configuration: str
    token: str
    dpop: _Dpop


def _first_configuration(ctx: CheckContext, endpoints: IssuerEndpoints) -> tuple[str, str]:
    known = endpoints.metadata.get("credential_configurations_supported") or {}
    for cid, persona in target_configurations(ctx.target):
        if cid in known:
            return cid, persona
    raise CheckSkipped(f"the targets file lists no configuration {ctx.target.name} publishes")


def _pre_authorized_form(
    ctx: CheckContext, endpoints: IssuerEndpoints
) -> tuple[str, dict[str, str]]:
    """A fresh pre-authorized offer for the first configuration the target publishes:
    the configuration and the token request's form. An offer that fails makes the
    negative that needs it a skip."""
    cid, persona = _first_configuration(ctx, endpoints)
    try:
        offer = request_offer(ctx, ctx.target, cid, persona)
    except CheckFailed as exc:
        raise CheckSkipped(f"the honest steps before this negative failed: {exc.message}") from exc
    form = {
        "grant_type": PRE_AUTHORIZED_CODE_GRANT,
        "pre-authorized_code": offer.pre_authorized_code,
    }
    if offer.tx_code is not None:
        form["tx_code"] = offer.tx_code
    return cid, form


def _bound_token(ctx: CheckContext) -> _Bound:
    """A fresh DPoP-bound access token from a pre-authorized offer (§5)."""
    endpoints = _endpoints(ctx)
    _require(endpoints, dpop=True)
    cid, form = _pre_authorized_form(ctx, endpoints)
    dpop = _Dpop()
    response = _token_call(ctx, endpoints, form, dpop)
    if response.status_code != 200:
        raise CheckSkipped(
            f"a token request with a DPoP proof answered HTTP {response.status_code}: "
            "no DPoP-bound token to test with"
        )
    body = ctx.json_object(response, "token response")
    if str(body.get("token_type", "")).lower() != "dpop":
        raise CheckSkipped("the issuer bound no token to the DPoP proof (token_type is not DPoP)")
    return _Bound(
        endpoints=endpoints, configuration=cid, token=str(body["access_token"]), dpop=dpop
    )


def _body(ctx: CheckContext, bound: _Bound) -> dict[str, Any]:
    """An honest credential request: a fresh key, the current c_nonce."""
    endpoints = bound.endpoints
    proof = key_proof(
        new_holder_key(),
        audience=endpoints.credential_issuer,
        nonce=fresh_nonce(ctx, endpoints),
        now=ctx.now(),
    )
    return {"credential_configuration_id": bound.configuration, "proofs": {"jwt": [proof]}}


def _present(
    ctx: CheckContext, bound: _Bound, *, scheme: str = "DPoP", proof: str | None
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {bound.token}"}
    if proof is not None:
        headers["DPoP"] = proof
    response = ctx.http.post(
        bound.endpoints.credential_endpoint, json=_body(ctx, bound), headers=headers
    )
    bound.dpop.learn(response)
    return response


def _honest(ctx: CheckContext, bound: _Bound) -> str:
    """A correct DPoP proof for the credential endpoint, with the current nonce."""
    return bound.dpop.proof(ctx, "POST", bound.endpoints.credential_endpoint, token=bound.token)


def _expect_refused(response: httpx.Response, what: str) -> None:
    expect(
        400 <= response.status_code < 500,
        f"{what} was not refused: HTTP {response.status_code}",
        status=response.status_code,
    )
    error = _error_of(response) or response.headers.get("www-authenticate", "")
    expect(
        any(code in error for code in _DPOP_REFUSALS),
        f"{what}: refused without a DPoP or token error ({error!r})",
        error=error,
    )


# --- wallet attestation at the token endpoint ---------------------------------------------


def _code_form() -> dict[str, str]:
    # A code the issuer never issued: client authentication comes first (RFC 6749
    # §3.2.1), so the answer is about the client, whatever the grant.
    return {
        "grant_type": "authorization_code",
        "code": secrets.token_urlsafe(24),
        "redirect_uri": "http://127.0.0.1/conformance-callback",
        "code_verifier": secrets.token_urlsafe(48),
        "client_id": "passerelle-conformance-wallet",
    }


#: What a negative does to honest attestation headers: given the attestation, its PoP,
#: the wallet provider's signer and the instance's, the pair to send instead.
_Tamper = Callable[[str, str, Signer, Signer], tuple[str, str]]


def _attested(
    ctx: CheckContext, form: dict[str, str], *, audience: str, tamper: _Tamper | None = None
) -> Callable[[], dict[str, str]]:
    """Attestation headers made afresh for each attempt: the suite's wallet provider's
    certificate in ``x5c`` attesting a new instance key, signed by the provider's key,
    with a PoP that names ``audience``; then ``tamper`` plants the one fault of a negative."""
    pki = suite_pki(ctx)
    provider = pki.signer("wallet-provider")
    instance = KeySigner(ec.generate_private_key(ec.SECP256R1()))

    def headers() -> dict[str, str]:
        now = ctx.now()
        attestation = create_client_attestation(
            signer=provider,
            x5c=pki.x5c("wallet-provider"),
            issuer=pki.hosts.get("wallet", "https://wallet.invalid"),
            client_id=form["client_id"],
            instance_jwk=public_jwk(instance.key),
            now=now,
            lifetime=timedelta(minutes=10),
        )
        pop = create_client_attestation_pop(
            signer=instance,
            client_id=form["client_id"],
            authorization_server=audience,
            now=now,
            random=_RANDOM,
        )
        if tamper is not None:
            attestation, pop = tamper(attestation, pop, provider, instance)
        return {"OAuth-Client-Attestation": attestation, "OAuth-Client-Attestation-PoP": pop}

    return headers


def _other() -> Signer:
    """A key nobody trusts, for a signature that must not verify."""
    return KeySigner(ec.generate_private_key(ec.SECP256R1()))


def _resigned(
    token: str, signer: Signer, *, header: JsonObject | None = None, **changes: JsonValue
) -> str:
    """``token`` signed again by ``signer`` with ``changes`` made to its claims (a claim
    set to None is removed) and ``header``'s members over its header's."""
    jws = decode_unverified_jws(token)
    claims = dict(jws.payload_json())
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return sign_jws({**jws.header, **(header or {})}, claims, signer)


def _spliced(token: str, signer: Signer) -> str:
    """``token`` with ``signer``'s signature over another token: well formed, by the
    right key, and not a signature of these bytes."""
    other = _resigned(token, signer, jti=secrets.token_urlsafe(16))
    return token.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]


#: What an attestation that does not verify may be answered with: RFC 6749 §5.2's
#: invalid_client, or -07 §6.2's invalid_client_attestation ("MAY be used in addition to
#: the more general invalid_client error code").
_ATTESTATION_REFUSALS = ("invalid_client", "invalid_client_attestation")


def _refused_client(
    ctx: CheckContext, what: str, tamper: _Tamper, *, also: tuple[str, ...] = ()
) -> None:
    """A token request whose attestation headers carry ``tamper``'s fault is refused as
    client authentication (``_ATTESTATION_REFUSALS``, or a code of ``also``). The control
    first: the same headers, honest, get past client authentication to the unknown code's
    ``invalid_grant``, or the issuer does not trust the suite's wallet provider and there
    is nothing to compare the fault with."""
    endpoints = _endpoints(ctx)
    _require(endpoints, attestation=True)
    issuer = str(endpoints.authorization_server.get("issuer"))
    form = _code_form()
    control = _token_call(ctx, endpoints, form, _Dpop(), _attested(ctx, form, audience=issuer))
    if _error_of(control) != "invalid_grant":
        raise CheckSkipped(
            "an honest attestation from the suite's wallet provider did not get past client "
            f"authentication to the unknown code's invalid_grant (HTTP {control.status_code} "
            f"{_error_of(control)!r}): nothing to compare {what} with"
        )
    faulty = _attested(ctx, form, audience=issuer, tamper=tamper)
    response = _token_call(ctx, endpoints, form, _Dpop(), faulty)
    _expect_client_error(response, what, _ATTESTATION_REFUSALS + also)


def _expect_client_error(
    response: httpx.Response, what: str, codes: tuple[str, ...] = ("invalid_client",)
) -> None:
    wanted = " or ".join(codes)
    expect(
        response.status_code in (400, 401),
        f"{what}: expected HTTP 400 or 401 with {wanted}, got {response.status_code}",
        status=response.status_code,
    )
    got = _error_of(response)
    expect(got in codes, f"{what}: expected {wanted}, got {got!r}", error=got)


@check(
    "ISS-HAIP-01",
    "A token request without a wallet attestation is refused with invalid_client",
    plan=PLAN,
    catches=("issuer:skip_client_attestation",),
    requirement=Requirement(
        spec="RFC 6749",
        section="5.2",
        text="error: REQUIRED. A single ASCII [USASCII] error code from the following: … "
        "invalid_client: Client authentication failed (e.g., unknown client, no client "
        "authentication included, or unsupported authentication method).",
        link="https://www.rfc-editor.org/rfc/rfc6749#section-5.2",
    ),
)
def _token_without_attestation(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    _require(endpoints, attestation=True)
    response = _token_call(ctx, endpoints, _code_form(), _Dpop())
    _expect_client_error(response, "a token request with no OAuth-Client-Attestation")


@check(
    "ISS-HAIP-02",
    "A token request whose wallet attestation signature does not verify is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-invalid-client-attestation-signature",
    catches=("issuer:skip_client_attestation",),
    requirement=Requirement(
        spec="OpenID4VCI 1.0",
        section="Appendix E",
        text="The Authorization Server MUST verify that the Wallet Attestation is signed by an "
        "issuer that the Credential Issuer trusts for this purpose.",
        link=f"{_VCI_URL}#appendix-E",
    ),
)
def _token_with_forged_attestation(ctx: CheckContext) -> None:
    # The listed wallet provider's certificate in x5c, and a signature by another key.
    _refused_client(
        ctx,
        "a wallet attestation signed by a key other than its certificate's",
        lambda attestation, pop, _provider, _instance: (_resigned(attestation, _other()), pop),
    )


# --- DPoP at the credential endpoint -------------------------------------------------------


@check(
    "ISS-HAIP-03",
    "A DPoP-bound access token presented as a bearer token is refused",
    plan=PLAN,
    catches=("issuer:accept_dpop_token_as_bearer",),
    requirement=_dpop_req(
        "7.2",
        "such a protected resource MUST reject a DPoP-bound access token received as a bearer "
        "token per [RFC6750]",
    ),
)
def _bound_token_as_bearer(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    response = _present(ctx, bound, scheme="Bearer", proof=None)
    _expect_refused(response, "a DPoP-bound token sent as a Bearer token")


@check(
    "ISS-HAIP-04",
    "A DPoP proof sent a second time is refused",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("issuer:accept_replayed_dpop_proof", "issuer:unverified_dpop_proof"),
    requirement=_dpop_req(
        "11.1",
        "In the context of the target URI, servers can store the jti value of each DPoP proof "
        "for the time window in which the respective DPoP proof JWT would be accepted to "
        "prevent multiple uses of the same DPoP proof. HTTP requests to the same URI for which "
        "the jti value has been seen before would be declined.",
    ),
)
def _replayed_proof(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    proof = _honest(ctx, bound)
    first = _present(ctx, bound, proof=proof)
    if _needs_nonce(first):
        proof = _honest(ctx, bound)
        first = _present(ctx, bound, proof=proof)
    if first.status_code != 200:
        raise CheckSkipped(
            f"the honest DPoP request before the replay answered {first.status_code}"
        )
    _expect_refused(_present(ctx, bound, proof=proof), "the same DPoP proof sent again")


@check(
    "ISS-HAIP-05",
    "The DPoP scheme without a DPoP proof is refused",
    plan=PLAN,
    catches=("issuer:accept_dpop_scheme_without_proof",),
    requirement=_dpop_req(
        "7.1",
        "a resource server MUST check that a DPoP proof was also received in the DPoP header field",
    ),
)
def _scheme_without_proof(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    _expect_refused(_present(ctx, bound, proof=None), "Authorization: DPoP with no DPoP header")


@check(
    "ISS-HAIP-06",
    "A DPoP proof for another method or URI is refused",
    plan=PLAN,
    catches=("issuer:ignore_dpop_htm_htu", "issuer:unverified_dpop_proof"),
    requirement=_dpop_req(
        "4.3",
        _ALWAYS_VALIDATE + "The htm claim matches the HTTP method of the current request. "
        "The htu claim matches the HTTP URI value for the HTTP request in which the JWT was "
        "received, ignoring any query and fragment parts.",
    ),
)
def _wrong_htm_htu(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    url = bound.endpoints.credential_endpoint
    wrong_method = bound.dpop.proof(ctx, "PUT", url, token=bound.token)
    _expect_refused(_present(ctx, bound, proof=wrong_method), "a DPoP proof with htm PUT")
    other = bound.endpoints.token_endpoint
    wrong_uri = bound.dpop.proof(ctx, "POST", other, token=bound.token)
    _expect_refused(_present(ctx, bound, proof=wrong_uri), f"a DPoP proof with htu {other}")


@check(
    "ISS-HAIP-07",
    "A DPoP proof whose ath is not the access token's hash is refused",
    plan=PLAN,
    catches=("issuer:ignore_dpop_ath", "issuer:unverified_dpop_proof"),
    requirement=_dpop_req(
        "4.3",
        _ALWAYS_VALIDATE + "If presented to a protected resource in conjunction with an access "
        "token, ensure that the value of the ath claim equals the hash of that access token",
    ),
)
def _ath_mismatch(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    url = bound.endpoints.credential_endpoint
    proof = bound.dpop.proof(ctx, "POST", url, token=secrets.token_urlsafe(32))
    _expect_refused(_present(ctx, bound, proof=proof), "a DPoP proof for another access token")


# --- what HAIP 1.0 asks of an issuer's authorization server --------------------------------

_HAIP_COMMIT = "c396894fa628763d5575d9f12f80f8f9f4773067"
_HAIP = (
    f"https://github.com/openid/oid4vc-haip/blob/{_HAIP_COMMIT}/"
    "openid4vc-high-assurance-interoperability-profile-1_0.md"
)
#: The HAIP profile of the targets file: an EU issuer claims HAIP 1.0.
_HAIP_PROFILES = ("eu-haip",)


@check(
    "ISS-HAIP-08",
    "HAIP: the authorization server issues DPoP-bound access tokens",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    requirement=Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4 (draft 04 text)",
        text="Both the Wallet and the Credential Issuer: … MUST support sender-constrained "
        "tokens using the mechanism defined in [RFC9449].",
        link=f"{_HAIP}#L125",
    ),
)
def _haip_dpop(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    algs = endpoints.authorization_server.get("dpop_signing_alg_values_supported")
    expect(
        isinstance(algs, list) and "ES256" in algs,
        f"dpop_signing_alg_values_supported is {algs!r}: RFC 9449 §5.1 metadata with ES256 "
        "(HAIP's algorithm) is missing",
    )
    try:
        _bound_token(ctx)
    except CheckSkipped as exc:
        raise CheckFailed(f"no DPoP-bound token could be obtained: {exc.message}") from exc


@check(
    "ISS-HAIP-09",
    "HAIP: the authorization server requires pushed authorization requests",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    requirement=Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4.3 (draft 04 text)",
        text="MUST use Pushed Authorization Requests (PAR) [RFC9126] to send the Authorization "
        "Request.",
        link=f"{_HAIP}#L148",
    ),
)
def _haip_par(ctx: CheckContext) -> None:
    server = _endpoints(ctx).authorization_server
    expect(
        isinstance(server.get("pushed_authorization_request_endpoint"), str),
        "the authorization server metadata has no pushed_authorization_request_endpoint",
    )
    # RFC 9126 §5: with this member true, the server accepts authorization requests only
    # through PAR, which is how an issuer holds every wallet to HAIP's rule.
    expect(
        server.get("require_pushed_authorization_requests") is True,
        "require_pushed_authorization_requests is not true: authorization requests may bypass PAR",
    )


# --- key attestations (OpenID4VCI 1.0 Appendix D, F.3) ---------------------------------------


@check(
    "ISS-HAIP-10",
    "An attestation proof whose key attestation signature does not verify is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-invalid-key-attestation-signature",
    catches=("issuer:ignore_key_attestation_signature",),
    requirement=_credential_error(
        "`invalid_proof`: The `proofs` parameter in the Credential Request is invalid: (1) if "
        "the field is missing, or (2) one of the provided key proofs is invalid, or (3) if at "
        "least one of the key proofs does not contain a `c_nonce` value (refer to Section 7.2)."
    ),
)
def _forged_key_attestation(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    configs = endpoints.metadata.get("credential_configurations_supported") or {}
    cid, persona = _first_configuration(ctx, endpoints)
    proof_types = (configs.get(cid) or {}).get("proof_types_supported") or {}
    if "attestation" not in proof_types:
        raise CheckSkipped(f"{cid} offers no attestation proof type")
    pki = suite_pki(ctx)
    bound = _token(ctx, endpoints, cid, persona)
    holder = new_holder_key()
    now = ctx.now()
    # The listed wallet provider's certificate in x5c, and a signature by another key.
    forged = create_key_attestation(
        signer=KeySigner(ec.generate_private_key(ec.SECP256R1())),
        x5c=pki.x5c("wallet-provider"),
        attested_keys=[public_jwk(holder)],
        now=now,
        expires_at=now + timedelta(minutes=10),
        nonce=fresh_nonce(ctx, endpoints),
    )
    body = {"credential_configuration_id": cid, "proofs": {"attestation": [forged]}}
    headers = {"Authorization": f"{bound[1]} {bound[0].token}"}
    if bound[1] == "DPoP":
        headers["DPoP"] = _honest(ctx, bound[0])
    response = ctx.http.post(endpoints.credential_endpoint, json=body, headers=headers)
    expect(
        response.status_code == 400 and _error_of(response) == "invalid_proof",
        f"a forged key attestation: expected HTTP 400 invalid_proof, got HTTP "
        f"{response.status_code} {_error_of(response)!r}",
        status=response.status_code,
    )


def _token(
    ctx: CheckContext, endpoints: IssuerEndpoints, cid: str, persona: str
) -> tuple[_Bound, str]:
    """An access token for ``cid``: DPoP-bound where the issuer offers DPoP, else bearer."""
    if endpoints.authorization_server.get("dpop_signing_alg_values_supported"):
        return _bound_token(ctx), "DPoP"
    try:
        offer = request_offer(ctx, ctx.target, cid, persona)
        token = access_token(ctx, endpoints, offer)
    except CheckFailed as exc:
        raise CheckSkipped(f"the honest steps before this negative failed: {exc.message}") from exc
    return _Bound(endpoints=endpoints, configuration=cid, token=token, dpop=_Dpop()), "Bearer"


# --- the PoP's audience and the server's DPoP nonces ----------------------------------------


@check(
    "ISS-HAIP-11",
    "A wallet attestation PoP addressed to another authorization server is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-client-attestation-pop-wrong-aud",
    catches=("issuer:ignore_client_attestation_pop_aud", "issuer:skip_client_attestation"),
    requirement=ATTESTATION_POP_AUDIENCE,
)
def _pop_for_another_server(ctx: CheckContext) -> None:
    other = "https://another-authorization-server.example"
    _refused_client(
        ctx,
        f"a wallet attestation PoP with aud {other}",
        lambda attestation, pop, _provider, instance: (
            attestation,
            _resigned(pop, instance, aud=other),
        ),
    )


@check(
    "ISS-HAIP-12",
    "A DPoP proof carrying a nonce the server never issued is refused",
    plan=PLAN,
    catches=("issuer:accept_unissued_dpop_nonce",),
    requirement=_dpop_req(
        "8",
        "If the nonce claim in the DPoP proof does not exactly match a nonce recently supplied "
        "by the authorization server to the client, the authorization server MUST reject the "
        "request. The rejection response MAY include a DPoP-Nonce HTTP header providing a new "
        "nonce value to use for subsequent requests.",
    ),
)
def _unissued_dpop_nonce(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    _require(endpoints, dpop=True)
    _, form = _pre_authorized_form(ctx, endpoints)
    dpop = _Dpop()
    first = ctx.http.post(
        endpoints.token_endpoint,
        data=form,
        headers={"DPoP": dpop.proof(ctx, "POST", endpoints.token_endpoint)},
    )
    if first.status_code == 200:
        raise CheckSkipped(
            "a DPoP proof without a nonce was answered HTTP 200: the authorization server "
            "hands out no DPoP nonces (RFC 9449 §8 lets it)"
        )
    if not _needs_nonce(first):
        raise CheckSkipped(
            f"a DPoP proof without a nonce was answered HTTP {first.status_code} "
            f"{_error_of(first)!r}, not use_dpop_nonce: no nonce to compare with"
        )
    dpop.nonce = f"never-issued-{secrets.token_urlsafe(16)}"
    response = ctx.http.post(
        endpoints.token_endpoint,
        data=form,
        headers={"DPoP": dpop.proof(ctx, "POST", endpoints.token_endpoint)},
    )
    # §8 says the server MUST reject the request, not with which code: use_dpop_nonce
    # (with a fresh nonce) or invalid_dpop_proof both refuse it.
    error = _error_of(response) or response.headers.get("www-authenticate", "")
    expect(
        response.status_code in (400, 401)
        and any(code in error for code in ("use_dpop_nonce", "invalid_dpop_proof")),
        f"a DPoP proof with a nonce the server never issued: expected HTTP 400 or 401 with "
        f"use_dpop_nonce or invalid_dpop_proof, got HTTP {response.status_code} {error!r}",
        status=response.status_code,
    )


# --- credential response encryption (OpenID4VCI 1.0 §8.2, §10) -----------------------------

#: JWE ``enc`` values of the IANA registry (RFC 7518 §5.1): one the issuer does not list
#: is what the check asks for.
_JWE_ENCS = ("A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512")


@check(
    "ISS-HAIP-13",
    "A response encryption the issuer does not offer is refused with invalid_encryption_parameters",
    plan=PLAN,
    catches=("issuer:plain_response_for_unsupported_encryption",),
    requirement=_credential_error(
        "`invalid_encryption_parameters`: This error occurs when the encryption parameters in "
        "the Credential Request are either invalid or missing."
    ),
)
def _unsupported_response_encryption(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    offered = endpoints.metadata.get("credential_response_encryption")
    if not isinstance(offered, dict):
        raise CheckSkipped("the issuer metadata offers no credential_response_encryption")
    algs = offered.get("alg_values_supported")
    if not (isinstance(algs, list) and "ECDH-ES" in algs):
        # The suite's key is a P-256 ECDH-ES one: only the enc may be what is wrong.
        raise CheckSkipped(f"the issuer offers no ECDH-ES response encryption ({algs!r})")
    listed = offered.get("enc_values_supported")
    unsupported = [e for e in _JWE_ENCS if not (isinstance(listed, list) and e in listed)]
    if not unsupported:
        raise CheckSkipped("the issuer lists every registered enc value")
    request = endpoints.metadata.get("credential_request_encryption")
    sealed_request = isinstance(request, dict) and request.get("encryption_required") is True
    if sealed_request and not isinstance(request.get("jwks"), dict):  # type: ignore[union-attr]
        raise CheckSkipped("the issuer requires encrypted requests but publishes no jwks")
    cid, persona = _first_configuration(ctx, endpoints)
    bound, scheme = _token(ctx, endpoints, cid, persona)
    body = _body(ctx, bound)
    member = create_credential_response_encryption(new_holder_key().public_key(), enc="A128GCM")
    body["credential_response_encryption"] = {**member, "enc": unsupported[0]}
    headers = {"Authorization": f"{scheme} {bound.token}"}
    if scheme == "DPoP":
        headers["DPoP"] = _honest(ctx, bound)
    if sealed_request:
        assert isinstance(request, dict)
        encs = request.get("enc_values_supported") or ["A128GCM"]
        sealed = encrypt_credential_request(body, issuer_jwks=request["jwks"], enc=str(encs[0]))
        response = ctx.http.post(
            endpoints.credential_endpoint,
            content=sealed,
            headers={**headers, "Content-Type": "application/jwt"},
        )
    else:
        response = ctx.http.post(endpoints.credential_endpoint, json=body, headers=headers)
    expect(
        response.status_code == 400 and _error_of(response) == "invalid_encryption_parameters",
        f"a response encryption with enc {unsupported[0]} (not offered): expected HTTP 400 "
        f"invalid_encryption_parameters, got HTTP {response.status_code} "
        f"{_error_of(response)!r}",
        status=response.status_code,
    )


# --- more of the wallet attestation (-07 §5.1, §5.2) -----------------------------------------


@check(
    "ISS-HAIP-14",
    "A token request whose wallet attestation has expired is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-client-attestation-exp-in-past",
    catches=("issuer:accept_expired_client_attestation", "issuer:skip_client_attestation"),
    requirement=attestation_requirement(
        "5.1",
        "exp: REQUIRED. … The authorization server MUST reject any JWT with an expiration time "
        "that has passed, subject to allowable clock skew between systems.",
    ),
)
def _expired_attestation(ctx: CheckContext) -> None:
    def expired(attestation: str, pop: str, provider: Signer, _instance: Signer) -> tuple[str, str]:
        # Issued an hour ago for ten minutes: far past any clock skew.
        issued = epoch(ctx.now()) - 3600
        return _resigned(attestation, provider, iat=issued, exp=issued + 600), pop

    # -07 §6.2: "use_fresh_attestation MUST be used when the Client Attestation JWT is
    # deemed to be not fresh enough to be acceptable by the server".
    _refused_client(
        ctx,
        "a wallet attestation that expired 50 minutes ago",
        expired,
        also=("use_fresh_attestation",),
    )


@check(
    "ISS-HAIP-15",
    "A token request whose wallet attestation has no sub is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-client-attestation-no-sub",
    catches=("issuer:skip_client_attestation",),
    requirement=attestation_requirement(
        "5.1",
        "sub: REQUIRED. The sub (subject) claim MUST specify client_id value of the OAuth Client.",
    ),
)
def _attestation_without_sub(ctx: CheckContext) -> None:
    _refused_client(
        ctx,
        "a wallet attestation without sub",
        lambda attestation, pop, provider, _instance: (
            _resigned(attestation, provider, sub=None),
            pop,
        ),
        # RFC 6749 §5.2: invalid_request for a request that "is otherwise malformed".
        also=("invalid_request",),
    )


@check(
    "ISS-HAIP-16",
    "A token request whose wallet attestation PoP signature does not verify is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-invalid-client-attestation-pop-signature",
    catches=("issuer:skip_client_attestation",),
    requirement=attestation_requirement(
        "5.2", "The authorization server MUST reject JWTs with an invalid signature."
    ),
)
def _pop_with_invalid_signature(ctx: CheckContext) -> None:
    _refused_client(
        ctx,
        "a wallet attestation PoP whose signature does not verify",
        lambda attestation, pop, _provider, instance: (attestation, _spliced(pop, instance)),
    )


@check(
    "ISS-HAIP-17",
    "A token request whose wallet attestation PoP is signed by a key other than cnf is refused",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-mismatched-client-attestation-pop-key",
    catches=("issuer:skip_client_attestation",),
    requirement=ATTESTATION_POP_AUDIENCE,
)
def _pop_by_another_key(ctx: CheckContext) -> None:
    _refused_client(
        ctx,
        "a wallet attestation PoP signed by a key other than the attested one",
        lambda attestation, pop, _provider, _instance: (attestation, _resigned(pop, _other())),
    )


# --- the authorization scheme (RFC 9110 §11.1) -----------------------------------------------


@check(
    "ISS-HAIP-18",
    "The DPoP authorization scheme is accepted in any case",
    plan=PLAN,
    oidf="fapi2-security-profile-final-access-token-type-header-case-sensitivity",
    # Recommended: RFC 9110 states the scheme's case-insensitivity as the grammar's,
    # with no keyword to quote, though the OIDF module fails a run on it.
    severity=Severity.RECOMMENDED,
    catches=("issuer:case_sensitive_auth_scheme",),
    requirement=Requirement(
        spec="RFC 9110",
        section="11.1",
        text="It uses a case-insensitive token to identify the authentication scheme",
        link="https://www.rfc-editor.org/rfc/rfc9110#section-11.1",
    ),
)
def _scheme_in_lower_case(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    _served_as_honest(
        "Authorization: dpop …",
        _presented(ctx, bound, scheme="dpop", proof=lambda: _honest(ctx, bound)),
        lambda: _presented(ctx, bound, proof=lambda: _honest(ctx, bound)),
    )


@check(
    "ISS-HAIP-19",
    "A DPoP proof whose htu carries a query and a fragment is accepted",
    plan=PLAN,
    catches=("issuer:exact_dpop_htu",),
    requirement=_dpop_req(
        "4.3",
        _ALWAYS_VALIDATE + "The htu claim matches the HTTP URI value for the HTTP request in "
        "which the JWT was received, ignoring any query and fragment parts.",
    ),
)
def _htu_with_query(ctx: CheckContext) -> None:
    bound = _bound_token(ctx)
    htu = f"{bound.endpoints.credential_endpoint}?passerelle=conformance#proof"

    def proof() -> str:
        return _resigned(_honest(ctx, bound), KeySigner(bound.dpop.key), htu=htu)

    _served_as_honest(
        f"a DPoP proof with htu {htu}",
        _presented(ctx, bound, proof=proof),
        lambda: _presented(ctx, bound, proof=lambda: _honest(ctx, bound)),
    )


@check(
    "ISS-HAIP-20",
    "DPoP proofs RFC 9449 §4.3 refuses are refused at the credential endpoint",
    plan=PLAN,
    oidf="fapi2-security-profile-final-dpop-negative-tests",
    # A proof without ath is one whose ath is not checked: ignore_dpop_ath lets it in too.
    catches=("issuer:unverified_dpop_proof", "issuer:ignore_dpop_ath"),
    requirement=_dpop_req(
        "4.3",
        _ALWAYS_VALIDATE + "All required claims per Section 4.2 are contained in the JWT. "
        "The typ JOSE Header Parameter has the value dpop+jwt. … The JWT signature verifies "
        "with the public key contained in the jwk JOSE Header Parameter. The jwk JOSE Header "
        "Parameter does not contain a private key.",
    ),
)
def _malformed_proofs(ctx: CheckContext) -> None:
    """OIDF's DPoP negative tests at the credential endpoint, but for its iat an hour
    away: §4.3 check 11 lets a server that hands out nonces judge freshness by them."""
    bound = _bound_token(ctx)
    key = KeySigner(bound.dpop.key)
    faults: dict[str, Callable[[str], str]] = {
        "without htu": lambda p: _resigned(p, key, htu=None),
        "without iat": lambda p: _resigned(p, key, iat=None),
        "without ath": lambda p: _resigned(p, key, ath=None),
        "with typ jwt": lambda p: _resigned(p, key, header={"typ": "jwt"}),
        "whose signature does not verify": lambda p: _spliced(p, key),
        "naming a private key": lambda p: _resigned(
            p, key, header={"jwk": private_jwk(bound.dpop.key)}
        ),
    }
    for what, fault in faults.items():

        def faulty(fault: Callable[[str], str] = fault) -> str:
            return fault(_honest(ctx, bound))

        _expect_refused(_presented(ctx, bound, proof=faulty), f"a DPoP proof {what}")
    # The control last, as OIDF's module does: the token still serves an honest proof, so
    # the refusals above were the proofs'.
    control = _presented(ctx, bound, proof=lambda: _honest(ctx, bound))
    if control.status_code != 200:
        raise CheckSkipped(
            f"after the faulty proofs, an honest one answered HTTP {control.status_code} "
            f"{_error_of(control)!r}: the refusals may not have been about the proofs"
        )


def _presented(
    ctx: CheckContext, bound: _Bound, *, scheme: str = "DPoP", proof: Callable[[], str]
) -> httpx.Response:
    """A credential request with a DPoP proof made by ``proof()``, made again with the
    server's nonce when it asks for one."""
    response = _present(ctx, bound, scheme=scheme, proof=proof())
    if _needs_nonce(response):
        response = _present(ctx, bound, scheme=scheme, proof=proof())
    return response


def _served_as_honest(
    what: str, variant: httpx.Response, honest: Callable[[], httpx.Response]
) -> None:
    """``variant``, a request the spec says a server serves, was served; or, refused, the
    same request written as RFC 9449 writes it (the control) was refused too, and the
    refusal is about something else."""
    if variant.status_code != 200:
        control = honest()
        if control.status_code != 200:
            raise CheckSkipped(
                f"an honest credential request with a DPoP proof answered HTTP "
                f"{control.status_code} {_error_of(control)!r}: nothing to compare with"
            )
    expect(
        variant.status_code == 200,
        f"{what} was refused (HTTP {variant.status_code} {_error_of(variant)!r}) where the "
        "same request written as RFC 9449 writes it was served",
        status=variant.status_code,
    )
