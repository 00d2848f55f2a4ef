"""Deliberate faults of the wallet, for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement. The wallet never branches on a quirk name:
it reads a :class:`WalletBehaviour`, and this module is the only one that turns quirks
into one. The faulty Request Object verification lives here too, next to the quirks
that need it, so that no normal code path carries a switch that skips a check: a
wallet without quirks verifies with :func:`passerelle.oid4vp.verify_request_object`.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.dcql import (
    CandidateCredential,
    DcqlMatch,
    DcqlQuery,
    MatchedCredential,
    match_dcql,
)
from passerelle.jose import (
    PublicKey,
    check_jwt_times,
    decode_unverified_jws,
    typ_matches,
    verify_jws,
)
from passerelle.oid4vp import (
    DEFAULT_REQUEST_OBJECT_ALGORITHMS,
    REQUEST_OBJECT_TYP,
    STATIC_AUDIENCE,
    AuthorizationRequest,
    ClientId,
    ClientIdPrefix,
    DidResolver,
    VerifiedAuthorizationRequest,
    oid4vp_error,
    parse_authorization_request,
    parse_client_id,
    verify_request_object,
)
from passerelle.sd_jwt import ClaimPath
from passerelle.x509 import (
    check_x509_hash,
    check_x509_san_dns,
    decode_unverified_x5c,
    verify_certificate_chain,
)

__all__ = ["WalletBehaviour", "WalletQuirk", "behaviour_for"]


class WalletQuirk(enum.StrEnum):
    DISCLOSE_ALL = "disclose_all"
    """Every disclosure of the credential is sent, not only the requested ones
    (OpenID4VP §6.4: selectively disclosable claims not selected MUST NOT be sent)."""
    SKIP_REQUEST_SIGNATURE = "skip_request_signature"
    """The Request Object signature is not verified (OpenID4VP §5.9.3)."""
    IGNORE_CLIENT_ID_BINDING = "ignore_client_id_binding"
    """An ``x509_san_dns`` name absent from the leaf's SAN, or an ``x509_hash`` that is
    not the leaf's hash, is accepted (OpenID4VP §5.9.3)."""
    ACCEPT_UNTRUSTED_VERIFIER = "accept_untrusted_verifier"
    """The ``x5c`` chain is not validated against the WRPAC providers' CAs: any
    certificate will do (OpenID4VP §5.9.3, "the trust chain")."""
    WRONG_KB_AUD = "wrong_kb_aud"
    """The KB-JWT ``aud`` is the response_uri, not the Client Identifier (Annex B.3.6)."""
    IGNORE_REDIRECT_URI = "ignore_redirect_uri"
    """A ``redirect_uri`` next to ``response_uri`` under ``direct_post`` is ignored,
    not refused (OpenID4VP §8.2: the Wallet MUST return ``invalid_request``)."""
    IGNORE_TRANSACTION_DATA = "ignore_transaction_data"
    """``transaction_data`` the wallet does not support is ignored, not refused
    (OpenID4VP §5.1: the Wallet MUST return an error)."""
    IGNORE_URL_CLIENT_ID = "ignore_url_client_id"
    """The request URL's ``client_id`` is not compared with the Request Object's
    (OpenID4VP §5.10.1: they MUST be identical)."""
    OPTIONAL_SETS_REQUIRED = "optional_sets_required"
    """Every credential set is treated as required: an optional one the wallet cannot
    meet makes it decline the whole request (OpenID4VP §6.4.2)."""
    FIRST_JWK_ONLY = "first_jwk_only"
    """The response is encrypted to the first key of ``client_metadata.jwks``, usable
    or not (OpenID4VP §8.3: the Wallet selects a key it supports)."""
    PROOF_WITHOUT_NONCE = "proof_without_nonce"
    """Key proofs carry no ``nonce`` although the issuer has a Nonce Endpoint
    (OpenID4VCI Appendix F.1: it MUST be present then)."""
    WRONG_NOTIFICATION_ID = "wrong_notification_id"
    """Notifications name another ``notification_id`` than the issuer gave (OpenID4VCI
    §8.3: it MUST be included in the Notification Request)."""
    IGNORE_RESPONSE_ENC = "ignore_response_enc"
    """The response is encrypted with ``A256GCM`` whatever the Verifier's
    ``encrypted_response_enc_values_supported`` lists (OpenID4VP §8.3: the ``enc`` used
    is obtained from that parameter)."""
    MDOC_TRANSCRIPT_WITHOUT_THUMBPRINT = "mdoc_transcript_without_thumbprint"
    """An mdoc answering a ``direct_post.jwt`` request is signed over a SessionTranscript
    whose jwkThumbprint is null, not the thumbprint of the key the response is encrypted
    to (OpenID4VP 1.0 Appendix B.2.6.1: "the third element MUST be the JWK SHA-256
    Thumbprint ... of the Verifier's public key used to encrypt the response")."""
    PARTIAL_CREDENTIAL_SETS = "partial_credential_sets"
    """When no option of a required credential set can be met, the Credential Queries
    that do match are answered anyway: a partial ``vp_token`` (OpenID4VP §6.4.2)."""
    IGNORE_CLIENT_ID_PREFIX = "ignore_client_id_prefix"
    """A Client Identifier Prefix the wallet does not know is read as ``x509_san_dns``:
    the request is trusted on its certificate (OpenID4VP §5.9.2 lets a wallet treat such
    a client as pre-registered or refuse it, never trust it under another prefix)."""
    POSITIONAL_BATCH = "positional_batch"
    """The wallet asks for a batch as large as the issuer allows and pairs the
    credentials with its keys by position: a batch answered in another order loses the
    credentials that moved (OpenID4VCI §8.3 puts no order on ``credentials``)."""
    PLAIN_PKCE = "plain_pkce"
    """The authorization code flow's PKCE uses the ``plain`` method, exposing the
    verifier in the authorization request (RFC 9700 §2.1.1: S256 is the method that
    does not)."""
    IGNORE_DEFERRED = "ignore_deferred"
    """A Credential Response carrying a ``transaction_id`` is taken as a failure: the
    wallet never asks the Deferred Credential Endpoint (OpenID4VCI §9)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WalletBehaviour:
    minimal_disclosure: bool = True
    check_request_signature: bool = True
    check_client_id_binding: bool = True
    check_verifier_trust: bool = True
    kb_audience_is_client_id: bool = True
    all_or_nothing: bool = True
    ignored_parameters: frozenset[str] = frozenset()
    """Request Object parameters read as if absent (quirks only)."""
    check_url_client_id: bool = True
    honour_optional_sets: bool = True
    select_usable_key: bool = True
    honour_response_enc: bool = True
    proof_with_nonce: bool = True
    echo_notification_id: bool = True
    mdoc_bind_encryption_key: bool = True
    unknown_prefix_as: ClientIdPrefix | None = None
    """The prefix an unknown Client Identifier Prefix is read as (quirk only)."""
    batch_from_metadata: bool = False
    """Whether to ask for the issuer's whole ``batch_size`` (quirk only: the wallet pairs
    keys and credentials by position, see ``holder.accept_offer``)."""

    pkce_method: str = "S256"
    """The PKCE method of the authorization code flow (RFC 7636 §4.2)."""
    await_deferred: bool = True

    def pkce(self, verifier: str, *, s256: str) -> tuple[str, str]:
        """The ``code_challenge`` and its method: the S256 one, or (quirk) plain."""
        return (verifier, "plain") if self.pkce_method == "plain" else (s256, "S256")

    def proof_count(self, batch_size: int | None) -> int:
        """How many key proofs a credential request carries: one, or (quirk) a batch."""
        if self.batch_from_metadata and batch_size is not None and batch_size > 1:
            return batch_size
        return 1

    def notification_id(self, issued: str) -> str:
        """The ``notification_id`` a notification names: the issuer's, or (quirk) not."""
        return issued if self.echo_notification_id else f"{issued}-other"

    def proof_nonce(self, c_nonce: str | None) -> str | None:
        """The ``nonce`` a key proof carries: the issuer's ``c_nonce``, or (quirk) none."""
        return c_nonce if self.proof_with_nonce else None

    def encryption_keys(self, jwks: JsonObject) -> JsonObject:
        """The keys the wallet chooses among to encrypt its response."""
        keys = jwks.get("keys")
        if self.select_usable_key or not isinstance(keys, list) or not keys:
            return jwks
        return {**jwks, "keys": keys[:1]}

    def response_enc_values(self, offered: Sequence[str] | None) -> Sequence[str] | None:
        """The ``enc`` values the wallet chooses among: the Verifier's, or (quirk) its own."""
        return offered if self.honour_response_enc else ("A256GCM",)

    def match(self, query: DcqlQuery, candidates: Sequence[CandidateCredential]) -> DcqlMatch:
        """The credentials that answer ``query``: all that a required set asks for, or
        none; (quirk) whatever matches, set by set or not."""
        if not self.honour_optional_sets and query.credential_sets is not None:
            query = replace(
                query,
                credential_sets=tuple(replace(c, required=True) for c in query.credential_sets),
            )
        try:
            return match_dcql(query, candidates)
        except PasserelleError as exc:
            if self.all_or_nothing or query.credential_sets is None:
                raise
            unmet = exc
        partial: dict[str, tuple[MatchedCredential, ...]] = {}
        for credential_query in query.credentials:
            alone = replace(query, credentials=(credential_query,), credential_sets=None)
            try:
                partial.update(match_dcql(alone, candidates).credentials)
            except PasserelleError:
                continue
        if not partial:
            raise unmet
        return DcqlMatch(credentials=partial)

    @property
    def verifies_requests_fully(self) -> bool:
        return (
            self.check_request_signature
            and self.check_client_id_binding
            and self.check_verifier_trust
            and self.check_url_client_id
            and not self.ignored_parameters
            and self.unknown_prefix_as is None
        )

    def disclosure(self, planned: Sequence[ClaimPath]) -> tuple[ClaimPath, ...]:
        """What to reveal for a planned disclosure: the plan, or (quirk) everything —
        the empty path is a prefix of every claim."""
        return tuple(planned) if self.minimal_disclosure else ((),)

    def kb_audience(self, request: AuthorizationRequest) -> str:
        return request.client_id if self.kb_audience_is_client_id else request.response_uri

    def verify_request(
        self,
        token: str,
        *,
        client_id_from_url: str | None,
        anchors: Sequence[x509.Certificate],
        did_resolver: DidResolver | None,
        now: datetime,
        skew: timedelta,
        wallet_nonce: str | None,
    ) -> VerifiedAuthorizationRequest:
        """Verify a Request Object as the core does, unless a quirk says otherwise."""
        if not self.verifies_requests_fully:
            faulty = self._verify_x509_request_with_faults(
                token,
                client_id_from_url=client_id_from_url,
                anchors=anchors,
                now=now,
                skew=skew,
                wallet_nonce=wallet_nonce,
            )
            if faulty is not None:
                return faulty
        return verify_request_object(
            token,
            client_id_from_url=client_id_from_url,
            anchors=anchors,
            did_resolver=did_resolver,
            now=now,
            skew=skew,
            wallet_nonce=wallet_nonce,
        )

    def _verify_x509_request_with_faults(
        self,
        token: str,
        *,
        client_id_from_url: str | None,
        anchors: Sequence[x509.Certificate],
        now: datetime,
        skew: timedelta,
        wallet_nonce: str | None,
    ) -> VerifiedAuthorizationRequest | None:
        """The core's steps for the ``x509_*`` prefixes, with the quirk's check left out.

        None for any other prefix: the quirks are about certificates only.
        """
        unverified = decode_unverified_jws(token, what="Request Object")
        claims = unverified.payload_json(what="Request Object payload")
        claims = {k: v for k, v in claims.items() if k not in self.ignored_parameters}
        claimed = claims.get("client_id")
        if (
            self.check_url_client_id
            and client_id_from_url is not None
            and claimed != client_id_from_url
        ):
            raise oid4vp_error(
                Reason.OID4VP_CLIENT_ID_MISMATCH,
                "client_id in the Request Object differs from the client_id parameter",
            )
        client = self._client_id(claimed)
        # (quirk) the request is read on as if it named the prefix it was taken for
        claims["client_id"] = client.value
        if client.prefix not in (ClientIdPrefix.X509_SAN_DNS, ClientIdPrefix.X509_HASH):
            return None
        certs = decode_unverified_x5c(unverified.header.get("x5c"))
        if self.check_verifier_trust:
            chain = verify_certificate_chain(certs, anchors=anchors, now=now)
            leaf, key = chain.leaf, chain.public_key
            chain_certs = chain.chain
        else:
            leaf, key, chain_certs = certs[0], _leaf_key(certs[0]), tuple(certs)
        if self.check_client_id_binding:
            if client.prefix is ClientIdPrefix.X509_SAN_DNS:
                check_x509_san_dns(leaf, client.identifier)
            else:
                check_x509_hash(leaf, client.identifier)
        if self.check_request_signature:
            verify_jws(
                unverified,
                key=key,
                algorithms=DEFAULT_REQUEST_OBJECT_ALGORITHMS,
                typ=REQUEST_OBJECT_TYP,
                what="Request Object",
            )
        elif not typ_matches(unverified.header.get("typ"), REQUEST_OBJECT_TYP):
            raise PasserelleError(
                Reason.JWS_TYP_MISMATCH, "Request Object typ is not oauth-authz-req+jwt"
            ).for_wire("invalid_request_object")
        check_jwt_times(claims, now=now, skew=skew, what="Request Object")
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if STATIC_AUDIENCE not in auds:
            raise oid4vp_error(
                Reason.OID4VP_REQUEST_OBJECT_AUD_INVALID, f"aud {aud!r} is not this Wallet"
            )
        if wallet_nonce is not None:
            echoed = claims.get("wallet_nonce")
            if not isinstance(echoed, str) or not hmac.compare_digest(
                echoed.encode(), wallet_nonce.encode()
            ):
                raise oid4vp_error(
                    Reason.OID4VP_WALLET_NONCE_MISMATCH,
                    "the Request Object does not echo wallet_nonce",
                )
        return VerifiedAuthorizationRequest(
            request=parse_authorization_request(claims, from_request_object=True),
            client_id=client,
            header=unverified.header,
            claims=claims,
            signer_key=key,
            certificate_chain=chain_certs,
        )

    def _client_id(self, claimed: object) -> ClientId:
        """The Request Object's ``client_id``, parsed; (quirk) an unknown prefix read as
        another."""
        try:
            return parse_client_id(claimed)  # type: ignore[arg-type]
        except PasserelleError as exc:
            if (
                self.unknown_prefix_as is None
                or exc.reason is not Reason.OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED
                or not isinstance(claimed, str)
            ):
                raise
            return ClientId(prefix=self.unknown_prefix_as, identifier=claimed.partition(":")[2])


def _leaf_key(leaf: x509.Certificate) -> PublicKey:
    key = leaf.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key
    raise PasserelleError(Reason.JWK_UNSUPPORTED, "the leaf key is not EC or Ed25519")


def behaviour_for(quirks: Collection[WalletQuirk]) -> WalletBehaviour:
    q = set(quirks)
    return WalletBehaviour(
        minimal_disclosure=WalletQuirk.DISCLOSE_ALL not in q,
        check_request_signature=WalletQuirk.SKIP_REQUEST_SIGNATURE not in q,
        check_client_id_binding=WalletQuirk.IGNORE_CLIENT_ID_BINDING not in q,
        check_verifier_trust=WalletQuirk.ACCEPT_UNTRUSTED_VERIFIER not in q,
        kb_audience_is_client_id=WalletQuirk.WRONG_KB_AUD not in q,
        all_or_nothing=WalletQuirk.PARTIAL_CREDENTIAL_SETS not in q,
        ignored_parameters=frozenset(
            name
            for quirk, name in (
                (WalletQuirk.IGNORE_REDIRECT_URI, "redirect_uri"),
                (WalletQuirk.IGNORE_TRANSACTION_DATA, "transaction_data"),
            )
            if quirk in q
        ),
        check_url_client_id=WalletQuirk.IGNORE_URL_CLIENT_ID not in q,
        honour_optional_sets=WalletQuirk.OPTIONAL_SETS_REQUIRED not in q,
        select_usable_key=WalletQuirk.FIRST_JWK_ONLY not in q,
        honour_response_enc=WalletQuirk.IGNORE_RESPONSE_ENC not in q,
        proof_with_nonce=WalletQuirk.PROOF_WITHOUT_NONCE not in q,
        echo_notification_id=WalletQuirk.WRONG_NOTIFICATION_ID not in q,
        mdoc_bind_encryption_key=WalletQuirk.MDOC_TRANSCRIPT_WITHOUT_THUMBPRINT not in q,
        unknown_prefix_as=ClientIdPrefix.X509_SAN_DNS
        if WalletQuirk.IGNORE_CLIENT_ID_PREFIX in q
        else None,
        batch_from_metadata=WalletQuirk.POSITIONAL_BATCH in q,
        pkce_method="plain" if WalletQuirk.PLAIN_PKCE in q else "S256",
        await_deferred=WalletQuirk.IGNORE_DEFERRED not in q,
    )
