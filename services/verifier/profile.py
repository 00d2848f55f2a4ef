"""Verifier profiles: one verifier service, configured per jurisdiction by a data file
(client identifier prefix, response modes, home framework, policies as DCQL queries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.dcql import parse_dcql_query
from passerelle.oid4vp import DEFAULT_RESPONSE_ENC, SUPPORTED_RESPONSE_ENC
from passerelle.services.trust.sources import load_source
from passerelle.trust import Framework

__all__ = ["PROFILES_DIR", "VerifierPolicy", "VerifierProfile", "load_verifier_profile"]

PROFILES_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierPolicy:
    name: str
    description: str
    dcql_query: JsonObject
    require_status: bool | None = None
    """Overrides the profile's ``require_status`` for this policy: ``false`` accepts a
    credential whose status list cannot be fetched (recorded as a skipped step)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierProfile:
    id: str
    home: Framework
    host_role: str
    access_certificate: str
    client_id_prefix: str
    response_modes: tuple[str, ...]
    default_response_mode: str
    request_scheme: str
    algorithms: tuple[str, ...]
    skew: timedelta
    require_status: bool
    home_types: Mapping[str, str]
    policies: Mapping[str, VerifierPolicy]
    response_enc: tuple[str, ...] = (DEFAULT_RESPONSE_ENC,)
    """The ``enc`` values listed in ``encrypted_response_enc_values_supported`` and
    accepted in a ``direct_post.jwt`` response (HAIP 1.0: both A128GCM and A256GCM)."""
    same_device_redirect: str = "optional"
    """``required``: a same-device transaction gets a ``redirect_uri`` in the answer to
    the wallet's POST (HAIP 1.0 §5.1); ``optional``: only when its creator gives one."""
    fetch_allowed_hosts: tuple[str, ...] | None = None
    """Partner mode: the only hosts fetched besides the stack's own (None: any public)."""


def load_verifier_profile(name: str) -> VerifierProfile:
    doc = load_source(PROFILES_DIR / f"{name}.yaml")

    def bad(detail: str) -> PasserelleError:
        return PasserelleError(Reason.INPUT_MALFORMED, f"verifier profile {name}: {detail}")

    policies: dict[str, VerifierPolicy] = {}
    raw = doc.get("policies")
    if not isinstance(raw, dict):
        raise bad("policies must be a mapping")
    for policy_name, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("dcql_query"), dict):
            raise bad(f"policy {policy_name} needs a dcql_query")
        query = entry["dcql_query"]
        assert isinstance(query, dict)
        parse_dcql_query(query)  # a profile with a broken query does not load
        relax = entry.get("require_status")
        if relax is not None and not isinstance(relax, bool):
            raise bad(f"policy {policy_name}: require_status must be true or false")
        policies[policy_name] = VerifierPolicy(
            name=policy_name,
            description=str(entry.get("description", "")),
            dcql_query=query,
            require_status=relax,
        )
    modes = doc.get("response_modes")
    home_types = doc.get("home_types")
    algs = doc.get("algorithms", ["ES256"])
    prefix = str(doc.get("client_id_prefix"))
    if prefix not in ("x509_san_dns", "x509_hash"):
        raise bad("client_id_prefix must be x509_san_dns or x509_hash")
    allowed = doc.get("fetch_allowed_hosts")
    if allowed is not None and not (
        isinstance(allowed, list) and all(isinstance(h, str) and h for h in allowed)
    ):
        raise bad("fetch_allowed_hosts must be a list of host names")
    enc = doc.get("response_enc", [DEFAULT_RESPONSE_ENC])
    if not (isinstance(enc, list) and enc and all(e in SUPPORTED_RESPONSE_ENC for e in enc)):
        raise bad(f"response_enc must be a non-empty list of {list(SUPPORTED_RESPONSE_ENC)}")
    redirect = str(doc.get("same_device_redirect", "optional"))
    if redirect not in ("required", "optional"):
        raise bad("same_device_redirect must be required or optional")
    return VerifierProfile(
        id=str(doc.get("id", name)),
        home=Framework(str(doc.get("home"))),
        host_role=str(doc.get("host_role", name)),
        access_certificate=str(doc.get("access_certificate")),
        client_id_prefix=prefix,
        response_modes=tuple(str(m) for m in modes)
        if isinstance(modes, list)
        else ("direct_post",),
        default_response_mode=str(doc.get("default_response_mode", "direct_post")),
        request_scheme=str(doc.get("request_scheme", "openid4vp")),
        algorithms=tuple(str(a) for a in algs) if isinstance(algs, list) else ("ES256",),
        skew=timedelta(seconds=int(doc.get("skew_seconds", 60))),  # type: ignore[arg-type]
        require_status=bool(doc.get("require_status", True)),
        home_types={str(k): str(v) for k, v in home_types.items()}
        if isinstance(home_types, dict)
        else {},
        policies=policies,
        response_enc=tuple(str(e) for e in enc),
        same_device_redirect=redirect,
        fetch_allowed_hosts=None if allowed is None else tuple(str(h) for h in allowed),
    )
