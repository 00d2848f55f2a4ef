"""The mdoc values that travel past the decoder: frozen, keyword-only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from .._errors import Reason, local_error
from ._cose import DevicePublicKey

__all__ = [
    "DOCTYPE_MDL",
    "DOCTYPE_PID",
    "NAMESPACE_MDL",
    "NAMESPACE_PID",
    "StatusReference",
    "ValidityInfo",
    "VerifiedMdoc",
]

DOCTYPE_MDL = "org.iso.18013.5.1.mDL"
NAMESPACE_MDL = "org.iso.18013.5.1"
DOCTYPE_PID = "eu.europa.ec.eudi.pid.1"
NAMESPACE_PID = "eu.europa.ec.eudi.pid.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidityInfo:
    """MSO ``validityInfo`` (ISO/IEC 18013-5 §9.1.2.4): all instants in UTC."""

    signed: datetime
    valid_from: datetime
    valid_until: datetime
    expected_update: datetime | None = None

    def __post_init__(self) -> None:
        instants = [self.signed, self.valid_from, self.valid_until]
        if self.expected_update is not None:
            instants.append(self.expected_update)
        if any(t.tzinfo is None for t in instants):
            raise local_error(Reason.INPUT_MALFORMED, "validity instants must be timezone-aware")
        # 18013-5 §9.1.2.4: validFrom is not before signed, validUntil after validFrom.
        if self.valid_from < self.signed or self.valid_until <= self.valid_from:
            raise local_error(Reason.MDOC_VALIDITY_INVALID, "need signed <= validFrom < validUntil")


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReference:
    """The Token Status List reference in an MSO ``status`` member: the ``Status`` CBOR
    structure of draft-ietf-oauth-status-list, "Referenced Token in COSE" (which names
    ISO mdoc as a Referenced Token): ``{"status_list": {"idx": uint, "uri": tstr}}``."""

    idx: int
    uri: str

    def __post_init__(self) -> None:
        if isinstance(self.idx, bool) or not isinstance(self.idx, int) or self.idx < 0:
            raise local_error(Reason.MDOC_STATUS_INVALID, "idx must be a non-negative integer")
        if not isinstance(self.uri, str) or not self.uri:
            raise local_error(Reason.MDOC_STATUS_INVALID, "uri must be a non-empty string")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedMdoc:
    """An mdoc whose issuer signature, digests, validity and (for a DeviceResponse)
    device authentication all held at ``now``."""

    doc_type: str
    #: Disclosed issuer-signed elements: namespace -> element identifier -> value.
    namespaces: Mapping[str, Mapping[str, object]]
    #: Device-signed elements (rare; empty unless the holder added some).
    device_namespaces: Mapping[str, Mapping[str, object]]
    #: The document signer certificate first, the IACA (trust anchor) last.
    issuer_chain: tuple[x509.Certificate, ...]
    validity: ValidityInfo
    status: StatusReference | None
    device_key: DevicePublicKey
    digest_algorithm: str
    #: "signature" or "mac" for a DeviceResponse; None for a bare IssuerSigned.
    device_auth: str | None

    @property
    def document_signer(self) -> x509.Certificate:
        return self.issuer_chain[0]

    @property
    def iaca(self) -> x509.Certificate:
        return self.issuer_chain[-1]
