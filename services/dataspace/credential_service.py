"""The SME's Credential Service (DCP 1.0 §"Verifiable Presentation Protocol").

It holds the SME's ``vc+jwt`` credentials and answers ``POST /presentations/query``
with a ``vp+jwt`` of them. Access control follows DCP 1.0 §"Credential Service
Security": when the SME sends a DSP request it mints an access token (:meth:`grant`),
bound to the one provider it is talking to and to the credential types it agrees to
share, and puts it in the ``token`` claim of its Self-Issued ID Token. The provider
then queries with a Self-Issued ID Token of its own carrying that access token; the
query is answered only if the provider is the party the access token was granted to,
and only with credentials of the granted types ("scopes that a client is not entitled
to" give "less entries than requested").
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle.dcp import (
    SCOPE_VC_ID_ALIAS,
    create_dcp_presentation,
    parse_presentation_query,
    presentation_response,
    type_of_scope,
)
from passerelle.jose import decode_unverified_jws
from passerelle.services.storage import Store

from .identity import Participant, Tokens, random_token, token_key

__all__ = ["ACCESS_TOKEN_LIFETIME", "CredentialService", "StoredCredential"]

ACCESS_TOKEN_LIFETIME = timedelta(minutes=5)
"""Long enough for a provider's background evaluation of a request to query us."""
PRESENTATION_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCredential:
    id: str
    types: tuple[str, ...]
    issuer: str
    token: str
    credential_id: str | None
    """The credential's own ``id`` (for the ``org.eclipse.dspace.dcp.vc.id`` scope)."""


def _summary_unverified(token: str) -> tuple[tuple[str, ...], str, str | None, str | None]:
    """The types, issuer and subject a ``vc+jwt`` claims, read WITHOUT verification:
    the holder files its own credentials by what they say; every verifier checks them."""
    try:
        payload = decode_unverified_jws(token).payload_json()
    except PasserelleError as exc:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"not a vc+jwt: {exc.detail}") from exc
    raw_types = payload.get("type")
    types = tuple(t for t in raw_types if isinstance(t, str)) if isinstance(raw_types, list) else ()
    issuer = payload.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    subject = payload.get("credentialSubject")
    subject_id = subject.get("id") if isinstance(subject, dict) else None
    own_id = payload.get("id")
    return (
        types,
        issuer if isinstance(issuer, str) else "",
        subject_id if isinstance(subject_id, str) else None,
        own_id if isinstance(own_id, str) else None,
    )


class CredentialService:
    def __init__(
        self,
        *,
        holder: Participant,
        shares: tuple[str, ...],
        store: Store,
        tokens: Tokens,
        random: RandomSource,
        clock: Callable[[], datetime],
    ) -> None:
        self.holder = holder
        self.shares = shares
        self._store = store
        self._tokens = tokens
        self._random = random
        self._clock = clock

    # --- the holder's own side -------------------------------------------------------------

    def add(self, token: str) -> StoredCredential:
        """File a credential issued to the holder."""
        types, issuer, subject, own_id = _summary_unverified(token)
        if subject != self.holder.did:
            raise PasserelleError(
                Reason.DCP_HOLDER_MISMATCH,
                f"the credential is about {subject!r}, not this holder ({self.holder.did})",
            )
        credential_id = token_key(token)[:32]
        self._store.put(
            "cs_credentials",
            credential_id,
            {"types": list(types), "issuer": issuer, "token": token, "id": own_id},
        )
        return StoredCredential(
            id=credential_id, types=types, issuer=issuer, token=token, credential_id=own_id
        )

    def credentials(self) -> builtins.list[StoredCredential]:
        rows = self._store.list("cs_credentials", now=self._clock(), limit=1000)
        out = []
        for key, value in rows:
            row = cast("dict[str, Any]", value)
            out.append(
                StoredCredential(
                    id=key,
                    types=tuple(row["types"]),
                    issuer=row["issuer"],
                    token=row["token"],
                    credential_id=row.get("id"),
                )
            )
        return out

    def grant(self, audience: str) -> str:
        """A fresh access token letting ``audience`` (a provider's DID) read the shared
        credential types for a few minutes."""
        access = random_token(self._random)
        grant: JsonObject = {"audience": audience, "types": list(self.shares)}
        now = self._clock()
        self._store.put(
            "cs_access_tokens", token_key(access), grant, expires_at=now + ACCESS_TOKEN_LIFETIME
        )
        return access

    # --- the Resolution API ---------------------------------------------------------------

    def query(self, authorization: str | None, body: JsonValue) -> JsonObject:
        """``POST /presentations/query``: a ``PresentationResponseMessage``, or raise."""
        caller = self._tokens.verify(authorization, audience=self.holder.did)
        now = self._clock()
        grant = self._store.get("cs_access_tokens", token_key(caller.access_token), now=now)
        if not isinstance(grant, dict) or grant.get("audience") != caller.iss:
            raise PasserelleError(
                Reason.DCP_TOKEN_INVALID,
                "the access token is unknown, expired, or was granted to another party",
                wire_error="invalid_token",
            )
        granted = {t for t in cast("list[str]", grant.get("types", [])) if isinstance(t, str)}
        asked_types: set[str] = set()
        asked_ids: set[str] = set()
        for scope in parse_presentation_query(body):
            if scope.startswith(SCOPE_VC_ID_ALIAS + ":"):
                asked_ids.add(scope[len(SCOPE_VC_ID_ALIAS) + 1 :].removesuffix(":read"))
            else:
                asked_types.add(type_of_scope(scope))
        # Only what the access token grants, whichever way it is asked for.
        chosen = [
            c.token
            for c in self.credentials()
            if granted & set(c.types)
            and (asked_types & set(c.types) or (c.credential_id or "") in asked_ids)
        ]
        if not chosen:
            return presentation_response([])
        presentation = create_dcp_presentation(
            chosen,
            holder_did=self.holder.did,
            signer=self.holder.signer,
            kid=self.holder.kid,
            audience=caller.iss,
            now=now,
            lifetime=PRESENTATION_LIFETIME,
        )
        return presentation_response([presentation])
