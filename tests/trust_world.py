"""A complete trust world for tests: a PKI generated in the test run, the real sources
of ``trust_lists/`` (or a copy a test edits), built and signed by the real build."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.jose import KeySigner, public_jwk
from passerelle.mdoc import build_document_signer_certificate, build_iaca_certificate
from passerelle.services.trust.build import (
    BuildResult,
    OperatorKey,
    build_trust_lists,
    load_recognitions,
)
from passerelle.trust import (
    EU_LIST_TYPES,
    Framework,
    IssuerIdentity,
    TrustSnapshot,
    load_trust_snapshot,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    encode_x5c,
)

SOURCES = Path(__file__).parents[1] / "trust_lists"
CA_ISSUER = "https://ca-issuer.test"
_serials = count(5000)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _root(
    now: datetime, cn: str, *, org: str | None = None, country: str = "BE"
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = build_ca_certificate(
        subject=build_name(common_name=cn, organization=org, country=country),
        key=key,
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=3650),
        serial=next(_serials),
    )
    return cert, key


def leaf(
    now: datetime,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    cn: str,
    *,
    org: str | None = None,
    country: str = "BE",
    validity: tuple[timedelta, timedelta] = (timedelta(days=-1), timedelta(days=365)),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = build_leaf_certificate(
        subject=build_name(common_name=cn, organization=org, country=country),
        public_key=key.public_key(),
        issuer_cert=ca[0],
        issuer_key=ca[1],
        not_before=now + validity[0],
        not_after=now + validity[1],
        serial=next(_serials),
        usage=LeafUsage.SIGNING,
    )
    return cert, key


def iaca(
    now: datetime, cn: str, *, country: str
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An mdoc IACA root (ISO/IEC 18013-5 Annex B)."""
    key = _key()
    cert = build_iaca_certificate(
        key=key,
        common_name=cn,
        country=country,
        issuer_alt_uri=f"https://{country.lower()}.iaca.test",
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=3650),
        serial=next(_serials),
    )
    return cert, key


def document_signer(
    now: datetime,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    cn: str,
    *,
    validity: tuple[timedelta, timedelta] = (timedelta(days=-1), timedelta(days=365)),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An mdoc document signer under ``ca`` (Annex B)."""
    key = _key()
    cert = build_document_signer_certificate(
        public_key=key.public_key(),
        common_name=cn,
        iaca=ca[0],
        iaca_key=ca[1],
        issuer_alt_uri="https://ds.iaca.test",
        not_before=now + validity[0],
        not_after=now + validity[1],
        serial=next(_serials),
    )
    return cert, key


@dataclass
class TrustWorld:
    now: datetime
    tmp: Path
    sources: Path = field(init=False)
    data_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        now = self.now
        self.sources = self.tmp / "trust_lists"
        shutil.copytree(SOURCES, self.sources)
        self.data_dir = self.tmp / "data"
        self.eu_operator_root = _root(now, "EU LoTE operator root", country="EU")
        self.eu_operator = leaf(
            now,
            self.eu_operator_root,
            "EU LoTE signer",
            org="Passerelle EU Trust List Operator",
            country="EU",
        )
        self.pid_ca = _root(now, "EU PID Provider CA")
        self.pubeaa_ca = _root(
            now, "EU Business Register CA", org="Passerelle EU Business Register"
        )
        self.wrpac_ca = _root(now, "EU WRPAC Provider CA")
        self.wallet_provider_ca = _root(now, "Wallet Provider CA", org="Passerelle Wallet Provider")
        self.conformance_lab_ca = _root(
            now, "Conformance Laboratory CA", org="Passerelle Conformance Laboratory"
        )
        self.ca_operator_root = _root(now, "Canada registry root", country="CA")
        self.ca_operator = leaf(now, self.ca_operator_root, "Canada registry signer", country="CA")
        self.pid_signer = leaf(now, self.pid_ca, "EU PID Provider signer")
        self.pubeaa_signer = leaf(
            now, self.pubeaa_ca, "Register signer", org="Passerelle EU Business Register"
        )
        self.ca_issuer_key = _key()
        self.eu_iaca = iaca(now, "EU PID IACA", country="BE")
        self.ca_iaca = iaca(now, "Canadian mDL IACA", country="CA")
        self.eu_mdoc_signer = document_signer(now, self.eu_iaca, "EU PID mdoc signer")
        self.ca_mdoc_signer = document_signer(now, self.ca_iaca, "Canadian mDL signer")

    @property
    def certificates(self) -> dict[str, x509.Certificate]:
        return {
            "eu-lote-operator": self.eu_operator[0],
            "eu-pid-provider-ca": self.pid_ca[0],
            "eu-pubeaa-provider-ca": self.pubeaa_ca[0],
            "eu-wrpac-provider-ca": self.wrpac_ca[0],
            "wallet-provider-ca": self.wallet_provider_ca[0],
            "conformance-lab-ca": self.conformance_lab_ca[0],
            "eu-pid-iaca": self.eu_iaca[0],
            "ca-mdl-iaca": self.ca_iaca[0],
        }

    def build(self, *, now: datetime | None = None) -> BuildResult:
        return build_trust_lists(
            sources=self.sources,
            data_dir=self.data_dir,
            certificates=self.certificates,
            eu_operator=OperatorKey(
                signer=KeySigner(self.eu_operator[1]), x5c=encode_x5c([self.eu_operator[0]])
            ),
            ca_operator=OperatorKey(
                signer=KeySigner(self.ca_operator[1]), x5c=encode_x5c([self.ca_operator[0]])
            ),
            substitutions={"CA_ISSUER": CA_ISSUER},
            now=now or self.now,
        )

    def tokens(self) -> tuple[dict[str, str], str]:
        trust = self.data_dir / "trust"
        # The lists a verifier loads (the wallet providers' list is the issuers' to read).
        lists = {name: (trust / "eu" / f"{name}.jwt").read_text() for name in EU_LIST_TYPES}
        return lists, (trust / "ca" / "registry.jwt").read_text()

    def snapshot(
        self,
        home: Framework,
        *,
        now: datetime | None = None,
        last_seen: dict[str, int] | None = None,
    ) -> TrustSnapshot:
        lists, registry = self.tokens()
        return load_trust_snapshot(
            home=home,
            eu_lists=lists,
            registry=registry,
            recognitions=load_recognitions(self.sources),
            eu_operator_anchors=[self.eu_operator_root[0]],
            ca_operator_anchors=[self.ca_operator_root[0]],
            now=now or self.now,
            last_seen=last_seen,
        )

    def eu_issuer(
        self, signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
    ) -> IssuerIdentity:
        return IssuerIdentity(x5c=encode_x5c([signer[0]]))

    def ca_identity(self, iss: str = CA_ISSUER) -> IssuerIdentity:
        return IssuerIdentity(iss=iss, kid="ca-1")

    def ca_metadata(self, iss: str = CA_ISSUER) -> dict[str, object]:
        return {
            iss: {
                "issuer": iss,
                "jwks": {"keys": [{**public_jwk(self.ca_issuer_key), "kid": "ca-1"}]},
            }
        }
