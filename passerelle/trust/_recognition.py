"""Recognition agreements: one framework accepting another's issuers, per direction.

Modelled on the EU mutual-recognition (MRA) information that third-country trusted
lists carry in the EU list of trusted lists: a pointing party (who recognises) and a
pointed party (who is recognised), each with its legislation; an agreement status
and entry-into-force date; and per-service equivalences, each mapping a service of the
pointed framework to a service type of the pointing one, with a status, qualifiers
and an assurance-level mapping. We express it in JSON/YAML, with these names:

=====================================  ==========================================
MRA concept                            here
=====================================  ==========================================
PointingContractingPartyLegislation    ``pointing_party`` (framework, legislation)
PointedContractingPartyLegislation     ``pointed_party``
MRA status / entry into force          ``status``, ``valid_from``, ``valid_until``
TrustServiceEquivalenceInformation     ``equivalences[]``
  ...ServiceType (pointed → pointing)  ``pointed_service``, ``pointing_service_type``
  ...EquivalenceStatus                 ``equivalences[].status`` (granted/withdrawn)
  qualifiers / scope                   ``credential_type`` and ``scope``
  assurance mapping                    ``assurance_mapping``
=====================================  ==========================================

``scope`` narrows an equivalence to credentials whose claim at ``scope.claim`` (a
claim path) takes one of ``scope.allowed`` values: the CETA conformity-assessment
protocol recognises attestations for some product categories, not all.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from .._time import parse_date_time

__all__ = [
    "Equivalence",
    "Framework",
    "RecognitionAgreement",
    "RecognitionScope",
    "parse_recognition_agreement",
]


class Framework(enum.StrEnum):
    CA = "ca"
    EU = "eu"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionScope:
    claim: tuple[str | int, ...]
    allowed: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Equivalence:
    credential_type: str
    pointed_service: str
    pointing_service_type: str
    status: str
    scope: RecognitionScope | None = None
    assurance_mapping: Mapping[str, str] = field(default_factory=dict)

    @property
    def granted(self) -> bool:
        return self.status == "granted"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionAgreement:
    id: str
    title: str
    pointing: Framework
    pointed: Framework
    pointing_legislation: str
    pointed_legislation: str
    status: str
    valid_from: datetime
    valid_until: datetime | None
    equivalences: tuple[Equivalence, ...]

    def in_force(self, now: datetime) -> bool:
        return (
            self.status == "in_force"
            and self.valid_from <= now
            and (self.valid_until is None or now < self.valid_until)
        )

    def equivalence_for(self, credential_type: str) -> Equivalence | None:
        for equivalence in self.equivalences:
            if equivalence.credential_type == credential_type:
                return equivalence
        return None


def _bad(detail: str) -> PasserelleError:
    return PasserelleError(Reason.TRUST_LIST_MALFORMED, f"recognition agreement: {detail}")


def _str(doc: Mapping[str, JsonValue], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(f"{name!r} must be a non-empty string")
    return value


def _when(value: JsonValue, name: str) -> datetime:
    return parse_date_time(
        value, what=f"recognition agreement {name}", reason=Reason.TRUST_LIST_MALFORMED
    )


def _party(doc: JsonObject, name: str) -> tuple[Framework, str]:
    party = doc.get(name)
    if not isinstance(party, dict):
        raise _bad(f"{name!r} must be an object")
    try:
        framework = Framework(_str(party, "framework"))
    except ValueError as exc:
        raise _bad(f"{name}.framework must be one of {[f.value for f in Framework]}") from exc
    return framework, _str(party, "legislation")


def _equivalence(doc: JsonValue) -> Equivalence:
    if not isinstance(doc, dict):
        raise _bad("each equivalence must be an object")
    scope = None
    raw_scope = doc.get("scope")
    if raw_scope is not None:
        if not isinstance(raw_scope, dict):
            raise _bad("scope must be an object")
        claim, allowed = raw_scope.get("claim"), raw_scope.get("allowed")
        if not isinstance(claim, list) or not all(isinstance(c, str | int) for c in claim):
            raise _bad("scope.claim must be a claim path")
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise _bad("scope.allowed must be a list of strings")
        scope = RecognitionScope(
            claim=tuple(c for c in claim if isinstance(c, str | int)),
            allowed=frozenset(a for a in allowed if isinstance(a, str)),
        )
    mapping = doc.get("assurance_mapping", {})
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise _bad("assurance_mapping must map strings to strings")
    status = _str(doc, "status")
    if status not in ("granted", "withdrawn"):
        raise _bad("equivalence status must be granted or withdrawn")
    return Equivalence(
        credential_type=_str(doc, "credential_type"),
        pointed_service=_str(doc, "pointed_service"),
        pointing_service_type=_str(doc, "pointing_service_type"),
        status=status,
        scope=scope,
        assurance_mapping={k: v for k, v in mapping.items() if isinstance(v, str)},
    )


def parse_recognition_agreement(doc: JsonObject) -> RecognitionAgreement:
    """Parse one agreement source (``trust_lists/recognition/*.yaml``) or raise
    ``trust.list_malformed``."""
    pointing, pointing_legislation = _party(doc, "pointing_party")
    pointed, pointed_legislation = _party(doc, "pointed_party")
    if pointing is pointed:
        raise _bad("a framework does not recognise itself")
    status = _str(doc, "status")
    if status not in ("in_force", "suspended", "terminated"):
        raise _bad("status must be in_force, suspended or terminated")
    equivalences = doc.get("equivalences")
    if not isinstance(equivalences, list) or not equivalences:
        raise _bad("equivalences must be a non-empty list")
    valid_until = doc.get("valid_until")
    return RecognitionAgreement(
        id=_str(doc, "id"),
        title=_str(doc, "title"),
        pointing=pointing,
        pointed=pointed,
        pointing_legislation=pointing_legislation,
        pointed_legislation=pointed_legislation,
        status=status,
        valid_from=_when(doc.get("valid_from"), "valid_from"),
        valid_until=None if valid_until is None else _when(valid_until, "valid_until"),
        equivalences=tuple(_equivalence(e) for e in equivalences),
    )
