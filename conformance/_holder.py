"""The suite as a wallet against an issuer target: OpenID4VCI 1.0, pre-authorized code.

Independent of ``services/wallet`` on purpose: the judge must not share the code it
judges. It uses only the pure core (offer parsing, key proofs, JOSE) and the check's
recording client, so every exchange shows up in the report.

Each step is a function of its own, so that the issuer plan can replay one step with
one thing wrong (a wrong ``tx_code``, a proof for another audience) while the others
stay honest. :func:`obtain_credential` strings them together; :func:`obtain_shared`
does it once per run for checks that only read the result.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError
from passerelle.jose import KeySigner, decode_unverified_jws, epoch, public_jwk, sign_jws
from passerelle.oid4vci import (
    PRE_AUTHORIZED_CODE_GRANT,
    PROOF_JWT_TYP,
    CredentialOffer,
    authorization_server_metadata_url,
    create_jwt_proof,
    credential_issuer_metadata_url,
    parse_credential_offer,
)
from passerelle.sd_jwt import RevealedClaim, SdJwt, parse_sd_jwt, process_disclosures
from passerelle.sd_jwt_vc import (
    IssuerKeyPolicy,
    ResolvedIssuerKey,
    jwt_vc_issuer_metadata_url,
    resolve_issuer_key_from,
)

from ._adapters import make_offer
from ._context import CheckContext, Target
from ._identities import has_file_anchor, resolve_anchors
from ._model import CheckError, CheckFailed, CheckSkipped, ErrorClass

__all__ = [
    "DEFERRED_BUDGET_S",
    "SIGNING_ALGORITHMS",
    "Issued",
    "IssuerEndpoints",
    "Offer",
    "UnverifiedCredential",
    "access_token",
    "await_deferred",
    "bearer",
    "credential_request",
    "discover",
    "discover_issuer_key",
    "fresh_nonce",
    "key_proof",
    "new_holder_key",
    "obtain_credential",
    "obtain_shared",
    "read_unverified_jwt",
    "read_unverified_sd_jwt_vc",
    "remember_shared",
    "request_offer",
    "target_configurations",
    "token_request",
]

DEFERRED_BUDGET_S = 10.0
"""How long the suite waits, in all, for a deferred credential."""

SIGNING_ALGORITHMS = ("ES256", "ES384", "EdDSA")
"""What the suite accepts an issuer to sign credentials and status lists with."""


@dataclass(frozen=True, slots=True)
class Issued:
    credentials: tuple[str, ...]
    """As issued: SD-JWT VC compact with its disclosures, or a ``jwt_vc_json`` JWT."""
    format: str
    holder_keys: tuple[ec.EllipticCurvePrivateKey, ...]
    """One per credential, in the same order."""
    configuration: str
    issuer: str
    """The issuer target's name."""
    notification_id: str | None
    access_token: str

    @property
    def credential(self) -> str:
        return self.credentials[0]

    @property
    def holder_key(self) -> ec.EllipticCurvePrivateKey:
        return self.holder_keys[0]


@dataclass(frozen=True, slots=True)
class IssuerEndpoints:
    """What the wallet learns from the two metadata documents."""

    credential_issuer: str
    metadata: Mapping[str, Any]
    """The credential issuer metadata, as served."""
    authorization_server: Mapping[str, Any]
    """The authorization server metadata (RFC 8414), as served."""
    token_endpoint: str
    credential_endpoint: str
    nonce_endpoint: str | None
    deferred_credential_endpoint: str | None
    notification_endpoint: str | None

    def configuration(self, configuration_id: str) -> Mapping[str, Any]:
        configs = self.metadata.get("credential_configurations_supported")
        config = configs.get(configuration_id) if isinstance(configs, dict) else None
        if not isinstance(config, dict):
            raise CheckFailed(
                f"issuer metadata: no credential configuration {configuration_id!r}",
                configuration=configuration_id,
            )
        return config


@dataclass(frozen=True, slots=True)
class Offer:
    """A credential offer the issuer's backchannel made, with what the user would be told."""

    raw: Mapping[str, Any]
    """The ``credential_offer`` object as served."""
    parsed: CredentialOffer
    pre_authorized_code: str
    tx_code: str | None


def target_configurations(issuer: Target) -> list[tuple[str, str]]:
    """(configuration id, persona) of every configuration the targets file names for
    ``issuer``, in file order."""
    configured = issuer.get("configurations") or {}
    if not isinstance(configured, dict):
        raise CheckError(ErrorClass.SUITE, f"targets.{issuer.name}.configurations is not a map")
    out = []
    for configuration, entry in configured.items():
        persona = entry.get("persona") if isinstance(entry, dict) else None
        if not isinstance(persona, str):
            where = f"targets.{issuer.name}.configurations.{configuration}"
            raise CheckError(ErrorClass.SUITE, f"{where}: no persona")
        out.append((str(configuration), persona))
    return out


# --- discovery ---------------------------------------------------------------------------


def _fetch_json(ctx: CheckContext, url: str, step: str) -> dict[str, Any]:
    response = ctx.http.get(url)
    if response.status_code != 200:
        raise CheckFailed(f"{step}: GET {url} answered HTTP {response.status_code}", url=url)
    return ctx.json_object(response, step)


def _endpoint(document: Mapping[str, Any], name: str, step: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise CheckFailed(f"{step}: `{name}` is missing or not a URL", **{name: value})
    return value


def discover(ctx: CheckContext, issuer: Target) -> IssuerEndpoints:
    """Read the credential issuer metadata and its authorization server's metadata.

    Cached for the run once it succeeded: discovery is every flow's first step, and
    the documents do not change between two checks.
    """
    key = f"holder:endpoints:{issuer.name}"
    cached = ctx.shared_state.get(key)
    if isinstance(cached, IssuerEndpoints):
        return cached
    identifier = issuer.url
    metadata = _fetch_json(
        ctx, credential_issuer_metadata_url(identifier), "credential issuer metadata"
    )
    if metadata.get("credential_issuer") != identifier:
        raise CheckFailed(
            f"credential issuer metadata: credential_issuer "
            f"{metadata.get('credential_issuer')!r} is not {identifier!r}"
        )
    step = "credential issuer metadata"
    credential_endpoint = _endpoint(metadata, "credential_endpoint", step, required=True)
    assert credential_endpoint is not None
    servers = metadata.get("authorization_servers")
    # §12.2.4: absent authorization_servers means the issuer is its own AS.
    as_identifier = servers[0] if isinstance(servers, list) and servers else identifier
    if not isinstance(as_identifier, str):
        raise CheckFailed(f"{step}: authorization_servers is not an array of strings")
    as_metadata = _fetch_json(
        ctx, authorization_server_metadata_url(as_identifier), "authorization server metadata"
    )
    token_endpoint = _endpoint(
        as_metadata, "token_endpoint", "authorization server metadata", required=True
    )
    assert token_endpoint is not None
    endpoints = IssuerEndpoints(
        credential_issuer=identifier,
        metadata=metadata,
        authorization_server=as_metadata,
        token_endpoint=token_endpoint,
        credential_endpoint=credential_endpoint,
        nonce_endpoint=_endpoint(metadata, "nonce_endpoint", step, required=False),
        deferred_credential_endpoint=_endpoint(
            metadata, "deferred_credential_endpoint", step, required=False
        ),
        notification_endpoint=_endpoint(metadata, "notification_endpoint", step, required=False),
    )
    ctx.shared_state[key] = endpoints
    return endpoints


# --- offer and token ---------------------------------------------------------------------


def request_offer(
    ctx: CheckContext,
    issuer: Target,
    configuration: str | Sequence[str],
    persona: str,
    *,
    tx_code: bool = True,
) -> Offer:
    """A fresh pre-authorized offer, made the way the target's adapter says (the suite
    cannot scan a QR code)."""
    ids = [configuration] if isinstance(configuration, str) else list(configuration)
    made = make_offer(ctx, issuer, ids, persona, tx_code=tx_code)
    raw, pin = made.raw, made.tx_code
    try:
        parsed = parse_credential_offer(raw, allow_loopback_http=ctx.suite.allow_insecure_loopback)
    except PasserelleError as exc:
        raise CheckFailed(f"credential offer: {exc.detail}", reason=str(exc.reason)) from exc
    pre = parsed.grants.pre_authorized_code if parsed.grants else None
    if pre is None:
        raise CheckFailed("credential offer: no pre-authorized_code grant")
    if tx_code and pre.tx_code is not None and not isinstance(pin, str):
        raise CheckFailed("offer adapter: the offer asks for a tx_code but none was given")
    return Offer(
        raw=raw,
        parsed=parsed,
        pre_authorized_code=pre.pre_authorized_code,
        tx_code=pin if isinstance(pin, str) else None,
    )


def token_request(
    ctx: CheckContext, endpoints: IssuerEndpoints, form: Mapping[str, str]
) -> httpx.Response:
    return ctx.http.post(endpoints.token_endpoint, data=dict(form))


def access_token(ctx: CheckContext, endpoints: IssuerEndpoints, offer: Offer) -> str:
    """Redeem the offer's pre-authorized code (with its tx_code) for an access token."""
    form = {
        "grant_type": PRE_AUTHORIZED_CODE_GRANT,
        "pre-authorized_code": offer.pre_authorized_code,
    }
    if offer.tx_code is not None:
        form["tx_code"] = offer.tx_code
    response = token_request(ctx, endpoints, form)
    if response.status_code != 200:
        raise CheckFailed(
            f"token endpoint: redeeming a fresh pre-authorized code answered HTTP "
            f"{response.status_code}",
            body=response.text[:500],
        )
    body = ctx.json_object(response, "token response")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise CheckFailed("token endpoint: the response has no access_token")
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- nonce, proofs, credential -----------------------------------------------------------


def fresh_nonce(ctx: CheckContext, endpoints: IssuerEndpoints) -> str | None:
    """A ``c_nonce`` from the nonce endpoint; None when the issuer has none (§7)."""
    if endpoints.nonce_endpoint is None:
        return None
    response = ctx.http.post(endpoints.nonce_endpoint)
    if response.status_code != 200:
        raise CheckFailed(f"nonce endpoint: answered HTTP {response.status_code}")
    value = ctx.json_object(response, "nonce response").get("c_nonce")
    if not isinstance(value, str) or not value:
        raise CheckFailed("nonce endpoint: the response has no c_nonce string")
    return value


def new_holder_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_proof(
    key: ec.EllipticCurvePrivateKey,
    *,
    audience: str,
    nonce: str | None,
    now: datetime,
    typ: str = PROOF_JWT_TYP,
    signer_key: ec.EllipticCurvePrivateKey | None = None,
) -> str:
    """A ``jwt`` key proof (Appendix F.1) for ``key``.

    ``typ`` and ``signer_key`` exist for the negatives: another type, or a signature
    by a key other than the one in the header.
    """
    if typ == PROOF_JWT_TYP and signer_key is None:
        return create_jwt_proof(
            signer=KeySigner(key),
            holder_jwk=public_jwk(key),
            audience=audience,
            nonce=nonce,
            now=now,
        )
    claims: dict[str, Any] = {"aud": audience, "iat": epoch(now)}
    if nonce is not None:
        claims["nonce"] = nonce
    return sign_jws({"typ": typ, "jwk": public_jwk(key)}, claims, KeySigner(signer_key or key))


def credential_request(
    ctx: CheckContext,
    endpoints: IssuerEndpoints,
    token: str | None,
    body: Mapping[str, Any],
) -> httpx.Response:
    headers = bearer(token) if token is not None else {}
    return ctx.http.post(endpoints.credential_endpoint, json=dict(body), headers=headers)


def await_deferred(
    ctx: CheckContext,
    endpoints: IssuerEndpoints,
    token: str,
    answer: Mapping[str, Any],
    *,
    budget_s: float = DEFERRED_BUDGET_S,
) -> dict[str, Any]:
    """Poll the deferred credential endpoint until it issues, honouring ``interval``."""
    transaction_id = answer.get("transaction_id")
    if not isinstance(transaction_id, str) or not transaction_id:
        raise CheckFailed("credential endpoint: HTTP 202 without a transaction_id")
    if endpoints.deferred_credential_endpoint is None:
        raise CheckFailed("issuer metadata: deferred issuance without deferred_credential_endpoint")
    deadline = time.monotonic() + budget_s
    interval = answer.get("interval", 5)
    while True:
        wait = float(interval) if isinstance(interval, int | float) and interval > 0 else 5.0
        if time.monotonic() + wait > deadline:
            # Waiting as asked is what a wallet SHOULD do; a long review is no fault.
            raise CheckSkipped(
                f"deferred issuance asks to wait {wait:.0f} s more, beyond the suite's "
                f"{budget_s:.0f} s budget"
            )
        time.sleep(wait)
        response = ctx.http.post(
            endpoints.deferred_credential_endpoint,
            json={"transaction_id": transaction_id},
            headers=bearer(token),
        )
        body = ctx.json_object(response, "deferred credential response")
        if response.status_code == 200:
            return body
        if response.status_code != 202:
            raise CheckFailed(
                f"deferred credential endpoint: answered HTTP {response.status_code} "
                f"(error {body.get('error')!r})"
            )
        interval = body.get("interval", interval)


def _credentials_of(body: Mapping[str, Any], step: str) -> tuple[str, ...]:
    items = body.get("credentials")
    if not isinstance(items, list) or not items:
        raise CheckFailed(f"{step}: the response has no non-empty `credentials` array")
    out = []
    for item in items:
        value = item.get("credential") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            raise CheckFailed(f"{step}: a `credentials` entry has no `credential` string")
        out.append(value)
    return tuple(out)


def obtain_credential(
    ctx: CheckContext, issuer: Target, configuration: str, persona: str, *, batch: int = 1
) -> Issued:
    """The whole pre-authorized flow, honest: offer, token, nonce, ``batch`` key proofs,
    credential (deferred if the issuer says so). Raises CheckFailed naming the step."""
    endpoints = discover(ctx, issuer)
    config = endpoints.configuration(configuration)
    offer = request_offer(ctx, issuer, configuration, persona)
    token = access_token(ctx, endpoints, offer)
    nonce = fresh_nonce(ctx, endpoints)
    keys = tuple(new_holder_key() for _ in range(batch))
    now = ctx.now()
    proofs = [
        key_proof(k, audience=endpoints.credential_issuer, nonce=nonce, now=now) for k in keys
    ]
    response = credential_request(
        ctx,
        endpoints,
        token,
        {"credential_configuration_id": configuration, "proofs": {"jwt": proofs}},
    )
    if response.status_code not in (200, 202):
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None
        raise CheckFailed(
            f"credential endpoint: an honest request for {configuration!r} answered HTTP "
            f"{response.status_code} (error {error!r})",
            body=response.text[:500],
        )
    body = ctx.json_object(response, "credential response")
    step = "credential response"
    if response.status_code == 202:
        body = await_deferred(ctx, endpoints, token, body)
        step = "deferred credential response"
    credentials = _credentials_of(body, step)
    if len(credentials) != batch:
        raise CheckFailed(
            f"{step}: {batch} key proofs were sent, {len(credentials)} credentials came back"
        )
    notification_id = body.get("notification_id")
    fmt = config.get("format")
    if not isinstance(fmt, str):
        raise CheckError(ErrorClass.UNPARSEABLE, f"configuration {configuration!r} has no format")
    return Issued(
        credentials=credentials,
        format=fmt,
        holder_keys=keys,
        configuration=configuration,
        issuer=issuer.name,
        notification_id=notification_id if isinstance(notification_id, str) else None,
        access_token=token,
    )


def _shared_key(issuer_name: str, configuration: str, persona: str) -> str:
    return f"holder:issued:{issuer_name}:{configuration}:{persona}"


def obtain_shared(
    ctx: CheckContext,
    issuer_name: str,
    configuration: str,
    persona: str,
    *,
    prerequisite: bool = True,
) -> Issued:
    """:func:`obtain_credential` once per run for (issuer, configuration, persona).

    With ``prerequisite`` (the default) a failed issuance skips the calling check,
    naming the cause; the check that owns issuance passes ``prerequisite=False`` and
    reports the failure itself.
    """
    issuer = ctx.targets.get(issuer_name)
    if issuer is None:
        raise CheckError(ErrorClass.SUITE, f"no target {issuer_name!r} in the targets file")
    return ctx.shared(
        _shared_key(issuer_name, configuration, persona),
        lambda: obtain_credential(ctx, issuer, configuration, persona),
        prerequisite=prerequisite,
    )


def remember_shared(ctx: CheckContext, issued: Issued, persona: str) -> None:
    """Offer a credential a check obtained its own way (a deferred flow, say) to later
    :func:`obtain_shared` callers, so that the run does not wait for it twice."""
    ctx.shared_state.setdefault(_shared_key(issued.issuer, issued.configuration, persona), issued)


# --- reading what was issued --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnverifiedCredential:
    """An issued credential taken apart, its signature NOT checked.

    The checks that judge content read it this way on purpose: a bad signature is
    one finding (the signature check's), not a reason for every content check to fail.
    """

    header: Mapping[str, Any]
    payload: Mapping[str, Any]
    """As signed: for an SD-JWT, with ``_sd`` digests and without the disclosures."""
    claims: Mapping[str, Any]
    """For an SD-JWT, every disclosure processed in; otherwise the payload."""
    revealed: tuple[RevealedClaim, ...] = ()
    sd_jwt: SdJwt | None = None


def read_unverified_sd_jwt_vc(credential: str) -> UnverifiedCredential:
    """Split an SD-JWT VC and process all its disclosures, or fail saying what is wrong."""
    try:
        parsed = parse_sd_jwt(credential)
        payload = parsed.unverified_payload()
        processed = process_disclosures(parsed, payload)
    except PasserelleError as exc:
        raise CheckFailed(f"the credential is not a well-formed SD-JWT: {exc.detail}") from exc
    return UnverifiedCredential(
        header=parsed.issuer_jwt.header,
        payload=payload,
        claims=processed.claims,
        revealed=processed.revealed,
        sd_jwt=parsed,
    )


def read_unverified_jwt(credential: str) -> UnverifiedCredential:
    try:
        jws = decode_unverified_jws(credential, what="credential")
        payload = jws.payload_json(what="credential payload")
    except PasserelleError as exc:
        raise CheckFailed(f"the credential is not a well-formed JWT: {exc.detail}") from exc
    return UnverifiedCredential(header=jws.header, payload=payload, claims=payload)


# --- the issuer's key, as its key_discovery setting says ------------------------------------


def _anchors(ctx: CheckContext, issuer: Target) -> list[x509.Certificate]:
    # Imported here: the service layer's PKI reader is needed only for x5c targets.
    from passerelle.services.pki import load_pki

    names = issuer.require("trust_anchors")
    what = f"trust_anchors of {issuer.name}"
    if has_file_anchor(names):
        return resolve_anchors(names, by_name=None, what=what)
    if ctx.suite.pki_dir is None:
        raise CheckError(ErrorClass.SUITE, "x5c discovery needs `suite.pki` in the targets file")
    key = "holder:pki"
    pki = ctx.shared_state.get(key)
    if pki is None:
        try:
            pki = load_pki(ctx.suite.pki_dir, now=ctx.now())
        except (PasserelleError, OSError) as exc:
            raise CheckError(ErrorClass.SUITE, f"cannot read the suite's PKI: {exc}") from exc
        ctx.shared_state[key] = pki
    try:
        return resolve_anchors(names, by_name=pki.anchor, what=what)
    except (PasserelleError, KeyError) as exc:
        raise CheckError(ErrorClass.SUITE, f"{what}: {exc}") from exc


def _jwt_vc_issuer_metadata(ctx: CheckContext, iss: str) -> dict[str, Any]:
    key = f"holder:jwt-vc-issuer:{iss}"
    cached = ctx.shared_state.get(key)
    if isinstance(cached, dict):
        return cached
    try:
        url = jwt_vc_issuer_metadata_url(
            iss, allow_insecure_loopback=ctx.suite.allow_insecure_loopback
        )
    except PasserelleError as exc:
        raise CheckFailed(f"JWT VC Issuer Metadata: {exc.detail}") from exc
    document = _fetch_json(ctx, url, "JWT VC Issuer Metadata")
    if "jwks" not in document and isinstance(document.get("jwks_uri"), str):
        document = {**document, "jwks": _fetch_json(ctx, document["jwks_uri"], "issuer JWK Set")}
    ctx.shared_state[key] = document
    return document


def discover_issuer_key(
    ctx: CheckContext, issuer: Target, header: Mapping[str, Any], payload: Mapping[str, Any]
) -> ResolvedIssuerKey:
    """The key that must have signed a credential of ``issuer``, found the way the
    targets file says the issuer publishes it (``key_discovery``), and validated:
    an ``x5c`` chain must end at one of the target's ``trust_anchors``; metadata must
    be served at the ``iss`` of the credential, which must be the issuer's identifier."""
    method = issuer.require("key_discovery")
    iss = payload.get("iss")
    try:
        if method == "x5c":
            if header.get("x5c") is None:
                raise CheckFailed("key discovery is x5c, but the credential header has no x5c")
            policy = IssuerKeyPolicy(x5c_anchors=_anchors(ctx, issuer))
            return resolve_issuer_key_from(
                iss=iss, x5c=header.get("x5c"), kid=header.get("kid"), policy=policy, now=ctx.now()
            )
        if method == "jwt-vc-issuer-metadata":
            if iss != issuer.url:
                raise CheckFailed(
                    f"iss {iss!r} is not the credential issuer {issuer.url!r}, so JWT VC "
                    "Issuer Metadata cannot bind the key to this issuer"
                )
            policy = IssuerKeyPolicy(
                issuer_metadata={issuer.url: _jwt_vc_issuer_metadata(ctx, issuer.url)},
                allow_insecure_loopback=ctx.suite.allow_insecure_loopback,
            )
            return resolve_issuer_key_from(
                iss=iss, x5c=None, kid=header.get("kid"), policy=policy, now=ctx.now()
            )
    except PasserelleError as exc:
        raise CheckFailed(
            f"issuer key discovery ({method}): {exc.detail}", reason=str(exc.reason)
        ) from exc
    raise CheckError(ErrorClass.SUITE, f"{issuer.name}: unknown key_discovery {method!r}")
