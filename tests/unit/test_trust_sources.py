"""What YAML in trust sources and profiles reads as: what was written, not YAML 1.1's
guesses (``NO`` the boolean false, ``0154`` an octal number, ``1:30`` base 60)."""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle import PasserelleError, Reason
from passerelle.services.trust.sources import load_source

DOC = """\
country: NO
answer: yes
switch: on
enabled: true
disabled: False
skew_seconds: 60
negative: -3
ratio: 1.5
postal_code: 0154
duration: 1:30
date: 2026-01-01
hex: 0x1F
nothing: ~
empty:
quoted: "60"
list: [NO, 7, null]
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.yaml"
    path.write_text(DOC)
    return path


def test_typed_scalars_keep_yaml_1_2_booleans_and_plain_numbers(source: Path) -> None:
    assert load_source(source) == {
        "country": "NO",
        "answer": "yes",
        "switch": "on",
        "enabled": True,
        "disabled": False,
        "skew_seconds": 60,
        "negative": -3,
        "ratio": 1.5,
        "postal_code": "0154",
        "duration": "1:30",
        "date": "2026-01-01",
        "hex": "0x1F",
        "nothing": None,
        "empty": None,
        "quoted": "60",
        "list": ["NO", 7, None],
    }


def test_text_scalars_are_strings_but_booleans_and_null(source: Path) -> None:
    doc = load_source(source, scalars="text")
    assert doc["country"] == "NO"
    assert doc["skew_seconds"] == "60"
    assert doc["ratio"] == "1.5"
    assert doc["postal_code"] == "0154"
    assert doc["enabled"] is True
    assert doc["nothing"] is None
    assert doc["list"] == ["NO", "7", None]


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("member_state: NO\nmember_state: SE\n")
    with pytest.raises(PasserelleError) as err:
        load_source(path, scalars="text")
    assert err.value.reason is Reason.TRUST_LIST_MALFORMED
