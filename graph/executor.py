"""Running untrusted SPARQL queries in worker processes that can be killed.

pyoxigraph's ``Store.query`` has no timeout and no cancellation, materialises
ORDER BY and aggregates inside the call, and aborts the whole process (not a
Python exception) when an allocation fails. So queries that arrive over HTTP
run in child processes:

- each child has an address-space limit (``RLIMIT_AS``): a query that eats
  memory kills its child, not the server;
- the parent waits with a deadline; past it, the child is killed (the work
  really stops and its memory is returned) and replaced in the background;
- each child drops out of the network when it can (a fresh network
  namespace: even a SERVICE that slipped through reaches nothing);
- the child serialises results with pyoxigraph's own writers into chunks sent
  over a pipe, so a million-row result streams with flat memory on both sides,
  and the first chunk (or the error) is known before any HTTP status is sent.

Nothing here knows about HTTP; the server maps :class:`QueryFailed` to a
status code and iterates :class:`QueryStream` into the response body.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .sparql_text import has_dataset_clause, prefix_message, undeclared_prefix, where_in_text

CHUNK_BYTES = 64 * 1024

_START, _CHUNK, _ERROR, _ABORT, _DONE, _WHOLE = b"S", b"C", b"E", b"A", b"D", b"W"


@dataclass(frozen=True)
class QueryJob:
    """A query and how to answer it; formats are media types in preference order."""

    query: str
    solution_formats: tuple[str, ...]
    graph_formats: tuple[str, ...]
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None
    max_bytes: int = 512 * 1024 * 1024


class QueryFailed(Exception):
    """The query failed before any result byte was produced."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


class StreamAborted(Exception):
    """The result stream broke after it started; the response must be cut short."""


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 30.0
    memory_bytes: int = 2 * 1024**3
    processes: int = 4
    #: Without an allow-list of SERVICE endpoints, query processes leave the
    #: network entirely (a second line behind the SERVICE check).
    isolate_network: bool = True


# ---------------------------------------------------------------- the child


class _ChunkWriter:
    """A file-like sink that sends fixed-size chunks over the pipe."""

    def __init__(self, conn: Connection, media_type: str, max_bytes: int) -> None:
        self.conn = conn
        self.media_type = media_type
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.sent = 0
        self.started = False

    def write(self, data: bytes) -> int:
        self.buffer += data
        if self.sent + len(self.buffer) > self.max_bytes:
            raise _TooLarge(self.max_bytes)
        if len(self.buffer) >= CHUNK_BYTES:
            self._send()
        return len(data)

    def flush(self) -> None:
        pass

    def _send(self) -> None:
        if not self.started:
            self.conn.send_bytes(_START + self.media_type.encode())
            self.started = True
        if self.buffer:
            self.conn.send_bytes(_CHUNK + bytes(self.buffer))
            self.sent += len(self.buffer)
            self.buffer.clear()

    def finish(self) -> None:
        if not self.started:
            # The whole result fits in one chunk: one message, so the server
            # can answer with a Content-Length instead of a chunked stream.
            self.conn.send_bytes(_WHOLE + self.media_type.encode() + b"\n" + bytes(self.buffer))
            return
        self._send()
        self.conn.send_bytes(_DONE)


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the result is larger than the limit of {limit // (1024 * 1024)} MiB; narrow the query or add LIMIT")


def _leave_network() -> str:
    """Move this process into an empty network namespace, if the OS lets us."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet, clone_newuser = 0x40000000, 0x10000000
    for flags in (clone_newnet, clone_newnet | clone_newuser):
        if libc.unshare(flags) == 0:
            return "isolated"
    return "shared"


def _worker_main(conn: Connection, store_root: str, memory_bytes: int, isolate: bool = True,
                 prefixes: dict[str, str] | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if isolate:
        _leave_network()
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    from pyoxigraph import NamedNode, QueryBoolean, QuerySolutions

    from .formats import GRAPHS_BY_MEDIA_TYPE, RESULTS_BY_MEDIA_TYPE
    from .snapshots import SnapshotDirectory

    directory = SnapshotDirectory(Path(store_root))
    solution_formats, graph_formats = RESULTS_BY_MEDIA_TYPE, GRAPHS_BY_MEDIA_TYPE
    conn.send_bytes(b"R")  # ready
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        job = QueryJob(**json.loads(raw))
        writer: _ChunkWriter | None = None
        try:
            options: dict[str, Any] = {"base_iri": job.base_iri, "prefixes": prefixes or None}
            if job.default_graphs is None and job.named_graphs is None:
                # The endpoint's default graph is the union of all graphs, unless the query names its own dataset.
                options["use_default_graph_as_union"] = not has_dataset_clause(job.query)
            else:
                options["default_graph"] = [NamedNode(g) for g in job.default_graphs or ()]
                options["named_graphs"] = [NamedNode(g) for g in job.named_graphs or ()]
            result = directory.reader().query(job.query, **options)
            if isinstance(result, QuerySolutions | QueryBoolean):
                # An ASK result goes in every results format: CSV and TSV carry `true` or `false`, as Oxigraph's server sends.
                allowed = [m for m in job.solution_formats if m in solution_formats]
                if not allowed:
                    raise _NotAcceptable("SELECT and ASK results", job.solution_formats, list(solution_formats))
                writer = _ChunkWriter(conn, allowed[0], job.max_bytes)
                result.serialize(writer, solution_formats[allowed[0]])  # type: ignore[arg-type]
            else:
                allowed = [m for m in job.graph_formats if m in graph_formats]
                if not allowed:
                    raise _NotAcceptable("CONSTRUCT and DESCRIBE results", job.graph_formats, list(graph_formats))
                writer = _ChunkWriter(conn, allowed[0], job.max_bytes)
                result.serialize(writer, graph_formats[allowed[0]])  # type: ignore[arg-type]
            writer.finish()
        except BaseException as error:  # report, then serve the next query
            status, message = _classify(error)
            if isinstance(error, SyntaxError) and (prefix := undeclared_prefix(job.query, prefixes)) is not None:
                message = "SPARQL syntax error: " + prefix_message(prefix, prefixes)
            if writer is not None and writer.started:
                conn.send_bytes(_ABORT + message.encode())
            else:
                conn.send_bytes(_ERROR + json.dumps({"status": status, "message": message}).encode())
            if isinstance(error, KeyboardInterrupt | SystemExit):
                return


def not_acceptable(what: str, asked: Sequence[str], possible: Iterable[str]) -> str:
    """Why a query's answer cannot be sent in any format the request accepts (406), and what to ask for."""
    accepted = f"the formats the request accepts ({', '.join(asked)})" if asked else "any format the request accepts"
    return f"{what} cannot be sent in {accepted}; ask for one of: {', '.join(possible)}"


class _NotAcceptable(Exception):
    def __init__(self, what: str, asked: tuple[str, ...], possible: list[str]) -> None:
        super().__init__(not_acceptable(what, asked, possible))


def _classify(error: BaseException) -> tuple[int, str]:
    if isinstance(error, SyntaxError):
        return 400, "SPARQL syntax error " + where_in_text(str(error))
    if isinstance(error, ValueError):  # pyoxigraph's word for a malformed IRI or term in the request
        return 400, f"invalid request: {error}"
    if isinstance(error, _NotAcceptable):
        return 406, str(error)
    if isinstance(error, _TooLarge):
        return 413, str(error)
    if isinstance(error, RuntimeError):  # pyoxigraph's word for a query it cannot evaluate (an unknown function, …)
        return 400, f"the query cannot be evaluated: {error}"
    if isinstance(error, MemoryError):
        return 503, "the query ran out of memory"
    return 500, f"the query failed: {type(error).__name__}: {error}"


# ---------------------------------------------------------------- the parent


class _Worker:
    """A child interpreter (`python -m heritage_hubs.graph.executor`) joined by a socket pair.

    A fresh interpreter rather than a fork: the server's threads, locks and
    open RocksDB handles are not copied into it.
    """

    def __init__(self, store_root: str, memory_bytes: int, isolate: bool, prefixes: dict[str, str]) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "heritage_hubs.graph.executor", str(theirs.fileno()), store_root, str(memory_bytes),
             "isolate" if isolate else "network", json.dumps(prefixes)],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        if not self.conn.poll(60) or self.conn.recv_bytes() != b"R":
            self.kill()
            raise RuntimeError("a query worker did not start")

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()


class QueryExecutor:
    """A pool of query worker processes with a time limit and a memory limit each."""

    def __init__(self, store_root: str | os.PathLike[str], limits: Limits | None = None,
                 prefixes: dict[str, str] | None = None) -> None:
        self.store_root = str(store_root)
        self.limits = limits or Limits()
        #: Prefixes every query may use without declaring them.
        self.prefixes = dict(prefixes or {})
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._closed = False
        self._spawning = 0
        self._busy = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _spawn_in_background(self) -> None:
        def spawn() -> None:
            try:
                worker = _Worker(self.store_root, self.limits.memory_bytes, self.limits.isolate_network, self.prefixes)
                with self._lock:
                    self._all.add(worker)
                    closed = self._closed
                if closed:
                    worker.kill()
                else:
                    self._idle.put(worker)
            finally:
                with self._lock:
                    self._spawning -= 1

        with self._lock:
            self._spawning += 1
        threading.Thread(target=spawn, daemon=True).start()

    def warm_up(self) -> None:
        """Start the pool's processes now rather than on the first queries."""
        for _ in range(self.limits.processes):
            self._spawn_in_background()

    def _acquire(self, deadline: float) -> _Worker:
        with self._lock:
            total = self._idle.qsize() + self._spawning + self._busy
            if self._idle.empty() and total < self.limits.processes:
                self._spawning += 1
                spawn_now = True
            else:
                spawn_now = False
        if spawn_now:
            try:
                worker = _Worker(self.store_root, self.limits.memory_bytes, self.limits.isolate_network, self.prefixes)
                with self._lock:
                    self._all.add(worker)
            finally:
                with self._lock:
                    self._spawning -= 1
        else:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise QueryFailed(503, "all query workers are busy; try again shortly") from None
        with self._lock:
            self._busy += 1
        return worker

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        with self._lock:
            self._busy -= 1
        if healthy and not self._closed:
            self._idle.put(worker)
        else:
            worker.kill()
            with self._lock:
                self._all.discard(worker)
            if not self._closed:
                self._spawn_in_background()

    def run(self, job: QueryJob) -> QueryStream:
        """Start a query; raises QueryFailed if it fails before its first byte."""
        deadline = time.monotonic() + self.limits.timeout_seconds
        worker = self._acquire(deadline)
        try:
            worker.conn.send_bytes(json.dumps(vars(job)).encode())  # flat: tuples go as lists
            message = self._receive(worker, deadline)
        except BaseException:
            self._release(worker, healthy=False)
            raise
        tag, payload = message[:1], message[1:]
        if tag == _WHOLE:
            self._release(worker, healthy=True)
            media_type, _, body = payload.partition(b"\n")
            return QueryStream(self, None, media_type.decode(), deadline, body=body)
        if tag == _ERROR:
            self._release(worker, healthy=True)
            error = json.loads(payload)
            raise QueryFailed(error["status"], error["message"])
        if tag != _START:
            self._release(worker, healthy=False)
            raise QueryFailed(500, "the query worker answered out of turn")
        return QueryStream(self, worker, payload.decode(), deadline)

    def _receive(self, worker: _Worker, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0 or not worker.conn.poll(remaining):
                raise QueryFailed(503, f"the query took longer than the time limit of {self.limits.timeout_seconds:g} s and was stopped")
            return worker.conn.recv_bytes()
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=2)
            code = worker.exitcode
            limit = self.limits.memory_bytes // (1024 * 1024)
            if code in (-signal.SIGABRT, -signal.SIGKILL, 134, 137):  # an allocation refused (abort), or the kernel's OOM killer
                raise QueryFailed(503, f"the query ran out of memory (memory limit {limit} MiB per query) and was stopped") from None
            if code in (-signal.SIGSEGV, 139):  # the engine's recursion ran off its stack
                raise QueryFailed(400, "the query crashed the query engine (too deeply nested?) and was stopped") from None
            raise QueryFailed(503, f"the query process ended unexpectedly (exit status {code}); try again") from None

    def close(self) -> None:
        """Stop every worker, including those being started."""
        with self._lock:
            self._closed = True
        deadline = time.monotonic() + 30
        while self._spawning and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()


class QueryStream:
    """The chunks of a running query's result; iterate once.

    A small result arrives whole (`body` is set, no worker is held); a larger
    one is read from its worker chunk by chunk.
    """

    def __init__(self, executor: QueryExecutor, worker: _Worker | None, media_type: str, deadline: float,
                 body: bytes | None = None) -> None:
        self.executor = executor
        self.worker = worker
        self.media_type = media_type
        self.deadline = deadline
        self.body = body
        self._started = False

    def close(self) -> None:
        """Give the worker back if the answer was never read (a client gone before its first byte): reading it gives it
        back when it ends or is closed."""
        if self.worker is not None and not self._started:
            self._started = True
            self.executor._release(self.worker, healthy=False)

    def __iter__(self) -> Iterator[bytes]:
        self._started = True
        if self.worker is None:
            if self.body:
                yield self.body
            return
        healthy = False
        try:
            while True:
                try:
                    message = self.executor._receive(self.worker, self.deadline)
                except QueryFailed as error:
                    raise StreamAborted(error.message) from None
                tag, payload = message[:1], message[1:]
                if tag == _CHUNK:
                    yield payload
                elif tag == _DONE:
                    healthy = True
                    return
                elif tag == _ABORT:
                    healthy = True
                    raise StreamAborted(payload.decode())
                else:
                    raise StreamAborted("unexpected message from the query worker")
        finally:
            # A consumer that stops early (client gone) leaves the worker
            # mid-stream: it is replaced rather than reused.
            self.executor._release(self.worker, healthy=healthy)


if __name__ == "__main__":
    _worker_main(Connection(int(sys.argv[1])), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "isolate", json.loads(sys.argv[5]))
