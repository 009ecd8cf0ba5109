"""/graph-store: the SPARQL 1.1 Graph Store HTTP Protocol.

Indirect identification, `/graph-store?graph=IRI` or `?default`, for any
graph; direct identification, `/graph/{name}`, for the graphs minted here
(`{base}graph/{name}`, so a graph's IRI dereferences to its content).

GET and HEAD are public and negotiated (Turtle, N-Triples, JSON-LD, RDF/XML),
streamed from a temporary file so a large graph costs no memory. PUT
replaces a graph, POST adds to it (a `multipart/form-data` POST adds every
part), DELETE removes it; POST to `/graph-store` itself creates a new graph
and answers 201 with its IRI in `Location`. Writes need a bearer token that
may write the graph; each is validated against the shapes and committed whole
or not at all (422 with every violation), with the graph's provenance and a
change-feed entry in the same commit.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from flask import Blueprint, Response, request, send_file
from pyoxigraph import RdfFormat

from ..graph import DEFAULT_GRAPH, GraphError, Provenance, RdfSource
from ..graph.formats import format_by_name, format_for_path
from ..graph.iris import valid_iri
from . import resources
from .auth import authenticate, provenance_of, require_write
from .errors import BadRequest, NotFound, UnsupportedMediaType
from .negotiation import bare, requested_rdf, wants_html

blueprint = Blueprint("graph_store", __name__)

FORMATS = (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.N_QUADS, RdfFormat.TRIG)
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]


def _indirect_target() -> str | None:
    """The graph named by `?graph=` or `?default`; None when neither is given."""
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) > 1 or (graphs and default):
        raise BadRequest("name one graph: either one 'graph' parameter or 'default'")
    if default:
        return DEFAULT_GRAPH
    if not graphs:
        return None
    graph = graphs[0]
    if not valid_iri(graph):
        raise BadRequest(f"graph must be an absolute IRI, got {graph!r}")
    return graph


@blueprint.route("/graph-store", methods=METHODS)
def indirect() -> Response:
    target = _indirect_target()
    if target is None:
        if request.method == "POST":
            return _create()
        raise BadRequest("name the graph with ?graph=IRI or ?default (POST alone creates a new graph)")
    return _handle(target)


@blueprint.route("/graph/<path:name>", methods=METHODS)
def direct(name: str) -> Response:
    return _handle(resources().store.namespaces.base + "graph/" + name)


def _handle(graph: str) -> Response:
    if request.method in ("GET", "HEAD"):
        return _read(graph)
    if request.method == "DELETE":
        return _delete(graph)
    return _write(graph, replace=request.method == "PUT")


def _read(graph: str) -> Response:
    store = resources().store
    if not store.has_graph(graph):
        raise NotFound(f"there is no graph <{graph}>")
    name = store.namespaces.graph_name(graph)
    if name is not None and wants_html(request.accept_mimetypes):
        # A person at a graph's IRI gets what the graph is (title, provenance, licence, counts), not its triples.
        response = Response(status=303, headers={"Location": f"/doc/graph/{name}.html"})
        response.vary.add("Accept")
        return response
    fmt = requested_rdf("graphs are served as ", FORMATS)
    output = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the response is
    prefixes = store.namespaces.prefixes() if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG) else None
    store.serialize_graph(output, graph, fmt, prefixes=prefixes)
    output.seek(0)
    response = send_file(output, mimetype=bare(fmt.media_type), etag=False, conditional=False)
    response.call_on_close(output.close)  # HEAD and 304 never read the file
    response.headers["Content-Type"] = f"{bare(fmt.media_type)}; charset=utf-8"
    response.vary.add("Accept")
    response.set_etag(f"{store.generation}-{fmt.file_extension}", weak=True)
    if name is not None:
        response.headers["Link"] = f'</doc/graph/{name}>; rel="describedby"'
    response.make_conditional(request)
    return response


def _sources() -> list[RdfSource]:
    """The RDF documents of a write: the body, or each part of a multipart form."""
    if request.mimetype == "multipart/form-data":
        sources = []
        for field, upload in request.files.items(multi=True):
            media_type = upload.mimetype or ""
            try:
                fmt = format_by_name(media_type) if media_type and media_type != "application/octet-stream" else None
                if fmt is None and upload.filename:
                    fmt = format_for_path(Path(upload.filename))
            except GraphError as error:
                raise UnsupportedMediaType(f"part {field!r}: {error}") from None
            if fmt is None:
                raise UnsupportedMediaType(f"part {field!r} has no RDF Content-Type or file extension")
            sources.append(RdfSource.from_bytes(upload.read(), fmt, name=upload.filename or field))
        if not sources:
            raise BadRequest("the multipart body has no file parts")
        return sources
    if not request.mimetype:
        raise UnsupportedMediaType("a write needs a Content-Type naming an RDF format, e.g. text/turtle")
    try:
        fmt = format_by_name(request.mimetype)
    except GraphError:
        raise UnsupportedMediaType(f"unsupported Content-Type {request.mimetype}; send Turtle, TriG, N-Triples, "
                                   "N-Quads, JSON-LD or RDF/XML") from None
    return [RdfSource.from_bytes(request.get_data(), fmt, name="<request body>")]


def _check_writable(graph: str) -> Provenance:
    token = authenticate()
    require_write(token, graph)
    return provenance_of(token, "graph-store")


def _write(graph: str, *, replace: bool) -> Response:
    provenance = _check_writable(graph)
    created = resources().store.write_graph(_sources(), graph=graph, replace=replace, provenance=provenance)
    return _created(graph) if created else Response(status=204)


def _created(graph: str) -> Response:
    """201 for a graph that did not exist: a line of text saying so (not an empty "HTML" page), and where it is."""
    response = Response(f"created the graph <{graph}>\n", status=201, content_type="text/plain; charset=utf-8")
    response.headers["Location"] = graph
    return response


def _delete(graph: str) -> Response:
    _check_writable(graph)
    store = resources().store
    if not store.has_graph(graph):
        raise NotFound(f"there is no graph <{graph}>")
    store.drop(graph)
    return Response(status=204)


def _create() -> Response:
    store = resources().store
    graph = store.namespaces.graph(f"new/{uuid.uuid4().hex}")
    provenance = _check_writable(graph)
    store.write_graph(_sources(), graph=graph, replace=False, provenance=provenance)
    return _created(graph)
