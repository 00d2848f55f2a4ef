"""JOSE: JWKs, compact JWS with algorithm allow-lists, JWT time claims."""

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
