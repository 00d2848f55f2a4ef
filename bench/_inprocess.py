"""In-process figures: the full decision and the bare check against the ES256 floor and
two peers on the same bytes, and the cost curves that need no HTTP (disclosures, EU
list entities, registry records, status list size)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError
from passerelle.decision import decide_credential
from passerelle.jose import decode_unverified_jws
from passerelle.sd_jwt import verify_sd_jwt
from passerelle.sd_jwt_vc import SD_JWT_VC_TYP
from passerelle.status_list import StatusValue, create_status_list, create_status_list_token
from passerelle.trust import TrustSnapshot, sign_registry_snapshot, verify_registry_snapshot
from passerelle.trust._lote import sign_lote
from passerelle.x509 import build_ca_certificate, build_name, certificate_to_der

from ._timing import interleave, median_ratio
from ._world import NONCE, Presentation, World, b64url_bytes, signed_parts

__all__ = ["core", "disclosure_curve", "eu_list_curve", "registry_curve", "status_curve"]

ROOT = Path(__file__).resolve().parents[1]
_ECDSA = ec.ECDSA(hashes.SHA256())


def _floor(world: World, token: str) -> Callable[[], None]:
    parts = token.split("~")
    (issuer_input, issuer_sig), (kb_input, kb_sig) = signed_parts(parts[0]), signed_parts(parts[-1])
    holder = decode_unverified_jws(parts[0]).payload_json()["cnf"]["jwk"]  # type: ignore[index]
    from passerelle.jose import load_public_jwk

    holder_key = load_public_jwk(holder)  # type: ignore[arg-type]
    issuer_key = world.issuer_key
    assert isinstance(holder_key, ec.EllipticCurvePublicKey)

    def floor() -> None:
        issuer_key.verify(issuer_sig, issuer_input, _ECDSA)
        holder_key.verify(kb_sig, kb_input, _ECDSA)

    return floor


def _node_peer(request: dict[str, Any]) -> dict[str, Any] | None:
    node = shutil.which("node")
    peers = Path(os.environ.get("BENCH_NODE_PEERS", ROOT / "tests" / "interop"))
    if node is None or not (peers / "node_modules").is_dir():
        return None
    completed = subprocess.run(
        [node, str(ROOT / "bench" / "sd_jwt_vc_peer.mjs")],
        input=json.dumps(request),
        env={**os.environ, "BENCH_NODE_PEERS": str(peers)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"@sd-jwt/sd-jwt-vc peer failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def _decider(world: World, shown: Presentation, snapshot: TrustSnapshot) -> Callable[[], None]:
    """The full decision the Canadian verifier makes on ``shown`` with ``snapshot``, as
    a call to time; it stops the bench if the decision is not an acceptance."""
    policy, check = world.policy(), world.check(shown.audience)
    schemas, type_metadata = world.decision_catalog()

    def decide() -> None:
        decision = decide_credential(
            shown.token,
            format="dc+sd-jwt",
            trust=snapshot,
            policy=policy,
            now=world.now,
            status_lists={shown.status_uri: shown.status},
            key_binding=check,
            schemas=schemas,
            type_metadata=type_metadata,
        )
        if not decision.accepted:
            raise SystemExit(f"the bench decision refused: {decision.as_dict()}")

    return decide


def core(world: World, *, rounds: int, batch_seconds: float, quick: bool) -> dict[str, Any]:
    """decide_credential and verify_sd_jwt against the floor and both peers, one PID."""
    from jwcrypto.jwk import JWK  # type: ignore[import-untyped]
    from sd_jwt.verifier import SDJWTVerifier

    shown = world.pid_presentation()
    check = world.check(shown.audience)
    peer_key = JWK.from_json(json.dumps(world.issuer_jwk))
    decide = _decider(world, shown, world.snapshot())

    # Read from its certificate once, as the floor does: the bare check is timed, not
    # the bench's way to the key.
    issuer_key = world.issuer_key

    def bare() -> None:
        verify_sd_jwt(
            shown.token,
            issuer_key=issuer_key,
            algorithms=("ES256",),
            now=world.now,
            typ=SD_JWT_VC_TYP,
            key_binding=check,
        )

    def peer_py() -> None:
        SDJWTVerifier(
            shown.token,
            lambda _iss, _header: peer_key,
            expected_aud=shown.audience,
            expected_nonce=NONCE,
            serialization_format="compact",
        ).get_verified_payload()

    candidates = {"floor": _floor(world, shown.token), "decide": decide, "bare": bare}
    candidates["peer_sd_jwt"] = peer_py
    # Every candidate must accept before anything is timed (each raises otherwise).
    for fn in candidates.values():
        fn()
    node_request = {
        "token": shown.token,
        "issuerJwk": world.issuer_jwk,
        "nonce": NONCE,
        "statusLists": {shown.status_uri: shown.status_token},
        "iterations": 5 if quick else 400,
        "currentDate": int(world.now.timestamp()),
    }
    samples = interleave(candidates, rounds=rounds, batch_seconds=batch_seconds, quick=quick)
    node: list[dict[str, Any]] = []
    floor_near_node: list[float] = []
    for _ in range(max(1, rounds // 3)):
        answer = _node_peer(node_request)
        if answer is None:
            break
        node.append(answer)
        # Our floor right after, so that the ratio sees the same load.
        floor_near_node.append(
            interleave(
                {"floor": candidates["floor"]}, rounds=1, batch_seconds=batch_seconds, quick=quick
            )["floor"][0]
        )
    medians = {k: sorted(v)[len(v) // 2] for k, v in samples.items()}
    out: dict[str, Any] = {
        "presentation_bytes": len(shown.token),
        "median_us": {k: v * 1e6 for k, v in medians.items()},
        "per_second": {k: 1 / v for k, v in medians.items()},
        "ratios": {
            "decide_over_floor": median_ratio(samples["decide"], samples["floor"]),
            "bare_over_floor": median_ratio(samples["bare"], samples["floor"]),
            "peer_sd_jwt_over_floor": median_ratio(samples["peer_sd_jwt"], samples["floor"]),
            "decide_over_peer_sd_jwt": median_ratio(samples["decide"], samples["peer_sd_jwt"]),
            "bare_over_peer_sd_jwt": median_ratio(samples["bare"], samples["peer_sd_jwt"]),
        },
    }
    if node:
        node_s = sorted(n["per_call_s"] for n in node)[len(node) // 2]
        node_floor = sorted(n["floor_per_call_s"] for n in node)[len(node) // 2]
        ours_floor = sorted(floor_near_node)[len(floor_near_node) // 2]
        out["median_us"]["peer_sd_jwt_vc_node"] = node_s * 1e6
        out["median_us"]["node_floor"] = node_floor * 1e6
        out["per_second"]["peer_sd_jwt_vc_node"] = 1 / node_s
        out["ratios"]["peer_sd_jwt_vc_over_floor"] = node_s / ours_floor
        out["ratios"]["peer_sd_jwt_vc_over_its_own_floor"] = node_s / node_floor
        out["ratios"]["decide_over_peer_sd_jwt_vc"] = medians["decide"] / node_s
        out["ratios"]["bare_over_peer_sd_jwt_vc"] = medians["bare"] / node_s
    return out


def disclosure_curve(*, rounds: int, batch_seconds: float, quick: bool) -> dict[str, Any]:
    """verify_sd_jwt with 1, 10 and 100 disclosed claims (bench_presentation's case)."""
    from datetime import UTC, datetime

    from .bench_presentation import make_case, verify_floor, verify_ours

    now = datetime.now(UTC).replace(microsecond=0)
    cases = {n: make_case(n, now=now) for n in (1, 10, 100)}
    candidates: dict[str, Callable[[], object]] = {}
    for n, case in cases.items():
        candidates[f"ours_{n}"] = lambda c=case: verify_ours(c, c.token)
        candidates[f"floor_{n}"] = lambda c=case: verify_floor(c, c.token)
    samples = interleave(candidates, rounds=rounds, batch_seconds=batch_seconds, quick=quick)
    med = {k: sorted(v)[len(v) // 2] * 1e6 for k, v in samples.items()}
    first = (med["ours_10"] - med["ours_1"]) / 9
    second = (med["ours_100"] - med["ours_10"]) / 90
    return {
        "median_us": {str(n): med[f"ours_{n}"] for n in cases},
        "floor_us": {str(n): med[f"floor_{n}"] for n in cases},
        "per_disclosure_us": {"1_to_10": first, "10_to_100": second},
        # Linear: the marginal cost of a disclosure does not grow with their number.
        "marginal_ratio": second / first if first > 0 else None,
    }


def _entity_like(entity: dict[str, Any], index: int, cert_b64: str) -> dict[str, Any]:
    """A PID provider like ``entity`` with one issuance service and a CA of its own.
    Only the first service is kept: the list's first provider also lists its mdoc IACA,
    and a copy of both per entity would measure a list twice the bytes for the same
    number of entities (and meet the list's size cap before 100,000)."""
    copy = json.loads(json.dumps(entity))
    info = copy["TrustedEntityInformation"]
    info["TEName"] = [{"lang": "en", "value": f"Bench PID provider {index}"}]
    copy["TrustedEntityServices"] = copy["TrustedEntityServices"][:1]
    identity = copy["TrustedEntityServices"][0]["ServiceInformation"]["ServiceDigitalIdentity"]
    identity["X509Certificates"] = [{"val": cert_b64}]
    return copy


def _certificates(count: int, now: Any, *, first: int = 0) -> list[str]:
    import base64

    out = []
    for i in range(first, first + max(0, count)):
        # A key and a CA certificate per entity, as a real list has.
        cert = build_ca_certificate(
            subject=build_name(common_name=f"Bench PID provider CA {i}", country="BE"),
            key=ec.generate_private_key(ec.SECP256R1()),
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=365),
            serial=10_000_000 + i,
        )
        out.append(base64.b64encode(certificate_to_der(cert)).decode("ascii"))
    return out


def eu_list_curve(
    world: World, sizes: tuple[int, ...], *, rounds: int, batch_seconds: float, quick: bool
) -> dict[str, Any]:
    """The EU PID decision with the PID providers' list holding ``sizes`` entities."""
    lists, _ = world.list_tokens()
    # Read directly: the bench's own input, whatever cap the code under test has.
    payload = json.loads(b64url_bytes(lists["pid-providers"].split(".")[1]))
    lote = payload["LoTE"]
    assert isinstance(lote, dict)
    base = lote["TrustedEntitiesList"]
    assert isinstance(base, list)
    pool: list[str] = []
    shown = world.pid_presentation()
    out: dict[str, Any] = {"sizes": list(sizes), "load_s": {}, "token_bytes": {}, "refused": {}}
    candidates: dict[str, Callable[[], object]] = {}
    for size in sizes:
        if out["refused"]:
            # A smaller list was refused already: a larger one cannot load either.
            out["refused"][str(size)] = "not tried: a smaller list was refused"
            continue
        pool += _certificates(size - len(pool), world.now, first=len(pool))
        extra = [_entity_like(base[0], i, pool[i]) for i in range(size - len(base))]  # type: ignore[arg-type]
        grown = {"LoTE": {**lote, "TrustedEntitiesList": [*base, *extra]}}
        token = sign_lote(
            grown,  # type: ignore[arg-type]
            signer=world.pki.signer("eu-lote-operator"),
            x5c=world.pki.x5c("eu-lote-operator"),
            now=world.now - timedelta(minutes=1),
        )
        out["token_bytes"][str(size)] = len(token)
        started = time.perf_counter()
        try:
            snapshot = world.snapshot(eu_lists={"pid-providers": token})
        except PasserelleError as exc:
            out["refused"][str(size)] = str(exc.reason)
            continue
        out["load_s"][str(size)] = time.perf_counter() - started

        decide = _decider(world, shown, snapshot)
        decide()
        candidates[str(size)] = decide
    if candidates:
        samples = interleave(candidates, rounds=rounds, batch_seconds=batch_seconds, quick=quick)
        out["decision_us"] = {k: sorted(v)[len(v) // 2] * 1e6 for k, v in samples.items()}
        lo, hi = str(min(sizes)), str(max(sizes))
        if lo in samples and hi in samples and lo != hi:
            out["growth"] = median_ratio(samples[hi], samples[lo])
    return out


def registry_curve(world: World, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Loading (verifying and indexing) a registry snapshot of ``sizes`` records."""
    out: dict[str, Any] = {"sizes": list(sizes), "load_s": {}, "token_bytes": {}, "refused": {}}
    for size in sizes:
        if out["refused"]:
            out["refused"][str(size)] = "not tried: a smaller registry was refused"
            continue
        records = [
            {
                "name": f"bench issuer {i}",
                "entity_id": f"https://issuer-{i}.bench.example",
                "action": "issue",
                "resource": "https://credentials.passerelle.example/ca/person/v1",
                "status": "current",
                "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": "2030-01-01T00:00:00Z",
            }
            for i in range(size)
        ]
        token = sign_registry_snapshot(
            {
                "operator": {"authority_id": "https://trust.ca.bench.example", "name": "Bench"},
                "authorizations": records,  # type: ignore[dict-item]
            },
            substitutions={},
            sequence_number=1,
            issued_at=world.now - timedelta(minutes=1),
            next_update=world.now + timedelta(days=1),
            signer=world.pki.signer("ca-registry-operator"),
            x5c=world.pki.x5c("ca-registry-operator"),
        )
        out["token_bytes"][str(size)] = len(token)
        started = time.perf_counter()
        try:
            verify_registry_snapshot(
                token, operator_anchors=[world.pki.anchor("ca-registry-operator")], now=world.now
            )
        except PasserelleError as exc:
            out["refused"][str(size)] = str(exc.reason)
            continue
        out["load_s"][str(size)] = time.perf_counter() - started
    return out


def status_curve(world: World, sizes: tuple[int, ...], *, quick: bool) -> dict[str, Any]:
    """Encoding and signing a status list token (1 % of entries revoked), and serving it
    through the issuer's StatusListService: from its cache, and rebuilt."""
    import random

    from passerelle.services.runtime import SecretsRandom
    from passerelle.services.status import StatusListService
    from passerelle.services.storage import open_store

    out: dict[str, Any] = {"sizes": list(sizes), "encode_ms": {}, "served_ms": {}}
    rng = random.Random(7)
    signer = world.pki.signer("eu-pid-provider")
    for size in sizes:
        revoked = rng.sample(range(size), max(1, size // 100))
        status_list = create_status_list(bits=2, size=size)
        data = bytearray(status_list.data)
        for index in revoked:
            data[index // 4] |= int(StatusValue.INVALID) << (2 * (index % 4))
        status_list = replace(status_list, data=bytes(data))

        def encode(level: int, status_list: Any = status_list) -> float:
            started = time.perf_counter()
            kwargs = {"level": level} if level != 9 else {}
            create_status_list_token(
                status_list,
                uri="https://bench.example/status/1",
                signer=signer,
                now=world.now,
                ttl=timedelta(minutes=5),
                valid_for=timedelta(days=1),
                **kwargs,  # type: ignore[arg-type]
            )
            return time.perf_counter() - started

        levels = {}
        for level in (6, 9):
            try:
                levels[str(level)] = min(encode(level) for _ in range(1 if quick else 3)) * 1e3
            except TypeError:
                levels[str(level)] = None  # this code has no level to choose
        out["encode_ms"][str(size)] = levels
        with open_store("sqlite://:memory:") as store:
            service = StatusListService(
                store=store,
                list_id="bench",
                uri="https://bench.example/status/1",
                signer=signer,
                random=SecretsRandom(),
                size=size,
            )
            for index in revoked[: 1000 if not quick else 10]:
                service.reserve(index, now=world.now)
                service.set_status(index, StatusValue.INVALID, now=world.now)
            service.token(now=world.now)  # the first request builds it
            repeats = 5 if quick else 50
            started = time.perf_counter()
            for i in range(repeats):
                service.token(now=world.now + timedelta(seconds=i % 60))
            out["served_ms"][str(size)] = (time.perf_counter() - started) / repeats * 1e3
    return out
