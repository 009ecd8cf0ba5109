"""Finding things as a visitor: `/search` (a search box in every page's header) and `/browse/{kind}` (every
institution, asset, place, narrative, activity or concept, a page at a time, in name order).

Both read the label index (graph/labels.py) and cost what they show: a full-text lookup, or one page of a class's
members. Everything shown is escaped by the templates.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from . import get_store
from .errors import BadRequest, NotFound
from .home import page_number, preferred_language
from .linked_data import doc_path

blueprint = Blueprint("browse", __name__)

#: What can be browsed: the path segment, the class (subclasses included), the heading.
KINDS: dict[str, tuple[str, str]] = {
    "hubs": ("Hub", "Hubs"),
    "institutions": ("Institution", "Institutions"),
    "assets": ("HeritageAsset", "Heritage assets"),
    "places": ("Place", "Places"),
    "narratives": ("Narrative", "Narratives"),
    "activities": ("Activity", "Activities"),
}
PER_PAGE = 48
MAX_QUERY_CHARS = 200
RESULTS = 50


def _local(iri: str, base: str) -> str:
    """Where a visitor reads about a thing: its page on this host when it is ours, else its IRI."""
    return doc_path(iri, base) or iri


@blueprint.get("/search")
def search() -> str:
    """What matches the words of `q` in any name of a thing (labels, preferred and alternative names), best first."""
    text = request.args.get("q", "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
    store = get_store()
    reader = store.reader()
    store.labels.ensure(reader, int(store.generation or 0))
    base, ontology = store.namespaces.base, store.namespaces.ontology
    language = preferred_language()
    results = []
    for candidate in store.labels.search(text, limit=RESULTS, prefix=True) if text else []:
        kinds = sorted({t[len(ontology):] for t in candidate.types if t.startswith(ontology)})
        results.append({"href": _local(candidate.iri, base), "label": candidate.label, "kinds": kinds, "iri": candidate.iri})
    return render_template("search.html", q=text, results=results, kinds=KINDS, language=language)


@blueprint.get("/browse/<kind>")
def browse(kind: str) -> str:
    """Every thing of one kind, a page at a time, in the order of their names."""
    if kind not in KINDS:
        raise NotFound(f"nothing to browse as {kind!r}; try {', '.join(KINDS)}")
    cls, heading = KINDS[kind]
    page = page_number()
    store = get_store()
    reader = store.reader()
    store.labels.ensure(reader, int(store.generation or 0))
    iri = store.namespaces.ontology + cls
    total = store.labels.count_members(iri)
    last = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    if page > last:
        raise NotFound(f"there {'is one page' if last == 1 else f'are {last} pages'} of {kind}; page {page} is past the end")
    language = preferred_language()
    shown = [{"href": _local(resource, store.namespaces.base), "label": label}
             for resource, label in store.labels.members(iri, language, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)]
    return render_template("browse.html", kind=kind, heading=heading, things=shown, total=total, page=page, last=last,
                           kinds=KINDS, language=language)
