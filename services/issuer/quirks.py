"""Deliberate faults for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement, so that a check which should catch it can
be shown to. The issuer never branches on a quirk name: it reads an
:class:`IssuerBehaviour`, and this module is the only one that turns quirks into one.
A profile with no quirks gets the behaviour the specifications require.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.jose import decode_unverified_jws

_KNOWN_REQUEST_PARAMETERS = frozenset(
    {"credential_identifier", "credential_configuration_id", "proofs", "proof"}
)

__all__ = [
    "ForgetfulReplayRegistry",
    "IssuerBehaviour",
    "IssuerQuirk",
    "behaviour_for",
    "unverified_attestation",
    "unverified_claims",
]


class IssuerQuirk(enum.StrEnum):
    ACCEPT_ANY_NONCE = "accept_any_nonce"
    """Key proofs are accepted whatever their ``nonce`` (OpenID4VCI §8.2, F.4)."""
    IGNORE_PROOF_AUD = "ignore_proof_aud"
    """Key proofs are accepted whatever their ``aud`` (Appendix F.1)."""
    IGNORE_TX_CODE = "ignore_tx_code"
    """The Transaction Code is not checked at the token endpoint (§6.1)."""
    REUSABLE_PRE_AUTHORIZED_CODE = "reusable_pre_authorized_code"
    """A Pre-Authorized Code can be redeemed more than once (§3.5, RFC 6749 §4.1.2)."""
    SIGN_WITH_UNLISTED_KEY = "sign_with_unlisted_key"
    """Credentials are signed with a key that is not the published one."""
    REUSE_STATUS_INDEX = "reuse_status_index"
    """Every credential gets status index 0, so one revocation revokes them all."""
    OMIT_CNF = "omit_cnf"
    """SD-JWT VCs carry no ``cnf``: they cannot be bound to the holder."""
    WRONG_VCT = "wrong_vct"
    """SD-JWT VCs carry a ``vct`` other than the configuration's."""
    NO_STORE_MISSING = "no_store_missing"
    """Token and credential responses lack ``Cache-Control: no-store`` (RFC 6749 §5.1)."""
    CONSTANT_C_NONCE = "constant_c_nonce"
    """The nonce endpoint hands out one value forever, and a proof carrying it is
    accepted every time (OpenID4VCI §7.2: new challenge values MUST be unpredictable)."""
    REFUSE_UNKNOWN_PARAMETERS = "refuse_unknown_parameters"
    """A credential request carrying a parameter the issuer does not know is refused
    (OpenID4VCI §8.2: the Credential Issuer MUST ignore unrecognized parameters)."""
    IGNORE_CREDENTIAL_IDENTIFIER = "ignore_credential_identifier"
    """An unknown ``credential_identifier`` is answered with the token's first
    configuration instead of ``unknown_credential_identifier`` (§8.3.1.2)."""
    MDOC_FOREIGN_DEVICE_KEY = "mdoc_foreign_device_key"
    """An mdoc's MSO names a device key other than the one the key proof proved, so
    the holder can never authenticate it (ISO/IEC 18013-5 §9.1.2.4 deviceKeyInfo)."""
    MDOC_EXPIRED = "mdoc_expired"
    """An mdoc's MSO ``validUntil`` has already passed when it is issued (§9.1.2.4)."""
    HIDDEN_NONCE_ENDPOINT = "hidden_nonce_endpoint"
    """The metadata names no ``nonce_endpoint``, yet proofs without a ``c_nonce`` are
    refused (OpenID4VCI §7: an issuer that requires ``c_nonce`` MUST offer one)."""
    SKIP_CLIENT_ATTESTATION = "skip_client_attestation"
    """Wallet attestations are not checked at all: a client without a valid one is
    served (attestation-based client authentication -07 §6; HAIP 1.0 §4.4)."""
    ACCEPT_DPOP_TOKEN_AS_BEARER = "accept_dpop_token_as_bearer"  # noqa: S105 (a quirk name)
    """A DPoP-bound access token is accepted with the ``Bearer`` scheme (RFC 9449 §7.2)."""
    ACCEPT_REPLAYED_DPOP_PROOF = "accept_replayed_dpop_proof"
    """DPoP proofs are not remembered: one can be sent again (RFC 9449 §11.1)."""
    ACCEPT_DPOP_SCHEME_WITHOUT_PROOF = "accept_dpop_scheme_without_proof"
    """The ``DPoP`` scheme is accepted without a DPoP proof (RFC 9449 §7.1)."""
    IGNORE_DPOP_HTM_HTU = "ignore_dpop_htm_htu"
    """A DPoP proof's ``htm`` and ``htu`` are not compared with the request (§4.3)."""
    IGNORE_DPOP_ATH = "ignore_dpop_ath"
    """A DPoP proof's ``ath`` is not compared with the access token (§4.3 check 12)."""
    IGNORE_CLIENT_ATTESTATION_POP_AUD = "ignore_client_attestation_pop_aud"
    """A wallet attestation PoP addressed to another authorization server is accepted
    (attestation-based client authentication -07 §5.2: ``aud`` is this server)."""
    PLAIN_RESPONSE_FOR_UNSUPPORTED_ENCRYPTION = "plain_response_for_unsupported_encryption"
    """A credential request whose response encryption parameters are refused (an
    ``alg`` or ``enc`` not offered, an unusable key) is answered in the clear instead
    of ``invalid_encryption_parameters`` (OpenID4VCI 1.0 §8.3.1.2)."""
    ACCEPT_UNISSUED_DPOP_NONCE = "accept_unissued_dpop_nonce"
    """A DPoP proof's ``nonce`` is taken whatever it is, issued here or not (RFC 9449 §8:
    a nonce not recently supplied by the server MUST be rejected)."""
    ACCEPT_EXPIRED_CLIENT_ATTESTATION = "accept_expired_client_attestation"
    """A wallet attestation whose ``exp`` has passed is accepted (attestation-based
    client authentication -07 §5.1: the server MUST reject it)."""
    UNVERIFIED_DPOP_PROOF = "unverified_dpop_proof"
    """At the credential endpoint a DPoP proof stands for the key its header names:
    neither its signature nor its claims are checked (RFC 9449 §4.3)."""
    EXACT_DPOP_HTU = "exact_dpop_htu"
    """A DPoP proof whose ``htu`` carries a query or a fragment is refused (RFC 9449
    §4.3: htu matches the request URI "ignoring any query and fragment parts")."""
    CASE_SENSITIVE_AUTH_SCHEME = "case_sensitive_auth_scheme"
    """The ``Authorization`` scheme is matched as written, ``DPoP`` or ``Bearer``
    only (RFC 9110 §11.1: the scheme is a case-insensitive token)."""
    IGNORE_KEY_ATTESTATION_SIGNATURE = "ignore_key_attestation_signature"
    """An ``attestation`` proof's keys are taken without checking who signed it
    (OpenID4VCI 1.0 Appendix D, HAIP 1.0 §4.5.1)."""
    BEARER_IN_QUERY = "bearer_in_query"
    """An access token sent as the ``access_token`` URL query parameter is honoured like
    one in the ``Authorization`` header (RFC 6750 §2.3: that method SHOULD NOT be used,
    the token ends up in logs)."""
    PKCE_OPTIONAL = "pkce_optional"
    """A pushed authorization request without ``code_challenge`` is accepted (FAPI 2.0
    §5.3.2.2: shall require PKCE with S256)."""
    PLAIN_PKCE = "plain_pkce"
    """A ``plain`` PKCE challenge is accepted (FAPI 2.0 §5.3.2.2: S256 only)."""
    SKIP_CODE_VERIFIER = "skip_code_verifier"
    """The token endpoint does not check ``code_verifier`` (RFC 7636 §4.6)."""
    REUSABLE_AUTHORIZATION_CODE = "reusable_authorization_code"
    """An authorization code can be redeemed more than once (RFC 6749 §4.1.2)."""
    CODE_FOR_ANY_CLIENT = "code_for_any_client"
    """An authorization code is redeemed for whatever ``client_id`` the token request
    names (RFC 6749 §4.1.3)."""
    REUSABLE_REQUEST_URI = "reusable_request_uri"
    """A pushed request's ``request_uri`` survives the login it served (RFC 9126 §7.3)."""
    REQUEST_URI_FOR_ANY_CLIENT = "request_uri_for_any_client"
    """The authorization endpoint serves a ``request_uri`` to a ``client_id`` other than
    the one that pushed it (RFC 9126 §4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerBehaviour:
    check_nonce: bool = True
    check_proof_aud: bool = True
    check_tx_code: bool = True
    single_use_codes: bool = True
    sign_with_published_key: bool = True
    random_status_index: bool = True
    bind_holder: bool = True
    vct_suffix: str = ""
    no_store: bool = True
    fixed_c_nonce: str | None = None
    """The one ``c_nonce`` handed out and accepted, instead of fresh single-use ones."""
    announce_nonce_endpoint: bool = True
    ignore_unknown_parameters: bool = True
    check_credential_identifier: bool = True
    mdoc_bind_device_key: bool = True
    mdoc_expired: bool = False
    check_client_attestation: bool = True
    refuse_dpop_token_as_bearer: bool = True
    remember_dpop_proofs: bool = True
    require_dpop_proof: bool = True
    check_dpop_htm_htu: bool = True
    check_dpop_ath: bool = True
    check_key_attestation_signature: bool = True
    check_client_attestation_pop_aud: bool = True
    check_client_attestation_exp: bool = True
    auth_scheme_any_case: bool = True
    htu_ignores_query: bool = True
    check_dpop_proof: bool = True
    check_dpop_nonce_issued: bool = True
    refuse_unsupported_encryption: bool = True
    token_in_query: bool = False
    """Whether an ``access_token`` query parameter stands for the Authorization header."""

    pkce_required: bool = True
    s256_only: bool = True
    check_code_verifier: bool = True
    single_use_authorization_codes: bool = True
    bind_code_to_client: bool = True
    single_use_request_uri: bool = True
    bind_request_uri_to_client: bool = True

    def pushed_form(self, form: Mapping[str, str]) -> dict[str, str]:
        """A pushed authorization request as the issuer reads it: as sent, or (quirk)
        with no PKCE, or a ``plain`` one, made into what the core accepts."""
        read = dict(form)
        if not self.pkce_required and not read.get("code_challenge"):
            # Nobody holds a verifier for this challenge: the code can never be redeemed.
            read["code_challenge"] = _s256(secrets.token_urlsafe(32))
            read["code_challenge_method"] = "S256"
        if not self.s256_only and read.get("code_challenge_method") == "plain":
            read["code_challenge"] = _s256(read.get("code_challenge", ""))
            read["code_challenge_method"] = "S256"
        return read

    def screened(self, body: Mapping[str, Any], *, authorized: Sequence[str]) -> dict[str, Any]:
        """The credential request as the issuer reads it: as sent, but for a quirk."""
        read = dict(body)
        if not self.ignore_unknown_parameters:
            unknown = sorted(set(read) - _KNOWN_REQUEST_PARAMETERS)
            if unknown:
                raise PasserelleError(
                    Reason.OID4VCI_CREDENTIAL_REQUEST_INVALID,
                    f"unknown parameters {unknown}",
                    wire_error="invalid_credential_request",
                )
        if not self.check_credential_identifier and "credential_identifier" in read and authorized:
            read.pop("credential_identifier")
            read["credential_configuration_id"] = authorized[0]
        return read


class ForgetfulReplayRegistry:
    """The ``accept_replayed_dpop_proof`` quirk's registry: it remembers nothing."""

    def register(self, *, scope: str, jti: str, expires_at: datetime) -> bool:
        return True


def unverified_claims(token: str) -> JsonObject:
    """The claims of a JWT read without its signature, for a quirk that bends a rule;
    none where the JWT cannot be read (the core then reports it for what it is)."""
    try:
        return decode_unverified_jws(token).payload_json()
    except PasserelleError:
        return {}


def unverified_attestation(attestation: str) -> tuple[list[JsonObject], object]:
    """The ``ignore_key_attestation_signature`` quirk's reading of a key attestation:
    its ``attested_keys`` and its ``nonce``, signature NOT checked (the rest of the
    issuer's rules, the c_nonce and the batch size, still apply to what it reads)."""
    claims = unverified_claims(attestation)
    keys = claims.get("attested_keys")
    jwks = [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []
    return jwks, claims.get("nonce")


def behaviour_for(quirks: Collection[IssuerQuirk]) -> IssuerBehaviour:
    q = set(quirks)
    return IssuerBehaviour(
        check_nonce=IssuerQuirk.ACCEPT_ANY_NONCE not in q,
        check_proof_aud=IssuerQuirk.IGNORE_PROOF_AUD not in q,
        check_tx_code=IssuerQuirk.IGNORE_TX_CODE not in q,
        single_use_codes=IssuerQuirk.REUSABLE_PRE_AUTHORIZED_CODE not in q,
        sign_with_published_key=IssuerQuirk.SIGN_WITH_UNLISTED_KEY not in q,
        random_status_index=IssuerQuirk.REUSE_STATUS_INDEX not in q,
        bind_holder=IssuerQuirk.OMIT_CNF not in q,
        vct_suffix=":wrong" if IssuerQuirk.WRONG_VCT in q else "",
        no_store=IssuerQuirk.NO_STORE_MISSING not in q,
        fixed_c_nonce="c-nonce-that-never-changes" if IssuerQuirk.CONSTANT_C_NONCE in q else None,
        announce_nonce_endpoint=IssuerQuirk.HIDDEN_NONCE_ENDPOINT not in q,
        ignore_unknown_parameters=IssuerQuirk.REFUSE_UNKNOWN_PARAMETERS not in q,
        check_credential_identifier=IssuerQuirk.IGNORE_CREDENTIAL_IDENTIFIER not in q,
        mdoc_bind_device_key=IssuerQuirk.MDOC_FOREIGN_DEVICE_KEY not in q,
        mdoc_expired=IssuerQuirk.MDOC_EXPIRED in q,
        check_client_attestation=IssuerQuirk.SKIP_CLIENT_ATTESTATION not in q,
        refuse_dpop_token_as_bearer=IssuerQuirk.ACCEPT_DPOP_TOKEN_AS_BEARER not in q,
        remember_dpop_proofs=IssuerQuirk.ACCEPT_REPLAYED_DPOP_PROOF not in q,
        require_dpop_proof=IssuerQuirk.ACCEPT_DPOP_SCHEME_WITHOUT_PROOF not in q,
        check_dpop_htm_htu=IssuerQuirk.IGNORE_DPOP_HTM_HTU not in q,
        check_dpop_ath=IssuerQuirk.IGNORE_DPOP_ATH not in q,
        check_key_attestation_signature=IssuerQuirk.IGNORE_KEY_ATTESTATION_SIGNATURE not in q,
        check_client_attestation_pop_aud=IssuerQuirk.IGNORE_CLIENT_ATTESTATION_POP_AUD not in q,
        check_client_attestation_exp=IssuerQuirk.ACCEPT_EXPIRED_CLIENT_ATTESTATION not in q,
        auth_scheme_any_case=IssuerQuirk.CASE_SENSITIVE_AUTH_SCHEME not in q,
        htu_ignores_query=IssuerQuirk.EXACT_DPOP_HTU not in q,
        check_dpop_proof=IssuerQuirk.UNVERIFIED_DPOP_PROOF not in q,
        check_dpop_nonce_issued=IssuerQuirk.ACCEPT_UNISSUED_DPOP_NONCE not in q,
        refuse_unsupported_encryption=(
            IssuerQuirk.PLAIN_RESPONSE_FOR_UNSUPPORTED_ENCRYPTION not in q
        ),
        token_in_query=IssuerQuirk.BEARER_IN_QUERY in q,
        pkce_required=IssuerQuirk.PKCE_OPTIONAL not in q,
        s256_only=IssuerQuirk.PLAIN_PKCE not in q,
        check_code_verifier=IssuerQuirk.SKIP_CODE_VERIFIER not in q,
        single_use_authorization_codes=IssuerQuirk.REUSABLE_AUTHORIZATION_CODE not in q,
        bind_code_to_client=IssuerQuirk.CODE_FOR_ANY_CLIENT not in q,
        single_use_request_uri=IssuerQuirk.REUSABLE_REQUEST_URI not in q,
        bind_request_uri_to_client=IssuerQuirk.REQUEST_URI_FOR_ANY_CLIENT not in q,
    )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
