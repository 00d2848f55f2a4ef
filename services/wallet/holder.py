"""The holder: what the wallet receives, keeps, and shows, and every decision it makes.

On receipt a credential goes through the same decision pipeline a verifier uses
(``passerelle.decision``): a credential the wallet would not accept from an issuer it
cannot trust is refused, and the refusal is kept with its reason code. Each credential
gets a holder key of its own (P-256), so that two presentations of two credentials
cannot be linked by key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, PasserelleError, RandomSource
from passerelle._json import b64url_encode
from passerelle.decision import DecisionPolicy, credential_references, decide_credential
from passerelle.jose import PrivateKey, load_private_jwk, private_jwk
from services.catalog import Catalog
from services.storage import Store
from services.trust.client import TrustClient

from ..decision_inputs import fetch_decision_inputs
from ..fetch import Fetcher
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
    _schemas: dict[str, JsonObject] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._schemas = {t.vct: t.schema for t in self.catalog.types.values()}

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
        except PasserelleError as exc:
            outcome: JsonObject = {
                "accepted": False,
                "reason": str(exc.reason),
                "detail": exc.detail,
                "stage": "issuance",
            }
            outcome["decision_id"] = self.record("receive", outcome)
            return [outcome]
        outcomes: list[JsonObject] = []
        for token, key in zip(received.credentials, keys, strict=False):
            outcomes.append(self._keep(token, received.format, received.credential_issuer, key))
        return outcomes

    def _keep(self, token: str, fmt: str, issuer: str, key: PrivateKey) -> JsonObject:
        now = self.clock()
        snapshot = self.trust.snapshot()
        refs = credential_references(token, format=fmt)
        inputs = fetch_decision_inputs(
            refs,
            fetcher=self.fetcher,
            trust=snapshot,
            now=now,
            allow_insecure_loopback=self.policy.allow_insecure_loopback,
        )
        decision = decide_credential(
            token,
            format=fmt,
            trust=snapshot,
            policy=self.policy,
            now=now,
            issuer_metadata=inputs.issuer_metadata,
            status_lists=inputs.status_lists,
            schemas=self._schemas,
            type_metadata={t.vct: t.type_metadata for t in self.catalog.types.values()},
        )
        outcome: JsonObject = {
            **decision.as_dict(),
            "issuer": issuer,
            "problems": list(inputs.problems),
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
                )
            )
        return held

    def decisions(self) -> list[JsonObject]:
        rows = self.store.list("decisions", now=self.clock(), limit=10_000)
        return [{"decision_id": k, **v} for k, v in rows if isinstance(v, dict)]
