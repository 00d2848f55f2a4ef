"""Reading the repository's data folders (``schemas/``, ``trust_lists/``).

In a source checkout they sit at the top of the repository; in an installed wheel they
are packaged under ``passerelle/_data/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from passerelle import JsonObject
from passerelle._json import parse_json_object
from passerelle.catalog import CompiledSchema, compile_schema

__all__ = ["Catalog", "CredentialType", "data_root", "load_catalog"]


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
class Catalog:
    types: dict[str, CredentialType]
    crosswalks: dict[tuple[str, str], JsonObject]
    """Crosswalk documents by (source vct, target vct)."""

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
    for entry in index.get("crosswalks", []):  # type: ignore[union-attr]
        assert isinstance(entry, dict)
        crosswalks[(str(entry["source_vct"]), str(entry["target_vct"]))] = read(entry["path"])
    return Catalog(types=types, crosswalks=crosswalks)
