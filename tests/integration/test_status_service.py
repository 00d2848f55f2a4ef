"""The issuer's status list over the shared store, on SQLite and PostgreSQL: indices are
random, distinct, never reused after a restart; a revocation reaches a verifier once
its cached copy of the list expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError, Reason
from passerelle.jose import KeySigner
from passerelle.services.runtime import SecretsRandom
from passerelle.services.status import StatusListService
from passerelle.services.storage import Store
from passerelle.status_list import (
    StatusListCache,
    StatusValue,
    check_status,
    verify_status_list_token,
)
from tests.conftest import NOW
from tests.storage_backends import Backend

URI = "https://ca-issuer.test/status/1"
ISSUANCES = 10_000


def _service(store: Store, key: ec.EllipticCurvePrivateKey) -> StatusListService:
    return StatusListService(
        store=store,
        list_id="ca1",
        uri=URI,
        signer=KeySigner(key),
        kid="status-1",
        random=SecretsRandom(),
        ttl=timedelta(minutes=5),
    )


def test_indices_are_distinct_random_and_never_reused(backend: Backend) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with backend.open() as store:
        service = _service(store, key)
        first = [service.allocate(now=NOW)["status_list"]["idx"] for _ in range(ISSUANCES)]  # type: ignore[index]
    assert len(set(first)) == ISSUANCES
    assert first != sorted(first)
    # A restart: a new process, a new service object, the same database.
    with backend.open() as store:
        service = _service(store, key)
        assert service.allocated(now=NOW) == ISSUANCES
        again = [service.allocate(now=NOW)["status_list"]["idx"] for _ in range(500)]  # type: ignore[index]
    assert not set(again) & set(first)
    assert len(set(again)) == 500


def test_revocation_reaches_a_verifier_when_its_cache_expires(backend: Backend) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with backend.open() as store:
        issuer = _service(store, key)
        reference = issuer.allocate(now=NOW)
        index = reference["status_list"]["idx"]  # type: ignore[index]
        cache = StatusListCache(max_ttl=timedelta(hours=1))

        def fetch(at):  # type: ignore[no-untyped-def]
            cached = cache.get(URI, now=at)
            if cached is None:
                cached = verify_status_list_token(
                    issuer.token(now=at),
                    expected_uri=URI,
                    key=key.public_key(),
                    algorithms=["ES256"],
                    now=at,
                    skew=timedelta(seconds=30),
                )
                cache.store(cached, fetched_at=at)
            return cached

        assert check_status(reference, fetch(NOW)) is StatusValue.VALID
        issuer.set_status(index, StatusValue.INVALID, now=NOW + timedelta(minutes=1))
        # Still within ttl: the verifier's cached list says valid, as the spec allows.
        assert check_status(reference, fetch(NOW + timedelta(minutes=2))) is StatusValue.VALID
        with pytest.raises(PasserelleError) as err:
            check_status(reference, fetch(NOW + timedelta(minutes=6)))
        assert err.value.reason is Reason.STATUS_REVOKED


def test_suspend_and_reinstate(backend: Backend) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with backend.open() as store:
        issuer = _service(store, key)
        reference = issuer.allocate(now=NOW)
        index = reference["status_list"]["idx"]  # type: ignore[index]

        def verified():  # type: ignore[no-untyped-def]
            return verify_status_list_token(
                issuer.token(now=NOW),
                expected_uri=URI,
                key=key.public_key(),
                algorithms=["ES256"],
                now=NOW,
                skew=timedelta(0),
            )

        issuer.set_status(index, StatusValue.SUSPENDED, now=NOW)
        with pytest.raises(PasserelleError) as err:
            check_status(reference, verified())
        assert err.value.reason is Reason.STATUS_SUSPENDED
        issuer.set_status(index, StatusValue.VALID, now=NOW)
        assert check_status(reference, verified()) is StatusValue.VALID
        with pytest.raises(PasserelleError) as err:
            issuer.set_status(
                index + 1 if index + 1 < issuer.size else index - 1, StatusValue.INVALID, now=NOW
            )
        assert err.value.reason is Reason.STATUS_INDEX_OUT_OF_RANGE


def test_the_token_is_signed_again_only_when_a_status_changed_or_it_aged(
    backend: Backend,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with backend.open() as store:
        # Two workers: two service objects, each with its own cache, one database.
        one, two = _service(store, key), _service(store, key)
        reference = one.allocate(now=NOW)
        index = reference["status_list"]["idx"]  # type: ignore[index]
        first = one.token(now=NOW)
        assert one.token(now=NOW + timedelta(seconds=1)) == first
        assert two.token(now=NOW) == two.token(now=NOW + timedelta(seconds=1))
        # A change made through one worker is served by the other on its next request.
        one.set_status(index, StatusValue.INVALID, now=NOW + timedelta(seconds=2))
        changed = two.token(now=NOW + timedelta(seconds=3))
        verified = verify_status_list_token(
            changed,
            expected_uri=URI,
            key=key.public_key(),
            algorithms=["ES256"],
            now=NOW + timedelta(seconds=3),
            skew=timedelta(0),
        )
        with pytest.raises(PasserelleError) as refused:
            check_status(reference, verified)
        assert refused.value.reason is Reason.STATUS_REVOKED
        # Unchanged but as old as its ttl: signed again, with a new iat.
        later = NOW + timedelta(minutes=5, seconds=3)
        assert two.token(now=later) != changed
