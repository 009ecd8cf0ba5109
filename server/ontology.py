"""/ontology: the ontology's documentation for people and its RDF for machines.

`/ontology` negotiates: HTML documentation generated from the ontology graph
(classes, properties, their CIDOC-CRM alignment and CRM paths, labels and
comments in the visitor's language, an anchor per term) or the ontology graph
itself as Turtle, JSON-LD, RDF/XML or N-Triples. A term IRI
(`/ontology/{Term}`) answers 303 to its anchor in the HTML, or to the RDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from flask import Blueprint, Response, render_template, request
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

from ..graph.catalog import pick_language
from ..graph.entailment import asserted
from ..graph.iris import prefixed_name
from ..graph.results import select
from . import resources
from .errors import NotFound
from .i18n import preferred_language
from .linked_data import doc_path
from .negotiation import bare, requested_rdf, wants_html

blueprint = Blueprint("ontology", __name__)

_TERM = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@blueprint.get("/ontology")
def ontology() -> Response:
    store = resources().store
    if wants_html(request.accept_mimetypes):
        response = Response(render_template("ontology.html", **_documentation()), mimetype="text/html")
    else:
        fmt = requested_rdf("the ontology is available as text/html, ")
        graph = NamedNode(store.namespaces.ontology_graph)
        triples = [q.triple for q in store.reader().quads_for_pattern(None, None, None, graph)]
        body = serialize(triples, format=fmt, prefixes=store.namespaces.prefixes() if fmt == RdfFormat.TURTLE else None)
        response = Response(body, content_type=f"{bare(fmt.media_type)}; charset=utf-8")
    response.vary.add("Accept")
    return response


def _see_other(location: str) -> Response:
    response = Response(status=303, headers={"Location": location})
    response.vary.add("Accept")
    return response


@blueprint.get("/ontology/")
def namespace() -> Response:
    """The namespace IRI `{base}ontology/` is the ontology's too."""
    return _see_other("/ontology")


@blueprint.get("/ontology/shapes")
def shapes() -> Response:
    """The SHACL shapes: the shapes graph as RDF, or (for a browser) the graph's description."""
    store = resources().store
    if wants_html(request.accept_mimetypes):
        return _see_other("/doc/graph/shapes")
    fmt = requested_rdf("the shapes are available as text/html, ")
    triples = [q.triple for q in store.reader().quads_for_pattern(None, None, None, NamedNode(store.namespaces.shapes_graph))]
    body = serialize(triples, format=fmt, prefixes=store.namespaces.prefixes() if fmt == RdfFormat.TURTLE else None)
    response = Response(body, content_type=f"{bare(fmt.media_type)}; charset=utf-8")
    response.vary.add("Accept")
    return response


@blueprint.get("/ontology/shapes/<name>")
def shape(name: str) -> Response:
    """A shape's IRI: 303 to its document, like any resource's."""
    store = resources().store
    iri = store.namespaces.ontology + "shapes/" + name
    if not _TERM.match(name) or not any(store.reader().quads_for_pattern(NamedNode(iri), None, None, None)):
        raise NotFound(f"<{iri}> is not a shape of this dataset")
    return _see_other(f"/doc/shapes/{name}")


@blueprint.get("/ontology/<term>")
def term(term: str) -> Response:
    store = resources().store
    iri = store.namespaces.ontology + term
    reader = store.reader()
    if any(reader.quads_for_pattern(None, NamedNode("http://www.w3.org/2002/07/owl#versionIRI"), NamedNode(iri), None)):
        return _see_other("/ontology")  # the version IRI of the ontology (this version is the one served)
    if not _TERM.match(term) or not any(reader.quads_for_pattern(NamedNode(iri), None, None, None)):
        raise NotFound(f"<{iri}> is not a term of the ontology")
    target = f"/ontology#{term}" if wants_html(request.accept_mimetypes) else "/ontology"
    response = Response(status=303, headers={"Location": target})
    response.vary.add("Accept")
    return response


@dataclass
class TermDoc:
    iri: str
    name: str
    kind: str
    labels: list[Literal] = field(default_factory=list)
    comments: list[Literal] = field(default_factory=list)
    supers: set[str] = field(default_factory=set)
    path: str | None = None
    domains: set[str] = field(default_factory=set)
    ranges: set[str] = field(default_factory=set)
    inverses: set[str] = field(default_factory=set)
    label: str | None = None
    comment: str | None = None
    #: How often the data uses the term (a class: its members and its subclasses'), and a few uses, from the data.
    count: int | None = None
    examples: list[dict[str, dict[str, str | None] | None]] = field(default_factory=list)


EXAMPLES = 3
_RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def _in_use(terms: list[TermDoc], language: str) -> None:
    """Each term's count (from the dataset statistics, kept up to date by every write) and EXAMPLES uses of it in the
    data, as pyLODE and WIDOCO show them: the first few of one index lookup each, whatever the store's size."""
    store = resources().store
    reader = asserted(store.indexed_reader(), store.namespaces)  # uses as stated, as the counts are
    stats = store.dataset_statistics()
    ontology_graph = store.namespaces.ontology_graph
    below: dict[str, set[str]] = {}
    for term in terms:
        for parent in term.supers:
            below.setdefault(parent, set()).add(term.iri)

    def family(iri: str) -> set[str]:
        found, frontier = {iri}, [iri]
        while frontier:
            for child in below.get(frontier.pop(), ()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return found

    uses: dict[str, list[tuple[object, object]]] = {}
    for term in terms:
        found: list[tuple[object, object]]
        quads: Iterator[Quad]
        if term.kind == "Class":
            members = family(term.iri)
            term.count = sum(stats.classes.get(c, 0) for c in members)
            quads = (q for c in sorted(members) for q in reader.quads_for_pattern(None, _RDF_TYPE, NamedNode(c), None))
            found = list(islice(((q.subject, None) for q in quads
                                 if isinstance(q.subject, NamedNode) and getattr(q.graph_name, "value", None) != ontology_graph), EXAMPLES))
        else:
            term.count = stats.properties.get(term.iri, 0)
            quads = reader.quads_for_pattern(None, NamedNode(term.iri), None, None)
            found = list(islice(((q.subject, q.object) for q in quads
                                 if isinstance(q.subject, NamedNode) and isinstance(q.object, NamedNode | Literal)
                                 and getattr(q.graph_name, "value", None) != ontology_graph), EXAMPLES))
        uses[term.iri] = found
    names = store.labels.display_labels((str(getattr(t, "value", "")) for found in uses.values() for pair in found
                                         for t in pair if isinstance(t, NamedNode)), language)
    base = store.namespaces.base

    def shown(term: object) -> dict[str, str | None] | None:
        if isinstance(term, NamedNode):
            return {"label": names.get(term.value, prefixed_name(term.value, store.namespaces.prefixes()) or term.value),
                    "href": doc_path(term.value, base) or term.value}
        if isinstance(term, Literal):
            return {"label": term.value if len(term.value) <= 80 else term.value[:79] + "…", "href": None}
        return None

    for term in terms:
        term.examples = [{"subject": shown(s), "object": shown(o)} for s, o in uses[term.iri]]


def _text(term: object) -> str:
    return str(getattr(term, "value", term))


def _documentation() -> dict[str, object]:
    store = resources().store
    language = preferred_language()
    ns = store.namespaces
    rows = select(store.reader(), f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX owl: <http://www.w3.org/2002/07/owl#>
        SELECT ?term ?kind ?label ?comment ?super ?path ?domain ?range ?inverse WHERE {{ GRAPH <{ns.ontology_graph}> {{
          ?term a ?kind . FILTER(?kind IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty))
          FILTER(STRSTARTS(STR(?term), "{ns.ontology}"))
          OPTIONAL {{ ?term rdfs:label ?label }} OPTIONAL {{ ?term rdfs:comment ?comment }}
          OPTIONAL {{ ?term rdfs:subClassOf|rdfs:subPropertyOf ?super }}
          OPTIONAL {{ ?term <{ns.ontology}crmPath> ?path }}
          OPTIONAL {{ ?term rdfs:domain ?domain }} OPTIONAL {{ ?term rdfs:range ?range }}
          OPTIONAL {{ ?term owl:inverseOf|^owl:inverseOf ?inverse }}
        }} }}""")
    terms: dict[str, TermDoc] = {}
    for row in rows:
        iri = _text(row["term"])
        entry = terms.setdefault(iri, TermDoc(iri=iri, name=iri[len(ns.ontology):], kind=_text(row["kind"]).rsplit("#", 1)[-1]))
        label, comment = row["label"], row["comment"]
        if isinstance(label, Literal) and label not in entry.labels:
            entry.labels.append(label)
        if isinstance(comment, Literal) and comment not in entry.comments:
            entry.comments.append(comment)
        if row["super"] is not None:
            entry.supers.add(_text(row["super"]))
        if row["path"] is not None:
            entry.path = _text(row["path"])
        for key, into in (("domain", entry.domains), ("range", entry.ranges), ("inverse", entry.inverses)):
            if row[key] is not None:
                into.add(_text(row[key]))
    documented = sorted(terms.values(), key=lambda e: (e.kind != "Class", e.name))
    for entry in documented:
        entry.label = pick_language(entry.labels, language)
        entry.comment = pick_language(entry.comments, language)
    _in_use(documented, language)
    prefixes = ns.prefixes()
    names = {t.name for t in documented}

    def term_link(iri: str) -> dict[str, str | None]:
        """A term as the page shows it: ours link to their anchor, others as a prefixed name."""
        if iri.startswith(ns.ontology) and iri[len(ns.ontology):] in names:
            return {"text": "hh:" + iri[len(ns.ontology):], "href": "#" + iri[len(ns.ontology):]}
        return {"text": prefixed_name(iri, prefixes) or iri, "href": None}

    return {"terms": documented, "language": language, "base_iri": ns.base, "ontology_iri": ns.ontology_iri,
            "term_link": term_link, "classes": [t for t in documented if t.kind == "Class"],
            "properties": [t for t in documented if t.kind != "Class"]}
