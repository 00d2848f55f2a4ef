"""DCQL (OpenID4VP 1.0 §6) as frozen models, with the spec's snake_case names.

§6: "Implementations MUST ignore any unknown properties" — so unknown members are
kept in ``extra`` and never acted upon, and unknown credential formats and trusted
authority types parse but never match.

Passerelle extensions (not in OpenID4VP; other implementations will not know them):

* trusted authority type ``passerelle_lote``: values are ETSI TS 119 602 LoTE list
  URLs or list types the issuer must be listed in;
* trusted authority type ``passerelle_trqp``: values are ToIP TRQP authority ids
  the issuer must be authorised by.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from .._json import JsonObject, JsonValue

__all__ = [
    "FORMAT_JWT_VC_JSON",
    "FORMAT_LDP_VC",
    "FORMAT_MSO_MDOC",
    "FORMAT_SD_JWT_VC",
    "SPEC_VERSION",
    "TRUSTED_AUTHORITY_AKI",
    "TRUSTED_AUTHORITY_ETSI_TL",
    "TRUSTED_AUTHORITY_OPENID_FEDERATION",
    "TRUSTED_AUTHORITY_PASSERELLE_LOTE",
    "TRUSTED_AUTHORITY_PASSERELLE_TRQP",
    "W3C_FORMATS",
    "CandidateCredential",
    "ClaimPath",
    "ClaimValue",
    "ClaimsQuery",
    "CredentialQuery",
    "CredentialSetQuery",
    "DcqlCheck",
    "DcqlMatch",
    "DcqlQuery",
    "MatchedCredential",
    "PresentedCredential",
    "TrustedAuthoritiesQuery",
]

SPEC_VERSION = "OpenID4VP 1.0"

FORMAT_SD_JWT_VC = "dc+sd-jwt"
FORMAT_JWT_VC_JSON = "jwt_vc_json"
FORMAT_LDP_VC = "ldp_vc"
FORMAT_MSO_MDOC = "mso_mdoc"
W3C_FORMATS = frozenset({FORMAT_JWT_VC_JSON, FORMAT_LDP_VC})
"""Formats whose ``meta`` carries ``type_values`` (OpenID4VP 1.0 §B.1.1)."""

TRUSTED_AUTHORITY_AKI = "aki"
TRUSTED_AUTHORITY_ETSI_TL = "etsi_tl"
TRUSTED_AUTHORITY_OPENID_FEDERATION = "openid_federation"
TRUSTED_AUTHORITY_PASSERELLE_LOTE = "passerelle_lote"
"""Extension: a LoTE list URL or list type (see the module docstring)."""
TRUSTED_AUTHORITY_PASSERELLE_TRQP = "passerelle_trqp"
"""Extension: a TRQP authority id (see the module docstring)."""

ClaimPath: TypeAlias = tuple[str | int | None, ...]
"""A claims path pointer (§7): a key, an array index, or ``None`` for every element."""
ClaimValue: TypeAlias = str | int | bool
"""What a Claims Query's ``values`` may hold (§6.3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimsQuery:
    """§6.3 one entry of ``claims``."""

    path: ClaimPath
    id: str | None = None
    values: tuple[ClaimValue, ...] | None = None
    intent_to_retain: bool | None = None
    """mdoc only (§B.2.4); ignored for other formats."""
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedAuthoritiesQuery:
    """§6.1.1 one entry of ``trusted_authorities``: match by any value."""

    type: str
    values: tuple[str, ...]
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialQuery:
    """§6.1 one entry of ``credentials``.

    ``meta`` is kept whole; the members this implementation understands are lifted
    out: ``vct_values`` (``dc+sd-jwt``), ``type_values`` (W3C formats) and
    ``doctype_value`` (``mso_mdoc``).
    """

    id: str
    format: str
    meta: JsonObject
    multiple: bool = False
    vct_values: tuple[str, ...] | None = None
    type_values: tuple[tuple[str, ...], ...] | None = None
    doctype_value: str | None = None
    trusted_authorities: tuple[TrustedAuthoritiesQuery, ...] | None = None
    require_cryptographic_holder_binding: bool = True
    claims: tuple[ClaimsQuery, ...] | None = None
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)

    def claims_by_id(self) -> dict[str, ClaimsQuery]:
        return {c.id: c for c in self.claims or () if c.id is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialSetQuery:
    """§6.2 one entry of ``credential_sets``: ``options`` in order of preference."""

    options: tuple[tuple[str, ...], ...]
    required: bool = True
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DcqlQuery:
    """§6 a whole DCQL query. Build it with :func:`parse_dcql_query`."""

    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)

    def credential(self, query_id: str) -> CredentialQuery:
        for query in self.credentials:
            if query.id == query_id:
                return query
        raise KeyError(query_id)

    @property
    def credential_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.credentials)


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateCredential:
    """A credential the wallet holds, already verified, as DCQL matching sees it.

    ``claims`` holds every claim the wallet can disclose: for JSON formats the
    credential's root (for W3C formats the VC object, so that paths start with
    ``credentialSubject``); for ``mso_mdoc`` ``{namespace: {element: value}}``.
    ``authority_keys`` are the AuthorityKeyIdentifier key ids of the issuer's
    certificate chain as unpadded base64url. ``trust_tags`` are identifiers the
    caller's trust evaluation established for the issuer — LoTE list URLs or types,
    TRQP authority ids, ETSI trusted list URLs, federation trust anchors — matched
    against every non-``aki`` trusted authority type.
    """

    credential_id: str
    format: str
    claims: JsonObject
    vct: str | None = None
    types: frozenset[str] = frozenset()
    doctype: str | None = None
    authority_keys: frozenset[str] = frozenset()
    trust_tags: frozenset[str] = frozenset()
    supports_holder_binding: bool = True
    """False for a credential without a holder key (e.g. an SD-JWT VC with no ``cnf``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchedCredential:
    """One credential chosen for a Credential Query, with exactly what to disclose."""

    credential_id: str
    disclose: tuple[ClaimPath, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DcqlMatch:
    """The wallet's answer plan: per Credential Query id, the credentials to present.

    ``chosen_options`` lines up with the query's ``credential_sets`` (empty when it
    has none): the option picked for each set, or ``None`` for an optional set that
    could not be satisfied.
    """

    credentials: Mapping[str, tuple[MatchedCredential, ...]]
    chosen_options: tuple[tuple[str, ...] | None, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PresentedCredential:
    """One presentation from a ``vp_token``, already verified, as the DCQL check sees it.

    ``claims`` are the disclosed claims, shaped as in :class:`CandidateCredential`.
    ``trust_tags`` are as in :class:`CandidateCredential`, from the verifier's own
    trust evaluation. ``disclosed_paths``, when known (the paths of the SD-JWT
    disclosures revealed), makes the over-disclosure report exact; without it every
    leaf of ``claims`` but the format's registered claims counts as disclosed.
    """

    format: str
    claims: JsonObject
    holder_bound: bool
    vct: str | None = None
    types: frozenset[str] = frozenset()
    doctype: str | None = None
    issuer_aki: frozenset[str] = frozenset()
    trust_tags: frozenset[str] = frozenset()
    disclosed_paths: tuple[ClaimPath, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DcqlCheck:
    """A ``vp_token`` that satisfies its DCQL query.

    ``satisfied_sets`` lines up with the query's ``credential_sets`` (empty when it
    has none): the first option fully answered, or ``None`` for an optional set left
    unanswered. ``over_disclosed`` lists, per Credential Query id, selectively
    disclosable claims presented beyond what the query asked for; it is empty when
    the wallet disclosed the minimum.
    """

    satisfied_sets: tuple[tuple[str, ...] | None, ...]
    over_disclosed: Mapping[str, tuple[ClaimPath, ...]]
