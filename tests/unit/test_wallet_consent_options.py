"""The consent page's choices, without a stack: which held credentials answer a query,
which claims are optional under the verifier's ``claim_sets`` (OpenID4VP 1.0 §6.4.1),
and what the answer discloses after the person's choices — never more than shown."""

from __future__ import annotations

import pytest

from passerelle import PasserelleError, Reason
from passerelle.dcql import CandidateCredential, parse_dcql_query
from passerelle.services.wallet.consent import apply_choices, consent_options

PID = "urn:eudi:pid:1"


def _held(credential_id: str, **claims: object) -> CandidateCredential:
    return CandidateCredential(
        credential_id=credential_id, format="dc+sd-jwt", claims=claims, vct=PID
    )


def _query(claim_sets: list[list[str]] | None) -> dict[str, object]:
    query: dict[str, object] = {
        "id": "pid",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID]},
        "claims": [
            {"id": "f", "path": ["family_name"]},
            {"id": "g", "path": ["given_name"]},
            {"id": "b", "path": ["birthdate"]},
        ],
    }
    if claim_sets is not None:
        query["claim_sets"] = claim_sets
    return {"credentials": [query]}


HELD = [
    _held("a", family_name="A", given_name="Ann", birthdate="1990-01-01"),
    _held("b", family_name="B", given_name="Bo"),
]


def _plan(credential_id: str, disclose: list[list[str]]) -> dict[str, list[dict[str, object]]]:
    return {"pid": [{"credential_id": credential_id, "disclose": disclose}]}


def test_every_credential_that_answers_is_offered_with_its_optional_claims() -> None:
    query = parse_dcql_query(_query([["f", "g", "b"], ["f", "g"], ["f"]]))
    options = consent_options(query, HELD, _plan("a", []))
    by_id = {o["credential_id"]: o for o in options["pid"]}  # type: ignore[union-attr, index]
    assert set(by_id) == {"a", "b"}
    assert by_id["a"]["optional"] == [["given_name"], ["birthdate"]]  # type: ignore[index]
    # b has no birthdate: its first satisfiable set is [f, g], of which g is optional.
    assert by_id["b"]["disclose"] == [["family_name"], ["given_name"]]  # type: ignore[index]
    assert by_id["b"]["optional"] == [["given_name"]]  # type: ignore[index]


def test_without_claim_sets_nothing_is_optional() -> None:
    query = parse_dcql_query(_query(None))
    options = consent_options(query, HELD, _plan("a", []))
    assert [o["credential_id"] for o in options["pid"]] == ["a"]  # type: ignore[index, union-attr]
    assert options["pid"][0]["optional"] == []  # type: ignore[index]


def test_leaving_out_an_optional_claim_takes_the_next_preferred_set_within_what_was_shown() -> None:
    query = parse_dcql_query(_query([["f", "g", "b"], ["f", "g"], ["f"]]))
    plan = _plan("a", [["family_name"], ["given_name"], ["birthdate"]])
    options = consent_options(query, HELD, plan)
    # Index 1 of a's optional claims is birthdate.
    out = apply_choices(plan, options, query, HELD, chosen={}, left_out={"pid": ["1"]})  # type: ignore[arg-type]
    assert out["pid"][0]["disclose"] == [["family_name"], ["given_name"]]
    out = apply_choices(plan, options, query, HELD, chosen={}, left_out={"pid": ["0", "1"]})  # type: ignore[arg-type]
    assert out["pid"][0]["disclose"] == [["family_name"]]


def test_choosing_another_credential_discloses_from_it() -> None:
    query = parse_dcql_query(_query(None))
    held = [
        _held("a", family_name="A", given_name="x", birthdate="y"),
        _held("c", family_name="C", given_name="z", birthdate="w"),
    ]
    plan = _plan("a", [["family_name"], ["given_name"], ["birthdate"]])
    options = consent_options(query, held, plan)
    out = apply_choices(plan, options, query, held, chosen={"pid": "c"}, left_out={})  # type: ignore[arg-type]
    assert out["pid"][0]["credential_id"] == "c"
    # Unchanged choices keep the plan exactly.
    same = apply_choices(plan, options, query, held, chosen={"pid": "a"}, left_out={})  # type: ignore[arg-type]
    assert same == plan


def test_a_credential_the_page_did_not_offer_is_refused() -> None:
    query = parse_dcql_query(_query(None))
    plan = _plan("a", [["family_name"], ["given_name"], ["birthdate"]])
    options = consent_options(query, HELD, plan)
    with pytest.raises(PasserelleError) as caught:
        apply_choices(plan, options, query, HELD, chosen={"pid": "b"}, left_out={})  # type: ignore[arg-type]
    assert caught.value.reason is Reason.WALLET_HOLDER_DECLINED


def _certificate(**names: str) -> object:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    oids = {"O": NameOID.ORGANIZATION_NAME, "C": NameOID.COUNTRY_NAME, "CN": NameOID.COMMON_NAME}
    subject = x509.Name([x509.NameAttribute(oids[k], v) for k, v in names.items()])
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Access CA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


class _Verified:
    def __init__(self, *chain: object) -> None:
        self.certificate_chain = chain


def test_the_organisation_comes_from_the_verified_access_certificate() -> None:
    from passerelle.services.wallet.consent import verifier_identity

    leaf = _certificate(C="CA", O="Example Verifier", CN="verifier.example")
    who = verifier_identity(_Verified(leaf), "x509_san_dns:verifier.example")  # type: ignore[arg-type]
    assert who["organisation"] == "Example Verifier"
    assert who["country"] == "CA"
    assert who["certified_by"] == "Access CA"
    assert who["verified"] is True
    # No certificate (an unsigned request, or a DID): no name to vouch for.
    unsigned = verifier_identity(None, "redirect_uri:https://rp.example/cb")
    assert unsigned == {
        "client_id": "redirect_uri:https://rp.example/cb",
        "organisation": None,
        "verified": False,
    }
    # A certificate without an organisation names nobody either.
    nameless = verifier_identity(_Verified(_certificate(CN="x")), "x509_hash:abc")  # type: ignore[arg-type]
    assert nameless["verified"] is False
