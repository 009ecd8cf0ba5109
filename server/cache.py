"""A small cache of whole query results, keyed by the store generation.

Researchers re-run the same query (an editor tab, a notebook cell, a named
query behind a page); harvesters repeat theirs. A result is cached only when
it came back whole (below one chunk) and only under the generation of the
snapshot it was computed on: a write publishes a new generation, so a cached
answer is never stale, and old entries simply stop being asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from ..graph.executor import QueryJob


class ResultCache:
    def __init__(self, max_entries: int = 2048, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _key(generation: str, job: QueryJob) -> Hashable:
        return (generation, job.query, job.default_graphs, job.named_graphs, job.solution_formats, job.graph_formats, job.base_iri)

    def get(self, generation: str, job: QueryJob) -> tuple[str, bytes] | None:
        if self.max_bytes <= 0:
            return None
        key = self._key(generation, job)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, generation: str, job: QueryJob, media_type: str, body: bytes) -> None:
        if self.max_bytes <= 0 or len(body) > self.max_bytes // 16:
            return
        key = self._key(generation, job)
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (media_type, body)
            self._bytes += len(body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
