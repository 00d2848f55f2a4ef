"""SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc, editor's copy after -19, §5, §6).

Parsing follows the draft's member names: ``vct``, ``name``, ``description``,
``extends``, ``extends#integrity``, ``display`` (``locale``, ``name``, ``description``,
``rendering``) and ``claims`` (``path``, ``display`` with ``locale``/``label``,
``mandatory``, ``sd``, ``svg_id``). Members the draft does not define are kept in
``extra`` ("Consumers MUST ignore properties that are not understood", §5.2), so a
document round-trips. Earlier drafts' ``lang`` (for ``locale``) and the embedded
``schema``/``schema_uri`` are not understood any more: a display entry without
``locale`` is invalid, and ``schema`` members simply land in ``extra``.

Integrity (§6) is computed over the octets of the document as retrieved, never over
a re-serialisation, so the functions here take ``bytes``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, parse_json_object

__all__ = [
    "ClaimDisplay",
    "ClaimMetadata",
    "ClaimPath",
    "IntegrityAlgorithm",
    "ResolvedType",
    "SdRule",
    "TypeDisplay",
    "TypeMetadata",
    "check_integrity",
    "compute_integrity",
    "disclosure_rules",
    "format_claim_path",
    "parse_type_metadata",
    "resolve_type_metadata",
]

ClaimPath: TypeAlias = tuple[str | int | None, ...]
"""A claim path of §5.6.1: keys (str), every array element (None), one index (int)."""

SdRule: TypeAlias = Literal["always", "allowed", "never"]
IntegrityAlgorithm: TypeAlias = Literal["sha256", "sha384", "sha512"]

_SD_VALUES: frozenset[str] = frozenset({"always", "allowed", "never"})
_SVG_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Strength order for "use the hash expressions with the strongest hash algorithm" (§6).
_ALGORITHMS: dict[str, int] = {"sha256": 256, "sha384": 384, "sha512": 512}
# A chain longer than this is a hostile or broken registry, not a type hierarchy.
MAX_EXTENDS_DEPTH = 16

_TOP_MEMBERS = frozenset(
    {"vct", "name", "description", "extends", "extends#integrity", "display", "claims"}
)
_DISPLAY_MEMBERS = frozenset({"locale", "name", "description", "rendering"})
_CLAIM_MEMBERS = frozenset({"path", "display", "mandatory", "sd", "svg_id"})
_CLAIM_DISPLAY_MEMBERS = frozenset({"locale", "label", "description"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeDisplay:
    """One entry of the type's ``display`` array (§5.5)."""

    locale: str
    name: str
    description: str | None = None
    rendering: JsonObject | None = None
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimDisplay:
    """One entry of a claim's ``display`` array (§5.6.2)."""

    locale: str
    label: str
    description: str | None = None
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimMetadata:
    """One object of the ``claims`` array (§5.6). ``None`` means the member is absent."""

    path: ClaimPath
    display: tuple[ClaimDisplay, ...] | None = None
    mandatory: bool | None = None
    sd: SdRule | None = None
    svg_id: str | None = None
    extra: JsonObject = field(default_factory=dict)

    @property
    def effective_sd(self) -> SdRule:
        # §5.6.4: "If omitted, the default value is allowed."
        return self.sd if self.sd is not None else "allowed"

    @property
    def is_mandatory(self) -> bool:
        return self.mandatory is True


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeMetadata:
    """A parsed Type Metadata document (§5.2), unknown members kept in ``extra``."""

    vct: str
    name: str | None = None
    description: str | None = None
    extends: str | None = None
    extends_integrity: str | None = None
    display: tuple[TypeDisplay, ...] | None = None
    claims: tuple[ClaimMetadata, ...] | None = None
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedType:
    """A type with its ``extends`` chain applied (§5.4, §5.5.2, §5.6.5).

    ``chain`` runs from the requested type to the root. ``display`` is the nearest
    type's own display (display is replaced, never merged); ``claims`` is the claim
    metadata after inheritance, root claims first. ``integrity_verified`` lists the
    vcts whose document bytes were checked against an ``#integrity`` value.
    """

    vct: str
    chain: tuple[TypeMetadata, ...]
    display: tuple[TypeDisplay, ...]
    claims: tuple[ClaimMetadata, ...]
    integrity_verified: frozenset[str] = frozenset()

    @property
    def metadata(self) -> TypeMetadata:
        return self.chain[0]


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.TYPE_METADATA_INVALID, detail)


def _optional_str(doc: JsonObject, key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None and key not in doc:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{where}: {key!r} must be a string")
    return value


def _required_str(doc: JsonObject, key: str, where: str) -> str:
    value = _optional_str(doc, key, where)
    if value is None or not value:
        raise _invalid(f"{where}: {key!r} is required and must be a non-empty string")
    return value


def _extra(doc: JsonObject, known: frozenset[str]) -> JsonObject:
    return {key: value for key, value in doc.items() if key not in known}


def _parse_display(value: JsonValue) -> tuple[TypeDisplay, ...]:
    if not isinstance(value, list):
        raise _invalid("'display' must be an array")
    out: list[TypeDisplay] = []
    for i, entry in enumerate(value):
        where = f"display[{i}]"
        if not isinstance(entry, dict):
            raise _invalid(f"{where} must be an object")
        rendering = entry.get("rendering")
        if "rendering" in entry:
            if not isinstance(rendering, dict):
                raise _invalid(f"{where}.rendering must be an object")
            _check_rendering(rendering, where)
        out.append(
            TypeDisplay(
                locale=_required_str(entry, "locale", where),
                name=_required_str(entry, "name", where),
                description=_optional_str(entry, "description", where),
                rendering=rendering if isinstance(rendering, dict) else None,
                extra=_extra(entry, _DISPLAY_MEMBERS),
            )
        )
    return tuple(out)


def _check_rendering(rendering: JsonObject, where: str) -> None:
    # Only the two methods the draft defines are checked; others are ecosystem extensions.
    simple = rendering.get("simple")
    if "simple" in rendering:
        if not isinstance(simple, dict):
            raise _invalid(f"{where}.rendering.simple must be an object")
        for key in ("background_color", "text_color"):
            if key in simple and not isinstance(simple[key], str):
                raise _invalid(f"{where}.rendering.simple.{key} must be a string")
        for key in ("logo", "background_image"):
            if key in simple:
                image = simple[key]
                if not isinstance(image, dict) or not isinstance(image.get("uri"), str):
                    raise _invalid(f"{where}.rendering.simple.{key} needs a string 'uri'")
    if "svg_templates" in rendering:
        templates = rendering["svg_templates"]
        if not isinstance(templates, list) or not templates:
            raise _invalid(f"{where}.rendering.svg_templates must be a non-empty array")
        for template in templates:
            if not isinstance(template, dict) or not isinstance(template.get("uri"), str):
                raise _invalid(f"{where}.rendering.svg_templates entries need a string 'uri'")
        if len(templates) > 1 and not all(
            "properties" in t for t in templates if isinstance(t, dict)
        ):
            raise _invalid(f"{where}.rendering.svg_templates: 'properties' required when several")


def _parse_path(value: JsonValue, where: str) -> ClaimPath:
    if not isinstance(value, list) or not value:
        raise _invalid(f"{where}.path must be a non-empty array")
    out: list[str | int | None] = []
    for component in value:
        # bool is an int in Python; the draft allows strings, null and non-negative integers.
        is_index = isinstance(component, int) and not isinstance(component, bool) and component >= 0
        if not (component is None or isinstance(component, str) or is_index):
            raise _invalid(f"{where}.path has an invalid component {component!r}")
        assert component is None or isinstance(component, str | int)
        out.append(component)
    return tuple(out)


def _parse_claim_display(value: JsonValue, where: str) -> tuple[ClaimDisplay, ...]:
    if not isinstance(value, list):
        raise _invalid(f"{where}.display must be an array")
    out: list[ClaimDisplay] = []
    for i, entry in enumerate(value):
        inner = f"{where}.display[{i}]"
        if not isinstance(entry, dict):
            raise _invalid(f"{inner} must be an object")
        out.append(
            ClaimDisplay(
                locale=_required_str(entry, "locale", inner),
                label=_required_str(entry, "label", inner),
                description=_optional_str(entry, "description", inner),
                extra=_extra(entry, _CLAIM_DISPLAY_MEMBERS),
            )
        )
    return tuple(out)


def _parse_claims(value: JsonValue) -> tuple[ClaimMetadata, ...]:
    if not isinstance(value, list):
        raise _invalid("'claims' must be an array")
    out: list[ClaimMetadata] = []
    seen_paths: set[ClaimPath] = set()
    seen_svg: set[str] = set()
    for i, entry in enumerate(value):
        where = f"claims[{i}]"
        if not isinstance(entry, dict):
            raise _invalid(f"{where} must be an object")
        path = _parse_path(entry.get("path"), where)
        if path in seen_paths:
            raise _invalid(f"{where}: path {format_claim_path(path)} is described twice")
        seen_paths.add(path)
        display = _parse_claim_display(entry["display"], where) if "display" in entry else None
        mandatory = entry.get("mandatory")
        if "mandatory" in entry and not isinstance(mandatory, bool):
            raise _invalid(f"{where}.mandatory must be a boolean")
        sd = entry.get("sd")
        if "sd" in entry and (not isinstance(sd, str) or sd not in _SD_VALUES):
            raise _invalid(f"{where}.sd must be one of always, allowed, never")
        svg_id = _optional_str(entry, "svg_id", where)
        if svg_id is not None:
            if not _SVG_ID.fullmatch(svg_id):
                raise _invalid(f"{where}.svg_id {svg_id!r} is not alphanumeric/underscore")
            if svg_id in seen_svg:
                raise _invalid(f"{where}.svg_id {svg_id!r} is not unique")
            seen_svg.add(svg_id)
        out.append(
            ClaimMetadata(
                path=path,
                display=display,
                mandatory=mandatory if isinstance(mandatory, bool) else None,
                sd=_as_sd(sd),
                svg_id=svg_id,
                extra=_extra(entry, _CLAIM_MEMBERS),
            )
        )
    return tuple(out)


def _as_sd(value: JsonValue) -> SdRule | None:
    if value == "always":
        return "always"
    if value == "allowed":
        return "allowed"
    if value == "never":
        return "never"
    return None


def parse_type_metadata(doc: JsonObject) -> TypeMetadata:
    """Turn a Type Metadata document into a :class:`TypeMetadata`, or raise
    ``type_metadata.invalid``."""
    if not isinstance(doc, dict):
        raise _invalid("a Type Metadata document must be a JSON object")
    where = "type metadata"
    extends = _optional_str(doc, "extends", where)
    if extends is not None and not extends:
        raise _invalid("'extends' must be a non-empty string")
    extends_integrity = _optional_str(doc, "extends#integrity", where)
    if extends_integrity is not None and extends is None:
        raise _invalid("'extends#integrity' without 'extends'")
    return TypeMetadata(
        vct=_required_str(doc, "vct", where),
        name=_optional_str(doc, "name", where),
        description=_optional_str(doc, "description", where),
        extends=extends,
        extends_integrity=extends_integrity,
        display=_parse_display(doc["display"]) if "display" in doc else None,
        claims=_parse_claims(doc["claims"]) if "claims" in doc else None,
        extra=_extra(doc, _TOP_MEMBERS),
    )


# --------------------------------------------------------------------------- integrity


def compute_integrity(document_bytes: bytes, alg: IntegrityAlgorithm = "sha256") -> str:
    """The W3C SRI integrity metadata string (``sha256-<base64>``) for these octets."""
    if alg not in _ALGORITHMS:
        raise local_error(Reason.INPUT_MALFORMED, f"unsupported integrity algorithm {alg!r}")
    digest = hashlib.new(alg, document_bytes).digest()
    return f"{alg}-{base64.b64encode(digest).decode('ascii')}"


def _decode_sri_digest(value: str) -> bytes | None:
    # CSP3 base64-value admits both alphabets; padding is optional.
    normalised = value.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        return base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_integrity(document_bytes: bytes, integrity: str) -> None:
    """Check retrieved document octets against an SRI integrity metadata string (§6).

    Only the hash expressions of the strongest supported algorithm count, and any
    one of them matching suffices. No supported algorithm, or no match, raises
    ``sd_jwt_vc.vct_integrity_mismatch``.
    """
    if not isinstance(integrity, str):
        raise PasserelleError(Reason.SD_JWT_VC_INTEGRITY_MISMATCH, "integrity is not a string")
    by_alg: dict[str, list[bytes]] = {}
    for token in integrity.split():
        expression = token.split("?", 1)[0]  # SRI options follow '?'; none is defined
        alg, sep, value = expression.partition("-")
        alg = alg.lower()
        if not sep or alg not in _ALGORITHMS:
            continue
        digest = _decode_sri_digest(value)
        if digest is not None:
            by_alg.setdefault(alg, []).append(digest)
    if not by_alg:
        raise PasserelleError(
            Reason.SD_JWT_VC_INTEGRITY_MISMATCH,
            "integrity metadata names no supported hash algorithm (sha256, sha384, sha512)",
        )
    strongest = max(by_alg, key=_ALGORITHMS.__getitem__)
    actual = hashlib.new(strongest, document_bytes).digest()
    if not any(hmac.compare_digest(actual, expected) for expected in by_alg[strongest]):
        raise PasserelleError(
            Reason.SD_JWT_VC_INTEGRITY_MISMATCH,
            f"document does not match its {strongest} integrity value",
        )


# --------------------------------------------------------------------------- resolution


def _load(
    vct: str,
    documents: Mapping[str, JsonObject | bytes],
    integrity: str | None,
    referrer: str,
) -> tuple[TypeMetadata, bool]:
    if vct not in documents:
        raise PasserelleError(
            Reason.SCHEMA_UNKNOWN, f"no Type Metadata for {vct!r} (referenced by {referrer})"
        )
    source = documents[vct]
    verified = False
    if isinstance(source, bytes | bytearray):
        raw = bytes(source)
        if integrity is not None:
            check_integrity(raw, integrity)
            verified = True
        doc = parse_json_object(raw, what=f"Type Metadata of {vct}")
    else:
        if integrity is not None:
            # The octets as retrieved are what is hashed; a parsed dict cannot be checked.
            raise local_error(
                Reason.SD_JWT_VC_INTEGRITY_MISMATCH,
                f"{referrer} asserts integrity for {vct!r} but only parsed JSON was given; "
                "pass the retrieved bytes",
            )
        doc = source
    metadata = parse_type_metadata(doc)
    if metadata.vct != vct:
        # §5.3: the referenced vct and the document's vct must be identical.
        raise PasserelleError(
            Reason.SD_JWT_VC_VCT_MISMATCH,
            f"Type Metadata retrieved for {vct!r} describes {metadata.vct!r}",
        )
    return metadata, verified


def _merge_claim(parent: ClaimMetadata, child: ClaimMetadata) -> ClaimMetadata:
    where = format_claim_path(child.path)
    # §5.6.5.1: sd may only move away from "allowed"; mandatory may only become true.
    if parent.sd in ("always", "never") and child.sd is not None and child.sd != parent.sd:
        raise _invalid(f"claim {where}: extending type changes sd {parent.sd!r} to {child.sd!r}")
    if parent.mandatory is True and child.mandatory is False:
        raise _invalid(f"claim {where}: extending type makes a mandatory claim optional")
    return ClaimMetadata(
        path=child.path,
        display=child.display if child.display is not None else parent.display,
        mandatory=child.mandatory if child.mandatory is not None else parent.mandatory,
        sd=child.sd if child.sd is not None else parent.sd,
        svg_id=child.svg_id if child.svg_id is not None else parent.svg_id,
        extra={**parent.extra, **child.extra},
    )


def resolve_type_metadata(
    vct: str,
    *,
    documents: Mapping[str, JsonObject | bytes],
    vct_integrity: str | None = None,
) -> ResolvedType:
    """Resolve ``vct`` and its ``extends`` chain from already-retrieved documents.

    ``documents`` maps a vct to its Type Metadata, either as the retrieved bytes or as
    parsed JSON. Integrity (``vct_integrity`` from the credential, and each
    ``extends#integrity``) is checked against the bytes; asserting integrity for a
    document given only as parsed JSON fails closed. A missing document raises
    ``schema.unknown``, a loop ``type_metadata.extends_cycle``.
    """
    chain: list[TypeMetadata] = []
    verified: set[str] = set()
    seen: set[str] = set()
    current, integrity, referrer = vct, vct_integrity, "the credential"
    while True:
        if current in seen:
            cycle = " -> ".join([*(m.vct for m in chain), current])
            raise PasserelleError(Reason.TYPE_METADATA_EXTENDS_CYCLE, f"extends cycle: {cycle}")
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise _invalid(f"extends chain of {vct!r} is deeper than {MAX_EXTENDS_DEPTH}")
        seen.add(current)
        metadata, was_verified = _load(current, documents, integrity, referrer)
        if was_verified:
            verified.add(current)
        chain.append(metadata)
        if metadata.extends is None:
            break
        current, integrity, referrer = metadata.extends, metadata.extends_integrity, metadata.vct

    # Root first, so each extending type is applied over what it extends (§5.4).
    claims: dict[ClaimPath, ClaimMetadata] = {}
    display: tuple[TypeDisplay, ...] = ()
    for metadata in reversed(chain):
        if metadata.display is not None:
            display = metadata.display
        for claim in metadata.claims or ():
            parent = claims.get(claim.path)
            claims[claim.path] = claim if parent is None else _merge_claim(parent, claim)
    return ResolvedType(
        vct=vct,
        chain=tuple(chain),
        display=display,
        claims=tuple(claims.values()),
        integrity_verified=frozenset(verified),
    )


def disclosure_rules(resolved: ResolvedType | TypeMetadata) -> dict[ClaimPath, SdRule]:
    """Each described claim path and whether an issuer must, may or must not make it
    selectively disclosable (``sd``, default ``allowed``)."""
    claims = resolved.claims or ()
    return {claim.path: claim.effective_sd for claim in claims}


def format_claim_path(path: ClaimPath | tuple[str | int, ...]) -> str:
    """``address.street_address``, ``degrees[].type``, ``nationalities[0]``."""
    out = ""
    for component in path:
        if component is None:
            out += "[]"
        elif isinstance(component, int):
            out += f"[{component}]"
        else:
            out += f".{component}" if out else component
    return out
