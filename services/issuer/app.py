"""The issuer service: OpenID4VCI 1.0 over HTTP, for any profile.

Routes translate HTTP into core calls (``passerelle.oid4vci``) and persist what the
protocol must remember; what goes into a credential is :mod:`.credentials`' business.
Everything a wallet is handed (offers, codes, nonces, tokens, transaction ids) lives
in the store, so a restart between two steps of a flow loses nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form, Header, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason, __version__
from passerelle._json import b64url_encode
from passerelle.catalog import resolve_type_metadata
from passerelle.jose import decode_unverified_jws, load_public_jwk, public_jwk
from passerelle.oid4vci import (
    SPEC_VERSION,
    IssuanceEvent,
    IssuanceState,
    advance,
    build_authorization_server_metadata,
    build_credential_issuer_metadata,
    build_jwt_vc_json_configuration,
    build_sd_jwt_vc_configuration,
    check_pre_authorized_code,
    credential_offer_uri_link,
    credential_offer_value_link,
    credential_response,
    deferred_response,
    grant_credential_identifiers,
    make_authorization_code,
    make_c_nonce,
    make_pre_authorized_code,
    make_tx_code,
    nonce_response,
    offer_to_json,
    parse_authorization_details,
    parse_authorization_request,
    parse_credential_offer,
    parse_credential_request,
    parse_deferred_request,
    parse_notification_request,
    parse_token_request,
    read_unverified_proof_nonce,
    requested_configuration_ids,
    token_response,
    verify_jwt_proof,
    verify_pkce,
)
from passerelle.sd_jwt_vc import SPEC_VERSION as SD_JWT_VC_VERSION
from passerelle.services.catalog import Catalog, load_catalog
from passerelle.services.openapi import (
    CREDENTIAL_REQUEST,
    CREDENTIAL_RESPONSES,
    NONCE_RESPONSES,
    PAR_FORM,
    TOKEN_FORM,
    TOKEN_RESPONSES,
)
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.status import StatusListService
from passerelle.services.storage import Store, open_store
from passerelle.services.web import (
    NO_STORE,
    backchannel_guard,
    health_body,
    install_edge,
    protect_backchannel,
)
from passerelle.status_list import StatusPurpose, StatusValue

from .credentials import CredentialFactory
from .dcp import (
    BitstringStatusLists,
    change_bitstring_status,
    create_dcp_issuer,
    install_dcp_routes,
)
from .pages import index_page, login_page, offer_page
from .profile import CredentialConfiguration, IssuerProfile, load_profile
from .quirks import IssuerQuirk, behaviour_for

__all__ = ["create_issuer_app"]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"
CODE_LIFETIME = timedelta(minutes=10)
PAR_LIFETIME = timedelta(seconds=90)
TOKEN_LIFETIME = timedelta(hours=1)
NONCE_LIFETIME = timedelta(minutes=5)
PROOF_MAX_AGE = timedelta(minutes=5)
SKEW = timedelta(seconds=30)
TX_CODE_ATTEMPTS = 3
"""Wrong tx_codes one pre-authorized code survives (counted in the store)."""


def _token(random: RandomSource, n: int = 24) -> str:
    return b64url_encode(random.token_bytes(n))


class OfferBody(BaseModel):
    """``POST /offers``: typed strictly, so a wrong type is ``input.malformed``, not coerced."""

    model_config = ConfigDict(strict=True, extra="forbid")

    credential_configuration_ids: list[str]
    persona: str = ""
    tx_code: bool = False
    grant: Literal["pre-authorized_code", "authorization_code"] = "pre-authorized_code"


def _stored(value: JsonValue) -> dict[str, Any] | None:
    """A row this service wrote itself, read back from the store (None if absent)."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _admin_token(data_dir: Path, profile: IssuerProfile) -> str:
    """The admin API's bearer token: from the environment, or made once per data dir."""
    configured = os.environ.get("PASSERELLE_ADMIN_TOKEN")
    if configured:
        return configured
    path = data_dir / profile.id / "admin-token"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _configuration_metadata(
    config: CredentialConfiguration, profile: IssuerProfile, catalog: Catalog
) -> JsonObject:
    """A configuration's metadata, its display and claims taken from the type metadata."""
    ctype = catalog.types[config.type_id]
    resolved = resolve_type_metadata(ctype.vct, documents=catalog.type_metadata_documents)
    display: list[JsonObject] = [
        {
            "name": d.name,
            "locale": d.locale,
            **({"description": d.description} if d.description else {}),
        }
        for d in resolved.display
    ]
    claims: list[JsonObject] = [
        {
            "path": list(c.path),
            "display": [{"name": d.label, "locale": d.locale} for d in c.display or ()],
            **({"mandatory": c.mandatory} if c.mandatory is not None else {}),
        }
        for c in resolved.claims
    ]
    proof_algs = list(profile.proof_signing_alg_values)
    if config.format == "jwt_vc_json":
        assert config.w3c_type is not None
        return build_jwt_vc_json_configuration(
            types=["VerifiableCredential", config.w3c_type],
            scope=config.id,
            proof_algs=proof_algs,
            display=display,
            claims=claims,
        )
    return build_sd_jwt_vc_configuration(
        vct=config.vct, scope=config.id, proof_algs=proof_algs, display=display, claims=claims
    )


def create_issuer_app(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None = None,
    quirks: frozenset[IssuerQuirk] | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
) -> FastAPI:
    rng = random or SecretsRandom()
    catalog = load_catalog()
    profile = load_profile(profile_name, catalog=catalog, quirks=quirks)
    pki = load_pki(data_dir, now=clock())
    base = pki.hosts[profile.host_role]
    store: Store = open_store(store_url or f"sqlite://{data_dir / profile.id / 'store.db'}")
    behaviour = behaviour_for(profile.quirks)
    uses_x5c = profile.key_discovery == "x5c"
    # One status list per signing key: a verifier accepts a status list only when it is
    # signed by the key that signed the credential.
    statuses = {
        key: StatusListService(
            store=store,
            list_id=f"{profile.id}_{key}".replace("-", "_"),
            uri=f"{base}/status/{key}",
            signer=pki.signer(key),
            random=rng,
            x5c=pki.x5c(key) if uses_x5c else None,
            kid=None if uses_x5c else str(pki.jwk(key)["kid"]),
            issuer=base,
        )
        for key in sorted({c.signing_key for c in profile.configurations.values()})
    }
    # W3C credentials (jwt_vc_json) are revoked through W3C Bitstring Status Lists, one
    # pair (revocation, suspension) per signing key, signed like the credentials.
    w3c_statuses = {
        key: BitstringStatusLists(
            store=store,
            name=f"{profile.id}_{key}_w3c",
            base_url=f"{base}/w3c/{key}",
            issuer=base,
            kid=str(pki.jwk(key)["kid"]),
            signer=pki.signer(key),
            random=rng,
        )
        for key in sorted(
            {c.signing_key for c in profile.configurations.values() if c.format == "jwt_vc_json"}
        )
    }
    factory = CredentialFactory(
        profile=profile,
        catalog=catalog,
        pki=pki,
        base_url=base,
        random=rng,
        behaviour=behaviour,
        statuses=statuses,
        rogue_key=ec.generate_private_key(ec.SECP256R1()),
        w3c_statuses=w3c_statuses,
    )
    # The data-space path (VCDM 2.0 vc+jwt for did:web holders), if the profile has one.
    dcp = create_dcp_issuer(
        profile=profile, catalog=catalog, pki=pki, base_url=base, store=store, random=rng
    )
    admin_token = _admin_token(data_dir, profile)
    issuer_name = next((str(d.get("name")) for d in profile.display), profile.id)
    configurations = {
        cid: _configuration_metadata(c, profile, catalog)
        for cid, c in profile.configurations.items()
    }
    versions: JsonObject = {
        "openid4vci": SPEC_VERSION,
        "sd_jwt": "RFC 9901",
        "sd_jwt_vc": SD_JWT_VC_VERSION,
        "status_list": "draft-ietf-oauth-status-list (statuslist+jwt)",
    }
    if dcp is not None:
        versions.update(dcp.versions)
    metadata = build_credential_issuer_metadata(
        credential_issuer=base,
        credential_endpoint=f"{base}/credential",
        nonce_endpoint=f"{base}/nonce" if behaviour.announce_nonce_endpoint else None,
        deferred_credential_endpoint=f"{base}/deferred_credential",
        notification_endpoint=f"{base}/notification",
        authorization_servers=None,
        display=list(profile.display),
        credential_configurations=configurations,
        batch_size=profile.batch_size,
    )
    # Draft drift is the commonest interop failure: say the versions out loud, in a
    # member of our own that wallets ignore (§12.2.4 lets metadata carry more).
    metadata["passerelle_versions"] = versions
    as_metadata = build_authorization_server_metadata(
        issuer=base,
        authorization_endpoint=f"{base}/authorize",
        token_endpoint=f"{base}/token",
        pushed_authorization_request_endpoint=f"{base}/par",
        require_pushed_authorization_requests=True,
        scopes_supported=list(profile.configurations),
    )

    app = FastAPI(title=f"Passerelle issuer ({profile.id})", version=__version__)
    install_edge(
        app,
        service=f"issuer:{profile.id}",
        # OpenID4VCI 1.0 §8.3.1.2: a malformed Credential Request is this code.
        wire_errors={
            "/credential": "invalid_credential_request",
            "/deferred_credential": "invalid_credential_request",
        },
    )
    # Whoever can make an offer gets its tx_code: outside loopback development, making
    # offers takes the admin token.
    protect_backchannel(
        app,
        backchannel_guard(
            hosts=pki.hosts,
            token_file=data_dir / profile.id / "admin-token",
            env="PASSERELLE_ADMIN_TOKEN",
        ),
        paths=("/offers", "/offers/form"),
    )
    app.state.store = store

    def no_store(body: JsonObject, status_code: int = 200) -> JSONResponse:
        return JSONResponse(
            body, status_code=status_code, headers=dict(NO_STORE) if behaviour.no_store else {}
        )

    def personas_for(config_ids: list[str]) -> list[str]:
        types = {profile.configurations[c].type_id for c in config_ids}
        common = set.intersection(*(set(catalog.types[t].samples) for t in types))
        return sorted(common)

    # --- metadata and health -----------------------------------------------------------

    @app.get("/.well-known/openid-credential-issuer")
    def issuer_metadata() -> JSONResponse:
        return JSONResponse(metadata)

    @app.get("/.well-known/oauth-authorization-server")
    def authorization_server_metadata() -> JSONResponse:
        return JSONResponse(as_metadata)

    @app.get("/.well-known/jwt-vc-issuer")
    def jwt_vc_issuer_metadata() -> JSONResponse:
        keys = [pki.jwk(c.signing_key) for c in profile.configurations.values()]
        unique = list({str(k["kid"]): k for k in keys}.values())
        return JSONResponse({"issuer": base, "jwks": {"keys": unique}})

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        return JSONResponse(
            health_body(
                service="issuer",
                profile=profile.id,
                request=request,
                versions=versions,
            )
            | {"quirks": sorted(profile.quirks)}
        )

    # --- offers --------------------------------------------------------------------------

    def create_offer(
        config_ids: list[str], persona: str, *, tx_code: bool, grant: str
    ) -> JsonObject:
        unknown = [c for c in config_ids if c not in profile.configurations]
        if not config_ids or unknown:
            raise PasserelleError(Reason.INPUT_MALFORMED, f"unknown configurations {unknown}")
        if persona not in personas_for(config_ids):
            raise PasserelleError(
                Reason.INPUT_MALFORMED, f"no persona {persona!r} for {config_ids}"
            )
        now = clock()
        ids: list[JsonValue] = list(config_ids)
        offer_id = _token(rng, 12)
        grants: JsonObject = {}
        code: str | None = None
        pin: str | None = None
        if grant == "authorization_code":
            grants["authorization_code"] = {"issuer_state": offer_id}
        else:
            code = make_pre_authorized_code(rng)
            # Uniform digits (the core's), not a modulo of random bytes.
            pin = make_tx_code(rng) if tx_code else None
            pre: JsonObject = {"pre-authorized_code": code}
            if pin is not None:
                pre["tx_code"] = {
                    "input_mode": "numeric",
                    "length": 6,
                    "description": "Code sent by SMS",
                }
            grants[PRE_AUTHORIZED_GRANT] = pre
            store.put(
                "pre_codes",
                code,
                {
                    "offer": offer_id,
                    "tx_code": pin,
                    "configs": ids,
                    "persona": persona,
                    "state": IssuanceState.OFFERED.value,
                },
                expires_at=now + CODE_LIFETIME,
            )
        # Built through the parser a wallet uses: we never hand out what we would refuse.
        offer = parse_credential_offer(
            {
                "credential_issuer": base,
                "credential_configuration_ids": ids,
                "grants": grants,
            },
            allow_loopback_http=True,
        )
        body = offer_to_json(offer)
        store.put(
            "offers",
            offer_id,
            {"offer": body, "persona": persona, "configs": ids},
            expires_at=now + CODE_LIFETIME,
        )
        offer_uri = f"{base}/offers/{offer_id}"
        links: JsonObject = {
            scheme: credential_offer_uri_link(offer_uri, scheme=scheme)
            for scheme in profile.offer_schemes
        }
        return {
            "offer_id": offer_id,
            "credential_offer": body,
            "credential_offer_uri": offer_uri,
            "links": links,
            "links_by_value": {
                s: credential_offer_value_link(offer, scheme=s) for s in profile.offer_schemes
            },
            "tx_code": pin,
            "page": f"{offer_uri}/page",
        }

    @app.post("/offers", status_code=201)
    def post_offer(body: OfferBody) -> JSONResponse:
        result = create_offer(
            body.credential_configuration_ids,
            body.persona,
            tx_code=body.tx_code,
            grant=body.grant,
        )
        return JSONResponse(result, status_code=201, headers=dict(NO_STORE))

    @app.post("/offers/form")
    def post_offer_form(
        configuration_id: Annotated[str, Form()],
        persona: Annotated[str, Form()],
        tx_code: Annotated[str | None, Form()] = None,
    ) -> RedirectResponse:
        result = create_offer(
            [configuration_id], persona, tx_code=tx_code == "1", grant="pre-authorized_code"
        )
        return RedirectResponse(str(result["page"]), status_code=303)

    @app.get("/offers/{offer_id}")
    def get_offer(offer_id: str) -> JSONResponse:
        entry = _stored(store.get("offers", offer_id, now=clock()))
        if not isinstance(entry, dict):
            return JSONResponse(
                {"error": "not_found", "reason": "oid4vci.offer_unknown"}, status_code=404
            )
        return no_store(entry["offer"])

    @app.get("/offers/{offer_id}/page", response_class=HTMLResponse)
    def offer_html(offer_id: str) -> HTMLResponse:
        entry = _stored(store.get("offers", offer_id, now=clock()))
        if not isinstance(entry, dict):
            return HTMLResponse("<h1>Offer expired or unknown</h1>", status_code=404)
        offer_uri = f"{base}/offers/{offer_id}"
        links = {s: credential_offer_uri_link(offer_uri, scheme=s) for s in profile.offer_schemes}
        grants = entry["offer"].get("grants", {})
        code = grants.get(PRE_AUTHORIZED_GRANT, {}).get("pre-authorized_code")
        pin = None
        if code:
            pre = _stored(store.get("pre_codes", code, now=clock()))
            pin = pre.get("tx_code") if isinstance(pre, dict) else None
        return HTMLResponse(
            offer_page(
                issuer_name=issuer_name, links=links, tx_code=pin, configurations=entry["configs"]
            ),
            headers=dict(NO_STORE),
        )

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(
            index_page(
                issuer_name=issuer_name,
                configurations={cid: personas_for([cid]) for cid in profile.configurations},
            )
        )

    # --- authorization code flow: PAR, mock login ----------------------------------------

    @app.post("/par", status_code=201, openapi_extra=PAR_FORM)
    async def par(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        auth = parse_authorization_request(form)
        configs = list(requested_configuration_ids(auth, credential_configurations=configurations))
        if not configs:
            raise PasserelleError(
                Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID,
                "the request names no credential configuration of this issuer",
                wire_error="invalid_scope",
            )
        ref = _token(rng)
        store.put(
            "par",
            ref,
            {"request": dict[str, JsonValue](form), "configs": list[JsonValue](configs)},
            expires_at=clock() + PAR_LIFETIME,
        )
        return no_store(
            {"request_uri": PAR_PREFIX + ref, "expires_in": int(PAR_LIFETIME.total_seconds())}, 201
        )

    def pushed(request_uri: str) -> dict[str, Any]:
        entry = store.get("par", request_uri.removeprefix(PAR_PREFIX), now=clock())
        if not request_uri.startswith(PAR_PREFIX) or not isinstance(entry, dict):
            raise PasserelleError(
                Reason.INPUT_MALFORMED,
                "unknown or expired request_uri",
                wire_error="invalid_request",
            )
        return entry

    @app.get("/authorize", response_class=HTMLResponse)
    def authorize(request_uri: str, client_id: str) -> HTMLResponse:
        entry = pushed(request_uri)
        if entry["request"].get("client_id") != client_id:
            raise PasserelleError(
                Reason.INPUT_MALFORMED,
                "client_id differs from the pushed request",
                wire_error="invalid_request",
            )
        personas = {p: p.replace("-", " ").title() for p in personas_for(entry["configs"])}
        return HTMLResponse(
            login_page(
                issuer_name=issuer_name,
                request_uri=request_uri,
                personas=personas,
                action=f"{base}/authorize",
            )
        )

    @app.post("/authorize")
    def login(
        request_uri: Annotated[str, Form()], persona: Annotated[str, Form()]
    ) -> RedirectResponse:
        entry = pushed(request_uri)
        store.delete("par", request_uri.removeprefix(PAR_PREFIX))
        req = entry["request"]
        if persona not in personas_for(entry["configs"]):
            raise PasserelleError(
                Reason.INPUT_MALFORMED, f"unknown persona {persona!r}", wire_error="invalid_request"
            )
        code = make_authorization_code(rng)
        store.put(
            "auth_codes",
            code,
            {
                "configs": entry["configs"],
                "persona": persona,
                "client_id": req.get("client_id"),
                "redirect_uri": req.get("redirect_uri"),
                "code_challenge": req.get("code_challenge"),
                # §6.2: details asked for here are answered in the Token Response.
                "authorization_details": req.get("authorization_details"),
                "state": IssuanceState.CODE_ISSUED.value,
            },
            expires_at=clock() + CODE_LIFETIME,
        )
        query = {"code": code, "iss": base, **({"state": req["state"]} if req.get("state") else {})}
        return RedirectResponse(f"{req['redirect_uri']}?{urlencode(query)}", status_code=303)

    # --- token, nonce --------------------------------------------------------------------

    def redeem_pre_authorized_code(req: Any, now: datetime) -> dict[str, Any]:
        """Check the code and its tx_code in one atomic step of the store.

        A wrong tx_code does not burn the offer: the person may have mistyped it. It
        counts, in the store (so across replicas and restarts), and after
        ``TX_CODE_ATTEMPTS`` wrong codes the pre-authorized code is dead. OpenID4VCI 1.0
        §6.3 answers a wrong code with ``invalid_grant`` and sets no limit; a six-digit
        code with no limit is guessed in minutes."""
        code = req.pre_authorized_code
        assert code is not None
        gone = PasserelleError(
            Reason.OID4VCI_GRANT_INVALID,
            "pre-authorized code unknown, used or expired",
            wire_error="invalid_grant",
        )
        if not isinstance(store.get("pre_codes", code, now=now), dict):
            raise gone
        verdict: dict[str, Any] = {}

        def attempt(row: Any) -> Any:
            verdict.clear()  # the store may call this more than once; the last call counts
            if not isinstance(row, dict) or row.get("redeemed"):
                verdict["error"] = gone
                return row
            if int(row.get("tx_code_failures", 0)) >= TX_CODE_ATTEMPTS:
                verdict["error"] = PasserelleError(
                    Reason.OID4VCI_TX_CODE_ATTEMPTS_EXHAUSTED,
                    f"{TX_CODE_ATTEMPTS} wrong tx_codes: this offer is no longer redeemable",
                    wire_error="invalid_grant",
                )
                return row
            try:
                advance(IssuanceState(row["state"]), IssuanceEvent.REDEEM_PRE_AUTHORIZED_CODE)
                expected = row["tx_code"] if behaviour.check_tx_code else req.tx_code
                check_pre_authorized_code(req, expected_tx_code=expected)
            except PasserelleError as exc:
                verdict["error"] = exc
                if exc.reason is Reason.OID4VCI_TX_CODE_MISMATCH:
                    return {**row, "tx_code_failures": int(row.get("tx_code_failures", 0)) + 1}
                return row
            verdict["entry"] = row
            return {**row, "redeemed": True} if behaviour.single_use_codes else row

        store.update("pre_codes", code, attempt, now=now)
        if verdict.get("error") is gone:
            # Expired or taken between the look-up and the update: the update wrote an
            # empty row without expiry under this key, which must not stay.
            store.delete("pre_codes", code)
        if "error" in verdict:
            raise verdict["error"]
        if behaviour.single_use_codes:
            store.delete("pre_codes", code)
        return cast("dict[str, Any]", verdict["entry"])

    @app.post("/token", openapi_extra=TOKEN_FORM, responses=TOKEN_RESPONSES)
    async def token(request: Request) -> JSONResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        req = parse_token_request(form)
        now = clock()
        entry: dict[str, Any] | None
        if req.grant_type == PRE_AUTHORIZED_GRANT:
            entry = redeem_pre_authorized_code(req, now)
        else:
            assert req.code is not None
            entry = _stored(store.take("auth_codes", req.code, now=now))
            if not isinstance(entry, dict):
                raise PasserelleError(
                    Reason.OID4VCI_GRANT_INVALID,
                    "authorization code unknown, used or expired",
                    wire_error="invalid_grant",
                )
            advance(IssuanceState(entry["state"]), IssuanceEvent.REDEEM_CODE)
            if req.client_id is not None and req.client_id != entry.get("client_id"):
                # RFC 6749 §4.1.3: the code was issued to another client.
                raise PasserelleError(
                    Reason.OID4VCI_GRANT_INVALID,
                    "the code was issued to another client",
                    wire_error="invalid_grant",
                )
            if req.redirect_uri != entry["redirect_uri"]:
                raise PasserelleError(
                    Reason.OID4VCI_GRANT_INVALID, "redirect_uri differs", wire_error="invalid_grant"
                )
            verify_pkce(req.code_verifier or "", str(entry["code_challenge"]))
        details = req.authorization_details
        if not details and entry.get("authorization_details"):
            details = parse_authorization_details(str(entry["authorization_details"]))
        granted = (
            grant_credential_identifiers(details, granted=entry["configs"], random=rng)
            if details
            else None
        )
        access = _token(rng, 32)
        store.put(
            "tokens",
            access,
            {
                "configs": entry["configs"],
                "identifiers": dict(granted.identifiers) if granted else None,
                "persona": entry["persona"],
                "state": IssuanceState.TOKEN_ISSUED.value,
                # Key proofs must then name this client in iss, or omit iss when the
                # pre-authorized grant was used anonymously (Appendix F.1).
                "client_id": entry.get("client_id") if req.code is not None else req.client_id,
            },
            expires_at=now + TOKEN_LIFETIME,
        )
        return no_store(
            token_response(
                access,
                expires_in=int(TOKEN_LIFETIME.total_seconds()),
                authorization_details=granted.authorization_details if granted else None,
            )
        )

    @app.post("/nonce", responses=NONCE_RESPONSES)
    def nonce() -> JSONResponse:
        value = behaviour.fixed_c_nonce or make_c_nonce(rng)
        store.put("nonces", value, {}, expires_at=clock() + NONCE_LIFETIME)
        return no_store(nonce_response(value))

    # --- credential, deferred, notification ----------------------------------------------

    def bearer(request: Request, authorization: str | None) -> dict[str, Any]:
        if "access_token" in request.query_params:
            raise PasserelleError(
                Reason.OID4VCI_ACCESS_TOKEN_INVALID,
                "access tokens are accepted in the Authorization header only",
                wire_error="invalid_token",
            )
        scheme, _, value = (authorization or "").partition(" ")
        entry = (
            store.get("tokens", value, now=clock())
            if scheme.lower() == "bearer"  # DPoP tokens would need a DPoP proof (RFC 9449 §7.1)
            else None
        )
        if not isinstance(entry, dict):
            raise PasserelleError(
                Reason.OID4VCI_ACCESS_TOKEN_INVALID,
                "missing, unknown or expired access token",
                wire_error="invalid_token",
            )
        return entry

    def holder_keys(proofs: tuple[str, ...], client_id: str | None, now: datetime) -> list[Any]:
        """Verify every key proof of one request. A batch's proofs all carry the one
        c_nonce the issuer handed out, which is spent here, once."""
        claimed = {read_unverified_proof_nonce(p) for p in proofs}
        nonce = next(iter(claimed)) if len(claimed) == 1 else None
        expected = nonce  # the accept_any_nonce quirk: whatever the proof says
        if behaviour.check_nonce:
            live = nonce is not None and (
                nonce == behaviour.fixed_c_nonce or store.take("nonces", nonce, now=now) is not None
            )
            # Not issued here, expired or spent: expect a value no proof carries, so the
            # core reports invalid_nonce (and a missing nonce, invalid_proof).
            expected = nonce if live else _token(rng)
        keys = []
        for proof in proofs:
            audience = base
            if not behaviour.check_proof_aud:
                claimed_aud = decode_unverified_jws(proof).payload_json().get("aud")
                audience = claimed_aud if isinstance(claimed_aud, str) else base
            verified = verify_jwt_proof(
                proof,
                audience=audience,
                expected_nonce=expected,
                algorithms=profile.proof_signing_alg_values,
                now=now,
                max_age=PROOF_MAX_AGE,
                skew=SKEW,
                client_id=client_id,
            )
            keys.append(verified.holder_key)
        return keys

    def issue_batch(
        config: CredentialConfiguration, persona: str, keys: list[Any], now: datetime
    ) -> list[str]:
        issued = []
        for holder in keys:
            credential_id = _token(rng, 12)
            result = factory.issue(
                config, persona=persona, holder=holder, now=now, credential_id=credential_id
            )
            store.put(
                "issuances",
                credential_id,
                {
                    "configuration": config.id,
                    "status_index": result.status_index,
                    **({"w3c_status": dict(result.w3c_status)} if result.w3c_status else {}),
                    "issued_at": now.isoformat(),
                    "status": "valid",
                },
            )
            issued.append(result.credential)
        return issued

    @app.post("/credential", openapi_extra=CREDENTIAL_REQUEST, responses=CREDENTIAL_RESPONSES)
    def credential(
        request: Request,
        body: dict[str, Any],
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        grant = bearer(request, authorization)
        now = clock()
        # §8.2: with credential_identifiers in the Token Response, the wallet names
        # those; otherwise configuration ids.
        identifiers = grant.get("identifiers")
        req = parse_credential_request(
            behaviour.screened(body, authorized=list(grant["configs"])),
            metadata_configurations=configurations,
            authorized=identifiers or grant["configs"],
            batch_size=profile.batch_size,
        )
        config_id = req.credential_configuration_id
        if config_id is None:
            # parse_credential_request found the identifier among those granted.
            assert isinstance(identifiers, dict)
            assert req.credential_identifier is not None
            config_id = str(identifiers[req.credential_identifier])
        config = profile.configurations[config_id]
        keys = holder_keys(req.proofs, grant.get("client_id"), now)
        notification_id = _token(rng, 12)
        if config.deferred_seconds:
            transaction = _token(rng)
            store.put(
                "deferred",
                transaction,
                {
                    "configuration": config.id,
                    "persona": grant["persona"],
                    "keys": [public_jwk(k) for k in keys],
                    "ready_at": (now + timedelta(seconds=config.deferred_seconds)).isoformat(),
                    "notification_id": notification_id,
                },
                expires_at=now + TOKEN_LIFETIME,
            )
            return no_store(deferred_response(transaction, interval=config.deferred_seconds), 202)
        credentials = issue_batch(config, grant["persona"], keys, now)
        store.put(
            "notifications",
            notification_id,
            {"configuration": config.id},
            expires_at=now + TOKEN_LIFETIME,
        )
        return no_store(credential_response(credentials, notification_id=notification_id))

    @app.post("/deferred_credential", responses=CREDENTIAL_RESPONSES)
    def deferred(
        request: Request,
        body: dict[str, Any],
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        bearer(request, authorization)
        now = clock()
        transaction_id = parse_deferred_request(body).transaction_id
        entry = _stored(store.get("deferred", transaction_id, now=now))
        if not isinstance(entry, dict):
            raise PasserelleError(
                Reason.OID4VCI_TRANSACTION_ID_INVALID,
                "unknown transaction_id",
                wire_error="invalid_transaction_id",
            )
        if now < datetime.fromisoformat(entry["ready_at"]):
            return no_store(deferred_response(transaction_id, interval=1), 202)
        if store.take("deferred", transaction_id, now=now) is None:
            raise PasserelleError(
                Reason.OID4VCI_TRANSACTION_ID_INVALID,
                "transaction already redeemed",
                wire_error="invalid_transaction_id",
            )
        keys = [load_public_jwk(k) for k in entry["keys"]]
        config = profile.configurations[entry["configuration"]]
        credentials = issue_batch(config, entry["persona"], keys, now)
        store.put(
            "notifications",
            entry["notification_id"],
            {"configuration": config.id},
            expires_at=now + TOKEN_LIFETIME,
        )
        return no_store(credential_response(credentials, notification_id=entry["notification_id"]))

    @app.post("/notification", status_code=204)
    def notification(
        request: Request,
        body: dict[str, Any],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        bearer(request, authorization)
        notice = parse_notification_request(body)
        entry = store.get("notifications", notice.notification_id, now=clock())
        if not isinstance(entry, dict):
            raise PasserelleError(
                Reason.OID4VCI_NOTIFICATION_ID_INVALID,
                "unknown notification_id",
                wire_error="invalid_notification_id",
            )
        store.put("notifications", notice.notification_id, {**entry, "event": notice.event})
        return Response(status_code=204)

    # --- status and administration -------------------------------------------------------

    @app.get("/status/{key}")
    def status_list(key: str) -> Response:
        if key not in statuses:
            return JSONResponse(
                {"error": "not_found", "reason": "status.list_invalid"}, status_code=404
            )
        service = statuses[key]
        headers = {"Cache-Control": f"max-age={int(service.ttl.total_seconds())}"}
        return Response(
            service.token(now=clock()), media_type="application/statuslist+jwt", headers=headers
        )

    @app.get("/w3c/{key}/status/bitstring/{purpose}")
    def w3c_status_list(key: str, purpose: str) -> Response:
        """A W3C credential's BitstringStatusListCredential (vc+jwt), by purpose."""
        if key not in w3c_statuses or purpose not in {p.value for p in StatusPurpose}:
            return JSONResponse(
                {"error": "not_found", "reason": "status.list_invalid"}, status_code=404
            )
        lists = w3c_statuses[key]
        headers = {"Cache-Control": f"max-age={int(lists.lifetime.total_seconds())}"}
        return Response(
            lists.credential(StatusPurpose(purpose), now=clock()),
            media_type="application/vc+jwt",
            headers=headers,
        )

    def admin(authorization: str | None) -> None:
        # RFC 7235 §2.1: the scheme is case-insensitive ("bearer" is "Bearer").
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            value.strip().encode(), admin_token.encode()
        ):
            raise PasserelleError(
                Reason.OID4VCI_ACCESS_TOKEN_INVALID,
                "admin token required",
                wire_error="invalid_token",
            )

    @app.get("/admin/issuances")
    def issuances(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        admin(authorization)
        rows = store.list("issuances", now=clock(), limit=10_000)
        return JSONResponse([{"credential_id": k, **v} for k, v in rows if isinstance(v, dict)])

    _ACTIONS = {
        "revoke": StatusValue.INVALID,
        "suspend": StatusValue.SUSPENDED,
        "reinstate": StatusValue.VALID,
    }

    @app.post("/admin/credentials/{credential_id}/{action}")
    def change_status(
        credential_id: str, action: str, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        admin(authorization)
        if action not in _ACTIONS:
            return JSONResponse(
                {"error": "not_found", "reason": "input.malformed"}, status_code=404
            )
        entry = _stored(store.get("issuances", credential_id, now=clock()))
        if dcp is not None and isinstance(entry, dict) and dcp.owns(entry):
            dcp.change_status(entry, action, now=clock())
            store.put("issuances", credential_id, {**entry, "status": action})
            return JSONResponse({"credential_id": credential_id, "status": action})
        if isinstance(entry, dict) and isinstance(entry.get("w3c_status"), dict):
            key = profile.configurations[str(entry["configuration"])].signing_key
            change_bitstring_status(w3c_statuses[key], entry["w3c_status"], action, now=clock())
            store.put("issuances", credential_id, {**entry, "status": action})
            return JSONResponse({"credential_id": credential_id, "status": action})
        if not isinstance(entry, dict) or entry.get("status_index") is None:
            return JSONResponse(
                {"error": "not_found", "reason": "status.index_out_of_range"}, status_code=404
            )
        signing_key = profile.configurations[str(entry["configuration"])].signing_key
        statuses[signing_key].set_status(int(entry["status_index"]), _ACTIONS[action], now=clock())
        store.put("issuances", credential_id, {**entry, "status": action})
        return JSONResponse({"credential_id": credential_id, "status": action})

    if dcp is not None:
        install_dcp_routes(app, dcp, clock=clock, admin=admin)

    return app
