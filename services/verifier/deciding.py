"""The verifier's decision about one response: fetch what the core's decision needs
(issuer metadata, status lists, a trust snapshot), then decide in the core
(``passerelle.decision``), with the quirks of a deliberately faulty verifier applied
where :mod:`.quirks` says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from passerelle import JsonObject, JsonValue
from passerelle._json import b64url_decode
from passerelle.dcql import DcqlQuery
from passerelle.decision import (
    DecisionPolicy,
    FetchedInputs,
    PresentationDecision,
    decide_presentation,
    policy_for,
    presented_items,
)
from passerelle.jose import jwk_thumbprint, load_private_jwk
from passerelle.mdoc import create_openid4vp_session_transcript
from passerelle.oid4vp import AuthorizationResponse
from passerelle.sd_jwt import KeyBindingCheck
from passerelle.services.decision_inputs import gather_inputs
from passerelle.trust import TrustSnapshot

from .state import VerifierState
from .transactions import Row, parsed_query

__all__ = ["decide"]


def _rules(state: VerifierState, row: Row) -> DecisionPolicy:
    chosen = state.profile.policies.get(str(row.get("policy")))
    return policy_for(
        state.policy,
        require_status=None if chosen is None else chosen.require_status,
        check_status=state.behaviour.check_status,
    )


def _gathered(
    state: VerifierState,
    row: Row,
    vp_token: Mapping[str, tuple[str | JsonObject, ...]],
    query: DcqlQuery,
    *,
    snapshot: TrustSnapshot,
    policy: DecisionPolicy,
    now: datetime,
) -> tuple[dict[str, FetchedInputs], str, str]:
    """The fetched inputs by presentation, and the nonce and audience to bind to."""
    behaviour = state.behaviour
    nonce, audience = str(row["nonce"]), state.client_id
    inputs: dict[str, FetchedInputs] = {}
    for _, format, item in presented_items(vp_token, query):
        nonce, audience = behaviour.expected_binding(
            item, nonce=str(row["nonce"]), audience=state.client_id
        )
        inputs[item], _ = gather_inputs(
            item,
            format=format,
            fetcher=state.fetcher,
            trust=snapshot,
            policy=policy,
            now=now,
            key_binding=KeyBindingCheck(nonce=nonce, audience=audience),
            cache=state.status_cache,
        )
        if not behaviour.check_status:
            inputs[item] = FetchedInputs(issuer_metadata=inputs[item].issuer_metadata)
    return inputs, nonce, audience


def session_transcript(state: VerifierState, row: Row, *, nonce: str) -> bytes:
    """The SessionTranscript this transaction's mdoc presentations must be bound to
    (OpenID4VP 1.0 Appendix B.2.6), built from the verifier's own values: its client
    id, the nonce, the response_uri, and with direct_post.jwt the SHA-256 JWK thumbprint
    of the key the response was encrypted to."""
    key = row.get("encryption_key")
    thumbprint = None
    if isinstance(key, dict):
        thumbprint = b64url_decode(jwk_thumbprint(load_private_jwk(key).public_key()))
    return create_openid4vp_session_transcript(
        client_id=state.client_id,
        nonce=nonce,
        response_uri=f"{state.base}/response/{row['request_id']}",
        jwk_thumbprint=thumbprint,
    )


def decide(state: VerifierState, row: Row, parsed: AuthorizationResponse) -> PresentationDecision:
    """The decision about ``parsed``, the response to the transaction ``row``."""
    now = state.clock()
    policy = _rules(state, row)
    behaviour = state.behaviour
    presented = [i for items in parsed.vp_token.values() for i in items if isinstance(i, str)]
    snapshot = behaviour.trust_for(state.trust.snapshot(), presented, now=now)
    query = parsed_query(row["dcql_query"])
    inputs, nonce, audience = _gathered(
        state, row, parsed.vp_token, query, snapshot=snapshot, policy=policy, now=now
    )
    vp_token: dict[str, JsonValue] = {k: list(v) for k, v in parsed.vp_token.items()}
    # Only an mdoc presentation is bound to a SessionTranscript (OpenID4VP 1.0 B.2.6).
    transcript = (
        session_transcript(state, row, nonce=str(row["nonce"]))
        if any(c.format == "mso_mdoc" for c in query.credentials)
        else None
    )

    def under(rules: DecisionPolicy) -> PresentationDecision:
        return decide_presentation(
            vp_token,
            query=query,
            trust=snapshot,
            policy=rules,
            now=now,
            nonce=nonce,
            audience=audience,
            inputs=inputs,
            schemas=state.schemas,
            type_metadata=state.type_metadata,
            crosswalks=state.crosswalks,
            home_types=tuple(state.profile.home_types.values()),
            session_transcript=transcript,
        )

    decision = under(policy)
    again = behaviour.widened_policy(decision, presented, policy=policy, now=now)
    decided = behaviour.overruled(decision if again is None else under(again))
    return behaviour.holder_key_found(decided, presented)
