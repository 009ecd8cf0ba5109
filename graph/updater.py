"""Running a SPARQL Update on a write's private copy in a child process, under a time and a memory limit.

pyoxigraph's ``Store.update`` cannot be interrupted and aborts the whole
process when an allocation fails, and an update runs while the store's write
lock is held. So an update received over HTTP runs in a child process that
opens the work copy (the parent has closed it), with an address-space limit
and off the network; past the time limit the child is killed. Either way
nothing is lost: the work copy is thrown away unless the commit publishes it.

The child reads ``{"update", "base_iri", "prefixes"}`` as JSON on standard
input and answers ``{"ok": true}`` or ``{"error": "syntax"|"runtime", "message"}``.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UpdateLimits:
    """How long (seconds) and how much memory (bytes) one update may take; 0 for no limit."""

    timeout_seconds: float = 30.0
    memory_bytes: int = 2 * 1024**3
    isolate_network: bool = True


class UpdateFailed(Exception):
    """The update could not run: `kind` is "syntax", "runtime", "timeout" or "memory"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def run_update(work_path: Path, update: str, *, base_iri: str | None, prefixes: dict[str, str] | None,
               limits: UpdateLimits) -> None:
    """Apply `update` to the closed store at `work_path` in a child process; UpdateFailed if it did not."""
    request = json.dumps({"update": update, "base_iri": base_iri, "prefixes": prefixes or {}})
    command = [sys.executable, "-m", "heritage_hubs.graph.updater", str(work_path), str(limits.memory_bytes),
               "isolate" if limits.isolate_network else "shared"]
    try:
        child = subprocess.run(command, input=request.encode(), capture_output=True,
                               timeout=limits.timeout_seconds or None, check=False)
    except subprocess.TimeoutExpired:
        raise UpdateFailed("timeout", f"the update took longer than the time limit of {limits.timeout_seconds:g} s "
                                      "and was stopped; nothing was changed") from None
    if child.returncode in (-signal.SIGKILL, -signal.SIGABRT, 134, 137):
        raise UpdateFailed("memory", f"the update ran out of memory (limit {limits.memory_bytes // (1024 * 1024)} MiB) "
                                     "and was stopped; nothing was changed")
    try:
        answer = json.loads(child.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UpdateFailed("runtime", f"the update process ended unexpectedly (exit status {child.returncode}); "
                                      "nothing was changed") from None
    if not answer.get("ok"):
        raise UpdateFailed(str(answer.get("error", "runtime")), str(answer.get("message", "the update failed")))


def _main(work_path: str, memory_bytes: int, isolate: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if isolate:
        from .executor import _leave_network

        _leave_network()
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    from pyoxigraph import Store

    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    store = Store(work_path)
    answer: dict[str, object]
    try:
        store.update(request["update"], base_iri=request.get("base_iri"), prefixes=request.get("prefixes") or None)
        store.flush()
    except SyntaxError as error:
        answer = {"error": "syntax", "message": str(error)}
    except Exception as error:  # what pyoxigraph raises for a graph that does not exist, and the like
        answer = {"error": "runtime", "message": str(error)}
    else:
        answer = {"ok": True}
    del store  # closed before the parent opens the copy again
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "isolate")
