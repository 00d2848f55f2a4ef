"""The loopback ports test stacks are started on (``free_ports``)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from passerelle.services import scenarios
from passerelle.services.scenarios import free_ports


def _range_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "ip_local_port_range"
    path.write_text(text)
    monkeypatch.setattr(scenarios, "_EPHEMERAL_RANGE", path)


def _kernel_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under the range no outgoing connection is ever given one of them while the stack
    # is being prepared: the kernel picks those from the range alone.
    _range_file(tmp_path, monkeypatch, "40000\t60999\n")
    ports = free_ports(12)
    assert len(set(ports)) == 12
    assert all(10_000 <= p < 40_000 for p in ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_port_in_use_is_never_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A window of five ports, one of them held by a listener: every draw of two must
    # come from the window and skip the held one.
    window = range(10_995, 11_000)
    _range_file(tmp_path, monkeypatch, f"{window.stop} 60999")
    monkeypatch.setattr(scenarios, "_ROOM", 0)
    monkeypatch.setattr(scenarios, "_LOWEST_PORT", window.start)
    bindable = [p for p in window if scenarios._bindable(p)]
    if len(bindable) < 4:
        pytest.skip(f"ports {window.start}-{window.stop - 1} are in use on this machine")
    with socket.socket() as held:
        held.bind(("127.0.0.1", bindable[0]))
        held.listen()
        for _ in range(20):
            ports = free_ports(2)
            assert len(set(ports)) == 2
            assert all(p in window and p != bindable[0] for p in ports)


@pytest.mark.parametrize("text", ["", "not a range", "10500 60999"])
def test_without_room_below_the_range_the_kernel_chooses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    _range_file(tmp_path, monkeypatch, text)
    low, high = _kernel_range()
    ports = free_ports(4)
    assert len(set(ports)) == 4
    assert all(low <= p <= high for p in ports)
