"""/id/… and /doc/…: dereferenceable URIs (Cool URIs: 303 See Other + content negotiation).

`GET /id/{kind}/{slug}` answers 303 to the document in the format the Accept
header asks for; `/doc/{kind}/{slug}` negotiates too, and `.html .ttl .jsonld
.rdf .nt` name a format. RDF documents carry canonical IRIs; HTML links stay
on the serving host. ETag and Last-Modified follow the store's generation.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Store, serialize

from ..graph import linked_art
from ..graph.authorities import authority_of
from ..graph.catalog import label_in
from ..graph.describe import RDF_TYPE, Description, describe, is_known, located_at
from ..graph.entailment import asserted
from ..graph.iris import CRM, prefixed_name
from ..graph.tabular import slug as slugify
from . import resources
from .cache import CachedResponse
from .errors import NotAcceptable, NotFound
from .i18n import N_, day, preferred_language, property_name, span
from .negotiation import bare, offered_list, requested_rdf, wants_html

blueprint = Blueprint("linked_data", __name__)

DCTERMS_CREATED = "http://purl.org/dc/terms/created"
POINT_PROPERTIES = ("http://www.w3.org/2003/01/geo/wgs84_pos#lat", "http://www.w3.org/2003/01/geo/wgs84_pos#long",
                    CRM + "P168_place_is_defined_by")
#: A literal that starts as an xsd:date or xsd:dateTime does (a year of four digits or more, maybe before the common era).
DATE = re.compile(r"-?\d{4,}-\d{2}-\d{2}")

_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EXTENSIONS: dict[str, RdfFormat | None] = {
    "html": None, "ttl": RdfFormat.TURTLE, "jsonld": RdfFormat.JSON_LD, "rdf": RdfFormat.RDF_XML, "nt": RdfFormat.N_TRIPLES,
}
_EXTENSION_OF = {fmt: ext for ext, fmt in EXTENSIONS.items() if fmt is not None}
#: The Linked Art form of a tangible asset (JSON-LD with the Linked Art profile).
LINKED_ART = "linked-art.json"


def _wants_linked_art() -> bool:
    """Accept names JSON-LD with the Linked Art profile (application/ld+json;profile="https://linked.art/ns/v1/…")."""
    return any(value.startswith("application/ld+json") and "linked.art/ns/v1/linked-art.json" in value and quality > 0
               for value, quality in request.accept_mimetypes)


_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _asserted() -> Store:
    """The current snapshot as documents read it: what was asserted, without the entailed graph (SPARQL sees both)."""
    store = resources().store
    return asserted(store.reader(), store.namespaces)


def doc_path(iri: str, base: str) -> str | None:
    """The path of a thing's page on this host (/doc/{kind}/{slug}), or None when the IRI is not one of ours."""
    return "/doc/" + iri[len(base) + 3:] if iri.startswith(base + "id/") else None


def _iri(kind: str, slug: str) -> str:
    if kind == "shapes":  # the SHACL shapes: {base}ontology/shapes/{Name}, described like any resource
        if not _SHAPE.match(slug):
            raise NotFound(f"/doc/shapes/{slug} is not a shape of this dataset")
        return resources().store.namespaces.ontology + "shapes/" + slug
    if not _SEGMENT.match(kind) or not _SEGMENT.match(slug):
        raise NotFound(f"/id/{kind}/{slug} is not an identifier of this dataset")
    return resources().store.namespaces.thing(kind, slug)


#: Kinds that exist only as Linked Art records, derived from others: a keeper's collection, what an object shows.
LINKED_ART_ONLY = ("collection", "visual")


def _has_linked_art(iri: str) -> bool:
    store = resources().store
    return linked_art.linked_art_kind(_asserted(), iri, store.namespaces.ontology, store.namespaces.base) is not None


def _extension_for_request(kind: str, has_linked_art: bool) -> str:
    """The document format the request asks for: Linked Art when its profile is named and the thing has a Linked Art
    record, else by Accept (a JSON-LD request with the profile then gets plain JSON-LD, never a 303 to a 406)."""
    if kind in LINKED_ART_ONLY or (has_linked_art and _wants_linked_art()):
        return LINKED_ART
    if wants_html(request.accept_mimetypes):
        return "html"
    return _EXTENSION_OF[requested_rdf("this resource is available as text/html, ", tuple(_EXTENSION_OF))]


def _describe_or_404(iri: str) -> Description:
    store = resources().store
    description = describe(_asserted(), iri, metadata_graph=store.namespaces.metadata_graph)
    if not description.exists:
        raise NotFound(f"nothing is known about <{iri}>")
    return description


@blueprint.route("/id/<kind>/<slug>", methods=["GET", "HEAD"])
def identifier(kind: str, slug: str) -> Response:
    normal = slugify(slug)
    if kind not in ("shapes",) and normal != slug and _SEGMENT.match(kind) and _SEGMENT.match(normal):
        store = resources().store
        if is_known(_asserted(), store.namespaces.thing(kind, normal), metadata_graph=store.namespaces.metadata_graph):
            # Identifiers are made from slugs (a spreadsheet's ME-0001 becomes me-0001): the identifier as written leads there.
            return Response(status=301, headers={"Location": f"/id/{kind}/{normal}"})
    iri = _iri(kind, slug)
    store = resources().store
    if kind in LINKED_ART_ONLY:
        known = has_linked_art = _has_linked_art(iri)
    else:  # the Linked Art record is looked for only when its profile is asked for
        known = is_known(_asserted(), iri, metadata_graph=store.namespaces.metadata_graph)
        has_linked_art = _wants_linked_art() and _has_linked_art(iri)
    if not known:
        raise NotFound(f"nothing is known about <{iri}>")
    extension = _extension_for_request(kind, has_linked_art)
    response = Response(status=303, headers={"Location": f"/doc/{kind}/{slug}.{extension}"})
    response.vary.add("Accept")
    return response


@blueprint.route("/doc/graph/<path:name>", methods=["GET", "HEAD"])
def graph_document(name: str) -> Response:
    """What the metadata says of a named graph (title, provenance, licence, counts), for people and machines.

    The graph's IRI answers with its content (Graph Store Protocol) and points here with `rel="describedby"`.
    """
    stem, dot, extension = name.rpartition(".") if "." in name.rsplit("/", 1)[-1] else (name, "", "")
    if dot and extension not in EXTENSIONS:
        raise NotFound(f"unknown document format .{extension}; use one of {', '.join('.' + e for e in EXTENSIONS)}")
    store = resources().store
    try:
        iri = store.namespaces.graph(stem)
    except ValueError:
        raise NotFound(f"/doc/graph/{name} names no graph") from None
    if not store.has_graph(iri):
        raise NotFound(f"there is no graph <{iri}>")
    if not dot:
        extension = "html" if wants_html(request.accept_mimetypes) else \
            _EXTENSION_OF[requested_rdf("a graph's description is available as text/html, ", tuple(_EXTENSION_OF))]
    description = describe(_asserted(), iri)
    # What every graph's description says, whether or not the metadata has more (the metadata graph itself).
    info = next((g for g in store.graphs() if g.iri == iri), None)
    void = "http://rdfs.org/ns/void#"
    description.outgoing += [Quad(NamedNode(iri), RDF_TYPE, NamedNode(void + "Dataset"))]
    if info is not None:
        description.outgoing.append(Quad(NamedNode(iri), NamedNode(void + "triples"),
                                         Literal(str(info.triples), datatype=NamedNode("http://www.w3.org/2001/XMLSchema#integer"))))
    response = _render(description, "graph", stem, extension)
    if not dot:
        response.vary.add("Accept")
        response.headers["Content-Location"] = f"/doc/graph/{stem}.{extension}"
    response.headers["Link"] = f'<{iri}>; rel="describes"'
    return response


@blueprint.route("/doc/<kind>/<name>", methods=["GET", "HEAD"])
def document(kind: str, name: str) -> Response:
    slug, dot, extension = name.partition(".")
    if dot and extension not in EXTENSIONS and extension != LINKED_ART:
        raise NotFound(f"unknown document format .{extension}; use one of {', '.join('.' + e for e in EXTENSIONS)}")
    negotiated = not dot
    iri = _iri(kind, slug)
    has_linked_art = _has_linked_art(iri)  # once: it decides the format, whether a derived record exists, the Link header
    if negotiated:
        extension = _extension_for_request(kind, has_linked_art)
    if kind in LINKED_ART_ONLY and extension != LINKED_ART:
        raise NotFound(f"/doc/{kind}/{slug} exists only as Linked Art: /doc/{kind}/{slug}.{LINKED_ART}")
    store = resources().store
    language = preferred_language()
    # Documents change only with the store: cache them per generation, like small query results.
    key = ("doc", store.generation, request.host_url, kind, slug, extension, language if extension == "html" else "")
    cached = resources().result_cache.get(key)
    if cached is not None:
        response = Response(cached.body, headers=list(cached.headers))
    else:
        if kind in LINKED_ART_ONLY and not has_linked_art:
            raise NotFound(f"nothing is known about <{iri}>")
        description = Description(NamedNode(iri)) if kind in LINKED_ART_ONLY else _describe_or_404(iri)
        response = _render(description, kind, slug, extension)
        resources().result_cache.put(key, CachedResponse((("Content-Type", response.content_type),), response.get_data()))
    if negotiated:
        response.vary.add("Accept")
        response.headers["Content-Location"] = f"/doc/{kind}/{slug}.{extension}"
    response.headers["Link"] = ", ".join(
        [f'</doc/{kind}/{slug}.{ext}>; rel="alternate"; type="{fmt.media_type if fmt else "text/html"}"'
         for ext, fmt in EXTENSIONS.items() if ext != extension]
        + ([f'</doc/{kind}/{slug}.{LINKED_ART}>; rel="alternate"; type="application/ld+json"; profile="{linked_art.PROFILE}"']
           if extension != LINKED_ART and has_linked_art else [])
        + [f'<{iri}>; rel="describes"' if extension != "html" else f'<{iri}>; rel="cite-as"'])
    if kind in LINKED_ART_ONLY:
        response.headers["Link"] = f'<{iri}>; rel="describes"'
    response.set_etag(f"{store.generation}-{extension}", weak=True)
    current = store.path / "CURRENT"
    response.last_modified = datetime.fromtimestamp(os.stat(current).st_mtime, UTC)
    response.make_conditional(request)
    return response


def _render(description: Description, kind: str, slug: str, extension: str) -> Response:
    store = resources().store
    if extension == LINKED_ART:
        try:
            record = linked_art.describe(_asserted(), description.subject.value, store.namespaces.ontology,
                                         store.namespaces.base)
        except linked_art.NotAnObject as error:
            raise NotAcceptable(f"{error}; this resource is available as text/html, {offered_list(tuple(_EXTENSION_OF))}") from None
        return Response(json.dumps(record, ensure_ascii=False, indent=1),
                        content_type=f'application/ld+json;profile="{linked_art.PROFILE}"')
    fmt = EXTENSIONS[extension]
    if fmt is not None:
        prefixes = store.namespaces.prefixes() if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG) else None
        body = serialize(description.triples(), format=fmt, prefixes=prefixes)
        return Response(body, content_type=f"{bare(fmt.media_type)}; charset=utf-8")
    language = preferred_language()
    return Response(render_template("resource.html", **_page(description, kind, slug, language)), mimetype="text/html")


#: Sections of a resource page, by what the properties mean (local names of hh:, CRM and common vocabularies).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("Names and description"), ("label", "prefLabel", "altLabel", "description", "text")),
    (N_("Kinds and themes"), ("hubType", "institutionKind", "focus", "about", "originalFunction", "usesTechnology", "accessNotice",
                          "inScheme", "topConceptOf", "P2_has_type", "broader", "narrower")),
    (N_("People and organisations"), ("hasPartner", "partnerOf", "carriedOutBy", "keptBy", "ownedBy", "givesVoiceTo",
                                  "P95i_was_formed_by", "memberCount")),
    (N_("Place and time"), ("basedIn", "locatedIn", "tookPlaceAt", "P89_falls_within", "lat", "long", "P168_place_is_defined_by",
                        "P4_has_time-span", "created")),
    (N_("Heritage"), ("features", "refersTo", "inventoryNumber")),
    (N_("Sources and links"), ("source", "homepage", "sameAs", "exactMatch", "closeMatch")),
)


def _group_of(predicate_iri: str) -> str:
    local = re.split(r"[/#]", predicate_iri)[-1]
    for name, members in GROUPS:
        if local in members:
            return name
    return N_("Other statements")


def _span_of(reader: Any, node: Any, language: str) -> str | None:
    """The time span of `node` (crm:P4) in words."""
    found = linked_art.timespan(reader, node) or {}
    return span(found.get("begin_of_the_begin"), found.get("end_of_the_end"), language)


def _events(description: Description, language: str, show: Any, reader: Any) -> list[dict[str, object]]:
    """A founding, the thing's own time span and when it was made, as sentences: "Founded in 2015 by A, B and C",
    "When: 10 May 2023", "Made on 26 April 1945"."""
    events: list[dict[str, object]] = []
    for q in description.outgoing:
        if q.predicate.value == CRM + "P95i_was_formed_by" and isinstance(q.object, BlankNode):
            founders = [show(f.object) for f in description.blank_closure
                        if f.subject == q.object and f.predicate.value == CRM + "P14_carried_out_by"]
            for founder in founders:
                if founder.get("kind") == "iri" and founder.get("label") == founder.get("iri"):
                    founder["label"] = label_in(reader, str(founder["iri"]), language) or founder["label"]
            # In the order of their names: the store keeps statements in no order, and engines answer in their own.
            founders.sort(key=lambda f: (str(f.get("label") or f.get("text") or "").casefold(), str(f.get("iri") or "")))
            when = _span_of(reader, q.object, language)
            events.append({"text": gettext("Founded %(when)s", when=when) if when else gettext("Founded"),
                           "by": gettext("by") if founders else "", "people": founders})
    own = _span_of(reader, description.subject, language)
    if own:
        events.append({"text": gettext("When: %(when)s", when=own), "by": "", "people": []})
    for q in description.outgoing:
        if q.predicate.value == DCTERMS_CREATED and isinstance(q.object, Literal) and DATE.match(q.object.value):
            events.append({"text": gettext("Made on %(day)s", day=day(q.object.value, language)), "by": "", "people": []})
    return events


def _page(description: Description, kind: str, slug: str, language: str) -> dict[str, object]:
    store = resources().store
    base = store.namespaces.base
    host = request.host_url

    def local(term: object) -> str:
        value = str(getattr(term, "value", term))
        return host + value[len(base):] if value.startswith(base) else value

    prefixes = store.namespaces.prefixes()

    def curie(iri: str) -> str:
        return prefixed_name(iri, prefixes) or iri

    showing: set[BlankNode] = set()

    def show(term: object) -> dict[str, object]:
        if isinstance(term, Literal):
            return {"kind": "literal", "text": term.value, "language": term.language,
                    "datatype": term.datatype.value.rsplit("#", 1)[-1] if term.datatype and not term.language else None}
        if isinstance(term, BlankNode):
            if term in showing:  # a cycle of blank nodes (anyone's data may hold one): shown once
                return {"kind": "literal", "text": "…", "language": None, "datatype": None}
            showing.add(term)
            rows = [row(q) for q in description.blank_closure if q.subject == term]
            showing.discard(term)
            # A formation before its time-span, a beginning before its end: in the order of the properties' CRM numbers.
            return {"kind": "blank", "rows": sorted(rows, key=lambda r: str(r["predicate"]["iri"]))}  # type: ignore[index]
        assert isinstance(term, NamedNode)
        # Only web IRIs become links: a javascript: or data: IRI in someone's data is shown, never followed.
        href = local(term) if term.value.startswith(("http://", "https://")) else None
        authority = authority_of(term.value)
        label = description.label_of(term, language) or (
            f"{authority.name}: {authority.identifier(term.value)}" if authority else curie(term.value))
        return {"kind": "iri", "href": href, "iri": term.value, "label": label}

    def graph_name(quad: object) -> str:
        name = str(getattr(getattr(quad, "graph_name", None), "value", ""))
        return store.namespaces.graph_name(name) or name

    reader = store.reader()
    named: dict[str, str] = {}

    def predicate_of(predicate: NamedNode) -> dict[str, object]:
        """A property as people read it: its name from the ontology (ours) or from our list (others), else a prefixed name."""
        shown = show(predicate)
        if predicate.value not in named:
            named[predicate.value] = (property_name(predicate.value)
                                      or (label_in(reader, predicate.value, language)
                                          if predicate.value.startswith(store.namespaces.ontology) else None)
                                      or str(shown["label"]))
        return {**shown, "label": named[predicate.value]}

    def row(quad: object) -> dict[str, object]:
        predicate = quad.predicate  # type: ignore[attr-defined]
        return {"predicate": predicate_of(predicate), "object": show(quad.object), "graph": graph_name(quad)}  # type: ignore[attr-defined]

    subject = description.subject
    events = _events(description, language, show, reader)
    found = located_at(reader, subject.value, store.namespaces.ontology)
    located = None if found is None else (found[0], found[1])
    # A thing without a point of its own is shown at the place it is in, and the page says so.
    located_by = None if found is None or found[2] == subject.value else {
        "href": local(NamedNode(found[2])), "label": description.label_of(NamedNode(found[2]), language)
        or label_in(reader, found[2], language) or found[2]}
    types = [show(q.object) for q in description.outgoing if q.predicate == RDF_TYPE]
    # A point of its own is the map and the coordinates under it, not three literals (they stay in every RDF format).
    drawn = POINT_PROPERTIES if located is not None and located_by is None else ()
    rows = sorted((row(q) for q in description.outgoing if q.predicate != RDF_TYPE and q.predicate.value not in drawn),
                  key=lambda r: str(r["predicate"]["label"] or r["predicate"]["iri"]))  # type: ignore[index]
    order = [name for name, _ in GROUPS] + ["Other statements"]
    groups: dict[str, list[dict[str, object]]] = {}
    for item in rows:
        groups.setdefault(_group_of(str(item["predicate"]["iri"])), []).append(item)  # type: ignore[index]
    sections = [(name, groups[name]) for name in order if name in groups]
    refers_to = store.namespaces.ontology + "refersTo"
    narratives = [show(q.subject) for q in description.incoming if q.predicate.value == refers_to]
    incoming = [{"subject": show(q.subject), "predicate": predicate_of(q.predicate), "graph": graph_name(q)}
                for q in description.incoming if q.predicate.value != refers_to]
    return {
        "title": description.label_of(subject, language) or subject.value,
        "iri": subject.value,
        "types": types,
        "sections": sections,
        "narratives": narratives,
        "incoming": incoming,
        "incoming_total": description.incoming_total,
        "alternates": [(ext, fmt.media_type) for ext, fmt in EXTENSIONS.items() if fmt is not None],
        "kind": kind,
        "slug": slug,
        "language": language,
        "base_iri": base,
        "events": events,
        "coordinates": located,
        "located_by": located_by,
        "tiles_url": current_app.config["HERITAGE_HUBS_SETTINGS"].tiles_url,
    }
