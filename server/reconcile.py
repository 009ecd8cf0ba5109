"""/reconcile: the W3C Entity Reconciliation API 0.2, for OpenRefine and other clients.

`GET /reconcile` is the service manifest. `queries=` (GET or form POST) is a
batch of reconciliation queries, `extend=` a data extension query. Suggest
(entities, types, properties), previews, the view redirect and property
proposals have routes of their own under /reconcile/. Candidates come from the
full-text label index (graph/labels.py); identifiers are the resources' IRIs.
"""

from __future__ import annotations

import html
import json
from typing import Any

from flask import Blueprint, Response, redirect, request

from .. import __version__
from ..graph.catalog import LANGUAGES
from ..graph.reconcile import Condition, Reconciler
from . import resources
from .errors import BadRequest, NotFound

blueprint = Blueprint("reconcile", __name__)

MAX_QUERIES = 500
MAX_LIMIT = 100
CLASS_TYPES = ("http://www.w3.org/2002/07/owl#Class", "http://www.w3.org/2000/01/rdf-schema#Class")
PROPERTY_TYPES = ("http://www.w3.org/2002/07/owl#ObjectProperty", "http://www.w3.org/2002/07/owl#DatatypeProperty",
                  "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property")
DEFAULT_TYPES = ("Hub", "Institution", "HeritageAsset", "Place", "Narrative")


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, mimetype="application/json")


def _reconciler() -> Reconciler:
    store = resources().store
    reader = store.reader()
    store.labels.ensure(reader, int(store.generation or 0))
    language = request.accept_languages.best_match(LANGUAGES) or "en"
    return Reconciler(reader, store.labels, language)


def _parameter(name: str) -> Any:
    raw = request.values.get(name)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadRequest(f"{name}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None


@blueprint.route("/reconcile", methods=["GET", "POST"])
def service() -> Response:
    queries = _parameter("queries")
    if queries is not None:
        return _json(_reconcile_batch(queries))
    extend = _parameter("extend")
    if extend is not None:
        return _json(_extend(extend))
    return _json(_manifest())


def _manifest() -> dict[str, Any]:
    store = resources().store
    server = request.host_url.rstrip("/")
    reconciler = _reconciler()
    ontology = store.namespaces.ontology

    def service_definition(path: str) -> dict[str, str]:
        return {"service_url": server, "service_path": path}

    return {
        "versions": ["0.2"],
        "name": "heritage-hubs",
        "identifierSpace": store.namespaces.base + "id/",
        "schemaSpace": ontology,
        "documentation": server + "/api/docs",
        "serviceVersion": __version__,
        "defaultTypes": [reconciler.describe_type(ontology + name) for name in DEFAULT_TYPES],
        "view": {"url": server + "/reconcile/view?id={{id}}"},
        "preview": {"url": server + "/reconcile/preview?id={{id}}", "width": 420, "height": 160},
        "suggest": {"entity": service_definition("/reconcile/suggest/entity"),
                    "type": service_definition("/reconcile/suggest/type"),
                    "property": service_definition("/reconcile/suggest/property")},
        "extend": {"propose_properties": service_definition("/reconcile/propose_properties"), "property_settings": []},
    }


def _types(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise BadRequest(f"{key}.type must be a type identifier or a list of them")


def _reconcile_batch(queries: Any) -> dict[str, Any]:
    if not isinstance(queries, dict):
        raise BadRequest("queries must be a JSON object of named queries, e.g. {\"q0\": {\"query\": \"Tabakalera\"}}")
    if len(queries) > MAX_QUERIES:
        raise BadRequest(f"at most {MAX_QUERIES} queries in one batch, got {len(queries)}")
    reconciler = _reconciler()
    answers = {}
    for key, query in queries.items():
        if not isinstance(query, dict) or not isinstance(query.get("query", ""), str):
            raise BadRequest(f"{key}: a query is an object with a 'query' string")
        limit = query.get("limit", 5)
        if not isinstance(limit, int | float) or limit < 1:
            raise BadRequest(f"{key}.limit must be a positive number")
        conditions = []
        for index, condition in enumerate(query.get("properties") or []):
            if not isinstance(condition, dict) or not isinstance(condition.get("pid"), str) or "v" not in condition:
                raise BadRequest(f"{key}.properties[{index}] needs 'pid' and 'v'")
            values = condition["v"] if isinstance(condition["v"], list) else [condition["v"]]
            conditions.append(Condition(_expand(condition["pid"]), tuple(values)))
        results = reconciler.reconcile(query.get("query", ""), types=_types(query.get("type"), key),
                                       limit=min(int(limit), MAX_LIMIT), conditions=conditions)
        answers[key] = {"result": [r.as_json() for r in results]}
    return answers


def _expand(identifier: str) -> str:
    """A property identifier: an IRI, or a prefixed name with one of our prefixes (hh:basedIn)."""
    prefix, colon, local = identifier.partition(":")
    namespaces = resources().store.namespaces.prefixes()
    if colon and not local.startswith("//") and prefix in namespaces:
        return namespaces[prefix] + local
    return identifier


def _extend(query: Any) -> dict[str, Any]:
    if not isinstance(query, dict) or not isinstance(query.get("ids"), list) or not isinstance(query.get("properties"), list):
        raise BadRequest("extend needs {\"ids\": [...], \"properties\": [{\"id\": ...}]}")
    properties = []
    for index, prop in enumerate(query["properties"]):
        if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
            raise BadRequest(f"extend.properties[{index}] needs an 'id'")
        properties.append(_expand(prop["id"]))
    return _reconciler().extend([str(i) for i in query["ids"]], properties)


def _suggest(types: tuple[str, ...] = ()) -> Response:
    prefix = request.args.get("prefix", "")
    cursor = request.args.get("cursor", "0")
    if not cursor.isdigit():
        raise BadRequest("cursor must be a non-negative integer")
    wanted = list(types) or _types(request.args.get("type"), "suggest")
    reconciler = _reconciler()
    found = reconciler.index.search(prefix, types=wanted, limit=int(cursor) + 10, prefix=True)[int(cursor):]
    return _json({"result": [{"id": c.iri, "name": reconciler.label(c.iri),
                              "notable": [reconciler.describe_type(t) for t in reconciler.shown_types(c.types)]}
                             for c in found]})


@blueprint.get("/reconcile/suggest/entity")
def suggest_entity() -> Response:
    return _suggest()


@blueprint.get("/reconcile/suggest/type")
def suggest_type() -> Response:
    return _suggest(CLASS_TYPES)


@blueprint.get("/reconcile/suggest/property")
def suggest_property() -> Response:
    return _suggest(PROPERTY_TYPES)


@blueprint.get("/reconcile/propose_properties")
def propose_properties() -> Response:
    type_iri = request.args.get("type")
    if not type_iri:
        raise BadRequest("type is required")
    limit = request.args.get("limit", "20")
    if not limit.isdigit():
        raise BadRequest("limit must be a positive integer")
    found = _reconciler().propose_properties(_expand(type_iri), int(limit))
    return _json({"type": type_iri, "limit": int(limit), "properties": found})


@blueprint.get("/reconcile/preview")
def preview() -> Response:
    iri = request.args.get("id", "")
    reconciler = _reconciler()
    if not reconciler.labels_of(iri):
        raise NotFound(f"nothing with a label is known as {iri!r}")
    types = ", ".join(html.escape(reconciler.label(t)) for t in reconciler.shown_types(reconciler.index.types_of(iri)))
    description = reconciler.description(iri)
    page = (f"<!doctype html><html><meta charset=utf-8><body style='font:14px sans-serif;margin:6px'>"
            f"<strong>{html.escape(reconciler.label(iri))}</strong> <small>{types}</small>"
            + (f"<p>{html.escape(description)}</p>" if description else "")
            + f"<p><code>{html.escape(iri)}</code></p></body></html>")
    return Response(page, mimetype="text/html")


@blueprint.get("/reconcile/view")
def view() -> Response:
    """Where OpenRefine's view link goes: the resource page on this host for our IRIs, else the IRI."""
    iri = request.args.get("id", "")
    base = resources().store.namespaces.base
    if iri.startswith(base + "id/"):
        return redirect("/doc/" + iri[len(base) + 3:], code=303)  # type: ignore[return-value]
    if not iri.startswith(("http://", "https://")):
        raise BadRequest("id must be an IRI")
    return redirect(iri, code=303)  # type: ignore[return-value]
