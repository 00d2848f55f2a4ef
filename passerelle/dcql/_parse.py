"""Parse a DCQL query (OpenID4VP 1.0 §6) into models, or raise ``dcql.invalid_query``.

Each rule names the section it comes from. Unknown members are kept, not refused
(§6: "Implementations MUST ignore any unknown properties").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue, b64url_decode, b64url_encode
from ._models import (
    FORMAT_MSO_MDOC,
    FORMAT_SD_JWT_VC,
    TRUSTED_AUTHORITY_AKI,
    W3C_FORMATS,
    ClaimPath,
    ClaimsQuery,
    ClaimValue,
    CredentialQuery,
    CredentialSetQuery,
    DcqlQuery,
    TrustedAuthoritiesQuery,
)

__all__ = ["parse_dcql_query"]

_ID = re.compile(r"[A-Za-z0-9_-]+")

_QUERY_MEMBERS = frozenset({"credentials", "credential_sets"})
_CREDENTIAL_MEMBERS = frozenset(
    {
        "id",
        "format",
        "multiple",
        "meta",
        "trusted_authorities",
        "require_cryptographic_holder_binding",
        "claims",
        "claim_sets",
    }
)
_CLAIM_MEMBERS = frozenset({"id", "path", "values"})
_SET_MEMBERS = frozenset({"options", "required"})
_AUTHORITY_MEMBERS = frozenset({"type", "values"})


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.DCQL_INVALID_QUERY, detail, wire_error="invalid_request")


def _extra(obj: JsonObject, known: frozenset[str]) -> dict[str, JsonValue]:
    return {k: v for k, v in obj.items() if k not in known}


def _object(value: JsonValue, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a JSON object")
    return value


def _non_empty_array(value: JsonValue, where: str) -> list[JsonValue]:
    if not isinstance(value, list) or not value:
        raise _invalid(f"{where} must be a non-empty array")
    return value


def _bool(obj: JsonObject, key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise _invalid(f"{where}.{key} must be a boolean")
    return value


def _identifier(value: JsonValue, where: str) -> str:
    # §6.1 and §6.3: "a non-empty string consisting of alphanumeric, underscore (_),
    # or hyphen (-) characters".
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise _invalid(f"{where} must be a non-empty string of [A-Za-z0-9_-]")
    return value


def _string(value: JsonValue, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"{where} must be a non-empty string")
    return value


def _strings(value: JsonValue, where: str) -> tuple[str, ...]:
    items = _non_empty_array(value, where)
    return tuple(_string(item, f"{where}[{i}]") for i, item in enumerate(items))


def _path(value: JsonValue, where: str) -> ClaimPath:
    # §7: "a non-empty array of strings, nulls and non-negative integers".
    items = _non_empty_array(value, where)
    path: list[str | int | None] = []
    for i, item in enumerate(items):
        if (
            item is None
            or isinstance(item, str)
            or (isinstance(item, int) and not isinstance(item, bool) and item >= 0)
        ):
            path.append(item)
        else:
            raise _invalid(f"{where}[{i}] must be a string, null or a non-negative integer")
    return tuple(path)


def _values(value: JsonValue, where: str) -> tuple[ClaimValue, ...]:
    # §6.3: "A non-empty array of strings, integers or boolean values".
    items = _non_empty_array(value, where)
    out: list[ClaimValue] = []
    for i, item in enumerate(items):
        if not isinstance(item, str | int | bool):
            raise _invalid(f"{where}[{i}] must be a string, an integer or a boolean")
        out.append(item)
    return tuple(out)


def _parse_claim(value: JsonValue, where: str, *, mdoc: bool) -> ClaimsQuery:
    obj = _object(value, where)
    claim_id = _identifier(obj["id"], f"{where}.id") if "id" in obj else None
    if "path" not in obj:
        raise _invalid(f"{where}.path is required")
    values = _values(obj["values"], f"{where}.values") if "values" in obj else None
    known = _CLAIM_MEMBERS
    intent: bool | None = None
    if mdoc:
        # §B.2.4: an mdoc-only member; for other formats it is just unknown.
        known = known | {"intent_to_retain"}
        if "intent_to_retain" in obj:
            intent = _bool(obj, "intent_to_retain", where, False)
    return ClaimsQuery(
        id=claim_id,
        path=_path(obj["path"], f"{where}.path"),
        values=values,
        intent_to_retain=intent,
        extra=_extra(obj, known),
    )


def _canonical_aki(value: str, where: str) -> str:
    try:
        raw = b64url_decode(value, what=where)
    except PasserelleError as exc:
        raise _invalid(f"{where} must be the base64url KeyIdentifier of an AKI") from exc
    if not raw:
        raise _invalid(f"{where} must not be empty")
    # Re-encoding folds a non-canonical spelling (stray trailing bits) into the one
    # a wallet compares against.
    return b64url_encode(raw)


def _parse_authority(value: JsonValue, where: str) -> TrustedAuthoritiesQuery:
    # §6.1.1: {type: string, values: non-empty array of strings}.
    obj = _object(value, where)
    if "type" not in obj:
        raise _invalid(f"{where}.type is required")
    kind = _string(obj["type"], f"{where}.type")
    if "values" not in obj:
        raise _invalid(f"{where}.values is required")
    values = _strings(obj["values"], f"{where}.values")
    if kind == TRUSTED_AUTHORITY_AKI:
        values = tuple(_canonical_aki(v, f"{where}.values[{i}]") for i, v in enumerate(values))
    return TrustedAuthoritiesQuery(type=kind, values=values, extra=_extra(obj, _AUTHORITY_MEMBERS))


def _parse_meta(
    meta: JsonObject, fmt: str, where: str
) -> tuple[tuple[str, ...] | None, tuple[tuple[str, ...], ...] | None, str | None]:
    if fmt == FORMAT_SD_JWT_VC:
        # §B.3.5: vct_values is REQUIRED, a non-empty array of strings.
        if "vct_values" not in meta:
            raise _invalid(f"{where}.vct_values is required for {fmt}")
        return _strings(meta["vct_values"], f"{where}.vct_values"), None, None
    if fmt in W3C_FORMATS:
        # §B.1.1: type_values is REQUIRED, a non-empty array of non-empty string arrays.
        if "type_values" not in meta:
            raise _invalid(f"{where}.type_values is required for {fmt}")
        outer = _non_empty_array(meta["type_values"], f"{where}.type_values")
        types = tuple(_strings(v, f"{where}.type_values[{i}]") for i, v in enumerate(outer))
        return None, types, None
    if fmt == FORMAT_MSO_MDOC:
        # §B.2.3: doctype_value is REQUIRED, a string.
        if "doctype_value" not in meta:
            raise _invalid(f"{where}.doctype_value is required for {fmt}")
        return None, None, _string(meta["doctype_value"], f"{where}.doctype_value")
    return None, None, None


def _parse_claim_sets(
    value: JsonValue, claims: tuple[ClaimsQuery, ...] | None, where: str
) -> tuple[tuple[str, ...], ...]:
    # §6.1: "claim_sets MUST NOT be present if claims is absent"; §6.3: with
    # claim_sets every claim needs an id.
    if claims is None:
        raise _invalid(f"{where}.claim_sets must not be present without claims")
    for i, claim in enumerate(claims):
        if claim.id is None:
            raise _invalid(f"{where}.claims[{i}].id is required when claim_sets is present")
    known = {c.id for c in claims}
    sets: list[tuple[str, ...]] = []
    for i, option in enumerate(_non_empty_array(value, f"{where}.claim_sets")):
        if not isinstance(option, list):
            raise _invalid(f"{where}.claim_sets[{i}] must be an array of claim ids")
        ids: list[str] = []
        for j, claim_id in enumerate(option):
            item = _identifier(claim_id, f"{where}.claim_sets[{i}][{j}]")
            if item not in known:
                raise _invalid(f"{where}.claim_sets[{i}][{j}] {item!r} names no claim")
            ids.append(item)
        sets.append(tuple(ids))
    return tuple(sets)


def _parse_credential(value: JsonValue, where: str) -> CredentialQuery:
    obj = _object(value, where)
    if "id" not in obj:
        raise _invalid(f"{where}.id is required")
    query_id = _identifier(obj["id"], f"{where}.id")
    if "format" not in obj:
        raise _invalid(f"{where}.format is required")
    fmt = _string(obj["format"], f"{where}.format")
    if "meta" not in obj:
        raise _invalid(f"{where}.meta is required")
    meta = _object(obj["meta"], f"{where}.meta")
    vct_values, type_values, doctype = _parse_meta(meta, fmt, f"{where}.meta")

    authorities = None
    if "trusted_authorities" in obj:
        entries = _non_empty_array(obj["trusted_authorities"], f"{where}.trusted_authorities")
        authorities = tuple(
            _parse_authority(e, f"{where}.trusted_authorities[{i}]") for i, e in enumerate(entries)
        )

    claims = None
    if "claims" in obj:
        entries = _non_empty_array(obj["claims"], f"{where}.claims")
        claims = tuple(
            _parse_claim(e, f"{where}.claims[{i}]", mdoc=fmt == FORMAT_MSO_MDOC)
            for i, e in enumerate(entries)
        )
        seen: set[str] = set()
        for i, claim in enumerate(claims):
            if claim.id is not None:
                if claim.id in seen:
                    raise _invalid(f"{where}.claims[{i}].id {claim.id!r} is not unique")
                seen.add(claim.id)

    claim_sets = (
        _parse_claim_sets(obj["claim_sets"], claims, where) if "claim_sets" in obj else None
    )
    return CredentialQuery(
        id=query_id,
        format=fmt,
        meta=meta,
        multiple=_bool(obj, "multiple", where, False),
        vct_values=vct_values,
        type_values=type_values,
        doctype_value=doctype,
        trusted_authorities=authorities,
        require_cryptographic_holder_binding=_bool(
            obj, "require_cryptographic_holder_binding", where, True
        ),
        claims=claims,
        claim_sets=claim_sets,
        extra=_extra(obj, _CREDENTIAL_MEMBERS),
    )


def _parse_credential_set(value: JsonValue, ids: frozenset[str], where: str) -> CredentialSetQuery:
    # §6.2: options is a non-empty array of non-empty arrays of Credential Query ids.
    obj = _object(value, where)
    if "options" not in obj:
        raise _invalid(f"{where}.options is required")
    options: list[tuple[str, ...]] = []
    for i, option in enumerate(_non_empty_array(obj["options"], f"{where}.options")):
        members = _non_empty_array(option, f"{where}.options[{i}]")
        chosen: list[str] = []
        for j, member in enumerate(members):
            item = _identifier(member, f"{where}.options[{i}][{j}]")
            if item not in ids:
                raise _invalid(f"{where}.options[{i}][{j}] {item!r} names no credential query")
            chosen.append(item)
        options.append(tuple(chosen))
    return CredentialSetQuery(
        options=tuple(options),
        required=_bool(obj, "required", where, True),
        extra=_extra(obj, _SET_MEMBERS),
    )


def parse_dcql_query(doc: JsonValue | Mapping[str, JsonValue]) -> DcqlQuery:
    """Turn a DCQL query (already-parsed JSON) into a :class:`DcqlQuery`.

    Raises ``dcql.invalid_query`` (wire ``invalid_request``) naming the offending member.
    """
    if not isinstance(doc, Mapping):
        raise _invalid("the DCQL query must be a JSON object")
    obj: JsonObject = dict(doc)
    if "credentials" not in obj:
        raise _invalid("credentials is required")
    entries = _non_empty_array(obj["credentials"], "credentials")
    credentials = tuple(_parse_credential(e, f"credentials[{i}]") for i, e in enumerate(entries))
    seen: set[str] = set()
    for i, query in enumerate(credentials):
        if query.id in seen:
            raise _invalid(f"credentials[{i}].id {query.id!r} is present more than once")
        seen.add(query.id)

    credential_sets = None
    if "credential_sets" in obj:
        ids = frozenset(seen)
        sets = _non_empty_array(obj["credential_sets"], "credential_sets")
        credential_sets = tuple(
            _parse_credential_set(s, ids, f"credential_sets[{i}]") for i, s in enumerate(sets)
        )
    return DcqlQuery(
        credentials=credentials,
        credential_sets=credential_sets,
        extra=_extra(obj, _QUERY_MEMBERS),
    )
