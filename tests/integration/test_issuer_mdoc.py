"""The issuers' ``mso_mdoc`` configurations over OpenID4VCI 1.0: the EU PID as an mdoc
and a Canadian provincial mDL, with their metadata (Appendix A.2.2), the device key of
the key proof in the MSO, the document signer chain to the IACA, and a status index."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from passerelle._json import b64url_decode
from passerelle.jose import jwk_thumbprint
from passerelle.mdoc import (
    DOCTYPE_MDL,
    DOCTYPE_PID,
    NAMESPACE_MDL,
    NAMESPACE_PID,
    verify_issuer_signed,
)
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.issuer.quirks import IssuerQuirk
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import utc_now
from tests.issuer_client import access, credential, persona_of, proof


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("issuer-mdoc")
    init_pki(path, now=utc_now())
    return path


def _client(
    data_dir: Path, profile: str, quirks: frozenset[IssuerQuirk] | None = None
) -> TestClient:
    return TestClient(create_issuer_app(profile_name=profile, data_dir=data_dir, quirks=quirks))


def _issue(client: TestClient, config: str, holder: ec.EllipticCurvePrivateKey) -> bytes:
    bearer = access(client, config, persona_of(client, config))
    response = credential(
        client,
        bearer,
        {"credential_configuration_id": config, "proofs": {"jwt": [proof(client, holder)]}},
    )
    assert response.status_code == 200, response.text
    return b64url_decode(response.json()["credentials"][0]["credential"])


@pytest.mark.parametrize(
    ("profile", "config", "doctype", "namespace", "anchor"),
    [
        ("eu-issuer", "eu-pid-mdoc", DOCTYPE_PID, NAMESPACE_PID, "eu-pid-iaca"),
        ("ca-issuer", "ca-mdl-mdoc", DOCTYPE_MDL, NAMESPACE_MDL, "ca-mdl-iaca"),
    ],
)
def test_an_mdoc_is_issued_bound_to_the_proved_key(
    data_dir: Path, profile: str, config: str, doctype: str, namespace: str, anchor: str
) -> None:
    client = _client(data_dir, profile)
    metadata = client.get("/.well-known/openid-credential-issuer").json()
    described = metadata["credential_configurations_supported"][config]
    assert described["format"] == "mso_mdoc"
    assert described["doctype"] == doctype
    assert described["credential_signing_alg_values_supported"] == [-7]
    paths = [c["path"] for c in described["credential_metadata"]["claims"]]
    assert [namespace, "family_name"] in paths
    assert all(p[0] == namespace and len(p) == 2 for p in paths)
    assert described["credential_metadata"]["display"][0]["name"]

    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(client, config, holder)
    pki = load_pki(data_dir)
    verified = verify_issuer_signed(
        issued, anchors=[pki.certificate(anchor)], now=utc_now(), expected_doc_type=doctype
    )
    assert jwk_thumbprint(verified.device_key) == jwk_thumbprint(holder.public_key())
    assert verified.status is not None
    # The document signer's own status list (Token Status List, signed by that key).
    signer = "eu-pid-mdoc-signer" if profile == "eu-issuer" else "ca-mdl-signer"
    assert verified.status.uri == f"{metadata['credential_issuer']}/status/{signer}"
    elements = verified.namespaces[namespace]
    assert isinstance(elements["birth_date"], date)
    assert elements["family_name"]


def test_the_mdl_has_age_over_elements_and_a_portrait(data_dir: Path) -> None:
    client = _client(data_dir, "ca-issuer")
    issued = _issue(client, "ca-mdl-mdoc", ec.generate_private_key(ec.SECP256R1()))
    pki = load_pki(data_dir)
    verified = verify_issuer_signed(issued, anchors=[pki.certificate("ca-mdl-iaca")], now=utc_now())
    elements = verified.namespaces[NAMESPACE_MDL]
    assert {"age_over_18", "age_over_19", "age_over_21", "portrait"} <= set(elements)
    assert isinstance(elements["portrait"], bytes)
    assert elements["issuing_country"] == "CA"


def test_quirks_break_device_binding_and_validity(data_dir: Path) -> None:
    from passerelle import PasserelleError, Reason

    pki = load_pki(data_dir)
    holder = ec.generate_private_key(ec.SECP256R1())
    foreign = _client(data_dir, "eu-issuer", frozenset({IssuerQuirk.MDOC_FOREIGN_DEVICE_KEY}))
    verified = verify_issuer_signed(
        _issue(foreign, "eu-pid-mdoc", holder),
        anchors=[pki.certificate("eu-pid-iaca")],
        now=utc_now(),
    )
    assert jwk_thumbprint(verified.device_key) != jwk_thumbprint(holder.public_key())
    expired = _client(data_dir, "eu-issuer", frozenset({IssuerQuirk.MDOC_EXPIRED}))
    with pytest.raises(PasserelleError) as exc:
        verify_issuer_signed(
            _issue(expired, "eu-pid-mdoc", holder),
            anchors=[pki.certificate("eu-pid-iaca")],
            now=utc_now(),
        )
    assert exc.value.reason is Reason.MDOC_EXPIRED
