"""Work a request does in the server process itself (scoring, counting): few at a time, and stopped when the client leaves.

Queries run in query processes under their own limits; what is left in the server process is bounded per request
(caps on sizes and a time budget, where it runs) and, here, in how many such requests run at once: at most half of
a worker's threads do heavy work, so cheap requests always find a thread. A request that finds no slot within a
moment gets 503 with `Retry-After`.
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
    """At most `slots` heavy requests at once in this process."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._semaphore = threading.BoundedSemaphore(self.slots)

    @contextmanager
    def slot(self, what: str) -> Iterator[None]:
        if not self._semaphore.acquire(timeout=SLOT_WAIT_SECONDS):
            raise ServiceUnavailable(f"the server is busy with other {what}; try again in a moment",
                                     headers={"Retry-After": "2"})
        try:
            yield
        finally:
            self._semaphore.release()


def client_gone() -> bool:
    """True once the client of the current request has closed its connection (work for it can stop)."""
    check: Callable[[], bool] | None = request.environ.get(CLIENT_GONE)
    return check is not None and check()
