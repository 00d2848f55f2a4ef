"""The local stack in a process of its own, beside the suite's, as a partner's is.

In the suite's process, the six services and the suite's lanes share one interpreter
lock: on two cores a run used one, and the lanes and the services' threads handed the
lock to each other on every exchange (bench/README.md, "Conformance against several
targets"). In a child process the services run beside the suite.

The child imports the services, reads one JSON line on stdin (``data_dir``, ``hosts``,
``roles``, ``quirks``), starts the stack, writes ``ready`` on stdout, and stops the
stack when its stdin closes: when the parent stops it, and also when the parent dies,
so that no server outlives the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["StackProcess"]

_READY = "ready"


class StackProcess:
    """A stack in a child process: :meth:`spawn` it (it imports the services meanwhile),
    :meth:`start` it on a prepared data directory, :meth:`stop` it."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self.urls: dict[str, str] = {}

    @classmethod
    def spawn(cls) -> StackProcess:
        process = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "passerelle.conformance._stack_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
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

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has stopped."""
        return self._process.returncode

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
