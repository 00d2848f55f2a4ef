"""The issuer's service state: everything a route needs, built once, handed over by
FastAPI dependencies.

The state lives on ``app.state.issuer``; routes ask for it as :data:`IssuerDep` (or
:data:`AdminDep`, which also checks the admin token), so a test can override
:func:`issuer_state` instead of rebuilding the app.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode
from passerelle.catalog import resolve_type_metadata
from passerelle.oid4vci import (
    SPEC_VERSION,
    build_authorization_server_metadata,
    build_credential_issuer_metadata,
    build_jwt_vc_json_configuration,
    build_mso_mdoc_configuration,
    build_sd_jwt_vc_configuration,
)
from passerelle.sd_jwt_vc import SPEC_VERSION as SD_JWT_VC_VERSION
from passerelle.services.catalog import Catalog, load_catalog
from passerelle.services.pki import Pki, load_pki
from passerelle.services.runtime import SecretsRandom
from passerelle.services.status import StatusListService
from passerelle.services.storage import Store, StoreReplayRegistry, open_store
from passerelle.services.trust.build import trust_dir
from passerelle.services.web import NO_STORE

from .credentials import CredentialFactory
from .dcp import BitstringStatusLists, DcpIssuer, create_dcp_issuer
from .haip import (
    HaipGuard,
    WalletProviders,
    auth_methods,
    haip_metadata,
    request_encryption_key,
)
from .mdoc import configuration_claims
from .profile import CredentialConfiguration, IssuerProfile, load_profile
from .quirks import ForgetfulReplayRegistry, IssuerBehaviour, IssuerQuirk, behaviour_for

__all__ = [
    "AdminDep",
    "IssuerDep",
    "IssuerState",
    "build_issuer_state",
    "issuer_state",
    "stored",
]


def stored(value: JsonValue) -> dict[str, Any] | None:
    """A row this service wrote itself, read back from the store (None if absent)."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


@dataclass(frozen=True)
class IssuerState:
    """One issuer: its profile and quirks, store, clock, randomness and PKI material."""

    profile: IssuerProfile
    catalog: Catalog
    store: Store
    clock: Callable[[], datetime]
    random: RandomSource
    pki: Pki
    base: str
    behaviour: IssuerBehaviour
    statuses: Mapping[str, StatusListService]
    w3c_statuses: Mapping[str, BitstringStatusLists]
    factory: CredentialFactory
    dcp: DcpIssuer | None
    admin_token: str
    issuer_name: str
    configurations: Mapping[str, JsonObject]
    versions: JsonObject
    metadata: JsonObject
    as_metadata: JsonObject
    haip: HaipGuard | None = None
    """The HAIP 1.0 checks, when the profile turns any on (:mod:`.haip`)."""

    def now(self) -> datetime:
        return self.clock()

    def token(self, n: int = 24) -> str:
        return b64url_encode(self.random.token_bytes(n))

    def no_store(self, body: JsonObject, status_code: int = 200) -> JSONResponse:
        """A protocol answer; ``no-store`` unless the ``cacheable_responses`` quirk."""
        headers = dict(NO_STORE) if self.behaviour.no_store else {}
        return JSONResponse(body, status_code=status_code, headers=headers)

    def personas_for(self, config_ids: list[str]) -> list[str]:
        types = {self.profile.configurations[c].samples_type for c in config_ids}
        common = set.intersection(*(set(self.catalog.types[t].samples) for t in types))
        return sorted(common)

    def check_admin(self, authorization: str | None) -> None:
        # RFC 7235 §2.1: the scheme is case-insensitive ("bearer" is "Bearer").
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            value.strip().encode(), self.admin_token.encode()
        ):
            raise PasserelleError(
                Reason.OID4VCI_ACCESS_TOKEN_INVALID,
                "admin token required",
                wire_error="invalid_token",
            )


async def issuer_state(request: Request) -> IssuerState:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool, a hop per
    # request for reading one attribute.
    return cast("IssuerState", request.app.state.issuer)


IssuerDep = Annotated[IssuerState, Depends(issuer_state)]


async def admin_state(
    state: IssuerDep, authorization: Annotated[str | None, Header()] = None
) -> IssuerState:
    state.check_admin(authorization)
    return state


AdminDep = Annotated[IssuerState, Depends(admin_state)]


def _admin_token(data_dir: Path, profile: IssuerProfile) -> str:
    """The admin API's bearer token: from the environment, or made once per data dir."""
    configured = os.environ.get("PASSERELLE_ADMIN_TOKEN")
    if configured:
        return configured
    path = data_dir / profile.id / "admin-token"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _configuration_metadata(
    config: CredentialConfiguration, profile: IssuerProfile, catalog: Catalog
) -> JsonObject:
    """A configuration's metadata, its display and claims taken from the type metadata
    (for an mdoc, from its mdoc type)."""
    proof_algs = list(profile.proof_signing_alg_values)
    if config.format == "mso_mdoc":
        mtype = catalog.mdoc_types[config.type_id]
        mdoc_display, mdoc_claims = configuration_claims(mtype)
        return build_mso_mdoc_configuration(
            doctype=mtype.doctype,
            scope=config.id,
            proof_algs=proof_algs,
            display=mdoc_display,
            claims=mdoc_claims,
        )
    ctype = catalog.types[config.type_id]
    resolved = resolve_type_metadata(ctype.vct, documents=catalog.type_metadata_documents)
    display: list[JsonObject] = [
        {
            "name": d.name,
            "locale": d.locale,
            **({"description": d.description} if d.description else {}),
        }
        for d in resolved.display
    ]
    claims: list[JsonObject] = [
        {
            "path": list(c.path),
            "display": [{"name": d.label, "locale": d.locale} for d in c.display or ()],
            **({"mandatory": c.mandatory} if c.mandatory is not None else {}),
        }
        for c in resolved.claims
    ]
    proof_algs = list(profile.proof_signing_alg_values)
    haip = profile.haip
    # §12.2.4: key_attestations_required, where the profile demands attested keys.
    attested = dict(haip.key_attestations or {}) if haip.key_attestations_required else None
    if config.format == "jwt_vc_json":
        assert config.w3c_type is not None
        return build_jwt_vc_json_configuration(
            types=["VerifiableCredential", config.w3c_type],
            scope=config.id,
            proof_algs=proof_algs,
            display=display,
            claims=claims,
        )
    built = build_sd_jwt_vc_configuration(
        vct=config.vct,
        scope=config.id,
        proof_algs=proof_algs,
        display=display,
        claims=claims,
        key_attestations_required=attested,
    )
    proof_types = built.get("proof_types_supported")
    if haip.key_attestations is not None and isinstance(proof_types, dict):
        # HAIP 1.0 §4.5 (Credential Endpoint): "The following proof types MUST be
        # supported: jwt proof type using key_attestation, attestation proof type".
        proof_types["attestation"] = {"proof_signing_alg_values_supported": list(proof_algs)}
    return built


def _statuses(
    profile: IssuerProfile, pki: Pki, base: str, store: Store, random: RandomSource
) -> dict[str, StatusListService]:
    """One status list per signing key: a verifier accepts a status list only when it is
    signed by the key that signed the credential."""
    uses_x5c = profile.key_discovery == "x5c"
    return {
        key: StatusListService(
            store=store,
            list_id=f"{profile.id}_{key}".replace("-", "_"),
            uri=f"{base}/status/{key}",
            signer=pki.signer(key),
            random=random,
            x5c=pki.x5c(key) if uses_x5c else None,
            kid=None if uses_x5c else str(pki.jwk(key)["kid"]),
            issuer=base,
        )
        for key in sorted({c.signing_key for c in profile.configurations.values()})
    }


def _w3c_statuses(
    profile: IssuerProfile, pki: Pki, base: str, store: Store, random: RandomSource
) -> dict[str, BitstringStatusLists]:
    """W3C credentials (jwt_vc_json) are revoked through W3C Bitstring Status Lists, one
    pair (revocation, suspension) per signing key, signed like the credentials."""
    keys = {c.signing_key for c in profile.configurations.values() if c.format == "jwt_vc_json"}
    return {
        key: BitstringStatusLists(
            store=store,
            name=f"{profile.id}_{key}_w3c",
            base_url=f"{base}/w3c/{key}",
            issuer=base,
            kid=str(pki.jwk(key)["kid"]),
            signer=pki.signer(key),
            random=random,
        )
        for key in sorted(keys)
    }


def _metadata(
    profile: IssuerProfile,
    base: str,
    behaviour: IssuerBehaviour,
    configurations: Mapping[str, JsonObject],
    versions: JsonObject,
    haip_guard: HaipGuard | None = None,
) -> tuple[JsonObject, JsonObject]:
    """The credential issuer metadata and the authorization server metadata."""
    metadata = build_credential_issuer_metadata(
        credential_issuer=base,
        credential_endpoint=f"{base}/credential",
        nonce_endpoint=f"{base}/nonce" if behaviour.announce_nonce_endpoint else None,
        deferred_credential_endpoint=f"{base}/deferred_credential",
        notification_endpoint=f"{base}/notification",
        authorization_servers=None,
        display=list(profile.display),
        credential_configurations=dict(configurations),
        batch_size=profile.batch_size,
    )
    # Draft drift is the commonest interop failure: say the versions out loud, in a
    # member of our own that wallets ignore (§12.2.4 lets metadata carry more).
    metadata["passerelle_versions"] = versions
    haip = profile.haip
    as_metadata = build_authorization_server_metadata(
        issuer=base,
        authorization_endpoint=f"{base}/authorize",
        token_endpoint=f"{base}/token",
        pushed_authorization_request_endpoint=f"{base}/par",
        require_pushed_authorization_requests=True,
        scopes_supported=list(profile.configurations),
        dpop_signing_alg_values_supported=list(haip.dpop_signing_alg_values) if haip.dpop else None,
        token_endpoint_auth_methods_supported=auth_methods(haip),
    )
    issuer_extra, server_extra = haip_metadata(
        haip, haip_guard.request_key if haip_guard is not None else None
    )
    metadata.update(issuer_extra)
    as_metadata.update(server_extra)
    return metadata, as_metadata


def _haip_guard(
    profile: IssuerProfile,
    *,
    data_dir: Path,
    pki: Pki,
    base: str,
    store: Store,
    random: RandomSource,
    clock: Callable[[], datetime],
    behaviour: IssuerBehaviour,
) -> HaipGuard | None:
    haip = profile.haip
    if not (haip.enabled or haip.key_attestations is not None):
        return None
    return HaipGuard(
        settings=haip,
        issuer=base,
        store=store,
        random=random,
        clock=clock,
        replay=StoreReplayRegistry(store, clock=clock),
        dpop_replay=StoreReplayRegistry(store, clock=clock)
        if behaviour.remember_dpop_proofs
        else ForgetfulReplayRegistry(),
        behaviour=behaviour,
        request_key=request_encryption_key(store, now=clock())
        if haip.credential_response_encryption is not None
        else None,
        providers=WalletProviders(
            path=trust_dir(data_dir) / "eu" / "wallet-providers.jwt",
            operator_anchors=(pki.anchor("eu-lote-operator-ca"),),
            clock=clock,
        ),
    )


def _versions(profile: IssuerProfile, dcp: DcpIssuer | None) -> JsonObject:
    """What /health says this issuer speaks: the standards and the versions pinned."""
    versions: JsonObject = {
        "openid4vci": SPEC_VERSION,
        "sd_jwt": "RFC 9901",
        "sd_jwt_vc": SD_JWT_VC_VERSION,
        "status_list": "draft-ietf-oauth-status-list (statuslist+jwt)",
    }
    if any(c.format == "mso_mdoc" for c in profile.configurations.values()):
        versions["mdoc"] = "ISO/IEC 18013-5:2021 (mso_mdoc)"
    if dcp is not None:
        versions.update(dcp.versions)
    if profile.haip.enabled:
        versions["dpop"] = "RFC 9449"
        versions["client_attestation"] = "draft-ietf-oauth-attestation-based-client-auth-07"
    return versions


def build_issuer_state(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None,
    quirks: frozenset[IssuerQuirk] | None,
    clock: Callable[[], datetime],
    random: RandomSource | None,
) -> IssuerState:
    rng = random or SecretsRandom()
    catalog = load_catalog()
    profile = load_profile(profile_name, catalog=catalog, quirks=quirks)
    pki = load_pki(data_dir, now=clock())
    base = pki.hosts[profile.host_role]
    store: Store = open_store(store_url or f"sqlite://{data_dir / profile.id / 'store.db'}")
    behaviour = behaviour_for(profile.quirks)
    statuses = _statuses(profile, pki, base, store, rng)
    w3c_statuses = _w3c_statuses(profile, pki, base, store, rng)
    factory = CredentialFactory(
        profile=profile,
        catalog=catalog,
        pki=pki,
        base_url=base,
        random=rng,
        behaviour=behaviour,
        statuses=statuses,
        rogue_key=ec.generate_private_key(ec.SECP256R1()),
        w3c_statuses=w3c_statuses,
    )
    # The data-space path (VCDM 2.0 vc+jwt for did:web holders), if the profile has one.
    dcp = create_dcp_issuer(
        profile=profile, catalog=catalog, pki=pki, base_url=base, store=store, random=rng
    )
    configurations = {
        cid: _configuration_metadata(c, profile, catalog)
        for cid, c in profile.configurations.items()
    }
    versions = _versions(profile, dcp)
    guard = _haip_guard(
        profile,
        data_dir=data_dir,
        pki=pki,
        base=base,
        store=store,
        random=rng,
        clock=clock,
        behaviour=behaviour,
    )
    metadata, as_metadata = _metadata(profile, base, behaviour, configurations, versions, guard)
    return IssuerState(
        profile=profile,
        catalog=catalog,
        store=store,
        clock=clock,
        random=rng,
        pki=pki,
        base=base,
        behaviour=behaviour,
        statuses=statuses,
        w3c_statuses=w3c_statuses,
        factory=factory,
        dcp=dcp,
        admin_token=_admin_token(data_dir, profile),
        issuer_name=next((str(d.get("name")) for d in profile.display), profile.id),
        configurations=configurations,
        versions=versions,
        metadata=metadata,
        as_metadata=as_metadata,
        haip=guard,
    )
