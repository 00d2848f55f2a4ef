"""What a wheel installs: the one package ``passerelle`` and nothing else at the top of
``site-packages`` (a partner installs Passerelle beside its own code, where names such as
``services`` or ``conformance`` would collide), with the floors and the data inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("passerelle-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_one_top_level_package(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"passerelle"}


def test_the_floors_and_the_data_are_inside_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for module in (
        "passerelle/services/issuer/app.py",
        "passerelle/conformance/_runner.py",
        "passerelle/cli/__init__.py",
        "passerelle/_data/schemas/index.json",
        # The pages' one shell and their templates (services/templates/).
        "passerelle/services/templates/shell.html",
        "passerelle/services/templates/wallet_consent.html",
        "passerelle/py.typed",
    ):
        assert module in names, module
    # The links are followed, never packaged as links or twice under another name.
    assert not any(n.startswith(("services/", "conformance/", "cli/")) for n in names)
