"""Deliberate faults of the verifier, for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement. The verifier never branches on a quirk
name: it asks :class:`VerifierBehaviour` what to expect of a presentation.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from passerelle import PasserelleError
from passerelle.jose import decode_unverified_jws

__all__ = ["VerifierBehaviour", "VerifierQuirk", "behaviour_for"]


class VerifierQuirk(enum.StrEnum):
    SKIP_NONCE_CHECK = "skip_nonce_check"
    """A KB-JWT (or VP) is accepted whatever its nonce (OpenID4VP §14.1.2)."""
    IGNORE_AUD = "ignore_aud"
    """A KB-JWT (or VP) is accepted whatever its audience (OpenID4VP §14.1.2)."""
    SKIP_STATUS = "skip_status"
    """Status lists are never consulted: revoked credentials pass."""
    ACCEPT_REPLAY = "accept_replay"
    """A response to a finished transaction is processed again (single use, §14.1)."""


def _binding_claims(presentation: str) -> dict[str, object]:
    """The nonce and aud a presentation claims, read WITHOUT verification (quirks only)."""
    try:
        kb = presentation.rsplit("~", 1)[-1] if "~" in presentation else presentation
        return dict(decode_unverified_jws(kb).payload_json())
    except PasserelleError:
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierBehaviour:
    check_nonce: bool = True
    check_aud: bool = True
    check_status: bool = True
    single_response: bool = True

    def expected_binding(self, presentation: str, *, nonce: str, audience: str) -> tuple[str, str]:
        """The nonce and audience a presentation must carry."""
        if self.check_nonce and self.check_aud:
            return nonce, audience
        claimed = _binding_claims(presentation)
        return (
            nonce if self.check_nonce else str(claimed.get("nonce", nonce)),
            audience if self.check_aud else str(claimed.get("aud", audience)),
        )


def behaviour_for(quirks: Collection[VerifierQuirk]) -> VerifierBehaviour:
    q = set(quirks)
    return VerifierBehaviour(
        check_nonce=VerifierQuirk.SKIP_NONCE_CHECK not in q,
        check_aud=VerifierQuirk.IGNORE_AUD not in q,
        check_status=VerifierQuirk.SKIP_STATUS not in q,
        single_response=VerifierQuirk.ACCEPT_REPLAY not in q,
    )
