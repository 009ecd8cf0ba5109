"""Small caches of whole responses, keyed by the store generation.

Researchers re-run the same query (an editor tab, a notebook cell, a named
query behind a page); harvesters repeat theirs. A response is cached only when
the result came back whole (below one chunk) with status 200, and only under
the generation of the snapshot it was computed on: a write publishes a new
generation, so a cached answer is never stale, and old entries simply stop
being asked for.

The key is made of the request as received (query text, dataset parameters,
Accept header, `format`), so a GET that hits can be answered
(:class:`AnsweredFromCache`, or the ASGI front of asgi.py under `serve`)
before Flask parses anything; a request only gets into the cache after the
full path (safety checks included) has answered it.

:class:`CachedDocuments` keeps the documents of `/id/` and `/doc/` (303s
included): the whole response Flask produced, under the generation and
everything the response depends on (path, query string, host, scheme,
Accept, Accept-Language, the language cookie); a conditional request always goes through Flask,
which answers 304 itself.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

RequestKey = tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]


def request_key(generation: str, query: str, default_graphs: Iterable[str], named_graphs: Iterable[str],
                accept: str, format_name: str) -> RequestKey:
    return (generation, query, tuple(default_graphs), tuple(named_graphs), accept, format_name)


@dataclass(frozen=True)
class CachedResponse:
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: str = "200 OK"


class ResultCache:
    def __init__(self, max_entries: int = 2048, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, CachedResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> CachedResponse | None:
        if self.max_bytes <= 0:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, response: CachedResponse) -> None:
        if self.max_bytes <= 0 or len(response.body) > self.max_bytes // 16:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = response
            self._bytes += len(response.body)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)


Finder = Callable[[dict[str, Any]], CachedResponse | None]


class AnsweredFromCache:
    """WSGI middleware: a GET whose whole response `find` has is answered without entering Flask.

    (Under `serve`, the ASGI front in asgi.py answers the same hits with the same `find` first.)"""

    def __init__(self, app: Callable[..., Any], find: Finder) -> None:
        self.app = app
        self.find = find

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") == "GET":
            hit = self.find(environ)
            if hit is not None:
                start_response(hit.status, list(hit.headers))
                return [hit.body]
        return self.app(environ, start_response)


class CachedQueries:
    """Finds the cached response to a GET /sparql (the view files results, see sparql.py)."""

    def __init__(self, lookup: Callable[[], tuple[ResultCache, str]]) -> None:
        self.lookup = lookup

    def find(self, environ: dict[str, Any]) -> CachedResponse | None:
        cache, generation = self.lookup()
        return cache.get(raw_request_key(generation, environ))


def raw_request_key(generation: str, environ: dict[str, Any]) -> Hashable:
    """A GET as received, before any decoding: a client repeating itself sends the same bytes, and
    decoding is most of the cost of a hit. The view stores its results under this key too."""
    return ("raw", generation, environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", ""))


DocumentKey = tuple[object, ...]
#: The visitor's choice of language (server/i18n.py), the one cookie a page depends on.
_LANGUAGE_COOKIE = re.compile(r"(?:^|;)\s*lang=([a-z]{2})\b")

#: Paths whose GET responses depend only on the request line, host, Accept, Accept-Language and the store.
DOCUMENT_PREFIXES = ("/doc/", "/id/")
_CACHED_STATUSES = ("200 ", "303 ")


class CachedDocuments:
    """WSGI middleware: keeps the whole responses to GET /doc/… and /id/…; `find` gives them back."""

    def __init__(self, app: Callable[..., Any], lookup: Callable[[], tuple[ResultCache, str]]) -> None:
        self.app = app
        self.lookup = lookup

    @staticmethod
    def applies(environ: dict[str, Any]) -> bool:
        """Whether the request is one whose response may be kept: an unconditional GET of a document."""
        return (environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").startswith(DOCUMENT_PREFIXES)
                and "HTTP_IF_NONE_MATCH" not in environ and "HTTP_IF_MODIFIED_SINCE" not in environ)

    def _key(self, environ: dict[str, Any]) -> tuple[ResultCache, DocumentKey]:
        cache, generation = self.lookup()
        return cache, ("document", generation, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                       environ.get("HTTP_HOST", ""), environ.get("wsgi.url_scheme", ""), environ.get("HTTP_ACCEPT", ""),
                       environ.get("HTTP_ACCEPT_LANGUAGE", ""), tuple(_LANGUAGE_COOKIE.findall(environ.get("HTTP_COOKIE", ""))[-1:]))

    def find(self, environ: dict[str, Any]) -> CachedResponse | None:
        """The cached response to a GET of a document (any other request: None)."""
        if not self.applies(environ):
            return None
        cache, key = self._key(environ)
        return cache.get(key)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not self.applies(environ):
            return self.app(environ, start_response)
        cache, key = self._key(environ)
        answered: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, capture)
        if not answered or not str(answered[0]).startswith(_CACHED_STATUSES):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        cache.put(key, CachedResponse(tuple(answered[1]), body, answered[0]))
        return [body]
