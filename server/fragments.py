"""/fragments: Triple Pattern Fragments (Linked Data Fragments), for Comunica and crawlers.

`GET /fragments?subject=&predicate=&object=&page=` answers the triples that
match the pattern (over all graphs, without duplicates), a page at a time,
with the Hydra controls a TPF client needs: the search template with its
variable mapping (explicit representation: IRIs bare, literals quoted), the
total count (`void:triples`, `hydra:totalItems`) and first/previous/next
pages. As in the reference server, the data goes in the default graph and the
controls in the graph `<fragment#metadata>`, which names the fragment as its
`foaf:primaryTopic`.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Triple, Variable, parse, serialize

from ..graph.results import select
from . import resources
from .errors import BadRequest, NotFound
from .negotiation import bare, requested_rdf, wants_html

blueprint = Blueprint("fragments", __name__)

PAGE_SIZE = 100
HYDRA = "http://www.w3.org/ns/hydra/core#"
VOID = "http://rdfs.org/ns/void#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
FOAF_PRIMARY_TOPIC = NamedNode("http://xmlns.com/foaf/0.1/primaryTopic")
XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
FORMATS = (RdfFormat.TRIG, RdfFormat.N_QUADS, RdfFormat.TURTLE, RdfFormat.N_TRIPLES)


def _hydra(name: str) -> NamedNode:
    return NamedNode(HYDRA + name)


def genid_prefix(base: str) -> str:
    """Where blank nodes get IRIs in fragments (RDF 1.1 §3.5 skolem IRIs): `{base}.well-known/genid/{id}`."""
    return base + ".well-known/genid/"


def _skolem(term: Any, genid: str) -> Any:
    return NamedNode(genid + term.value) if isinstance(term, BlankNode) else term


def skolemised(triple: Triple, genid: str) -> Triple:
    """The triple with its blank nodes as skolem IRIs: a client can ask for them in the next pattern."""
    return Triple(_skolem(triple.subject, genid), triple.predicate, _skolem(triple.object, genid))


def _is_node(iri: str) -> bool:
    """Whether `iri` names a node of the dataset (a subject of some statement)."""
    try:
        node = NamedNode(iri)
    except ValueError:
        return False
    return next(iter(resources().store.reader().quads_for_pattern(node, None, None, None)), None) is not None


def _term(name: str, value: str | None) -> NamedNode | BlankNode | Literal | None:
    """A pattern position from its explicit representation; None for a variable.

    A skolem IRI of ours (or `_:id`) is the blank node it stands for, in the subject and object positions.
    """
    if value is None or value == "" or value.startswith("?"):
        return None
    genid = genid_prefix(resources().store.namespaces.base)
    if name != "predicate" and value.startswith(genid) and _is_node(value):
        return NamedNode(value)  # a node of the entailed graph's CRM paths: an IRI under genid/, not a blank node
    if name != "predicate" and (value.startswith("_:") or value.startswith(genid)):
        label = value[2:] if value.startswith("_:") else value[len(genid):]
        try:
            return BlankNode(label)
        except ValueError:
            raise BadRequest(f"{name}: {value!r} is not a blank node of this dataset") from None
    text = value
    if value.startswith('"'):
        closing = value.rfind('"')
        suffix = value[closing + 1:]
        if suffix.startswith("^^") and not suffix.startswith("^^<"):
            text = value[:closing + 1] + "^^<" + suffix[2:] + ">"
    else:
        text = f"<{value}>"
    try:
        triples = list(parse(f"<urn:s> <urn:p> {text} .".encode(), RdfFormat.N_TRIPLES))
    except (SyntaxError, ValueError):
        raise BadRequest(f"{name} is not an IRI or a quoted literal: {value!r}") from None
    term = triples[0].object
    if name != "object" and not isinstance(term, NamedNode):
        raise BadRequest(f"{name} must be an IRI")
    assert isinstance(term, NamedNode | Literal)
    return term


#: The deepest page served: a page costs the pages before it (the store skips them one by one).
MAX_PAGE = 10_000
#: Pages up to this one are cheap (they skip at most this many pages); deeper ones take a heavy-work slot.
CHEAP_PAGES = 100
#: A pattern is counted up to this many triples; past that, the count is a lower bound (TPF counts are estimates).
COUNT_CAP = 100_000


def _estimate(predicate: NamedNode | None) -> int:
    """The count of a pattern with no subject and no object, from the statistics kept per generation.

    Counting those would read the whole store (or every statement with that
    predicate) on every page; TPF's count may be an estimate, and statements
    held in two graphs count twice here (so a last page may come out empty).
    """
    store = resources().store
    stats = store.dataset_statistics()
    # The statistics leave out the metadata graph, which fragments serve too: its (small) count is added, so the
    # estimate is never below the real count and paging reaches every triple.
    p = "?p" if predicate is None else str(predicate)
    described = 0
    for row in select(store.reader(), f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{store.namespaces.metadata_graph}> {{ ?s {p} ?o }} }}"):
        described = int(row["n"].value)
    return described + (stats.triples if predicate is None else stats.properties.get(predicate.value, 0))


def _nt(term: NamedNode | Literal) -> str:
    return str(term)


@blueprint.get("/.well-known/genid/<label>")
def genid(label: str) -> Response:
    """A skolem IRI from a fragment dereferences: 303 to the fragment of the statements about that blank node."""
    iri = genid_prefix(resources().store.namespaces.base) + label
    try:
        BlankNode(label)
    except ValueError:
        if not _is_node(iri):
            raise NotFound(f"{iri} names no blank node of this dataset") from None
    query = urllib.parse.urlencode({"subject": iri, **({"format": request.args["format"]} if "format" in request.args else {})})
    response = Response(status=303, headers={"Location": f"{request.script_root}/fragments?{query}"})
    response.vary.add("Accept")
    return response


@blueprint.get("/fragments")
def fragment() -> Response:
    browser = wants_html(request.accept_mimetypes) and not request.args.get("format")
    fmt = RdfFormat.TRIG if browser else requested_rdf("fragments are served as ", FORMATS)
    media_type = bare(fmt.media_type)
    subject = _term("subject", request.args.get("subject"))
    predicate = _term("predicate", request.args.get("predicate"))
    obj = _term("object", request.args.get("object"))
    assert not isinstance(predicate, BlankNode)  # _term gives blank nodes only for subjects and objects
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        raise BadRequest("page must be a positive integer") from None
    if not 1 <= page <= MAX_PAGE:
        raise BadRequest(f"page must be an integer from 1 to {MAX_PAGE} (each page skips the ones before it: for more, "
                         "use /sparql or a dump from /dumps/)")
    store = resources().store
    reader = store.reader()
    positions = ((subject, "s"), (predicate, "p"), (obj, "o"))
    # Blank nodes are bound by substitution (they have no syntax in a query); IRIs and literals were parsed above
    # and are written back in N-Triples syntax.
    pattern = " ".join(f"?{v}" if t is None or isinstance(t, BlankNode) else _nt(t) for t, v in positions)
    substitutions = {Variable(v): t for t, v in positions if isinstance(t, BlankNode)}
    count = _estimate(predicate) if subject is None and obj is None and not isinstance(predicate, Literal) else None
    if count is None and not substitutions:  # counted, up to COUNT_CAP: past that the count says "at least"
        count = 0
        for row in select(reader, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT * WHERE {{ {pattern} }} LIMIT {COUNT_CAP} }}",
                          use_default_graph_as_union=True):
            count = int(row["n"].value)
    data: list[Triple] = []
    offset = (page - 1) * PAGE_SIZE
    variables = [v for t, v in positions if t is None or isinstance(t, BlankNode)]
    if substitutions:  # a blank node's statements are few: counted as they are read
        count = sum(1 for _ in select(reader, f"SELECT DISTINCT {' '.join('?' + v for v in variables)} WHERE {{ {pattern} }} "
                                      f"LIMIT {COUNT_CAP}", use_default_graph_as_union=True, substitutions=substitutions))
    # One row more than a page says whether there is a next page, whatever the count says.
    query = f"SELECT DISTINCT {' '.join('?' + v for v in variables) or '*'} WHERE {{ {pattern} }} LIMIT {PAGE_SIZE + 1} OFFSET {offset}"
    more = False
    if variables:
        # A deep page skips every row before it: few of those run at once.
        with resources().heavy.slot("deep fragment pages") if page > CHEAP_PAGES else contextlib.nullcontext():
            rows = list(select(reader, query, use_default_graph_as_union=True, substitutions=substitutions or None))
        more = len(rows) > PAGE_SIZE
        for row in rows[:PAGE_SIZE]:
            s = subject or row["s"]
            p = predicate or row["p"]
            o = obj or row["o"]
            data.append(Triple(s, p, o))  # type: ignore[arg-type]
    elif count:
        assert isinstance(subject, NamedNode) and isinstance(predicate, NamedNode) and obj is not None
        data.append(Triple(subject, predicate, obj))
    assert count is not None
    count = max(count, offset + len(data) + more)
    genid = genid_prefix(store.namespaces.base)
    data = [skolemised(t, genid) for t in data]

    base = request.base_url
    args = {k: v for k, v in request.args.items() if k in ("subject", "predicate", "object") and v}

    def page_url(number: int) -> NamedNode:
        query_string = urllib.parse.urlencode({**args, **({"page": str(number)} if number > 1 else {})})
        return NamedNode(base + ("?" + query_string if query_string else ""))

    this = page_url(page)
    dataset = NamedNode(base + "#dataset")
    metadata = NamedNode(this.value + "#metadata")
    controls: list[Triple] = [
        Triple(metadata, FOAF_PRIMARY_TOPIC, this),
        Triple(this, NamedNode(RDF + "type"), _hydra("PartialCollectionView")),
        Triple(this, NamedNode(VOID + "triples"), Literal(str(count), datatype=XSD_INTEGER)),
        Triple(this, _hydra("totalItems"), Literal(str(count), datatype=XSD_INTEGER)),
        Triple(this, _hydra("itemsPerPage"), Literal(str(PAGE_SIZE), datatype=XSD_INTEGER)),
        Triple(this, _hydra("first"), page_url(1)),
        Triple(dataset, NamedNode(RDF + "type"), NamedNode(VOID + "Dataset")),
        Triple(dataset, NamedNode(RDF + "type"), _hydra("Collection")),
        Triple(dataset, NamedNode(VOID + "subset"), this),
    ]
    if page > 1:
        controls.append(Triple(this, _hydra("previous"), page_url(page - 1)))
    if more:
        controls.append(Triple(this, _hydra("next"), page_url(page + 1)))
    search = BlankNode()
    controls += [
        Triple(dataset, _hydra("search"), search),
        Triple(search, _hydra("template"), Literal(base + "{?subject,predicate,object}")),
        Triple(search, _hydra("variableRepresentation"), _hydra("ExplicitRepresentation")),
    ]
    for variable, prop in (("subject", "subject"), ("predicate", "predicate"), ("object", "object")):
        mapping = BlankNode()
        controls += [Triple(search, _hydra("mapping"), mapping), Triple(mapping, _hydra("variable"), Literal(variable)),
                     Triple(mapping, _hydra("property"), NamedNode(RDF + prop))]
    if browser:
        return _page(data, count, page, more, page_url)
    if fmt.supports_datasets:
        quads = [Quad(t.subject, t.predicate, t.object) for t in data]
        quads += [Quad(t.subject, t.predicate, t.object, metadata) for t in controls]
        body = serialize(quads, format=fmt)
    else:
        body = serialize([*data, *controls], format=fmt)
    response = Response(body, content_type=f"{media_type}; charset=utf-8")
    response.vary.add("Accept")
    response.set_etag(f"{resources().store.generation}-{media_type}-{this.value}", weak=True)
    response.make_conditional(request)
    return response


def _page(data: list[Triple], count: int, page: int, more: bool, page_url: Callable[[int], NamedNode]) -> Response:
    """The fragment for a browser: the pattern as a form, the triples as a table (autoescaped), links to pages."""
    base = resources().store.namespaces.base

    def cell(term: object) -> dict[str, str | None]:
        if isinstance(term, NamedNode):
            local = (request.host_url + term.value[len(base):]
                     if term.value.startswith((base + "id/", genid_prefix(base))) else None)
            return {"text": term.value, "href": local}
        return {"text": str(term), "href": None}

    alternates = [(bare(f.media_type), page_url(page).value + ("&" if "?" in page_url(page).value else "?")
                   + "format=" + f.file_extension) for f in FORMATS]
    body = render_template(
        "fragment.html", rows=[[cell(t.subject), cell(t.predicate), cell(t.object)] for t in data], count=count, page=page,
        subject=request.args.get("subject", ""), predicate=request.args.get("predicate", ""), object=request.args.get("object", ""),
        action=request.base_url, previous=page_url(page - 1).value if page > 1 else None,
        next=page_url(page + 1).value if more else None, alternates=alternates, base_iri=base)
    response = Response(body, mimetype="text/html")
    response.vary.add("Accept")
    return response
