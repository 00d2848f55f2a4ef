"""SD-JWT VC: issuer keys by x5c and by JWT VC Issuer Metadata, the claims rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError, Reason
from passerelle._json import b64url_encode
from passerelle.jose import KeySigner, public_jwk, sign_jws
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, hash_b64url, present_sd_jwt
from passerelle.sd_jwt_vc import (
    IssuerKeyMethod,
    IssuerKeyPolicy,
    issue_sd_jwt_vc,
    jwt_vc_issuer_metadata_url,
    verify_sd_jwt_vc,
)
from passerelle.x509 import encode_x5c
from tests.conftest import NOW, SeededRandom
from tests.pki import make_chain

VCT = "urn:eudi:pid:1"
ISS = "https://ca-issuer.example/issuer"


def _issue(signer: KeySigner, holder: ec.EllipticCurvePrivateKey, **kw: object) -> str:
    return issue_sd_jwt_vc(
        {"given_name": "Zoé", "family_name": "Lefèvre", "age_equal_or_over": {"18": True}},
        vct=VCT,
        signer=signer,
        random=SeededRandom(),
        now=NOW,
        disclosable=[("given_name",), ("family_name",), ("age_equal_or_over", "18")],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=365),
        **kw,  # type: ignore[arg-type]
    )


def test_x5c_issued_credential_verifies_with_the_anchor(holder_key) -> None:
    chain = make_chain(NOW, name="EU PID Provider")
    token = _issue(KeySigner(chain.leaf_key), holder_key, x5c=encode_x5c([chain.leaf]))
    shown = present_sd_jwt(
        token,
        disclose=[("age_equal_or_over", "18")],
        key_binding=KeyBindingInput(
            signer=KeySigner(holder_key), nonce="n", audience="x509_hash:abc", now=NOW
        ),
    )
    vc = verify_sd_jwt_vc(
        shown,
        keys=IssuerKeyPolicy(x5c_anchors=[chain.root]),
        algorithms=["ES256"],
        now=NOW,
        key_binding=KeyBindingCheck(nonce="n", audience="x509_hash:abc"),
        accepted_vcts=[VCT],
    )
    assert vc.vct == VCT
    assert vc.issuer.method is IssuerKeyMethod.X5C
    assert "EU PID Provider" in vc.issuer.issuer
    assert vc.claims["age_equal_or_over"] == {"18": True}
    assert "given_name" not in vc.claims
    assert vc.holder_bound


def test_x5c_to_no_anchor(holder_key) -> None:
    chain, stranger = make_chain(NOW), make_chain(NOW, name="Other")
    token = _issue(KeySigner(chain.leaf_key), holder_key, x5c=encode_x5c([chain.leaf]))
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token, keys=IssuerKeyPolicy(x5c_anchors=[stranger.root]), algorithms=["ES256"], now=NOW
        )
    assert err.value.reason is Reason.X509_CHAIN_INVALID


def test_self_signed_leaf(holder_key) -> None:
    chain = make_chain(NOW)
    token = _issue(KeySigner(chain.root_key), holder_key, x5c=encode_x5c([chain.root]))
    # A CA certificate used as the signing certificate is refused as well.
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token, keys=IssuerKeyPolicy(x5c_anchors=[chain.root]), algorithms=["ES256"], now=NOW
        )
    assert err.value.reason in (Reason.X509_SELF_SIGNED_LEAF, Reason.X509_KEY_USAGE)


def test_expired_signing_certificate(holder_key) -> None:
    chain = make_chain(NOW, leaf_validity=(timedelta(days=-30), timedelta(days=-1)))
    token = _issue(KeySigner(chain.leaf_key), holder_key, x5c=encode_x5c([chain.leaf]))
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token, keys=IssuerKeyPolicy(x5c_anchors=[chain.root]), algorithms=["ES256"], now=NOW
        )
    assert err.value.reason is Reason.X509_EXPIRED


def _metadata(key: ec.EllipticCurvePrivateKey, *, issuer: str = ISS, kid: str = "k1") -> dict:  # type: ignore[type-arg]
    return {"issuer": issuer, "jwks": {"keys": [{**public_jwk(key), "kid": kid}]}}


def test_issuer_metadata_key(issuer_key, holder_key) -> None:
    token = _issue(KeySigner(issuer_key), holder_key, issuer=ISS, kid="k1")
    vc = verify_sd_jwt_vc(
        token,
        keys=IssuerKeyPolicy(issuer_metadata={ISS: _metadata(issuer_key)}),
        algorithms=["ES256"],
        now=NOW,
    )
    assert vc.issuer.method is IssuerKeyMethod.JWT_VC_ISSUER_METADATA
    assert vc.issuer.issuer == ISS
    assert vc.claims["given_name"] == "Zoé"


@pytest.mark.parametrize(
    ("metadata_kw", "kid", "reason"),
    [
        ({"issuer": "https://elsewhere.example"}, "k1", Reason.SD_JWT_VC_ISSUER_METADATA_INVALID),
        ({}, "unknown", Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED),
    ],
)
def test_issuer_metadata_failures(issuer_key, holder_key, metadata_kw, kid, reason) -> None:  # type: ignore[no-untyped-def]
    token = _issue(KeySigner(issuer_key), holder_key, issuer=ISS, kid=kid)
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token,
            keys=IssuerKeyPolicy(issuer_metadata={ISS: _metadata(issuer_key, **metadata_kw)}),
            algorithms=["ES256"],
            now=NOW,
        )
    assert err.value.reason is reason


def test_metadata_key_of_another_issuer_fails_the_signature(issuer_key, holder_key) -> None:
    token = _issue(KeySigner(issuer_key), holder_key, issuer=ISS, kid="k1")
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token,
            keys=IssuerKeyPolicy(issuer_metadata={ISS: _metadata(other)}),
            algorithms=["ES256"],
            now=NOW,
        )
    assert err.value.reason is Reason.JWS_INVALID_SIGNATURE


def test_no_permitted_mechanism(issuer_key, holder_key) -> None:
    token = _issue(KeySigner(issuer_key), holder_key, issuer="https://unknown.example")
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token,
            keys=IssuerKeyPolicy(issuer_metadata={ISS: _metadata(issuer_key)}),
            algorithms=["ES256"],
            now=NOW,
        )
    assert err.value.reason is Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED


def _forged(
    issuer_key: ec.EllipticCurvePrivateKey, payload: dict, disclosures: list, typ: str = "dc+sd-jwt"
) -> str:  # type: ignore[type-arg]
    encoded = [b64url_encode(json.dumps(d).encode()) for d in disclosures]
    body = {**payload, "_sd": [hash_b64url("sha-256", e) for e in encoded]}
    jwt = sign_jws({"typ": typ, "kid": "k1"}, body, KeySigner(issuer_key))
    return "~".join([jwt, *encoded]) + "~"


def _verify_forged(issuer_key: ec.EllipticCurvePrivateKey, token: str) -> None:
    verify_sd_jwt_vc(
        token,
        keys=IssuerKeyPolicy(issuer_metadata={ISS: _metadata(issuer_key)}),
        algorithms=["ES256"],
        now=NOW,
    )


@pytest.mark.parametrize("claim", ["exp", "cnf", "vct", "status", "nbf"])
def test_never_disclosable_claims_are_refused_when_disclosed(issuer_key, claim: str) -> None:
    values = {"exp": 2_000_000_000, "cnf": {"jwk": {}}, "vct": VCT, "status": {}, "nbf": 1}
    payload = {"iss": ISS, "vct": VCT} if claim != "vct" else {"iss": ISS}
    token = _forged(issuer_key, payload, [["salt", claim, values[claim]]])
    with pytest.raises(PasserelleError) as err:
        _verify_forged(issuer_key, token)
    assert err.value.reason is Reason.SD_JWT_UNDISCLOSABLE


def test_missing_vct_and_wrong_typ(issuer_key) -> None:
    with pytest.raises(PasserelleError) as err:
        _verify_forged(issuer_key, _forged(issuer_key, {"iss": ISS}, []))
    assert err.value.reason is Reason.SD_JWT_VC_VCT_MISSING
    with pytest.raises(PasserelleError) as err:
        _verify_forged(issuer_key, _forged(issuer_key, {"iss": ISS, "vct": VCT}, [], typ="JWT"))
    assert err.value.reason is Reason.JWS_TYP_MISMATCH


def test_malformed_status_is_refused(issuer_key) -> None:
    token = _forged(
        issuer_key, {"iss": ISS, "vct": VCT, "status": {"status_list": {"idx": "1"}}}, []
    )
    with pytest.raises(PasserelleError) as err:
        _verify_forged(issuer_key, token)
    assert err.value.reason is Reason.SD_JWT_VC_STATUS_INVALID


def test_unaccepted_vct(issuer_key, holder_key) -> None:
    token = _issue(KeySigner(issuer_key), holder_key, issuer=ISS, kid="k1")
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token,
            keys=IssuerKeyPolicy(issuer_metadata={ISS: _metadata(issuer_key)}),
            algorithms=["ES256"],
            now=NOW,
            accepted_vcts=["https://credentials.example/other"],
        )
    assert err.value.reason is Reason.SD_JWT_VC_VCT_MISMATCH


def test_issuer_refuses_to_make_registered_claims_disclosable(issuer_key, holder_key) -> None:
    with pytest.raises(PasserelleError) as err:
        issue_sd_jwt_vc(
            {"a": 1},
            vct=VCT,
            signer=KeySigner(issuer_key),
            random=SeededRandom(),
            now=NOW,
            disclosable=[("status",)],
        )
    assert err.value.reason is Reason.SD_JWT_UNDISCLOSABLE


@pytest.mark.parametrize(
    ("iss", "url"),
    [
        ("https://example.com", "https://example.com/.well-known/jwt-vc-issuer"),
        (
            "https://example.com/tenant/1234",
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234",
        ),
        ("https://example.com/tenant/", "https://example.com/.well-known/jwt-vc-issuer/tenant"),
    ],
)
def test_issuer_metadata_url_follows_the_draft_examples(iss: str, url: str) -> None:
    assert jwt_vc_issuer_metadata_url(iss) == url


@pytest.mark.parametrize("iss", ["http://example.com", "https://example.com/?q=1", "urn:x"])
def test_issuer_metadata_url_refuses_non_https(iss: str) -> None:
    with pytest.raises(PasserelleError) as err:
        jwt_vc_issuer_metadata_url(iss)
    assert err.value.reason is Reason.SD_JWT_VC_ISSUER_INVALID


def test_vct_integrity_verifies_against_the_type_metadata_document(issuer_key, holder_key) -> None:
    from pathlib import Path

    from passerelle.catalog import compute_integrity

    document = (
        Path(__file__).parents[2] / "schemas" / "eu-pid" / "type-metadata.json"
    ).read_bytes()
    token = _issue(
        KeySigner(issuer_key),
        holder_key,
        issuer=ISS,
        kid="k1",
        vct_integrity=compute_integrity(document),
    )
    keys = IssuerKeyPolicy(issuer_metadata={ISS: _metadata(issuer_key)})
    vc = verify_sd_jwt_vc(
        token, keys=keys, algorithms=["ES256"], now=NOW, type_metadata={VCT: document}
    )
    assert vc.claims["vct#integrity"].startswith("sha256-")  # type: ignore[union-attr]
    changed = document.replace(b"}", b" }", 1)
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token, keys=keys, algorithms=["ES256"], now=NOW, type_metadata={VCT: changed}
        )
    assert err.value.reason is Reason.SD_JWT_VC_INTEGRITY_MISMATCH


def test_loopback_http_issuer_only_with_the_named_relaxation(issuer_key, holder_key) -> None:
    iss = "http://127.0.0.1:8101"
    token = _issue(KeySigner(issuer_key), holder_key, issuer=iss, kid="k1")
    metadata = {iss: _metadata(issuer_key, issuer=iss)}
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt_vc(
            token, keys=IssuerKeyPolicy(issuer_metadata=metadata), algorithms=["ES256"], now=NOW
        )
    assert err.value.reason is Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED
    relaxed = IssuerKeyPolicy(issuer_metadata=metadata, allow_insecure_loopback=True)
    assert verify_sd_jwt_vc(token, keys=relaxed, algorithms=["ES256"], now=NOW).issuer.issuer == iss
    assert jwt_vc_issuer_metadata_url(iss, allow_insecure_loopback=True).startswith("http://127")
    remote = "http://issuer.example"
    with pytest.raises(PasserelleError):
        jwt_vc_issuer_metadata_url(remote, allow_insecure_loopback=True)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8101", True),
        ("http://localhost:8101/x", True),
        ("http://[::1]:8101", True),
        ("http://127.attacker.example/", False),
        ("http://127.0.0.1.nip.io/", False),
        ("https://127.0.0.1", False),
    ],
)
def test_loopback_means_loopback(url: str, loopback: bool) -> None:
    from passerelle.sd_jwt_vc import is_insecure_loopback

    assert is_insecure_loopback(url) is loopback
