"""The conformance reports, on a synthetic run: what each format carries and keeps out."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

import passerelle
from passerelle import oid4vci, oid4vp, sd_jwt_vc, trust
from passerelle.conformance import Requirement, Severity
from passerelle.conformance._context import REDACTED
from passerelle.conformance.reports import (
    FORMAT,
    render_html,
    spec_versions,
    to_json,
    write_html,
    write_json,
    write_junit,
)
from passerelle.conformance.requirements import UNCOVERED, requirements_markdown
from tests.conformance.sample_run import (
    EVIDENCE_SECRET,
    MATRIX,
    META,
    NONCE,
    SCRIPT,
    SECRET_CODE,
    SECRET_TOKEN,
    make_check,
    sample_run,
)

SECRETS = (SECRET_TOKEN, SECRET_CODE, EVIDENCE_SECRET)


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return to_json(sample_run())


# --- JSON --------------------------------------------------------------------------------


def test_json_round_trips(tmp_path: Path) -> None:
    run = sample_run()
    path = tmp_path / "nested" / "report.json"
    write_json(run, path)
    assert json.loads(path.read_text()) == to_json(run)


def test_json_carries_versions_and_targets(report: dict[str, object]) -> None:
    assert report["format"] == FORMAT
    assert report["passerelle_version"] == passerelle.__version__
    specs = report["spec_versions"]
    assert specs == spec_versions()
    assert isinstance(specs, dict)
    assert specs["oid4vci"] == oid4vci.SPEC_VERSION
    assert specs["oid4vp"] == oid4vp.SPEC_VERSION
    assert specs["sd_jwt_vc"] == sd_jwt_vc.SPEC_VERSION
    assert trust.TRQP_VERSION in specs["trqp"]
    assert report["started_at"] == "2026-11-23T12:00:00+00:00"
    assert report["finished_at"] == "2026-11-23T12:00:03.500000+00:00"
    assert report["duration_ms"] == 3500
    assert report["transport"] == "mixed"
    targets = report["targets"]
    assert isinstance(targets, dict)
    assert targets["ca-issuer"] == {
        "name": "ca-issuer",
        "role": "issuer",
        "profile": "ca",
        "url": "http://127.0.0.1:8001",
        "transport": "http",
    }
    assert targets["eu-verifier"]["transport"] == "https"


def test_json_summary_matches_the_run(report: dict[str, object]) -> None:
    run = sample_run()
    assert report["summary"] == run.counts()
    assert report["ok"] is False
    assert report["summary"] == {
        "passed": 7,
        "failed": 3,
        "warning": 1,
        "skipped": 2,
        "error": 1,
        # T-ISS-01@eu-issuer, T-ISS-04, T-ISS-06 (expected, passed), the matrix failure.
        "unexpected": 4,
        "expected_failures": 1,
    }


def _result(report: dict[str, object], check: str, subject: str) -> dict[str, object]:
    results = report["results"]
    assert isinstance(results, list)
    (found,) = [r for r in results if r["check_id"] == check and r["subject"] == subject]
    return found  # type: ignore[no-any-return]


def test_json_result_fields(report: dict[str, object]) -> None:
    failed = _result(report, "T-ISS-01", "eu-issuer")
    assert failed["title"] == "title of T-ISS-01"
    assert failed["plan"] == "issuer"
    assert failed["role"] == "issuer"
    assert failed["severity"] == "required"
    assert failed["status"] == "failed"
    assert failed["verdict"] == "failed"
    assert failed["error_class"] == "non-conformance"
    assert failed["message"] == "the issuer accepted a proof with a nonce it never issued"
    assert failed["expected_failure"] is False
    assert failed["unexpected"] is True
    assert failed["retried"] is False
    assert failed["duration_ms"] == 250
    assert failed["requirement"] == {
        "spec": NONCE.spec,
        "section": NONCE.section,
        "text": NONCE.text,
        "link": NONCE.link,
        "level": "MUST",
    }
    evidence = failed["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["nonce"] == SCRIPT
    assert evidence["tuple"] == ["a", "b"]
    assert evidence["access_token"] == REDACTED
    exchanges = failed["exchanges"]
    assert isinstance(exchanges, list)
    assert [x["method"] for x in exchanges] == ["POST", "GET"]
    assert exchanges[0]["status"] == 200

    error = _result(report, "T-ISS-04", "ca-issuer")
    assert (error["status"], error["error_class"], error["retried"]) == ("error", "network", True)
    warning = _result(report, "T-ISS-02", "ca-issuer")
    assert warning["severity"] == "recommended"
    assert warning["requirement"]["level"] == "SHOULD"  # type: ignore[index]
    xfail = _result(report, "T-ISS-05", "ca-issuer")
    assert (xfail["verdict"], xfail["expected_failure"], xfail["unexpected"]) == (
        "xfail",
        True,
        False,
    )
    xpass = _result(report, "T-ISS-06", "eu-issuer")
    assert (xpass["verdict"], xpass["unexpected"]) == ("xpass", True)


def test_json_matrix(report: dict[str, object]) -> None:
    matrix = report["matrix"]
    assert isinstance(matrix, list)
    cells = {c["subject"]: c for c in matrix}
    assert set(cells) == {
        "eu-issuer→ca-verifier:eu-pid-sd-jwt",
        "ca-issuer→eu-verifier:ca-person-sd-jwt",
        "ca-issuer→eu-verifier:attestation",
    }
    ok = cells["eu-issuer→ca-verifier:eu-pid-sd-jwt"]
    assert (ok["issuer"], ok["verifier"], ok["configuration"]) == (
        "eu-issuer",
        "ca-verifier",
        "eu-pid-sd-jwt",
    )
    assert (ok["verdict"], ok["outcome"], ok["expected"]) == ("passed", "accepted", "accepted")
    assert ok["trace"][0]["step"] == "trust_list"
    assert ok["checks"] == [
        {"check_id": "T-XB-01", "status": "passed", "verdict": "passed", "message": ""}
    ]
    bad = cells["ca-issuer→eu-verifier:ca-person-sd-jwt"]
    assert (bad["verdict"], bad["outcome"], bad["expected"]) == (
        "failed",
        "trust.issuer_not_listed",
        "accepted",
    )
    refusal = cells["ca-issuer→eu-verifier:attestation"]
    assert refusal["verdict"] == "passed"
    assert refusal["outcome"] == refusal["expected"] == "trust.recognition_out_of_scope"


def test_json_keeps_secrets_out(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_json(sample_run(), path)
    text = path.read_text()
    for secret in SECRETS:
        assert secret not in text
    assert REDACTED in text


# --- JUnit -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> JUnitXml:
    path = tmp_path_factory.mktemp("junit") / "report.xml"
    write_junit(sample_run(), path)
    return JUnitXml.fromfile(str(path))


def test_junit_suite_counts(junit: JUnitXml) -> None:
    suites = {s.name: s for s in junit}
    assert list(suites) == ["issuer", "verifier", "cross-border"]
    counts = {name: (s.tests, s.failures, s.errors, s.skipped) for name, s in suites.items()}
    assert counts == {
        "issuer": (9, 2, 1, 3),
        "verifier": (2, 0, 0, 0),
        "cross-border": (3, 1, 0, 0),
    }
    assert suites["issuer"].time == pytest.approx(0.37)
    properties = {p.name: p.value for p in suites["issuer"].properties()}  # type: ignore[no-untyped-call]
    assert properties["passerelle"] == passerelle.__version__
    assert properties["oid4vp"] == oid4vp.SPEC_VERSION
    # The parser's own recount agrees with what the file declares.
    for suite in junit:
        declared = (suite.tests, suite.failures, suite.errors, suite.skipped)
        suite.update_statistics()  # type: ignore[no-untyped-call]
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == declared


def _case(junit: JUnitXml, classname: str, check: str) -> object:
    for suite in junit:
        for case in suite:
            if case.classname == classname and case.name.startswith(check + " "):
                return case
    raise AssertionError(f"no testcase {classname} {check}")


def test_junit_testcase_mapping(junit: JUnitXml) -> None:
    failed = _case(junit, "issuer.eu-issuer", "T-ISS-01")
    (failure,) = failed.result  # type: ignore[attr-defined]
    assert isinstance(failure, Failure)
    assert failure.type == "non-conformance"
    assert failure.message == "the issuer accepted a proof with a nonce it never issued"
    assert NONCE.text in failure.text
    assert NONCE.link in failure.text
    assert failed.name == "T-ISS-01 title of T-ISS-01"  # type: ignore[attr-defined]
    assert failed.time == pytest.approx(0.25)  # type: ignore[attr-defined]

    (error,) = _case(junit, "issuer.ca-issuer", "T-ISS-04").result  # type: ignore[attr-defined]
    assert isinstance(error, Error)
    assert error.type == "network"

    (skipped,) = _case(junit, "issuer.ca-issuer", "T-ISS-03").result  # type: ignore[attr-defined]
    assert isinstance(skipped, Skipped)
    assert skipped.message == "no deferred_configuration"

    warning = _case(junit, "issuer.ca-issuer", "T-ISS-02")
    assert warning.is_passed  # type: ignore[attr-defined]
    assert "warning: no display metadata" in warning.system_out  # type: ignore[attr-defined]


def test_junit_expected_failures(junit: JUnitXml) -> None:
    (xfail,) = _case(junit, "issuer.ca-issuer", "T-ISS-05").result  # type: ignore[attr-defined]
    assert isinstance(xfail, Skipped)
    assert xfail.message == "expected failure: known bug #12"
    assert _case(junit, "issuer.eu-issuer", "T-ISS-05").is_passed  # type: ignore[attr-defined]

    (xpass,) = _case(junit, "issuer.eu-issuer", "T-ISS-06").result  # type: ignore[attr-defined]
    assert isinstance(xpass, Failure)
    assert xpass.message == "expected failure did not happen"


def test_junit_matrix_cells_are_testcases(junit: JUnitXml) -> None:
    case = _case(junit, "cross-border.ca-issuer→eu-verifier:ca-person-sd-jwt", "T-XB-01")
    (failure,) = case.result  # type: ignore[attr-defined]
    assert isinstance(failure, Failure)
    assert MATRIX.text in failure.text


def test_junit_keeps_secrets_out_and_survives_control_characters(tmp_path: Path) -> None:
    run = sample_run()
    run.results[1].message = "bad byte \x00\x1b in body"
    path = tmp_path / "report.xml"
    write_junit(run, path)
    text = path.read_text()
    for secret in SECRETS:
        assert secret not in text
    assert "\x00" not in text
    JUnitXml.fromfile(str(path))


# --- HTML --------------------------------------------------------------------------------


class _Page(HTMLParser):
    """Collects what the HTML tests ask about; also proves the page parses."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if values.get("href"):
            self.hrefs.append(str(values["href"]))
        if values.get("src"):
            self.srcs.append(str(values["src"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def page_html() -> str:
    return render_html(sample_run())


@pytest.fixture(scope="module")
def page(page_html: str) -> _Page:
    parsed = _Page()
    parsed.feed(page_html)
    parsed.close()
    return parsed


def test_html_is_self_contained(page_html: str, page: _Page) -> None:
    assert page_html.startswith("<!DOCTYPE html>")
    assert "script" not in page.tags
    assert "link" not in page.tags
    assert page.srcs == []
    assert "@import" not in page_html
    assert "url(" not in page_html
    # Links lead to the page itself or to the specs only.
    for href in page.hrefs:
        assert href.startswith("#") or href.startswith("https://"), href
        if href.startswith("#"):
            assert href[1:] in page.ids, href


def test_html_header(page_html: str) -> None:
    assert f"Passerelle</dt><dd>{passerelle.__version__}" in page_html
    for version in (oid4vci.SPEC_VERSION, oid4vp.SPEC_VERSION, f"TRQP v{trust.TRQP_VERSION}"):
        assert version in page_html
    assert "(editor&#x27;s copy" in page_html  # the SD-JWT VC version, escaped
    assert "4 unexpected results" in page_html
    assert "transport-mixed" in page_html
    assert "Plain HTTP is a development relaxation" in page_html


def test_html_shows_requirements_with_links(page_html: str) -> None:
    assert (
        "“The Credential Issuer MUST reject a proof whose nonce it did not issue &lt;&amp;&gt;.”"
        in page_html
    )
    assert f'<a href="{NONCE.link}">' in page_html
    assert f'<a href="{META.link}">' in page_html
    assert "OpenID4VCI 1.0, §8.2 · MUST" in page_html
    assert "<blockquote" in page_html


def test_html_escapes_evidence(page_html: str) -> None:
    assert SCRIPT not in page_html
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in page_html


def test_html_unexpected_list_comes_first(page_html: str) -> None:
    unexpected = page_html.index('id="unexpected"')
    assert unexpected < page_html.index('id="matrix"') < page_html.index('id="plan-issuer"')
    section = page_html[unexpected : page_html.index("</section>", unexpected)]
    for check in ("T-ISS-01", "T-ISS-04", "T-ISS-06", "T-XB-01"):
        assert check in section
    assert "T-ISS-05" not in section  # an expected failure is not unexpected
    assert "expected failure did not happen" in section


def test_html_matrix(page_html: str) -> None:
    start = page_html.index('<table class="matrix">')
    table = page_html[start : page_html.index("</table>", start)]
    head = table[: table.index("</thead>")]
    assert re.findall(r"<th>([a-z-]+)</th>", head) == ["ca-verifier", "eu-verifier"]
    assert table.count("<tr>") == 4  # the head and one row per issuer · configuration
    assert 'class="cell v-passed"' in table
    assert 'class="cell v-failed"' in table
    assert '<td class="empty">' in table  # eu-pid-sd-jwt was not shown to eu-verifier
    assert "✗ got trust.issuer_not_listed<br>expected accepted" in table
    assert "✓ trust.recognition_out_of_scope" in table
    assert "issuer_key: failed (trust.issuer_not_listed)" in table  # the trace, in the cell
    # A check after the refusing step is shown as a finding, with why it is only one.
    assert (
        "also found, not decided on: status: failed (status.revoked) — revoked "
        "[evaluated on unverified data]"
    ) in table
    assert 'title="trust_list: passed — lists fresh' in table  # and as a tooltip
    assert SCRIPT not in table


def test_html_plans_and_exchanges(page_html: str, page: _Page) -> None:
    for plan in ("issuer", "verifier", "cross-border"):
        assert f'id="plan-{plan}"' in page_html
    for check in ("T-ISS-01", "T-ISS-02", "T-ISS-07", "T-VER-01", "T-XB-01"):
        assert f'<code class="cid">{check}</code>' in page_html
    assert "POST https://issuer.example/token</code>" in page_html
    assert "HTTP 200" in page_html
    assert "grant_type=pre-authorized_code" in page_html
    assert "authorization" in page_html
    assert "no deferred_configuration" in page_html
    # Failures are open; passes are folded.
    assert re.search(r'<details class="result r-failed" id="[^"]+" open>', page_html)
    assert re.search(r'<details class="result r-passed" id="[^"]+">', page_html)


def test_html_keeps_secrets_out(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(sample_run(), path)
    text = path.read_text()
    for secret in SECRETS:
        assert secret not in text
    assert REDACTED in text
    assert f"Bearer {REDACTED}" in text


def test_reports_of_an_empty_run(tmp_path: Path) -> None:
    run = sample_run()
    run.results.clear()
    run.finished_at = None
    assert to_json(run)["ok"] is True
    html = render_html(run)
    assert "No unexpected failures" in html
    assert 'id="matrix"' not in html
    write_junit(run, tmp_path / "empty.xml")
    assert len(list(JUnitXml.fromfile(str(tmp_path / "empty.xml")))) == 3


# --- requirements.md ---------------------------------------------------------------------


def test_requirements_markdown_groups_by_spec() -> None:
    checks = [
        make_check("T-ISS-10", "issuer", "issuer", NONCE),
        make_check("T-ISS-2", "issuer", "issuer", NONCE, Severity.RECOMMENDED),
        make_check("T-ISS-3", "issuer", "issuer", META),
        make_check("T-XB-01", "cross-border", "verifier", MATRIX),
    ]
    text = requirements_markdown(checks, known=())
    assert text.index("## OpenID4VCI 1.0") < text.index("## Passerelle recognition")
    nonce = text.index("### §8.2 — MUST")
    assert nonce < text.index("### §12.2.2 — SHOULD")  # natural order of sections
    assert f"> {NONCE.text}" in text
    assert f"<{NONCE.link}>" in text
    block = text[nonce : text.index("###", nonce + 3)]
    assert block.index("`T-ISS-2`") < block.index("`T-ISS-10`")
    assert "| `T-ISS-2` | issuer | recommended | title of T-ISS-2 |" in block
    assert "3 normative requirements of 2 specifications with 4 checks" in text
    assert text.endswith("## Not yet covered\n\n" + _uncovered_intro() + "\n\nNone.\n")


def _uncovered_intro() -> str:
    text = requirements_markdown([], known=())
    start = text.index("## Not yet covered\n\n") + len("## Not yet covered\n\n")
    return text[start : text.index("\n\nNone.")]


def test_requirements_markdown_is_deterministic() -> None:
    checks = [
        make_check("T-ISS-3", "issuer", "issuer", META),
        make_check("T-ISS-1", "issuer", "issuer", NONCE),
        make_check("T-XB-01", "cross-border", "verifier", MATRIX),
    ]
    assert requirements_markdown(checks) == requirements_markdown(list(reversed(checks)))
    assert requirements_markdown(checks) == requirements_markdown(checks, known=UNCOVERED)


def test_requirements_not_yet_covered() -> None:
    text = requirements_markdown([])
    uncovered = text[text.index("## Not yet covered") :]
    for requirement in UNCOVERED:
        assert f"### {requirement.spec}" in uncovered
        assert f"> {requirement.text}" in uncovered
        assert f"<{requirement.link}>" in uncovered
    # A requirement leaves the list as soon as a check quotes it.
    first = UNCOVERED[0]
    covered = requirements_markdown([make_check("T-X-1", "issuer", "issuer", first)])
    assert f"> {first.text}" not in covered[covered.index("## Not yet covered") :]
    assert "`T-X-1`" in covered


def test_a_requirement_quoted_with_other_markup_is_covered() -> None:
    (quoted,) = [r for r in UNCOVERED if "`kb_jwt` MUST be present" in r.text]
    requote = Requirement(
        spec="RFC 9901",
        section="§8.1",
        text=quoted.text.replace("`", "").replace(" and the", "  and the"),
        link=quoted.link,
    )
    text = requirements_markdown([make_check("T-W-1", "wallet", "wallet", requote)])
    assert quoted.text not in text[text.index("## Not yet covered") :]


def test_uncovered_list_is_well_formed() -> None:
    assert len(set(UNCOVERED)) == len(UNCOVERED) >= 8
    for requirement in UNCOVERED:
        assert requirement.level in ("MUST", "MUST NOT", "SHALL", "REQUIRED"), requirement
        assert requirement.link.startswith("https://"), requirement
        assert "#" in requirement.link, requirement
        assert requirement.section
        assert requirement.spec
        assert "[@" not in requirement.text  # references as the rendered spec shows them
