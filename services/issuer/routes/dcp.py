"""The data-space surface (DCP): the issuer's DID document, the admin issuance endpoint
for ``vc+jwt`` credentials, and the two Bitstring Status Lists. Included only when the
profile issues for a data space."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from passerelle import Reason
from passerelle.services.web import NO_STORE, off_loop
from passerelle.status_list import StatusPurpose
from passerelle.vc import VC_JWT_TYP

from ..dcp import DID_MEDIA_TYPE, DcpIssuer, parse_issuance_request
from ..state import AdminDep, IssuerDep

router = APIRouter(tags=["dcp"])


async def dcp_issuer(state: IssuerDep) -> DcpIssuer:
    assert state.dcp is not None  # the router is included only for such profiles
    return state.dcp


DcpDep = Annotated[DcpIssuer, Depends(dcp_issuer)]


@router.get("/.well-known/did.json")
def did_document(issuer: DcpDep) -> JSONResponse:
    return JSONResponse(issuer.document, media_type=DID_MEDIA_TYPE)


@router.post("/admin/dcp/credentials", status_code=201)
async def issue_credential(state: AdminDep, issuer: DcpDep, request: Request) -> JSONResponse:
    body = await request.body()
    parsed = parse_issuance_request(body, allow_loopback=issuer.allow_loopback_holders)
    answer = await off_loop(issuer.issue, parsed, now=state.now())
    return JSONResponse(answer, status_code=201, headers=dict(NO_STORE))


@router.get("/status/bitstring/{purpose}")
def bitstring_status_list(state: IssuerDep, issuer: DcpDep, purpose: str) -> Response:
    if purpose not in tuple(StatusPurpose):
        return JSONResponse(
            {"error": "not_found", "reason": str(Reason.STATUS_LIST_INVALID)}, status_code=404
        )
    lifetime = int(issuer.lists.lifetime.total_seconds())
    return Response(
        issuer.lists.credential(StatusPurpose(purpose), now=state.now()),
        media_type=f"application/{VC_JWT_TYP}",
        headers={"Cache-Control": f"max-age={lifetime}"},
    )
