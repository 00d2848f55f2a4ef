"""Turning (configuration, persona, holder key) into a signed credential.

The rules of what goes in a credential live here, once, for every route and every
profile: claims come from the persona's sample subject, selective disclosure follows
the type's metadata, each credential gets a fresh status index, and ``iat`` is the
start of the UTC day so that credentials of one batch (or one morning) cannot be
linked by their timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, JsonValue, RandomSource
from passerelle.catalog import compute_integrity, resolve_type_metadata
from passerelle.jose import KeySigner, PublicKey, Signer
from passerelle.mdoc import StatusReference
from passerelle.sd_jwt_vc import NEVER_DISCLOSABLE, disclosable_paths, issue_sd_jwt_vc
from passerelle.services.catalog import Catalog
from passerelle.services.pki import Pki
from passerelle.services.status import StatusListService
from passerelle.status_list import (
    StatusPurpose,
    create_bitstring_status_entry,
    create_status_reference,
)
from passerelle.vc import did_jwk_from_key, issue_jwt_vc_json

from .dates import day_of
from .mdoc import issue_mdoc
from .profile import CredentialConfiguration, IssuerProfile
from .quirks import IssuerBehaviour

if TYPE_CHECKING:  # .dcp imports this module
    from .dcp import BitstringStatusLists

__all__ = ["CredentialFactory", "IssuedCredential"]

MAX_DECOYS = 3
W3C_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedCredential:
    credential: str
    status_index: int | None
    w3c_status: Mapping[str, int] | None = None
    """A W3C credential's Bitstring Status List indices, by purpose."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialFactory:
    profile: IssuerProfile
    catalog: Catalog
    pki: Pki
    base_url: str
    random: RandomSource
    behaviour: IssuerBehaviour
    statuses: Mapping[str, StatusListService]
    """The issuer's status lists, by the signing key that signs them and their credentials."""
    rogue_key: ec.EllipticCurvePrivateKey
    """Only used under the ``sign_with_unlisted_key`` quirk."""
    w3c_statuses: Mapping[str, BitstringStatusLists] = field(default_factory=dict)
    """W3C Bitstring Status Lists (``jwt_vc_json``), by signing key (DESIGN §3)."""

    def _signer(self, config: CredentialConfiguration) -> Signer:
        if not self.behaviour.sign_with_published_key:
            return KeySigner(self.rogue_key)
        return self.pki.signer(config.signing_key)

    def _key_reference(
        self, config: CredentialConfiguration
    ) -> tuple[list[str] | None, str | None]:
        if self.profile.key_discovery == "x5c":
            return self.pki.x5c(config.signing_key), None
        kid = self.pki.jwk(config.signing_key).get("kid")
        return None, str(kid)

    def _status(
        self, config: CredentialConfiguration, now: datetime, credential_id: str
    ) -> tuple[JsonObject, int]:
        status = self.statuses[config.signing_key]
        if self.behaviour.random_status_index:
            reference = status.allocate(now=now, credential_id=credential_id)
        else:
            status.reserve(0, now=now, credential_id=credential_id)
            reference = create_status_reference(idx=0, uri=status.uri)
        entry = reference["status_list"]
        assert isinstance(entry, dict)
        index = entry["idx"]
        assert isinstance(index, int)
        return reference, index

    def subject_claims(self, config: CredentialConfiguration, persona: str) -> JsonObject:
        sample = self.catalog.types[config.type_id].samples[persona]
        return {k: v for k, v in sample.items() if k not in NEVER_DISCLOSABLE | {"iat", "sub"}}

    def issue(
        self,
        config: CredentialConfiguration,
        *,
        persona: str,
        holder: PublicKey,
        now: datetime,
        credential_id: str,
    ) -> IssuedCredential:
        if config.format == "mso_mdoc":
            return self._issue_mdoc(
                config, persona=persona, holder=holder, now=now, credential_id=credential_id
            )
        claims = self.subject_claims(config, persona)
        day = day_of(now)
        x5c, kid = self._key_reference(config)
        if config.format == "jwt_vc_json":
            lists = self.w3c_statuses.get(config.signing_key)
            indices = (
                None
                if lists is None
                else {
                    p.value: lists.allocate(p, now=now, credential_id=credential_id)
                    for p in StatusPurpose
                }
            )
            entries: list[JsonValue] = [
                create_bitstring_status_entry(
                    purpose=StatusPurpose(p), index=i, list_credential=lists.url(StatusPurpose(p))
                )
                for p, i in (indices or {}).items()
                if lists is not None
            ]
            token = self._issue_jwt_vc(config, claims, holder, day, kid, status=entries)
            return IssuedCredential(credential=token, status_index=None, w3c_status=indices)
        ctype = self.catalog.types[config.type_id]
        resolved = resolve_type_metadata(ctype.vct, documents=self.catalog.type_metadata_documents)
        status, index = self._status(config, now, credential_id)
        token = issue_sd_jwt_vc(
            claims,
            vct=ctype.vct + self.behaviour.vct_suffix,
            signer=self._signer(config),
            random=self.random,
            now=day,
            disclosable=disclosable_paths(resolved, claims),
            issuer=self.base_url,
            holder_key=holder if self.behaviour.bind_holder else None,
            valid_for=timedelta(days=config.valid_for_days),
            status=status,
            vct_integrity=compute_integrity(ctype.type_metadata),
            x5c=x5c,
            kid=kid,
            max_decoys=MAX_DECOYS,
        )
        return IssuedCredential(credential=token, status_index=index)

    def _issue_mdoc(
        self,
        config: CredentialConfiguration,
        *,
        persona: str,
        holder: PublicKey,
        now: datetime,
        credential_id: str,
    ) -> IssuedCredential:
        mtype = self.catalog.mdoc_types[config.type_id]
        reference, index = self._status(config, now, credential_id)
        entry = reference["status_list"]
        assert isinstance(entry, dict)
        token = issue_mdoc(
            mtype,
            self.catalog.types[mtype.samples_from].samples[persona],
            signer_key=self.pki.private_key(config.signing_key)
            if self.behaviour.sign_with_published_key
            else self.rogue_key,
            chain=self.pki.chain(config.signing_key),
            holder=holder,
            status=StatusReference(idx=index, uri=str(entry["uri"])),
            valid_for_days=config.valid_for_days,
            behaviour=self.behaviour,
            random=self.random,
            now=now,
        )
        return IssuedCredential(credential=token, status_index=index)

    def _issue_jwt_vc(
        self,
        config: CredentialConfiguration,
        claims: JsonObject,
        holder: PublicKey,
        day: datetime,
        kid: str | None,
        *,
        status: list[JsonValue],
    ) -> str:
        assert config.w3c_type is not None
        credential: JsonObject = {
            "@context": [W3C_V1_CONTEXT],
            "type": ["VerifiableCredential", config.w3c_type],
            "issuer": self.base_url,
            "issuanceDate": _iso(day),
            "expirationDate": _iso(day + timedelta(days=config.valid_for_days)),
            "credentialSubject": {"id": did_jwk_from_key(holder), **claims},
        }
        if status:
            # One entry per purpose (revocation, suspension), as DESIGN §3 pins.
            credential["credentialStatus"] = status
        return issue_jwt_vc_json(credential, signer=self._signer(config), kid=kid, now=day)
