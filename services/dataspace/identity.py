"""Who the connector is, and who is talking to it, on the DCP path.

Every message between connectors — a consumer's DSP request, a provider's callback, a
provider's query to a Credential Service — carries a Self-Issued ID Token (DCP 1.0
§"Self-Issued ID Tokens") in ``Authorization: Bearer``. :class:`Tokens` mints ours and
checks theirs: the peer's ``did:web`` document is fetched under the fetch policy, the
key must be listed under ``capabilityInvocation``, the audience is our DID and each
``jti`` is spent once, in the store, so a replay is refused across restarts and
replicas too.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from passerelle import JsonObject, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode
from passerelle.dcp import (
    CAPABILITY_INVOCATION,
    SelfIssuedToken,
    create_self_issued_token,
    did_of_key_id,
    did_web_to_url,
    key_resolver,
    verify_self_issued_token,
)
from passerelle.jose import PublicKey, Signer
from passerelle.services.fetch import Fetcher
from passerelle.services.storage import Store

from .quirks import ConnectorBehaviour

__all__ = ["DidDocuments", "Participant", "Tokens", "bearer", "random_token", "token_key"]

TOKEN_LIFETIME = timedelta(minutes=2)
SKEW = timedelta(seconds=60)
DID_CACHE = timedelta(seconds=60)


def random_token(random: RandomSource, n: int = 32) -> str:
    return b64url_encode(random.token_bytes(n))


def token_key(token: str) -> str:
    """The store key of a secret or peer-chosen value: its SHA-256, so that neither the
    secret itself nor an over-long value lands in the database."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header, or ``dcp.token_missing``."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise PasserelleError(
            Reason.DCP_TOKEN_MISSING,
            "a Self-Issued ID Token is required in the Authorization header (Bearer)",
            wire_error="invalid_token",
        )
    return value.strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    """A data-space participant this connector speaks for: its DID and signing key."""

    did: str
    kid: str
    signer: Signer


class DidDocuments:
    """``did:web`` documents fetched under the fetch policy, kept for a minute.

    ``allow_loopback`` and ``allow_insecure_loopback`` are the two development
    relaxations of :mod:`passerelle.dcp` (a DID naming a loopback address; a loopback
    DID resolved over plain http)."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        allow_loopback: bool,
        allow_insecure_loopback: bool,
        clock: Callable[[], datetime],
        ttl: timedelta = DID_CACHE,
    ) -> None:
        self._fetcher = fetcher
        self._allow_loopback = allow_loopback
        self._allow_insecure_loopback = allow_insecure_loopback
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[datetime, JsonObject]] = {}

    def get(self, did: str) -> JsonObject:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(did)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        url = did_web_to_url(
            did,
            allow_loopback=self._allow_loopback,
            allow_insecure_loopback=self._allow_insecure_loopback,
        )
        try:
            document = self._fetcher.get_json(url)
        except PasserelleError as exc:
            raise PasserelleError(
                Reason.DID_UNRESOLVED, f"{did}: {exc.detail}", wire_error="invalid_token"
            ) from exc
        # did:web "Read": the document must be about the DID that was resolved.
        if document.get("id") != did:
            raise PasserelleError(Reason.DID_INVALID, f"the document at {url} is not about {did}")
        with self._lock:
            self._cache[did] = (now, document)
        return document

    def resolver(self, relationship_for: Callable[[str], str]) -> Callable[[str], PublicKey]:
        """A ``resolve_key`` for the core: the document of the key's DID, the key
        listed under ``relationship_for(did)``."""

        def resolve(kid: str) -> PublicKey:
            did = did_of_key_id(kid)
            return key_resolver({did: self.get(did)}, relationship=relationship_for(did))(kid)

        return resolve


class Tokens:
    """Self-Issued ID Tokens: minted for our participants, verified from peers."""

    def __init__(
        self,
        *,
        store: Store,
        documents: DidDocuments,
        behaviour: ConnectorBehaviour,
        random: RandomSource,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._documents = documents
        self._behaviour = behaviour
        self._random = random
        self._clock = clock

    def mint(self, who: Participant, *, audience: str, access_token: str) -> str:
        return create_self_issued_token(
            holder_did=who.did,
            audience=audience,
            access_token=access_token,
            signer=who.signer,
            kid=who.kid,
            now=self._clock(),
            lifetime=TOKEN_LIFETIME,
            jti=random_token(self._random, 16),
        )

    def verify(self, authorization: str | None, *, audience: str) -> SelfIssuedToken:
        """The verified token of a request to ``audience`` (one of our DIDs), or raise a
        ``dcp.*`` / ``did.*`` reason."""
        token = bearer(authorization)
        now = self._clock()

        def seen(jti: str, expires: datetime) -> bool:
            if not self._behaviour.single_use_jti:
                return False
            # Kept until the token could no longer be accepted anyway.
            return not self._store.insert(
                "seen_jti", token_key(jti), {}, now=now, expires_at=expires + SKEW
            )

        try:
            return verify_self_issued_token(
                token,
                audience=self._behaviour.expected_audience(token, own_did=audience),
                resolve_key=self._documents.resolver(lambda _: CAPABILITY_INVOCATION),
                now=now,
                skew=SKEW,
                seen_jti=seen,
            )
        except PasserelleError as exc:
            # Whatever failed (an unresolvable DID, a key not found), the token is refused.
            raise exc.for_wire("invalid_token") from exc
