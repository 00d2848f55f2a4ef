"""The issuer's routers, one per protocol surface. Each route parses, calls one
function of the service (:mod:`..grants`, :mod:`..issuance`) and answers."""

from __future__ import annotations

from fastapi import APIRouter

from . import admin, authorization, credential, dcp, metadata, offers, pages, status, token

__all__ = ["ROUTERS", "dcp"]

ROUTERS: tuple[APIRouter, ...] = (
    metadata.router,
    offers.router,
    pages.router,
    authorization.router,
    token.router,
    credential.router,
    status.router,
    admin.router,
)
"""Every issuer has these; :data:`dcp.router` only when its profile issues for a data space."""
