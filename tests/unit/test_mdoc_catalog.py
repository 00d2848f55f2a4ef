"""mdoc types and crosswalks as data (schemas/mdoc, mdoc_crosswalks), and the Canadian
registry's certificates extension that lets an mdoc issuer be found by its IACA."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError, Reason
from passerelle.catalog import apply_crosswalk, validate_claims
from passerelle.decision import mdoc_claims
from passerelle.mdoc import build_iaca_certificate
from passerelle.services.catalog import load_catalog
from passerelle.services.issuer.mdoc import mdoc_elements
from passerelle.trust import parse_registry
from passerelle.x509 import certificate_to_pem
from tests.conftest import NOW

CATALOG = load_catalog()
ISSUED, EXPIRY = date(2026, 12, 1), date(2027, 12, 1)


@pytest.mark.parametrize("mtype", CATALOG.mdoc_types.values(), ids=lambda m: m.id)
def test_every_persona_fills_an_mdoc_that_matches_its_schema(mtype) -> None:  # type: ignore[no-untyped-def]
    samples = CATALOG.types[mtype.samples_from].samples
    assert samples
    for persona, sample in samples.items():
        elements = mdoc_elements(mtype, sample, issued=ISSUED, expiry=EXPIRY)
        mandatory = {e.identifier for e in mtype.elements if e.mandatory and not e.source}
        assert mandatory <= set(elements), persona
        claims = mdoc_claims({mtype.namespace: elements})
        validate_claims(claims, schema=mtype.validator)
        assert isinstance(elements["birth_date"], date)


def test_age_over_is_computed_from_the_birth_date_on_the_issuance_day() -> None:
    mdl = CATALOG.mdoc_types["ca-mdl"]
    sample = {"birthdate": "2008-12-02", "family_name": "X", "given_name": "Y"}
    the_day_before = mdoc_elements(mdl, sample, issued=date(2026, 12, 1), expiry=EXPIRY)
    the_birthday = mdoc_elements(mdl, sample, issued=date(2026, 12, 2), expiry=EXPIRY)
    assert the_day_before["age_over_18"] is False
    assert the_birthday["age_over_18"] is True
    assert the_birthday["age_over_21"] is False


MDOC_DOCTYPES = {m.doctype: m for m in CATALOG.mdoc_types.values()}
MDOC_CROSSWALKS = [(k, v) for k, v in CATALOG.crosswalks.items() if k[0] in MDOC_DOCTYPES]


def test_there_are_mdoc_crosswalks_both_ways() -> None:
    pairs = {k for k, _ in MDOC_CROSSWALKS}
    assert ("org.iso.18013.5.1.mDL", "urn:eudi:pid:1") in pairs
    assert (
        "eu.europa.ec.eudi.pid.1",
        "https://credentials.passerelle.example/ca/person/v1",
    ) in pairs


@pytest.mark.parametrize(("pair", "crosswalk"), MDOC_CROSSWALKS, ids=str)
def test_mdoc_crosswalks_map_every_persona(pair, crosswalk) -> None:  # type: ignore[no-untyped-def]
    source, target = pair
    mtype = MDOC_DOCTYPES[source]
    elements = {e.identifier for e in mtype.elements}
    for rule in crosswalk["rules"]:
        namespace, element = rule["from"]
        assert namespace == mtype.namespace
        assert element in elements, element
    target_schema = CATALOG.by_vct(target).schema
    for sample in CATALOG.types[mtype.samples_from].samples.values():
        claims = mdoc_claims(
            {mtype.namespace: mdoc_elements(mtype, sample, issued=ISSUED, expiry=EXPIRY)}
        )
        result = apply_crosswalk(crosswalk, claims)
        assert result.claims["vct"] == target
        assert result.claims["family_name"] == sample["family_name"]
        # Every mapped claim is one the target type describes.
        assert set(result.claims) - {"vct"} <= set(target_schema["properties"])


def _registry(certificate: object) -> dict[str, object]:
    return {
        "operator": {"authority_id": "https://trust.test/ca", "name": "Test registry"},
        "authorizations": [
            {
                "entity_id": "https://issuer.test",
                "action": "issue",
                "resource": "org.iso.18013.5.1.mDL",
                "status": "current",
                "valid_from": "2026-01-01T00:00:00Z",
            }
        ],
        "certificates": [{"entity_id": "https://issuer.test", "certificate": certificate}],
    }


def test_the_registry_names_the_entity_an_iaca_speaks_for() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    iaca = build_iaca_certificate(
        key=key,
        common_name="Test IACA",
        country="CA",
        issuer_alt_uri="https://issuer.test",
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=30),
        serial=77,
    )
    registry = parse_registry(_registry({"pem": certificate_to_pem(iaca)}), substitutions={})  # type: ignore[arg-type]
    assert registry.entity_for_anchor(iaca) == "https://issuer.test"
    # A name (resolved only when a snapshot is built) anchors nothing read from source.
    named = parse_registry(_registry("ca-mdl-iaca"), substitutions={})  # type: ignore[arg-type]
    assert named.entity_for_anchor(iaca) is None
    with pytest.raises(PasserelleError) as exc:
        parse_registry(_registry({"pem": "not a certificate"}), substitutions={})  # type: ignore[arg-type]
    assert exc.value.reason is Reason.TRUST_LIST_MALFORMED
