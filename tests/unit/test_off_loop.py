"""``off_loop``: a route's blocking work runs in a worker thread while the event loop
goes on, and its answer or its exception comes back to the route."""

from __future__ import annotations

import asyncio
import threading

import pytest

from passerelle import PasserelleError, Reason
from passerelle.services.web import off_loop


def test_the_work_runs_in_another_thread_and_its_result_comes_back() -> None:
    loop_thread = threading.get_ident()

    def work(a: int, *, b: int) -> tuple[int, int]:
        return a + b, threading.get_ident()

    total, ran_in = asyncio.run(off_loop(work, 2, b=3))
    assert total == 5
    assert ran_in != loop_thread


def test_the_loop_serves_others_while_the_work_blocks() -> None:
    release = threading.Event()

    async def both() -> list[str]:
        done: list[str] = []

        async def other() -> None:
            await asyncio.sleep(0)
            done.append("other")
            release.set()  # only the loop running `other` lets the blocked work end

        def blocked() -> None:
            assert release.wait(timeout=10)
            done.append("blocked")

        await asyncio.gather(off_loop(blocked), other())
        return done

    assert asyncio.run(both()) == ["other", "blocked"]


def test_an_exception_of_the_work_reaches_the_route() -> None:
    def refuse() -> None:
        raise PasserelleError(Reason.INPUT_MALFORMED, "no")

    with pytest.raises(PasserelleError) as raised:
        asyncio.run(off_loop(refuse))
    assert raised.value.reason is Reason.INPUT_MALFORMED
