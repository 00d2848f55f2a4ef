"""The bench's world: the development PKI and the signed trust lists of a fresh data
directory (exactly what ``passerelle init`` makes), an EU PID issued to a holder by the
PID provider's certificate, its status list, and the Canadian verifier's decision inputs.

Keys are generated in the run under a temporary directory; nothing private is written
anywhere else.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from passerelle import JsonObject
from passerelle.decision import DecisionPolicy
from passerelle.jose import KeySigner, public_jwk
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, present_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.services.catalog import data_root, load_catalog
from passerelle.services.launcher import ROLES
from passerelle.services.pki import Pki, init_pki, load_pki
from passerelle.services.runtime import SecretsRandom
from passerelle.services.scenarios import free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki, load_recognitions
from passerelle.status_list import (
    VerifiedStatusList,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    verify_status_list_token,
)
from passerelle.trust import EU_LIST_TYPES, Framework, TrustSnapshot, load_trust_snapshot

__all__ = ["PID", "Presentation", "World", "make_world"]

PID = "urn:eudi:pid:1"
PERSONA = "jan-thart"
NONCE = "bench-nonce-7c1e"
SHOWN = [("given_name",), ("family_name",), ("age_equal_or_over", "18")]


def b64url_bytes(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def signed_parts(jws: str) -> tuple[bytes, bytes]:
    """Signing input and DER signature of a compact ES256 JWS, for ``cryptography``."""
    header, payload, signature = jws.split(".")
    raw = b64url_bytes(signature)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    return f"{header}.{payload}".encode("ascii"), encode_dss_signature(r, s)


@dataclass(frozen=True, slots=True, kw_only=True)
class Presentation:
    """One SD-JWT VC + KB-JWT and everything each verifier needs, made before timing."""

    token: str
    credential: str
    holder: ec.EllipticCurvePrivateKey
    audience: str
    status_uri: str
    status_token: str
    status: VerifiedStatusList


@dataclass(frozen=True, slots=True, kw_only=True)
class World:
    data_dir: Path
    hosts: dict[str, str]
    pki: Pki
    now: datetime

    @property
    def issuer_key(self) -> ec.EllipticCurvePublicKey:
        key = self.pki.certificate("eu-pid-provider").public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    @property
    def issuer_jwk(self) -> JsonObject:
        return public_jwk(self.issuer_key)

    def list_tokens(self) -> tuple[dict[str, str], str]:
        trust = self.data_dir / "trust"
        # The lists a verifier loads (the wallet providers' list is the issuers' to read).
        lists = {name: (trust / "eu" / f"{name}.jwt").read_text() for name in EU_LIST_TYPES}
        return lists, (trust / "ca" / "registry.jwt").read_text()

    def snapshot(
        self,
        *,
        home: Framework = Framework.CA,
        eu_lists: dict[str, str] | None = None,
        registry: str | None = None,
    ) -> TrustSnapshot:
        lists, default_registry = self.list_tokens()
        return load_trust_snapshot(
            home=home,
            eu_lists={**lists, **(eu_lists or {})},
            registry=registry or default_registry,
            recognitions=load_recognitions(data_root() / "trust_lists"),
            eu_operator_anchors=[self.pki.anchor("eu-lote-operator")],
            ca_operator_anchors=[self.pki.anchor("ca-registry-operator")],
            now=self.now,
        )

    def policy(self) -> DecisionPolicy:
        return DecisionPolicy(algorithms=("ES256",), allow_insecure_loopback=True)

    def check(self, audience: str) -> KeyBindingCheck:
        return KeyBindingCheck(nonce=NONCE, audience=audience, max_age=timedelta(minutes=10))

    def decision_catalog(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Schemas as the verifier holds them (compiled once, where the code can) and
        type metadata documents, by vct."""
        catalog = load_catalog()
        schemas = {t.vct: getattr(t, "validator", t.schema) for t in catalog.types.values()}
        return schemas, {t.vct: t.type_metadata for t in catalog.types.values()}

    def pid_presentation(
        self, *, claims: JsonObject | None = None, shown: list[tuple[str, ...]] | None = None
    ) -> Presentation:
        holder = ec.generate_private_key(ec.SECP256R1())
        subject = claims
        if subject is None:
            sample = load_catalog().by_vct(PID).samples[PERSONA]
            subject = {k: v for k, v in sample.items() if k != "vct"}
        status_uri = f"{self.hosts['eu-issuer']}/status/bench"
        credential = issue_sd_jwt_vc(
            subject,
            vct=PID,
            issuer=self.hosts["eu-issuer"],
            signer=self.pki.signer("eu-pid-provider"),
            random=SecretsRandom(),
            now=self.now - timedelta(minutes=5),
            disclosable=[(k,) for k in subject]
            + [("age_equal_or_over", "18")] * ("age_equal_or_over" in subject),
            holder_key=holder.public_key(),
            valid_for=timedelta(days=30),
            status=create_status_reference(idx=4242, uri=status_uri),
            x5c=self.pki.x5c("eu-pid-provider"),
        )
        audience = "x509_san_dns:bench-verifier.localhost"
        token = present_sd_jwt(
            credential,
            disclose=shown if shown is not None else SHOWN,
            key_binding=KeyBindingInput(
                signer=KeySigner(holder), nonce=NONCE, audience=audience, now=self.now
            ),
        )
        status_token = create_status_list_token(
            create_status_list(bits=2, size=1 << 17),
            uri=status_uri,
            signer=self.pki.signer("eu-pid-provider"),
            now=self.now - timedelta(minutes=1),
            ttl=timedelta(minutes=5),
            valid_for=timedelta(days=1),
            x5c=self.pki.x5c("eu-pid-provider"),
        )
        status = verify_status_list_token(
            status_token,
            expected_uri=status_uri,
            key=self.issuer_key,
            algorithms=["ES256"],
            now=self.now,
            skew=timedelta(seconds=60),
        )
        return Presentation(
            token=token,
            credential=credential,
            holder=holder,
            audience=audience,
            status_uri=status_uri,
            status_token=status_token,
            status=status,
        )


def make_world(directory: Path, *, now: datetime) -> World:
    data_dir = directory / "data"
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(data_dir, now=now, hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=now)
    return World(data_dir=data_dir, hosts=hosts, pki=load_pki(data_dir, now=now), now=now)


def json_line(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
