"""The suite as a wallet presenting to a verifier target: OpenID4VP 1.0 with DCQL.

Independent of ``services/wallet`` on purpose: the judge must not share the code it
judges. It uses the pure core for each protocol step and the check's recording client
for every exchange, so a report shows exactly what the verifier was sent.

A presentation is built in small steps (open the request, answer the query, bind the
answer, send it) so that the verifier plan can get exactly one thing wrong at a time:
a :class:`Fault` names it. Credentials come from an issuer target through
:mod:`._holder`, or are signed by the suite itself (expired, not yet valid, from an
issuer no list knows, with a broken signature, revoked or suspended in a status list
the suite hosts) when the verifier plan needs one no honest issuer would make. An
issuer target's credential is vetted before it is presented: when it is at fault the
check is skipped naming that issuer (:class:`CounterpartAtFault`), never failed against
the verifier.

A verifier's verdict is read twice: the HTTP status at its ``response_uri`` and the
result its test API reports for the transaction. :func:`expect_accepted` and
:func:`expect_refused` turn the two into a judgement. The decision trace the test API
may add is evidence for the report and nothing more: no verdict is softened by what a
target says about itself.
"""

from __future__ import annotations

import base64
import enum
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, PasserelleError
from passerelle.dcql import CandidateCredential, match_dcql, parse_dcql_query
from passerelle.explain import finding_note
from passerelle.jose import (
    KeySigner,
    Signer,
    decode_unverified_jws,
    epoch,
    sign_jws,
    verify_jws,
)
from passerelle.oid4vp import (
    AuthorizationRequest,
    RequestReference,
    RequestUriMethod,
    ResponseMode,
    VerifiedAuthorizationRequest,
    build_vp_token,
    direct_post_form,
    direct_post_jwt_form,
    encrypt_response,
    parse_authorization_request_url,
    parse_request_reference,
    verify_request_object,
)
from passerelle.sd_jwt import (
    KB_JWT_TYP,
    KeyBindingInput,
    create_kb_jwt,
    hash_b64url,
    parse_sd_jwt,
    present_sd_jwt,
    process_disclosures,
)
from passerelle.sd_jwt_vc import NEVER_DISCLOSABLE, SD_JWT_VC_TYP, issue_sd_jwt_vc
from passerelle.services.pki import Pki, load_pki
from passerelle.services.runtime import SecretsRandom
from passerelle.status_list import (
    StatusValue,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    draw_index,
    with_statuses,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    draw_serial_number,
    encode_x5c,
)

from ._adapters import MadeRequest, make_request, read_verdict
from ._context import CheckContext, Target
from ._holder import (
    SIGNING_ALGORITHMS,
    Issued,
    discover,
    discover_issuer_key,
    obtain_shared,
    read_unverified_sd_jwt_vc,
)
from ._hosting import DocumentHost
from ._identities import file_identity, has_file_anchor, resolve_anchors
from ._model import CheckError, CheckFailed, CheckSkipped, CounterpartAtFault, ErrorClass

__all__ = [
    "RESPONSE_MODES",
    "Fault",
    "FetchedRequest",
    "Holding",
    "Outcome",
    "Presentation",
    "Session",
    "StatusListed",
    "Transaction",
    "access_anchors",
    "answer",
    "dcql_query_for",
    "decision_trace",
    "default_claims",
    "expect_accepted",
    "expect_refused",
    "fetch_request",
    "holding_of",
    "open_session",
    "parse_request_url",
    "present",
    "present_setting",
    "presented_credential",
    "read_outcome",
    "response_form",
    "response_modes",
    "send_response",
    "start_transaction",
    "status_host",
    "status_listed",
    "suite_pki",
    "suite_signed",
    "verify_request",
    "vet_credential",
    "with_broken_signature",
]

RESPONSE_MODES: Mapping[str, tuple[str, ...]] = {
    # HAIP 1.0: "Response mode MUST be direct_post.jwt".
    "eu-haip": (ResponseMode.DIRECT_POST_JWT.value,),
    "ca": (ResponseMode.DIRECT_POST.value, ResponseMode.DIRECT_POST_JWT.value),
    "cross-border": (ResponseMode.DIRECT_POST.value, ResponseMode.DIRECT_POST_JWT.value),
}
"""The response modes a verifier of each profile must answer, unless its targets entry
lists ``response_modes`` of its own."""

DEFAULT_ACCESS_ANCHORS = ("eu-wrpac-provider-ca",)
"""The PKI roots the suite, as a wallet, anchors verifiers' access certificates in
(a targets entry may name others under ``access_anchors``)."""

REQUEST_SKEW = timedelta(seconds=60)
RESULT_WAIT = timedelta(seconds=30)
"""How long the suite waits for a verdict that lands after the response endpoint's HTTP
answer (a partner's verifier may decide asynchronously); a slow verdict is not a fault."""
_REGISTERED = frozenset(NEVER_DISCLOSABLE | {"iat", "_sd_alg"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def response_modes(verifier: Target) -> tuple[str, ...]:
    listed = verifier.get("response_modes")
    if isinstance(listed, list) and listed:
        return tuple(str(m) for m in listed)
    return RESPONSE_MODES.get(verifier.profile, (ResponseMode.DIRECT_POST.value,))


# --- the suite's own PKI -----------------------------------------------------------------


def suite_pki(ctx: CheckContext) -> Pki:
    """The development PKI the suite plays its counterparts with, loaded once per run."""
    directory = ctx.suite.pki_dir
    if directory is None:
        raise CheckSkipped("the targets file names no suite PKI (suite.pki)")

    def load() -> Pki:
        try:
            return load_pki(Path(directory))
        except PasserelleError as exc:
            raise CheckError(ErrorClass.SUITE, f"suite PKI {directory}: {exc.detail}") from exc

    return ctx.shared(f"presenting:pki:{directory}", load)


def access_anchors(ctx: CheckContext, verifier: Target) -> list[x509.Certificate]:
    names = verifier.get("access_anchors") or list(DEFAULT_ACCESS_ANCHORS)
    if has_file_anchor(names):
        return resolve_anchors(names, by_name=None, what="access_anchors")
    pki = suite_pki(ctx)
    try:
        return resolve_anchors(names, by_name=pki.anchor, what="access_anchors")
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"access_anchors: {exc.detail}") from exc


# --- transactions and requests -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transaction:
    """What the verifier's test API answered when asked for a presentation request."""

    verifier: Target
    transaction_id: str
    request_url: str
    body: Mapping[str, Any]


def start_transaction(
    ctx: CheckContext,
    verifier: Target,
    dcql_query: Mapping[str, Any],
    *,
    response_mode: str | None = None,
    request_uri_method: str | None = None,
    same_device: bool | None = None,
    redirect_uri: str | None = None,
) -> Transaction:
    """Ask the verifier for a new presentation request, the way its adapter says (the
    suite cannot scan the QR code a person would)."""
    made = make_request(
        ctx,
        verifier,
        dcql_query,
        response_mode=response_mode,
        request_uri_method=request_uri_method,
        same_device=same_device,
        redirect_uri=redirect_uri,
    )
    tid, request_url = made.transaction_id, made.request_url
    answer = made.body if isinstance(made.body, Mapping) else {}
    return Transaction(verifier=verifier, transaction_id=tid, request_url=request_url, body=answer)


def parse_request_url(url: str) -> tuple[Mapping[str, str], RequestReference]:
    """The wallet invocation URL as a wallet reads it: its parameters and the reference
    to the Request Object they carry."""
    try:
        link = parse_authorization_request_url(url)
        return link.params, parse_request_reference(link.params)
    except PasserelleError as exc:
        raise CheckFailed(f"request_url: {exc.detail}", reason=str(exc.reason), url=url) from exc


@dataclass(frozen=True, slots=True)
class FetchedRequest:
    """A Request Object as fetched from ``request_uri``, decoded but NOT verified."""

    transaction: Transaction
    params: Mapping[str, str]
    reference: RequestReference
    method: str
    wallet_nonce: str | None
    content_type: str
    token: str
    header: Mapping[str, Any]
    claims: Mapping[str, Any]


def fetch_request(
    ctx: CheckContext, transaction: Transaction, *, wallet_nonce: str | None = None
) -> FetchedRequest:
    """Fetch the Request Object the way the request URL says: GET, or POST with a fresh
    ``wallet_nonce`` (OpenID4VP §5.10) when ``request_uri_method`` is ``post``."""
    params, reference = parse_request_url(transaction.request_url)
    content_type = ""
    nonce: str | None = None
    if reference.request is not None:
        token, method = reference.request, "value"
    else:
        assert reference.request_uri is not None  # parse_request_reference: one of the two
        accept = {"Accept": "application/oauth-authz-req+jwt"}
        if reference.request_uri_method is RequestUriMethod.POST:
            method = "post"
            nonce = wallet_nonce or _b64url(SecretsRandom().token_bytes(16))
            response = ctx.http.post(
                reference.request_uri, data={"wallet_nonce": nonce}, headers=accept
            )
        else:
            method = "get"
            response = ctx.http.get(reference.request_uri, headers=accept)
        if response.status_code != 200:
            raise CheckFailed(
                f"request_uri: {method.upper()} answered HTTP {response.status_code}",
                body=response.text[:500],
            )
        token = response.text.strip()
        content_type = response.headers.get("content-type", "")
    try:
        unverified = decode_unverified_jws(token, what="Request Object")
        claims = unverified.payload_json(what="Request Object payload")
    except PasserelleError as exc:
        raise CheckFailed(
            f"request_uri: the body is not a Request Object (JWS): {exc.detail}",
            reason=str(exc.reason),
        ) from exc
    return FetchedRequest(
        transaction=transaction,
        params=params,
        reference=reference,
        method=method,
        wallet_nonce=nonce,
        content_type=content_type,
        token=token,
        header=unverified.header,
        claims=claims,
    )


def verify_request(ctx: CheckContext, fetched: FetchedRequest) -> VerifiedAuthorizationRequest:
    """Verify the Request Object as a wallet must: ``typ``, ``client_id`` identical to the
    URL's, the ``x5c`` chain to the suite's access anchors, the prefix rule (SAN or hash),
    the signature, times, ``aud``, ``wallet_nonce``, then the request parameters."""
    anchors = access_anchors(ctx, fetched.transaction.verifier)
    try:
        return verify_request_object(
            fetched.token,
            client_id_from_url=fetched.reference.client_id,
            anchors=anchors,
            did_resolver=None,
            now=ctx.now(),
            skew=REQUEST_SKEW,
            wallet_nonce=fetched.wallet_nonce,
        )
    except PasserelleError as exc:
        raise CheckFailed(
            f"request object: {exc.detail}", reason=str(exc.reason), header=dict(fetched.header)
        ) from exc


@dataclass(frozen=True, slots=True)
class Session:
    """One presentation request, fetched and verified: what an honest wallet answers."""

    transaction: Transaction
    fetched: FetchedRequest
    verified: VerifiedAuthorizationRequest

    @property
    def request(self) -> AuthorizationRequest:
        return self.verified.request


def open_session(
    ctx: CheckContext,
    verifier: Target,
    dcql_query: Mapping[str, Any],
    *,
    response_mode: str | None = None,
    request_uri_method: str | None = None,
    prerequisite: bool = True,
) -> Session:
    """Start a transaction, fetch its request and verify it.

    With ``prerequisite`` a request the suite cannot use skips the calling check,
    naming the cause: the request checks (``VER-REQ-*``) report the fault itself.
    """
    try:
        transaction = start_transaction(
            ctx,
            verifier,
            dcql_query,
            response_mode=response_mode,
            request_uri_method=request_uri_method,
        )
        fetched = fetch_request(ctx, transaction)
        verified = verify_request(ctx, fetched)
    except CheckFailed as exc:
        if prerequisite:
            raise CheckSkipped(f"no usable presentation request: {exc.message}") from exc
        raise
    return Session(transaction=transaction, fetched=fetched, verified=verified)


# --- credentials the suite holds ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holding:
    """One credential in the suite's wallet: an SD-JWT VC and the key its ``cnf`` binds."""

    credential: str
    holder_key: ec.EllipticCurvePrivateKey

    def payload(self) -> JsonObject:
        return parse_sd_jwt(self.credential).unverified_payload()

    def claims(self) -> JsonObject:
        """Every claim the holder can disclose, processed (the suite trusts its own)."""
        parsed = parse_sd_jwt(self.credential)
        return process_disclosures(parsed, parsed.unverified_payload()).claims


def holding_of(issued: Issued) -> Holding:
    if issued.format != "dc+sd-jwt":
        raise CheckSkipped(f"the suite presents SD-JWT VCs only, not {issued.format}")
    return Holding(credential=issued.credential, holder_key=issued.holder_key)


def present_setting(verifier: Target) -> Mapping[str, Any]:
    """The ``present`` entry of a verifier: an issuer target, configuration and persona
    of a credential the verifier trusts."""
    setting = verifier.require("present")
    if not isinstance(setting, dict) or not all(
        isinstance(setting.get(k), str) for k in ("issuer", "configuration", "persona")
    ):
        raise CheckError(
            ErrorClass.SUITE, f"{verifier.name}.present needs issuer, configuration, persona"
        )
    return setting


def presented_credential(ctx: CheckContext, verifier: Target) -> Issued:
    """The credential of the verifier's ``present`` setting, issued once per run, and
    vetted before any verifier sees it: when it is at fault, every check presenting it
    is skipped naming the issuer target (:class:`CounterpartAtFault`), never failed
    against the verifier."""
    setting = present_setting(verifier)
    issued = obtain_shared(ctx, setting["issuer"], setting["configuration"], setting["persona"])
    key = f"presenting:vetted:{setting['issuer']}:{setting['configuration']}:{setting['persona']}"
    problems: list[str] = ctx.shared(key, lambda: vet_credential(ctx, issued))
    if problems:
        ctx.record(at_fault=issued.issuer, credential_problems=problems)
        raise CounterpartAtFault(
            issued.issuer, f"its {issued.configuration} credential: " + "; ".join(problems)
        )
    return issued


def vet_credential(ctx: CheckContext, issued: Issued) -> list[str]:
    """What is wrong with an issued SD-JWT VC, judged as a strict verifier would before
    trust lists and status come in: ``typ``, the signature under the key the issuer
    publishes, the configuration's ``vct``, a ``cnf`` to bind a presentation to, and
    its validity period. Empty when nothing is."""
    if issued.format != "dc+sd-jwt":
        return []  # holding_of says the suite presents SD-JWT VCs only
    issuer = ctx.targets.get(issued.issuer)
    if issuer is None:
        raise CheckError(ErrorClass.SUITE, f"no target {issued.issuer!r}")
    problems: list[str] = []
    try:
        read = read_unverified_sd_jwt_vc(issued.credential)
    except CheckFailed as exc:
        return [exc.message]
    typ = read.header.get("typ")
    if typ != SD_JWT_VC_TYP:
        problems.append(f"typ {typ!r} is not {SD_JWT_VC_TYP} (SD-JWT VC §2.2.1)")
    try:
        resolved = discover_issuer_key(ctx, issuer, read.header, read.payload)
        assert read.sd_jwt is not None
        verify_jws(read.sd_jwt.issuer_jwt, key=resolved.key, algorithms=SIGNING_ALGORITHMS)
    except CheckFailed as exc:
        problems.append(f"issuer key: {exc.message}")
    except CheckSkipped:
        pass  # key discovery not described in the targets file: nothing to judge with
    except PasserelleError as exc:
        problems.append(f"the signature does not verify with the published key: {exc.detail}")
    configured = discover(ctx, issuer).configuration(issued.configuration).get("vct")
    if isinstance(configured, str) and read.payload.get("vct") != configured:
        shown = read.payload.get("vct")
        problems.append(f"vct {shown!r} is not the configuration's {configured!r}")
    if not isinstance(read.payload.get("cnf"), dict):
        problems.append("no cnf: a presentation cannot be bound to its holder")
    exp = read.payload.get("exp")
    if isinstance(exp, int) and not isinstance(exp, bool) and exp <= epoch(ctx.now()):
        problems.append("expired when issued")
    return problems


def dcql_query_for(
    ctx: CheckContext,
    issuer_name: str,
    configuration: str,
    claims: Sequence[Sequence[str | int | None]],
    *,
    query_id: str = "credential",
) -> dict[str, Any]:
    """A DCQL query for ``claims`` of the type an issuer's configuration issues, the
    ``vct`` read from its metadata as a verifier's integrator would."""
    issuer = ctx.targets.get(issuer_name)
    if issuer is None:
        raise CheckError(ErrorClass.SUITE, f"no target {issuer_name!r} in the targets file")
    config = discover(ctx, issuer).configuration(configuration)
    fmt, vct = config.get("format"), config.get("vct")
    if fmt != "dc+sd-jwt":
        raise CheckSkipped(f"{configuration} is {fmt}; the suite presents dc+sd-jwt only")
    if not isinstance(vct, str) or not vct:
        raise CheckFailed(f"issuer metadata: configuration {configuration!r} has no vct")
    return {
        "credentials": [
            {
                "id": query_id,
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "claims": [{"path": list(path)} for path in claims],
            }
        ]
    }


def default_claims(ctx: CheckContext, verifier: Target, holding: Holding) -> list[list[str]]:
    """What the verifier plan asks of the ``present`` credential: the claims its
    ``present`` entry names, else two mandatory top-level claims the credential holds."""
    setting = present_setting(verifier)
    named = setting.get("claims")
    if isinstance(named, list) and named:
        return [[str(p) for p in path] for path in named]
    issuer = ctx.targets.get(str(setting["issuer"]))
    held = holding.claims()
    mandatory: list[str] = []
    if issuer is not None:
        config = discover(ctx, issuer).configuration(str(setting["configuration"]))
        metadata = config.get("credential_metadata")
        described = metadata.get("claims") if isinstance(metadata, dict) else None
        for entry in described if isinstance(described, list) else []:
            path = entry.get("path") if isinstance(entry, dict) else None
            if (
                isinstance(path, list)
                and len(path) == 1
                and entry.get("mandatory") is True
                and isinstance(held.get(path[0]), str)
            ):
                mandatory.append(str(path[0]))
    chosen = mandatory or sorted(k for k, v in held.items() if isinstance(v, str | int))
    if not chosen:
        raise CheckError(ErrorClass.SUITE, "the present credential discloses nothing to ask")
    return [[name] for name in chosen[:2]]


# --- presentations, honest and not -------------------------------------------------------


class Fault(enum.Enum):
    """The one thing a presentation gets wrong."""

    NONE = "none"
    TAMPERED_DISCLOSURE = "tampered_disclosure"
    KB_OTHER_KEY = "kb_other_key"
    WRONG_NONCE = "wrong_nonce"
    WRONG_AUD = "wrong_aud"
    IAT_FUTURE = "iat_future"
    IAT_PAST = "iat_past"
    WRONG_SD_HASH = "wrong_sd_hash"
    NO_KB_JWT = "no_kb_jwt"
    ALG_NONE = "alg_none"
    WRONG_STATE = "wrong_state"


_FAR = timedelta(days=1)


def _tamper(presentation: str) -> str:
    """The presentation with one disclosure's value changed: its digest is then in no
    ``_sd`` array of the issuer-signed JWT."""
    parts = presentation.split("~")
    if len(parts) < 3:
        raise CheckError(ErrorClass.SUITE, "no disclosure to tamper with")
    decoded = json.loads(_b64url_decode(parts[1]))
    value = decoded[-1]
    decoded[-1] = value + " (altered)" if isinstance(value, str) else "altered"
    parts[1] = _b64url(json.dumps(decoded, ensure_ascii=False).encode("utf-8"))
    return "~".join(parts)


def _kb_jwt(
    presentation: str,
    *,
    holder_key: ec.EllipticCurvePrivateKey,
    nonce: str,
    audience: str,
    now: datetime,
    fault: Fault,
) -> str:
    hash_alg = parse_sd_jwt(presentation).unverified_payload().get("_sd_alg", "sha-256")
    if fault in (Fault.NONE, Fault.TAMPERED_DISCLOSURE, Fault.WRONG_STATE):
        # Nothing wrong with the binding itself: the core makes it, as any wallet would.
        binding = KeyBindingInput(
            signer=KeySigner(holder_key), nonce=nonce, audience=audience, now=now
        )
        return create_kb_jwt(presentation, binding=binding, hash_alg=str(hash_alg))
    claims: JsonObject = {
        "iat": epoch(now),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": hash_b64url(str(hash_alg), presentation),
    }
    if fault is Fault.WRONG_NONCE:
        claims["nonce"] = nonce + "-other"
    elif fault is Fault.WRONG_AUD:
        claims["aud"] = "x509_san_dns:verifier.attacker.example"
    elif fault is Fault.IAT_FUTURE:
        claims["iat"] = epoch(now + _FAR)
    elif fault is Fault.IAT_PAST:
        claims["iat"] = epoch(now - _FAR)
    elif fault is Fault.WRONG_SD_HASH:
        claims["sd_hash"] = hash_b64url(str(hash_alg), presentation + "other~")
    if fault is Fault.ALG_NONE:
        header = _b64url(json.dumps({"alg": "none", "typ": KB_JWT_TYP}).encode())
        body = _b64url(json.dumps(claims).encode())
        return f"{header}.{body}."
    key = ec.generate_private_key(ec.SECP256R1()) if fault is Fault.KB_OTHER_KEY else holder_key
    return sign_jws({"typ": KB_JWT_TYP}, claims, KeySigner(key))


def answer(
    holding: Holding, request: AuthorizationRequest, *, now: datetime, fault: Fault = Fault.NONE
) -> dict[str, list[str]]:
    """The ``vp_token`` an honest wallet would send for ``request`` (OpenID4VP §8.1, keyed
    by Credential Query id), but for ``fault``."""
    try:
        query = parse_dcql_query(request.dcql_query)
    except PasserelleError as exc:
        raise CheckFailed(f"dcql_query: {exc.detail}", reason=str(exc.reason)) from exc
    payload = holding.payload()
    candidate = CandidateCredential(
        credential_id="suite",
        format="dc+sd-jwt",
        claims=holding.claims(),
        vct=str(payload.get("vct", "")),
        supports_holder_binding="cnf" in payload,
    )
    try:
        matched = match_dcql(query, [candidate])
    except PasserelleError as exc:
        raise CheckError(
            ErrorClass.SUITE, f"the credential the suite holds does not answer the query: {exc}"
        ) from exc
    vp_token: dict[str, list[str]] = {}
    for query_id, chosen in matched.credentials.items():
        for match in chosen:
            shown = present_sd_jwt(holding.credential, disclose=match.disclose)
            if fault is Fault.TAMPERED_DISCLOSURE:
                shown = _tamper(shown)
            if fault is not Fault.NO_KB_JWT:
                shown += _kb_jwt(
                    shown,
                    holder_key=holding.holder_key,
                    nonce=request.nonce,
                    audience=request.client_id,
                    now=now,
                    fault=fault,
                )
            vp_token.setdefault(query_id, []).append(shown)
    try:
        build_vp_token(vp_token)  # the shape of §8.1, checked by the core
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"vp_token: {exc.detail}") from exc
    return vp_token


def response_form(
    request: AuthorizationRequest,
    vp_token: Mapping[str, list[str]],
    *,
    fault: Fault = Fault.NONE,
    enc: str | None = None,
) -> dict[str, str]:
    """The body POSTed to ``response_uri``: the form of ``direct_post``, or under
    ``direct_post.jwt`` a JWE to the request's ``client_metadata.jwks`` (§8.3), with
    ``enc`` when given, else one the request lists."""
    state = request.state
    if fault is Fault.WRONG_STATE:
        state = (state or "") + "-other"
    token: JsonObject = {k: list(v) for k, v in vp_token.items()}
    if request.response_mode is ResponseMode.DIRECT_POST:
        return direct_post_form(token, state)
    metadata = request.client_metadata
    if metadata is None or metadata.jwks is None:
        raise CheckFailed("direct_post.jwt, but client_metadata holds no jwks to encrypt to")
    payload: JsonObject = {"vp_token": token}
    if state is not None:
        payload["state"] = state
    try:
        jwe = encrypt_response(
            payload,
            verifier_jwks=metadata.jwks,
            enc_values_supported=(
                [enc] if enc is not None else metadata.encrypted_response_enc_values_supported
            ),
            # A128GCM first when listed (OpenID4VP's default): a check about something
            # else never hinges on A256GCM, which VER-ENC-02 tries on its own.
            prefer=("A128GCM", "A256GCM"),
        )
    except PasserelleError as exc:
        raise CheckFailed(
            f"cannot encrypt the response to client_metadata.jwks: {exc.detail}",
            reason=str(exc.reason),
        ) from exc
    return direct_post_jwt_form(jwe)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verifier's verdict on one response: its HTTP answer at ``response_uri`` and
    the result its test API reports for the transaction."""

    http_status: int
    body: Any
    state: str | None
    result: Mapping[str, Any] | None

    @property
    def accepted(self) -> bool:
        return isinstance(self.result, Mapping) and self.result.get("accepted") is True

    @property
    def reason(self) -> str | None:
        for source in (self.result, self.body):
            if isinstance(source, Mapping) and isinstance(source.get("reason"), str):
                return str(source["reason"])
        return None

    def evidence(self) -> dict[str, Any]:
        return {
            "http_status": self.http_status,
            "accepted": self.accepted,
            "reason": self.reason,
            "transaction_state": self.state,
        }


def read_outcome(ctx: CheckContext, transaction: Transaction, response: httpx.Response) -> Outcome:
    """Read the verifier's result for ``transaction`` after ``response``."""
    made = MadeRequest(
        transaction_id=transaction.transaction_id,
        request_url=transaction.request_url,
        body=transaction.body,
    )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    state: str | None = None
    result: Mapping[str, Any] | None = None
    deadline = time.monotonic() + RESULT_WAIT.total_seconds()
    pause = 0.05
    while True:
        verdict = read_verdict(ctx, transaction.verifier, made)
        state, result = verdict.state, verdict.result
        adapter = transaction.verifier.adapter
        if result is not None or response.status_code >= 400 or not (adapter and adapter.result):
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(pause)  # the decision may land after the HTTP answer
        pause = min(pause * 2, 1.0)
    return Outcome(http_status=response.status_code, body=body, state=state, result=result)


def send_response(ctx: CheckContext, session: Session, form: Mapping[str, str]) -> Outcome:
    response = ctx.http.post(session.request.response_uri, data=dict(form))
    return read_outcome(ctx, session.transaction, response)


@dataclass(frozen=True, slots=True)
class Presentation:
    session: Session
    vp_token: Mapping[str, list[str]]
    form: Mapping[str, str]
    outcome: Outcome
    extra: Mapping[str, Any] = field(default_factory=dict)


def present(
    ctx: CheckContext,
    verifier: Target,
    holding: Holding,
    dcql_query: Mapping[str, Any],
    *,
    response_mode: str | None = None,
    fault: Fault = Fault.NONE,
    prerequisite: bool = True,
) -> Presentation:
    """Open a request, answer it with ``holding`` (getting ``fault`` wrong), send it and
    read the verdict. Records the verdict as evidence."""
    session = open_session(
        ctx, verifier, dcql_query, response_mode=response_mode, prerequisite=prerequisite
    )
    vp_token = answer(holding, session.request, now=ctx.now(), fault=fault)
    form = response_form(session.request, vp_token, fault=fault)
    outcome = send_response(ctx, session, form)
    ctx.record(response_mode=session.request.response_mode.value, **outcome.evidence())
    return Presentation(session=session, vp_token=vp_token, form=form, outcome=outcome)


def decision_trace(outcome: Outcome) -> list[dict[str, Any]]:
    """The decision steps the verifier reports (step, outcome, detail, reason), in order,
    across every presented credential, each credential's findings after its steps
    (marked ``finding``, with the note that says why they are only findings)."""
    trace: list[dict[str, Any]] = []
    credentials = outcome.result.get("credentials") if outcome.result else None
    if not isinstance(credentials, dict):
        return trace
    for query_id, decisions in credentials.items():
        for decision in decisions if isinstance(decisions, list) else []:
            if not isinstance(decision, dict):
                continue
            for key in ("steps", "findings"):
                entries = decision.get(key)
                for step in entries if isinstance(entries, list) else []:
                    if isinstance(step, dict):
                        entry = {
                            "query": query_id,
                            "step": step.get("step"),
                            "outcome": step.get("outcome"),
                            "detail": step.get("detail"),
                            "reason": step.get("reason"),
                        }
                        if key == "findings":
                            # After the refusing step: shown, never part of the decision.
                            entry.update(finding=True, note=finding_note(step))
                        trace.append(entry)
    return trace


# --- verdicts ----------------------------------------------------------------------------


def expect_accepted(outcome: Outcome, what: str) -> None:
    """An honest presentation: a 2xx at ``response_uri`` and an accepted result."""
    if not 200 <= outcome.http_status < 300:
        raise CheckFailed(
            f"{what}: the verifier answered HTTP {outcome.http_status} "
            f"(reason {outcome.reason!r}) to an honest presentation",
            **outcome.evidence(),
        )
    if not outcome.accepted:
        raise CheckFailed(
            f"{what}: the result API does not say accepted (reason {outcome.reason!r})",
            **outcome.evidence(),
        )


def expect_refused(outcome: Outcome, what: str) -> None:
    """A bad presentation: refused with a 4xx at ``response_uri``, or a failed result
    naming a reason; never a 5xx, never accepted."""
    if outcome.http_status >= 500:
        raise CheckFailed(
            f"{what}: the verifier failed with HTTP {outcome.http_status} instead of refusing",
            **outcome.evidence(),
        )
    if outcome.accepted:
        raise CheckFailed(f"{what}: the verifier accepted it", **outcome.evidence())
    if 400 <= outcome.http_status < 500:
        return
    if (
        200 <= outcome.http_status < 300
        and isinstance(outcome.result, Mapping)
        and outcome.result.get("accepted") is False
        and outcome.reason
    ):
        return
    raise CheckFailed(
        f"{what}: HTTP {outcome.http_status} and no failed result naming a reason",
        **outcome.evidence(),
    )


# --- credentials the suite signs itself --------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Authority:
    signer_key: ec.EllipticCurvePrivateKey
    x5c: list[str]


def _untrusted_authority(ctx: CheckContext) -> _Authority:
    """A CA and a document signer the suite made up: on no list, under no registry."""

    def make() -> _Authority:
        now = ctx.now()
        rng = SecretsRandom()
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = build_ca_certificate(
            subject=build_name(
                common_name="Unlisted Issuer CA (Passerelle conformance suite)",
                organization="Passerelle conformance suite",
            ),
            key=ca_key,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=30),
            serial=draw_serial_number(rng),
            path_length=0,
        )
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = build_leaf_certificate(
            subject=build_name(
                common_name="Unlisted Issuer (Passerelle conformance suite)",
                organization="Passerelle conformance suite",
            ),
            public_key=leaf_key.public_key(),
            issuer_cert=ca,
            issuer_key=ca_key,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=30),
            serial=draw_serial_number(rng),
            usage=LeafUsage.SIGNING,
        )
        # The CA travels in x5c: a verifier that (wrongly) anchors a chain in itself
        # has all it needs to do so.
        return _Authority(signer_key=leaf_key, x5c=encode_x5c([leaf, ca]))

    return ctx.shared("presenting:untrusted-authority", make)


def suite_signed(
    ctx: CheckContext,
    verifier: Target,
    base: Issued,
    *,
    issued_at: datetime,
    valid_for: timedelta,
    not_before: datetime | None = None,
    untrusted: bool = False,
    status: JsonObject | None = None,
) -> Holding:
    """``base``'s claims, type and holder key, signed again by the suite: as the
    verifier's ``issuer_identity`` (a PKI entity the verifier trusts), or with
    ``untrusted`` by a CA of the suite's own making. ``status`` is the credential's
    ``status`` claim, if any."""
    holding = holding_of(base)
    payload = holding.payload()
    claims = {k: v for k, v in holding.claims().items() if k not in _REGISTERED}
    signer: Signer
    if untrusted:
        authority = _untrusted_authority(ctx)
        signer, x5c = KeySigner(authority.signer_key), authority.x5c
    else:
        signer, x5c = _issuer_identity(ctx, verifier)
    integrity = payload.get("vct#integrity")
    iss = payload.get("iss")
    try:
        credential = issue_sd_jwt_vc(
            claims,
            vct=str(payload.get("vct")),
            signer=signer,
            random=SecretsRandom(),
            now=issued_at,
            disclosable=[(name,) for name in claims],
            issuer=iss if isinstance(iss, str) else None,
            holder_key=holding.holder_key.public_key(),
            valid_for=valid_for,
            not_before=not_before,
            vct_integrity=integrity if isinstance(integrity, str) else None,
            x5c=x5c,
            status=status,
        )
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot sign a credential: {exc.detail}") from exc
    return Holding(credential=credential, holder_key=holding.holder_key)


def with_broken_signature(holding: Holding) -> Holding:
    """``holding`` with one bit of its issuer signature flipped: the issuer, its
    ``x5c`` chain and every claim unchanged, the signature no longer verifying."""
    jwt, sep, rest = holding.credential.partition("~")
    header, payload, signature = jwt.split(".")
    raw = bytearray(_b64url_decode(signature))
    if not raw:
        raise CheckError(ErrorClass.SUITE, "the credential has no signature to break")
    raw[-1] ^= 0x01
    broken = f"{header}.{payload}.{_b64url(bytes(raw))}"
    return Holding(credential=broken + sep + rest, holder_key=holding.holder_key)


def _issuer_identity(ctx: CheckContext, verifier: Target) -> tuple[Signer, list[str]]:
    """The signer and ``x5c`` of the verifier's ``issuer_identity``: a partner's own
    certificate and key from files, or a PKI entity of the suite's."""
    named = verifier.require("issuer_identity")
    own = file_identity(named, what=f"{verifier.name}.issuer_identity")
    if own is not None:
        return own.signer, list(own.x5c)
    pki = suite_pki(ctx)
    try:
        return pki.signer(str(named)), list(pki.x5c(str(named)))
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"issuer_identity: {exc.detail}") from exc


# --- status: lists the suite hosts -------------------------------------------------------

_STATUS_LIST_SIZE = 1 << 10
_STATUS_LIST_TTL = timedelta(minutes=5)


def status_host(ctx: CheckContext, verifier: Target) -> DocumentHost:
    """Where the suite publishes the status lists of its own credentials for
    ``verifier`` (see :mod:`._hosting` for reachability); HTTPS when the verifier is."""
    tls = None
    if verifier.url.startswith("https://"):
        pki = suite_pki(ctx)
        if pki.tls_certfile.is_file():
            tls = (pki.tls_certfile, pki.tls_keyfile)
    return DocumentHost(
        host=str(verifier.get("suite_host") or "localhost"),
        bind=str(verifier.get("suite_bind") or "127.0.0.1"),
        tls=tls,
    )


@dataclass(frozen=True, slots=True)
class StatusListed:
    """A credential the suite signed, pointing at a status list only the suite hosts."""

    holding: Holding
    status: StatusValue
    uri: str
    index: int


def status_listed(
    ctx: CheckContext, verifier: Target, host: DocumentHost, status: StatusValue
) -> StatusListed:
    """The ``present`` credential signed again as ``issuer_identity``, with a status
    reference into a list published on ``host`` at a URI never served before, already
    saying ``status`` for it.

    Deterministic by construction: no verifier can hold this list in a cache (Token
    Status List §8.3 lets it keep one for its ``ttl``), and the list says ``status``
    from its first byte, so an acceptance of an invalid or suspended credential is a
    failure whatever the verifier saw before and whatever it reports about itself.
    """
    signer, x5c = _issuer_identity(ctx, verifier)
    uri = host.fresh_url("status")
    random = SecretsRandom()
    index = draw_index(size=_STATUS_LIST_SIZE, random=random)
    listed = with_statuses(
        create_status_list(bits=2, size=_STATUS_LIST_SIZE), [(index, int(status))]
    )
    now = ctx.now()
    try:
        token = create_status_list_token(
            listed,
            uri=uri,
            signer=signer,
            now=now - timedelta(seconds=5),
            ttl=_STATUS_LIST_TTL,
            valid_for=timedelta(hours=1),
            x5c=x5c,
        )
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot sign a status list: {exc.detail}") from exc
    host.publish(uri, token.encode("ascii"), "application/statuslist+jwt")
    holding = suite_signed(
        ctx,
        verifier,
        presented_credential(ctx, verifier),
        issued_at=now - timedelta(minutes=5),
        valid_for=timedelta(days=1),
        status=create_status_reference(idx=index, uri=uri),
    )
    return StatusListed(holding=holding, status=status, uri=uri, index=index)
