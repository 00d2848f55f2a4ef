"""The collector pause around large list loads: it nests across threads and always
gives the collector back in the state it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from passerelle.trust._bulk import collector_paused


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_enabled_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_after_a_load_that_raises() -> None:
    with pytest.raises(ValueError, match="bad list"), collector_paused():
        raise ValueError("bad list")
    assert gc.isenabled()


def test_stays_disabled_if_it_was() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_loads_in_two_threads() -> None:
    # The first load ends while the second is still under way: the collector stays
    # paused for the second, and is enabled once both have ended.
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen["after_first_ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after_first_ended": False}
    assert gc.isenabled()
