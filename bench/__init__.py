"""Benchmarks (see README.md). ``bench/run`` also measures the code as it was before the
performance work, whose services and conformance suite were the top-level packages
``services`` and ``conformance``: for that tree only, ``passerelle.services.X`` and
``passerelle.conformance.X`` are the very same modules as ``services.X`` and
``conformance.X``, so the bench imports one set of names."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, prefixes: dict[str, str]) -> None:
        self._prefixes = prefixes

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        for alias in self._prefixes:
            if fullname == alias or fullname.startswith(alias + "."):
                return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        for alias, real in self._prefixes.items():
            if spec.name == alias or spec.name.startswith(alias + "."):
                return importlib.import_module(real + spec.name[len(alias) :])
        raise ImportError(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        return None


if importlib.util.find_spec("passerelle.services") is None and importlib.util.find_spec("services"):
    sys.meta_path.insert(
        0,
        _Alias({"passerelle.services": "services", "passerelle.conformance": "conformance"}),
    )
