"""Deliberate faults of the verifier, for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement. The verifier never branches on a quirk
name: it asks :class:`VerifierBehaviour` what to expect of a presentation, which
policy to decide it under, and which trust snapshot to decide it against.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode
from passerelle.decision import (
    CredentialDecision,
    DecisionPolicy,
    PresentationDecision,
    unverified_mdoc,
)
from passerelle.jose import decode_unverified_jws, private_jwk
from passerelle.oid4vp import PresentationState
from passerelle.sd_jwt import parse_sd_jwt
from passerelle.services.web import NO_STORE
from passerelle.trust import (
    PUB_EAA_STATUS_NOTIFIED,
    SVC_TYPE_PUB_EAA_ISSUANCE,
    ListedService,
    StepOutcome,
    TrustSnapshot,
    VerifiedLote,
)
from passerelle.x509 import (
    certificate_to_der,
    decode_unverified_x5c,
    encode_x5c,
    verify_x5c_chain,
)

__all__ = ["VerifierBehaviour", "VerifierQuirk", "behaviour_for"]


class VerifierQuirk(enum.StrEnum):
    SKIP_NONCE_CHECK = "skip_nonce_check"
    """A KB-JWT (or VP) is accepted whatever its nonce (OpenID4VP §14.1.2)."""
    IGNORE_AUD = "ignore_aud"
    """A KB-JWT (or VP) is accepted whatever its audience (OpenID4VP §14.1.2)."""
    SKIP_STATUS = "skip_status"
    """Status lists are never consulted: revoked credentials pass."""
    ACCEPT_REPLAY = "accept_replay"
    """A response to a finished transaction is processed again (single use, §14.1)."""
    ACCEPT_EXPIRED = "accept_expired"
    """A credential past its ``exp`` (an mdoc past its MSO ``validUntil``) is accepted
    (RFC 7519 §4.1.4; ISO/IEC 18013-5 §9.3.1)."""
    TRUST_ANY_ISSUER = "trust_any_issuer"
    """The trust lists are not asked: an ``x5c`` chain is anchored in its own top
    certificate, so any issuer is trusted (SD-JWT VC, issuer key validation)."""
    SKIP_ISSUER_SIGNATURE = "skip_issuer_signature"
    """The issuer's signature is not verified: once trust (the ``x5c`` chain, the lists)
    is established, a credential whose signature does not verify is accepted."""
    PLAIN_TEXT_ANSWER = "plain_text_answer"
    """The response_uri acknowledges a response with ``text/plain``, not a JSON object
    (OpenID4VP §8.2)."""
    REUSE_ENCRYPTION_KEY = "reuse_encryption_key"
    """One response encryption key for every transaction (HAIP 1.0 §5: "Verifiers MUST
    supply ephemeral encryption public keys specific to each Authorization Request")."""
    ENC_A128GCM_ONLY = "enc_a128gcm_only"
    """Only A128GCM is listed in ``encrypted_response_enc_values_supported`` and
    accepted (HAIP 1.0 §5: Verifiers MUST support and list both A128GCM and A256GCM)."""
    REFUSE_A256GCM = "refuse_a256gcm"
    """A256GCM is listed, but a response encrypted with it does not decrypt (HAIP 1.0
    §5: "values A128GCM and A256GCM ... MUST be supported by Verifiers")."""
    HTTP_REDIRECT_ANSWER = "http_redirect_answer"
    """A same-device response is answered with an HTTP 302 to the redirect URI, not a
    200 with ``redirect_uri`` in a JSON object (OpenID4VP §8.2)."""
    NO_SAME_DEVICE_REDIRECT = "no_same_device_redirect"
    """A same-device response is answered without ``redirect_uri`` (HAIP 1.0 §5.1)."""
    ANCHOR_IN_REQUEST_X5C = "anchor_in_request_x5c"
    """The Request Object's ``x5c`` ends with the trust anchor's certificate (HAIP 1.0
    §5: "The X.509 certificate of the trust anchor MUST NOT be included in the x5c JOSE
    header of the signed request")."""
    PRESENTATION_DEFINITION_QUERY = "presentation_definition_query"
    """The Request Object asks by a DIF ``presentation_definition`` besides its
    ``dcql_query`` (HAIP 1.0 §5: "The DCQL query and response MUST be used")."""
    CONSTANT_RESPONSE_CODE = "constant_response_code"
    """Every redirect carries the same Response Code (OpenID4VP §8.2: "The Verifier MUST
    include a fresh, cryptographically random value in the URL")."""
    IGNORE_MDOC_DEVICE_AUTH = "ignore_mdoc_device_auth"
    """An mdoc's device signature is not held against it: a DeviceResponse signed over
    another SessionTranscript, or by another key than the MSO's device key, is accepted
    (ISO/IEC 18013-5 §9.1.3; OpenID4VP 1.0 Appendix B.2.6)."""
    FORGE_STATUS_TRACE = "forge_status_trace"
    """Status lists are never consulted (as ``skip_status``), and the result the test
    API reports says the status step passed: a self-report that must sway no verdict."""
    SINGLE_FETCH_REQUEST_URI = "single_fetch_request_uri"
    """The request_uri serves its Request Object once: a wallet that fetches it again
    (a retry, a reload) gets an error, as in the OIDF plan's
    ``request-uri-fetched-twice``."""
    CACHEABLE_REQUEST_OBJECT = "cacheable_request_object"
    """The Request Object (its nonce and state) is served without ``Cache-Control:
    no-store``."""
    REQUIRE_CNF_KID = "require_cnf_kid"
    """The holder key is looked up by the ``kid`` of the credential's ``cnf.jwk``: a
    minimal JWK (only the members its key type requires, RFC 7638 §3.2) is refused.
    Every credential of this stack carries a minimal ``cnf.jwk``, so every check that
    expects an honest presentation accepted shows it, not only the OIDF module's own
    (VER-PRES-03): each of them claims it."""


def _binding_claims(presentation: str) -> dict[str, object]:
    """The nonce and aud a presentation claims, read WITHOUT verification (quirks only)."""
    try:
        kb = presentation.rsplit("~", 1)[-1] if "~" in presentation else presentation
        return dict(decode_unverified_jws(kb).payload_json())
    except PasserelleError:
        return {}


def _unverified_issuer(presentation: str) -> tuple[str, list[str] | None, int | None]:
    """The ``vct``, ``x5c`` and ``exp`` of an SD-JWT presentation, read WITHOUT
    verification (quirks only); empty values for anything else."""
    try:
        parsed = parse_sd_jwt(presentation)
        payload = parsed.unverified_payload()
    except PasserelleError:
        return "", None, None
    x5c = parsed.issuer_jwt.header.get("x5c")
    exp = payload.get("exp")
    return (
        str(payload.get("vct", "")),
        [str(c) for c in x5c] if isinstance(x5c, list) else None,
        exp if isinstance(exp, int) and not isinstance(exp, bool) else None,
    )


def _unverified_mdoc_until(presentation: str) -> datetime | None:
    """An mdoc presentation's MSO validUntil, read WITHOUT verification (quirks only)."""
    try:
        document, _ = unverified_mdoc(presentation)
    except PasserelleError:
        return None
    return document.validity.valid_until


def _self_anchored(snapshot: TrustSnapshot, vct: str, top: x509.Certificate) -> TrustSnapshot:
    """``snapshot`` plus a list that names ``top`` as an issuer of ``vct``: shaped like
    the list and service that really carry ``vct`` when there is one."""
    template: tuple[VerifiedLote, ListedService] | None = None
    for lote in snapshot.eu_lists:
        for service in lote.services:
            if vct in service.credential_types and not service.is_withdrawn:
                template = (lote, service)
                break
        if template is not None:
            break
    if template is None and not snapshot.eu_lists:
        return snapshot
    if template is not None:
        lote, service = template
    else:
        lote = snapshot.eu_lists[0]
        service = ListedService(
            entity_name="",
            service_name="",
            service_type=SVC_TYPE_PUB_EAA_ISSUANCE,
            status=PUB_EAA_STATUS_NOTIFIED,
            status_starting_time=None,
            credential_types=(vct,),
            listed_certificates=(),
        )
    listed = replace(
        service,
        entity_name=top.subject.rfc4514_string(),
        service_name="(trusted by the trust_any_issuer quirk)",
        listed_certificates=(top,),
    )
    unlisted = replace(
        lote,
        services=(listed,),
        _by_certificate={hashlib.sha256(certificate_to_der(top)).digest(): (listed,)},
        _by_ski={},
        _by_thumbprint={},
    )
    return replace(snapshot, eu_lists=(*snapshot.eu_lists, unlisted))


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierBehaviour:
    check_nonce: bool = True
    check_aud: bool = True
    check_status: bool = True
    single_response: bool = True
    check_expiry: bool = True
    check_issuer_trust: bool = True
    check_issuer_signature: bool = True
    forge_status_trace: bool = False
    json_acknowledgement: bool = True
    serve_request_again: bool = True
    request_object_no_store: bool = True
    require_cnf_kid: bool = False
    advertise_a256gcm: bool = True
    accept_a256gcm: bool = True
    shared_encryption_key: JsonObject | None = None
    """The one key every transaction gets (quirk); None: a fresh key each."""
    redirect_in_json: bool = True
    same_device_redirect: bool = True
    fresh_response_code: bool = True
    anchor_in_request_x5c: bool = False
    presentation_definition: bool = False
    check_mdoc_device_auth: bool = True

    def request_object_headers(self) -> dict[str, str]:
        """The headers the Request Object is served with."""
        return dict(NO_STORE) if self.request_object_no_store else {}

    def check_request_fetch(self, row: JsonObject | None) -> None:
        """Refuse (quirk only) a second fetch of a request_uri."""
        fetched = row is not None and row.get("state") == PresentationState.REQUEST_FETCHED.value
        if not self.serve_request_again and fetched:
            raise PasserelleError(
                Reason.OID4VP_REQUEST_INVALID,
                "this request_uri was fetched already (single_fetch_request_uri quirk)",
                wire_error="invalid_request",
            )

    def holder_key_found(
        self, decision: PresentationDecision, presentations: Iterable[str]
    ) -> PresentationDecision:
        """The decision that stands: (quirk only) a refusal when a credential's
        ``cnf.jwk`` has no ``kid`` to look the holder key up by."""
        if not self.require_cnf_kid or not decision.accepted:
            return decision
        for presentation in presentations:
            try:
                cnf = parse_sd_jwt(presentation).unverified_payload().get("cnf")
            except PasserelleError:
                continue
            jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
            if isinstance(jwk, dict) and "kid" not in jwk:
                return replace(
                    decision,
                    accepted=False,
                    reason=Reason.SD_JWT_VC_CNF_INVALID,
                    detail="cnf.jwk has no kid to look the holder key up by",
                )
        return decision

    def acknowledgement(self, redirect_uri: str | None = None) -> Response:
        """What the response_uri answers once it processed a response (OpenID4VP §8.2:
        200, a JSON object, with the ``redirect_uri`` when there is one), never cached."""
        if redirect_uri is not None and not self.redirect_in_json:
            return Response(status_code=302, headers={"Location": redirect_uri, **NO_STORE})
        body: JsonObject = {} if redirect_uri is None else {"redirect_uri": redirect_uri}
        if self.json_acknowledgement:
            return JSONResponse(body, status_code=200, headers=dict(NO_STORE))
        return PlainTextResponse("OK", status_code=200)

    def encryption_key(self) -> JsonObject:
        """The private response encryption key of a new transaction: fresh for each
        (ephemeral, HAIP 1.0 §5), but for the quirk."""
        if self.shared_encryption_key is not None:
            return self.shared_encryption_key
        return private_jwk(ec.generate_private_key(ec.SECP256R1()))

    def advertised_enc(self, supported: tuple[str, ...]) -> tuple[str, ...]:
        """``encrypted_response_enc_values_supported`` as the request lists it."""
        return tuple(e for e in supported if self.advertise_a256gcm or e != "A256GCM")

    def accepted_enc(self, supported: tuple[str, ...]) -> tuple[str, ...]:
        """The ``enc`` values a response may be encrypted with."""
        return tuple(
            e for e in self.advertised_enc(supported) if self.accept_a256gcm or e != "A256GCM"
        )

    def redirects(self, *, same_device: bool, required: bool, has_target: bool) -> bool:
        """Whether the answer to a processed response carries a ``redirect_uri``."""
        if same_device and required and not self.same_device_redirect:
            return False
        return has_target

    def request_x5c(self, x5c: list[str], anchor: x509.Certificate) -> list[str]:
        """The ``x5c`` header of a Request Object: the chain without its anchor, but for
        the quirk."""
        return [*x5c, *encode_x5c([anchor])] if self.anchor_in_request_x5c else x5c

    def request_extras(self, dcql_query: JsonObject) -> JsonObject:
        """Members a Request Object carries beyond the request (none, but for the quirk:
        a presentation_definition with one input descriptor per DCQL credential query)."""
        if not self.presentation_definition:
            return {}
        credentials = dcql_query.get("credentials")
        ids = (
            [str(c.get("id")) for c in credentials if isinstance(c, dict)]
            if isinstance(credentials, list)
            else []
        )
        descriptors: list[JsonValue] = [{"id": i, "constraints": {}} for i in ids]
        return {"presentation_definition": {"id": "quirk", "input_descriptors": descriptors}}

    def response_code(self, random: RandomSource) -> str:
        """The Response Code of a redirect: 128 random bits (§8.2 RECOMMENDS as many),
        but for the quirk, whose code is long and never changes."""
        if not self.fresh_response_code:
            return b64url_encode(b"constant-quirk!!")
        return b64url_encode(random.token_bytes(16))

    def expected_binding(self, presentation: str, *, nonce: str, audience: str) -> tuple[str, str]:
        """The nonce and audience a presentation must carry."""
        if self.check_nonce and self.check_aud:
            return nonce, audience
        claimed = _binding_claims(presentation)
        return (
            nonce if self.check_nonce else str(claimed.get("nonce", nonce)),
            audience if self.check_aud else str(claimed.get("aud", audience)),
        )

    def trust_for(
        self, snapshot: TrustSnapshot, presentations: Iterable[str], *, now: datetime
    ) -> TrustSnapshot:
        """The snapshot to decide ``presentations`` against."""
        if self.check_issuer_trust:
            return snapshot
        for presentation in presentations:
            vct, x5c, _ = _unverified_issuer(presentation)
            if not x5c:
                continue
            try:
                verify_x5c_chain(x5c, anchors=snapshot.x5c_anchors, now=now)
                continue  # a chain the lists anchor needs no help
            except PasserelleError:
                pass
            try:
                top = decode_unverified_x5c(x5c)[-1]
            except PasserelleError:
                continue
            snapshot = _self_anchored(snapshot, vct, top)
        return snapshot

    def widened_policy(
        self,
        decision: PresentationDecision,
        presentations: Iterable[str],
        *,
        policy: DecisionPolicy,
        now: datetime,
    ) -> DecisionPolicy | None:
        """A policy to decide again under, when the first decision must not stand: only
        an expired credential, refused as such, is decided again with a clock
        tolerance wide enough to reach back to its ``exp``."""
        expired = (Reason.CREDENTIAL_EXPIRED, Reason.MDOC_EXPIRED)
        if self.check_expiry or decision.accepted or decision.reason not in expired:
            return None
        late = timedelta(0)
        for presentation in presentations:
            _, _, exp = _unverified_issuer(presentation)
            if exp is not None:
                late = max(late, now - datetime.fromtimestamp(exp, tz=now.tzinfo))
            until = _unverified_mdoc_until(presentation)
            if until is not None:
                late = max(late, now - until)
        return replace(policy, skew=policy.skew + late + timedelta(seconds=1))

    def overruled(self, decision: PresentationDecision) -> PresentationDecision:
        """The decision that stands: only a refusal for an issuer signature that does
        not verify is turned into an acceptance, when that signature is not checked (and
        likewise an mdoc's device signature)."""
        ignored = {
            reason
            for reason, checked in (
                (Reason.JWS_INVALID_SIGNATURE, self.check_issuer_signature),
                (Reason.MDOC_DEVICE_SIGNATURE_INVALID, self.check_mdoc_device_auth),
            )
            if not checked
        }
        if decision.accepted or decision.reason not in ignored:
            return decision
        credentials = {
            qid: tuple(_signature_ignored(d, ignored) for d in decisions)
            for qid, decisions in decision.credentials.items()
        }
        return replace(decision, accepted=True, reason=None, detail="", credentials=credentials)

    def reported(self, result: JsonObject) -> JsonObject:
        """The result the test API shows for a decision: the decision's own, but for a
        forged status step."""
        if not self.forge_status_trace:
            return result
        credentials = result.get("credentials")
        for decisions in credentials.values() if isinstance(credentials, dict) else []:
            for decision in decisions if isinstance(decisions, list) else []:
                steps = decision.get("steps") if isinstance(decision, dict) else None
                for step in steps if isinstance(steps, list) else []:
                    if isinstance(step, dict) and step.get("step") == "status":
                        step.update(
                            outcome=str(StepOutcome.PASSED),
                            detail="valid in the issuer's status list",
                            reason=None,
                        )
        return result


def _signature_ignored(decision: CredentialDecision, ignored: set[Reason]) -> CredentialDecision:
    if decision.accepted or decision.reason not in ignored:
        return decision
    steps = tuple(
        replace(s, outcome=StepOutcome.PASSED, reason=None, detail="not verified (quirk)")
        if s.reason in ignored
        else s
        for s in decision.steps
    )
    return replace(decision, accepted=True, reason=None, steps=steps)


def behaviour_for(quirks: Collection[VerifierQuirk]) -> VerifierBehaviour:
    q = set(quirks)
    return VerifierBehaviour(
        check_nonce=VerifierQuirk.SKIP_NONCE_CHECK not in q,
        check_aud=VerifierQuirk.IGNORE_AUD not in q,
        check_status=not q & {VerifierQuirk.SKIP_STATUS, VerifierQuirk.FORGE_STATUS_TRACE},
        single_response=VerifierQuirk.ACCEPT_REPLAY not in q,
        check_expiry=VerifierQuirk.ACCEPT_EXPIRED not in q,
        check_issuer_trust=VerifierQuirk.TRUST_ANY_ISSUER not in q,
        check_issuer_signature=VerifierQuirk.SKIP_ISSUER_SIGNATURE not in q,
        forge_status_trace=VerifierQuirk.FORGE_STATUS_TRACE in q,
        json_acknowledgement=VerifierQuirk.PLAIN_TEXT_ANSWER not in q,
        serve_request_again=VerifierQuirk.SINGLE_FETCH_REQUEST_URI not in q,
        request_object_no_store=VerifierQuirk.CACHEABLE_REQUEST_OBJECT not in q,
        require_cnf_kid=VerifierQuirk.REQUIRE_CNF_KID in q,
        advertise_a256gcm=VerifierQuirk.ENC_A128GCM_ONLY not in q,
        accept_a256gcm=VerifierQuirk.REFUSE_A256GCM not in q,
        shared_encryption_key=private_jwk(ec.generate_private_key(ec.SECP256R1()))
        if VerifierQuirk.REUSE_ENCRYPTION_KEY in q
        else None,
        redirect_in_json=VerifierQuirk.HTTP_REDIRECT_ANSWER not in q,
        same_device_redirect=VerifierQuirk.NO_SAME_DEVICE_REDIRECT not in q,
        fresh_response_code=VerifierQuirk.CONSTANT_RESPONSE_CODE not in q,
        anchor_in_request_x5c=VerifierQuirk.ANCHOR_IN_REQUEST_X5C in q,
        presentation_definition=VerifierQuirk.PRESENTATION_DEFINITION_QUERY in q,
        check_mdoc_device_auth=VerifierQuirk.IGNORE_MDOC_DEVICE_AUTH not in q,
    )
