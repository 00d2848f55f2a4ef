"""The holder: what the wallet receives, keeps, and shows, and every decision it makes.

On receipt a credential goes through the same decision pipeline a verifier uses
(``passerelle.decision``): a credential the wallet would not accept from an issuer it
cannot trust is refused, and the refusal is kept with its reason code. Each credential
gets a holder key of its own (P-256), so that two presentations of two credentials
cannot be linked by key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode
from passerelle.catalog import CompiledSchema
from passerelle.dcql import CandidateCredential, parse_dcql_query
from passerelle.decision import (
    DecisionPolicy,
    authority_keys_of,
    decide_credential,
    trust_tags_of,
)
from passerelle.jose import KeySigner, PrivateKey, load_private_jwk, private_jwk
from passerelle.oid4vp import (
    AuthorizationRequest,
    DidResolver,
    RequestUriMethod,
    ResponseMode,
    build_vp_token,
    direct_post_form,
    direct_post_jwt_form,
    encrypt_response,
    error_response_form,
    parse_authorization_request,
    parse_authorization_request_url,
    parse_request_reference,
)
from passerelle.sd_jwt import ClaimPath, KeyBindingInput, present_sd_jwt
from passerelle.services.catalog import Catalog
from passerelle.services.storage import Store
from passerelle.services.trust.client import TrustClient
from passerelle.trust import LOTE_TYPE_WRPAC_PROVIDERS
from passerelle.vc import create_vp_jwt, did_jwk_from_key, did_jwk_key_id

from ..decision_inputs import gather_inputs
from ..fetch import Fetcher
from .consent import (
    apply_choices,
    consent_options,
    credential_gone,
    purpose_of,
    verifier_identity,
)
from .mdoc import mdoc_candidate, present_mdoc, retained_paths
from .quirks import WalletBehaviour
from .receive import IssuanceClient

__all__ = ["HeldCredential", "Holder"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldCredential:
    credential_id: str
    format: str
    credential_type: str
    issuer: str
    token: str
    holder_key: PrivateKey
    claims: JsonObject
    types: tuple[str, ...] = ()
    authority_keys: frozenset[str] = frozenset()
    trust_tags: frozenset[str] = frozenset()


@dataclass(slots=True)
class Holder:
    store: Store
    fetcher: Fetcher
    trust: TrustClient
    catalog: Catalog
    random: RandomSource
    clock: Callable[[], datetime]
    policy: DecisionPolicy
    issuance: IssuanceClient
    _schemas: dict[str, CompiledSchema] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._schemas = {t.vct: t.validator for t in self.catalog.types.values()}
        # mdocs are judged by docType against their elements' schema.
        self._schemas.update({m.doctype: m.validator for m in self.catalog.mdoc_types.values()})

    def _id(self) -> str:
        return b64url_encode(self.random.token_bytes(12))

    def record(self, kind: str, decision: JsonObject) -> str:
        """Keep a decision (accepted or refused, with its reason) for the backchannel."""
        decision_id = self._id()
        self.store.put(
            "decisions",
            decision_id,
            {"kind": kind, "at": self.clock().isoformat(), **decision},
        )
        return decision_id

    def accept_offer(
        self, offer: str, *, tx_code: str | None = None, persona: str | None = None
    ) -> list[JsonObject]:
        """Run the issuance, then decide about each credential received."""
        keys: list[PrivateKey] = []

        def make_keys(n: int) -> Sequence[PrivateKey]:
            keys[:] = [ec.generate_private_key(ec.SECP256R1()) for _ in range(n)]
            return keys

        try:
            received = self.issuance.receive(
                offer, tx_code=tx_code, persona=persona, holder_keys=make_keys
            )
        except (PasserelleError, KeyError, TypeError, ValueError) as exc:
            # An issuer's answer we cannot use is refused with a reason, never a 500.
            failure = (
                exc
                if isinstance(exc, PasserelleError)
                else PasserelleError(Reason.INPUT_MALFORMED, f"unusable issuer answer: {exc!r}")
            )
            outcome: JsonObject = {
                "accepted": False,
                "reason": str(failure.reason),
                "detail": failure.detail,
                "stage": "issuance",
            }
            outcome["decision_id"] = self.record("receive", outcome)
            return [outcome]
        outcomes: list[JsonObject] = []
        if len(received.credentials) != len(keys):
            outcome = {
                "accepted": False,
                "reason": "oid4vci.credential_request_invalid",
                "detail": "the issuer returned another number of credentials than proofs",
                "stage": "issuance",
            }
            outcome["decision_id"] = self.record("receive", outcome)
            return [outcome]
        for token, key in zip(received.credentials, keys, strict=True):
            outcome = self._keep(token, received.format, received.credential_issuer, key)
            if received.steps:
                # What the HAIP flow did (DPoP, attestations, encryption), for traces.
                outcome["issuance_steps"] = list(received.steps)
            outcomes.append(outcome)
        return outcomes

    def _keep(self, token: str, fmt: str, issuer: str, key: PrivateKey) -> JsonObject:
        now = self.clock()
        snapshot = self.trust.snapshot()
        inputs, problems = gather_inputs(
            token, format=fmt, fetcher=self.fetcher, trust=snapshot, policy=self.policy, now=now
        )
        decision = decide_credential(
            token,
            format=fmt,
            trust=snapshot,
            policy=self.policy,
            now=now,
            issuer_metadata=inputs.issuer_metadata,
            status_lists=inputs.status_lists,
            status_failures=inputs.status_failures,
            w3c_status_lists=inputs.w3c_status_lists,
            schemas=self._schemas,
            type_metadata={t.vct: t.type_metadata for t in self.catalog.types.values()},
            expected_holder=key.public_key(),
        )
        outcome: JsonObject = {
            **decision.as_dict(),
            "issuer": issuer,
            "problems": list(problems),
        }
        if decision.accepted:
            credential_id = self._id()
            self.store.put(
                "credentials",
                credential_id,
                {
                    "format": fmt,
                    "credential_type": decision.credential_type,
                    "issuer": issuer,
                    "token": token,
                    "holder_key": private_jwk(key),
                    "claims": decision.claims,
                    "types": list(decision.types),
                    "authority_keys": cast(
                        "list[JsonValue]", sorted(authority_keys_of(token, fmt))
                    ),
                    "trust_tags": cast("list[JsonValue]", sorted(trust_tags_of(decision))),
                    "received_at": now.isoformat(),
                },
            )
            outcome["credential_id"] = credential_id
        outcome["decision_id"] = self.record("receive", outcome)
        return outcome

    def credentials(self) -> list[HeldCredential]:
        held = []
        for credential_id, row in self.store.list("credentials", now=self.clock(), limit=10_000):
            if not isinstance(row, dict):
                continue
            entry: dict[str, Any] = row
            held.append(
                HeldCredential(
                    credential_id=credential_id,
                    format=str(entry["format"]),
                    credential_type=str(entry["credential_type"]),
                    issuer=str(entry["issuer"]),
                    token=str(entry["token"]),
                    holder_key=load_private_jwk(entry["holder_key"]),
                    claims=entry["claims"],
                    types=tuple(entry.get("types", ())),
                    authority_keys=frozenset(entry.get("authority_keys", ())),
                    trust_tags=frozenset(entry.get("trust_tags", ())),
                )
            )
        return held

    def forget(self, credential_id: str) -> bool:
        """Delete a held credential (the person's choice); True if it was held."""
        return self.store.delete("credentials", credential_id)

    def decisions(self) -> list[JsonObject]:
        rows = self.store.list("decisions", now=self.clock(), limit=10_000)
        return [{"decision_id": k, **v} for k, v in rows if isinstance(v, dict)]


@dataclass(slots=True)
class Presenter:
    """Answering OpenID4VP requests with the least disclosure that satisfies the query."""

    holder: Holder
    skew: timedelta = timedelta(seconds=60)
    did_resolver: DidResolver | None = None
    behaviour: WalletBehaviour = field(default_factory=WalletBehaviour)

    def _verifier_anchors(self) -> list[Any]:
        # A verifier is known by its access certificate, issued under a CA on the EU
        # list of WRPAC providers: those CAs are the anchors for request objects.
        snapshot = self.holder.trust.snapshot()
        return [
            cert
            for lote in snapshot.eu_lists
            if lote.list_type == LOTE_TYPE_WRPAC_PROVIDERS
            for service in lote.services
            for cert in service.listed_certificates
        ]

    def _candidates(self, held: Sequence[HeldCredential]) -> list[CandidateCredential]:
        out = []
        for c in held:
            if c.format == "mso_mdoc":
                out.append(
                    mdoc_candidate(
                        credential_id=c.credential_id,
                        doctype=c.credential_type,
                        claims=c.claims,
                        authority_keys=c.authority_keys,
                        trust_tags=c.trust_tags,
                    )
                )
            elif c.format == "dc+sd-jwt":
                out.append(
                    CandidateCredential(
                        credential_id=c.credential_id,
                        format=c.format,
                        claims=c.claims,
                        vct=c.credential_type,
                        authority_keys=c.authority_keys,
                        trust_tags=c.trust_tags,
                    )
                )
            else:
                out.append(
                    CandidateCredential(
                        credential_id=c.credential_id,
                        format=c.format,
                        claims={"credentialSubject": c.claims},
                        types=frozenset(c.types or ("VerifiableCredential", c.credential_type)),
                        authority_keys=c.authority_keys,
                        trust_tags=c.trust_tags,
                    )
                )
        return out

    def _fetch_request(self, link: str) -> JsonObject:
        """What the link carries, as stored for completion: a Request Object (by value or
        fetched from request_uri, GET or POST with a wallet_nonce), or, with neither, the
        request itself in the URL (unsigned: only the redirect_uri prefix allows that)."""
        params = dict(parse_authorization_request_url(link).params)
        if "request" not in params and "request_uri" not in params:
            return {"params": cast("JsonObject", params)}
        ref = parse_request_reference(params)
        if ref.request is not None:
            return {"token": ref.request, "client_id": ref.client_id, "wallet_nonce": None}
        assert ref.request_uri is not None
        # OpenID4VP 1.0 §5.10: the POST has "the Accept header set to
        # application/oauth-authz-req+jwt"; the GET asks for the same thing.
        accept = {"Accept": "application/oauth-authz-req+jwt"}
        if ref.request_uri_method is RequestUriMethod.POST:
            wallet_nonce = b64url_encode(self.holder.random.token_bytes(16))
            answer = self.holder.fetcher.request(
                "POST", ref.request_uri, data={"wallet_nonce": wallet_nonce}, headers=accept
            )
            return {
                "token": _request_object(answer),
                "client_id": ref.client_id,
                "wallet_nonce": wallet_nonce,
            }
        answer = self.holder.fetcher.request("GET", ref.request_uri, headers=accept)
        return {"token": _request_object(answer), "client_id": ref.client_id, "wallet_nonce": None}

    def pending_options(self, pending_id: str) -> dict[str, Any]:
        """What the consent page offered for a pending request (nothing if none)."""
        pending = self.holder.store.get("pending", pending_id, now=self.holder.clock())
        options = pending.get("options") if isinstance(pending, dict) else None
        return options if isinstance(options, dict) else {}

    def present(self, link: str, *, consent: str = "minimal") -> JsonObject:
        """Answer the request ``link`` in one go; ``consent`` is ``minimal`` or ``deny``
        (the automated stand-in for the person's choice on the wallet page)."""
        prepared = self.prepare(link)
        if "pending_id" not in prepared:
            return prepared
        return self.complete(str(prepared["pending_id"]), consent=consent)

    def _verify(self, loaded: JsonObject) -> tuple[AuthorizationRequest, str, JsonObject]:
        """The request, the verifier's full client id and who it is, every rule checked."""
        if "params" in loaded:
            params = loaded["params"]
            assert isinstance(params, dict)
            request = parse_authorization_request(params, from_request_object=False)
            return request, request.client_id, verifier_identity(None, request.client_id)
        try:
            verified = self.behaviour.verify_request(
                str(loaded["token"]),
                client_id_from_url=loaded["client_id"],  # type: ignore[arg-type]
                anchors=self._verifier_anchors(),
                did_resolver=self.did_resolver,
                now=self.holder.clock(),
                skew=self.skew,
                wallet_nonce=loaded["wallet_nonce"],  # type: ignore[arg-type]
            )
        except PasserelleError as exc:
            if exc.reason is not Reason.X509_CHAIN_INVALID:
                raise
            # Name the list, so that a partner verifier knows what it must join.
            wrpac = [
                lote.sequence_number
                for lote in self.holder.trust.snapshot().eu_lists
                if lote.list_type == LOTE_TYPE_WRPAC_PROVIDERS
            ]
            held = f"wrpac-providers #{wrpac[0]}" if wrpac else "no WRPAC providers list"
            raise PasserelleError(
                exc.reason,
                f"{exc.detail}; the access certificate must chain to a CA on the EU list of "
                f"WRPAC providers (held: {held})",
                fault=exc.fault,
                wire_error=exc.wire_error,
            ) from exc
        client_id = verified.client_id.value
        return verified.request, client_id, verifier_identity(verified, client_id)

    def prepare(self, link: str) -> JsonObject:
        """Fetch and verify the request, and plan the least disclosure that answers it;
        keep it pending for the person (or the API) to approve or decline."""
        try:
            loaded = self._fetch_request(link)
            request, verifier, who = self._verify(loaded)
        except PasserelleError as exc:
            outcome: JsonObject = {"accepted": False, "stage": "request", **exc.as_dict()}
            outcome["decision_id"] = self.holder.record("present", outcome)
            return outcome
        plan: JsonObject = {}
        options: JsonObject = {}
        problem: JsonObject | None = None
        held = {c.credential_id: c for c in self.holder.credentials()}
        candidates = self._candidates(list(held.values()))
        try:
            query = parse_dcql_query(request.dcql_query)
            match = self.behaviour.match(query, candidates)
            plan = {
                query_id: [
                    {
                        "credential_id": item.credential_id,
                        "credential_type": held[item.credential_id].credential_type,
                        "issuer": held[item.credential_id].issuer,
                        "disclose": [list(p) for p in item.disclose],
                        **(
                            {"intent_to_retain": retained}
                            if (retained := retained_paths(query, query_id, item.disclose))
                            else {}
                        ),
                    }
                    for item in chosen
                ]
                for query_id, chosen in match.credentials.items()
            }
            options = consent_options(query, candidates, plan)
        except PasserelleError as exc:
            problem = exc.as_dict()  # type: ignore[assignment]
        pending_id = self.holder._id()
        self.holder.store.put(
            "pending",
            pending_id,
            {
                "loaded": loaded,
                "plan": plan,
                "options": options,
                "problem": problem,
            },
            expires_at=self.holder.clock() + timedelta(minutes=10),
        )
        return {
            "pending_id": pending_id,
            "verifier": verifier,
            "who": who,
            "purpose": purpose_of(request),
            "response_mode": request.response_mode.value,
            "plan": plan,
            "options": options,
            "can_answer": problem is None,
            "problem": problem,
        }

    def complete(
        self,
        pending_id: str,
        *,
        consent: str,
        chosen: Mapping[str, str] | None = None,
        left_out: Mapping[str, Sequence[str]] | None = None,
    ) -> JsonObject:
        """Send the answer: the planned presentations (consent ``minimal``/``approve``), or
        a refusal (``deny``, or nothing matched) — never a partial vp_token. ``chosen``
        (a credential per query) and ``left_out`` (optional claims) are the person's
        choices on the consent page, among what it offered."""
        now = self.holder.clock()
        pending = self.holder.store.take("pending", pending_id, now=now)
        if not isinstance(pending, dict):
            return {
                "accepted": False,
                "stage": "consent",
                "reason": "input.malformed",
                "detail": "no such pending request (answered or expired)",
            }
        # Stored by prepare() above: its shape is ours.
        stored: dict[str, Any] = pending
        try:
            request, verifier, _ = self._verify(stored["loaded"])
        except PasserelleError as exc:
            outcome: JsonObject = {"accepted": False, "stage": "request", **exc.as_dict()}
            outcome["decision_id"] = self.holder.record("present", outcome)
            return outcome
        consent = "minimal" if consent == "approve" else consent
        refusal = self._refusal(stored, consent)
        if refusal is not None:
            return self._refuse(refusal, request, verifier)
        plan = stored["plan"]
        if chosen or left_out:
            try:
                plan = apply_choices(
                    plan,
                    stored.get("options") or {},
                    parse_dcql_query(request.dcql_query),
                    self._candidates(self.holder.credentials()),
                    chosen=chosen or {},
                    left_out=left_out or {},
                )
            except PasserelleError as exc:
                return self._refuse(exc, request, verifier)
        try:
            presentations, disclosed = self._presentations(plan, request, now)
        except PasserelleError as exc:
            if exc.reason is not Reason.WALLET_CREDENTIAL_GONE:
                raise
            return self._refuse(exc, request, verifier)
        try:
            form = self._response_form(request, build_vp_token(presentations))
        except PasserelleError as exc:
            if exc.reason is not Reason.OID4VP_ENCRYPTION_UNSUPPORTED:
                raise
            # §8.3.1: "If a Wallet is unable to generate an encrypted response, it MAY
            # send an error response without encryption": the verifier learns why.
            return self._refuse(exc, request, verifier)
        answer = self.holder.fetcher.request("POST", request.response_uri, data=form)
        outcome = {
            "accepted": answer.status_code == 200,
            "stage": "response",
            "verifier": verifier,
            "verifier_status": answer.status_code,
            "disclosed": disclosed,  # type: ignore[dict-item]
            "response_mode": request.response_mode.value,
        }
        if answer.status_code != 200:
            outcome["verifier_answer"] = answer.text[:2000]
        else:
            redirect = _redirect_uri(answer)
            if redirect:
                outcome["redirect_uri"] = redirect
        outcome["decision_id"] = self.holder.record("present", outcome)
        return outcome

    @staticmethod
    def _refusal(stored: dict[str, Any], consent: str) -> PasserelleError | None:
        """Why the wallet must refuse as a whole, if it must: the person declined, or
        nothing held answers the query."""
        if consent != "minimal":
            return PasserelleError(Reason.WALLET_HOLDER_DECLINED, "the holder declined")
        problem = stored["problem"]
        if problem is not None:
            return PasserelleError(
                Reason(problem["reason"]), str(problem["detail"]), wire_error="access_denied"
            )
        return None

    def _refuse(
        self, exc: PasserelleError, request: AuthorizationRequest, verifier: str
    ) -> JsonObject:
        # Refuse as a whole: never a partial vp_token (OpenID4VP §8.5 access_denied).
        form = error_response_form(
            exc.wire_error or "access_denied", description=exc.detail, state=request.state
        )
        answer = self.holder.fetcher.request("POST", request.response_uri, data=form)
        outcome: JsonObject = {
            "accepted": False,
            "stage": "query",
            "verifier": verifier,
            "verifier_status": answer.status_code,
            **exc.as_dict(),
        }
        # §8.2: "The Response URI MAY return the redirect_uri parameter in response to
        # successful Authorization Responses or for Error Responses": a same-device
        # decline goes back to the verifier's frontend too.
        redirect = _redirect_uri(answer) if answer.status_code == 200 else None
        if redirect:
            outcome["redirect_uri"] = redirect
        outcome["decision_id"] = self.holder.record("present", outcome)
        return outcome

    def _presentations(
        self, plan: dict[str, Any], request: AuthorizationRequest, now: datetime
    ) -> tuple[dict[str, list[str | JsonObject]], dict[str, list[list[str | int | None]]]]:
        """One presentation per planned credential, and what each query disclosed."""
        by_id = {c.credential_id: c for c in self.holder.credentials()}
        presentations: dict[str, list[str | JsonObject]] = {}
        disclosed: dict[str, list[list[str | int | None]]] = {}
        # Exactly the plan the person saw and approved, nothing re-chosen behind it.
        for query_id, chosen in plan.items():
            for planned in chosen:
                credential = by_id.get(str(planned["credential_id"]))
                if credential is None:
                    raise credential_gone(str(planned["credential_id"]))
                disclose = self.behaviour.disclosure(tuple(tuple(p) for p in planned["disclose"]))
                shown = self._present_one(credential, disclose, request, now)
                presentations.setdefault(query_id, []).append(shown)
                disclosed.setdefault(query_id, []).extend(list(p) for p in disclose)
        return presentations, disclosed

    def _present_one(
        self,
        credential: HeldCredential,
        disclose: tuple[ClaimPath, ...],
        request: AuthorizationRequest,
        now: datetime,
    ) -> str | JsonObject:
        if credential.format == "mso_mdoc":
            return present_mdoc(
                credential.token,
                claims=credential.claims,
                holder_key=credential.holder_key,
                disclose=disclose,
                request=request,
                behaviour=self.behaviour,
            )
        signer = KeySigner(credential.holder_key)
        if credential.format == "dc+sd-jwt":
            return present_sd_jwt(
                credential.token,
                disclose=disclose,
                key_binding=KeyBindingInput(
                    signer=signer,
                    nonce=request.nonce,
                    audience=self.behaviour.kb_audience(request),
                    now=now,
                ),
            )
        holder_did = did_jwk_from_key(credential.holder_key.public_key())
        return create_vp_jwt(
            [credential.token],
            holder=holder_did,
            signer=signer,
            audience=request.client_id,
            nonce=request.nonce,
            now=now,
            format="jwt_vc_json",
            kid=did_jwk_key_id(holder_did),
        )

    def _response_form(self, request: AuthorizationRequest, vp_token: JsonObject) -> dict[str, str]:
        """The form to post: plain ``direct_post``, or encrypted to the verifier's key."""
        if request.response_mode is not ResponseMode.DIRECT_POST_JWT:
            return direct_post_form(vp_token, request.state)
        if request.client_metadata is None or request.client_metadata.jwks is None:
            raise PasserelleError(
                Reason.OID4VP_CLIENT_METADATA_INVALID,
                "direct_post.jwt without a key to encrypt to",
            )
        payload: JsonObject = {"vp_token": vp_token}
        if request.state is not None:
            payload["state"] = request.state
        jwe = encrypt_response(
            payload,
            verifier_jwks=self.behaviour.encryption_keys(request.client_metadata.jwks),
            enc_values_supported=self.behaviour.response_enc_values(
                request.client_metadata.encrypted_response_enc_values_supported
            ),
        )
        return direct_post_jwt_form(jwe)


def _request_object(answer: Any) -> str:
    """The Request Object a request_uri answered with. A verifier that will not hand
    it out (already fetched once, expired) says why in its error body: that reason is
    the refusal, not a parse error of the error body read as a JWS."""
    if answer.status_code == 200:
        return str(answer.text)
    try:
        body = answer.json()
    except ValueError:
        body = None
    said = body if isinstance(body, dict) else {}
    reason = said.get("reason")
    # A peer's text, kept in the decision log: bounded.
    detail = str(said.get("error_description") or f"HTTP {answer.status_code}")[:300]
    known = {r.value: r for r in Reason}
    raise PasserelleError(
        known.get(str(reason), Reason.OID4VP_REQUEST_OBJECT_INVALID),
        f"the verifier would not hand out the request: {detail}",
        wire_error=said.get("error") if isinstance(said.get("error"), str) else None,
    )


def _redirect_uri(answer: Any) -> str | None:
    """The ``redirect_uri`` of a verifier's 200 (OpenID4VP 1.0 §8.2). A body that is not
    a JSON object is read as no redirect: the presentation was accepted all the same,
    and a verifier's sloppy answer must not turn into an error of ours."""
    try:
        body = answer.json() if answer.content else None
    except ValueError:
        return None
    value = body.get("redirect_uri") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None
