"""Claims path processing (OpenID4VP 1.0 §7) and the wallet's side of DCQL (§6.4).

The rules a wallet and a verifier share — path processing, ``meta`` and
``trusted_authorities`` matching, choosing a claim set — live here once, so that the
two sides cannot drift apart; :mod:`._verify` reuses them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._models import (
    FORMAT_MSO_MDOC,
    FORMAT_SD_JWT_VC,
    TRUSTED_AUTHORITY_AKI,
    TRUSTED_AUTHORITY_ETSI_TL,
    TRUSTED_AUTHORITY_OPENID_FEDERATION,
    TRUSTED_AUTHORITY_PASSERELLE_LOTE,
    TRUSTED_AUTHORITY_PASSERELLE_TRQP,
    W3C_FORMATS,
    CandidateCredential,
    ClaimPath,
    ClaimsQuery,
    ClaimValue,
    CredentialQuery,
    DcqlMatch,
    DcqlQuery,
    MatchedCredential,
)

__all__ = [
    "match_dcql",
    "process_claims_path",
    "process_mdoc_claims_path",
]

# Trusted authority types whose values the caller's trust evaluation records as tags.
_TAGGED_AUTHORITY_TYPES = frozenset(
    {
        TRUSTED_AUTHORITY_ETSI_TL,
        TRUSTED_AUTHORITY_OPENID_FEDERATION,
        TRUSTED_AUTHORITY_PASSERELLE_LOTE,
        TRUSTED_AUTHORITY_PASSERELLE_TRQP,
    }
)


def _missing(detail: str) -> PasserelleError:
    return PasserelleError(Reason.DCQL_CLAIM_MISSING, detail, wire_error="invalid_request")


def process_claims_path(credential: JsonObject, path: ClaimPath) -> tuple[JsonValue, ...]:
    """Select the claims a path points at in a JSON-based credential (§7.1.1).

    Raises ``dcql.claim_missing`` when processing "aborts with an error": a wrong
    kind of element on the way, or nothing selected at the end.
    """
    if not path:
        raise _missing("a claims path pointer must not be empty")
    selected: list[JsonValue] = [credential]
    for component in path:
        step: list[JsonValue] = []
        if isinstance(component, str):
            for element in selected:
                if not isinstance(element, dict):
                    raise _missing(
                        f"{format_claims_path(path)}: {component!r} applied to a non-object"
                    )
                if component in element:
                    step.append(element[component])
        elif component is None:
            for element in selected:
                if not isinstance(element, list):
                    raise _missing(f"{format_claims_path(path)}: null applied to a non-array")
                step.extend(element)
        elif isinstance(component, int) and not isinstance(component, bool) and component >= 0:
            for element in selected:
                if not isinstance(element, list):
                    raise _missing(f"{format_claims_path(path)}: index applied to a non-array")
                if component < len(element):
                    step.append(element[component])
        else:
            raise _missing(f"{format_claims_path(path)}: {component!r} is not a path component")
        selected = step
    if not selected:
        raise _missing(f"{format_claims_path(path)} selects nothing")
    return tuple(selected)


def process_mdoc_claims_path(namespaces: JsonObject, path: ClaimPath) -> JsonValue:
    """Select a data element of an mdoc (§7.2.1): ``[namespace, element identifier]``.

    ``namespaces`` is ``{namespace: {element identifier: value}}`` with values already
    converted to JSON. Raises ``dcql.claim_missing`` as :func:`process_claims_path`.
    """
    if len(path) != 2 or not all(isinstance(c, str) for c in path):
        raise _missing(f"{format_claims_path(path)}: an mdoc path is exactly two strings")
    namespace, element = path
    items = namespaces.get(str(namespace))
    if not isinstance(items, dict):
        raise _missing(f"namespace {namespace!r} is not in the mdoc")
    if str(element) not in items:
        raise _missing(f"data element {element!r} is not in namespace {namespace!r}")
    return items[str(element)]


def format_claims_path(path: ClaimPath) -> str:
    return "[" + ", ".join("null" if c is None else repr(c) for c in path) + "]"


def select_claim(fmt: str, claims: JsonObject, path: ClaimPath) -> tuple[JsonValue, ...]:
    if fmt == FORMAT_MSO_MDOC:
        return (process_mdoc_claims_path(claims, path),)
    return process_claims_path(claims, path)


def _same_value(actual: JsonValue, expected: ClaimValue) -> bool:
    # §6.3: "the type and value of the claim both match exactly"; Python's True == 1
    # must not count.
    return type(actual) is type(expected) and actual == expected


def check_claim(fmt: str, claims: JsonObject, claim: ClaimsQuery) -> None:
    """Raise ``dcql.claim_missing`` or ``dcql.claim_value_mismatch`` unless satisfied."""
    selected = select_claim(fmt, claims, claim.path)
    if claim.values is None:
        return
    wanted = claim.values
    if not any(_same_value(value, want) for value in selected for want in wanted):
        raise PasserelleError(
            Reason.DCQL_CLAIM_VALUE_MISMATCH,
            f"{format_claims_path(claim.path)} holds none of the requested values",
            wire_error="invalid_request",
        )


def choose_claims(query: CredentialQuery, fmt: str, claims: JsonObject) -> tuple[ClaimsQuery, ...]:
    """The claims to disclose for ``query`` (§6.4.1), or raise the first failure.

    No ``claims``: nothing. ``claims`` alone: all of them. ``claim_sets``: the first
    set, in the verifier's order of preference, whose every claim is satisfied.
    """
    if query.claims is None:
        return ()
    if query.claim_sets is None:
        for claim in query.claims:
            check_claim(fmt, claims, claim)
        return _unique(query.claims)
    by_id = query.claims_by_id()
    first_failure: PasserelleError | None = None
    for claim_set in query.claim_sets:
        chosen = tuple(by_id[claim_id] for claim_id in claim_set)
        try:
            for claim in chosen:
                check_claim(fmt, claims, claim)
        except PasserelleError as exc:
            first_failure = first_failure or exc
            continue
        return _unique(chosen)
    raise first_failure or _missing("the query has no claim set")


def _unique(claims: tuple[ClaimsQuery, ...]) -> tuple[ClaimsQuery, ...]:
    # §6.1: a wallet "SHOULD ignore" a second query for the same claim.
    seen: set[ClaimPath] = set()
    out: list[ClaimsQuery] = []
    for claim in claims:
        if claim.path not in seen:
            seen.add(claim.path)
            out.append(claim)
    return tuple(out)


def meta_matches(
    query: CredentialQuery,
    *,
    fmt: str,
    vct: str | None,
    types: Collection[str],
    doctype: str | None,
) -> bool:
    """Format and ``meta`` (§6.1, Appendix B); unknown formats never match."""
    if fmt != query.format:
        return False
    if fmt == FORMAT_SD_JWT_VC:
        # Exact vct only: following ``extends`` needs Type Metadata the caller resolves.
        return vct is not None and vct in (query.vct_values or ())
    if fmt in W3C_FORMATS:
        have = set(types)
        return any(set(alternative) <= have for alternative in query.type_values or ())
    if fmt == FORMAT_MSO_MDOC:
        return doctype is not None and doctype == query.doctype_value
    return False


def authorities_match(
    query: CredentialQuery, *, authority_keys: Collection[str], trust_tags: Collection[str]
) -> bool:
    """§6.1.1: a match with any value of any entry; absent means no constraint."""
    if query.trusted_authorities is None:
        return True
    for entry in query.trusted_authorities:
        if entry.type == TRUSTED_AUTHORITY_AKI:
            pool = authority_keys
        elif entry.type in _TAGGED_AUTHORITY_TYPES:
            pool = trust_tags
        else:
            continue  # a type we do not know cannot be shown to match
        if any(value in pool for value in entry.values):
            return True
    return False


def _match_candidate(
    query: CredentialQuery, candidate: CandidateCredential
) -> MatchedCredential | None:
    if not meta_matches(
        query,
        fmt=candidate.format,
        vct=candidate.vct,
        types=candidate.types,
        doctype=candidate.doctype,
    ):
        return None
    if query.require_cryptographic_holder_binding and not candidate.supports_holder_binding:
        return None
    if not authorities_match(
        query, authority_keys=candidate.authority_keys, trust_tags=candidate.trust_tags
    ):
        return None
    try:
        chosen = choose_claims(query, candidate.format, candidate.claims)
    except PasserelleError:
        return None
    return MatchedCredential(
        credential_id=candidate.credential_id, disclose=tuple(c.path for c in chosen)
    )


def _no_match(detail: str) -> PasserelleError:
    # §6.4.2 and the privacy rule of §14.5.1: the wallet answers access_denied and
    # says nothing on the wire about which value failed.
    return PasserelleError(Reason.DCQL_NO_MATCH, detail, wire_error="access_denied")


def match_dcql(query: DcqlQuery, candidates: Sequence[CandidateCredential]) -> DcqlMatch:
    """Choose which of the wallet's credentials answer ``query`` and what to disclose.

    Deterministic: candidates are tried in the order given, claim sets and
    credential set options in the verifier's order of preference. Each chosen
    credential discloses exactly the paths of the chosen claims — the minimum.
    Raises ``dcql.no_match`` (wire ``access_denied``) when a required Credential
    Query (or required credential set) cannot be satisfied.
    """
    matches: dict[str, tuple[MatchedCredential, ...]] = {}
    for credential_query in query.credentials:
        found: list[MatchedCredential] = []
        for candidate in candidates:
            matched = _match_candidate(credential_query, candidate)
            if matched is None:
                continue
            found.append(matched)
            if not credential_query.multiple:
                break
        if found:
            matches[credential_query.id] = tuple(found)

    if query.credential_sets is None:
        # §6.4.2: without credential_sets every Credential Query is requested.
        for credential_query in query.credentials:
            if credential_query.id not in matches:
                raise _no_match(f"no credential matches the query {credential_query.id!r}")
        return DcqlMatch(credentials=matches)

    chosen_options: list[tuple[str, ...] | None] = []
    answer: set[str] = set()
    for index, credential_set in enumerate(query.credential_sets):
        option = next((o for o in credential_set.options if all(qid in matches for qid in o)), None)
        if option is None and credential_set.required:
            raise _no_match(f"no option of the required credential_sets[{index}] can be met")
        chosen_options.append(option)
        answer.update(option or ())
    # Keep the query's order so the response reads like the request.
    selected = {qid: matches[qid] for qid in query.credential_ids if qid in answer}
    return DcqlMatch(credentials=selected, chosen_options=tuple(chosen_options))
