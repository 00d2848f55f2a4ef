"""Deciding about a credential: trust, signature, status, holder binding and schema, in
one pure pipeline shared by the verifiers (on presentation) and the wallet (on receipt)."""

from ._credential import (
    CredentialDecision,
    CredentialReferences,
    DecisionPolicy,
    credential_references,
    decide_credential,
)
from ._presentation import FetchedInputs, PresentationDecision, decide_presentation

__all__ = [
    "CredentialDecision",
    "CredentialReferences",
    "DecisionPolicy",
    "FetchedInputs",
    "PresentationDecision",
    "credential_references",
    "decide_credential",
    "decide_presentation",
]
