"""Shared credential catalogue: SD-JWT VC Type Metadata, JSON Schemas, crosswalks.

Pure functions over already-loaded documents; the data itself lives in ``schemas/``
at the repository root (see ``schemas/README.md``) and callers read it.
"""

from ._crosswalk import (
    TRANSFORMS,
    Crosswalk,
    CrosswalkResult,
    CrosswalkRule,
    SourcePath,
    TargetPath,
    Transform,
    apply_crosswalk,
    parse_crosswalk,
)
from ._schema import (
    CompiledSchema,
    check_mandatory_claims,
    check_schema,
    compile_schema,
    select_claims,
    validate_claims,
)
from ._type_metadata import (
    ClaimDisplay,
    ClaimMetadata,
    ClaimPath,
    IntegrityAlgorithm,
    ResolvedType,
    SdRule,
    TypeDisplay,
    TypeMetadata,
    check_integrity,
    compute_integrity,
    disclosure_rules,
    format_claim_path,
    parse_type_metadata,
    resolve_type_metadata,
)

__all__ = [
    "TRANSFORMS",
    "ClaimDisplay",
    "ClaimMetadata",
    "ClaimPath",
    "CompiledSchema",
    "Crosswalk",
    "CrosswalkResult",
    "CrosswalkRule",
    "IntegrityAlgorithm",
    "ResolvedType",
    "SdRule",
    "SourcePath",
    "TargetPath",
    "Transform",
    "TypeDisplay",
    "TypeMetadata",
    "apply_crosswalk",
    "check_integrity",
    "check_mandatory_claims",
    "check_schema",
    "compile_schema",
    "compute_integrity",
    "disclosure_rules",
    "format_claim_path",
    "parse_crosswalk",
    "parse_type_metadata",
    "resolve_type_metadata",
    "select_claims",
    "validate_claims",
]
