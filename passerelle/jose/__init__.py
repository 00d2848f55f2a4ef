"""JOSE: JWKs, compact JWS with algorithm allow-lists, JWT time claims, ECDH-ES JWE."""

from ._jwe import ECDH_ES, JWE_ENCS, decrypt_ecdh_es, encrypt_ecdh_es
from ._jwk import (
    ALGORITHMS,
    Algorithm,
    PrivateKey,
    PublicKey,
    algorithm_for_key,
    jwk_thumbprint,
    load_private_jwk,
    load_public_jwk,
    private_jwk,
    public_jwk,
)
from ._jws import (
    KeySigner,
    Signer,
    UnverifiedJws,
    VerifiedJws,
    decode_unverified_jws,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ._jwt import check_jwt_times, epoch, numeric_date

__all__ = [
    "ALGORITHMS",
    "ECDH_ES",
    "JWE_ENCS",
    "Algorithm",
    "KeySigner",
    "PrivateKey",
    "PublicKey",
    "Signer",
    "UnverifiedJws",
    "VerifiedJws",
    "algorithm_for_key",
    "check_jwt_times",
    "decode_unverified_jws",
    "decrypt_ecdh_es",
    "encrypt_ecdh_es",
    "epoch",
    "jwk_thumbprint",
    "load_private_jwk",
    "load_public_jwk",
    "numeric_date",
    "private_jwk",
    "public_jwk",
    "sign_jws",
    "typ_matches",
    "verify_jws",
]
