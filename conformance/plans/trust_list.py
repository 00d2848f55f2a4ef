"""Plan ``trust-list``: lists of trusted entities (ETSI TS 119 602) and the trust registry
(ToIP TRQP v2, HTTPS binding).

The suite plays a relying party. For every list the targets file names it fetches the
compact JAdES JWS once and checks it property by property — media type, header, signature,
chain to the operator's anchor, schema, freshness, sequence, service types, listed
certificates, the self pointer — so that a partner sees which property is wrong, and then
runs Passerelle's reference verifier (:func:`passerelle.trust.verify_lote`) on it as a
relying party would. Each property check judges only its own property: a list whose
signature does not verify is not also reported stale.

For the registry it asks the TRQP questions whose answers the binding fixes (a known
entity, an unknown one, a malformed query, a known entity without that authorisation,
a recognition), checks the Problem Details of errors, verifies the signed registry
snapshot and reads the metadata endpoint (both our extensions).

Targets file settings (role ``trust-list``)::

    lists: [{url, anchor}]           anchor: a PKI entity name of suite.pki, or a PEM file
    registry_snapshot: {url, anchor}
    trqp: <base URL of the TRQP binding>
    trqp_known: {entity_id, authority_id?, action, resource, not_authorized?: {action, resource}}
    trqp_recognized: {entity_id, action, resource}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from passerelle import JsonObject, PasserelleError
from passerelle._json import parse_json_object
from passerelle.jose import UnverifiedJws, decode_unverified_jws, verify_jws
from passerelle.services.catalog import data_root
from passerelle.trust import (
    OPERATOR_ALGORITHMS,
    PROFILES,
    LoteProfile,
    format_trqp_time,
    parse_authorization_answer,
    parse_recognition_answer,
    verify_lote,
    verify_registry_snapshot,
)
from passerelle.x509 import (
    certificate_to_der,
    decode_unverified_x5c,
    load_certificate_der,
    load_certificate_pem,
    verify_x5c_chain,
)

from .._context import CheckContext
from .._model import CheckError, CheckFailed, CheckSkipped, ErrorClass, Requirement, Severity
from .._registry import check, expect

__all__: list[str] = []

PLAN = "trust-list"

_ETSI_602 = "ETSI TS 119 602 V1.1.1"
_ETSI_602_LINK = (
    "https://www.etsi.org/deliver/etsi_ts/119600_119699/119602/01.01.01_60/ts_119602v010101p.pdf"
)
_RFC7515 = "RFC 7515"
_RFC7515_LINK = "https://www.rfc-editor.org/rfc/rfc7515"
_TRQP = "ToIP TRQP v2.0"
_TRQP_LINK = "https://trustoverip.github.io/tswg-trust-registry-protocol/"
_RFC9457_LINK = "https://www.rfc-editor.org/rfc/rfc9457"

_LIST_MEDIA_TYPE = "application/jose"
_PROBLEM_MEDIA_TYPE = "application/problem+json"
# typ values peers put on a compact LoTE JWS (the reference verifier accepts the same).
_ACCEPTED_TYP = frozenset({"jose", "application/jose", "jwt"})
# Signing-certificate references of JAdES baseline B; one of them must be signed.
_SIGNING_CERT_REFERENCES = ("x5t#S256", "x5t#o", "sigX5ts")
_CLOCK_SKEW = timedelta(minutes=5)
_LOTE_TIME = "%Y-%m-%dT%H:%M:%SZ"


# --------------------------------------------------------------------------- plumbing


@dataclass(frozen=True, slots=True)
class _ListEntry:
    url: str
    anchor: str


@dataclass(frozen=True, slots=True)
class _ListDoc:
    """One list as the target served it: nothing here is verified."""

    entry: _ListEntry
    content_type: str
    token: str
    jws: UnverifiedJws
    payload: JsonObject

    @property
    def header(self) -> JsonObject:
        return self.jws.header

    @property
    def info(self) -> Mapping[str, Any]:
        lote = self.payload.get("LoTE")
        info = lote.get("ListAndSchemeInformation") if isinstance(lote, dict) else None
        return info if isinstance(info, dict) else {}

    @property
    def entities(self) -> list[Any]:
        lote = self.payload.get("LoTE")
        entities = lote.get("TrustedEntitiesList") if isinstance(lote, dict) else None
        return entities if isinstance(entities, list) else []

    @property
    def profile(self) -> LoteProfile | None:
        list_type = self.info.get("LoTEType")
        return PROFILES.get(list_type) if isinstance(list_type, str) else None

    @property
    def name(self) -> str:
        return self.entry.url.rsplit("/", 1)[-1]


def _entries(ctx: CheckContext) -> list[_ListEntry]:
    raw = ctx.target.require("lists")
    if not isinstance(raw, list) or not raw:
        raise CheckSkipped(f"`lists` of {ctx.target.name} is not a non-empty list")
    entries = []
    for i, item in enumerate(raw):
        url = item.get("url") if isinstance(item, dict) else None
        anchor = item.get("anchor") if isinstance(item, dict) else None
        if not isinstance(url, str) or not isinstance(anchor, str):
            raise CheckSkipped(f"`lists[{i}]` of {ctx.target.name} needs `url` and `anchor`")
        entries.append(_ListEntry(url=url, anchor=anchor))
    return entries


def _anchor(ctx: CheckContext, name: str) -> x509.Certificate:
    """A trust anchor: a PEM file, or an entity of the suite's development PKI."""
    path = Path(name)
    if name.endswith(".pem") or path.is_file():
        try:
            return load_certificate_pem(path.read_bytes())
        except (OSError, PasserelleError) as exc:
            raise CheckError(ErrorClass.SUITE, f"anchor {name}: {exc}") from exc
    if ctx.suite.pki_dir is None:
        raise CheckSkipped(
            f"anchor {name!r} names a PKI entity, but the targets file has no suite.pki"
        )
    pki_dir = ctx.suite.pki_dir

    def load() -> Any:
        from passerelle.services.pki import load_pki

        try:
            return load_pki(pki_dir)
        except PasserelleError as exc:
            raise CheckError(ErrorClass.SUITE, f"suite.pki {pki_dir}: {exc}") from exc

    pki = ctx.shared(f"trust-list:pki:{pki_dir}", load)
    try:
        anchor: x509.Certificate = pki.anchor(name)
    except PasserelleError as exc:
        raise CheckSkipped(f"anchor {name!r} is not an entity of suite.pki: {exc.detail}") from exc
    return anchor


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def _fetch_list(ctx: CheckContext, entry: _ListEntry) -> _ListDoc:
    response = ctx.http.get(entry.url)
    if response.status_code != 200:
        raise CheckFailed(f"{entry.url}: HTTP {response.status_code}, expected 200")
    token = response.text.strip()
    try:
        jws = decode_unverified_jws(token, what="list")
        payload = jws.payload_json(what="list payload")
    except PasserelleError as exc:
        raise CheckFailed(
            f"{entry.url} is not a compact JWS with a JSON payload: {exc.detail}"
        ) from exc
    return _ListDoc(
        entry=entry, content_type=_media_type(response), token=token, jws=jws, payload=payload
    )


def _list(ctx: CheckContext, entry: _ListEntry, *, owner: bool = False) -> _ListDoc:
    """The list as first fetched in this run; TL-02 owns the fetch and reports its failure."""
    key = f"{ctx.target.name}:lote:{entry.url}"
    return ctx.shared(key, lambda: _fetch_list(ctx, entry), prerequisite=not owner)


def _each_list(
    ctx: CheckContext, judge: Callable[[_ListDoc], str | None], *, owner: bool = False
) -> None:
    """Run ``judge`` on every list: it returns a problem, None when the list passes, or
    raises CheckSkipped when the property does not apply to that list. The check fails
    naming every list with a problem, and is skipped only when no list could be judged."""
    problems: dict[str, str] = {}
    skipped: dict[str, str] = {}
    judged = 0
    for entry in _entries(ctx):
        try:
            problem = judge(_list(ctx, entry, owner=owner))
        except CheckSkipped as exc:
            skipped[entry.url] = exc.message
            continue
        except CheckFailed as exc:
            problem = exc.message
        judged += 1
        if problem is not None:
            problems[entry.url] = problem
    ctx.record(lists_judged=judged, lists_skipped=skipped)
    if problems:
        raise CheckFailed(
            "; ".join(f"{url.rsplit('/', 1)[-1]}: {p}" for url, p in problems.items()),
            problems=problems,
        )
    if judged == 0:
        raise CheckSkipped("; ".join(f"{url}: {why}" for url, why in skipped.items()))


def _leaf(doc: _ListDoc) -> x509.Certificate:
    """The x5c leaf, or skipped: an unusable x5c is TL-02's finding, not this check's."""
    try:
        return decode_unverified_x5c(doc.header.get("x5c"))[0]
    except (PasserelleError, IndexError) as exc:
        raise CheckSkipped("the header has no usable x5c (see TL-02)") from exc


def _read_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _LOTE_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def _lote_schema(ctx: CheckContext) -> JsonObject:
    def load() -> JsonObject:
        path = data_root() / "trust_lists" / "schemas" / "lote.schema.json"
        return parse_json_object(path.read_bytes(), what="LoTE schema")

    schema: JsonObject = ctx.shared("trust-list:lote-schema", load)
    return schema


def _service_informations(doc: _ListDoc) -> list[tuple[str, Mapping[str, Any]]]:
    found: list[tuple[str, Mapping[str, Any]]] = []
    for i, entity in enumerate(doc.entities):
        services = entity.get("TrustedEntityServices") if isinstance(entity, dict) else None
        for j, service in enumerate(services if isinstance(services, list) else []):
            info = service.get("ServiceInformation") if isinstance(service, dict) else None
            where = f"TrustedEntitiesList[{i}].TrustedEntityServices[{j}]"
            found.append((where, info if isinstance(info, dict) else {}))
    return found


def _certificate_values(identity: object) -> list[object]:
    certs = identity.get("X509Certificates") if isinstance(identity, dict) else None
    return [c.get("val") if isinstance(c, dict) else c for c in certs or []]


def _parse_certificate(value: object) -> x509.Certificate | None:
    if not isinstance(value, str):
        return None
    try:
        return load_certificate_der(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, PasserelleError):
        return None


# --------------------------------------------------------------------------- lists


@check(
    "TL-01",
    "Lists are served as application/jose",
    plan=PLAN,
    requirement=Requirement(
        spec=_RFC7515,
        section="9.2",
        text='This section registers the "application/jose" media type [RFC2046] in the '
        '"Media Types" registry [IANA.MediaTypes] in the manner described in [RFC6838], '
        "which can be used to indicate that the content is a JWS or JWE using the JWS "
        "Compact Serialization or the JWE Compact Serialization.",
        link=f"{_RFC7515_LINK}#section-9.2",
    ),
    severity=Severity.RECOMMENDED,
)
def _tl_media_type(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        if doc.content_type != _LIST_MEDIA_TYPE:
            return f"served as {doc.content_type or 'no media type'!r}, not {_LIST_MEDIA_TYPE}"
        return None

    _each_list(ctx, judge)


@check(
    "TL-02",
    "Lists are compact JAdES JWS with the header members a relying party needs",
    plan=PLAN,
    requirement=Requirement(
        spec=_RFC7515,
        section="4.1.1",
        text="This Header Parameter MUST be present and MUST be understood and processed by "
        "implementations.",
        link=f"{_RFC7515_LINK}#section-4.1.1",
    ),
)
def _tl_header(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        header = doc.header
        alg = header.get("alg")
        if alg not in OPERATOR_ALGORITHMS:
            return f"alg {alg!r} is not one of {list(OPERATOR_ALGORITHMS)}"
        try:
            chain = decode_unverified_x5c(header.get("x5c"))
        except PasserelleError as exc:
            return f"x5c is missing or not base64 DER certificates, leaf first: {exc.detail}"
        if not chain:
            return "x5c is empty"
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP):
            return f"typ {typ!r} is not one of {sorted(_ACCEPTED_TYP)}"
        iat, sig_t = header.get("iat"), header.get("sigT")
        if not (isinstance(iat, int) and not isinstance(iat, bool)) and not isinstance(sig_t, str):
            return "neither iat (a NumericDate) nor sigT gives the claimed signing time"
        if not any(name in header for name in _SIGNING_CERT_REFERENCES):
            return f"no signing-certificate reference ({', '.join(_SIGNING_CERT_REFERENCES)})"
        thumbprint = header.get("x5t#S256")
        if thumbprint is not None:
            digest = hashlib.sha256(certificate_to_der(chain[0])).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            if thumbprint != expected:
                return "x5t#S256 is not the SHA-256 thumbprint of the x5c leaf"
        return None

    _each_list(ctx, judge, owner=True)


@check(
    "TL-03",
    "List signatures verify with the key of the x5c leaf",
    plan=PLAN,
    requirement=Requirement(
        spec=_RFC7515,
        section="5.2",
        text="Validate the JWS Signature against the JWS Signing Input "
        "ASCII(BASE64URL(UTF8(JWS Protected Header)) || '.' || BASE64URL(JWS Payload)) in "
        "the manner defined for the algorithm being used, which MUST be accurately "
        'represented by the value of the "alg" (algorithm) Header Parameter, which MUST be '
        "present.",
        link=f"{_RFC7515_LINK}#section-5.2",
    ),
)
def _tl_signature(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        key = _leaf(doc).public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise CheckSkipped("the x5c leaf key is not an EC or Ed25519 key (see TL-02)")
        if doc.header.get("alg") not in OPERATOR_ALGORITHMS:
            raise CheckSkipped("the alg is not one the suite verifies (see TL-02)")
        try:
            verify_jws(doc.jws, key=key, algorithms=OPERATOR_ALGORITHMS, what="list")
        except PasserelleError as exc:
            return f"the signature does not verify with the x5c leaf key: {exc.reason}"
        return None

    _each_list(ctx, judge)


@check(
    "TL-04",
    "The list signer's x5c chains to the scheme operator's trust anchor",
    plan=PLAN,
    requirement=Requirement(
        spec=_RFC7515,
        section="4.1.6",
        text="The recipient MUST validate the certificate chain according to RFC 5280 "
        "[RFC5280] and consider the certificate or certificate chain to be invalid if any "
        "validation failure occurs.",
        link=f"{_RFC7515_LINK}#section-4.1.6",
    ),
    catches=("trust:wrong_signer",),
)
def _tl_chain(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        x5c = doc.header.get("x5c")
        if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
            raise CheckSkipped("the header has no usable x5c (see TL-02)")
        anchor = _anchor(ctx, doc.entry.anchor)
        try:
            verify_x5c_chain([str(c) for c in x5c], anchors=[anchor], now=ctx.now())
        except PasserelleError as exc:
            return (
                f"x5c does not chain to the anchor {doc.entry.anchor} "
                f"({anchor.subject.rfc4514_string()}): {exc.reason}: {exc.detail}"
            )
        return None

    _each_list(ctx, judge)


@check(
    "TL-05",
    "List payloads validate against the LoTE JSON schema",
    plan=PLAN,
    requirement=Requirement(
        spec=_ETSI_602,
        section="Annex A (schema files of the bindings)",
        text="This document is part of ETSI TS 119 602. In the event that any part of this "
        "document is in conflict with the text of TS 119 602 then that text shall prevail "
        "as the authoritative source",
        link="https://forge.etsi.org/rep/esi/x19_60201_lists_of_trusted_entities",
    ),
)
def _tl_schema(ctx: CheckContext) -> None:
    validator = Draft202012Validator(_lote_schema(ctx))

    def judge(doc: _ListDoc) -> str | None:
        error = best_match(validator.iter_errors(doc.payload))
        if error is None:
            return None
        path = "/".join(str(p) for p in error.absolute_path)
        return f"at /{path}: {error.message}"

    _each_list(ctx, judge)


@check(
    "TL-06",
    "Lists are fresh: issued and signed in the past, NextUpdate still ahead",
    plan=PLAN,
    requirement=Requirement(
        spec="Passerelle trust framework (applying ETSI TS 119 602)",
        section="6.3.15 Next update",
        # Our framework's rule, stated in its own words: the ETSI field definition of
        # NextUpdate is not at hand verbatim, and a paraphrase must not pose as a quote.
        text="A relying party MUST NOT rely on a list whose NextUpdate has passed or whose "
        "issue time lies in the future: a stale list fails closed.",
        link=_ETSI_602_LINK,
    ),
    catches=("trust:stale_lists",),
)
def _tl_fresh(ctx: CheckContext) -> None:
    now = ctx.now()

    def judge(doc: _ListDoc) -> str | None:
        info = doc.info
        issued = _read_time(info.get("ListIssueDateTime"))
        if issued is None:
            return "ListIssueDateTime is missing or not a UTC date-time (clause 6.1.3)"
        if info.get("NextUpdate") is None:
            return "NextUpdate is null: the list is closed"
        next_update = _read_time(info.get("NextUpdate"))
        if next_update is None:
            return "NextUpdate is not a UTC date-time (clause 6.1.3)"
        if issued > now + _CLOCK_SKEW:
            return f"ListIssueDateTime {info['ListIssueDateTime']} is in the future"
        iat = doc.header.get("iat")
        if isinstance(iat, int) and datetime.fromtimestamp(iat, UTC) > now + _CLOCK_SKEW:
            return "the signing time (iat) is in the future"
        if next_update <= issued:
            return "NextUpdate is not later than ListIssueDateTime"
        if next_update <= now:
            return f"NextUpdate {info['NextUpdate']} has passed: the list is stale"
        return None

    _each_list(ctx, judge)


@check(
    "TL-07",
    "Sequence numbers are present and never go back between fetches",
    plan=PLAN,
    requirement=Requirement(
        spec=_ETSI_602,
        section="6.3.2 LoTE sequence number",
        text="The value shall be incremented at each subsequent release of the LoTE and "
        'shall not, under any circumstance, be re-cycled to "1" or to any value lower than '
        "the one of the LoTE currently in force.",
        link=_ETSI_602_LINK,
    ),
    catches=("trust:sequence_regression",),
)
def _tl_sequence(ctx: CheckContext) -> None:
    def sequence(payload: JsonObject) -> int | None:
        lote = payload.get("LoTE")
        info = lote.get("ListAndSchemeInformation") if isinstance(lote, dict) else None
        value = info.get("LoTESequenceNumber") if isinstance(info, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return None
        return value

    def judge(doc: _ListDoc) -> str | None:
        first = sequence(doc.payload)
        if first is None:
            return "LoTESequenceNumber is missing or not a positive integer"
        again = ctx.http.get(doc.entry.url)
        if again.status_code != 200:
            return f"the second fetch answered HTTP {again.status_code}"
        try:
            payload = decode_unverified_jws(again.text.strip()).payload_json()
        except PasserelleError as exc:
            return f"the second fetch is not a compact JWS: {exc.detail}"
        second = sequence(payload)
        if second is None:
            return "the second fetch has no positive LoTESequenceNumber"
        if second < first:
            return f"LoTESequenceNumber went back from {first} to {second} between two fetches"
        return None

    _each_list(ctx, judge)


@check(
    "TL-08",
    "Lists are of an EU LoTE type and name only that profile's service types",
    plan=PLAN,
    requirement=Requirement(
        spec="Passerelle trust framework (applying ETSI TS 119 602)",
        section="tables D.3, F.3, H.3",
        # The profile tables' own wording is not at hand verbatim; this is our rule,
        # stated as ours, that the tables' service-type rows be honoured.
        text="A list of an EU LoTE profile MUST name its profile's LoTE type and MUST list "
        "only the service type URIs that profile defines.",
        link=_ETSI_602_LINK,
    ),
)
def _tl_service_types(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        profile = doc.profile
        if profile is None:
            raise CheckSkipped(
                f"LoTEType {doc.info.get('LoTEType')!r} is not an EU profile this suite knows"
            )
        wrong = [
            f"{where}: {info.get('ServiceTypeIdentifier')!r}"
            for where, info in _service_informations(doc)
            if info.get("ServiceTypeIdentifier") not in profile.service_types
        ]
        if wrong:
            return (
                f"service types not of {profile.lote_type} "
                f"(allowed: {sorted(profile.service_types)}): {'; '.join(wrong[:3])}"
            )
        return None

    _each_list(ctx, judge)


@check(
    "TL-09",
    "Listed services carry X.509 certificates that parse",
    plan=PLAN,
    requirement=Requirement(
        spec=_ETSI_602,
        section="Annex D, table D.3 (ServiceDigitalIdentity)",
        text="The ServiceDigitalIdentity component shall contain one or more X.509 "
        "certificates that can be used to verify the signature or seal created by the "
        "provider of person identification data on the person identification data it "
        "provides, and for which the certified identity data include the name, and where "
        "applicable, the registration number of the person identification data provider, "
        "as specified in the TEName and TETradeName components respectively.",
        link=_ETSI_602_LINK,
    ),
)
def _tl_certificates(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        services = _service_informations(doc)
        if not services:
            raise CheckSkipped("the list names no services")
        required = doc.profile is None or doc.profile.certificates_required
        problems = []
        for where, info in services:
            values = _certificate_values(info.get("ServiceDigitalIdentity"))
            if required and not values:
                problems.append(f"{where} has no X509Certificates")
            problems += [
                f"{where}.X509Certificates[{k}] is not a base64 DER certificate"
                for k, value in enumerate(values)
                if _parse_certificate(value) is None
            ]
        return "; ".join(problems[:3]) if problems else None

    _each_list(ctx, judge)


@check(
    "TL-10",
    "A list's pointer to itself names the certificate that signed it",
    plan=PLAN,
    requirement=Requirement(
        spec=_ETSI_602,
        section="6.3.13 Pointers to other LoTEs",
        text="One of such digital identities shall allow successful authentication of the "
        "pointed-to list before its use.",
        link=_ETSI_602_LINK,
    ),
    catches=("trust:wrong_signer",),
)
def _tl_self_pointer(ctx: CheckContext) -> None:
    def judge(doc: _ListDoc) -> str | None:
        pointers = doc.info.get("PointersToOtherLoTE")
        profile = doc.profile
        if not isinstance(pointers, list) or not pointers:
            if profile is not None and profile.self_pointer:
                return "PointersToOtherLoTE is missing (the EU profile requires a self pointer)"
            raise CheckSkipped("the list points to no LoTE")
        signer = certificate_to_der(_leaf(doc))
        named: list[bytes] = []
        for pointer in pointers:
            identities = (
                pointer.get("ServiceDigitalIdentities") if isinstance(pointer, dict) else None
            )
            for identity in identities if isinstance(identities, list) else []:
                for value in _certificate_values(identity):
                    cert = _parse_certificate(value)
                    if cert is not None:
                        named.append(certificate_to_der(cert))
        if signer not in named:
            return "no digital identity in PointersToOtherLoTE is the certificate that signed it"
        return None

    _each_list(ctx, judge)


@check(
    "TL-11",
    "Lists are accepted by the reference relying-party verifier",
    plan=PLAN,
    requirement=Requirement(
        spec=_ETSI_602,
        section="6.3.13, 6.8",
        text="One of such digital identities shall allow successful authentication of the "
        "pointed-to list before its use.",
        link=_ETSI_602_LINK,
    ),
    catches=("trust:stale_lists", "trust:wrong_signer"),
)
def _tl_reference(ctx: CheckContext) -> None:
    schema = _lote_schema(ctx)

    def judge(doc: _ListDoc) -> str | None:
        anchor = _anchor(ctx, doc.entry.anchor)
        try:
            verified = verify_lote(
                doc.token, operator_anchors=[anchor], now=ctx.now(), schema=schema
            )
        except PasserelleError as exc:
            return f"passerelle.trust.verify_lote refuses it: {exc.reason}: {exc.detail}"
        ctx.record(**{f"{doc.name}.sequence": verified.sequence_number})
        return None

    _each_list(ctx, judge)


# --------------------------------------------------------------------------- registry


def _trqp_base(ctx: CheckContext) -> str:
    base = ctx.target.require("trqp")
    if not isinstance(base, str):
        raise CheckSkipped(f"`trqp` of {ctx.target.name} is not a URL")
    return base.rstrip("/")


def _mapping_setting(ctx: CheckContext, name: str, *members: str) -> Mapping[str, Any]:
    value = ctx.target.require(name)
    if not isinstance(value, dict) or not all(isinstance(value.get(m), str) for m in members):
        raise CheckSkipped(f"`{name}` of {ctx.target.name} needs {', '.join(members)}")
    return value


def _metadata(ctx: CheckContext) -> httpx.Response:
    base = _trqp_base(ctx)
    response: httpx.Response = ctx.shared(
        f"{ctx.target.name}:trqp-metadata", lambda: ctx.http.get(f"{base}/metadata")
    )
    return response


def _authority(ctx: CheckContext) -> str:
    known = _mapping_setting(ctx, "trqp_known", "entity_id", "action", "resource")
    authority = known.get("authority_id")
    if isinstance(authority, str):
        return authority
    response = _metadata(ctx)
    try:
        body = response.json()
    except ValueError:
        body = None
    named = body.get("authority_id") if isinstance(body, dict) else None
    if not isinstance(named, str):
        raise CheckSkipped(
            "no `trqp_known.authority_id` in the targets file, and the metadata endpoint names none"
        )
    return named


def _query(ctx: CheckContext, kind: str, body: JsonObject | bytes) -> httpx.Response:
    url = f"{_trqp_base(ctx)}/{kind}"
    content = body if isinstance(body, bytes) else None
    return ctx.http.post(
        url,
        json=None if isinstance(body, bytes) else body,
        content=content,
        headers={"Content-Type": "application/json"},
    )


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _expect_echo(query: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
    for name in ("entity_id", "authority_id", "action", "resource"):
        expect(
            answer.get(name) == query[name],
            f"the answer's {name} is {answer.get(name)!r}, not the {query[name]!r} asked about",
        )


def _expect_problem(response: httpx.Response, status: int, what: str) -> None:
    """``status`` with a Problem Details object (RFC 9457 §3.1: type, title, status)."""
    expect(
        response.status_code == status,
        f"{what}: expected HTTP {status} with Problem Details, got HTTP {response.status_code}",
        status=response.status_code,
    )
    body = _body(response)
    if not isinstance(body, dict):
        raise CheckFailed(f"{what}: the HTTP {status} body is not a JSON object")
    missing = [
        name
        for name, kind in (("type", str), ("title", str), ("status", int))
        if not isinstance(body.get(name), kind)
    ]
    expect(not missing, f"{what}: the Problem Details lack {', '.join(missing)}", body=body)
    expect(
        body["status"] == status,
        f"{what}: the Problem Details say status {body['status']}, the response {status}",
    )


def _now_query(
    ctx: CheckContext, entity_id: str, authority_id: str, action: str, resource: str
) -> JsonObject:
    return {
        "entity_id": entity_id,
        "authority_id": authority_id,
        "action": action,
        "resource": resource,
        "context": {"time": format_trqp_time(ctx.now())},
    }


@check(
    "TRQP-01",
    "An authorization query for an authorised entity answers 200, authorized true, echoing it",
    plan=PLAN,
    requirement=Requirement(
        spec=_TRQP,
        section="Authorization Query and Response Schemas",
        text="TRQP authorization queries and responses MUST conform to the JSON schemas "
        "defined in this section.",
        link=f"{_TRQP_LINK}#authorization-query-and-response-schemas",
    ),
)
def _trqp_known(ctx: CheckContext) -> None:
    known = _mapping_setting(ctx, "trqp_known", "entity_id", "action", "resource")
    query = _now_query(ctx, known["entity_id"], _authority(ctx), known["action"], known["resource"])
    response = _query(ctx, "authorization", query)
    expect(
        response.status_code == 200,
        f"expected HTTP 200, got HTTP {response.status_code}",
        status=response.status_code,
    )
    expect(
        _media_type(response) == "application/json",
        f"the answer is {_media_type(response)!r}, not application/json",
    )
    body = ctx.json_object(response, "authorization answer")
    try:
        answer = parse_authorization_answer(body)
    except PasserelleError as exc:
        raise CheckFailed(
            f"the answer breaks the response schema: {exc.detail}", body=body
        ) from exc
    _expect_echo(query, body)
    expect(answer.authorized is True, f"authorized is {body.get('authorized')!r}, expected true")


@check(
    "TRQP-02",
    "An unknown entity answers 404 with Problem Details, not an answer",
    plan=PLAN,
    requirement=Requirement(
        spec=_TRQP,
        section="Conformance: TRQP HTTPS Binding Conformance, 4",
        text="TRQP endpoints MUST return error responses using the Problem Details for HTTP "
        "APIs format with appropriate HTTP status codes.",
        link=f"{_TRQP_LINK}#trqp-https-binding-conformance",
    ),
    catches=("trust:trqp_unknown_as_unauthorized",),
)
def _trqp_unknown_entity(ctx: CheckContext) -> None:
    known = _mapping_setting(ctx, "trqp_known", "entity_id", "action", "resource")
    unknown = known["entity_id"].rstrip("/") + "/passerelle-conformance-unknown-entity"
    query = _now_query(ctx, unknown, _authority(ctx), known["action"], known["resource"])
    response = _query(ctx, "authorization", query)
    if response.status_code == 200:
        raise CheckFailed(
            f"an entity the registry does not know got HTTP 200 ({_body(response)!r}): "
            "the binding answers 404 (entity not recognized), which a relying party must "
            "not confuse with a known entity that is not authorized",
            status=200,
        )
    _expect_problem(response, 404, "unknown entity")


@check(
    "TRQP-03",
    "A malformed query answers 400 with Problem Details",
    plan=PLAN,
    requirement=Requirement(
        spec=_TRQP,
        section="Conformance: TRQP HTTPS Binding Conformance, 4",
        text="TRQP endpoints MUST return error responses using the Problem Details for HTTP "
        "APIs format with appropriate HTTP status codes.",
        link=f"{_TRQP_LINK}#error-handling",
    ),
)
def _trqp_malformed(ctx: CheckContext) -> None:
    known = _mapping_setting(ctx, "trqp_known", "entity_id", "action", "resource")
    query = _now_query(ctx, known["entity_id"], _authority(ctx), known["action"], known["resource"])
    del query["resource"]
    _expect_problem(_query(ctx, "authorization", query), 400, "query without resource")
    _expect_problem(_query(ctx, "authorization", b'{"entity_id": '), 400, "invalid JSON")


@check(
    "TRQP-04",
    "Errors are served as application/problem+json with a matching status",
    plan=PLAN,
    requirement=Requirement(
        spec="RFC 9457",
        section="3, 3.1.2",
        text="When serialized in a JSON document, that format is identified with the "
        '"application/problem+json" media type. [...] Generators MUST use the same status '
        "code in the actual HTTP response, to assure that generic HTTP software that does "
        "not understand this format still behaves correctly.",
        link=f"{_RFC9457_LINK}#section-3",
    ),
    catches=("trust:trqp_plain_json_errors",),
)
def _trqp_problem_media_type(ctx: CheckContext) -> None:
    known = _mapping_setting(ctx, "trqp_known", "entity_id", "action", "resource")
    query = _now_query(ctx, known["entity_id"], _authority(ctx), known["action"], known["resource"])
    del query["resource"]
    malformed = _query(ctx, "authorization", query)
    unknown_authority = _query(
        ctx,
        "authorization",
        _now_query(
            ctx,
            known["entity_id"],
            "https://authority.invalid/passerelle-conformance",
            known["action"],
            known["resource"],
        ),
    )
    problems = []
    for what, response in (
        ("malformed query", malformed),
        ("unknown authority", unknown_authority),
    ):
        if response.status_code < 400:
            raise CheckSkipped(
                f"the {what} was not refused (HTTP {response.status_code}); see TRQP-02/03"
            )
        if _media_type(response) != _PROBLEM_MEDIA_TYPE:
            problems.append(
                f"the {what} error (HTTP {response.status_code}) is "
                f"{_media_type(response) or 'untyped'!r}, not {_PROBLEM_MEDIA_TYPE}"
            )
        body = _body(response)
        if isinstance(body, dict) and "status" in body and body["status"] != response.status_code:
            problems.append(
                f"the {what} error says status {body['status']} in an HTTP {response.status_code}"
            )
    expect(not problems, "; ".join(problems))


@check(
    "TRQP-05",
    "A known entity not authorised for an action and resource answers 200, authorized false",
    plan=PLAN,
    requirement=Requirement(
        spec=_TRQP,
        section="Conformance: TRQP HTTPS Binding Conformance, 5",
        text="TRQP endpoints MUST return HTTP 200 for successful queries with a JSON body "
        "conforming to the appropriate response schema.",
        link=f"{_TRQP_LINK}#trqp-https-binding-conformance",
    ),
)
def _trqp_not_authorized(ctx: CheckContext) -> None:
    known = _mapping_setting(ctx, "trqp_known", "entity_id", "action", "resource")
    denied = known.get("not_authorized")
    if not isinstance(denied, dict) or not all(
        isinstance(denied.get(m), str) for m in ("action", "resource")
    ):
        raise CheckSkipped(
            f"`trqp_known.not_authorized` ({{action, resource}}) of {ctx.target.name} is not given"
        )
    query = _now_query(
        ctx, known["entity_id"], _authority(ctx), denied["action"], denied["resource"]
    )
    response = _query(ctx, "authorization", query)
    expect(
        response.status_code == 200,
        f"a known entity asked about an action it is not authorised for got HTTP "
        f"{response.status_code}; the binding answers 200 with authorized false (404 is for "
        "what the registry does not know)",
        status=response.status_code,
    )
    body = ctx.json_object(response, "authorization answer")
    try:
        answer = parse_authorization_answer(body)
    except PasserelleError as exc:
        raise CheckFailed(
            f"the answer breaks the response schema: {exc.detail}", body=body
        ) from exc
    _expect_echo(query, body)
    expect(answer.authorized is False, f"authorized is {body.get('authorized')!r}, expected false")


@check(
    "TRQP-06",
    "A recognition query for a recognised authority answers 200, recognized true",
    plan=PLAN,
    requirement=Requirement(
        spec=_TRQP,
        section="Recognition Query and Response Schemas",
        text="TRQP recognition queries and responses MUST conform to the JSON schemas "
        "defined in this section.",
        link=f"{_TRQP_LINK}#recognition-query-and-response-schemas",
    ),
)
def _trqp_recognition(ctx: CheckContext) -> None:
    recognized = _mapping_setting(ctx, "trqp_recognized", "entity_id", "action", "resource")
    query = _now_query(
        ctx,
        recognized["entity_id"],
        _authority(ctx),
        recognized["action"],
        recognized["resource"],
    )
    response = _query(ctx, "recognition", query)
    expect(
        response.status_code == 200,
        f"expected HTTP 200, got HTTP {response.status_code}",
        status=response.status_code,
    )
    body = ctx.json_object(response, "recognition answer")
    try:
        answer = parse_recognition_answer(body)
    except PasserelleError as exc:
        raise CheckFailed(
            f"the answer breaks the response schema: {exc.detail}", body=body
        ) from exc
    _expect_echo(query, body)
    expect(answer.recognized is True, f"recognized is {body.get('recognized')!r}, expected true")


@check(
    "TRQP-07",
    "The signed registry snapshot verifies against the registry operator's anchor",
    plan=PLAN,
    requirement=Requirement(
        spec=_RFC7515,
        section="4.1.6",
        text="The recipient MUST validate the certificate chain according to RFC 5280 "
        "[RFC5280] and consider the certificate or certificate chain to be invalid if any "
        "validation failure occurs.",
        link=f"{_RFC7515_LINK}#section-4.1.6",
    ),
)
def _trqp_snapshot(ctx: CheckContext) -> None:
    snapshot = _mapping_setting(ctx, "registry_snapshot", "url", "anchor")
    anchor = _anchor(ctx, snapshot["anchor"])
    response = ctx.http.get(snapshot["url"])
    expect(
        response.status_code == 200,
        f"{snapshot['url']}: HTTP {response.status_code}, expected 200",
        status=response.status_code,
    )
    try:
        verified = verify_registry_snapshot(
            response.text.strip(), operator_anchors=[anchor], now=ctx.now()
        )
    except PasserelleError as exc:
        raise CheckFailed(f"the snapshot does not verify: {exc.reason}: {exc.detail}") from exc
    ctx.record(
        sequence=verified.sequence_number,
        next_update=verified.next_update.isoformat(),
        authority_id=verified.registry.authority_id,
    )


@check(
    "TRQP-08",
    "The registry's metadata states the TRQP version it speaks",
    plan=PLAN,
    requirement=Requirement(
        spec=_TRQP,
        section="Versioning: Protocol Versioning, 4",
        text="Implementations SHOULD include the TRQP specification version they conform to "
        "in their documentation or service metadata.",
        link=f"{_TRQP_LINK}#protocol-versioning",
    ),
    severity=Severity.RECOMMENDED,
)
def _trqp_metadata(ctx: CheckContext) -> None:
    response = _metadata(ctx)
    expect(
        response.status_code == 200,
        f"GET {_trqp_base(ctx)}/metadata answered HTTP {response.status_code}, expected 200",
        status=response.status_code,
    )
    body = ctx.json_object(response, "registry metadata")
    version = body.get("trqp_version")
    expect(
        isinstance(version, str) and version.split(".", 1)[0] == "2",
        f"trqp_version is {version!r}, expected a 2.x version",
    )
    authority = body.get("authority_id")
    expect(isinstance(authority, str) and authority, "the metadata names no authority_id")
    ctx.record(trqp_version=version, authority_id=authority)
