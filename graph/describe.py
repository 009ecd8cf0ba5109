"""The description of one resource, as a Linked Data document serves it.

What a harvester or a page needs about an IRI: every statement with it as
subject (with the graph each comes from), the blank nodes those statements
lead to (closed, so a time-span or a formation event comes whole), the labels
of everything it links to, and the statements that point at it (capped, with
the total, so a page can say "and 120 more").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store, Triple

from .results import select

LABELS = (
    NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
    NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
)
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_MAX_BLANK_DEPTH = 4


@dataclass
class Description:
    subject: NamedNode
    outgoing: list[Quad] = field(default_factory=list)
    blank_closure: list[Quad] = field(default_factory=list)
    labels: list[Quad] = field(default_factory=list)
    incoming: list[Quad] = field(default_factory=list)
    incoming_total: int = 0

    @property
    def exists(self) -> bool:
        return bool(self.outgoing or self.incoming)

    def triples(self) -> list[Triple]:
        """Every statement of the document, without graph names, without duplicates."""
        seen: set[Triple] = set()
        ordered = []
        for quad in (*self.outgoing, *self.blank_closure, *self.incoming, *self.labels):
            triple = Triple(quad.subject, quad.predicate, quad.object)
            if triple not in seen:
                seen.add(triple)
                ordered.append(triple)
        return ordered

    def linked(self) -> list[NamedNode]:
        """The resource and every IRI its statements name (predicates, values, whoever points at it): what the document
        gives the labels of."""
        found: dict[NamedNode, None] = {self.subject: None}
        for quad in (*self.outgoing, *self.blank_closure):
            found[quad.predicate] = None
            if isinstance(quad.object, NamedNode):
                found[quad.object] = None
        for quad in self.incoming:
            found[quad.predicate] = None
            if isinstance(quad.subject, NamedNode):
                found[quad.subject] = None
        return list(found)

    def label_of(self, term: NamedNode | BlankNode | Literal, language: str) -> str | None:
        found = {q.object.language or "": q.object.value for q in self.labels
                 if q.subject == term and isinstance(q.object, Literal)}
        for lang in (language, "en", "it", "es", ""):
            if lang in found:
                return found[lang]
        return next(iter(found.values()), None)


def is_known(store: Store, iri: str, *, metadata_graph: str | None = None) -> bool:
    """Whether any statement outside the metadata graph has `iri` as subject or object."""
    node, hidden = NamedNode(iri), NamedNode(metadata_graph) if metadata_graph else None
    return any(q.graph_name != hidden for q in store.quads_for_pattern(node, None, None, None)) or \
        any(q.graph_name != hidden for q in store.quads_for_pattern(None, None, node, None))


def describe(store: Store, iri: str, *, incoming_cap: int = 100, metadata_graph: str | None = None) -> Description:
    if getattr(store, "answers_in_batches", False):
        return _describe_in_few_queries(store, iri, incoming_cap=incoming_cap, metadata_graph=metadata_graph)
    subject = NamedNode(iri)
    hidden = NamedNode(metadata_graph) if metadata_graph else None
    description = Description(subject)
    description.outgoing = [q for q in store.quads_for_pattern(subject, None, None, None) if q.graph_name != hidden]
    frontier = [q.object for q in description.outgoing if isinstance(q.object, BlankNode)]
    seen_blank: set[BlankNode] = set()
    for _ in range(_MAX_BLANK_DEPTH):
        next_frontier = []
        for blank in frontier:
            if blank in seen_blank:
                continue
            seen_blank.add(blank)
            quads = list(store.quads_for_pattern(blank, None, None, None))
            description.blank_closure += quads
            next_frontier += [q.object for q in quads if isinstance(q.object, BlankNode)]
        frontier = next_frontier
    incoming = store.quads_for_pattern(None, None, subject, None)
    for quad in incoming:
        if quad.graph_name == hidden:
            continue
        description.incoming_total += 1
        if len(description.incoming) < incoming_cap:
            description.incoming.append(quad)
    for node in description.linked():
        for predicate in LABELS:
            description.labels += [q for q in store.quads_for_pattern(node, predicate, None, None) if q.graph_name != hidden]
    return description


def _describe_in_few_queries(store: Store, iri: str, *, incoming_cap: int, metadata_graph: str | None) -> Description:
    """:func:`describe` in five or six queries, for a store where each read is a request to a SPARQL engine (graph/remote.py)
    rather than a lookup in an index: the same statements, found by graph patterns instead of one pattern at a time."""
    term = store.sparql_term  # type: ignore[attr-defined]
    subject = NamedNode(iri)
    hidden_view = getattr(store, "hidden_graph", None)  # the entailed graph, for documents (entailment.asserted)
    everywhere_but = [g for g in (hidden_view,) if g]
    documents_skip = [g for g in (metadata_graph, hidden_view) if g]

    def skip(graphs: list[str]) -> str:
        return f"FILTER(?g NOT IN ({', '.join(f'<{g}>' for g in graphs)}))" if graphs else ""

    def quads(sparql: str, fixed: dict[str, Any]) -> list[Quad]:
        rows = select(store, sparql, use_default_graph_as_union=True)
        return [Quad(*(fixed.get(n) or row[n] for n in ("s", "p", "o", "g"))) for row in rows]

    description = Description(subject)
    description.outgoing = quads(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ {term(subject)} ?p ?o }} {skip(documents_skip)} }}",
                                 {"s": subject})
    frontier = list(dict.fromkeys(q.object for q in description.outgoing if isinstance(q.object, BlankNode)))
    seen_blank: set[BlankNode] = set()
    for _ in range(_MAX_BLANK_DEPTH):
        frontier = [b for b in frontier if b not in seen_blank]
        if not frontier:
            break
        seen_blank.update(frontier)
        found = quads(f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {' '.join(term(b) for b in frontier)} }} "
                      f"GRAPH ?g {{ ?s ?p ?o }} {skip(everywhere_but)} }}", {})
        description.blank_closure += found
        frontier = list(dict.fromkeys(q.object for q in found if isinstance(q.object, BlankNode)))
    pattern = f"GRAPH ?g {{ ?s ?p {term(subject)} }} {skip(documents_skip)}"
    description.incoming = quads(f"SELECT ?s ?p ?g WHERE {{ {pattern} }} LIMIT {incoming_cap}", {"o": subject})
    description.incoming_total = len(description.incoming)
    if description.incoming_total == incoming_cap:
        count = next(iter(select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}", use_default_graph_as_union=True)))
        description.incoming_total = int(count["n"].value) if isinstance(count["n"], Literal) else 0
    nodes = description.linked()
    labels = ", ".join(str(p) for p in LABELS)
    for start in range(0, len(nodes), 200):
        chunk = " ".join(str(n) for n in nodes[start:start + 200])
        # The label properties in a FILTER, not a second VALUES: Oxigraph joins two VALUES blocks into a cross product
        # and then reads every statement (34 ms instead of 2 at 100k triples).
        description.labels += quads(f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {chunk} }} GRAPH ?g {{ ?s ?p ?o }} "
                                    f"FILTER(?p IN ({labels})) {skip(documents_skip)} }}", {})
    return description


GEO_LAT = NamedNode("http://www.w3.org/2003/01/geo/wgs84_pos#lat")
GEO_LONG = NamedNode("http://www.w3.org/2003/01/geo/wgs84_pos#long")
_PLACE_LINKS = (
    "https://w3id.org/heritage-hubs/ontology/basedIn",
    "https://w3id.org/heritage-hubs/ontology/locatedIn",
    "https://w3id.org/heritage-hubs/ontology/tookPlaceAt",
    "http://www.cidoc-crm.org/cidoc-crm/P89_falls_within",
)


def located_at(store: Store, iri: str, ontology: str = "https://w3id.org/heritage-hubs/ontology/") -> tuple[float, float, str] | None:
    """(lat, long, whose point it is): the resource's own WGS84 point, or that of the nearest place it is in."""
    links = [NamedNode(link.replace("https://w3id.org/heritage-hubs/ontology/", ontology)) for link in _PLACE_LINKS]
    frontier = [NamedNode(iri)]
    seen: set[NamedNode] = set()
    for _ in range(5):
        next_frontier: list[NamedNode] = []
        for node in frontier:
            if node in seen:
                continue
            seen.add(node)
            lat = next(iter(store.quads_for_pattern(node, GEO_LAT, None, None)), None)
            long = next(iter(store.quads_for_pattern(node, GEO_LONG, None, None)), None)
            if lat is not None and long is not None and isinstance(lat.object, Literal) and isinstance(long.object, Literal):
                try:
                    return float(lat.object.value), float(long.object.value), node.value
                except ValueError:
                    pass
            for link in links:
                next_frontier += [q.object for q in store.quads_for_pattern(node, link, None, None) if isinstance(q.object, NamedNode)]
        frontier = next_frontier
    return None
