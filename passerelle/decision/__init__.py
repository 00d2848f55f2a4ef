"""Deciding about a credential: trust, signature, status, holder binding and schema, in
one pure pipeline shared by the verifiers (on presentation) and the wallet (on receipt)."""

from ._credential import (
    CredentialDecision,
    CredentialReferences,
    DecisionPolicy,
    credential_references,
    decide_credential,
)

__all__ = [
    "CredentialDecision",
    "CredentialReferences",
    "DecisionPolicy",
    "credential_references",
    "decide_credential",
]
