"""An EU PID decided by the Canadian verifier, built the way the decision tests need it:
issued by the world's PID provider (or another key), with a status list, presented with
a KB-JWT, and decided with the Canadian snapshot unless a test says otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.decision import CredentialDecision, DecisionPolicy, decide_credential
from passerelle.jose import KeySigner
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, present_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.status_list import (
    StatusValue,
    VerifiedStatusList,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    verify_status_list_token,
    with_status,
)
from passerelle.trust import Framework
from passerelle.x509 import encode_x5c
from tests.conftest import NOW, SeededRandom
from tests.trust_world import TrustWorld

__all__ = ["AUD", "NONCE", "PID", "STATUS_URI", "decide", "issue_pid", "present", "status_lists"]

PID = "urn:eudi:pid:1"
STATUS_URI = "https://eu-issuer.test/status/1"
NONCE, AUD = "n-1", "x509_hash:ca-verifier"


def issue_pid(
    world: TrustWorld,
    holder: ec.EllipticCurvePrivateKey,
    *,
    index: int = 7,
    issued: datetime = NOW,
    signing_key: ec.EllipticCurvePrivateKey | None = None,
) -> str:
    """The world's PID provider's certificate in ``x5c``; signed by its key, or by
    ``signing_key`` (a forgery)."""
    return issue_sd_jwt_vc(
        {"given_name": "Zoé", "family_name": "Lefèvre", "age_equal_or_over": {"18": True}},
        vct=PID,
        signer=KeySigner(signing_key or world.pid_signer[1]),
        random=SeededRandom(),
        now=issued,
        disclosable=[("given_name",), ("family_name",), ("age_equal_or_over", "18")],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        status=create_status_reference(idx=index, uri=STATUS_URI),
        x5c=encode_x5c([world.pid_signer[0]]),
    )


def status_lists(
    world: TrustWorld, value: StatusValue = StatusValue.VALID, *, index: int = 7
) -> dict[str, VerifiedStatusList]:
    """The verified status list of :data:`STATUS_URI`, ``value`` at ``index``."""
    sl = with_status(create_status_list(bits=2, size=1024), index, value)
    token = create_status_list_token(
        sl,
        uri=STATUS_URI,
        signer=KeySigner(world.pid_signer[1]),
        now=NOW,
        ttl=timedelta(minutes=5),
        valid_for=timedelta(days=1),
        x5c=encode_x5c([world.pid_signer[0]]),
    )
    verified = verify_status_list_token(
        token,
        expected_uri=STATUS_URI,
        key=world.pid_signer[1].public_key(),
        algorithms=["ES256"],
        now=NOW,
        skew=timedelta(0),
    )
    return {STATUS_URI: verified}


def present(token: str, holder: ec.EllipticCurvePrivateKey, *, nonce: str = NONCE) -> str:
    """The age claim disclosed, with a KB-JWT for ``nonce`` and :data:`AUD`."""
    binding = KeyBindingInput(signer=KeySigner(holder), nonce=nonce, audience=AUD, now=NOW)
    return present_sd_jwt(token, disclose=[("age_equal_or_over", "18")], key_binding=binding)


def decide(world: TrustWorld, token: str, **kw: Any) -> CredentialDecision:
    """The Canadian verifier's decision, with a valid status and the expected KB-JWT
    unless ``kw`` says otherwise."""
    options: dict[str, Any] = {
        "format": "dc+sd-jwt",
        "trust": world.snapshot(Framework.CA),
        "policy": DecisionPolicy(),
        "now": NOW,
        "status_lists": status_lists(world),
        "key_binding": KeyBindingCheck(nonce=NONCE, audience=AUD),
    }
    options.update(kw)
    return decide_credential(token, **options)
