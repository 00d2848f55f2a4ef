"""The local stack as a conformance target: started on free loopback ports when no
targets file is given, with the same launcher ``passerelle up`` uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, RunningStack, start_stack
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.scenarios import free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki

from ._stack_process import StackProcess
from .targets import Targets, load_targets, local_targets_text

__all__ = ["local_targets", "prepare_data_dir", "start_local_stack", "start_local_stack_process"]


def prepare_data_dir(data_dir: Path, hosts: Mapping[str, str] | None = None) -> dict[str, str]:
    """The development PKI and signed trust lists for a stack on ``hosts``."""
    chosen = dict(hosts or stack_hosts(free_ports(len(ROLES))))
    now = datetime.now(UTC)
    init_pki(data_dir, now=now, hosts=chosen)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=now)
    return chosen


def local_targets(urls: Mapping[str, str], data_dir: Path) -> Targets:
    targets = load_targets(
        local_targets_text(),
        substitutions={**urls, "data_dir": str(data_dir)},
        source="local stack",
    )
    if any(url.startswith("https://") for url in urls.values()):
        # A stack served with `passerelle up --tls` presents the development TLS CA's
        # certificate; the suite trusts that CA, and only for this run.
        tls_ca = str(load_pki(data_dir).tls_ca)
        targets = replace(targets, suite=replace(targets.suite, tls_ca=tls_ca))
    return targets


def start_local_stack(
    data_dir: Path,
    *,
    quirks: Mapping[str, Iterable[str]] | None = None,
    hosts: Mapping[str, str] | None = None,
) -> tuple[RunningStack, Targets]:
    chosen = prepare_data_dir(data_dir, hosts)
    stack = start_stack(data_dir=data_dir, hosts=chosen, roles=ROLES, quirks=quirks)
    return stack, local_targets(stack.urls, data_dir)


def start_local_stack_process(data_dir: Path) -> tuple[StackProcess, Targets]:
    """:func:`start_local_stack` with the services in a child process, beside the
    suite's rather than inside it (``passerelle conformance`` without a targets file):
    the same data directory, PKI, trust lists and targets. The child imports the
    services while this process makes the PKI."""
    stack = StackProcess.spawn()
    try:
        chosen = prepare_data_dir(data_dir)
        stack.start(data_dir, hosts=chosen, roles=ROLES)
    except BaseException:
        stack.stop()
        raise
    return stack, local_targets(stack.urls, data_dir)
