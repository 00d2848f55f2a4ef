"""Reading the repository's data folders (``schemas/``, ``trust_lists/``).

In a source checkout they sit at the top of the repository; in an installed wheel they
are packaged under ``passerelle/_data/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from passerelle import JsonObject, JsonValue
from passerelle._json import parse_json_object
from passerelle.catalog import CompiledSchema, compile_schema

__all__ = ["Catalog", "CredentialType", "MdocElement", "MdocType", "data_root", "load_catalog"]


def data_root() -> Path:
    # In a checkout this file is services/catalog.py (the link passerelle/services resolves
    # to it), so parents[1] is the checkout; installed, it is passerelle/services/catalog.py
    # and the data sits in passerelle/_data.
    above = Path(__file__).resolve().parents[1]
    for candidate in (above, above / "_data"):
        if (candidate / "schemas" / "index.json").is_file():
            return candidate
    raise FileNotFoundError("schemas/index.json is neither in the checkout nor in the package")


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialType:
    id: str
    vct: str
    name: str
    schema: JsonObject
    validator: CompiledSchema
    """The schema checked once, at load, with its validator built once."""
    type_metadata: bytes
    samples: dict[str, JsonObject]
    """Sample subjects (the personas of the mock login page), by file name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MdocElement:
    """One data element of an mdoc type, and where its value comes from: a path in the
    persona's sample subject (``source``), a constant, an age threshold over the birth
    date, the issuance or expiry date, or the portrait."""

    identifier: str
    encoding: str
    display: tuple[JsonObject, ...]
    mandatory: bool = False
    source: tuple[str, ...] = ()
    constant: JsonValue = None
    age_over: int | None = None
    issued: str | None = None
    portrait: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MdocType:
    """An ISO/IEC 18013-5 mdoc type (``schemas/mdoc/*.json``): one namespace here."""

    id: str
    doctype: str
    namespace: str
    samples_from: str
    display: tuple[JsonObject, ...]
    elements: tuple[MdocElement, ...]
    validator: CompiledSchema


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    types: dict[str, CredentialType]
    crosswalks: dict[tuple[str, str], JsonObject]
    """Crosswalk documents by (source vct, target vct)."""
    mdoc_types: dict[str, MdocType] = field(default_factory=dict)
    """ISO/IEC 18013-5 mdoc types by id (their crosswalks are keyed by docType)."""

    def by_vct(self, vct: str) -> CredentialType:
        return next(t for t in self.types.values() if t.vct == vct)

    @property
    def type_metadata_documents(self) -> dict[str, bytes]:
        return {t.vct: t.type_metadata for t in self.types.values()}


@cache
def load_catalog(root: Path | None = None) -> Catalog:
    base = (root or data_root()) / "schemas"
    index = parse_json_object((base / "index.json").read_bytes(), what="schemas/index.json")

    def read(relative: object) -> JsonObject:
        return parse_json_object((base / str(relative)).read_bytes(), what=str(relative))

    types: dict[str, CredentialType] = {}
    for entry in index.get("types", []):  # type: ignore[union-attr]
        assert isinstance(entry, dict)
        samples = entry.get("samples", [])
        schema = read(entry["schema"])
        assert isinstance(samples, list)
        types[str(entry["id"])] = CredentialType(
            id=str(entry["id"]),
            vct=str(entry["vct"]),
            name=str(entry.get("name", entry["id"])),
            schema=schema,
            validator=compile_schema(schema),
            type_metadata=(base / str(entry["type_metadata"])).read_bytes(),
            samples={Path(str(s)).stem: read(s) for s in samples},
        )
    crosswalks: dict[tuple[str, str], JsonObject] = {}
    # mdoc crosswalks are keyed by docType: their source is an mdoc type, not an SD-JWT VC.
    for entry in [*index.get("crosswalks", []), *index.get("mdoc_crosswalks", [])]:  # type: ignore[misc]
        assert isinstance(entry, dict)
        crosswalks[(str(entry["source_vct"]), str(entry["target_vct"]))] = read(entry["path"])
    mdoc_types = {m.id: m for m in (_mdoc_type(read(p)) for p in index.get("mdoc_types", []))}  # type: ignore[union-attr]
    return Catalog(types=types, crosswalks=crosswalks, mdoc_types=mdoc_types)


def _mdoc_element(doc: JsonValue) -> MdocElement:
    assert isinstance(doc, dict)
    source, display, age = doc.get("from", []), doc.get("display", []), doc.get("age_over")
    assert isinstance(source, list)
    assert isinstance(display, list)
    return MdocElement(
        identifier=str(doc["identifier"]),
        encoding=str(doc.get("encoding", "tstr")),
        display=tuple(d for d in display if isinstance(d, dict)),
        mandatory=doc.get("mandatory") is True,
        source=tuple(str(p) for p in source),
        constant=doc.get("constant"),
        age_over=age if isinstance(age, int) else None,
        issued=str(doc["issued"]) if "issued" in doc else None,
        portrait=doc.get("portrait") is True,
    )


def _mdoc_type(doc: JsonObject) -> MdocType:
    elements, display, schema = doc.get("elements"), doc.get("display", []), doc.get("schema")
    assert isinstance(elements, list)
    assert isinstance(display, list)
    assert isinstance(schema, dict)
    return MdocType(
        id=str(doc["id"]),
        doctype=str(doc["doctype"]),
        namespace=str(doc["namespace"]),
        samples_from=str(doc["samples_from"]),
        display=tuple(d for d in display if isinstance(d, dict)),
        elements=tuple(_mdoc_element(e) for e in elements),
        validator=compile_schema(schema),
    )
