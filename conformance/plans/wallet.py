"""Plan ``wallet``: the suite plays issuer and verifier against a wallet.

Modelled on the OpenID Foundation's OpenID4VP wallet test plan: a happy flow per
response mode and Client Identifier Prefix, then one negative module per rule the
wallet must enforce on a Request Object. The wallet is driven through its backchannel
(its test API: ``POST {backchannel}/offers``, ``POST {backchannel}/presentations``,
``GET {backchannel}/credentials``), so no step needs a person; the suite's own verifier
(:mod:`conformance._verifier_role`) serves each request and receives what the wallet
sends. A wallet target without a ``backchannel`` has every check skipped, saying so.

- WAL-01: the wallet is loaded with a credential from the issuer target the targets
  file names (``issuer``, ``configuration``, ``persona``), which the suite trusts; or,
  with ``suite_credential`` (``{file: sample.json}`` or ``{vct: …, claims: {…}}``), from
  the suite's own issuer, so that no issuer target is needed at all.
- WAL-02..08: an honest DCQL request for two claims, signed as the suite's verifier
  identity (``verifier_identity``, a WRPAC-listed access certificate). What reaches
  the suite's response_uri is judged: the vp_token, the state, the KB-JWT, the
  encryption of ``direct_post.jwt``, and that nothing beyond the two claims is disclosed.
- WAL-09..19: a request wrong in one way each. The wallet passes when no presentation
  reaches the response_uri and its backchannel reports a refusal (an error response
  sent to the response_uri is allowed). They run only once WAL-02 has shown that the
  wallet reaches the suite and answers an honest request, so a wallet that cannot reach
  the suite never passes a negative check by default.

Settings of the wallet target besides the above (all optional): ``claims`` (the claim
paths to request; default ``given_name`` and ``family_name`` when held),
``request_scheme`` (default ``openid4vp``), ``suite_verifier_host`` /
``suite_verifier_bind`` / ``suite_verifier_alt_host`` (see the verifier role's module
docstring), ``response_grace_seconds`` (how long a negative check waits for something
to arrive after the backchannel answered; default 0.1).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from passerelle import JsonObject, JsonValue, PasserelleError
from passerelle._json import b64url_decode
from passerelle.jose import (
    ALGORITHMS,
    PublicKey,
    UnverifiedJws,
    decode_unverified_jws,
    epoch,
    verify_jws,
)
from passerelle.mdoc import verify_device_response
from passerelle.oid4vci import PROOF_JWT_TYP
from passerelle.oid4vp import RequestUriMethod, ResponseMode, parse_vp_token
from passerelle.sd_jwt import (
    KB_JWT_TYP,
    SdJwt,
    hash_b64url,
    holder_key_of,
    parse_sd_jwt,
    process_disclosures,
)
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.services.pki import Pki, load_pki
from passerelle.services.runtime import SecretsRandom
from passerelle.x509 import san_dns_names, x509_hash

from .._adapters import make_offer
from .._context import CheckContext
from .._holder import discover, obtain_shared
from .._identities import file_identity
from .._interactive import ask_wallet, is_interactive, receive_interactively, wallet_backchannel
from .._issuer_role import ProofSeen, SuiteIssuer
from .._mdoc import claims_of as mdoc_claims_of
from .._mdoc import mdoc_query, session_transcript
from .._model import CheckError, CheckFailed, CheckSkipped, ErrorClass, Requirement, Severity
from .._presenting import suite_pki
from .._registry import check, expect
from .._verifier_role import (
    Arrival,
    Deviation,
    PendingRequest,
    SuiteVerifier,
    VerifierIdentity,
    foreign_key_identity,
    pki_identity,
    reissued_identity,
    untrusted_identity,
)

PLAN = "wallet"

_VP = "OpenID4VP 1.0"
_VP_URL = "https://openid.net/specs/openid-4-verifiable-presentations-1_0.html"
_QUERY_ID = "suite_credential"
#: Claims of an SD-JWT VC payload that are not the subject's data.
_NOT_SUBJECT_CLAIMS = frozenset(
    {"iss", "vct", "vct#integrity", "cnf", "iat", "exp", "nbf", "status", "sub", "_sd_alg"}
)
_ARRIVAL_WAIT_S = 5.0
_NO_SUCH_TYPE = "urn:passerelle:conformance:no-such-credential-type"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _vp(section: str, text: str) -> Requirement:
    anchor = f"appendix-{section}" if section[0].isalpha() else f"section-{section}"
    return Requirement(spec=_VP, section=section, text=text, link=f"{_VP_URL}#{anchor}")


def _rfc(number: int, section: str, text: str) -> Requirement:
    return Requirement(
        spec=f"RFC {number}",
        section=section,
        text=text,
        link=f"https://www.rfc-editor.org/rfc/rfc{number}.html#section-{section}",
    )


# OpenID4VP §5.9.3, x509_san_dns; the same rules hold for x509_hash.
_VALIDATE_SIGNATURE_AND_CHAIN = _vp(
    "5.9.3",
    "The Wallet MUST validate the signature and the trust chain of the X.509 certificate.",
)


# --- setup shared by every check ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Setup:
    backchannel: str
    pki: Pki | None
    """None when the verifier identity is a partner's certificate and key (no suite PKI)."""
    identity_name: str
    identity: VerifierIdentity
    host: str
    alt_host: str
    bind: str
    tls: tuple[Path, Path] | None
    scheme: str
    grace: float

    def verifier(self) -> SuiteVerifier:
        return SuiteVerifier(host=self.host, bind=self.bind, tls=self.tls)

    @property
    def client_id(self) -> str:
        return self.identity.x509_san_dns(self.host)


@dataclass(frozen=True, slots=True)
class _Held:
    credential_id: str
    format: str
    vct: str
    claims: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Presented:
    """An honest request and the presentation that reached the suite's response_uri."""

    pending: PendingRequest
    decision: JsonObject
    arrival: Arrival
    params: JsonObject
    presentation: str
    paths: tuple[tuple[str, ...], ...]

    @property
    def label(self) -> str:
        return f"{self.pending.response_mode} ({self.pending.client_id.split(':', 1)[0]})"


def _load_pki(directory: Path, ctx: CheckContext) -> Pki:
    try:
        return load_pki(directory, now=ctx.now())
    except PasserelleError as exc:
        raise CheckError(
            ErrorClass.SUITE, f"the suite's PKI at {directory} cannot be used: {exc.detail}"
        ) from exc


def _setup(ctx: CheckContext) -> _Setup:
    backchannel = wallet_backchannel(ctx)
    named = ctx.target.require("verifier_identity")
    own = file_identity(named, what=f"{ctx.target.name}.verifier_identity")
    directory = ctx.suite.pki_dir
    pki: Pki | None = None
    if directory is not None:
        pki = ctx.shared(f"wallet:pki:{directory}", lambda: _load_pki(directory, ctx))
    name = str(named) if own is None else "verifier_identity"
    if own is not None:
        # A partner-provided access certificate and key: nobody needs the operator's CA.
        identity = VerifierIdentity(signer=own.signer, x5c=own.x5c, leaf=own.leaf)
    elif pki is None:
        raise CheckSkipped(
            "the targets file gives no suite `pki`: the suite has no verifier identity to "
            "sign requests with"
        )
    else:
        try:
            identity = pki_identity(pki, name)
        except PasserelleError as exc:
            raise CheckSkipped(f"the suite's PKI has no verifier identity {name!r}") from exc
    host = str(ctx.target.get("suite_verifier_host", "localhost"))
    names = san_dns_names(identity.leaf)
    if host.lower() not in (n.lower() for n in names):
        raise CheckSkipped(
            f"the access certificate of {name} names {list(names)}, not the suite "
            f"verifier's host {host!r} (set suite_verifier_host)"
        )
    default_alt = "127.0.0.1" if host.lower() != "127.0.0.1" else "localhost"
    tls = None
    if ctx.target.url.startswith("https://") and pki is not None and pki.tls_certfile.is_file():
        tls = (pki.tls_certfile, pki.tls_keyfile)
    return _Setup(
        backchannel=backchannel,
        pki=pki,
        identity_name=name,
        identity=identity,
        host=host,
        alt_host=str(ctx.target.get("suite_verifier_alt_host", default_alt)),
        bind=str(ctx.target.get("suite_verifier_bind", "127.0.0.1")),
        tls=tls,
        scheme=str(ctx.target.get("request_scheme", "openid4vp")),
        grace=float(ctx.target.get("response_grace_seconds", 0.1)),
    )


def _said(decision: JsonObject) -> str:
    """The wallet's decision in one line, for messages."""
    keys = ("accepted", "stage", "reason", "detail")
    return ", ".join(f"{k}={decision[k]!r}" for k in keys if k in decision) or repr(decision)


# --- the wallet receives a credential -------------------------------------------------------


def _receive(ctx: CheckContext) -> _Held:
    backchannel = wallet_backchannel(ctx)
    if ctx.target.get("suite_credential") is not None:
        return _receive_from_suite(ctx, backchannel)
    issuer_name = str(ctx.target.require("issuer"))
    configuration = str(ctx.target.require("configuration"))
    persona = str(ctx.target.require("persona"))
    issuer = ctx.targets.get(issuer_name)
    if issuer is None or issuer.role != "issuer":
        raise CheckSkipped(f"the targets file has no issuer target {issuer_name!r}")
    made = make_offer(ctx, issuer, [configuration], persona, tx_code=True)
    offer = made.link
    if is_interactive(ctx):
        described = receive_interactively(
            ctx,
            lambda: discover(ctx, issuer).configuration(configuration),
            configuration,
            offer,
            made.tx_code,
        )
        return _Held(**described)
    answer = ctx.http.post(f"{backchannel}/offers", json={"offer": offer, "tx_code": made.tx_code})
    return _held(ctx, backchannel, answer, f"{configuration} from {issuer_name}")


def _receive_from_suite(ctx: CheckContext, backchannel: str) -> _Held:
    """The credential of ``suite_credential``, offered by the suite's own issuer."""
    setup = _setup(ctx)
    vct, claims, _ = _credential_spec(ctx.target.get("suite_credential"))
    with _suite_issuer(ctx, setup) as issuer:
        link = issuer.offer_link()
        if is_interactive(ctx):
            described = receive_interactively(
                ctx,
                lambda: {
                    "format": "dc+sd-jwt",
                    "vct": vct,
                    "claims": [{"path": [name]} for name in claims],
                },
                vct,
                link,
                None,
            )
            return _Held(**described)
        answer = ctx.http.post(f"{backchannel}/offers", json={"offer": link})
    return _held(ctx, backchannel, answer, f"{vct} from the suite's issuer")


def _held(ctx: CheckContext, backchannel: str, answer: httpx.Response, what: str) -> _Held:
    """What the wallet says it did with an offer, and the credential it lists for it."""
    if answer.status_code >= 500:
        raise CheckError(
            ErrorClass.UNPARSEABLE, f"the wallet's backchannel failed: HTTP {answer.status_code}"
        )
    outcomes = ctx.json_object(answer, "the wallet's backchannel (offers)").get("outcomes")
    if not isinstance(outcomes, list):
        raise CheckError(ErrorClass.UNPARSEABLE, "the backchannel's answer has no `outcomes`")
    ctx.record(issuance_outcomes=outcomes)
    accepted = [o for o in outcomes if isinstance(o, dict) and o.get("accepted") is True]
    expect(
        accepted,
        f"the wallet did not obtain and accept {what}: "
        + "; ".join(_said(o) for o in outcomes if isinstance(o, dict)),
    )
    credential_id = accepted[0].get("credential_id")
    listed = ctx.json(ctx.http.get(f"{backchannel}/credentials"), "the wallet's credentials")
    entry = next(
        (
            c
            for c in (listed if isinstance(listed, list) else [])
            if isinstance(c, dict) and c.get("credential_id") == credential_id
        ),
        None,
    )
    expect(
        entry is not None,
        f"the credential the wallet accepted ({credential_id}) is not among those it lists",
    )
    assert entry is not None
    claims = entry.get("claims")
    return _Held(
        credential_id=str(credential_id),
        format=str(entry.get("format")),
        vct=str(entry.get("credential_type")),
        claims=tuple(str(c) for c in claims) if isinstance(claims, list) else (),
    )


def _credential(ctx: CheckContext, *, prerequisite: bool = True) -> _Held:
    return ctx.shared(
        f"wallet:{ctx.target.name}:credential", lambda: _receive(ctx), prerequisite=prerequisite
    )


def _requested_paths(ctx: CheckContext, held: _Held) -> tuple[tuple[str, ...], ...]:
    configured = ctx.target.get("claims")
    if isinstance(configured, list) and configured:
        return tuple(tuple(str(p) for p in path) for path in configured)
    preferred = [c for c in ("given_name", "family_name") if c in held.claims]
    others = [c for c in held.claims if c not in _NOT_SUBJECT_CLAIMS and c not in preferred]
    chosen = (preferred + others)[:2]
    if len(chosen) < 2:
        raise CheckSkipped(f"the credential {held.vct} holds fewer than two claims to ask for")
    return tuple((c,) for c in chosen)


def _query(held: _Held, paths: Sequence[Sequence[str]], *, vct: str | None = None) -> JsonObject:
    claims: list[JsonValue] = [{"path": list(p)} for p in paths]
    return {
        "credentials": [
            {
                "id": _QUERY_ID,
                "format": held.format,
                "meta": {"vct_values": [vct or held.vct]},
                "claims": claims,
            }
        ]
    }


# --- asking the wallet ----------------------------------------------------------------------


def _ask(ctx: CheckContext, setup: _Setup, pending: PendingRequest) -> JsonObject:
    """Hand the wallet the request link (its backchannel, or a person's device); its
    decision."""
    return ask_wallet(ctx, setup.backchannel, pending)


def _claim_at(claims: JsonObject, path: Sequence[str]) -> bool:
    value: JsonValue = claims
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return False
        value = value[step]
    return True


def _present_honestly(ctx: CheckContext, *, mode: ResponseMode, by_hash: bool) -> _Presented:
    setup = _setup(ctx)
    held = _credential(ctx)
    if held.format != "dc+sd-jwt":
        raise CheckSkipped(f"the wallet's credential is {held.format}, not an SD-JWT VC")
    paths = _requested_paths(ctx, held)
    client_id = setup.identity.x509_hash if by_hash else setup.client_id
    with setup.verifier() as verifier:
        pending = verifier.create_request(
            identity=setup.identity,
            client_id=client_id,
            dcql_query=_query(held, paths),
            now=ctx.now(),
            response_mode=mode,
            scheme=setup.scheme,
            # The encrypted flow also exercises request_uri_method=post (§5.10).
            request_uri_method=(
                RequestUriMethod.POST if mode is ResponseMode.DIRECT_POST_JWT else None
            ),
        )
        decision = _ask(ctx, setup, pending)
        arrivals = verifier.wait_for_arrival(pending, timeout=_ARRIVAL_WAIT_S)
    ctx.record(request=pending.evidence(), decision=decision)
    sent = [a for a in arrivals if a.carries_presentation]
    expect(
        sent,
        f"no presentation reached the suite's response_uri ({mode.value}, {client_id}); "
        f"the wallet decided: {_said(decision)}",
    )
    arrival = sent[0]
    if mode is ResponseMode.DIRECT_POST_JWT:
        expect(
            arrival.encrypted,
            "under direct_post.jwt the response came unencrypted (no `response` parameter)",
        )
    else:
        expect(not arrival.encrypted, "under direct_post the response came as a JWE")
    expect(
        arrival.params is not None,
        f"the response at the response_uri cannot be read: {arrival.problem}",
    )
    assert arrival.params is not None
    try:
        vp_token = parse_vp_token(arrival.params.get("vp_token"))
    except PasserelleError as exc:
        raise CheckFailed(f"vp_token is not a DCQL vp_token: {exc.detail}") from exc
    items = vp_token.get(_QUERY_ID)
    expect(
        items is not None,
        f"vp_token has no entry for the credential query {_QUERY_ID!r}: {sorted(vp_token)}",
    )
    assert items is not None
    expect(
        len(items) == 1,
        f"vp_token[{_QUERY_ID!r}] holds {len(items)} presentations; `multiple` was not set",
    )
    presentation = items[0]
    expect(isinstance(presentation, str), "an SD-JWT VC presentation is a string")
    assert isinstance(presentation, str)
    try:
        sd = parse_sd_jwt(presentation)
        claims = process_disclosures(sd, sd.unverified_payload()).claims
    except PasserelleError as exc:
        raise CheckFailed(f"the presentation is not a valid SD-JWT: {exc.detail}") from exc
    missing = [".".join(p) for p in paths if not _claim_at(claims, p)]
    expect(
        not missing,
        f"the presentation does not disclose the requested claims {missing}",
        requested=[list(p) for p in paths],
    )
    return _Presented(
        pending=pending,
        decision=decision,
        arrival=arrival,
        params=arrival.params,
        presentation=presentation,
        paths=paths,
    )


def _presented(
    ctx: CheckContext,
    mode: ResponseMode = ResponseMode.DIRECT_POST,
    *,
    by_hash: bool = False,
    prerequisite: bool = True,
) -> _Presented:
    key = f"wallet:{ctx.target.name}:presented:{mode.value}:{'hash' if by_hash else 'dns'}"
    return ctx.shared(
        key,
        lambda: _present_honestly(ctx, mode=mode, by_hash=by_hash),
        prerequisite=prerequisite,
    )


def _both_modes(ctx: CheckContext) -> list[_Presented]:
    """The direct_post presentation (required) and the direct_post.jwt one if it came:
    WAL-03 reports an encrypted flow that failed; the checks reading both still judge
    the plain one."""
    found = [_presented(ctx)]
    try:
        found.append(_presented(ctx, ResponseMode.DIRECT_POST_JWT))
    except (CheckSkipped, CheckError) as exc:
        ctx.record(direct_post_jwt=f"not judged: {exc}")
    return found


def _refused(
    ctx: CheckContext,
    setup: _Setup,
    *,
    why: str,
    identity: VerifierIdentity | None = None,
    client_id: str | None = None,
    deviation: Deviation | None = None,
    vct: str | None = None,
    dcql_query: JsonObject | None = None,
) -> None:
    """Send a request wrong in one way; the wallet must not present anything."""
    held = _credential(ctx)
    # The wallet reaches the suite and answers it honestly: a refusal below means it
    # refused this request, not that it could not reach the suite.
    _presented(ctx)
    paths = _requested_paths(ctx, held)
    signer = identity or setup.identity
    with setup.verifier() as verifier:
        pending = verifier.create_request(
            identity=signer,
            client_id=client_id or signer.x509_san_dns(setup.host),
            dcql_query=dcql_query or _query(held, paths, vct=vct),
            now=ctx.now(),
            deviation=deviation,
            scheme=setup.scheme,
        )
        decision = _ask(ctx, setup, pending)
        arrivals = verifier.wait_for_arrival(pending, timeout=setup.grace)
    ctx.record(request=pending.evidence(), decision=decision)
    sent = [a.summary() for a in arrivals if a.carries_presentation]
    expect(
        not sent,
        f"the wallet sent a response other than an error to the response_uri although {why}",
        sent=sent,
    )
    expect(
        decision.get("accepted") is False,
        f"the wallet's backchannel does not report a refusal although {why}: {_said(decision)}",
    )


# --- key binding ----------------------------------------------------------------------------


def _key_binding(presented: _Presented) -> tuple[SdJwt, UnverifiedJws, JsonObject]:
    try:
        sd = parse_sd_jwt(presented.presentation)
    except PasserelleError as exc:
        raise CheckFailed(f"{presented.label}: not an SD-JWT: {exc.detail}") from exc
    expect(
        sd.kb_jwt is not None,
        f"{presented.label}: the presentation has no KB-JWT, though the credential is key-bound",
    )
    assert sd.kb_jwt is not None
    try:
        kb = decode_unverified_jws(sd.kb_jwt, what="KB-JWT")
        payload = kb.payload_json(what="KB-JWT payload")
    except PasserelleError as exc:
        raise CheckFailed(f"{presented.label}: the KB-JWT is malformed: {exc.detail}") from exc
    return sd, kb, payload


def _binding_problems(presented: _Presented) -> list[str]:
    _, _, payload = _key_binding(presented)
    problems = []
    if payload.get("nonce") != presented.pending.nonce:
        problems.append(
            f"{presented.label}: KB-JWT nonce {payload.get('nonce')!r} is not the request's "
            f"nonce {presented.pending.nonce!r}"
        )
    if payload.get("aud") != presented.pending.client_id:
        problems.append(
            f"{presented.label}: KB-JWT aud {payload.get('aud')!r} is not the Client "
            f"Identifier {presented.pending.client_id!r}"
        )
    return problems


# --- happy paths ----------------------------------------------------------------------------


@check(
    "WAL-01",
    "The wallet obtains a credential from the configured issuer (pre-authorized code, "
    "Transaction Code)",
    plan=PLAN,
    # Real issuers have a nonce endpoint: a proof without the nonce buys nothing. A HAIP
    # issuer (the EU one) verifies the DPoP proofs a wallet sends even with a
    # pre-authorized code, so a wallet that gets them wrong gets nothing; wallet_haip.py
    # judges them one by one (and the wallet attestation, sent in the code flow only).
    catches=(
        "wallet:proof_without_nonce",
        "wallet:dpop_reuse_jti",
        "wallet:dpop_wrong_htu",
        "wallet:no_dpop_ath",
        "wallet:ignore_dpop_nonce",
    ),
    requirement=Requirement(
        spec="OpenID4VCI 1.0",
        section="6.1",
        text="tx_code: OPTIONAL. String value containing a Transaction Code value itself. "
        "This value MUST be present if a tx_code object was present in the Credential "
        "Offer (including if the object was empty).",
        link="https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"
        "#section-6.1",
    ),
)
def _receives_credential(ctx: CheckContext) -> None:
    held = _credential(ctx, prerequisite=False)
    ctx.record(credential=held.vct, format=held.format, claims=list(held.claims))


@check(
    "WAL-02",
    "An honest DCQL request (x509_san_dns, direct_post) gets a vp_token with the requested "
    "claims at the response_uri",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-happy-flow",
    requirement=_vp(
        "8.1",
        "vp_token: REQUIRED. This is a JSON-encoded object containing entries where the key "
        "is the id value used for a Credential Query in the DCQL query and the value is an "
        "array of one or more Presentations that match the respective Credential Query. "
        "When multiple is omitted, or set to false, the array MUST contain only one "
        "Presentation.",
    ),
)
def _direct_post(ctx: CheckContext) -> None:
    presented = _presented(ctx, prerequisite=False)
    ctx.record(requested=[list(p) for p in presented.paths])


@check(
    "WAL-03",
    "Under direct_post.jwt the response is a JWE encrypted to the suite's key, with its kid",
    plan=PLAN,
    catches=("wallet:ignore_response_enc",),
    oidf=("oid4vp-1final-wallet-happy-flow", "oid4vp-1final-wallet-request-uri-method-post"),
    requirement=_vp(
        "8.3",
        "To encrypt the Authorization Response, implementations MUST use an unsigned, "
        "encrypted JWT as described in [RFC7519].",
    ),
)
def _direct_post_jwt(ctx: CheckContext) -> None:
    presented = _presented(ctx, ResponseMode.DIRECT_POST_JWT, prerequisite=False)
    header = presented.arrival.jwe_header or {}
    ctx.record(jwe_header=header)
    # §8.3: "If the selected public key contains a kid parameter, the JWE MUST include
    # the same value in the kid JWE Header Parameter".
    expect(
        header.get("kid") == presented.pending.encryption_kid,
        f"JWE kid {header.get('kid')!r} is not the kid of the suite's key "
        f"{presented.pending.encryption_kid!r}",
    )
    # §8.3: "The JWE alg algorithm used MUST be equal to the alg value of the chosen jwk".
    expect(header.get("alg") == "ECDH-ES", f"JWE alg {header.get('alg')!r} is not ECDH-ES")
    expect(
        header.get("enc") == "A128GCM",
        f"JWE enc {header.get('enc')!r} is not the one the suite offered (A128GCM)",
    )


@check(
    "WAL-04",
    "The response echoes the request's state (direct_post and direct_post.jwt)",
    plan=PLAN,
    requirement=_rfc(
        6749,
        "4.1.2",
        'state: REQUIRED if the "state" parameter was present in the client authorization '
        "request. The exact value received from the client.",
    ),
)
def _state_echoed(ctx: CheckContext) -> None:
    for presented in _both_modes(ctx):
        got = presented.params.get("state")
        expect(
            got == presented.pending.state,
            f"{presented.label}: state {got!r} is not the request's {presented.pending.state!r}",
        )


@check(
    "WAL-05",
    "The KB-JWT carries the request's nonce and the full Client Identifier as aud",
    plan=PLAN,
    requirement=_vp(
        "B.3.6",
        "The following requirements apply to the nonce and aud claims in the Key Binding "
        "JWT: the nonce claim MUST be the value of nonce from the Authorization Request; "
        "the aud claim MUST be the value of the Client Identifier, except for requests "
        "over the DC API where it MUST be the Origin prefixed with origin:",
    ),
    catches=("wallet:wrong_kb_aud",),
)
def _kb_binding(ctx: CheckContext) -> None:
    found = _both_modes(ctx)
    problems = [p for presented in found for p in _binding_problems(presented)]
    ctx.record(kb_payloads={p.label: _key_binding(p)[2] for p in found})
    expect(not problems, "; ".join(problems))


@check(
    "WAL-06",
    "The KB-JWT is typed kb+jwt, signed by the credential's cnf key, and its sd_hash covers "
    "the presented SD-JWT",
    plan=PLAN,
    requirement=_rfc(
        9901,
        "4.3.1",
        "The sd_hash value MUST be taken over the US-ASCII bytes of the encoded SD-JWT, "
        "i.e., the Issuer-signed JWT, a tilde character, and zero or more Disclosures "
        "selected for presentation to the Verifier, each followed by a tilde character",
    ),
)
def _kb_integrity(ctx: CheckContext) -> None:
    for presented in _both_modes(ctx):
        sd, kb, payload = _key_binding(presented)
        issuer_payload = sd.unverified_payload()
        try:
            holder = holder_key_of(issuer_payload)
        except PasserelleError as exc:
            raise CheckError(
                ErrorClass.UNPARSEABLE, f"the credential names no holder key: {exc.detail}"
            ) from exc
        try:
            verify_jws(kb, key=holder, algorithms=tuple(ALGORITHMS), typ=KB_JWT_TYP)
        except PasserelleError as exc:
            raise CheckFailed(
                f"{presented.label}: the KB-JWT does not verify under the credential's "
                f"cnf key as {KB_JWT_TYP}: {exc.reason}: {exc.detail}",
                kb_header=kb.header,
            ) from exc
        alg = issuer_payload.get("_sd_alg", "sha-256")
        try:
            expected = hash_b64url(str(alg), sd.without_key_binding)
        except PasserelleError as exc:
            raise CheckError(ErrorClass.UNPARSEABLE, exc.detail) from exc
        expect(
            payload.get("sd_hash") == expected,
            f"{presented.label}: KB-JWT sd_hash {payload.get('sd_hash')!r} is not the "
            f"{alg} digest of the presented SD-JWT ({expected!r})",
        )
        expect(
            isinstance(payload.get("iat"), int | float),
            f"{presented.label}: the KB-JWT has no numeric iat",
        )


@check(
    "WAL-07",
    "An honest request under the x509_hash prefix is answered, bound to the full "
    "x509_hash Client Identifier",
    plan=PLAN,
    requirement=Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="5",
        text="For signed requests, the Verifier MUST use, and the Wallet MUST accept the "
        "Client Identifier Prefix x509_hash as defined in Section 5.9.3 of [OIDF.OID4VP].",
        link="https://openid.net/specs/"
        "openid4vc-high-assurance-interoperability-profile-1_0-final.html#section-5",
    ),
    catches=("wallet:wrong_kb_aud",),
)
def _x509_hash(ctx: CheckContext) -> None:
    presented = _presented(ctx, by_hash=True, prerequisite=False)
    problems = _binding_problems(presented)
    expect(not problems, "; ".join(problems))


@check(
    "WAL-08",
    "Only the requested claims are disclosed (data minimisation)",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-fewer-claims-than-available",
    requirement=_vp(
        "6.4",
        "Wallets MUST NOT send selectively disclosable claims that have not been selected "
        "according to the rules below.",
    ),
    catches=("wallet:disclose_all",),
)
def _minimal_disclosure(ctx: CheckContext) -> None:
    def related(a: Sequence[object], b: Sequence[object]) -> bool:
        # A disclosure on the way to a requested claim, or inside one, was selected.
        n = min(len(a), len(b))
        return tuple(a[:n]) == tuple(b[:n])

    for presented in _both_modes(ctx):
        sd, _, _ = _key_binding(presented)
        try:
            revealed = process_disclosures(sd, sd.unverified_payload()).revealed
        except PasserelleError as exc:
            raise CheckFailed(f"{presented.label}: disclosures: {exc.detail}") from exc
        extra = sorted(
            {
                ".".join(str(s) for s in r.path)
                for r in revealed
                if not any(related(r.path, p) for p in presented.paths)
            }
        )
        ctx.record(disclosed=sorted(".".join(str(s) for s in r.path) for r in revealed))
        expect(
            not extra,
            f"{presented.label}: disclosed beyond the requested "
            f"{['.'.join(p) for p in presented.paths]}: {extra}",
        )


# --- negatives: who signs -------------------------------------------------------------------


@check(
    "WAL-09",
    "A request signed under a certificate that chains to no listed WRPAC provider is refused",
    plan=PLAN,
    requirement=_VALIDATE_SIGNATURE_AND_CHAIN,
    catches=("wallet:accept_untrusted_verifier",),
)
def _untrusted_verifier(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    identity = untrusted_identity(dns_names=[setup.host], now=ctx.now())
    _refused(
        ctx,
        setup,
        why="the access certificate chains to a CA the suite just made, on no trust list",
        identity=identity,
    )


@check(
    "WAL-10",
    "A request whose signature is not by the x5c leaf's key is refused",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-negative-test-invalid-request-object-signature",
    requirement=_VALIDATE_SIGNATURE_AND_CHAIN,
    catches=("wallet:skip_request_signature",),
)
def _signature_mismatch(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    _refused(
        ctx,
        setup,
        why="the Request Object is signed by a key other than the x5c leaf's",
        identity=foreign_key_identity(setup.identity),
    )


@check(
    "WAL-11",
    "An x509_san_dns Client Identifier that is not a SAN dNSName of the leaf is refused",
    plan=PLAN,
    requirement=_vp(
        "5.9.3",
        "When the Client Identifier Prefix is x509_san_dns, the original Client Identifier "
        "(the part after the x509_san_dns: prefix) MUST be a DNS name and match a dNSName "
        "Subject Alternative Name (SAN) [RFC5280] entry in the leaf certificate passed "
        "with the request.",
    ),
    catches=("wallet:ignore_client_id_binding",),
)
def _san_mismatch(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    if setup.pki is None:
        raise CheckSkipped("re-issuing the access certificate needs the suite's PKI (suite.pki)")
    # Issued by the same listed CA, so only the binding of the name is wrong.
    identity = reissued_identity(
        setup.pki,
        setup.identity_name,
        dns_names=["suite-other-verifier.invalid"],
        now=ctx.now(),
    )
    _refused(
        ctx,
        setup,
        why=f"{setup.host!r} is not in the leaf certificate's SAN",
        identity=identity,
        client_id=identity.x509_san_dns(setup.host),
    )


@check(
    "WAL-12",
    "An x509_hash Client Identifier that is not the hash of the leaf is refused",
    plan=PLAN,
    requirement=_vp(
        "5.9.3",
        "When the Client Identifier Prefix is x509_hash, the original Client Identifier "
        "(the part without the x509_hash: prefix) MUST be a hash and match the hash of the "
        "leaf certificate passed with the request.",
    ),
    catches=("wallet:ignore_client_id_binding",),
)
def _hash_mismatch(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    # Only meaningful if the wallet answers an honest x509_hash request (WAL-07).
    _presented(ctx, by_hash=True)
    if setup.pki is None:
        raise CheckSkipped("the issuing CA's certificate comes from the suite's PKI (suite.pki)")
    other = setup.pki.anchor(setup.identity_name)
    _refused(
        ctx,
        setup,
        why="the x509_hash is the hash of the issuing CA's certificate, not of the leaf",
        client_id=f"x509_hash:{x509_hash(other)}",
    )


@check(
    "WAL-13",
    "Under x509_san_dns, a response_uri on another host than the Client Identifier is refused",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-negative-test-response-uri-not-client-id",
    requirement=_vp(
        "5.9.3",
        "If the Wallet can establish trust in the Client Identifier authenticated through "
        "the certificate, e.g. because the Client Identifier is contained in a list of "
        "trusted Client Identifiers, it may allow the client to freely choose the "
        "redirect_uri value. If not, the FQDN of the redirect_uri value MUST match the "
        "Client Identifier without the prefix x509_san_dns:.",
    ),
)
def _response_uri_host(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    _refused(
        ctx,
        setup,
        why=f"the response_uri host {setup.alt_host!r} is not the x509_san_dns name {setup.host!r}",
        deviation=Deviation(response_uri_host=setup.alt_host),
    )


# --- negatives: the Request Object itself --------------------------------------------------


@check(
    "WAL-14",
    "A Request Object whose typ is not oauth-authz-req+jwt is refused",
    plan=PLAN,
    requirement=_vp(
        "5",
        "Wallets MUST NOT process Request Objects where the typ Header Parameter is not "
        "present or does not have the value oauth-authz-req+jwt.",
    ),
)
def _wrong_typ(ctx: CheckContext) -> None:
    _refused(ctx, _setup(ctx), why="the Request Object typ is JWT", deviation=Deviation(typ="JWT"))


@check(
    "WAL-15",
    "A request without a nonce is refused",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-negative-test-missing-nonce",
    requirement=_vp(
        "5.2",
        "nonce: REQUIRED. A case-sensitive String representing a value to securely bind "
        "Verifiable Presentation(s) provided by the Wallet to the particular transaction.",
    ),
)
def _missing_nonce(ctx: CheckContext) -> None:
    _refused(
        ctx,
        _setup(ctx),
        why="the request has no nonce",
        deviation=Deviation(omit=frozenset({"nonce"})),
    )


@check(
    "WAL-16",
    "A request with a response_mode the wallet cannot use gets no presentation by another mode",
    plan=PLAN,
    requirement=_vp(
        "5.6",
        "Both successful and error responses SHOULD be returned using the supplied Response "
        "Mode, or if none is supplied, using the default Response Mode.",
    ),
    severity=Severity.RECOMMENDED,
)
def _unsupported_response_mode(ctx: CheckContext) -> None:
    mode = "direct_post.suite-unsupported"
    _refused(
        ctx,
        _setup(ctx),
        why=f"the request's response_mode is {mode!r}",
        deviation=Deviation(response_mode=mode),
    )


@check(
    "WAL-17",
    "A Request Object for another audience is refused",
    plan=PLAN,
    requirement=_rfc(
        7519,
        "4.1.3",
        "If the principal processing the claim does not identify itself with a value in the "
        '"aud" claim when this claim is present, then the JWT MUST be rejected.',
    ),
)
def _wrong_aud(ctx: CheckContext) -> None:
    aud = "https://another-wallet.suite.invalid"
    # OpenID4VP §5.8: aud is the Wallet's issuer, or https://self-issued.me/v2 with static
    # discovery; a Wallet that is neither is not the principal the JWT is for.
    _refused(
        ctx,
        _setup(ctx),
        why=f"the Request Object's aud is {aud!r}",
        deviation=Deviation(aud=aud),
    )


@check(
    "WAL-18",
    "An expired Request Object is refused",
    plan=PLAN,
    requirement=_rfc(
        7519,
        "4.1.4",
        'The "exp" (expiration time) claim identifies the expiration time on or after which '
        "the JWT MUST NOT be accepted for processing.",
    ),
)
def _expired(ctx: CheckContext) -> None:
    # Ten minutes past exp: beyond any reasonable clock skew.
    _refused(
        ctx,
        _setup(ctx),
        why="the Request Object expired ten minutes ago",
        deviation=Deviation(issued_ago=timedelta(minutes=15), lifetime=timedelta(minutes=5)),
    )


@check(
    "WAL-19",
    "A DCQL query no held credential satisfies is declined, with no presentation",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-negative-test-required-non-matching-credential",
    requirement=_vp(
        "6.4.2",
        "If the Wallet cannot deliver all non-optional Credentials requested by the "
        "Verifier according to these rules, it MUST NOT return any Credential(s).",
    ),
)
def _no_matching_credential(ctx: CheckContext) -> None:
    _refused(
        ctx,
        _setup(ctx),
        why=f"the wallet holds no credential of type {_NO_SUCH_TYPE}",
        vct=_NO_SUCH_TYPE,
    )


@check(
    "WAL-20",
    "A required credential set the wallet can only half answer gets no partial vp_token",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-negative-test-required-non-matching-credential",
    catches=("wallet:partial_credential_sets",),
    requirement=_vp(
        "6.4.2",
        "If the Wallet cannot deliver all non-optional Credentials requested by the "
        "Verifier according to these rules, it MUST NOT return any Credential(s).",
    ),
)
def _partial_credential_set(ctx: CheckContext) -> None:
    """One required set, one option: the held credential and one of a type nobody
    holds. Answering only the held one would satisfy no option of the set."""
    held = _credential(ctx)
    query = _query(held, _requested_paths(ctx, held))
    held_query = query["credentials"][0]  # type: ignore[index]
    missing: JsonObject = {
        "id": "not_held",
        "format": held.format,
        "meta": {"vct_values": [_NO_SUCH_TYPE]},
    }
    _refused(
        ctx,
        _setup(ctx),
        why=f"the one option of the required credential set includes {_NO_SUCH_TYPE}",
        dcql_query={
            "credentials": [held_query, missing],
            "credential_sets": [{"options": [[_QUERY_ID, "not_held"]], "required": True}],
        },
    )


# --- requests the wallet must refuse, from the OIDF wallet plan ------------------------------


@check(
    "WAL-21",
    "A direct_post request that also carries a redirect_uri is refused",
    plan=PLAN,
    catches=("wallet:ignore_redirect_uri",),
    oidf="oid4vp-1final-wallet-negative-test-redirect-uri-with-direct-post",
    requirement=_vp(
        "8.2",
        "If the redirect_uri Authorization Request parameter is present when the Response "
        "Mode is direct_post, the Wallet MUST return an invalid_request Authorization "
        "Response error.",
    ),
)
def _redirect_uri_with_direct_post(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    _refused(
        ctx,
        setup,
        why="the request carries a redirect_uri next to response_uri under direct_post",
        deviation=Deviation(extra_claims={"redirect_uri": f"https://{setup.host}/elsewhere"}),
    )


@check(
    "WAL-22",
    "A request with a transaction_data entry of an unknown type is refused",
    plan=PLAN,
    catches=("wallet:ignore_transaction_data",),
    oidf="oid4vp-1final-wallet-negative-test-unknown-transaction-data-type",
    requirement=_vp(
        "5.1",
        "The Wallet MUST return an error if a request contains even one unrecognized "
        "transaction data type or transaction data not conforming to the respective type "
        "definition.",
    ),
)
def _unknown_transaction_data(ctx: CheckContext) -> None:
    entry = {
        "type": "urn:passerelle:conformance:no-such-transaction",
        "credential_ids": [_QUERY_ID],
    }
    encoded = _b64url(json.dumps(entry).encode())
    _refused(
        ctx,
        _setup(ctx),
        why="its transaction_data names a type no wallet knows",
        deviation=Deviation(extra_claims={"transaction_data": [encoded]}),
    )


@check(
    "WAL-23",
    "A request URL whose client_id differs from the Request Object's is refused",
    plan=PLAN,
    catches=("wallet:ignore_url_client_id",),
    oidf="oid4vp-1final-wallet-negative-test-mismatched-client-id",
    requirement=_vp(
        "5.10.1",
        "The Client Identifier value in the client_id Authorization Request parameter and "
        "the Request Object client_id claim value MUST be identical, including the Client "
        "Identifier Prefix. If any of these conditions are not met, the Wallet MUST terminate "
        "request processing.",
    ),
)
def _mismatched_client_id(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    _refused(
        ctx,
        setup,
        why="the request URL names another client_id than the Request Object",
        deviation=Deviation(url_client_id=setup.identity.x509_hash),
    )


@check(
    "WAL-24",
    "A request under an unknown Client Identifier Prefix is refused",
    plan=PLAN,
    catches=("wallet:ignore_client_id_prefix",),
    oidf="oid4vp-1final-wallet-negative-test-invalid-client-id-prefix",
    requirement=_vp(
        "5.9.2",
        "If a : character is present in the Client Identifier but the value preceding it is "
        "not a recognized and supported Client Identifier Prefix value, the Wallet can treat "
        "the Client Identifier as referring to a pre-registered client or it may refuse the "
        "request.",
    ),
    severity=Severity.RECOMMENDED,
)
def _invalid_client_id_prefix(ctx: CheckContext) -> None:
    # A client no wallet has pre-registered: whichever branch the wallet takes, it has
    # nothing to trust the request with, so nothing may be presented.
    setup = _setup(ctx)
    unknown = f"invalid_prefix:{setup.host}"
    _refused(
        ctx,
        setup,
        why="its client_id prefix is invalid_prefix:, for a client nobody pre-registered",
        deviation=Deviation(extra_claims={"client_id": unknown}, url_client_id=unknown),
    )


# --- requests the wallet must answer, from the OIDF wallet plan ------------------------------


def _answered(
    ctx: CheckContext,
    *,
    dcql_query: JsonObject,
    mode: ResponseMode = ResponseMode.DIRECT_POST,
    deviation: Deviation | None = None,
) -> tuple[PendingRequest, Arrival, dict[str, Any]]:
    """An honest request but for ``dcql_query`` (or ``deviation``): what arrived, read."""
    setup = _setup(ctx)
    _presented(ctx)  # the wallet reaches the suite and answers a plain request
    with setup.verifier() as verifier:
        pending = verifier.create_request(
            identity=setup.identity,
            client_id=setup.client_id,
            dcql_query=dcql_query,
            now=ctx.now(),
            response_mode=mode,
            deviation=deviation,
            scheme=setup.scheme,
        )
        decision = _ask(ctx, setup, pending)
        arrivals = verifier.wait_for_arrival(pending, timeout=_ARRIVAL_WAIT_S)
    ctx.record(request=pending.evidence(), decision=decision)
    sent = [a for a in arrivals if a.carries_presentation]
    expect(sent, f"no presentation reached the suite's response_uri: {_said(decision)}")
    arrival = sent[0]
    expect(
        arrival.params is not None,
        f"the response at the response_uri cannot be read: {arrival.problem}",
    )
    assert arrival.params is not None
    try:
        vp_token = parse_vp_token(arrival.params.get("vp_token"))
    except PasserelleError as exc:
        raise CheckFailed(f"vp_token is not a DCQL vp_token: {exc.detail}") from exc
    return pending, arrival, dict(vp_token)


@check(
    "WAL-25",
    "An optional credential set the wallet cannot meet does not stop the required one",
    plan=PLAN,
    catches=("wallet:optional_sets_required",),
    oidf="oid4vp-1final-wallet-optional-credential-set",
    requirement=_vp(
        "6.4.2",
        "Otherwise, the Verifier requests presentations of Credentials to be returned "
        "satisfying all of the Credential Set Queries in the credential_sets array where the "
        "required attribute is true or omitted, and optionally, any of the other Credential "
        "Set Queries. To satisfy a Credential Set Query, the Wallet MUST return presentations "
        "of a set of Credentials that match to one of the options inside the Credential Set "
        "Query.",
    ),
)
def _optional_credential_set(ctx: CheckContext) -> None:
    held = _credential(ctx)
    held_query = _query(held, _requested_paths(ctx, held))["credentials"][0]  # type: ignore[index]
    missing: JsonObject = {
        "id": "not_held",
        "format": held.format,
        "meta": {"vct_values": [_NO_SUCH_TYPE]},
    }
    _, _, vp_token = _answered(
        ctx,
        dcql_query={
            "credentials": [held_query, missing],
            "credential_sets": [
                {"options": [[_QUERY_ID]]},
                {"options": [["not_held"]], "required": False},
            ],
        },
    )
    ctx.record(vp_token_queries=sorted(vp_token))
    expect(
        _QUERY_ID in vp_token,
        f"the required credential is not in the vp_token: {sorted(vp_token)}",
    )
    expect("not_held" not in vp_token, "the vp_token answers a query the wallet cannot meet")


@check(
    "WAL-26",
    "A Credential Query without claims gets the credential with no selectively disclosable claim",
    plan=PLAN,
    oidf="oid4vp-1final-wallet-no-claims-in-dcql-query",
    catches=("wallet:disclose_all",),
    requirement=_vp(
        "6.4.1",
        "If claims is absent, the Verifier is requesting no claims that are selectively "
        "disclosable; the Wallet MUST return only the claims that are mandatory to present "
        "(e.g., SD-JWT and Key Binding JWT for a Credential of format IETF SD-JWT VC).",
    ),
)
def _no_claims_in_query(ctx: CheckContext) -> None:
    held = _credential(ctx)
    if held.format != "dc+sd-jwt":
        raise CheckSkipped(f"the wallet's credential is {held.format}, not an SD-JWT VC")
    query: JsonObject = {
        "credentials": [
            {"id": _QUERY_ID, "format": held.format, "meta": {"vct_values": [held.vct]}}
        ]
    }
    _, _, vp_token = _answered(ctx, dcql_query=query)
    items = vp_token.get(_QUERY_ID)
    expect(items, f"the vp_token has no presentation for {_QUERY_ID!r}: {sorted(vp_token)}")
    assert isinstance(items, list | tuple)
    presentation = items[0]
    expect(isinstance(presentation, str), "an SD-JWT VC presentation is a string")
    try:
        disclosed = len(parse_sd_jwt(str(presentation)).disclosures)
    except PasserelleError as exc:
        raise CheckFailed(f"the presentation is not a valid SD-JWT: {exc.detail}") from exc
    ctx.record(disclosures=disclosed)
    expect(disclosed == 0, f"{disclosed} disclosures were sent; no claim was asked for")


@check(
    "WAL-27",
    "Unusable keys in client_metadata.jwks are ignored: the response is encrypted to the "
    "usable one",
    plan=PLAN,
    catches=("wallet:first_jwk_only",),
    oidf="oid4vp-1final-wallet-ignores-unusable-encryption-key",
    requirement=_vp(
        "8.3",
        "Using what it supports and its preferences, the Wallet selects the public key to "
        "encrypt the Authorization Response based on information about each key, such as the "
        "kty (Key Type), use (Public Key Use), alg (Algorithm), and other JWK parameters. … "
        "If the selected public key contains a kid parameter, the JWE MUST include the same "
        "value in the kid JWE Header Parameter (as defined in [RFC7516, Section 4.1.6]) of "
        "the encrypted response.",
    ),
)
def _unusable_encryption_keys(ctx: CheckContext) -> None:
    unusable: tuple[JsonObject, ...] = (
        {"kty": "AKP", "alg": "ML-KEM-NONE", "kid": "suite-unusable-akp", "pub": "AAAA"},
        {"kty": "NO-SUCH-KTY", "kid": "suite-unusable-made-up", "use": "enc"},
    )
    held = _credential(ctx)
    pending, arrival, vp_token = _answered(
        ctx,
        dcql_query=_query(held, _requested_paths(ctx, held)),
        mode=ResponseMode.DIRECT_POST_JWT,
        deviation=Deviation(extra_jwks=unusable),
    )
    kid = (arrival.jwe_header or {}).get("kid")
    ctx.record(jwe_kid=kid, usable_kid=pending.encryption_kid)
    expect(arrival.encrypted, "under direct_post.jwt the response came unencrypted")
    expect(kid == pending.encryption_kid, f"the JWE names kid {kid!r}, not the usable key")
    expect(_QUERY_ID in vp_token, "the decrypted response holds no presentation")


# --- the suite as issuer and authorization server (OIDF vci10wallet) -------------------------

_VCI = "OpenID4VCI 1.0"
_NOTIFICATION_EVENTS = ("credential_accepted", "credential_failure", "credential_deleted")
_VCI_URL = "https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"


def _vci(section: str, anchor: str, text: str) -> Requirement:
    return Requirement(spec=_VCI, section=section, text=text, link=f"{_VCI_URL}#{anchor}")


@dataclass(frozen=True, slots=True)
class _SuiteIssuance:
    issuer: str
    outcomes: list[JsonObject]
    proofs: list[ProofSeen]
    nonces: list[str]
    issued: int
    notification_id: str
    notifications: list[JsonObject]
    authorization_requests: list[dict[str, str]]
    token_requests: list[dict[str, str]]
    pkce_problems: list[str]
    deferred_requests: list[JsonObject]
    transaction_id: str
    deferrals: int


def _issue_from_suite(
    ctx: CheckContext, *, authorization_code: bool = False, deferred: bool = False
) -> _SuiteIssuance:
    """Offer the wallet a credential from the suite's own issuer: the claims and type of
    the credential the targets file names for it, signed as ``issuer_identity`` (a PKI
    entity the wallet trusts through the lists; default ``eu-pid-provider``). By default
    with a pre-authorized code and an immediate answer; ``authorization_code`` offers the
    code flow (PAR, PKCE, a login that takes the target's persona), ``deferred`` answers
    with a ``transaction_id`` first."""
    setup = _setup(ctx)
    with _suite_issuer(
        ctx, setup, authorization_code=authorization_code, deferred=deferred
    ) as issuer:
        body: JsonObject = {"offer": issuer.offer_link()}
        if authorization_code:
            # The suite's login takes any persona; a wallet needs one to send.
            body["persona"] = str(ctx.target.get("persona") or "suite-holder")
        answer = ctx.http.post(f"{setup.backchannel}/offers", json=body)
        if answer.status_code >= 500:
            raise CheckError(
                ErrorClass.UNPARSEABLE,
                f"the wallet's backchannel failed: HTTP {answer.status_code}",
            )
        outcomes = ctx.json_object(answer, "the wallet's backchannel (offers)").get("outcomes")
        issuer.wait_for(lambda s: bool(s.notifications), timeout=setup.grace)
        state = issuer.state
        return _SuiteIssuance(
            issuer=issuer.url,
            outcomes=[o for o in outcomes if isinstance(o, dict)]
            if isinstance(outcomes, list)
            else [],
            proofs=list(state.proofs),
            nonces=list(state.nonces),
            issued=len(state.issued),
            notification_id=state.notification_id,
            notifications=list(state.notifications),
            authorization_requests=list(state.authorization_requests),
            token_requests=list(state.token_requests),
            pkce_problems=list(state.pkce_problems),
            deferred_requests=list(state.deferred_requests),
            transaction_id=state.transaction_id,
            deferrals=state.deferrals,
        )


def _credential_spec(spec: Any) -> tuple[str, dict[str, Any], str | None]:
    """``suite_credential``: a JSON file of ``vct`` and claims (as the catalogue's
    samples are), or a mapping with ``vct`` and ``claims``; and ``vct#integrity``."""
    if isinstance(spec, dict) and isinstance(spec.get("file"), str):
        try:
            spec = json.loads(Path(spec["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckError(ErrorClass.SUITE, f"suite_credential: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("vct"), str):
        raise CheckError(ErrorClass.SUITE, "suite_credential: a vct and claims are required")
    claims = spec.get("claims")
    if not isinstance(claims, dict):
        claims = {k: v for k, v in spec.items() if k not in ("vct", "vct#integrity")}
    integrity = spec.get("vct#integrity")
    return spec["vct"], dict(claims), integrity if isinstance(integrity, str) else None


def _suite_claims(ctx: CheckContext) -> tuple[str, dict[str, Any], str | None]:
    """What the suite's issuer issues: ``suite_credential``, or the type and claims of
    the credential the wallet's issuer target issues (read, not trusted)."""
    spec = ctx.target.get("suite_credential")
    if spec is not None:
        return _credential_spec(spec)
    issued = obtain_shared(
        ctx,
        str(ctx.target.require("issuer")),
        str(ctx.target.require("configuration")),
        str(ctx.target.require("persona")),
    )
    if issued.format != "dc+sd-jwt":
        raise CheckSkipped(f"the suite issues SD-JWT VCs only, not {issued.format}")
    parsed = parse_sd_jwt(issued.credential)
    payload = parsed.unverified_payload()
    claims = {
        k: v
        for k, v in process_disclosures(parsed, payload).claims.items()
        if k not in _NOT_SUBJECT_CLAIMS
    }
    integrity = payload.get("vct#integrity")
    return (
        str(payload.get("vct")),
        claims,
        integrity if isinstance(integrity, str) else None,
    )


def _suite_issuer(
    ctx: CheckContext, setup: _Setup, *, authorization_code: bool = False, deferred: bool = False
) -> SuiteIssuer:
    """The suite's issuer for this wallet, signing as ``issuer_identity`` (a PKI entity
    the wallet trusts through the lists; default ``eu-pid-provider``)."""
    vct, claims, integrity = _suite_claims(ctx)
    named = ctx.target.get("issuer_identity") or "eu-pid-provider"
    own = file_identity(named, what=f"{ctx.target.name}.issuer_identity")
    if own is not None:
        signer, x5c = own.signer, list(own.x5c)
    elif setup.pki is None:
        raise CheckSkipped("no suite PKI and no issuer_identity files to sign credentials with")
    else:
        try:
            signer, x5c = setup.pki.signer(str(named)), setup.pki.x5c(str(named))
        except PasserelleError as exc:
            raise CheckError(ErrorClass.SUITE, f"issuer_identity: {exc.detail}") from exc

    def issue(key: PublicKey) -> str:
        return issue_sd_jwt_vc(
            claims,
            vct=vct,
            signer=signer,
            random=SecretsRandom(),
            now=ctx.now() - timedelta(seconds=5),
            disclosable=[(name,) for name in claims],
            holder_key=key,
            valid_for=timedelta(days=1),
            vct_integrity=integrity,
            x5c=x5c,
        )

    return SuiteIssuer(
        vct=vct,
        issue=issue,
        host=str(ctx.target.get("suite_issuer_host", setup.host)),
        bind=str(ctx.target.get("suite_issuer_bind", setup.bind)),
        tls=setup.tls,
        clock=ctx.now,
        authorization_code=authorization_code,
        deferred=deferred,
    )


def _suite_issuance(
    ctx: CheckContext,
    *,
    prerequisite: bool = True,
    authorization_code: bool = False,
    deferred: bool = False,
) -> _SuiteIssuance:
    flow = "code" if authorization_code else "pre-authorized"
    return ctx.shared(
        f"wallet:{ctx.target.name}:suite-issuance:{flow}:{'deferred' if deferred else 'now'}",
        lambda: _issue_from_suite(ctx, authorization_code=authorization_code, deferred=deferred),
        prerequisite=prerequisite,
    )


@check(
    "WAL-28",
    "From the suite's own issuer, the wallet's key proofs are typed, addressed, fresh and "
    "signed, and it accepts the credential",
    plan=PLAN,
    oidf="oid4vci-1_0-wallet-test-credential-issuance",
    catches=("wallet:proof_without_nonce",),
    requirement=_vci(
        "Appendix F.1",
        "jwt-proof-type",
        "typ: REQUIRED (JOSE Header). MUST be openid4vci-proof+jwt, which explicitly types "
        "the key proof JWT as recommended in Section 3.11 of [RFC8725]. … aud: REQUIRED "
        "(string). The value of this claim MUST be the Credential Issuer Identifier. … iat: "
        "REQUIRED (number). … nonce: … It MUST be present when the issuer has a Nonce "
        "Endpoint as defined in Section 7.",
    ),
)
def _wallet_proofs(ctx: CheckContext) -> None:
    seen = _suite_issuance(ctx, prerequisite=False)
    ctx.record(
        outcomes=seen.outcomes,
        proofs=[
            {
                "header": {k: v for k, v in p.header.items() if k != "jwk"},
                "claims": p.claims,
                "problem": p.problem,
            }
            for p in seen.proofs
        ],
    )
    expect(seen.proofs, "no key proof reached the suite's credential endpoint")
    now = epoch(ctx.now())
    for index, proof in enumerate(seen.proofs):
        where = f"key proof {index}"
        expect(
            proof.header.get("typ") == PROOF_JWT_TYP,
            f"{where}: typ {proof.header.get('typ')!r} is not {PROOF_JWT_TYP}",
        )
        expect(proof.claims.get("aud") == seen.issuer, f"{where}: aud is not {seen.issuer}")
        expect(
            proof.claims.get("nonce") in seen.nonces,
            f"{where}: nonce {proof.claims.get('nonce')!r} is not a c_nonce the suite gave",
        )
        iat = proof.claims.get("iat")
        expect(
            isinstance(iat, int) and abs(now - iat) <= 300,
            f"{where}: iat {iat!r} is not within five minutes of now",
        )
        expect(proof.problem is None, f"{where}: {proof.problem}")
    expect(
        any(o.get("accepted") is True for o in seen.outcomes),
        "the wallet did not accept the credential: " + "; ".join(_said(o) for o in seen.outcomes),
    )


@check(
    "WAL-29",
    "A batch answered in another order than its proofs is accepted",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("wallet:positional_batch",),
    oidf="oid4vci-1_0-wallet-test-batch-credential-issuance",
    requirement=_vci(
        "§8.3",
        "credential-response",
        "credentials: OPTIONAL. Contains an array of one or more issued Credentials.",
    ),
)
def _wallet_batch(ctx: CheckContext) -> None:
    """OpenID4VCI 1.0 puts no order on ``credentials``, so a wallet must not assume the
    order of its proofs. What the suite observes is whether the wallet kept the batch;
    that it paired each credential with its key is not observed here (it would take a
    presentation of each), hence a recommendation, not a requirement."""
    seen = _suite_issuance(ctx)
    ctx.record(proofs=len(seen.proofs), issued=seen.issued)
    if len(seen.proofs) < 2:
        raise CheckSkipped(
            f"the wallet sent {len(seen.proofs)} key proof: there is no batch to answer "
            "in another order"
        )
    accepted = [o for o in seen.outcomes if o.get("accepted") is True]
    expect(
        len(accepted) == seen.issued,
        f"of {seen.issued} credentials issued in reverse order, the wallet accepted "
        f"{len(accepted)}: " + "; ".join(_said(o) for o in seen.outcomes),
    )


@check(
    "WAL-30",
    "A notification names the notification_id the issuer gave, with a defined event",
    plan=PLAN,
    catches=("wallet:wrong_notification_id",),
    oidf="oid4vci-1_0-wallet-test-credential-issuance-notification",
    requirement=_vci(
        "§8.3",
        "credential-response",
        "notification_id: OPTIONAL. String identifying one or more Credentials issued in one "
        "Credential Response. It MUST be included in the Notification Request as defined in "
        "Section 11.1.",
    ),
)
def _wallet_notification(ctx: CheckContext) -> None:
    seen = _suite_issuance(ctx)
    ctx.record(notifications=seen.notifications)
    if not seen.notifications:
        raise CheckSkipped(
            "the wallet sent no notification (the Notification Endpoint is optional)"
        )
    for note in seen.notifications:
        expect(
            note.get("notification_id") == seen.notification_id,
            f"notification_id {note.get('notification_id')!r} is not the one issued",
        )
        expect(
            note.get("event") in _NOTIFICATION_EVENTS,
            f"event {note.get('event')!r} is not one OpenID4VCI §11.1 defines",
        )


@check(
    "WAL-31",
    "In the authorization code flow, the wallet uses PKCE with S256 and proves it",
    plan=PLAN,
    catches=("wallet:plain_pkce",),
    requirement=Requirement(
        spec="RFC 9700",
        section="2.1.1",
        text="Public clients MUST use PKCE [RFC7636] to this end, as motivated in Section "
        "4.5.3.1. … If PKCE is used, clients SHOULD use PKCE code challenge methods that do "
        "not expose the PKCE verifier in the authorization request. … Currently, S256 is "
        "the only such method.",
        link="https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1",
    ),
)
def _wallet_pkce(ctx: CheckContext) -> None:
    """The suite offers the code flow only (PAR required), takes any persona at its
    login, and judges what the wallet pushed and then sent to the token endpoint."""
    seen = _suite_issuance(ctx, prerequisite=False, authorization_code=True)
    pushed = seen.authorization_requests
    ctx.record(
        authorization_requests=[
            {k: v for k, v in r.items() if k in ("code_challenge_method", "client_id")}
            for r in pushed
        ],
        pkce_problems=seen.pkce_problems,
        outcomes=seen.outcomes,
    )
    expect(
        pushed,
        "the wallet pushed no authorization request for an offer with only the "
        "authorization code grant: " + "; ".join(_said(o) for o in seen.outcomes),
    )
    expect(
        not [r for r in pushed if not r.get("code_challenge")],
        "an authorization request carried no code_challenge",
    )
    methods = sorted({r.get("code_challenge_method", "plain") for r in pushed})
    # RFC 7636 §4.3: a missing method means plain.
    expect(methods == ["S256"], f"code_challenge_method {methods}, not S256")
    expect(not seen.pkce_problems, "; ".join(seen.pkce_problems))
    codes = [t for t in seen.token_requests if t.get("grant_type") == "authorization_code"]
    # What follows the token (key proofs, the credential) is WAL-28's to judge.
    expect(codes, "the wallet never redeemed its authorization code")


@check(
    "WAL-32",
    "A deferred credential is fetched with its transaction_id and accepted",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    catches=("wallet:ignore_deferred",),
    requirement=_vci(
        "§8.3",
        "credential-response",
        "transaction_id: OPTIONAL. String identifying a Deferred Issuance transaction. This "
        "parameter is contained in the response if the Credential Issuer cannot immediately "
        "issue the Credential. The value is subsequently used to obtain the respective "
        "Credential with the Deferred Credential Endpoint (see Section 9).",
    ),
)
def _wallet_deferred(ctx: CheckContext) -> None:
    """A wallet need not support deferred issuance (nothing makes it a MUST), hence a
    recommendation; one that does asks the Deferred Credential Endpoint with the
    ``transaction_id`` it was given and keeps what comes."""
    seen = _suite_issuance(ctx, deferred=True)
    ctx.record(deferred_requests=seen.deferred_requests, outcomes=seen.outcomes)
    if not seen.deferrals:
        # WAL-28 judges a credential request the suite refuses; here it is no step.
        raise CheckSkipped(
            "the suite refused the wallet's credential request, so issuance was never "
            "deferred: " + "; ".join(_said(o) for o in seen.outcomes)
        )
    expect(
        seen.deferred_requests,
        "the wallet never asked the Deferred Credential Endpoint: "
        + "; ".join(_said(o) for o in seen.outcomes),
    )
    ids = [r.get("transaction_id") for r in seen.deferred_requests]
    expect(
        seen.transaction_id in ids,
        f"the deferred requests named {ids}, not the transaction_id given",
    )
    expect(
        any(o.get("accepted") is True for o in seen.outcomes),
        "the wallet did not accept the deferred credential: "
        + "; ".join(_said(o) for o in seen.outcomes),
    )


@check(
    "WAL-ENC-01",
    "The response is encrypted with an enc the request lists, never another",
    plan=PLAN,
    # §8.3 states the rule without a keyword: a warning here; the verifier's refusal of
    # what it cannot decrypt is WAL-03's failure.
    severity=Severity.RECOMMENDED,
    catches=("wallet:ignore_response_enc",),
    requirement=_vp(
        "8.3",
        "The JWE enc content encryption algorithm used is obtained from the "
        "encrypted_response_enc_values_supported parameter of client metadata, such as the "
        "client_metadata request parameter, allowing for the default value of A128GCM when "
        "not explicitly set.",
    ),
)
def _enc_as_listed(ctx: CheckContext) -> None:
    """HAIP 1.0 §5: "Wallets MUST support A128GCM or A256GCM, or both": a wallet
    supporting only one may refuse the request offering only the other, never use an enc
    the request does not list. Offered only an enc no HAIP wallet need support, it may
    refuse (OpenID4VP §8.3.1: an error response without encryption), not pick another."""
    held = _credential(ctx)
    used: dict[str, object] = {}
    for offered in ("A128GCM", "A256GCM", "A128CBC-HS256"):
        try:
            _, arrival, _ = _answered(
                ctx,
                dcql_query=_query(held, _requested_paths(ctx, held)),
                mode=ResponseMode.DIRECT_POST_JWT,
                deviation=Deviation(enc_values=(offered,)),
            )
        except CheckFailed as exc:
            used[offered] = None
            ctx.record(**{f"not_answered_{offered}": exc.message})
            continue
        used[offered] = (arrival.jwe_header or {}).get("enc")
    ctx.record(enc_used=used)
    wrong = {offered: enc for offered, enc in used.items() if enc not in (None, offered)}
    expect(not wrong, f"the JWE enc is not the one the request lists: {wrong}")
    expect(
        used["A128GCM"] is not None or used["A256GCM"] is not None,
        f"the wallet answered neither an A128GCM nor an A256GCM request: {used}",
    )


# --- ISO/IEC 18013-5 mdocs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MdocHeld:
    doctype: str
    paths: tuple[tuple[str, str], ...]
    anchors: tuple[x509.Certificate, ...]


def _receive_mdoc(ctx: CheckContext) -> _MdocHeld:
    """The wallet obtains the target's ``mdoc`` from its issuer target, honestly."""
    setting = ctx.target.get("mdoc")
    if not isinstance(setting, dict):
        raise CheckSkipped(f"{ctx.target.name} has no `mdoc` entry: no mdoc to ask for")
    issuer = ctx.targets.get(str(setting.get("issuer")))
    if issuer is None or issuer.role != "issuer":
        raise CheckSkipped(f"the targets file has no issuer target {setting.get('issuer')!r}")
    configuration, persona = str(setting["configuration"]), str(setting["persona"])
    doctype = discover(ctx, issuer).configuration(configuration).get("doctype")
    if not isinstance(doctype, str):
        raise CheckFailed(f"issuer metadata: {configuration} has no doctype")
    made = make_offer(ctx, issuer, [configuration], persona, tx_code=True)
    backchannel = wallet_backchannel(ctx)
    answer = ctx.http.post(
        f"{backchannel}/offers", json={"offer": made.link, "tx_code": made.tx_code}
    )
    outcomes = ctx.json_object(answer, "the wallet's backchannel (offers)").get("outcomes")
    accepted = [o for o in outcomes or [] if isinstance(o, dict) and o.get("accepted") is True]
    expect(accepted, f"the wallet did not obtain and accept {configuration}: {outcomes!r}")
    pki = suite_pki(ctx)
    try:
        named = setting.get("anchors")
        names = named if isinstance(named, list) else []
        anchors = tuple(pki.certificate(str(a)) for a in names)
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"mdoc anchors: {exc.detail}") from exc
    listed = setting.get("claims")
    pairs = listed if isinstance(listed, list) else []
    paths = tuple((str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2)
    if not paths:
        raise CheckError(ErrorClass.SUITE, f"{ctx.target.name}.mdoc needs claims")
    return _MdocHeld(doctype=doctype, paths=paths, anchors=anchors)


@check(
    "WAL-MDOC-01",
    "An mdoc presentation answers an mso_mdoc DCQL query: the elements asked for and no "
    "more, device-signed over the SessionTranscript bound to the response encryption key",
    plan=PLAN,
    catches=("wallet:mdoc_transcript_without_thumbprint", "wallet:disclose_all"),
    requirement=_vp(
        "B.2.6.1",
        "If the response is encrypted, e.g., using direct_post.jwt, the third element MUST be "
        "the JWK SHA-256 Thumbprint as defined in [RFC7638], encoded as a Byte String, of the "
        "Verifier's public key used to encrypt the response.",
    ),
)
def _mdoc_presentation(ctx: CheckContext) -> None:
    setup = _setup(ctx)
    held = ctx.shared(f"wallet:{ctx.target.name}:mdoc", lambda: _receive_mdoc(ctx))
    with setup.verifier() as verifier:
        pending = verifier.create_request(
            identity=setup.identity,
            client_id=setup.client_id,
            dcql_query=mdoc_query(held.doctype, held.paths, query_id=_QUERY_ID),  # type: ignore[arg-type]
            now=ctx.now(),
            response_mode=ResponseMode.DIRECT_POST_JWT,
            scheme=setup.scheme,
        )
        decision = _ask(ctx, setup, pending)
        arrivals = verifier.wait_for_arrival(pending, timeout=_ARRIVAL_WAIT_S)
    ctx.record(request=pending.evidence(), decision=decision)
    sent = [a for a in arrivals if a.carries_presentation and a.params is not None]
    expect(sent, f"no readable presentation reached the suite: {_said(decision)}")
    params = sent[0].params
    assert params is not None
    try:
        items = list(parse_vp_token(params.get("vp_token")).get(_QUERY_ID) or ())
        data = b64url_decode(str(items[0]))
    except (PasserelleError, IndexError) as exc:
        raise CheckFailed(f"vp_token holds no mdoc presentation for {_QUERY_ID!r}") from exc
    assert pending.encryption_key is not None
    transcript = session_transcript(
        client_id=pending.client_id,
        nonce=pending.nonce,
        response_uri=pending.response_uri,
        encryption_key=pending.encryption_key.public_key(),
    )
    expect(held.anchors, "the wallet target's mdoc entry names no IACA anchors")
    try:
        verify_device_response(
            data,
            session_transcript=transcript,
            anchors=list(held.anchors),
            now=ctx.now(),
            expected_doc_type=held.doctype,
            clock_skew=timedelta(seconds=60),
        )
    except PasserelleError as exc:
        raise CheckFailed(f"the DeviceResponse: {exc.detail}", reason=str(exc.reason)) from exc
    disclosed = {(ns, e) for ns, elements in mdoc_claims_of(data).items() for e in elements}
    asked = set(held.paths)
    expect(disclosed >= asked, f"elements asked for and not disclosed: {sorted(asked - disclosed)}")
    expect(disclosed <= asked, f"elements disclosed but not asked for: {sorted(disclosed - asked)}")
