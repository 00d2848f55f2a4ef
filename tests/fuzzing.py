"""The one hypothesis profile every fuzzer of the project runs under.

A fixed number of examples per target (``PASSERELLE_FUZZ_EXAMPLES`` raises it for a
deeper local run), no per-example deadline (the machine is shared), and under
``CI=true`` a derandomized search: CI sees the same examples every run and cannot
flake, while a local run explores afresh each time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ"]

settings.register_profile(
    "passerelle-fuzz",
    max_examples=int(os.environ.get("PASSERELLE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
FUZZ = settings.get_profile("passerelle-fuzz")
