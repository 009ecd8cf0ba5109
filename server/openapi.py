"""The OpenAPI 3.1 description of the JSON APIs, generated from the named queries."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..graph.library import NamedQuery, Parameter
from .negotiation import GRAPH_FORMATS, SOLUTION_FORMATS

_PROBLEM_CONTENT: dict[str, Any] = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_PROBLEM = {"description": "what is wrong, as RFC 9457 problem details", "content": _PROBLEM_CONTENT}


def _schema(parameter: Parameter) -> dict[str, Any]:
    schema: dict[str, Any]
    if parameter.type == "integer":
        schema = {"type": "integer"}
    elif parameter.type == "date":
        schema = {"type": "string", "format": "date"}
    elif parameter.type == "iri":
        schema = {"type": "string", "format": "iri"}
    elif parameter.type == "concept":
        schema = {"type": "string", "description": "a concept IRI or its slug", "pattern": "^([a-z0-9-]+|[A-Za-z][A-Za-z0-9+.-]*:.+)$"}
    elif parameter.type == "langstring":
        schema = {"type": "string", "pattern": "^.*@[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$"}
    else:
        schema = {"type": "string"}
    if parameter.values:
        schema["enum"] = list(parameter.values)
    if parameter.default is not None:
        schema["default"] = int(parameter.default) if parameter.type == "integer" else parameter.default
    return schema


def _operation(query: NamedQuery) -> dict[str, Any]:
    parameters = [{
        "name": p.name, "in": "query", "required": not p.optional and p.default is None,
        "description": p.description or p.type, "schema": _schema(p),
    } for p in query.parameters]
    graph = query.form in ("CONSTRUCT", "DESCRIBE")
    formats = ["rows", "sparql-json", "csv"] if not graph else ["turtle", "nt", "jsonld", "rdfxml", "trig", "nquads"]
    parameters.append({"name": "format", "in": "query", "required": False,
                       "description": "response format, instead of the Accept header", "schema": {"type": "string", "enum": formats}})
    if query.page_size:
        parameters += [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "per_page", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": query.page_size}},
        ]
    content: dict[str, Any]
    if graph:
        content = _RDF
    else:
        content = {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/sparql-results+json": {"schema": {"$ref": "#/components/schemas/SparqlResults"}},
            "text/csv": {"schema": {"type": "string"}},
        }
    return {
        "operationId": query.name.replace("-", "_"),
        "summary": query.summary,
        "description": query.description + "\n\n```sparql\n" + query.query + "```",
        "tags": list(query.tags) or ["queries"],
        "parameters": parameters,
        "responses": {
            "200": {"description": "the answer" + ("; `Link` headers lead to the next page" if query.page_size else ""),
                    "content": content},
            "400": _PROBLEM, "406": _PROBLEM,
        },
    }

_TOKENS = "a token from `heritage-hubs token create`; it names the graphs it may write"
_RDF = {media: {"schema": {} if "json" in media else {"type": "string"}} for media in GRAPH_FORMATS}
_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema or {"type": "string"}}


def _get(operation_id: str, summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any], *errors: int,
         tag: str) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "the answer", "content": ok}}
    responses.update({str(status): _PROBLEM for status in errors})
    return {"get": {"operationId": operation_id, "summary": summary, "tags": [tag], "parameters": parameters, "responses": responses}}


def _linked_data_paths() -> dict[str, Any]:
    """The read routes of the Linked Data interfaces (and the Graph Store's), described for clients and for fuzzing."""
    term = {"type": "string", "description": "an IRI, or a literal in N-Triples syntax (\"Torino\"@it)"}
    graph_parameter = _query("graph", "the absolute IRI of a named graph", {"type": "string", "format": "iri"})
    # 401, 408 and 413 are answered before the request reaches the application: plain text unless JSON is accepted.
    early = {"description": _PROBLEM["description"], "content": {**_PROBLEM_CONTENT, "text/plain": {"schema": {"type": "string"}}}}
    write_responses = {"201": {"description": "created"}, "204": {"description": "written"},
                       **{str(status): _PROBLEM for status in (400, 403, 404, 415, 422, 503)},
                       **{str(status): early for status in (401, 408, 413)}}
    store_operation = {
        "tags": ["graph store"], "parameters": [graph_parameter, _query("default", "the default graph instead of a named one",
                                                                        {"type": "string", "enum": [""]})],
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {media: {"schema": {"type": "string"}} for media in GRAPH_FORMATS}},
        "responses": write_responses,
    }
    return {
        "/fragments": _get("fragment", "Triple Pattern Fragments (Hydra): one page of the triples matching a pattern", [
            _query("subject", "the subject IRI", term), _query("predicate", "the predicate IRI", term),
            _query("object", "the object: an IRI or a literal", term),
            _query("page", "page number", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}),
        ], _RDF, 400, 406, 503, tag="linked data"),
        "/feed": _get("feed", "The change feed (LDES event stream): its first page and retention", [], _RDF, 406, tag="linked data"),
        "/feed/page/{number}": _get("feed_page", "One page of the change feed", [
            {"name": "number", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
        ], _RDF, 404, 406, 410, tag="linked data"),
        "/.well-known/void": _get("void", "The VoID and DCAT description of the dataset", [], _RDF, 406, tag="linked data"),
        "/graph-store": {
            "get": {"operationId": "graph_read", "summary": "Graph Store Protocol: read a graph", "tags": ["graph store"],
                    "parameters": [graph_parameter], "responses": {"200": {"description": "the graph", "content": _RDF},
                                                                   "400": _PROBLEM, "404": _PROBLEM, "406": _PROBLEM}},
            "put": {"operationId": "graph_replace", "summary": "Graph Store Protocol: replace a graph", **store_operation},
            "post": {"operationId": "graph_add", "summary": "Graph Store Protocol: add to a graph", **store_operation},
        },
        "/reconcile": {
            **_get("reconcile_manifest", "W3C Reconciliation API: the service manifest, or a batch given in `queries`", [
                _query("queries", "a JSON object of reconciliation queries", {"type": "string"}),
                _query("extend", "a JSON data extension query", {"type": "string"}),
            ], _JSON_OBJECT, 400, 503, tag="reconciliation"),
            "post": {"operationId": "reconcile_batch", "summary": "A batch of reconciliation queries or a data extension query",
                     "tags": ["reconciliation"],
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "properties": {"queries": {"type": "string"}, "extend": {"type": "string"}}}}}},
                     "responses": {"200": {"description": "candidates per query", "content": _JSON_OBJECT},
                                   "400": _PROBLEM, "503": _PROBLEM}},
        },
        "/reconcile/suggest/entity": _get("suggest_entity", "Entities whose labels start with a prefix", [
            _query("prefix", "what the user typed", required=True), _query("type", "a type IRI"),
            _query("cursor", "how many to skip", {"type": "integer", "minimum": 0, "maximum": 1000}),
        ], _JSON_OBJECT, 400, tag="reconciliation"),
        "/reconcile/suggest/type": _get("suggest_type", "Types whose labels start with a prefix", [
            _query("prefix", "what the user typed", required=True),
            _query("cursor", "how many to skip", {"type": "integer", "minimum": 0, "maximum": 1000}),
        ], _JSON_OBJECT, 400, tag="reconciliation"),
        "/reconcile/suggest/property": _get("suggest_property", "Properties whose labels start with a prefix", [
            _query("prefix", "what the user typed", required=True),
            _query("cursor", "how many to skip", {"type": "integer", "minimum": 0, "maximum": 1000}),
        ], _JSON_OBJECT, 400, tag="reconciliation"),
        "/reconcile/propose_properties": _get("propose_properties", "Properties to extend entities of a type with", [
            _query("type", "a type IRI", required=True), _query("limit", "how many", {"type": "integer", "minimum": 1}),
        ], _JSON_OBJECT, 400, tag="reconciliation"),
        "/reconcile/preview": _get("preview", "A small HTML card for an entity", [
            _query("id", "the entity's IRI", {"type": "string", "format": "iri"}, required=True),
        ], _HTML, 400, 404, tag="reconciliation"),
    }


def openapi_document(queries: list[NamedQuery], *, server_url: str) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/queries": {"get": {
            "operationId": "list_queries", "summary": "The named queries and their parameters", "tags": ["queries"],
            "responses": {"200": {"description": "every named query", "content": {"application/json": {
                "schema": {"type": "object", "required": ["queries"], "properties": {"queries": {"type": "array"}}}}}}},
        }},
        "/sparql": {"get": {
            "operationId": "sparql_query", "summary": "SPARQL 1.1 Protocol query by GET", "tags": ["sparql"],
            "parameters": [
                {"name": "query", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "default-graph-uri", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}},
                 "style": "form", "explode": True},
                {"name": "named-graph-uri", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}},
                 "style": "form", "explode": True},
            ],
            "responses": {
                "200": {"description": "results",
                        "content": {m: {"schema": {"type": "string"}} for m in (*SOLUTION_FORMATS, *GRAPH_FORMATS)}},
                "400": _PROBLEM, "406": _PROBLEM, "503": _PROBLEM,
            },
        }},
    }
    paths.update(_linked_data_paths())
    for query in queries:
        paths[f"/api/queries/{query.name}"] = {"get": _operation(query)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "heritage-hubs API",
            "version": __version__,
            "description": "Named queries over the heritage-hubs knowledge graph, as a REST API. Parameters are bound as "
                           "typed RDF terms, never pasted into the query text.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": _TOKENS}}, "schemas": {
            "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                                         "status": {"type": "integer"}, "detail": {"type": "string"}}},
            "SparqlResults": {"type": "object", "properties": {"head": {"type": "object"}, "results": {"type": "object"},
                                                               "boolean": {"type": "boolean"}}},
        }},
    }
