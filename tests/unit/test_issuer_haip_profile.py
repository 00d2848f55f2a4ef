"""The HAIP switches of an issuer profile are data: the EU profile turns them on for
its code grant, the Canadian one keeps plain bearer tokens, and a malformed switch is
refused when the profile loads, never half applied."""

from __future__ import annotations

import pytest

from passerelle import PasserelleError
from passerelle.services.catalog import load_catalog
from passerelle.services.issuer.haip import auth_methods, haip_metadata
from passerelle.services.issuer.profile import _haip, load_profile


def test_the_eu_profile_requires_attestation_and_dpop_for_the_code_grant() -> None:
    haip = load_profile("eu-issuer", catalog=load_catalog()).haip
    assert haip.client_attestation == {"authorization_code"}
    assert haip.dpop == {"authorization_code"}
    assert haip.dpop_nonce is True
    issuer, server = haip_metadata(haip)
    assert server["dpop_signing_alg_values_supported"] == ["ES256"]
    assert issuer["credential_response_encryption"]["enc_values_supported"] == [
        "A128GCM",
        "A256GCM",
    ]
    # The pre-authorized grant stays open to anonymous wallets, so "none" stays listed.
    assert auth_methods(haip) == ("attest_jwt_client_auth", "none")


def test_the_canadian_profile_keeps_bearer_tokens() -> None:
    haip = load_profile("ca-issuer", catalog=load_catalog()).haip
    assert not haip.enabled
    assert haip_metadata(haip) == ({}, {})
    assert auth_methods(haip) == ("none",)


@pytest.mark.parametrize(
    "raw",
    [
        {"dpop": ["implicit"]},
        {"client_attestation": "authorization_code"},
        {"dpop_signing_alg_values": ["none"]},
        {"dpop_signing_alg_values": []},
        {"key_attestations": ["iso_18045_high"]},
        "yes",
    ],
)
def test_a_malformed_haip_section_is_refused(raw: object) -> None:
    with pytest.raises(PasserelleError):
        _haip("eu-issuer", raw)
