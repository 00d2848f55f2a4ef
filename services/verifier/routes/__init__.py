"""The verifier's HTTP surface, one router per protocol surface; each route parses,
calls the service function and answers."""

from fastapi import APIRouter

from . import health, pages, request, response, transactions

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    transactions.router,
    request.router,
    response.router,
    pages.router,
)
