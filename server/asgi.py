"""The ASGI face of the app: cache hits on the event loop, everything else to Flask.

Flask stays the framework: every request that is not a cache hit goes to the
WSGI app unchanged, in a thread pool (:class:`WsgiBridge`). What is answered
here, without a thread hand-off, is the cheap and frequent part: a repeated
GET of `/sparql`, `/id/…` or `/doc/…` whose whole response is in the cache of
this process for the current store generation (see `cache.py`, which decides
what is cached and keys it the same way for both paths).

The bridge is ours rather than a2wsgi's because of how it crosses between the
event loop and the threads, which on a virtual machine costs tens of
microseconds a crossing: a response that fits in `WHOLE_BYTES` comes back in
the one crossing that ends the call (a2wsgi makes one per message, so three
for the smallest response; ours is 2.3× faster on a hello-world app here).
Larger responses stream with back-pressure: the thread waits until uvicorn
has taken each chunk, so memory stays flat. Two more things it does that a
WSGI server must:

- when a body breaks after its status line (the result cap, a query stopped
  mid-stream), the exception reaches uvicorn, which drops the connection
  without the final chunk: a client sees a truncated response, never one that
  looks complete;
- when the client goes away mid-stream, the next chunk raises in the thread,
  so the result iterator is closed and the query behind it stopped, instead
  of running to the end for nobody.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import IO, Any

from flask import Flask
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import FileWrapper

from ..config import Settings
from . import CACHED_RESPONSE, COMMON_HEADERS, close_resources, create_app
from .auth import CHALLENGE
from .cache import CachedResponse
from .errors import problem_json
from .limits import CLIENT_GONE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Coroutine[Any, Any, Message]]
Send = Callable[[Message], Coroutine[Any, Any, None]]
Lookup = Callable[[dict[str, Any]], CachedResponse | None]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: A response whose body is at most this long goes back to the loop whole.
WHOLE_BYTES = 256 * 1024
#: A request body up to this long is read on the loop before the thread starts.
PREFETCH_BYTES = 64 * 1024
#: After its first `stall_seconds`, a request body must keep arriving at this average rate (bytes per second).
BODY_MIN_RATE = 64 * 1024

#: Requests that write, by path and method: they need a bearer token, asked for before any of the body is read.
_WRITES = (("/graph-store", ("PUT", "POST", "DELETE")), ("/graph/", ("PUT", "POST", "DELETE")), ("/import/csv", ("POST",)))


class BodyDeadline:
    """When a request body must have arrived: `seconds` from its start, plus the time its size takes at BODY_MIN_RATE.

    A client that trickles a body (or declares one and never sends it) is cut
    off, however many small pieces it sends; a large upload at a sane rate is not.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    def remaining(self, received: int) -> float:
        return self.started + self.seconds + received / BODY_MIN_RATE - time.monotonic()

    def message(self) -> str:
        return (f"the request body did not arrive in time (allowed: {self.seconds:g} s, then {BODY_MIN_RATE // 1024} KiB/s); "
                "nothing was done")


class BodyTooLarge(RequestEntityTooLarge):
    """A body (chunked, so of no declared length) went past the upload limit: 413 from the view that reads it."""

#: The request headers a cache key may depend on, as WSGI environ names.
_KEYED_HEADERS = {b"accept": "HTTP_ACCEPT", b"accept-language": "HTTP_ACCEPT_LANGUAGE", b"host": "HTTP_HOST",
                  b"if-none-match": "HTTP_IF_NONE_MATCH", b"if-modified-since": "HTTP_IF_MODIFIED_SINCE"}


def _header_name(name: bytes) -> str:
    if name == b"content-type":
        return "CONTENT_TYPE"
    if name == b"content-length":
        return "CONTENT_LENGTH"
    return "HTTP_" + name.decode("latin-1").upper().replace("-", "_")


def _request_environ(scope: Scope) -> dict[str, Any]:
    """The request line of an ASGI HTTP request as WSGI environ keys (PEP 3333: paths as latin-1 strings)."""
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root):]
    return {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "wsgi.url_scheme": scope.get("scheme", "http"),
    }


def _add_headers(environ: dict[str, Any], scope: Scope, key_of: Callable[[bytes], str | None]) -> dict[str, Any]:
    """Request headers as environ keys (`key_of` None: left out); repeated headers joined with commas."""
    for name, value in scope["headers"]:
        key = key_of(name)
        if key is not None:
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def wsgi_environ(scope: Scope, body: io.RawIOBase) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP request."""
    server = scope.get("server") or ("localhost", 80)
    environ = _request_environ(scope)
    environ.update({
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.input": body,
        # uvicorn decodes chunked uploads, so the stream ends where the body
        # does: Werkzeug may read a body that came without Content-Length.
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # Files (dumps, graphs) go out in blocks of 1 MiB, not 8 KiB.
        "wsgi.file_wrapper": _file_wrapper,
    })
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    return _add_headers(environ, scope, _header_name)


def _file_wrapper(file: IO[bytes], buffer_size: int = 8192) -> FileWrapper:
    return FileWrapper(file, max(buffer_size, 1 << 20))


class _RequestBody(io.RawIOBase):
    """`wsgi.input`: what was read on the loop, then the rest pulled from the thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive, first: bytes, more: bool, deadline: BodyDeadline,
                 max_bytes: int | None = None) -> None:
        super().__init__()
        self.loop = loop
        self.receive = receive
        self.buffer = bytearray(first)
        self.more = more
        self.deadline = deadline
        self.received = len(first)
        self.max_bytes = max_bytes
        #: The body was cut off (too slow, too large, or the client left).
        self.broken = False
        #: Called (from the thread) once the last of the body has arrived.
        self.on_end: Callable[[], object] | None = None

    def readable(self) -> bool:
        return True

    def _pull(self) -> None:
        # A client that stops sending mid-body, or trickles it, must not hold one of the few threads for long.
        future = asyncio.run_coroutine_threadsafe(self.receive(), self.loop)
        try:
            message = future.result(timeout=max(self.deadline.remaining(self.received), 0.001))
        except TimeoutError:
            future.cancel()
            self.more, self.broken = False, True
            raise OSError(self.deadline.message()) from None
        if message["type"] == "http.disconnect":
            self.more, self.broken = False, True
            raise OSError("the client closed the connection while sending the body")
        chunk = message.get("body", b"")
        self.received += len(chunk)
        self.buffer += chunk
        self.more = message.get("more_body", False)
        if self.max_bytes is not None and self.received > self.max_bytes:
            self.more, self.broken = False, True
            raise BodyTooLarge(description=f"the request body is larger than {self.max_bytes // (1024 * 1024)} MiB "
                               "(HERITAGE_HUBS_MAX_UPLOAD_MB); nothing was done")
        if not self.more and self.on_end is not None:
            self.on_end()

    def read(self, size: int | None = -1) -> bytes:
        while self.more and (size is None or size < 0 or len(self.buffer) < size):
            self._pull()
        if size is None or size < 0:
            size = len(self.buffer)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        while self.more and b"\n" not in self.buffer and (size is None or size < 0 or len(self.buffer) < size):
            self._pull()
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if size is not None and size >= 0:
            end = min(end, size)
        data = bytes(self.buffer[:end])
        del self.buffer[:end]
        return data


class _ClientGone(ConnectionAbortedError):
    pass


class _Exchange:
    """One request run through the WSGI app in a pool thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Send) -> None:
        self.loop = loop
        self.send = send
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.streaming = False
        self.gone = False
        #: The request body this answers, if it was cut off (then the connection closes after the answer).
        self.body: _RequestBody | None = None

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and self.streaming:
            raise exc_info[1].with_traceback(exc_info[2])
        if self.body is not None and self.body.broken:
            # The rest of the body is still on its way (or never comes): the connection cannot be reused.
            headers = [*headers, ("Connection", "close")]
        self.status, self.headers = status, headers
        return self._write

    def _write(self, data: bytes) -> None:  # the legacy write() callable of PEP 3333
        self._stream([data])

    def _send_from_thread(self, message: Message) -> None:
        if self.gone:
            raise _ClientGone("the client closed the connection")
        asyncio.run_coroutine_threadsafe(self.send(message), self.loop).result()

    def _stream(self, chunks: list[bytes]) -> None:
        if not self.streaming:
            self._send_from_thread(_start_message(self.status, self.headers))
            self.streaming = True
        for chunk in chunks:
            if chunk:
                self._send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})

    def run(self, app: WsgiApp, environ: dict[str, Any]) -> bytes | None:
        """The whole body when it is small (the loop then answers); None when it was streamed from here."""
        result = app(environ, self.start_response)
        try:
            held: list[bytes] = []
            size = 0
            try:
                for chunk in result:
                    if self.streaming:
                        self._stream([chunk])
                        continue
                    held.append(chunk)
                    size += len(chunk)
                    if size > WHOLE_BYTES:
                        self._stream(held)
                        held = []
            except BaseException:
                if held and self.status and not self.streaming:
                    # Break visibly: the status line and what came, then no end.
                    self._stream(held)
                raise
            if not self.streaming:
                return b"".join(held)
            self._send_from_thread({"type": "http.response.body", "body": b""})
            return None
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


def _start_message(status: str, headers: Iterable[tuple[str, str]]) -> Message:
    return {"type": "http.response.start", "status": int(status[:3]),
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]}


class WsgiBridge:
    """An ASGI app that runs a WSGI app in a pool of `threads` threads."""

    def __init__(self, app: WsgiApp, threads: int, stall_seconds: float, max_body: int | None = None) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")
        #: How long a request body may take (see BodyDeadline).
        self.stall_seconds = stall_seconds
        #: The largest request body accepted (HERITAGE_HUBS_MAX_UPLOAD_MB).
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        refusal = self._refusal(scope)
        if refusal is not None:  # decided from the head alone, before any of the body is read
            await _answer(send, *refusal, scope=scope)
            return
        deadline = BodyDeadline(self.stall_seconds)
        first, more = bytearray(), True
        while more and len(first) < PREFETCH_BYTES:
            try:
                message = await asyncio.wait_for(receive(), max(deadline.remaining(len(first)), 0.001))
            except TimeoutError:
                await _answer(send, 408, deadline.message(), scope=scope)
                return
            if message["type"] == "http.disconnect":
                return
            first += message.get("body", b"")
            more = message.get("more_body", False)
        exchange = _Exchange(loop, send)
        watchers: list[asyncio.Task[None]] = []

        def watch() -> None:
            watchers.append(loop.create_task(_watch_disconnect(receive, exchange)))

        request_body = _RequestBody(loop, receive, bytes(first), more, deadline, self.max_body)
        exchange.body = request_body
        if more:  # a long body: watch from when the app has read it all
            request_body.on_end = lambda: loop.call_soon_threadsafe(watch)
        else:
            watch()
        try:
            environ = wsgi_environ(scope, request_body)
            environ[CLIENT_GONE] = lambda: exchange.gone
            body = await loop.run_in_executor(self.pool, exchange.run, self.app, environ)
        except _ClientGone:
            return  # nobody to answer; the response iterator has been closed
        finally:
            for watcher in watchers:
                watcher.cancel()
        if body is not None:
            await send(_start_message(exchange.status, exchange.headers))
            await send({"type": "http.response.body", "body": body})


    def _refusal(self, scope: Scope) -> tuple[int, str, dict[str, str]] | None:
        """401 for a write without a bearer token; 413 for a declared body over the limit."""
        headers = {name.lower(): value for name, value in scope.get("headers", ())}
        path, method = scope.get("path", ""), scope.get("method", "")
        if any(path.startswith(prefix) and method in methods for prefix, methods in _WRITES) \
                and not headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            return 401, ("writes need a bearer token (Authorization: Bearer hh_…); "
                         "an administrator creates one with 'heritage-hubs token create'"), dict(CHALLENGE)
        coding = headers.get(b"transfer-encoding", b"").strip().lower()
        if coding and coding != b"chunked":
            return 501, f"Transfer-Encoding {coding.decode('latin-1')!r} is not supported; send the body plain or chunked", {}
        length = headers.get(b"content-length", b"").strip()
        if self.max_body is not None and length.isdigit() and int(length) > self.max_body:
            return 413, (f"the request body ({int(length):,} bytes) is larger than {self.max_body // (1024 * 1024)} MiB "
                         "(HERITAGE_HUBS_MAX_UPLOAD_MB)"), {}
        return None


async def _answer(send: Send, status: int, message: str, headers: dict[str, str] | None = None, *,
                  scope: Scope | None = None) -> None:
    """An answer from the loop; the connection is closed after it (the body may still be on its way).

    Problem details (RFC 9457) for a client that takes JSON, as every other error; plain text otherwise.
    """
    accept = dict(scope.get("headers", ())).get(b"accept", b"") if scope is not None else b""
    if b"json" in accept:
        media = b"application/problem+json"
        body = problem_json(status, message, title=HTTPStatus(status).phrase).encode()
    else:
        media, body = b"text/plain; charset=utf-8", f"{status} {message}\n".encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", media), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in (*COMMON_HEADERS, *(headers or {}).items()))]})
    await send({"type": "http.response.body", "body": body})


async def _watch_disconnect(receive: Receive, exchange: _Exchange) -> None:
    """After the whole body is in, the next message can only be the client leaving."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            exchange.gone = True
            return


def cache_environ(scope: Scope) -> dict[str, Any]:
    """The part of the WSGI environ a cache lookup reads, built as `wsgi_environ` builds it for Flask."""
    return _add_headers(_request_environ(scope), scope, _KEYED_HEADERS.get)


class FrontApp:
    """ASGI app: `lookup` answers from the cache when it can, the WSGI app otherwise."""

    def __init__(self, app: Flask, lookup: Lookup, threads: int, on_shutdown: Callable[[], None], stall_seconds: float,
                 max_body: int | None = None) -> None:
        self.wsgi = WsgiBridge(app, threads, stall_seconds, max_body)
        self.lookup = lookup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "GET":
                hit = self.lookup(cache_environ(scope))
                if hit is not None:
                    await send(_start_message(hit.status, hit.headers))
                    await send({"type": "http.response.body", "body": hit.body})
                    return
            await self.wsgi(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.on_shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return


def create_asgi_app(settings: Settings) -> FrontApp:
    """The app `serve` runs: the Flask app of `create_app`, with its cache hits answered on the event loop."""
    app = create_app(settings)
    return FrontApp(app, app.extensions[CACHED_RESPONSE], threads=settings.threads, on_shutdown=close_resources,
                    stall_seconds=settings.header_timeout, max_body=settings.max_upload_mb * 1024 * 1024)
