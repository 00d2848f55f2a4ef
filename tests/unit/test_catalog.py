"""The shared catalogue: schemas/ data and passerelle.catalog over it."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from passerelle import PasserelleError, Reason
from passerelle.catalog import (
    ClaimPath,
    apply_crosswalk,
    check_integrity,
    check_mandatory_claims,
    check_schema,
    compile_schema,
    compute_integrity,
    disclosure_rules,
    parse_crosswalk,
    parse_type_metadata,
    resolve_type_metadata,
    select_claims,
    validate_claims,
)

SCHEMAS = Path(__file__).parents[2] / "schemas"
INDEX: dict[str, Any] = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
TYPES: list[dict[str, Any]] = INDEX["types"]
TYPE_IDS = [t["id"] for t in TYPES]
CREDENTIAL_TYPES = [t["id"] for t in TYPES if t["role"] == "credential"]

PID = "urn:eudi:pid:1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"
BASE_PERSON = "https://credentials.passerelle.example/base/person/v1"


def load(relative: str) -> Any:
    return json.loads((SCHEMAS / relative).read_text(encoding="utf-8"))


def entry(type_id: str) -> dict[str, Any]:
    return next(t for t in TYPES if t["id"] == type_id)


def all_documents() -> dict[str, bytes]:
    return {t["vct"]: (SCHEMAS / t["type_metadata"]).read_bytes() for t in TYPES}


def sample(type_id: str, name: str) -> dict[str, Any]:
    return load(f"{type_id}/samples/{name}.json")  # type: ignore[no-any-return]


def crosswalk(name: str) -> dict[str, Any]:
    return load(f"crosswalks/{name}.json")  # type: ignore[no-any-return]


def reason_of(excinfo: pytest.ExceptionInfo[PasserelleError]) -> Reason:
    return excinfo.value.reason


# --------------------------------------------------------------------------- index


def test_index_lists_the_five_credential_types_of_the_design() -> None:
    vcts = {t["vct"] for t in TYPES if t["role"] == "credential"}
    assert vcts == {
        PID,
        CA_PERSON,
        "https://credentials.passerelle.example/eu/legal-person/v1",
        "https://credentials.passerelle.example/ca/business-registration/v1",
        "https://credentials.passerelle.example/untp/conformity-attestation/v1",
    }
    for t in TYPES:
        assert (SCHEMAS / t["schema"]).is_file()
        assert (SCHEMAS / t["type_metadata"]).is_file()
        for path in t["samples"]:
            assert (SCHEMAS / path).is_file()
        if t["role"] == "credential":
            assert 2 <= len(t["samples"]) <= 3
            assert "dc+sd-jwt" in t["formats"]
    for x in INDEX["crosswalks"]:
        assert load(x["path"])["source_vct"] == x["source_vct"]


def test_every_file_under_schemas_is_strict_json() -> None:
    from passerelle._json import parse_json

    for path in SCHEMAS.rglob("*.json"):
        parse_json(path.read_bytes(), what=str(path))


# --------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("type_id", TYPE_IDS)
def test_schema_is_valid_2020_12(type_id: str) -> None:
    schema = load(entry(type_id)["schema"])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    check_schema(schema)


@pytest.mark.parametrize(("type_id", "path"), [(t["id"], s) for t in TYPES for s in t["samples"]])
def test_schema_accepts_its_samples(type_id: str, path: str) -> None:
    claims = load(path)
    assert claims["vct"] == entry(type_id)["vct"]
    validate_claims(claims, schema=load(entry(type_id)["schema"]))


def _mutations() -> list[tuple[str, str, Any]]:
    # (type id, sample, mutation): each breaks exactly one rule of the schema.
    def drop(key: str) -> Any:
        return lambda c: c.pop(key)

    def put(path: tuple[str, ...], value: Any) -> Any:
        def apply(c: dict[str, Any]) -> None:
            for key in path[:-1]:
                c = c[key]
            c[path[-1]] = value

        return apply

    return [
        ("eu-pid", "jan-thart", drop("vct")),
        ("eu-pid", "jan-thart", put(("vct",), "urn:eudi:pid:de:1")),
        ("eu-pid", "jan-thart", put(("birthdate",), "12-02-1978")),
        ("eu-pid", "jan-thart", put(("nationalities",), "NL")),
        ("eu-pid", "zoe-lefevre-dubois", put(("place_of_birth",), {})),
        ("eu-pid", "zoe-lefevre-dubois", put(("age_equal_or_over", "18"), "no")),
        ("eu-pid", "bjoern-mueller", put(("address", "country"), "DEU")),
        ("eu-pid", "bjoern-mueller", put(("given_names",), "Björn")),
        ("ca-person", "eloise-tremblay-gagnon", drop("issuing_jurisdiction")),
        ("ca-person", "eloise-tremblay-gagnon", put(("address", "postal_code"), "75001")),
        ("ca-person", "rajinder-dhillon", put(("age_over_18",), "yes")),
        ("ca-person", "rajinder-dhillon", put(("preferred_language",), "de")),
        ("eu-legal-person", "nordlicht-gmbh", drop("euid")),
        ("eu-legal-person", "nordlicht-gmbh", put(("lei",), "529900T8BM49AURSDO5")),
        ("eu-legal-person", "atelier-brule", put(("legal_status",), "bankrupt")),
        ("ca-business-registration", "cedar-tide", drop("entity_name")),
        ("ca-business-registration", "cedar-tide", put(("entity_status",), "ACTIVE")),
        ("ca-business-registration", "boulangerie-cote", put(("business_number",), "12345")),
        ("conformity-attestation", "boreal-thermostat-pass", drop("scope")),
        ("conformity-attestation", "boreal-thermostat-pass", put(("compliance",), "true")),
        # compliance and result contradict each other
        ("conformity-attestation", "boreal-thermostat-pass", put(("assessment_result",), "fail")),
        ("conformity-attestation", "northshore-power-supply-fail", put(("compliance",), True)),
        (
            "conformity-attestation",
            "harbour-vision-ai-out-of-scope",
            put(("scope", "scheme_id"), 1),
        ),
    ]


@pytest.mark.parametrize(("type_id", "name", "mutate"), _mutations())
def test_schema_rejects_a_mutated_sample(type_id: str, name: str, mutate: Any) -> None:
    claims = sample(type_id, name)
    schema = load(entry(type_id)["schema"])
    validate_claims(claims, schema=schema)
    mutate(claims)
    with pytest.raises(PasserelleError) as excinfo:
        validate_claims(claims, schema=schema)
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION


def test_violation_detail_names_the_failing_path() -> None:
    claims = sample("eu-pid", "jan-thart")
    claims["address"]["country"] = "nl"
    with pytest.raises(PasserelleError) as excinfo:
        validate_claims(claims, schema=load("eu-pid/schema.json"))
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION
    assert "/address/country" in excinfo.value.detail


def test_format_checking_is_on() -> None:
    # Passes the pattern but is no calendar date: only the "date" format catches it.
    claims = sample("eu-pid", "jan-thart")
    claims["birthdate"] = "1978-02-30"
    with pytest.raises(PasserelleError) as excinfo:
        validate_claims(claims, schema=load("eu-pid/schema.json"))
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "objet"},
        {"properties": {"a": {"minLength": -1}}},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
        [],
    ],
)
def test_check_schema_rejects_bad_schemas(schema: Any) -> None:
    with pytest.raises(PasserelleError) as excinfo:
        check_schema(schema)
    assert reason_of(excinfo) is Reason.SCHEMA_INVALID
    with pytest.raises(PasserelleError) as excinfo:
        validate_claims({"vct": "x"}, schema=schema)
    assert reason_of(excinfo) is Reason.SCHEMA_INVALID


def test_a_compiled_schema_is_checked_once_and_judges_like_the_raw_one() -> None:
    schema = load("eu-pid/schema.json")
    compiled = compile_schema(schema)
    claims = sample("eu-pid", "jan-thart")
    validate_claims(claims, schema=compiled)
    claims["birthdate"] = "1978-02-30"
    with pytest.raises(PasserelleError) as excinfo:
        validate_claims(claims, schema=compiled)
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION
    with pytest.raises(PasserelleError) as excinfo:
        compile_schema({"type": "objet"})
    assert reason_of(excinfo) is Reason.SCHEMA_INVALID


def test_extending_samples_are_instances_of_the_base_schema() -> None:
    base = load("base-person/schema.json")
    for path in entry("ca-person")["samples"]:
        validate_claims(load(path), schema=base)


# --------------------------------------------------------------------------- type metadata


@pytest.mark.parametrize("type_id", TYPE_IDS)
def test_type_metadata_parses_and_resolves(type_id: str) -> None:
    t = entry(type_id)
    doc = load(t["type_metadata"])
    parsed = parse_type_metadata(doc)
    assert parsed.vct == t["vct"]
    # The draft removed embedded schemas; ours live beside the metadata.
    assert "schema" not in doc
    assert "schema_uri" not in doc
    locales = {d.locale.split("-")[0] for d in parsed.display or ()}
    assert locales == {"en", "fr"}
    for claim in parsed.claims or ():
        assert claim.display is not None
        assert {d.locale.split("-")[0] for d in claim.display} == {"en", "fr"}
    resolved = resolve_type_metadata(t["vct"], documents=all_documents())
    assert resolved.vct == t["vct"]
    assert resolved.chain[0] == parsed
    assert resolved.display


def _schema_has_path(schema: dict[str, Any], path: ClaimPath) -> bool:
    node: dict[str, Any] = schema
    for component in path:
        if isinstance(component, str):
            properties = node.get("properties", {})
            if component in properties:
                node = properties[component]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return False
        else:
            if node.get("type") != "array" or not isinstance(node.get("items"), dict):
                return False
            node = node["items"]
    return True


@pytest.mark.parametrize("type_id", TYPE_IDS)
def test_every_claim_path_in_type_metadata_exists_in_the_schema(type_id: str) -> None:
    t = entry(type_id)
    schema = load(t["schema"])
    resolved = resolve_type_metadata(t["vct"], documents=all_documents())
    absent = [c.path for c in resolved.claims if not _schema_has_path(schema, c.path)]
    assert absent == []


@pytest.mark.parametrize("type_id", CREDENTIAL_TYPES)
def test_samples_carry_every_mandatory_claim(type_id: str) -> None:
    t = entry(type_id)
    resolved = resolve_type_metadata(t["vct"], documents=all_documents())
    assert any(c.is_mandatory for c in resolved.claims)
    for path in t["samples"]:
        check_mandatory_claims(load(path), resolved)


def test_missing_mandatory_claim_is_a_violation() -> None:
    resolved = resolve_type_metadata(PID, documents=all_documents())
    claims = sample("eu-pid", "jan-thart")
    del claims["place_of_birth"]
    with pytest.raises(PasserelleError) as excinfo:
        check_mandatory_claims(claims, resolved)
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION


def test_never_disclosable_claims_are_required_by_the_schema() -> None:
    # A claim that can never be withheld must be present in every presentation.
    for t in TYPES:
        required = set(load(t["schema"])["required"])
        resolved = resolve_type_metadata(t["vct"], documents=all_documents())
        for claim in resolved.claims:
            if claim.effective_sd == "never" and claim.is_mandatory and len(claim.path) == 1:
                assert claim.path[0] in required, (t["id"], claim.path)


def test_extends_inherits_and_overrides_claim_metadata() -> None:
    resolved = resolve_type_metadata(CA_PERSON, documents=all_documents())
    assert [m.vct for m in resolved.chain] == [CA_PERSON, BASE_PERSON]
    # extends#integrity of ca-person was checked against base-person's bytes.
    assert resolved.integrity_verified == frozenset({BASE_PERSON})
    by_path = {c.path: c for c in resolved.claims}
    # Inherited unchanged from the base.
    assert by_path[("given_name",)].is_mandatory
    assert by_path[("given_name",)].sd == "always"
    # Overridden display, inherited sd (the child said "always" again, which is allowed).
    region = by_path[("address", "region")]
    assert region.display is not None
    assert {d.label for d in region.display} == {"Province or territory", "Province ou territoire"}
    # Own display replaces the base display entirely.
    assert {d.name for d in resolved.display} == {"Person credential", "Attestation de personne"}
    # Base claims come first, in the base's order.
    assert resolved.claims[0].path == ("given_name",)


def test_disclosure_rules_follow_type_metadata() -> None:
    rules = disclosure_rules(resolve_type_metadata(CA_PERSON, documents=all_documents()))
    assert rules[("given_name",)] == "always"
    assert rules[("issuing_jurisdiction",)] == "never"
    assert (
        rules[
            (
                "address",
                "postal_code",
            )
        ]
        == "always"
    )
    pid_rules = disclosure_rules(resolve_type_metadata(PID, documents=all_documents()))
    assert pid_rules[("nationalities", None)] == "always"
    assert set(pid_rules.values()) == {"always"}
    # sd omitted means "allowed" (draft §5.6.4).
    assert disclosure_rules(parse_type_metadata({"vct": "x", "claims": [{"path": ["a"]}]})) == {
        ("a",): "allowed"
    }


def test_parse_keeps_unknown_members() -> None:
    doc: dict[str, Any] = {
        "vct": "urn:example:t",
        "x-registry": {"owner": "me"},
        "display": [{"locale": "en", "name": "T", "x-hint": 1}],
        "claims": [{"path": ["a", None, 0], "sd": "never", "x-note": "n"}],
    }
    parsed = parse_type_metadata(doc)
    assert parsed.extra == {"x-registry": {"owner": "me"}}
    assert parsed.display is not None
    assert parsed.display[0].extra == {"x-hint": 1}
    assert parsed.claims is not None
    assert parsed.claims[0].path == ("a", None, 0)
    assert parsed.claims[0].extra == {"x-note": "n"}


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"vct": ""},
        {"vct": 7},
        {"vct": "x", "extends#integrity": "sha256-AAAA"},
        {"vct": "x", "display": {"locale": "en", "name": "X"}},
        # Draft -08 and earlier used "lang"; the current draft requires "locale".
        {"vct": "x", "display": [{"lang": "en", "name": "X"}]},
        {"vct": "x", "claims": [{"path": ["a"], "display": [{"lang": "en", "label": "A"}]}]},
        {"vct": "x", "claims": [{"path": ["a"], "display": [{"locale": "en", "name": "A"}]}]},
        {"vct": "x", "claims": [{"path": []}]},
        {"vct": "x", "claims": [{"path": ["a", -1]}]},
        {"vct": "x", "claims": [{"path": ["a", True]}]},
        {"vct": "x", "claims": [{"path": ["a"], "sd": "sometimes"}]},
        {"vct": "x", "claims": [{"path": ["a"], "mandatory": "yes"}]},
        {"vct": "x", "claims": [{"path": ["a"], "svg_id": "1a"}]},
        {"vct": "x", "claims": [{"path": ["a"], "svg_id": "s"}, {"path": ["b"], "svg_id": "s"}]},
        {"vct": "x", "claims": [{"path": ["a"]}, {"path": ["a"]}]},
        {"vct": "x", "display": [{"locale": "en", "name": "X", "rendering": {"simple": []}}]},
    ],
)
def test_parse_rejects_invalid_type_metadata(doc: Any) -> None:
    with pytest.raises(PasserelleError) as excinfo:
        parse_type_metadata(doc)
    assert reason_of(excinfo) is Reason.TYPE_METADATA_INVALID


def test_extends_cycle_is_detected() -> None:
    docs: dict[str, Any] = {
        "urn:t:a": {"vct": "urn:t:a", "extends": "urn:t:b"},
        "urn:t:b": {"vct": "urn:t:b", "extends": "urn:t:c"},
        "urn:t:c": {"vct": "urn:t:c", "extends": "urn:t:a"},
        "urn:t:self": {"vct": "urn:t:self", "extends": "urn:t:self"},
    }
    for start in ("urn:t:a", "urn:t:self"):
        with pytest.raises(PasserelleError) as excinfo:
            resolve_type_metadata(start, documents=docs)
        assert reason_of(excinfo) is Reason.TYPE_METADATA_EXTENDS_CYCLE


def test_unknown_type_and_unknown_extended_type() -> None:
    docs: dict[str, Any] = {"urn:t:a": {"vct": "urn:t:a", "extends": "urn:t:gone"}}
    for start in ("urn:t:nothing", "urn:t:a"):
        with pytest.raises(PasserelleError) as excinfo:
            resolve_type_metadata(start, documents=docs)
        assert reason_of(excinfo) is Reason.SCHEMA_UNKNOWN


def test_document_must_describe_the_vct_it_was_retrieved_for() -> None:
    with pytest.raises(PasserelleError) as excinfo:
        resolve_type_metadata("urn:t:a", documents={"urn:t:a": {"vct": "urn:t:b"}})
    assert reason_of(excinfo) is Reason.SD_JWT_VC_VCT_MISMATCH


@pytest.mark.parametrize(
    ("base", "child"),
    [
        ({"sd": "always"}, {"sd": "never"}),
        ({"sd": "never"}, {"sd": "allowed"}),
        ({"mandatory": True}, {"mandatory": False}),
    ],
)
def test_extension_may_not_loosen_sd_or_mandatory(base: Any, child: Any) -> None:
    docs: dict[str, Any] = {
        "urn:t:base": {"vct": "urn:t:base", "claims": [{"path": ["a"], **base}]},
        "urn:t:child": {
            "vct": "urn:t:child",
            "extends": "urn:t:base",
            "claims": [{"path": ["a"], **child}],
        },
    }
    with pytest.raises(PasserelleError) as excinfo:
        resolve_type_metadata("urn:t:child", documents=docs)
    assert reason_of(excinfo) is Reason.TYPE_METADATA_INVALID


def test_draft_extension_example_merges_claims() -> None:
    # draft-ietf-oauth-sd-jwt-vc, "Example for Extending Type Metadata".
    base: dict[str, Any] = {
        "vct": "https://example.com/base-type-metadata",
        "claims": [
            {"path": ["name"], "display": [{"label": "Full Name", "locale": "en"}]},
            {"path": ["address", "city"], "display": [{"label": "City", "locale": "en"}]},
        ],
    }
    child: dict[str, Any] = {
        "vct": "https://example.com/custom-type-metadata",
        "extends": "https://example.com/base-type-metadata",
        "claims": [
            {"path": ["address", "city"], "display": [{"label": "Town", "locale": "en"}]},
            {"path": ["nationalities"], "display": [{"label": "Nationalities", "locale": "en"}]},
        ],
    }
    resolved = resolve_type_metadata(
        child["vct"], documents={base["vct"]: base, child["vct"]: child}
    )
    labels = [(c.path, [d.label for d in c.display or ()]) for c in resolved.claims]
    assert labels == [
        (("name",), ["Full Name"]),
        (("address", "city"), ["Town"]),
        (("nationalities",), ["Nationalities"]),
    ]
    # The child defines no display of its own, so the base's (none) stays.
    assert resolved.display == ()


# --------------------------------------------------------------------------- integrity


def test_integrity_known_vectors() -> None:
    # W3C SRI §3.2 example: the sha384 digest of "alert('Hello, world.');".
    script = b"alert('Hello, world.');"
    expected = "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
    assert compute_integrity(script, "sha384") == expected
    check_integrity(script, expected)
    assert compute_integrity(b"") == "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


@pytest.mark.parametrize("alg", ["sha256", "sha384", "sha512"])
def test_integrity_of_a_type_metadata_document(alg: Any) -> None:
    document = (SCHEMAS / "eu-pid/type-metadata.json").read_bytes()
    integrity = compute_integrity(document, alg)
    digest = getattr(hashlib, alg)(document).digest()
    assert integrity == f"{alg}-{base64.b64encode(digest).decode()}"
    check_integrity(document, integrity)
    for i in (0, len(document) // 2, len(document) - 1):
        changed = bytearray(document)
        changed[i] ^= 0x01
        with pytest.raises(PasserelleError) as excinfo:
            check_integrity(bytes(changed), integrity)
        assert reason_of(excinfo) is Reason.SD_JWT_VC_INTEGRITY_MISMATCH


def test_integrity_uses_the_strongest_algorithm_only() -> None:
    document = b'{"vct":"urn:t:a"}'
    good256 = compute_integrity(document, "sha256")
    good512 = compute_integrity(document, "sha512")
    bad512 = compute_integrity(b"other", "sha512")
    check_integrity(document, f"{good256} {good512}")
    check_integrity(document, f"{bad512}\t{good512}")  # any of the strongest may match
    check_integrity(document, f"{good256}?ct=application/json md5-AAAA")
    with pytest.raises(PasserelleError) as excinfo:
        # sha512 is the strongest present, so the matching sha256 does not count.
        check_integrity(document, f"{good256} {bad512}")
    assert reason_of(excinfo) is Reason.SD_JWT_VC_INTEGRITY_MISMATCH


@pytest.mark.parametrize(
    "integrity",
    ["", "   ", "md5-1B2M2Y8AsgTpgAmY7PhCfg==", "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "sha256"],
)
def test_integrity_without_a_supported_algorithm_fails(integrity: str) -> None:
    with pytest.raises(PasserelleError) as excinfo:
        check_integrity(b"", integrity)
    assert reason_of(excinfo) is Reason.SD_JWT_VC_INTEGRITY_MISMATCH


def test_integrity_accepts_base64url_digests() -> None:
    document = bytes(range(256)) * 3
    standard = compute_integrity(document, "sha512")
    url = standard.replace("+", "-").replace("/", "_").rstrip("=")
    check_integrity(document, url)


def test_resolve_checks_vct_and_extends_integrity() -> None:
    documents = all_documents()
    vct_integrity = compute_integrity(documents[CA_PERSON])
    resolved = resolve_type_metadata(CA_PERSON, documents=documents, vct_integrity=vct_integrity)
    assert resolved.integrity_verified == frozenset({CA_PERSON, BASE_PERSON})

    tampered = dict(documents)
    tampered[BASE_PERSON] = documents[BASE_PERSON].replace(b'"always"', b'"allowed"', 1)
    with pytest.raises(PasserelleError) as excinfo:
        resolve_type_metadata(CA_PERSON, documents=tampered)
    assert reason_of(excinfo) is Reason.SD_JWT_VC_INTEGRITY_MISMATCH

    with pytest.raises(PasserelleError) as excinfo:
        resolve_type_metadata(PID, documents=documents, vct_integrity=vct_integrity)
    assert reason_of(excinfo) is Reason.SD_JWT_VC_INTEGRITY_MISMATCH


def test_integrity_cannot_be_checked_on_parsed_json() -> None:
    parsed = {vct: json.loads(raw) for vct, raw in all_documents().items()}
    with pytest.raises(PasserelleError) as excinfo:
        resolve_type_metadata(CA_PERSON, documents=parsed)
    assert reason_of(excinfo) is Reason.SD_JWT_VC_INTEGRITY_MISMATCH
    resolve_type_metadata(PID, documents=parsed)  # nothing asserted, nothing to check


# --------------------------------------------------------------------------- claim paths


def test_select_claims_follows_the_draft_processing() -> None:
    claims: dict[str, Any] = {
        "name": "Arthur Dent",
        "degrees": [{"type": "BSc"}, {"type": "MSc"}, {"university": "B"}],
    }
    assert select_claims(claims, ("name",)) == ["Arthur Dent"]
    assert select_claims(claims, ("degrees", None, "type")) == ["BSc", "MSc"]
    assert select_claims(claims, ("degrees", 1, "type")) == ["MSc"]
    assert select_claims(claims, ("degrees", 7)) == []
    assert select_claims(claims, ("missing", "deeper")) == []
    with pytest.raises(PasserelleError) as excinfo:
        select_claims(claims, ("name", None))
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION


# --------------------------------------------------------------------------- crosswalks


def test_ca_person_to_eu_pid_on_a_bilingual_sample() -> None:
    result = apply_crosswalk(
        crosswalk("ca-person-to-eu-pid"), sample("ca-person", "eloise-tremblay-gagnon")
    )
    assert result.claims == {
        "vct": PID,
        "given_name": "Éloïse Marie-Hélène",
        "family_name": "Tremblay-Gagnon",
        "birthdate": "1991-04-17",
        "age_equal_or_over": {"18": True, "19": True},
        "address": {
            "street_address": "4521 rue Saint-Denis",
            "locality": "Montréal",
            "region": "QC",
            "postal_code": "H2J 2L4",
            "country": "CA",
            "formatted": "4521 rue Saint-Denis, Montréal, QC, H2J 2L4",
        },
        "date_of_expiry": "2031-04-17",
        "issuing_authority": "Ministère de la Cybersécurité et du Numérique",
        "issuing_jurisdiction": "CA-QC",
        "issuing_country": "CA",
    }
    assert result.unmapped == ("person_identifier", "preferred_language")
    assert result.missing == ()
    validate_claims(result.claims, schema=load("eu-pid/schema.json"))


@pytest.mark.parametrize("path", entry("ca-person")["samples"])
def test_every_ca_person_sample_maps_to_a_valid_pid_claim_set(path: str) -> None:
    result = apply_crosswalk(crosswalk("ca-person-to-eu-pid"), load(path))
    validate_claims(result.claims, schema=load("eu-pid/schema.json"))


def test_sparse_sample_reports_missing_targets() -> None:
    result = apply_crosswalk(
        crosswalk("ca-person-to-eu-pid"), sample("ca-person", "aiyana-stonechild")
    )
    assert result.unmapped == ()
    assert result.missing == ("address.street_address", "address.postal_code", "date_of_expiry")
    address: Any = result.claims["address"]
    assert address["formatted"] == "Regina, SK"


def test_eu_pid_to_ca_person() -> None:
    result = apply_crosswalk(crosswalk("eu-pid-to-ca-person"), sample("eu-pid", "jan-thart"))
    assert result.claims == {
        "vct": CA_PERSON,
        "given_name": "Jan Wijnand",
        "family_name": "'t Hart",
        "birthdate": "1978-02-12",
        "age_over_18": True,
        "address": {
            "street_address": "1 Rietveld",
            "locality": "Leiden",
            "region": "Zuid-Holland",
            "postal_code": "2312 JD",
            "country": "NL",
        },
        "date_of_expiry": "2035-12-19",
        "issuing_authority": "Rijksdienst voor Identiteitsgegevens",
    }
    assert result.unmapped == (
        "place_of_birth.country",
        "place_of_birth.locality",
        "nationalities",
        "address.formatted",
        "birth_family_name",
        "personal_administrative_number",
        "sex",
        "date_of_issuance",
        "issuing_country",
        "age_equal_or_over.65",
        "age_in_years",
        "age_birth_year",
    )
    assert result.missing == ("age_over_19", "issuing_jurisdiction")


def test_round_trip_keeps_the_shared_claims() -> None:
    original = sample("ca-person", "rajinder-dhillon")
    there = apply_crosswalk(crosswalk("ca-person-to-eu-pid"), original)
    back = apply_crosswalk(crosswalk("eu-pid-to-ca-person"), there.claims)
    for key in ("given_name", "family_name", "birthdate", "age_over_18", "age_over_19"):
        assert back.claims[key] == original[key]
    assert back.claims["address"] == original["address"]
    assert back.claims["issuing_jurisdiction"] == "CA-BC"
    assert back.unmapped == ("address.formatted", "issuing_country")


def test_business_registration_both_ways() -> None:
    ca = sample("ca-business-registration", "cedar-tide")
    to_eu = apply_crosswalk(crosswalk("ca-business-registration-to-eu-legal-person"), ca)
    assert to_eu.claims == {
        "vct": "https://credentials.passerelle.example/eu/legal-person/v1",
        "registration_number": "BC1234567",
        "legal_name": "CEDAR TIDE ROBOTICS LTD.",
        "country": "CA",
        "legal_form": "BC Company",
        "registration_date": "2018-03-14",
        "legal_status": "active",
        "registered_address": {
            "street_address": "1055 West Georgia Street, Suite 1500",
            "locality": "Vancouver",
            "region": "BC",
            "postal_code": "V6E 3P3",
            "country": "CA",
        },
        "issuing_authority": "BC Registries and Online Services",
        "issuing_country": "CA",
    }
    assert to_eu.unmapped == ("business_number",)
    assert to_eu.missing == ()

    eu = sample("eu-legal-person", "nordlicht-gmbh")
    to_ca = apply_crosswalk(crosswalk("eu-legal-person-to-ca-business-registration"), eu)
    assert to_ca.claims["registration_id"] == "DEK1101R.HRB116737"
    assert to_ca.claims["entity_name"] == "Nordlicht Energiesysteme GmbH"
    assert to_ca.claims["jurisdiction"] == "DE"
    assert to_ca.claims["entity_status"] == "ACT"
    assert to_ca.unmapped == (
        "legal_form",
        "legal_form_elf",
        "registration_number",
        "lei",
        "vat_number",
        "issuing_country",
    )
    assert to_ca.missing == ("registered_office_address.region",)
    validate_claims(to_ca.claims, schema=load("ca-business-registration/schema.json"))


@pytest.mark.parametrize("x", INDEX["crosswalks"], ids=lambda x: x["id"])
def test_every_crosswalk_parses_and_maps_every_source_sample(x: dict[str, Any]) -> None:
    doc = load(x["path"])
    parsed = parse_crosswalk(doc)
    source = next(t for t in TYPES if t["vct"] == parsed.source_vct)
    target = next(t for t in TYPES if t["vct"] == parsed.target_vct)
    target_schema = load(target["schema"])
    target_paths = {
        c.path for c in resolve_type_metadata(target["vct"], documents=all_documents()).claims
    }
    source_paths = {
        c.path for c in resolve_type_metadata(source["vct"], documents=all_documents()).claims
    }
    for rule in parsed.rules:
        # Every rule speaks the vocabulary of the two types.
        # (described itself, or inside a described object such as age_equal_or_over)
        for path in rule.targets:
            assert _schema_has_path(target_schema, path), path
            assert any(path[:n] in target_paths for n in range(1, len(path) + 1)), path
        for source_path in rule.sources:
            assert any(source_path[:n] in source_paths for n in range(1, len(source_path) + 1))
    for path in source["samples"]:
        result = apply_crosswalk(parsed, load(path))
        assert result.claims["vct"] == parsed.target_vct
        assert len(set(result.unmapped)) == len(result.unmapped)


def test_transforms_on_a_synthetic_crosswalk() -> None:
    doc: dict[str, Any] = {
        "crosswalk": "synthetic",
        "source_vct": "urn:t:src",
        "target_vct": "urn:t:dst",
        "rules": [
            {"from": ["full_name"], "to": [["first"], ["last"]], "transform": "split"},
            {"from": ["short"], "to": [["p1"], ["p2"], ["p3"]], "transform": "split",
             "separator": "/"},
            {"from": ["issued"], "to": ["issued_on"], "transform": "date"},
            {"from": ["stamp"], "to": ["stamp_on"], "transform": "date"},
            {"from": ["nat", 1], "to": ["second_nationality"], "transform": "country_alpha2"},
            {"from": ["colour"], "to": ["couleur"], "transform": "map", "values": {"red": "rouge"},
             "default": "inconnue"},
            {"to": ["meta", "source"], "transform": "constant", "value": {"by": "passerelle"}},
            {"from": [["a"], ["b"], ["c"]], "to": ["abc"], "transform": "join", "separator": "-"},
        ],
    }  # fmt: skip
    claims: dict[str, Any] = {
        "vct": "urn:t:src",
        "iss": "https://issuer.example",
        "cnf": {"jwk": {"kty": "EC"}},
        "full_name": "Jean-Luc Picard de la Barre",
        "short": "x/y",
        "issued": "2026-05-01T10:00:00Z",
        "stamp": 0,
        "nat": ["FRA", "deu", "CA"],
        "colour": "blue",
        "a": "1",
        "c": "3",
        "extra": {"deep": [1, 2]},
    }
    result = apply_crosswalk(doc, claims)
    assert result.claims == {
        "vct": "urn:t:dst",
        "first": "Jean-Luc",
        "last": "Picard de la Barre",
        "p1": "x",
        "p2": "y",
        "issued_on": "2026-05-01",
        "stamp_on": "1970-01-01",
        "second_nationality": "DE",
        "couleur": "inconnue",
        "meta": {"source": {"by": "passerelle"}},
        "abc": "1-3",
    }
    assert result.missing == ("p3",)
    # Envelope claims are never reported; arrays are walked only where a rule reaches in.
    assert result.unmapped == ("nat[0]", "nat[2]", "extra.deep")


@pytest.mark.parametrize(
    ("rule", "claims"),
    [
        ({"from": ["d"], "to": ["d"], "transform": "date"}, {"d": "01/02/2026"}),
        ({"from": ["d"], "to": ["d"], "transform": "date"}, {"d": True}),
        ({"from": ["c"], "to": ["c"], "transform": "country_alpha2"}, {"c": "Canada"}),
        ({"from": ["c"], "to": ["c"], "transform": "country_alpha2"}, {"c": "ZZZ"}),
        ({"from": ["m"], "to": ["m"], "transform": "map", "values": {"a": "b"}}, {"m": "z"}),
        ({"from": [["a"], ["b"]], "to": ["j"], "transform": "join"}, {"a": "x", "b": 2}),
    ],
)
def test_values_that_do_not_fit_their_transform(rule: Any, claims: Any) -> None:
    doc: dict[str, Any] = {"source_vct": "urn:t:s", "target_vct": "urn:t:d", "rules": [rule]}
    with pytest.raises(PasserelleError) as excinfo:
        apply_crosswalk(doc, claims)
    assert reason_of(excinfo) is Reason.SCHEMA_VIOLATION


def test_crosswalk_for_another_type_is_refused() -> None:
    with pytest.raises(PasserelleError) as excinfo:
        apply_crosswalk(crosswalk("eu-pid-to-ca-person"), sample("ca-person", "rajinder-dhillon"))
    assert reason_of(excinfo) is Reason.SD_JWT_VC_VCT_MISMATCH


def _valid_crosswalk(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "source_vct": "urn:t:s",
        "target_vct": "urn:t:d",
        "rules": [{"from": ["a"], "to": ["a"]}],
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        [],
        _valid_crosswalk(source_vct=""),
        _valid_crosswalk(target_vct=None),
        _valid_crosswalk(rules=[]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["a"], "transform": "uppercase"}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["a"], "tranform": "date"}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["a", 0]}]),
        _valid_crosswalk(rules=[{"from": ["a", -1], "to": ["a"]}]),
        _valid_crosswalk(rules=[{"from": [], "to": ["a"]}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["vct"]}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"]}, {"from": ["b"], "to": ["x"]}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"]}, {"from": ["b"], "to": ["x", "y"]}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"], "transform": "join"}]),
        _valid_crosswalk(rules=[{"from": [["a"]], "to": ["x"], "transform": "join"}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"], "transform": "split"}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"], "transform": "constant", "value": 1}]),
        _valid_crosswalk(rules=[{"to": ["x"], "transform": "constant"}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"], "transform": "map"}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"], "values": {"a": "b"}}]),
        _valid_crosswalk(rules=[{"from": ["a"], "to": ["x"], "separator": ""}]),
        _valid_crosswalk(rules=["a"]),
    ],
)
def test_parse_crosswalk_rejects_invalid_documents(doc: Any) -> None:
    with pytest.raises(PasserelleError) as excinfo:
        parse_crosswalk(doc)
    assert reason_of(excinfo) is Reason.CROSSWALK_INVALID
    with pytest.raises(PasserelleError) as excinfo:
        apply_crosswalk(doc, {})
    assert reason_of(excinfo) is Reason.CROSSWALK_INVALID


def test_apply_does_not_alias_or_mutate_the_source() -> None:
    claims = sample("eu-pid", "zoe-lefevre-dubois")
    before = copy.deepcopy(claims)
    doc = _valid_crosswalk(
        source_vct=PID, rules=[{"from": ["place_of_birth"], "to": ["birth", "place"]}]
    )
    result = apply_crosswalk(doc, claims)
    birth: Any = result.claims["birth"]
    birth["place"]["country"] = "XX"
    assert claims == before


# --------------------------------------------------------------------------- conformity scope


def test_conformity_scope_vocabulary_tells_in_scope_from_out_of_scope() -> None:
    vocabulary = load("conformity-attestation/scope-vocabulary.json")
    schemes = {s["id"]: s for s in vocabulary["schemes"]}

    def in_recognised_scope(claims: dict[str, Any]) -> bool:
        scope = claims["scope"]
        scheme = schemes.get(scope["scheme_id"])
        if scheme is None:
            return False
        return any(
            c["id"] == scope["product_category"] and c["regulation_id"] == scope["regulation_id"]
            for c in scheme["categories"]
        )

    verdicts = {
        Path(p).stem: in_recognised_scope(load(p))
        for p in entry("conformity-attestation")["samples"]
    }
    assert verdicts == {
        "boreal-thermostat-pass": True,
        "northshore-power-supply-fail": True,
        "harbour-vision-ai-out-of-scope": False,
    }
