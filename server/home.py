"""The home page: what the dataset is, its hubs, its graphs, where to go next; and the list of all hubs.

Both cost what they show, whatever the size of the store: the hubs come in
label order from the label index (kept per generation), a page of them is
read from the store, and the graphs table lists a bounded number of graphs.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from ..graph.catalog import HubSummary, hub_page
from ..graph.library import named_queries
from . import get_store
from .errors import BadRequest, NotFound
from .i18n import preferred_language
from .negotiation import DOCUMENT_FORMATS, bare, wants_html

#: What a Linked Data client asks for.
RDF_MEDIA_TYPES = frozenset(bare(f.media_type) for f in DOCUMENT_FORMATS)

blueprint = Blueprint("home", __name__)

#: Hubs shown on the home page, and per page of the list of hubs.
HOME_HUBS = 24
HUBS_PER_PAGE = 48
#: Graphs listed on the home page (all of them are in the VoID description).
HOME_GRAPHS = 20


def page_number() -> int:
    """The `page` argument of a list page: 1 to 1,000,000, else 400."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        raise BadRequest("page must be a positive integer") from None
    if not 1 <= page <= 1_000_000:
        raise BadRequest("page must be a positive integer (at most 1000000)")
    return page


def last_page(total: int, size: int, page: int, what: str) -> int:
    """The number of the last page of `total` things, `size` a page; 404 when `page` is past it."""
    last = max((total + size - 1) // size, 1)
    if page > last:
        raise NotFound(f"there {'is one page' if last == 1 else f'are {last} pages'} of {what}; page {page} is past the end")
    return last


def _hubs(offset: int, limit: int, language: str) -> tuple[list[HubSummary], int]:
    store = get_store()
    reader = store.indexed_reader()
    return hub_page(reader, store.labels, store.namespaces, language, offset=offset, limit=limit)


@blueprint.get("/")
def index() -> str | Response:
    accept = request.accept_mimetypes
    if not wants_html(accept) and any(bare(value) in RDF_MEDIA_TYPES for value, _ in accept):
        # A Linked Data client at the service's root (the project's homepage IRI) gets the dataset's description.
        response = Response(status=303, headers={"Location": "/.well-known/void"})
        response.vary.add("Accept")
        return response
    store = get_store()
    language = preferred_language()
    hubs, total = _hubs(0, HOME_HUBS, language)
    graphs = store.graphs()
    return render_template(
        "home.html",
        hubs=hubs,
        hub_count=total,
        graphs=graphs[:HOME_GRAPHS],
        more_graphs=max(len(graphs) - HOME_GRAPHS, 0),
        queries=named_queries(),
        language=language,
        base_iri=store.namespaces.base,
    )


@blueprint.get("/hubs")
def hubs() -> str:
    """Every hub, a page at a time, in label order."""
    page = page_number()
    language = preferred_language()
    shown, total = _hubs((page - 1) * HUBS_PER_PAGE, HUBS_PER_PAGE, language)
    last = last_page(total, HUBS_PER_PAGE, page, "hubs")
    return render_template("hubs.html", hubs=shown, hub_count=total, page=page, last=last, language=language,
                           base_iri=get_store().namespaces.base)
