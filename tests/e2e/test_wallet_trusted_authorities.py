"""DCQL trusted_authorities at the wallet: ``aki`` of the issuer's CA, and our extension
types naming the EU list or the Canadian registry that trusted the issuer."""

from __future__ import annotations

from cryptography import x509

from passerelle._json import b64url_encode
from passerelle.services.pki import load_pki
from tests.e2e.conftest import Stack

PID = "urn:eudi:pid:1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"


def _query(vct: str, authorities: list[dict[str, object]]) -> dict[str, object]:
    return {
        "credentials": [
            {
                "id": "q",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "trusted_authorities": authorities,
                "claims": [{"path": ["given_name"]}],
            }
        ]
    }


def test_trusted_authorities_select_what_the_wallet_holds(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")
    stack.receive("ca-issuer", "ca-person-sd-jwt", "rajinder-dhillon")
    ca = load_pki(stack.data_dir).certificate("eu-pid-provider-ca")
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    cases = [
        (PID, [{"type": "aki", "values": [b64url_encode(ski)]}], True),
        (PID, [{"type": "aki", "values": [b64url_encode(b"\x00" * 20)]}], False),
        (
            PID,
            [
                {
                    "type": "passerelle_lote",
                    "values": ["http://uri.etsi.org/19602/LoTEType/EUPIDProvidersList"],
                }
            ],
            True,
        ),
        (CA_PERSON, [{"type": "passerelle_trqp", "values": [stack.urls["trust"] + "/ca"]}], True),
        (
            CA_PERSON,
            [{"type": "passerelle_trqp", "values": ["https://someone-else.example"]}],
            False,
        ),
    ]
    for vct, authorities, answered in cases:
        made = stack.transaction("ca-verifier", dcql_query=_query(vct, authorities))
        outcome = stack.present(made["request_url"])
        assert outcome["accepted"] is answered, (authorities, outcome)
        if not answered:
            assert outcome["reason"] == "dcql.no_match"
