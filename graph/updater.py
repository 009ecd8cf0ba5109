"""Running a SPARQL Update on a write's private copy in a child process, under a time and a memory limit.

pyoxigraph's ``Store.update`` cannot be interrupted and aborts the whole
process when an allocation fails, and an update runs while the store's write
lock is held. So an update received over HTTP runs in a child process that
opens the work copy (the parent has closed it), with an address-space limit
and off the network; past the time limit the child is killed. Either way
nothing is lost: the work copy is thrown away unless the commit publishes it.

The child is started once and kept: it reads ``{"path", "update",
"base_iri", "prefixes"}`` as a JSON line on standard input and answers
``{"ok": true}`` or ``{"error": "syntax"|"runtime", "message"}`` on a line.
"""

from __future__ import annotations

import contextlib
import gc
import json
import resource
import select
import signal
import subprocess
import sys
import threading
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


class UpdateRunner:
    """One child process kept ready to run updates (starting an interpreter per update would lengthen every write).

    Jobs go as JSON lines on its standard input, answers come back as JSON
    lines; past the time limit the child is killed, and the next update
    starts a new one.
    """

    def __init__(self, limits: UpdateLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            command = [sys.executable, "-m", "heritage_hubs.graph.updater", str(self.limits.memory_bytes),
                       "isolate" if self.limits.isolate_network else "shared"]
            self._child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return self._child

    def _stop(self, child: subprocess.Popen[bytes]) -> int | None:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._child = None
        return child.returncode

    def run(self, work_path: Path, update: str, *, base_iri: str | None, prefixes: dict[str, str] | None) -> None:
        """Apply `update` to the closed store at `work_path`; UpdateFailed if it did not."""
        job = json.dumps({"path": str(work_path), "update": update, "base_iri": base_iri, "prefixes": prefixes or {}})
        with self._lock:
            child = self._started()
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(job.encode("utf-8") + b"\n")
                child.stdin.flush()
            except OSError:
                code = self._stop(child)
                raise UpdateFailed("runtime", f"the update process was not there (exit status {code}); try again") from None
            ready, _, _ = select.select([child.stdout], [], [], self.limits.timeout_seconds or None)
            if not ready:
                self._stop(child)
                raise UpdateFailed("timeout", f"the update took longer than the time limit of {self.limits.timeout_seconds:g} s "
                                              "and was stopped; nothing was changed")
            line = child.stdout.readline()
            if not line:
                code = self._stop(child)
                if code in (-signal.SIGKILL, -signal.SIGABRT, 134, 137):
                    raise UpdateFailed("memory", f"the update ran out of memory (limit {self.limits.memory_bytes // (1024 * 1024)} MiB) "
                                                 "and was stopped; nothing was changed")
                raise UpdateFailed("runtime", f"the update process ended unexpectedly (exit status {code}); nothing was changed")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise UpdateFailed(str(answer.get("error", "runtime")), str(answer.get("message", "the update failed")))

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._stop(self._child)


def _main(memory_bytes: int, isolate: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if isolate:
        from .executor import _leave_network

        _leave_network()
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    from pyoxigraph import Store

    for line in sys.stdin.buffer:  # one job a line, until the parent closes the pipe
        job = json.loads(line)
        answer: dict[str, object]
        store = Store(job["path"])
        try:
            store.update(job["update"], base_iri=job.get("base_iri"), prefixes=job.get("prefixes") or None)
            store.flush()
        except SyntaxError as error:
            answer = {"error": "syntax", "message": str(error)}
        except Exception as error:  # what pyoxigraph raises for a graph that does not exist, and the like
            answer = {"error": "runtime", "message": str(error)}
        else:
            answer = {"ok": True}
        del store
        gc.collect()  # closed before the parent opens the copy again
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _main(int(sys.argv[1]), sys.argv[2] == "isolate")
