"""The verifier service: OpenID4VP 1.0 with DCQL, for any profile.

    POST /transactions                 create from a policy name or a DCQL query
    GET  /transactions/{id}            status, result with the decision trace, event log
    GET  /transactions/{id}/page       QR code, live status, decision trace
    GET  /request/{id}  POST (wallet_nonce)   the signed request object (JAR)
    POST /response/{id}                the response_uri: direct_post or direct_post.jwt
    GET  /health

Each transaction is a row in the store, moved through the core's state table with an
atomic update, so a response is processed once, across replicas and restarts alike: a
replayed response is refused (``oid4vp.response_replayed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict

from passerelle import Fault, JsonObject, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode
from passerelle.dcql import parse_dcql_query
from passerelle.decision import DecisionPolicy, FetchedInputs, decide_presentation
from passerelle.jose import load_private_jwk, private_jwk
from passerelle.oid4vp import (
    SPEC_VERSION,
    AuthorizationError,
    AuthorizationRequest,
    ClientMetadata,
    PresentationEvent,
    PresentationState,
    RequestUriMethod,
    ResponseMode,
    advance,
    authorization_request_url,
    create_request_object,
    decrypt_response,
    encryption_jwk,
    parse_authorization_response,
)
from passerelle.sd_jwt import KeyBindingCheck
from passerelle.services.catalog import load_catalog
from passerelle.services.decision_inputs import gather_inputs
from passerelle.services.fetch import Fetcher, stack_fetch_policy
from passerelle.services.openapi import (
    AUTHORIZATION_RESPONSE_FORM,
    TRANSACTION_RESPONSES,
    WALLET_NONCE_FORM,
)
from passerelle.services.pages import page
from passerelle.services.pki import load_pki, verifier_client_id
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.storage import open_store
from passerelle.services.trust.build import load_recognitions
from passerelle.services.trust.client import TrustClient
from passerelle.services.trust.sources import trust_sources
from passerelle.services.web import health_body, install_edge, oauth_error
from passerelle.status_list import StatusListCache

from .pages import index_page, transaction_page
from .profile import load_verifier_profile
from .quirks import VerifierQuirk, behaviour_for

__all__ = ["create_verifier_app"]

TRANSACTION_LIFETIME = timedelta(minutes=10)
ENC = "A128GCM"


class TransactionBody(BaseModel):
    """``POST /transactions``: a policy name or a DCQL query, and how to ask for it."""

    # Strict: a wrong type is input.malformed at the edge, never coerced with str().
    model_config = ConfigDict(strict=True, extra="forbid")

    policy: str | None = None
    dcql_query: dict[str, Any] | None = None
    response_mode: str | None = None
    request_uri_method: str | None = None


def create_verifier_app(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
    quirks: frozenset[VerifierQuirk] = frozenset(),
) -> FastAPI:
    rng = random or SecretsRandom()
    profile = load_verifier_profile(profile_name)
    behaviour = behaviour_for(quirks)
    pki = load_pki(data_dir, now=clock())
    base = pki.hosts[profile.host_role]
    store = open_store(store_url or f"sqlite://{data_dir / profile.id / 'store.db'}")
    access = profile.access_certificate
    # On an IP literal an x509_san_dns profile falls back to x509_hash (see the helper).
    client_id = verifier_client_id(
        pki, prefix=profile.client_id_prefix, role=profile.host_role, access_certificate=access
    )
    profile = replace(profile, client_id_prefix=client_id.split(":", 1)[0])  # as in use
    loopback = any(url.startswith("http://") for url in pki.hosts.values())
    fetcher = Fetcher(
        stack_fetch_policy(
            pki.hosts, ca_file=str(pki.tls_ca), allowed_hosts=profile.fetch_allowed_hosts
        )
    )
    catalog = load_catalog()
    trust = TrustClient(
        fetcher,
        trust_url=pki.hosts["trust"],
        home=profile.home,
        eu_operator_anchors=[pki.anchor("eu-lote-operator")],
        ca_operator_anchors=[pki.anchor("ca-registry-operator")],
        recognitions=load_recognitions(trust_sources()),
        clock=clock,
    )
    policy = DecisionPolicy(
        algorithms=profile.algorithms,
        skew=profile.skew,
        require_status=profile.require_status and behaviour.check_status,
        allow_insecure_loopback=loopback,
    )
    status_cache = StatusListCache(max_ttl=timedelta(minutes=10))
    schemas = {t.vct: t.validator for t in catalog.types.values()}
    type_metadata = {t.vct: t.type_metadata for t in catalog.types.values()}

    app = FastAPI(title=f"Passerelle verifier ({profile.id})")
    install_edge(app, service=f"verifier:{profile.id}")

    def logged(what: str, **details: Any) -> dict[str, Any]:
        return {"at": clock().isoformat(), "event": what, **details}

    def event(tid: str, what: str, **details: Any) -> None:
        entry = logged(what, **details)

        def append(row: Any) -> Any:
            if not isinstance(row, dict):
                return row
            return {**row, "events": [*row.get("events", []), entry]}

        store.update("transactions", tid, append, now=clock())

    def move(
        tid: str,
        *steps: PresentationEvent,
        events: list[dict[str, Any]] | None = None,
        result: JsonObject | None = None,
    ) -> dict[str, Any]:
        """Advance the transaction atomically; a move the table forbids raises. The
        events and the result of the step are written in the same update: one store
        transaction per step, not one per line of the log."""
        moved: dict[str, Any] = {}

        def change(row: Any) -> Any:
            if not isinstance(row, dict):
                raise PasserelleError(
                    Reason.OID4VP_TRANSACTION_UNKNOWN,
                    "unknown transaction",
                    wire_error="invalid_request",
                )
            state = PresentationState(row["state"])
            for step in steps:
                state = advance(state, step)
            new = {**row, "state": state.value}
            if events:
                new["events"] = [*row.get("events", []), *events]
            if result is not None:
                new["result"] = result
            moved.clear()
            moved.update(new)
            return new

        store.update("transactions", tid, change, now=clock())
        return moved

    def force(tid: str, state: PresentationState) -> None:
        """Only the accept_replay quirk goes around the state table."""
        store.update(
            "transactions",
            tid,
            lambda r: {**r, "state": state.value} if isinstance(r, dict) else r,
            now=clock(),
        )

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        body = health_body(
            service="verifier",
            profile=profile.id,
            request=request,
            versions={"openid4vp": SPEC_VERSION, "dcql": "OpenID4VP 1.0 §6", "sd_jwt": "RFC 9901"},
        )
        return JSONResponse(
            {
                **body,
                "client_id": client_id,
                "policies": sorted(profile.policies),
                "quirks": sorted(quirks),
            }
        )

    def open_transaction(body: TransactionBody) -> dict[str, Any]:
        name = body.policy
        if name is not None:
            if name not in profile.policies:
                raise PasserelleError(
                    Reason.INPUT_MALFORMED, f"no policy {name!r}", wire_error="invalid_request"
                )
            query: JsonObject = profile.policies[name].dcql_query
        else:
            query = body.dcql_query or {}
        parse_dcql_query(query)
        mode = body.response_mode or profile.default_response_mode
        if mode not in profile.response_modes:
            raise PasserelleError(
                Reason.OID4VP_PROFILE_VIOLATION,
                f"{profile.id} answers only {profile.response_modes}",
                wire_error="invalid_request",
            )
        method = body.request_uri_method
        if method is not None and method not in [m.value for m in RequestUriMethod]:
            raise PasserelleError(
                Reason.OID4VP_REQUEST_URI_METHOD_INVALID,
                f"request_uri_method {method!r} is neither get nor post",
                wire_error="invalid_request",
            )
        # Two identifiers, as OpenID4VP §13.3 advises: the request id goes into URLs the
        # wallet (and anyone who sees the QR code) gets; the transaction id stays with
        # whoever created the transaction, and only it reads the result.
        tid = b64url_encode(rng.token_bytes(16))
        rid = b64url_encode(rng.token_bytes(16))
        row: dict[str, Any] = {
            "request_id": rid,
            "state": PresentationState.CREATED.value,
            "nonce": b64url_encode(rng.token_bytes(16)),
            "state_param": b64url_encode(rng.token_bytes(16)),
            "dcql_query": query,
            "policy": name,
            "response_mode": mode,
            "request_uri_method": method,
            "created_at": clock().isoformat(),
            "events": [logged("created", policy=name, response_mode=mode)],
        }
        if mode == ResponseMode.DIRECT_POST_JWT.value:
            row["encryption_key"] = private_jwk(ec.generate_private_key(ec.SECP256R1()))
        expires = clock() + TRANSACTION_LIFETIME
        store.put_all(
            [
                ("transactions", tid, row, expires),
                ("requests", rid, {"transaction": tid}, expires),
            ]
        )
        request_uri = f"{base}/request/{rid}"
        url = request_url(row)
        return {
            "transaction_id": tid,
            "client_id": client_id,
            "request_uri": request_uri,
            "request_url": url,
            "page": f"{base}/transactions/{tid}/page",
        }

    @app.post("/transactions", status_code=201, responses=TRANSACTION_RESPONSES)
    def create_transaction(body: TransactionBody) -> JSONResponse:
        return JSONResponse(open_transaction(body), status_code=201)

    def request_url(row: dict[str, Any]) -> str:
        method = row.get("request_uri_method")
        return authorization_request_url(
            scheme=profile.request_scheme,
            client_id=client_id,
            request_uri=f"{base}/request/{row['request_id']}",
            request_uri_method=RequestUriMethod(method) if method else None,
        )

    def transaction_of(rid: str) -> str:
        entry = store.get("requests", rid, now=clock())
        if not isinstance(entry, dict):
            raise PasserelleError(
                Reason.OID4VP_TRANSACTION_UNKNOWN,
                "unknown or expired request",
                wire_error="invalid_request",
            )
        return str(entry["transaction"])

    def _request_object(rid: str, wallet_nonce: str | None) -> Response:
        tid = transaction_of(rid)
        row = move(
            tid,
            PresentationEvent.FETCH_REQUEST,
            events=[logged("request_fetched", wallet_nonce=wallet_nonce is not None)],
        )
        # §5.1: vp_formats_supported is REQUIRED unless the wallet learns it otherwise.
        formats: JsonObject = {
            "dc+sd-jwt": {
                "sd-jwt_alg_values": list(profile.algorithms),
                "kb-jwt_alg_values": list(profile.algorithms),
            },
            "jwt_vc_json": {"alg_values": list(profile.algorithms)},
        }
        metadata = ClientMetadata(vp_formats_supported=formats)
        if row["response_mode"] == ResponseMode.DIRECT_POST_JWT.value:
            key = load_private_jwk(row["encryption_key"])
            jwk = encryption_jwk(key.public_key(), kid=f"enc-{rid[:8]}")  # type: ignore[arg-type]
            metadata = ClientMetadata(
                jwks={"keys": [jwk]},
                encrypted_response_enc_values_supported=(ENC,),
                vp_formats_supported=formats,
            )
        request = AuthorizationRequest(
            client_id=client_id,
            response_mode=ResponseMode(row["response_mode"]),
            response_uri=f"{base}/response/{rid}",
            nonce=row["nonce"],
            state=row["state_param"],
            dcql_query=row["dcql_query"],
            client_metadata=metadata,
        )
        token = create_request_object(
            request,
            signer=pki.signer(access),
            now=clock(),
            x5c=pki.x5c(access),
            wallet_nonce=wallet_nonce,
        )
        return Response(
            token,
            media_type="application/oauth-authz-req+jwt",
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/request/{rid}")
    def get_request(rid: str) -> Response:
        return _request_object(rid, None)

    @app.post("/request/{rid}", openapi_extra=WALLET_NONCE_FORM)
    async def post_request(rid: str, request: Request) -> Response:
        form = await request.form()
        nonce = form.get("wallet_nonce")
        return _request_object(rid, str(nonce) if nonce is not None else None)

    def rules_for(row: dict[str, Any]) -> DecisionPolicy:
        chosen = profile.policies.get(str(row.get("policy")))
        if chosen is None or chosen.require_status is None:
            return policy
        return replace(policy, require_status=chosen.require_status and behaviour.check_status)

    def decide(tid: str, row: dict[str, Any], parsed: Any) -> Any:
        now = clock()
        policy = rules_for(row)
        presented = [i for items in parsed.vp_token.values() for i in items if isinstance(i, str)]
        snapshot = behaviour.trust_for(trust.snapshot(), presented, now=now)
        inputs: dict[str, FetchedInputs] = {}
        query = parse_dcql_query(row["dcql_query"])
        formats = {c.id: c.format for c in query.credentials}
        expected_nonce, expected_aud = row["nonce"], client_id
        for query_id, presentations in parsed.vp_token.items():
            for item in presentations:
                if isinstance(item, str) and query_id in formats:
                    expected_nonce, expected_aud = behaviour.expected_binding(
                        item, nonce=row["nonce"], audience=client_id
                    )
                    inputs[item], _ = gather_inputs(
                        item,
                        format=formats[query_id],
                        fetcher=fetcher,
                        trust=snapshot,
                        policy=policy,
                        now=now,
                        key_binding=KeyBindingCheck(nonce=expected_nonce, audience=expected_aud),
                        cache=status_cache,
                    )
                    if not behaviour.check_status:
                        inputs[item] = FetchedInputs(issuer_metadata=inputs[item].issuer_metadata)

        def decide_under(rules: DecisionPolicy) -> Any:
            return decide_presentation(
                {k: list(v) for k, v in parsed.vp_token.items()},
                query=query,
                trust=snapshot,
                policy=rules,
                now=now,
                nonce=expected_nonce,
                audience=expected_aud,
                inputs=inputs,
                schemas=schemas,
                type_metadata=type_metadata,
                crosswalks=catalog.crosswalks,
                home_types=tuple(profile.home_types.values()),
            )

        decision = decide_under(policy)
        again = behaviour.widened_policy(decision, presented, policy=policy, now=now)
        return behaviour.overruled(decision if again is None else decide_under(again))

    @app.post("/response/{rid}", openapi_extra=AUTHORIZATION_RESPONSE_FORM)
    async def response(rid: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        # Deciding is CPU work (signatures, chains, schemas) and the store blocks: both
        # run in the thread pool, so one response never stalls the others.
        return await run_in_threadpool(respond, rid, form)

    def respond(rid: str, form: dict[str, str]) -> Response:
        tid = transaction_of(rid)
        stored = store.get("transactions", tid, now=clock())
        if not isinstance(stored, dict):
            raise PasserelleError(
                Reason.OID4VP_TRANSACTION_UNKNOWN,
                "unknown transaction",
                wire_error="invalid_request",
            )
        row: dict[str, Any] = stored  # written by create_transaction above
        mode = ResponseMode(row["response_mode"])
        decrypt = None
        if mode is ResponseMode.DIRECT_POST_JWT:
            key = load_private_jwk(row["encryption_key"])
            assert isinstance(key, ec.EllipticCurvePrivateKey)  # generated as P-256 above

            def decrypt(jwe: str) -> JsonObject:
                return decrypt_response(
                    jwe, private_key=key, expected_kid=f"enc-{rid[:8]}", allowed_enc=(ENC,)
                )

        # Read (decrypt, check state) before the transaction moves: a forged or garbled
        # post must not consume the transaction an honest wallet is about to answer.
        try:
            parsed = parse_authorization_response(
                form, response_mode=mode, expected_state=row["state_param"], decrypt=decrypt
            )
        except PasserelleError as exc:
            event(tid, "response_refused", reason=str(exc.reason))
            return oauth_error(exc)
        # An outage of our trust service is answered before the transaction moves, so
        # the wallet may post again once it is back (temporarily_unavailable, 503).
        try:
            trust.snapshot()
        except PasserelleError as exc:
            event(tid, "response_deferred", reason=str(exc.reason))
            return oauth_error(exc)
        # Processed once. A response to a transaction already answered is refused here,
        # before any work; the one atomic move below (received, then decided) is what
        # settles a race: of two responses decided at once, the second fails that move.
        gate: tuple[PresentationEvent, ...] = (PresentationEvent.RECEIVE_RESPONSE,)
        received = [logged("response_received")]
        try:
            advance(PresentationState(row["state"]), PresentationEvent.RECEIVE_RESPONSE)
        except PasserelleError as exc:
            event(tid, "response_refused", reason=str(exc.reason))
            if behaviour.single_response:
                raise
            force(tid, PresentationState.RESPONSE_RECEIVED)
            event(tid, "response_received")
            gate, received = (), []

        def finish(
            result: JsonObject, accepted: bool, events: list[dict[str, Any]] | None = None
        ) -> None:
            try:
                move(
                    tid,
                    *gate,
                    PresentationEvent.ACCEPT if accepted else PresentationEvent.REJECT,
                    events=[*received, *(events or [])],
                    result=result,
                )
            except PasserelleError as exc:
                event(tid, "response_refused", reason=str(exc.reason))
                raise

        if isinstance(parsed, AuthorizationError):
            finish(
                {"accepted": False, "reason": "oid4vp.wallet_error", "detail": parsed.error},
                False,
                [logged("wallet_error", error=parsed.error)],
            )
            return behaviour.acknowledgement()
        try:
            decision = decide(tid, row, parsed)
        except PasserelleError as exc:
            # Trust lists unreachable, a fetch refused...: the transaction still ends.
            finish({"accepted": False, "reason": str(exc.reason), "detail": exc.detail}, False)
            return oauth_error(exc)
        except Exception:
            finish(
                {"accepted": False, "reason": "server_error", "detail": "see the service log"},
                False,
            )
            raise
        result = behaviour.reported(decision.as_dict())
        checks = [
            logged(
                "check",
                query=query_id,
                step=step.step,
                outcome=str(step.outcome),
                reason=None if step.reason is None else str(step.reason),
            )
            for query_id, decisions in decision.credentials.items()
            for d in decisions
            for step in d.steps
        ]
        finish(result, decision.accepted, checks)
        if not decision.accepted:
            assert decision.reason is not None
            refusal = PasserelleError(decision.reason, decision.detail)
            if refusal.fault is not Fault.DEPENDENCY:  # our own outage stays a 503
                refusal = refusal.for_wire("invalid_request")
            return oauth_error(refusal)
        return behaviour.acknowledgement()

    @app.get("/transactions/{tid}")
    def transaction(tid: str) -> JSONResponse:
        row = store.get("transactions", tid, now=clock())
        if not isinstance(row, dict):
            return JSONResponse(
                {"error": "not_found", "reason": "oid4vp.transaction_unknown"}, status_code=404
            )
        public = {
            k: v for k, v in row.items() if k not in ("encryption_key", "nonce", "state_param")
        }
        return JSONResponse({"transaction_id": tid, **public})

    @app.get("/transactions/{tid}/page", response_class=HTMLResponse)
    def transaction_html(tid: str) -> HTMLResponse:
        row = store.get("transactions", tid, now=clock())
        if not isinstance(row, dict):
            return HTMLResponse(page("Unknown or expired transaction", ""), status_code=404)
        return HTMLResponse(transaction_page(profile_id=profile.id, url=request_url(row), row=row))

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(index_page(profile))

    @app.post("/transactions/form")
    def create_transaction_form(policy: Annotated[str, Form()]) -> RedirectResponse:
        tid = open_transaction(TransactionBody(policy=policy))["transaction_id"]
        return RedirectResponse(f"{base}/transactions/{tid}/page", status_code=303)

    return app
