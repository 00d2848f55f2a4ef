"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): issuing and verifying credentials."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._random import RandomSource
from ..catalog import ResolvedType, check_integrity, disclosure_rules, select_claims
from ..jose import PublicKey, Signer, epoch, public_jwk
from ..sd_jwt import (
    ClaimPath,
    KeyBindingCheck,
    SdJwt,
    VerifiedSdJwt,
    issue_sd_jwt,
    parse_sd_jwt,
    verify_sd_jwt,
)
from ._issuer_key import IssuerKeyPolicy, ResolvedIssuerKey, resolve_issuer_key

__all__ = [
    "NEVER_DISCLOSABLE",
    "SD_JWT_VC_TYP",
    "SPEC_VERSION",
    "VerifiedSdJwtVc",
    "check_sd_jwt_vc_claims",
    "disclosable_paths",
    "issue_sd_jwt_vc",
    "verify_sd_jwt_vc",
]

SD_JWT_VC_TYP = "dc+sd-jwt"
SPEC_VERSION = "draft-ietf-oauth-sd-jwt-vc (editor's copy of 2026-08, commit f50f0a4)"

NEVER_DISCLOSABLE: frozenset[str] = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"}
)
"""Registered claims that MUST NOT be selectively disclosed, with all their sub-claims."""


def disclosable_paths(resolved: ResolvedType, claims: JsonObject) -> tuple[ClaimPath, ...]:
    """The paths an issuer makes selectively disclosable for ``claims`` of a type: every
    claim its Type Metadata marks ``always`` or ``allowed`` (the draft's default) that is
    present, never a registered claim the draft forbids disclosing."""
    paths: list[ClaimPath] = []
    for path, rule in disclosure_rules(resolved).items():
        if rule == "never" or not path or path[0] in NEVER_DISCLOSABLE:
            continue
        if select_claims(claims, path):
            paths.append(path)
    return tuple(paths)


def issue_sd_jwt_vc(
    claims: JsonObject,
    *,
    vct: str,
    signer: Signer,
    random: RandomSource,
    now: datetime,
    disclosable: Collection[ClaimPath],
    issuer: str | None = None,
    holder_key: PublicKey | None = None,
    valid_for: timedelta | None = None,
    not_before: datetime | None = None,
    status: JsonObject | None = None,
    vct_integrity: str | None = None,
    x5c: Sequence[str] | None = None,
    kid: str | None = None,
    max_decoys: int = 0,
) -> str:
    """Issue an SD-JWT VC. ``claims`` are the subject's claims; registered claims
    (``iss``, ``iat``, ``exp``, ``vct``, ``cnf``, ``status``) come from the options."""
    clash = sorted(NEVER_DISCLOSABLE.intersection(claims) | ({"iat"} & claims.keys()))
    if clash:
        raise local_error(Reason.SD_JWT_UNDISCLOSABLE, f"pass {clash} as options, not as claims")
    touched = sorted({str(p[0]) for p in disclosable if p and p[0] in NEVER_DISCLOSABLE})
    if touched:
        raise local_error(Reason.SD_JWT_UNDISCLOSABLE, f"claims {touched} are never disclosable")
    payload: JsonObject = {"vct": vct, "iat": epoch(now)}
    if issuer is not None:
        payload["iss"] = issuer
    if vct_integrity is not None:
        payload["vct#integrity"] = vct_integrity
    if valid_for is not None:
        payload["exp"] = epoch(now + valid_for)
    if not_before is not None:
        payload["nbf"] = epoch(not_before)
    if holder_key is not None:
        payload["cnf"] = {"jwk": public_jwk(holder_key)}
    if status is not None:
        payload["status"] = status
    payload.update(claims)
    header: dict[str, JsonValue] = {"typ": SD_JWT_VC_TYP}
    if x5c is not None:
        header["x5c"] = list(x5c)
    if kid is not None:
        header["kid"] = kid
    return issue_sd_jwt(
        payload,
        disclosable=disclosable,
        signer=signer,
        random=random,
        header=header,
        max_decoys=max_decoys,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedSdJwtVc:
    """A verified SD-JWT VC: type, issuer and how its key was found, disclosed claims."""

    vct: str
    issuer: ResolvedIssuerKey
    claims: JsonObject
    status: JsonObject | None
    sd_jwt: VerifiedSdJwt

    @property
    def holder_bound(self) -> bool:
        return self.sd_jwt.key_binding is not None


def _check_shape(claims: JsonObject, sd: VerifiedSdJwt) -> tuple[str, JsonObject | None]:
    for revealed in sd.revealed:
        if revealed.path and revealed.path[0] in NEVER_DISCLOSABLE:
            raise PasserelleError(
                Reason.SD_JWT_UNDISCLOSABLE,
                f"claim {revealed.path[0]!r} was selectively disclosed, which SD-JWT VC forbids",
            )
    vct = claims.get("vct")
    if not isinstance(vct, str) or not vct:
        raise PasserelleError(Reason.SD_JWT_VC_VCT_MISSING, "vct is required and must be a string")
    cnf = claims.get("cnf")
    if cnf is not None and not (isinstance(cnf, dict) and isinstance(cnf.get("jwk"), dict)):
        raise PasserelleError(Reason.SD_JWT_VC_CNF_INVALID, "cnf must hold a jwk")
    status = claims.get("status")
    if status is None:
        return vct, None
    entry = status.get("status_list") if isinstance(status, dict) else None
    if (
        not isinstance(status, dict)
        or not isinstance(entry, dict)
        or not isinstance(entry.get("uri"), str)
        or not isinstance(entry.get("idx"), int)
        or isinstance(entry.get("idx"), bool)
    ):
        raise PasserelleError(
            Reason.SD_JWT_VC_STATUS_INVALID, "status must be {status_list: {idx: int, uri: str}}"
        )
    return vct, status


def verify_sd_jwt_vc(
    token: str | SdJwt,
    *,
    keys: IssuerKeyPolicy,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta = timedelta(seconds=60),
    key_binding: KeyBindingCheck | None = None,
    accepted_vcts: Collection[str] | None = None,
    type_metadata: Mapping[str, bytes] | None = None,
) -> VerifiedSdJwtVc:
    """Verify an SD-JWT VC (and its KB-JWT when ``key_binding`` is given).

    ``type_metadata`` maps a ``vct`` to the octets of its Type Metadata document as
    retrieved; when the credential carries ``vct#integrity`` and the document is
    given, its integrity is checked. Status is NOT checked here: the caller fetches
    the status list named in ``status`` and checks it with the status-list core.
    """
    parsed = token if isinstance(token, SdJwt) else parse_sd_jwt(token)
    issuer = resolve_issuer_key(parsed, policy=keys, now=now)
    sd = verify_sd_jwt(
        parsed,
        issuer_key=issuer.key,
        algorithms=algorithms,
        now=now,
        skew=skew,
        typ=SD_JWT_VC_TYP,
        key_binding=key_binding,
    )
    vct, status = check_sd_jwt_vc_claims(
        sd, accepted_vcts=accepted_vcts, type_metadata=type_metadata
    )
    return VerifiedSdJwtVc(vct=vct, issuer=issuer, claims=sd.claims, status=status, sd_jwt=sd)


def check_sd_jwt_vc_claims(
    sd: VerifiedSdJwt,
    *,
    accepted_vcts: Collection[str] | None = None,
    type_metadata: Mapping[str, bytes] | None = None,
) -> tuple[str, JsonObject | None]:
    """The SD-JWT VC rules on a verified SD-JWT: never-disclosable claims, ``vct``,
    ``cnf`` and ``status`` shapes, and ``vct#integrity`` when the document is given.
    Returns ``(vct, status)``; for callers that verified the signature with a key they
    resolved themselves (the trust decision)."""
    vct, status = _check_shape(sd.claims, sd)
    if accepted_vcts is not None and vct not in accepted_vcts:
        raise PasserelleError(Reason.SD_JWT_VC_VCT_MISMATCH, f"vct {vct!r} is not accepted here")
    integrity = sd.claims.get("vct#integrity")
    if integrity is not None:
        if not isinstance(integrity, str):
            raise PasserelleError(
                Reason.SD_JWT_VC_INTEGRITY_MISMATCH, "vct#integrity must be a string"
            )
        document = (type_metadata or {}).get(vct)
        if document is not None:
            check_integrity(document, integrity)
    return vct, status
