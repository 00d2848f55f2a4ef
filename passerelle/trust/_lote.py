"""EU Lists of Trusted Entities (ETSI TS 119 602 V1.1.1), JSON binding, signed as a
compact JAdES baseline-B JWS.

Three steps, each a pure function::

    parse_lote_source(yaml doc, certificates=...)  -> LoteSource     (our editable source)
    build_lote(source, sequence_number=, issued_at=, next_update=) -> {"LoTE": {...}}
    sign_lote(lote, signer=, x5c=, now=)            -> compact JWS
    verify_lote(token, operator_anchors=, now=, ...) -> VerifiedLote (indexed for look-ups)

The EU profiles implemented are Annex D (PID providers), Annex F (WRPAC providers) and
Annex H (Pub-EAA providers). What each one demands, and where the peers disagree,
is in :data:`PROFILES`.

The signature (clause 6.8, Annexes D.4/F.4/H.4: compact JAdES baseline B, ETSI
TS 119 182-1 V1.2.1) carries in its protected header ``alg``, ``typ`` ``jose`` (the
RFC 7515 §4.1.9 value for a compact JWS, which is what JAdES producers write),
``x5c`` (the scheme operator's chain), ``x5t#S256`` (the signing-certificate
reference of JAdES B-B) and ``iat`` (the claimed signing time, a NumericDate, as
V1.2.1 has it in place of ``sigT``). No ``crit``: every member is one an ordinary
JOSE library understands, so any of them can verify a list.

Our extension. The LoTE has no member saying which credential types (``vct``) a
listed service may issue. We carry them in ``ServiceInformationExtensions``
(clause 6.6.9: a sequence of extensions whose format is left open) as one element
``{"passerelle:credentialTypes": ["urn:eudi:pid:1", ...]}``. The name is ours and
namespaced so that nobody mistakes it for an ETSI extension; readers that do not
know it skip it.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from ..jose import (
    Signer,
    jwk_thumbprint,
    load_public_jwk,
)
from ..x509 import (
    certificate_to_der,
    decode_unverified_x5c,
    load_certificate_der,
    load_certificate_pem,
)
from ._jades import OPERATOR_ALGORITHMS, sign_jades_b, verify_jades_b

__all__ = [
    "CREDENTIAL_TYPES_EXTENSION",
    "LOTE_ALGORITHMS",
    "LOTE_TYPE_PID_PROVIDERS",
    "LOTE_TYPE_PUB_EAA_PROVIDERS",
    "LOTE_TYPE_WALLET_PROVIDERS",
    "LOTE_TYPE_WRPAC_PROVIDERS",
    "MAX_LOTE_BYTES",
    "PROFILES",
    "PUB_EAA_STATUS_NOTIFIED",
    "PUB_EAA_STATUS_WITHDRAWN",
    "SVC_TYPE_PID_ISSUANCE",
    "SVC_TYPE_PID_REVOCATION",
    "SVC_TYPE_PUB_EAA_ISSUANCE",
    "SVC_TYPE_PUB_EAA_REVOCATION",
    "SVC_TYPE_WALLET_ISSUANCE",
    "SVC_TYPE_WALLET_REVOCATION",
    "SVC_TYPE_WRPAC_ISSUANCE",
    "SVC_TYPE_WRPAC_REVOCATION",
    "ListedService",
    "LoteEntity",
    "LotePostalAddress",
    "LoteProfile",
    "LoteService",
    "LoteSource",
    "VerifiedLote",
    "build_lote",
    "parse_lote_entity",
    "parse_lote_source",
    "sign_lote",
    "verify_lote",
]

_ETSI = "http://uri.etsi.org/19602"

# Annex C.2.1 list types.
LOTE_TYPE_PID_PROVIDERS = f"{_ETSI}/LoTEType/EUPIDProvidersList"
LOTE_TYPE_PUB_EAA_PROVIDERS = f"{_ETSI}/LoTEType/EUPubEAAProvidersList"
LOTE_TYPE_WRPAC_PROVIDERS = f"{_ETSI}/LoTEType/EUWRPACProvidersList"
LOTE_TYPE_WALLET_PROVIDERS = f"{_ETSI}/LoTEType/EUWalletProvidersList"

# Tables D.3, F.3, H.3: service types, "to the exclusion of any other".
SVC_TYPE_PID_ISSUANCE = f"{_ETSI}/SvcType/PID/Issuance"
SVC_TYPE_PID_REVOCATION = f"{_ETSI}/SvcType/PID/Revocation"
SVC_TYPE_PUB_EAA_ISSUANCE = f"{_ETSI}/SvcType/PubEAA/Issuance"
SVC_TYPE_PUB_EAA_REVOCATION = f"{_ETSI}/SvcType/PubEAA/Revocation"
SVC_TYPE_WRPAC_ISSUANCE = f"{_ETSI}/SvcType/WRPAC/Issuance"
SVC_TYPE_WRPAC_REVOCATION = f"{_ETSI}/SvcType/WRPAC/Revocation"
# Annex E (wallet providers): the service that issues wallet unit attestations.
SVC_TYPE_WALLET_ISSUANCE = f"{_ETSI}/SvcType/WalletSolution/Issuance"
SVC_TYPE_WALLET_REVOCATION = f"{_ETSI}/SvcType/WalletSolution/Revocation"

# Table H.3: the only two statuses of the Pub-EAA list.
PUB_EAA_STATUS_NOTIFIED = f"{_ETSI}/PubEAAProvidersList/SvcStatus/notified"
PUB_EAA_STATUS_WITHDRAWN = f"{_ETSI}/PubEAAProvidersList/SvcStatus/withdrawn"

CREDENTIAL_TYPES_EXTENSION = "passerelle:credentialTypes"
"""Our ``ServiceInformationExtensions`` member naming the ``vct`` values a service issues."""

LOTE_ALGORITHMS = OPERATOR_ALGORITHMS

_JOSE_TYP = "jose"
# typ values peers put on a compact LoTE JWS; RFC 7515 makes typ optional.
_ACCEPTED_TYP = frozenset({"jose", "application/jose", "jwt"})
MAX_LOTE_BYTES = 256 << 20
"""An entity listed with one certificate is about 2 KB signed: room for some 100,000
entities, as a union-wide list of wallet-relying parties may hold."""
_MIME_JOSE = "application/jose"
_VERSION = 1
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# Table H.2 b): "OJ:" then "EU" or a Member State code, then the act's identifier.
_LEGAL_BASIS = re.compile(r"OJ:[A-Z]{2}\S+")
_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoteProfile:
    """What one EU LoTE profile (an annex of TS 119 602) adds to the generic rules."""

    lote_type: str
    status_determination_approach: str
    scheme_rules: str
    #: The entity-role URI prefix (tables D.2, H.2); ``/CC`` is appended.
    entity_role_prefix: str
    #: Where the entity-role URI goes: TEInformationURI (D.2) or TEAddress (H.2).
    entity_role_in_address: bool
    issuance_type: str
    revocation_type: str
    #: Empty: ServiceStatus and StatusStartingTime "shall not be used" (D.3, F.3);
    #: listing itself means notified, and a provider that loses it is removed.
    statuses: frozenset[str]
    #: The status that keeps a service usable, when statuses are used.
    active_status: str | None
    #: None: HistoricalInformationPeriod shall be absent (D.2, F.1); else its value (H.1).
    historical_information_period: int | None
    #: PointersToOtherLoTE holds a pointer to the list itself (D.2, F.1) or is absent (H.1).
    self_pointer: bool
    certificates_required: bool
    #: WRPAC lists name CA certificates only (F.3; the EU reference library agrees).
    ca_certificates_only: bool
    #: TETradeName must carry the legal basis as an ``OJ:`` URI (H.2 b).
    legal_basis_required: bool
    max_months_to_next_update: int = 6

    @property
    def service_types(self) -> frozenset[str]:
        return frozenset({self.issuance_type, self.revocation_type})


PROFILES: Mapping[str, LoteProfile] = {
    LOTE_TYPE_PID_PROVIDERS: LoteProfile(
        lote_type=LOTE_TYPE_PID_PROVIDERS,
        status_determination_approach=f"{_ETSI}/PIDProvidersList/StatusDetn/EU",
        scheme_rules=f"{_ETSI}/PIDProviders/schemerules/EU",
        entity_role_prefix=f"{_ETSI}/ListOfTrustedEntities/PIDProvider",
        entity_role_in_address=False,
        issuance_type=SVC_TYPE_PID_ISSUANCE,
        revocation_type=SVC_TYPE_PID_REVOCATION,
        statuses=frozenset(),
        active_status=None,
        historical_information_period=None,
        self_pointer=True,
        certificates_required=True,
        ca_certificates_only=False,
        legal_basis_required=False,
    ),
    LOTE_TYPE_WRPAC_PROVIDERS: LoteProfile(
        lote_type=LOTE_TYPE_WRPAC_PROVIDERS,
        status_determination_approach=f"{_ETSI}/WRPACProvidersList/StatusDetn/EU",
        scheme_rules=f"{_ETSI}/WRPACProvidersList/schemerules/EU",
        entity_role_prefix=f"{_ETSI}/ListOfTrustedEntities/WRPACProvider",
        entity_role_in_address=False,
        issuance_type=SVC_TYPE_WRPAC_ISSUANCE,
        revocation_type=SVC_TYPE_WRPAC_REVOCATION,
        statuses=frozenset(),
        active_status=None,
        historical_information_period=None,
        self_pointer=True,
        certificates_required=True,
        ca_certificates_only=True,
        legal_basis_required=False,
    ),
    # Annex E, the list of wallet providers, is built like Annex D: listing means
    # notified (no ServiceStatus), a self pointer, certificates required.
    LOTE_TYPE_WALLET_PROVIDERS: LoteProfile(
        lote_type=LOTE_TYPE_WALLET_PROVIDERS,
        status_determination_approach=f"{_ETSI}/WalletProvidersList/StatusDetn/EU",
        scheme_rules=f"{_ETSI}/WalletProvidersList/schemerules/EU",
        entity_role_prefix=f"{_ETSI}/ListOfTrustedEntities/WalletProvider",
        entity_role_in_address=False,
        issuance_type=SVC_TYPE_WALLET_ISSUANCE,
        revocation_type=SVC_TYPE_WALLET_REVOCATION,
        statuses=frozenset(),
        active_status=None,
        historical_information_period=None,
        self_pointer=True,
        certificates_required=True,
        ca_certificates_only=False,
        legal_basis_required=False,
    ),
    LOTE_TYPE_PUB_EAA_PROVIDERS: LoteProfile(
        lote_type=LOTE_TYPE_PUB_EAA_PROVIDERS,
        status_determination_approach=f"{_ETSI}/PubEAAProvidersList/StatusDetn/EU",
        scheme_rules=f"{_ETSI}/PubEAAProvidersList/schemerules/EU",
        entity_role_prefix=f"{_ETSI}/ListOfTrustedEntities/PubEAAProvider",
        entity_role_in_address=True,
        issuance_type=SVC_TYPE_PUB_EAA_ISSUANCE,
        revocation_type=SVC_TYPE_PUB_EAA_REVOCATION,
        statuses=frozenset({PUB_EAA_STATUS_NOTIFIED, PUB_EAA_STATUS_WITHDRAWN}),
        active_status=PUB_EAA_STATUS_NOTIFIED,
        # Table H.1 says present with 65535; the EU reference library
        # (eudi-lib-kmp-etsi-1196x2) says absent. The spec prevails.
        historical_information_period=65535,
        self_pointer=False,
        certificates_required=False,
        ca_certificates_only=False,
        legal_basis_required=True,
    ),
}

_SHORT_STATUSES = {"notified": PUB_EAA_STATUS_NOTIFIED, "withdrawn": PUB_EAA_STATUS_WITHDRAWN}


# --- the editable source --------------------------------------------------------------


MultiLang = tuple[tuple[str, str], ...]
"""A multilingual value as (lang, value) pairs; clause 6.1.4 wants an ``en`` one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LotePostalAddress:
    lang: str
    street_address: str
    locality: str | None
    postal_code: str | None
    state_or_province: str | None
    country: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LoteService:
    """One ``TrustedEntityService`` as our source describes it."""

    name: MultiLang
    service_type: str
    certificates: tuple[x509.Certificate, ...]
    status: str | None
    status_starting_time: datetime | None
    credential_types: tuple[str, ...]
    supply_points: tuple[str, ...]
    definition_uris: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoteEntity:
    """One ``TrustedEntity``. A partner's entry under ``trust_lists/partners/`` is one of
    these, with its certificate inline (see :func:`parse_lote_entity`)."""

    name: MultiLang
    trade_name: MultiLang
    postal_addresses: tuple[LotePostalAddress, ...]
    electronic_addresses: tuple[str, ...]
    information_uris: tuple[str, ...]
    #: ISO 3166-1 alpha-2 code of the responsible Member State (tables D.2, H.2).
    member_state: str
    services: tuple[LoteService, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoteSource:
    """Everything about one list except what changes per issue (sequence, dates)."""

    profile: LoteProfile
    operator_name: MultiLang
    operator_postal_addresses: tuple[LotePostalAddress, ...]
    operator_electronic_addresses: tuple[str, ...]
    #: The scheme operator's signing certificates, for the self pointer (D.2, F.1).
    operator_certificates: tuple[x509.Certificate, ...]
    scheme_name: MultiLang
    scheme_information_uris: tuple[str, ...]
    policy_uris: tuple[str, ...]
    distribution_points: tuple[str, ...]
    entities: tuple[LoteEntity, ...] = field(default=())


def _source_error(detail: str) -> PasserelleError:
    return local_error(Reason.TRUST_LIST_MALFORMED, f"trust-list source: {detail}")


def _str(doc: Mapping[str, object], name: str, where: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _source_error(f"{where}.{name} must be a non-empty string")
    return value


def _opt_str(doc: Mapping[str, object], name: str, where: str) -> str | None:
    if doc.get(name) is None:
        return None
    return _str(doc, name, where)


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _source_error(f"{where} must be a mapping")
    return value


def _str_list(doc: Mapping[str, object], name: str, where: str) -> tuple[str, ...]:
    value = doc.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _source_error(f"{where}.{name} must be a string or a list of strings")
    return tuple(value)


def _multilang(doc: Mapping[str, object], name: str, where: str, *, required: bool) -> MultiLang:
    value = doc.get(name)
    if value is None and not required:
        return ()
    if isinstance(value, str) and value.strip():
        return (("en", value),)
    # A list of plain strings is several English values (TETradeName often needs two:
    # a registration identifier and, in Pub-EAA lists, the legal basis).
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(("en", str(v)) for v in value)
    if isinstance(value, Mapping) and value:
        pairs = tuple(value.items())
        if all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in pairs):
            if "en" not in value:
                raise _source_error(f"{where}.{name} needs an 'en' value (clause 6.1.4)")
            return tuple((str(k), str(v)) for k, v in pairs)
    raise _source_error(f"{where}.{name} must be a string, a list of them, or {{lang: text}}")


def _postal(value: object, where: str) -> LotePostalAddress:
    doc = _mapping(value, where)
    country = _str(doc, "country", where)
    if not _COUNTRY.fullmatch(country):
        raise _source_error(f"{where}.country must be an upper-case two-letter code")
    return LotePostalAddress(
        lang=_opt_str(doc, "lang", where) or "en",
        street_address=_str(doc, "street", where),
        locality=_opt_str(doc, "locality", where),
        postal_code=_opt_str(doc, "postal_code", where),
        state_or_province=_opt_str(doc, "state_or_province", where),
        country=country,
    )


def _address(
    doc: Mapping[str, object], where: str
) -> tuple[tuple[LotePostalAddress, ...], tuple[str, ...]]:
    address = _mapping(doc.get("address"), f"{where}.address")
    postal = address.get("postal")
    postals = postal if isinstance(postal, list) else [postal]
    electronic = _str_list(address, "electronic", f"{where}.address")
    if not electronic:
        raise _source_error(
            f"{where}.address.electronic needs at least one URI (mailto:, tel:, https:)"
        )
    return (
        tuple(_postal(p, f"{where}.address.postal") for p in postals),
        electronic,
    )


def _parse_time(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise _source_error(f"{where} is not an ISO 8601 date-time") from exc
    else:
        raise _source_error(f"{where} must be a date-time")
    if parsed.tzinfo is None:
        raise _source_error(f"{where} must carry a time zone (UTC)")
    return parsed.astimezone(UTC)


def _certificate(
    item: object, where: str, certificates: Mapping[str, x509.Certificate]
) -> x509.Certificate:
    # A name refers to a certificate `passerelle init` generated; a partner gives its
    # certificate inline, as PEM or as base64 DER.
    if isinstance(item, str):
        if item not in certificates:
            raise _source_error(f"{where}: no certificate named {item!r} was given")
        return certificates[item]
    doc = _mapping(item, where)
    if "pem" in doc:
        return load_certificate_pem(_str(doc, "pem", where))
    if "der" in doc:
        text = "".join(_str(doc, "der", where).split())
        try:
            der = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _source_error(f"{where}.der is not base64") from exc
        return load_certificate_der(der)
    raise _source_error(f"{where} must be a certificate name or have 'pem' or 'der'")


def _certificates(
    doc: Mapping[str, object], where: str, certificates: Mapping[str, x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    items = doc.get("certificates", [])
    if "certificate" in doc:
        items = [doc["certificate"]]
    if not isinstance(items, list):
        raise _source_error(f"{where}.certificates must be a list")
    return tuple(
        _certificate(item, f"{where}.certificates[{i}]", certificates)
        for i, item in enumerate(items)
    )


def _service_type(value: str, profile: LoteProfile, where: str) -> str:
    short = {"issuance": profile.issuance_type, "revocation": profile.revocation_type}
    resolved = short.get(value, value)
    if resolved not in profile.service_types:
        raise _source_error(f"{where}.type {value!r} is not a service type of this list")
    return resolved


def _service(
    value: object, where: str, profile: LoteProfile, certificates: Mapping[str, x509.Certificate]
) -> LoteService:
    doc = _mapping(value, where)
    status_text = _opt_str(doc, "status", where)
    status = _SHORT_STATUSES.get(status_text, status_text) if status_text else None
    since = doc.get("status_since")
    return LoteService(
        name=_multilang(doc, "name", where, required=True),
        service_type=_service_type(_str(doc, "type", where), profile, where),
        certificates=_certificates(doc, where, certificates),
        status=status,
        status_starting_time=None if since is None else _parse_time(since, f"{where}.status_since"),
        credential_types=_str_list(doc, "credential_types", where),
        supply_points=_str_list(doc, "supply_points", where),
        definition_uris=_str_list(doc, "definition_uris", where),
    )


def parse_lote_entity(
    doc: Mapping[str, object],
    *,
    profile: LoteProfile,
    certificates: Mapping[str, x509.Certificate],
    where: str = "entity",
) -> LoteEntity:
    """One trusted entity of a source file, or a partner's entry, as a :class:`LoteEntity`.

    Certificates are names looked up in ``certificates`` or inline ``{pem: ...}`` /
    ``{der: <base64>}`` objects. Profile rules are checked by :func:`build_lote`.
    """
    doc = _mapping(doc, where)
    postal, electronic = _address(doc, where)
    services = doc.get("services")
    if not isinstance(services, list) or not services:
        raise _source_error(f"{where}.services must be a non-empty list")
    member_state = _str(doc, "member_state", where)
    if not _COUNTRY.fullmatch(member_state):
        raise _source_error(f"{where}.member_state must be an upper-case two-letter code")
    information_uris = _str_list(doc, "information_uris", where)
    if not information_uris:
        raise _source_error(f"{where}.information_uris needs at least one URI")
    return LoteEntity(
        name=_multilang(doc, "name", where, required=True),
        trade_name=_multilang(doc, "trade_name", where, required=False),
        postal_addresses=postal,
        electronic_addresses=electronic,
        information_uris=information_uris,
        member_state=member_state,
        services=tuple(
            _service(s, f"{where}.services[{i}]", profile, certificates)
            for i, s in enumerate(services)
        ),
    )


def parse_lote_source(
    doc: JsonObject | Mapping[str, object], *, certificates: Mapping[str, x509.Certificate]
) -> LoteSource:
    """A trust-list source file (``trust_lists/eu/*.yaml``, already loaded) as a
    :class:`LoteSource`; certificate names resolve through ``certificates``."""
    root = _mapping(doc, "source")
    lote_type = _str(root, "lote_type", "source")
    profile = PROFILES.get(lote_type)
    if profile is None:
        raise _source_error(f"lote_type {lote_type!r} is not an EU profile we build")
    operator = _mapping(root.get("operator"), "operator")
    scheme = _mapping(root.get("scheme"), "scheme")
    op_postal, op_electronic = _address(operator, "operator")
    entities = root.get("entities", [])
    if not isinstance(entities, list):
        raise _source_error("entities must be a list")
    return LoteSource(
        profile=profile,
        operator_name=_multilang(operator, "name", "operator", required=True),
        operator_postal_addresses=op_postal,
        operator_electronic_addresses=op_electronic,
        operator_certificates=_certificates(operator, "operator", certificates),
        scheme_name=_multilang(scheme, "name", "scheme", required=True),
        scheme_information_uris=_str_list(scheme, "information_uris", "scheme"),
        policy_uris=_str_list(scheme, "policy_uris", "scheme"),
        distribution_points=_str_list(scheme, "distribution_points", "scheme"),
        entities=tuple(
            parse_lote_entity(e, profile=profile, certificates=certificates, where=f"entities[{i}]")
            for i, e in enumerate(entities)
        ),
    )


# --- building ----------------------------------------------------------------------------


def _date_time(value: datetime) -> str:
    # Clause 6.1.3: UTC, seconds without a fraction, "Z".
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add_months(value: datetime, months: int) -> datetime:
    month0 = value.month - 1 + months
    year, month = value.year + month0 // 12, month0 % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _ml(values: MultiLang) -> list[JsonValue]:
    return [{"lang": lang, "value": text} for lang, text in values]


def _ml_uris(uris: Sequence[str]) -> list[JsonValue]:
    return [{"lang": "en", "uriValue": uri} for uri in uris]


def _postal_json(address: LotePostalAddress) -> JsonObject:
    out: JsonObject = {"lang": address.lang, "StreetAddress": address.street_address}
    if address.locality:
        out["Locality"] = address.locality
    if address.state_or_province:
        out["StateOrProvince"] = address.state_or_province
    if address.postal_code:
        out["PostalCode"] = address.postal_code
    out["Country"] = address.country
    return out


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(certificate_to_der(cert)).decode("ascii")


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _organization_names(cert: x509.Certificate) -> list[str]:
    return [
        str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    ]


def _check_service_source(
    service: LoteService, profile: LoteProfile, entity: LoteEntity, where: str
) -> None:
    if profile.certificates_required and not service.certificates:
        raise _source_error(f"{where}: this list requires X.509 certificates (D.3, F.3)")
    if profile.ca_certificates_only and not all(_is_ca(c) for c in service.certificates):
        raise _source_error(f"{where}: a WRPAC provider is listed by CA certificates (F.3)")
    if profile.legal_basis_required and service.certificates:
        # Table H.3: several certificates share one key and one subject, whose
        # organizationName is exactly the TEName.
        if len({_spki(c) for c in service.certificates}) != 1:
            raise _source_error(f"{where}: certificates of one service must share a key (H.3)")
        if len({c.subject for c in service.certificates}) != 1:
            raise _source_error(f"{where}: certificates of one service must share a subject (H.3)")
        names = {text for _, text in entity.name}
        if not set(_organization_names(service.certificates[0])) & names:
            raise _source_error(f"{where}: certificate organizationName must match TEName (H.3)")
    if not profile.statuses:
        if service.status is not None or service.status_starting_time is not None:
            raise _source_error(
                f"{where}: this list has no service status (D.3, F.3); remove the entity instead"
            )
    elif service.status not in profile.statuses:
        raise _source_error(f"{where}: status must be one of {sorted(profile.statuses)}")


def _service_json(service: LoteService, *, issued_at: datetime) -> JsonObject:
    identity: JsonObject = {}
    if service.certificates:
        identity["X509Certificates"] = [{"val": _b64(c)} for c in service.certificates]
    info: JsonObject = {
        "ServiceTypeIdentifier": service.service_type,
        "ServiceName": _ml(service.name),
        "ServiceDigitalIdentity": identity,
    }
    if service.status is not None:
        info["ServiceStatus"] = service.status
        # A status recorded without a start is taken to start with this issue: clause
        # 6.6.5 forbids a starting time earlier than the issue that first shows it.
        started = service.status_starting_time or issued_at
        info["StatusStartingTime"] = _date_time(started)
    if service.supply_points:
        info["ServiceSupplyPoints"] = [{"uriValue": uri} for uri in service.supply_points]
    if service.definition_uris:
        info["ServiceDefinitionURI"] = _ml_uris(service.definition_uris)
    if service.credential_types:
        info["ServiceInformationExtensions"] = [
            {CREDENTIAL_TYPES_EXTENSION: list(service.credential_types)}
        ]
    return {"ServiceInformation": info}


def _entity_json(
    entity: LoteEntity, profile: LoteProfile, *, issued_at: datetime, where: str
) -> JsonObject:
    role = f"{profile.entity_role_prefix}/{entity.member_state}"
    electronic = list(entity.electronic_addresses)
    information = list(entity.information_uris)
    if profile.entity_role_in_address:
        electronic.append(role)
    else:
        information.append(role)
    if profile.legal_basis_required and not any(
        _LEGAL_BASIS.fullmatch(text) for _, text in entity.trade_name
    ):
        raise _source_error(f"{where}.trade_name needs the legal basis as an OJ: URI (H.2)")
    info: JsonObject = {"TEName": _ml(entity.name)}
    if entity.trade_name:
        info["TETradeName"] = _ml(entity.trade_name)
    info["TEAddress"] = {
        "TEPostalAddress": [_postal_json(a) for a in entity.postal_addresses],
        "TEElectronicAddress": _ml_uris(electronic),
    }
    info["TEInformationURI"] = _ml_uris(information)
    services: list[JsonValue] = []
    for i, service in enumerate(entity.services):
        _check_service_source(service, profile, entity, f"{where}.services[{i}]")
        services.append(_service_json(service, issued_at=issued_at))
    return {"TrustedEntityInformation": info, "TrustedEntityServices": services}


def build_lote(
    source: LoteSource, *, sequence_number: int, issued_at: datetime, next_update: datetime
) -> JsonObject:
    """The LoTE JSON payload ``{"LoTE": {...}}`` for one issue of ``source``.

    Profile rules that the source could break are checked here and raise
    ``trust.list_malformed`` as a local error: we never sign a list a peer would reject.
    """
    profile = source.profile
    if isinstance(sequence_number, bool) or sequence_number < 1:
        raise _source_error("LoTESequenceNumber starts at 1 (clause 6.3.2)")
    if issued_at.tzinfo is None or next_update.tzinfo is None:
        raise _source_error("issued_at and next_update must be timezone-aware")
    issued_at = issued_at.astimezone(UTC).replace(microsecond=0)
    next_update = next_update.astimezone(UTC).replace(microsecond=0)
    if next_update <= issued_at:
        raise _source_error("NextUpdate must be later than ListIssueDateTime")
    if next_update > _add_months(issued_at, profile.max_months_to_next_update):
        raise _source_error(
            f"NextUpdate is more than {profile.max_months_to_next_update} months after issue"
        )
    if not source.scheme_information_uris:
        raise _source_error("scheme.information_uris needs at least one URI (clause 6.3.7)")
    if not source.policy_uris:
        raise _source_error("scheme.policy_uris needs at least one URI (clause 6.3.11)")
    if not source.distribution_points:
        raise _source_error("scheme.distribution_points needs at least one URI (clause 6.3.16)")
    info: JsonObject = {
        "LoTEVersionIdentifier": _VERSION,
        "LoTESequenceNumber": sequence_number,
        "LoTEType": profile.lote_type,
        "SchemeOperatorName": _ml(source.operator_name),
        "SchemeOperatorAddress": {
            "SchemeOperatorPostalAddress": [
                _postal_json(a) for a in source.operator_postal_addresses
            ],
            "SchemeOperatorElectronicAddress": _ml_uris(source.operator_electronic_addresses),
        },
        "SchemeName": _ml(source.scheme_name),
        "SchemeInformationURI": _ml_uris(source.scheme_information_uris),
        "StatusDeterminationApproach": profile.status_determination_approach,
        "SchemeTypeCommunityRules": _ml_uris([profile.scheme_rules]),
        "SchemeTerritory": "EU",
        "PolicyOrLegalNotice": [
            {"LoTEPolicy": {"lang": "en", "uriValue": uri}} for uri in source.policy_uris
        ],
    }
    if profile.historical_information_period is not None:
        info["HistoricalInformationPeriod"] = profile.historical_information_period
    if profile.self_pointer:
        if not source.operator_certificates:
            raise _source_error("operator.certificates is needed for the self pointer (D.2, F.1)")
        info["PointersToOtherLoTE"] = [
            {
                "LoTELocation": source.distribution_points[0],
                "ServiceDigitalIdentities": [
                    {"X509Certificates": [{"val": _b64(c)} for c in source.operator_certificates]}
                ],
                "LoTEQualifiers": [
                    {
                        "LoTEType": profile.lote_type,
                        "SchemeOperatorName": _ml(source.operator_name),
                        "SchemeTypeCommunityRules": _ml_uris([profile.scheme_rules]),
                        "SchemeTerritory": "EU",
                        "MimeType": _MIME_JOSE,
                    }
                ],
            }
        ]
    info["ListIssueDateTime"] = _date_time(issued_at)
    info["NextUpdate"] = _date_time(next_update)
    info["DistributionPoints"] = list(source.distribution_points)
    lote: JsonObject = {"ListAndSchemeInformation": info}
    if source.entities:
        # Clause 6.4.0: the list, when present, is not empty.
        lote["TrustedEntitiesList"] = [
            _entity_json(e, profile, issued_at=issued_at, where=f"entities[{i}]")
            for i, e in enumerate(source.entities)
        ]
    return {"LoTE": lote}


# --- signing -----------------------------------------------------------------------------


def _str_or_none(value: JsonValue) -> str | None:
    """A member compared with a set of strings: a list (not even hashable) or any other
    type is simply no match."""
    return value if isinstance(value, str) else None


def _check_signer_subject(leaf: x509.Certificate, info: Mapping[str, JsonValue]) -> str | None:
    """Clause 6.8.0: the signer's C is the SchemeTerritory and its O one of the
    SchemeOperatorName values. Returns what is wrong, or None."""
    countries = [
        str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    ]
    if countries != [info.get("SchemeTerritory")]:
        return f"signer country {countries} is not the SchemeTerritory"
    names = info.get("SchemeOperatorName")
    values = (
        {_str_or_none(n.get("value")) for n in names if isinstance(n, dict)}
        if isinstance(names, list)
        else set()
    )
    if not set(_organization_names(leaf)) & values:
        return "signer organizationName is not a SchemeOperatorName value"
    return None


def sign_lote(lote: JsonObject, *, signer: Signer, x5c: Sequence[str], now: datetime) -> str:
    """Sign a LoTE as a compact JAdES baseline-B JWS (see the module docstring)."""
    leaf = decode_unverified_x5c(list(x5c))[0]
    body = lote.get("LoTE")
    info = body.get("ListAndSchemeInformation") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        raise local_error(Reason.TRUST_LIST_MALFORMED, "not a LoTE payload")
    problem = _check_signer_subject(leaf, info)
    if problem is not None:
        raise local_error(Reason.TRUST_LIST_UNTRUSTED_OPERATOR, f"{problem} (clause 6.8.0)")
    return sign_jades_b(lote, signer=signer, x5c=x5c, now=now, typ=_JOSE_TYP)


# --- verifying ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedService:
    """A service found in a verified LoTE."""

    entity_name: str
    service_name: str
    service_type: str | None
    #: None where the profile has no status (PID, WRPAC): being listed means notified.
    status: str | None
    status_starting_time: datetime | None
    credential_types: tuple[str, ...]
    listed_certificates: tuple[x509.Certificate, ...]
    #: The certificate of the looked-up chain that matched (set by find_service).
    matched_certificate: x509.Certificate | None = None
    #: How it matched: "certificate", "ski" or "public_key" (set by find_service).
    matched_by: str | None = None

    @property
    def is_withdrawn(self) -> bool:
        """True for any status other than Pub-EAA ``notified``: an unknown status of a
        list type we have no profile for fails closed."""
        return self.status is not None and self.status != PUB_EAA_STATUS_NOTIFIED

    def check_authorized(self, *, credential_type: str | None = None) -> None:
        """Raise ``trust.service_withdrawn`` or ``trust.not_authorized_for_type``."""
        if self.is_withdrawn:
            raise PasserelleError(
                Reason.TRUST_SERVICE_WITHDRAWN,
                f"{self.entity_name}: service {self.service_name!r} has status {self.status}",
            )
        if credential_type is not None and credential_type not in self.credential_types:
            raise PasserelleError(
                Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE,
                f"{self.entity_name} is not listed for {credential_type!r}",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedLote:
    """A LoTE whose signature, operator, shape, freshness and sequence were checked."""

    list_type: str
    operator_name: str
    territory: str
    sequence_number: int
    issued_at: datetime
    next_update: datetime
    signed_at: datetime
    signer: x509.Certificate
    payload: JsonObject
    services: tuple[ListedService, ...]
    _by_certificate: Mapping[bytes, tuple[ListedService, ...]] = field(repr=False)
    _by_ski: Mapping[bytes, tuple[ListedService, ...]] = field(repr=False)
    _by_thumbprint: Mapping[str, tuple[ListedService, ...]] = field(repr=False)
    # What find_services computes of a certificate (hash, SKI, key thumbprint), kept
    # per list: a verifier meets the same issuer chains over and over. Bounded.
    _keys_of: dict[x509.Certificate, tuple[bytes, bytes | None, str | None]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # find_services' answers, a function of the list (immutable) and its arguments:
    # the matched services are frozen, so the same tuple serves every call. Bounded;
    # never carried over by dataclasses.replace (not an init field).
    _found: dict[
        tuple[int, str | None], tuple[tuple[x509.Certificate, ...], tuple[ListedService, ...]]
    ] = field(default_factory=dict, init=False, repr=False, compare=False)

    def certificates_for(self, *, service_type: str) -> tuple[x509.Certificate, ...]:
        """The listed certificates of services of one type: anchors for x5c validation."""
        seen: dict[bytes, x509.Certificate] = {}
        for service in self.services:
            if service.service_type == service_type and not service.is_withdrawn:
                for cert in service.listed_certificates:
                    seen.setdefault(certificate_to_der(cert), cert)
        return tuple(seen.values())

    def find_services(
        self, *, certificate_chain: Sequence[x509.Certificate], service_type: str | None = None
    ) -> tuple[ListedService, ...]:
        """Every listed service matching any certificate of the chain, leaf first, then
        by strength of match (whole certificate, then SKI, then public key).

        SECURITY: pass a chain you have already validated (``VerifiedChain.chain``). A
        CA certificate anyone can append to an unverified chain would match too.
        """
        if not isinstance(certificate_chain, tuple):
            return self._find_services(certificate_chain, service_type)
        # By identity: a verified chain is remembered by the trust anchors and comes
        # back as the same tuple, and hashing certificates costs more than matching
        # them. The entry holds the tuple, so its id cannot be reused while it is kept.
        asked = (id(certificate_chain), service_type)
        known = self._found.get(asked)
        if known is not None and known[0] is certificate_chain:
            return known[1]
        found = self._find_services(certificate_chain, service_type)
        if len(self._found) >= 4096:
            self._found.clear()
        self._found[asked] = (certificate_chain, found)
        return found

    def _find_services(
        self, certificate_chain: Sequence[x509.Certificate], service_type: str | None
    ) -> tuple[ListedService, ...]:
        found: list[ListedService] = []
        seen_services: list[ListedService] = []
        for cert in certificate_chain:
            digest, ski, thumbprint = self._match_keys(cert)
            matches: list[tuple[str, tuple[ListedService, ...]]] = [
                ("certificate", self._by_certificate.get(digest, ()))
            ]
            if ski is not None:
                matches.append(("ski", self._by_ski.get(ski, ())))
            if thumbprint is not None:
                matches.append(("public_key", self._by_thumbprint.get(thumbprint, ())))
            for how, services in matches:
                for service in services:
                    # A listed certificate matches by hash, SKI and key at once; report each
                    # service once, by its strongest match nearest the leaf.
                    if any(service is seen for seen in seen_services):
                        continue
                    if service_type is None or service.service_type == service_type:
                        seen_services.append(service)
                        found.append(replace(service, matched_certificate=cert, matched_by=how))
        return tuple(found)

    def _match_keys(self, cert: x509.Certificate) -> tuple[bytes, bytes | None, str | None]:
        known = self._keys_of.get(cert)
        if known is None:
            known = (
                hashlib.sha256(certificate_to_der(cert)).digest(),
                _computed_ski(cert),
                _cert_thumbprint(cert),
            )
            if len(self._keys_of) >= 4096:
                self._keys_of.clear()
            self._keys_of[cert] = known
        return known

    def find_service(
        self, *, certificate_chain: Sequence[x509.Certificate], service_type: str | None = None
    ) -> ListedService | None:
        """The best match of :meth:`find_services`, or None when the chain is not listed."""
        found = self.find_services(certificate_chain=certificate_chain, service_type=service_type)
        return found[0] if found else None


def _computed_ski(cert: x509.Certificate) -> bytes | None:
    # Computed from the key (RFC 5280 §4.2.1.2 method 1), never read from the
    # certificate's own extension: a certificate can claim any SKI it likes.
    try:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    except (ValueError, TypeError):
        return None


def _cert_thumbprint(cert: x509.Certificate) -> str | None:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return None
    try:
        return jwk_thumbprint(key)
    except PasserelleError:
        # Keys outside our JWK table (RSA, other curves) have no thumbprint here.
        return None


def _malformed(detail: str) -> PasserelleError:
    return PasserelleError(Reason.TRUST_LIST_MALFORMED, detail)


def _obj(value: JsonValue, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise _malformed(f"{where} is not an object")
    return value


def _arr(value: JsonValue, where: str) -> list[JsonValue]:
    if not isinstance(value, list):
        raise _malformed(f"{where} is not an array")
    return value


def _text(value: JsonValue, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _malformed(f"{where} is not a non-empty string")
    return value


def _opt_arr(value: JsonValue, where: str) -> list[JsonValue]:
    return [] if value is None else _arr(value, where)


def _read_time(value: JsonValue, where: str) -> datetime:
    text = _text(value, where)
    if not _DATE_TIME.fullmatch(text):
        raise _malformed(f"{where} is not a UTC date-time without fraction (clause 6.1.3)")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise _malformed(f"{where} is not a valid date-time") from exc


def _first_en(values: JsonValue, where: str) -> str:
    items = [_obj(v, where) for v in _arr(values, where)]
    if not items:
        raise _malformed(f"{where} is empty")
    for item in items:
        if item.get("lang") == "en":
            return _text(item.get("value"), where)
    return _text(items[0].get("value"), where)


def _check_schema(payload: JsonObject, schema: JsonObject) -> None:
    try:
        validator = Draft202012Validator(schema)
    except SchemaError as exc:
        raise local_error(Reason.SCHEMA_INVALID, f"LoTE schema: {exc.message}") from exc
    error = best_match(validator.iter_errors(payload))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path)
        raise _malformed(f"LoTE payload at /{path}: {error.message}")


def _check_profile(info: JsonObject, entities: list[JsonValue], profile: LoteProfile) -> None:
    """The annex rules a reader can check on a received list."""
    if info.get("StatusDeterminationApproach") != profile.status_determination_approach:
        raise _malformed("StatusDeterminationApproach does not match the LoTE type")
    rules = info.get("SchemeTypeCommunityRules")
    uris = (
        # A uriValue of another type (a list is not even hashable) counts as a mismatch.
        {_str_or_none(r.get("uriValue")) for r in rules if isinstance(r, dict)}
        if isinstance(rules, list)
        else set()
    )
    if uris != {profile.scheme_rules}:
        raise _malformed("SchemeTypeCommunityRules does not match the LoTE type")
    if info.get("SchemeTerritory") != "EU":
        raise _malformed("SchemeTerritory of an EU list is 'EU'")
    if info.get("HistoricalInformationPeriod") != profile.historical_information_period:
        raise _malformed("HistoricalInformationPeriod does not follow the profile")
    if ("PointersToOtherLoTE" in info) != profile.self_pointer:
        raise _malformed("PointersToOtherLoTE does not follow the profile")
    for i, entity in enumerate(entities):
        for j, svc in enumerate(
            _arr(_obj(entity, "entity").get("TrustedEntityServices"), "services")
        ):
            where = f"TrustedEntitiesList[{i}].TrustedEntityServices[{j}]"
            si = _obj(_obj(svc, where).get("ServiceInformation"), where)
            if _str_or_none(si.get("ServiceTypeIdentifier")) not in profile.service_types:
                raise _malformed(f"{where}: service type not allowed in this list")
            identity = _obj(si.get("ServiceDigitalIdentity"), where)
            if profile.certificates_required and not identity.get("X509Certificates"):
                raise _malformed(f"{where}: X.509 certificates are required")
            if not profile.statuses:
                if "ServiceStatus" in si or "StatusStartingTime" in si:
                    raise _malformed(f"{where}: ServiceStatus is not used in this list")
            elif (
                _str_or_none(si.get("ServiceStatus")) not in profile.statuses
                or "StatusStartingTime" not in si
            ):
                raise _malformed(f"{where}: ServiceStatus/StatusStartingTime missing or unknown")


def _decode_cert_val(value: JsonValue, where: str) -> x509.Certificate:
    item = _obj(value, where)
    try:
        der = base64.b64decode(_text(item.get("val"), where), validate=True)
        return load_certificate_der(der)
    except (binascii.Error, ValueError, PasserelleError) as exc:
        raise _malformed(f"{where}: not a base64 DER certificate") from exc


def _credential_types(si: JsonObject, where: str) -> tuple[str, ...]:
    out: list[str] = []
    for ext in _opt_arr(si.get("ServiceInformationExtensions"), where):
        if isinstance(ext, dict) and CREDENTIAL_TYPES_EXTENSION in ext:
            values = _arr(ext[CREDENTIAL_TYPES_EXTENSION], where)
            out.extend(_text(v, where) for v in values)
    return tuple(out)


_K = TypeVar("_K", bytes, str)


def _add(index: dict[_K, list[ListedService]], key: _K, service: ListedService) -> None:
    # Services are indexed one after the other, so a service already under this key (a
    # key its certificates share) can only be the last one. Comparing with every entry
    # (and copying a tuple per entry) made a list naming one key many times quadratic.
    present = index.setdefault(key, [])
    if not present or present[-1] is not service:
        present.append(service)


def _index(
    entities: list[JsonValue],
) -> tuple[
    tuple[ListedService, ...],
    dict[bytes, tuple[ListedService, ...]],
    dict[bytes, tuple[ListedService, ...]],
    dict[str, tuple[ListedService, ...]],
]:
    services: list[ListedService] = []
    by_cert: dict[bytes, list[ListedService]] = {}
    by_ski: dict[bytes, list[ListedService]] = {}
    by_tp: dict[str, list[ListedService]] = {}

    for i, entity_value in enumerate(entities):
        entity = _obj(entity_value, f"TrustedEntitiesList[{i}]")
        te_info = _obj(entity.get("TrustedEntityInformation"), "TrustedEntityInformation")
        entity_name = _first_en(te_info.get("TEName"), "TEName")
        for j, svc_value in enumerate(_arr(entity.get("TrustedEntityServices"), "services")):
            where = f"TrustedEntitiesList[{i}].TrustedEntityServices[{j}]"
            si = _obj(_obj(svc_value, where).get("ServiceInformation"), where)
            identity = _obj(si.get("ServiceDigitalIdentity"), f"{where}.ServiceDigitalIdentity")
            certs = tuple(
                _decode_cert_val(v, f"{where}.X509Certificates")
                for v in _opt_arr(identity.get("X509Certificates"), where)
            )
            status = si.get("ServiceStatus")
            started = si.get("StatusStartingTime")
            svc_type = si.get("ServiceTypeIdentifier")
            listed = ListedService(
                entity_name=entity_name,
                service_name=_first_en(si.get("ServiceName"), f"{where}.ServiceName"),
                service_type=svc_type if isinstance(svc_type, str) else None,
                status=_text(status, f"{where}.ServiceStatus") if status is not None else None,
                status_starting_time=None if started is None else _read_time(started, where),
                credential_types=_credential_types(si, where),
                listed_certificates=certs,
            )
            services.append(listed)
            for cert in certs:
                _add(by_cert, hashlib.sha256(certificate_to_der(cert)).digest(), listed)
                tp = _cert_thumbprint(cert)
                if tp is not None:
                    _add(by_tp, tp, listed)
                ski = _computed_ski(cert)
                if ski is not None:
                    _add(by_ski, ski, listed)
            for ski_value in _opt_arr(identity.get("X509SKIs"), where):
                try:
                    _add(by_ski, base64.b64decode(_text(ski_value, where), validate=True), listed)
                except (binascii.Error, ValueError) as exc:
                    raise _malformed(f"{where}.X509SKIs: not base64") from exc
            for jwk in _opt_arr(identity.get("PublicKeyValues"), where):
                try:
                    tp = jwk_thumbprint(load_public_jwk(_obj(jwk, where)))
                except PasserelleError:
                    continue  # a key type we do not speak cannot match our chains anyway
                _add(by_tp, tp, listed)
    return (
        tuple(services),
        {k: tuple(v) for k, v in by_cert.items()},
        {k: tuple(v) for k, v in by_ski.items()},
        {k: tuple(v) for k, v in by_tp.items()},
    )


def _verify_signature(
    token: str, operator_anchors: Sequence[x509.Certificate], now: datetime
) -> tuple[JsonObject, JsonObject, x509.Certificate, datetime]:
    signed = verify_jades_b(
        token,
        operator_anchors=operator_anchors,
        now=now,
        accepted_typ=_ACCEPTED_TYP,
        what="LoTE",
        max_bytes=MAX_LOTE_BYTES,
    )
    return signed.header, signed.payload, signed.signer, signed.signed_at


def verify_lote(
    token: str,
    *,
    operator_anchors: Sequence[x509.Certificate],
    now: datetime,
    last_seen_sequence: int | None = None,
    schema: JsonObject | None = None,
) -> VerifiedLote:
    """Verify a LoTE JWS and index it for look-ups, or raise ``trust.*``.

    In order: the ``x5c`` chain to ``operator_anchors`` (``trust.list_operator_untrusted``,
    with the x509 reason in the detail); the signature (``trust.list_signature_invalid``);
    the payload against ``schema`` when given, then our own reading of it and, for an EU
    list type, its annex (``trust.list_malformed``); the signer's subject against the
    operator (clause 6.8.0, ``trust.list_operator_untrusted``); ``NextUpdate`` passed or
    null (``trust.list_stale``: fail closed, clause 6.3.15); a sequence lower than
    ``last_seen_sequence`` (``trust.list_rollback``).
    """
    if now.tzinfo is None:
        raise local_error(Reason.INPUT_MALFORMED, "now must be a timezone-aware datetime")
    now = now.astimezone(UTC)
    _header, payload, signer, signed_at = _verify_signature(token, operator_anchors, now)
    if schema is not None:
        _check_schema(payload, schema)
    lote = _obj(payload.get("LoTE"), "LoTE")
    info = _obj(lote.get("ListAndSchemeInformation"), "ListAndSchemeInformation")
    if info.get("LoTEVersionIdentifier") != _VERSION:
        raise _malformed("LoTEVersionIdentifier is not 1")
    sequence = info.get("LoTESequenceNumber")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise _malformed("LoTESequenceNumber is not a positive integer")
    list_type = _text(info.get("LoTEType"), "LoTEType")
    entities = _arr(lote.get("TrustedEntitiesList", []), "TrustedEntitiesList")
    profile = PROFILES.get(list_type)
    if profile is not None:
        _check_profile(info, entities, profile)
    problem = _check_signer_subject(signer, info)
    if problem is not None:
        raise PasserelleError(Reason.TRUST_LIST_UNTRUSTED_OPERATOR, f"{problem} (clause 6.8.0)")
    issued_at = _read_time(info.get("ListIssueDateTime"), "ListIssueDateTime")
    if info.get("NextUpdate") is None:
        raise PasserelleError(Reason.TRUST_LIST_STALE, "the LoTE is closed (NextUpdate is null)")
    next_update = _read_time(info.get("NextUpdate"), "NextUpdate")
    if now >= next_update:
        raise PasserelleError(
            Reason.TRUST_LIST_STALE, f"NextUpdate {_date_time(next_update)} has passed"
        )
    if last_seen_sequence is not None and sequence < last_seen_sequence:
        raise PasserelleError(
            Reason.TRUST_LIST_ROLLBACK,
            f"LoTESequenceNumber {sequence} is lower than {last_seen_sequence} seen before",
        )
    services, by_cert, by_ski, by_tp = _index(entities)
    return VerifiedLote(
        list_type=list_type,
        operator_name=_first_en(info.get("SchemeOperatorName"), "SchemeOperatorName"),
        territory=_text(info.get("SchemeTerritory"), "SchemeTerritory"),
        sequence_number=sequence,
        issued_at=issued_at,
        next_update=next_update,
        signed_at=signed_at,
        signer=signer,
        payload=payload,
        services=services,
        _by_certificate=by_cert,
        _by_ski=by_ski,
        _by_thumbprint=by_tp,
    )
