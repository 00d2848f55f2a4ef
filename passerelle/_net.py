"""Which hosts are this machine: the one test behind every plain-HTTP relaxation."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

__all__ = ["is_loopback_host", "split_url"]

_UNSPLITTABLE = SplitResult("", "", "", "", "")


def split_url(url: str) -> SplitResult:
    """``urlsplit`` for a peer's URL. What urllib cannot split (an unclosed ``[``, a
    bracketed host that is no IP address, a port that is no number) raises ValueError
    there; here it splits into nothing (no scheme, no host), which every caller already
    refuses with its own reason code."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return _UNSPLITTABLE
    return parts


def is_loopback_host(host: str) -> bool:
    """``localhost``, a name under ``.localhost`` (RFC 6761 §6.3 reserves them for
    loopback; the compose stack names its services there so that one URL works from the
    host's browser and between containers), or a loopback IP literal. Never a name that
    merely starts like one (``127.0.0.1.example``, ``localhost.example``)."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
