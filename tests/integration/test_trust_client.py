"""A relying service's trust snapshot notices a rebuilt list within seconds: the
TrustClient asks the trust service with conditional GETs, verifies only what changed,
and keeps its snapshot through a short outage of the publisher."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from passerelle import PasserelleError, Reason
from passerelle.services.fetch import Fetcher, FetchPolicy
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.trust.app import create_trust_app
from passerelle.services.trust.build import build_with_pki, load_recognitions
from passerelle.services.trust.client import REFRESH, REVALIDATE, TrustClient
from passerelle.trust import Framework

SOURCES = Path(__file__).parents[2] / "trust_lists"
TRUST = "http://127.0.0.1:8100"


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class _Publisher:
    """The real trust app behind a transport that counts requests and can go down."""

    def __init__(self, data_dir: Path, sources: Path) -> None:
        self._client = TestClient(create_trust_app(data_dir=data_dir, sources=sources))
        self.requests: list[httpx.Request] = []
        self.answers: list[int] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("the trust service is down", request=request)
        answer = self._client.request(
            request.method, request.url.path, headers=dict(request.headers)
        )
        self.answers.append(answer.status_code)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path, _Publisher, TrustClient, _Clock]:
    data_dir = tmp_path / "data"
    sources = tmp_path / "trust_lists"
    shutil.copytree(SOURCES, sources)
    now = utc_now()
    init_pki(data_dir, now=now)
    build_with_pki(data_dir=data_dir, sources=sources, now=now)
    publisher = _Publisher(data_dir, sources)
    clock = _Clock(now)
    return data_dir, sources, publisher, _fresh_client(data_dir, sources, publisher, clock), clock


def _fresh_client(
    data_dir: Path, sources: Path, publisher: _Publisher, clock: _Clock
) -> TrustClient:
    pki = load_pki(data_dir, now=clock.now)
    return TrustClient(
        Fetcher(
            FetchPolicy(allow_insecure_loopback=True, allow_loopback=True),
            transport=httpx.MockTransport(publisher),
        ),
        trust_url=TRUST,
        home=Framework.EU,
        eu_operator_anchors=[pki.anchor("eu-lote-operator")],
        ca_operator_anchors=[pki.anchor("ca-registry-operator")],
        recognitions=load_recognitions(sources),
        clock=clock,
    )


def _sequences(client: TrustClient) -> dict[str, int]:
    snapshot = client.snapshot()
    out = {lote.list_type.rsplit("/", 1)[-1]: lote.sequence_number for lote in snapshot.eu_lists}
    assert snapshot.ca_registry is not None
    return {**out, "registry": snapshot.ca_registry.sequence_number}


def test_a_rebuilt_list_is_noticed_at_the_next_freshness_check(world) -> None:  # type: ignore[no-untyped-def]
    data_dir, sources, publisher, client, clock = world
    first = client.snapshot()
    assert set(_sequences(client).values()) == {1}
    fetched = len(publisher.requests)
    assert fetched == 4  # three EU lists and the registry

    # Within the interval nothing is asked.
    clock.now += REVALIDATE / 2
    assert client.snapshot() is first
    assert len(publisher.requests) == fetched

    # After it, conditional GETs: unchanged lists are 304 and nothing is verified again.
    clock.now += REVALIDATE
    assert client.snapshot() is first
    assert publisher.answers[-4:] == [304, 304, 304, 304]
    assert all("if-none-match" in r.headers for r in publisher.requests[-4:])

    # A rebuild (what `passerelle trust build` does) reaches the client at the next check.
    build_with_pki(data_dir=data_dir, sources=sources, now=clock.now)
    clock.now += REVALIDATE
    second = client.snapshot()
    assert second is not first
    assert set(_sequences(client).values()) == {2}


def test_an_unreachable_publisher_leaves_the_snapshot_in_force(world) -> None:  # type: ignore[no-untyped-def]
    _, _, publisher, client, clock = world
    first = client.snapshot()
    publisher.down = True
    clock.now += REVALIDATE * 2
    assert client.snapshot() is first
    # Past the refresh interval too: the verified lists serve until their
    # NextUpdate, which every decision checks (trust.list_stale once it has passed).
    clock.now += REFRESH
    assert client.snapshot() is first
    # With nothing in hand, the outage is said to be ours.
    data_dir, sources, _, _, _ = world
    with pytest.raises(PasserelleError) as exc:
        _fresh_client(data_dir, sources, publisher, clock).snapshot()
    assert exc.value.reason is Reason.TRUST_UNAVAILABLE


def test_a_list_going_back_in_sequence_is_refused_at_once(world) -> None:  # type: ignore[no-untyped-def]
    data_dir, sources, _, client, clock = world
    eu = data_dir / "trust" / "eu" / "pid-providers.jwt"
    old = eu.read_text()
    build_with_pki(data_dir=data_dir, sources=sources, now=clock.now)
    client.snapshot()  # sequence 2 seen
    eu.write_text(old)  # the publisher serves sequence 1 again
    clock.now += timedelta(seconds=1) + REVALIDATE
    with pytest.raises(PasserelleError) as exc:
        client.snapshot()
    assert exc.value.reason is Reason.TRUST_LIST_ROLLBACK


def test_a_refused_list_is_not_verified_again_until_it_changes(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data_dir, sources, _, client, clock = world
    eu = data_dir / "trust" / "eu" / "pid-providers.jwt"
    old = eu.read_text()
    build_with_pki(data_dir=data_dir, sources=sources, now=clock.now)
    client.snapshot()
    eu.write_text(old)  # a rolled-back list: refused
    clock.now += timedelta(seconds=1) + REVALIDATE
    verified: list[object] = []
    real = client._verify

    def counting(published, now):  # type: ignore[no-untyped-def]
        verified.append(now)
        return real(published, now)

    monkeypatch.setattr(client, "_verify", counting)
    for _ in range(3):
        clock.now += timedelta(seconds=1) + REVALIDATE
        with pytest.raises(PasserelleError) as exc:
            client.snapshot()
        assert exc.value.reason is Reason.TRUST_LIST_ROLLBACK
    assert len(verified) == 1  # the same documents, refused once, are not verified again
    build_with_pki(data_dir=data_dir, sources=sources, now=clock.now)  # a new list
    clock.now += timedelta(seconds=1) + REVALIDATE
    client.snapshot()
    assert len(verified) == 2
