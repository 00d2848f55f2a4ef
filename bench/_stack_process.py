"""A copy of the local stack in a process of its own, as a partner's services are.

``passerelle conformance`` without a targets file runs the stack's services as threads
of the suite's own process. That is right for one developer's run, and wrong as a
model of a farm checking many partners: four copies of the stack in the suite's
process share one interpreter lock with each other and with the suite's lanes. Here
each copy runs in its own process, beside the suite, as every partner's deployment
does (bench/README.md, "Conformance against several targets").

The child imports the services, reads one JSON line on stdin (``data_dir``, ``hosts``,
``roles``, ``quirks``), starts the stack, writes ``ready`` on stdout, and stops the stack when its
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["StackProcess", "start_local_stack_process"]

_READY = "ready"


class StackProcess:
    """A stack in a child process: :meth:`spawn` it (it imports the services meanwhile),
    :meth:`start` it on a prepared data directory, :meth:`stop` it."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self.urls: dict[str, str] = {}

    @classmethod
    def spawn(cls) -> StackProcess:
        # The code measured is the one on our path (bench/run measures older code too).
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        process = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "bench._stack_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": path},
        )
        return cls(process)

    def start(
        self,
        data_dir: Path,
        *,
        hosts: Mapping[str, str],
        roles: Iterable[str],
        quirks: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """Start ``roles`` on ``hosts`` from ``data_dir``; return once every service
        accepts connections."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        order = {
            "data_dir": str(data_dir),
            "hosts": dict(hosts),
            "roles": list(roles),
            "quirks": {role: list(q) for role, q in (quirks or {}).items()},
        }
        stdin.write(json.dumps(order) + "\n")
        stdin.flush()
        line = stdout.readline().strip()
        if line != _READY:
            self.stop()
            raise RuntimeError(f"the local stack did not start (it said {line!r})")
        self.urls = dict(hosts)

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


def start_local_stack_process(data_dir: Path) -> tuple[StackProcess, Any]:
    """``start_local_stack`` with the services in a child process: the same data
    directory, PKI, trust lists and targets; the child imports the services while this
    process makes the PKI."""
    from passerelle.conformance._local import local_targets, prepare_data_dir
    from passerelle.services.launcher import ROLES

    stack = StackProcess.spawn()
    try:
        hosts = prepare_data_dir(data_dir)
        stack.start(data_dir, hosts=hosts, roles=ROLES)
    except BaseException:
        stack.stop()
        raise
    return stack, local_targets(stack.urls, data_dir)


def main() -> int:
    from passerelle.services.launcher import start_stack  # imported before the order comes

    order = json.loads(sys.stdin.readline() or "null")
    if order is None:
        return 0  # stopped before it was started
    stack = start_stack(
        data_dir=Path(order["data_dir"]),
        hosts=order["hosts"],
        roles=order["roles"],
        quirks=order["quirks"],
    )
    try:
        print(_READY, flush=True)
        while sys.stdin.readline():  # until the parent closes our stdin, or dies
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
