"""Work a request does in the server process itself (scoring, counting): few at a time, and stopped when the client leaves.

Queries run in query processes under their own limits; what is left in the server process is bounded per request
(caps on sizes and a time budget, where it runs) and, here, in how many such requests run at once: at most half of
a worker's threads do heavy work, so cheap requests always find a thread, and one client address holds at most
half of those slots, so one client cannot keep the others out. A request that finds no slot within a moment gets
503 with `Retry-After`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import request

from .errors import ServiceUnavailable

#: The WSGI environ key of a callable that says whether the client has closed the connection (set by server/asgi.py).
CLIENT_GONE = "heritage_hubs.client_gone"
#: Seconds a heavy request waits for a slot before 503.
SLOT_WAIT_SECONDS = 2.0


class HeavyWork:
    """At most `slots` heavy requests at once in this process, and at most `per_client` of them for one client address."""

    def __init__(self, slots: int, per_client: int | None = None) -> None:
        self.slots = max(1, slots)
        #: None: no per-client share (behind a proxy every client has the proxy's address).
        self.per_client = None if per_client is None else max(1, min(per_client, self.slots))
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    @contextmanager
    def slot(self, what: str) -> Iterator[None]:
        client = request.remote_addr or ""
        if self.per_client is not None:
            with self._lock:
                if self._held.get(client, 0) >= self.per_client:
                    raise ServiceUnavailable(f"this client already has {self.per_client} of these requests running; "
                                             "send the next when one is answered", headers={"Retry-After": "1"})
                self._held[client] = self._held.get(client, 0) + 1
        try:
            if not self._semaphore.acquire(timeout=SLOT_WAIT_SECONDS):
                raise ServiceUnavailable(f"the server is busy with other {what}; try again in a moment",
                                         headers={"Retry-After": "2"})
            try:
                yield
            finally:
                self._semaphore.release()
        finally:
            if self.per_client is not None:
                with self._lock:
                    self._held[client] -= 1
                    if not self._held[client]:
                        del self._held[client]


def client_gone() -> bool:
    """True once the client of the current request has closed its connection (work for it can stop)."""
    check: Callable[[], bool] | None = request.environ.get(CLIENT_GONE)
    return check is not None and check()
