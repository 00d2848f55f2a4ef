"""``passerelle trust build``: the sources in ``trust_lists/`` (plus partners' entries)
become signed documents under the data directory.

    <data_dir>/trust/eu/<list>.jwt       EU lists of trusted entities (JAdES B-B)
    <data_dir>/trust/ca/registry.jwt     signed Canadian registry snapshot
    <data_dir>/trust/state.json          last sequence numbers: they only ever grow

Building is the only place sources, the PKI and the clock meet; everything it signs
is built by the pure core (``passerelle.trust``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle.jose import Signer
from passerelle.trust import (
    PROFILES,
    LoteSource,
    RecognitionAgreement,
    build_lote,
    parse_lote_entity,
    parse_lote_source,
    parse_recognition_agreement,
    sign_lote,
    sign_registry_snapshot,
)
from passerelle.x509 import certificate_to_pem

from .sources import load_source

__all__ = [
    "EU_LISTS",
    "BuildResult",
    "OperatorKey",
    "build_trust_lists",
    "build_with_pki",
    "load_recognitions",
    "substitutions_for",
    "trust_dir",
]

EU_LISTS: Mapping[str, str] = {
    "pid-providers": "eu/pid-providers.yaml",
    "pubeaa-providers": "eu/pubeaa-providers.yaml",
    "wrpac-providers": "eu/wrpac-providers.yaml",
    "wallet-providers": "eu/wallet-providers.yaml",
}
REGISTRY_SOURCE = "ca/registry.yaml"
LIST_VALIDITY = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorKey:
    """A scheme operator's signing key and its ``x5c`` (leaf first, no anchor)."""

    signer: Signer
    x5c: Sequence[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildResult:
    lists: Mapping[str, Path]
    registry: Path
    sequences: Mapping[str, int]
    partners: tuple[str, ...]
    #: Where each partner's entry went: an EU list's name, or ``ca-registry``.
    placed: Mapping[str, str] = field(default_factory=dict)


def trust_dir(data_dir: Path) -> Path:
    return data_dir / "trust"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


# What the samples under partners/ hold where a partner's own value must go.
_PLACEHOLDER = re.compile(r"<[^<>\n]+>")


def _refuse_placeholders(partner: str, value: object, where: str) -> None:
    if isinstance(value, str):
        found = _PLACEHOLDER.search(value)
        if found is not None:
            raise PasserelleError(
                Reason.TRUST_SOURCE_PLACEHOLDER,
                f"partners/{partner}.yaml: {where} still holds the sample's placeholder "
                f"{found[0]!r}: put your own value there",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_placeholders(partner, item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_placeholders(partner, item, f"{where}[{i}]")


def _partners(sources: Path) -> list[tuple[str, JsonObject]]:
    # Only *.yaml files join; the documented samples end in .yaml.sample. Every plain
    # scalar is read as written (`member_state: NO` is Norway, not false).
    partners = [
        (p.stem, load_source(p, scalars="text"))
        for p in sorted((sources / "partners").glob("*.yaml"))
    ]
    for partner, doc in partners:
        _refuse_placeholders(partner, doc, "")
    return partners


def _merge_eu_partners(
    name: str,
    source: LoteSource,
    partners: list[tuple[str, JsonObject]],
    certificates: Mapping[str, x509.Certificate],
) -> LoteSource:
    extra = []
    for partner, doc in partners:
        if doc.get("framework") != "eu" or doc.get("list") != name:
            continue
        entity = doc.get("entity")
        if not isinstance(entity, dict):
            raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"partner {partner}: no entity")
        extra.append(
            parse_lote_entity(
                entity,
                profile=PROFILES[source.profile.lote_type],
                certificates=certificates,
                where=f"partners/{partner}.yaml",
            )
        )
    return replace(source, entities=(*source.entities, *extra)) if extra else source


def _expand(value: object, values: Mapping[str, str]) -> object:
    if not isinstance(value, str):
        return value
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: values.get(m[1], m[0]), value)


def _merge_ca_partners(
    registry: JsonObject, partners: list[tuple[str, JsonObject]], substitutions: Mapping[str, str]
) -> JsonObject:
    """Append partners' authorizations. A partner speaks only for itself: its records
    name entities the registry does not already hold, under the operator's authority,
    so no partner file can re-authorise (or shadow) someone else."""
    records = list(registry.get("authorizations", []))  # type: ignore[arg-type]
    declared = registry.get("placeholders")
    declared = declared if isinstance(declared, dict) else {}
    if not all(isinstance(v, str) for v in declared.values()):
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "registry placeholders are strings")
    values = {**{k: str(v) for k, v in declared.items()}, **substitutions}
    # Compared as they will be served: a partner writing the URL itself is caught too.
    owned = {_expand(r.get("entity_id"), values) for r in records if isinstance(r, dict)}
    for partner, doc in partners:
        if doc.get("framework") != "ca":
            continue
        added = doc.get("authorizations")
        if not isinstance(added, list) or not added:
            raise PasserelleError(
                Reason.TRUST_LIST_MALFORMED, f"partner {partner}: no authorizations"
            )
        for record in added:
            if not isinstance(record, dict) or _expand(record.get("entity_id"), values) in owned:
                raise PasserelleError(
                    Reason.TRUST_LIST_MALFORMED,
                    f"partner {partner}: a record names an entity the registry already holds",
                )
            if "authority_id" in record:
                raise PasserelleError(
                    Reason.TRUST_LIST_MALFORMED,
                    f"partner {partner}: records are made under the operator's authority",
                )
        records.extend(added)
    return {**registry, "authorizations": records}


def _unknown_partners(partners: list[tuple[str, JsonObject]]) -> None:
    for partner, doc in partners:
        framework, name = doc.get("framework"), doc.get("list")
        if framework == "ca" or (framework == "eu" and name in EU_LISTS):
            continue
        raise PasserelleError(
            Reason.TRUST_LIST_MALFORMED,
            f"partner {partner}: framework must be 'ca', or 'eu' with list one of {list(EU_LISTS)}",
        )


def _resolve_registry_certificates(
    registry: JsonObject, certificates: Mapping[str, x509.Certificate]
) -> JsonObject:
    """The registry's ``certificates`` (our extension) with each name `passerelle init`
    gave replaced by the certificate itself, as PEM: the snapshot carries what it vouches
    for, not a name only this machine can resolve."""
    entries = registry.get("certificates")
    if not isinstance(entries, list):
        return registry
    resolved: list[JsonValue] = []
    for entry in entries:
        named = entry.get("certificate") if isinstance(entry, dict) else None
        if isinstance(entry, dict) and isinstance(named, str):
            if named not in certificates:
                raise PasserelleError(
                    Reason.TRUST_LIST_MALFORMED, f"registry: no certificate named {named!r}"
                )
            entry = {**entry, "certificate": {"pem": certificate_to_pem(certificates[named])}}
        resolved.append(entry)
    return {**registry, "certificates": resolved}


def _read_state(path: Path) -> dict[str, int]:
    if not path.is_file():
        return {}
    state = json.loads(path.read_text())
    return {k: int(v) for k, v in state.items()}


def build_trust_lists(
    *,
    sources: Path,
    data_dir: Path,
    certificates: Mapping[str, x509.Certificate],
    eu_operator: OperatorKey,
    ca_operator: OperatorKey,
    substitutions: Mapping[str, str],
    now: datetime,
) -> BuildResult:
    """Sign every list from its sources, one sequence number above the last build's."""
    partners = _partners(sources)
    _unknown_partners(partners)
    out = trust_dir(data_dir)
    state_path = out / "state.json"
    state = _read_state(state_path)
    written: dict[str, Path] = {}
    for name, relative in EU_LISTS.items():
        source = parse_lote_source(
            load_source(sources / relative, scalars="text"), certificates=certificates
        )
        source = _merge_eu_partners(name, source, partners, certificates)
        state[name] = state.get(name, 0) + 1
        lote = build_lote(
            source, sequence_number=state[name], issued_at=now, next_update=now + LIST_VALIDITY
        )
        token = sign_lote(lote, signer=eu_operator.signer, x5c=eu_operator.x5c, now=now)
        written[name] = out / "eu" / f"{name}.jwt"
        _write(written[name], token)
    registry = _resolve_registry_certificates(
        _merge_ca_partners(
            load_source(sources / REGISTRY_SOURCE, scalars="text"), partners, substitutions
        ),
        certificates,
    )
    state["ca-registry"] = state.get("ca-registry", 0) + 1
    snapshot = sign_registry_snapshot(
        registry,
        substitutions=substitutions,
        sequence_number=state["ca-registry"],
        issued_at=now,
        next_update=now + LIST_VALIDITY,
        signer=ca_operator.signer,
        x5c=ca_operator.x5c,
    )
    registry_path = out / "ca" / "registry.jwt"
    _write(registry_path, snapshot)
    # The state is written last: after a crash mid-build the next build may publish a
    # number again (never a lower one), which verifiers accept as "not older".
    _write(state_path, json.dumps(state, indent=2, sort_keys=True))
    return BuildResult(
        lists=written,
        registry=registry_path,
        sequences=dict(state),
        partners=tuple(p for p, _ in partners),
        placed={
            p: "ca-registry" if doc.get("framework") == "ca" else str(doc.get("list"))
            for p, doc in partners
        },
    )


def load_recognitions(sources: Path) -> tuple[RecognitionAgreement, ...]:
    return tuple(
        parse_recognition_agreement(load_source(p, scalars="text"))
        for p in sorted((sources / "recognition").glob("*.yaml"))
    )


def substitutions_for(hosts: Mapping[str, str]) -> dict[str, str]:
    """The registry's placeholders, from the service URLs `passerelle init` recorded."""
    return {
        "CA_ISSUER": hosts["ca-issuer"],
        "CA_VERIFIER": hosts["ca-verifier"],
        "CA_TRUST": hosts["trust"] + "/ca",
        "EU_TRUST": hosts["trust"] + "/eu",
    }


def build_with_pki(*, data_dir: Path, sources: Path, now: datetime) -> BuildResult:
    """`passerelle trust build`: sign every list with the development PKI of ``data_dir``."""
    from passerelle.services.pki import load_pki

    pki = load_pki(data_dir, now=now)
    return build_trust_lists(
        sources=sources,
        data_dir=data_dir,
        certificates=pki.certificates,
        eu_operator=OperatorKey(
            signer=pki.signer("eu-lote-operator"), x5c=pki.x5c("eu-lote-operator")
        ),
        ca_operator=OperatorKey(
            signer=pki.signer("ca-registry-operator"), x5c=pki.x5c("ca-registry-operator")
        ),
        substitutions=substitutions_for(pki.hosts),
        now=now,
    )
