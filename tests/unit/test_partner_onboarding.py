"""docs/partners.md, proved: a new issuer added under trust_lists/partners/ is trusted
after `passerelle trust build`, with no code change; the example entry is the template."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from passerelle import PasserelleError, Reason
from passerelle.trust import Framework, evaluate_trust
from passerelle.x509 import certificate_to_pem
from tests.conftest import NOW
from tests.trust_world import TrustWorld, _root, leaf

PID = "urn:eudi:pid:1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"


def _example() -> dict:  # type: ignore[type-arg]
    path = Path(__file__).parents[2] / "trust_lists" / "partners" / "example.yaml.sample"
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def test_eu_partner_joins_a_list(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    partner_ca = _root(NOW, "Partner PID CA")
    partner_signer = leaf(NOW, partner_ca, "Partner PID signer")
    world.build()
    before = evaluate_trust(
        issuer=world.eu_issuer(partner_signer),
        credential_type=PID,
        snapshot=world.snapshot(Framework.EU),
        now=NOW,
    )
    assert not before.trusted

    entry = _example()
    entry["entity"]["services"][0]["certificate"] = {"pem": certificate_to_pem(partner_ca[0])}
    (world.sources / "partners" / "acme.yaml").write_text(yaml.safe_dump(entry))
    world.build()
    after = evaluate_trust(
        issuer=world.eu_issuer(partner_signer),
        credential_type=PID,
        snapshot=world.snapshot(Framework.EU, last_seen={"pid-providers": 1}),
        now=NOW,
    )
    assert after.trusted, after.as_dict()
    home = next(s for s in after.steps if s.step == "home_framework")
    assert home.evidence["entity"] == "Example Partner PID Provider"


def test_ca_partner_joins_the_registry(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    iss = "https://issuer.partner.example"
    entry = {
        "framework": "ca",
        "authorizations": [
            {
                "name": "Partner issuer, person credential",
                "entity_id": iss,
                "action": "issue",
                "resource": CA_PERSON,
                "status": "current",
                "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": "2028-01-01T00:00:00Z",
            }
        ],
    }
    (world.sources / "partners" / "partner-ca.yaml").write_text(yaml.safe_dump(entry))
    world.build()
    decision = evaluate_trust(
        issuer=world.ca_identity(iss),
        credential_type=CA_PERSON,
        snapshot=world.snapshot(Framework.CA),
        now=NOW,
        issuer_metadata=world.ca_metadata(iss),
    )
    assert decision.trusted, decision.as_dict()


def test_partner_for_an_unknown_list_is_refused(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    entry = _example()
    entry["list"] = "no-such-list"
    (world.sources / "partners" / "bad.yaml").write_text(yaml.safe_dump(entry))
    with pytest.raises(PasserelleError) as err:
        world.build()
    assert err.value.reason is Reason.TRUST_LIST_MALFORMED


def test_the_example_is_not_read_by_the_build(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    assert (world.sources / "partners" / "example.yaml.sample").is_file()
    world.build()  # the placeholder certificate in the sample would fail if it were read


@pytest.mark.parametrize("entity", ["${CA_ISSUER}", "https://ca-issuer.test"])
def test_a_partner_cannot_speak_for_an_existing_issuer(tmp_path: Path, entity: str) -> None:
    from tests.trust_world import CA_ISSUER

    world = TrustWorld(now=NOW, tmp=tmp_path)
    entry = {
        "framework": "ca",
        "authorizations": [
            {
                "entity_id": entity,
                "action": "issue",
                "resource": PID,
                "status": "current",
                "valid_from": "2026-01-01T00:00:00Z",
            }
        ],
    }
    assert entity in ("${CA_ISSUER}", CA_ISSUER)  # the listed Canadian issuer, either way
    (world.sources / "partners" / "sneaky.yaml").write_text(yaml.safe_dump(entry))
    with pytest.raises(PasserelleError) as err:
        world.build()
    assert err.value.reason is Reason.TRUST_LIST_MALFORMED
