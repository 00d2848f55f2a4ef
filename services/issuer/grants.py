"""The issuer's grants: offers, pushed authorization requests, authorization codes and
access tokens. What may happen when is the core's session table
(:mod:`passerelle.oid4vci`); this module persists each step, so a restart between two
steps of a flow loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import Request

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle.oauth import VerifiedClientAttestation, VerifiedDpopProof, check_dpop_jkt
from passerelle.oid4vci import (
    IssuanceEvent,
    IssuanceState,
    PreAuthorizedGrant,
    TokenRequest,
    advance,
    attempt_pre_authorized_code,
    credential_offer_uri_link,
    credential_offer_value_link,
    grant_credential_identifiers,
    make_authorization_code,
    make_pre_authorized_code,
    make_tx_code,
    offer_to_json,
    parse_authorization_details,
    parse_authorization_request,
    parse_credential_offer,
    parse_token_request,
    requested_configuration_ids,
    token_response,
    verify_pkce,
)

from .haip import authenticate_client, token_proof
from .state import IssuerState, stored

__all__ = [
    "AUTHORIZATION_CODE_GRANT",
    "CODE_LIFETIME",
    "PAR_LIFETIME",
    "PAR_PREFIX",
    "PRE_AUTHORIZED_GRANT",
    "TOKEN_LIFETIME",
    "TX_CODE_ATTEMPTS",
    "create_offer",
    "exchange_token",
    "issue_access_token",
    "issue_code",
    "push_authorization",
    "pushed",
    "redeem_authorization_code",
    "redeem_pre_authorized_code",
]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
AUTHORIZATION_CODE_GRANT = "authorization_code"
PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"
CODE_LIFETIME = timedelta(minutes=10)
PAR_LIFETIME = timedelta(seconds=90)
TOKEN_LIFETIME = timedelta(hours=1)
TX_CODE_ATTEMPTS = 3
"""Wrong tx_codes one pre-authorized code survives (counted in the store)."""


def _invalid_grant(detail: str) -> PasserelleError:
    return PasserelleError(Reason.OID4VCI_GRANT_INVALID, detail, wire_error="invalid_grant")


# --- offers --------------------------------------------------------------------------------


def _check_offer(state: IssuerState, config_ids: list[str], persona: str) -> None:
    unknown = [c for c in config_ids if c not in state.profile.configurations]
    if not config_ids or unknown:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"unknown configurations {unknown}")
    if persona not in state.personas_for(config_ids):
        raise PasserelleError(Reason.INPUT_MALFORMED, f"no persona {persona!r} for {config_ids}")


def _pre_authorized_grant(
    state: IssuerState, offer_id: str, config_ids: list[str], persona: str, *, tx_code: bool
) -> tuple[JsonObject, str | None]:
    """The offer's pre-authorized grant, its code stored as OFFERED; and the tx_code."""
    code = make_pre_authorized_code(state.random)
    # Uniform digits (the core's), not a modulo of random bytes.
    pin = make_tx_code(state.random) if tx_code else None
    pre: JsonObject = {"pre-authorized_code": code}
    if pin is not None:
        pre["tx_code"] = {"input_mode": "numeric", "length": 6, "description": "Code sent by SMS"}
    row: JsonObject = {
        "offer": offer_id,
        "tx_code": pin,
        "configs": list[JsonValue](config_ids),
        "persona": persona,
        "state": IssuanceState.OFFERED.value,
    }
    state.store.put("pre_codes", code, row, expires_at=state.now() + CODE_LIFETIME)
    return pre, pin


def create_offer(
    state: IssuerState, config_ids: list[str], persona: str, *, tx_code: bool, grant: str
) -> JsonObject:
    _check_offer(state, config_ids, persona)
    ids: list[JsonValue] = list(config_ids)
    offer_id = state.token(12)
    grants: JsonObject = {}
    pin: str | None = None
    if grant == "authorization_code":
        grants["authorization_code"] = {"issuer_state": offer_id}
    else:
        pre, pin = _pre_authorized_grant(state, offer_id, config_ids, persona, tx_code=tx_code)
        grants[PRE_AUTHORIZED_GRANT] = pre
    # Built through the parser a wallet uses: we never hand out what we would refuse.
    offer = parse_credential_offer(
        {"credential_issuer": state.base, "credential_configuration_ids": ids, "grants": grants},
        allow_loopback_http=True,
    )
    body = offer_to_json(offer)
    state.store.put(
        "offers",
        offer_id,
        # The expiry is kept in the row too: the offer page tells the person.
        {
            "offer": body,
            "persona": persona,
            "configs": ids,
            "expires_at": (state.now() + CODE_LIFETIME).isoformat(),
        },
        expires_at=state.now() + CODE_LIFETIME,
    )
    offer_uri = f"{state.base}/offers/{offer_id}"
    schemes = state.profile.offer_schemes
    links: JsonObject = {s: credential_offer_uri_link(offer_uri, scheme=s) for s in schemes}
    return {
        "offer_id": offer_id,
        "credential_offer": body,
        "credential_offer_uri": offer_uri,
        "links": links,
        "links_by_value": {s: credential_offer_value_link(offer, scheme=s) for s in schemes},
        "tx_code": pin,
        "page": f"{offer_uri}/page",
    }


def offer_tx_code(state: IssuerState, offer: JsonObject) -> str | None:
    """The tx_code of an offer's pre-authorized code, for the offer page."""
    grants = offer.get("grants")
    pre = grants.get(PRE_AUTHORIZED_GRANT) if isinstance(grants, dict) else None
    code = pre.get("pre-authorized_code") if isinstance(pre, dict) else None
    if not isinstance(code, str):
        return None
    row = stored(state.store.get("pre_codes", code, now=state.now()))
    return row.get("tx_code") if row is not None else None


# --- authorization code flow -----------------------------------------------------------------


def push_authorization(state: IssuerState, form: dict[str, str], request: Request) -> JsonObject:
    """A pushed authorization request (RFC 9126), kept as AUTHORIZATION_PENDING.

    HAIP 1.0 §4.3: "Wallets MUST authenticate itself at the PAR endpoint using the same
    rules as defined in (#token-endpoint) for client authentication at the token
    endpoint". A DPoP proof here (RFC 9449 §10.1), or ``dpop_jkt``, binds the code.
    """
    # Raises invalid_client where the profile wants an attestation and it does not hold.
    authenticate_client(
        state.haip, request, client_id=form.get("client_id"), grant=AUTHORIZATION_CODE_GRANT
    )
    proof = token_proof(state.haip, request, url=f"{state.base}/par", grant="")
    auth = parse_authorization_request(state.behaviour.pushed_form(form))
    configs = list(
        requested_configuration_ids(auth, credential_configurations=dict(state.configurations))
    )
    if not configs:
        raise PasserelleError(
            Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID,
            "the request names no credential configuration of this issuer",
            wire_error="invalid_scope",
        )
    ref = state.token()
    row: JsonObject = {
        "request": dict[str, JsonValue](form),
        "dpop_jkt": proof.jkt if proof is not None else form.get("dpop_jkt"),
        "configs": list[JsonValue](configs),
        "state": advance(IssuanceState.OFFERED, IssuanceEvent.START_AUTHORIZATION).value,
    }
    state.store.put("par", ref, row, expires_at=state.now() + PAR_LIFETIME)
    return {"request_uri": PAR_PREFIX + ref, "expires_in": int(PAR_LIFETIME.total_seconds())}


def pushed(state: IssuerState, request_uri: str) -> dict[str, Any]:
    entry = stored(state.store.get("par", request_uri.removeprefix(PAR_PREFIX), now=state.now()))
    if not request_uri.startswith(PAR_PREFIX) or entry is None:
        raise PasserelleError(
            Reason.INPUT_MALFORMED, "unknown or expired request_uri", wire_error="invalid_request"
        )
    return entry


def login_personas(state: IssuerState, request_uri: str, client_id: str) -> dict[str, str]:
    """The personas a tester may log in as, for a pushed request of this client."""
    entry = pushed(state, request_uri)
    if (
        state.behaviour.bind_request_uri_to_client
        and entry["request"].get("client_id") != client_id
    ):
        raise PasserelleError(
            Reason.INPUT_MALFORMED,
            "client_id differs from the pushed request",
            wire_error="invalid_request",
        )
    return {p: p.replace("-", " ").title() for p in state.personas_for(entry["configs"])}


def issue_code(state: IssuerState, request_uri: str, persona: str) -> str:
    """Spend the pushed request on a login; the redirect back with a fresh code."""
    entry = pushed(state, request_uri)
    if state.behaviour.single_use_request_uri:
        state.store.delete("par", request_uri.removeprefix(PAR_PREFIX))
    req = entry["request"]
    if persona not in state.personas_for(entry["configs"]):
        raise PasserelleError(
            Reason.INPUT_MALFORMED, f"unknown persona {persona!r}", wire_error="invalid_request"
        )
    pending = IssuanceState(entry.get("state", IssuanceState.AUTHORIZATION_PENDING.value))
    code = make_authorization_code(state.random)
    row: JsonObject = {
        "configs": entry["configs"],
        "persona": persona,
        "client_id": req.get("client_id"),
        "redirect_uri": req.get("redirect_uri"),
        "code_challenge": req.get("code_challenge"),
        # §6.2: details asked for here are answered in the Token Response.
        "authorization_details": req.get("authorization_details"),
        "dpop_jkt": entry.get("dpop_jkt"),
        "state": advance(pending, IssuanceEvent.ISSUE_CODE).value,
    }
    state.store.put("auth_codes", code, row, expires_at=state.now() + CODE_LIFETIME)
    query = {"code": code, "iss": state.base}
    if req.get("state"):
        query["state"] = req["state"]
    return f"{req['redirect_uri']}?{urlencode(query)}"


# --- token -----------------------------------------------------------------------------------


def _attempt(state: IssuerState, req: TokenRequest, row: dict[str, Any]) -> tuple[Any, Any]:
    """The row to keep after this attempt, and the refusal (None if redeemed)."""
    grant = PreAuthorizedGrant(
        state=IssuanceState(row["state"]),
        tx_code=row["tx_code"],
        tx_code_failures=int(row.get("tx_code_failures", 0)),
    )
    after, refusal = attempt_pre_authorized_code(
        grant, req, max_failures=TX_CODE_ATTEMPTS, check_tx_code=state.behaviour.check_tx_code
    )
    if refusal is None and not state.behaviour.single_use_codes:
        return row, None  # the reusable_pre_authorized_code quirk
    return {**row, "state": after.state.value, "tx_code_failures": after.tx_code_failures}, refusal


def redeem_pre_authorized_code(
    state: IssuerState, req: TokenRequest, now: datetime
) -> dict[str, Any]:
    """Check the code and its tx_code in one atomic step of the store, so wrong
    tx_codes are counted across replicas and restarts (the core decides)."""
    code = req.pre_authorized_code
    assert code is not None
    store = state.store
    gone = _invalid_grant("pre-authorized code unknown, used or expired")
    if stored(store.get("pre_codes", code, now=now)) is None:
        raise gone
    verdict: dict[str, Any] = {}

    def attempt(row: Any) -> Any:
        verdict.clear()  # the store may call this more than once; the last call counts
        if not isinstance(row, dict):
            verdict["error"] = gone
            return row
        kept, refusal = _attempt(state, req, row)
        verdict.update({"error": refusal} if refusal is not None else {"entry": row})
        return kept

    store.update("pre_codes", code, attempt, now=now)
    if verdict.get("error") is gone:
        # Expired or taken between the look-up and the update: the update wrote an
        # empty row without expiry under this key, which must not stay.
        store.delete("pre_codes", code)
    if "error" in verdict:
        raise verdict["error"]
    if state.behaviour.single_use_codes:
        store.delete("pre_codes", code)
    return cast("dict[str, Any]", verdict["entry"])


def redeem_authorization_code(
    state: IssuerState, req: TokenRequest, now: datetime
) -> dict[str, Any]:
    assert req.code is not None
    behaviour = state.behaviour
    take = state.store.take if behaviour.single_use_authorization_codes else state.store.get
    entry = stored(take("auth_codes", req.code, now=now))
    if entry is None:
        raise _invalid_grant("authorization code unknown, used or expired")
    advance(IssuanceState(entry["state"]), IssuanceEvent.REDEEM_CODE)
    if req.redirect_uri != entry["redirect_uri"]:
        raise _invalid_grant("redirect_uri differs")
    if behaviour.check_code_verifier:
        verify_pkce(req.code_verifier or "", str(entry["code_challenge"]))
    return entry


def _check_client(
    state: IssuerState,
    req: TokenRequest,
    client: VerifiedClientAttestation | None,
    proof: VerifiedDpopProof | None,
    entry: dict[str, Any],
) -> None:
    """A code goes to the client it was issued to, with the DPoP key it was bound to."""
    issued_to = entry.get("client_id")
    if client is not None and issued_to not in (None, client.client_id):
        # -07 §6: the attested client is the client; RFC 6749 §4.1.3: the code is its.
        raise _invalid_grant("the code was issued to another client")
    if client is None and issued_to is not None and state.behaviour.bind_code_to_client:
        # RFC 6749 §4.1.3: client_id is "REQUIRED, if the client is not authenticating
        # with the authorization server", and the server must "ensure that the
        # authorization code was issued to "client_id"".
        if req.client_id is None:
            raise PasserelleError(
                Reason.OID4VCI_TOKEN_REQUEST_INVALID,
                "client_id is required from a client that does not authenticate",
                wire_error="invalid_request",
            )
        if req.client_id != issued_to:
            raise _invalid_grant("the code was issued to another client")
    bound = entry.get("dpop_jkt")
    if bound is not None:
        if proof is None:
            raise PasserelleError(
                Reason.DPOP_PROOF_MISSING,
                "the code is bound to a DPoP key: send a DPoP proof",
                wire_error="invalid_dpop_proof",
            )
        check_dpop_jkt(str(bound), proof)


def exchange_token(state: IssuerState, request: Request, form: dict[str, str]) -> JsonObject:
    """A token request, end to end: the DPoP proof first (so that a nonce retry costs
    the client no attestation PoP), then client authentication, then the grant."""
    req = parse_token_request(form)
    now = state.now()
    grant = PRE_AUTHORIZED_GRANT if req.grant_type == PRE_AUTHORIZED_GRANT else req.grant_type
    proof = token_proof(state.haip, request, url=f"{state.base}/token", grant=grant)
    client = authenticate_client(state.haip, request, client_id=req.client_id, grant=grant)
    if req.grant_type == PRE_AUTHORIZED_GRANT:
        entry = redeem_pre_authorized_code(state, req, now)
    else:
        entry = redeem_authorization_code(state, req, now)
        _check_client(state, req, client, proof, entry)
    return issue_access_token(state, req, entry, now, proof=proof)


def issue_access_token(
    state: IssuerState,
    req: TokenRequest,
    entry: dict[str, Any],
    now: datetime,
    *,
    proof: VerifiedDpopProof | None = None,
) -> JsonObject:
    """The Token Response for a redeemed grant; the token is stored as TOKEN_ISSUED,
    bound to the DPoP key of ``proof`` when there is one (RFC 9449 §5, §6)."""
    details = req.authorization_details
    if not details and entry.get("authorization_details"):
        details = parse_authorization_details(str(entry["authorization_details"]))
    granted = (
        grant_credential_identifiers(details, granted=entry["configs"], random=state.random)
        if details
        else None
    )
    access = state.token(32)
    row: JsonObject = {
        "configs": entry["configs"],
        "identifiers": dict(granted.identifiers) if granted else None,
        "persona": entry["persona"],
        "state": IssuanceState.TOKEN_ISSUED.value,
        # Key proofs must then name this client in iss, or omit iss when the
        # pre-authorized grant was used anonymously (Appendix F.1).
        "client_id": entry.get("client_id") if req.code is not None else req.client_id,
        "dpop_jkt": proof.jkt if proof is not None else None,
    }
    state.store.put("tokens", access, row, expires_at=now + TOKEN_LIFETIME)
    return token_response(
        access,
        expires_in=int(TOKEN_LIFETIME.total_seconds()),
        authorization_details=granted.authorization_details if granted else None,
        # RFC 9449 §5: "token_type ... DPoP" for a DPoP-bound access token.
        token_type="DPoP" if proof is not None else "Bearer",
    )
