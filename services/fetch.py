"""Outbound HTTP under a policy, for every service: issuer metadata, request objects,
status lists, trust lists, DID documents (DESIGN §9).

A peer chooses the URLs we fetch, so each fetch is bounded in size and time, and
limited to ``https`` (plain ``http`` only to loopback, and only when the policy says
so: the laptop stack without TLS). Redirects are not followed: a redirect is how an
allowed URL turns into a forbidden one.

Where a URL may lead is decided on addresses, not on spellings:

- a host written as a number in any form a resolver accepts (``2130706433``,
  ``127.1``, ``0x7f000001``, ``0177.0.0.1``) is read as the IPv4 address it names, the
  way the WHATWG URL parser and ``inet_aton`` read it, and checked as such before any
  connection;
- a name is resolved first, every address it resolves to is checked, and the
  connection goes to an address that was checked (the TLS name check and SNI still use
  the name). A second resolution that could answer differently (DNS rebinding) never
  happens.

Production refuses every address that is not globally routable: loopback, private
networks, link-local (cloud metadata at 169.254.169.254), shared, reserved, multicast.
The development stack may reach loopback, and its ``*.localhost`` names (RFC 6761 §6.3:
the compose stack gives its containers those names) may resolve to a private network.

A failure reaches the caller as a reason code: ``fetch.*_refused`` for the policy,
``fetch.unreachable`` when the place could not be reached. The connect error's text
never leaves this module: which port refused and which timed out would make every
service that fetches for a peer a port scanner.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from passerelle import JsonObject, PasserelleError, Reason
from passerelle._json import parse_json_object
from passerelle._net import is_loopback_host
from passerelle.sd_jwt_vc import is_insecure_loopback

__all__ = [
    "FetchPolicy",
    "Fetcher",
    "is_loopback_url",
    "numeric_ipv4_host",
    "stack_fetch_policy",
    "tls_context",
]

log = logging.getLogger("passerelle.fetch")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_loopback_url(url: str) -> bool:
    """A URL on this machine, any scheme (see :func:`is_loopback_host`)."""
    return is_loopback_host(urlsplit(url).hostname or "")


def _ipv4_part(text: str) -> int | None:
    """One part of a numeric IPv4 host: decimal, ``0x`` hex or leading-zero octal."""
    if text[:2].lower() == "0x":
        digits, base = text[2:], 16
        if digits == "":
            return 0
    elif len(text) > 1 and text.startswith("0"):
        digits, base = text[1:], 8
    else:
        digits, base = text, 10
    try:
        return int(digits, base) if digits.isalnum() and digits.isascii() else None
    except ValueError:
        return None


def numeric_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written as numbers names, as the WHATWG URL host parser
    (and ``inet_aton``) reads it; None for a name. A host whose last label is numeric
    but which is no valid address raises ``fetch.address_refused``: a resolver might
    still read it as one."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # a trailing dot (the root) changes nothing
    last = parts[-1] if parts else ""
    if not last or _ipv4_part(last) is None:
        return None  # ends in a label that is not a number: a domain name
    numbers = [_ipv4_part(p) if p else None for p in parts]
    valid = len(parts) <= 4 and all(n is not None for n in numbers)
    if valid:
        head = [n for n in numbers[:-1] if n is not None]
        tail = numbers[-1]
        assert tail is not None
        if all(n < 256 for n in head) and tail < 256 ** (5 - len(parts)):
            value = tail
            for i, n in enumerate(head):
                value += n << (8 * (3 - i))
            return ipaddress.IPv4Address(value)
    raise PasserelleError(
        Reason.FETCH_ADDRESS_REFUSED, f"host {_excerpt(host)!r} is a malformed IPv4 address"
    )


def _excerpt(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchPolicy:
    max_bytes: int = 1 << 20
    timeout_seconds: float = 5.0
    allow_insecure_loopback: bool = False
    allow_loopback: bool = False
    """Loopback IP literals over https: the laptop stack with --tls, nothing else."""
    ca_file: str | None = None
    """A CA bundle to trust besides the system's (the development TLS CA)."""
    allowed_hosts: frozenset[str] | None = None
    """Partner mode: only these hosts may be fetched (``host`` exactly, or ``.domain``
    for every name under it); None lets any public host be fetched."""

    @property
    def development(self) -> bool:
        return self.allow_loopback or self.allow_insecure_loopback

    def host_allowed(self, host: str) -> bool:
        if self.allowed_hosts is None:
            return True
        name = host.rstrip(".").lower()
        return any(
            name == entry or (entry.startswith(".") and name.endswith(entry))
            for entry in (e.lower() for e in self.allowed_hosts)
        )

    def refusal(self, address: IPAddress, *, host: str) -> str | None:
        """Why ``address`` (which ``host`` resolved to) may not be reached, or None."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_multicast or address.is_unspecified:
            return "a multicast or unspecified address"
        if address.is_loopback:
            return None if self.development else "a loopback address"
        if address.is_global:
            return None
        if self.development and address.is_private and is_loopback_host(host):
            return None  # the compose stack: *.localhost names on the containers' network
        return "an internal address (private, link-local, shared or reserved)"


def stack_fetch_policy(
    hosts: Mapping[str, str], *, ca_file: str, allowed_hosts: Iterable[str] | None = None
) -> FetchPolicy:
    """The policy of a service of the stack whose URLs are ``hosts``.

    Development (every URL on this machine): loopback may be reached, over plain http
    when the stack runs without TLS. Partner mode (any other host): public addresses
    only, and, when the profile names ``allowed_hosts``, only those hosts and the
    stack's own."""
    insecure = any(url.startswith("http://") for url in hosts.values())
    local = all(is_loopback_url(url) for url in hosts.values())
    allowed = None
    if allowed_hosts is not None and not local:
        own = {urlsplit(url).hostname or "" for url in hosts.values()}
        allowed = frozenset(h.lower() for h in (*allowed_hosts, *own) if h)
    return FetchPolicy(
        allow_insecure_loopback=insecure,
        allow_loopback=local,
        ca_file=ca_file,
        allowed_hosts=allowed,
    )


def tls_context(policy: FetchPolicy) -> ssl.SSLContext:
    """The system's CAs, and the policy's CA file besides them: a partner deployment
    must reach public HTTPS peers and the development stack alike
    (``create_default_context(cafile=...)`` would load only the file)."""
    context = ssl.create_default_context()
    if policy.ca_file is not None:
        context.load_verify_locations(cafile=policy.ca_file)
    return context


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves once, checks every address, and connects only to checked addresses.

    httpcore still starts TLS with the URL's host name (certificate check and SNI), so
    pinning the address changes nothing a peer can observe but where we connect."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _checked_addresses(self._policy, host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _checked_addresses never returns an empty list
        raise failure


def _checked_addresses(policy: FetchPolicy, host: str, port: int) -> list[IPAddress]:
    literal = _literal_address(host)
    if literal is not None:
        found: list[IPAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            log.info("fetch: %s did not resolve: %s", _excerpt(host), exc)
            raise _unreachable(host) from None
        found = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        if not found:
            raise _unreachable(host)
    for address in found:
        # Every address is checked, not only the first: a name answering with one
        # public and one internal address must not be a coin toss.
        problem = policy.refusal(address, host=host)
        if problem is not None:
            raise PasserelleError(
                Reason.FETCH_ADDRESS_REFUSED,
                f"refusing to fetch from {_excerpt(host)!r}: it is {problem}",
            )
    return found


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return numeric_ipv4_host(host)


def _unreachable(where: str) -> PasserelleError:
    # 503 temporarily_unavailable: the peer's place is down, not the caller's request bad.
    return PasserelleError(
        Reason.FETCH_UNREACHABLE,
        f"{_excerpt(where)} could not be reached",
        wire_error="temporarily_unavailable",
    )


class _CheckedTransport(httpx.HTTPTransport):
    """httpx's own transport with the checking backend under its connection pool."""

    def __init__(self, policy: FetchPolicy, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx takes no network backend; its pool does. A proxy from the environment
        # would connect for us, unchecked, so none is used (trust_env=False above).
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=5.0,  # httpx's default; the pool's own keeps them forever
            network_backend=_CheckedBackend(policy),
        )


class Fetcher:
    """GET and POST under a :class:`FetchPolicy`; errors are ``fetch.*`` reasons (and
    ``input.too_large`` for an answer over the size bound)."""

    def __init__(
        self, policy: FetchPolicy, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.policy = policy
        verify = tls_context(policy)
        self._client = httpx.Client(
            timeout=policy.timeout_seconds,
            follow_redirects=False,
            verify=verify,
            trust_env=False,
            transport=transport or _CheckedTransport(policy, verify),
        )

    def check_url(self, url: str) -> None:
        """Refuse, before any connection, what the policy refuses from the URL alone:
        the scheme, a host outside the allow-list, an IP literal (in any numeric form)
        that is not allowed. Names are checked on their resolved addresses when the
        connection is made."""
        parts = urlsplit(url)
        try:
            host = parts.hostname or ""
            parts.port  # noqa: B018  (raises on a malformed port)
        except ValueError:
            raise PasserelleError(Reason.INPUT_MALFORMED, f"not a URL: {_excerpt(url)!r}") from None
        plain_ok = self.policy.allow_insecure_loopback and is_insecure_loopback(url)
        if not host or not (parts.scheme == "https" or plain_ok):
            raise PasserelleError(
                Reason.FETCH_SCHEME_REFUSED, f"refusing to fetch {_excerpt(url)!r}: not https"
            )
        if not self.policy.host_allowed(host):
            raise PasserelleError(
                Reason.FETCH_HOST_NOT_ALLOWED,
                f"refusing to fetch {_excerpt(url)!r}: host not in the allow-list",
            )
        literal = _literal_address(host)
        if literal is not None:
            problem = self.policy.refusal(literal, host=host)
            if problem is not None:
                raise PasserelleError(
                    Reason.FETCH_ADDRESS_REFUSED,
                    f"refusing to fetch {_excerpt(url)!r}: it is {problem}",
                )

    def request(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json: JsonObject | None = None,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """``max_bytes`` overrides the policy's cap for answers large by nature (lists);
        ``content`` is a raw body (an encrypted request, ``application/jwt``)."""
        self.check_url(url)
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        try:
            with self._client.stream(
                method, url, data=data, json=json, headers=headers, content=content
            ) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        raise PasserelleError(
                            Reason.INPUT_TOO_LARGE,
                            f"{_excerpt(url)} answered more than {limit} bytes",
                        )
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=b"".join(chunks),
                    request=response.request,
                )
        except httpx.InvalidURL:
            raise PasserelleError(Reason.INPUT_MALFORMED, f"not a URL: {_excerpt(url)!r}") from None
        except httpx.HTTPError as exc:
            # Logged for the operator; the caller learns only that it failed.
            log.info("fetch: %s %s failed: %s: %s", method, _excerpt(url), type(exc).__name__, exc)
            raise _unreachable(url) from None

    def get_json(self, url: str) -> JsonObject:
        response = self.request("GET", url)
        if response.status_code != 200:
            raise PasserelleError(
                Reason.INPUT_MALFORMED, f"{_excerpt(url)} answered {response.status_code}"
            )
        return parse_json_object(response.content, what=_excerpt(url))

    def close(self) -> None:
        self._client.close()
