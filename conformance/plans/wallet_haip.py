"""Plan ``wallet``, HAIP 1.0 part: the suite plays a HAIP issuer and authorization
server (the authorization code flow with PAR and PKCE) and judges what the wallet
sends it: its wallet attestation at PAR and token, its DPoP proofs at token and
credential, the server nonce after a ``use_dpop_nonce`` challenge, and the key
attestation in its key proofs (:mod:`.._issuer_haip`).

The wallet attestation and key attestation must chain to a wallet provider the suite
trusts: those of the list of wallet providers the wallet target's
``wallet_providers_list`` names (``{url: …, anchor: <operator anchor>}``, an ETSI TS
119 602 list verified with ``passerelle.trust.verify_lote``); without one, the CA
certificates of ``wallet_provider_anchors`` (PKI entity names or ``{file: ...}``;
default ``wallet-provider-ca``, the CA the development PKI lists). The verification is the pure
core's (``passerelle.oauth``, ``passerelle.oid4vci``); a check reads its part of what
was recorded by reason code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509

from passerelle import JsonObject, PasserelleError
from passerelle.trust import SVC_TYPE_WALLET_ISSUANCE, verify_lote

from .._context import CheckContext
from .._identities import has_file_anchor, resolve_anchors
from .._issuer_haip import (
    ATTESTATION_POP_AUDIENCE,
    AttestationSeen,
    DpopSeen,
    HaipDemands,
    KeyAttestationSeen,
)
from .._model import CheckError, CheckSkipped, ErrorClass, Requirement
from .._presenting import suite_pki
from .._registry import check, expect
from .wallet import PLAN, _said, _setup, _suite_issuer

__all__: list[str] = []

_DEFAULT_ANCHORS = ("wallet-provider-ca",)
#: A wallet that takes EU credentials meets HAIP 1.0; a Canadian-profile one need not.
_HAIP_PROFILES = ("eu-haip", "cross-border")
_DPOP_URL = "https://www.rfc-editor.org/rfc/rfc9449.html"
#: The HAIP text requirements.py pins (the same commit, so the matrix counts it covered).
_HAIP_KEY_ATTESTATION = (
    "https://github.com/openid/oid4vc-haip/blob/c396894fa628763d5575d9f12f80f8f9f4773067/"
    "openid4vc-high-assurance-interoperability-profile-1_0.md#L176"
)
#: The DPoP reasons each check owns; any other problem of a proof is WAL-HAIP-02's.
_REPLAY = ("dpop.jti_replayed",)
_ATH = ("dpop.ath_mismatch",)
_NONCE = ("dpop.nonce_missing", "dpop.nonce_mismatch")


@dataclass(frozen=True, slots=True)
class _HaipIssuance:
    issuer: str
    outcomes: list[JsonObject]
    attestations: list[AttestationSeen]
    dpop: list[DpopSeen]
    key_attestations: list[KeyAttestationSeen]
    dpop_nonces: list[str]
    pkce_problems: list[str]


def _listed_providers(ctx: CheckContext, listed: dict[str, Any]) -> tuple[x509.Certificate, ...]:
    """The wallet-provider certificates of a list of wallet providers (ETSI TS 119 602
    Annex E), fetched and verified with its operator's anchor by the core."""
    url = str(listed["url"])
    operator = resolve_anchors(
        [listed.get("anchor", "eu-lote-operator")],
        by_name=suite_pki(ctx).anchor if not has_file_anchor([listed.get("anchor")]) else None,
        what="wallet_providers_list.anchor",
    )
    response = ctx.http.get(url)
    if response.status_code != 200:
        raise CheckError(
            ErrorClass.SUITE, f"the list of wallet providers {url}: HTTP {response.status_code}"
        )
    try:
        lote = verify_lote(response.text.strip(), operator_anchors=operator, now=ctx.now())
    except PasserelleError as exc:
        raise CheckError(
            ErrorClass.SUITE, f"the list of wallet providers {url}: {exc.reason}: {exc.detail}"
        ) from exc
    anchors = lote.certificates_for(service_type=SVC_TYPE_WALLET_ISSUANCE)
    if not anchors:
        raise CheckError(ErrorClass.SUITE, f"the list {url} lists no wallet provider")
    return anchors


def _anchors(ctx: CheckContext) -> tuple[x509.Certificate, ...]:
    listed = ctx.target.get("wallet_providers_list")
    if isinstance(listed, dict) and isinstance(listed.get("url"), str):
        return ctx.shared(
            f"wallet:providers:{listed['url']}", lambda: _listed_providers(ctx, listed)
        )
    names = ctx.target.get("wallet_provider_anchors") or list(_DEFAULT_ANCHORS)
    if has_file_anchor(names):
        return tuple(resolve_anchors(names, by_name=None, what="wallet_provider_anchors"))
    setup = _setup(ctx)
    if setup.pki is None:
        raise CheckSkipped("no suite PKI and no wallet_provider_anchors files")
    pki = setup.pki
    try:
        return tuple(resolve_anchors(names, by_name=pki.anchor, what="wallet_provider_anchors"))
    except (KeyError, ValueError) as exc:
        raise CheckError(ErrorClass.SUITE, f"wallet_provider_anchors: {exc}") from exc


def _issue_haip(ctx: CheckContext) -> _HaipIssuance:
    """One authorization code issuance from the suite's HAIP issuer, every request of
    the wallet recorded and judged by the core."""
    setup = _setup(ctx)
    demands = HaipDemands(anchors=_anchors(ctx))
    issuer = _suite_issuer(ctx, setup, authorization_code=True)
    issuer.haip = demands
    with issuer:
        body: JsonObject = {
            "offer": issuer.offer_link(),
            "persona": str(ctx.target.get("persona") or "suite-holder"),
        }
        answer = ctx.http.post(f"{setup.backchannel}/offers", json=body)
        if answer.status_code >= 500:
            raise CheckError(
                ErrorClass.UNPARSEABLE,
                f"the wallet's backchannel failed: HTTP {answer.status_code}",
            )
        outcomes = ctx.json_object(answer, "the wallet's backchannel (offers)").get("outcomes")
        issuer.wait_for(lambda s: bool(s.notifications), timeout=setup.grace)
        return _HaipIssuance(
            issuer=issuer.url,
            outcomes=[o for o in outcomes if isinstance(o, dict)]
            if isinstance(outcomes, list)
            else [],
            attestations=list(demands.attestations),
            dpop=list(demands.dpop),
            key_attestations=list(demands.key_attestations),
            dpop_nonces=list(demands.nonces),
            pkce_problems=list(issuer.state.pkce_problems),
        )


def _haip_issuance(ctx: CheckContext) -> _HaipIssuance:
    return ctx.shared(
        f"wallet:{ctx.target.name}:suite-issuance:haip",
        lambda: _issue_haip(ctx),
        prerequisite=False,
    )


def _reached(seen: _HaipIssuance, endpoint: str, what: list[object]) -> None:
    if not what and seen.pkce_problems:
        # The suite refused the code for its PKCE: WAL-31's to judge, no step here.
        raise CheckSkipped(
            f"the suite refused the wallet's code ({'; '.join(seen.pkce_problems)}), so "
            f"nothing reached its {endpoint}"
        )
    expect(
        what,
        f"nothing reached the suite's {endpoint}: " + "; ".join(_said(o) for o in seen.outcomes),
    )


@check(
    "WAL-HAIP-01",
    "At PAR and token, the wallet authenticates with a wallet attestation from a listed "
    "wallet provider and a PoP addressed to the authorization server",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    catches=("wallet:attestation_pop_wrong_aud",),
    # The OIDF wallet plan verifies the attestation and DPoP inside its issuance module,
    # run in the plan's HAIP variant (client attestation, DPoP).
    oidf="oid4vci-1_0-wallet-test-credential-issuance",
    requirement=ATTESTATION_POP_AUDIENCE,
)
def _wallet_attestation(ctx: CheckContext) -> None:
    """HAIP 1.0 §4.4: the wallet attestation travels at PAR and the token endpoint.
    The core verifies the attestation's x5c chain to the wallet-provider anchors, its
    signature, the PoP's signature by the cnf key, its aud, jti (once) and iat."""
    seen = _haip_issuance(ctx)
    ctx.record(
        attestations=[
            {"endpoint": a.endpoint, "pop": a.pop_claims, "problem": a.problem}
            for a in seen.attestations
        ],
        outcomes=seen.outcomes,
    )
    for endpoint in ("/par", "/token"):
        _reached(seen, endpoint, [a for a in seen.attestations if a.endpoint == endpoint])
    for seen_one in seen.attestations:
        expect(seen_one.problem is None, f"at {seen_one.endpoint}: {seen_one.problem}")


def _dpop_problems(seen: _HaipIssuance, reasons: tuple[str, ...], *, owned: bool) -> list[str]:
    return [
        f"at {d.endpoint}: {d.problem}"
        for d in seen.dpop
        if d.problem is not None and ((d.reason in reasons) == owned)
    ]


@check(
    "WAL-HAIP-02",
    "The wallet's DPoP proofs at token and credential are typed, signed and name the "
    "request's method and URI",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    catches=("wallet:dpop_wrong_htu",),
    oidf="oid4vci-1_0-wallet-test-credential-issuance",
    requirement=Requirement(
        spec="RFC 9449",
        section="4.2",
        text="The JOSE Header of a DPoP JWT MUST contain at least the following parameters: "
        "typ: A field with the value dpop+jwt … The payload of a DPoP proof MUST contain at "
        "least the following claims: … htm: The value of the HTTP method (Section 9.1 of "
        "[RFC9110]) of the request to which the JWT is attached. htu: The HTTP target URI "
        "(Section 7.1 of [RFC9110]) of the request to which the JWT is attached, without "
        "query and fragment parts. iat: Creation timestamp of the JWT (Section 4.1.6 of "
        "[RFC7519]).",
        link=f"{_DPOP_URL}#section-4.2",
    ),
)
def _wallet_dpop(ctx: CheckContext) -> None:
    """The suite's metadata advertises ``dpop_signing_alg_values_supported``; each proof
    is put through the core's §4.3 checks. A reused jti, a missing ath and an ignored
    nonce are the next checks' to judge."""
    seen = _haip_issuance(ctx)
    ctx.record(dpop=[{"endpoint": d.endpoint, "problem": d.problem} for d in seen.dpop])
    problems = _dpop_problems(seen, _REPLAY + _ATH + _NONCE, owned=False)
    expect(not problems, "; ".join(problems))
    for endpoint in ("/token", "/credential"):
        _reached(seen, endpoint, [d for d in seen.dpop if d.endpoint == endpoint])


@check(
    "WAL-HAIP-03",
    "Every DPoP proof of the wallet has a jti of its own",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    catches=("wallet:dpop_reuse_jti",),
    requirement=Requirement(
        spec="RFC 9449",
        section="4.2",
        text="jti: Unique identifier for the DPoP proof JWT. The value MUST be assigned such "
        "that there is a negligible probability that the same value will be assigned to any "
        "other DPoP proof used in the same context during the time window of validity.",
        link=f"{_DPOP_URL}#section-4.2",
    ),
)
def _wallet_dpop_jti(ctx: CheckContext) -> None:
    seen = _haip_issuance(ctx)
    jtis = [d.claims.get("jti") for d in seen.dpop if d.claims]
    ctx.record(jtis=len(jtis), distinct=len(set(map(str, jtis))))
    expect(len(jtis) > 1, "fewer than two DPoP proofs reached the suite")
    problems = _dpop_problems(seen, _REPLAY, owned=True)
    expect(not problems, "; ".join(problems))


@check(
    "WAL-HAIP-04",
    "With a DPoP-bound access token, the wallet's proofs carry its hash in ath",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    catches=("wallet:no_dpop_ath",),
    requirement=Requirement(
        spec="RFC 9449",
        section="4.2",
        text="When the DPoP proof is used in conjunction with the presentation of an access "
        "token in protected resource access (see Section 7), the DPoP proof MUST also "
        "contain the following claim: ath: Hash of the access token.",
        link=f"{_DPOP_URL}#section-4.2",
    ),
)
def _wallet_dpop_ath(ctx: CheckContext) -> None:
    seen = _haip_issuance(ctx)
    at_credential = [d for d in seen.dpop if d.endpoint == "/credential"]
    ctx.record(credential=[{"ath": "ath" in d.claims, "problem": d.problem} for d in at_credential])
    _reached(seen, "/credential", list(at_credential))
    problems = _dpop_problems(seen, _ATH, owned=True)
    expect(not problems, "; ".join(problems))


@check(
    "WAL-HAIP-05",
    "After a use_dpop_nonce challenge, the wallet retries with the server's nonce",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    catches=("wallet:ignore_dpop_nonce",),
    requirement=Requirement(
        spec="RFC 9449",
        section="4.2",
        text="When the authentication server or resource server provides a DPoP-Nonce HTTP "
        "header in a response (see Sections 8 and 9), the DPoP proof MUST also contain the "
        "following claim: nonce: A recent nonce provided via the DPoP-Nonce HTTP header.",
        link=f"{_DPOP_URL}#section-4.2",
    ),
)
def _wallet_dpop_nonce(ctx: CheckContext) -> None:
    """The suite's token endpoint answers a first proof without a nonce with
    ``use_dpop_nonce`` and a ``DPoP-Nonce`` header (§8); the retry must carry it."""
    seen = _haip_issuance(ctx)
    challenged = [d for d in seen.dpop if d.challenged]
    retries = [d for d in seen.dpop if d.endpoint == "/token" and not d.challenged]
    ctx.record(challenged=len(challenged), retries=[d.claims.get("nonce") for d in retries])
    expect(challenged, "the suite's token endpoint never challenged the wallet for a nonce")
    expect(retries, "the wallet did not retry its token request after use_dpop_nonce")
    problems = _dpop_problems(seen, _NONCE, owned=True)
    expect(not problems, "; ".join(problems))


@check(
    "WAL-HAIP-06",
    "Key proofs carry a key attestation from a listed wallet provider that attests the proof's key",
    plan=PLAN,
    profiles=_HAIP_PROFILES,
    catches=("wallet:no_key_attestation",),
    requirement=Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4.5.1 (draft 04 text)",
        text="Wallets MUST support key attestations as defined in Annex D of [OIDF.OID4VCI].",
        link=_HAIP_KEY_ATTESTATION,
    ),
)
def _wallet_key_attestation(ctx: CheckContext) -> None:
    """The suite's proof type metadata has ``key_attestations_required`` (an empty
    object: any resistance); each key proof's attestation is verified by the core
    against the wallet-provider anchors, and the proof's key must be attested."""
    seen = _haip_issuance(ctx)
    ctx.record(key_attestations=[k.problem for k in seen.key_attestations])
    _reached(seen, "/credential", list(seen.key_attestations))
    for index, attested in enumerate(seen.key_attestations):
        expect(attested.problem is None, f"key proof {index}: {attested.problem}")
