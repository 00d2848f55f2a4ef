"""Resolving ``did:web`` (W3C CCG did:web method) under the fetch policy: the DID names
the host (and path) its document lives at, and nothing else is ever fetched for it. The
DID-to-URL rules are the core's (:func:`passerelle.dcp.did_web_to_url`), one copy for the
OpenID4VP and the data-space paths."""

from __future__ import annotations

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.dcp import did_web_to_url

from .fetch import Fetcher

__all__ = ["WebDidResolver"]


class WebDidResolver:
    """A :class:`passerelle.oid4vp.DidResolver` for did:web."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        allow_loopback: bool = False,
        allow_insecure_loopback: bool = False,
    ) -> None:
        self._fetcher = fetcher
        self._loopback = allow_loopback
        self._insecure = allow_insecure_loopback

    def resolve_did_document(self, did: str, /) -> JsonObject:
        url = did_web_to_url(
            did, allow_loopback=self._loopback, allow_insecure_loopback=self._insecure
        )
        document = self._fetcher.get_json(url)
        if document.get("id") != did:
            raise PasserelleError(
                Reason.OID4VP_DID_KEY_UNRESOLVED, f"the document at {did} is about another DID"
            )
        return document
