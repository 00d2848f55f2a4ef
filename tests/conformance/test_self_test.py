"""The suite is tested too (DESIGN §7): every quirk of every mock service is caught by
the checks that claim it and by nothing else, and the clean stack passes every
required check."""

from __future__ import annotations

import enum
import shutil
from pathlib import Path

import pytest

from passerelle.conformance import CHECKS, PLANS, Status, run_checks, select_checks
from passerelle.conformance._local import local_targets, prepare_data_dir
from passerelle.services.dataspace.quirks import ConnectorQuirk
from passerelle.services.issuer.quirks import IssuerQuirk
from passerelle.services.launcher import ROLES, start_stack
from passerelle.services.trust.quirks import TrustQuirk
from passerelle.services.verifier.quirks import VerifierQuirk
from passerelle.services.wallet.quirks import WalletQuirk

# A quirk is switched on in every service of its kind; the plans run are those testing
# that kind's role. The names are the prefixes of `Check.catches`.
KINDS: dict[str, tuple[type[enum.StrEnum], tuple[str, ...], str]] = {
    "issuer": (IssuerQuirk, ("ca-issuer", "eu-issuer"), "issuer"),
    "verifier": (VerifierQuirk, ("ca-verifier", "eu-verifier"), "verifier"),
    "wallet": (WalletQuirk, ("wallet",), "wallet"),
    "trust": (TrustQuirk, ("trust",), "trust-list"),
    "dataspace": (ConnectorQuirk, ("ca-dataspace", "eu-dataspace"), "connector"),
}
QUIRKS = [(kind, quirk.value) for kind, (enum_, _, _) in KINDS.items() for quirk in enum_]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One development PKI and set of signed lists, copied for each stack."""
    base = tmp_path_factory.mktemp("conformance-pki")
    return base, prepare_data_dir(base)


@pytest.fixture
def fresh_dir(prepared: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    target = tmp_path / "data"
    shutil.copytree(prepared[0], target)
    return target, prepared[1]


def test_every_quirk_is_claimed_by_a_check() -> None:
    select_checks()
    claimed = {q for c in CHECKS.values() for q in c.catches}
    every = {f"{kind}:{quirk}" for kind, quirk in QUIRKS}
    assert every - claimed == set(), "quirks no check claims to catch"
    assert claimed - every == set(), "checks claim quirks that do not exist"


def test_the_suite_has_sixty_checks_with_requirements() -> None:
    checks = select_checks()
    assert len(checks) >= 60
    for c in checks:
        assert c.requirement.text, c.id
        assert c.requirement.link.startswith("https://"), c.id
        assert c.requirement.level != "MAY" or c.severity.value == "recommended", c.id


@pytest.mark.parametrize(("kind", "quirk"), QUIRKS, ids=[f"{k}:{q}" for k, q in QUIRKS])
def test_quirk_is_caught_by_its_checks_and_nothing_else(
    kind: str, quirk: str, fresh_dir: tuple[Path, dict[str, str]]
) -> None:
    data_dir, hosts = fresh_dir
    _, services, role = KINDS[kind]
    stack = start_stack(
        data_dir=data_dir,
        hosts=hosts,
        roles=ROLES,
        quirks={service: [quirk] for service in services},
    )
    try:
        plans = [name for name, plan in PLANS.items() if plan.role == role]
        checks = select_checks(plans)
        run = run_checks(local_targets(stack.urls, data_dir), checks)
    finally:
        stack.stop()
    claim = f"{kind}:{quirk}"
    catching = {c.id for c in checks if claim in c.catches}
    # A recommended check catches its quirk with a warning (a SHOULD broken); a warning
    # elsewhere is no catch, and a failure elsewhere is a false accusation.
    failed = {
        r.check.id
        for r in run.results
        if r.status is Status.FAILED or (r.status is Status.WARNING and r.check.id in catching)
    }
    errors = [(r.check.id, r.subject, r.message) for r in run.results if r.status is Status.ERROR]
    assert errors == []
    assert catching, f"no check of plans {plans} claims {claim}"
    assert failed == catching, {
        "not caught": sorted(catching - failed),
        "failed but not claimed": sorted(failed - catching),
    }


def test_the_recommended_checks_that_catch_quirks_are_quiet_on_the_clean_stack(
    fresh_dir: tuple[Path, dict[str, str]],
) -> None:
    """A recommended check catches its quirk with a warning or a failure; it is only a
    catch if the clean stack gets neither."""
    checks = [c for c in select_checks() if c.catches and c.severity.value == "recommended"]
    assert {"ISS-CRED-14", "VER-REQ-11", "VER-RESP-05", "WAL-24", "WAL-32"} <= {
        c.id for c in checks
    }
    data_dir, hosts = fresh_dir
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        run = run_checks(local_targets(stack.urls, data_dir), checks)
    finally:
        stack.stop()
    loud = [
        (r.check.id, r.subject, r.status.value, r.message)
        for r in run.results
        if r.status in (Status.FAILED, Status.WARNING, Status.ERROR)
    ]
    assert loud == []
    assert {r.check.id for r in run.results if r.status is Status.PASSED} >= {
        "ISS-CRED-14",
        "VER-REQ-11",
        "VER-RESP-05",
        "WAL-24",
        "WAL-32",
    }


def test_the_committed_requirement_matrix_is_the_generated_one() -> None:
    from passerelle.conformance.requirements import render_registry

    committed = Path(__file__).resolve().parents[2] / "docs" / "requirements.md"
    assert committed.read_text(encoding="utf-8") == render_registry(), (
        "docs/requirements.md is out of date: run `passerelle conformance requirements "
        "--output docs/requirements.md`"
    )
