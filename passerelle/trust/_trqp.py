"""The Trust over IP Trust Registry Query Protocol v2 (TRQP), as data: queries in, answers out.

Spec read: ToIP "Trust Registry Query Protocol (TRQP) Specification", version 2.0,
Public Review 02, repository ``trustoverip/tswg-trust-registry-protocol`` at commit
``0b6c24b6436a4ec9884b67c3391c986a6dc787ff`` (2026-03-05): ``specification/v2/core/``
``api.md``, ``identifiers.md``, ``https_binding.md``, ``schema/trqp_*.schema.json``,
``conformance.md`` and ``versioning.md``. Field names and the request/response shapes
come from those JSON Schemas. The OpenAPI file ``specification/v2/bindings/restful/
swagger.yaml`` was removed from the spec on 2025-10-20 (commit 5feea4d, "unused"); its
last version disagrees with the schemas (it requires an ``assertion_id`` and names
``authorization_verified``), so the schemas win here.

What the spec says and we follow:

- An authorization query asks "does ``authority_id`` authorize ``entity_id`` to take
  ``action`` on ``resource``", a recognition query "does ``authority_id`` recognize
  ``entity_id`` (another authority) as authoritative for ``action`` on ``resource``".
  All four members are required strings; identifiers are RFC 3986 strings; ``action``
  and ``resource`` are non-empty (identifiers.md, conformance.md §TRQP Endpoint 2).
- ``context`` is an optional object whose members are strings; ``context.time`` is an
  RFC 3339 date-time "using only Z (+00:00) offset" and is the time as of which the
  statement is evaluated; without it the registry's current time is used. Context
  members we do not know are ignored (versioning.md, Extensibility 2) but echoed back.
- Top-level members we do not know are ignored (versioning.md, Backwards
  Compatibility 3).
- Answers carry ``entity_id``, ``authority_id``, ``action``, ``resource``,
  ``authorized``/``recognized``, ``time_evaluated`` (when the registry ran the query),
  ``time_requested`` (the ``context.time`` asked for, when one was), ``message`` and the
  ``context`` that was supplied.
- An unknown authority, entity, action or resource is an error (HTTPS binding: 404 with
  Problem Details), which is not the same as a known entity that is not authorized
  (200, ``authorized: false``). Malformed queries are 400.

Our extensions, named as such:

- ``standing`` in answers: why the answer is what it is (``in_effect``, ``no_record``,
  ``not_yet_valid``, ``expired``, ``terminated``, ``revoked``), so that a verifier can
  tell "withdrawn" from "never listed for that type" without parsing ``message``.
  TRQP v2 has no status vocabulary for records; ``current``/``expired``/``terminated``/
  ``revoked`` is ours.
- Signed answers: a compact JWS (``typ`` :data:`SIGNED_ANSWER_TYP`) whose payload is the
  answer object plus ``iat``, so that a verifier's trust evaluation can keep the answer
  as evidence. TRQP v2 defines no answer signing.
- Registry metadata (:func:`describe_registry`): TRQP v2 defines no metadata query; its
  versioning section asks implementations to state the version they conform to "in
  their documentation or service metadata", and identifiers.md asks actions and
  resources to be machine-discoverable. This is where we do both.
- The registry source format (:func:`parse_registry`) is ours; TRQP is read-only and
  leaves the system of record out of scope.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Generic, TypeVar

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from ..jose import PublicKey, Signer, epoch, sign_jws, verify_jws

__all__ = [
    "SIGNED_ANSWER_TYP",
    "SPEC_COMMIT",
    "TRQP_VERSION",
    "AuthorizationAnswer",
    "AuthorizationQuery",
    "RecognitionAnswer",
    "RecognitionQuery",
    "RecognitionRecord",
    "RecordStatus",
    "Registry",
    "RegistryRecord",
    "Standing",
    "answer_authorization",
    "answer_recognition",
    "describe_registry",
    "format_trqp_time",
    "parse_authorization_answer",
    "parse_authorization_query",
    "parse_recognition_answer",
    "parse_recognition_query",
    "parse_registry",
    "sign_answer",
    "verify_signed_answer",
    "verify_signed_recognition_answer",
]

TRQP_VERSION = "2.0"
"""The TRQP version this module speaks (versioning.md asks services to say it)."""
SPEC_COMMIT = "0b6c24b6436a4ec9884b67c3391c986a6dc787ff"
"""The commit of trustoverip/tswg-trust-registry-protocol this module was written from."""
SIGNED_ANSWER_TYP = "trqp-answer+jwt"
"""``typ`` of a signed answer (our extension)."""

MAX_IDENTIFIER_LENGTH = 2048

# RFC 3986 §2: unreserved, reserved and pct-encoded characters; nothing else.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3339 §5.6 date-time; the offset group is checked separately.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RecordStatus(enum.StrEnum):
    """Status of a registry record as the registry operator set it (ours; see module doc)."""

    CURRENT = "current"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    REVOKED = "revoked"


class Standing(enum.StrEnum):
    """Why an answer is what it is (our ``standing`` extension member)."""

    IN_EFFECT = "in_effect"
    NO_RECORD = "no_record"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    REVOKED = "revoked"


# --------------------------------------------------------------------------- times


def format_trqp_time(when: datetime) -> str:
    """RFC 3339 in UTC with the ``Z`` offset, to the second, as TRQP's schemas ask."""
    if when.tzinfo is None:
        raise local_error(Reason.TRQP_MALFORMED_QUERY, "TRQP times must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str, *, utc_only: bool, reason: Reason, what: str) -> datetime:
    parsed = _read_rfc3339(value, utc_only)
    if isinstance(parsed, str):
        raise PasserelleError(reason, f"{what} {parsed}")
    return parsed


@lru_cache(maxsize=4096)
def _read_rfc3339(value: str, utc_only: bool) -> datetime | str:
    # Pure and memoised: the records of a large registry share a few validity dates.
    match = _RFC3339.fullmatch(value)
    if match is None:
        return "is not an RFC 3339 date-time"
    offset = match.group(8)
    if utc_only and offset not in ("Z", "z", "+00:00"):
        return "must use the Z (+00:00) offset"
    if offset == "-00:00":
        # RFC 3339 §4.3: -00:00 means "offset unknown", which cannot place a moment in time.
        return "has an unknown local offset (-00:00)"
    fraction = (match.group(7) or "")[:7]  # Python keeps microseconds; more digits add nothing
    text = (
        f"{match.group(1)}-{match.group(2)}-{match.group(3)}T"
        f"{match.group(4)}:{match.group(5)}:{match.group(6)}{fraction}"
        f"{'+00:00' if offset in ('Z', 'z') else offset}"
    )
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        return f"is not a valid date-time: {exc}"


def _aware(now: datetime, what: str = "now") -> datetime:
    if now.tzinfo is None:
        raise local_error(Reason.TRQP_MALFORMED_QUERY, f"{what} must be a timezone-aware datetime")
    return now


def _evaluation_time(now: datetime) -> datetime:
    # Whole seconds, as time_evaluated goes on the wire, so that an answer read back
    # (or verified from its signed form) equals the one we built.
    return _aware(now).astimezone(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- identifiers


def _check_identifier(value: object, *, name: str, reason: Reason) -> str:
    if not isinstance(value, str):
        raise PasserelleError(reason, f"{name} is not a string")
    problem = _identifier_problem(value)
    if problem is not None:
        raise PasserelleError(reason, f"{name} {problem}")
    return value


@lru_cache(maxsize=1024)
def _identifier_problem(value: str) -> str | None:
    # Pure and memoised: the records of a large registry share a few actions and
    # resources.
    if not value:
        return "is empty"
    if len(value) > MAX_IDENTIFIER_LENGTH:
        return f"is longer than {MAX_IDENTIFIER_LENGTH}"
    if not _URI_CHARS.fullmatch(value) or _BAD_PERCENT.search(value):
        return "is not an RFC 3986 string"
    return None


def _check_context(value: object, *, reason: Reason) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise PasserelleError(reason, "context is not a JSON object")
    for key, item in value.items():
        if not isinstance(item, str):
            raise PasserelleError(reason, f"context member {key!r} is not a string")
    return MappingProxyType(dict(value))


# --------------------------------------------------------------------------- queries


def _context_time(context: Mapping[str, str] | None) -> datetime | None:
    if context is None or "time" not in context:
        return None
    return _parse_time(
        context["time"], utc_only=True, reason=Reason.TRQP_MALFORMED_QUERY, what="context.time"
    )


def _query_json(
    entity_id: str,
    authority_id: str,
    action: str,
    resource: str,
    context: Mapping[str, str] | None,
) -> JsonObject:
    out: JsonObject = {
        "entity_id": entity_id,
        "authority_id": authority_id,
        "action": action,
        "resource": resource,
    }
    if context is not None:
        out["context"] = dict(context)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationQuery:
    """Does ``authority_id`` authorize ``entity_id`` to take ``action`` on ``resource``?

    ``time`` is ``context.time`` parsed; ``None`` means "at the registry's current time".
    A query that breaks the request schema cannot be built (``trqp.malformed_query``).
    """

    entity_id: str
    authority_id: str
    action: str
    resource: str
    context: Mapping[str, str] | None = None
    time: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for name in ("entity_id", "authority_id", "action", "resource"):
            _check_identifier(getattr(self, name), name=name, reason=Reason.TRQP_MALFORMED_QUERY)
        if self.context is not None:
            checked = _check_context(self.context, reason=Reason.TRQP_MALFORMED_QUERY)
            object.__setattr__(self, "context", checked)
        object.__setattr__(self, "time", _context_time(self.context))

    def as_json(self) -> JsonObject:
        return _query_json(
            self.entity_id, self.authority_id, self.action, self.resource, self.context
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionQuery:
    """Does ``authority_id`` recognize ``entity_id`` as authoritative for ``action`` on
    ``resource``? ``entity_id`` is itself an authority (identifiers.md, entity_id 2)."""

    entity_id: str
    authority_id: str
    action: str
    resource: str
    context: Mapping[str, str] | None = None
    time: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for name in ("entity_id", "authority_id", "action", "resource"):
            _check_identifier(getattr(self, name), name=name, reason=Reason.TRQP_MALFORMED_QUERY)
        if self.context is not None:
            checked = _check_context(self.context, reason=Reason.TRQP_MALFORMED_QUERY)
            object.__setattr__(self, "context", checked)
        object.__setattr__(self, "time", _context_time(self.context))

    def as_json(self) -> JsonObject:
        return _query_json(
            self.entity_id, self.authority_id, self.action, self.resource, self.context
        )


def _query_members(body: JsonValue) -> tuple[str, str, str, str, Mapping[str, str] | None]:
    if not isinstance(body, dict):
        raise PasserelleError(Reason.TRQP_MALFORMED_QUERY, "the query is not a JSON object")
    values: list[str] = []
    for name in ("entity_id", "authority_id", "action", "resource"):
        if name not in body:
            raise PasserelleError(Reason.TRQP_MALFORMED_QUERY, f"{name} is required")
        values.append(_check_identifier(body[name], name=name, reason=Reason.TRQP_MALFORMED_QUERY))
    context = None
    if "context" in body:
        context = _check_context(body["context"], reason=Reason.TRQP_MALFORMED_QUERY)
    return values[0], values[1], values[2], values[3], context


def parse_authorization_query(body: JsonValue) -> AuthorizationQuery:
    """An authorization query from its parsed JSON body, or ``trqp.malformed_query``."""
    entity_id, authority_id, action, resource, context = _query_members(body)
    return AuthorizationQuery(
        entity_id=entity_id,
        authority_id=authority_id,
        action=action,
        resource=resource,
        context=context,
    )


def parse_recognition_query(body: JsonValue) -> RecognitionQuery:
    """A recognition query from its parsed JSON body, or ``trqp.malformed_query``."""
    entity_id, authority_id, action, resource, context = _query_members(body)
    return RecognitionQuery(
        entity_id=entity_id,
        authority_id=authority_id,
        action=action,
        resource=resource,
        context=context,
    )


# --------------------------------------------------------------------------- answers


def _answer_json(
    *,
    entity_id: str,
    authority_id: str,
    action: str,
    resource: str,
    verdict_name: str,
    verdict: bool,
    time_requested: str | None,
    time_evaluated: datetime,
    message: str | None,
    context: Mapping[str, str] | None,
    standing: Standing | None,
) -> JsonObject:
    out: JsonObject = {
        "entity_id": entity_id,
        "authority_id": authority_id,
        "action": action,
        "resource": resource,
        verdict_name: verdict,
    }
    if time_requested is not None:
        out["time_requested"] = time_requested
    out["time_evaluated"] = format_trqp_time(time_evaluated)
    if message is not None:
        out["message"] = message
    if context is not None:
        out["context"] = dict(context)
    if standing is not None:
        out["standing"] = str(standing)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationAnswer:
    """A TRQP authorization response. ``standing`` is our extension (module docstring)."""

    entity_id: str
    authority_id: str
    action: str
    resource: str
    authorized: bool
    time_evaluated: datetime
    time_requested: str | None = None
    message: str | None = None
    context: Mapping[str, str] | None = None
    standing: Standing | None = None

    def as_json(self) -> JsonObject:
        return _answer_json(
            entity_id=self.entity_id,
            authority_id=self.authority_id,
            action=self.action,
            resource=self.resource,
            verdict_name="authorized",
            verdict=self.authorized,
            time_requested=self.time_requested,
            time_evaluated=self.time_evaluated,
            message=self.message,
            context=self.context,
            standing=self.standing,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionAnswer:
    """A TRQP recognition response. ``standing`` is our extension (module docstring)."""

    entity_id: str
    authority_id: str
    action: str
    resource: str
    recognized: bool
    time_evaluated: datetime
    time_requested: str | None = None
    message: str | None = None
    context: Mapping[str, str] | None = None
    standing: Standing | None = None

    def as_json(self) -> JsonObject:
        return _answer_json(
            entity_id=self.entity_id,
            authority_id=self.authority_id,
            action=self.action,
            resource=self.resource,
            verdict_name="recognized",
            verdict=self.recognized,
            time_requested=self.time_requested,
            time_evaluated=self.time_evaluated,
            message=self.message,
            context=self.context,
            standing=self.standing,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _AnswerFields:
    entity_id: str
    authority_id: str
    action: str
    resource: str
    verdict: bool
    time_evaluated: datetime
    time_requested: str | None
    message: str | None
    context: Mapping[str, str] | None
    standing: Standing | None


def _answer_fields(doc: JsonValue, verdict_name: str) -> _AnswerFields:
    bad = Reason.TRUST_REGISTRY_ANSWER_INVALID
    if not isinstance(doc, dict):
        raise PasserelleError(bad, "the TRQP answer is not a JSON object")
    ids: list[str] = []
    for name in ("entity_id", "authority_id", "action", "resource"):
        if name not in doc:
            raise PasserelleError(bad, f"the TRQP answer has no {name}")
        ids.append(_check_identifier(doc[name], name=name, reason=bad))
    verdict = doc.get(verdict_name)
    if not isinstance(verdict, bool):
        raise PasserelleError(bad, f"the TRQP answer's {verdict_name} is not a boolean")
    evaluated = doc.get("time_evaluated")
    if not isinstance(evaluated, str):
        raise PasserelleError(bad, "the TRQP answer's time_evaluated is missing or not a string")
    time_evaluated = _parse_time(evaluated, utc_only=False, reason=bad, what="time_evaluated")
    requested = doc.get("time_requested")
    if requested is not None:
        if not isinstance(requested, str):
            raise PasserelleError(bad, "the TRQP answer's time_requested is not a string")
        _parse_time(requested, utc_only=False, reason=bad, what="time_requested")
    message = doc.get("message")
    if message is not None and not isinstance(message, str):
        raise PasserelleError(bad, "the TRQP answer's message is not a string")
    context = None
    if doc.get("context") is not None:
        context = _check_context(doc["context"], reason=bad)
    standing = None
    raw_standing = doc.get("standing")
    if raw_standing is not None:
        if not isinstance(raw_standing, str):
            raise PasserelleError(bad, "the TRQP answer's standing is not a string")
        try:
            standing = Standing(raw_standing)
        except ValueError as exc:
            raise PasserelleError(bad, f"unknown standing {raw_standing!r}") from exc
        if (standing is Standing.IN_EFFECT) != verdict:
            raise PasserelleError(bad, f"standing {standing} contradicts {verdict_name}")
    return _AnswerFields(
        entity_id=ids[0],
        authority_id=ids[1],
        action=ids[2],
        resource=ids[3],
        verdict=verdict,
        time_evaluated=time_evaluated,
        time_requested=requested,
        message=message,
        context=context,
        standing=standing,
    )


def parse_authorization_answer(doc: JsonValue) -> AuthorizationAnswer:
    """Read a TRQP authorization response (ours or a peer registry's), or raise
    ``trust.registry_answer_invalid``. This checks shape only: it does not make the
    answer authentic; :func:`verify_signed_answer` does, for signed answers."""
    f = _answer_fields(doc, "authorized")
    return AuthorizationAnswer(
        entity_id=f.entity_id,
        authority_id=f.authority_id,
        action=f.action,
        resource=f.resource,
        authorized=f.verdict,
        time_evaluated=f.time_evaluated,
        time_requested=f.time_requested,
        message=f.message,
        context=f.context,
        standing=f.standing,
    )


def parse_recognition_answer(doc: JsonValue) -> RecognitionAnswer:
    """Read a TRQP recognition response; see :func:`parse_authorization_answer`."""
    f = _answer_fields(doc, "recognized")
    return RecognitionAnswer(
        entity_id=f.entity_id,
        authority_id=f.authority_id,
        action=f.action,
        resource=f.resource,
        recognized=f.verdict,
        time_evaluated=f.time_evaluated,
        time_requested=f.time_requested,
        message=f.message,
        context=f.context,
        standing=f.standing,
    )


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryRecord:
    """``authority_id`` authorizes ``entity_id`` to take ``action`` on ``resource``.

    For the Canadian registry, ``entity_id`` is an issuer's HTTPS ``iss`` (its JWT VC
    Issuer Metadata location) or a relying party's identifier, ``action`` is ``issue``
    or ``verify``, and ``resource`` is a credential type (SD-JWT VC ``vct`` or W3C type).
    ``valid_from`` is inclusive, ``valid_until`` exclusive.
    """

    entity_id: str
    authority_id: str
    action: str
    resource: str
    status: RecordStatus
    valid_from: datetime
    valid_until: datetime | None = None
    name: str | None = None

    def evaluate_at(self, when: datetime) -> Standing:
        return _standing(self.status, self.valid_from, self.valid_until, when)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionRecord:
    """``authority_id`` recognizes the authority ``entity_id`` for ``action`` on ``resource``.

    ``agreement`` names the recognition agreement this rests on, for people and reports.
    """

    entity_id: str
    authority_id: str
    action: str
    resource: str
    status: RecordStatus
    valid_from: datetime
    valid_until: datetime | None = None
    name: str | None = None
    agreement: str | None = None

    def evaluate_at(self, when: datetime) -> Standing:
        return _standing(self.status, self.valid_from, self.valid_until, when)


def _standing(
    status: RecordStatus, valid_from: datetime, valid_until: datetime | None, when: datetime
) -> Standing:
    # A withdrawal outranks dates: a revoked record stays revoked inside its period.
    if status is RecordStatus.REVOKED:
        return Standing.REVOKED
    if status is RecordStatus.TERMINATED:
        return Standing.TERMINATED
    if status is RecordStatus.EXPIRED:
        return Standing.EXPIRED
    if when < valid_from:
        return Standing.NOT_YET_VALID
    if valid_until is not None and when >= valid_until:
        return Standing.EXPIRED
    return Standing.IN_EFFECT


_R = TypeVar("_R", RegistryRecord, RecognitionRecord)
_Key = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    entities: frozenset[str]
    actions: frozenset[str]
    resources: frozenset[str]


_EMPTY = _Vocabulary(frozenset(), frozenset(), frozenset())


class _Index(Generic[_R]):
    """Records by (authority, entity, action, resource), and what each authority defines."""

    __slots__ = ("by_key", "vocabulary")

    def __init__(self, records: Iterable[_R]) -> None:
        # No setdefault(..., set()): it builds a set for every record, used or not, which
        # was a third of indexing a 100,000-record registry.
        by_key: dict[_Key, tuple[_R, ...]] = {}
        per_authority: dict[str, tuple[set[str], set[str], set[str]]] = {}
        for record in records:
            authority = record.authority_id
            key = (authority, record.entity_id, record.action, record.resource)
            found: tuple[_R, ...] = by_key.get(key, ())
            by_key[key] = found + (record,)  # noqa: RUF005 - mypy cannot unpack a constrained TypeVar
            sets = per_authority.get(authority)
            if sets is None:
                sets = per_authority[authority] = (set(), set(), set())
            sets[0].add(record.entity_id)
            sets[1].add(record.action)
            sets[2].add(record.resource)
        self.by_key: Mapping[_Key, tuple[_R, ...]] = MappingProxyType(by_key)
        self.vocabulary: Mapping[str, _Vocabulary] = MappingProxyType(
            {
                a: _Vocabulary(frozenset(e), frozenset(ac), frozenset(r))
                for a, (e, ac, r) in per_authority.items()
            }
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Registry:
    """A registry snapshot: its operator, its records, and indexes built once.

    Look-ups go through the indexes (dictionaries), never a scan of the records.
    ``governance_framework`` is where the operator's ecosystem governance framework is
    published (identifiers.md, authority_id 4).
    """

    authority_id: str
    name: str
    authorizations: tuple[RegistryRecord, ...]
    recognitions: tuple[RecognitionRecord, ...] = ()
    governance_framework: str | None = None
    #: Our extension: (entity_id, CA certificate) pairs for issuers known by certificate
    #: chain (mdoc IACAs), so that a chain ending at one is that entity's.
    certificates: tuple[tuple[str, x509.Certificate], ...] = ()
    _authorizations: _Index[RegistryRecord] = field(init=False, repr=False, compare=False)
    _recognitions: _Index[RecognitionRecord] = field(init=False, repr=False, compare=False)
    _authorities: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "authorizations", tuple(self.authorizations))
        object.__setattr__(self, "recognitions", tuple(self.recognitions))
        object.__setattr__(self, "_authorizations", _Index(self.authorizations))
        object.__setattr__(self, "_recognitions", _Index(self.recognitions))
        authorities = {self.authority_id}
        authorities.update(r.authority_id for r in self.authorizations)
        authorities.update(r.authority_id for r in self.recognitions)
        object.__setattr__(self, "_authorities", frozenset(authorities))

    @property
    def authorities(self) -> frozenset[str]:
        """The authorities this registry answers for."""
        return self._authorities

    def entity_for_anchor(self, anchor: x509.Certificate) -> str | None:
        """The entity a CA certificate of :attr:`certificates` speaks for, if any."""
        return next((entity for entity, cert in self.certificates if cert == anchor), None)

    def knows_entity(self, entity_id: str) -> bool:
        """Whether any authorization record names ``entity_id`` (an indexed look-up)."""
        return any(entity_id in v.entities for v in self._authorizations.vocabulary.values())


def _look_up(
    registry: Registry, index: _Index[_R], query: AuthorizationQuery | RecognitionQuery
) -> tuple[_R, ...]:
    authority_id, entity_id = query.authority_id, query.entity_id
    if authority_id not in registry.authorities:
        raise PasserelleError(
            Reason.TRQP_UNKNOWN_AUTHORITY, f"authority {authority_id!r} is not served here"
        )
    vocabulary = index.vocabulary.get(authority_id, _EMPTY)
    if entity_id not in vocabulary.entities:
        raise PasserelleError(
            Reason.TRQP_UNKNOWN_ENTITY,
            f"entity {entity_id!r} is not known to authority {authority_id}",
        )
    if query.action not in vocabulary.actions:
        raise PasserelleError(
            Reason.TRQP_UNKNOWN_ACTION,
            f"action {query.action!r} is not defined for authority {authority_id}",
        )
    if query.resource not in vocabulary.resources:
        raise PasserelleError(
            Reason.TRQP_UNKNOWN_RESOURCE,
            f"resource {query.resource!r} is not defined for authority {authority_id}",
        )
    return index.by_key.get((authority_id, entity_id, query.action, query.resource), ())


def _evaluate(records: Sequence[_R], when: datetime) -> tuple[Standing, _R | None]:
    if not records:
        return Standing.NO_RECORD, None
    for record in records:
        if record.evaluate_at(when) is Standing.IN_EFFECT:
            return Standing.IN_EFFECT, record
    # Several records for one key are a history; the newest one explains the refusal.
    latest = max(records, key=lambda r: r.valid_from)
    return latest.evaluate_at(when), latest


def _explain(
    standing: Standing,
    record: RegistryRecord | RecognitionRecord | None,
    query: AuthorizationQuery | RecognitionQuery,
    verb: str,
) -> str:
    subject, authority_id = query.entity_id, query.authority_id
    what = f"{query.action}+{query.resource} (action+resource)"
    if record is None:
        return f"{subject} has no record for {what} with {authority_id}."
    period = f"from {format_trqp_time(record.valid_from)}" + (
        f" until {format_trqp_time(record.valid_until)}" if record.valid_until else ""
    )
    if standing is Standing.IN_EFFECT:
        return f"{subject} is {verb} for {what} by {authority_id}, {period}."
    if standing is Standing.NOT_YET_VALID:
        return f"{subject} is not yet {verb} for {what} by {authority_id}: valid {period}."
    if standing is Standing.EXPIRED and record.status is RecordStatus.CURRENT:
        return f"{subject} is no longer {verb} for {what} by {authority_id}: valid {period}."
    return f"{subject}'s record for {what} with {authority_id} is {record.status}."


@dataclass(frozen=True)
class _Verdict:
    """What both TRQP answers say beyond echoing the query."""

    standing: Standing
    time_evaluated: datetime
    time_requested: str | None
    message: str


def _consult(
    registry: Registry,
    index: _Index[_R],
    query: AuthorizationQuery | RecognitionQuery,
    *,
    now: datetime,
    verb: str,
) -> _Verdict:
    when = query.time if query.time is not None else _aware(now)
    standing, record = _evaluate(_look_up(registry, index, query), when)
    return _Verdict(
        standing=standing,
        time_evaluated=_evaluation_time(now),
        time_requested=query.context.get("time") if query.context is not None else None,
        message=_explain(standing, record, query, verb),
    )


def answer_authorization(
    registry: Registry, query: AuthorizationQuery, *, now: datetime
) -> AuthorizationAnswer:
    """Answer an authorization query at ``context.time``, or at ``now`` without one.

    Unknown authority, entity, action or resource raise ``trqp.unknown_*`` (HTTPS: 404);
    a known entity without an authorization in effect gets ``authorized=False``.
    """
    verdict = _consult(registry, registry._authorizations, query, now=now, verb="authorized")
    return AuthorizationAnswer(
        entity_id=query.entity_id,
        authority_id=query.authority_id,
        action=query.action,
        resource=query.resource,
        authorized=verdict.standing is Standing.IN_EFFECT,
        time_evaluated=verdict.time_evaluated,
        time_requested=verdict.time_requested,
        message=verdict.message,
        context=query.context,
        standing=verdict.standing,
    )


def answer_recognition(
    registry: Registry, query: RecognitionQuery, *, now: datetime
) -> RecognitionAnswer:
    """Answer a recognition query; the same rules as :func:`answer_authorization`."""
    verdict = _consult(registry, registry._recognitions, query, now=now, verb="recognized")
    return RecognitionAnswer(
        entity_id=query.entity_id,
        authority_id=query.authority_id,
        action=query.action,
        resource=query.resource,
        recognized=verdict.standing is Standing.IN_EFFECT,
        time_evaluated=verdict.time_evaluated,
        time_requested=verdict.time_requested,
        message=verdict.message,
        context=query.context,
        standing=verdict.standing,
    )


def _sorted(items: Iterable[str]) -> list[JsonValue]:
    return [item for item in sorted(items)]


def describe_registry(registry: Registry) -> JsonObject:
    """Registry metadata (our extension; TRQP v2 defines no metadata query).

    States the TRQP version, the authorities served and, per authority, the actions and
    resources it defines (identifiers.md asks them to be machine-discoverable).
    Entities are not listed: TRQP answers questions about them, it does not enumerate them.
    """

    def vocab(index: _Index[_R]) -> JsonObject:
        return {
            authority: {"actions": _sorted(v.actions), "resources": _sorted(v.resources)}
            for authority, v in sorted(index.vocabulary.items())
        }

    out: JsonObject = {
        "trqp_version": TRQP_VERSION,
        "trqp_binding": "https",
        "spec": {
            "repository": "https://github.com/trustoverip/tswg-trust-registry-protocol",
            "commit": SPEC_COMMIT,
        },
        "authority_id": registry.authority_id,
        "name": registry.name,
        "queries": ["authorization", "recognition"],
        "authorization": vocab(registry._authorizations),
        "recognition": vocab(registry._recognitions),
        "extensions": ["metadata", "standing", "signed_answer"],
    }
    if registry.governance_framework is not None:
        out["governance_framework"] = registry.governance_framework
    return out


# --------------------------------------------------------------------------- source


_TOP_MEMBERS = frozenset(
    {"$schema", "$comment", "placeholders", "operator", "authorizations", "recognitions"}
    | {"certificates"}
)
_CERTIFICATE_MEMBERS = frozenset({"entity_id", "certificate", "name"})
_OPERATOR_MEMBERS = frozenset({"authority_id", "name", "governance_framework"})
_RECORD_MEMBERS = frozenset(
    {"entity_id", "authority_id", "action", "resource", "status"}
    | {"valid_from", "valid_until", "name"}
)
_RECOGNITION_MEMBERS = _RECORD_MEMBERS | {"agreement"}
_STATUSES = {str(s): s for s in RecordStatus}


def _malformed(detail: str) -> PasserelleError:
    return PasserelleError(Reason.TRUST_LIST_MALFORMED, f"trust registry source: {detail}")


def _substitute(value: JsonValue, values: Mapping[str, str], where: str) -> JsonValue:
    if isinstance(value, str) and "$" not in value:
        return value  # the common case, a hundred thousand times in a large registry
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise _malformed(f"{where}: placeholder ${{{name}}} is not declared")
            return values[name]

        out = _PLACEHOLDER.sub(replace, value)
        if "${" in _PLACEHOLDER.sub("", value):
            raise _malformed(f"{where}: malformed placeholder in {value!r}")
        return out
    if isinstance(value, list):
        # A record of strings without a "$" is the common case: kept as it is, without
        # building its path or a copy of it (a third of parsing a large registry).
        return [
            item
            if type(item) is dict and _plain_strings(item)
            else _substitute(item, values, f"{where}[{i}]")
            for i, item in enumerate(value)
        ]
    if isinstance(value, dict):
        if _plain_strings(value):
            return value
        return {
            k: v if isinstance(v, str) and "$" not in v else _substitute(v, values, f"{where}.{k}")
            for k, v in value.items()
        }
    return value


def _plain_strings(obj: JsonObject) -> bool:
    """Whether every member of ``obj`` is a string without a "$" (in C: join refuses
    anything but strings)."""
    try:
        return "$" not in "".join(obj.values())  # type: ignore[arg-type]
    except TypeError:
        return False


def _object(value: JsonValue, where: str, allowed: frozenset[str]) -> JsonObject:
    if not isinstance(value, dict):
        raise _malformed(f"{where} is not an object")
    if not value.keys() <= allowed:  # no set built for a record that is fine
        unknown = value.keys() - allowed
        raise _malformed(f"{where} has unknown members {sorted(unknown)}")
    return value


def _string(obj: JsonObject, name: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise _malformed(f"{where}.{name} is required")
        return None
    if not isinstance(value, str) or not value:
        raise _malformed(f"{where}.{name} is not a non-empty string")
    return value


def _required(obj: JsonObject, name: str, where: str) -> str:
    value = obj.get(name)
    if isinstance(value, str) and value:
        return value  # the common case, without the calls that name the faults
    value = _string(obj, name, where)
    if value is None:  # pragma: no cover - _string raised already
        raise _malformed(f"{where}.{name} is required")
    return value


def _identifier(obj: JsonObject, name: str, where: str) -> str:
    value = obj.get(name)
    if isinstance(value, str) and value and _identifier_problem(value) is None:
        return value  # the common case, without the calls that name the faults
    value = _required(obj, name, where)
    problem = _identifier_problem(value)  # the message is built only for a refusal
    if problem is not None:
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{where}.{name} {problem}")
    return value


def _record_common(
    obj: JsonObject, where: str, default_authority: str
) -> tuple[str, str, str, str, RecordStatus, datetime, datetime | None, str | None]:
    entity_id = _identifier(obj, "entity_id", where)
    authority_id = (
        _identifier(obj, "authority_id", where) if "authority_id" in obj else default_authority
    )
    action = _identifier(obj, "action", where)
    resource = _identifier(obj, "resource", where)
    raw_status = _required(obj, "status", where)
    status = _STATUSES.get(raw_status)
    if status is None:
        allowed = [str(s) for s in RecordStatus]
        raise _malformed(f"{where}.status {raw_status!r} is not one of {allowed}")
    times: list[datetime | None] = []
    for name in ("valid_from", "valid_until"):
        raw = obj.get(name)
        if raw is None:
            if name == "valid_from":
                raise _malformed(f"{where}.valid_from is required")
            times.append(None)
        elif not isinstance(raw, str):
            # YAML turns unquoted timestamps into dates; the source quotes them.
            raise _malformed(f"{where}.{name} is not an RFC 3339 string")
        else:
            times.append(
                _parse_time(
                    raw, utc_only=False, reason=Reason.TRUST_LIST_MALFORMED, what=f"{where}.{name}"
                )
            )
    valid_from, valid_until = times
    assert valid_from is not None
    if valid_until is not None and valid_until <= valid_from:
        raise _malformed(f"{where}: valid_until is not after valid_from")
    return (
        entity_id,
        authority_id,
        action,
        resource,
        status,
        valid_from,
        valid_until,
        _string(obj, "name", where, required=False),
    )


def parse_registry(doc: JsonObject, *, substitutions: Mapping[str, str]) -> Registry:
    """Build a :class:`Registry` from its source document (``trust_lists/ca/registry.yaml``).

    ``placeholders`` in the document declares each ``${NAME}`` it uses with a default;
    ``substitutions`` overrides those defaults (``passerelle init`` and the launcher pass
    the real loopback URLs). Names in ``substitutions`` the document does not use are
    ignored, so one mapping can serve every source; an undeclared ``${NAME}`` is an error.
    Anything malformed raises ``trust.list_malformed``.
    """
    if not isinstance(doc, dict):
        raise _malformed("the document is not an object")
    _object(doc, "document", _TOP_MEMBERS)
    declared = doc.get("placeholders", {})
    if not isinstance(declared, dict) or not all(
        isinstance(k, str) and _PLACEHOLDER.fullmatch("${" + k + "}") and isinstance(v, str)
        for k, v in declared.items()
    ):
        raise _malformed("placeholders is not a map of NAME to string")
    values: dict[str, str] = {k: v for k, v in declared.items() if isinstance(v, str)}
    for name, value in substitutions.items():
        if not isinstance(value, str):
            raise local_error(Reason.TRUST_LIST_MALFORMED, f"substitution {name} is not a string")
        if name in values:
            values[name] = value
    body = _substitute({k: v for k, v in doc.items() if k != "placeholders"}, values, "document")
    assert isinstance(body, dict)

    operator = _object(body.get("operator"), "operator", _OPERATOR_MEMBERS)
    authority_id = _identifier(operator, "authority_id", "operator")
    name = _required(operator, "name", "operator")
    governance = operator.get("governance_framework")
    if governance is not None:
        governance = _identifier(operator, "governance_framework", "operator")

    raw_authorizations = body.get("authorizations")
    if not isinstance(raw_authorizations, list):
        raise _malformed("authorizations is not an array")
    authorizations: list[RegistryRecord] = []
    for i, raw in enumerate(raw_authorizations):
        where = f"authorizations[{i}]"
        fields = _record_common(_object(raw, where, _RECORD_MEMBERS), where, authority_id)
        authorizations.append(
            RegistryRecord(
                entity_id=fields[0],
                authority_id=fields[1],
                action=fields[2],
                resource=fields[3],
                status=fields[4],
                valid_from=fields[5],
                valid_until=fields[6],
                name=fields[7],
            )
        )

    raw_recognitions = body.get("recognitions", [])
    if not isinstance(raw_recognitions, list):
        raise _malformed("recognitions is not an array")
    recognitions: list[RecognitionRecord] = []
    for i, raw in enumerate(raw_recognitions):
        where = f"recognitions[{i}]"
        obj = _object(raw, where, _RECOGNITION_MEMBERS)
        fields = _record_common(obj, where, authority_id)
        if fields[0] == fields[1]:
            raise _malformed(f"{where}: an authority does not recognize itself")
        recognitions.append(
            RecognitionRecord(
                entity_id=fields[0],
                authority_id=fields[1],
                action=fields[2],
                resource=fields[3],
                status=fields[4],
                valid_from=fields[5],
                valid_until=fields[6],
                name=fields[7],
                agreement=_string(obj, "agreement", where, required=False),
            )
        )

    return Registry(
        authority_id=authority_id,
        name=name,
        authorizations=tuple(authorizations),
        recognitions=tuple(recognitions),
        governance_framework=governance if isinstance(governance, str) else None,
        certificates=_parse_certificates(body.get("certificates", [])),
    )


def _parse_certificates(raw: JsonValue) -> tuple[tuple[str, x509.Certificate], ...]:
    # Our extension (see Registry.certificates); in a signed snapshot every certificate
    # is inline PEM, names having been resolved when it was built.
    if not isinstance(raw, list):
        raise _malformed("certificates is not an array")
    out: list[tuple[str, x509.Certificate]] = []
    for i, entry in enumerate(raw):
        where = f"certificates[{i}]"
        obj = _object(entry, where, _CERTIFICATE_MEMBERS)
        entity_id = _identifier(obj, "entity_id", where)
        pem = obj.get("certificate")
        if isinstance(pem, str) and pem:
            # A name `passerelle init` gave, resolved when a snapshot is built; read
            # straight from the source it anchors nothing (fails closed).
            continue
        pem = pem.get("pem") if isinstance(pem, dict) else None
        if not isinstance(pem, str):
            raise _malformed(f"{where}.certificate is neither a name nor {{pem: ...}}")
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        except ValueError as exc:
            raise _malformed(f"{where}.certificate: {exc}") from exc
        out.append((entity_id, cert))
    return tuple(out)


# --------------------------------------------------------------------------- signed answers


def sign_answer(
    answer: AuthorizationAnswer | RecognitionAnswer,
    *,
    signer: Signer,
    x5c: Sequence[str] | None = None,
    kid: str | None = None,
) -> str:
    """A compact JWS of ``answer`` (our extension): ``typ`` :data:`SIGNED_ANSWER_TYP`,
    payload the answer object plus ``iat`` (= ``time_evaluated``).

    The header names the key by ``x5c`` (the registry operator's certificate chain) or
    ``kid``; at least one is required so that a verifier never has to guess.
    """
    if x5c is None and kid is None:
        raise local_error(Reason.JWS_HEADER_INVALID, "a signed answer names its key: x5c or kid")
    header: dict[str, object] = {"typ": SIGNED_ANSWER_TYP}
    if x5c is not None:
        if isinstance(x5c, str) or not x5c:
            raise local_error(Reason.JWS_HEADER_INVALID, "x5c is a non-empty list of certificates")
        header["x5c"] = list(x5c)
    if kid is not None:
        header["kid"] = kid
    payload = answer.as_json()
    payload["iat"] = epoch(answer.time_evaluated)
    return sign_jws(header, payload, signer)


def _verify_signed(
    token: str,
    *,
    key: PublicKey,
    algorithms: Collection[str],
    now: datetime,
    max_age: timedelta,
    skew: timedelta,
) -> JsonObject:
    bad = Reason.TRUST_REGISTRY_ANSWER_INVALID
    if max_age <= timedelta(0) or skew < timedelta(0):
        raise local_error(bad, "max_age must be positive and skew not negative")
    try:
        verified = verify_jws(
            token,
            key=key,
            algorithms=algorithms,
            typ=SIGNED_ANSWER_TYP,
            what="signed TRQP answer",
            invalid_signature=bad,
        )
    except PasserelleError as exc:
        if exc.reason is bad:
            raise
        raise PasserelleError(bad, f"{exc.reason}: {exc.detail}") from exc
    payload = verified.payload
    iat = payload.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise PasserelleError(bad, "the signed TRQP answer has no integer iat")
    t = epoch(_aware(now))
    if iat > t + int(skew.total_seconds()):
        raise PasserelleError(bad, f"the signed TRQP answer was issued in the future ({iat})")
    if t - iat > max_age.total_seconds():
        raise PasserelleError(bad, f"the signed TRQP answer is older than {max_age} (iat {iat})")
    return payload


def _check_binding(
    answer: AuthorizationAnswer | RecognitionAnswer,
    iat: JsonValue,
    query: AuthorizationQuery | RecognitionQuery | None,
) -> None:
    bad = Reason.TRUST_REGISTRY_ANSWER_INVALID
    if epoch(answer.time_evaluated) != iat:
        raise PasserelleError(bad, "the signed TRQP answer's iat is not its time_evaluated")
    if query is None:
        return
    for name in ("entity_id", "authority_id", "action", "resource"):
        if getattr(answer, name) != getattr(query, name):
            raise PasserelleError(bad, f"the signed TRQP answer is about another {name}")
    asked = query.context.get("time") if query.context is not None else None
    if answer.time_requested != asked:
        raise PasserelleError(bad, "the signed TRQP answer is for another time")


def verify_signed_answer(
    token: str,
    *,
    key: PublicKey,
    algorithms: Collection[str],
    now: datetime,
    max_age: timedelta,
    skew: timedelta = timedelta(0),
    query: AuthorizationQuery | None = None,
) -> AuthorizationAnswer:
    """Verify a signed authorization answer and return it, or raise
    ``trust.registry_answer_invalid`` (the JOSE reason is in the cause and the detail).

    ``key`` is the registry operator's key, which the caller has already established
    (for an ``x5c`` header: by validating the chain to the operator's anchor). The
    answer must be at most ``max_age`` old at ``now``. With ``query``, the answer must be
    about exactly that query; without it, the caller compares the members itself.
    """
    payload = _verify_signed(
        token, key=key, algorithms=algorithms, now=now, max_age=max_age, skew=skew
    )
    if "authorized" not in payload:
        raise PasserelleError(
            Reason.TRUST_REGISTRY_ANSWER_INVALID, "the signed TRQP answer is not an authorization"
        )
    answer = parse_authorization_answer(payload)
    _check_binding(answer, payload["iat"], query)
    return answer


def verify_signed_recognition_answer(
    token: str,
    *,
    key: PublicKey,
    algorithms: Collection[str],
    now: datetime,
    max_age: timedelta,
    skew: timedelta = timedelta(0),
    query: RecognitionQuery | None = None,
) -> RecognitionAnswer:
    """:func:`verify_signed_answer` for recognition answers."""
    payload = _verify_signed(
        token, key=key, algorithms=algorithms, now=now, max_age=max_age, skew=skew
    )
    if "recognized" not in payload:
        raise PasserelleError(
            Reason.TRUST_REGISTRY_ANSWER_INVALID, "the signed TRQP answer is not a recognition"
        )
    answer = parse_recognition_answer(payload)
    _check_binding(answer, payload["iat"], query)
    return answer
