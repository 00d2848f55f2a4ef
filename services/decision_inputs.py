"""Fetching what a credential decision needs, for the wallet and the verifiers alike.

:func:`passerelle.decision.credential_references` says what a credential points at; this
module fetches it under the fetch policy: the issuer's JWT VC Issuer Metadata (for an
issuer known by its ``iss``) and its status list, verified with the same key discovery
the credential itself gets. A status list that cannot be fetched or verified is simply
absent, and the decision policy says whether that is fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from passerelle import JsonObject, PasserelleError
from passerelle.decision import CredentialReferences
from passerelle.jose import decode_unverified_jws
from passerelle.sd_jwt_vc import (
    IssuerKeyPolicy,
    jwt_vc_issuer_metadata_url,
    resolve_issuer_key_from,
)
from passerelle.status_list import StatusListCache, VerifiedStatusList, verify_status_list_token
from passerelle.trust import TrustSnapshot

from .fetch import Fetcher

__all__ = ["DecisionInputs", "fetch_decision_inputs"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionInputs:
    issuer_metadata: dict[str, JsonObject]
    status_lists: dict[str, VerifiedStatusList]
    problems: tuple[str, ...]


def fetch_decision_inputs(
    refs: CredentialReferences,
    *,
    fetcher: Fetcher,
    trust: TrustSnapshot,
    now: datetime,
    cache: StatusListCache | None = None,
    allow_insecure_loopback: bool = False,
) -> DecisionInputs:
    problems: list[str] = []
    metadata: dict[str, JsonObject] = {}
    iss = refs.issuer.iss
    if isinstance(iss, str) and refs.issuer.x5c is None:
        try:
            url = jwt_vc_issuer_metadata_url(iss, allow_insecure_loopback=allow_insecure_loopback)
            metadata[iss] = fetcher.get_json(url)
        except PasserelleError as exc:
            problems.append(f"issuer metadata: {exc.reason}: {exc.detail}")
    lists: dict[str, VerifiedStatusList] = {}
    uri = refs.status_uri
    if uri is not None:
        cached = cache.get(uri, now=now) if cache is not None else None
        if cached is not None:
            lists[uri] = cached
        else:
            try:
                token = fetcher.request("GET", uri).text
                header = decode_unverified_jws(token, what="status list").header
                # The list is signed by the issuer: its key is found the way the
                # credential's is (x5c to a listed certificate, or issuer metadata).
                key = resolve_issuer_key_from(
                    iss=iss,
                    x5c=header.get("x5c"),
                    kid=header.get("kid"),
                    policy=IssuerKeyPolicy(
                        x5c_anchors=trust.x5c_anchors,
                        issuer_metadata=metadata,
                        allow_insecure_loopback=allow_insecure_loopback,
                    ),
                    now=now,
                )
                verified = verify_status_list_token(
                    token,
                    expected_uri=uri,
                    key=key.key,
                    algorithms=["ES256"],
                    now=now,
                    skew=timedelta(seconds=60),
                )
                lists[uri] = verified
                if cache is not None:
                    cache.store(verified, fetched_at=now)
            except PasserelleError as exc:
                problems.append(f"status list: {exc.reason}: {exc.detail}")
    return DecisionInputs(issuer_metadata=metadata, status_lists=lists, problems=tuple(problems))
