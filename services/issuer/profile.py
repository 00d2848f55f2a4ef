"""Issuer profiles: one issuer service, configured per jurisdiction by a data file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.services.catalog import Catalog
from passerelle.services.trust.sources import load_source

from .quirks import IssuerQuirk

__all__ = [
    "PROFILES_DIR",
    "CredentialConfiguration",
    "HaipSettings",
    "IssuerProfile",
    "load_profile",
]

PROFILES_DIR = Path(__file__).parent / "profiles"
FORMATS = ("dc+sd-jwt", "jwt_vc_json", "mso_mdoc")
KEY_DISCOVERY = ("jwt-vc-issuer-metadata", "x5c")


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialConfiguration:
    id: str
    type_id: str
    vct: str
    format: str
    signing_key: str
    valid_for_days: int
    w3c_type: str | None = None
    deferred_seconds: int | None = None
    samples_type: str = ""
    """The catalogue type whose persona samples fill the credential (``type_id``, but
    for an mdoc type, which names the type it reads its samples from)."""


GRANTS = ("authorization_code", "urn:ietf:params:oauth:grant-type:pre-authorized_code")


@dataclass(frozen=True, slots=True, kw_only=True)
class HaipSettings:
    """The OAuth security a profile turns on (HAIP 1.0 §4), as data.

    ``client_attestation`` and ``dpop`` name the grants whose requests need a wallet
    attestation (at PAR and token) and whose access tokens are DPoP-bound (a DPoP
    proof at the token endpoint, the ``DPoP`` scheme afterwards). Empty: off, the
    plain bearer tokens and anonymous clients of OpenID4VCI.
    """

    client_attestation: frozenset[str] = frozenset()
    dpop: frozenset[str] = frozenset()
    dpop_nonce: bool = False
    dpop_signing_alg_values: tuple[str, ...] = ("ES256",)
    #: Present: key attestations are verified against the list of wallet providers;
    #: ``key_attestations_required`` (OpenID4VCI §12.2.4) when the mapping says so.
    key_attestations: JsonObject | None = None
    key_attestations_required: bool = False
    #: Present: the credential_response_encryption metadata object (§12.2.4).
    credential_response_encryption: JsonObject | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.client_attestation or self.dpop)


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerProfile:
    id: str
    jurisdiction: str
    host_role: str
    display: tuple[JsonObject, ...]
    key_discovery: str
    offer_schemes: tuple[str, ...]
    proof_signing_alg_values: tuple[str, ...]
    batch_size: int
    configurations: Mapping[str, CredentialConfiguration]
    quirks: frozenset[IssuerQuirk]
    haip: HaipSettings = HaipSettings()


def _bad(profile: str, detail: str) -> PasserelleError:
    return PasserelleError(Reason.INPUT_MALFORMED, f"issuer profile {profile}: {detail}")


def load_profile(
    name: str, *, catalog: Catalog, quirks: frozenset[IssuerQuirk] | None = None
) -> IssuerProfile:
    """Read ``profiles/<name>.yaml`` and check it against the shared catalogue.

    ``quirks`` replaces the profile's own list (the conformance self-test starts one
    issuer per quirk from the same profile).
    """
    path = PROFILES_DIR / f"{name}.yaml"
    doc = load_source(path)
    configs: dict[str, CredentialConfiguration] = {}
    raw = doc.get("credential_configurations")
    if not isinstance(raw, dict) or not raw:
        raise _bad(name, "credential_configurations is empty")
    for config_id, entry in raw.items():
        if not isinstance(entry, dict):
            raise _bad(name, f"{config_id} is not a mapping")
        type_id = str(entry.get("type_id"))
        fmt = str(entry.get("format"))
        if fmt not in FORMATS:
            raise _bad(name, f"{config_id}: format must be one of {FORMATS}")
        # An mso_mdoc configuration names an mdoc type (schemas/mdoc/), the others a
        # catalogue type with its vct.
        mtype = catalog.mdoc_types.get(type_id) if fmt == "mso_mdoc" else None
        if fmt == "mso_mdoc" and mtype is None:
            raise _bad(name, f"{config_id}: unknown mdoc type_id {type_id!r}")
        if mtype is None and type_id not in catalog.types:
            raise _bad(name, f"{config_id}: unknown type_id {type_id!r}")
        if fmt == "jwt_vc_json" and not entry.get("w3c_type"):
            raise _bad(name, f"{config_id}: a jwt_vc_json configuration needs w3c_type")
        deferred = entry.get("deferred_seconds")
        configs[config_id] = CredentialConfiguration(
            id=config_id,
            type_id=type_id,
            vct=mtype.doctype if mtype is not None else catalog.types[type_id].vct,
            format=fmt,
            signing_key=str(entry.get("signing_key")),
            valid_for_days=int(entry.get("valid_for_days", 365)),  # type: ignore[arg-type]
            w3c_type=str(entry["w3c_type"]) if entry.get("w3c_type") else None,
            deferred_seconds=int(deferred) if isinstance(deferred, int) else None,
            samples_type=mtype.samples_from if mtype is not None else type_id,
        )
    discovery = str(doc.get("key_discovery"))
    if discovery not in KEY_DISCOVERY:
        raise _bad(name, f"key_discovery must be one of {KEY_DISCOVERY}")
    declared = doc.get("quirks") or []
    try:
        own = frozenset(IssuerQuirk(str(q)) for q in declared)  # type: ignore[union-attr]
    except ValueError as exc:
        raise _bad(name, f"unknown quirk: {exc}") from exc
    display = doc.get("display")
    schemes = doc.get("offer_schemes", ["openid-credential-offer"])
    algs = doc.get("proof_signing_alg_values", ["ES256"])
    return IssuerProfile(
        id=str(doc.get("id", name)),
        jurisdiction=str(doc.get("jurisdiction")),
        host_role=str(doc.get("host_role", name)),
        display=tuple(d for d in display if isinstance(d, dict))
        if isinstance(display, list)
        else (),
        key_discovery=discovery,
        offer_schemes=tuple(str(s) for s in schemes) if isinstance(schemes, list) else (),
        proof_signing_alg_values=tuple(str(a) for a in algs) if isinstance(algs, list) else (),
        batch_size=int(doc.get("batch_size", 1)),  # type: ignore[arg-type]
        configurations=configs,
        quirks=own if quirks is None else quirks,
        haip=_haip(name, doc.get("haip")),
    )


def _grants(profile: str, raw: object, what: str) -> frozenset[str]:
    names = raw or []
    if not isinstance(names, list) or any(g not in GRANTS for g in names):
        raise _bad(profile, f"haip.{what} must list grants among {GRANTS}")
    return frozenset(str(g) for g in names)


def _haip(profile: str, raw: object) -> HaipSettings:
    if raw is None:
        return HaipSettings()
    if not isinstance(raw, dict):
        raise _bad(profile, "haip must be a mapping")
    algs = raw.get("dpop_signing_alg_values", ["ES256"])
    if not isinstance(algs, list) or not algs or "none" in algs:
        raise _bad(profile, "haip.dpop_signing_alg_values is a non-empty allow-list")
    keys = raw.get("key_attestations")
    if keys is not None and not isinstance(keys, dict):
        raise _bad(profile, "haip.key_attestations must be a mapping")
    encryption = raw.get("credential_response_encryption")
    if encryption is not None and not isinstance(encryption, dict):
        raise _bad(profile, "haip.credential_response_encryption must be a mapping")
    required = dict(keys) if isinstance(keys, dict) else None
    return HaipSettings(
        client_attestation=_grants(profile, raw.get("client_attestation"), "client_attestation"),
        dpop=_grants(profile, raw.get("dpop"), "dpop"),
        dpop_nonce=bool(raw.get("dpop_nonce", False)),
        dpop_signing_alg_values=tuple(str(a) for a in algs),
        key_attestations_required=bool(required and required.pop("required", False)),
        key_attestations=required,
        credential_response_encryption=dict(encryption) if isinstance(encryption, dict) else None,
    )
