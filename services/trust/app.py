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
rewrites them, so a rebuild needs no restart; relying services ask every few seconds
whether a list changed (a conditional GET, answered 304 while it has not). Under quirks
(the conformance suite's self-test, :mod:`services.trust.quirks`) the EU lists are
re-signed on the way out and the TRQP router answers as the behaviour says; without
quirks, files go out as built.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from passerelle import JsonObject, PasserelleError, Reason, __version__
from passerelle.jose import KeySigner, decode_unverified_jws
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.trust.quirks import TrustBehaviour, TrustQuirk, behaviour_for
from passerelle.services.web import install_edge
from passerelle.trust import (
    TRQP_VERSION,
    RecognitionAgreement,
    Registry,
    VerifiedRegistry,
    sign_lote,
    verify_registry_snapshot,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    draw_serial_number,
    encode_x5c,
)

from .build import EU_LISTS, OperatorKey, load_recognitions, trust_dir
from .sources import load_source
from .trqp import build_trqp_router

__all__ = ["TrustDep", "TrustState", "create_trust_app"]

LIST_MEDIA_TYPE = "application/jose"
# A list may be rebuilt at any moment (a partner joins): caches keep it but ask again
# every time, which an unchanged list answers with a 304 (RFC 9111 §5.2.2.4).
CACHE_CONTROL = "public, no-cache"
LOTE_VERSION = "ETSI TS 119 602 V1.1.1 (JSON binding, JAdES baseline-B compact)"


def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


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
                etag=_etag(text),
                last_modified=format_datetime(when, usegmt=False),
            )
            self._cache[path] = cached
        return cached


def _publish(
    files: _Files,
    path: Path,
    request: Request,
    rewrite: Callable[[_Cached], str] | None = None,
) -> Response:
    item = files.get(path)
    text = item.text if rewrite is None else rewrite(item)
    etag = item.etag if rewrite is None else _etag(text)
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Last-Modified": item.last_modified,
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(text, media_type=LIST_MEDIA_TYPE, headers=headers)


def _lote_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_lote_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "built list has no date-time")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _stand_in_operator(genuine: x509.Certificate, now: datetime) -> OperatorKey:
    """A signer with the operator's subject under a CA of its own, trusted by nobody:
    only the chain to the operator's anchor tells it from the real one."""
    random = SecretsRandom()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build_ca_certificate(
        subject=build_name(common_name="Stand-in list operator CA (not trusted)", country="BE"),
        key=ca_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365),
        serial=draw_serial_number(random),
        path_length=0,
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = build_leaf_certificate(
        subject=genuine.subject,
        public_key=key.public_key(),
        issuer_cert=ca,
        issuer_key=ca_key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=365),
        serial=draw_serial_number(random),
        usage=LeafUsage.SIGNING,
    )
    return OperatorKey(signer=KeySigner(key), x5c=encode_x5c([leaf]))


class _ListRewriter:
    """Serves the EU lists as a faulty trust service would (see :mod:`.quirks`): each
    built list is re-signed with its dates moved back, by a stand-in signer, or with a
    sequence number lower at every fetch."""

    # Far enough above any real build that counting down never reaches the real number.
    _SEQUENCE_HEADROOM = 100_000

    def __init__(
        self,
        behaviour: TrustBehaviour,
        *,
        operator: OperatorKey,
        operator_certificate: x509.Certificate,
        clock: Callable[[], datetime],
    ) -> None:
        self._behaviour = behaviour
        self._operator = operator
        self._operator_certificate = operator_certificate
        self._clock = clock
        self._lock = threading.Lock()
        self._signer: OperatorKey | None = None
        self._fetches: dict[str, int] = {}
        self._cache: dict[tuple[str, int], str] = {}

    def _signing_key(self, now: datetime) -> OperatorKey:
        if self._behaviour.sign_lists_with_operator_key:
            return self._operator
        if self._signer is None:
            self._signer = _stand_in_operator(self._operator_certificate, now)
        return self._signer

    def rewrite(self, name: str, item: _Cached) -> str:
        with self._lock:
            fetch = self._fetches.get(name, 0)
            self._fetches[name] = fetch + 1
            cached = self._cache.get((name, item.mtime_ns))
            if cached is not None and self._behaviour.monotonic_sequence:
                return cached
            text = self._reissue(item.text, fetch)
            self._cache[(name, item.mtime_ns)] = text
            return text

    def _reissue(self, token: str, fetch: int) -> str:
        now = self._clock()
        # Our own build wrote this token a moment ago; it is re-signed, not trusted.
        payload: JsonObject = decode_unverified_jws(token, what="built LoTE").payload_json()
        lote = payload.get("LoTE")
        info = lote.get("ListAndSchemeInformation") if isinstance(lote, dict) else None
        if not isinstance(info, dict):
            raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "built list is not a LoTE")
        issued = _read_lote_time(info.get("ListIssueDateTime"))
        signed_at = issued
        overdue = self._behaviour.lists_overdue_by
        if overdue is not None:
            validity = _read_lote_time(info.get("NextUpdate")) - issued
            next_update = now.replace(microsecond=0) - overdue
            signed_at = next_update - validity
            info["ListIssueDateTime"] = _lote_time(signed_at)
            info["NextUpdate"] = _lote_time(next_update)
        if not self._behaviour.monotonic_sequence:
            sequence = info.get("LoTESequenceNumber")
            if isinstance(sequence, bool) or not isinstance(sequence, int):
                raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "built list has no sequence")
            info["LoTESequenceNumber"] = sequence + max(self._SEQUENCE_HEADROOM - fetch, 0)
        key = self._signing_key(now)
        return sign_lote(payload, signer=key.signer, x5c=key.x5c, now=signed_at)


class _RegistryLoader:
    """The registry to answer from: re-verified when the file changes (never going back
    in sequence), and refused once its next update has passed, however long ago it was
    loaded: a stale registry fails closed."""

    def __init__(
        self, files: _Files, path: Path, anchor: x509.Certificate, clock: Callable[[], datetime]
    ) -> None:
        self._files = files
        self._path = path
        self._anchor = anchor
        self._clock = clock
        self._loaded: tuple[int, VerifiedRegistry] | None = None

    def __call__(self) -> Registry:
        now = self._clock()
        item = self._files.get(self._path)
        cached = self._loaded
        if cached is None or cached[0] != item.mtime_ns:
            verified = verify_registry_snapshot(
                item.text,
                operator_anchors=[self._anchor],
                now=now,
                last_seen_sequence=None if cached is None else cached[1].sequence_number,
            )
            cached = (item.mtime_ns, verified)
            self._loaded = cached
        if now >= cached[1].next_update:
            raise PasserelleError(
                Reason.TRUST_LIST_STALE,
                f"registry snapshot was due at {cached[1].next_update.isoformat()}",
            )
        return cached[1].registry


@dataclass(frozen=True, slots=True)
class TrustState:
    """What the trust service's routers share (on ``app.state.trust``)."""

    files: _Files
    out: Path
    """Where ``passerelle trust build`` wrote the signed lists."""
    sources: Path
    rewriter: _ListRewriter | None
    agreements: dict[str, RecognitionAgreement]

    @property
    def registry_path(self) -> Path:
        return self.out / "ca" / "registry.jwt"


async def _trust_state(request: Request) -> TrustState:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool.
    state: TrustState = request.app.state.trust
    return state


TrustDep = Annotated[TrustState, Depends(_trust_state)]

health_router = APIRouter(tags=["health"])
lists_router = APIRouter(tags=["lists"])
recognition_router = APIRouter(tags=["recognition"])


@health_router.get("/health")
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


@lists_router.get("/eu/{name}.jwt")
def eu_list(name: str, request: Request, trust: TrustDep) -> Response:
    if name not in EU_LISTS:
        raise HTTPException(404, f"no EU list named {name!r}")
    rewriter = trust.rewriter
    rewrite = None if rewriter is None else (lambda item: rewriter.rewrite(name, item))
    return _publish(trust.files, trust.out / "eu" / f"{name}.jwt", request, rewrite)


@lists_router.get("/ca/registry.jwt")
def ca_registry(request: Request, trust: TrustDep) -> Response:
    return _publish(trust.files, trust.registry_path, request)


@recognition_router.get("/recognition/{agreement_id}.json")
def recognition(agreement_id: str, trust: TrustDep) -> JSONResponse:
    if agreement_id not in trust.agreements:
        raise HTTPException(404, f"no recognition agreement {agreement_id!r}")
    return JSONResponse(load_source(trust.sources / "recognition" / f"{agreement_id}.yaml"))


def create_trust_app(
    *,
    data_dir: Path,
    sources: Path,
    clock: Callable[[], datetime] = utc_now,
    quirks: frozenset[TrustQuirk] = frozenset(),
) -> FastAPI:
    pki = load_pki(data_dir)
    behaviour = behaviour_for(quirks)
    rewriter = (
        _ListRewriter(
            behaviour,
            operator=OperatorKey(
                signer=pki.signer("eu-lote-operator"), x5c=pki.x5c("eu-lote-operator")
            ),
            operator_certificate=pki.certificate("eu-lote-operator"),
            clock=clock,
        )
        if behaviour.rewrites_lists
        else None
    )
    trust = TrustState(
        files=_Files(),
        out=trust_dir(data_dir),
        sources=sources,
        rewriter=rewriter,
        agreements={a.id: a for a in load_recognitions(sources)},
    )
    app = FastAPI(title="Passerelle trust service", version=__version__, description=__doc__)
    install_edge(app, service="trust")
    app.state.trust = trust
    for router in (health_router, lists_router, recognition_router):
        app.include_router(router)
    get_registry = _RegistryLoader(
        trust.files, trust.registry_path, pki.anchor("ca-registry-operator"), clock
    )
    app.include_router(
        build_trqp_router(
            get_registry,
            signer=pki.signer("ca-registry-operator"),
            clock=clock,
            x5c=pki.x5c("ca-registry-operator"),
            unknown_entity_is_404=behaviour.unknown_entity_is_404,
            problem_media_type=behaviour.problem_media_type,
        ),
        prefix="/ca",
    )
    return app
