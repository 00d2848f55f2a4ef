"""A synthetic conformance run with every kind of result, for the report tests.

Checks are built directly (not registered), so the reports are tested without any plan
and without a running stack. The HTTP exchange goes through the real recorder, against
an in-memory target, so redaction is the one the suite uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from passerelle.conformance import (
    Check,
    ErrorClass,
    Requirement,
    Result,
    Severity,
    Status,
    Suite,
    Target,
)
from passerelle.conformance._context import CheckContext, RecordingHttp
from passerelle.conformance._runner import Run
from passerelle.conformance.targets import Targets

STARTED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET_TOKEN = "s3cr3t-access-token-5f1c"
SECRET_CODE = "pre-auth-code-9d2e"
EVIDENCE_SECRET = "evidence-token-77aa"
SCRIPT = '<script>alert("owned")</script>'

NONCE = Requirement(
    spec="OpenID4VCI 1.0",
    section="§8.2",
    text="The Credential Issuer MUST reject a proof whose nonce it did not issue <&>.",
    link="https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#section-8.2",
)
META = Requirement(
    spec="OpenID4VCI 1.0",
    section="§12.2.2",
    text="The Credential Issuer SHOULD publish display metadata.",
    link="https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#section-12.2.2",
)
MATRIX = Requirement(
    spec="Passerelle recognition",
    section="§2",
    text="A verifier MUST accept a credential of a recognised foreign issuer within scope.",
    link="https://example.org/recognition#scope",
)


def _noop(ctx: CheckContext) -> None:
    return None


def make_check(
    id: str,
    plan: str,
    role: str,
    requirement: Requirement = NONCE,
    severity: Severity = Severity.REQUIRED,
) -> Check:
    return Check(
        id=id,
        title=f"title of {id}",
        plan=plan,
        role=role,
        requirement=requirement,
        severity=severity,
        run=_noop,
    )


def recorded_exchanges() -> list[dict[str, object]]:
    """One token request, recorded (and redacted) by the suite's own client."""

    def target(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"access_token": SECRET_TOKEN, "token_type": "Bearer", "c_nonce": "n-1"},
            headers={"set-cookie": f"session={SECRET_TOKEN}"},
        )

    http = RecordingHttp(timeout=5, transport=httpx.MockTransport(target))
    try:
        http.post(
            "https://issuer.example/token",
            headers={"Authorization": f"Bearer {SECRET_TOKEN}"},
            data={"grant_type": "pre-authorized_code", "pre-authorized_code": SECRET_CODE},
        )
        http.get(
            "https://issuer.example/credential?access_token=" + SECRET_TOKEN,
            headers={"Authorization": f"DPoP {SECRET_TOKEN}"},
        )
    finally:
        http.close()
    return http.exchanges


def _targets() -> Targets:
    targets = {
        "ca-issuer": Target("ca-issuer", "issuer", "ca", "http://127.0.0.1:8001"),
        "eu-issuer": Target("eu-issuer", "issuer", "eu-haip", "https://eu-issuer.example"),
        "ca-verifier": Target("ca-verifier", "verifier", "ca", "http://127.0.0.1:8003"),
        "eu-verifier": Target("eu-verifier", "verifier", "eu-haip", "https://eu-verifier.example"),
    }
    cells = (
        {"issuer": "eu-issuer", "configuration": "eu-pid-sd-jwt", "verifier": "ca-verifier"},
        {"issuer": "ca-issuer", "configuration": "ca-person-sd-jwt", "verifier": "eu-verifier"},
        {"issuer": "ca-issuer", "configuration": "attestation", "verifier": "eu-verifier"},
    )
    return Targets(
        suite=Suite(),
        targets=targets,
        cells=tuple({**c, "persona": "p", "claims": [], "expect": "accepted"} for c in cells),
        expected_failures=frozenset({"T-ISS-05@ca-issuer", "T-ISS-06"}),
        source="synthetic.yaml",
    )


TRACE = [
    {"step": "trust_list", "outcome": "passed", "reason": None, "detail": "lists fresh"},
    {"step": "issuer_key", "outcome": "passed", "reason": None, "detail": "x5c chain"},
    {"step": "recognition", "outcome": "passed", "reason": None, "detail": "EU→CA agreement"},
]


def sample_run() -> Run:
    """Per plan, and what the JUnit file must count for it:

    issuer (9 results): 2 failures (T-ISS-01@eu-issuer, T-ISS-06 expected but passed),
    1 error (T-ISS-04), 3 skipped (T-ISS-03, T-ISS-05@ca-issuer expected failure,
    T-ISS-07 profile), 3 passed (T-ISS-01@ca-issuer, T-ISS-02 warning, T-ISS-05@eu-issuer).
    verifier (2): all passed. cross-border (3): 1 failure.
    """
    iss = {n: make_check(f"T-ISS-0{n}", "issuer", "issuer") for n in (1, 3, 4, 5, 6, 7)}
    iss[2] = make_check("T-ISS-02", "issuer", "issuer", META, Severity.RECOMMENDED)
    ver = make_check("T-VER-01", "verifier", "verifier")
    xb = make_check("T-XB-01", "cross-border", "verifier", MATRIX)
    exchanges = recorded_exchanges()
    results = [
        Result(iss[1], "ca-issuer", Status.PASSED, duration_ms=120, exchanges=exchanges),
        Result(
            iss[1],
            "eu-issuer",
            Status.FAILED,
            message="the issuer accepted a proof with a nonce it never issued",
            error_class=ErrorClass.NON_CONFORMANCE,
            evidence={
                "nonce": SCRIPT,
                "status": 200,
                "access_token": EVIDENCE_SECRET,
                "note": f"sent Bearer {EVIDENCE_SECRET}",
                "tuple": ("a", "b"),
            },
            exchanges=exchanges,
            duration_ms=250,
        ),
        Result(iss[2], "ca-issuer", Status.WARNING, message="no display metadata"),
        Result(iss[3], "ca-issuer", Status.SKIPPED, message="no deferred_configuration"),
        Result(
            iss[4],
            "ca-issuer",
            Status.ERROR,
            message="POST https://x/token: connection refused",
            error_class=ErrorClass.NETWORK,
            retried=True,
        ),
        Result(
            iss[5],
            "ca-issuer",
            Status.FAILED,
            message="known bug #12",
            error_class=ErrorClass.NON_CONFORMANCE,
            expected_failure=True,
        ),
        Result(iss[5], "eu-issuer", Status.PASSED),
        Result(iss[6], "eu-issuer", Status.PASSED, expected_failure=True),
        Result(iss[7], "ca-issuer", Status.SKIPPED, message="applies to profiles ['eu-haip']"),
        Result(ver, "ca-verifier", Status.PASSED),
        Result(ver, "eu-verifier", Status.PASSED),
        Result(
            xb,
            "eu-issuer→ca-verifier:eu-pid-sd-jwt",
            Status.PASSED,
            evidence={"outcome": "accepted", "expected": "accepted", "trace": TRACE},
        ),
        Result(
            xb,
            "ca-issuer→eu-verifier:ca-person-sd-jwt",
            Status.FAILED,
            message="refused, expected accepted",
            error_class=ErrorClass.NON_CONFORMANCE,
            evidence={
                "outcome": "trust.issuer_not_listed",
                "expected": "accepted",
                "trace": {
                    "steps": [
                        *TRACE[:1],
                        {
                            "step": "issuer_key",
                            "outcome": "failed",
                            "reason": "trust.issuer_not_listed",
                            "detail": f"not on the list {SCRIPT}",
                        },
                        {
                            "step": "status",
                            "outcome": "failed",
                            "reason": "status.revoked",
                            "detail": "revoked",
                            "finding": True,
                            "note": "evaluated on unverified data",
                        },
                    ]
                },
            },
        ),
        Result(
            xb,
            "ca-issuer→eu-verifier:attestation",
            Status.PASSED,
            evidence={
                "outcome": "trust.recognition_out_of_scope",
                "expected": "trust.recognition_out_of_scope",
            },
        ),
    ]
    return Run(
        targets=_targets(),
        results=results,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=3, milliseconds=500),
        plans=("issuer", "verifier", "cross-border"),
    )
