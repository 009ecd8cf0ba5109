"""/api: the named queries of queries/ as a REST API, with its OpenAPI description.

`/api/queries/{name}?param=value` runs a named query with its parameters bound
as typed RDF terms (never pasted into the text); SELECT answers as plain JSON
rows, SPARQL JSON or CSV, CONSTRUCT in any RDF format; paginated queries carry
`Link` headers (RFC 8288) to the first, previous and next pages.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import MIMEAccept

from ..graph.executor import QueryFailed, QueryJob
from ..graph.library import NamedQuery, ParameterError, named_queries, named_query
from . import resources, settings
from .errors import BadRequest, NotAcceptable, NotFound
from .negotiation import FORMAT_NAMES, GRAPH_FORMATS, rank
from .openapi import openapi_document

blueprint = Blueprint("api", __name__, url_prefix="/api")

ROWS = "application/json"
SPARQL_JSON = "application/sparql-results+json"
CSV = "text/csv"
TABLE_FORMATS = (ROWS, SPARQL_JSON, CSV)
RESERVED = ("format", "page", "per_page")
#: The last page a paginated named query answers (its OFFSET stays a number the engine reads).
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 1000


def describe(query: NamedQuery) -> dict[str, Any]:
    return {
        "name": query.name,
        "summary": query.summary,
        "description": query.description,
        "tags": list(query.tags),
        "form": query.form,
        "parameters": [{"name": p.name, "type": p.type, "description": p.description, "required": not p.optional
                        and p.default is None, "default": p.default, "values": list(p.values) or None,
                        "scheme": p.scheme} for p in query.parameters],
        "pageSize": query.page_size,
        "url": request.host_url.rstrip("/") + f"/api/queries/{query.name}",
        "sparql": query.query,
    }


@blueprint.get("/queries")
def list_queries() -> Response:
    body = {"queries": [describe(q) for q in named_queries()]}
    return Response(json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json")


def _choose(query: NamedQuery) -> str:
    offered = GRAPH_FORMATS if query.form in ("CONSTRUCT", "DESCRIBE") else TABLE_FORMATS
    name = request.args.get("format")
    if name:
        chosen = {"json": ROWS, "rows": ROWS, "sparql-json": SPARQL_JSON, "srj": SPARQL_JSON, "csv": CSV}.get(name.lower())
        chosen = chosen or FORMAT_NAMES.get(name.lower())
        if chosen not in offered:
            raise BadRequest(f"format {name!r} is not offered for this {query.form} query; offered: {', '.join(offered)}")
        return chosen
    ranked = rank(request.accept_mimetypes if request.accept_mimetypes else MIMEAccept([("*/*", 1)]), offered)
    if not ranked:
        asked = request.headers.get("Accept", "")
        raise NotAcceptable(f"none of the media types in Accept ({asked!r}) fits; offered: {', '.join(offered)}")
    return ranked[0]


def _page_arguments(query: NamedQuery) -> tuple[int, int] | None:
    if query.page_size is None:
        if "page" in request.args or "per_page" in request.args:
            raise BadRequest(f"{query.name} is not paginated")
        return None
    try:
        page = int(request.args.get("page", "1"))
        per_page = int(request.args.get("per_page", str(query.page_size)))
    except ValueError:
        raise BadRequest("page and per_page must be integers") from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PAGE_SIZE:
        raise BadRequest(f"page must be from 1 to {MAX_PAGE:,} and per_page from 1 to {MAX_PAGE_SIZE}")
    return page, per_page


def _page_link(page: int, rel: str) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(page))]
    return f"<{request.base_url}?{urllib.parse.urlencode(args)}>; rel=\"{rel}\""


@blueprint.get("/queries/<name>")
def run_named_query(name: str) -> Response:
    query = named_query(name)
    if query is None:
        raise NotFound(f"no named query {name!r}; GET /api/queries lists them")
    given: dict[str, str] = {}
    for key in request.args:
        if key in RESERVED:
            continue
        values = request.args.getlist(key)
        if len(values) > 1:
            raise BadRequest(f"the parameter {key} is given {len(values)} times; give it once")
        given[key] = values[0]
    res = resources()
    try:
        bound = query.bind(given, res.store.namespaces.base)
    except ParameterError as error:
        raise BadRequest(str(error)) from None
    _check_concepts(query, bound)
    chosen = _choose(query)
    paging = _page_arguments(query)
    text = query.text(bound, paging)
    graph_result = query.form in ("CONSTRUCT", "DESCRIBE")
    job = QueryJob(
        query=text,
        solution_formats=(SPARQL_JSON,),
        graph_formats=(chosen,) if graph_result else (),
        base_iri=res.store.namespaces.base + "sparql",
        max_bytes=settings().max_result_mb * 1024 * 1024,
    )
    try:
        stream = res.executor.run(job)
        body = b"".join(stream)
    except QueryFailed as error:
        raise BadRequest(error.message) if error.status == 400 else _failed(error) from None
    if graph_result:
        response = Response(body, content_type=f"{chosen}; charset=utf-8")
        response.vary.add("Accept")
        return response
    result = json.loads(body)
    links = []
    if paging and "results" in result:
        page, per_page = paging
        rows = result["results"]["bindings"]
        if len(rows) > per_page:
            result["results"]["bindings"] = rows[:per_page]
            links.append(_page_link(page + 1, "next"))
        if page > 1:
            links += [_page_link(page - 1, "prev"), _page_link(1, "first")]
    response = _table_response(result, chosen)
    if links:
        response.headers["Link"] = ", ".join(links)
    response.vary.add("Accept")
    return response


def _check_concepts(query: NamedQuery, bound: dict[str, str]) -> None:
    """A concept parameter must name a concept of its scheme (a fixed ASK on validated IRIs)."""
    store = resources().store
    for name, concept, scheme in query.concept_checks(bound, store.namespaces.base):
        ask = f"ASK {{ <{concept}> <http://www.w3.org/2004/02/skos/core#inScheme> <{scheme}> }}"
        if not bool(store.query(ask)):
            raise BadRequest(f"{name} must be a concept of the scheme <{scheme}>; <{concept}> is not")


def _failed(error: QueryFailed) -> Exception:
    from .errors import HttpError

    return HttpError(error.message, status=error.status)


def _plain(term: dict[str, str]) -> Any:
    value = term["value"]
    datatype = term.get("datatype", "")
    if datatype.endswith("#integer"):
        return int(value)
    if datatype.endswith(("#decimal", "#double")):
        return float(value)
    if datatype.endswith("#boolean"):
        return value == "true"
    return value


def _table_response(result: dict[str, Any], media_type: str) -> Response:
    if "boolean" in result:
        if media_type == CSV:
            return Response(f"boolean\r\n{str(result['boolean']).lower()}\r\n", content_type=f"{CSV}; charset=utf-8")
        return Response(json.dumps({"boolean": result["boolean"]} if media_type == ROWS else result),
                        content_type=media_type)
    variables = result["head"]["vars"]
    rows = result["results"]["bindings"]
    if media_type == SPARQL_JSON:
        return Response(json.dumps(result, ensure_ascii=False), content_type=SPARQL_JSON)
    if media_type == ROWS:
        plain = [{v: _plain(row[v]) for v in variables if v in row} for row in rows]
        return Response(json.dumps(plain, ensure_ascii=False), content_type=ROWS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow([row[v]["value"] if v in row else "" for v in variables])
    return Response(out.getvalue(), content_type=f"{CSV}; charset=utf-8")


@blueprint.get("/openapi.json")
def openapi() -> Response:
    document = openapi_document(named_queries(), server_url=request.host_url.rstrip("/"))
    return Response(json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/json")


@blueprint.get("/docs")
def docs() -> str:
    document = openapi_document(named_queries(), server_url=request.host_url.rstrip("/"))
    return render_template("api_docs.html", spec=document, queries=named_queries(),
                           base_iri=resources().store.namespaces.base)
