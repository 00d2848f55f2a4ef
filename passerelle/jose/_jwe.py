"""Compact JWE with ``ECDH-ES`` direct key agreement on P-256, the one JWE the core
speaks (HAIP 1.0: encrypted OpenID4VP responses; OpenID4VCI 1.0 §10: encrypted
credential requests and responses).

The JWE work is joserfc's; nothing of joserfc crosses this module's edge. Every header
is checked before joserfc sees it. Failures go through the caller's ``failed``, so each
protocol keeps its own reason and wire error code.

Randomness: joserfc draws the ephemeral key and the IV from the OS CSPRNG and offers
no hook to inject them, so :func:`encrypt_ecdh_es` is the one place in the core that
does not take a :class:`~passerelle.RandomSource`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from .._errors import PasserelleError
from .._json import MAX_INPUT_BYTES, JsonObject, JsonValue, b64url_decode, parse_json_object
from ._jwk import load_public_jwk

__all__ = ["ECDH_ES", "JWE_ENCS", "decrypt_ecdh_es", "encrypt_ecdh_es"]

ECDH_ES = "ECDH-ES"
JWE_ENCS: tuple[str, ...] = ("A128GCM", "A256GCM")
_ZIPS: tuple[str, ...] = ("DEF",)


def encrypt_ecdh_es(
    payload: JsonObject,
    recipient: ec.EllipticCurvePublicKey,
    *,
    header: Mapping[str, JsonValue],
    failed: Callable[[str], PasserelleError],
) -> str:
    """``payload`` as compact JSON, encrypted to ``recipient``. ``header`` carries
    ``alg`` (``ECDH-ES``), ``enc`` and whatever else the protocol wants in it (``kid``,
    ``typ``, ``zip``)."""
    alg, enc, zip_alg = header.get("alg"), header.get("enc"), header.get("zip")
    if alg != ECDH_ES or enc not in JWE_ENCS or (zip_alg is not None and zip_alg not in _ZIPS):
        raise failed(f"cannot encrypt with alg {alg!r}, enc {enc!r}, zip {zip_alg!r}")
    plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    algorithms = [ECDH_ES, str(enc)] + ([str(zip_alg)] if zip_alg is not None else [])
    try:
        return jwe.encrypt_compact(
            dict(header), plaintext, ECKey.import_key(recipient), algorithms=algorithms
        )
    except (JoseError, ValueError, TypeError) as exc:
        raise failed(f"cannot encrypt to this key: {exc}") from exc


def decrypt_ecdh_es(
    token: str,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    allowed_encs: Collection[str],
    allowed_zips: Collection[str] = (),
    expected_kid: str | None,
    failed: Callable[[str], PasserelleError],
    what: str = "message",
) -> JsonObject:
    """Decrypt a compact JWE to its JSON payload, or raise ``failed(detail)``.

    The header is checked before any cryptography: ``alg`` ``ECDH-ES`` only, ``enc`` in
    ``allowed_encs``, ``zip`` absent or in ``allowed_zips`` (joserfc bounds what it
    inflates), ``kid`` equal to ``expected_kid`` when given, no ``crit``, and an ``epk``
    that is a public P-256 key.
    """
    if not isinstance(token, str) or len(token) > MAX_INPUT_BYTES:
        raise failed(f"the {what} is not a JWE of bounded size")
    parts = token.split(".")
    if len(parts) != 5:
        raise failed(f"the {what} is not a compact JWE of five parts")
    try:
        header = parse_json_object(b64url_decode(parts[0], what="JWE header"), what="JWE header")
    except PasserelleError as exc:
        raise failed(exc.detail) from exc
    alg, enc, zip_alg = header.get("alg"), header.get("enc"), header.get("zip")
    if alg != ECDH_ES:
        raise failed(f"JWE alg {alg!r} is not allowed")
    if not isinstance(enc, str) or enc not in allowed_encs or enc not in JWE_ENCS:
        raise failed(f"JWE enc {enc!r} is not allowed")
    if zip_alg is not None and (
        not isinstance(zip_alg, str) or zip_alg not in allowed_zips or zip_alg not in _ZIPS
    ):
        raise failed(f"JWE zip {zip_alg!r} was not agreed")
    if expected_kid is not None and header.get("kid") != expected_kid:
        raise failed(f"JWE kid {header.get('kid')!r} is not the expected key")
    if "crit" in header:
        raise failed("JWE crit is not accepted")
    if parts[1]:
        # RFC 7518 §4.6: with direct key agreement the JWE Encrypted Key is empty.
        raise failed("ECDH-ES direct key agreement has an empty encrypted key")
    epk = header.get("epk")
    if not isinstance(epk, dict) or epk.get("crv") != "P-256":
        raise failed("JWE epk is not a public P-256 key")
    try:
        load_public_jwk(epk)  # refuses private material too
    except PasserelleError as exc:
        raise failed(f"JWE epk: {exc.detail}") from exc
    algorithms = [ECDH_ES, enc] + ([zip_alg] if isinstance(zip_alg, str) else [])
    try:
        plaintext = jwe.decrypt_compact(
            token, ECKey.import_key(private_key), algorithms=algorithms
        ).plaintext
    except (JoseError, ValueError, TypeError) as exc:
        raise failed(f"the {what} does not decrypt with this key") from exc
    if plaintext is None:
        raise failed("the JWE has no plaintext")
    try:
        return parse_json_object(plaintext, what=f"decrypted {what}")
    except PasserelleError as exc:
        raise failed(exc.detail) from exc
