"""What the consent page offers a person, and how their choices change the answer.

Who asks (the organisation named in the verifier's access certificate, verified when
the certificate chains to a CA on the EU list of access-certificate providers), what
for, and for each credential query every held credential that answers it, with the
claims it would disclose split into required and optional.

A claim is optional when the verifier's ``claim_sets`` (OpenID4VP 1.0 §6.4.1, "the
Wallet SHOULD return the first option it can satisfy") include a set this credential
satisfies without it, inside what the page shows: leaving it out never discloses
anything that was not on the page. Matching reuses the core's ``match_dcql`` one
query and one candidate at a time, so the rules are the core's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from cryptography import x509

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle.dcql import CandidateCredential, CredentialQuery, DcqlQuery, match_dcql
from passerelle.oid4vp import AuthorizationRequest, VerifiedAuthorizationRequest

__all__ = [
    "apply_choices",
    "consent_options",
    "credential_gone",
    "purpose_of",
    "verifier_identity",
]

Path = tuple[str | int | None, ...]


def verifier_identity(verified: VerifiedAuthorizationRequest | None, client_id: str) -> JsonObject:
    """The organisation a person is told about, and whether its name is vouched for."""
    chain = verified.certificate_chain if verified is not None else ()
    if not chain:
        return {"client_id": client_id, "organisation": None, "verified": False}
    leaf = chain[0]
    names = leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    countries = leaf.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    issuers = leaf.issuer.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    return {
        "client_id": client_id,
        "organisation": str(names[0].value) if names else None,
        "country": str(countries[0].value) if countries else None,
        "certified_by": str(issuers[0].value) if issuers else None,
        # The chain was verified against the WRPAC providers' CAs before we got here.
        "verified": bool(names),
    }


def purpose_of(request: AuthorizationRequest) -> str | None:
    """A purpose the verifier stated in ``verifier_info`` (§5.1), if any; OpenID4VP 1.0
    has no purpose parameter of its own."""
    for info in request.verifier_info:
        data = getattr(info, "data", None)
        if isinstance(data, dict) and isinstance(data.get("purpose"), str):
            return str(data["purpose"])
    return None


def _answers(query: CredentialQuery, candidate: CandidateCredential) -> tuple[Path, ...] | None:
    try:
        match = match_dcql(DcqlQuery(credentials=(query,)), [candidate])
    except PasserelleError:
        return None
    return tuple(tuple(p) for p in match.credentials[query.id][0].disclose)


def _option(query: CredentialQuery, candidate: CandidateCredential) -> JsonObject | None:
    chosen = _answers(query, candidate)
    if chosen is None:
        return None
    smaller: list[set[Path]] = [set(chosen)]
    for claim_set in query.claim_sets or ():
        answered = _answers(replace(query, claim_sets=(claim_set,)), candidate)
        if answered is not None and set(answered) <= set(chosen):
            smaller.append(set(answered))
    required = set.intersection(*smaller)
    return {
        "credential_id": candidate.credential_id,
        "disclose": [list(p) for p in chosen],
        "optional": [list(p) for p in chosen if p not in required],
    }


def consent_options(
    query: DcqlQuery, candidates: Sequence[CandidateCredential], plan: Mapping[str, JsonValue]
) -> JsonObject:
    """For each query the plan answers, every held credential that could answer it."""
    out: JsonObject = {}
    for credential_query in query.credentials:
        if credential_query.id not in plan or credential_query.multiple:
            continue
        options = [_option(credential_query, c) for c in candidates]
        out[credential_query.id] = [o for o in options if o is not None]
    return out


def _declined(detail: str) -> PasserelleError:
    return PasserelleError(Reason.WALLET_HOLDER_DECLINED, detail, wire_error="access_denied")


def credential_gone(credential_id: str) -> PasserelleError:
    """The person deleted a credential the consent page offered: the whole request is
    refused (never a partial answer), and the verifier is told the wallet will not answer."""
    return PasserelleError(
        Reason.WALLET_CREDENTIAL_GONE,
        f"credential {credential_id} is no longer held (deleted after the consent page opened)",
        wire_error="access_denied",
    )


def apply_choices(
    plan: dict[str, list[dict[str, Any]]],
    options: Mapping[str, list[dict[str, Any]]],
    query: DcqlQuery,
    candidates: Sequence[CandidateCredential],
    *,
    chosen: Mapping[str, str],
    left_out: Mapping[str, Sequence[str]],
) -> dict[str, list[dict[str, Any]]]:
    """The plan after the person picked a credential per query and left out optional
    claims (named by their option's index in ``optional``). Unchanged choices keep the
    plan exactly as planned; a choice the page did not offer is refused."""
    by_id = {c.credential_id: c for c in candidates}
    out = dict(plan)
    for query_id, offered in options.items():
        pick: str | None = chosen.get(query_id)
        dropped = {int(i) for i in left_out.get(query_id, ()) if str(i).isdigit()}
        default = str(plan[query_id][0]["credential_id"]) if plan.get(query_id) else None
        if (pick is None or pick == default) and not dropped:
            continue
        pick = pick or default
        option = next((o for o in offered if o["credential_id"] == pick), None)
        if option is None:
            raise _declined("the chosen credential was not one the page offered")
        optional: list[list[str | int | None]] = option["optional"]
        leave: set[Path] = {tuple(optional[i]) for i in dropped if i < len(optional)}
        candidate = by_id.get(str(pick))
        if candidate is None:
            raise credential_gone(str(pick))
        credential_query = query.credential(query_id)
        disclose = _smallest_without(credential_query, candidate, option, leave)
        out[query_id] = [{**plan[query_id][0], "credential_id": pick, "disclose": disclose}]
    return out


def _smallest_without(
    query: CredentialQuery,
    candidate: CandidateCredential,
    option: Mapping[str, Any],
    leave: set[Path],
) -> list[Any]:
    shown = {tuple(p) for p in option["disclose"]}
    if not leave:
        return list(option["disclose"])
    # The verifier's preference order: the first claim set that fits what is kept.
    for claim_set in query.claim_sets or ():
        answered = _answers(replace(query, claim_sets=(claim_set,)), candidate)
        if answered is not None and set(answered) <= shown and not set(answered) & leave:
            return [list(p) for p in answered]
    raise _declined("the claims left out leave no combination the verifier accepts")
