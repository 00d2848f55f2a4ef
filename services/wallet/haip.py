"""The wallet's side of HAIP 1.0 issuance: DPoP proofs (RFC 9449) with the server's
nonces, its wallet attestation at PAR and token (attestation-based client
authentication -07), key attestations over its holder keys (OpenID4VCI Appendix D)
and encrypted credential responses (§8.2, §10).

What the issuer offers decides what is used: ``dpop_signing_alg_values_supported`` in
its authorization server metadata turns DPoP on, ``attest_jwt_client_auth`` among its
``token_endpoint_auth_methods_supported`` the wallet attestation, and
``credential_response_encryption`` in its issuer metadata the encryption. Each step
taken is written to :attr:`HaipSession.steps`, so a trace can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, PasserelleError, RandomSource, Reason
from passerelle.jose import KeySigner, public_jwk
from passerelle.oauth import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    AUTH_METHOD,
    DPOP_HEADER,
    DPOP_NONCE_HEADER,
    create_client_attestation_pop,
    create_dpop_proof,
    read_dpop_nonce,
)
from passerelle.oid4vci import (
    CredentialResponseEncryption,
    create_credential_response_encryption,
    decrypt_credential_response,
    encrypt_credential_request,
)

from ..fetch import Fetcher
from .provider import WalletProvider
from .quirks import WalletBehaviour

__all__ = ["HaipSession"]


def _asks_for(response: httpx.Response, error: str) -> bool:
    """Whether a refusal is ``error``: in the body (an authorization server, RFC 6749
    §5.2) or in the WWW-Authenticate challenge (a resource server, RFC 9449 §9)."""
    if response.status_code not in (400, 401):
        return False
    if f'error="{error}"' in response.headers.get("www-authenticate", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == error


@dataclass(slots=True)
class HaipSession:
    """One issuance's keys and state: a wallet instance key (attested by the provider),
    a DPoP key, the last DPoP nonce per server and what was done."""

    provider: WalletProvider
    fetcher: Fetcher
    random: RandomSource
    clock: Callable[[], datetime]
    as_metadata: Mapping[str, Any]
    issuer_metadata: Mapping[str, Any]
    steps: list[str] = field(default_factory=list)
    behaviour: WalletBehaviour = field(default_factory=WalletBehaviour)
    _instance: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    _dpop: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    _nonces: dict[str, str] = field(default_factory=dict)
    _attestation: str | None = None
    _dpop_random: RandomSource | None = None

    @property
    def uses_dpop(self) -> bool:
        return bool(self.as_metadata.get("dpop_signing_alg_values_supported"))

    @property
    def attests_client(self) -> bool:
        methods = self.as_metadata.get("token_endpoint_auth_methods_supported") or ()
        return AUTH_METHOD in methods

    @property
    def client_id(self) -> str:
        return self.provider.client_id

    def _client_headers(self) -> dict[str, str]:
        now = self.clock()
        if self._attestation is None:
            self._attestation = self.provider.attest_instance(public_jwk(self._instance), now=now)
            self.steps.append("wallet attestation issued by the wallet provider (x5c, cnf.jwk)")
        pop = create_client_attestation_pop(
            signer=KeySigner(self._instance),
            client_id=self.client_id,
            authorization_server=self.behaviour.pop_audience(
                str(self.as_metadata.get("issuer")), str(self.as_metadata.get("token_endpoint"))
            ),
            now=now,
            random=self.random,
        )
        return {ATTESTATION_HEADER: self._attestation, ATTESTATION_POP_HEADER: pop}

    def _dpop_headers(self, method: str, url: str, access_token: str | None) -> dict[str, str]:
        origin = httpx.URL(url).host
        if self._dpop_random is None:
            self._dpop_random = self.behaviour.dpop_random(self.random)
        proof = create_dpop_proof(
            signer=KeySigner(self._dpop),
            public_key_jwk=public_jwk(self._dpop),
            method=method,
            url=self.behaviour.dpop_url(url),
            now=self.clock(),
            random=self._dpop_random,
            access_token=self.behaviour.dpop_access_token(access_token),
            nonce=self._nonces.get(origin),
        )
        return {DPOP_HEADER: proof}

    def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        authenticate: bool = False,
        access_token: str | None = None,
        token_type: str = "Bearer",  # noqa: S107 (a scheme, not a secret)
        data: Mapping[str, str] | None = None,
        json: JsonObject | None = None,
    ) -> httpx.Response:
        """One request with what the issuer asks for; retried once with the server's
        nonce when it answers ``use_dpop_nonce`` (RFC 9449 §8), and once with a new wallet
        attestation when it answers ``use_fresh_attestation``, every proof fresh. A
        credential request that asks for an encrypted response is itself encrypted when
        the issuer publishes a key for it (§8.2)."""
        send = (data, json, self._sealed_request(json) if what == "credential" else None)
        response = self._send_once(method, url, authenticate, access_token, token_type, send)
        if self.uses_dpop and _asks_for(response, "use_dpop_nonce"):
            self.steps.append(f"{what}: the server asked for a DPoP nonce; retried with it")
            response = self._send_once(method, url, authenticate, access_token, token_type, send)
        if authenticate and self.attests_client and _asks_for(response, "use_fresh_attestation"):
            # -07 §6.2: the server deems the wallet attestation not fresh enough.
            self._attestation = None
            self.steps.append(f"{what}: the server asked for a fresh wallet attestation; retried")
            response = self._send_once(method, url, authenticate, access_token, token_type, send)
        return response

    def _sealed_request(self, body: JsonObject | None) -> bytes | None:
        offered = self.issuer_metadata.get("credential_request_encryption")
        if body is None or "credential_response_encryption" not in body:
            return None
        if not isinstance(offered, dict) or not isinstance(offered.get("jwks"), dict):
            return None
        encs = offered.get("enc_values_supported") or ["A128GCM"]
        enc = "A128GCM" if "A128GCM" in encs else str(encs[0])
        self.steps.append(f"credential request encrypted to the issuer's key (ECDH-ES, {enc})")
        return encrypt_credential_request(body, issuer_jwks=offered["jwks"], enc=enc).encode()

    def _send_once(
        self,
        method: str,
        url: str,
        authenticate: bool,
        access_token: str | None,
        token_type: str,
        body: tuple[Mapping[str, str] | None, JsonObject | None, bytes | None],
    ) -> httpx.Response:
        data, json, sealed = body
        headers: dict[str, str] = {}
        if sealed is not None:
            headers["Content-Type"] = "application/jwt"
            json = None
        if authenticate and self.attests_client:
            headers.update(self._client_headers())
        dpop_bound = token_type.lower() == "dpop"
        if self.uses_dpop and (access_token is None or dpop_bound):
            headers.update(self._dpop_headers(method, url, access_token))
        if access_token is not None:
            headers["Authorization"] = f"{'DPoP' if dpop_bound else 'Bearer'} {access_token}"
        response = self.fetcher.request(
            method, url, data=data, json=json, headers=headers, content=sealed
        )
        nonce = read_dpop_nonce(response.headers.get_list(DPOP_NONCE_HEADER))
        if nonce is not None and self.behaviour.keep_dpop_nonce:
            self._nonces[httpx.URL(url).host] = nonce
        return response

    def attest_keys(self, keys: Sequence[ec.EllipticCurvePrivateKey], nonce: str | None) -> str:
        self.steps.append(f"key attestation over {len(keys)} holder key(s) by the wallet provider")
        return self.provider.attest_keys(
            [public_jwk(k) for k in keys], now=self.clock(), nonce=nonce
        )

    def response_encryption(
        self,
    ) -> tuple[JsonObject, ec.EllipticCurvePrivateKey, CredentialResponseEncryption] | None:
        """The request member asking for an encrypted response, when offered."""
        offered = self.issuer_metadata.get("credential_response_encryption")
        if not isinstance(offered, dict):
            return None
        encs = offered.get("enc_values_supported") or []
        enc = "A128GCM" if "A128GCM" in encs else str(encs[0])
        key = ec.generate_private_key(ec.SECP256R1())
        member = create_credential_response_encryption(key.public_key(), enc=enc)
        self.steps.append(f"asked for an encrypted credential response (ECDH-ES, {enc})")
        requested = CredentialResponseEncryption(jwk=dict(member["jwk"]), alg="ECDH-ES", enc=enc)  # type: ignore[arg-type]
        return member, key, requested

    @staticmethod
    def open_response(
        response: httpx.Response,
        sealed: tuple[JsonObject, ec.EllipticCurvePrivateKey, CredentialResponseEncryption],
    ) -> JsonObject:
        if response.headers.get("content-type", "").split(";")[0].strip() != "application/jwt":
            raise PasserelleError(
                Reason.OID4VCI_RESPONSE_DECRYPTION_FAILED,
                "an encrypted credential response was asked for and a plain one came",
            )
        return decrypt_credential_response(
            response.text.strip(), private_key=sealed[1], requested=sealed[2]
        )
