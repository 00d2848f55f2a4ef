"""Outbound HTTP under a policy, for every service: issuer metadata, request objects,
status lists, trust lists, DID documents (DESIGN §9).

A peer chooses the URLs we fetch, so each fetch is bounded in size and time, and
limited to ``https`` (plain ``http`` only to loopback, and only when the policy says
so: the laptop stack without TLS). Redirects are not followed: a redirect is how an
allowed URL turns into a forbidden one.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from passerelle import JsonObject, PasserelleError, Reason
from passerelle._json import parse_json_object
from passerelle._net import is_loopback_host
from passerelle.sd_jwt_vc import is_insecure_loopback

__all__ = ["FetchPolicy", "Fetcher", "is_loopback_url"]


def is_loopback_url(url: str) -> bool:
    """A URL on this machine, any scheme (see :func:`is_loopback_host`)."""
    return is_loopback_host(urlsplit(url).hostname or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchPolicy:
    max_bytes: int = 1 << 20
    timeout_seconds: float = 5.0
    allow_insecure_loopback: bool = False
    allow_loopback: bool = False
    """Loopback IP literals over https: the laptop stack with --tls, nothing else."""
    ca_file: str | None = None
    """A CA bundle to trust besides the system's (the development TLS CA)."""


class Fetcher:
    """GET and POST under a :class:`FetchPolicy`; errors are ``input.*`` reasons."""

    def __init__(
        self, policy: FetchPolicy, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.policy = policy
        verify = ssl.create_default_context(cafile=policy.ca_file)
        self._client = httpx.Client(
            timeout=policy.timeout_seconds,
            follow_redirects=False,
            verify=verify,
            transport=transport,
        )

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            try:
                address = ipaddress.ip_address(parts.hostname)
            except ValueError:
                return  # a name (resolution-time checks would need connection pinning)
            # An IP literal a peer chose must not reach this machine's or a private
            # network's services (a cloud metadata endpoint, an admin port...).
            internal = address.is_private or address.is_link_local or address.is_reserved
            loopback_ok = self.policy.allow_loopback or self.policy.allow_insecure_loopback
            if internal and not (address.is_loopback and loopback_ok):
                raise PasserelleError(
                    Reason.INPUT_MALFORMED, f"refusing to fetch {url!r}: internal address"
                )
            return
        if self.policy.allow_insecure_loopback and is_insecure_loopback(url):
            return
        raise PasserelleError(Reason.INPUT_MALFORMED, f"refusing to fetch {url!r}: not https")

    def request(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json: JsonObject | None = None,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> httpx.Response:
        """``max_bytes`` overrides the policy's cap for answers large by nature (lists)."""
        self._check(url)
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        try:
            with self._client.stream(
                method, url, data=data, json=json, headers=headers
            ) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        raise PasserelleError(
                            Reason.INPUT_TOO_LARGE, f"{url} answered more than {limit} bytes"
                        )
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=b"".join(chunks),
                    request=response.request,
                )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise PasserelleError(
                Reason.INPUT_MALFORMED, f"{url}: {type(exc).__name__}: {exc}"
            ) from exc

    def get_json(self, url: str) -> JsonObject:
        response = self.request("GET", url)
        if response.status_code != 200:
            raise PasserelleError(Reason.INPUT_MALFORMED, f"{url} answered {response.status_code}")
        return parse_json_object(response.content, what=url)

    def close(self) -> None:
        self._client.close()
