"""A copy of the local stack in a process of its own, as a partner's services are.

``passerelle conformance`` without a targets file runs the stack's services as threads
of the suite's own process. That is right for one developer's run, and wrong as a
model of a farm checking many partners: four copies of the stack in the suite's
process share one interpreter lock with each other and with the suite's lanes. Here
each copy runs in its own process, beside the suite, as every partner's deployment
does (bench/README.md, "Conformance against several targets").

The child reads one JSON line on stdin (``hosts``, ``quirks``), starts the stack on the
data directory it is given, writes ``ready`` on stdout, and stops the stack when its
stdin closes: when the parent stops it, and also when the parent dies, so that no
server outlives the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["StackProcess", "start_stack_process"]

_READY = "ready"


class StackProcess:
    """A stack running in a child process; :meth:`stop` ends it."""

    def __init__(self, process: subprocess.Popen[str], urls: Mapping[str, str]) -> None:
        self._process = process
        self.urls = dict(urls)

    def stop(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()  # the child stops its stack and exits
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()


def start_stack_process(
    data_dir: Path,
    *,
    hosts: Mapping[str, str],
    roles: Iterable[str],
    quirks: Mapping[str, Iterable[str]] | None = None,
) -> StackProcess:
    """Start ``roles`` on ``hosts`` from ``data_dir`` (prepared already) in a child
    process; return once every service accepts connections."""
    # The code measured is the one on our path (bench/run measures older code too).
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    process = subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "bench._stack_process", str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    order = {
        "hosts": dict(hosts),
        "roles": list(roles),
        "quirks": {role: list(q) for role, q in (quirks or {}).items()},
    }
    process.stdin.write(json.dumps(order) + "\n")
    process.stdin.flush()
    line = process.stdout.readline().strip()
    if line != _READY:
        stack = StackProcess(process, hosts)
        stack.stop()
        raise RuntimeError(f"the local stack did not start (it said {line!r})")
    return StackProcess(process, hosts)


def main(argv: list[str]) -> int:
    from passerelle.services.launcher import start_stack

    order = json.loads(sys.stdin.readline())
    stack = start_stack(
        data_dir=Path(argv[0]), hosts=order["hosts"], roles=order["roles"], quirks=order["quirks"]
    )
    try:
        print(_READY, flush=True)
        while sys.stdin.readline():  # until the parent closes our stdin, or dies
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
