"""The issuer's credential endpoints: the access token, the wallet's key proofs, the
credentials, deferred transactions and notifications. The core decides (proofs, the
session table, which nonce a batch must carry); this module reads and writes the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle.jose import PublicKey, load_public_jwk, public_jwk
from passerelle.oid4vci import (
    ATTESTATION_PROOF_TYPE,
    CredentialResponseEncryption,
    IssuanceEvent,
    IssuanceState,
    advance,
    batch_proof_nonce,
    credential_response,
    deferred_response,
    encrypt_credential_response,
    parse_credential_request,
    read_unverified_proof_nonce,
    verify_attestation_proof,
    verify_jwt_proof,
)
from passerelle.services.web import NO_STORE

from .grants import TOKEN_LIFETIME
from .haip import nonce_headers, resource_grant
from .profile import CredentialConfiguration
from .quirks import unverified_attestation, unverified_claims
from .state import IssuerState, stored

__all__ = ["bearer", "notify", "redeem_deferred", "request_credential", "sealed"]

PROOF_MAX_AGE = timedelta(minutes=5)
PROOF_TYPES = ("jwt", ATTESTATION_PROOF_TYPE)
SKEW = timedelta(seconds=30)


def bearer(state: IssuerState, request: Request) -> dict[str, Any]:
    """The grant behind the request's access token: a bearer token in the header
    (RFC 6750 §2.1), a DPoP-bound one with the ``DPoP`` scheme and a proof (RFC 9449 §7)."""
    url = f"{state.base}{request.url.path}"
    return resource_grant(
        state.haip,
        request,
        url=url,
        lookup=lambda token: stored(state.store.get("tokens", token, now=state.now())),
        token_in_query=state.behaviour.token_in_query,
    )


def _expected_nonce(state: IssuerState, proofs: tuple[str, ...], now: datetime) -> str | None:
    """The c_nonce the proofs must carry. A batch's proofs all carry the one c_nonce the
    issuer handed out, which is spent here, once."""
    nonce = batch_proof_nonce(read_unverified_proof_nonce(p) for p in proofs)
    behaviour = state.behaviour
    if not behaviour.check_nonce:
        return nonce  # the accept_any_nonce quirk: whatever the proof says
    live = nonce is not None and (
        nonce == behaviour.fixed_c_nonce or state.store.take("nonces", nonce, now=now) is not None
    )
    # Not issued here, expired or spent: expect a value no proof carries, so the core
    # reports invalid_nonce (and a missing nonce, invalid_proof).
    return nonce if live else state.token()


def attested_keys(state: IssuerState, proofs: tuple[str, ...], now: datetime) -> list[PublicKey]:
    """The keys of an ``attestation`` proof (Appendix F.3): the key attestation alone,
    verified against the list of wallet providers; one credential per attested key."""
    policy = (
        state.haip.key_attestation_policy(proofs, attestation_proofs=True)
        if state.haip is not None
        else None
    )
    if policy is None:
        raise PasserelleError(
            Reason.OID4VCI_PROOF_TYPE_UNSUPPORTED,
            "this issuer takes no attestation proofs",
            wire_error="invalid_proof",
        )
    expected = _expected_nonce(state, proofs, now)
    if state.behaviour.check_key_attestation_signature:
        verified = verify_attestation_proof(
            proofs[0],
            policy=policy,
            algorithms=state.profile.proof_signing_alg_values,
            now=now,
            skew=SKEW,
            expected_nonce=expected,
        )
        keys = list(verified.attested_keys)
    else:
        jwks, nonce = unverified_attestation(proofs[0])
        if expected is not None and nonce != expected:
            raise PasserelleError(
                Reason.KEY_ATTESTATION_NONCE_MISMATCH,
                "nonce is not the issued c_nonce",
                wire_error="invalid_nonce",
            )
        keys = [load_public_jwk(k) for k in jwks]
    if len(keys) > max(state.profile.batch_size, 1):
        raise PasserelleError(
            Reason.OID4VCI_BATCH_TOO_LARGE,
            f"{len(keys)} attested keys; batch_size is {state.profile.batch_size}",
            wire_error="invalid_proof",
        )
    return keys


def holder_keys(
    state: IssuerState, proofs: tuple[str, ...], client_id: str | None, now: datetime
) -> list[PublicKey]:
    """Verify every key proof of one request; the holder keys they prove."""
    expected = _expected_nonce(state, proofs, now)
    policy = state.haip.key_attestation_policy(proofs) if state.haip is not None else None
    keys: list[PublicKey] = []
    for proof in proofs:
        audience = state.base
        if not state.behaviour.check_proof_aud:
            claimed_aud = unverified_claims(proof).get("aud")
            audience = claimed_aud if isinstance(claimed_aud, str) else state.base
        verified = verify_jwt_proof(
            proof,
            audience=audience,
            expected_nonce=expected,
            algorithms=state.profile.proof_signing_alg_values,
            now=now,
            max_age=PROOF_MAX_AGE,
            skew=SKEW,
            client_id=client_id,
            key_attestation=policy,
        )
        keys.append(verified.holder_key)
    return keys


def _issue_batch(
    state: IssuerState,
    config: CredentialConfiguration,
    persona: str,
    keys: list[PublicKey],
    now: datetime,
) -> list[str]:
    issued = []
    for holder in keys:
        credential_id = state.token(12)
        result = state.factory.issue(
            config, persona=persona, holder=holder, now=now, credential_id=credential_id
        )
        row: JsonObject = {
            "configuration": config.id,
            "status_index": result.status_index,
            **({"w3c_status": dict(result.w3c_status)} if result.w3c_status else {}),
            "issued_at": now.isoformat(),
            "status": "valid",
        }
        state.store.put("issuances", credential_id, row)
        issued.append(result.credential)
    return issued


def _await_notification(
    state: IssuerState, notification_id: str, config: CredentialConfiguration, now: datetime
) -> None:
    row: JsonObject = {
        "configuration": config.id,
        "state": IssuanceState.CREDENTIAL_ISSUED.value,
    }
    state.store.put("notifications", notification_id, row, expires_at=now + TOKEN_LIFETIME)


def _configuration(
    state: IssuerState, grant: dict[str, Any], body: dict[str, Any]
) -> tuple[CredentialConfiguration, tuple[str, ...], str | None]:
    """The configuration a Credential Request asks for, and its key proofs."""
    # §8.2: with credential_identifiers in the Token Response, the wallet names those;
    # otherwise configuration ids.
    identifiers = grant.get("identifiers")
    req = parse_credential_request(
        state.behaviour.screened(body, authorized=list(grant["configs"])),
        metadata_configurations=dict(state.configurations),
        authorized=identifiers or grant["configs"],
        batch_size=state.profile.batch_size,
        accept_response_encryption="credential_response_encryption" in state.metadata,
        proof_types=PROOF_TYPES if state.haip is not None else ("jwt",),
    )
    config_id = req.credential_configuration_id
    if config_id is None:
        # parse_credential_request found the identifier among those granted.
        assert isinstance(identifiers, dict)
        assert req.credential_identifier is not None
        config_id = str(identifiers[req.credential_identifier])
    return state.profile.configurations[config_id], req.proofs, req.proof_type


def request_credential(
    state: IssuerState, grant: dict[str, Any], body: dict[str, Any]
) -> tuple[JsonObject, int]:
    """The Credential Response (200) or, for a deferred configuration, its transaction (202)."""
    now = state.now()
    config, proofs, proof_type = _configuration(state, grant, body)
    token_state = IssuanceState(grant.get("state", IssuanceState.TOKEN_ISSUED.value))
    keys = (
        attested_keys(state, proofs, now)
        if proof_type == ATTESTATION_PROOF_TYPE
        else holder_keys(state, proofs, grant.get("client_id"), now)
    )
    notification_id = state.token(12)
    if config.deferred_seconds:
        advance(token_state, IssuanceEvent.DEFER)
        transaction = state.token()
        row: JsonObject = {
            "configuration": config.id,
            "persona": grant["persona"],
            "keys": [public_jwk(k) for k in keys],
            "ready_at": (now + timedelta(seconds=config.deferred_seconds)).isoformat(),
            "notification_id": notification_id,
            "state": IssuanceState.DEFERRED.value,
        }
        state.store.put("deferred", transaction, row, expires_at=now + TOKEN_LIFETIME)
        return deferred_response(transaction, interval=config.deferred_seconds), 202
    advance(token_state, IssuanceEvent.ISSUE_CREDENTIAL)
    credentials = _issue_batch(state, config, grant["persona"], keys, now)
    _await_notification(state, notification_id, config, now)
    return credential_response(credentials, notification_id=notification_id), 200


def sealed(
    state: IssuerState,
    answer: JsonObject,
    status_code: int,
    encryption: CredentialResponseEncryption | None,
) -> Response:
    """The answer as sent: a JWE (``application/jwt``, §8.3) when the wallet asked for
    an encrypted response, and a fresh ``DPoP-Nonce`` when the profile uses them."""
    extra = nonce_headers(state.haip)
    if encryption is None:
        response: Response = state.no_store(answer, status_code)
    else:
        response = Response(
            encrypt_credential_response(answer, encryption),
            status_code=status_code,
            media_type="application/jwt",
            headers=dict(NO_STORE) if state.behaviour.no_store else {},
        )
    response.headers.update(extra)
    return response


def _unknown_transaction(detail: str) -> PasserelleError:
    return PasserelleError(
        Reason.OID4VCI_TRANSACTION_ID_INVALID, detail, wire_error="invalid_transaction_id"
    )


def redeem_deferred(state: IssuerState, transaction_id: str) -> tuple[JsonObject, int]:
    """The credentials of a ready transaction (200), or "not yet" (202)."""
    now = state.now()
    entry = stored(state.store.get("deferred", transaction_id, now=now))
    if entry is None:
        raise _unknown_transaction("unknown transaction_id")
    if now < datetime.fromisoformat(entry["ready_at"]):
        return deferred_response(transaction_id, interval=1), 202
    if state.store.take("deferred", transaction_id, now=now) is None:
        raise _unknown_transaction("transaction already redeemed")
    deferred_state = IssuanceState(entry.get("state", IssuanceState.DEFERRED.value))
    advance(deferred_state, IssuanceEvent.ISSUE_DEFERRED_CREDENTIAL)
    keys: list[PublicKey] = [load_public_jwk(k) for k in entry["keys"]]
    config = state.profile.configurations[entry["configuration"]]
    credentials = _issue_batch(state, config, entry["persona"], keys, now)
    _await_notification(state, entry["notification_id"], config, now)
    return credential_response(credentials, notification_id=entry["notification_id"]), 200


def notify(state: IssuerState, notification_id: str, event: str) -> None:
    """Record the wallet's notification; repeating it is harmless (§11)."""
    entry = stored(state.store.get("notifications", notification_id, now=state.now()))
    if entry is None:
        raise PasserelleError(
            Reason.OID4VCI_NOTIFICATION_ID_INVALID,
            "unknown notification_id",
            wire_error="invalid_notification_id",
        )
    current = IssuanceState(entry.get("state", IssuanceState.CREDENTIAL_ISSUED.value))
    following: JsonValue = advance(current, IssuanceEvent.NOTIFY).value
    state.store.put("notifications", notification_id, {**entry, "event": event, "state": following})
