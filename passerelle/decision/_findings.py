"""What a refused decision found after the step that refused it.

The DECISION never changes: accepted or refused, and its reason code, are those of the
FIRST failed step in the fixed trust-evaluation order of docs/architecture.md (trust,
signature, holder key, status, holder binding, schema). A refusal's trace then goes on,
as far as it is safe, so that a person sees every problem at once rather than one per
attempt. Those later results are *findings*, kept apart from the decision's ``steps``
(whose last step stays the one that refused) and never read to decide anything:

- ``status: finding``: the check was evaluated; its ``outcome`` says what it found.
  ``untrusted_key`` marks a signature checked with a key no trust list vouches for (the
  ``x5c`` leaf, a ``did:jwk``, or the key of an issuer not trusted for this type);
  ``unverified`` marks a check that read data whose signature did not verify, so what
  it found is not trusted either.
- ``status: not_run``: the check needs what failed; ``depends_on`` names that step.

Nothing here does I/O (the core never does): a finding uses only what the caller had
already fetched. The caller fetches a status list only for a credential that passed a
first decision, so after a failed trust or signature step a status list is normally
absent, and the status check is ``not_run`` rather than a fetch steered by a credential
that has not proved itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .._errors import PasserelleError
from .._json import JsonObject, JsonValue
from ..jose import PublicKey
from ..trust import IssuerIdentity, StepOutcome, TrustStep
from ..vc import resolve_did_jwk
from ..x509 import decode_unverified_x5c

__all__ = ["Finding", "not_run", "presented_key"]

FindingStatus = Literal["finding", "not_run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One check's result after the decision's failed step: a step of the trace with
    why it is not part of the decision."""

    step: TrustStep
    status: FindingStatus = "finding"
    depends_on: str | None = None
    unverified: bool = False
    untrusted_key: bool = False

    def as_dict(self) -> JsonObject:
        out: dict[str, JsonValue] = dict(self.step.as_dict())
        out.update(
            status=self.status,
            depends_on=self.depends_on,
            unverified=self.unverified,
            untrusted_key=self.untrusted_key,
        )
        return out


def not_run(name: str, depends_on: str, detail: str) -> Finding:
    step = TrustStep(step=name, outcome=StepOutcome.SKIPPED, detail=detail)
    return Finding(step=step, status="not_run", depends_on=depends_on)


def presented_key(issuer: IssuerIdentity) -> tuple[PublicKey, str] | None:
    """The key the credential itself names for its signature, with where it came from:
    the ``x5c`` leaf or a ``did:jwk`` ``iss``. Not trusted: only for a finding."""
    if isinstance(issuer.x5c, list) and issuer.x5c:
        try:
            key = decode_unverified_x5c(issuer.x5c)[0].public_key()
        except (PasserelleError, ValueError):
            return None
        if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            return key, "the x5c leaf certificate"
        return None
    if isinstance(issuer.iss, str) and issuer.iss.startswith("did:jwk:"):
        try:
            return resolve_did_jwk(issuer.iss), "the did:jwk issuer"
        except PasserelleError:
            return None
    return None
