"""Data minimisation, for every credential type of the catalogue: the wallet's DCQL
match and presentation reveal exactly the requested claims, nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.catalog import resolve_type_metadata
from passerelle.dcql import CandidateCredential, match_dcql, parse_dcql_query
from passerelle.jose import KeySigner
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, present_sd_jwt, verify_sd_jwt
from passerelle.sd_jwt_vc import NEVER_DISCLOSABLE, disclosable_paths, issue_sd_jwt_vc
from passerelle.services.catalog import load_catalog
from tests.conftest import NOW, SeededRandom

CATALOG = load_catalog()
TYPES = [t for t in CATALOG.types.values() if t.samples]


@pytest.mark.parametrize("ctype", TYPES, ids=[t.id for t in TYPES])
def test_only_the_requested_claims_are_disclosed(ctype) -> None:  # type: ignore[no-untyped-def]
    issuer, holder = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    sample = next(iter(ctype.samples.values()))
    claims = {k: v for k, v in sample.items() if k not in NEVER_DISCLOSABLE | {"iat"}}
    resolved = resolve_type_metadata(ctype.vct, documents=CATALOG.type_metadata_documents)
    disclosable = disclosable_paths(resolved, claims)
    token = issue_sd_jwt_vc(
        claims, vct=ctype.vct, signer=KeySigner(issuer), random=SeededRandom(), now=NOW,
        disclosable=disclosable, holder_key=holder.public_key(), valid_for=timedelta(days=1),
    )  # fmt: skip
    # Ask for two claims the type makes selectively disclosable, neither inside the other
    # (a conformity attestation is public but for whom it was issued to: leaves of that).
    wanted: list[tuple] = []  # type: ignore[type-arg]
    for path in sorted(disclosable, key=lambda p: -len(p)):  # leaves first
        if None not in path and not any(
            path[: len(w)] == w or w[: len(path)] == path for w in wanted
        ):
            wanted.append(path)
    wanted = wanted[:2]
    assert len(wanted) == 2, f"{ctype.id} has fewer than two disclosable claims"
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [ctype.vct]},
                    "claims": [{"path": list(p)} for p in wanted],
                }
            ]
        }
    )
    candidate = CandidateCredential(
        credential_id="c", format="dc+sd-jwt", claims=claims, vct=ctype.vct
    )
    match = match_dcql(query, [candidate])
    chosen = match.credentials["q"][0]
    assert set(chosen.disclose) == set(wanted)
    binding = KeyBindingInput(signer=KeySigner(holder), nonce="n", audience="a", now=NOW)
    shown = present_sd_jwt(token, disclose=chosen.disclose, key_binding=binding)
    verified = verify_sd_jwt(
        shown, issuer_key=issuer.public_key(), algorithms=["ES256"], now=NOW,
        key_binding=KeyBindingCheck(nonce="n", audience="a"),
    )  # fmt: skip
    revealed = {r.path for r in verified.revealed}
    allowed = {w[:i] for w in wanted for i in range(1, len(w) + 1)}  # each path and its parents
    assert revealed <= allowed, revealed - allowed
    assert set(wanted) <= revealed
    # Some other disclosable claim existed, and it stayed hidden.
    others = [p for p in disclosable if None not in p and p not in allowed]
    assert others
    assert all(p not in revealed for p in others)
