"""The HTML report as a partner sees it: rendered by a real browser (headless Chromium).

The screenshot is kept under ``reports/artifacts/`` (ignored by git) for people to look
at; the test only asserts what a machine can: a PNG of the requested size, that is not
one flat colour, whose header is painted with the report's own colours, and a DOM that
holds every check.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from passerelle.conformance.reports import write_html
from tests.conformance.sample_run import SCRIPT, sample_run

ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "artifacts"
WIDTH, HEIGHT = 1280, 2000
HEADER_RGB = (0x0D, 0x25, 0x38)  # .top background in the report's CSS


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p is not None), None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI: apt-get install -y chromium")
        pytest.skip("chromium is not installed here (apt-get install -y chromium); CI runs this")
    return found


@pytest.fixture(scope="module")
def report() -> Path:
    path = ARTIFACTS / "report-render.html"
    write_html(sample_run(), path)
    return path


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _png(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the decompressed (still filtered) image data."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, list[bytes]] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks.setdefault(kind, []).append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    (ihdr,) = chunks[b"IHDR"]
    width, height, depth, colour = struct.unpack(">IIBB", ihdr[:10])
    assert depth == 8, f"bit depth {depth}"
    bpp = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    assert len(raw) == height * (1 + width * bpp), "image data does not match IHDR"
    return width, height, bpp, raw


def _top_rows(width: int, bpp: int, raw: bytes, rows: int) -> list[bytearray]:
    """Undo the PNG filters of the first rows (all of them would be slow in Python)."""
    stride = width * bpp
    previous = bytearray(stride)
    out = []
    for y in range(rows):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 0xFF
        out.append(line)
        previous = line
    return out


def test_the_report_renders_in_chromium(chromium: str, report: Path, tmp_path: Path) -> None:
    screenshot = ARTIFACTS / "report-render.png"
    screenshot.unlink(missing_ok=True)
    _chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        f"--window-size={WIDTH},{HEIGHT}",
        report.as_uri(),
    )
    assert screenshot.is_file(), "chromium wrote no screenshot"
    width, height, bpp, raw = _png(screenshot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    # A blank page filters down to a handful of byte values; text, badges and tables don't.
    assert len(set(raw)) > 64
    assert screenshot.stat().st_size > 30_000

    # The header band is painted in the report's colours, with the (white) title on it.
    rows = _top_rows(width, bpp, raw, 60)
    pixels = {tuple(row[x * bpp : x * bpp + 3]) for row in rows[10:60] for x in range(0, width, 2)}
    assert HEADER_RGB in pixels, "the header background is not the report's"
    assert any(min(p) > 200 for p in pixels), "no light text on the header"
    assert len(pixels) > 20


def test_the_rendered_dom_holds_every_check(chromium: str, report: Path, tmp_path: Path) -> None:
    dom = _chromium(chromium, tmp_path / "profile", "--dump-dom", report.as_uri()).stdout
    (ARTIFACTS / "report-render.dom.html").write_text(dom)
    run = sample_run()
    for check_id in {r.check.id for r in run.results}:
        assert f'<code class="cid">{check_id}</code>' in dom, check_id
    assert "Cross-border matrix" in dom
    assert '<table class="matrix">' in dom
    assert "<script" not in dom
    assert SCRIPT not in dom
    assert "&lt;script&gt;" in dom
