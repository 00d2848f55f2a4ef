"""The trust service: publishes the signed EU lists and the Canadian registry snapshot,
answers TRQP v2 queries for the Canadian registry, and serves the recognition agreements.

    GET  /health                     versions spoken, transport in use
    GET  /eu/{list}.jwt              an EU list of trusted entities (JAdES compact JWS)
    GET  /ca/registry.jwt            the signed registry snapshot (our extension)
    POST /ca/authorization           TRQP v2 (HTTPS binding)
    POST /ca/recognition             TRQP v2
    GET  /ca/metadata                TRQP metadata (our extension)
    GET  /recognition/{id}.json      a recognition agreement

Lists are read from the data directory and re-read when ``passerelle trust build``
rewrites them, so a rebuild needs no restart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from passerelle import PasserelleError, Reason, __version__
from passerelle.trust import (
    TRQP_VERSION,
    RecognitionAgreement,
    Registry,
    VerifiedRegistry,
    verify_registry_snapshot,
)
from services.pki import load_pki
from services.runtime import utc_now
from services.trust.quirks import TrustQuirk

from .build import EU_LISTS, load_recognitions, trust_dir
from .sources import load_source
from .trqp import build_trqp_router

__all__ = ["create_trust_app"]

LIST_MEDIA_TYPE = "application/jose"
MAX_AGE_SECONDS = 300
LOTE_VERSION = "ETSI TS 119 602 V1.1.1 (JSON binding, JAdES baseline-B compact)"


@dataclass(slots=True)
class _Cached:
    mtime_ns: int
    text: str
    etag: str
    last_modified: str


class _Files:
    """Published files, re-read when their modification time changes."""

    def __init__(self) -> None:
        self._cache: dict[Path, _Cached] = {}

    def get(self, path: Path) -> _Cached:
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError as exc:
            raise HTTPException(404, f"{path.name} has not been built") from exc
        cached = self._cache.get(path)
        if cached is None or cached.mtime_ns != mtime:
            text = path.read_text()
            when = datetime.fromtimestamp(mtime / 1e9).astimezone()
            cached = _Cached(
                mtime_ns=mtime,
                text=text,
                etag='"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"',
                last_modified=format_datetime(when, usegmt=False),
            )
            self._cache[path] = cached
        return cached


def _publish(files: _Files, path: Path, request: Request) -> Response:
    item = files.get(path)
    headers = {
        "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
        "ETag": item.etag,
        "Last-Modified": item.last_modified,
    }
    if request.headers.get("if-none-match") == item.etag:
        return Response(status_code=304, headers=headers)
    return Response(item.text, media_type=LIST_MEDIA_TYPE, headers=headers)


def create_trust_app(
    *,
    data_dir: Path,
    sources: Path,
    clock: Callable[[], datetime] = utc_now,
    quirks: frozenset[TrustQuirk] = frozenset(),
) -> FastAPI:
    pki = load_pki(data_dir)
    out = trust_dir(data_dir)
    files = _Files()
    registry_path = out / "ca" / "registry.jwt"
    loaded: dict[str, tuple[int, VerifiedRegistry]] = {}

    def get_registry() -> Registry:
        """The registry to answer from: re-verified when the file changes (never going
        back in sequence), and refused once its next update has passed, however long ago
        it was loaded: a stale registry fails closed."""
        now = clock()
        item = files.get(registry_path)
        cached = loaded.get("registry")
        if cached is None or cached[0] != item.mtime_ns:
            verified = verify_registry_snapshot(
                item.text,
                operator_anchors=[pki.anchor("ca-registry-operator")],
                now=now,
                last_seen_sequence=None if cached is None else cached[1].sequence_number,
            )
            cached = (item.mtime_ns, verified)
            loaded["registry"] = cached
        if now >= cached[1].next_update:
            raise PasserelleError(
                Reason.TRUST_LIST_STALE,
                f"registry snapshot was due at {cached[1].next_update.isoformat()}",
            )
        return cached[1].registry

    app = FastAPI(
        title="Passerelle trust service",
        version=__version__,
        description=__doc__,
    )

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "service": "trust",
                "status": "ok",
                "transport": request.url.scheme,
                "versions": {
                    "passerelle": __version__,
                    "lists_of_trusted_entities": LOTE_VERSION,
                    "trqp": f"ToIP TRQP v{TRQP_VERSION}, HTTPS binding",
                },
                "lists": sorted(EU_LISTS),
            }
        )

    @app.get("/eu/{name}.jwt")
    def eu_list(name: str, request: Request) -> Response:
        if name not in EU_LISTS:
            raise HTTPException(404, f"no EU list named {name!r}")
        return _publish(files, out / "eu" / f"{name}.jwt", request)

    @app.get("/ca/registry.jwt")
    def ca_registry(request: Request) -> Response:
        return _publish(files, registry_path, request)

    agreements: dict[str, RecognitionAgreement] = {a.id: a for a in load_recognitions(sources)}

    @app.get("/recognition/{agreement_id}.json")
    def recognition(agreement_id: str) -> JSONResponse:
        if agreement_id not in agreements:
            raise HTTPException(404, f"no recognition agreement {agreement_id!r}")
        return JSONResponse(load_source(sources / "recognition" / f"{agreement_id}.yaml"))

    app.include_router(
        build_trqp_router(
            get_registry,
            signer=pki.signer("ca-registry-operator"),
            clock=clock,
            x5c=pki.x5c("ca-registry-operator"),
        ),
        prefix="/ca",
    )
    return app
