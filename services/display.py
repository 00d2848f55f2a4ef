"""Credentials as people read them: type and claim names from the SD-JWT VC Type
Metadata in ``schemas/`` (its ``display`` entries), values as words, and the
technical members (``cnf``, ``vct#integrity``, ``_sd`` ...) left out."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509

from passerelle import JsonValue, PasserelleError
from passerelle.catalog import ClaimMetadata, format_claim_path, resolve_type_metadata
from passerelle.sd_jwt import parse_sd_jwt

from .catalog import Catalog
from .pages import human

Path = tuple[str | int | None, ...]

__all__ = [
    "TECHNICAL",
    "ClaimLine",
    "claim_label",
    "claim_lines",
    "issuer_label",
    "path_lines",
    "type_label",
]

TECHNICAL = frozenset(
    {
        "cnf",
        "vct",
        "vct#integrity",
        "iss",
        "iat",
        "nbf",
        "exp",
        "status",
        "_sd",
        "_sd_alg",
        "sub_jwk",
        "@context",
        "type",
        "id",
    }
)
"""Members a credential carries for machines: never shown as claims."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimLine:
    path: tuple[str | int | None, ...]
    label: str
    value: str

    @property
    def key(self) -> str:
        """A stable name for a form field: the claim path as DCQL writes it."""
        return format_claim_path(self.path)


def _english(entries: Sequence[object], attribute: str) -> str | None:
    chosen = next(
        (e for e in entries if str(getattr(e, "locale", "")).startswith("en")),
        entries[0] if entries else None,
    )
    value = getattr(chosen, attribute, None) if chosen is not None else None
    return value if isinstance(value, str) else None


def _claims_metadata(catalog: Catalog, vct: str) -> tuple[ClaimMetadata, ...]:
    try:
        resolved = resolve_type_metadata(vct, documents=catalog.type_metadata_documents)
    except PasserelleError:
        return ()
    return tuple(resolved.claims)


def type_label(catalog: Catalog, vct: str) -> str:
    """The type's display name, else the catalogue's name, else the identifier itself."""
    try:
        resolved = resolve_type_metadata(vct, documents=catalog.type_metadata_documents)
    except PasserelleError:
        known = next((t for t in catalog.types.values() if t.vct == vct), None)
        return known.name if known is not None else vct
    name = _english(resolved.display or (), "name")
    return name or next((t.name for t in catalog.types.values() if t.vct == vct), vct)


def _fallback_label(path: Sequence[str | int | None]) -> str:
    # An mdoc namespace (org.iso.18013.5.1) names no claim: the element does.
    named = [str(p) for p in path if isinstance(p, str) and "." not in p] or [str(path[-1])]
    words = " ".join(named).replace("_", " ")
    return words[:1].upper() + words[1:]


def claim_label(catalog: Catalog, vct: str, path: Sequence[str | int | None]) -> str:
    for claim in _claims_metadata(catalog, vct):
        if tuple(claim.path) == tuple(path) and claim.display:
            label = _english(claim.display, "label")
            if label:
                return label
    return _fallback_label(path)


def _flatten(
    value: JsonValue, prefix: tuple[str | int | None, ...], labelled: set[Path]
) -> list[tuple[tuple[str | int | None, ...], JsonValue]]:
    # An object is opened when its members have names of their own in the metadata
    # (address.region), and shown whole otherwise.
    if isinstance(value, Mapping) and any(
        (*prefix, k) in labelled for k in value if isinstance(k, str)
    ):
        out: list[tuple[tuple[str | int | None, ...], JsonValue]] = []
        for key, inner in value.items():
            out.extend(_flatten(inner, (*prefix, key), labelled))
        return out
    return [(prefix, value)]


def claim_lines(
    catalog: Catalog, vct: str, claims: Mapping[str, JsonValue], *, format: str = ""
) -> list[ClaimLine]:
    """Every claim a person would care about, labelled, in the metadata's order. An
    mdoc's claims sit in namespaces (ISO/IEC 18013-5): each element is one line."""
    if format == "mso_mdoc":
        return [
            ClaimLine(path=(namespace, element), label=_fallback_label([element]), value=human(v))
            for namespace, elements in claims.items()
            if isinstance(elements, Mapping)
            for element, v in elements.items()
        ]
    metadata = _claims_metadata(catalog, vct)
    labelled = {tuple(c.path) for c in metadata}
    order = {tuple(c.path): i for i, c in enumerate(metadata)}
    pairs: list[tuple[tuple[str | int | None, ...], JsonValue]] = []
    for key, value in claims.items():
        if key not in TECHNICAL:
            pairs.extend(_flatten(value, (key,), labelled))
    pairs.sort(key=lambda p: order.get(p[0], len(order)))
    return [
        ClaimLine(path=path, label=claim_label(catalog, vct, path), value=human(value))
        for path, value in pairs
    ]


def path_lines(
    catalog: Catalog,
    vct: str,
    claims: Mapping[str, JsonValue],
    paths: Sequence[Sequence[str | int | None]],
) -> list[ClaimLine]:
    """The claims at ``paths`` (what a presentation discloses), labelled, with values."""
    out = []
    for path in paths:
        value: JsonValue = dict(claims)
        for component in path:
            if isinstance(value, Mapping) and isinstance(component, str):
                value = value.get(component)
            elif isinstance(value, list) and isinstance(component, int) and component < len(value):
                value = value[component]
            elif isinstance(value, list) and component is None:
                continue
            else:
                value = None
                break
        out.append(
            ClaimLine(path=tuple(path), label=claim_label(catalog, vct, path), value=human(value))
        )
    return out


def issuer_label(token: str, *, format: str, issuer: str) -> str:
    """The organisation in the issuer certificate of a credential this wallet verified
    on receipt (``x5c`` of an SD-JWT VC), else the issuer's identifier."""
    if format != "dc+sd-jwt":
        return issuer
    try:
        chain = parse_sd_jwt(token).issuer_jwt.header.get("x5c")
        if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
            return issuer
        leaf = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        names = leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    except (PasserelleError, ValueError):
        return issuer
    return str(names[0].value) if names else issuer
