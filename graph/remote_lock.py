"""One writer at a time across every host in front of one SPARQL engine: a lease kept in the engine.

On the embedded store a file lock keeps writers apart. Hosts in front of one
engine share no file, so the engine holds the lock as a lease: one statement
in the graph ``{base}graph/lock`` naming the holder and the time it expires.
A writer takes it with one conditional SPARQL Update (set it to me if it is
expired or mine), reads it back, and waits while someone else holds it; given
back, it is set to expired, held by no one. While it holds the lease, the
write moves the expiry on between its own requests (at most every
``lease / 3`` seconds), and before a request that may take long (an upload,
the write's update) takes it for as long as that request may last: a long
write keeps it, and a host that dies between requests loses it within
``lease`` seconds (within the request's own limit if it dies in one). The
host's own file lock is taken first, so processes of one host queue there and
only one of them asks the engine.

Lease times are compared as text (``%Y-%m-%dT%H:%M:%S.%fZ``, UTC): the
hosts' clocks must agree to well within the lease (NTP does).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .errors import StoreBusyError

if TYPE_CHECKING:
    from .remote import RemoteGraphStore

#: Seconds a lease lasts unless renewed; a host that dies holding it is waited for at most this long (between requests).
LEASE_SECONDS = 30.0
#: Seconds a lease is taken for before a request that may take long (the longest a write's request may take).
WRITE_SECONDS = 3600.0


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EngineLease:
    """The write lease of one engine (see the module's description)."""

    def __init__(self, remote: RemoteGraphStore, *, lease: float = LEASE_SECONDS) -> None:
        self.remote = remote
        self.graph = remote.namespaces.lock_graph
        self.lease = lease
        self._holder = f"<{self.graph}#holder>"
        self._until = f"<{self.graph}#until>"

    def _take(self, me: str, seconds: float | None = None) -> str:
        """The update that makes `me` the holder for `seconds` (the lease by default) if the lease is expired or mine
        (one request: the engine runs it whole)."""
        g, node = self.graph, f"<{self.graph}>"
        now = datetime.now(UTC)
        until = _stamp(now + timedelta(seconds=self.lease if seconds is None else seconds))
        # No OPTIONAL and !BOUND: Virtuoso 7 inserts even when such a filter fails. The lease is laid down, expired,
        # the first time (`_lay`), so there is always one to match.
        return (f"DELETE {{ GRAPH <{g}> {{ {node} {self._holder} ?h . {node} {self._until} ?u }} }} "
                f"INSERT {{ GRAPH <{g}> {{ {node} {self._holder} \"{me}\" . {node} {self._until} \"{until}\" }} }} "
                f"WHERE {{ GRAPH <{g}> {{ {node} {self._holder} ?h . {node} {self._until} ?u }} "
                f"FILTER(STR(?u) < \"{_stamp(now)}\" || STR(?h) = \"{me}\") }}")

    def _lay(self) -> None:
        """The lease, expired and held by no one, if the engine has none yet (two hosts doing this at once lay two
        expired ones, which the first take replaces with one)."""
        node = f"<{self.graph}>"
        self.remote.engine.update(f"INSERT DATA {{ GRAPH <{self.graph}> {{ {node} {self._holder} \"\" . "
                                  f"{node} {self._until} \"1970-01-01T00:00:00.000000Z\" }} }}")

    def holder(self) -> tuple[str | None, str | None]:
        """Who holds the lease and until when ("" for no one; None, None: the engine has no lease yet)."""
        node = f"<{self.graph}>"
        rows = list(self.remote.reader().select_outside_dataset(
            f"SELECT ?h ?u WHERE {{ GRAPH <{self.graph}> {{ {node} {self._holder} ?h . {node} {self._until} ?u }} }} "
            "ORDER BY DESC(?u)"))
        if not rows:
            return None, None
        return str(rows[0]["h"].value), str(rows[0]["u"].value)

    @contextlib.contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        """Hold the lease for the block; StoreBusyError after `timeout` seconds of someone else holding it."""
        me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + timeout
        while True:
            self.remote.engine.update(self._take(me))
            holder, until = self.holder()
            if holder == me:
                break
            if holder is None:
                self._lay()
                continue
            if time.monotonic() >= deadline:
                raise StoreBusyError(f"another host ({holder}) has been writing to the SPARQL engine for more than "
                                     f"{timeout:.0f} s (its lease runs to {until}); try again later")
            time.sleep(0.2)
        # Renewed between the write's own requests, on its own thread (graph/remote.py Engine.before): an update sent
        # from another thread while a large Graph Store PUT runs left Virtuoso waiting on its locks for good. Before a
        # request that may take long (an upload, a write's update) the lease is taken for as long as that may last.
        owner, renewing = threading.get_ident(), threading.local()
        renewed = time.monotonic()

        def renew(long: bool) -> None:
            nonlocal renewed
            if threading.get_ident() != owner or getattr(renewing, "now", False):
                return
            if not long and time.monotonic() - renewed < self.lease / 3:
                return
            renewing.now = True
            try:
                self.remote.engine.update(self._take(me, WRITE_SECONDS if long else None))
                renewed = time.monotonic() if not long else renewed - self.lease  # after a long one: renewed next time
            finally:
                renewing.now = False

        self.remote.engine.before = renew
        try:
            yield
        finally:
            self.remote.engine.before = None
            with contextlib.suppress(Exception):  # not given back: it expires on its own
                self.remote.engine.update(self._given_back(me))

    def _given_back(self, me: str) -> str:
        g, node = self.graph, f"<{self.graph}>"
        return (f"DELETE {{ GRAPH <{g}> {{ {node} {self._holder} ?h . {node} {self._until} ?u }} }} "
                f"INSERT {{ GRAPH <{g}> {{ {node} {self._holder} \"\" . {node} {self._until} \"1970-01-01T00:00:00.000000Z\" }} }} "
                f"WHERE {{ GRAPH <{g}> {{ {node} {self._holder} ?h . {node} {self._until} ?u }} FILTER(STR(?h) = \"{me}\") }}")
