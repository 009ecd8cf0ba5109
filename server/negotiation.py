"""Content negotiation: the only place that reads Accept headers and format overrides.

Formats come from pyoxigraph's own tables (``RdfFormat``, ``QueryResultsFormat``)
plus the few aliases clients send in practice. A client's preferences are
turned into an ordered list of the media types we offer: highest q-value
first, our order among equals, anything with q=0 dropped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, RdfFormat
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header


def bare(media_type: str) -> str:
    """A media type without parameters (pyoxigraph adds '; charset=utf-8' to some)."""
    return media_type.split(";", 1)[0].strip()


SOLUTION_FORMATS: tuple[str, ...] = tuple(bare(f.media_type) for f in (
    QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV, QueryResultsFormat.TSV))
GRAPH_FORMATS: tuple[str, ...] = tuple(bare(f.media_type) for f in (
    RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.TRIG, RdfFormat.N_QUADS))

#: Media types clients send for formats we offer under another name.
ALIASES: dict[str, str] = {
    "application/json": QueryResultsFormat.JSON.media_type,
    "application/xml": QueryResultsFormat.XML.media_type,
    "text/xml": QueryResultsFormat.XML.media_type,
    "application/x-turtle": RdfFormat.TURTLE.media_type,
    "text/plain": RdfFormat.N_TRIPLES.media_type,
    "application/x-trig": RdfFormat.TRIG.media_type,
    "text/x-nquads": RdfFormat.N_QUADS.media_type,
    "application/json+ld": RdfFormat.JSON_LD.media_type,
}

#: Short names for the `format` parameter (what a browser link can carry).
FORMAT_NAMES: dict[str, str] = {
    "json": QueryResultsFormat.JSON.media_type,
    "srj": QueryResultsFormat.JSON.media_type,
    "xml": QueryResultsFormat.XML.media_type,
    "srx": QueryResultsFormat.XML.media_type,
    "csv": bare(QueryResultsFormat.CSV.media_type),
    "tsv": bare(QueryResultsFormat.TSV.media_type),
    "turtle": RdfFormat.TURTLE.media_type,
    "ttl": RdfFormat.TURTLE.media_type,
    "ntriples": RdfFormat.N_TRIPLES.media_type,
    "nt": RdfFormat.N_TRIPLES.media_type,
    "jsonld": RdfFormat.JSON_LD.media_type,
    "json-ld": RdfFormat.JSON_LD.media_type,
    "rdfxml": RdfFormat.RDF_XML.media_type,
    "rdf": RdfFormat.RDF_XML.media_type,
    "trig": RdfFormat.TRIG.media_type,
    "nquads": RdfFormat.N_QUADS.media_type,
    "nq": RdfFormat.N_QUADS.media_type,
}

#: Names other clients send (SPARQLWrapper, Virtuoso's and Joseki's conventions).
EXTRA_FORMAT_NAMES: dict[str, str] = {
    "rdf+xml": RdfFormat.RDF_XML.media_type,
    "n3": RdfFormat.TURTLE.media_type,
    "text/n3": RdfFormat.TURTLE.media_type,
    "text/rdf+n3": RdfFormat.TURTLE.media_type,
    "application/turtle": RdfFormat.TURTLE.media_type,
    "application/x-json+ld": RdfFormat.JSON_LD.media_type,
    "sparql-results+json": QueryResultsFormat.JSON.media_type,
    "sparql-results+xml": QueryResultsFormat.XML.media_type,
}
FORMAT_NAMES.update(EXTRA_FORMAT_NAMES)

HTML = "text/html"


class UnknownFormatName(ValueError):
    pass


@dataclass(frozen=True)
class Preferences:
    """What a client accepts, ranked, among the formats we offer."""

    solutions: tuple[str, ...]
    graphs: tuple[str, ...]
    explicit: bool

    @property
    def acceptable(self) -> bool:
        return bool(self.solutions or self.graphs)


def rank(accept: MIMEAccept, offered: tuple[str, ...]) -> tuple[str, ...]:
    """`offered` ordered by the client's q-values (stable, q=0 dropped)."""
    if not accept:
        return offered
    if any(";" in value for value, _ in accept):
        # Parameters such as charset do not change what a type is (text/turtle; charset=utf-8 is Turtle).
        accept = MIMEAccept([(bare(value), quality) for value, quality in accept])
    scored: list[tuple[float, int, str]] = []
    for index, media_type in enumerate(offered):
        quality = accept.quality(media_type)
        for alias, target in ALIASES.items():
            if target == media_type and alias in accept.values():
                quality = max(quality, accept[alias])
        if quality > 0:
            scored.append((-quality, index, media_type))
    return tuple(media_type for _, _, media_type in sorted(scored))


#: The same family in the other kind of answer: what a format name means for a query of the other form.
_COUNTERPARTS: dict[str, str] = {
    QueryResultsFormat.JSON.media_type: RdfFormat.JSON_LD.media_type,
    QueryResultsFormat.XML.media_type: RdfFormat.RDF_XML.media_type,
}
_COUNTERPARTS.update({graph: solution for solution, graph in list(_COUNTERPARTS.items())})


def format_media_type(name: str) -> str | None:
    """The media type a `format` value names (a short name, an alias or a media type we offer), or None."""
    key = bare(name.strip().lower())
    media_type = FORMAT_NAMES.get(key) or ALIASES.get(key) or key
    return media_type if media_type in SOLUTION_FORMATS or media_type in GRAPH_FORMATS else None


def _first(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m for group in groups for m in group))


def preferences(accept: MIMEAccept, format_names: tuple[str, ...] = ()) -> Preferences:
    """The client's ranked formats: what `format` names first (in the family fitting each query form), then Accept.

    A `format` value never makes an error of a request Accept alone would answer: SPARQLWrapper sends
    `format=xml` with `Accept: application/rdf+xml` for a CONSTRUCT, meaning RDF/XML; `format=turtle` for a
    SELECT falls back to what Accept asks for.
    """
    named = [m for m in (format_media_type(name) for name in format_names if name) if m is not None]
    if any(format_names) and not named:
        raise UnknownFormatName(
            f"unknown format {format_names[0]!r}; use one of {', '.join(sorted(FORMAT_NAMES))} "
            "or a media type we offer"
        )
    solutions, graphs = rank(accept, SOLUTION_FORMATS), rank(accept, GRAPH_FORMATS)
    if solutions and not graphs:
        # Clients that ask only for SPARQL results also for CONSTRUCT (rdflib's
        # SPARQLStore, SPARQLWrapper with XML) get the RDF format of the same
        # family, as Fuseki answers them: results XML -> RDF/XML, results JSON -> JSON-LD.
        graphs = tuple(_COUNTERPARTS[m] for m in solutions if m in _COUNTERPARTS)
    if named:
        explicit_solutions = tuple(m if m in SOLUTION_FORMATS else _COUNTERPARTS.get(m, "") for m in named)
        explicit_graphs = tuple(m if m in GRAPH_FORMATS else _COUNTERPARTS.get(m, "") for m in named)
        fallback = bool(accept)  # no Accept header: the format alone decides (and our defaults after it)
        solutions = _first(tuple(m for m in explicit_solutions if m), solutions if fallback else SOLUTION_FORMATS)
        graphs = _first(tuple(m for m in explicit_graphs if m), graphs if fallback else GRAPH_FORMATS)
    return Preferences(solutions, graphs, explicit=bool(accept) or bool(named))


@functools.lru_cache(maxsize=512)
def preferences_for_header(accept_header: str, format_names: tuple[str, ...] = ()) -> Preferences:
    """`preferences` for a raw Accept header; clients repeat theirs, so the ranking is kept."""
    return preferences(parse_accept_header(accept_header, MIMEAccept), format_names)


def wants_html(accept: MIMEAccept) -> bool:
    """A browser: HTML is named and preferred to every RDF or results format."""
    html = accept.quality(HTML)
    if html <= 0 or HTML not in accept.values():
        return False
    best_data = max((accept.quality(m) for m in (*SOLUTION_FORMATS, *GRAPH_FORMATS) if m in accept.values()), default=0.0)
    return html >= best_data


#: What an RDF document (a resource, the ontology, VoID) is offered in.
DOCUMENT_FORMATS: tuple[RdfFormat, ...] = (RdfFormat.TURTLE, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.N_TRIPLES)


def choose_rdf(accept: MIMEAccept, format_name: str | None, offered: tuple[RdfFormat, ...] = DOCUMENT_FORMATS) -> RdfFormat | None:
    """The format among `offered` that the client prefers (a `format` name wins), or None for 406."""
    by_media_type = {bare(f.media_type): f for f in offered}
    if format_name:
        key = format_name.lower()
        return by_media_type.get(FORMAT_NAMES.get(key) or ALIASES.get(key) or key)
    ranked = rank(accept, tuple(by_media_type))
    return by_media_type[ranked[0]] if ranked else None


def offered_list(offered: tuple[RdfFormat, ...] = DOCUMENT_FORMATS) -> str:
    return ", ".join(bare(f.media_type) for f in offered)


def requested_rdf(served_as: str, offered: tuple[RdfFormat, ...] = DOCUMENT_FORMATS) -> RdfFormat:
    """The format of `offered` this request asks for (Accept, or `format=`); else 406 saying `served_as` and the list."""
    from flask import request

    from .errors import NotAcceptable  # here, not above: errors.py imports this module

    fmt = choose_rdf(request.accept_mimetypes, request.args.get("format"), offered)
    if fmt is None:
        raise NotAcceptable(served_as + offered_list(offered))
    return fmt
