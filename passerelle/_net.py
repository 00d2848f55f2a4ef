"""Which hosts are this machine: the one test behind every plain-HTTP relaxation."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback_host"]


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
