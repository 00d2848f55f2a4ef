"""The issuer's Token Status Lists (``statuslist+jwt``), one per signing key."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from passerelle.status_list import StatusPurpose

from ..state import IssuerDep

router = APIRouter(tags=["status"])


@router.get("/status/{key}")
def status_list(state: IssuerDep, key: str) -> Response:
    if key not in state.statuses:
        return JSONResponse(
            {"error": "not_found", "reason": "status.list_invalid"}, status_code=404
        )
    service = state.statuses[key]
    headers = {"Cache-Control": f"max-age={int(service.ttl.total_seconds())}"}
    return Response(
        service.token(now=state.now()), media_type="application/statuslist+jwt", headers=headers
    )


@router.get("/w3c/{key}/status/bitstring/{purpose}")
def w3c_status_list(state: IssuerDep, key: str, purpose: str) -> Response:
    """A W3C credential's BitstringStatusListCredential (vc+jwt), by purpose."""
    if key not in state.w3c_statuses or purpose not in {p.value for p in StatusPurpose}:
        return JSONResponse(
            {"error": "not_found", "reason": "status.list_invalid"}, status_code=404
        )
    lists = state.w3c_statuses[key]
    headers = {"Cache-Control": f"max-age={int(lists.lifetime.total_seconds())}"}
    return Response(
        lists.credential(StatusPurpose(purpose), now=state.now()),
        media_type="application/vc+jwt",
        headers=headers,
    )
