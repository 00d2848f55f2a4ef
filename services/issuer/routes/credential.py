"""The credential endpoint (OpenID4VCI §8), deferred credentials (§9) and
notifications (§11); each takes the access token in the Authorization header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from passerelle import PasserelleError
from passerelle.oid4vci import parse_deferred_request, parse_notification_request
from passerelle.services.openapi import CREDENTIAL_REQUEST, CREDENTIAL_RESPONSES
from passerelle.services.web import off_loop

from ..haip import read_credential_body, refusal, response_encryption
from ..issuance import bearer, notify, redeem_deferred, request_credential, sealed
from ..state import IssuerDep, IssuerState

router = APIRouter(tags=["credential"])


@router.post("/credential", openapi_extra=CREDENTIAL_REQUEST, responses=CREDENTIAL_RESPONSES)
async def credential(
    state: IssuerDep,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    return await off_loop(_credential, state, request, content_type, raw)


def _credential(state: IssuerState, request: Request, content_type: str, raw: bytes) -> Response:
    try:
        # The body first, as FastAPI would: a malformed request is that, token or not.
        body, encrypted = read_credential_body(state.haip, content_type, raw)
        grant = bearer(state, request)
        # Before anything is issued: an unusable key is invalid_encryption_parameters.
        encryption = response_encryption(
            state.metadata,
            body,
            request_was_encrypted=encrypted,
            refuse_unsupported=state.behaviour.refuse_unsupported_encryption,
        )
        answer, status_code = request_credential(state, grant, body)
    except PasserelleError as exc:
        return refusal(state.haip, exc, at_resource_server=True)
    return sealed(state, answer, status_code, encryption)


@router.post("/deferred_credential", responses=CREDENTIAL_RESPONSES)
def deferred(
    state: IssuerDep,
    request: Request,
    body: dict[str, Any],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        bearer(state, request)
        answer, status_code = redeem_deferred(state, parse_deferred_request(body).transaction_id)
    except PasserelleError as exc:
        return refusal(state.haip, exc, at_resource_server=True)
    return sealed(state, answer, status_code, None)


@router.post("/notification", status_code=204)
def notification(
    state: IssuerDep,
    request: Request,
    body: dict[str, Any],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        bearer(state, request)
    except PasserelleError as exc:
        return refusal(state.haip, exc, at_resource_server=True)
    notice = parse_notification_request(body)
    notify(state, notice.notification_id, notice.event)
    return Response(status_code=204)
