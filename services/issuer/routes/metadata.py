"""Metadata (OpenID4VCI §12.2, RFC 8414, SD-JWT VC issuer metadata) and health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passerelle.services.web import health_body

from ..state import IssuerDep

router = APIRouter(tags=["metadata"])


@router.get("/.well-known/openid-credential-issuer")
def issuer_metadata(state: IssuerDep) -> JSONResponse:
    return JSONResponse(state.metadata)


@router.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata(state: IssuerDep) -> JSONResponse:
    return JSONResponse(state.as_metadata)


@router.get("/.well-known/jwt-vc-issuer")
def jwt_vc_issuer_metadata(state: IssuerDep) -> JSONResponse:
    keys = [state.pki.jwk(c.signing_key) for c in state.profile.configurations.values()]
    unique = list({str(k["kid"]): k for k in keys}.values())
    return JSONResponse({"issuer": state.base, "jwks": {"keys": unique}})


@router.get("/health")
def health(state: IssuerDep, request: Request) -> JSONResponse:
    body = health_body(
        service="issuer", profile=state.profile.id, request=request, versions=state.versions
    )
    return JSONResponse(body | {"quirks": sorted(state.profile.quirks)})
