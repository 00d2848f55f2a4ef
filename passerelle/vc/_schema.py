"""``credentialSchema`` checks with JSON Schema (W3C VC JSON Schema, type ``JsonSchema``).

A ``JsonSchema`` entry names a JSON Schema by ``id``; the schema validates the whole
credential document (not only ``credentialSubject``). Schemas are looked up among those
the caller passes: nothing is fetched, not even a ``$ref`` target, so a schema that
refers outside the given set fails as ``schema.unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema

from .._errors import PasserelleError, Reason
from .._json import JsonObject
from ._models import read_schema_refs

__all__ = ["JSON_SCHEMA_TYPE", "check_credential_schema"]

JSON_SCHEMA_TYPE = "JsonSchema"


def check_credential_schema(
    credential: JsonObject, *, schemas: Mapping[str, JsonObject]
) -> tuple[str, ...]:
    """Validate ``credential`` against each of its ``credentialSchema`` entries, or raise.

    Returns the ids of the schemas that were applied. An entry of another type, or whose
    id is not in ``schemas``, is ``schema.unknown``: a check we cannot run is not a pass.
    A schema that is not itself valid is ``schema.invalid``; a credential that does not
    validate is ``schema.violation``.
    """
    try:
        refs = read_schema_refs(credential, what="credential")
    except PasserelleError as exc:
        raise PasserelleError(Reason.SCHEMA_VIOLATION, exc.detail) from exc
    resources = []
    for schema_id, schema in schemas.items():
        try:
            resource = referencing.Resource.from_contents(
                schema, default_specification=referencing.jsonschema.DRAFT202012
            )
        except referencing.exceptions.CannotDetermineSpecification as exc:
            raise PasserelleError(Reason.SCHEMA_INVALID, f"schema {schema_id}: {exc}") from exc
        resources.append((schema_id, resource))
    # A fresh Registry's retrieve always fails: unlike jsonschema's default, it never fetches.
    empty: referencing.jsonschema.SchemaRegistry = referencing.Registry()
    registry = empty.with_resources(resources)
    applied = []
    for ref in refs:
        if ref.type != JSON_SCHEMA_TYPE:
            raise PasserelleError(Reason.SCHEMA_UNKNOWN, f"credentialSchema type {ref.type!r}")
        if ref.id not in schemas:
            raise PasserelleError(Reason.SCHEMA_UNKNOWN, f"no schema {ref.id} among those given")
        schema = schemas[ref.id]
        validator_class = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft202012Validator
        )
        try:
            validator_class.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise PasserelleError(Reason.SCHEMA_INVALID, f"schema {ref.id}: {exc.message}") from exc
        validator = validator_class(
            schema, registry=registry, format_checker=validator_class.FORMAT_CHECKER
        )
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(credential))
        except referencing.exceptions.Unresolvable as exc:
            raise PasserelleError(Reason.SCHEMA_UNKNOWN, f"schema {ref.id}: {exc}") from exc
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise PasserelleError(
                Reason.SCHEMA_VIOLATION, f"credential violates {ref.id} at {where}: {error.message}"
            )
        applied.append(ref.id)
    return tuple(applied)
