"""The wallet provider: the role that vouches for wallet instances and their keys.

A real provider runs apart from the wallet and checks the device (platform key
attestation, app integrity) before it signs anything; the development one lives in
the wallet's process and signs with the ``wallet-provider`` key of the development
PKI, whose CA is on the EU list of wallet providers (ETSI TS 119 602 Annex E). It
issues:

- wallet attestations: OAuth Client Attestations (draft-ietf-oauth-attestation-based
  -client-auth -07, OpenID4VCI 1.0 Appendix E) binding a wallet instance key, with the
  signing certificate in ``x5c`` (HAIP 1.0 §4.4.1);
- key attestations (OpenID4VCI 1.0 Appendix D) over holder keys, carrying the issuer's
  ``c_nonce`` when it has one (Appendix F.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from passerelle import JsonObject
from passerelle.jose import Signer
from passerelle.oauth import create_client_attestation
from passerelle.oid4vci import create_key_attestation
from passerelle.services.pki import Pki

__all__ = ["PROVIDER_ENTITY", "WALLET_CLIENT_ID", "WalletProvider"]

PROVIDER_ENTITY = "wallet-provider"
#: One client_id for every instance of the wallet solution (OpenID4VCI §15.4.4).
WALLET_CLIENT_ID = "passerelle-wallet"
ATTESTATION_LIFETIME = timedelta(hours=1)
KEY_ATTESTATION_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class WalletProvider:
    signer: Signer
    x5c: tuple[str, ...]
    identifier: str
    client_id: str = WALLET_CLIENT_ID
    #: Appendix D.2 attack-potential resistance of the development wallet's software
    #: keys: what it can honestly claim.
    key_storage: tuple[str, ...] = ("iso_18045_basic",)
    user_authentication: tuple[str, ...] = ("iso_18045_basic",)

    @classmethod
    def from_pki(cls, pki: Pki, *, client_id: str = WALLET_CLIENT_ID) -> WalletProvider:
        return cls(
            signer=pki.signer(PROVIDER_ENTITY),
            x5c=tuple(pki.x5c(PROVIDER_ENTITY)),
            identifier=pki.hosts["wallet"],
            client_id=client_id,
        )

    def attest_instance(self, instance_jwk: JsonObject, *, now: datetime) -> str:
        """A wallet attestation for the instance holding ``instance_jwk``."""
        return create_client_attestation(
            signer=self.signer,
            x5c=self.x5c,
            issuer=self.identifier,
            client_id=self.client_id,
            instance_jwk=instance_jwk,
            now=now,
            lifetime=ATTESTATION_LIFETIME,
        )

    def attest_keys(
        self, holder_jwks: Sequence[JsonObject], *, now: datetime, nonce: str | None
    ) -> str:
        """A key attestation over ``holder_jwks``, with ``exp`` (needed in a ``jwt``
        proof, Appendix D.1) and the issuer's ``c_nonce``."""
        return create_key_attestation(
            signer=self.signer,
            x5c=self.x5c,
            attested_keys=list(holder_jwks),
            now=now,
            expires_at=now + KEY_ATTESTATION_LIFETIME,
            nonce=nonce,
            key_storage=self.key_storage,
            user_authentication=self.user_authentication,
            issuer=self.identifier,
        )
