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
import time
from typing import Any

from flask import Blueprint, Response, redirect, request

from .. import __version__
from ..graph.authorities import AUTHORITIES, authority_of
from ..graph.catalog import LANGUAGES
from ..graph.iris import valid_iri
from ..graph.reconcile import AUTHORITY_PROPERTY, Condition, Reconciler
from . import resources
from .errors import BadRequest, NotFound, ServiceUnavailable
from .limits import client_gone
from .linked_data import doc_path

blueprint = Blueprint("reconcile", __name__)

# What one request may ask for: scoring runs in the server process, so a request is bounded before it is
# trusted (OpenRefine sends batches of 10 with a limit of 3 or so).
MAX_QUERIES = 100
MAX_LIMIT = 50
MAX_QUERY_CHARS = 1000
MAX_CONDITIONS = 10
MAX_VALUES = 20
MAX_EXTEND_IDS = 500
MAX_EXTEND_PROPERTIES = 50
MAX_CURSOR = 1000
#: Seconds a batch may take before the rest of it is refused (503: send smaller batches).
BATCH_SECONDS = 5.0
CLASS_TYPES = ("http://www.w3.org/2002/07/owl#Class", "http://www.w3.org/2000/01/rdf-schema#Class")
PROPERTY_TYPES = ("http://www.w3.org/2002/07/owl#ObjectProperty", "http://www.w3.org/2002/07/owl#DatatypeProperty",
                  "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property")
DEFAULT_TYPES = ("Hub", "Institution", "HeritageAsset", "Place", "Narrative")


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status, mimetype="application/json")


def _reconciler() -> Reconciler:
    store = resources().store
    reader = store.indexed_reader()
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
    checked = [(key, _checked_query(key, query)) for key, query in queries.items()]  # all refused before any is scored
    answers = {}
    with resources().heavy.slot("reconciliation batches"):
        reconciler = _reconciler()
        deadline = time.monotonic() + BATCH_SECONDS
        for key, (query, limit, conditions) in checked:
            if client_gone():
                raise ServiceUnavailable("the client left; the batch was stopped")  # nobody reads this
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"the batch took more than {BATCH_SECONDS:g} s and was stopped at {key!r}; "
                                         "send fewer queries per batch", headers={"Retry-After": "1"})
            results = reconciler.reconcile(query.get("query", ""), types=_types(query.get("type"), key),
                                           limit=limit, conditions=conditions)
            answers[key] = {"result": [r.as_json() for r in results]}
    return answers


def _checked_query(key: str, query: Any) -> tuple[dict[str, Any], int, list[Condition]]:
    """One query of a batch, its limit and its property conditions, or 400 saying what is wrong."""
    if not isinstance(query, dict) or not isinstance(query.get("query", ""), str):
        raise BadRequest(f"{key}: a query is an object with a 'query' string")
    if len(query.get("query", "")) > MAX_QUERY_CHARS:
        raise BadRequest(f"{key}.query is longer than {MAX_QUERY_CHARS} characters")
    limit = query.get("limit", 5)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not 1 <= limit < float("inf"):
        raise BadRequest(f"{key}.limit must be a positive number")
    conditions = []
    properties = query.get("properties")
    properties = [] if properties is None else properties
    if not isinstance(properties, list) or len(properties) > MAX_CONDITIONS:
        raise BadRequest(f"{key}.properties must be a list of at most {MAX_CONDITIONS} conditions")
    for index, condition in enumerate(properties):
        if not isinstance(condition, dict) or not isinstance(condition.get("pid"), str) or "v" not in condition:
            raise BadRequest(f"{key}.properties[{index}] needs 'pid' and 'v'")
        values = condition["v"] if isinstance(condition["v"], list) else [condition["v"]]
        if len(values) > MAX_VALUES:
            raise BadRequest(f"{key}.properties[{index}].v has more than {MAX_VALUES} values")
        conditions.append(Condition(_property(condition["pid"], f"{key}.properties[{index}].pid"), tuple(values)))
    return query, min(int(limit), MAX_LIMIT), conditions


def _property(identifier: str, where: str) -> str:
    """A property identifier expanded to an IRI, or 400."""
    expanded = _expand(identifier)
    if not valid_iri(expanded):
        raise BadRequest(f"{where}: {identifier!r} is not a property IRI or a prefixed name with a known prefix")
    return expanded


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
    if len(query["ids"]) > MAX_EXTEND_IDS or len(query["properties"]) > MAX_EXTEND_PROPERTIES:
        raise BadRequest(f"extend takes at most {MAX_EXTEND_IDS} ids and {MAX_EXTEND_PROPERTIES} properties at once")
    properties = []
    for index, prop in enumerate(query["properties"]):
        if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
            raise BadRequest(f"extend.properties[{index}] needs an 'id'")
        authority = prop["id"].removeprefix(AUTHORITY_PROPERTY) if prop["id"].startswith(AUTHORITY_PROPERTY) else None
        if authority is not None and authority not in AUTHORITIES:
            raise BadRequest(f"extend.properties[{index}].id: no authority {authority!r}; "
                             f"try {', '.join(AUTHORITY_PROPERTY + key for key in AUTHORITIES)}")
        properties.append(prop["id"] if authority is not None else _property(prop["id"], f"extend.properties[{index}].id"))
    ids = [str(i) for i in query["ids"]]
    for index, iri in enumerate(ids):
        if not valid_iri(iri):
            raise BadRequest(f"extend.ids[{index}]: {iri!r} is not an entity IRI (ids are the IRIs reconciliation returned)")
    with resources().heavy.slot("data extension requests"):
        return _reconciler().extend(ids, properties)


def _suggest(types: tuple[str, ...] = ()) -> Response:
    prefix = request.args.get("prefix", "")
    cursor = request.args.get("cursor", "0")
    if not cursor.isdigit() or int(cursor) > MAX_CURSOR:
        raise BadRequest(f"cursor must be an integer from 0 to {MAX_CURSOR}")
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
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT * 2:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT * 2}")
    found = _reconciler().propose_properties(_type(type_iri), int(limit))
    return _json({"type": type_iri, "limit": int(limit), "properties": found})


def _type(identifier: str) -> str:
    """A type identifier expanded to an IRI: an IRI, a prefixed name (hh:Hub), or a name of ours (Hub); else 400."""
    ontology = resources().store.namespaces.ontology
    expanded = _expand(identifier)
    if ":" not in identifier and valid_iri(ontology + identifier):
        expanded = ontology + identifier
    if not valid_iri(expanded):
        raise BadRequest(f"type: {identifier!r} is not a type IRI, a prefixed name with a known prefix, or a class name "
                         f"of the ontology ({ontology}…)")
    return expanded


@blueprint.get("/reconcile/preview")
def preview() -> Response:
    iri = request.args.get("id", "")
    if not iri:
        raise BadRequest("preview needs ?id= with the IRI of an entity (as reconciliation returned it)")
    if not valid_iri(iri):
        raise BadRequest(f"id {iri!r} is not an IRI (ids are the IRIs reconciliation returned)")
    reconciler = _reconciler()
    if not reconciler.labels_of(iri):
        raise NotFound(f"nothing with a label is known as {iri!r}")
    types = ", ".join(html.escape(reconciler.label(t)) for t in reconciler.shown_types(reconciler.index.types_of(iri)))
    description = reconciler.description(iri)
    links = " · ".join(f'{html.escape(found.name)}: <a href="{html.escape(link)}">'
                       f'{html.escape(found.identifier(link))}</a>'
                       for link in reconciler.authority_links(iri) if (found := authority_of(link)) is not None)
    page = (f"<!doctype html><html><meta charset=utf-8><body style='font:14px sans-serif;margin:6px'>"
            f"<strong>{html.escape(reconciler.label(iri))}</strong> <small>{types}</small>"
            + (f"<p>{html.escape(description)}</p>" if description else "")
            + (f"<p>{links}</p>" if links else "")
            + f"<p><code>{html.escape(iri)}</code></p></body></html>")
    return Response(page, mimetype="text/html")


@blueprint.get("/reconcile/view")
def view() -> Response:
    """Where OpenRefine's view link goes: the resource page on this host for our IRIs, else the IRI."""
    iri = request.args.get("id", "")
    base = resources().store.namespaces.base
    page = doc_path(iri, base)
    if page is not None and valid_iri(iri):
        return redirect(page, code=303)  # type: ignore[return-value]
    # Never a redirect elsewhere: this is not an open redirector.
    raise NotFound(f"{iri!r} is not an entity of this service (its ids start with {base}id/)")
