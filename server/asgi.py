"""The ASGI face of the app: cache hits on the event loop, everything else to Flask.

Flask stays the framework: every request that is not a cache hit goes through
the WSGI app unchanged, run in a thread pool by `a2wsgi` (request bodies and
response chunks pass with back-pressure, so streams stay flat in memory).
What is answered here, without a thread hand-off, is the cheap and frequent
part: a repeated GET of `/sparql`, `/id/…` or `/doc/…` whose whole response
is in the cache of this process for the current store generation (see
`cache.py`, which decides what is cached and keys it the same way for both
paths).

When a response body breaks after its status line (the result cap, a query
stopped mid-stream), the WSGI iterator raises; the exception reaches uvicorn,
which then closes the connection without the final chunk, so a client sees a
truncated response, never one that looks complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

from a2wsgi import WSGIMiddleware
from flask import Flask
from werkzeug.wsgi import FileWrapper

from ..config import Settings
from . import CACHED_RESPONSE, close_resources, create_app
from .cache import CachedResponse

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Lookup = Callable[[dict[str, Any]], CachedResponse | None]

#: The request headers a cache key may depend on, as WSGI environ names.
_KEYED_HEADERS = {b"accept": "HTTP_ACCEPT", b"accept-language": "HTTP_ACCEPT_LANGUAGE", b"host": "HTTP_HOST",
                  b"if-none-match": "HTTP_IF_NONE_MATCH", b"if-modified-since": "HTTP_IF_MODIFIED_SINCE"}


def cache_environ(scope: Scope) -> dict[str, Any]:
    """The part of the WSGI environ a cache lookup reads, built as a2wsgi builds it for Flask."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("ascii"),
        "wsgi.url_scheme": scope.get("scheme", "http"),
    }
    for name, value in scope["headers"]:
        key = _KEYED_HEADERS.get(name)
        if key is not None:
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def _completed_environ(app: Flask) -> Callable[[dict[str, Any], Any], Any]:
    """The WSGI app, with the two environ keys a2wsgi leaves out and Werkzeug reads."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        # The body is complete when a2wsgi's stream ends (uvicorn decodes chunked
        # uploads), so Werkzeug may read one that came without Content-Length;
        # files (dumps, graphs) are sent in blocks of 1 MiB, not 8 KiB.
        environ["wsgi.input_terminated"] = True
        environ["wsgi.file_wrapper"] = _file_wrapper
        return app(environ, start_response)

    return wsgi


def _file_wrapper(file: IO[bytes], buffer_size: int = 8192) -> FileWrapper:
    return FileWrapper(file, max(buffer_size, 1 << 20))


class FrontApp:
    """ASGI app: `lookup` answers from the cache when it can, the WSGI app otherwise."""

    def __init__(self, app: Flask, lookup: Lookup, threads: int, on_shutdown: Callable[[], None]) -> None:
        self.wsgi = WSGIMiddleware(_completed_environ(app), workers=threads)  # type: ignore[arg-type]
        self.lookup = lookup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "GET":
                hit = self.lookup(cache_environ(scope))
                if hit is not None:
                    await send({"type": "http.response.start", "status": int(hit.status[:3]),
                                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in hit.headers]})
                    await send({"type": "http.response.body", "body": hit.body})
                    return
            await self.wsgi(scope, receive, send)  # type: ignore[arg-type]
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
    return FrontApp(app, app.extensions[CACHED_RESPONSE], threads=settings.threads, on_shutdown=close_resources)
