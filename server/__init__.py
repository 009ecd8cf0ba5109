"""The HTTP layer: a Flask app factory and one blueprint per interface.

No SPARQL or triple handling lives here beyond what is passed through to
`heritage_hubs.graph`. Each process opens the store, the query workers and the
token list lazily, on first use, so nothing is shared across a fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app

from ..config import Settings
from ..graph import GraphStore
from ..graph.executor import Limits, QueryExecutor
from ..graph.remote import RemoteExecutor, RemoteGraphStore
from ..graph.safety import NetworkPolicy
from ..graph.store import open_store
from ..graph.updater import UpdateLimits, UpdateRunner
from .cache import AnsweredFromCache, CachedDocuments, CachedQueries, CachedResponse, ResultCache
from .limits import HeavyWork

#: Key in `app.extensions` of the function that finds a whole cached response for a WSGI environ.
CACHED_RESPONSE = "heritage_hubs.cached_response"


#: On every response: everything we serve is public to read.
CORS_HEADERS = (("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Expose-Headers", "Content-Type, Content-Length, ETag, Link, Vary, Location"))
#: On every response, cached or not: CORS, and no content sniffing.
COMMON_HEADERS = (*CORS_HEADERS, ("X-Content-Type-Options", "nosniff"))


def create_app(settings: Settings | None = None, test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; settings default to the environment (see README, "Settings")."""
    settings = settings or Settings()
    app = Flask(__name__)
    # Werkzeug refuses larger bodies with 413 before a view reads them.
    app.config.from_mapping(HERITAGE_HUBS_SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
                            # Links are built from the Host header: only hosts the operator named are answered.
                            TRUSTED_HOSTS=None if "*" in settings.trusted_hosts else [*settings.trusted_hosts, settings.host])
    if test_config:
        app.config.from_mapping(test_config)

    from . import api, browse, errors, feed, fragments, graph_store, harvest, home, imports, linked_data, ontology, reconcile, sparql

    errors.register(app)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(browse.blueprint)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(linked_data.blueprint)
    app.register_blueprint(ontology.blueprint)
    app.register_blueprint(harvest.blueprint)
    app.register_blueprint(fragments.blueprint)
    app.register_blueprint(feed.blueprint)
    app.register_blueprint(graph_store.blueprint)
    app.register_blueprint(reconcile.blueprint)
    app.register_blueprint(imports.blueprint)

    # Cache hits for GET /sparql, /id/… and /doc/… are answered before Flask (see cache.py).
    def lookup() -> tuple[ResultCache, str]:
        found = resources_for(settings)
        return found.result_cache, found.store.generation

    documents = CachedDocuments(app.wsgi_app, lookup)
    queries = CachedQueries(lookup)

    def cached_response(environ: dict[str, Any]) -> CachedResponse | None:
        """The whole cached response to a GET, if there is one; also used by the ASGI front (asgi.py)."""
        return queries.find(environ) if environ.get("PATH_INFO") == "/sparql" else documents.find(environ)

    app.wsgi_app = AnsweredFromCache(documents, cached_response)  # type: ignore[method-assign]
    app.extensions[CACHED_RESPONSE] = cached_response

    security_headers = page_security_headers(settings.tiles_url)

    from . import i18n

    i18n.init_app(app)

    @app.context_processor
    def _page_globals() -> dict[str, Any]:
        # Every page's footer names the canonical base and offers the other languages; its words are in the visitor's
        # language (pages that pass their own base or language keep theirs; error pages get these).
        return {"base_iri": resources_for(settings).store.namespaces.base, "language": i18n.preferred_language(),
                "languages": i18n.NATIVE_NAMES}

    @app.after_request
    def _cors(response: Response) -> Response:
        # Everything we serve is public to read; writes need a bearer token,
        # which browsers do not attach on their own, so no credentials here.
        for name, value in COMMON_HEADERS:
            response.headers.setdefault(name, value)
        # The HTTP server sends Date; Werkzeug's conditional responses add a second one.
        response.headers.pop("Date", None)
        if response.mimetype == "text/html":
            for name, value in security_headers:
                response.headers.setdefault(name, value)
        return response

    return app


class _Resources:
    """What one process holds: the store, the query workers, the tokens."""

    def __init__(self, settings: Settings) -> None:
        self.store = open_store(settings.store_path, base_iri=settings.base_iri, feed_policy=settings.feed_policy)
        # Updates received over HTTP run in a child process under the query limits.
        self.store.updates = UpdateRunner(UpdateLimits(timeout_seconds=settings.query_timeout,
                                                       memory_bytes=settings.query_memory_mb * 1024 * 1024,
                                                       isolate_network=not settings.allowed_services))
        if self.store.directory.exists():
            self.store.repair_derived_data()  # after a crash mid-commit, the feed and label index match CURRENT again
        limits = Limits(
            timeout_seconds=settings.query_timeout,
            memory_bytes=settings.query_memory_mb * 1024 * 1024,
            processes=settings.query_processes,
            isolate_network=not settings.allowed_services,
        )
        self.executor: QueryExecutor | RemoteExecutor
        if isinstance(self.store, RemoteGraphStore):
            self.executor = RemoteExecutor(self.store, limits)
        else:
            self.executor = QueryExecutor(self.store.path, limits, prefixes=self.store.namespaces.prefixes())
        self.result_cache = ResultCache(max_bytes=settings.result_cache_mb * 1024 * 1024)
        self.tokens = self.store.tokens()
        self.policy = NetworkPolicy(frozenset(settings.allowed_services))
        #: Reconciliation batches, data extension and fragment counts: at most half the threads at once.
        slots = max(1, settings.threads // 2)
        self.heavy = HeavyWork(slots, max(1, slots // 2) if settings.max_connections_per_client else None)


_RESOURCES: dict[tuple[int, Settings], _Resources] = {}
_OPENING = threading.Lock()


def page_security_headers(tiles_url: str) -> list[tuple[str, str]]:
    """The headers of every HTML page: scripts, styles and data only from this host (map tiles from theirs), no framing.

    YASGUI sets inline styles, so styles allow 'unsafe-inline'; no script is inline.
    """
    tiles = urlsplit(tiles_url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.scheme in ("http", "https") and tiles.netloc else ""
    policy = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              f"img-src 'self' data:{tile_origin}; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
              "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    return [("Content-Security-Policy", policy), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "strict-origin-when-cross-origin")]


def resources() -> _Resources:
    return resources_for(current_app.config["HERITAGE_HUBS_SETTINGS"])


def resources_for(settings: Settings) -> _Resources:
    key = (os.getpid(), settings)
    found = _RESOURCES.get(key)
    if found is None:
        with _OPENING:  # two first requests at once (the event loop and a thread) open one set
            found = _RESOURCES.get(key)
            if found is None:
                found = _RESOURCES[key] = _Resources(settings)
    return found


def close_resources() -> None:
    """Stop this process's query workers and update process (tests, and a clean shutdown)."""
    for key in [k for k in _RESOURCES if k[0] == os.getpid()]:
        found = _RESOURCES.pop(key)
        found.executor.close()
        if found.store.updates is not None:
            found.store.updates.close()


def get_store() -> GraphStore:
    """The store for this process (opened on first use, after any fork)."""
    return resources().store


def settings() -> Settings:
    value: Settings = current_app.config["HERITAGE_HUBS_SETTINGS"]
    return value
