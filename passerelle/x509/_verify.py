"""Validating an ``x5c`` chain (RFC 7515 §4.1.6) against trust anchors.

Path building and RFC 5280 path validation are cryptography's
``x509.verification``; nothing here re-implements them. What this module adds:

- extension policies for document signers, not Web-PKI servers: the default
  end-entity policy demands a SAN and the ``clientAuth``/``serverAuth`` EKU, which
  credential, trust-list and status-list signers do not carry;
- checks made *before* the library, each with its own reason, because the library
  reports every failure as one ``VerificationError``: parse errors, a self-signed
  leaf, a leaf that is a CA or may not sign, a key outside our JOSE algorithms,
  and the validity of every certificate in ``x5c`` against ``now``.

Choices worth knowing:

- A self-signed leaf (it verifies under its own key) is always refused, even when a
  caller put it among the anchors. A leaf issued by someone else may itself be an
  anchor (direct trust, as a trust-list entry naming the signing certificate does).
- The library refuses Ed25519 signatures on certificates (its algorithm set is the
  Web PKI one and cannot be widened). An Ed25519 *leaf key* under an ECDSA CA
  verifies; a chain whose CA signs with Ed25519 fails as ``x509.chain_invalid``.
- An anchor past its own validity fails the path (``x509.chain_invalid``): the
  library checks anchors too, and which anchor would have served is not known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonValue
from ..jose import PublicKey
from ._build import PARSE_ERRORS, decode_unverified_x5c
from ._client_id import check_x509_san_dns

__all__ = [
    "TrustAnchors",
    "VerifiedChain",
    "check_validity",
    "find_extension",
    "validate_path",
    "verify_certificate_chain",
    "verify_haip_x5c",
    "verify_x5c_chain",
]

# Beyond the leaf and max_chain_depth intermediates, x5c may still carry the root
# (RFC 7515 allows it; HAIP forbids it, a profile rule: verify_haip_x5c).
_EXTRA_MEMBERS = 2
_MAX_DEPTH_LIMIT = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedChain:
    """A path from ``leaf`` to ``anchor`` that validated at the given time."""

    leaf: x509.Certificate
    #: Leaf first, anchor last, as built by the verifier (not as sent).
    chain: tuple[x509.Certificate, ...]
    public_key: PublicKey
    anchor: x509.Certificate
    #: The RFC 4514 subject of each certificate of ``chain``, for traces and evidence.
    subjects: tuple[str, ...] = ()


class TrustAnchors(Sequence[x509.Certificate]):
    """Trust anchors with the path validator's store built once.

    A plain sequence of anchors is turned into the library's store on every
    validation, which costs time in proportion to the number of anchors; a verifier
    that validates many chains against the same anchors (one trust snapshot) builds
    this once. Immutable; it is a sequence of its certificates wherever one is expected.

    It also remembers the ``x5c`` chains it validated (:func:`verify_x5c_chain`): the
    outcome depends only on the chain, these anchors and the time, so a chain seen
    before is answered again without path building while ``now`` stays inside the
    validity of every certificate involved. Only successes are remembered, at most
    :attr:`MEMO_SIZE` of them; a failure is always worked out again.
    """

    __slots__ = ("_certificates", "_memo", "_store")
    MEMO_SIZE = 4096

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self._certificates = tuple(certificates)
        self._store = Store(list(self._certificates)) if self._certificates else None
        self._memo: dict[tuple[tuple[str, ...], int], _Remembered] = {}

    def _recall(self, key: tuple[tuple[str, ...], int], now: datetime) -> VerifiedChain | None:
        remembered = self._memo.get(key)
        if remembered is None or not remembered.not_before <= now <= remembered.not_after:
            return None
        return remembered.chain

    def _remember(
        self,
        key: tuple[tuple[str, ...], int],
        chain: VerifiedChain,
        sent: Sequence[x509.Certificate],
    ) -> None:
        involved = [*sent, *chain.chain]
        if len(self._memo) >= self.MEMO_SIZE:
            self._memo.clear()  # a bound, not a policy: rebuilt as chains come back
        self._memo[key] = _Remembered(
            chain=chain,
            not_before=max(c.not_valid_before_utc for c in involved),
            not_after=min(c.not_valid_after_utc for c in involved),
        )

    @overload
    def __getitem__(self, index: int) -> x509.Certificate: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[x509.Certificate]: ...
    def __getitem__(self, index: int | slice) -> x509.Certificate | Sequence[x509.Certificate]:
        return self._certificates[index]

    def __len__(self) -> int:
        return len(self._certificates)

    def __repr__(self) -> str:
        return f"TrustAnchors({len(self._certificates)} certificates)"

    @property
    def store(self) -> Store:
        if self._store is None:
            raise local_error(Reason.X509_CHAIN_INVALID, "no trust anchors were given")
        return self._store


@dataclass(frozen=True, slots=True, kw_only=True)
class _Remembered:
    chain: VerifiedChain
    not_before: datetime
    not_after: datetime


def _ca_key_usage(_policy: Policy, _cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    # RFC 5280 §4.2.1.3: a key that signs certificates MUST be marked keyCertSign.
    if not ku.key_cert_sign:
        raise ValueError("CA certificate without keyCertSign")


def _ee_basic_constraints(
    _policy: Policy, _cert: x509.Certificate, bc: x509.BasicConstraints | None
) -> None:
    if bc is not None and bc.ca:
        raise ValueError("end-entity certificate asserts cA")


def _ee_key_usage(_policy: Policy, _cert: x509.Certificate, ku: x509.KeyUsage | None) -> None:
    if ku is not None and not ku.digital_signature:
        raise ValueError("end-entity certificate without digitalSignature")


# CA: BasicConstraints is required critical (RFC 5280 §4.2.1.9; the library itself
# checks cA and pathLenConstraint), KeyUsage required with keyCertSign. EKU on a CA
# is tolerated whatever it says: Web-PKI EKU chaining has no meaning for signers.
_CA_POLICY = (
    ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, Criticality.CRITICAL, None)
    .require_present(x509.KeyUsage, Criticality.AGNOSTIC, _ca_key_usage)
)
# End entity: no SAN or EKU demanded; not a CA; if KeyUsage is there it allows
# signing. Unknown critical extensions still fail (the library refuses them).
_EE_POLICY = (
    ExtensionPolicy.permit_all()
    .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ee_basic_constraints)
    .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _ee_key_usage)
)


def find_extension(
    cert: x509.Certificate, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType] | None:
    """The extension of ``kind`` in ``cert``, None when it has none; ``x509.malformed``
    when the extensions cannot be read (they are parsed lazily)."""
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None
    except PARSE_ERRORS as exc:
        raise PasserelleError(Reason.X509_MALFORMED, f"certificate extensions: {exc}") from exc


def _is_self_signed(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _check_leaf(leaf: x509.Certificate) -> PublicKey:
    if _is_self_signed(leaf):
        raise PasserelleError(Reason.X509_SELF_SIGNED_LEAF, "the leaf certificate is self-signed")
    bc = find_extension(leaf, x509.BasicConstraints)
    if bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca:
        raise PasserelleError(Reason.X509_KEY_USAGE, "the leaf certificate is a CA certificate")
    ku = find_extension(leaf, x509.KeyUsage)
    if ku is not None and isinstance(ku.value, x509.KeyUsage) and not ku.value.digital_signature:
        raise PasserelleError(Reason.X509_KEY_USAGE, "the leaf key may not make signatures")
    try:
        key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PasserelleError(Reason.X509_MALFORMED, "the leaf public key cannot be read") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1 | ec.SECP384R1
    ):
        return key
    raise PasserelleError(
        Reason.JWK_UNSUPPORTED, "the leaf key is not EC P-256, EC P-384 or Ed25519"
    )


def check_validity(
    certs: Sequence[x509.Certificate],
    now: datetime,
    *,
    leaf: str = "the leaf certificate",
    header: str = "x5c",
) -> None:
    """Every certificate of ``certs`` valid at ``now``, each failure with its own reason
    (the path validator reports all as one). ``leaf`` and ``header`` name the first
    certificate and the list in the details."""
    # RFC 5280 §4.1.2.5: valid from notBefore through notAfter, both inclusive.
    for index, cert in enumerate(certs):
        what = leaf if index == 0 else f"{header}[{index}]"
        if now < cert.not_valid_before_utc:
            raise PasserelleError(
                Reason.X509_NOT_YET_VALID,
                f"{what} is not valid before {cert.not_valid_before_utc.isoformat()}",
            )
        if now > cert.not_valid_after_utc:
            raise PasserelleError(
                Reason.X509_EXPIRED, f"{what} expired at {cert.not_valid_after_utc.isoformat()}"
            )


def _check_options(
    *, anchors: Sequence[x509.Certificate], now: datetime, max_chain_depth: int
) -> None:
    if now.tzinfo is None:
        raise local_error(Reason.INPUT_MALFORMED, "now must be a timezone-aware datetime")
    if not anchors:
        raise local_error(Reason.X509_CHAIN_INVALID, "no trust anchors were given")
    if not 0 <= max_chain_depth <= _MAX_DEPTH_LIMIT:
        raise local_error(Reason.INPUT_MALFORMED, f"max_chain_depth must be 0..{_MAX_DEPTH_LIMIT}")


def validate_path(
    certs: Sequence[x509.Certificate],
    *,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    max_chain_depth: int,
    ee_policy: ExtensionPolicy = _EE_POLICY,
) -> tuple[x509.Certificate, ...]:
    """The library's RFC 5280 path from ``certs[0]`` (then untrusted intermediates in
    any order) to one of ``anchors`` at ``now`` (UTC), leaf first, anchor last.

    CAs must carry critical basicConstraints and keyCertSign; ``ee_policy`` is what the
    leaf must carry (by default: nothing, and it may not be a CA). Raises
    ``x509.chain_invalid`` when no path validates, ``x509.malformed`` for a certificate
    the library cannot read. The checks with their own reasons come first, by callers.
    """
    verifier = (
        PolicyBuilder()
        .store(anchors.store if isinstance(anchors, TrustAnchors) else Store(list(anchors)))
        .time(now)
        .max_chain_depth(max_chain_depth)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=ee_policy)
        # A "client" verifier names no subject; the server one would insist on a
        # SAN match Web-PKI style. The EKU it would want is removed by _EE_POLICY.
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(certs[0], list(certs[1:]))
    except VerificationError as exc:
        raise PasserelleError(
            Reason.X509_CHAIN_INVALID, f"no valid path to a trust anchor: {exc}"
        ) from exc
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise PasserelleError(Reason.X509_MALFORMED, f"certificate: {exc}") from exc
    return tuple(verified.chain)


def verify_certificate_chain(
    certs: Sequence[x509.Certificate],
    *,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    require_dns_name: str | None = None,
    max_chain_depth: int = 4,
) -> VerifiedChain:
    """Validate ``certs`` (leaf first, then untrusted intermediates in any order)
    against ``anchors`` at ``now``.

    ``max_chain_depth`` counts intermediates between leaf and anchor. With
    ``require_dns_name`` the leaf must carry it as a SAN dNSName (``x509_san_dns``).
    """
    _check_options(anchors=anchors, now=now, max_chain_depth=max_chain_depth)
    if not certs:
        raise PasserelleError(Reason.X509_MALFORMED, "the certificate chain is empty")
    if len(certs) > max_chain_depth + _EXTRA_MEMBERS:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, "the certificate chain is too long")
    now = now.astimezone(UTC)
    leaf = certs[0]
    public_key = _check_leaf(leaf)
    check_validity(certs, now)
    chain = validate_path(certs, anchors=anchors, now=now, max_chain_depth=max_chain_depth)
    if require_dns_name is not None:
        check_x509_san_dns(leaf, require_dns_name)
    return VerifiedChain(
        leaf=chain[0],
        chain=chain,
        public_key=public_key,
        anchor=chain[-1],
        subjects=tuple(c.subject.rfc4514_string() for c in chain),
    )


def verify_x5c_chain(
    x5c: Sequence[str],
    *,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    require_dns_name: str | None = None,
    max_chain_depth: int = 4,
) -> VerifiedChain:
    """Validate an ``x5c`` JOSE header value (base64 DER, leaf first) against ``anchors``.

    Raises ``x509.malformed``, ``x509.self_signed_leaf``, ``x509.key_usage``,
    ``jwk.unsupported``, ``x509.not_yet_valid``, ``x509.expired``,
    ``x509.chain_invalid`` or ``x509.san_mismatch``, in that order of checking.
    """
    _check_options(anchors=anchors, now=now, max_chain_depth=max_chain_depth)
    key = (tuple(x5c), max_chain_depth)
    if isinstance(anchors, TrustAnchors) and require_dns_name is None:
        remembered = anchors._recall(key, now.astimezone(UTC))
        if remembered is not None:
            return remembered
    certs = decode_unverified_x5c(x5c, max_length=max_chain_depth + _EXTRA_MEMBERS)
    chain = verify_certificate_chain(
        certs,
        anchors=anchors,
        now=now,
        require_dns_name=require_dns_name,
        max_chain_depth=max_chain_depth,
    )
    if isinstance(anchors, TrustAnchors) and require_dns_name is None:
        anchors._remember(key, chain, certs)
    return chain


def verify_haip_x5c(
    x5c: JsonValue, *, anchors: Sequence[x509.Certificate], now: datetime
) -> VerifiedChain:
    """Validate the ``x5c`` header of an attestation signed under HAIP 1.0 (wallet and
    key attestations, §4.4.1 and §4.5.1), the only key resolution HAIP offers for them.

    ``x5c`` is the header value as received: it must be a non-empty array of strings.
    Besides :func:`verify_x5c_chain`, the trust anchor must not travel in it: "The X.509
    certificate of the trust anchor MUST NOT be included in the x5c JOSE header".
    Raises ``x509.malformed`` for a missing or malformed ``x5c`` and
    ``x509.chain_invalid`` for an included anchor, else the reasons of
    :func:`verify_x5c_chain`.
    """
    members = x5c if isinstance(x5c, list) else []
    strings = [m for m in members if isinstance(m, str)]
    if not strings or len(strings) != len(members):
        raise PasserelleError(Reason.X509_MALFORMED, "x5c is not a non-empty array of strings")
    chain = verify_x5c_chain(strings, anchors=anchors, now=now)
    if chain.anchor in decode_unverified_x5c(strings)[1:]:
        raise PasserelleError(
            Reason.X509_CHAIN_INVALID, "x5c includes the trust anchor, which HAIP 1.0 forbids"
        )
    return chain
