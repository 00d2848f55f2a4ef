"""Resolving ``did:web`` (W3C CCG did:web method) under the fetch policy: the DID names
the host (and path) its document lives at, and nothing else is ever fetched for it."""

from __future__ import annotations

from urllib.parse import unquote

from passerelle import JsonObject, PasserelleError, Reason

from .fetch import Fetcher, is_loopback_url

__all__ = ["WebDidResolver", "did_web_url"]


def did_web_url(did: str, *, allow_insecure_loopback: bool = False) -> str:
    """``did:web:example.com`` → ``https://example.com/.well-known/did.json``;
    ``did:web:example.com%3A8443:user:alice`` → ``https://example.com:8443/user/alice/did.json``."""
    if not did.startswith("did:web:") or len(did) <= len("did:web:"):
        raise PasserelleError(Reason.OID4VP_DID_KEY_UNRESOLVED, f"{did!r} is not a did:web")
    host, *path = did[len("did:web:") :].split(":")
    host = unquote(host)
    if not host or "/" in host or "@" in host:
        raise PasserelleError(Reason.OID4VP_DID_KEY_UNRESOLVED, f"{did!r} names no host")
    tail = "/".join(unquote(p) for p in path)
    https = f"https://{host}/{tail}/did.json" if tail else f"https://{host}/.well-known/did.json"
    if allow_insecure_loopback and is_loopback_url(https):
        return "http://" + https.removeprefix("https://")  # the laptop stack without TLS
    return https


class WebDidResolver:
    """A :class:`passerelle.oid4vp.DidResolver` for did:web."""

    def __init__(self, fetcher: Fetcher, *, allow_insecure_loopback: bool = False) -> None:
        self._fetcher = fetcher
        self._loopback = allow_insecure_loopback

    def resolve_did_document(self, did: str, /) -> JsonObject:
        document = self._fetcher.get_json(did_web_url(did, allow_insecure_loopback=self._loopback))
        if document.get("id") != did:
            raise PasserelleError(
                Reason.OID4VP_DID_KEY_UNRESOLVED, f"the document at {did} is about another DID"
            )
        return document
