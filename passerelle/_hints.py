"""What to do about a reason code: one sentence each, for the codes a person meets when
joining or running the testbed. Pages, the CLI and docs/partners.md (its table is made
by :func:`hints_markdown`, and a test keeps the two equal) read this one table."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._errors import Reason

__all__ = ["HINTS", "hint_for", "hints_markdown"]

HINTS: Mapping[Reason, str] = MappingProxyType(
    {
        Reason("trust.list_stale"): "The lists are past their next update: run "
        "`passerelle trust build` (a running stack picks them up within seconds).",
        Reason("trust.list_rollback"): "A list older than one already seen was served: "
        "publish the newest list again, never an earlier sequence number.",
        Reason("trust.list_signature_invalid"): "The list is not signed by its scheme "
        "operator: rebuild it with `passerelle trust build` on the operator's data directory.",
        Reason("trust.source_placeholder"): "A partner file still holds a `<...>` placeholder: "
        "fill in the field the message names.",
        Reason("x509.chain_invalid"): "Put your signing certificate and its intermediates (not "
        "the root) in `x5c`, and your CA in your list entry.",
        Reason("x509.san_mismatch"): "With `x509_san_dns`, the client id and the response_uri "
        "host must be a DNS name your access certificate carries.",
        Reason("sd_jwt_vc.issuer_key_unresolved"): "A Canadian issuer: add your registry entry "
        "(`trust_lists/partners/`), and publish JWT VC Issuer Metadata at your `iss`.",
        Reason("trust.issuer_not_listed"): "Add a partner file for your issuer and run "
        "`passerelle trust build`.",
        Reason("trust.not_authorized_for_type"): "List the credential type (`vct`) in your "
        "entry's services or authorizations.",
        Reason("trust.service_withdrawn"): "Your entry is withdrawn or outside its validity "
        "dates: ask the operator to restore it, or correct the dates.",
        Reason("trust.not_recognized"): "No recognition agreement of the other side covers "
        "this type: propose a change to `trust_lists/recognition/`.",
        Reason("trust.recognition_out_of_scope"): "The agreement covers this type only for "
        "other scopes (product categories): check the attestation's scope.",
        Reason("trust.recognition_expired"): "The recognition agreement is no longer in force: "
        "it must be renewed (a pull request to `trust_lists/recognition/`).",
        Reason("trust.unavailable"): "The trust service did not answer: start it (or wait for "
        "it) and try again; nothing was consumed.",
        Reason("status.revoked"): "The issuer revoked this credential: ask for a new one.",
        Reason("status.suspended"): "The issuer suspended this credential: it may reinstate it.",
        Reason("status.unavailable"): "The issuer's status list could not be fetched: make it "
        "reachable at the credential's `status.status_list.uri`.",
        Reason("sd_jwt_vc.cnf_invalid"): "Bind the credential to the key the wallet proved "
        "(`cnf.jwk` from the proof of possession).",
        Reason("jws.invalid_signature"): "Sign with the key your list entry or metadata "
        "publishes, with an algorithm the profile allows (ES256).",
        Reason("jwt.expired"): "The credential or proof has expired: issue a new one, or check "
        "the clocks (60 s of skew are allowed).",
        Reason("kb_jwt.nonce_mismatch"): "Answer with the nonce of this request: each "
        "presentation is bound to one request.",
        Reason("dcql.no_match"): "The wallet holds nothing that answers the query (type, "
        "claims and their values): nothing was disclosed.",
        Reason("dcql.claim_value_mismatch"): "A claim was shown with a value the query did not "
        "ask for: a wallet must not answer with it (OpenID4VP §6.3, §6.4.1).",
        Reason("wallet.holder_declined"): "The person declined: nothing to fix.",
        Reason("oid4vp.session_transition_invalid"): "This request was already answered or has "
        "expired: start a new one on the verifier.",
    }
)


def hint_for(reason: Reason | str) -> str | None:
    """The sentence for ``reason``, or None when the table has none."""
    try:
        return HINTS.get(Reason(reason))
    except ValueError:
        return None


def hints_markdown() -> str:
    """The table docs/partners.md shows."""
    rows = [f"| `{reason}` | {hint} |" for reason, hint in HINTS.items()]
    return "\n".join(["| reason code | what to do |", "| --- | --- |", *rows]) + "\n"
