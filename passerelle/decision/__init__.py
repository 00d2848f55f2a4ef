"""Deciding about a credential: trust, signature, status, holder binding and schema, in
one pure pipeline shared by the verifiers (on presentation) and the wallet (on receipt)."""

from ._credential import (
    CredentialDecision,
    CredentialReferences,
    DecisionPolicy,
    authority_keys_of,
    credential_references,
    decide_credential,
    trust_tags_of,
)
from ._mdoc import FORMAT_MSO_MDOC, decide_mdoc, mdoc_claims, unverified_mdoc
from ._presentation import (
    FetchedInputs,
    PresentationDecision,
    decide_presentation,
    decision_trace,
    policy_for,
    presented_items,
    refusal_of,
)

__all__ = [
    "FORMAT_MSO_MDOC",
    "CredentialDecision",
    "CredentialReferences",
    "DecisionPolicy",
    "FetchedInputs",
    "PresentationDecision",
    "authority_keys_of",
    "credential_references",
    "decide_credential",
    "decide_mdoc",
    "decide_presentation",
    "decision_trace",
    "mdoc_claims",
    "policy_for",
    "presented_items",
    "refusal_of",
    "trust_tags_of",
    "unverified_mdoc",
]
