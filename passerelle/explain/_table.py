"""The table behind :func:`passerelle.explain.explain`: data, a lookup, and its markdown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PARTNER_CODES", "Explanation", "explain", "markdown_table"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    reason: str
    sentence: str
    """What happened, in one sentence a person can read."""
    hint: str
    """What you can do about it."""


# (sentence, what you can do), by family: the words for every code of that family
# without an entry of its own.
_FAMILIES: dict[str, tuple[str, str]] = {
    "input": (
        "A message could not be read: it is malformed or too large.",
        "Check what was pasted or sent; start again from a fresh link.",
    ),
    "fetch": (
        "A document another party publishes could not be fetched.",
        "Check that the other service is running and its host name resolves, then retry.",
    ),
    "jwk": (
        "A key in the message is unusable.",
        "The sender must publish a public key of a supported type.",
    ),
    "jws": (
        "A signed message is malformed or its signature does not verify.",
        "The sender must sign with a key and algorithm the receiver accepts.",
    ),
    "jwt": (
        "A signed token is missing a claim, or is outside its validity period.",
        "Check the clocks of both parties and ask for a fresh token.",
    ),
    "x509": (
        "A certificate is malformed, expired, or does not chain to a trusted authority.",
        "The sender must use a certificate issued under an authority on the trust list.",
    ),
    "sd_jwt": (
        "The selectively disclosable credential is malformed.",
        "The issuer must fix how it builds the credential (RFC 9901).",
    ),
    "kb_jwt": (
        "The wallet's proof that it holds the credential's key is missing or wrong.",
        "The wallet must sign a fresh key-binding proof for this request.",
    ),
    "mdoc": (
        "The mobile document (ISO 18013-5) is malformed or does not verify.",
        "The issuer or wallet must fix the mdoc; the trace names the failed check.",
    ),
    "sd_jwt_vc": (
        "The credential does not follow the SD-JWT VC rules.",
        "The issuer must fix the credential (type, issuer, key or status).",
    ),
    "type_metadata": (
        "The credential type's metadata is invalid.",
        "The issuer must publish valid type metadata for this credential type.",
    ),
    "credential": (
        "The credential is outside its validity period.",
        "Ask the issuer for a new credential.",
    ),
    "vc": (
        "The W3C credential is malformed or names the wrong issuer or holder.",
        "The issuer must fix the credential.",
    ),
    "vp": (
        "The presentation is malformed or was made for another request.",
        "Answer the request again from the wallet, with the request's own nonce.",
    ),
    "trust": (
        "The issuer is not trusted for this credential by the verifier's trust lists.",
        "The issuer must be listed (or recognised) for this credential type; see the "
        "partners guide.",
    ),
    "trqp": (
        "The trust registry could not answer the question it was asked.",
        "Check the entity, authority and action named in the query.",
    ),
    "status": (
        "The credential's status could not be confirmed as valid.",
        "Ask the issuer about the credential's status, or for a new credential.",
    ),
    "oid4vci": (
        "The credential issuance (OpenID4VCI) was refused.",
        "Start again from a fresh offer; the detail names the step that failed.",
    ),
    "key_attestation": (
        "The wallet's key attestation is missing or not accepted.",
        "Use a wallet whose keys are attested by a provider the issuer trusts.",
    ),
    "dpop": (
        "The proof of possession (DPoP) of the access token is missing or wrong.",
        "The client must send a fresh DPoP proof for each request.",
    ),
    "client_attestation": (
        "The wallet's client attestation is missing or not accepted.",
        "Use a wallet attested by a provider the issuer trusts.",
    ),
    "oid4vp": (
        "The presentation request or response (OpenID4VP) was refused.",
        "Start again from a fresh request on the verifier's page.",
    ),
    "dcql": (
        "The credentials presented do not answer what the verifier asked.",
        "Present a credential of the requested type with the requested claims.",
    ),
    "wallet": (
        "The wallet did not send the credential.",
        "Start again from a fresh request if you want to share it.",
    ),
    "schema": (
        "The credential's claims do not fit its type's schema.",
        "The issuer must issue claims that fit the schema in schemas/.",
    ),
    "crosswalk": (
        "The mapping between the two vocabularies is invalid.",
        "Fix the crosswalk document in schemas/crosswalks/.",
    ),
    "did": (
        "A decentralised identifier could not be resolved to a key.",
        "Check the DID and that its document is published.",
    ),
    "odrl": (
        "The usage policy does not permit this.",
        "Ask for an offer whose policy your membership satisfies.",
    ),
    "dsp": (
        "The data-space protocol message was refused.",
        "Start the negotiation again; the detail names the step.",
    ),
    "dcp": (
        "The data-space credential exchange was refused.",
        "Check the participant's identity and credentials, then retry.",
    ),
    "conformance": (
        "The conformance attestation is missing or not accepted.",
        "Run the conformance suite again and publish the new attestation.",
    ),
}

_OWN: dict[str, tuple[str, str]] = {
    "input.malformed": (
        "The message could not be read, or what it refers to no longer exists.",
        "Start again from a fresh link.",
    ),
    "fetch.unreachable": (
        "The other service did not answer.",
        "Check that it is running (passerelle up), then retry.",
    ),
    "jws.invalid_signature": (
        "A signature does not verify.",
        "Sign with the key your list entry or metadata publishes, with an algorithm the "
        "profile allows (ES256).",
    ),
    "jwt.expired": (
        "The credential or proof has expired.",
        "Issue a new one, or check the clocks (60 s of skew are allowed).",
    ),
    "x509.chain_invalid": (
        "The certificate does not chain to an authority on the trust list.",
        "Put your signing certificate and its intermediates (not the root) in `x5c`, and "
        "your CA in your list entry.",
    ),
    "x509.san_mismatch": (
        "The client id or the response address is not a name the access certificate carries.",
        "With `x509_san_dns`, the client id and the response_uri host must be a DNS name "
        "your access certificate carries.",
    ),
    "kb_jwt.nonce_mismatch": (
        "The wallet answered another request than this one.",
        "Answer with the nonce of this request, from its own link: each presentation is "
        "bound to one request.",
    ),
    "kb_jwt.missing": (
        "The wallet did not prove that it holds the credential's key.",
        "Use a wallet that adds a key-binding proof.",
    ),
    "sd_jwt_vc.issuer_key_unresolved": (
        "The issuer's signing key could not be found.",
        "A Canadian issuer: add your registry entry (`trust_lists/partners/`), and publish "
        "JWT VC Issuer Metadata at your `iss`.",
    ),
    "sd_jwt_vc.cnf_invalid": (
        "The credential is not bound to a usable key of the wallet.",
        "Bind the credential to the key the wallet proved (`cnf.jwk` from the proof of "
        "possession).",
    ),
    "credential.expired": ("The credential has expired.", "Ask the issuer for a new one."),
    "trust.list_stale": (
        "The trust lists are past their next update.",
        "Run `passerelle trust build` (a running stack picks them up within seconds).",
    ),
    "trust.list_rollback": (
        "A trust list older than one already seen was served.",
        "Publish the newest list again, never an earlier sequence number.",
    ),
    "trust.list_signature_invalid": (
        "The trust list is not signed by its scheme operator.",
        "Rebuild it with `passerelle trust build` on the operator's data directory.",
    ),
    "trust.source_placeholder": (
        "A partner file still holds a `<...>` placeholder.",
        "Fill in the field the message names.",
    ),
    "trust.issuer_not_listed": (
        "The issuer is on none of the trust lists this verifier follows.",
        "Add a partner file for your issuer and run `passerelle trust build`.",
    ),
    "trust.not_authorized_for_type": (
        "The issuer is trusted, but not for this type of credential.",
        "List the credential type (`vct`) in your entry's services or authorizations.",
    ),
    "trust.service_withdrawn": (
        "The issuer's trust-list entry is withdrawn or outside its validity dates.",
        "Ask the operator to restore it, or correct the dates.",
    ),
    "trust.not_recognized": (
        "The issuer's jurisdiction is not recognised by the verifier's jurisdiction.",
        "No recognition agreement of the other side covers this type: propose a change to "
        "`trust_lists/recognition/`.",
    ),
    "trust.recognition_out_of_scope": (
        "The recognition between the two jurisdictions does not cover this credential type "
        "for this scope.",
        "The agreement covers this type only for other scopes (product categories): check "
        "the attestation's scope.",
    ),
    "trust.recognition_expired": (
        "The recognition between the two jurisdictions has expired.",
        "The agreement must be renewed (a pull request to `trust_lists/recognition/`).",
    ),
    "trust.unavailable": (
        "The trust service could not be reached.",
        "Start it (or wait for it) and try again; nothing was consumed.",
    ),
    "status.revoked": (
        "The issuer has revoked this credential.",
        "Ask the issuer for a new one.",
    ),
    "status.suspended": (
        "The issuer has suspended this credential for now.",
        "The issuer may reinstate it: ask it to lift the suspension.",
    ),
    "status.unavailable": (
        "The issuer's status list could not be fetched.",
        "The issuer must make it reachable at the credential's `status.status_list.uri`; "
        "retry later.",
    ),
    "oid4vci.tx_code_mismatch": (
        "The transaction code is wrong.",
        "Type the code shown on the issuer's offer page.",
    ),
    "oid4vci.tx_code_missing": (
        "This offer needs a transaction code.",
        "Type the code shown on the issuer's offer page.",
    ),
    "oid4vci.grant_invalid": (
        "The offer was already used or has expired.",
        "Ask the issuer for a new offer.",
    ),
    "oid4vci.session_transition_invalid": (
        "This offer was already redeemed.",
        "Ask the issuer for a new offer.",
    ),
    "oid4vp.session_transition_invalid": (
        "This request was already answered or has expired, or its link was already opened "
        "by a wallet.",
        "Open a fresh request on the verifier's page and scan it once.",
    ),
    "oid4vp.transaction_expired": (
        "The request has expired.",
        "Open a fresh request on the verifier's page.",
    ),
    "oid4vp.transaction_unknown": (
        "The verifier does not know this request (expired or never made).",
        "Open a fresh request on the verifier's page.",
    ),
    "oid4vp.wallet_error": (
        "The wallet refused to answer the request.",
        "The wallet's reason is in the detail; start again if it was a mistake.",
    ),
    "oid4vp.response_replayed": (
        "This answer was already sent once.",
        "Answer a fresh request.",
    ),
    "dcql.no_match": (
        "No credential in the wallet answers this request (type, claims and their values); "
        "nothing was disclosed.",
        "Receive a credential that answers it (the requested type, claims and values), "
        "then answer again.",
    ),
    "dcql.claim_value_mismatch": (
        "A claim has a value the verifier does not accept.",
        "This credential cannot satisfy the request (for example an age check): a wallet "
        "must not answer with it (OpenID4VP §6.3, §6.4.1).",
    ),
    "dcql.claim_missing": (
        "A claim the verifier asked for is missing.",
        "Present a credential that holds the claim.",
    ),
    "dcql.untrusted_authority": (
        "The credential's issuer is not one of the authorities the verifier asked for.",
        "Present a credential from an issuer the request names.",
    ),
    "wallet.holder_declined": (
        "You declined to share the credential.",
        "Nothing was sent, nothing to fix. Start again from a fresh request if you change "
        "your mind.",
    ),
    "wallet.credential_gone": (
        "A credential chosen on the consent page was deleted from the wallet before the answer.",
        "Nothing was sent. Open a fresh request on the verifier's page and choose a credential "
        "the wallet still holds.",
    ),
    "schema.unknown": (
        "The credential type is not in the verifier's catalogue.",
        "Use a credential type listed in schemas/index.json.",
    ),
    "odrl.constraint_unsatisfied": (
        "A condition of the usage policy is not met.",
        "Present a credential that satisfies the policy's constraint.",
    ),
}

# The codes a partner meets when joining or running the testbed, in the order
# docs/partners.md lists them (its table is rendered from this, and a test keeps the two
# equal).
PARTNER_CODES: tuple[str, ...] = (
    "trust.list_stale",
    "trust.list_rollback",
    "trust.list_signature_invalid",
    "trust.source_placeholder",
    "x509.chain_invalid",
    "x509.san_mismatch",
    "sd_jwt_vc.issuer_key_unresolved",
    "trust.issuer_not_listed",
    "trust.not_authorized_for_type",
    "trust.service_withdrawn",
    "trust.not_recognized",
    "trust.recognition_out_of_scope",
    "trust.recognition_expired",
    "trust.unavailable",
    "status.revoked",
    "status.suspended",
    "status.unavailable",
    "sd_jwt_vc.cnf_invalid",
    "jws.invalid_signature",
    "jwt.expired",
    "kb_jwt.nonce_mismatch",
    "dcql.no_match",
    "dcql.claim_value_mismatch",
    "wallet.holder_declined",
    "oid4vp.session_transition_invalid",
)


def explain(reason: str) -> Explanation:
    """The words for ``reason``: its own entry, else its family's, else a general one."""
    own = _OWN.get(reason) or _FAMILIES.get(reason.partition(".")[0])
    if own is None:
        own = (
            "The request was refused.",
            "Look up the reason code in docs/partners.md.",
        )
    sentence, hint = own
    return Explanation(reason=reason, sentence=sentence, hint=hint)


def markdown_table(codes: Iterable[str]) -> str:
    """The words of ``codes``, in the order given, as a markdown table (docs/partners.md
    shows :data:`PARTNER_CODES` so)."""
    rows = [
        f"| `{e.reason}` | {e.sentence} | {e.hint} |" for e in (explain(code) for code in codes)
    ]
    header = ["| reason code | what happened | what to do |", "| --- | --- | --- |"]
    return "\n".join([*header, *rows]) + "\n"
