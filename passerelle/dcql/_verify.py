"""The verifier's side of DCQL: does a ``vp_token`` answer the query it was sent?

OpenID4VP 1.0 §8.6 step 3 ("Check that the set of Presentations returned satisfies
all requirements defined in the Verifier's request") and §14.3 ("it MUST NOT rely on
the Wallet to enforce these constraints"). The presentations handed in are already
verified (signatures, holder binding, status); this module checks them against the
query only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._match import authorities_match, choose_claims, meta_matches
from ._models import (
    FORMAT_MSO_MDOC,
    FORMAT_SD_JWT_VC,
    ClaimPath,
    CredentialQuery,
    DcqlCheck,
    DcqlQuery,
    PresentedCredential,
)

__all__ = ["check_dcql_response"]

# SD-JWT VC claims that are never selectively disclosable (draft-ietf-oauth-sd-jwt-vc
# §3.2.2.2), plus ``_sd_alg`` and ``iat``, which an issuer leaves in the clear: their
# presence says nothing about how much the wallet chose to reveal.
_SD_JWT_VC_STRUCTURAL = frozenset(
    {"iss", "nbf", "exp", "iat", "cnf", "vct", "vct#integrity", "status", "_sd_alg"}
)


def _fail(reason: Reason, detail: str) -> PasserelleError:
    return PasserelleError(reason, detail, wire_error="invalid_request")


def _leaf_paths(value: JsonValue, prefix: ClaimPath) -> Iterator[ClaimPath]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaf_paths(child, (*prefix, key))
    elif isinstance(value, list) and value:
        for index, child in enumerate(value):
            yield from _leaf_paths(child, (*prefix, index))
    else:
        yield prefix


def _disclosed_paths(presented: PresentedCredential) -> tuple[ClaimPath, ...]:
    if presented.disclosed_paths is not None:
        return presented.disclosed_paths
    if presented.format == FORMAT_MSO_MDOC:
        return tuple(
            (namespace, element)
            for namespace, items in presented.claims.items()
            if isinstance(items, dict)
            for element in items
        )
    if presented.format == FORMAT_SD_JWT_VC:
        claims: JsonObject = {
            k: v for k, v in presented.claims.items() if k not in _SD_JWT_VC_STRUCTURAL
        }
        return tuple(_leaf_paths(claims, ())) if claims else ()
    # W3C JWT and Data Integrity credentials have no selective disclosure (§6.4.1):
    # the whole credential is the minimum.
    return ()


def _asked_for(disclosed: ClaimPath, requested: ClaimPath) -> bool:
    # Inside a requested claim, or on the way to one (an SD-JWT must disclose
    # ``address`` to disclose ``address.street_address``); null stands for any index.
    return all(
        want == have or (want is None and isinstance(have, int))
        for want, have in zip(requested, disclosed, strict=False)
    )


def _check_presentation(
    query: CredentialQuery, presented: PresentedCredential, where: str
) -> tuple[ClaimPath, ...]:
    """Check one presentation; return the disclosed paths the query did not ask for."""
    if not meta_matches(
        query,
        fmt=presented.format,
        vct=presented.vct,
        types=presented.types,
        doctype=presented.doctype,
    ):
        raise _fail(
            Reason.DCQL_RESPONSE_MISMATCH,
            f"{where} is not a {query.format} credential of a requested type",
        )
    if query.require_cryptographic_holder_binding and not presented.holder_bound:
        raise _fail(
            Reason.DCQL_HOLDER_BINDING_MISSING,
            f"{where} has no cryptographic holder binding, which the query requires",
        )
    if not authorities_match(
        query, authority_keys=presented.issuer_aki, trust_tags=presented.trust_tags
    ):
        raise _fail(
            Reason.DCQL_UNTRUSTED_AUTHORITY,
            f"{where} is not from any of the query's trusted_authorities",
        )
    try:
        chosen = choose_claims(query, presented.format, presented.claims)
    except PasserelleError as exc:
        raise _fail(exc.reason, f"{where}: {exc.detail}") from exc
    requested = [claim.path for claim in chosen]
    return tuple(
        path
        for path in _disclosed_paths(presented)
        if not any(_asked_for(path, want) for want in requested)
    )


def check_dcql_response(
    query: DcqlQuery, presented: Mapping[str, Sequence[PresentedCredential]]
) -> DcqlCheck:
    """Check that a verified ``vp_token`` answers ``query`` (OpenID4VP 1.0 §6, §8.1).

    ``presented`` maps Credential Query ids to their verified presentations. Raises
    (wire ``invalid_request``) ``dcql.unexpected_query_id``, ``dcql.response_mismatch``,
    ``dcql.too_many_presentations``, ``dcql.holder_binding_missing``,
    ``dcql.untrusted_authority``, ``dcql.claim_missing``, ``dcql.claim_value_mismatch``
    or ``dcql.required_query_unanswered``. Claims disclosed beyond the query are
    allowed (§6.4: the wallet may have good reason) and reported in the result.
    """
    known = {q.id: q for q in query.credentials}
    over_disclosed: dict[str, tuple[ClaimPath, ...]] = {}
    for query_id, presentations in presented.items():
        credential_query = known.get(query_id)
        if credential_query is None:
            raise _fail(
                Reason.DCQL_UNEXPECTED_QUERY_ID, f"vp_token answers an unknown query {query_id!r}"
            )
        # §8.1: "an array of one or more Presentations"; an optional query with no
        # match has no entry at all.
        if not presentations:
            raise _fail(
                Reason.DCQL_RESPONSE_MISMATCH, f"vp_token entry {query_id!r} is an empty array"
            )
        if len(presentations) > 1 and not credential_query.multiple:
            raise _fail(
                Reason.DCQL_TOO_MANY_PRESENTATIONS,
                f"{query_id!r} allows one presentation, got {len(presentations)}",
            )
        extra: list[ClaimPath] = []
        for index, item in enumerate(presentations):
            for path in _check_presentation(credential_query, item, f"{query_id}[{index}]"):
                if path not in extra:
                    extra.append(path)
        if extra:
            over_disclosed[query_id] = tuple(extra)

    if query.credential_sets is None:
        # §6.4.2: every Credential Query is requested.
        for credential_query in query.credentials:
            if credential_query.id not in presented:
                raise _fail(
                    Reason.DCQL_REQUIRED_QUERY_UNANSWERED,
                    f"vp_token has no presentation for {credential_query.id!r}",
                )
        return DcqlCheck(satisfied_sets=(), over_disclosed=over_disclosed)

    satisfied: list[tuple[str, ...] | None] = []
    for index, credential_set in enumerate(query.credential_sets):
        option = next(
            (o for o in credential_set.options if all(qid in presented for qid in o)), None
        )
        if option is None and credential_set.required:
            raise _fail(
                Reason.DCQL_REQUIRED_QUERY_UNANSWERED,
                f"no option of the required credential_sets[{index}] is answered",
            )
        satisfied.append(option)
    return DcqlCheck(satisfied_sets=tuple(satisfied), over_disclosed=over_disclosed)
