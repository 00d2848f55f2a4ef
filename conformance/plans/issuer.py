"""The issuer plan: the suite plays a wallet against a credential issuer.

Honest steps first (metadata, offer, token, nonce, credential), then negatives of our
own: wrong Transaction Code, replayed codes, key proofs with the wrong nonce, audience,
type or signature, requests without a token. Some of them match modules of the OpenID
Foundation's issuer test plan, and say so in their ``oidf`` field; that plan also
tests client and key attestations, which these checks do not (``docs/conformance.md``
has the module-by-module table); the authorization-code path is in :mod:`.issuer_code`.
Every negative starts from its own offer, token and nonce, so that one finding never
turns into a cascade.
The content checks read the credentials the happy path obtained once per run
(``obtain_shared``), without trusting their signature: that is one check's business,
not every check's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError
from passerelle.jose import jwk_thumbprint, verify_jws
from passerelle.oid4vci import (
    PRE_AUTHORIZED_CODE_GRANT,
    PROOF_JWT_TYP,
    credential_issuer_metadata_url,
)
from passerelle.sd_jwt_vc import NEVER_DISCLOSABLE, SD_JWT_VC_TYP, ResolvedIssuerKey
from passerelle.status_list import (
    STATUS_LIST_JWT_TYP,
    StatusValue,
    VerifiedStatusList,
    check_status,
    verify_status_list_token,
)
from passerelle.vc import resolve_did_jwk, verify_jwt_vc_json

from .._context import CheckContext
from .._holder import (
    SIGNING_ALGORITHMS,
    Issued,
    IssuerEndpoints,
    access_token,
    await_deferred,
    bearer,
    credential_request,
    discover,
    discover_issuer_key,
    fresh_nonce,
    key_proof,
    new_holder_key,
    obtain_credential,
    obtain_shared,
    read_unverified_jwt,
    read_unverified_sd_jwt_vc,
    remember_shared,
    request_offer,
    target_configurations,
    token_request,
)
from .._model import CheckFailed, CheckSkipped, CheckWarning, Requirement, Severity
from .._registry import check, expect, expect_oauth_error, expect_rejected

PLAN = "issuer"
SD_JWT = "dc+sd-jwt"
SKEW = timedelta(seconds=60)

VCI = "OpenID4VCI 1.0"
VCI_URL = "https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"
SD_JWT_VC = "draft-ietf-oauth-sd-jwt-vc"
SD_JWT_VC_URL = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-sd-jwt-vc"
STATUS_LIST = "draft-ietf-oauth-status-list"
STATUS_LIST_URL = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-status-list"


def _vci(section: str, anchor: str, text: str) -> Requirement:
    return Requirement(spec=VCI, section=section, text=text, link=f"{VCI_URL}#{anchor}")


def _rfc(number: int, section: str, text: str) -> Requirement:
    return Requirement(
        spec=f"RFC {number}",
        section=section,
        text=text,
        link=f"https://www.rfc-editor.org/rfc/rfc{number}#section-{section.lstrip('§')}",
    )


def _sd_jwt_vc(section: str, anchor: str, text: str) -> Requirement:
    return Requirement(spec=SD_JWT_VC, section=section, text=text, link=f"{SD_JWT_VC_URL}#{anchor}")


def _status_list(section: str, anchor: str, text: str) -> Requirement:
    return Requirement(
        spec=STATUS_LIST, section=section, text=text, link=f"{STATUS_LIST_URL}#{anchor}"
    )


# --- shared helpers -------------------------------------------------------------------------


def _endpoints(ctx: CheckContext, *, prerequisite: bool = True) -> IssuerEndpoints:
    return ctx.shared(
        f"issuer:endpoints:{ctx.target.name}",
        lambda: discover(ctx, ctx.target),
        prerequisite=prerequisite,
    )


def _configurations(ctx: CheckContext) -> list[tuple[str, str]]:
    configured = target_configurations(ctx.target)
    if not configured:
        raise CheckSkipped(f"the targets file lists no configurations for {ctx.target.name}")
    return configured


def _of_format(ctx: CheckContext, fmt: str) -> list[tuple[str, str]]:
    # A configuration missing from the metadata is ISS-META-07's finding, not every check's.
    configs = _endpoints(ctx).metadata.get("credential_configurations_supported") or {}
    return [
        (cid, persona)
        for cid, persona in _configurations(ctx)
        if isinstance(configs.get(cid), dict) and configs[cid].get("format") == fmt
    ]


def _first(ctx: CheckContext, fmt: str | None = None) -> tuple[str, str]:
    """The configuration the negatives use: the first one listed (of ``fmt``)."""
    known = _endpoints(ctx).metadata.get("credential_configurations_supported") or {}
    candidates = _of_format(ctx, fmt) if fmt else [c for c in _configurations(ctx) if c[0] in known]
    if not candidates:
        raise CheckSkipped(f"{ctx.target.name} lists no {fmt} configuration")
    return candidates[0]


def _issued(ctx: CheckContext, cid: str, persona: str) -> Issued:
    return obtain_shared(ctx, ctx.target.name, cid, persona)


def _has_no_store(response: httpx.Response) -> bool:
    directives = response.headers.get("cache-control", "")
    return "no-store" in {d.strip().lower() for d in directives.split(",")}


def _is_url(value: object, ctx: CheckContext) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    loopback_http = (
        ctx.suite.allow_insecure_loopback
        and parts.scheme == "http"
        and parts.hostname in ("localhost", "127.0.0.1", "::1")
    )
    return bool(parts.hostname) and (parts.scheme == "https" or loopback_http)


def _error_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _each(ctx: CheckContext, fmt: str, judge: Callable[[str, Issued], None], *, what: str) -> None:
    """Run ``judge`` on the shared credential of every configuration of ``fmt`` the
    targets file lists, and report every configuration that fails, not just the first.
    A configuration that does not apply (or whose issuance failed) is left out; the
    check is skipped only when none applies."""
    configured = _of_format(ctx, fmt)
    if not configured:
        raise CheckSkipped(f"{ctx.target.name} lists no {fmt} configuration ({what})")
    failures: list[str] = []
    warnings: list[str] = []
    skipped: list[str] = []
    for cid, persona in configured:
        try:
            judge(cid, _issued(ctx, cid, persona))
        except CheckFailed as exc:
            failures.append(f"{cid}: {exc.message}")
            if exc.evidence:
                ctx.record(**{cid: exc.evidence})
        except CheckWarning as exc:
            warnings.append(f"{cid}: {exc.message}")
        except CheckSkipped as exc:
            skipped.append(f"{cid}: {exc.message}")
    if failures:
        raise CheckFailed("; ".join(failures))
    if warnings:
        raise CheckWarning("; ".join(warnings))
    if len(skipped) == len(configured):
        raise CheckSkipped("; ".join(skipped))


@dataclass(frozen=True, slots=True)
class _Attempt:
    """A fresh start for one negative: its own token and ``c_nonce``."""

    endpoints: IssuerEndpoints
    configuration: str
    token: str
    nonce: str | None

    def honest_proof(self, ctx: CheckContext) -> str:
        """A key proof as an honest wallet makes it: a new key, this attempt's nonce."""
        return key_proof(
            new_holder_key(),
            audience=self.endpoints.credential_issuer,
            nonce=self.nonce,
            now=ctx.now(),
        )


def _prepare(ctx: CheckContext, fmt: str | None = None, *, nonce: bool = True) -> _Attempt:
    """Offer, token and nonce for a negative. If one of these honest steps fails, the
    negative cannot be judged: the check that owns that step reports it."""
    endpoints = _endpoints(ctx)
    cid, persona = _first(ctx, fmt)
    try:
        offer = request_offer(ctx, ctx.target, cid, persona)
        token = access_token(ctx, endpoints, offer)
        value = fresh_nonce(ctx, endpoints) if nonce else None
    except CheckFailed as exc:
        raise CheckSkipped(f"the honest steps before this negative failed: {exc.message}") from exc
    return _Attempt(endpoints=endpoints, configuration=cid, token=token, nonce=value)


def _send_proofs(ctx: CheckContext, attempt: _Attempt, proofs: list[str]) -> httpx.Response:
    return credential_request(
        ctx,
        attempt.endpoints,
        attempt.token,
        {"credential_configuration_id": attempt.configuration, "proofs": {"jwt": proofs}},
    )


def _send_body(
    ctx: CheckContext, attempt: _Attempt, body: Mapping[str, Any], proof: str
) -> httpx.Response:
    return credential_request(
        ctx, attempt.endpoints, attempt.token, {**body, "proofs": {"jwt": [proof]}}
    )


# --- metadata -----------------------------------------------------------------------------


def _raw_metadata(ctx: CheckContext) -> httpx.Response:
    """The metadata document as served, judged apart from discovery (which refuses to
    use a document whose identifier does not match, as a wallet must)."""
    key = f"issuer:raw-metadata:{ctx.target.name}"
    cached = ctx.shared_state.get(key)
    if isinstance(cached, httpx.Response):
        return cached
    response = ctx.http.get(credential_issuer_metadata_url(ctx.target.url))
    ctx.shared_state[key] = response
    return response


@check(
    "ISS-META-01",
    "Credential issuer metadata is served at the well-known location",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_vci(
        "§12.2.2",
        "credential-issuer-wellknown",
        "Credential Issuers publishing metadata MUST make a JSON document available at the "
        "path formed by inserting the string `/.well-known/openid-credential-issuer` into "
        "the Credential Issuer Identifier between the host component and the path "
        "component, if any.",
    ),
)
def _meta_served(ctx: CheckContext) -> None:
    response = _raw_metadata(ctx)
    expect(response.status_code == 200, f"HTTP {response.status_code}, expected 200")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    expect(media == "application/json", f"Content-Type {media!r} is not application/json")
    ctx.json_object(response, "credential issuer metadata")


@check(
    "ISS-META-02",
    "credential_issuer equals the identifier the metadata was fetched from",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_vci(
        "§12.2.4",
        "credential-issuer-parameters",
        "The value MUST be identical to the Credential Issuer's identifier value into which "
        "the well-known URI string was inserted to create the URL used to retrieve the "
        "metadata.",
    ),
)
def _meta_identifier(ctx: CheckContext) -> None:
    response = _raw_metadata(ctx)
    if response.status_code != 200:
        raise CheckSkipped(f"no metadata to judge (HTTP {response.status_code})")
    got = ctx.json_object(response, "credential issuer metadata").get("credential_issuer")
    expect(got == ctx.target.url, f"credential_issuer {got!r} is not {ctx.target.url!r}")


@check(
    "ISS-META-03",
    "Endpoint URLs in the metadata use https",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_vci(
        "§12.2.4",
        "credential-issuer-parameters",
        "`credential_endpoint`: REQUIRED. URL of the Credential Issuer's Credential Endpoint, "
        "as defined in Section 8.2. This URL MUST use the `https` scheme and MAY contain "
        "port, path, and query parameter components.",
    ),
)
def _meta_endpoints(ctx: CheckContext) -> None:
    metadata = _endpoints(ctx).metadata
    bad = [
        name
        for name in (
            "credential_endpoint",
            "nonce_endpoint",
            "deferred_credential_endpoint",
            "notification_endpoint",
        )
        if (name == "credential_endpoint" or name in metadata)
        and not _is_url(metadata.get(name), ctx)
    ]
    expect(not bad, f"not an https URL (nor loopback http in development): {bad}")


@check(
    "ISS-META-04",
    "The issuer offers a nonce endpoint",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    severity=Severity.RECOMMENDED,
    requirement=_vci(
        "§13.8",
        "key-proof-replay",
        "It is RECOMMENDED that Credential Issuers utilize the Nonce Endpoint as specified in "
        "Section 7 to protect against this.",
    ),
)
def _meta_nonce(ctx: CheckContext) -> None:
    if _endpoints(ctx).nonce_endpoint is None:
        raise CheckWarning("no nonce_endpoint: key proofs cannot be bound to a fresh c_nonce")


@check(
    "ISS-META-05",
    "Each credential configuration has a format and its type (vct / credential_definition)",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_vci(
        "§12.2.4",
        "credential-issuer-parameters",
        "`format`: REQUIRED. A JSON string identifying the format of this Credential, i.e., "
        "`jwt_vc_json` or `ldp_vc`.",
    ),
)
def _meta_configurations(ctx: CheckContext) -> None:
    configs = _endpoints(ctx).metadata.get("credential_configurations_supported")
    expect(
        isinstance(configs, dict) and configs,
        "credential_configurations_supported is missing or empty",
    )
    assert isinstance(configs, dict)
    problems: list[str] = []
    for cid, config in configs.items():
        if not isinstance(config, dict):
            problems.append(f"{cid}: not an object")
            continue
        fmt = config.get("format")
        if not isinstance(fmt, str) or not fmt:
            problems.append(f"{cid}: no format")
        elif fmt == "dc+sd-jwt" and not (isinstance(config.get("vct"), str) and config["vct"]):
            problems.append(f"{cid}: dc+sd-jwt without vct (Appendix A.3.2)")
        elif fmt == "jwt_vc_json":
            types = (config.get("credential_definition") or {}).get("type")
            if not (isinstance(types, list) and types and all(isinstance(t, str) for t in types)):
                problems.append(f"{cid}: jwt_vc_json without credential_definition.type (A.1.1.2)")
        for legacy in ("display", "claims"):
            if legacy in config:
                problems.append(f"{cid}: {legacy} belongs under credential_metadata in 1.0")
    expect(not problems, "; ".join(problems), problems=problems)


@check(
    "ISS-META-06",
    "Key-bound configurations describe their proof types",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_vci(
        "§12.2.4",
        "credential-issuer-parameters",
        "`proof_types_supported`: OPTIONAL. Object that describes specifics of the key "
        "proof(s) that the Credential Issuer supports. It MUST be present if "
        "`cryptographic_binding_methods_supported` is present, and omitted otherwise.",
    ),
)
def _meta_proof_types(ctx: CheckContext) -> None:
    configs = _endpoints(ctx).metadata.get("credential_configurations_supported") or {}
    problems: list[str] = []
    for cid, config in configs.items():
        if not isinstance(config, dict):
            continue
        methods = config.get("cryptographic_binding_methods_supported")
        proof_types = config.get("proof_types_supported")
        if (methods is None) != (proof_types is None):
            problems.append(f"{cid}: proof_types_supported without binding methods or vice versa")
            continue
        if proof_types is None:
            continue
        if not isinstance(proof_types, dict) or not proof_types:
            problems.append(f"{cid}: proof_types_supported is not a non-empty object")
            continue
        for name, spec in proof_types.items():
            algs = (
                spec.get("proof_signing_alg_values_supported") if isinstance(spec, dict) else None
            )
            if not (isinstance(algs, list) and algs and all(isinstance(a, str) for a in algs)):
                problems.append(f"{cid}: {name} lists no proof_signing_alg_values_supported")
            elif "none" in algs:
                problems.append(f"{cid}: {name} allows alg none")
    expect(not problems, "; ".join(problems), problems=problems)


@check(
    "ISS-META-07",
    "The configurations the targets file names are in the metadata",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_vci(
        "§12.2.4",
        "credential-issuer-parameters",
        "`credential_configurations_supported`: REQUIRED. Object that describes specifics of "
        "the Credential that the Credential Issuer supports issuance of.",
    ),
)
def _meta_listed(ctx: CheckContext) -> None:
    configs = _endpoints(ctx).metadata.get("credential_configurations_supported") or {}
    named = [cid for cid, _ in _configurations(ctx)]
    deferred = ctx.target.get("deferred_configuration")
    if isinstance(deferred, dict) and isinstance(deferred.get("id"), str):
        named.append(deferred["id"])
    missing = [cid for cid in named if cid not in configs]
    expect(not missing, f"not in credential_configurations_supported: {missing}")


@check(
    "ISS-META-08",
    "Authorization server metadata: issuer is identical to the identifier",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_rfc(
        8414,
        "3.3",
        'The "issuer" value returned MUST be identical to the authorization server\'s issuer '
        "identifier value into which the well-known URI string was inserted to create the "
        "URL used to retrieve the metadata.",
    ),
)
def _as_issuer(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    servers = endpoints.metadata.get("authorization_servers")
    expected = servers[0] if isinstance(servers, list) and servers else ctx.target.url
    got = endpoints.authorization_server.get("issuer")
    expect(got == expected, f"authorization server issuer {got!r} is not {expected!r}")


@check(
    "ISS-META-09",
    "Authorization server metadata names a token endpoint",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    requirement=_rfc(
        8414,
        "2",
        "token_endpoint: URL of the authorization server's token endpoint [RFC6749]. This is "
        "REQUIRED unless only the implicit grant type is supported.",
    ),
)
def _as_token_endpoint(ctx: CheckContext) -> None:
    value = _endpoints(ctx).authorization_server.get("token_endpoint")
    expect(_is_url(value, ctx), f"token_endpoint {value!r} is not an https URL")


@check(
    "ISS-META-10",
    "Authorization server metadata lists the pre-authorized code grant",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-metadata-test",
    severity=Severity.RECOMMENDED,
    requirement=_rfc(
        8414,
        "2",
        "grant_types_supported: OPTIONAL. JSON array containing a list of the OAuth 2.0 grant "
        "type values that this authorization server supports. [...] If omitted, the default "
        'value is "["authorization_code", "implicit"]".',
    ),
)
def _as_grant(ctx: CheckContext) -> None:
    grants = _endpoints(ctx).authorization_server.get("grant_types_supported")
    if not isinstance(grants, list) or PRE_AUTHORIZED_CODE_GRANT not in grants:
        raise CheckWarning(
            f"grant_types_supported {grants!r} does not list {PRE_AUTHORIZED_CODE_GRANT}, "
            "though offers use it"
        )


# --- offer ----------------------------------------------------------------------------------


@check(
    "ISS-OFFER-01",
    "A credential offer parses and names this issuer",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-happy-flow",
    requirement=_vci(
        "§4.1.1",
        "credential-offer-parameters",
        "`credential_issuer`: REQUIRED. The URL of the Credential Issuer, as defined in "
        "Section 12.2.1, from which the Wallet is requested to obtain one or more Credentials.",
    ),
)
def _offer_issuer(ctx: CheckContext) -> None:
    cid, persona = _first(ctx)
    offer = request_offer(ctx, ctx.target, cid, persona)
    expect(
        offer.parsed.credential_issuer == ctx.target.url,
        f"credential_issuer {offer.parsed.credential_issuer!r} is not {ctx.target.url!r}",
    )


@check(
    "ISS-OFFER-02",
    "The offer's configuration ids are known in the metadata",
    plan=PLAN,
    requirement=_vci(
        "§4.1.1",
        "credential-offer-parameters",
        "`credential_configuration_ids`: REQUIRED. A non-empty array of unique strings that "
        "each identify one of the keys in the name/value pairs stored in the "
        "`credential_configurations_supported` Credential Issuer metadata.",
    ),
)
def _offer_ids(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    cid, persona = _first(ctx)
    offer = request_offer(ctx, ctx.target, cid, persona)
    ids = offer.parsed.credential_configuration_ids
    known = endpoints.metadata.get("credential_configurations_supported") or {}
    unknown = [i for i in ids if i not in known]
    expect(not unknown, f"offered configurations not in the metadata: {unknown}")
    expect(cid in ids, f"asked for an offer of {cid!r}, the offer names {list(ids)}")


@check(
    "ISS-OFFER-03",
    "The Transaction Code descriptor matches the code the user is given",
    plan=PLAN,
    requirement=_vci(
        "§4.1.1",
        "credential-offer-parameters",
        "`tx_code`: OPTIONAL. Object indicating that a Transaction Code is required if "
        "present, even if empty. [...] The length of the string MUST NOT exceed 300 "
        "characters.",
    ),
)
def _offer_tx_code(ctx: CheckContext) -> None:
    cid, persona = _first(ctx)
    offer = request_offer(ctx, ctx.target, cid, persona, tx_code=True)
    grant = offer.parsed.grants.pre_authorized_code if offer.parsed.grants else None
    assert grant is not None  # request_offer refuses an offer without it
    if grant.tx_code is None:
        raise CheckSkipped("the issuer asks no Transaction Code for this offer")
    expect(offer.tx_code is not None, "the offer asks for a tx_code, the backchannel gave none")
    assert offer.tx_code is not None
    descriptor = grant.tx_code
    if descriptor.length is not None:
        expect(
            len(offer.tx_code) == descriptor.length,
            f"tx_code length says {descriptor.length}, the code has {len(offer.tx_code)}",
        )
    if (descriptor.input_mode or "numeric") == "numeric":
        expect(offer.tx_code.isdigit(), "input_mode is numeric but the code is not all digits")
    if descriptor.description is not None:
        expect(len(descriptor.description) <= 300, "tx_code description exceeds 300 characters")


# --- token ----------------------------------------------------------------------------------


def _fresh_offer_form(ctx: CheckContext) -> tuple[IssuerEndpoints, dict[str, str], str | None]:
    """An honest token request form for a fresh offer, and the offer's tx_code."""
    endpoints = _endpoints(ctx)
    cid, persona = _first(ctx)
    try:
        offer = request_offer(ctx, ctx.target, cid, persona, tx_code=True)
    except CheckFailed as exc:
        raise CheckSkipped(f"no offer to redeem: {exc.message}") from exc
    form = {
        "grant_type": PRE_AUTHORIZED_CODE_GRANT,
        "pre-authorized_code": offer.pre_authorized_code,
    }
    return endpoints, form, offer.tx_code


@check(
    "ISS-TOKEN-01",
    "A pre-authorized code with its Transaction Code buys an access token",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-happy-flow",
    requirement=_rfc(
        6749,
        "5.1",
        "token_type: REQUIRED. The type of the token issued as described in Section 7.1. "
        "Value is case insensitive.",
    ),
)
def _token_happy(ctx: CheckContext) -> None:
    endpoints, form, pin = _fresh_offer_form(ctx)
    if pin is not None:
        form["tx_code"] = pin
    response = token_request(ctx, endpoints, form)
    expect(
        response.status_code == 200,
        f"token endpoint answered HTTP {response.status_code} (error {_error_of(response)!r})",
    )
    body = ctx.json_object(response, "token response")
    expect(isinstance(body.get("access_token"), str) and body["access_token"], "no access_token")
    token_type = body.get("token_type")
    expect(
        isinstance(token_type, str) and token_type.lower() in ("bearer", "dpop"),
        f"token_type {token_type!r} is neither Bearer nor DPoP",
    )


@check(
    "ISS-TOKEN-02",
    "Token responses are not cacheable",
    plan=PLAN,
    requirement=_rfc(
        6749,
        "5.1",
        'The authorization server MUST include the HTTP "Cache-Control" response header '
        'field [RFC2616] with a value of "no-store" in any response containing tokens, '
        "credentials, or other sensitive information",
    ),
    catches=("issuer:no_store_missing",),
)
def _token_no_store(ctx: CheckContext) -> None:
    endpoints, form, pin = _fresh_offer_form(ctx)
    if pin is not None:
        form["tx_code"] = pin
    response = token_request(ctx, endpoints, form)
    if response.status_code != 200:
        raise CheckSkipped(f"no token response to judge (HTTP {response.status_code})")
    expect(
        _has_no_store(response),
        f"Cache-Control is {response.headers.get('cache-control')!r}, not no-store",
    )


@check(
    "ISS-TOKEN-03",
    "A wrong Transaction Code is refused with invalid_grant",
    plan=PLAN,
    requirement=_rfc(
        6749,
        "5.2",
        "error: REQUIRED. A single ASCII [USASCII] error code from the following: [...] "
        "invalid_grant: The provided authorization grant (e.g., authorization code, resource "
        "owner credentials) or refresh token is invalid, expired, revoked, does not match the "
        "redirection URI used in the authorization request, or was issued to another client.",
    ),
    catches=("issuer:ignore_tx_code",),
)
def _token_wrong_tx_code(ctx: CheckContext) -> None:
    endpoints, form, pin = _fresh_offer_form(ctx)
    if pin is None:
        raise CheckSkipped("the issuer asks no Transaction Code")
    # Same length and alphabet, never the right value.
    form["tx_code"] = "".join(str((int(c) + 1) % 10) if c.isdigit() else "x" for c in pin)
    expect_oauth_error(token_request(ctx, endpoints, form), 400, "invalid_grant")


@check(
    "ISS-TOKEN-04",
    "A missing Transaction Code is refused with invalid_request",
    plan=PLAN,
    requirement=_vci(
        "§6.1",
        "token-request",
        "`tx_code`: OPTIONAL. String value containing a Transaction Code value itself. This "
        "value MUST be present if a `tx_code` object was present in the Credential Offer "
        "(including if the object was empty).",
    ),
    catches=("issuer:ignore_tx_code",),
)
def _token_missing_tx_code(ctx: CheckContext) -> None:
    endpoints, form, pin = _fresh_offer_form(ctx)
    if pin is None:
        raise CheckSkipped("the issuer asks no Transaction Code")
    expect_oauth_error(token_request(ctx, endpoints, form), 400, "invalid_request")


@check(
    "ISS-TOKEN-05",
    "A pre-authorized code cannot be redeemed twice",
    plan=PLAN,
    requirement=_vci(
        "§4.1.1",
        "credential-offer-parameters",
        "`pre-authorized_code`: REQUIRED. The code representing the Credential Issuer's "
        "authorization for the Wallet to obtain Credentials of a certain type. This code "
        "MUST be short lived and single use.",
    ),
    catches=("issuer:reusable_pre_authorized_code",),
)
def _token_reuse(ctx: CheckContext) -> None:
    endpoints, form, pin = _fresh_offer_form(ctx)
    if pin is not None:
        form["tx_code"] = pin
    first = token_request(ctx, endpoints, form)
    if first.status_code != 200:
        raise CheckSkipped(f"the first redemption failed (HTTP {first.status_code})")
    expect_oauth_error(token_request(ctx, endpoints, form), 400, "invalid_grant")


@check(
    "ISS-TOKEN-06",
    "An unknown pre-authorized code is refused with invalid_grant",
    plan=PLAN,
    requirement=_rfc(
        6749,
        "5.2",
        "error: REQUIRED. A single ASCII [USASCII] error code from the following: [...] "
        "invalid_grant: The provided authorization grant (e.g., authorization code, resource "
        "owner credentials) or refresh token is invalid, expired, revoked, does not match the "
        "redirection URI used in the authorization request, or was issued to another client.",
    ),
)
def _token_unknown_code(ctx: CheckContext) -> None:
    endpoints, _, pin = _fresh_offer_form(ctx)
    form = {
        "grant_type": PRE_AUTHORIZED_CODE_GRANT,
        "pre-authorized_code": secrets.token_urlsafe(24),
    }
    if pin is not None:
        form["tx_code"] = pin
    expect_oauth_error(token_request(ctx, endpoints, form), 400, "invalid_grant")


@check(
    "ISS-TOKEN-07",
    "An unsupported grant type is refused with unsupported_grant_type",
    plan=PLAN,
    requirement=_rfc(
        6749,
        "5.2",
        "error: REQUIRED. A single ASCII [USASCII] error code from the following: [...] "
        "unsupported_grant_type: The authorization grant type is not supported by the "
        "authorization server.",
    ),
)
def _token_unsupported_grant(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    form = {"grant_type": "urn:passerelle:conformance:no-such-grant", "code": "x"}
    expect_oauth_error(token_request(ctx, endpoints, form), 400, "unsupported_grant_type")


# --- nonce ----------------------------------------------------------------------------------


def _nonce_response(ctx: CheckContext) -> httpx.Response:
    endpoints = _endpoints(ctx)
    if endpoints.nonce_endpoint is None:
        raise CheckSkipped("the issuer has no nonce_endpoint")
    return ctx.http.post(endpoints.nonce_endpoint)


@check(
    "ISS-NONCE-01",
    "The nonce endpoint hands out a c_nonce",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-happy-flow",
    requirement=_vci(
        "§7.2",
        "nonce-response",
        "`c_nonce`: REQUIRED. String containing a challenge to be used when creating a proof "
        "of possession of the key (see Section 8.2).",
    ),
)
def _nonce_happy(ctx: CheckContext) -> None:
    response = _nonce_response(ctx)
    expect(200 <= response.status_code < 300, f"nonce endpoint answered {response.status_code}")
    value = ctx.json_object(response, "nonce response").get("c_nonce")
    expect(isinstance(value, str) and value, f"c_nonce {value!r} is not a non-empty string")


@check(
    "ISS-NONCE-02",
    "Nonce responses are not cacheable",
    plan=PLAN,
    requirement=_vci(
        "§7.2",
        "nonce-response",
        "Due to the temporal nature of the `c_nonce` value, the Credential Issuer MUST make "
        "the response uncacheable by adding a `Cache-Control` header field including the "
        "value `no-store`.",
    ),
    catches=("issuer:no_store_missing",),
)
def _nonce_no_store(ctx: CheckContext) -> None:
    response = _nonce_response(ctx)
    expect(
        _has_no_store(response),
        f"Cache-Control is {response.headers.get('cache-control')!r}, not no-store",
    )


@check(
    "ISS-NONCE-03",
    "A spent c_nonce is not handed out again: new challenge values are unpredictable",
    plan=PLAN,
    requirement=_vci(
        "§7.2",
        "nonce-response",
        "It is at the discretion of the Credential Issuer when to return a new challenge "
        "value as opposed to the one returned in the previous request. New challenge values "
        "MUST be unpredictable.",
    ),
    catches=("issuer:constant_c_nonce",),
)
def _nonce_fresh(ctx: CheckContext) -> None:
    """An issuer may hand one value out more than once; but once the suite has spent it
    in a credential request the issuer accepted, the issuer must have moved on: a value
    that comes back after it was spent was known before it was asked for."""
    _needs_nonce(ctx)
    attempt = _prepare(ctx)
    assert attempt.nonce is not None  # _needs_nonce: the issuer has a nonce endpoint
    proof = attempt.honest_proof(ctx)
    spent = _send_proofs(ctx, attempt, [proof])
    if spent.status_code not in (200, 202):
        raise CheckSkipped(f"the honest credential request failed (HTTP {spent.status_code})")
    later = [fresh_nonce(ctx, attempt.endpoints) for _ in range(2)]
    ctx.record(
        spent_nonce_length=len(attempt.nonce),
        handed_out_again=[n == attempt.nonce for n in later],
    )
    expect(
        attempt.nonce not in later,
        "the nonce endpoint handed out again a c_nonce already spent in an accepted "
        "credential request: its next challenge is known in advance",
    )


@check(
    "ISS-NONCE-04",
    "An issuer that requires a c_nonce in key proofs offers a nonce endpoint",
    plan=PLAN,
    requirement=_vci(
        "§7",
        "nonce-endpoint",
        "A Credential Issuer that requires `c_nonce` values to be incorporated into proofs "
        "in the Credential Request (see Section 8) MUST offer a Nonce Endpoint.",
    ),
    catches=("issuer:hidden_nonce_endpoint",),
)
def _nonce_endpoint_when_required(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    if endpoints.nonce_endpoint is not None:
        ctx.record(nonce_endpoint=endpoints.nonce_endpoint)
        return
    attempt = _prepare(ctx)
    proof = key_proof(
        new_holder_key(), audience=endpoints.credential_issuer, nonce=None, now=ctx.now()
    )
    response = _send_proofs(ctx, attempt, [proof])
    error = _error_of(response)
    ctx.record(http_status=response.status_code, error=error)
    expect(
        not (400 <= response.status_code < 500 and error in ("invalid_nonce", "invalid_proof")),
        f"no nonce_endpoint in the metadata, yet a key proof without a c_nonce was refused "
        f"with {error!r}: a wallet has no way to get the nonce this issuer requires",
    )


# --- credential endpoint --------------------------------------------------------------------


@check(
    "ISS-CRED-01",
    "Each listed configuration is issued to an honest wallet",
    plan=PLAN,
    oidf=("oid4vci-1_0-issuer-happy-flow", "oid4vci-1_0-issuer-happy-flow-skip-notification"),
    catches=("issuer:hidden_nonce_endpoint",),
    requirement=_vci(
        "§8.3",
        "credential-response",
        "If the Credential Issuer is able to immediately issue the requested Credentials, it "
        "MUST respond with the HTTP status code 200 (see Section 15.3.3 of [RFC9110]).",
    ),
)
def _cred_happy(ctx: CheckContext) -> None:
    failures: list[str] = []
    for cid, persona in _configurations(ctx):
        try:
            obtain_shared(ctx, ctx.target.name, cid, persona, prerequisite=False)
        except CheckFailed as exc:
            failures.append(f"{cid}: {exc.message}")
    expect(not failures, "; ".join(failures))


@check(
    "ISS-CRED-02",
    "Credential responses are not cacheable",
    plan=PLAN,
    requirement=_rfc(
        6749,
        "5.1",
        'The authorization server MUST include the HTTP "Cache-Control" response header '
        'field [RFC2616] with a value of "no-store" in any response containing tokens, '
        "credentials, or other sensitive information",
    ),
    catches=("issuer:no_store_missing",),
)
def _cred_no_store(ctx: CheckContext) -> None:
    attempt = _prepare(ctx)
    proof = attempt.honest_proof(ctx)
    response = _send_proofs(ctx, attempt, [proof])
    if response.status_code not in (200, 202):
        raise CheckSkipped(f"no credential response to judge (HTTP {response.status_code})")
    expect(
        _has_no_store(response),
        f"Cache-Control is {response.headers.get('cache-control')!r}, not no-store",
    )


def _reject_proof(
    ctx: CheckContext,
    error: str,
    *,
    nonce: Callable[[str | None], str | None] = lambda n: n,
    audience: str | None = None,
    typ: str = PROOF_JWT_TYP,
    signer_key: ec.EllipticCurvePrivateKey | None = None,
) -> None:
    """One key proof with one thing wrong must be refused with ``error``."""
    attempt = _prepare(ctx)
    key = new_holder_key()
    proof = key_proof(
        key,
        audience=audience or attempt.endpoints.credential_issuer,
        nonce=nonce(attempt.nonce),
        now=ctx.now(),
        typ=typ,
        signer_key=signer_key,
    )
    expect_oauth_error(_send_proofs(ctx, attempt, [proof]), 400, error)


def _needs_nonce(ctx: CheckContext) -> None:
    if _endpoints(ctx).nonce_endpoint is None:
        raise CheckSkipped("the issuer has no nonce endpoint, so proofs carry no c_nonce")


@check(
    "ISS-CRED-03",
    "A key proof with a c_nonce the issuer never gave is refused with invalid_nonce",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-invalid-nonce",
    requirement=_vci(
        "Appendix F.4",
        "verifying-key-proof",
        "To validate a key proof, the Credential Issuer MUST ensure that: [...] if the server "
        "has a Nonce Endpoint, the nonce in the key proof matches the server-provided "
        "`c_nonce` value,",
    ),
    catches=("issuer:accept_any_nonce",),
)
def _cred_wrong_nonce(ctx: CheckContext) -> None:
    _needs_nonce(ctx)
    _reject_proof(ctx, "invalid_nonce", nonce=lambda _: secrets.token_urlsafe(32))


@check(
    "ISS-CRED-04",
    "A spent c_nonce is not accepted again",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    requirement=_vci(
        "§13.8",
        "key-proof-replay",
        "The `c_nonce` parameter serves as the main defense against this, by providing "
        "Credential Issuers with a mechanism to determine freshness of a generated proof and "
        "thus reject a proof when required.",
    ),
)
def _cred_replayed_nonce(ctx: CheckContext) -> None:
    _needs_nonce(ctx)
    first = _prepare(ctx)
    now = ctx.now()
    aud = first.endpoints.credential_issuer
    honest = _send_proofs(
        ctx, first, [key_proof(new_holder_key(), audience=aud, nonce=first.nonce, now=now)]
    )
    if honest.status_code not in (200, 202):
        raise CheckSkipped(f"the honest request failed (HTTP {honest.status_code})")
    second = _prepare(ctx, nonce=False)
    replay = _send_proofs(
        ctx, second, [key_proof(new_holder_key(), audience=aud, nonce=first.nonce, now=now)]
    )
    if replay.status_code in (200, 202):
        # §13.8 lets the issuer decide how long a nonce lives; single use is the safe choice.
        raise CheckWarning("a c_nonce already used for a credential was accepted again")
    expect_oauth_error(replay, 400, "invalid_nonce")


@check(
    "ISS-CRED-05",
    "A key proof without a c_nonce is refused with invalid_proof",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-invalid-nonce",
    requirement=_vci(
        "Appendix F.1",
        "jwt-proof-type",
        "`nonce`: OPTIONAL (string). The value type of this claim MUST be a string, where the "
        "value is a server-provided `c_nonce`. It MUST be present when the issuer has a Nonce "
        "Endpoint as defined in Section 7.",
    ),
    catches=("issuer:accept_any_nonce",),
)
def _cred_no_nonce(ctx: CheckContext) -> None:
    _needs_nonce(ctx)
    _reject_proof(ctx, "invalid_proof", nonce=lambda _: None)


@check(
    "ISS-CRED-06",
    "A key proof for another audience is refused with invalid_proof",
    plan=PLAN,
    requirement=_vci(
        "Appendix F.1",
        "jwt-proof-type",
        "`aud`: REQUIRED (string). The value of this claim MUST be the Credential Issuer "
        "Identifier.",
    ),
    catches=("issuer:ignore_proof_aud",),
)
def _cred_wrong_aud(ctx: CheckContext) -> None:
    _reject_proof(ctx, "invalid_proof", audience="https://another-issuer.example")


@check(
    "ISS-CRED-07",
    "A key proof not signed by the key in its header is refused with invalid_proof",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-invalid-jwt-proof-signature",
    requirement=_vci(
        "Appendix F.1",
        "jwt-proof-type",
        "The Credential Issuer MUST validate that the JWT used as a proof is actually signed "
        "by a key identified in the JOSE Header through either `kid`, `jwk` or `x5c` element.",
    ),
)
def _cred_bad_signature(ctx: CheckContext) -> None:
    _reject_proof(ctx, "invalid_proof", signer_key=new_holder_key())


@check(
    "ISS-CRED-08",
    "A key proof of another type is refused with invalid_proof",
    plan=PLAN,
    requirement=_vci(
        "Appendix F.1",
        "jwt-proof-type",
        "`typ`: REQUIRED. MUST be `openid4vci-proof+jwt`, which explicitly types the key proof "
        "JWT as recommended in Section 3.11 of [RFC8725].",
    ),
)
def _cred_wrong_typ(ctx: CheckContext) -> None:
    _reject_proof(ctx, "invalid_proof", typ="JWT")


@check(
    "ISS-CRED-09",
    "A credential request without an access token is refused with 401",
    plan=PLAN,
    requirement=_rfc(
        6750,
        "3",
        "If the protected resource request does not include authentication credentials or "
        "does not contain an access token that enables access to the protected resource, the "
        'resource server MUST include the HTTP "WWW-Authenticate" response header field; it '
        "MAY include it in response to other conditions as well.",
    ),
)
def _cred_no_token(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    cid, _ = _first(ctx)
    response = credential_request(ctx, endpoints, None, {"credential_configuration_id": cid})
    expect(response.status_code == 401, f"expected HTTP 401, got {response.status_code}")
    challenge = response.headers.get("www-authenticate", "")
    expect(
        challenge.split(" ", 1)[0].lower() in ("bearer", "dpop"),
        f"WWW-Authenticate {challenge!r} names no Bearer or DPoP challenge",
    )


@check(
    "ISS-CRED-10",
    "A credential request with an unknown access token is refused with invalid_token",
    plan=PLAN,
    requirement=_rfc(
        6750,
        "3.1",
        "invalid_token: The access token provided is expired, revoked, malformed, or invalid "
        "for other reasons. The resource SHOULD respond with the HTTP 401 (Unauthorized) "
        "status code.",
    ),
)
def _cred_bad_token(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    cid, _ = _first(ctx)
    response = credential_request(
        ctx, endpoints, secrets.token_urlsafe(32), {"credential_configuration_id": cid}
    )
    expect(response.status_code == 401, f"expected HTTP 401, got {response.status_code}")
    challenge = response.headers.get("www-authenticate", "")
    expect(
        'error="invalid_token"' in challenge or _error_of(response) == "invalid_token",
        f"no invalid_token error (WWW-Authenticate {challenge!r}, "
        f"body error {_error_of(response)!r})",
    )


@check(
    "ISS-CRED-11",
    "An unknown credential configuration is refused with unknown_credential_configuration",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-unknown-credential-configuration",
    requirement=_vci(
        "§8.3.1.2",
        "credential-request-errors",
        "If the Wallet is requesting the issuance of a Credential that is not supported by the "
        "Credential Endpoint, the HTTP response MUST use the HTTP status code 400 (Bad "
        "Request) and set the content type to `application/json` with the following "
        "parameters in the JSON-encoded response body:",
    ),
)
def _cred_unknown_configuration(ctx: CheckContext) -> None:
    attempt = _prepare(ctx)
    response = _send_body(
        ctx,
        attempt,
        {"credential_configuration_id": f"no-such-configuration-{secrets.token_hex(4)}"},
        attempt.honest_proof(ctx),
    )
    expect_oauth_error(response, 400, "unknown_credential_configuration")


@check(
    "ISS-CRED-14",
    "An access token in the URL query is not accepted",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("issuer:bearer_in_query",),
    oidf="oid4vci-1_0-issuer-fail-on-access-token-in-query",
    requirement=_rfc(
        6750,
        "§2.3",
        "Because of the security weaknesses associated with the URI method (see Section 5), "
        "including the high likelihood that the URL containing the access token will be "
        "logged, it SHOULD NOT be used unless it is impossible to transport the access token "
        'in the "Authorization" request header field or the HTTP request entity-body.',
    ),
)
def _cred_token_in_query(ctx: CheckContext) -> None:
    attempt = _prepare(ctx)
    proof = attempt.honest_proof(ctx)
    response = ctx.http.post(
        attempt.endpoints.credential_endpoint,
        params={"access_token": attempt.token},
        json={"credential_configuration_id": attempt.configuration, "proofs": {"jwt": [proof]}},
    )
    ctx.record(http_status=response.status_code)
    if response.status_code in (200, 202):
        # RFC 6750 words it as a SHOULD NOT for the client; FAPI 2.0 makes it a MUST
        # for the server, which OpenID4VCI alone does not.
        raise CheckWarning("a credential was issued on an access token sent in the URL query")
    expect_rejected(response, "access token in the query")


@check(
    "ISS-CRED-15",
    "An unknown credential_identifier is refused with unknown_credential_identifier",
    plan=PLAN,
    catches=("issuer:ignore_credential_identifier",),
    oidf="oid4vci-1_0-issuer-fail-unknown-credential-identifier",
    requirement=_vci(
        "§8.3.1.2",
        "credential-request-errors",
        "If the Wallet is requesting the issuance of a Credential that is not supported by the "
        "Credential Endpoint, the HTTP response MUST use the HTTP status code 400 (Bad "
        "Request) and set the content type to `application/json` with the following "
        "parameters in the JSON-encoded response body: … `unknown_credential_identifier`: "
        "Requested Credential identifier is unknown.",
    ),
)
def _cred_unknown_identifier(ctx: CheckContext) -> None:
    attempt = _prepare(ctx)
    proof = attempt.honest_proof(ctx)
    response = _send_body(
        ctx,
        attempt,
        {"credential_identifier": f"no-such-identifier-{secrets.token_hex(4)}"},
        proof,
    )
    error = _error_of(response)
    ctx.record(http_status=response.status_code, error=error)
    # §8.2 lets credential_identifier be used only after a token response named some;
    # a request naming one nobody issued is malformed too, so both codes are right.
    expect(
        response.status_code == 400
        and error in ("unknown_credential_identifier", "invalid_credential_request"),
        f"expected HTTP 400 with unknown_credential_identifier, got HTTP "
        f"{response.status_code} with {error!r}",
    )


@check(
    "ISS-CRED-16",
    "A second credential request on the same token, with unknown parameters, is answered",
    plan=PLAN,
    catches=("issuer:refuse_unknown_parameters",),
    oidf="oid4vci-1_0-issuer-happy-flow-additional-requests",
    requirement=_vci(
        "§8.2",
        "credential-request",
        "Additional Credential Request parameters MAY be defined and used. The Credential "
        "Issuer MUST ignore any unrecognized parameters.",
    ),
)
def _cred_additional_request(ctx: CheckContext) -> None:
    attempt = _prepare(ctx)
    first = _send_proofs(ctx, attempt, [attempt.honest_proof(ctx)])
    if first.status_code not in (200, 202):
        raise CheckSkipped(f"the honest credential request failed (HTTP {first.status_code})")
    nonce = fresh_nonce(ctx, attempt.endpoints)
    proof = key_proof(
        new_holder_key(), audience=attempt.endpoints.credential_issuer, nonce=nonce, now=ctx.now()
    )
    second = _send_body(
        ctx,
        attempt,
        {
            "credential_configuration_id": attempt.configuration,
            "passerelle_conformance_unknown": secrets.token_urlsafe(8),
        },
        proof,
    )
    ctx.record(http_status=second.status_code)
    expect(
        second.status_code in (200, 202),
        f"a second request with an unrecognised parameter was answered HTTP "
        f"{second.status_code} ({second.text[:200]!r})",
    )


@check(
    "ISS-CRED-12",
    "A request without proofs for a key-bound configuration is refused with invalid_proof",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-fail-missing-proof",
    requirement=_vci(
        "§8.2",
        "credential-request",
        "The `proofs` parameter MUST be present if the `proof_types_supported` parameter is "
        "present in the `credential_configurations_supported` parameter of the Issuer "
        "metadata for the requested Credential.",
    ),
)
def _cred_no_proofs(ctx: CheckContext) -> None:
    attempt = _prepare(ctx, nonce=False)
    if attempt.endpoints.configuration(attempt.configuration).get("proof_types_supported") is None:
        raise CheckSkipped(f"{attempt.configuration} is not key-bound")
    response = credential_request(
        ctx,
        attempt.endpoints,
        attempt.token,
        {"credential_configuration_id": attempt.configuration},
    )
    expect_oauth_error(response, 400, "invalid_proof")


def _cnf_thumbprint(credential: str) -> str | None:
    cnf = read_unverified_sd_jwt_vc(credential).payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        return None
    try:
        return jwk_thumbprint(jwk)
    except PasserelleError:
        return None


@check(
    "ISS-CRED-13",
    "A batch of key proofs yields one credential per key, each bound to its own key",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-batch-issuance",
    requirement=_vci(
        "§8.3",
        "credential-response",
        "`credentials`: OPTIONAL. Contains an array of one or more issued Credentials. It "
        "MUST NOT be used if the `transaction_id` parameter is present. The elements of the "
        "array MUST be objects. The number of elements in the `credentials` array matches "
        "the number of keys that the Wallet has provided via the `proofs` parameter of the "
        "Credential Request, unless the Issuer decides to issue fewer Credentials. Each key "
        "provided by the Wallet is used to bind to, at most, one Credential.",
    ),
    catches=("issuer:omit_cnf", "issuer:hidden_nonce_endpoint"),
)
def _cred_batch(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    batch = endpoints.metadata.get("batch_credential_issuance")
    size = batch.get("batch_size") if isinstance(batch, dict) else None
    if not isinstance(size, int) or size < 2:
        raise CheckSkipped("the issuer does not advertise batch_credential_issuance")
    attempt = _prepare(ctx, SD_JWT)
    keys = [new_holder_key() for _ in range(min(size, 3))]
    now = ctx.now()
    proofs = [
        key_proof(k, audience=endpoints.credential_issuer, nonce=attempt.nonce, now=now)
        for k in keys
    ]
    response = _send_proofs(ctx, attempt, proofs)
    expect(
        response.status_code == 200,
        f"{len(proofs)} proofs (batch_size {size}) answered HTTP {response.status_code} "
        f"(error {_error_of(response)!r})",
    )
    items = ctx.json_object(response, "credential response").get("credentials")
    expect(isinstance(items, list) and items, "the response has no credentials")
    assert isinstance(items, list)
    credentials = [i.get("credential") if isinstance(i, dict) else None for i in items]
    expect(all(isinstance(c, str) for c in credentials), "a credentials entry is not a string")
    expect(len(credentials) <= len(keys), f"{len(credentials)} credentials for {len(keys)} keys")
    bound = [_cnf_thumbprint(str(c)) for c in credentials]
    expect(None not in bound, "a credential of the batch carries no cnf.jwk", bound=bound)
    expect(len(set(bound)) == len(bound), "two credentials of the batch share one key")
    wanted = {jwk_thumbprint(k.public_key()) for k in keys}
    expect(set(bound) <= wanted, "a credential is bound to a key the wallet did not prove")
    if len(credentials) < len(keys):
        # Allowed ("unless the Issuer decides to issue fewer"), but worth telling.
        raise CheckWarning(f"{len(keys)} keys proved, {len(credentials)} credentials issued")


# --- SD-JWT VC content ----------------------------------------------------------------------


@check(
    "ISS-SDJWT-01",
    "Issued SD-JWT VCs are typed dc+sd-jwt",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§2.2.1",
        "name-jose-header",
        "The Issuer MUST include the `typ` header parameter in the SD-JWT. The `typ` value "
        "MUST use `dc+sd-jwt`.",
    ),
)
def _sdjwt_typ(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        typ = read_unverified_sd_jwt_vc(issued.credential).header.get("typ")
        expect(typ == SD_JWT_VC_TYP, f"typ {typ!r} is not {SD_JWT_VC_TYP}")

    _each(ctx, SD_JWT, judge, what="typ")


def _issuer_key(ctx: CheckContext, credential: str) -> ResolvedIssuerKey:
    read = read_unverified_sd_jwt_vc(credential)
    return discover_issuer_key(ctx, ctx.target, read.header, read.payload)


@check(
    "ISS-SDJWT-02",
    "The SD-JWT VC signature verifies with the key the issuer publishes",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§2.5",
        "key-stuff",
        "If a recipient cannot validate that the public verification key corresponds to the "
        "Issuer of the Issuer-signed JWT using a permitted key discovery and validation "
        "mechanism, the SD-JWT VC MUST be rejected.",
    ),
    catches=("issuer:sign_with_unlisted_key",),
)
def _sdjwt_signature(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        read = read_unverified_sd_jwt_vc(issued.credential)
        resolved = discover_issuer_key(ctx, ctx.target, read.header, read.payload)
        assert read.sd_jwt is not None
        try:
            verify_jws(read.sd_jwt.issuer_jwt, key=resolved.key, algorithms=SIGNING_ALGORITHMS)
        except PasserelleError as exc:
            raise CheckFailed(
                f"signature does not verify with the {resolved.method} key: {exc.detail}"
            ) from exc

    _each(ctx, SD_JWT, judge, what="signature")


@check(
    "ISS-SDJWT-03",
    "The credential's vct is the configuration's vct",
    plan=PLAN,
    requirement=_vci(
        "Appendix A.3.2",
        "server-metadata-sd-jwt-vc",
        "`vct`: REQUIRED. String designating the type of the Credential, as defined in "
        "[I-D.ietf-oauth-sd-jwt-vc].",
    ),
    catches=("issuer:wrong_vct",),
)
def _sdjwt_vct(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)

    def judge(cid: str, issued: Issued) -> None:
        expected = endpoints.configuration(cid).get("vct")
        got = read_unverified_sd_jwt_vc(issued.credential).payload.get("vct")
        expect(got == expected, f"vct {got!r} is not the configuration's {expected!r}")

    _each(ctx, SD_JWT, judge, what="vct")


@check(
    "ISS-SDJWT-04",
    "The credential is bound to the key the wallet proved (cnf.jwk)",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§2.2.2.3",
        "claims",
        "`cnf`: OPTIONAL unless cryptographic Key Binding is to be supported, in which case it "
        "is REQUIRED.",
    ),
    catches=("issuer:omit_cnf",),
)
def _sdjwt_cnf(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)

    def judge(cid: str, issued: Issued) -> None:
        if endpoints.configuration(cid).get("cryptographic_binding_methods_supported") is None:
            raise CheckSkipped(f"{cid} is not key-bound")
        got = _cnf_thumbprint(issued.credential)
        expect(got is not None, "no cnf.jwk in a key-bound credential")
        expect(
            got == jwk_thumbprint(issued.holder_key.public_key()),
            "cnf.jwk is not the key of the wallet's proof",
        )

    _each(ctx, SD_JWT, judge, what="cnf")


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@check(
    "ISS-SDJWT-05",
    "iss names the issuer; iat, nbf and exp are NumericDates that make sense",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§4",
        "jwt-vc-issuer-metadata",
        "The `iss` MUST be a case-sensitive URL using the HTTPS scheme that contains scheme, "
        "host and, optionally, port number and path components as defined in [RFC3986], but "
        "no query or fragment components.",
    ),
)
def _sdjwt_registered(ctx: CheckContext) -> None:
    now = ctx.now().timestamp()

    def judge(cid: str, issued: Issued) -> None:
        read = read_unverified_sd_jwt_vc(issued.credential)
        claims = read.claims
        iss = read.payload.get("iss")
        if read.header.get("x5c") is None:
            # Nothing else names the issuer: iss has to, and it is this issuer.
            expect(iss == ctx.target.url, f"iss {iss!r} is not the issuer {ctx.target.url!r}")
        elif iss is not None:
            expect(isinstance(iss, str) and iss, f"iss {iss!r} is not a string")
        for name in ("iat", "nbf", "exp"):
            if name in claims:
                expect(_numeric(claims[name]), f"{name} {claims[name]!r} is not a NumericDate")
        if "iat" in claims:
            expect(claims["iat"] <= now + SKEW.total_seconds(), "iat is in the future")
        if "exp" in claims:
            expect(claims["exp"] > now, "the credential is already expired")
            if "iat" in claims:
                expect(claims["exp"] > claims["iat"], "exp is not after iat")

    _each(ctx, SD_JWT, judge, what="registered claims")


def _status_reference(issued: Issued) -> tuple[str, int] | None:
    status = read_unverified_sd_jwt_vc(issued.credential).payload.get("status")
    if status is None:
        return None
    entry = status.get("status_list") if isinstance(status, dict) else None
    idx = entry.get("idx") if isinstance(entry, dict) else None
    uri = entry.get("uri") if isinstance(entry, dict) else None
    if (
        not isinstance(idx, int)
        or isinstance(idx, bool)
        or idx < 0
        or not isinstance(uri, str)
        or not uri
    ):
        raise CheckFailed(f"status {status!r} is not {{status_list: {{idx: int >= 0, uri}}}}")
    return uri, idx


@check(
    "ISS-SDJWT-06",
    "The credential references its entry in a status list",
    plan=PLAN,
    requirement=_status_list(
        "§6.2",
        "referenced-token-jose",
        "`status`: REQUIRED. The `status` (status) claim MUST specify a JSON Object that "
        "contains at least one reference to a status mechanism.",
    ),
)
def _sdjwt_status(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        if _status_reference(issued) is None:
            # SD-JWT VC makes status optional; without it nothing can be revoked.
            raise CheckWarning("no status claim: the credential cannot be revoked")

    _each(ctx, SD_JWT, judge, what="status")


@check(
    "ISS-SDJWT-07",
    "Claims that must not be selectively disclosed are not",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§2.2.2.3",
        "claims",
        "The following registered JWT claims, including any of their sub-claims, when used in "
        "the SD-JWT component of an SD-JWT VC, MUST NOT be included in Disclosures and "
        "therefore MUST NOT be selectively disclosed:",
    ),
)
def _sdjwt_never_disclosed(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        read = read_unverified_sd_jwt_vc(issued.credential)
        disclosed = sorted(
            {str(r.path[0]) for r in read.revealed if r.path and r.path[0] in NEVER_DISCLOSABLE}
        )
        expect(not disclosed, f"selectively disclosed: {disclosed}")

    _each(ctx, SD_JWT, judge, what="never-disclosable claims")


# --- status ---------------------------------------------------------------------------------


def _status_list_token(ctx: CheckContext, uri: str) -> tuple[httpx.Response, str]:
    key = f"issuer:status-list:{uri}"
    cached = ctx.shared_state.get(key)
    if isinstance(cached, tuple):
        return cached
    response = ctx.http.get(uri, headers={"Accept": "application/statuslist+jwt"})
    if not 200 <= response.status_code < 300:
        raise CheckFailed(f"GET {uri} answered HTTP {response.status_code}")
    pair = (response, response.text.strip())
    ctx.shared_state[key] = pair
    return pair


def _verified_status_list(
    ctx: CheckContext, issued: Issued
) -> tuple[VerifiedStatusList, dict[str, Any]]:
    reference = _status_reference(issued)
    if reference is None:
        raise CheckSkipped("the credential has no status claim")
    uri, _ = reference
    _, token = _status_list_token(ctx, uri)
    issuer_key = _issuer_key(ctx, issued.credential)
    try:
        verified = verify_status_list_token(
            token,
            expected_uri=uri,
            key=issuer_key.key,
            algorithms=SIGNING_ALGORITHMS,
            now=ctx.now(),
            skew=SKEW,
        )
    except PasserelleError as exc:
        raise CheckFailed(
            f"the status list token at {uri} does not verify with the credential's issuer key: "
            f"{exc.detail}",
            reason=str(exc.reason),
        ) from exc
    status = read_unverified_sd_jwt_vc(issued.credential).payload["status"]
    return verified, status


@check(
    "ISS-STATUS-01",
    "The status list is served as a statuslist+jwt for its own URI",
    plan=PLAN,
    requirement=_status_list(
        "§5.1",
        "status-list-token-jwt",
        "`typ`: REQUIRED. The JWT type MUST be `statuslist+jwt`.",
    ),
)
def _status_token_shape(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        reference = _status_reference(issued)
        if reference is None:
            raise CheckSkipped("no status claim")
        uri, _ = reference
        response, token = _status_list_token(ctx, uri)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        expect(
            media == "application/statuslist+jwt",
            f"Content-Type {media!r} is not application/statuslist+jwt",
        )
        read = read_unverified_jwt(token)
        expect(
            read.header.get("typ") == STATUS_LIST_JWT_TYP,
            f"typ {read.header.get('typ')!r} is not {STATUS_LIST_JWT_TYP}",
        )
        expect(read.payload.get("sub") == uri, f"sub {read.payload.get('sub')!r} is not {uri!r}")

    _each(ctx, SD_JWT, judge, what="status list token")


@check(
    "ISS-STATUS-02",
    "The status list is signed by the key that signs the credential",
    plan=PLAN,
    requirement=_status_list(
        "§5.1",
        "status-list-token-jwt",
        "The JWT MUST be secured using a cryptographic signature or MAC algorithm. Relying "
        "Parties MUST reject JWTs with an invalid signature.",
    ),
)
def _status_signature(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        _verified_status_list(ctx, issued)

    _each(ctx, SD_JWT, judge, what="status list signature")


@check(
    "ISS-STATUS-03",
    "A freshly issued credential's entry is in the list and VALID",
    plan=PLAN,
    requirement=_status_list(
        "§8.3",
        "name-validation-rules",
        "If the provided index is out of bounds of the Status List, no statement about the "
        "status of the Referenced Token can be made and the Referenced Token MUST be rejected.",
    ),
)
def _status_valid(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        verified, status = _verified_status_list(ctx, issued)
        try:
            value = check_status(status, verified)
        except PasserelleError as exc:
            raise CheckFailed(f"status of a fresh credential: {exc.detail}") from exc
        expect(value is StatusValue.VALID, f"a fresh credential has status {value!r}")

    _each(ctx, SD_JWT, judge, what="status value")


@check(
    "ISS-STATUS-04",
    "Two credentials never share a status list entry",
    plan=PLAN,
    requirement=_status_list(
        "§13.3",
        "name-default-values-and-double-allo",
        "The Status Issuer MUST prevent any unintended double allocation.",
    ),
    catches=("issuer:reuse_status_index",),
)
def _status_unique(ctx: CheckContext) -> None:
    cid, persona = _first(ctx, SD_JWT)
    first = _issued(ctx, cid, persona)
    try:
        second = obtain_credential(ctx, ctx.target, cid, persona)
    except CheckFailed as exc:
        raise CheckSkipped(f"a second issuance failed: {exc.message}") from exc
    a, b = _status_reference(first), _status_reference(second)
    if a is None or b is None:
        raise CheckSkipped("the credentials carry no status claim")
    expect(a != b, f"two credentials share status list entry {a[1]} of {a[0]}")


# --- deferred -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Deferred:
    token: str
    transaction_id: str
    issued: Issued


def _deferred_configuration(ctx: CheckContext) -> tuple[str, str]:
    entry = ctx.target.get("deferred_configuration")
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("persona"):
        raise CheckSkipped(
            f"the targets file names no deferred_configuration for {ctx.target.name}"
        )
    return str(entry["id"]), str(entry["persona"])


def _run_deferred(ctx: CheckContext) -> _Deferred:
    endpoints = _endpoints(ctx)
    cid, persona = _deferred_configuration(ctx)
    offer = request_offer(ctx, ctx.target, cid, persona)
    token = access_token(ctx, endpoints, offer)
    key = new_holder_key()
    proof = key_proof(
        key,
        audience=endpoints.credential_issuer,
        nonce=fresh_nonce(ctx, endpoints),
        now=ctx.now(),
    )
    response = credential_request(
        ctx, endpoints, token, {"credential_configuration_id": cid, "proofs": {"jwt": [proof]}}
    )
    expect(
        response.status_code == 202,
        f"expected HTTP 202 for the deferred configuration {cid}, got {response.status_code}",
    )
    body = ctx.json_object(response, "deferred credential response")
    transaction_id = body.get("transaction_id")
    expect(isinstance(transaction_id, str) and transaction_id, "HTTP 202 without transaction_id")
    interval = body.get("interval")
    expect(
        isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0,
        f"interval {interval!r} is not a positive number",
    )
    expect("credentials" not in body, "credentials must not be used with transaction_id")
    final = await_deferred(ctx, endpoints, token, body)
    credentials = final.get("credentials")
    expect(isinstance(credentials, list) and len(credentials) == 1, "no single credential issued")
    assert isinstance(credentials, list)
    value = credentials[0].get("credential") if isinstance(credentials[0], dict) else None
    expect(isinstance(value, str) and value, "the deferred credential is not a string")
    notification_id = final.get("notification_id")
    issued = Issued(
        credentials=(str(value),),
        format=str(endpoints.configuration(cid).get("format")),
        holder_keys=(key,),
        configuration=cid,
        issuer=ctx.target.name,
        notification_id=notification_id if isinstance(notification_id, str) else None,
        access_token=token,
    )
    remember_shared(ctx, issued, persona)
    return _Deferred(token=token, transaction_id=str(transaction_id), issued=issued)


def _deferred(ctx: CheckContext, *, prerequisite: bool = True) -> _Deferred:
    return ctx.shared(
        f"issuer:deferred:{ctx.target.name}", lambda: _run_deferred(ctx), prerequisite=prerequisite
    )


@check(
    "ISS-DEFER-01",
    "Deferred issuance: 202 with a transaction_id, then the credential",
    plan=PLAN,
    catches=("issuer:hidden_nonce_endpoint",),
    requirement=_vci(
        "§8.3",
        "credential-response",
        "If the Credential Issuer is not able to immediately issue the requested credentials "
        "(e.g., due to a manual review process being required or the data used to issue the "
        "credential is not ready yet), the Credential Issuer MUST return a response with a "
        "`transaction_id` parameter. In this case, the Credential Issuer MUST also use the "
        "HTTP status code 202 for the response.",
    ),
)
def _defer_happy(ctx: CheckContext) -> None:
    _deferred_configuration(ctx)
    _deferred(ctx, prerequisite=False)


@check(
    "ISS-DEFER-02",
    "An unknown transaction_id is refused with invalid_transaction_id",
    plan=PLAN,
    requirement=_vci(
        "§8.3.1.2",
        "credential-request-errors",
        "For errors related to the Credential Request's payload, such as issues with `type`, "
        "`format`, `proofs`, encryption parameters, or if the request is denied, the specific "
        "error codes from this section MUST be used instead of the generic `invalid_request` "
        "parameter defined in Section 3.1 of [RFC6750].",
    ),
)
def _defer_unknown(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)
    if endpoints.deferred_credential_endpoint is None:
        raise CheckSkipped("the issuer has no deferred_credential_endpoint")
    attempt = _prepare(ctx, nonce=False)
    response = ctx.http.post(
        endpoints.deferred_credential_endpoint,
        json={"transaction_id": secrets.token_urlsafe(24)},
        headers=bearer(attempt.token),
    )
    expect_oauth_error(response, 400, "invalid_transaction_id")


@check(
    "ISS-DEFER-03",
    "A redeemed transaction_id cannot be redeemed again",
    plan=PLAN,
    requirement=_vci(
        "§9.1",
        "deferred-credential-request",
        "The Credential Issuer MUST invalidate the `transaction_id` after the Credential for "
        "which it was meant has been obtained by the Wallet.",
    ),
)
def _defer_reuse(ctx: CheckContext) -> None:
    _deferred_configuration(ctx)
    done = _deferred(ctx)
    endpoints = _endpoints(ctx)
    assert endpoints.deferred_credential_endpoint is not None
    response = ctx.http.post(
        endpoints.deferred_credential_endpoint,
        json={"transaction_id": done.transaction_id},
        headers=bearer(done.token),
    )
    expect_oauth_error(response, 400, "invalid_transaction_id")


# --- notification ---------------------------------------------------------------------------


def _notification_endpoint(ctx: CheckContext) -> str:
    endpoint = _endpoints(ctx).notification_endpoint
    if endpoint is None:
        raise CheckSkipped("the issuer has no notification_endpoint")
    return endpoint


@check(
    "ISS-NOTIF-01",
    "A notification about an issued credential is acknowledged",
    plan=PLAN,
    oidf="oid4vci-1_0-issuer-happy-flow",
    requirement=_vci(
        "§11.2",
        "section-11.2",
        "When the Credential Issuer has successfully received the Notification Request from "
        "the Wallet, it MUST respond with an HTTP status code in the 2xx range.",
    ),
)
def _notif_happy(ctx: CheckContext) -> None:
    endpoint = _notification_endpoint(ctx)
    cid, persona = _first(ctx)
    issued = _issued(ctx, cid, persona)
    if issued.notification_id is None:
        raise CheckSkipped("the credential response carried no notification_id")
    response = ctx.http.post(
        endpoint,
        json={"notification_id": issued.notification_id, "event": "credential_accepted"},
        headers=bearer(issued.access_token),
    )
    expect(
        200 <= response.status_code < 300,
        f"expected a 2xx, got HTTP {response.status_code} (error {_error_of(response)!r})",
    )


@check(
    "ISS-NOTIF-02",
    "A notification with an unknown notification_id is refused with invalid_notification_id",
    plan=PLAN,
    requirement=_vci(
        "§11.3",
        "section-11.3",
        "When the `notification_id` value is invalid, the HTTP response MUST use the HTTP "
        "status code 400 (Bad Request) and set the content type to `application/json` with "
        "the following parameters in the JSON-encoded response body:",
    ),
)
def _notif_unknown(ctx: CheckContext) -> None:
    endpoint = _notification_endpoint(ctx)
    attempt = _prepare(ctx, nonce=False)
    response = ctx.http.post(
        endpoint,
        json={"notification_id": secrets.token_urlsafe(12), "event": "credential_accepted"},
        headers=bearer(attempt.token),
    )
    expect_oauth_error(response, 400, "invalid_notification_id")


# --- W3C jwt_vc_json ------------------------------------------------------------------------


@check(
    "ISS-W3C-01",
    "jwt_vc_json credentials are JWTs signed with the key the issuer publishes",
    plan=PLAN,
    requirement=_vci(
        "Appendix A.1.1.4",
        "credential-response-jwt-vc-json",
        "The value of the `credential` claim in the Credential Response MUST be a JWT.",
    ),
    catches=("issuer:sign_with_unlisted_key",),
)
def _w3c_signature(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        read = read_unverified_jwt(issued.credential)
        resolved = discover_issuer_key(ctx, ctx.target, read.header, read.payload)
        try:
            verify_jwt_vc_json(
                issued.credential,
                issuer_key=resolved.key,
                algorithms=SIGNING_ALGORITHMS,
                now=ctx.now(),
                skew=SKEW,
            )
        except PasserelleError as exc:
            raise CheckFailed(f"jwt_vc_json does not verify: {exc.detail}") from exc

    _each(ctx, "jwt_vc_json", judge, what="jwt_vc_json signature")


def _vc_of(credential: str) -> Mapping[str, Any]:
    vc = read_unverified_jwt(credential).payload.get("vc")
    if not isinstance(vc, dict):
        raise CheckFailed("the JWT has no vc claim")
    return vc


@check(
    "ISS-W3C-02",
    "jwt_vc_json: vc.type covers the configuration's types and credentialSubject is there",
    plan=PLAN,
    requirement=Requirement(
        spec="W3C VC Data Model 1.1",
        section="§4.3",
        text="Verifiable credentials and verifiable presentations MUST have a type property.",
        link="https://www.w3.org/TR/vc-data-model/#types",
    ),
)
def _w3c_content(ctx: CheckContext) -> None:
    endpoints = _endpoints(ctx)

    def judge(cid: str, issued: Issued) -> None:
        vc = _vc_of(issued.credential)
        types = vc.get("type")
        expect(isinstance(types, list) and types, f"vc.type {types!r} is not a non-empty array")
        assert isinstance(types, list)
        definition = endpoints.configuration(cid).get("credential_definition") or {}
        wanted = definition.get("type") if isinstance(definition, dict) else None
        missing = [t for t in wanted or [] if t not in types]
        expect(not missing, f"vc.type {types} lacks the configuration's {missing}")
        subject = vc.get("credentialSubject")
        expect(
            isinstance(subject, dict) and subject,
            "vc.credentialSubject is missing or empty (VCDM 1.1 §4.4)",
        )

    _each(ctx, "jwt_vc_json", judge, what="jwt_vc_json content")


@check(
    "ISS-W3C-03",
    "jwt_vc_json: the subject is the holder's key (did:jwk)",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    requirement=_vci(
        "§8.1",
        "credential-binding",
        "The issued Credential SHOULD be cryptographically bound to the identifier of the "
        "End-User who possesses the Credential.",
    ),
)
def _w3c_binding(ctx: CheckContext) -> None:
    def judge(cid: str, issued: Issued) -> None:
        subject = _vc_of(issued.credential).get("credentialSubject")
        subject_id = subject.get("id") if isinstance(subject, dict) else None
        if not isinstance(subject_id, str) or not subject_id.startswith("did:jwk:"):
            raise CheckWarning(f"credentialSubject.id {subject_id!r} is no did:jwk of the holder")
        try:
            key = resolve_did_jwk(subject_id)
        except PasserelleError as exc:
            raise CheckFailed(f"credentialSubject.id is not a valid did:jwk: {exc.detail}") from exc
        expect(
            jwk_thumbprint(key) == jwk_thumbprint(issued.holder_key.public_key()),
            "credentialSubject.id is not the key of the wallet's proof",
        )

    _each(ctx, "jwt_vc_json", judge, what="jwt_vc_json binding")
