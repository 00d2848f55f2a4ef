"""Status lists: IETF Token Status List vectors and tokens, W3C Bitstring Status List,
index allocation and cache freshness."""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject, b64url_decode, b64url_encode
from passerelle.jose import KeySigner, sign_jws
from passerelle.status_list import (
    MIN_BITSTRING_ENTRIES,
    STATUS_LIST_JWT_TYP,
    Bitstring,
    StatusList,
    StatusListCache,
    StatusPurpose,
    StatusValue,
    VerifiedStatusList,
    allocate_index,
    check_bitstring_status,
    check_status,
    create_bitstring,
    create_bitstring_status_entry,
    create_bitstring_status_list_credential,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    decode_bitstring,
    decode_status_list,
    draw_index,
    encode_bitstring,
    encode_status_list,
    fresh_until,
    verify_status_list_token,
    with_bits,
    with_status,
    with_statuses,
)
from passerelle.vc import issue_vc_jose, verify_vc_jose
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    encode_x5c,
)
from tests.conftest import SeededRandom

URI = "https://status.example.eu/statuslists/1"
SKEW = timedelta(seconds=30)
ALGS = ("ES256",)


def _reason(call: Callable[[], object]) -> Reason:
    with pytest.raises(PasserelleError) as info:
        call()
    return info.value.reason


def _join(text: str) -> str:
    return "".join(text.split())


# --- draft-ietf-oauth-status-list §4.1 and appendix "Test vectors" ---------------------

# §4.1: 16 entries, bits 1 -> bytes b9 a3; 12 entries, bits 2 -> bytes c9 44 f9.
SPEC_1BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
SPEC_2BIT = [0b01, 0b10, 0b00, 0b11, 0b00, 0b01, 0b00, 0b01, 0b01, 0b10, 0b11, 0b11]

# Appendix, 2^20 entries each.
LONG_1BIT_SET = [0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345]
LONG_1BIT_LST = _join("""
eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogE
AAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAA
A7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAAA
ACAZC8L2AEb""")
LONG_2BIT = {
    0: 0b01, 1993: 0b10, 25460: 0b01, 159495: 0b11, 495669: 0b01, 554353: 0b01,
    645645: 0b10, 723232: 0b01, 854545: 0b01, 934534: 0b10, 1000345: 0b11,
}  # fmt: skip
LONG_2BIT_LST = _join("""
eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGV
IAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEB5WwIAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAAA
AAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9S
wIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw""")


def test_spec_1bit_example_encodes_to_the_spec_bytes_and_lst() -> None:
    sl = with_statuses(create_status_list(bits=1, size=16), enumerate(SPEC_1BIT))
    assert sl.data == bytes([0xB9, 0xA3])
    assert zlib.compress(sl.data, 9).hex() == "78dadbb918000217015d"
    assert encode_status_list(sl) == {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
    decoded = decode_status_list({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    assert [decoded.get(i) for i in range(16)] == SPEC_1BIT


def test_spec_2bit_example_encodes_to_the_spec_bytes_and_lst() -> None:
    sl = with_statuses(create_status_list(bits=2, size=12), enumerate(SPEC_2BIT))
    assert sl.data == bytes([0xC9, 0x44, 0xF9])
    assert sl.size == 12
    assert encode_status_list(sl) == {"bits": 2, "lst": "eNo76fITAAPfAgc"}
    decoded = decode_status_list({"bits": 2, "lst": "eNo76fITAAPfAgc"})
    assert [decoded.get(i) for i in range(12)] == SPEC_2BIT


def test_spec_long_1bit_vector() -> None:
    decoded = decode_status_list({"bits": 1, "lst": LONG_1BIT_LST})
    assert decoded.size == 2**20
    assert [i for i in range(decoded.size) if decoded.get(i)] == LONG_1BIT_SET
    built = with_statuses(create_status_list(bits=1, size=2**20), ((i, 1) for i in LONG_1BIT_SET))
    assert built == decoded
    assert encode_status_list(built)["lst"] == LONG_1BIT_LST


def test_spec_long_2bit_vector() -> None:
    decoded = decode_status_list({"bits": 2, "lst": LONG_2BIT_LST})
    assert decoded.size == 2**20
    assert {i: decoded.get(i) for i in range(decoded.size) if decoded.get(i)} == LONG_2BIT
    built = with_statuses(create_status_list(bits=2, size=2**20), LONG_2BIT.items())
    assert encode_status_list(built)["lst"] == LONG_2BIT_LST


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_each_entry_is_independent(bits: int) -> None:
    sl = create_status_list(bits=bits, size=64)
    top = (1 << bits) - 1
    sl = with_status(sl, 5, top)
    assert [sl.get(i) for i in range(8)] == [0, 0, 0, 0, 0, top, 0, 0]
    sl = with_status(sl, 5, 1)
    assert sl.get(5) == 1
    assert sum(sl.get(i) for i in range(sl.size)) == 1


def test_million_entry_2bit_list_round_trips() -> None:
    rng = random.Random(20261123)
    values = [rng.choice((0, 0, 0, 1, 2, 3)) for _ in range(1_000_000)]
    sl = with_statuses(create_status_list(bits=2, size=1_000_000), enumerate(values))
    assert sl.size == 1_000_000
    decoded = decode_status_list(encode_status_list(sl))
    assert decoded == sl
    for i in rng.sample(range(1_000_000), 2000):
        assert decoded.get(i) == values[i]


def test_status_list_refuses_bad_construction() -> None:
    assert _reason(lambda: StatusList(bits=3, data=b"\x00")) is Reason.STATUS_LIST_INVALID
    assert _reason(lambda: create_status_list(bits=2, size=0)) is Reason.STATUS_LIST_INVALID
    sl = create_status_list(bits=2, size=8)
    assert _reason(lambda: with_status(sl, 0, 4)) is Reason.STATUS_UNKNOWN_VALUE
    assert _reason(lambda: with_status(sl, 8, 1)) is Reason.STATUS_INDEX_OUT_OF_RANGE
    assert _reason(lambda: sl.get(-1)) is Reason.STATUS_INDEX_OUT_OF_RANGE
    assert _reason(lambda: sl.get(True)) is Reason.STATUS_INDEX_OUT_OF_RANGE


@pytest.mark.parametrize(
    "encoded",
    [
        "not an object",
        {"bits": 3, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": True, "lst": "eNrbuRgAAhcBXQ"},
        {"bits": 1},
        {"bits": 1, "lst": "eNrbuRgAAhcBXQ=="},
        {"bits": 1, "lst": b64url_encode(b"not zlib at all")},
        {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x01\x02")[:-2])},
        {"bits": 1, "lst": b64url_encode(zlib.compress(b"\x01") + b"trailing")},
        {"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": 7},
    ],
)
def test_decode_status_list_refuses_malformed(encoded: object) -> None:
    assert _reason(lambda: decode_status_list(encoded)) is Reason.STATUS_LIST_INVALID  # type: ignore[arg-type]


def test_zip_bomb_is_refused() -> None:
    bomb = zlib.compress(bytes(17 * 1024 * 1024), 9)
    assert len(bomb) < 20_000  # small on the wire ...
    lst = b64url_encode(bomb)
    # ... but beyond the 16 MiB bound once inflated.
    assert (
        _reason(lambda: decode_status_list({"bits": 1, "lst": lst})) is Reason.STATUS_LIST_INVALID
    )
    small: JsonObject = {"bits": 1, "lst": b64url_encode(zlib.compress(bytes(1025)))}
    assert _reason(lambda: decode_status_list(small, max_bytes=1024)) is Reason.STATUS_LIST_INVALID
    assert decode_status_list(small, max_bytes=1025).size == 1025 * 8


# --- Status List Token -----------------------------------------------------------------


@pytest.fixture
def signer() -> KeySigner:
    return KeySigner(ec.generate_private_key(ec.SECP256R1()))


def _token(
    signer: KeySigner,
    now: datetime,
    sl: StatusList | None = None,
    *,
    ttl: timedelta | None = timedelta(minutes=5),
    valid_for: timedelta | None = timedelta(days=1),
) -> str:
    return create_status_list_token(
        sl or create_status_list(bits=2, size=1024),
        uri=URI,
        signer=signer,
        now=now,
        ttl=ttl,
        valid_for=valid_for,
        kid="status-key-1",
    )


def _verify(token: str, signer: KeySigner, now: datetime, uri: str = URI) -> VerifiedStatusList:
    return verify_status_list_token(
        token, expected_uri=uri, key=signer.public_key, algorithms=ALGS, now=now, skew=SKEW
    )


def test_token_round_trip(signer: KeySigner, now: datetime) -> None:
    sl = with_status(create_status_list(bits=2, size=1024), 7, StatusValue.SUSPENDED)
    token = _token(signer, now, sl)
    verified = _verify(token, signer, now)
    assert verified.header["typ"] == STATUS_LIST_JWT_TYP
    assert verified.header["kid"] == "status-key-1"
    assert verified.uri == URI
    assert verified.claims["sub"] == URI
    assert verified.ttl == 300
    assert verified.iat == int(now.timestamp())
    assert verified.exp == int(now.timestamp()) + 86400
    assert verified.status_list == sl
    assert verified.chain is None
    assert check_status(create_status_reference(idx=0, uri=URI), verified) is StatusValue.VALID
    ref7 = create_status_reference(idx=7, uri=URI)
    assert ref7 == {"status_list": {"idx": 7, "uri": URI}}
    assert _reason(lambda: check_status(ref7, verified)) is Reason.STATUS_SUSPENDED


def test_token_without_exp_and_ttl(signer: KeySigner, now: datetime) -> None:
    token = _token(signer, now, ttl=None, valid_for=None)
    verified = _verify(token, signer, now + timedelta(days=365))
    assert verified.exp is None
    assert verified.ttl is None
    assert "exp" not in verified.claims


def test_token_with_x5c(now: datetime, rng: SeededRandom) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    start, end = now - timedelta(days=1), now + timedelta(days=365)
    ca = build_ca_certificate(
        subject=build_name(common_name="Status CA", country="FR"),
        key=ca_key, not_before=start, not_after=end, serial=1,
    )  # fmt: skip
    leaf = build_leaf_certificate(
        subject=build_name(common_name="Status list signer", country="FR"),
        public_key=leaf_key.public_key(), issuer_cert=ca, issuer_key=ca_key,
        not_before=start, not_after=end, serial=2, usage=LeafUsage.SIGNING,
    )  # fmt: skip
    token = create_status_list_token(
        create_status_list(bits=2, size=64),
        uri=URI, signer=KeySigner(leaf_key), now=now,
        ttl=timedelta(hours=1), valid_for=timedelta(days=1), x5c=encode_x5c([leaf]),
    )  # fmt: skip
    verified = verify_status_list_token(
        token, expected_uri=URI, x5c_anchors=[ca], algorithms=ALGS, now=now, skew=SKEW
    )
    assert verified.chain is not None
    assert verified.chain.leaf == leaf
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_ca: x509.Certificate = build_ca_certificate(
        subject=build_name(common_name="Other CA"),
        key=other_key, not_before=start, not_after=end, serial=3,
    )  # fmt: skip
    assert (
        _reason(
            lambda: verify_status_list_token(
                token, expected_uri=URI, x5c_anchors=[other_ca], algorithms=ALGS, now=now, skew=SKEW
            )
        )
        is Reason.X509_CHAIN_INVALID
    )
    no_x5c = _token(KeySigner(leaf_key), now)
    assert (
        _reason(
            lambda: verify_status_list_token(
                no_x5c, expected_uri=URI, x5c_anchors=[ca], algorithms=ALGS, now=now, skew=SKEW
            )
        )
        is Reason.JWS_HEADER_INVALID
    )


def test_token_needs_exactly_one_key_source(signer: KeySigner, now: datetime) -> None:
    token = _token(signer, now)
    reason = _reason(
        lambda: verify_status_list_token(
            token, expected_uri=URI, algorithms=ALGS, now=now, skew=SKEW
        )
    )
    assert reason is Reason.JWS_HEADER_INVALID


def _claims(now: datetime, **changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": URI,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 3600,
        "ttl": 300,
        "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_hand_made_token_is_accepted(signer: KeySigner, now: datetime) -> None:
    # The control for the negative cases below: the same construction, untouched.
    token = sign_jws({"typ": "statuslist+jwt"}, _claims(now), signer)  # type: ignore[arg-type]
    assert _verify(token, signer, now).status_list.get(0) == 1


@pytest.mark.parametrize(
    ("header", "changes", "reason"),
    [
        ({"typ": "JWT"}, {}, Reason.JWS_TYP_MISMATCH),
        ({"typ": "dc+sd-jwt"}, {}, Reason.JWS_TYP_MISMATCH),
        ({}, {}, Reason.JWS_TYP_MISMATCH),
        ({"typ": "statuslist+jwt"}, {"sub": "https://status.example.eu/statuslists/2"},
         Reason.STATUS_LIST_URI_MISMATCH),
        ({"typ": "statuslist+jwt"}, {"sub": None}, Reason.JWT_CLAIM_MISSING),
        ({"typ": "statuslist+jwt"}, {"iat": None}, Reason.JWT_CLAIM_MISSING),
        ({"typ": "statuslist+jwt"}, {"status_list": None}, Reason.JWT_CLAIM_MISSING),
        ({"typ": "statuslist+jwt"}, {"status_list": {"bits": 1}}, Reason.STATUS_LIST_INVALID),
        ({"typ": "statuslist+jwt"}, {"ttl": 0}, Reason.STATUS_LIST_INVALID),
        ({"typ": "statuslist+jwt"}, {"ttl": "300"}, Reason.STATUS_LIST_INVALID),
        ({"typ": "statuslist+jwt"}, {"exp": 1_000_000_000}, Reason.STATUS_LIST_EXPIRED),
        ({"typ": "statuslist+jwt"}, {"iat": 4_000_000_000}, Reason.JWT_ISSUED_IN_FUTURE),
    ],
)  # fmt: skip
def test_token_negatives(
    signer: KeySigner,
    now: datetime,
    header: dict[str, object],
    changes: dict[str, object],
    reason: Reason,
) -> None:
    token = sign_jws(header, _claims(now, **changes), signer)  # type: ignore[arg-type]
    assert _reason(lambda: _verify(token, signer, now)) is reason


def test_token_uri_mismatch(signer: KeySigner, now: datetime) -> None:
    token = _token(signer, now)
    other = "https://status.example.eu/statuslists/2"
    assert _reason(lambda: _verify(token, signer, now, other)) is Reason.STATUS_LIST_URI_MISMATCH


def test_expired_list(signer: KeySigner, now: datetime) -> None:
    token = _token(signer, now, valid_for=timedelta(hours=1))
    assert _verify(token, signer, now + timedelta(minutes=59)).exp is not None
    later = now + timedelta(hours=1, seconds=31)
    assert _reason(lambda: _verify(token, signer, later)) is Reason.STATUS_LIST_EXPIRED


def test_tampered_signature_and_payload(signer: KeySigner, now: datetime) -> None:
    token = _token(signer, now)
    head, payload, sig = token.split(".")
    raw = bytearray(b64url_decode(sig))
    raw[5] ^= 0x01
    bad_sig = f"{head}.{payload}.{b64url_encode(bytes(raw))}"
    assert _reason(lambda: _verify(bad_sig, signer, now)) is Reason.JWS_INVALID_SIGNATURE
    revoked_all = encode_status_list(StatusList(bits=2, data=b"\x55" * 256))
    claims = _claims(now, status_list=revoked_all)
    swapped = f"{head}.{b64url_encode(str(claims).encode())}.{sig}"
    assert _reason(lambda: _verify(swapped, signer, now)) is Reason.JWS_INVALID_SIGNATURE
    other = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    assert _reason(lambda: _verify(token, other, now)) is Reason.JWS_INVALID_SIGNATURE


def test_zip_bomb_in_a_token(signer: KeySigner, now: datetime) -> None:
    lst = b64url_encode(zlib.compress(bytes(17 * 1024 * 1024), 9))
    token = sign_jws(
        {"typ": "statuslist+jwt"},
        _claims(now, status_list={"bits": 1, "lst": lst}),  # type: ignore[arg-type]
        signer,
    )
    assert _reason(lambda: _verify(token, signer, now)) is Reason.STATUS_LIST_INVALID


def test_create_token_refuses_bad_options(signer: KeySigner, now: datetime) -> None:
    sl = create_status_list(bits=2, size=8)
    cases: list[tuple[timedelta | None, timedelta | None]] = [
        (timedelta(0), None),
        (None, timedelta(seconds=-5)),
    ]
    for ttl, valid_for in cases:
        with pytest.raises(PasserelleError) as info:
            create_status_list_token(
                sl, uri=URI, signer=signer, now=now, ttl=ttl, valid_for=valid_for
            )
        assert info.value.reason is Reason.STATUS_LIST_INVALID


# --- check_status ----------------------------------------------------------------------


def _verified(signer: KeySigner, now: datetime, sl: StatusList) -> VerifiedStatusList:
    return _verify(_token(signer, now, sl), signer, now)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (StatusValue.INVALID, Reason.STATUS_REVOKED),
        (StatusValue.SUSPENDED, Reason.STATUS_SUSPENDED),
        (StatusValue.APPLICATION_SPECIFIC, Reason.STATUS_UNKNOWN_VALUE),
    ],
)
def test_check_status_values(
    signer: KeySigner, now: datetime, value: StatusValue, reason: Reason
) -> None:
    verified = _verified(signer, now, with_status(create_status_list(bits=2, size=64), 9, value))
    assert (
        _reason(lambda: check_status(create_status_reference(idx=9, uri=URI), verified)) is reason
    )
    assert check_status(create_status_reference(idx=10, uri=URI), verified) is StatusValue.VALID


def test_check_status_reserved_8bit_value_is_unknown(signer: KeySigner, now: datetime) -> None:
    verified = _verified(signer, now, with_status(create_status_list(bits=8, size=8), 1, 0x0C))
    ref = create_status_reference(idx=1, uri=URI)
    assert _reason(lambda: check_status(ref, verified)) is Reason.STATUS_UNKNOWN_VALUE


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ({"status_list": {"idx": 64, "uri": URI}}, Reason.STATUS_INDEX_OUT_OF_RANGE),
        ({"status_list": {"idx": 1, "uri": URI + "x"}}, Reason.STATUS_LIST_URI_MISMATCH),
        ({"status_list": {"idx": -1, "uri": URI}}, Reason.STATUS_LIST_INVALID),
        ({"status_list": {"idx": "1", "uri": URI}}, Reason.STATUS_LIST_INVALID),
        ({"status_list": {"idx": True, "uri": URI}}, Reason.STATUS_LIST_INVALID),
        ({"status_list": {"idx": 1}}, Reason.STATUS_LIST_INVALID),
        ({"idx": 1, "uri": URI}, Reason.STATUS_LIST_INVALID),
    ],
)
def test_check_status_reference_negatives(
    signer: KeySigner, now: datetime, reference: dict[str, object], reason: Reason
) -> None:
    verified = _verified(signer, now, create_status_list(bits=2, size=64))
    assert _reason(lambda: check_status(reference, verified)) is reason  # type: ignore[arg-type]


def test_suspend_then_reinstate(signer: KeySigner, now: datetime) -> None:
    ref = create_status_reference(idx=42, uri=URI)
    sl = create_status_list(bits=2, size=128)
    assert check_status(ref, _verified(signer, now, sl)) is StatusValue.VALID
    sl = with_status(sl, 42, StatusValue.SUSPENDED)
    suspended = _verified(signer, now, sl)
    assert _reason(lambda: check_status(ref, suspended)) is Reason.STATUS_SUSPENDED
    sl = with_status(sl, 42, StatusValue.VALID)
    assert check_status(ref, _verified(signer, now, sl)) is StatusValue.VALID


# --- cache -----------------------------------------------------------------------------


def test_fresh_until_takes_the_earliest(now: datetime) -> None:
    t = int(now.timestamp())
    day = timedelta(days=1)
    assert fresh_until(fetched_at=now, ttl=300, exp=t + 3600, max_ttl=day) == now + timedelta(
        seconds=300
    )
    assert fresh_until(fetched_at=now, ttl=7200, exp=t + 3600, max_ttl=day) == now + timedelta(
        hours=1
    )
    assert fresh_until(fetched_at=now, ttl=None, exp=None, max_ttl=day) == now + day
    assert fresh_until(fetched_at=now, ttl=10**9, exp=t + 10**9, max_ttl=day) == now + day
    assert (
        _reason(
            lambda: fresh_until(fetched_at=now.replace(tzinfo=None), ttl=1, exp=None, max_ttl=day)
        )
        is Reason.STATUS_LIST_INVALID
    )


def test_revocation_is_seen_after_the_cached_list_goes_stale(
    signer: KeySigner, now: datetime
) -> None:
    """Issuer revokes at t+60; a verifier that cached the list at t keeps seeing VALID
    until t+ttl, then re-fetches and sees the revocation."""
    ref = create_status_reference(idx=5, uri=URI)
    cache = StatusListCache(max_ttl=timedelta(hours=1))
    issued = create_status_list(bits=2, size=256)

    # t: the verifier fetches and caches.
    until = cache.store(_verify(_token(signer, now, issued), signer, now), fetched_at=now)
    assert until == now + timedelta(minutes=5)

    # t+60: the issuer revokes and publishes a new token.
    revoked_at = now + timedelta(seconds=60)
    new_token = _token(signer, revoked_at, with_status(issued, 5, StatusValue.INVALID))

    # t+120: the cache still answers, with the old list.
    cached = cache.get(URI, now=now + timedelta(seconds=120))
    assert cached is not None
    assert check_status(ref, cached) is StatusValue.VALID
    almost = cache.get(URI, now=until - timedelta(seconds=1))
    assert almost is not None

    # t+ttl: stale, so the verifier fetches again and sees the revocation.
    assert cache.get(URI, now=until) is None
    refetched = _verify(new_token, signer, until)
    cache.store(refetched, fetched_at=until)
    fresh = cache.get(URI, now=until + timedelta(seconds=1))
    assert fresh is not None
    assert _reason(lambda: check_status(ref, fresh)) is Reason.STATUS_REVOKED


def test_cache_honours_exp_and_max_ttl_and_bounds(signer: KeySigner, now: datetime) -> None:
    cache = StatusListCache(max_ttl=timedelta(minutes=10), max_entries=2)
    short = _verify(_token(signer, now, ttl=None, valid_for=timedelta(minutes=2)), signer, now)
    assert cache.store(short, fetched_at=now) == now + timedelta(minutes=2)
    assert cache.get(URI, now=now + timedelta(minutes=2)) is None
    long = _verify(_token(signer, now, ttl=None, valid_for=None), signer, now)
    assert cache.store(long, fetched_at=now) == now + timedelta(minutes=10)
    assert cache.get("https://elsewhere.example/1", now=now) is None
    cache.forget(URI)
    assert cache.get(URI, now=now) is None


# --- allocation ------------------------------------------------------------------------


class _Scripted:
    def __init__(self, values: list[int]) -> None:
        self._values = values

    def token_bytes(self, n: int, /) -> bytes:
        return self._values.pop(0).to_bytes(n, "big")


def test_draw_index_rejects_instead_of_reducing() -> None:
    # size 5 -> 3 bits; 7, 6, 5 are out of range and must be redrawn, not taken mod 5.
    assert draw_index(size=5, random=_Scripted([0xFF, 0xFE, 0x05, 0x03])) == 3
    assert draw_index(size=1, random=_Scripted([])) == 0
    assert draw_index(size=256, random=_Scripted([0xAB])) == 0xAB
    assert draw_index(size=257, random=_Scripted([0xFF01, 0x0101, 0x0100])) == 0x0100
    broken = _Scripted([0xFF] * 200)
    assert _reason(lambda: draw_index(size=5, random=broken)) is Reason.STATUS_LIST_EXHAUSTED


def test_ten_thousand_allocations_are_distinct_and_patternless(rng: SeededRandom) -> None:
    size = MIN_BITSTRING_ENTRIES
    taken: set[int] = set()
    order: list[int] = []
    for _ in range(10_000):
        index = allocate_index(size=size, is_taken=taken.__contains__, random=rng)
        assert 0 <= index < size
        taken.add(index)
        order.append(index)
    assert len(taken) == 10_000
    assert order != sorted(order)
    assert order != sorted(order, reverse=True)
    # Spearman's rho between allocation order and index (no ties: indices are distinct).
    n = len(order)
    rank = {index: r for r, index in enumerate(sorted(order))}
    d2 = sum((i - rank[index]) ** 2 for i, index in enumerate(order))
    rho = 1 - 6 * d2 / (n * (n * n - 1))
    assert abs(rho) < 0.05
    buckets = [0] * 10
    for index in order:
        buckets[index * 10 // size] += 1
    assert all(800 <= count <= 1200 for count in buckets), buckets


def test_allocation_finds_the_last_hole_and_then_is_exhausted(rng: SeededRandom) -> None:
    size = 1000
    taken = set(range(size)) - {617}
    assert allocate_index(size=size, is_taken=taken.__contains__, random=rng, max_attempts=3) == 617
    taken.add(617)
    reason = _reason(lambda: allocate_index(size=size, is_taken=taken.__contains__, random=rng))
    assert reason is Reason.STATUS_LIST_EXHAUSTED


# --- W3C Bitstring Status List ---------------------------------------------------------

W3C_SPEC_ENCODED = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
REV_URL = "https://issuer.example.ca/status/rev/1"
SUS_URL = "https://issuer.example.ca/status/sus/1"


def test_w3c_spec_example_decodes_to_16kb_of_zeros() -> None:
    bitstring = decode_bitstring(W3C_SPEC_ENCODED)
    assert bitstring.size == 131_072
    assert bitstring.data == bytes(16_384)


def test_bitstring_is_msb_first() -> None:
    bitstring = with_bits(create_bitstring(), [(0, True), (9, True), (131_071, True)])
    assert bitstring.data[0] == 0x80
    assert bitstring.data[1] == 0x40
    assert bitstring.data[-1] == 0x01
    assert [bitstring.get(i) for i in (0, 1, 8, 9, 131_070, 131_071)] == [
        True, False, False, True, False, True,
    ]  # fmt: skip
    assert not with_bits(bitstring, [(9, False)]).get(9)


def test_bitstring_round_trip() -> None:
    rng = random.Random(99)
    bitstring = Bitstring(data=rng.randbytes(MIN_BITSTRING_ENTRIES // 8))
    encoded = encode_bitstring(bitstring)
    assert encoded.startswith("u")
    assert gzip.decompress(b64url_decode(encoded[1:])) == bitstring.data
    assert decode_bitstring(encoded) == bitstring
    assert encode_bitstring(create_bitstring()) == encode_bitstring(create_bitstring())


@pytest.mark.parametrize(
    "encoded",
    [
        7,
        W3C_SPEC_ENCODED[1:],
        "z" + W3C_SPEC_ENCODED[1:],
        "u" + b64url_encode(zlib.compress(bytes(16_384))),
        "u" + b64url_encode(gzip.compress(bytes(16_383))),
        "u" + b64url_encode(gzip.compress(bytes(17 * 1024 * 1024))),
        "u" + b64url_encode(gzip.compress(bytes(16_384)) + gzip.compress(b"\x00")),
        "u!!!",
    ],
)
def test_decode_bitstring_negatives(encoded: object) -> None:
    assert _reason(lambda: decode_bitstring(encoded)) is Reason.STATUS_LIST_INVALID  # type: ignore[arg-type]


def test_bitstring_size_is_bounded_below() -> None:
    assert _reason(lambda: create_bitstring(size=8 * 1000)) is Reason.STATUS_LIST_INVALID
    short = Bitstring(data=bytes(100))
    assert _reason(lambda: encode_bitstring(short)) is Reason.STATUS_LIST_INVALID


def _list_credential(
    url: str,
    purpose: StatusPurpose,
    bitstring: Bitstring,
    now: datetime,
    valid_until: datetime | None = None,
) -> dict[str, object]:
    return create_bitstring_status_list_credential(  # type: ignore[return-value]
        id=url,
        issuer="did:web:issuer.example.ca",
        purpose=purpose,
        bitstring=bitstring,
        valid_from=now - timedelta(hours=1),
        valid_until=valid_until or now + timedelta(days=1),
        ttl=timedelta(minutes=5),
    )


def test_bitstring_credential_shape(now: datetime) -> None:
    credential = _list_credential(REV_URL, StatusPurpose.REVOCATION, create_bitstring(), now)
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["validFrom"] == "2026-11-23T11:00:00Z"
    assert credential["validUntil"] == "2026-11-24T12:00:00Z"
    subject = credential["credentialSubject"]
    assert subject == {
        "id": REV_URL + "#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": encode_bitstring(create_bitstring()),
        "ttl": 300_000,
    }
    entry = create_bitstring_status_entry(
        purpose=StatusPurpose.SUSPENSION, index=94567, list_credential=SUS_URL
    )
    assert entry == {
        "id": SUS_URL + "#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "94567",
        "statusListCredential": SUS_URL,
    }


def test_both_purposes_through_vc_jose(now: datetime, signer: KeySigner) -> None:
    """A W3C credential with one entry per purpose; the lists are signed as vc+jwt."""
    rev_entry = create_bitstring_status_entry(
        purpose=StatusPurpose.REVOCATION, index=1234, list_credential=REV_URL
    )
    sus_entry = create_bitstring_status_entry(
        purpose=StatusPurpose.SUSPENSION, index=4321, list_credential=SUS_URL
    )

    def published(url: str, purpose: StatusPurpose, set_bits: list[int]) -> dict[str, object]:
        bitstring = with_bits(create_bitstring(), [(i, True) for i in set_bits])
        token = issue_vc_jose(
            _list_credential(url, purpose, bitstring, now),  # type: ignore[arg-type]
            signer=signer,
            kid=None,
        )
        verified = verify_vc_jose(
            token, issuer_key=signer.public_key, algorithms=ALGS, now=now, skew=SKEW
        )
        return verified.credential  # type: ignore[return-value]

    clean_rev = published(REV_URL, StatusPurpose.REVOCATION, [1233, 1235])
    clean_sus = published(SUS_URL, StatusPurpose.SUSPENSION, [4320])
    check_bitstring_status(rev_entry, clean_rev, now=now)  # type: ignore[arg-type]
    check_bitstring_status(sus_entry, clean_sus, now=now)  # type: ignore[arg-type]

    revoked = published(REV_URL, StatusPurpose.REVOCATION, [1234])
    reason = _reason(lambda: check_bitstring_status(rev_entry, revoked, now=now))  # type: ignore[arg-type]
    assert reason is Reason.STATUS_REVOKED
    suspended = published(SUS_URL, StatusPurpose.SUSPENSION, [4321])
    reason = _reason(lambda: check_bitstring_status(sus_entry, suspended, now=now))  # type: ignore[arg-type]
    assert reason is Reason.STATUS_SUSPENDED
    # Reinstated: the next list has the bit cleared again.
    check_bitstring_status(sus_entry, clean_sus, now=now)  # type: ignore[arg-type]
    # The suspension entry checked against the revocation list is refused, not passed.
    reason = _reason(lambda: check_bitstring_status(sus_entry, revoked, now=now))  # type: ignore[arg-type]
    assert reason is Reason.STATUS_LIST_URI_MISMATCH


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = dict(
        create_bitstring_status_entry(
            purpose=StatusPurpose.REVOCATION, index=10, list_credential=REV_URL
        )
    )
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(
    ("entry_changes", "credential_changes", "reason"),
    [
        ({"statusListCredential": SUS_URL}, {}, Reason.STATUS_LIST_URI_MISMATCH),
        ({}, {"id": None}, Reason.STATUS_LIST_URI_MISMATCH),
        ({}, {"validUntil": "2026-11-23T11:59:59Z"}, Reason.STATUS_LIST_EXPIRED),
        ({}, {"validFrom": "2026-11-23T12:00:01Z"}, Reason.STATUS_LIST_INVALID),
        ({}, {"validUntil": "tomorrow"}, Reason.STATUS_LIST_INVALID),
        ({"statusListIndex": "131072"}, {}, Reason.STATUS_INDEX_OUT_OF_RANGE),
        ({"statusListIndex": "-1"}, {}, Reason.STATUS_LIST_INVALID),
        ({"statusListIndex": 10}, {}, Reason.STATUS_LIST_INVALID),
        ({"statusPurpose": "suspension"}, {}, Reason.STATUS_LIST_INVALID),
        ({"statusPurpose": "message"}, {}, Reason.STATUS_LIST_INVALID),
        ({"statusSize": 2}, {}, Reason.STATUS_LIST_INVALID),
        ({"type": "StatusList2021Entry"}, {}, Reason.STATUS_LIST_INVALID),
        ({}, {"type": ["VerifiableCredential"]}, Reason.STATUS_LIST_INVALID),
        ({}, {"credentialSubject": {"type": "BitstringStatusList"}}, Reason.STATUS_LIST_INVALID),
        ({}, {"credentialSubject": "x"}, Reason.STATUS_LIST_INVALID),
    ],
)
def test_bitstring_negatives(
    now: datetime,
    entry_changes: dict[str, object],
    credential_changes: dict[str, object],
    reason: Reason,
) -> None:
    credential = _list_credential(REV_URL, StatusPurpose.REVOCATION, create_bitstring(), now)
    check_bitstring_status(_entry(), credential, now=now)  # type: ignore[arg-type]
    credential.update(credential_changes)
    credential = {k: v for k, v in credential.items() if v is not None}
    entry = _entry(**entry_changes)
    assert _reason(lambda: check_bitstring_status(entry, credential, now=now)) is reason  # type: ignore[arg-type]


def test_bitstring_list_of_several_purposes(now: datetime) -> None:
    credential = _list_credential(REV_URL, StatusPurpose.REVOCATION, create_bitstring(), now)
    subject = credential["credentialSubject"]
    assert isinstance(subject, dict)
    subject["statusPurpose"] = ["suspension", "revocation"]
    check_bitstring_status(_entry(), credential, now=now)  # type: ignore[arg-type]
