"""The one error vocabulary: how a protocol layer rewords a refusal from below."""

from __future__ import annotations

import pytest

from passerelle import PasserelleError, Reason
from passerelle._errors import reraised_as


def _as_proof(reason: Reason, detail: str) -> PasserelleError:
    return PasserelleError(reason, detail, wire_error="invalid_proof")


def test_reraised_as_rewords_keeps_listed_reasons_and_chains_the_cause() -> None:
    below = PasserelleError(Reason.JWS_MALFORMED, "not three parts")
    with (
        pytest.raises(PasserelleError) as info,
        reraised_as(_as_proof, Reason.KEY_ATTESTATION_MALFORMED, prefix="key: "),
    ):
        raise below
    assert info.value.reason is Reason.KEY_ATTESTATION_MALFORMED
    assert info.value.wire_error == "invalid_proof"
    assert info.value.detail == "key: not three parts"
    assert info.value.__cause__ is below

    with (
        pytest.raises(PasserelleError) as kept,
        reraised_as(
            _as_proof, Reason.KEY_ATTESTATION_MALFORMED, keep={Reason.KEY_ATTESTATION_EXPIRED}
        ),
    ):
        raise PasserelleError(Reason.KEY_ATTESTATION_EXPIRED, "exp passed")
    assert kept.value.reason is Reason.KEY_ATTESTATION_EXPIRED
    assert kept.value.wire_error == "invalid_proof"


def test_reraised_as_lets_other_exceptions_and_success_through() -> None:
    with reraised_as(_as_proof, Reason.KEY_ATTESTATION_MALFORMED):
        value = 1
    assert value == 1
    with (
        pytest.raises(ValueError, match="not ours"),
        reraised_as(_as_proof, Reason.KEY_ATTESTATION_MALFORMED),
    ):
        raise ValueError("not ours")
