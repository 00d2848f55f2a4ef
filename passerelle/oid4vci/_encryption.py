"""Encrypted Credential Responses and Requests (OpenID4VCI 1.0 §8.2, §8.3, §10, §12.2.4).

The wallet asks for an encrypted response with ``credential_response_encryption``
(``jwk``, ``enc``, optional ``zip``) in its Credential Request; the issuer offers it in
its metadata (``alg_values_supported``, ``enc_values_supported``,
``zip_values_supported``, ``encryption_required``). §10: "The contents of the message
MUST be encoded as a JWT", "The JWE alg algorithm used MUST be equal to the alg value
of the chosen JWK", and "If the selected public key contains a kid parameter, the JWE
MUST include the same value in the kid JWE Header Parameter".

We speak ``ECDH-ES`` on P-256 with ``A128GCM`` or ``A256GCM`` and ``DEF`` compression
(joserfc bounds what it inflates). Anything else a wallet asks for is
``invalid_encryption_parameters`` (§8.3.1.2: "the encryption parameters in the
Credential Request are either invalid or missing").

§8.2 adds: "Credential Request encryption MUST be used if the
credential_response_encryption parameter is included, to prevent it being substituted
by an attacker." Whether to enforce that is the caller's explicit choice
(``require_encrypted_request``), since peers that predate 1.0 send the object in
plain requests; :func:`decrypt_credential_request` is here for issuers that publish
``credential_request_encryption``.

The JWE itself is :mod:`passerelle.jose`'s (``encrypt_ecdh_es``, ``decrypt_ecdh_es``),
shared with OpenID4VP's encrypted responses; it draws the ephemeral key and IV from the
OS, not from a :class:`~passerelle.RandomSource`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from .._errors import Fault, PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, b64url_decode, parse_json_object
from ..jose import (
    ECDH_ES,
    JWE_ENCS,
    decrypt_ecdh_es,
    encrypt_ecdh_es,
    load_public_jwk,
    public_jwk,
)
from ._errors import oid4vci_error

__all__ = [
    "SUPPORTED_ENCRYPTION_ALGS",
    "SUPPORTED_ENCRYPTION_ENCS",
    "SUPPORTED_ENCRYPTION_ZIPS",
    "CredentialResponseEncryption",
    "build_credential_response_encryption_metadata",
    "create_credential_response_encryption",
    "decrypt_credential_request",
    "decrypt_credential_response",
    "encrypt_credential_request",
    "encrypt_credential_response",
    "parse_credential_response_encryption",
]

SUPPORTED_ENCRYPTION_ALGS: tuple[str, ...] = (ECDH_ES,)
SUPPORTED_ENCRYPTION_ENCS: tuple[str, ...] = JWE_ENCS
SUPPORTED_ENCRYPTION_ZIPS: tuple[str, ...] = ("DEF",)


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialResponseEncryption:
    """The wallet's ``credential_response_encryption``, checked against our metadata."""

    jwk: JsonObject
    alg: str
    enc: str
    zip: str | None = None

    @property
    def kid(self) -> str | None:
        kid = self.jwk.get("kid")
        return kid if isinstance(kid, str) else None


def _invalid(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID, detail)


def _values(raw: JsonValue, supported: Sequence[str], *, what: str) -> list[JsonValue]:
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        raise local_error(Reason.OID4VCI_METADATA_INVALID, f"{what} is a non-empty array")
    values = [v for v in raw if isinstance(v, str)]
    unknown = [v for v in values if v not in supported]
    if len(values) != len(raw) or unknown:
        raise local_error(Reason.OID4VCI_METADATA_INVALID, f"{what} holds unsupported {unknown}")
    return list(values)


def build_credential_response_encryption_metadata(
    *,
    alg_values: Sequence[str] = SUPPORTED_ENCRYPTION_ALGS,
    enc_values: Sequence[str] = SUPPORTED_ENCRYPTION_ENCS,
    zip_values: Sequence[str] | None = None,
    encryption_required: bool,
) -> JsonObject:
    """The §12.2.4 ``credential_response_encryption`` metadata object; only values this
    module can honour may be offered."""
    doc: JsonObject = {
        "alg_values_supported": _values(
            list(alg_values), SUPPORTED_ENCRYPTION_ALGS, what="alg_values_supported"
        ),
        "enc_values_supported": _values(
            list(enc_values), SUPPORTED_ENCRYPTION_ENCS, what="enc_values_supported"
        ),
        "encryption_required": encryption_required,
    }
    if zip_values is not None:
        doc["zip_values_supported"] = _values(
            list(zip_values), SUPPORTED_ENCRYPTION_ZIPS, what="zip_values_supported"
        )
    return doc


def _offered(metadata: Mapping[str, JsonValue], name: str) -> list[str]:
    raw = metadata.get(name)
    return [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []


def parse_credential_response_encryption(
    body: Mapping[str, JsonValue],
    *,
    metadata: Mapping[str, JsonValue] | None,
    request_was_encrypted: bool,
    require_encrypted_request: bool,
) -> CredentialResponseEncryption | None:
    """Read ``credential_response_encryption`` from a Credential (or Deferred) Request.

    ``metadata`` is the issuer's own ``credential_response_encryption`` metadata
    object, or None when it offers no encryption. Returns None when the request does
    not ask for encryption and the issuer does not require it.
    """
    raw = body.get("credential_response_encryption")
    if raw is None:
        if metadata is not None and metadata.get("encryption_required") is True:
            # §8.3.1.2: invalid_encryption_parameters also "indicates that the Credential
            # Issuer requires the Credential Response to be sent encrypted, but the
            # Credential Request does not contain the necessary encryption parameters".
            raise oid4vci_error(
                Reason.OID4VCI_ENCRYPTION_REQUIRED,
                "this issuer requires encrypted credential responses",
            )
        return None
    if metadata is None:
        raise _invalid("this issuer does not offer credential response encryption")
    if not isinstance(raw, dict):
        raise _invalid("credential_response_encryption is not an object")
    if require_encrypted_request and not request_was_encrypted:
        raise _invalid("credential_response_encryption must come in an encrypted request (§8.2)")
    jwk = raw.get("jwk")
    if not isinstance(jwk, dict):
        raise _invalid("credential_response_encryption.jwk is not a JWK")
    try:
        key = load_public_jwk(jwk)
    except PasserelleError as exc:
        raise _invalid(f"credential_response_encryption.jwk: {exc.detail}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _invalid("only P-256 keys are supported for ECDH-ES")
    # §10: "The alg parameter MUST be present" in the JWK. Drafts before 1.0 sent alg
    # beside the jwk; it is read when the JWK has none, and must agree when both do.
    jwk_alg, legacy_alg = jwk.get("alg"), raw.get("alg")
    alg = jwk_alg if jwk_alg is not None else legacy_alg
    if legacy_alg is not None and jwk_alg is not None and legacy_alg != jwk_alg:
        raise _invalid("alg beside the jwk differs from the jwk's own alg")
    if not isinstance(alg, str):
        raise _invalid("the encryption jwk has no alg")
    if (
        alg not in _offered(metadata, "alg_values_supported")
        or alg not in SUPPORTED_ENCRYPTION_ALGS
    ):
        raise _invalid(f"alg {alg!r} is not supported for credential responses")
    enc = raw.get("enc")
    if not isinstance(enc, str) or enc not in _offered(metadata, "enc_values_supported"):
        raise _invalid(f"enc {enc!r} is not supported for credential responses")
    if enc not in SUPPORTED_ENCRYPTION_ENCS:
        raise _invalid(f"enc {enc!r} is not supported for credential responses")
    zip_alg = raw.get("zip")
    if zip_alg is not None and (
        not isinstance(zip_alg, str)
        # §12.2.4: zip_values_supported "If absent then compression is not supported."
        or zip_alg not in _offered(metadata, "zip_values_supported")
        or zip_alg not in SUPPORTED_ENCRYPTION_ZIPS
    ):
        raise _invalid(f"zip {zip_alg!r} is not supported for credential responses")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _invalid("the encryption jwk kid is not a string")
    clean: JsonObject = {**public_jwk(key), "alg": alg}
    if kid is not None:
        clean["kid"] = kid
    return CredentialResponseEncryption(jwk=clean, alg=alg, enc=enc, zip=zip_alg)


def create_credential_response_encryption(
    key: ec.EllipticCurvePublicKey, *, enc: str, kid: str | None = None, zip_alg: str | None = None
) -> JsonObject:
    """The wallet's ``credential_response_encryption`` request member for ``key``."""
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise local_error(Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID, "use a P-256 key")
    if enc not in SUPPORTED_ENCRYPTION_ENCS or (
        zip_alg is not None and zip_alg not in SUPPORTED_ENCRYPTION_ZIPS
    ):
        raise local_error(Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID, "unsupported enc or zip")
    jwk: JsonObject = {**public_jwk(key), "alg": "ECDH-ES", "use": "enc"}
    if kid is not None:
        jwk["kid"] = kid
    member: JsonObject = {"jwk": jwk, "enc": enc}
    if zip_alg is not None:
        member["zip"] = zip_alg
    return member


def _encrypt(
    payload: JsonObject, *, jwk: JsonObject, alg: str, enc: str, zip_alg: str | None
) -> str:
    header: JsonObject = {"alg": alg, "enc": enc, "typ": "JWT"}
    kid = jwk.get("kid")
    if isinstance(kid, str):
        header["kid"] = kid
    if zip_alg is not None:
        header["zip"] = zip_alg
    public = load_public_jwk(jwk)
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise local_error(Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID, "not an EC key")
    return encrypt_ecdh_es(
        payload,
        public,
        header=header,
        failed=lambda detail: local_error(Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID, detail),
    )


def encrypt_credential_response(payload: JsonObject, params: CredentialResponseEncryption) -> str:
    """The issuer's encrypted Credential Response (§8.3, §10): a JWE whose plaintext is
    the JSON response; the service sends it as ``application/jwt``."""
    return _encrypt(payload, jwk=params.jwk, alg=params.alg, enc=params.enc, zip_alg=params.zip)


def _decrypt(
    token: str,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    allowed_encs: Collection[str],
    allowed_zips: Collection[str],
    expected_kid: str | None,
    reason: Reason,
    wire: str,
) -> JsonObject:
    return decrypt_ecdh_es(
        token,
        private_key=private_key,
        allowed_encs=allowed_encs,
        allowed_zips=allowed_zips,
        expected_kid=expected_kid,
        failed=lambda detail: PasserelleError(reason, detail, wire_error=wire),
    )


def decrypt_credential_response(
    token: str,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    requested: CredentialResponseEncryption,
) -> JsonObject:
    """The wallet's reading of an encrypted Credential Response: the header must carry
    exactly the ``alg``, ``enc``, ``zip`` and ``kid`` the wallet asked for (``alg`` is
    ``ECDH-ES``, the only one :func:`parse_credential_response_encryption` admits)."""
    return _decrypt(
        token,
        private_key=private_key,
        allowed_encs=(requested.enc,),
        allowed_zips=(requested.zip,) if requested.zip else (),
        expected_kid=requested.kid,
        reason=Reason.OID4VCI_RESPONSE_DECRYPTION_FAILED,
        wire="invalid_request",
    )


def encrypt_credential_request(
    payload: JsonObject, *, issuer_jwks: JsonObject, enc: str, zip_alg: str | None = None
) -> str:
    """The wallet's encrypted Credential Request (§8.2, §10) to the first P-256
    ``ECDH-ES`` key of the issuer's ``credential_request_encryption.jwks``."""
    keys = issuer_jwks.get("keys") if isinstance(issuer_jwks, dict) else None
    for jwk in keys if isinstance(keys, list) else []:
        if (
            isinstance(jwk, dict)
            and jwk.get("kty") == "EC"
            and jwk.get("crv") == "P-256"
            and jwk.get("alg") == "ECDH-ES"
            and isinstance(jwk.get("kid"), str)
        ):
            return _encrypt(payload, jwk=jwk, alg="ECDH-ES", enc=enc, zip_alg=zip_alg)
    raise PasserelleError(
        Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID,
        "the issuer's jwks holds no P-256 ECDH-ES key with a kid",
        fault=Fault.PEER,
        wire_error="invalid_encryption_parameters",
    )


def decrypt_credential_request(
    token: str,
    *,
    private_keys: Mapping[str, ec.EllipticCurvePrivateKey],
    enc_values: Collection[str],
    zip_values: Collection[str] = (),
) -> JsonObject:
    """The issuer's reading of an encrypted Credential Request: ``kid`` picks one of
    its ``credential_request_encryption`` keys; ``enc``/``zip`` must be offered ones."""
    try:
        header = parse_json_object(b64url_decode(token.split(".")[0], what="JWE header"))
    except (PasserelleError, AttributeError) as exc:
        raise _invalid("the encrypted request is not a compact JWE") from exc
    kid = header.get("kid")
    key = private_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise _invalid(f"JWE kid {kid!r} names none of the issuer's encryption keys")
    return _decrypt(
        token,
        private_key=key,
        allowed_encs=enc_values,
        allowed_zips=zip_values,
        expected_kid=kid if isinstance(kid, str) else None,
        reason=Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID,
        wire="invalid_encryption_parameters",
    )
