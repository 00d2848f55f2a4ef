"""``GET /health``: versions, transport, client_id, policies and quirks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passerelle import JsonObject
from passerelle.oid4vp import SPEC_VERSION
from passerelle.services.web import health_body

from ..state import VerifierDep

router = APIRouter(tags=["health"])

VERSIONS: JsonObject = {"openid4vp": SPEC_VERSION, "dcql": "OpenID4VP 1.0 §6", "sd_jwt": "RFC 9901"}


@router.get("/health")
def health(request: Request, state: VerifierDep) -> JSONResponse:
    profile = state.profile
    body = health_body(service="verifier", profile=profile.id, request=request, versions=VERSIONS)
    return JSONResponse(
        {
            **body,
            "client_id": state.client_id,
            "policies": sorted(profile.policies),
            "quirks": sorted(state.quirks),
        }
    )
