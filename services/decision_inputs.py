"""Fetching what a credential decision needs, for the wallet and the verifiers alike,
without letting a peer steer our outbound requests.

What a credential points at is fetched only once it has earned it: JWT VC Issuer
Metadata only for an issuer the Canadian registry lists (the ``iss`` is then ours, not
the token's choice); the status list only after a first pass of the decision has
verified the signature and trust, and it must be signed by the very key that signed
the credential. Why a status list is missing goes to the decision with it: one that
could not be had (host unreachable, an error answer) is ``status.unavailable``, our
outage, which the decision policy may tolerate; one that arrived and did not verify
fails as what it is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.decision import (
    DecisionPolicy,
    FetchedInputs,
    credential_references,
    decide_credential,
)
from passerelle.sd_jwt import KeyBindingCheck
from passerelle.sd_jwt_vc import jwt_vc_issuer_metadata_url
from passerelle.status_list import StatusListCache, VerifiedStatusList, verify_status_list_token
from passerelle.trust import TrustSnapshot
from passerelle.vc import verify_vc_jose

from .fetch import Fetcher

__all__ = ["fetch_status_list", "gather_inputs"]


def _registered(trust: TrustSnapshot, iss: object) -> bool:
    registry = trust.ca_registry
    return isinstance(iss, str) and registry is not None and registry.registry.knows_entity(iss)


def fetch_status_list(fetcher: Fetcher, uri: str) -> str:
    """The status list token at ``uri``, or ``status.unavailable``: a host that cannot
    be reached or answers an error is an outage on our side of the decision, not a
    fault of the credential or of whoever presents it."""
    try:
        response = fetcher.request("GET", uri)
    except PasserelleError as exc:
        if exc.reason is Reason.INPUT_TOO_LARGE:
            raise PasserelleError(
                Reason.STATUS_LIST_INVALID, f"the status list {uri} is too large"
            ) from exc
        raise PasserelleError(
            Reason.STATUS_UNAVAILABLE, f"the status list {uri} could not be fetched"
        ) from exc
    if response.status_code != 200:
        raise PasserelleError(
            Reason.STATUS_UNAVAILABLE, f"the status list {uri} answered {response.status_code}"
        )
    return response.text


def gather_inputs(
    token: str,
    *,
    format: str,
    fetcher: Fetcher,
    trust: TrustSnapshot,
    policy: DecisionPolicy,
    now: datetime,
    key_binding: KeyBindingCheck | None = None,
    cache: StatusListCache | None = None,
) -> tuple[FetchedInputs, tuple[str, ...]]:
    """The inputs a decision about ``token`` needs, and what could not be had."""
    problems: list[str] = []
    try:
        refs = credential_references(token, format=format)
    except PasserelleError:
        return FetchedInputs(), ()  # the decision itself reports what is wrong
    metadata: dict[str, JsonObject] = {}
    iss = refs.issuer.iss
    if refs.issuer.x5c is None and _registered(trust, iss):
        assert isinstance(iss, str)
        try:
            url = jwt_vc_issuer_metadata_url(
                iss, allow_insecure_loopback=policy.allow_insecure_loopback
            )
            metadata[iss] = fetcher.get_json(url)
        except PasserelleError as exc:
            problems.append(f"issuer metadata: {exc.reason}: {exc.detail}")
    if refs.w3c_status_lists:
        return _with_w3c_status(
            token, refs.w3c_status_lists, refs.issuer.iss, metadata, problems,
            format=format, fetcher=fetcher, trust=trust, policy=policy, now=now,
            key_binding=key_binding,
        )  # fmt: skip
    uri = refs.status_uri
    if uri is None:
        return FetchedInputs(issuer_metadata=metadata), tuple(problems)
    cached = cache.get(uri, now=now) if cache is not None else None
    if cached is not None:
        return FetchedInputs(issuer_metadata=metadata, status_lists={uri: cached}), tuple(problems)
    first = decide_credential(
        token,
        format=format,
        trust=trust,
        policy=replace(policy, require_status=False),
        now=now,
        issuer_metadata=metadata,
        key_binding=key_binding,
    )
    if not first.accepted or first.trust is None or first.trust.issuer is None:
        return FetchedInputs(issuer_metadata=metadata), tuple(problems)
    try:
        text = fetch_status_list(fetcher, uri)
        verified: VerifiedStatusList = verify_status_list_token(
            text,
            expected_uri=uri,
            key=first.trust.issuer.key,
            algorithms=policy.algorithms,
            now=now,
            skew=timedelta(seconds=60),
        )
    except PasserelleError as exc:
        problems.append(f"status list: {exc.reason}: {exc.detail}")
        return FetchedInputs(issuer_metadata=metadata, status_failures={uri: exc}), tuple(problems)
    if cache is not None:
        cache.store(verified, fetched_at=now)
    return FetchedInputs(issuer_metadata=metadata, status_lists={uri: verified}), tuple(problems)


def _with_w3c_status(
    token: str,
    urls: tuple[str, ...],
    issuer: object,
    metadata: dict[str, JsonObject],
    problems: list[str],
    *,
    format: str,
    fetcher: Fetcher,
    trust: TrustSnapshot,
    policy: DecisionPolicy,
    now: datetime,
    key_binding: KeyBindingCheck | None,
) -> tuple[FetchedInputs, tuple[str, ...]]:
    """A W3C credential's BitstringStatusListCredentials, fetched once the credential
    proved itself, each verified with the key that signed the credential and issued by
    the same issuer. Fetched afresh: a revocation must be seen at once."""
    first = decide_credential(
        token,
        format=format,
        trust=trust,
        policy=replace(policy, require_status=False),
        now=now,
        issuer_metadata=metadata,
        key_binding=key_binding,
    )
    if not first.accepted or first.trust is None or first.trust.issuer is None:
        return FetchedInputs(issuer_metadata=metadata), tuple(problems)
    lists: dict[str, JsonObject] = {}
    failures: dict[str, PasserelleError] = {}
    for url in urls:
        try:
            listed = verify_vc_jose(
                fetch_status_list(fetcher, url).strip(),
                issuer_key=first.trust.issuer.key,
                algorithms=policy.algorithms,
                now=now,
                skew=timedelta(seconds=60),
            )
            if listed.issuer != issuer:
                raise PasserelleError(
                    Reason.STATUS_LIST_INVALID, f"the status list {url} has another issuer"
                )
        except PasserelleError as exc:
            problems.append(f"status list: {exc.reason}: {exc.detail}")
            failures[url] = exc
            continue
        lists[url] = listed.credential
    inputs = FetchedInputs(
        issuer_metadata=metadata, w3c_status_lists=lists, status_failures=failures
    )
    return inputs, tuple(problems)
