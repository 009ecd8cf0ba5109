"""/feed: the change feed as a Linked Data Event Stream (see graph/feed.py).

`/feed` (and `/feed/view`, the root view it names) describes the stream, its
timestamp, version and deletion paths, the retention policies and a relation
to every page.
`/feed/page/{n}` is a page of members with a `tree:GreaterThanOrEqualToRelation`
to the next page. A page that a later page follows never changes again and
is served `Cache-Control: immutable`; the newest page is `no-cache` with an
ETag, so a harvester that comes back re-reads only that page and what follows.
A page removed by the retention policy answers 410 Gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Blueprint, Response, render_template, request
from pyoxigraph import RdfFormat, Triple, serialize

from . import resources
from .errors import HttpError, NotFound
from .linked_data import doc_path
from .negotiation import bare, requested_rdf, wants_html

blueprint = Blueprint("feed", __name__)

FORMATS = (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.N_QUADS, RdfFormat.TRIG, RdfFormat.RDF_XML)
PREFIXES = {"ldes": "https://w3id.org/ldes#", "tree": "https://w3id.org/tree#", "as": "https://www.w3.org/ns/activitystreams#"}


def _generation() -> int:
    return int(resources().store.generation or 0)


def _respond(triples: Iterable[Triple], etag: str, cache_control: str, page: Callable[[], str]) -> Response:
    store = resources().store
    prefixes = {**store.namespaces.prefixes(), **PREFIXES}
    if wants_html(request.accept_mimetypes):
        response = Response(page(), mimetype="text/html")
        etag += "-html"
    else:
        fmt = requested_rdf("the feed is served as ", FORMATS)
        body = serialize(triples, format=fmt, prefixes=prefixes if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG) else None)
        response = Response(body, content_type=f"{bare(fmt.media_type)}; charset=utf-8")
        etag += "-" + fmt.file_extension
    response.vary.add("Accept")
    response.headers["Cache-Control"] = cache_control
    response.set_etag(etag)
    response.make_conditional(request)
    return response


@blueprint.get("/feed")
@blueprint.get("/feed/view")
def stream() -> Response:
    feed = resources().store.feed
    generation = _generation()
    triples = feed.stream_triples(generation, request.host_url.rstrip("/"))

    def view() -> str:
        members, resources_count = feed.statistics(generation)
        return render_template("feed.html", number=None, path=request.path, pages=feed.page_starts(generation),
                               members=members, resources=resources_count, retention_days=feed.policy.retention_days)

    return _respond(triples, f"feed-root-{generation}-{feed.first_page(generation)}", "no-cache", view)


@blueprint.get("/feed/page/<int:number>")
def page(number: int) -> Response:
    feed = resources().store.feed
    generation = _generation()
    found = feed.page(number, generation)
    if found is None:
        first = feed.first_page(generation)
        if first is not None and number < first:
            raise HttpError(f"page {number} of the feed was removed by the retention policy; start again from /feed "
                            "(or from a dump, /dumps/all.nq.gz)", status=410)
        raise NotFound(f"the feed has no page {number} (yet); /feed names the first page")
    server = request.host_url.rstrip("/")
    triples = list(feed.page_triples(found, server))
    cache_control = "public, max-age=31536000, immutable" if found.immutable else "no-cache"
    base = resources().store.namespaces.base

    def members() -> str:
        rows = [{"time": m.time, "resource": m.resource, "deleted": m.deleted,
                 "href": doc_path(m.resource, base) or m.resource}
                for m in found.members]
        first = feed.first_page(generation)
        return render_template("feed.html", number=number, path=request.path, pages=None, rows=rows,
                               previous=number - 1 if first is not None and number > first else None,
                               next=number + 1 if found.next_time is not None else None)

    return _respond(triples, found.etag, cache_control, members)
