"""The OpenID Foundation coverage table of docs/conformance.md is the one the registry
renders, and the registry names only modules the OIDF plans have."""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle.conformance import select_checks
from passerelle.conformance.oidf import BEGIN, END, MODULES, coverage_markdown, update_document

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"

# The modules the issue found missing although Passerelle has their feature.
ONCE_MISSING = (
    "oid4vci-1_0-issuer-happy-flow-additional-requests",
    "oid4vci-1_0-issuer-fail-on-access-token-in-query",
    "oid4vci-1_0-issuer-fail-unknown-credential-identifier",
    "oid4vp-1final-verifier-minimal-cnf-jwk",
    "oid4vp-1final-verifier-request-uri-fetched-twice",
    "oid4vp-1final-wallet-negative-test-unknown-transaction-data-type",
    "oid4vp-1final-wallet-negative-test-redirect-uri-with-direct-post",
    "oid4vp-1final-wallet-negative-test-mismatched-client-id",
    "oid4vp-1final-wallet-negative-test-required-non-matching-credential",
    "oid4vp-1final-wallet-ignores-unusable-encryption-key",
    "oid4vp-1final-wallet-optional-credential-set",
    "oid4vp-1final-wallet-negative-test-invalid-client-id-prefix",
    "oid4vp-1final-wallet-no-claims-in-dcql-query",
    "oid4vp-1final-wallet-alternate-happy-flow",
    "oid4vci-1_0-wallet-test-credential-issuance",
    "oid4vci-1_0-wallet-test-batch-credential-issuance",
    "oid4vci-1_0-wallet-test-credential-issuance-notification",
)


def test_the_committed_table_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert update_document(text, select_checks()) == text, (
        "docs/conformance.md is out of date: run "
        "`python -m passerelle.conformance.oidf docs/conformance.md`"
    )


def test_every_module_is_listed_once_and_every_gap_says_why() -> None:
    names = [m.name for m in MODULES]
    assert len(names) == len(set(names))
    assert len([m for m in MODULES if not m.package.endswith("-fapi2")]) == 55
    covered = {name for c in select_checks() for name in c.oidf}
    assert covered <= set(names)
    for m in MODULES:
        assert m.name in covered or m.why, m.name


def test_at_least_fifteen_of_the_seventeen_once_missing_modules_are_covered() -> None:
    covered = {name for c in select_checks() for name in c.oidf}
    assert set(ONCE_MISSING) <= {m.name for m in MODULES if m.applies}
    assert len(set(ONCE_MISSING) & covered) >= 15, sorted(set(ONCE_MISSING) - covered)


# The authorization-code path the issue found missing (FAPI 2.0 modules of the HAIP
# issuer plan); only the expired request_uri, which waits out its lifetime, is not run.
AUTHORIZATION_CODE_PATH = tuple(
    f"fapi2-security-profile-final-{name}"
    for name in (
        "par-ensure-pkce-required",
        "par-plain-pkce-rejected",
        "incorrect-pkce-code-verifier-rejected",
        "ensure-pkce-code-verifier-required",
        "attempt-reuse-authorization-code-after-one-second",
        "ensure-authorization-code-is-bound-to-client",
        "par-attempt-reuse-request_uri",
        "par-attempt-to-use-request_uri-for-different-client",
    )
)


def test_the_authorization_code_path_is_covered() -> None:
    covered = {name for c in select_checks() for name in c.oidf}
    assert set(AUTHORIZATION_CODE_PATH) <= covered, sorted(set(AUTHORIZATION_CODE_PATH) - covered)
    expired = "fapi2-security-profile-final-par-attempt-to-use-expired-request_uri"
    assert expired not in covered
    assert next(m for m in MODULES if m.name == expired).why


def test_an_unknown_module_name_is_refused() -> None:
    from dataclasses import replace

    check = select_checks(ids=["VER-KB-02"])[0]
    with pytest.raises(ValueError, match="unknown OIDF module"):
        coverage_markdown([replace(check, oidf=("oid4vp-no-such-module",))])


def test_the_table_sits_between_its_markers() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) : text.index(END)]
    assert "| `oid4vp-1final-verifier-invalid-credential-signature` | VER-CRED-05 |" in section
