"""The wallet attests its keys where the issuer's metadata asks for it (OpenID4VCI 1.0
§12.2.4: ``key_attestations_required`` on the configuration's ``jwt`` proof type), not
only in the authenticated code flow."""

from __future__ import annotations

from passerelle import JsonObject
from passerelle.oid4vci import parse_credential_issuer_metadata
from passerelle.services.wallet.receive import key_attestations_required

ISSUER = "https://issuer.example"


def _metadata(jwt_proof: JsonObject) -> JsonObject:
    return {
        "credential_issuer": ISSUER,
        "credential_endpoint": f"{ISSUER}/credential",
        "credential_configurations_supported": {
            "pid": {
                "format": "dc+sd-jwt",
                "vct": "urn:eudi:pid:1",
                "cryptographic_binding_methods_supported": ["jwk"],
                "proof_types_supported": {"jwt": jwt_proof},
            }
        },
    }


def test_a_configuration_that_requires_key_attestations_is_read_as_such() -> None:
    required = parse_credential_issuer_metadata(
        _metadata(
            {"proof_signing_alg_values_supported": ["ES256"], "key_attestations_required": {}}
        ),
        expected_issuer=ISSUER,
    )
    assert key_attestations_required(required, "pid") is True


def test_a_configuration_without_it_and_an_unknown_one_are_not() -> None:
    plain = parse_credential_issuer_metadata(
        _metadata({"proof_signing_alg_values_supported": ["ES256"]}), expected_issuer=ISSUER
    )
    assert key_attestations_required(plain, "pid") is False
    assert key_attestations_required(plain, "no-such-configuration") is False
