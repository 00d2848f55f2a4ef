"""Each issuer quirk breaks exactly the requirement it names: the behaviour the clean
issuer refuses is accepted (or the artefact it must produce is wrong) with the quirk."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from passerelle.sd_jwt import parse_sd_jwt
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.issuer.quirks import IssuerQuirk
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import utc_now
from tests.issuer_client import access, credential, offer, persona_of, proof, token

CONFIG = "ca-person-sd-jwt"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quirks")
    init_pki(path, now=utc_now())
    return path


def _client(data_dir: Path, *quirks: IssuerQuirk) -> TestClient:
    return TestClient(
        create_issuer_app(
            profile_name="ca-issuer",
            data_dir=data_dir,
            store_url="sqlite://:memory:",
            quirks=frozenset(quirks),
        )
    )


def _issue(client: TestClient, **proof_options: object) -> object:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(client, CONFIG, persona_of(client, CONFIG))
    jwt = proof(client, holder, **proof_options)  # type: ignore[arg-type]
    return credential(
        client, bearer, {"credential_configuration_id": CONFIG, "proofs": {"jwt": [jwt]}}
    )


def _payload(response: object) -> dict:  # type: ignore[type-arg]
    token_ = response.json()["credentials"][0]["credential"]  # type: ignore[attr-defined]
    return parse_sd_jwt(token_).unverified_payload()  # type: ignore[return-value]


def test_accept_any_nonce(data_dir: Path) -> None:
    assert _issue(_client(data_dir), nonce="made-up").status_code == 400  # type: ignore[attr-defined]
    assert (
        _issue(_client(data_dir, IssuerQuirk.ACCEPT_ANY_NONCE), nonce="made-up").status_code == 200
    )  # type: ignore[attr-defined]


def test_ignore_proof_aud(data_dir: Path) -> None:
    aud = "https://elsewhere.example"
    assert _issue(_client(data_dir), aud=aud).status_code == 400  # type: ignore[attr-defined]
    assert _issue(_client(data_dir, IssuerQuirk.IGNORE_PROOF_AUD), aud=aud).status_code == 200  # type: ignore[attr-defined]


def test_ignore_tx_code(data_dir: Path) -> None:
    for quirks, expected in (((), 400), ((IssuerQuirk.IGNORE_TX_CODE,), 200)):
        client = _client(data_dir, *quirks)
        made = offer(client, CONFIG, persona_of(client, CONFIG))
        wrong = "999999" if made["tx_code"] != "999999" else "111111"
        assert token(client, made, tx_code=wrong).status_code == expected


def test_reusable_pre_authorized_code(data_dir: Path) -> None:
    for quirks, expected in (((), 400), ((IssuerQuirk.REUSABLE_PRE_AUTHORIZED_CODE,), 200)):
        client = _client(data_dir, *quirks)
        made = offer(client, CONFIG, persona_of(client, CONFIG))
        assert token(client, made).status_code == 200
        assert token(client, made).status_code == expected


def test_sign_with_unlisted_key(data_dir: Path) -> None:
    from passerelle import PasserelleError
    from passerelle.jose import verify_jws

    key = load_pki(data_dir).signer("ca-issuer").public_key
    clean = _issue(_client(data_dir)).json()["credentials"][0]["credential"].split("~")[0]  # type: ignore[attr-defined]
    verify_jws(clean, key=key, algorithms=["ES256"])  # the clean issuer signs with it
    response = _issue(_client(data_dir, IssuerQuirk.SIGN_WITH_UNLISTED_KEY))
    jwt = response.json()["credentials"][0]["credential"].split("~")[0]  # type: ignore[attr-defined]
    with pytest.raises(PasserelleError):
        verify_jws(jwt, key=key, algorithms=["ES256"])


def test_reuse_status_index(data_dir: Path) -> None:
    client = _client(data_dir, IssuerQuirk.REUSE_STATUS_INDEX)
    indices = {_payload(_issue(client))["status"]["status_list"]["idx"] for _ in range(3)}  # type: ignore[index]
    assert indices == {0}
    clean = _client(data_dir)
    assert len({_payload(_issue(clean))["status"]["status_list"]["idx"] for _ in range(3)}) == 3  # type: ignore[index]


def test_omit_cnf_and_wrong_vct(data_dir: Path) -> None:
    assert "cnf" in _payload(_issue(_client(data_dir)))
    assert "cnf" not in _payload(_issue(_client(data_dir, IssuerQuirk.OMIT_CNF)))
    vct = _payload(_issue(_client(data_dir, IssuerQuirk.WRONG_VCT)))["vct"]
    assert vct != "https://credentials.passerelle.example/ca/person/v1"


def test_no_store_missing(data_dir: Path) -> None:
    assert _issue(_client(data_dir)).headers.get("cache-control") == "no-store"  # type: ignore[attr-defined]
    assert "no-store" not in _issue(_client(data_dir, IssuerQuirk.NO_STORE_MISSING)).headers.get(
        "cache-control", ""
    )  # type: ignore[attr-defined]
