"""One role of the stack in processes of its own, for the bench: the verifier under load
must not share an interpreter with the wallets or with the bench itself.

    python -m bench._serve ROLE DATA_DIR HOST PORT WORKERS [pin]

Each worker builds the app with ``services.launcher.build_app``, the same construction
``passerelle serve`` uses; with WORKERS > 1 uvicorn's supervisor shares the port; with
``pin`` each worker keeps to a CPU of its own, as with ``passerelle serve --pin``. The
role ``http-floor`` is the routes of bench/_http_floor.py, on the same server settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from passerelle.services.launcher import build_app

FLOOR = "http-floor"


def app() -> FastAPI:
    if os.environ.get("BENCH_PIN"):
        # Imported here: the code measured for the "before" column has no pinning.
        from passerelle.services.launcher import pin_to_a_cpu

        pin_to_a_cpu(Path(os.environ["BENCH_DATA_DIR"]))
    if os.environ["BENCH_ROLE"] == FLOOR:
        from ._http_floor import floor_app

        return floor_app()
    return build_app(os.environ["BENCH_ROLE"], data_dir=Path(os.environ["BENCH_DATA_DIR"]))


def main(argv: list[str]) -> int:
    role, data_dir, host, port, workers, *pin = argv
    if pin not in ([], ["pin"]):
        raise SystemExit(f"bench._serve: the argument after WORKERS is 'pin' or nothing, not {pin}")
    if pin:
        os.environ["BENCH_PIN"] = "1"
    os.environ["BENCH_ROLE"] = role
    os.environ["BENCH_DATA_DIR"] = data_dir
    os.environ["BENCH_BASE"] = f"http://{host}:{port}"
    uvicorn.run(
        "bench._serve:app",
        factory=True,
        host=host,
        port=int(port),
        workers=int(workers),
        log_level="warning",
        access_log=False,
        # What `passerelle serve` picks when they are installed (they are dependencies):
        # named here so that the bench fails rather than measure the pure-Python ones.
        loop="uvloop",
        http="httptools",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
