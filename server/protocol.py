"""uvicorn's HTTP/1.1 protocol (httptools) with limits on the request head.

gunicorn refuses request lines and header sets beyond fixed sizes; uvicorn's
httptools protocol keeps accumulating both and waits for them for ever. A
public endpoint must not let one client hold memory or a connection that way,
so the head of each request (request line and headers) is bounded here:

- at most `HEAD_BYTES` (64 KiB, sixteen times gunicorn's request-line limit,
  so long SPARQL queries still go by GET): beyond, 431 and the connection is
  closed;
- received within `head_timeout` seconds of its first byte
  (`HERITAGE_HUBS_HEADER_TIMEOUT`): beyond, 408 and the connection is closed.
  Idle keep-alive connections are closed by uvicorn's own keep-alive timeout.
- at most `max_per_client` connections open at once from one client address
  (`HERITAGE_HUBS_MAX_CONNECTIONS_PER_CLIENT`, per worker process): beyond,
  503 and the connection is closed, so one client cannot take every
  connection slot (behind a reverse proxy every client has its address: set 0).

Bytes are counted as they arrive, before the parser sees them, so a client
can make us hold at most one read (256 KiB) beyond the limit.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_BYTES = 64 * 1024

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses request heads that are too long or too slow."""

    head_timeout: float = 30.0
    max_per_client: int = 64
    #: Open connections per client address, in this worker process.
    _per_client: ClassVar[dict[str, int]] = {}
    _TOO_LONG = f"the request line and headers are longer than {HEAD_BYTES // 1024} KiB; send a long SPARQL query by POST"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        count = self._per_client.get(self._client, 0) + 1
        self._per_client[self._client] = count
        if self.max_per_client and count > self.max_per_client:
            self._refuse(503, f"more than {self.max_per_client} connections at once from your address; close some and try again")

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)
        super().data_received(data)
        if self._in_head and self._head_bytes > HEAD_BYTES:
            self._refuse(431, self._TOO_LONG)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        # A whole head can come in one read: measure what was parsed.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > HEAD_BYTES:
            self._refuse(431, self._TOO_LONG)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def connection_lost(self, exc: Exception | None) -> None:
        left = self._per_client.get(self._client, 1) - 1
        if left > 0:
            self._per_client[self._client] = left
        else:
            self._per_client.pop(self._client, None)
        self._stop_head_timer()
        super().connection_lost(exc)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._in_head:
            self._refuse(408, f"the request line and headers did not arrive within {self.head_timeout:g} s")

    def _refuse(self, status: int, message: str) -> None:
        self._refused = True
        self._stop_head_timer()
        transport: Any = self.transport
        if transport is None or transport.is_closing():
            return
        body = message.encode("utf-8")
        transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                        b"connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body))
        transport.close()
