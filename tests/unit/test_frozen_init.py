"""fast_init builds the same instances as the dataclass ``__init__`` it replaces: same
parameters, defaults, factories (a fresh value each time), ``__post_init__``, and the
instance stays frozen."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from passerelle._frozen import fast_init
from passerelle.decision import CredentialDecision
from passerelle.trust import TrustStep
from passerelle.trust._evaluate import StepOutcome


def _kinds() -> type[Any]:
    @dataclass(frozen=True, slots=True)
    class Kinds:
        a: int
        b: str = "b"
        c: list[int] = field(default_factory=list)
        d: dict[str, int] = field(default_factory=dict, init=False)
        e: int = field(default=5, init=False)
        f: int = field(default=0, kw_only=True)
        g: list[int] = field(default_factory=lambda: [7], kw_only=True)
        h: int = field(kw_only=True, default=1)
        seen: list[str] = field(default_factory=list, init=False, compare=False)

        def __post_init__(self) -> None:
            self.seen.append("post")
            if self.a < 0:
                raise ValueError("negative")

    return Kinds


Plain = _kinds()
Fast = fast_init(_kinds())


def _state(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x", [2]), {"f": 3, "g": [], "h": 4}), ((2,), {"b": "y", "h": 9})],
)
def test_the_same_instance_as_dataclass_builds(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    plain, fast = Plain(*args, **kwargs), Fast(*args, **kwargs)
    assert _state(fast) == _state(plain)
    assert fast.seen == ["post"]


def test_factories_give_a_fresh_value_each_time() -> None:
    one, two = Fast(1), Fast(1)
    assert one.c is not two.c
    assert one.d is not two.d
    assert one.g is not two.g
    assert one.g == [7]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, "x", [], 4), {}), ((1,), {"d": {}}), ((1,), {"e": 1}), ((1,), {"z": 1})],
)
def test_the_same_calls_are_refused(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)
    with pytest.raises(TypeError):
        Fast(*args, **kwargs)


def test_post_init_runs_and_may_refuse() -> None:
    with pytest.raises(ValueError, match="negative"):
        Fast(-1)


def test_the_instance_stays_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Fast(1).a = 2  # type: ignore[misc]


def test_the_signature_keeps_names_kinds_and_plain_defaults() -> None:
    plain = inspect.signature(Plain).parameters
    fast = inspect.signature(Fast).parameters
    assert [(p.name, p.kind) for p in fast.values()] == [(p.name, p.kind) for p in plain.values()]
    assert fast["b"].default == "b"
    assert fast["h"].default == 1


def test_only_frozen_slotted_dataclasses_are_accepted() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    with pytest.raises(TypeError):
        fast_init(Mutable)


def test_real_classes_keep_their_fields() -> None:
    step = TrustStep(step="x", outcome=StepOutcome.PASSED, detail="d")
    assert (step.reason, step.evidence) == (None, {})
    assert step.evidence is not TrustStep(step="x", outcome=StepOutcome.PASSED, detail="d").evidence
    decision = CredentialDecision(
        accepted=True,
        reason=None,
        format="dc+sd-jwt",
        credential_type="t",
        claims={},
        trust=None,
        steps=(step,),
    )
    assert decision.findings == ()
    assert decision.types == ()
    assert decision.holder_bound is False
    assert decision.as_dict()["steps"][0]["status"] == "passed"  # type: ignore[index]
