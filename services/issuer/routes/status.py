"""The issuer's Token Status Lists (``statuslist+jwt``), one per signing key."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

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
