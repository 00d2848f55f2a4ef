"""The signed request object (JAR, RFC 9101) a wallet fetches from the request_uri."""

from __future__ import annotations

from passerelle import JsonObject, JsonValue
from passerelle.jose import load_private_jwk
from passerelle.oid4vp import (
    AuthorizationRequest,
    ClientMetadata,
    PresentationEvent,
    ResponseMode,
    create_request_object,
    encryption_jwk,
)

from . import transactions
from .responding import response_kid
from .state import VerifierState
from .transactions import Row

__all__ = ["request_object"]


def _client_metadata(state: VerifierState, row: Row, rid: str) -> ClientMetadata:
    algorithms: list[JsonValue] = list(state.profile.algorithms)
    # §5.1: vp_formats_supported is REQUIRED unless the wallet learns it otherwise.
    formats: JsonObject = {
        "dc+sd-jwt": {"sd-jwt_alg_values": algorithms, "kb-jwt_alg_values": algorithms},
        "jwt_vc_json": {"alg_values": list(algorithms)},
    }
    if row["response_mode"] != ResponseMode.DIRECT_POST_JWT.value:
        return ClientMetadata(vp_formats_supported=formats)
    key = load_private_jwk(row["encryption_key"])
    jwk = encryption_jwk(key.public_key(), kid=response_kid(rid))  # type: ignore[arg-type]
    return ClientMetadata(
        jwks={"keys": [jwk]},
        # HAIP 1.0 §5: "Verifiers MUST list both A128GCM and A256GCM" (profile data).
        encrypted_response_enc_values_supported=state.behaviour.advertised_enc(
            state.profile.response_enc
        ),
        vp_formats_supported=formats,
    )


def request_object(state: VerifierState, rid: str, wallet_nonce: str | None) -> str:
    """The request object of the transaction behind ``rid``, signed now; the fetch is
    recorded (a transaction already answered serves none)."""
    tid = transactions.transaction_of(state, rid)
    row = transactions.step(
        state,
        tid,
        PresentationEvent.FETCH_REQUEST,
        "request_fetched",
        # In the same atomic update: a second fetch is refused (quirk only) on the state
        # the move starts from, whichever worker served the first.
        check=state.behaviour.check_request_fetch,
        wallet_nonce=wallet_nonce is not None,
    )
    request = AuthorizationRequest(
        client_id=state.client_id,
        response_mode=ResponseMode(row["response_mode"]),
        response_uri=f"{state.base}/response/{rid}",
        nonce=str(row["nonce"]),
        state=str(row["state_param"]),
        dcql_query=row["dcql_query"],
        client_metadata=_client_metadata(state, row, rid),
    )
    return create_request_object(
        request,
        signer=state.pki.signer(state.access),
        now=state.clock(),
        x5c=state.behaviour.request_x5c(
            state.pki.x5c(state.access), state.pki.anchor(state.access)
        ),
        wallet_nonce=wallet_nonce,
        extra_claims=state.behaviour.request_extras(row["dcql_query"]),
    )
