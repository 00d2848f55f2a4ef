"""How many SD-JWT VC presentations per second the core verifies, as ratios.

One presentation = an issuer-signed SD-JWT VC with N disclosures (all disclosed) and a
KB-JWT, ES256 throughout. Four verifiers see the very same bytes, in one process:

* ``floor``  — the cryptographic floor: the two ES256 signature verifications, done
  with ``cryptography`` directly on the two signing inputs (DER signatures and public
  keys prepared beforehand). No verifier can do less and still be a verifier.
* ``ours``   — ``passerelle.sd_jwt.verify_sd_jwt`` with a ``KeyBindingCheck``.
* ``ours_vc``— ``passerelle.sd_jwt_vc.verify_sd_jwt_vc``: the above plus issuer-key
  discovery from JWT VC Issuer Metadata (a snapshot, as services pass it) and the
  SD-JWT VC claim rules.
* ``peer``   — the PyPI reference library ``sd-jwt`` 0.10.4 (an implementation nobody
  here wrote), with the expected ``aud`` and ``nonce``, so that it checks the KB-JWT.

Repetitions are interleaved (each round times every verifier once, in a rotating
order) so that drift of the machine hits all of them alike; each figure is the median
over rounds, and each ratio the median of the per-round ratios. Ratios are of time per
presentation: ``ours / floor = 2.0`` means our verifier takes twice the time of the two
signature checks alone. Keys are generated in the run; nothing private is written.

    python -m bench.bench_presentation            # measure, print, write results JSON
    python -m bench.bench_presentation --check    # ... and exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto.jwk import JWK  # type: ignore[import-untyped]
from sd_jwt.verifier import SDJWTVerifier

from passerelle._json import JsonObject
from passerelle.jose import KeySigner, public_jwk
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, present_sd_jwt, verify_sd_jwt
from passerelle.sd_jwt_vc import SD_JWT_VC_TYP, IssuerKeyPolicy, issue_sd_jwt_vc, verify_sd_jwt_vc
from passerelle.services.runtime import SecretsRandom

__all__ = ["TARGETS", "main", "measure"]

RESULTS = Path(__file__).resolve().parent / "results" / "presentation.json"
DISCLOSURES = (4, 16, 64)
VERIFIERS = ("floor", "ours", "ours_vc", "peer")

ISSUER = "https://issuer.bench.example"
VCT = "https://credentials.bench.example/person/v1"
NONCE = "bench-nonce-5f1c2a"
AUDIENCE = "x509_hash:bench-verifier"
ALGORITHMS = ("ES256",)


@dataclass(frozen=True, slots=True)
class Target:
    """A limit on one measured figure (lower is better for all of them)."""

    name: str
    metric: str
    limit: float
    why: str


TARGETS = (
    Target(
        "ours_vs_floor_16",
        "ratios.16.ours_over_floor",
        3.0,
        "parsing, 16 disclosure hashes and the claim checks cost at most twice the two "
        "signature checks (DESIGN §8: everything else a small fraction of the floor)",
    ),
    Target(
        "ours_vc_vs_floor_16",
        "ratios.16.ours_vc_over_floor",
        3.5,
        "issuer-key discovery from a metadata snapshot and the SD-JWT VC rules add little",
    ),
    Target(
        "ours_vs_peer_16",
        "ratios.16.ours_over_peer",
        1.0,
        "no slower than the reference library, which checks less (no typ, exp or iat)",
    ),
    Target(
        "ours_growth_64_vs_4",
        "growth.64_vs_4.ours",
        2.5,
        "sixteen times the disclosures costs far less than sixteen times the time: "
        "the per-disclosure work stays small next to the two signatures",
    ),
)


# --- the presentation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One presentation and everything each verifier needs, prepared outside the timing."""

    disclosures: int
    token: str
    now: datetime
    issuer_key: ec.EllipticCurvePublicKey
    holder_key: ec.EllipticCurvePublicKey
    policy: IssuerKeyPolicy
    check: KeyBindingCheck
    peer_issuer_key: Any
    # The floor's inputs: (signing input, DER signature) of the issuer JWT and the KB-JWT.
    signed: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _signed_parts(jws: str) -> tuple[bytes, bytes]:
    """Signing input and DER signature of a compact ES256 JWS, for ``cryptography``."""
    header, payload, signature = jws.split(".")
    raw = _b64url(signature)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    return f"{header}.{payload}".encode("ascii"), encode_dss_signature(r, s)


def make_case(disclosures: int, *, now: datetime) -> Case:
    issuer = ec.generate_private_key(ec.SECP256R1())
    holder = ec.generate_private_key(ec.SECP256R1())
    claims: JsonObject = {
        f"claim_{i:02d}": f"value number {i} of the bench credential" for i in range(disclosures)
    }
    token = issue_sd_jwt_vc(
        claims,
        vct=VCT,
        issuer=ISSUER,
        signer=KeySigner(issuer),
        random=SecretsRandom(),
        now=now - timedelta(minutes=1),
        disclosable=[(name,) for name in claims],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
    )
    shown = present_sd_jwt(
        token,
        disclose=[(name,) for name in claims],
        key_binding=KeyBindingInput(
            signer=KeySigner(holder), nonce=NONCE, audience=AUDIENCE, now=now
        ),
    )
    parts = shown.split("~")
    assert len(parts) == disclosures + 2, "every disclosure must be in the presentation"
    issuer_jwk = public_jwk(issuer.public_key())
    return Case(
        disclosures=disclosures,
        token=shown,
        now=now,
        issuer_key=issuer.public_key(),
        holder_key=holder.public_key(),
        policy=IssuerKeyPolicy(
            issuer_metadata={ISSUER: {"issuer": ISSUER, "jwks": {"keys": [issuer_jwk]}}}
        ),
        check=KeyBindingCheck(nonce=NONCE, audience=AUDIENCE, max_age=timedelta(minutes=10)),
        peer_issuer_key=JWK.from_json(json.dumps(issuer_jwk)),
        signed=(_signed_parts(parts[0]), _signed_parts(parts[-1])),
    )


# --- the verifiers ----------------------------------------------------------------------

_ECDSA = ec.ECDSA(hashes.SHA256())


def verify_floor(case: Case, token: str) -> None:
    # ``token`` is unused on purpose: the floor works on bytes split out beforehand.
    (issuer_input, issuer_sig), (kb_input, kb_sig) = case.signed
    case.issuer_key.verify(issuer_sig, issuer_input, _ECDSA)
    case.holder_key.verify(kb_sig, kb_input, _ECDSA)


def verify_ours(case: Case, token: str) -> JsonObject:
    verified = verify_sd_jwt(
        token,
        issuer_key=case.issuer_key,
        algorithms=ALGORITHMS,
        now=case.now,
        typ=SD_JWT_VC_TYP,
        key_binding=case.check,
    )
    return verified.claims


def verify_ours_vc(case: Case, token: str) -> JsonObject:
    verified = verify_sd_jwt_vc(
        token, keys=case.policy, algorithms=ALGORITHMS, now=case.now, key_binding=case.check
    )
    return verified.claims


def verify_peer(case: Case, token: str) -> JsonObject:
    verifier = SDJWTVerifier(
        token,
        lambda _iss, _header: case.peer_issuer_key,
        expected_aud=AUDIENCE,
        expected_nonce=NONCE,
        serialization_format="compact",
    )
    claims: JsonObject = verifier.get_verified_payload()
    return claims


VERIFY: dict[str, Callable[[Case, str], object]] = {
    "floor": verify_floor,
    "ours": verify_ours,
    "ours_vc": verify_ours_vc,
    "peer": verify_peer,
}


def _tampered(token: str) -> str:
    """The presentation with one character of the KB-JWT signature changed."""
    head, _, kb = token.rpartition("~")
    jwt_head, _, signature = kb.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}~{jwt_head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def sanity_check(case: Case) -> None:
    """Before timing anything: every verifier accepts the presentation, the three real
    ones reveal the same claims, and each refuses a bad KB-JWT signature — so that no
    verifier is timed while skipping the work."""
    wanted = {f"claim_{i:02d}" for i in range(case.disclosures)}
    for name in ("ours", "ours_vc", "peer"):
        claims = VERIFY[name](case, case.token)
        assert isinstance(claims, dict)
        shown = {k for k in claims if k.startswith("claim_")}
        if shown != wanted:
            raise SystemExit(f"{name} revealed {len(shown)} claims, expected {len(wanted)}")
    verify_floor(case, case.token)
    bad = _tampered(case.token)
    for name in ("ours", "ours_vc", "peer"):
        try:
            VERIFY[name](case, bad)
        except Exception:  # noqa: S112 - any refusal will do; acceptance is the failure
            continue
        raise SystemExit(f"{name} accepted a presentation with a broken KB-JWT signature")
    bad_floor = replace(case, signed=(case.signed[0], _signed_parts(bad.rpartition("~")[2])))
    try:
        verify_floor(bad_floor, bad)
    except InvalidSignature:
        return
    raise SystemExit("the floor accepted a broken KB-JWT signature")


# --- timing -----------------------------------------------------------------------------


def _time_batch(fn: Callable[[Case, str], object], case: Case, iterations: int) -> float:
    """Seconds per call over one batch, the collector off as in ``timeit``."""
    token = case.token
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        for _ in range(iterations):
            fn(case, token)
        elapsed = time.perf_counter() - started
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / iterations


def _iterations(fn: Callable[[Case, str], object], case: Case, batch_seconds: float) -> int:
    """How many calls fill a batch of about ``batch_seconds``."""
    n = 1
    while True:
        per_call = _time_batch(fn, case, n)
        if per_call * n >= batch_seconds / 4 or n >= 1 << 16:
            return max(1, round(batch_seconds / per_call))
        n *= 4


def measure(
    *, disclosures: Sequence[int], rounds: int, batch_seconds: float, quick: bool
) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    cases = {n: make_case(n, now=now) for n in disclosures}
    for case in cases.values():
        sanity_check(case)
    iterations = {
        (n, name): 1 if quick else _iterations(VERIFY[name], case, batch_seconds)
        for n, case in cases.items()
        for name in VERIFIERS
    }
    per_round: dict[int, dict[str, list[float]]] = {n: {v: [] for v in VERIFIERS} for n in cases}
    sizes = tuple(cases)
    # Every round times every (N, verifier) pair once, so that a change in the machine's
    # load hits the ratios within a round alike, across verifiers and across N. The
    # orders rotate so that no batch always runs right after the same one.
    for r in range(rounds):
        for n in _rotated(sizes, r):
            for name in _rotated(VERIFIERS, r):
                sample = _time_batch(VERIFY[name], cases[n], iterations[(n, name)])
                per_round[n][name].append(sample)
    return _summarise(cases, per_round, rounds=rounds, quick=quick, batch_seconds=batch_seconds)


def _rotated(items: tuple[Any, ...], by: int) -> tuple[Any, ...]:
    k = by % len(items)
    return items[k:] + items[:k]


def _median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def _summarise(
    cases: dict[int, Case],
    per_round: dict[int, dict[str, list[float]]],
    *,
    rounds: int,
    quick: bool,
    batch_seconds: float,
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    ratios: dict[str, dict[str, float]] = {}
    for n, samples in per_round.items():
        median_us = {name: statistics.median(s) * 1e6 for name, s in samples.items()}
        row_ratios = {
            "ours_over_floor": _median_ratio(samples["ours"], samples["floor"]),
            "ours_vc_over_floor": _median_ratio(samples["ours_vc"], samples["floor"]),
            "peer_over_floor": _median_ratio(samples["peer"], samples["floor"]),
            "ours_over_peer": _median_ratio(samples["ours"], samples["peer"]),
            "ours_vc_over_peer": _median_ratio(samples["ours_vc"], samples["peer"]),
        }
        ratios[str(n)] = row_ratios
        results.append(
            {
                "disclosures": n,
                "presentation_bytes": len(cases[n].token.encode("ascii")),
                "median_us": {k: round(v, 2) for k, v in median_us.items()},
                "per_second": {k: round(1e6 / v, 1) for k, v in median_us.items()},
                "ratios": {k: round(v, 3) for k, v in row_ratios.items()},
            }
        )
    growth: dict[str, Any] = {}
    lo, hi = min(per_round), max(per_round)
    if lo != hi:
        a, b = per_round[lo], per_round[hi]
        growth = {
            "from": lo,
            "to": hi,
            "ratio": {name: round(_median_ratio(b[name], a[name]), 3) for name in VERIFIERS},
            # The marginal cost of one more disclosure, next to one signature check.
            "per_disclosure_us": {
                name: round(
                    statistics.median(y - x for x, y in zip(a[name], b[name], strict=True))
                    * 1e6
                    / (hi - lo),
                    2,
                )
                for name in VERIFIERS
            },
            "floor_per_signature_us": round(
                statistics.median(a["floor"] + b["floor"]) * 1e6 / 2, 2
            ),
        }
    report: dict[str, Any] = {
        "bench": "presentation",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "disclosures": sorted(per_round),
            "rounds": rounds,
            "quick": quick,
            "batch_seconds": batch_seconds,
            "algorithm": "ES256",
            "ratio": "time per presentation, median of per-round ratios",
        },
        "verifiers": {
            "floor": "2 ES256 verifications with cryptography on the same bytes",
            "ours": "passerelle.sd_jwt.verify_sd_jwt with KeyBindingCheck",
            "ours_vc": "passerelle.sd_jwt_vc.verify_sd_jwt_vc (issuer metadata snapshot)",
            "peer": "PyPI sd-jwt 0.10.4 SDJWTVerifier with expected aud and nonce",
        },
        "results": results,
        "growth": growth,
    }
    growth_figures = {f"{hi}_vs_{lo}": growth["ratio"]} if growth else {}
    report["targets"] = evaluate_targets({"ratios": ratios, "growth": growth_figures})
    report["ok"] = all(t["met"] is not False for t in report["targets"])
    return report


def _lookup(figures: dict[str, Any], metric: str) -> float | None:
    value: Any = figures
    for step in metric.split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return float(value)


def evaluate_targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value; ``met`` is None when the run did not
    measure that figure (e.g. a run without 16 disclosures)."""
    out: list[dict[str, Any]] = []
    for target in TARGETS:
        value = _lookup(figures, target.metric)
        out.append(
            {
                "name": target.name,
                "metric": target.metric,
                "limit": target.limit,
                "value": None if value is None else round(value, 3),
                "met": None if value is None else value <= target.limit,
                "why": target.why,
            }
        )
    return out


def machine() -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "cryptography": version("cryptography"),
        "sd-jwt": version("sd-jwt"),
        "jwcrypto": version("jwcrypto"),
    }


# --- output -----------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{'N':>3} {'bytes':>6} | "
        + " ".join(f"{name + ' µs':>11}" for name in VERIFIERS)
        + f" | {'ours/floor':>10} {'vc/floor':>8} {'ours/peer':>9} | {'ours /s':>8}",
    ]
    for row in report["results"]:
        us, ratios = row["median_us"], row["ratios"]
        lines.append(
            f"{row['disclosures']:>3} {row['presentation_bytes']:>6} | "
            + " ".join(f"{us[name]:>11.1f}" for name in VERIFIERS)
            + f" | {ratios['ours_over_floor']:>10.2f} {ratios['ours_vc_over_floor']:>8.2f}"
            f" {ratios['ours_over_peer']:>9.2f} | {row['per_second']['ours']:>8.0f}"
        )
    growth = report["growth"]
    if growth:
        lines.append(
            f"growth {growth['to']} vs {growth['from']} disclosures: "
            + ", ".join(f"{name} ×{growth['ratio'][name]:.2f}" for name in VERIFIERS)
        )
        lines.append(
            "per extra disclosure: "
            + ", ".join(f"{n} {growth['per_disclosure_us'][n]:.1f} µs" for n in VERIFIERS)
            + f" (one ES256 verification: {growth['floor_per_signature_us']:.1f} µs)"
        )
    if report["settings"]["quick"]:
        lines.append("quick mode: one call a batch, the figures only show the plumbing works")
    for t in report["targets"]:
        mark = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        value = "—" if t["value"] is None else f"{t['value']:.2f}"
        lines.append(f"target {t['name']}: {value} ≤ {t['limit']} … {mark}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_presentation",
        description="SD-JWT VC presentations verified per second, as ratios.",
    )
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (median)")
    parser.add_argument(
        "--batch-seconds", type=float, default=0.025, help="length of one timed batch"
    )
    parser.add_argument(
        "--disclosures", type=int, nargs="+", default=list(DISCLOSURES), help="values of N"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one call per batch: checks the plumbing only"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.rounds < 1 or any(n < 1 for n in args.disclosures):
        parser.error("--rounds and --disclosures must be positive")
    report = measure(
        disclosures=sorted(set(args.disclosures)),
        rounds=args.rounds,
        batch_seconds=args.batch_seconds,
        quick=args.quick,
    )
    print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.check and not report["ok"]:
        print("a target was missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
