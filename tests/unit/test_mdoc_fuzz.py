"""Fuzzing the mdoc decoder: whatever the bytes, nothing escapes but PasserelleError."""

from __future__ import annotations

import contextlib

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle import mdoc
from passerelle._errors import PasserelleError
from tests.fuzzing import FUZZ
from tests.unit.mdoc_world import NOW, World

WORLD = World()
ISSUED = WORLD.issue(elements={"family_name": "Roy", "age_over_18": True})
RESPONSE = WORLD.present(ISSUED, "family_name", "age_over_18")
TRANSCRIPT = WORLD.transcript()
# The shared profile (derandomized under CI), with this module's own floor of examples.
SETTINGS = settings(FUZZ, max_examples=max(150, FUZZ.max_examples))


def _verify_response(data: bytes) -> None:
    with contextlib.suppress(PasserelleError):
        mdoc.verify_device_response(
            data, session_transcript=TRANSCRIPT, anchors=[WORLD.iaca], now=NOW
        )


def _verify_issued(data: bytes) -> None:
    with contextlib.suppress(PasserelleError):
        mdoc.verify_issuer_signed(data, anchors=[WORLD.iaca], now=NOW)
    with contextlib.suppress(PasserelleError):
        mdoc.decode_unverified_issuer_signed(data)


@SETTINGS
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    _verify_response(data)
    _verify_issued(data)


@SETTINGS
@given(st.data())
def test_mutated_device_response(data: st.DataObject) -> None:
    raw = bytearray(RESPONSE)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(raw) // 2, len(raw)))
    _verify_response(bytes(raw[:cut]))
    _verify_issued(bytes(raw[:cut]))


_cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.text(max_size=8)
    | st.binary(max_size=16),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(-3, 40), inner, max_size=4)
        | st.builds(lambda v: cbor2.CBORTag(24, cbor2.dumps(v)), inner)
    ),
    max_leaves=20,
)


@SETTINGS
@given(_cbor_values, st.sampled_from(["documents", "issuerSigned", "issuerAuth", "nameSpaces"]))
def test_well_formed_cbor_in_odd_places(value: object, where: str) -> None:
    decoded = cbor2.loads(RESPONSE)
    document = decoded["documents"][0]
    if where == "documents":
        decoded["documents"] = value
    elif where == "issuerSigned":
        document["issuerSigned"] = value
    elif where == "issuerAuth":
        document["issuerSigned"]["issuerAuth"] = value
    else:
        document["issuerSigned"]["nameSpaces"] = value
    _verify_response(cbor2.dumps(decoded))
    _verify_issued(cbor2.dumps(document["issuerSigned"]))
