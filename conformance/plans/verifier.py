"""Plan ``verifier``: the suite plays wallets, honest and adversarial, against a verifier.

Three kinds of checks. The request checks read what a wallet is given: the request URL,
the signed Request Object and its client identifier, per profile (HAIP: ``x509_hash``
and encrypted responses; Canada: ``x509_san_dns``). The presentation checks send an
honest presentation in each response mode the profile allows, which must be accepted.
The negatives send one presentation with one thing wrong; each passes when the verifier
refuses it — a 4xx at the ``response_uri``, or a failed result naming a reason — and
fails on a 5xx or an acceptance.

Credentials come from the ``present`` issuer through the suite's holder, or are signed
by the suite (``issuer_identity``, or a CA of its own) when no honest issuer would make
them; a control presentation of a valid suite-signed credential shows the verifier
accepts those, so that a refusal of the expired one is about its expiry. Revocation and
suspension are judged on credentials whose status list the suite itself hosts, at a URI
never served before, so no cache and no history can explain an acceptance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from passerelle import PasserelleError
from passerelle.dcql import parse_dcql_query
from passerelle.jose import decode_unverified_jws, verify_jws
from passerelle.oid4vp import (
    DEFAULT_REQUEST_OBJECT_ALGORITHMS,
    HAIP_SCHEME,
    OPENID4VP_SCHEME,
    REQUEST_OBJECT_TYP,
    RESPONSE_ENCRYPTION_ALG,
    SUPPORTED_RESPONSE_ENC,
    ResponseMode,
    is_absolute_uri,
    parse_client_id,
)
from passerelle.status_list import StatusValue
from passerelle.x509 import (
    check_x509_san_dns,
    decode_unverified_x5c,
    verify_x5c_chain,
    x509_hash,
)

from .._context import CheckContext
from .._holder import obtain_shared
from .._model import (
    CheckError,
    CheckFailed,
    CheckSkipped,
    CheckWarning,
    ErrorClass,
    Requirement,
    Severity,
)
from .._presenting import (
    Fault,
    FetchedRequest,
    Holding,
    Outcome,
    Session,
    access_anchors,
    answer,
    dcql_query_for,
    decision_trace,
    default_claims,
    expect_accepted,
    expect_refused,
    fetch_request,
    holding_of,
    open_session,
    parse_request_url,
    present,
    present_setting,
    presented_credential,
    read_outcome,
    response_form,
    response_modes,
    send_response,
    start_transaction,
    status_host,
    status_listed,
    suite_signed,
    verify_request,
    with_broken_signature,
)
from .._registry import check, expect

PLAN = "verifier"

_VP = "https://openid.net/specs/openid-4-verifiable-presentations-1_0.html"
_HAIP = "https://openid.net/specs/openid4vc-high-assurance-interoperability-profile-1_0-final.html"
_SD_JWT = "https://www.rfc-editor.org/rfc/rfc9901.html"
_SD_JWT_VC = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-sd-jwt-vc"
_JWT = "https://www.rfc-editor.org/rfc/rfc7519.html"
_STATUS = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-status-list"

_KB_STEPS = "To this end, Verifiers MUST follow the following steps (or equivalent): … "


def _vp(section: str, text: str) -> Requirement:
    return Requirement(
        spec="OpenID4VP 1.0", section=section, text=text, link=f"{_VP}#section-{section}"
    )


def _haip(text: str, section: str = "5") -> Requirement:
    """A sentence of HAIP 1.0 (final), §5 (OpenID4VP) or §5.1 (via redirects)."""
    return Requirement(
        spec="OpenID4VC HAIP 1.0", section=section, text=text, link=f"{_HAIP}#section-{section}"
    )


def _sd_jwt(section: str, text: str) -> Requirement:
    return Requirement(
        spec="RFC 9901", section=section, text=text, link=f"{_SD_JWT}#section-{section}"
    )


# --- shared steps ------------------------------------------------------------------------


def _request(ctx: CheckContext, *, owner: bool = False) -> FetchedRequest:
    """One request of this verifier in its default mode, fetched once per run: a
    ``request_uri`` may be served only once."""
    verifier = ctx.target

    def fetch() -> FetchedRequest:
        _, query = _inputs(ctx)
        transaction = start_transaction(ctx, verifier, query)
        return fetch_request(ctx, transaction)

    return ctx.shared(f"verifier:request:{verifier.name}", fetch, prerequisite=not owner)


def _inputs(ctx: CheckContext) -> tuple[Holding, dict[str, Any]]:
    """The ``present`` credential and the DCQL query the verifier plan asks it with."""
    setting = present_setting(ctx.target)
    holding = holding_of(presented_credential(ctx, ctx.target))
    claims = default_claims(ctx, ctx.target, holding)
    query = dcql_query_for(ctx, str(setting["issuer"]), str(setting["configuration"]), claims)
    return holding, query


def _mode(ctx: CheckContext) -> str:
    return response_modes(ctx.target)[0]


def _refused(ctx: CheckContext, fault: Fault, what: str) -> None:
    holding, query = _inputs(ctx)
    shown = present(ctx, ctx.target, holding, query, response_mode=_mode(ctx), fault=fault)
    ctx.record(fault=fault.value)
    expect_refused(shown.outcome, what)


def _control(ctx: CheckContext) -> None:
    """A valid credential the suite signed as ``issuer_identity`` is accepted: without
    that, a refused expired one proves nothing about expiry."""
    verifier = ctx.target

    def run() -> bool:
        base = presented_credential(ctx, verifier)
        now = ctx.now()
        holding = suite_signed(
            ctx, verifier, base, issued_at=now - timedelta(minutes=5), valid_for=timedelta(days=1)
        )
        _, query = _inputs(ctx)
        shown = present(ctx, verifier, holding, query, response_mode=_mode(ctx))
        if not shown.outcome.accepted:
            raise CheckSkipped(
                f"{verifier.name} refuses even a valid credential signed as issuer_identity "
                f"(reason {shown.outcome.reason!r}); the suite cannot isolate this fault"
            )
        return True

    ctx.shared(f"verifier:control:{verifier.name}", run)


def _suite_signed_refused(
    ctx: CheckContext,
    what: str,
    *,
    issued_ago: timedelta,
    valid_for: timedelta,
    not_before_in: timedelta | None = None,
    untrusted: bool = False,
) -> None:
    _control(ctx)
    now = ctx.now()
    holding = suite_signed(
        ctx,
        ctx.target,
        presented_credential(ctx, ctx.target),
        issued_at=now - issued_ago,
        valid_for=valid_for,
        not_before=None if not_before_in is None else now + not_before_in,
        untrusted=untrusted,
    )
    _, query = _inputs(ctx)
    shown = present(ctx, ctx.target, holding, query, response_mode=_mode(ctx))
    expect_refused(shown.outcome, what)


# --- the request -------------------------------------------------------------------------


@check(
    "VER-REQ-01",
    "The request URL parses, and its client_id is the Request Object's",
    plan=PLAN,
    requirement=_vp(
        "5.10.1",
        "The Client Identifier value in the client_id Authorization Request parameter and "
        "the Request Object client_id claim value MUST be identical, including the Client "
        "Identifier Prefix.",
    ),
)
def _request_url(ctx: CheckContext) -> None:
    fetched = _request(ctx, owner=True)
    scheme = urlsplit(fetched.transaction.request_url).scheme
    expect(
        scheme in (OPENID4VP_SCHEME, HAIP_SCHEME, "https"),
        f"request_url scheme {scheme!r} is not a wallet invocation scheme",
        request_url=fetched.transaction.request_url,
    )
    claimed = fetched.claims.get("client_id")
    ctx.record(client_id=fetched.reference.client_id, request_object_client_id=claimed)
    expect(
        claimed == fetched.reference.client_id,
        f"request_url client_id {fetched.reference.client_id!r} differs from the Request "
        f"Object's {claimed!r}",
    )


@check(
    "VER-REQ-02",
    "The Request Object is typed oauth-authz-req+jwt",
    plan=PLAN,
    requirement=_vp(
        "5",
        "Verifiers MUST include the typ Header Parameter in Request Objects with the value "
        "oauth-authz-req+jwt, as defined in [RFC9101].",
    ),
)
def _request_typ(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    typ = fetched.header.get("typ")
    ctx.record(typ=typ, content_type=fetched.content_type)
    expect(typ == REQUEST_OBJECT_TYP, f"Request Object typ is {typ!r}, not {REQUEST_OBJECT_TYP}")


@check(
    "VER-REQ-03",
    "The Request Object is signed by the leaf of its x5c chain, which validates",
    plan=PLAN,
    requirement=_vp(
        "5.9.3",
        "The request MUST be signed with the private key corresponding to the public key in "
        "the leaf X.509 certificate of the certificate chain added to the request in the x5c "
        "JOSE header [RFC7515] of the signed request object.",
    ),
)
def _request_signature(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    x5c = fetched.header.get("x5c")
    expect(isinstance(x5c, list) and x5c, "the Request Object has no x5c header")
    assert isinstance(x5c, list)
    try:
        chain = verify_x5c_chain(
            [str(c) for c in x5c], anchors=access_anchors(ctx, ctx.target), now=ctx.now()
        )
    except PasserelleError as exc:
        raise CheckFailed(f"x5c chain: {exc.detail}", reason=str(exc.reason)) from exc
    ctx.record(leaf=chain.leaf.subject.rfc4514_string(), alg=fetched.header.get("alg"))
    try:
        verify_jws(
            decode_unverified_jws(fetched.token),
            key=chain.public_key,
            algorithms=DEFAULT_REQUEST_OBJECT_ALGORITHMS,
            what="Request Object",
        )
    except PasserelleError as exc:
        raise CheckFailed(f"signature: {exc.detail}", reason=str(exc.reason)) from exc


@check(
    "VER-REQ-04",
    "x509_san_dns: the client id is a SAN dNSName of the leaf and the response_uri host",
    plan=PLAN,
    profiles=("ca",),
    requirement=_vp(
        "5.9.3",
        "When the Client Identifier Prefix is x509_san_dns, the original Client Identifier "
        "(the part after the x509_san_dns: prefix) MUST be a DNS name and match a dNSName "
        "Subject Alternative Name (SAN) [RFC5280] entry in the leaf certificate passed with "
        "the request.",
    ),
)
def _san_dns(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    client = fetched.claims.get("client_id")
    try:
        parsed = parse_client_id(client)
    except PasserelleError as exc:
        raise CheckFailed(f"client_id {client!r}: {exc.detail}") from exc
    ctx.record(client_id=client)
    if parsed.prefix.value == "x509_hash":
        # §5.9.3's rule holds "when the Client Identifier Prefix is x509_san_dns"; a
        # verifier on an IP address has no DNS name to use and takes x509_hash instead.
        raise CheckSkipped("the verifier identifies itself by x509_hash, not x509_san_dns")
    expect(
        parsed.prefix.value == "x509_san_dns",
        f"client_id prefix is {parsed.prefix.value}, not x509_san_dns",
    )
    x5c = fetched.header.get("x5c")
    expect(isinstance(x5c, list) and x5c, "the Request Object has no x5c header")
    assert isinstance(x5c, list)
    try:
        chain = verify_x5c_chain(
            [str(c) for c in x5c], anchors=access_anchors(ctx, ctx.target), now=ctx.now()
        )
        check_x509_san_dns(chain.leaf, parsed.identifier)
    except PasserelleError as exc:
        raise CheckFailed(f"leaf certificate: {exc.detail}", reason=str(exc.reason)) from exc
    response_uri = fetched.claims.get("response_uri")
    host = urlsplit(str(response_uri)).hostname or ""
    ctx.record(response_uri=response_uri)
    # §5.9.3: without a list of trusted client ids, the FQDN of the response URI MUST
    # match the client id; the suite keeps no such list.
    expect(
        host.lower() == parsed.identifier.lower(),
        f"response_uri host {host!r} is not the client id's DNS name {parsed.identifier!r}",
    )


@check(
    "VER-REQ-05",
    "HAIP: the client id is x509_hash of the leaf certificate",
    plan=PLAN,
    profiles=("eu-haip",),
    requirement=_haip(
        "For signed requests, the Verifier MUST use, and the Wallet MUST accept the Client "
        "Identifier Prefix x509_hash as defined in Section 5.9.3 of [OIDF.OID4VP]."
    ),
)
def _x509_hash(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    client = fetched.claims.get("client_id")
    try:
        parsed = parse_client_id(client)
    except PasserelleError as exc:
        raise CheckFailed(f"client_id {client!r}: {exc.detail}") from exc
    ctx.record(client_id=client)
    expect(
        parsed.prefix.value == "x509_hash",
        f"client_id prefix is {parsed.prefix.value}, not x509_hash",
    )
    x5c = fetched.header.get("x5c")
    expect(isinstance(x5c, list) and x5c, "the Request Object has no x5c header")
    assert isinstance(x5c, list)
    try:
        chain = verify_x5c_chain(
            [str(c) for c in x5c], anchors=access_anchors(ctx, ctx.target), now=ctx.now()
        )
    except PasserelleError as exc:
        raise CheckFailed(f"x5c chain: {exc.detail}", reason=str(exc.reason)) from exc
    expected = x509_hash(chain.leaf)
    expect(
        parsed.identifier == expected,
        f"x509_hash {parsed.identifier!r} is not the SHA-256 of the leaf ({expected!r})",
    )


def _self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@check(
    "VER-REQ-12",
    "HAIP: the request's x5c holds no trust anchor and its signing certificate is not self-signed",
    plan=PLAN,
    profiles=("eu-haip",),
    catches=("verifier:anchor_in_request_x5c",),
    requirement=_haip(
        "The X.509 certificate of the trust anchor MUST NOT be included in the x5c JOSE "
        "header of the signed request. The X.509 certificate signing the request MUST NOT be "
        "self-signed."
    ),
)
def _x5c_without_anchor(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    try:
        chain = decode_unverified_x5c(fetched.header.get("x5c"))
    except PasserelleError as exc:
        raise CheckFailed(f"x5c: {exc.detail}", reason=str(exc.reason)) from exc
    anchors = {a.fingerprint(hashes.SHA256()) for a in access_anchors(ctx, ctx.target)}
    listed = [
        c.subject.rfc4514_string() for c in chain if c.fingerprint(hashes.SHA256()) in anchors
    ]
    ctx.record(x5c_subjects=[c.subject.rfc4514_string() for c in chain])
    expect(not _self_signed(chain[0]), "the certificate signing the request is self-signed")
    expect(not listed, f"x5c includes the trust anchor {listed}")
    selfsigned = [c.subject.rfc4514_string() for c in chain[1:] if _self_signed(c)]
    expect(not selfsigned, f"x5c includes a self-signed (anchor) certificate: {selfsigned}")


@check(
    "VER-REQ-13",
    "HAIP: the request asks with a DCQL query",
    plan=PLAN,
    profiles=("eu-haip",),
    catches=("verifier:presentation_definition_query",),
    requirement=_haip(
        "The DCQL query and response MUST be used as defined in Section 6 of [OIDF.OID4VP]."
    ),
)
def _dcql_used(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    query = fetched.claims.get("dcql_query")
    others = sorted(k for k in ("presentation_definition", "scope") if k in fetched.claims)
    ctx.record(dcql_query=isinstance(query, dict), other_queries=others)
    expect(isinstance(query, dict), "the Request Object carries no dcql_query object")
    expect(not others, f"the Request Object also asks by {others}")
    try:
        parse_dcql_query(query)
    except PasserelleError as exc:
        raise CheckFailed(f"dcql_query: {exc.detail}", reason=str(exc.reason)) from exc


@check(
    "VER-REQ-06",
    "HAIP: the request asks for an encrypted response (direct_post.jwt)",
    plan=PLAN,
    profiles=("eu-haip",),
    requirement=_haip(
        "Response encryption MUST be used by utilizing response mode direct_post.jwt, as "
        "defined in Section 8.3 of [OIDF.OID4VP].",
        section="5.1",
    ),
)
def _haip_mode(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    mode = fetched.claims.get("response_mode")
    ctx.record(response_mode=mode)
    expect(
        mode == ResponseMode.DIRECT_POST_JWT.value,
        f"response_mode is {mode!r}, not direct_post.jwt",
    )


@check(
    "VER-REQ-07",
    "An encrypted-response request carries a usable encryption key in client_metadata",
    plan=PLAN,
    requirement=_vp("8.3", "The alg parameter MUST be present in the JWKs."),
)
def _encryption_key(ctx: CheckContext) -> None:
    if ResponseMode.DIRECT_POST_JWT.value not in response_modes(ctx.target):
        raise CheckSkipped(f"{ctx.target.profile} does not use direct_post.jwt")
    _, query = _inputs(ctx)
    transaction = start_transaction(
        ctx, ctx.target, query, response_mode=ResponseMode.DIRECT_POST_JWT.value
    )
    fetched = fetch_request(ctx, transaction)
    metadata = fetched.claims.get("client_metadata")
    expect(isinstance(metadata, dict), "direct_post.jwt request without client_metadata")
    assert isinstance(metadata, dict)
    jwks = metadata.get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    expect(isinstance(keys, list) and keys, "client_metadata has no jwks with keys")
    assert isinstance(keys, list)
    ctx.record(
        keys=[
            {k: v for k, v in key.items() if k in ("kty", "crv", "alg", "use", "kid")}
            for key in keys
            if isinstance(key, dict)
        ]
    )
    without_alg = [k.get("kid") for k in keys if isinstance(k, dict) and "alg" not in k]
    expect(not without_alg, f"JWKs without alg: {without_alg}")
    usable = [
        k
        for k in keys
        if isinstance(k, dict)
        and k.get("alg") == RESPONSE_ENCRYPTION_ALG
        and k.get("kty") == "EC"
        and k.get("crv") == "P-256"
        and k.get("use") in (None, "enc")
        and isinstance(k.get("kid"), str)
    ]
    expect(usable, "no P-256 ECDH-ES encryption key with a kid in client_metadata.jwks")


_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


@check(
    "VER-REQ-08",
    "Each request carries a fresh nonce",
    plan=PLAN,
    requirement=_vp(
        "5.2",
        "The Verifier MUST create a fresh, cryptographically random number with sufficient "
        "entropy for every Authorization Request and store it with its current session.",
    ),
)
def _nonce(ctx: CheckContext) -> None:
    _, query = _inputs(ctx)
    nonces = []
    for _ in range(2):
        transaction = start_transaction(ctx, ctx.target, query)
        fetched = fetch_request(ctx, transaction)
        nonce = fetched.claims.get("nonce")
        expect(isinstance(nonce, str) and nonce, "the Request Object has no nonce")
        assert isinstance(nonce, str)
        expect(
            _URL_SAFE.fullmatch(nonce), f"nonce {nonce!r} has characters outside the URL-safe set"
        )
        nonces.append(nonce)
    ctx.record(nonce_lengths=[len(n) for n in nonces])
    expect(nonces[0] != nonces[1], "two requests carry the same nonce")
    if min(len(n) for n in nonces) < 22:
        raise CheckWarning("the nonce is shorter than 128 bits in base64url (SHOULD, §5.2)")


@check(
    "VER-REQ-09",
    "request_uri_method=post: the Request Object echoes the wallet_nonce",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-request-uri-method-post",
    requirement=_vp(
        "5.10",
        "When received, the Verifier MUST use it as the wallet_nonce value in the signed "
        "authorization request object.",
    ),
)
def _wallet_nonce(ctx: CheckContext) -> None:
    _, query = _inputs(ctx)
    transaction = start_transaction(ctx, ctx.target, query, request_uri_method="post")
    params, _ = parse_request_url(transaction.request_url)
    if params.get("request_uri_method") != "post":
        # The Verifier decides whether to offer POST; only what it then does is judged.
        raise CheckSkipped("asked for request_uri_method=post, the request URL does not offer it")
    fetched = fetch_request(ctx, transaction)
    ctx.record(content_type=fetched.content_type, method=fetched.method)
    expect(
        fetched.content_type.split(";")[0].strip() == "application/oauth-authz-req+jwt",
        f"the Request URI answered {fetched.content_type!r}, not application/oauth-authz-req+jwt",
    )
    echoed = fetched.claims.get("wallet_nonce")
    expect(echoed == fetched.wallet_nonce, f"wallet_nonce {echoed!r} is not the one POSTed")
    verify_request(ctx, fetched)


@check(
    "VER-REQ-10",
    "HAIP: the request is passed by reference (request_uri)",
    plan=PLAN,
    profiles=("eu-haip",),
    requirement=_haip(
        "Signed Authorization Requests MUST be used by utilizing JWT-Secured Authorization "
        "Request (JAR) [RFC9101] with the request_uri parameter.",
        section="5.1",
    ),
)
def _by_reference(ctx: CheckContext) -> None:
    fetched = _request(ctx)
    ctx.record(request_url_parameters=sorted(fetched.params))
    expect(
        fetched.reference.request_uri is not None and fetched.reference.request is None,
        "the request URL passes the Request Object by value, not by request_uri",
    )


@check(
    "VER-REQ-11",
    "The request_uri serves the Request Object again when a wallet fetches it twice",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("verifier:single_fetch_request_uri",),
    oidf="oid4vp-1final-verifier-request-uri-fetched-twice",
    requirement=Requirement(
        spec="Passerelle conformance (OpenID Foundation verifier plan)",
        section="request-uri-fetched-twice",
        # No sentence of OpenID4VP 1.0 makes a request_uri single-use or says it must be
        # served twice; the OIDF plan expects the second fetch to work. Stated as the
        # plan's expectation, in our words, never as a quote; hence only a warning.
        text="A Verifier SHOULD serve the Request Object again when a Wallet fetches the "
        "request_uri a second time before answering (a retry or a reload).",
        link=f"{_VP}#section-5.10",
    ),
)
def _fetched_twice(ctx: CheckContext) -> None:
    """OpenID4VP does not make a request_uri single-use: a wallet may fetch it again
    (a retry, a reload), and then answer the request it fetched last."""
    holding, query = _inputs(ctx)
    transaction = start_transaction(ctx, ctx.target, query, response_mode=_mode(ctx))
    try:
        fetch_request(ctx, transaction)
        fetched = fetch_request(ctx, transaction)
    except CheckFailed as exc:
        raise CheckWarning(f"the second fetch of the request_uri failed: {exc.message}") from exc
    session = Session(
        transaction=transaction, fetched=fetched, verified=verify_request(ctx, fetched)
    )
    vp_token = answer(holding, session.request, now=ctx.now())
    outcome = send_response(ctx, session, response_form(session.request, vp_token))
    ctx.record(**outcome.evidence())
    if not outcome.accepted:
        raise CheckWarning(
            f"the answer to the Request Object fetched a second time was not accepted "
            f"(reason {outcome.reason!r})",
            **outcome.evidence(),
        )


# --- honest presentations ----------------------------------------------------------------


def _honest(ctx: CheckContext, mode: str) -> None:
    if mode not in response_modes(ctx.target):
        raise CheckSkipped(f"{ctx.target.profile} does not use {mode}")
    holding, query = _inputs(ctx)
    shown = present(ctx, ctx.target, holding, query, response_mode=mode, prerequisite=False)
    expect(
        shown.session.request.response_mode.value == mode,
        f"asked for {mode}, the request says {shown.session.request.response_mode.value}",
    )
    expect_accepted(shown.outcome, f"honest presentation ({mode})")


@check(
    "VER-PRES-01",
    "An honest presentation by direct_post is accepted",
    plan=PLAN,
    catches=("verifier:require_cnf_kid",),
    oidf="oid4vp-1final-verifier-happy-flow",
    requirement=_vp(
        "8.2",
        "The Authorization Response MUST be encoded in the request body using the format "
        "defined by the application/x-www-form-urlencoded HTTP content type.",
    ),
)
def _honest_direct_post(ctx: CheckContext) -> None:
    _honest(ctx, ResponseMode.DIRECT_POST.value)


@check(
    "VER-PRES-02",
    "An honest presentation by direct_post.jwt (encrypted) is accepted",
    plan=PLAN,
    catches=("verifier:require_cnf_kid",),
    oidf="oid4vp-1final-verifier-happy-flow",
    requirement=_vp(
        "8.3",
        "To encrypt the Authorization Response, implementations MUST use an unsigned, "
        "encrypted JWT as described in [RFC7519].",
    ),
)
def _honest_direct_post_jwt(ctx: CheckContext) -> None:
    _honest(ctx, ResponseMode.DIRECT_POST_JWT.value)


# --- the SD-JWT and its key binding ------------------------------------------------------


@check(
    "VER-SDJWT-01",
    "A presentation with a tampered disclosure is refused",
    plan=PLAN,
    requirement=_sd_jwt(
        "7.1",
        "If any Disclosure was not referenced by digest value in the Issuer-signed JWT "
        "(directly or recursively via other Disclosures), the SD-JWT MUST be rejected.",
    ),
)
def _tampered(ctx: CheckContext) -> None:
    _refused(ctx, Fault.TAMPERED_DISCLOSURE, "tampered disclosure")


@check(
    "VER-KB-01",
    "A KB-JWT signed with a key other than the cnf key is refused",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-invalid-kb-jwt-signature",
    requirement=_sd_jwt(
        "4.3.2",
        "If the Verifier requires Key Binding, the Verifier MUST ensure that the key with "
        "which it validates the signature on the Key Binding JWT is the key specified in the "
        "SD-JWT as the Holder's public key.",
    ),
)
def _kb_other_key(ctx: CheckContext) -> None:
    _refused(ctx, Fault.KB_OTHER_KEY, "KB-JWT signed with another key")


@check(
    "VER-KB-02",
    "A KB-JWT with another nonce is refused",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-invalid-kb-jwt-nonce",
    catches=("verifier:skip_nonce_check",),
    requirement=_vp(
        "14.1.2",
        "If any Verifiable Presentation in the response does not contain the correct nonce "
        "value, the response MUST be rejected.",
    ),
)
def _kb_nonce(ctx: CheckContext) -> None:
    _refused(ctx, Fault.WRONG_NONCE, "KB-JWT with a wrong nonce")


@check(
    "VER-KB-03",
    "A KB-JWT for another audience is refused",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-invalid-kb-jwt-aud",
    catches=("verifier:ignore_aud",),
    requirement=_vp(
        "14.1.2",
        "The Verifier MUST validate every individual Verifiable Presentation in an "
        "Authorization Response and ensure that it is linked to the values of the client_id "
        "and the nonce parameter it had used for the respective Authorization Request.",
    ),
)
def _kb_aud(ctx: CheckContext) -> None:
    _refused(ctx, Fault.WRONG_AUD, "KB-JWT with a wrong aud")


_IAT = _sd_jwt(
    "7.3",
    _KB_STEPS + "Check that the creation time of the Key Binding JWT, as determined by the iat "
    "claim, is within an acceptable window.",
)


@check(
    "VER-KB-04",
    "A KB-JWT issued a day in the future is refused",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-kb-jwt-iat-in-future",
    requirement=_IAT,
)
def _kb_iat_future(ctx: CheckContext) -> None:
    _refused(ctx, Fault.IAT_FUTURE, "KB-JWT iat a day ahead")


@check(
    "VER-KB-05",
    "A KB-JWT issued a day ago is refused",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-kb-jwt-iat-in-past",
    requirement=_IAT,
)
def _kb_iat_past(ctx: CheckContext) -> None:
    _refused(ctx, Fault.IAT_PAST, "KB-JWT iat a day old")


@check(
    "VER-KB-06",
    "A KB-JWT whose sd_hash does not match the presentation is refused",
    plan=PLAN,
    oidf="oid4vp-1final-verifier-invalid-sd-hash",
    requirement=_sd_jwt(
        "7.3",
        _KB_STEPS + "Calculate the digest over the Issuer-signed JWT and Disclosures as "
        "defined in Section 4.3.1 and verify that it matches the value of the sd_hash claim "
        "in the Key Binding JWT.",
    ),
)
def _kb_sd_hash(ctx: CheckContext) -> None:
    _refused(ctx, Fault.WRONG_SD_HASH, "KB-JWT with a wrong sd_hash")


@check(
    "VER-KB-07",
    "A presentation without a KB-JWT is refused",
    plan=PLAN,
    requirement=_sd_jwt(
        "7.3",
        "If Key Binding is required and the Holder has provided an SD-JWT (without Key "
        "Binding), the Verifier MUST reject the presentation.",
    ),
)
def _kb_missing(ctx: CheckContext) -> None:
    _refused(ctx, Fault.NO_KB_JWT, "presentation without a KB-JWT")


@check(
    "VER-KB-08",
    "A KB-JWT with alg none is refused",
    plan=PLAN,
    requirement=_sd_jwt(
        "7.3",
        _KB_STEPS + "Ensure that a signing algorithm was used that was deemed secure for the "
        "application. Refer to [RFC8725], Sections 3.1 and 3.2 for details. The none "
        "algorithm MUST NOT be accepted.",
    ),
)
def _kb_alg_none(ctx: CheckContext) -> None:
    _refused(ctx, Fault.ALG_NONE, "unsigned KB-JWT (alg none)")


# --- the credential: validity and status -------------------------------------------------


@check(
    "VER-CRED-01",
    "An expired credential is refused",
    plan=PLAN,
    catches=("verifier:accept_expired",),
    requirement=Requirement(
        spec="RFC 7519",
        section="4.1.4",
        text='The "exp" (expiration time) claim identifies the expiration time on or after '
        "which the JWT MUST NOT be accepted for processing.",
        link=f"{_JWT}#section-4.1.4",
    ),
)
def _expired(ctx: CheckContext) -> None:
    _suite_signed_refused(
        ctx, "expired credential", issued_ago=timedelta(hours=2), valid_for=timedelta(hours=1)
    )


@check(
    "VER-CRED-02",
    "A credential not yet valid (nbf a day ahead) is refused",
    plan=PLAN,
    requirement=Requirement(
        spec="RFC 7519",
        section="4.1.5",
        text='The "nbf" (not before) claim identifies the time before which the JWT MUST NOT '
        "be accepted for processing.",
        link=f"{_JWT}#section-4.1.5",
    ),
)
def _not_yet_valid(ctx: CheckContext) -> None:
    _suite_signed_refused(
        ctx,
        "credential not yet valid",
        issued_ago=timedelta(0),
        valid_for=timedelta(days=30),
        not_before_in=timedelta(days=1),
    )


@check(
    "VER-CRED-05",
    "A trusted issuer's credential whose signature does not verify is refused",
    plan=PLAN,
    catches=("verifier:skip_issuer_signature",),
    oidf="oid4vp-1final-verifier-invalid-credential-signature",
    requirement=_sd_jwt(
        "7.1",
        "The Holder or the Verifier MUST perform the following (or equivalent) steps when "
        "receiving an SD-JWT to validate the SD-JWT and extract the payload: … Validate the "
        "signature over the Issuer-signed JWT per Section 5.2 of [RFC7515].",
    ),
)
def _broken_signature(ctx: CheckContext) -> None:
    _control(ctx)
    now = ctx.now()
    holding = suite_signed(
        ctx,
        ctx.target,
        presented_credential(ctx, ctx.target),
        issued_at=now - timedelta(minutes=5),
        valid_for=timedelta(days=1),
    )
    _, query = _inputs(ctx)
    shown = present(
        ctx, ctx.target, with_broken_signature(holding), query, response_mode=_mode(ctx)
    )
    expect_refused(shown.outcome, "credential with a broken issuer signature")


@check(
    "VER-PRES-03",
    "A credential whose cnf.jwk holds only the members its key type requires is accepted",
    plan=PLAN,
    catches=("verifier:require_cnf_kid",),
    oidf="oid4vp-1final-verifier-minimal-cnf-jwk",
    requirement=_sd_jwt(
        "4.3.2",
        "If the Verifier requires Key Binding, the Verifier MUST ensure that the key with "
        "which it validates the signature on the Key Binding JWT is the key specified in the "
        "SD-JWT as the Holder's public key.",
    ),
)
def _minimal_cnf(ctx: CheckContext) -> None:
    """kid, alg, use and the like are optional JWK members (RFC 7517 §4): a verifier
    that needs them refuses wallets that follow RFC 7638's minimal form."""
    now = ctx.now()
    holding = suite_signed(
        ctx,
        ctx.target,
        presented_credential(ctx, ctx.target),
        issued_at=now - timedelta(minutes=5),
        valid_for=timedelta(days=1),
    )
    cnf = holding.payload().get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    members = sorted(jwk) if isinstance(jwk, dict) else []
    ctx.record(cnf_jwk_members=members)
    if members != ["crv", "kty", "x", "y"]:
        raise CheckError(ErrorClass.SUITE, f"cnf.jwk is not minimal: {members}")
    _, query = _inputs(ctx)
    shown = present(ctx, ctx.target, holding, query, response_mode=_mode(ctx))
    expect_accepted(shown.outcome, "credential with a minimal cnf.jwk")


_STATUS_RULE = Requirement(
    spec="draft-ietf-oauth-status-list",
    section="8.3",
    text="If the validation was successful, the Relying Party MUST perform the following "
    "validation steps to evaluate the status of the Referenced Token:",
    link=f"{_STATUS}#section-8.3",
)


def _status_refused(ctx: CheckContext, status: StatusValue, what: str) -> None:
    """Present a credential whose status list, hosted by the suite at a URI no verifier
    has seen, says ``status`` from the start: any acceptance is a failure.

    A control credential, identical but for a ``VALID`` entry in a list of its own,
    must be accepted first: without it, a refusal could be about the suite's host being
    out of the verifier's reach rather than about the status. The verifier's own trace
    is shown as evidence, never weighed.
    """
    verifier = ctx.target
    _, query = _inputs(ctx)
    with status_host(ctx, verifier) as host:
        control = status_listed(ctx, verifier, host, StatusValue.VALID)
        shown = present(ctx, verifier, control.holding, query, response_mode=_mode(ctx))
        if not shown.outcome.accepted:
            raise CheckSkipped(
                f"{verifier.name} refuses even a valid credential whose status list the "
                f"suite hosts (reason {shown.outcome.reason!r}, status list fetched "
                f"{host.fetches(control.uri)} times); the suite cannot isolate this fault"
            )
        listed = status_listed(ctx, verifier, host, status)
        shown = present(ctx, verifier, listed.holding, query, response_mode=_mode(ctx))
        ctx.record(
            status_uri=listed.uri,
            status_index=listed.index,
            status_list_fetches=host.fetches(listed.uri),
            verifier_trace=decision_trace(shown.outcome),
        )
    expect_refused(shown.outcome, what)


@check(
    "VER-CRED-03",
    "A revoked credential is refused",
    plan=PLAN,
    catches=("verifier:skip_status", "verifier:forge_status_trace"),
    requirement=_STATUS_RULE,
)
def _revoked(ctx: CheckContext) -> None:
    _status_refused(ctx, StatusValue.INVALID, "revoked credential")


@check(
    "VER-CRED-04",
    "A suspended credential is refused",
    plan=PLAN,
    catches=("verifier:skip_status", "verifier:forge_status_trace"),
    requirement=_STATUS_RULE,
)
def _suspended(ctx: CheckContext) -> None:
    _status_refused(ctx, StatusValue.SUSPENDED, "suspended credential")


# --- trust -------------------------------------------------------------------------------


@check(
    "VER-TRUST-01",
    "A credential from an issuer on no trust list is refused",
    plan=PLAN,
    catches=("verifier:trust_any_issuer",),
    requirement=Requirement(
        spec="draft-ietf-oauth-sd-jwt-vc",
        section="2.5",
        text="If a recipient cannot validate that the public verification key corresponds to "
        "the Issuer of the Issuer-signed JWT using a permitted key discovery and validation "
        "mechanism, the SD-JWT VC MUST be rejected.",
        link=f"{_SD_JWT_VC}#section-2.5",
    ),
)
def _untrusted(ctx: CheckContext) -> None:
    _suite_signed_refused(
        ctx,
        "credential from an unlisted issuer",
        issued_ago=timedelta(minutes=5),
        valid_for=timedelta(days=1),
        untrusted=True,
    )


@check(
    "VER-TRUST-02",
    "A recognised issuer's credential outside the recognised scope is refused",
    plan=PLAN,
    requirement=Requirement(
        spec="draft-ietf-oauth-sd-jwt-vc",
        section="7.7",
        text="Credential acceptance decisions MUST be based on both the credential type and "
        "the verified authority of the issuer.",
        link=f"{_SD_JWT_VC}#section-7.7",
    ),
)
def _out_of_scope(ctx: CheckContext) -> None:
    setting = ctx.target.get("out_of_scope")
    if not isinstance(setting, dict):
        raise CheckSkipped(
            f"the targets file gives no out_of_scope credential for {ctx.target.name}"
        )
    issued = obtain_shared(
        ctx, str(setting["issuer"]), str(setting["configuration"]), str(setting["persona"])
    )
    holding = holding_of(issued)
    claims = setting.get("claims") or [[k] for k in sorted(holding.claims())[:1]]
    query = dcql_query_for(ctx, str(setting["issuer"]), str(setting["configuration"]), claims)
    shown = present(ctx, ctx.target, holding, query, response_mode=_mode(ctx))
    expect_refused(shown.outcome, "credential outside the recognised scope")


# --- the response ------------------------------------------------------------------------


@check(
    "VER-RESP-01",
    "A replayed response is not accepted again, and the result does not change",
    plan=PLAN,
    catches=("verifier:accept_replay",),
    requirement=_vp(
        "14.1.2",
        "For Verifiable Presentations, implementers of this specification MUST implement the "
        "controls as defined in this section to detect and prevent replay attacks.",
    ),
)
def _replay(ctx: CheckContext) -> None:
    holding, query = _inputs(ctx)
    first = present(ctx, ctx.target, holding, query, response_mode=_mode(ctx))
    if not first.outcome.accepted:
        raise CheckSkipped(
            f"the honest presentation to replay was not accepted (reason {first.outcome.reason!r})"
        )
    session = first.session
    second = send_response(ctx, session, first.form)
    ctx.record(replay_http_status=second.http_status, replay_reason=second.reason)
    expect(
        400 <= second.http_status < 500,
        f"the replayed response was answered HTTP {second.http_status}, not refused with a 4xx",
    )
    expect(
        second.result == first.outcome.result,
        "the replayed response changed the transaction's result",
        before=first.outcome.result,
        after=second.result,
    )


@check(
    "VER-RESP-02",
    "A response with another state is refused",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    requirement=_vp(
        "14.3.2",
        "The Verifier SHOULD protect its Response URI from inadvertent requests by checking "
        "that the value of the received state parameter corresponds to a recent "
        "Authorization Request.",
    ),
)
def _wrong_state(ctx: CheckContext) -> None:
    _refused(ctx, Fault.WRONG_STATE, "response with a wrong state")


_RESPONSE_URI_ANSWER = _vp(
    "8.2",
    "If the Response URI has successfully processed the Authorization Response or "
    "Authorization Error Response, it MUST respond with an HTTP status code of 200 with "
    "Content-Type of application/json and a JSON object in the response body.",
)


def _respond(
    ctx: CheckContext, session: Session, form: Mapping[str, str]
) -> tuple[httpx.Response, Outcome]:
    """Post ``form`` to the response_uri; the verifier's answer as sent, and its verdict
    (recorded as evidence)."""
    response = ctx.http.post(session.request.response_uri, data=dict(form))
    outcome = read_outcome(ctx, session.transaction, response)
    ctx.record(**outcome.evidence())
    return response, outcome


def _json_object_answer(response: httpx.Response, what: str) -> None:
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    expect(
        response.status_code == 200,
        f"{what}: the response_uri answered HTTP {response.status_code}, not 200",
        status=response.status_code,
    )
    expect(
        content_type == "application/json",
        f"{what}: the response_uri answered with Content-Type {content_type!r}",
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    expect(isinstance(body, dict), f"{what}: the response_uri's answer is not a JSON object")


@check(
    "VER-RESP-03",
    "An honest response is answered 200 with a JSON object",
    plan=PLAN,
    catches=("verifier:plain_text_answer",),
    requirement=_RESPONSE_URI_ANSWER,
)
def _answer_to_honest(ctx: CheckContext) -> None:
    holding, query = _inputs(ctx)
    session = open_session(ctx, ctx.target, query, response_mode=_mode(ctx))
    vp_token = answer(holding, session.request, now=ctx.now())
    response, outcome = _respond(ctx, session, response_form(session.request, vp_token))
    if not outcome.accepted:
        raise CheckSkipped(f"the honest presentation was not accepted ({outcome.reason!r})")
    _json_object_answer(response, "honest presentation")


@check(
    "VER-RESP-04",
    "A wallet's Authorization Error Response is acknowledged, and the transaction fails",
    plan=PLAN,
    catches=("verifier:plain_text_answer",),
    requirement=_RESPONSE_URI_ANSWER,
)
def _answer_to_wallet_error(ctx: CheckContext) -> None:
    _, query = _inputs(ctx)
    session = open_session(ctx, ctx.target, query, response_mode=_mode(ctx))
    form = {"error": "access_denied", "error_description": "the user declined"}
    if session.request.state is not None:
        form["state"] = session.request.state
    response, outcome = _respond(ctx, session, form)
    _json_object_answer(response, "authorization error response")
    expect(not outcome.accepted, "the transaction reports accepted after the wallet declined")


@check(
    "VER-RESP-05",
    "The Request Object and the response_uri's answers are not cacheable",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("verifier:cacheable_request_object",),
    requirement=Requirement(
        spec="RFC 6749",
        section="5.1",
        text='The authorization server MUST include the HTTP "Cache-Control" response '
        'header field [RFC2616] with a value of "no-store" in any response containing '
        "tokens, credentials, or other sensitive information,",
        link="https://www.rfc-editor.org/rfc/rfc6749#section-5.1",
    ),
)
def _not_cacheable(ctx: CheckContext) -> None:
    """The sentence is the token endpoint's; a Request Object (its nonce and state) and
    the verdict on a presentation are as sensitive, hence a recommendation here."""
    holding, query = _inputs(ctx)
    transaction = start_transaction(ctx, ctx.target, query, response_mode=_mode(ctx))
    _, reference = parse_request_url(transaction.request_url)
    cacheable: list[str] = []
    if reference.request_uri is not None:
        fetched = ctx.http.get(
            reference.request_uri, headers={"Accept": "application/oauth-authz-req+jwt"}
        )
        if "no-store" not in fetched.headers.get("cache-control", ""):
            cacheable.append("request_uri")
    session = open_session(ctx, ctx.target, query, response_mode=_mode(ctx))
    vp_token = answer(holding, session.request, now=ctx.now())
    response = ctx.http.post(
        session.request.response_uri, data=response_form(session.request, vp_token)
    )
    if "no-store" not in response.headers.get("cache-control", ""):
        cacheable.append("response_uri")
    ctx.record(without_no_store=cacheable)
    if cacheable:
        raise CheckWarning(f"answered without Cache-Control: no-store: {cacheable}")


# --- HAIP: response encryption and the same-device redirect ------------------------------

_HAIP_ENC = _haip(
    "The JWE enc (encryption algorithm) header parameter (see [RFC7516, section 4.1.2]) "
    "values A128GCM and A256GCM (as defined in [RFC7518, section 5.3]) MUST be supported by "
    "Verifiers. … Verifiers MUST list both A128GCM and A256GCM in "
    "encrypted_response_enc_values_supported in their client metadata."
)


def _encrypted_session(ctx: CheckContext) -> Session:
    if ResponseMode.DIRECT_POST_JWT.value not in response_modes(ctx.target):
        raise CheckSkipped(f"{ctx.target.profile} does not use direct_post.jwt")
    _, query = _inputs(ctx)
    return open_session(ctx, ctx.target, query, response_mode=ResponseMode.DIRECT_POST_JWT.value)


def _listed_enc(session: Session) -> list[str]:
    metadata = session.request.client_metadata
    listed = metadata.encrypted_response_enc_values_supported if metadata else None
    # §8.3: absent, the Wallet uses "the default value of A128GCM".
    return list(listed) if listed else ["A128GCM"]


@check(
    "VER-ENC-01",
    "HAIP: the request lists both A128GCM and A256GCM for the response encryption",
    plan=PLAN,
    profiles=("eu-haip",),
    catches=("verifier:enc_a128gcm_only",),
    oidf="oid4vp-1final-verifier-happy-flow",
    requirement=_HAIP_ENC,
)
def _enc_listed(ctx: CheckContext) -> None:
    listed = _listed_enc(_encrypted_session(ctx))
    ctx.record(encrypted_response_enc_values_supported=listed)
    missing = [enc for enc in ("A128GCM", "A256GCM") if enc not in listed]
    expect(not missing, f"encrypted_response_enc_values_supported lacks {missing}")


@check(
    "VER-ENC-02",
    "A response encrypted with each enc the request lists is accepted",
    plan=PLAN,
    catches=("verifier:refuse_a256gcm", "verifier:require_cnf_kid"),
    # OpenID4VP §5.1 only defines the parameter (each value "can be used"); the duty to
    # decrypt with both is HAIP's, and a non-HAIP verifier is held to what it lists.
    requirement=_HAIP_ENC,
)
def _enc_accepted(ctx: CheckContext) -> None:
    holding, _ = _inputs(ctx)
    listed = _listed_enc(_encrypted_session(ctx))
    usable = [enc for enc in listed if enc in SUPPORTED_RESPONSE_ENC]
    ctx.record(listed=listed, tried=usable)
    if not usable:
        raise CheckSkipped(f"the request lists no enc the suite can encrypt with: {listed}")
    refused: dict[str, str | None] = {}
    for enc in usable:
        session = _encrypted_session(ctx)
        vp_token = answer(holding, session.request, now=ctx.now())
        _, outcome = _respond(ctx, session, response_form(session.request, vp_token, enc=enc))
        if not outcome.accepted:
            refused[enc] = outcome.reason
    expect(not refused, f"an honest response encrypted with a listed enc is refused: {refused}")


@check(
    "VER-ENC-03",
    "HAIP: each request carries an encryption key of its own",
    plan=PLAN,
    profiles=("eu-haip",),
    catches=("verifier:reuse_encryption_key",),
    requirement=_haip(
        "Verifiers MUST supply ephemeral encryption public keys specific to each "
        "Authorization Request passed via client metadata as specified in Section 8.3 of "
        "[OIDF.OID4VP]."
    ),
)
def _enc_key_per_request(ctx: CheckContext) -> None:
    seen: list[tuple[tuple[object, object], ...]] = []
    for _ in range(2):
        metadata = _encrypted_session(ctx).request.client_metadata
        keys = metadata.jwks.get("keys") if metadata and metadata.jwks else None
        expect(isinstance(keys, list) and keys, "client_metadata has no jwks with keys")
        assert isinstance(keys, list)
        seen.append(tuple((k.get("x"), k.get("y")) for k in keys if isinstance(k, dict)))
    ctx.record(key_coordinates_equal=seen[0] == seen[1])
    shared = set(seen[0]) & set(seen[1])
    expect(not shared, "two Authorization Requests carry the same encryption public key")


_FRONTEND = "https://frontend.conformance.example/after-presentation?suite=1"


def _same_device_answer(ctx: CheckContext) -> httpx.Response:
    """An honest presentation in a same-device transaction asking to return to
    :data:`_FRONTEND`; the response_uri's answer as sent. Its result is not read: it is
    released only against the Response Code (OpenID4VP §13.3)."""
    call = ctx.target.adapter.request if ctx.target.adapter is not None else None
    if call is None or "{same_device}" not in json.dumps(call.body):
        raise CheckSkipped("the verifier's adapter cannot open a same-device transaction")
    holding, query = _inputs(ctx)
    transaction = start_transaction(
        ctx,
        ctx.target,
        query,
        response_mode=_mode(ctx),
        same_device=True,
        redirect_uri=_FRONTEND,
    )
    fetched = fetch_request(ctx, transaction)
    session = Session(
        transaction=transaction, fetched=fetched, verified=verify_request(ctx, fetched)
    )
    vp_token = answer(holding, session.request, now=ctx.now())
    response = ctx.http.post(
        session.request.response_uri,
        data=response_form(session.request, vp_token),
        follow_redirects=False,
    )
    ctx.record(http_status=response.status_code, location=response.headers.get("location"))
    return response


def _added_values(redirect: str) -> list[str]:
    """What the verifier added to :data:`_FRONTEND`: §8.2 "The value can be added as a
    path component, as a fragment or as a parameter to the URL"."""
    base, got = urlsplit(_FRONTEND), urlsplit(redirect)
    if got.path.startswith(base.path):
        added = [s for s in got.path[len(base.path) :].split("/") if s]
    else:
        added = [got.path]
    kept = parse_qsl(base.query)
    added += [v for k, v in parse_qsl(got.query) if (k, v) not in kept]
    if got.fragment:
        added += [v for _, v in parse_qsl(got.fragment)] or [got.fragment]
    return added


def _bits(value: str) -> int:
    """The most random bits ``value`` can carry, read as hex or base64url."""
    per_char = 4 if re.fullmatch(r"[0-9a-fA-F]+", value) else 6
    return len(value) * per_char


@check(
    "VER-RESP-06",
    "HAIP same-device: the answer to the wallet's POST carries a redirect_uri with a fresh value",
    plan=PLAN,
    profiles=("eu-haip",),
    catches=(
        "verifier:no_same_device_redirect",
        "verifier:http_redirect_answer",
        "verifier:plain_text_answer",
        "verifier:require_cnf_kid",
        "verifier:constant_response_code",
    ),
    requirement=_haip(
        'If "same-device" flow is used, then: … Verifiers MUST include redirect_uri in the '
        "HTTP response to the Wallet's HTTP POST to the response_uri, as defined in Section "
        "8.2 of [OIDF.OID4VP].",
        section="5.1",
    ),
)
def _same_device_redirect(ctx: CheckContext) -> None:
    added: list[list[str]] = []
    for _ in range(2):
        response = _same_device_answer(ctx)
        _json_object_answer(response, "same-device presentation")
        redirect = response.json().get("redirect_uri")
        expect(isinstance(redirect, str) and redirect, "the answer carries no redirect_uri")
        assert isinstance(redirect, str)
        # §8.2: "an absolute URI as defined by [RFC3986] Section 4.3", the verifier's own
        # rule (any scheme); the fresh value may ride in a fragment (§8.2), so it is
        # judged without one.
        expect(
            is_absolute_uri(redirect.partition("#")[0]),
            f"redirect_uri {redirect!r} is not an absolute URI",
        )
        added.append(_added_values(redirect))
    ctx.record(added_lengths=[[len(v) for v in a] for a in added])
    # §8.2: "The Verifier MUST include a fresh, cryptographically random value in the URL."
    fresh = [v for v in added[1] if v not in added[0]]
    expect(
        all(added) and fresh,
        "two same-device answers add no value that differs between them to the frontend's URI",
    )
    if max(_bits(v) for v in fresh) < 128:
        # §8.2 RECOMMENDS 128 bits or more: short of that is a warning, not a failure.
        raise CheckWarning("the fresh value in redirect_uri carries fewer than 128 bits")


@check(
    "VER-RESP-07",
    "A same-device answer is a 200 JSON object, never an HTTP redirect",
    plan=PLAN,
    catches=(
        "verifier:http_redirect_answer",
        "verifier:plain_text_answer",
        "verifier:require_cnf_kid",
    ),
    requirement=_RESPONSE_URI_ANSWER,
)
def _same_device_not_http_redirect(ctx: CheckContext) -> None:
    """OpenID4VP §8.2 has the Wallet treat an HTTP redirect from the Response URI as an
    error: the redirect_uri travels in the JSON object of a 200."""
    response = _same_device_answer(ctx)
    expect(
        not 300 <= response.status_code < 400,
        f"the response_uri answered HTTP {response.status_code} (an HTTP redirect to "
        f"{response.headers.get('location')!r}), not 200 with redirect_uri in JSON",
    )
    _json_object_answer(response, "same-device presentation")
