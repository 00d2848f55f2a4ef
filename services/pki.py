"""The development PKI that ``passerelle init`` creates under ``<data_dir>/pki``.

Layout (one directory per entity; private keys are 0600, everything else 0644)::

    pki/hosts.json                     role -> base URL the documents below embed
    pki/<root>/key.jwk, cert.pem       self-signed roots (10 years)
    pki/<leaf>/key.jwk, cert.pem,      leaves (1 year); chain.pem is leaf first, up to
              chain.pem                but excluding the root (the HAIP x5c)
    pki/ca-issuer/key.jwk,             a bare key published as JWT VC Issuer Metadata
              jwt-vc-issuer.json
    pki/<x>-dataspace-*/key.jwk,       bare keys behind did:web identifiers
              did.json
    tls/server.pem, server.key, ca.pem the TLS server certificate, ready for uvicorn

:func:`init_pki` is idempotent. Keys and certificates are random, so they are kept
whenever they are still right, and only what is missing, stale or no longer matches
is made again: a new key brings a new certificate, a re-issued CA brings new leaves,
changed hosts bring new certificates and documents for the entities that embed them
(keys kept). Documents derived deterministically (chains, DID documents, issuer
metadata, the TLS files) are rewritten only when their bytes would differ. Every
write is a temporary file renamed into place, so a crash leaves either the old or the
new file, never half of one; a crash between a new key and its certificate is healed
by the next run, which sees the certificate no longer matches the key.

A file that exists but cannot be read is an error naming it, not something to
overwrite: it may be the only copy of a key someone still relies on.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import NameOID

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._errors import local_error
from passerelle._json import parse_json_object
from passerelle._net import is_loopback_host
from passerelle.dcp import url_to_did_web
from passerelle.jose import (
    KeySigner,
    jwk_thumbprint,
    load_private_jwk,
    load_public_jwk,
    private_jwk,
    public_jwk,
)
from passerelle.mdoc import (
    build_document_signer_certificate,
    build_iaca_certificate,
    verify_document_signer_chain,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    certificate_to_pem,
    draw_serial_number,
    encode_x5c,
    load_certificate_pem,
    san_dns_names,
    verify_certificate_chain,
    x509_hash,
)

from .runtime import SecretsRandom, utc_now

__all__ = [
    "DEFAULT_HOSTS",
    "ENTITY_NAMES",
    "EntityKind",
    "Pki",
    "PkiEntity",
    "PkiReport",
    "client_id_prefix_for",
    "did_web_identifier",
    "init_pki",
    "issuer_did_document",
    "load_pki",
    "pki_dir",
    "verifier_client_id",
]

# The verifiers default to ``localhost``: the Canadian one identifies itself by
# ``x509_san_dns``, whose client identifier must be a DNS name that is also the
# response_uri host (OpenID4VP 1.0 §5.9.3), and ``localhost`` is the one name every
# machine resolves. On an IP address a verifier uses ``x509_hash`` instead (see
# :func:`client_id_prefix_for`).
DEFAULT_HOSTS: Mapping[str, str] = MappingProxyType(
    {
        "trust": "http://127.0.0.1:8100",
        "ca-issuer": "http://127.0.0.1:8101",
        "eu-issuer": "http://127.0.0.1:8102",
        "wallet": "http://127.0.0.1:8103",
        "ca-verifier": "http://localhost:8104",
        "eu-verifier": "http://localhost:8105",
        "ca-dataspace": "http://127.0.0.1:8106",
        "eu-dataspace": "http://127.0.0.1:8107",
    }
)

ROOT_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=365)
# Back-dated so that a peer whose clock runs a little behind still accepts them.
BACKDATE = timedelta(days=1)

KEY_FILE = "key.jwk"
CERT_FILE = "cert.pem"
CHAIN_FILE = "chain.pem"
DID_FILE = "did.json"
ISSUER_METADATA_FILE = "jwt-vc-issuer.json"
HOSTS_FILE = "hosts.json"

DID_CONTEXT: tuple[str, ...] = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/jws-2020/v1",
)
# Issuer DID documents (the data-space path) use the verification method type
# ``JsonWebKey`` of W3C Controlled Identifiers 1.0, which the DID 1.1 context defines.
ISSUER_DID_CONTEXT: tuple[str, ...] = ("https://www.w3.org/ns/did/v1.1",)

# Roles known by a did:web identifier too (the data-space path): the issuers' own DID
# and the connectors' participants. did:web names a domain (loopback IPv4 allowed here).
_DID_WEB_ROLES = ("ca-issuer", "eu-issuer", "ca-dataspace", "eu-dataspace")

# A role becomes the DNS label of ``<role>.localhost``.
_ROLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class EntityKind(enum.Enum):
    ROOT = "root"
    LEAF = "leaf"
    #: A bare key with no certificate, published in a document instead.
    KEY = "key"


class _Document(enum.Enum):
    JWT_VC_ISSUER = "jwt-vc-issuer"
    DID_WEB = "did-web"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Spec:
    name: str
    kind: EntityKind
    common_name: str = ""
    organization: str | None = None
    country: str | None = None
    issuer: str | None = None
    usage: LeafUsage = LeafUsage.SIGNING
    #: Roles whose hostnames go in the SAN as dNSName, and whose URLs as URI.
    dns_roles: tuple[str, ...] = ()
    uri_roles: tuple[str, ...] = ()
    #: The TLS server: localhost and the hostnames of every role.
    all_hosts: bool = False
    document: _Document | None = None
    role: str = ""
    did_path: str = ""
    #: ``service`` entries of a did:web document: (type, path under the role's URL).
    did_services: tuple[tuple[str, str], ...] = ()
    #: The issuing authority's URL (issuerAltName): set, the entity is an mdoc IACA or
    #: document signer with the ISO/IEC 18013-5 Annex B profile instead of ours.
    mdoc_authority: str = ""


# Subjects follow what the trust-list sources in trust_lists/ check:
# - ETSI TS 119 602 clause 6.8.0: the LoTE signer's C is the SchemeTerritory ("EU")
#   and its O a SchemeOperatorName ("Passerelle EU Trust List Operator");
# - Table H.3: a Pub-EAA provider's listed certificate has O equal to the TEName.
_EU_OPERATOR = "Passerelle EU Trust List Operator"
_EU_PID = "Passerelle EU PID Provider"
_EU_REGISTER = "Passerelle EU Business Register"
_EU_WRPAC = "Passerelle EU Access Certificate Authority"
_CA_REGISTRY = "Canada (Passerelle dev) Trust Registry"
_CONFORMANCE_LAB = "Passerelle Conformance Laboratory"
# The issuing authorities named in the mdoc certificates' issuerAltName (Annex B).
_EU_PID_AUTHORITY = "https://issuer-eu.passerelle.example/pid"
_CA_MDL_AUTHORITY = "https://issuer-ca.passerelle.example/mdl"
_WALLET_PROVIDER = "Passerelle Wallet Provider"

_SPECS: tuple[_Spec, ...] = (
    _Spec(
        name="eu-lote-operator-ca",
        kind=EntityKind.ROOT,
        common_name="EU Trusted List Operator (Passerelle dev)",
        organization=_EU_OPERATOR,
        country="BE",
    ),
    _Spec(
        name="eu-lote-operator",
        kind=EntityKind.LEAF,
        common_name="EU Trusted List Operator signer (Passerelle dev)",
        organization=_EU_OPERATOR,
        country="EU",
        issuer="eu-lote-operator-ca",
    ),
    _Spec(
        name="eu-pid-provider-ca",
        kind=EntityKind.ROOT,
        common_name="EU PID Provider CA (Passerelle dev)",
        organization=_EU_PID,
        country="BE",
    ),
    _Spec(
        name="eu-pid-provider",
        kind=EntityKind.LEAF,
        common_name="EU PID Provider (Passerelle dev)",
        organization=_EU_PID,
        country="BE",
        issuer="eu-pid-provider-ca",
        # Peers still applying the older SD-JWT VC rule match an https iss against a
        # SAN URI or the iss host against a SAN dNSName of the leaf.
        dns_roles=("eu-issuer",),
        uri_roles=("eu-issuer",),
    ),
    _Spec(
        name="eu-pubeaa-provider-ca",
        kind=EntityKind.ROOT,
        common_name="EU Pub-EAA Provider CA (Passerelle dev)",
        organization=_EU_REGISTER,
        country="BE",
    ),
    _Spec(
        name="eu-pubeaa-provider",
        kind=EntityKind.LEAF,
        common_name="Registre du commerce (Passerelle dev)",
        organization=_EU_REGISTER,
        country="BE",
        issuer="eu-pubeaa-provider-ca",
        dns_roles=("eu-issuer",),
        uri_roles=("eu-issuer",),
    ),
    # The conformance suite's signing identity for its attestations, listed on the EU
    # Pub-EAA providers list (trust_lists/eu/pubeaa-providers.yaml).
    _Spec(
        name="conformance-lab-ca",
        kind=EntityKind.ROOT,
        common_name="Conformance Laboratory CA (Passerelle dev)",
        organization=_CONFORMANCE_LAB,
        country="BE",
    ),
    _Spec(
        name="conformance-lab",
        kind=EntityKind.LEAF,
        common_name="Conformance Laboratory (Passerelle dev)",
        organization=_CONFORMANCE_LAB,
        country="BE",
        issuer="conformance-lab-ca",
    ),
    _Spec(
        name="eu-wrpac-provider-ca",
        kind=EntityKind.ROOT,
        common_name="EU Relying-Party Access CA (Passerelle dev)",
        organization=_EU_WRPAC,
        country="BE",
    ),
    _Spec(
        name="eu-verifier-access",
        kind=EntityKind.LEAF,
        common_name="EU Verifier (Passerelle dev)",
        organization="Passerelle EU Verifier",
        country="BE",
        issuer="eu-wrpac-provider-ca",
        usage=LeafUsage.ACCESS,
        dns_roles=("eu-verifier",),
    ),
    _Spec(
        name="ca-verifier-access",
        kind=EntityKind.LEAF,
        common_name="Canadian Verifier (Passerelle dev)",
        organization="Passerelle Canadian Verifier",
        country="CA",
        issuer="eu-wrpac-provider-ca",
        usage=LeafUsage.ACCESS,
        dns_roles=("ca-verifier",),
    ),
    # The wallet provider (HAIP 1.0 §4.4, OpenID4VCI 1.0 Appendices D and E): its CA is
    # on the EU list of wallet providers; its leaf signs wallet attestations (OAuth
    # client attestations) and key attestations, with the leaf in x5c.
    _Spec(
        name="wallet-provider-ca",
        kind=EntityKind.ROOT,
        common_name="Wallet Provider CA (Passerelle dev)",
        organization=_WALLET_PROVIDER,
        country="BE",
    ),
    _Spec(
        name="wallet-provider",
        kind=EntityKind.LEAF,
        common_name="Wallet Provider attestation signer (Passerelle dev)",
        organization=_WALLET_PROVIDER,
        country="BE",
        issuer="wallet-provider-ca",
    ),
    _Spec(
        name="ca-registry-operator-ca",
        kind=EntityKind.ROOT,
        common_name="Canada Trust Registry (Passerelle dev)",
        organization=_CA_REGISTRY,
        country="CA",
    ),
    _Spec(
        name="ca-registry-operator",
        kind=EntityKind.LEAF,
        common_name="Canada Trust Registry signer (Passerelle dev)",
        organization=_CA_REGISTRY,
        country="CA",
        issuer="ca-registry-operator-ca",
    ),
    _Spec(
        name="ca-issuer",
        kind=EntityKind.KEY,
        document=_Document.JWT_VC_ISSUER,
        role="ca-issuer",
    ),
    # SME and provider share their side's data-space host, so a path keeps their
    # did:web identifiers apart (the document is served at <base>/<path>/did.json).
    _Spec(
        name="ca-dataspace-sme",
        kind=EntityKind.KEY,
        document=_Document.DID_WEB,
        role="ca-dataspace",
        did_path="sme",
        did_services=(
            ("CredentialService", "/sme/cs"),
            # Where the connector publishes its conformance attestation, if it has one.
            ("ConformanceAttestation", "/sme/conformance-attestation"),
        ),
    ),
    _Spec(
        name="eu-dataspace-sme",
        kind=EntityKind.KEY,
        document=_Document.DID_WEB,
        role="eu-dataspace",
        did_path="sme",
        did_services=(
            ("CredentialService", "/sme/cs"),
            # Where the connector publishes its conformance attestation, if it has one.
            ("ConformanceAttestation", "/sme/conformance-attestation"),
        ),
    ),
    _Spec(
        name="ca-dataspace-provider",
        kind=EntityKind.KEY,
        document=_Document.DID_WEB,
        role="ca-dataspace",
        did_path="provider",
        did_services=(("DataService", "/.well-known/dspace-version"),),
    ),
    _Spec(
        name="eu-dataspace-provider",
        kind=EntityKind.KEY,
        document=_Document.DID_WEB,
        role="eu-dataspace",
        did_path="provider",
        did_services=(("DataService", "/.well-known/dspace-version"),),
    ),
    # ISO/IEC 18013-5 mdoc issuers: an IACA root and its document signer (Annex B).
    # The EU IACA is listed on the PID providers list, the Canadian one in the registry.
    _Spec(
        name="eu-pid-iaca",
        kind=EntityKind.ROOT,
        common_name="EU PID Provider IACA (Passerelle dev)",
        country="BE",
        mdoc_authority=_EU_PID_AUTHORITY,
    ),
    _Spec(
        name="eu-pid-mdoc-signer",
        kind=EntityKind.LEAF,
        common_name="EU PID Provider mdoc document signer (Passerelle dev)",
        country="BE",
        issuer="eu-pid-iaca",
        mdoc_authority=_EU_PID_AUTHORITY,
    ),
    _Spec(
        name="ca-mdl-iaca",
        kind=EntityKind.ROOT,
        common_name="Canadian provincial mDL IACA (Passerelle dev)",
        country="CA",
        mdoc_authority=_CA_MDL_AUTHORITY,
    ),
    _Spec(
        name="ca-mdl-signer",
        kind=EntityKind.LEAF,
        common_name="Canadian provincial mDL document signer (Passerelle dev)",
        country="CA",
        issuer="ca-mdl-iaca",
        mdoc_authority=_CA_MDL_AUTHORITY,
    ),
    _Spec(
        name="tls-ca",
        kind=EntityKind.ROOT,
        common_name="Passerelle local TLS CA",
        organization="Passerelle (dev)",
    ),
    _Spec(
        name="tls-server",
        kind=EntityKind.LEAF,
        common_name="Passerelle local TLS server",
        organization="Passerelle (dev)",
        issuer="tls-ca",
        usage=LeafUsage.TLS_SERVER,
        all_hosts=True,
    ),
)

_BY_NAME: Mapping[str, _Spec] = MappingProxyType({s.name: s for s in _SPECS})
ENTITY_NAMES: tuple[str, ...] = tuple(s.name for s in _SPECS)


def pki_dir(data_dir: Path) -> Path:
    return data_dir / "pki"


def _tls_dir(data_dir: Path) -> Path:
    return data_dir / "tls"


def _pki_error(reason: Reason, path: Path, detail: str) -> PasserelleError:
    return local_error(reason, f"{path}: {detail}")


# --- hosts -------------------------------------------------------------------------------


def _check_base_url(role: str, url: str) -> str:
    if not isinstance(role, str) or not _ROLE.fullmatch(role):
        raise local_error(Reason.INPUT_MALFORMED, f"host role {role!r} is not a DNS label")
    if not isinstance(url, str):
        raise local_error(Reason.INPUT_MALFORMED, f"hosts[{role!r}] is not a string")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise local_error(Reason.INPUT_MALFORMED, f"hosts[{role!r}] is not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise local_error(
            Reason.INPUT_MALFORMED, f"hosts[{role!r}] must be an http(s) URL with a host"
        )
    if parts.query or parts.fragment or parts.username is not None:
        raise local_error(
            Reason.INPUT_MALFORMED, f"hosts[{role!r}] must have no user, query or fragment"
        )
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.path not in ("", "/"):
        raise local_error(
            Reason.INPUT_MALFORMED,
            f"hosts[{role!r}] = {url!r} has a path, but every service answers at the root "
            f"of its own origin (its well-known documents are there): give {origin}",
        )
    host = parts.hostname or ""
    if _is_ip_literal(host) and not is_loopback_host(host):
        address = ipaddress.ip_address(host)
        if address.is_unspecified:
            raise local_error(
                Reason.INPUT_MALFORMED,
                f"hosts[{role!r}] = {url!r}: {host} is where a server listens, not an "
                "address peers reach it at: give the host name (or address) peers use",
            )
        if address.is_private or address.is_link_local or address.is_reserved:
            raise local_error(
                Reason.INPUT_MALFORMED,
                f"hosts[{role!r}] = {url!r}: the services refuse to fetch from an internal "
                "address other than loopback (a guard against request forgery), so peers "
                f"in this stack could not reach {host}: name the host by a DNS name",
            )
    if parts.scheme == "http" and not is_loopback_host(host):
        raise local_error(
            Reason.INPUT_MALFORMED,
            f"hosts[{role!r}] = {url!r}: plain http is a development relaxation for this "
            "machine only (localhost, *.localhost, 127.0.0.1, ::1); every peer, ours "
            "included, refuses http elsewhere (OpenID4VCI requires an https issuer "
            f"identifier): give https://{parts.netloc} and serve it with TLS "
            "(`passerelle up --tls`)",
        )
    # The issuer identifier is compared byte for byte with ``iss``: one spelling only.
    return url.rstrip("/")


def _socket_of(url: str) -> tuple[str, int]:
    """Where a service listens: loopback names are one interface."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return ("loopback" if is_loopback_host(host) else host, port)


def _check_distinct(hosts: Mapping[str, str]) -> None:
    # Each role is a server of its own, on its own port; two on one would never start.
    seen: dict[tuple[str, int], str] = {}
    for role, url in hosts.items():
        other = seen.setdefault(_socket_of(url), role)
        if other != role:
            raise local_error(
                Reason.INPUT_MALFORMED,
                f"hosts[{role!r}] = {url!r} is where {other} already answers "
                f"({hosts[other]}): give each role a port (or host) of its own",
            )


def _resolve_hosts(
    given: Mapping[str, str] | None, recorded: Mapping[str, str] | None
) -> dict[str, str]:
    chosen = given if given is not None else (recorded or {})
    merged = {**DEFAULT_HOSTS, **chosen}
    checked = {role: _check_base_url(role, url) for role, url in merged.items()}
    _check_distinct(checked)
    for role in _DID_WEB_ROLES:
        if role in checked:
            try:
                did_web_identifier(checked[role])
            except PasserelleError as exc:
                raise local_error(
                    Reason.INPUT_MALFORMED,
                    f"hosts[{role!r}] = {checked[role]!r}: {role} is also known by a did:web "
                    f"identifier, which cannot name this host ({exc.detail}): give a domain "
                    "name, localhost or 127.0.0.1",
                ) from exc
    return checked


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hostnames(role: str, url: str) -> list[str]:
    """The DNS names a role answers to: its URL host unless that is an IP literal
    (a dNSName must not hold one, RFC 5280 §4.2.1.6), ``localhost`` for a loopback
    address (the name of that very interface, RFC 6761 §6.3), and ``<role>.localhost``."""
    host = (urlsplit(url).hostname or "").lower()
    if _is_ip_literal(host):
        names = ["localhost"] if is_loopback_host(host) else []
    else:
        names = [host] if host and host.isascii() else []
    return _unique([*names, f"{role}.localhost"])


def client_id_prefix_for(prefix: str, url: str) -> str:
    """The client identifier prefix a verifier at ``url`` can use, given the one its
    profile prefers. ``x509_san_dns`` needs a DNS name: OpenID4VP 1.0 §5.9.3, "When the
    Client Identifier Prefix is x509_san_dns, the original Client Identifier (the part
    after the x509_san_dns: prefix) MUST be a DNS name and match a dNSName Subject
    Alternative Name (SAN) [RFC5280] entry in the leaf certificate passed with the
    request", and the same section has the response_uri host equal that name. A verifier
    on an IP literal therefore identifies itself by ``x509_hash`` (the hash of its access
    certificate), which binds the request to the same certificate and needs no name
    (a ``<role>.localhost`` name would need every peer to resolve it, which many
    systems do not)."""
    host = urlsplit(url).hostname or ""
    if prefix == "x509_san_dns" and _is_ip_literal(host):
        return "x509_hash"
    return prefix


def verifier_client_id(pki: Pki, *, prefix: str, role: str, access_certificate: str) -> str:
    """The full client identifier of the verifier ``role`` (see :func:`client_id_prefix_for`)."""
    base = pki.hosts[role]
    if client_id_prefix_for(prefix, base) == "x509_hash":
        return "x509_hash:" + x509_hash(pki.certificate(access_certificate))
    return "x509_san_dns:" + (urlsplit(base).hostname or "localhost")


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def did_web_identifier(url: str) -> str:
    """The did:web identifier of a base URL, by the core's one did:web rule. The
    development stack's hosts may be loopback, over plain http; a host did:web may not
    name (an IP address off this machine) is a configuration error of the PKI."""
    try:
        return url_to_did_web(url, allow_loopback=True, allow_insecure_loopback=True)
    except PasserelleError as exc:
        raise local_error(Reason.INPUT_MALFORMED, exc.detail) from exc


def _expected_dns(spec: _Spec, hosts: Mapping[str, str]) -> list[str]:
    if spec.all_hosts:
        names = ["localhost"]
        for role, url in hosts.items():
            names += _hostnames(role, url)
        return _unique(names)
    names = []
    for role in spec.dns_roles:
        names += _hostnames(role, hosts[role])
    return _unique(names)


def _expected_ips(spec: _Spec, hosts: Mapping[str, str]) -> list[str]:
    # Loopback is the laptop default, so the TLS certificate must name it as an IP, and
    # every other address a role is reached at (an IP is an iPAddress SAN, never a name).
    if not spec.all_hosts:
        return []
    given = [urlsplit(url).hostname or "" for url in hosts.values()]
    return _unique(
        ["127.0.0.1", "::1", *(str(ipaddress.ip_address(h)) for h in given if _is_ip_literal(h))]
    )


def _ips(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def _expected_uris(spec: _Spec, hosts: Mapping[str, str]) -> list[str]:
    return [hosts[role] for role in spec.uri_roles]


# --- documents ---------------------------------------------------------------------------


def _did_url(spec: _Spec, hosts: Mapping[str, str]) -> str:
    base = hosts[spec.role]
    return f"{base}/{spec.did_path}" if spec.did_path else base


def _did_document(
    did: str, key: ec.EllipticCurvePrivateKey, services: Sequence[tuple[str, str]] = ()
) -> JsonObject:
    method = f"{did}#key-1"
    doc: JsonObject = {
        "@context": list(DID_CONTEXT),
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": public_jwk(key),
            }
        ],
        "authentication": [method],
        "assertionMethod": [method],
        # DCP 1.0 §Validating Self-Issued ID Tokens: the key signing them must have the
        # capabilityInvocation relationship.
        "capabilityInvocation": [method],
    }
    if services:
        # DCP §Credential Service Endpoint Discovery (type CredentialService) and DSP
        # 2025-1 §Discovery of Service Endpoints (type DataService).
        doc["service"] = [
            {"id": f"{did}#{kind[0].lower()}{kind[1:]}", "type": kind, "serviceEndpoint": url}
            for kind, url in services
        ]
    return doc


def _published_jwk(key: ec.EllipticCurvePrivateKey) -> JsonObject:
    jwk = public_jwk(key)
    return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "ES256"}


def _issuer_metadata(issuer: str, key: ec.EllipticCurvePrivateKey) -> JsonObject:
    return {"issuer": issuer, "jwks": {"keys": [_published_jwk(key)]}}


def _document_for(
    spec: _Spec, key: ec.EllipticCurvePrivateKey, hosts: Mapping[str, str]
) -> tuple[str, JsonObject]:
    if spec.document is _Document.JWT_VC_ISSUER:
        return ISSUER_METADATA_FILE, _issuer_metadata(hosts[spec.role], key)
    base = hosts[spec.role] if spec.role else ""
    services = [(kind, f"{base}{path}") for kind, path in spec.did_services]
    return DID_FILE, _did_document(did_web_identifier(_did_url(spec, hosts)), key, services)


def _json_bytes(doc: JsonValue) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- files -------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes, *, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600, so a private key is never readable by others,
    # not even for the moment before the rename.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not private:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _pki_error(Reason.INPUT_MALFORMED, path, f"cannot be read: {exc}") from exc


def _read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    text = _read_text(path)
    try:
        key = load_private_jwk(parse_json_object(text, what="private JWK"))
    except PasserelleError as exc:
        raise _pki_error(exc.reason, path, exc.detail) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _pki_error(Reason.JWK_UNSUPPORTED, path, "the development PKI uses EC P-256 keys")
    return key


def _read_cert(path: Path) -> x509.Certificate:
    try:
        return load_certificate_pem(_read_text(path))
    except PasserelleError as exc:
        raise _pki_error(exc.reason, path, exc.detail) from exc


def _read_chain(path: Path) -> tuple[x509.Certificate, ...]:
    raw = _read_text(path).encode("ascii", "replace")
    try:
        certs = tuple(x509.load_pem_x509_certificates(raw))
    except ValueError as exc:
        raise _pki_error(Reason.X509_MALFORMED, path, f"not PEM certificates: {exc}") from exc
    return certs


def _read_hosts(path: Path) -> dict[str, str] | None:
    if not path.exists():
        return None
    try:
        doc = parse_json_object(_read_text(path), what="hosts")
    except PasserelleError as exc:
        raise _pki_error(exc.reason, path, exc.detail) from exc
    hosts: dict[str, str] = {}
    for role, url in doc.items():
        if not isinstance(url, str):
            raise _pki_error(Reason.INPUT_MALFORMED, path, f"{role!r} is not a URL string")
        hosts[role] = url
    return hosts


def _spki(key: ec.EllipticCurvePublicKey | object) -> bytes | None:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return None
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(san.value.get_values_for_type(x509.UniformResourceIdentifier))


def _is_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


# --- init --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PkiReport:
    """What :func:`init_pki` did. Paths are relative to the data directory."""

    hosts: Mapping[str, str]
    #: Files that did not exist.
    created: tuple[Path, ...]
    #: Files that existed and were replaced (re-issued, or a document that changed).
    replaced: tuple[Path, ...]
    #: Files left exactly as they were.
    kept: tuple[Path, ...]
    #: Things the operator should know (e.g. a limitation of the TLS certificate).
    notes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.created or self.replaced)


@dataclass(slots=True)
class _Ledger:
    data_dir: Path
    created: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def write(self, path: Path, data: bytes, *, private: bool) -> None:
        existed = path.exists()
        _write_atomic(path, data, private=private)
        (self.replaced if existed else self.created).append(path.relative_to(self.data_dir))

    def keep(self, path: Path) -> None:
        self.kept.append(path.relative_to(self.data_dir))

    def sync(self, path: Path, data: bytes, *, private: bool) -> None:
        """Write ``data`` unless the file already holds exactly that."""
        if path.exists() and path.read_bytes() == data:
            if private:
                os.chmod(path, 0o600)
            self.keep(path)
        else:
            self.write(path, data, private=private)


@dataclass(slots=True)
class _Issued:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate | None
    cert_new: bool


def _private_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return _json_bytes(private_jwk(key))


def _ensure_key(directory: Path, ledger: _Ledger) -> tuple[ec.EllipticCurvePrivateKey, bool]:
    path = directory / KEY_FILE
    if path.exists():
        key = _read_key(path)
        # A key file loosened by hand (or by a copy) is tightened again.
        os.chmod(path, 0o600)
        ledger.keep(path)
        return key, False
    key = ec.generate_private_key(ec.SECP256R1())
    ledger.write(path, _private_bytes(key), private=True)
    return key, True


def _subject(spec: _Spec) -> x509.Name:
    if spec.mdoc_authority:
        # What build_iaca_certificate and build_document_signer_certificate name.
        assert spec.country is not None
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, spec.country),
                x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name),
            ]
        )
    return build_name(
        common_name=spec.common_name, organization=spec.organization, country=spec.country
    )


def _is_current(
    cert: x509.Certificate,
    *,
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    issuer: x509.Certificate,
    dns_names: Sequence[str],
    uris: Sequence[str],
    now: datetime,
    ips: Sequence[str] = (),
) -> bool:
    """Whether a certificate on disk is still the one we would issue now (up to the
    random serial and the dates)."""
    if _spki(cert.public_key()) != _spki(key.public_key()):
        return False
    if cert.subject != subject or cert.issuer != issuer.subject:
        return False
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return False
    if not _is_issued_by(cert, issuer):
        return False
    return (
        set(san_dns_names(cert)) == set(dns_names)
        and set(_uris(cert)) == set(uris)
        and set(_ips(cert)) == set(ips)
    )


def _ensure_root(
    spec: _Spec, directory: Path, ledger: _Ledger, *, now: datetime, random: RandomSource
) -> _Issued:
    key, key_new = _ensure_key(directory, ledger)
    path = directory / CERT_FILE
    subject = _subject(spec)
    if path.exists() and not key_new:
        cert = _read_cert(path)
        if _is_current(cert, key=key, subject=subject, issuer=cert, dns_names=(), uris=(), now=now):
            ledger.keep(path)
            return _Issued(key=key, cert=cert, cert_new=False)
    not_before = now - BACKDATE
    if spec.mdoc_authority:
        assert spec.country is not None
        cert = build_iaca_certificate(
            key=key,
            common_name=spec.common_name,
            country=spec.country,
            issuer_alt_uri=spec.mdoc_authority,
            not_before=not_before,
            not_after=not_before + ROOT_VALIDITY,
            serial=draw_serial_number(random),
        )
        ledger.write(path, certificate_to_pem(cert).encode("ascii"), private=False)
        return _Issued(key=key, cert=cert, cert_new=True)
    cert = build_ca_certificate(
        subject=subject,
        key=key,
        not_before=not_before,
        not_after=not_before + ROOT_VALIDITY,
        serial=draw_serial_number(random),
        # Roots here sign end entities directly; no intermediate may appear below them.
        path_length=0,
    )
    ledger.write(path, certificate_to_pem(cert).encode("ascii"), private=False)
    return _Issued(key=key, cert=cert, cert_new=True)


def _ensure_leaf(
    spec: _Spec,
    directory: Path,
    ledger: _Ledger,
    *,
    issuer: _Issued,
    hosts: Mapping[str, str],
    now: datetime,
    random: RandomSource,
) -> _Issued:
    assert issuer.cert is not None
    key, key_new = _ensure_key(directory, ledger)
    path = directory / CERT_FILE
    subject = _subject(spec)
    dns_names = _expected_dns(spec, hosts)
    uris = _expected_uris(spec, hosts)
    ips = _expected_ips(spec, hosts)
    if path.exists() and not key_new and not issuer.cert_new:
        cert = _read_cert(path)
        if _is_current(
            cert,
            key=key,
            subject=subject,
            issuer=issuer.cert,
            dns_names=dns_names,
            uris=uris,
            now=now,
            ips=ips,
        ):
            ledger.keep(path)
            ledger.sync(directory / CHAIN_FILE, _chain_bytes(cert), private=False)
            return _Issued(key=key, cert=cert, cert_new=False)
    not_before = now - BACKDATE
    if spec.mdoc_authority:
        cert = build_document_signer_certificate(
            public_key=key.public_key(),
            common_name=spec.common_name,
            iaca=issuer.cert,
            iaca_key=issuer.key,
            issuer_alt_uri=spec.mdoc_authority,
            not_before=not_before,
            not_after=min(not_before + LEAF_VALIDITY, issuer.cert.not_valid_after_utc),
            serial=draw_serial_number(random),
        )
        ledger.write(path, certificate_to_pem(cert).encode("ascii"), private=False)
        ledger.sync(directory / CHAIN_FILE, _chain_bytes(cert), private=False)
        return _Issued(key=key, cert=cert, cert_new=True)
    cert = build_leaf_certificate(
        subject=subject,
        public_key=key.public_key(),
        issuer_cert=issuer.cert,
        issuer_key=issuer.key,
        not_before=not_before,
        # A leaf never outlives the CA that vouches for it.
        not_after=min(not_before + LEAF_VALIDITY, issuer.cert.not_valid_after_utc),
        serial=draw_serial_number(random),
        usage=spec.usage,
        dns_names=dns_names,
        uris=uris,
        ip_addresses=ips,
    )
    ledger.write(path, certificate_to_pem(cert).encode("ascii"), private=False)
    ledger.sync(directory / CHAIN_FILE, _chain_bytes(cert), private=False)
    return _Issued(key=key, cert=cert, cert_new=True)


def _chain_bytes(leaf: x509.Certificate) -> bytes:
    # The roots here issue leaves directly, so the chain without its anchor is the leaf.
    return certificate_to_pem(leaf).encode("ascii")


def _ensure_bare(
    spec: _Spec, directory: Path, ledger: _Ledger, *, hosts: Mapping[str, str]
) -> _Issued:
    key, _ = _ensure_key(directory, ledger)
    filename, doc = _document_for(spec, key, hosts)
    ledger.sync(directory / filename, _json_bytes(doc), private=False)
    return _Issued(key=key, cert=None, cert_new=False)


def _ensure_tls_files(data_dir: Path, ledger: _Ledger, issued: Mapping[str, _Issued]) -> None:
    server, ca = issued["tls-server"], issued["tls-ca"]
    assert server.cert is not None
    assert ca.cert is not None
    out = _tls_dir(data_dir)
    ledger.sync(out / "server.pem", _chain_bytes(server.cert), private=False)
    key_pem = server.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    ledger.sync(out / "server.key", key_pem, private=True)
    ledger.sync(out / "ca.pem", certificate_to_pem(ca.cert).encode("ascii"), private=False)


def init_pki(
    data_dir: Path,
    *,
    now: datetime,
    hosts: Mapping[str, str] | None = None,
    random: RandomSource | None = None,
) -> PkiReport:
    """Create, or bring up to date, the development PKI under ``data_dir``.

    ``hosts`` maps a role to its base URL; roles left out take :data:`DEFAULT_HOSTS`.
    Without ``hosts`` the ones recorded by the previous run are used (then the
    defaults). ``random`` draws certificate serial numbers (the OS CSPRNG by default).
    """
    if now.tzinfo is None:
        raise local_error(Reason.INPUT_MALFORMED, "now must be a timezone-aware datetime")
    random = random if random is not None else SecretsRandom()
    root = pki_dir(data_dir)
    effective = _resolve_hosts(hosts, _read_hosts(root / HOSTS_FILE))
    ledger = _Ledger(data_dir=data_dir)
    ledger.sync(root / HOSTS_FILE, _json_bytes(dict(effective)), private=False)
    issued: dict[str, _Issued] = {}
    for spec in _SPECS:
        directory = root / spec.name
        if spec.kind is EntityKind.ROOT:
            issued[spec.name] = _ensure_root(spec, directory, ledger, now=now, random=random)
        elif spec.kind is EntityKind.LEAF:
            assert spec.issuer is not None
            issued[spec.name] = _ensure_leaf(
                spec,
                directory,
                ledger,
                issuer=issued[spec.issuer],
                hosts=effective,
                now=now,
                random=random,
            )
        else:
            issued[spec.name] = _ensure_bare(spec, directory, ledger, hosts=effective)
    _ensure_tls_files(data_dir, ledger, issued)
    return PkiReport(
        hosts=MappingProxyType(effective),
        created=tuple(ledger.created),
        replaced=tuple(ledger.replaced),
        kept=tuple(ledger.kept),
        notes=_host_notes(effective),
    )


def _host_notes(hosts: Mapping[str, str]) -> tuple[str, ...]:
    verifiers = [r for s in _SPECS if s.usage is LeafUsage.ACCESS for r in s.dns_roles]
    return tuple(
        f"{role} is on an IP address ({hosts[role]}): an x509_san_dns client identifier "
        "must be a DNS name (OpenID4VP 1.0 §5.9.3), so this verifier identifies itself by "
        "x509_hash, the hash of its access certificate"
        for role in verifiers
        if client_id_prefix_for("x509_san_dns", hosts[role]) == "x509_hash"
    )


# --- load --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PkiEntity:
    """One entity of a loaded PKI."""

    name: str
    kind: EntityKind
    path: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate | None
    #: Leaf first, up to but excluding the root; empty for roots and bare keys.
    chain: tuple[x509.Certificate, ...]
    #: The root a leaf chains to (a root's own certificate for a root).
    anchor: x509.Certificate | None
    #: did.json or jwt-vc-issuer.json, for bare keys.
    document: JsonObject | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Pki:
    """The development PKI as loaded and checked by :func:`load_pki`."""

    data_dir: Path
    hosts: Mapping[str, str]
    entities: Mapping[str, PkiEntity]

    def _entity(self, name: str) -> PkiEntity:
        entity = self.entities.get(name)
        if entity is None:
            raise local_error(
                Reason.INPUT_MALFORMED, f"no PKI entity {name!r}; known: {', '.join(self.entities)}"
            )
        return entity

    def _of_kind(self, name: str, *kinds: EntityKind) -> PkiEntity:
        entity = self._entity(name)
        if entity.kind not in kinds:
            wanted = " or ".join(k.value for k in kinds)
            raise local_error(
                Reason.INPUT_MALFORMED, f"{name} is a {entity.kind.value}, not a {wanted}"
            )
        return entity

    def path(self, name: str) -> Path:
        """The entity's directory."""
        return self._entity(name).path

    def private_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        return self._entity(name).key

    def signer(self, name: str) -> KeySigner:
        return KeySigner(self._entity(name).key)

    def jwk(self, name: str) -> JsonObject:
        """The public JWK, with ``kid`` (its RFC 7638 thumbprint), ``use`` and ``alg``."""
        return _published_jwk(self._entity(name).key)

    def certificate(self, name: str) -> x509.Certificate:
        cert = self._of_kind(name, EntityKind.ROOT, EntityKind.LEAF).certificate
        assert cert is not None
        return cert

    def chain(self, name: str) -> list[x509.Certificate]:
        """Leaf first, up to but excluding the root."""
        return list(self._of_kind(name, EntityKind.LEAF).chain)

    def x5c(self, name: str) -> list[str]:
        """The ``x5c`` of a leaf: no trust anchor in it (HAIP)."""
        return encode_x5c(self.chain(name))

    def anchor(self, name: str) -> x509.Certificate:
        """A root's certificate; for a leaf, the root it chains to."""
        anchor = self._of_kind(name, EntityKind.ROOT, EntityKind.LEAF).anchor
        assert anchor is not None
        return anchor

    def document(self, name: str) -> JsonObject:
        """The did.json or jwt-vc-issuer.json published for a bare key."""
        doc = self._of_kind(name, EntityKind.KEY).document
        assert doc is not None
        return doc

    def did(self, name: str) -> str:
        did = self.document(name).get("id")
        if not isinstance(did, str):
            raise local_error(Reason.INPUT_MALFORMED, f"{name} has no DID document")
        return did

    @property
    def certificates(self) -> Mapping[str, x509.Certificate]:
        """Every certificate by entity name, as trust-list sources refer to them."""
        return MappingProxyType(
            {n: e.certificate for n, e in self.entities.items() if e.certificate is not None}
        )

    @property
    def tls_certfile(self) -> Path:
        return _tls_dir(self.data_dir) / "server.pem"

    @property
    def tls_keyfile(self) -> Path:
        return _tls_dir(self.data_dir) / "server.key"

    @property
    def tls_ca(self) -> Path:
        return _tls_dir(self.data_dir) / "ca.pem"


def issuer_did_document(
    pki: Pki, *, base_url: str, keys: Sequence[str], with_x5c: bool
) -> JsonObject:
    """The did:web document of an issuer served at ``base_url`` (its
    ``/.well-known/did.json``): one ``JsonWebKey`` verification method per signing key
    in ``keys``, each listed under ``assertionMethod`` (issuing credentials is making
    assertions; DID 1.0 §5.3.2), and nothing under ``authentication``.

    A method's id is the DID, ``#``, and the key's RFC 7638 thumbprint, so a new key is
    a new DID URL and a credential signed by the old one never finds the new key. With
    ``with_x5c`` (an EU issuer) the JWK carries the key's certificate chain as ``x5c``
    (RFC 7517 §4.7), leaf first and without the root, so a verifier finds the issuer
    on a LoTE by certificate exactly as it does for an SD-JWT VC header ``x5c``.
    Derived from keys the PKI already holds: nothing new is created.
    """
    did = did_web_identifier(base_url)
    methods: list[JsonValue] = []
    ids: list[JsonValue] = []
    for name in dict.fromkeys(keys):
        jwk = pki.jwk(name)
        if with_x5c:
            jwk["x5c"] = list[JsonValue](pki.x5c(name))
        method_id = f"{did}#{jwk['kid']}"
        methods.append(
            {"id": method_id, "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}
        )
        ids.append(method_id)
    return {
        "@context": list(ISSUER_DID_CONTEXT),
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    }


def _require(path: Path) -> Path:
    if not path.is_file():
        raise _pki_error(Reason.INPUT_MALFORMED, path, "is missing; run `passerelle init`")
    return path


def _check_key_matches(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise _pki_error(Reason.X509_MALFORMED, path, f"does not certify the key in {KEY_FILE}")


def _load_document(spec: _Spec, directory: Path, key: ec.EllipticCurvePrivateKey) -> JsonObject:
    filename = ISSUER_METADATA_FILE if spec.document is _Document.JWT_VC_ISSUER else DID_FILE
    path = _require(directory / filename)
    try:
        doc = parse_json_object(_read_text(path), what=filename)
        if spec.document is _Document.JWT_VC_ISSUER:
            jwks = doc.get("jwks")
            keys = jwks.get("keys") if isinstance(jwks, dict) else None
            first = keys[0] if isinstance(keys, list) and keys else None
        else:
            methods = doc.get("verificationMethod")
            method = methods[0] if isinstance(methods, list) and methods else None
            first = method.get("publicKeyJwk") if isinstance(method, dict) else None
        if not isinstance(first, dict):
            raise local_error(Reason.JWK_INVALID, "no public JWK in the document")
        published = load_public_jwk(
            {k: v for k, v in first.items() if k not in ("kid", "use", "alg")}
        )
    except PasserelleError as exc:
        raise _pki_error(exc.reason, path, exc.detail) from exc
    if _spki(published) != _spki(key.public_key()):
        raise _pki_error(Reason.JWK_INVALID, path, f"publishes a key other than {KEY_FILE}")
    return doc


def load_pki(data_dir: Path, *, now: datetime | None = None) -> Pki:
    """Read the PKI :func:`init_pki` made and check it: every key matches its
    certificate or document, and every leaf chains to its root at ``now`` (the real
    clock by default). Any failure is a :class:`PasserelleError` naming the file."""
    at = now if now is not None else utc_now()
    root = pki_dir(data_dir)
    recorded = _read_hosts(_require(root / HOSTS_FILE)) or {}
    entities: dict[str, PkiEntity] = {}
    for spec in _SPECS:
        directory = root / spec.name
        key = _read_key(_require(directory / KEY_FILE))
        if spec.kind is EntityKind.KEY:
            entities[spec.name] = PkiEntity(
                name=spec.name,
                kind=spec.kind,
                path=directory,
                key=key,
                certificate=None,
                chain=(),
                anchor=None,
                document=_load_document(spec, directory, key),
            )
            continue
        cert_path = _require(directory / CERT_FILE)
        cert = _read_cert(cert_path)
        _check_key_matches(cert, key, cert_path)
        if spec.kind is EntityKind.ROOT:
            entities[spec.name] = PkiEntity(
                name=spec.name,
                kind=spec.kind,
                path=directory,
                key=key,
                certificate=cert,
                chain=(),
                anchor=cert,
                document=None,
            )
            continue
        assert spec.issuer is not None
        anchor = entities[spec.issuer].certificate
        assert anchor is not None
        chain_path = _require(directory / CHAIN_FILE)
        chain = _read_chain(chain_path)
        if not chain or chain[0] != cert:
            raise _pki_error(Reason.X509_MALFORMED, chain_path, f"does not start with {CERT_FILE}")
        try:
            if spec.mdoc_authority:
                verify_document_signer_chain(chain, anchors=[anchor], now=at)
            else:
                verify_certificate_chain(chain, anchors=[anchor], now=at)
        except PasserelleError as exc:
            raise _pki_error(
                exc.reason, chain_path, f"does not chain to {spec.issuer}: {exc.detail}"
            ) from exc
        entities[spec.name] = PkiEntity(
            name=spec.name,
            kind=spec.kind,
            path=directory,
            key=key,
            certificate=cert,
            chain=chain,
            anchor=anchor,
            document=None,
        )
    for name in ("server.pem", "server.key", "ca.pem"):
        _require(_tls_dir(data_dir) / name)
    return Pki(
        data_dir=data_dir,
        hosts=MappingProxyType(dict(recorded)),
        entities=MappingProxyType(entities),
    )
