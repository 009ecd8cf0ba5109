"""Provenance of each named graph, kept in the metadata graph.

Every graph is described as a ``void:Dataset`` / ``dcat:Dataset`` /
``prov:Entity`` with its title, publisher, source, licence, the time of the
last change, its triple count, and the ``prov:Activity`` that produced it.
The description is rewritten in the same commit as the data it describes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pyoxigraph import Literal, NamedNode, Quad, Store

from .results import select

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCT = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
PROV = "http://www.w3.org/ns/prov#"

_IRI = re.compile(r"^(https?|urn|file):\S+$")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Provenance:
    """Who and what a change to a graph comes from. None keeps the previous value."""

    title: str | None = None
    publisher: str | None = None
    sources: tuple[str, ...] = ()
    license: str | None = None
    agent: str | None = None
    action: str = "load"

    def adding_sources(self, other: Provenance) -> Provenance:
        """This record with `other`'s sources appended (several files, one graph)."""
        extra = tuple(s for s in other.sources if s not in self.sources)
        return replace(self, sources=self.sources + extra)


@dataclass(frozen=True)
class GraphInfo:
    """A named graph with its provenance, as listed by ``heritage-hubs graphs``."""

    iri: str
    triples: int
    title: str | None = None
    publisher: str | None = None
    sources: tuple[str, ...] = ()
    license: str | None = None
    modified: str | None = None
    agent: str | None = None


def _term(value: str) -> NamedNode | Literal:
    return NamedNode(value) if _IRI.match(value) else Literal(value)


def read_graph_info(store: Store, metadata_graph: str) -> dict[str, GraphInfo]:
    """Provenance of every described graph, keyed by graph IRI."""
    query = f"""
        PREFIX dct: <{DCT}> PREFIX void: <{VOID}> PREFIX prov: <{PROV}>
        SELECT ?g ?title ?publisher (GROUP_CONCAT(DISTINCT STR(?source); SEPARATOR="\\n") AS ?sources)
               ?license ?modified ?triples ?agent WHERE {{
          GRAPH <{metadata_graph}> {{
            ?g a void:Dataset .
            OPTIONAL {{ ?g dct:title ?title }}
            OPTIONAL {{ ?g dct:publisher ?publisher }}
            OPTIONAL {{ ?g dct:source ?source }}
            OPTIONAL {{ ?g dct:license ?license }}
            OPTIONAL {{ ?g dct:modified ?modified }}
            OPTIONAL {{ ?g void:triples ?triples }}
            OPTIONAL {{ ?g prov:wasGeneratedBy/prov:wasAssociatedWith ?agent }}
          }}
        }} GROUP BY ?g ?title ?publisher ?license ?modified ?triples ?agent"""
    info: dict[str, GraphInfo] = {}
    for row in select(store, query):
        values = {name: (None if row[name] is None else str(row[name].value)) for name in
                  ("title", "publisher", "sources", "license", "modified", "triples", "agent")}
        text = values.get
        iri = str(row["g"].value)
        info[iri] = GraphInfo(
            iri=iri,
            triples=int(text("triples") or 0),
            title=text("title"),
            publisher=text("publisher"),
            sources=tuple(sorted(filter(None, (text("sources") or "").split("\n")))),
            license=text("license"),
            modified=text("modified"),
            agent=text("agent"),
        )
    return info


def count_triples(store: Store, graph: str) -> int:
    rows = select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    for row in rows:
        return int(row["n"].value)
    return 0


def record_change(store: Store, metadata_graph: str, graph: str, provenance: Provenance, *, started: datetime,
                  count_change: int | None = None) -> GraphInfo:
    """Rewrite the description of `graph` in the metadata graph of `store`.

    `count_change` is how many triples the write added (less those it
    removed); with it the count follows from the previous one instead of a
    count of the graph.
    """
    previous = read_graph_info(store, metadata_graph).get(graph)
    merged = provenance
    if previous is not None:
        merged = replace(
            provenance,
            title=provenance.title or previous.title,
            publisher=provenance.publisher or previous.publisher,
            sources=provenance.sources or previous.sources,
            license=provenance.license or previous.license,
        )
    forget_graph(store, metadata_graph, graph)
    ended = now_utc()
    triples = previous.triples + count_change if count_change is not None and previous is not None else count_triples(store, graph)
    meta = NamedNode(metadata_graph)
    subject = NamedNode(graph)
    activity = NamedNode(f"urn:uuid:{uuid.uuid4()}")

    def stamp(moment: datetime) -> Literal:
        return Literal(moment.isoformat().replace("+00:00", "Z"), datatype=NamedNode(XSD + "dateTime"))

    quads = [
        Quad(subject, RDF_TYPE, NamedNode(VOID + "Dataset"), meta),
        Quad(subject, RDF_TYPE, NamedNode(DCAT + "Dataset"), meta),
        Quad(subject, RDF_TYPE, NamedNode(PROV + "Entity"), meta),
        Quad(subject, NamedNode(DCT + "modified"), stamp(ended), meta),
        Quad(subject, NamedNode(PROV + "generatedAtTime"), stamp(ended), meta),
        Quad(subject, NamedNode(VOID + "triples"), Literal(str(triples), datatype=NamedNode(XSD + "integer")), meta),
        Quad(subject, NamedNode(PROV + "wasGeneratedBy"), activity, meta),
        Quad(activity, RDF_TYPE, NamedNode(PROV + "Activity"), meta),
        Quad(activity, NamedNode(PROV + "startedAtTime"), stamp(started), meta),
        Quad(activity, NamedNode(PROV + "endedAtTime"), stamp(ended), meta),
        Quad(activity, NamedNode(DCT + "type"), Literal(merged.action), meta),
    ]
    if merged.title:
        quads.append(Quad(subject, NamedNode(DCT + "title"), Literal(merged.title), meta))
    if merged.publisher:
        quads.append(Quad(subject, NamedNode(DCT + "publisher"), _term(merged.publisher), meta))
    for source in merged.sources:
        quads.append(Quad(subject, NamedNode(DCT + "source"), _term(source), meta))
        quads.append(Quad(activity, NamedNode(PROV + "used"), _term(source), meta))
    if merged.license:
        quads.append(Quad(subject, NamedNode(DCT + "license"), _term(merged.license), meta))
    if merged.agent:
        quads.append(Quad(activity, NamedNode(PROV + "wasAssociatedWith"), _term(merged.agent), meta))
    store.extend(quads)
    return GraphInfo(
        iri=graph, triples=triples, title=merged.title, publisher=merged.publisher, sources=merged.sources,
        license=merged.license, modified=stamp(ended).value, agent=merged.agent,
    )


def forget_graph(store: Store, metadata_graph: str, graph: str) -> None:
    """Drop the description of a graph that no longer exists."""
    store.update(f"""
        PREFIX prov: <{PROV}>
        DELETE {{ GRAPH <{metadata_graph}> {{ <{graph}> ?p ?o . ?act ?ap ?ao }} }}
        WHERE {{ GRAPH <{metadata_graph}> {{
            <{graph}> ?p ?o .
            OPTIONAL {{ <{graph}> prov:wasGeneratedBy ?act . ?act ?ap ?ao }}
        }} }}""")
