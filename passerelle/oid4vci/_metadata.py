"""§12.2 Credential Issuer Metadata and RFC 8414 Authorization Server Metadata.

In 1.0 final, ``display`` and ``claims`` of a credential configuration live under
``credential_metadata`` (§12.2.4); earlier drafts had them at the top level, and
``claims`` was a map rather than an array of claims descriptions (Appendix B.2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlunsplit

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue, parse_json_object
from .._net import split_url
from ._errors import oid4vci_error
from ._models import (
    AUTHORIZATION_CODE_GRANT,
    OPENID_CREDENTIAL,
    PRE_AUTHORIZED_CODE_GRANT,
    CredentialIssuerMetadata,
    _optional_str,
    _require_str,
    _string_array,
)
from ._offer import _check_https_url

__all__ = [
    "authorization_server_metadata_url",
    "build_authorization_server_metadata",
    "build_credential_issuer_metadata",
    "build_jwt_vc_json_configuration",
    "build_sd_jwt_vc_configuration",
    "credential_issuer_metadata_url",
    "parse_credential_issuer_metadata",
]


def _local(detail: str) -> PasserelleError:
    return PasserelleError(Reason.OID4VCI_METADATA_INVALID, detail, fault=Fault.LOCAL)


def _peer(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_METADATA_INVALID, detail)


def _well_known(identifier: str, name: str) -> str:
    # §12.2.2 and RFC 8414 §3.1: the well-known segment goes between host and path.
    parts = split_url(identifier)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{name}{path}", "", ""))


def credential_issuer_metadata_url(credential_issuer: str) -> str:
    """Where §12.2.2 puts an issuer's metadata (``/.well-known/openid-credential-issuer``)."""
    return _well_known(credential_issuer, "openid-credential-issuer")


def authorization_server_metadata_url(issuer: str) -> str:
    """Where RFC 8414 §3.1 puts an authorization server's metadata."""
    return _well_known(issuer, "oauth-authorization-server")


def _credential_metadata(
    display: Sequence[JsonObject], claims: Sequence[JsonObject]
) -> JsonObject | None:
    out: JsonObject = {}
    if display:
        if not all(isinstance(d.get("name"), str) for d in display):
            raise _local("every credential display entry needs a name")
        out["display"] = list(display)
    if claims:
        if not all(isinstance(c.get("path"), list) and c["path"] for c in claims):
            raise _local("every claims description needs a non-empty path")
        out["claims"] = list(claims)
    return out or None


def _binding(proof_algs: Sequence[str], key_attestations_required: JsonObject | None) -> JsonObject:
    if not proof_algs:
        raise _local("proof_signing_alg_values_supported must not be empty")
    if "none" in proof_algs:
        raise _local("'none' is not a proof signing algorithm")
    jwt: JsonObject = {"proof_signing_alg_values_supported": list(proof_algs)}
    if key_attestations_required is not None:
        jwt["key_attestations_required"] = key_attestations_required
    # §12.2.4: proof_types_supported MUST be present with the binding methods.
    return {
        "cryptographic_binding_methods_supported": ["jwk"],
        "proof_types_supported": {"jwt": jwt},
    }


def build_sd_jwt_vc_configuration(
    *,
    vct: str,
    scope: str,
    signing_algs: Sequence[str] = ("ES256",),
    proof_algs: Sequence[str] | None = ("ES256",),
    display: Sequence[JsonObject] = (),
    claims: Sequence[JsonObject] = (),
    key_attestations_required: JsonObject | None = None,
) -> JsonObject:
    """A ``dc+sd-jwt`` configuration (Appendix A.3). ``proof_algs=None``: no key binding."""
    config: JsonObject = {
        "format": "dc+sd-jwt",
        "vct": vct,
        "scope": scope,
        "credential_signing_alg_values_supported": list(signing_algs),
    }
    if proof_algs is not None:
        config.update(_binding(proof_algs, key_attestations_required))
    meta = _credential_metadata(display, claims)
    if meta is not None:
        config["credential_metadata"] = meta
    return config


def build_jwt_vc_json_configuration(
    *,
    types: Sequence[str],
    scope: str,
    signing_algs: Sequence[str] = ("ES256",),
    proof_algs: Sequence[str] | None = ("ES256",),
    display: Sequence[JsonObject] = (),
    claims: Sequence[JsonObject] = (),
) -> JsonObject:
    """A ``jwt_vc_json`` configuration (Appendix A.1.1) with ``credential_definition.type``."""
    if not types or types[0] != "VerifiableCredential":
        raise _local("credential_definition type starts with VerifiableCredential")
    config: JsonObject = {
        "format": "jwt_vc_json",
        "scope": scope,
        "credential_signing_alg_values_supported": list(signing_algs),
        "credential_definition": {"type": list(types)},
    }
    if proof_algs is not None:
        config.update(_binding(proof_algs, None))
    meta = _credential_metadata(display, claims)
    if meta is not None:
        config["credential_metadata"] = meta
    return config


def build_mso_mdoc_configuration(
    *,
    doctype: str,
    scope: str,
    signing_algs: Sequence[int] = (-7,),
    proof_algs: Sequence[str] | None = ("ES256",),
    display: Sequence[JsonObject] = (),
    claims: Sequence[JsonObject] = (),
) -> JsonObject:
    """An ``mso_mdoc`` configuration (Appendix A.2.2): ``doctype``, and claims addressed
    ``[namespace, element]``. The credential signing algorithms of an mdoc are COSE
    algorithm identifiers (numbers: -7 is ES256), not JOSE names."""
    if not doctype:
        raise _local("an mso_mdoc configuration needs a doctype")
    if any(len(c.get("path", [])) != 2 for c in claims):  # type: ignore[arg-type]
        raise _local("an mso_mdoc claim path is [namespace, element]")
    config: JsonObject = {
        "format": "mso_mdoc",
        "doctype": doctype,
        "scope": scope,
        "credential_signing_alg_values_supported": list(signing_algs),
    }
    if proof_algs is not None:
        config.update(_binding(proof_algs, None))
        # Appendix A.2.2: the device key is a COSE_Key (cose_key binding method).
        config["cryptographic_binding_methods_supported"] = ["cose_key"]
    meta = _credential_metadata(display, claims)
    if meta is not None:
        config["credential_metadata"] = meta
    return config


def _check_configuration(
    config_id: str, config: Mapping[str, JsonValue], error: Callable[[str], PasserelleError]
) -> None:
    fmt = config.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise error(f"configuration {config_id!r} has no format")
    if fmt == "dc+sd-jwt" and not isinstance(config.get("vct"), str):
        raise error(f"configuration {config_id!r} (dc+sd-jwt) has no vct")
    if fmt == "mso_mdoc" and not isinstance(config.get("doctype"), str):
        raise error(f"configuration {config_id!r} (mso_mdoc) has no doctype")
    if fmt == "jwt_vc_json":
        definition = config.get("credential_definition")
        if not isinstance(definition, dict) or not isinstance(definition.get("type"), list):
            raise error(f"configuration {config_id!r} (jwt_vc_json) has no credential_definition")
    has_methods = "cryptographic_binding_methods_supported" in config
    proof_types = config.get("proof_types_supported")
    if has_methods != (proof_types is not None):
        raise error(
            f"configuration {config_id!r}: proof_types_supported goes with "
            "cryptographic_binding_methods_supported"
        )
    if proof_types is not None:
        if not isinstance(proof_types, dict) or not proof_types:
            raise error(f"configuration {config_id!r}: proof_types_supported is not an object")
        for name, spec in proof_types.items():
            algs = (
                spec.get("proof_signing_alg_values_supported") if isinstance(spec, dict) else None
            )
            if not isinstance(algs, list) or not algs:
                raise error(f"configuration {config_id!r}: proof type {name!r} lists no algorithms")
    for legacy in ("display", "claims"):
        if legacy in config:
            raise error(
                f"configuration {config_id!r}: {legacy} belongs under credential_metadata in 1.0"
            )


def build_credential_issuer_metadata(
    *,
    credential_issuer: str,
    credential_endpoint: str,
    credential_configurations: Mapping[str, JsonObject],
    nonce_endpoint: str | None = None,
    deferred_credential_endpoint: str | None = None,
    notification_endpoint: str | None = None,
    authorization_servers: Sequence[str] | None = None,
    display: Sequence[JsonObject] = (),
    batch_size: int | None = None,
) -> JsonObject:
    """The §12.2.4 document served at ``/.well-known/openid-credential-issuer``."""
    if not credential_configurations:
        raise _local("at least one credential configuration is needed")
    for config_id, config in credential_configurations.items():
        _check_configuration(config_id, config, _local)
    doc: JsonObject = {
        "credential_issuer": credential_issuer,
        "credential_endpoint": credential_endpoint,
    }
    if authorization_servers is not None:
        if not authorization_servers:
            raise _local("authorization_servers must be non-empty when given")
        doc["authorization_servers"] = list(authorization_servers)
    if nonce_endpoint is not None:
        doc["nonce_endpoint"] = nonce_endpoint
    if deferred_credential_endpoint is not None:
        doc["deferred_credential_endpoint"] = deferred_credential_endpoint
    if notification_endpoint is not None:
        doc["notification_endpoint"] = notification_endpoint
    if batch_size is not None:
        if batch_size < 2:
            raise _local("batch_size MUST be 2 or greater (§12.2.4)")
        doc["batch_credential_issuance"] = {"batch_size": batch_size}
    if display:
        locales = [d.get("locale") for d in display]
        if len(set(locales)) != len(locales):
            raise _local("there must be only one display object per locale")
        doc["display"] = list(display)
    doc["credential_configurations_supported"] = {
        k: dict(v) for k, v in credential_configurations.items()
    }
    return doc


def parse_credential_issuer_metadata(
    data: JsonObject | str | bytes, *, expected_issuer: str, allow_loopback_http: bool = False
) -> CredentialIssuerMetadata:
    """A wallet's reading of §12.2.4 metadata, or raise ``oid4vci.metadata_invalid``.

    ``expected_issuer`` is the identifier the metadata URL was built from; §12.2.4
    says the document MUST NOT be used unless the two are identical.
    """
    obj = data if isinstance(data, dict) else parse_json_object(data, what="issuer metadata")
    issuer = _require_str(obj, "credential_issuer", _peer, what="metadata")
    if issuer != expected_issuer:
        raise _peer(f"credential_issuer {issuer!r} is not {expected_issuer!r}")
    endpoints: dict[str, str | None] = {}
    for name in (
        "credential_endpoint",
        "nonce_endpoint",
        "deferred_credential_endpoint",
        "notification_endpoint",
    ):
        value = (
            _require_str(obj, name, _peer, what="metadata")
            if name == "credential_endpoint"
            else _optional_str(obj, name, _peer, what="metadata")
        )
        if value is not None:
            try:
                _check_https_url(value, what=name, allow_loopback_http=allow_loopback_http)
            except PasserelleError as exc:
                raise _peer(exc.detail) from exc
        endpoints[name] = value
    servers: tuple[str, ...] = ()
    if "authorization_servers" in obj:
        servers = _string_array(obj["authorization_servers"], _peer, what="authorization_servers")
    batch_size: int | None = None
    if "batch_credential_issuance" in obj:
        batch = obj["batch_credential_issuance"]
        size = batch.get("batch_size") if isinstance(batch, dict) else None
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise _peer("batch_credential_issuance.batch_size must be an integer >= 2")
        batch_size = size
    display: tuple[JsonObject, ...] = ()
    if "display" in obj:
        raw_display = obj["display"]
        if not isinstance(raw_display, list) or not all(isinstance(d, dict) for d in raw_display):
            raise _peer("display is not an array of objects")
        display = tuple(d for d in raw_display if isinstance(d, dict))
    configs = obj.get("credential_configurations_supported")
    if not isinstance(configs, dict) or not configs:
        raise _peer("credential_configurations_supported is missing or empty")
    checked: dict[str, JsonObject] = {}
    for config_id, config in configs.items():
        if not isinstance(config, dict):
            raise _peer(f"configuration {config_id!r} is not an object")
        _check_configuration(config_id, config, _peer)
        checked[config_id] = config
    return CredentialIssuerMetadata(
        credential_issuer=issuer,
        credential_endpoint=endpoints["credential_endpoint"] or "",
        nonce_endpoint=endpoints["nonce_endpoint"],
        deferred_credential_endpoint=endpoints["deferred_credential_endpoint"],
        notification_endpoint=endpoints["notification_endpoint"],
        authorization_servers=servers,
        batch_size=batch_size,
        display=display,
        credential_configurations_supported=checked,
        raw=obj,
    )


def build_authorization_server_metadata(
    *,
    issuer: str,
    token_endpoint: str,
    authorization_endpoint: str | None = None,
    pushed_authorization_request_endpoint: str | None = None,
    require_pushed_authorization_requests: bool = False,
    pre_authorized_grant_anonymous_access_supported: bool = True,
    grant_types_supported: Sequence[str] = (AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT),
    scopes_supported: Sequence[str] | None = None,
    dpop_signing_alg_values_supported: Sequence[str] | None = None,
    token_endpoint_auth_methods_supported: Sequence[str] = ("none",),
) -> JsonObject:
    """RFC 8414 metadata, with ``pre-authorized_grant_anonymous_access_supported`` (§12.3).

    With only the pre-authorized grant, ``response_types_supported`` is omitted, as
    §12.2.4 allows; with the code grant, PKCE ``S256`` and the authorization endpoint
    are announced.
    """
    if require_pushed_authorization_requests and pushed_authorization_request_endpoint is None:
        raise _local("requiring PAR needs a pushed_authorization_request_endpoint")
    code_grant = AUTHORIZATION_CODE_GRANT in grant_types_supported
    if code_grant and authorization_endpoint is None:
        raise _local("the authorization_code grant needs an authorization_endpoint")
    doc: JsonObject = {
        "issuer": issuer,
        "token_endpoint": token_endpoint,
        "grant_types_supported": list(grant_types_supported),
        "token_endpoint_auth_methods_supported": list(token_endpoint_auth_methods_supported),
        "authorization_details_types_supported": [OPENID_CREDENTIAL],
    }
    if PRE_AUTHORIZED_CODE_GRANT in grant_types_supported:
        doc["pre-authorized_grant_anonymous_access_supported"] = (
            pre_authorized_grant_anonymous_access_supported
        )
    if code_grant:
        doc["authorization_endpoint"] = authorization_endpoint
        doc["response_types_supported"] = ["code"]
        doc["code_challenge_methods_supported"] = ["S256"]
        # RFC 9207 (required by HAIP through FAPI 2.0): iss in the authorization response.
        doc["authorization_response_iss_parameter_supported"] = True
    if pushed_authorization_request_endpoint is not None:
        doc["pushed_authorization_request_endpoint"] = pushed_authorization_request_endpoint
        doc["require_pushed_authorization_requests"] = require_pushed_authorization_requests
    if scopes_supported is not None:
        doc["scopes_supported"] = list(scopes_supported)
    if dpop_signing_alg_values_supported is not None:
        doc["dpop_signing_alg_values_supported"] = list(dpop_signing_alg_values_supported)
    return doc
