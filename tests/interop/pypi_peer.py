"""Interop peer: thin wrappers around the PyPI reference library ``sd-jwt`` 0.10.4.

``sd-jwt`` (import name ``sd_jwt``, github.com/openwallet-foundation-labs/sd-jwt-python)
is the implementation the SD-JWT editors wrote the examples of the specification with.
It is used here as a peer that nobody in this project wrote; the wrappers add nothing
but key conversion and argument plumbing, so that what is cross-validated is the
library's behaviour. Its known differences from RFC 9901 and the SD-JWT VC draft are
listed in ``README.md`` and pinned by ``test_peers_smoke.py``.

Every failure inside the library (whatever exception type it raises: ``ValueError``,
``KeyError``, jwcrypto errors, ...) is re-raised as :class:`PeerError`, so a
cross-validation test can say "the peer rejected it" with one ``pytest.raises``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, cast
from unittest import mock

from jwcrypto.jwk import JWK  # type: ignore[import-untyped]
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from passerelle._json import JsonObject, JsonValue

__all__ = [
    "SD_JWT_VERSION",
    "ClaimPath",
    "PeerError",
    "issue",
    "mark_disclosable",
    "present",
    "verify",
]

SD_JWT_VERSION = "0.10.4"
"""The only version these wrappers were checked against (pinned in pyproject's dev extra)."""

ClaimPath: TypeAlias = Sequence[str | int]
"""A claim path as in SD-JWT VC / DCQL: object member names and array indices."""


class PeerError(Exception):
    """The PyPI ``sd-jwt`` library refused an input (or failed on it)."""


def _jwk(jwk: Mapping[str, JsonValue], *, private: bool) -> Any:
    if private and "d" not in jwk:
        raise PeerError("a private JWK (member 'd') is needed here")
    members = dict(jwk) if private else {k: v for k, v in jwk.items() if k != "d"}
    return JWK.from_json(json.dumps(members))


def _path_exists(value: JsonValue, path: ClaimPath) -> bool:
    for step in path:
        if isinstance(value, dict) and isinstance(step, str) and step in value:
            value = value[step]
            continue
        if isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
            continue
        return False
    return True


def _mark(
    value: JsonValue, prefix: tuple[str | int, ...], wanted: set[tuple[str | int, ...]]
) -> Any:
    if isinstance(value, dict):
        marked: dict[Any, Any] = {}
        for name, member in value.items():
            path = (*prefix, name)
            marked[SDObj(name) if path in wanted else name] = _mark(member, path, wanted)
        return marked
    if isinstance(value, list):
        items: list[Any] = []
        for index, element in enumerate(value):
            path = (*prefix, index)
            inner = _mark(element, path, wanted)
            items.append(SDObj(inner) if path in wanted else inner)
        return items
    return value


def mark_disclosable(claims: JsonObject, disclosable: Iterable[ClaimPath]) -> Any:
    """Turn claims plus claim paths into the library's ``SDObj`` markup.

    An object member becomes selectively disclosable by wrapping its *name* in
    ``SDObj``, an array element by wrapping its *value*. Nested paths (``("address",)``
    and ``("address", "street")``) give recursive disclosures. A path that does not
    exist is an error rather than a silently always-disclosed claim.
    """
    wanted: set[tuple[str | int, ...]] = set()
    for path in disclosable:
        key = tuple(path)
        if not key or not _path_exists(claims, key):
            raise PeerError(f"claim path {list(key)!r} does not exist in the payload")
        wanted.add(key)
    return _mark(claims, (), wanted)


def issue(
    payload: JsonObject,
    disclosable: Iterable[ClaimPath],
    issuer_private_jwk: Mapping[str, JsonValue],
    holder_public_jwk: Mapping[str, JsonValue] | None = None,
    *,
    typ: str = "dc+sd-jwt",
    extra_header: Mapping[str, JsonValue] | None = None,
    decoys: bool = False,
) -> str:
    """Issue a compact SD-JWT (``<jwt>~<d1>~...~``) signed ES256 with the issuer key.

    The library itself defaults ``typ`` to ``example+sd-jwt`` (or the environment
    variable ``SD_JWT_HEADER`` read at import time), so ``typ`` is always set here.
    With ``holder_public_jwk`` the library writes ``cnf: {"jwk": ...}``, replacing any
    ``cnf`` in ``payload``. With ``decoys`` it adds 2 to 5 decoy digests to every object.
    """
    header: dict[str, Any] = {"typ": typ, **(extra_header or {})}
    try:
        issuer = SDJWTIssuer(
            mark_disclosable(payload, disclosable),
            _jwk(issuer_private_jwk, private=True),
            holder_key=None
            if holder_public_jwk is None
            else _jwk(holder_public_jwk, private=False),
            sign_alg="ES256",
            add_decoy_claims=decoys,
            serialization_format="compact",
            extra_header_parameters=header,
        )
    except PeerError:
        raise
    except Exception as exc:
        raise PeerError(f"{type(exc).__name__}: {exc}") from exc
    return cast(str, issuer.sd_jwt_issuance)


def verify(
    token: str,
    issuer_public_jwk: Mapping[str, JsonValue],
    *,
    expected_aud: str | None,
    expected_nonce: str | None,
) -> JsonObject:
    """Verify a compact SD-JWT and return the disclosed claims as the library unpacks them.

    With ``expected_aud`` and ``expected_nonce`` (both or neither, the library insists)
    the KB-JWT is required and checked: signature with ``cnf.jwk`` (ES256 only),
    ``typ`` ``kb+jwt``, ``aud``, ``nonce`` and ``sd_hash``. With neither, a KB-JWT that
    is present is ignored. The library never checks ``exp``/``nbf``/``iat`` of either
    JWT nor the issuer-signed JWT's ``typ``; callers that care assert on the token.
    """
    issuer_key = _jwk(issuer_public_jwk, private=False)
    try:
        verifier = SDJWTVerifier(
            token,
            lambda _iss, _header: issuer_key,
            expected_aud=expected_aud,
            expected_nonce=expected_nonce,
            serialization_format="compact",
        )
        claims = verifier.get_verified_payload()
    except Exception as exc:
        raise PeerError(f"{type(exc).__name__}: {exc}") from exc
    return cast(JsonObject, claims)


def present(
    token: str,
    claims_to_disclose: Mapping[str, Any],
    holder_private_jwk: Mapping[str, JsonValue] | None,
    *,
    nonce: str | None = None,
    aud: str | None = None,
    iat: int | None = None,
) -> str:
    """Make a presentation, with a KB-JWT when a holder key, nonce and aud are all given.

    ``claims_to_disclose`` is the library's own format: ``{"given_name": True,
    "address": {"street": True}, "nationalities": [False, True]}`` (arrays by
    position). The library stamps the KB-JWT ``iat`` from ``time.time()``; ``iat``
    pins it for reproducible tests by patching that one call.
    """
    if holder_private_jwk is not None and (nonce is None or aud is None):
        # The library would silently skip the KB-JWT; a test asking for one wants to know.
        raise PeerError("a KB-JWT needs nonce and aud")
    holder_key = None if holder_private_jwk is None else _jwk(holder_private_jwk, private=True)
    try:
        holder = SDJWTHolder(token, serialization_format="compact")
        if iat is None:
            holder.create_presentation(claims_to_disclose, nonce, aud, holder_key, "ES256")
        else:
            with mock.patch("sd_jwt.holder.time", return_value=iat):
                holder.create_presentation(claims_to_disclose, nonce, aud, holder_key, "ES256")
    except Exception as exc:
        raise PeerError(f"{type(exc).__name__}: {exc}") from exc
    return cast(str, holder.sd_jwt_presentation)
