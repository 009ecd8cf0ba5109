"""The OpenAPI 3.1 description of the JSON APIs, generated from the named queries."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..graph.library import NamedQuery, Parameter
from .negotiation import GRAPH_FORMATS, SOLUTION_FORMATS

_PROBLEM = {"description": "what is wrong, as RFC 9457 problem details",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _schema(parameter: Parameter) -> dict[str, Any]:
    schema: dict[str, Any]
    if parameter.type == "integer":
        schema = {"type": "integer"}
    elif parameter.type == "date":
        schema = {"type": "string", "format": "date"}
    elif parameter.type == "iri":
        schema = {"type": "string", "format": "iri"}
    elif parameter.type == "concept":
        schema = {"type": "string", "description": "a concept IRI or its slug"}
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
        content = {media: {"schema": {"type": "string"}} for media in GRAPH_FORMATS}
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
        "components": {"schemas": {
            "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                                         "status": {"type": "integer"}, "detail": {"type": "string"}}},
            "SparqlResults": {"type": "object", "properties": {"head": {"type": "object"}, "results": {"type": "object"},
                                                               "boolean": {"type": "boolean"}}},
        }},
    }
