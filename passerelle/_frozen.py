"""A faster ``__init__`` for the frozen, slotted dataclasses built on every verification.

A frozen dataclass sets each field with ``object.__setattr__(self, name, value)``,
which looks the attribute up twice per field; a verification builds some forty such
objects (disclosures, steps, decisions), and that was a fifth of a decision's Python
time. :func:`fast_init` replaces the generated ``__init__`` by one with the same
signature and the same effect that stores each field through its slot descriptor.
Instances stay frozen: only ``__init__`` changes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_init"]

_T = TypeVar("_T")
_MISSING = dataclasses.MISSING


def fast_init(cls: type[_T]) -> type[_T]:
    """Give the frozen, slotted dataclass ``cls`` an equivalent, faster ``__init__``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    fields = [f for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if any(isinstance(f.type, dataclasses.InitVar) for f in fields):
        raise TypeError(f"{cls.__name__} has an InitVar")
    namespace: dict[str, Any] = {"_FACTORY": object()}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in fields:
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default_factory is not _MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
        if f.init:
            if f.default is not _MISSING:
                namespace[f"_default_{f.name}"] = f.default
                param = f"{f.name}=_default_{f.name}"
            elif f.default_factory is not _MISSING:
                param = f"{f.name}=_FACTORY"
            else:
                param = f.name
            (keyword if f.kw_only else positional).append(param)
            value = (
                f"_factory_{f.name}() if {f.name} is _FACTORY else {f.name}"
                if f.default_factory is not _MISSING
                else f.name
            )
        elif f.default_factory is not _MISSING:
            value = f"_factory_{f.name}()"
        elif f.default is not _MISSING:
            namespace[f"_default_{f.name}"] = f.default
            value = f"_default_{f.name}"
        else:
            continue  # an init=False field without a default is left unset, as dataclass does
        body.append(f"    _set_{f.name}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    params_text = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params_text}) -> None:\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # noqa: S102 - built from the field names of our own classes
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - a method replaced on purpose
    return cls
