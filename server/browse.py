"""Finding things as a visitor: `/search` (a search box in every page's header, with facets), `/browse/{kind}`
(every institution, asset, place, narrative or activity, a page at a time, in name order), `/map` (every place with a
point of its own), `/timeline` (dated activities and foundings, by year) and `/network` (hubs and their partner
institutions).

Each page costs what it shows, whatever the store's size: the search and its facets read the best `SEARCH_POOL`
matches of the label index (graph/labels.py) and at most `NEIGHBOURS` links of each; browse, map and network read one
page of an index; the timeline is an aggregate over the time spans and one year's list (a heavy-work slot), and
each page is kept per store generation.
Everything works without JavaScript: the map draws its points over the list that is already on the page, and the
network is an SVG drawn here. Everything shown is escaped by the templates.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext
from pyoxigraph import Literal, NamedNode, Store

from ..graph.catalog import GEO_LAT, GEO_LONG, label_in
from ..graph.iris import CRM
from ..graph.labels import LabelIndex
from ..graph.results import select
from . import get_store, resources, settings
from .cache import CachedResponse
from .errors import BadRequest, NotFound
from .home import last_page, page_number
from .i18n import N_, preferred_language
from .linked_data import doc_path

blueprint = Blueprint("browse", __name__)

#: What can be browsed: the path segment, the class (subclasses included), the heading.
KINDS: dict[str, tuple[str, str]] = {
    "hubs": ("Hub", N_("Hubs")),
    "institutions": ("Institution", N_("Institutions")),
    "assets": ("HeritageAsset", N_("Heritage assets")),
    "places": ("Place", N_("Places")),
    "narratives": ("Narrative", N_("Narratives")),
    "activities": ("Activity", N_("Activities")),
}
PER_PAGE = 48
MAX_QUERY_CHARS = 200
#: The search ranks this many matches; its facets and pages are over them (the page says when there are more).
SEARCH_POOL = 300
SEARCH_PAGE = 20
#: Links read in each direction from each match to find its facets.
NEIGHBOURS = 100
FACET_VALUES = 12
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
#: The facets besides the kind: the query parameter, the heading, the class of the things linked to a match.
LINKED_FACETS: tuple[tuple[str, str, str | None], ...] = (
    ("hub", N_("Hub"), "Hub"),
    ("institution", N_("Institution"), "Institution"),
    ("place", N_("Place"), "Place"),
    ("theme", N_("Theme"), None),  # a SKOS concept
)
MAP_PAGE = 500
NETWORK_HUBS = 12
NETWORK_PARTNERS = 40
TIMELINE_PAGE = 100


def _local(iri: str, base: str) -> str:
    """Where a visitor reads about a thing: its page on this host when it is ours, else its IRI."""
    return doc_path(iri, base) or iri


def _cached_page(name: str, render: Callable[[], str]) -> Response:
    """A page that changes only with the store, the request's query string and the visitor's language: kept per
    generation in the result cache, so a crowd of visitors costs one rendering."""
    store = get_store()
    key = ("page", name, store.generation, request.host_url, request.query_string, preferred_language())
    cache = resources().result_cache
    found = cache.get(key)
    if found is None:
        found = CachedResponse((("Content-Type", "text/html; charset=utf-8"),), render().encode())
        cache.put(key, found)
    return Response(found.body, headers=list(found.headers))


def _labels() -> tuple[Store, LabelIndex]:
    store = get_store()
    return store.indexed_reader(), store.labels


# ------------------------------------------------------------------ search


@dataclass
class _Match:
    iri: str
    label: str
    kinds: list[str]
    facets: dict[str, set[str]]


def _neighbours(reader: Store, iri: str) -> set[str]:
    """The IRIs a thing links to or is linked from (at most NEIGHBOURS each way)."""
    node = NamedNode(iri)
    found = {q.object.value for q in islice(reader.quads_for_pattern(node, None, None, None), NEIGHBOURS)
             if isinstance(q.object, NamedNode)}
    found |= {q.subject.value for q in islice(reader.quads_for_pattern(None, None, node, None), NEIGHBOURS)
              if isinstance(q.subject, NamedNode)}
    return found


def _filters() -> dict[str, str]:
    """The facet values a visitor chose (?kind=…, ?hub=…, …); an unknown kind or an over-long value is a 400."""
    chosen: dict[str, str] = {}
    kind = request.args.get("kind")
    if kind:
        if kind not in KINDS:
            raise BadRequest(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        chosen["kind"] = kind
    for name, _, _ in LINKED_FACETS:
        value = request.args.get(name)
        if value:
            if len(value) > 2000:
                raise BadRequest(f"{name} is longer than 2000 characters")
            chosen[name] = value
    return chosen


@blueprint.get("/search")
def search() -> str:
    """What matches the words of `q` in any name of a thing (labels, preferred and alternative names), best first,
    narrowed by kind, hub, institution, place and theme."""
    text = request.args.get("q", "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
    filters = _filters()
    page = page_number()
    store = get_store()
    reader, labels = _labels()
    base, ontology = store.namespaces.base, store.namespaces.ontology
    language = preferred_language()
    candidates = labels.search(text, limit=SEARCH_POOL, prefix=True) if text else []
    class_of = {ontology + cls: key for key, (cls, _) in KINDS.items()}
    facet_class = {(ontology + cls) if cls else SKOS_CONCEPT: name for name, _, cls in LINKED_FACETS}
    types: dict[str, tuple[str, ...]] = {}
    matches: list[_Match] = []
    class_names: dict[str, str] = {}

    def class_name(iri: str) -> str:
        """A class of ours by its label in the visitor's language (from the ontology)."""
        if iri not in class_names:
            class_names[iri] = label_in(reader, iri, language) or iri[len(ontology):]
        return class_names[iri]

    for candidate in candidates:
        facets: dict[str, set[str]] = {"kind": {class_of[t] for t in candidate.types if t in class_of}}
        for neighbour in _neighbours(reader, candidate.iri):
            if neighbour not in types:
                types[neighbour] = labels.types_of(neighbour)
            for t in types[neighbour]:
                if t in facet_class:
                    facets.setdefault(facet_class[t], set()).add(neighbour)
        kinds = sorted({class_name(t) for t in candidate.types if t.startswith(ontology)})
        matches.append(_Match(candidate.iri, candidate.label, kinds, facets))
    kept = [m for m in matches if all(value in m.facets.get(name, ()) for name, value in filters.items())]
    last = last_page(len(kept), SEARCH_PAGE, page, "results")

    def href(**changes: str | int | None) -> str:
        arguments: dict[str, str | int] = {"q": text, **filters}
        arguments.pop("page", None)
        for name, value in changes.items():
            if value is None:
                arguments.pop(name, None)
            else:
                arguments[name] = value
        return "/search?" + urlencode(arguments)

    counted: dict[str, Counter[str]] = {"kind": Counter()}
    for m in kept:
        for name, values in m.facets.items():
            counted.setdefault(name, Counter()).update(values)
    shown_values = {v for name, c in counted.items() if name != "kind" for v, _ in c.most_common(FACET_VALUES)}
    shown_values |= {v for name, v in filters.items() if name != "kind"}
    names = labels.display_labels(shown_values, language)
    facet_list = [{"heading": gettext("Kind"), "options": [
        {"label": gettext(KINDS[k][1]), "count": n, "chosen": filters.get("kind") == k, "href": href(kind=k)}
        for k, n in counted["kind"].most_common()]}]
    for name, heading, _ in LINKED_FACETS:
        facet_list.append({"heading": gettext(heading), "options": [
            {"label": names.get(v, v), "count": n, "chosen": filters.get(name) == v, "href": href(**{name: v})}
            for v, n in counted.get(name, Counter()).most_common(FACET_VALUES)]})
    headings = {"kind": gettext("Kind"), **{name: gettext(heading) for name, heading, _ in LINKED_FACETS}}
    chosen = [{"facet": headings[name], "label": gettext(KINDS[value][1]) if name == "kind" else names.get(value, value),
               "remove": href(**{name: None})} for name, value in filters.items()]
    results = [{"href": _local(m.iri, base), "label": m.label, "kinds": m.kinds, "iri": m.iri}
               for m in kept[(page - 1) * SEARCH_PAGE:page * SEARCH_PAGE]]
    return render_template("search.html", q=text, results=results, total=len(kept), page=page, last=last,
                           capped=SEARCH_POOL if len(candidates) == SEARCH_POOL else None, facets=facet_list,
                           filters=list(filters.items()), chosen=chosen, page_href=lambda n: href(page=n),
                           kinds=KINDS, language=language)


# ------------------------------------------------------------------ browse


@blueprint.get("/browse/<kind>")
def browse(kind: str) -> str:
    """Every thing of one kind, a page at a time, in the order of their names."""
    if kind not in KINDS:
        raise NotFound(f"nothing to browse as {kind!r}; try {', '.join(KINDS)}")
    cls, heading = KINDS[kind]
    page = page_number()
    store = get_store()
    _, labels = _labels()
    iri = store.namespaces.ontology + cls
    total = labels.count_members(iri)
    last = last_page(total, PER_PAGE, page, kind)
    language = preferred_language()
    shown = [{"href": _local(resource, store.namespaces.base), "label": label}
             for resource, label in labels.members(iri, language, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)]
    return render_template("browse.html", kind=kind, heading=heading, things=shown, total=total, page=page, last=last,
                           kinds=KINDS, language=language)


# ------------------------------------------------------------------ map


def _number(literal: object) -> float | None:
    try:
        return float(literal.value) if isinstance(literal, Literal) else None
    except ValueError:
        return None


@blueprint.get("/map")
def places_map() -> Response:
    """Every thing with a point of its own (WGS84), MAP_PAGE at a time: a list, and a map over it."""
    page = page_number()

    def render() -> str:
        store = get_store()
        reader, labels = _labels()
        # geo:lat in the index's order: a page is a slice of one index, whatever the store's size.
        with_lat = islice(reader.quads_for_pattern(None, GEO_LAT, None, None), (page - 1) * MAP_PAGE, page * MAP_PAGE + 1)
        points = []
        for quad in with_lat:
            if not isinstance(quad.subject, NamedNode):
                continue
            long = next(iter(reader.quads_for_pattern(quad.subject, GEO_LONG, None, None)), None)
            lat_value, long_value = _number(quad.object), _number(long.object if long else None)
            if lat_value is None or long_value is None or not (-90 <= lat_value <= 90 and -180 <= long_value <= 180):
                continue
            points.append((quad.subject.value, lat_value, long_value))
        more = len(points) > MAP_PAGE
        points = points[:MAP_PAGE]
        if page > 1 and not points:
            raise NotFound(f"there are no more places with a point after page {page - 1}")
        names = labels.display_labels((p[0] for p in points), preferred_language())
        shown = sorted(({"href": _local(iri, store.namespaces.base), "label": names.get(iri, iri), "lat": lat, "long": long}
                        for iri, lat, long in points), key=lambda p: str(p["label"]).casefold())
        return render_template("map.html", places=shown, page=page, more=more, tiles_url=settings().tiles_url,
                               points_json=json.dumps([[p["lat"], p["long"], p["label"], p["href"]] for p in shown],
                                                      ensure_ascii=False))

    return _cached_page("map", render)


# ------------------------------------------------------------------ timeline


@dataclass(frozen=True)
class _Dated:
    begin: str
    end: str | None
    thing: str
    founding: bool


def _year_counts(reader: Store) -> list[tuple[str, int]]:
    """How many time spans begin in each year (one aggregate over the beginnings, in the engine)."""
    rows = select(reader, f"""SELECT ?year (COUNT(*) AS ?n) WHERE {{
          ?span <{CRM}P82a_begin_of_the_begin> ?begin BIND(SUBSTR(STR(?begin), 1, 4) AS ?year) }} GROUP BY ?year""",
                  use_default_graph_as_union=True)
    counted = [(str(r["year"].value), int(r["n"].value)) for r in rows]
    return sorted((y, n) for y, n in counted if re.fullmatch(r"\d{4}", y))


def _dated_in(reader: Store, year: str) -> list[_Dated]:
    """Activities (things with their own crm:P4 time span) and foundings (crm:P95i's) that began in `year`."""
    found: list[_Dated] = []
    for founding, holder in ((False, "?thing"), (True, f"?thing <{CRM}P95i_was_formed_by> ?formation . ?formation")):
        rows = select(reader, f"""SELECT ?thing ?begin ?end WHERE {{
              ?span <{CRM}P82a_begin_of_the_begin> ?begin FILTER(STRSTARTS(STR(?begin), "{year}"))
              {holder} <{CRM}P4_has_time-span> ?span FILTER(isIRI(?thing))
              OPTIONAL {{ ?span <{CRM}P82b_end_of_the_end> ?end }} }}""", use_default_graph_as_union=True)
        found += [_Dated(str(r["begin"].value), str(r["end"].value) if r["end"] else None,
                         str(r["thing"].value), founding) for r in rows]
    return sorted(found, key=lambda d: (d.begin, d.thing))


@blueprint.get("/timeline")
def timeline() -> Response:
    """Dated activities and foundings: the years with how many began in each, and one year's, in order, paged."""
    year = request.args.get("year")
    if year is not None and not (len(year) == 4 and year.isdigit()):
        raise BadRequest(f"year must be four digits, not {year!r}")
    page = page_number()

    def render() -> str:
        from .i18n import span
        store = get_store()
        reader, labels = _labels()
        language = preferred_language()
        with resources().heavy.slot("timelines"):  # an aggregate over every time span: 0.3 s at 10M triples
            years = _year_counts(reader)
            found = _dated_in(reader, year) if year is not None else []
        events: list[dict[str, object]] = []
        last = 1
        if year is not None:
            if not found:
                raise NotFound(f"nothing in the data began in {year}")
            last = last_page(len(found), TIMELINE_PAGE, page, f"the year {year}")
            shown = found[(page - 1) * TIMELINE_PAGE:page * TIMELINE_PAGE]
            names = labels.display_labels((e.thing for e in shown), language)
            for item in shown:
                label = names.get(item.thing, item.thing)
                events.append({"href": _local(item.thing, store.namespaces.base),
                               "label": gettext("Founding of %(name)s", name=label) if item.founding else label,
                               "when": span(item.begin, item.end, language) or item.begin[:10]})
        elif page > 1:
            raise NotFound("the list of years has one page; add ?year= to see a year's activities")
        return render_template("timeline.html", years=years, year=year, events=events, page=page, last=last,
                               most=max((n for _, n in years), default=1))

    return _cached_page("timeline", render)


# ------------------------------------------------------------------ network


def _partners(reader: Store, hub: str, ontology: str) -> list[str]:
    """A hub's partners, whichever side says so (hh:hasPartner, hh:partnerOf), at most NETWORK_PARTNERS + 1."""
    node = NamedNode(hub)
    said: Iterable[str] = (
        *(q.object.value for q in islice(reader.quads_for_pattern(node, NamedNode(ontology + "hasPartner"), None, None),
                                         NETWORK_PARTNERS + 1) if isinstance(q.object, NamedNode)),
        *(q.subject.value for q in islice(reader.quads_for_pattern(None, NamedNode(ontology + "partnerOf"), node, None),
                                          NETWORK_PARTNERS + 1) if isinstance(q.subject, NamedNode)))
    return list(dict.fromkeys(said))[:NETWORK_PARTNERS + 1]


@blueprint.get("/network")
def network() -> Response:
    """Hubs and their partner institutions, NETWORK_HUBS hubs a page: an SVG drawing and the same as lists."""
    page = page_number()

    def render() -> str:
        store = get_store()
        reader, labels = _labels()
        ontology, language = store.namespaces.ontology, preferred_language()
        hub_class = ontology + "Hub"
        last = last_page(labels.count_members(hub_class), NETWORK_HUBS, page, "hubs")
        hubs = labels.members(hub_class, language, offset=(page - 1) * NETWORK_HUBS, limit=NETWORK_HUBS)
        partners = {hub: _partners(reader, hub, ontology) for hub, _ in hubs}
        names = labels.display_labels((p for found in partners.values() for p in found), language)
        base = store.namespaces.base
        rows = [{"href": _local(hub, base), "label": label, "more": len(partners[hub]) > NETWORK_PARTNERS,
                 "partners": [{"iri": p, "href": _local(p, base), "label": names.get(p, p)} for p in partners[hub][:NETWORK_PARTNERS]]}
                for hub, label in hubs]
        return render_template("network.html", rows=rows, drawing=_drawing(rows), page=page, last=last)

    return _cached_page("network", render)


def _drawing(rows: list[dict[str, object]]) -> dict[str, object]:
    """Where the SVG puts things: hubs in the left column, institutions in the right, a line for each partnership
    (an institution with several hubs among them is drawn once)."""
    institutions: dict[str, dict[str, object]] = {}
    for row in rows:
        for partner in row["partners"]:  # type: ignore[attr-defined]
            institutions.setdefault(partner["iri"], partner)
    gap = 26
    height = max(len(rows), len(institutions), 1) * gap + gap
    hub_y = {i: gap + i * (height - 2 * gap) / max(len(rows) - 1, 1) for i in range(len(rows))}
    place = {iri: gap + i * gap for i, iri in enumerate(institutions)}
    lines = [(hub_y[i], place[p["iri"]]) for i, row in enumerate(rows) for p in row["partners"]]  # type: ignore[attr-defined]
    return {"height": height, "hubs": [(hub_y[i], row) for i, row in enumerate(rows)],
            "institutions": [(place[iri], p) for iri, p in institutions.items()], "lines": lines}
