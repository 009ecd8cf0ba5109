"""/sparql: the SPARQL 1.1 Protocol (query and update), Service Description, query editor.

Requests are read per the protocol (§2.1 query, §2.2 update): GET, form POST
and direct POST, repeated dataset parameters kept in order. Queries run in
the killable worker processes of :mod:`heritage_hubs.graph.executor`; the
HTTP status is decided from the worker's first message, before any body
byte, and a stream that breaks later is cut short, never ended as if whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request
from pyoxigraph import RdfFormat, serialize
from werkzeug.datastructures import MultiDict

from ..graph import GraphStore
from ..graph.entailment import entailed_graph
from ..graph.executor import QueryFailed, QueryJob, StreamAborted
from ..graph.library import NamedQuery, ParameterError
from ..graph.safety import RefusedOperation
from ..graph.service_description import service_description
from ..graph.sparql_text import has_dataset_clause, too_deep
from ..graph.updates import (
    ANY_GRAPH,
    DEFAULT_GRAPH,
    UpdateError,
    analyse,
    graphs_to_write,
    with_absolute_iris,
    with_protocol_dataset,
    without_silent_loads,
)
from . import COMMON_HEADERS, resources, settings
from .auth import authenticate, provenance_of, require_writes
from .cache import CachedResponse, raw_request_key, request_key
from .errors import BadRequest, HttpError, NotAcceptable, UnsupportedMediaType, render_error
from .negotiation import UnknownFormatName, bare, preferences_for_header, requested_rdf, wants_html

blueprint = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
ALLOWED_METHODS = "GET, POST, OPTIONS"


@dataclass(frozen=True)
class QueryOperation:
    text: str
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]


@dataclass(frozen=True)
class UpdateOperation:
    text: str
    using: tuple[str, ...]
    using_named: tuple[str, ...]


def _single(params: MultiDict[str, str], name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"the request has {len(values)} '{name}' parameters; send exactly one")
    return values[0] if values else None


def _body_text() -> str:
    charset = (request.mimetype_params.get("charset") or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"the body must be UTF-8, not {charset}")
    try:
        return request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None


def read_operation() -> QueryOperation | UpdateOperation | None:
    """The protocol operation in this request, or None for a bare GET."""
    args = request.args
    if request.method == "GET":
        if "update" in args:
            raise BadRequest("updates must be sent with POST (SPARQL 1.1 Protocol §2.2)")
        text = _single(args, "query")
        if text is None:
            return None
        return QueryOperation(text, tuple(args.getlist("default-graph-uri")), tuple(args.getlist("named-graph-uri")))
    mimetype = request.mimetype
    if not mimetype:
        raise UnsupportedMediaType(f"a POST needs a Content-Type: {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}")
    if mimetype == FORM:
        _body_text()  # charset check
        params: MultiDict[str, str] = MultiDict(args)
        for key, value in request.form.items(multi=True):
            params.add(key, value)
        query, update = _single(params, "query"), _single(params, "update")
        if query is not None and update is not None:
            raise BadRequest("the request has both 'query' and 'update'; send one operation")
        if query is not None:
            return QueryOperation(query, tuple(params.getlist("default-graph-uri")), tuple(params.getlist("named-graph-uri")))
        if update is not None:
            return UpdateOperation(update, tuple(params.getlist("using-graph-uri")), tuple(params.getlist("using-named-graph-uri")))
        raise BadRequest("the form has neither 'query' nor 'update'")
    if mimetype == QUERY_TYPE:
        if "query" in args or "update" in args:
            raise BadRequest("a direct POST carries the query in the body; do not also pass 'query' or 'update' in the URL")
        return QueryOperation(_body_text(), tuple(args.getlist("default-graph-uri")), tuple(args.getlist("named-graph-uri")))
    if mimetype == UPDATE_TYPE:
        if "query" in args or "update" in args:
            raise BadRequest("a direct POST carries the update in the body; do not also pass 'query' or 'update' in the URL")
        return UpdateOperation(_body_text(), tuple(args.getlist("using-graph-uri")), tuple(args.getlist("using-named-graph-uri")))
    raise UnsupportedMediaType(f"unsupported Content-Type {mimetype}; use {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}")


def _canonical_endpoint() -> str:
    return resources().store.namespaces.base + "sparql"


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    if request.method == "OPTIONS":
        return _preflight()
    operation = read_operation()
    if operation is None:
        return _describe_service()
    if isinstance(operation, UpdateOperation):
        return _run_update(operation)
    return _run_query(operation)


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Allow"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Headers"] = "Accept, Authorization, Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$")


def _check_graph_iris(name: str, values: tuple[str, ...]) -> None:
    for value in values:
        if not _ABSOLUTE_IRI.match(value):
            raise BadRequest(f"{name} must be an absolute IRI; got {value!r}")


def _asserted_only(operation: QueryOperation, store: GraphStore) -> QueryOperation:
    """`entailment=none`: the query's dataset is every graph but the entailed one (graph/entailment.py), unless the
    request or the query names its own."""
    choice = request.values.get("entailment", "")
    if choice not in ("", "none"):
        raise BadRequest(f"entailment must be 'none' (the asserted graphs only) or absent, not {choice!r}")
    if choice != "none" or operation.default_graphs or operation.named_graphs or has_dataset_clause(operation.text):
        return operation
    entailed = entailed_graph(store.namespaces)
    asserted = tuple(g.iri for g in store.graphs() if g.iri != entailed)
    return QueryOperation(operation.text, asserted, asserted)


def _run_query(operation: QueryOperation) -> Response:
    _check_graph_iris("default-graph-uri", operation.default_graphs)
    _check_graph_iris("named-graph-uri", operation.named_graphs)
    res = resources()
    operation = _asserted_only(operation, res.store)
    if (deep := too_deep(operation.text)) is not None:
        raise BadRequest(f"the query {deep}")
    try:
        res.policy.check_query(operation.text)
    except RefusedOperation as error:
        raise BadRequest(str(error)) from None
    try:
        prefs = preferences_for_header(request.headers.get("Accept", ""), tuple(request.args.getlist("format")))
    except UnknownFormatName as error:
        raise BadRequest(str(error)) from None
    if not prefs.acceptable:
        asked = f"format={request.args['format']!r}" if request.args.get("format") else f"Accept: {request.headers.get('Accept', '')!r}"
        raise NotAcceptable(f"none of the media types asked for ({asked}) can carry SPARQL results; "
                            "offered: application/sparql-results+json, …+xml, text/csv, text/tab-separated-values, "
                            "text/turtle, application/n-triples, application/ld+json, application/rdf+xml")
    dataset = bool(operation.default_graphs or operation.named_graphs)
    job = QueryJob(
        query=operation.text,
        solution_formats=prefs.solutions,
        graph_formats=prefs.graphs,
        default_graphs=operation.default_graphs if dataset else None,
        named_graphs=operation.named_graphs if dataset else None,
        base_iri=_canonical_endpoint(),
        max_bytes=settings().max_result_mb * 1024 * 1024,
    )
    generation = res.store.generation
    key = request_key(generation, operation.text, operation.default_graphs, operation.named_graphs,
                      request.headers.get("Accept", ""), request.args.get("format", ""))
    cached = res.result_cache.get(key)
    if cached is not None:
        return Response(cached.body, status=200, headers=list(cached.headers))
    try:
        stream = res.executor.run(job)
    except QueryFailed as error:
        return render_error(error.status, error.message)
    if stream.body is not None:
        response = _result_response(stream.media_type, stream.body, job.max_bytes, cache="miss")
        hit_headers = [(k, v) for k, v in response.headers.items() if k not in ("Content-Length", "X-Cache")]
        hit_headers += [("X-Cache", "hit"), *COMMON_HEADERS, ("Content-Length", str(len(stream.body)))]
        cached = CachedResponse(tuple(hit_headers), stream.body)
        res.result_cache.put(key, cached)
        if request.method == "GET":
            res.result_cache.put(raw_request_key(generation, request.environ), cached)  # counted twice, held once
        return response

    def body() -> Iterator[bytes]:
        try:
            yield from stream
        except StreamAborted as error:
            # Too late for a status code: end the response visibly broken
            # (the server drops the connection instead of finishing it).
            raise ConnectionAbortedError(f"result stream cut short: {error}") from None

    response = _result_response(stream.media_type, body(), job.max_bytes)
    response.call_on_close(stream.close)  # a client gone before the first byte: the worker or slot is given back
    return response


def _result_response(media_type: str, body: bytes | Iterator[bytes], max_bytes: int, cache: str | None = None) -> Response:
    """A result: whole (one write, Content-Length) when small, streamed (chunked) when large."""
    if media_type.startswith("text/") or media_type.endswith(("json", "xml", "trig", "quads", "triples")):
        media_type += "; charset=utf-8"
    response = Response(body, status=200, content_type=media_type)
    response.vary.add("Accept")
    response.headers["X-Result-Limit-Bytes"] = str(max_bytes)
    if cache:
        response.headers["X-Cache"] = cache
    return response


def _run_update(operation: UpdateOperation) -> Response:
    token = authenticate()
    _check_graph_iris("using-graph-uri", operation.using)
    _check_graph_iris("using-named-graph-uri", operation.using_named)
    res = resources()
    store = res.store
    try:
        update = without_silent_loads(operation.text)
        res.policy.check_update(update)
        # Relative IRIs resolved once, against this endpoint: the text analysed is the text that runs.
        absolute = with_absolute_iris(update, _canonical_endpoint())
        plan = analyse(absolute, prefixes=store.namespaces.prefixes())
    except RefusedOperation as error:
        raise BadRequest(str(error)) from None
    except UpdateError as error:
        raise BadRequest(str(error)) from None
    if not plan.operations:  # only a prologue, a comment, or LOAD SILENT: done, nothing changes
        return Response(status=204)
    if plan.has_dataset_clause and (operation.using or operation.using_named):
        raise BadRequest("using-graph-uri/using-named-graph-uri cannot be combined with USING or WITH in the update "
                         "(SPARQL 1.1 Protocol §2.2.3)")
    try:
        text = with_protocol_dataset(absolute, operation.using, operation.using_named)
    except UpdateError as error:
        raise BadRequest(str(error)) from None
    require_writes(token, plan.targets)
    derived = store.namespaces.derived_graphs  # never written by an update
    existing = [g.iri for g in store.graphs() if g.iri not in derived]
    # The store's default graph ("") counts too: what an update writes there is validated and fed like the rest.
    writes_default = DEFAULT_GRAPH in plan.targets or plan.writes_any_graph
    named = {g for g in graphs_to_write(plan, existing) if g not in (ANY_GRAPH, DEFAULT_GRAPH)}
    graphs = sorted(named | ({""} if writes_default else set()))
    store.update(text, graphs=graphs, base_iri=None, prefixes=store.namespaces.prefixes(),
                 provenance=provenance_of(token, "update"), any_graph=plan.writes_any_graph)
    return Response(status=204)


def _describe_service() -> Response:
    if wants_html(request.accept_mimetypes):
        return _editor()
    offered = (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.TRIG, RdfFormat.N_QUADS)
    fmt = requested_rdf("the service description is RDF: ask for ", offered)
    media_type = bare(fmt.media_type)
    store = resources().store
    triples = service_description(_canonical_endpoint(), store.graphs(), title="heritage-hubs SPARQL endpoint",
                                  license_iri="https://creativecommons.org/licenses/by/4.0/",
                                  entailed_graph=entailed_graph(store.namespaces))
    body = serialize(triples, format=fmt, prefixes={"sd": "http://www.w3.org/ns/sparql-service-description#",
                                                    "void": "http://rdfs.org/ns/void#", "dct": "http://purl.org/dc/terms/"}
                     if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG) else None)
    response = Response(body, status=200, content_type=f"{media_type}; charset=utf-8")
    response.vary.add("Accept")
    return response


def _with_defaults(query: NamedQuery) -> str:
    """A named query as an example to run: its parameters bound to their defaults (a VALUES block), so that it
    answers what its summary says instead of every combination of unbound variables."""
    try:
        return query.text(query.bind({}))
    except ParameterError:  # a parameter without a default: the text as written
        return query.query


def _editor() -> Response:
    from ..graph.library import example_queries

    store = resources().store
    examples = example_queries()
    body = render_template(
        "sparql.html",
        endpoint=request.base_url,
        prefixes=store.namespaces.prefixes(),
        examples=examples,
        examples_json=[{"name": q.name, "summary": q.summary, "query": _with_defaults(q)} for q in examples],
        base_iri=store.namespaces.base,
    )
    response = Response(body, status=200, mimetype="text/html")
    response.vary.add("Accept")
    return response


__all__ = ["HttpError", "blueprint"]
