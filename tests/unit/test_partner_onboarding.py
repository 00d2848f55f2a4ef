"""docs/partners.md, proved at the build: a partner's file under trust_lists/partners/,
made from one of the samples, joins its list (or the registry) at `passerelle trust
build`, with no code change; a file still holding a sample's placeholder is refused, and
YAML never turns what a partner wrote into something else (``NO`` is Norway)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from passerelle import PasserelleError, Reason
from passerelle.services.trust.sources import load_source
from passerelle.trust import LOTE_TYPE_WRPAC_PROVIDERS, Framework, evaluate_trust
from passerelle.x509 import certificate_to_pem, verify_certificate_chain
from tests.conftest import NOW
from tests.trust_world import TrustWorld, _root, leaf

PID = "urn:eudi:pid:1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"
SAMPLES = Path(__file__).parents[2] / "trust_lists" / "partners"

# What a Norwegian partner types in place of the placeholders. Oslo's postal codes start
# with 0, and NO is the country code YAML 1.1 would read as "false".
NORDLYS = {
    "<your legal name>": "Nordlys ID AS",
    "<legal name of your access certificate authority>": "Nordlys Tilgang AS",
    "<VAT or other registration identifier, e.g. VATNO-123456789>": "VATNO-987654321",
    "<two-letter code, e.g. NO>": "NO",
    "<two-letter code>": "NO",
    "<street and number>": "Karl Johans gate 1",
    "<city>": "Oslo",
    "<postal code>": "0154",
    "<contact e-mail address>": "trust@nordlys.example",
    "<where your terms of use are published>": "nordlys.example/terms",
    "<where your certificate policy is published>": "nordlys.example/policy",
    "<your credential issuer URL>": "issuer.nordlys.example",
    "<your organisation>": "Nordlys ID AS",
    "<your issuer identifier, your credentials' iss>": "issuer.nordlys.example",
    "<from, e.g. 2026-01-01T00:00:00Z>": "2026-01-01T00:00:00Z",
    "<until, e.g. 2028-01-01T00:00:00Z>": "2028-01-01T00:00:00Z",
}


def _fill(sample: str, certificate: x509.Certificate | None = None) -> str:
    """The sample as a partner edits it: every placeholder replaced by its own value,
    the PEM block by its certificate's."""
    text = (SAMPLES / sample).read_text()
    if certificate is not None:
        body = certificate_to_pem(certificate).strip().splitlines()[1:-1]
        text = text.replace(
            next(line for line in text.splitlines() if "<your" in line and "base64" in line),
            "\n".join(f"          {line}" for line in body),
        )
    for placeholder, value in NORDLYS.items():
        text = text.replace(placeholder, value)
    content = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in content if re.search(r"<[^<>]+>", line)]
    return text


def _write(world: TrustWorld, name: str, text: str) -> None:
    (world.sources / "partners" / name).write_text(text)


def test_the_samples_fill_in_to_what_the_build_reads() -> None:
    for sample in ("eu-pid-issuer.yaml.sample", "eu-verifier.yaml.sample", "ca-issuer.yaml.sample"):
        assert (SAMPLES / sample).is_file()
    filled = yaml.safe_load(_fill("eu-pid-issuer.yaml.sample", _root(NOW, "x")[0]))
    # Unquoted in the sample; PyYAML's own loader would have made it the boolean false.
    assert filled["entity"]["member_state"] is False


def test_an_eu_pid_issuer_joins_its_list_from_the_sample(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    partner_ca = _root(NOW, "Nordlys PID CA", country="NO")
    partner_signer = leaf(NOW, partner_ca, "Nordlys PID signer", country="NO")
    world.build()
    before = evaluate_trust(
        issuer=world.eu_issuer(partner_signer),
        credential_type=PID,
        snapshot=world.snapshot(Framework.EU),
        now=NOW,
    )
    assert not before.trusted
    # The refusal says which lists the chain was looked for in.
    failed = next(s for s in before.steps if s.outcome.value == "failed")
    assert failed.reason is Reason.X509_CHAIN_INVALID
    assert "pid-providers" in str(failed.evidence.get("lists"))

    _write(world, "nordlys.yaml", _fill("eu-pid-issuer.yaml.sample", partner_ca[0]))
    world.build()
    snapshot = world.snapshot(Framework.EU, last_seen={"pid-providers": 1})
    after = evaluate_trust(
        issuer=world.eu_issuer(partner_signer), credential_type=PID, snapshot=snapshot, now=NOW
    )
    assert after.trusted, after.as_dict()
    home = next(s for s in after.steps if s.step == "home_framework")
    assert home.evidence["entity"] == "Nordlys ID AS"


def test_yaml_scalars_stay_what_the_partner_wrote(tmp_path: Path) -> None:
    path = tmp_path / "nordlys.yaml"
    path.write_text(_fill("eu-pid-issuer.yaml.sample", _root(NOW, "x")[0]))
    entity: Any = load_source(path, scalars="text")["entity"]
    assert entity["member_state"] == "NO"
    postal = entity["address"]["postal"]
    assert postal["postal_code"] == "0154"
    assert postal["country"] == "NO"


@pytest.mark.parametrize(
    "sample", ["eu-pid-issuer.yaml.sample", "eu-verifier.yaml.sample", "ca-issuer.yaml.sample"]
)
def test_a_sample_copied_unchanged_is_refused(tmp_path: Path, sample: str) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    text = (SAMPLES / sample).read_text().replace("<two-letter code, e.g. NO>", "NO")
    _write(world, "lazy.yaml", text)
    with pytest.raises(PasserelleError) as err:
        world.build()
    assert err.value.reason is Reason.TRUST_SOURCE_PLACEHOLDER
    assert "lazy.yaml" in err.value.detail


def test_one_placeholder_left_is_refused(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    text = _fill("eu-pid-issuer.yaml.sample", _root(NOW, "x")[0])
    _write(world, "nordlys.yaml", text.replace("Oslo", "<city>"))
    with pytest.raises(PasserelleError) as err:
        world.build()
    assert err.value.reason is Reason.TRUST_SOURCE_PLACEHOLDER


def test_a_verifier_access_ca_joins_the_wrpac_list(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    access_ca = _root(NOW, "Nordlys Access CA", country="NO")
    _write(world, "nordlys-verifier.yaml", _fill("eu-verifier.yaml.sample", access_ca[0]))
    assert world.build().placed == {"nordlys-verifier": "wrpac-providers"}
    snapshot = world.snapshot(Framework.EU)
    wrpac = next(lote for lote in snapshot.eu_lists if lote.list_type == LOTE_TYPE_WRPAC_PROVIDERS)
    anchors = [c for s in wrpac.services for c in s.listed_certificates]
    assert access_ca[0] in anchors
    # A wallet's anchors for request objects now vouch for the partner's access leaf.
    access_leaf = leaf(NOW, access_ca, "Nordlys verifier", country="NO")
    verify_certificate_chain([access_leaf[0]], anchors=anchors, now=NOW)


def test_a_canadian_issuer_joins_the_registry_from_the_sample(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    iss = "https://issuer.nordlys.example"
    world.build()
    assert not evaluate_trust(
        issuer=world.ca_identity(iss),
        credential_type=CA_PERSON,
        snapshot=world.snapshot(Framework.CA),
        now=NOW,
        issuer_metadata=world.ca_metadata(iss),
    ).trusted
    _write(world, "nordlys-ca.yaml", _fill("ca-issuer.yaml.sample"))
    assert world.build().placed == {"nordlys-ca": "ca-registry"}
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
    text = _fill("eu-pid-issuer.yaml.sample", _root(NOW, "x")[0])
    _write(world, "bad.yaml", text.replace("list: pid-providers", "list: no-such-list"))
    with pytest.raises(PasserelleError) as err:
        world.build()
    assert err.value.reason is Reason.TRUST_LIST_MALFORMED


def test_the_samples_are_not_read_by_the_build(tmp_path: Path) -> None:
    world = TrustWorld(now=NOW, tmp=tmp_path)
    assert list((world.sources / "partners").glob("*.sample"))
    world.build()  # their placeholders would be refused if they were read


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
