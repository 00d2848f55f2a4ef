"""The schema plan: what an issuer issues against the shared catalogue.

Each issuer target's SD-JWT VCs are held against the JSON Schema, the Type Metadata
(``extends`` chain, ``mandatory``, ``sd``) and the integrity value of their type, and
the target's metadata and the crosswalks of the types it issues against the types
they name. The credentials are the ones the issuer plan obtained (or obtained here,
once per run); their signatures are the issuer plan's business, so they are read
without being verified. ``jwt_vc_json`` credentials are not covered: the catalogue
describes SD-JWT VC payloads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from passerelle import PasserelleError
from passerelle.catalog import (
    ResolvedType,
    check_integrity,
    check_mandatory_claims,
    format_claim_path,
    parse_crosswalk,
    resolve_type_metadata,
    validate_claims,
)
from passerelle.services.catalog import Catalog, CredentialType, load_catalog

from .._context import CheckContext
from .._holder import (
    Issued,
    IssuerEndpoints,
    discover,
    obtain_shared,
    read_unverified_sd_jwt_vc,
    target_configurations,
)
from .._model import (
    CheckError,
    CheckFailed,
    CheckSkipped,
    CheckWarning,
    ErrorClass,
    Requirement,
    Severity,
)
from .._registry import check, expect

PLAN = "schema"
SD_JWT_VC = "draft-ietf-oauth-sd-jwt-vc"
SD_JWT_VC_URL = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-sd-jwt-vc"
SD_JWT = "dc+sd-jwt"

Path = tuple[str | int | None, ...]


def _sd_jwt_vc(section: str, anchor: str, text: str) -> Requirement:
    return Requirement(spec=SD_JWT_VC, section=section, text=text, link=f"{SD_JWT_VC_URL}#{anchor}")


CROSSWALK_REQUIREMENT_TEXT = (
    "Each rule reads the claim(s) at 'from' in a credential of type source_vct and writes "
    "the claim(s) at 'to' in the vocabulary of target_vct"
)


def _crosswalks(section: str) -> Requirement:
    return Requirement(
        spec="Passerelle crosswalk v1",
        section=section,
        text=CROSSWALK_REQUIREMENT_TEXT,
        link="https://credentials.passerelle.example/schemas/crosswalks/README.md",
    )


# --- helpers --------------------------------------------------------------------------------


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except (OSError, PasserelleError) as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot read the shared catalogue: {exc}") from exc


def _type_of(catalog: Catalog, vct: object) -> CredentialType | None:
    return next((t for t in catalog.types.values() if t.vct == vct), None)


def _endpoints(ctx: CheckContext) -> IssuerEndpoints:
    # The same shared key as the issuer plan's: discovery happens once per run.
    return ctx.shared(f"issuer:endpoints:{ctx.target.name}", lambda: discover(ctx, ctx.target))


def _sd_jwt_configurations(ctx: CheckContext) -> list[tuple[str, str]]:
    """(configuration, persona) of the target's SD-JWT VC configurations, the deferred
    one included."""
    endpoints = _endpoints(ctx)
    listed = list(target_configurations(ctx.target))
    deferred = ctx.target.get("deferred_configuration")
    if isinstance(deferred, dict) and deferred.get("id") and deferred.get("persona"):
        listed.append((str(deferred["id"]), str(deferred["persona"])))
    out = [
        (cid, persona)
        for cid, persona in listed
        if cid in (endpoints.metadata.get("credential_configurations_supported") or {})
        and endpoints.configuration(cid).get("format") == SD_JWT
    ]
    if not out:
        raise CheckSkipped(f"{ctx.target.name} lists no {SD_JWT} configuration")
    return out


def _configured_vct(ctx: CheckContext, cid: str) -> str:
    vct = _endpoints(ctx).configuration(cid).get("vct")
    if not isinstance(vct, str) or not vct:
        raise CheckSkipped(f"{cid} has no vct in the metadata (ISS-META-05 judges that)")
    return vct


def _resolved(catalog: Catalog, vct: str) -> ResolvedType:
    try:
        return resolve_type_metadata(vct, documents=catalog.type_metadata_documents)
    except PasserelleError as exc:
        raise CheckFailed(f"Type Metadata of {vct}: {exc.detail}", reason=str(exc.reason)) from exc


def _each_credential(ctx: CheckContext, judge: Callable[[str, Issued], None]) -> None:
    """``judge`` every SD-JWT VC configuration's shared credential; report all failures."""
    failures: list[str] = []
    skipped: list[str] = []
    for cid, persona in _sd_jwt_configurations(ctx):
        try:
            judge(cid, obtain_shared(ctx, ctx.target.name, cid, persona))
        except CheckFailed as exc:
            failures.append(f"{cid}: {exc.message}")
        except CheckSkipped as exc:
            skipped.append(f"{cid}: {exc.message}")
    if failures:
        raise CheckFailed("; ".join(failures))
    if skipped and len(skipped) == len(_sd_jwt_configurations(ctx)):
        raise CheckSkipped("; ".join(skipped))


def _each_configuration(ctx: CheckContext, judge: Callable[[str, str], None]) -> None:
    """``judge`` every SD-JWT VC configuration (id, configured vct); report all failures."""
    failures: list[str] = []
    for cid, _ in _sd_jwt_configurations(ctx):
        try:
            judge(cid, _configured_vct(ctx, cid))
        except CheckFailed as exc:
            failures.append(f"{cid}: {exc.message}")
    expect(not failures, "; ".join(failures))


def _local_ref(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _schema_defines(root: Mapping[str, Any], schema: Any, path: Sequence[Any]) -> bool:
    """Whether ``schema`` explicitly describes the claim at ``path``: through
    ``properties``, ``patternProperties``, a schema-valued ``additionalProperties``
    (with its ``propertyNames``), ``items``, or any branch of a combinator. An open
    object (``additionalProperties`` absent or ``true``) admits a claim but does not
    define it, so it does not count."""
    if not isinstance(schema, dict):
        return False
    if isinstance(schema.get("$ref"), str) and _schema_defines(
        root, _local_ref(root, schema["$ref"]), path
    ):
        return True
    for key in ("allOf", "anyOf", "oneOf"):
        if any(_schema_defines(root, sub, path) for sub in schema.get(key) or []):
            return True
    if any(_schema_defines(root, schema.get(key), path) for key in ("if", "then", "else")):
        return True
    if not path:
        return True
    head, rest = path[0], path[1:]
    if isinstance(head, str):
        properties = schema.get("properties") or {}
        if head in properties:
            return _schema_defines(root, properties[head], rest)
        for pattern, sub in (schema.get("patternProperties") or {}).items():
            if re.search(pattern, head):
                return _schema_defines(root, sub, rest)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            names = schema.get("propertyNames")
            pattern = names.get("pattern") if isinstance(names, dict) else None
            if isinstance(pattern, str) and not re.search(pattern, head):
                return False
            return _schema_defines(root, extra, rest)
        return False
    items = schema.get("items")
    return _schema_defines(root, items, rest) if isinstance(items, dict) else False


def _concrete_paths(claims: Mapping[str, Any], path: Path) -> list[tuple[str | int, ...]]:
    """The concrete claim paths a claim path selects in a processed payload."""
    selected: list[tuple[tuple[str | int, ...], Any]] = [((), claims)]
    for component in path:
        following: list[tuple[tuple[str | int, ...], Any]] = []
        for where, value in selected:
            if isinstance(component, str):
                if isinstance(value, dict) and component in value:
                    following.append(((*where, component), value[component]))
            elif isinstance(value, list):
                indices = range(len(value)) if component is None else [component]
                following.extend(((*where, i), value[i]) for i in indices if 0 <= i < len(value))
        selected = following
    return [where for where, _ in selected]


# --- credentials against their type -------------------------------------------------------


@check(
    "SCH-01",
    "Disclosed claims validate against the shared JSON Schema of their vct",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§5.7",
        "processing-type-metadata",
        "If Type Metadata processing is required by policy or ecosystem rules and the Holder "
        "or Verifier cannot retrieve or process the applicable Type Metadata, the SD-JWT VC "
        "MUST be rejected.",
    ),
    catches=("issuer:wrong_vct",),
)
def _claims_schema(ctx: CheckContext) -> None:
    catalog = _catalog()

    def judge(cid: str, issued: Issued) -> None:
        claims = dict(read_unverified_sd_jwt_vc(issued.credential).claims)
        ctype = _type_of(catalog, claims.get("vct"))
        expect(ctype is not None, f"no shared schema for vct {claims.get('vct')!r}")
        assert ctype is not None
        try:
            validate_claims(claims, schema=ctype.schema)
        except PasserelleError as exc:
            raise CheckFailed(f"schema {ctype.id}: {exc.detail}") from exc

    _each_credential(ctx, judge)


@check(
    "SCH-02",
    "Type Metadata exists for each configuration's vct and its extends chain resolves",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§5.4",
        "extending-type-metadata",
        "Consumers MUST retrieve and process Type Metadata for the extended type before "
        "processing the Type Metadata for the extending type.",
    ),
)
def _type_metadata_chain(ctx: CheckContext) -> None:
    catalog = _catalog()

    def judge(cid: str, vct: str) -> None:
        resolved = _resolved(catalog, vct)
        extends = [m.vct for m in resolved.chain[1:]]
        ctx.record(**{cid: {"vct": vct, "extends": extends}})

    _each_configuration(ctx, judge)


@check(
    "SCH-03",
    "The claim paths in a configuration's metadata are claims of its type",
    plan=PLAN,
    requirement=Requirement(
        spec="OpenID4VCI 1.0",
        section="Appendix B.2",
        text="`path`: REQUIRED. The value MUST be a non-empty array representing a claims path "
        "pointer that specifies the path to a claim within the credential, as defined in "
        "Appendix C.",
        link="https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"
        "#claims-description-issuer-metadata",
    ),
)
def _configuration_claims(ctx: CheckContext) -> None:
    catalog = _catalog()
    endpoints = _endpoints(ctx)

    def judge(cid: str, vct: str) -> None:
        meta = endpoints.configuration(cid).get("credential_metadata")
        described = meta.get("claims") if isinstance(meta, dict) else None
        if not described:
            return
        known = {tuple(c.path) for c in _resolved(catalog, vct).claims}
        unknown = [
            d.get("path")
            for d in described
            if not isinstance(d, dict)
            or not isinstance(d.get("path"), list)
            or tuple(d["path"]) not in known
        ]
        expect(not unknown, f"paths not described by the Type Metadata of {vct}: {unknown}")

    _each_configuration(ctx, judge)


@check(
    "SCH-04",
    "Crosswalks from the issued types read claims their source schema defines",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    requirement=_crosswalks("Rules: from"),
)
def _crosswalk_sources(ctx: CheckContext) -> None:
    _crosswalk_coverage(ctx, side="source")


@check(
    "SCH-05",
    "Crosswalks from the issued types write claims their target schema defines",
    plan=PLAN,
    severity=Severity.RECOMMENDED,
    requirement=_crosswalks("Rules: to"),
)
def _crosswalk_targets(ctx: CheckContext) -> None:
    _crosswalk_coverage(ctx, side="target")


def _crosswalk_coverage(ctx: CheckContext, *, side: str) -> None:
    catalog = _catalog()
    issued = {_configured_vct(ctx, cid) for cid, _ in _sd_jwt_configurations(ctx)}
    walks = [(pair, doc) for pair, doc in catalog.crosswalks.items() if pair[0] in issued]
    if not walks:
        raise CheckSkipped(f"no crosswalk starts from a type {ctx.target.name} issues")
    problems: list[str] = []
    for (source_vct, target_vct), document in walks:
        try:
            walk = parse_crosswalk(document)
        except PasserelleError as exc:
            problems.append(f"{source_vct} -> {target_vct}: {exc.detail}")
            continue
        vct = source_vct if side == "source" else target_vct
        ctype = _type_of(catalog, vct)
        if ctype is None:
            problems.append(f"{walk.id}: no shared schema for {side} type {vct}")
            continue
        for rule in walk.rules:
            paths: Sequence[Sequence[Any]] = rule.sources if side == "source" else rule.targets
            for path in paths:
                if not _schema_defines(ctype.schema, ctype.schema, path):
                    problems.append(
                        f"{walk.id}: {format_claim_path(tuple(path))} not in {ctype.id}"
                    )
    if problems:
        # The crosswalks are the shared catalogue's, not the target's: a gap is worth
        # fixing, never the target's non-conformance.
        raise CheckWarning("; ".join(problems), problems=problems)


@check(
    "SCH-06",
    "vct#integrity matches the shared Type Metadata of the vct",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§6",
        "document-integrity",
        "If an integrity property is present for a claim or metadata property, the Consumer "
        "of the referenced document MUST verify the integrity of the retrieved document as "
        "follows:",
    ),
)
def _vct_integrity(ctx: CheckContext) -> None:
    catalog = _catalog()

    def judge(cid: str, issued: Issued) -> None:
        payload = read_unverified_sd_jwt_vc(issued.credential).payload
        integrity = payload.get("vct#integrity")
        if integrity is None:
            raise CheckSkipped("no vct#integrity")
        ctype = _type_of(catalog, payload.get("vct"))
        if ctype is None:
            raise CheckSkipped(f"no shared Type Metadata for vct {payload.get('vct')!r} (SCH-01)")
        try:
            check_integrity(ctype.type_metadata, integrity)
        except PasserelleError as exc:
            raise CheckFailed(f"vct#integrity {integrity!r}: {exc.detail}") from exc

    _each_credential(ctx, judge)


@check(
    "SCH-07",
    "Claims the Type Metadata marks mandatory are in the issued credential",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§5.6.3",
        "claim-mandatory-metadata",
        "The `mandatory` property is a boolean indicating that, if set to `true`, the claim "
        "MUST be included in the credential by the Issuer.",
    ),
)
def _mandatory_claims(ctx: CheckContext) -> None:
    catalog = _catalog()

    def judge(cid: str, issued: Issued) -> None:
        # Every disclosure is at hand: the holder's full view, where absence means absence.
        claims = dict(read_unverified_sd_jwt_vc(issued.credential).claims)
        try:
            check_mandatory_claims(claims, _resolved(catalog, _configured_vct(ctx, cid)))
        except PasserelleError as exc:
            raise CheckFailed(exc.detail) from exc

    _each_credential(ctx, judge)


@check(
    "SCH-08",
    "Selective disclosure follows the Type Metadata (sd always / never)",
    plan=PLAN,
    requirement=_sd_jwt_vc(
        "§5.6.4",
        "claim-selective-disclosure-metadata",
        "`always`: The Issuer MUST make the claim selectively disclosable. [...] `never`: The "
        "Issuer MUST NOT make the claim selectively disclosable.",
    ),
)
def _sd_rules(ctx: CheckContext) -> None:
    catalog = _catalog()

    def judge(cid: str, issued: Issued) -> None:
        read = read_unverified_sd_jwt_vc(issued.credential)
        revealed = {tuple(r.path) for r in read.revealed}
        problems: list[str] = []
        for claim in _resolved(catalog, _configured_vct(ctx, cid)).claims:
            rule = claim.effective_sd
            if rule not in ("always", "never"):
                continue
            for where in _concrete_paths(read.claims, tuple(claim.path)):
                disclosable = where in revealed
                if rule == "always" and not disclosable:
                    problems.append(f"{format_claim_path(where)} (sd always) is not disclosable")
                if rule == "never" and disclosable:
                    problems.append(f"{format_claim_path(where)} (sd never) is disclosable")
        expect(not problems, "; ".join(problems))

    _each_credential(ctx, judge)
