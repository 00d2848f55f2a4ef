"""The suite as a wallet (``conformance._holder``) against the local issuers, and the
pure helpers of the schema plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from passerelle.conformance import CheckFailed, Targets
from passerelle.conformance._context import CheckContext, RecordingHttp
from passerelle.conformance._holder import (
    discover_issuer_key,
    key_proof,
    new_holder_key,
    obtain_credential,
    obtain_shared,
    read_unverified_jwt,
    read_unverified_sd_jwt_vc,
    request_offer,
)
from passerelle.conformance._local import start_local_stack
from passerelle.conformance.plans.schema import _concrete_paths, _schema_defines
from passerelle.jose import jwk_thumbprint


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    stack, loaded = start_local_stack(tmp_path_factory.mktemp("holder"))
    try:
        yield loaded
    finally:
        stack.stop()


def _ctx(targets: Targets, name: str, shared: dict[str, object] | None = None) -> CheckContext:
    return CheckContext(
        target=targets.targets[name],
        targets=targets.targets,
        suite=targets.suite,
        http=RecordingHttp(timeout=60),
        shared_state=shared if shared is not None else {},
    )


def test_a_batch_is_bound_one_credential_per_key(targets: Targets) -> None:
    ctx = _ctx(targets, "eu-issuer")
    issued = obtain_credential(ctx, ctx.target, "eu-pid-sd-jwt", "zoe-lefevre-dubois", batch=2)
    assert issued.format == "dc+sd-jwt"
    assert len(issued.credentials) == 2
    for credential, key in zip(issued.credentials, issued.holder_keys, strict=True):
        cnf = read_unverified_sd_jwt_vc(credential).payload["cnf"]
        assert jwk_thumbprint(cnf["jwk"]) == jwk_thumbprint(key.public_key())
    # The exchanges are recorded, the secrets in them are not.
    assert ctx.http.exchanges
    assert issued.access_token not in str(ctx.http.exchanges)


def test_the_issuer_key_is_found_as_the_targets_file_says(targets: Targets) -> None:
    for name, config, persona in (
        ("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois"),
        ("ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon"),
    ):
        ctx = _ctx(targets, name)
        issued = obtain_credential(ctx, ctx.target, config, persona)
        read = read_unverified_sd_jwt_vc(issued.credential)
        resolved = discover_issuer_key(ctx, ctx.target, read.header, read.payload)
        assert resolved.method == ctx.target.get("key_discovery")


def test_shared_issuance_happens_once(targets: Targets) -> None:
    shared: dict[str, object] = {}
    first = obtain_shared(
        _ctx(targets, "ca-issuer", shared),
        "ca-issuer",
        "ca-person-jwt-vc",
        "eloise-tremblay-gagnon",
    )
    again = obtain_shared(
        _ctx(targets, "ca-issuer", shared),
        "ca-issuer",
        "ca-person-jwt-vc",
        "eloise-tremblay-gagnon",
    )
    assert first is again
    assert first.format == "jwt_vc_json"
    assert "vc" in read_unverified_jwt(first.credential).payload


def test_deferred_issuance_is_polled_to_the_end(targets: Targets) -> None:
    ctx = _ctx(targets, "ca-issuer")
    issued = obtain_credential(
        ctx, ctx.target, "conformity-attestation-sd-jwt", "boreal-thermostat-pass"
    )
    assert len(issued.credentials) == 1
    assert any(e.get("status") == 202 for e in ctx.http.exchanges)


def test_a_failing_step_is_named(targets: Targets) -> None:
    ctx = _ctx(targets, "ca-issuer")
    with pytest.raises(CheckFailed, match=r"adapter \(offer\)"):
        request_offer(ctx, ctx.target, "no-such-configuration", "nobody")


def test_negative_proofs_differ_only_where_asked() -> None:
    key, other = new_holder_key(), new_holder_key()
    now = datetime.now(UTC)
    honest = read_unverified_jwt(key_proof(key, audience="https://i.example", nonce="n", now=now))
    typed = read_unverified_jwt(
        key_proof(key, audience="https://i.example", nonce="n", now=now, typ="JWT")
    )
    forged = key_proof(key, audience="https://i.example", nonce="n", now=now, signer_key=other)
    assert honest.header["typ"] == "openid4vci-proof+jwt"
    assert typed.header["typ"] == "JWT"
    assert honest.payload == typed.payload == read_unverified_jwt(forged).payload


def test_schema_paths_are_defined_only_explicitly() -> None:
    schema = {
        "type": "object",
        "properties": {
            "address": {"type": "object", "properties": {"region": {"type": "string"}}},
            "ages": {
                "type": "object",
                "propertyNames": {"pattern": "^[1-9][0-9]?$"},
                "additionalProperties": {"type": "boolean"},
            },
            "list": {"type": "array", "items": {"type": "object", "properties": {"a": {}}}},
            "open": {"type": "object"},
        },
        "allOf": [{"properties": {"extra": {"type": "string"}}}],
    }
    assert _schema_defines(schema, schema, ["address", "region"])
    assert _schema_defines(schema, schema, ["ages", "18"])
    assert _schema_defines(schema, schema, ["list", 0, "a"])
    assert _schema_defines(schema, schema, ["extra"])
    assert not _schema_defines(schema, schema, ["ages", "eighteen"])
    assert not _schema_defines(schema, schema, ["address", "street"])
    assert not _schema_defines(schema, schema, ["open", "anything"])


def test_claim_paths_expand_to_what_is_there() -> None:
    claims = {"a": {"b": 1}, "n": [{"x": 1}, {"y": 2}, {"x": 3}]}
    assert _concrete_paths(claims, ("a", "b")) == [("a", "b")]
    assert _concrete_paths(claims, ("n", None, "x")) == [("n", 0, "x"), ("n", 2, "x")]
    assert _concrete_paths(claims, ("n", 5)) == []
    assert _concrete_paths(claims, ("missing",)) == []
