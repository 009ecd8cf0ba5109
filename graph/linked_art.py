"""Linked Art: heritage assets as Linked Art JSON-LD, and Linked Art records read as CIDOC-CRM triples.

Output (:func:`describe`): a Linked Art record for every kind of thing that has
one here, each following the Linked Art API 1.0 schemas: tangible assets as
`HumanMadeObject`, hubs and institutions as `Group`, people as `Person`, concepts as `Type`,
places as `Place`, the collection a hub or institution keeps as a `Set`
(`{base}id/collection/{kind}-{slug}`) and what an object shows as a
`VisualItem` `about` its themes (`{base}id/visual/{slug}`). Names are
classified as primary (or alternate) names, descriptions as brief texts.
Intangible assets and the rest have no Linked Art form: Linked Art describes
things, not practices.

Input (:func:`to_nquads`): a JSON-LD document that uses the Linked Art
context is expanded by PyLD with the context shipped in `cromulent` (the
Linked Art reference library), never fetched: any other remote context is
refused, so loading a record never reaches the network.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources as package_resources
from typing import Any

from pyoxigraph import Literal, NamedNode, Store

from .iris import CRM

CONTEXT_URL = "https://linked.art/ns/v1/linked-art.json"
PROFILE = CONTEXT_URL
MEDIA_TYPE = f'application/ld+json;profile="{PROFILE}"'
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
AAT = "http://vocab.getty.edu/aat/"
LANGUAGES = {"en": ("300388277", "English"), "it": ("300388474", "Italian"), "es": ("300389311", "Spanish"),
             "eu": ("300388138", "Basque"), "fr": ("300388306", "French"), "de": ("300388344", "German")}
EQUIVALENTS = ("http://www.w3.org/2002/07/owl#sameAs", "http://www.w3.org/2004/02/skos/core#exactMatch")


class NotAnObject(ValueError):
    """The resource is not something Linked Art describes as an object."""


@cache
def context() -> dict[str, Any]:
    """The Linked Art JSON-LD context, as shipped in cromulent."""
    path = package_resources.files("cromulent") / "data" / "linked-art.json"
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def uses_linked_art(data: bytes) -> bool:
    return CONTEXT_URL.encode() in data or b"linked.art/ns/v1/linked-art.json" in data


def to_nquads(data: bytes) -> bytes:
    """A Linked Art JSON-LD document as N-Quads (CIDOC-CRM), with the context read locally."""
    from pyld import jsonld

    refused: list[str] = []

    def loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url.rstrip("/") in (CONTEXT_URL, CONTEXT_URL.replace("https:", "http:")):
            return {"contextUrl": None, "documentUrl": url, "document": context()}
        refused.append(f"the remote JSON-LD context {url} was refused: only the Linked Art context is read, from a local copy")
        raise ValueError(refused[-1])

    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        raise SyntaxError(f"not JSON: {error.msg}", ("<request body>", error.lineno, error.colno, "")) from None
    try:
        nquads: str = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": loader})
    except jsonld.JsonLdError as error:
        reason = refused[0] if refused else str(error.args[0] if error.args else error)
        raise ValueError(f"Linked Art JSON-LD could not be read: {reason}") from None
    return nquads.encode("utf-8")


def _objects(store: Store, subject: NamedNode, predicate: str) -> list[Any]:
    seen: dict[str, Any] = {}
    for quad in store.quads_for_pattern(subject, NamedNode(predicate), None, None):
        seen.setdefault(str(quad.object), quad.object)
    return list(seen.values())


def _label(store: Store, iri: str, language: str = "en") -> str | None:
    labels = [o for p in (RDFS_LABEL, SKOS_PREF) for o in _objects(store, NamedNode(iri), p) if isinstance(o, Literal)]
    for literal in sorted(labels, key=lambda lit: (lit.language != language, lit.language != "en", lit.value)):
        return literal.value
    return None


def _reference(store: Store, iri: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {"id": iri, "type": kind}
    label = _label(store, iri)
    if label:
        found["_label"] = label
    return found


def _language(code: str) -> list[dict[str, str]]:
    known = LANGUAGES.get(code)
    return [{"id": AAT + known[0], "type": "Language", "_label": known[1]}] if known else []


PRIMARY_NAME = {"id": AAT + "300404670", "type": "Type", "_label": "Primary Name"}
ALTERNATE_NAME = {"id": AAT + "300264273", "type": "Type", "_label": "Alternate Name"}
ACCESSION_NUMBER = {"id": AAT + "300312355", "type": "Type", "_label": "Accession Number"}
BRIEF_TEXT = {"id": AAT + "300418049", "type": "Type", "_label": "Brief Text"}
DESCRIPTION = {"id": AAT + "300435416", "type": "Type", "_label": "Description", "classified_as": [BRIEF_TEXT]}
COLLECTION = {"id": AAT + "300025976", "type": "Type", "_label": "Collection"}
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
GROUP_TYPES = ("Hub", "Institution", "Archive", "Museum", "University", "NGO", "PublicBody", "Business", "CitizenAssociation",
               "Community")


def collection_of(keeper: str, base: str) -> str:
    """The IRI of the collection (a Linked Art Set) of what a hub or institution keeps: {base}id/collection/{kind}-{slug}."""
    return base + "id/collection/" + keeper[len(base) + 3:].replace("/", "-")


def keeper_of_collection(iri: str, base: str) -> str | None:
    """The hub or institution a collection IRI is of (the inverse of collection_of), or None."""
    prefix = base + "id/collection/"
    if not iri.startswith(prefix):
        return None
    kind, dash, slug = iri[len(prefix):].partition("-")
    return f"{base}id/{kind}/{slug}" if dash and kind and slug else None


def visual_of(asset: str, base: str) -> str:
    """The IRI of what a tangible asset shows (a Linked Art VisualItem, `about` its themes): {base}id/visual/{slug}."""
    return base + "id/visual/" + asset.rsplit("/", 1)[-1]


def asset_of_visual(iri: str, base: str) -> str | None:
    """The tangible asset a visual item IRI is of (the inverse of visual_of), or None."""
    return base + "id/asset/" + iri.rsplit("/", 1)[-1] if iri.startswith(base + "id/visual/") else None


def _texts(store: Store, subject: NamedNode, kinds: tuple[tuple[str, dict[str, Any]], ...], type_name: str) -> list[dict[str, Any]]:
    """The literals of the given properties as Linked Art `Name`s or `LinguisticObject`s, each classified and in its
    language, without repeats."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for prop, kind in kinds:
        for o in _objects(store, subject, prop):
            if isinstance(o, Literal):
                text: dict[str, Any] = {"type": type_name, "content": o.value, "classified_as": [kind]}
                if _language(o.language or ""):
                    text["language"] = _language(o.language or "")
                found.setdefault((o.value, json.dumps(text.get("language"))), text)
    return list(found.values())


def _names(store: Store, subject: NamedNode) -> list[dict[str, Any]]:
    """Every label as a Name: rdfs:label and skos:prefLabel are primary names, skos:altLabel alternate ones."""
    return _texts(store, subject, ((RDFS_LABEL, PRIMARY_NAME), (SKOS_PREF, PRIMARY_NAME), (SKOS + "altLabel", ALTERNATE_NAME)), "Name")


def _statements(store: Store, subject: NamedNode, ontology: str) -> list[dict[str, Any]]:
    """Descriptions and definitions as statements, classified as descriptions (brief texts)."""
    properties = (ontology + "description", "http://purl.org/dc/terms/description", RDFS_COMMENT, SKOS + "definition")
    return _texts(store, subject, tuple((prop, DESCRIPTION) for prop in properties), "LinguisticObject")


def _record(store: Store, iri: str, kind: str) -> dict[str, Any]:
    """What every record has: context, id, type, a _label, its names."""
    subject = NamedNode(iri)
    record: dict[str, Any] = {"@context": CONTEXT_URL, "id": iri, "type": kind,
                              "_label": _label(store, iri) or iri.rsplit("/", 1)[-1]}
    names = _names(store, subject)
    if names:
        record["identified_by"] = names
    return record


def _titled(iri: str, kind: str, title: str) -> dict[str, Any]:
    """A record of something that has no statements of its own (a collection, what an object shows): its title as
    its label and its primary name."""
    return {"@context": CONTEXT_URL, "id": iri, "type": kind, "_label": title,
            "identified_by": [{"type": "Name", "content": title, "classified_as": [PRIMARY_NAME]}]}


def _refs(store: Store, subject: NamedNode, predicates: tuple[str, ...], kind: str) -> list[dict[str, Any]]:
    return [_reference(store, o.value, kind) for p in predicates for o in _objects(store, subject, p) if isinstance(o, NamedNode)]


def _types_of(store: Store, iri: str) -> set[str]:
    return {o.value for o in _objects(store, NamedNode(iri), RDF_TYPE.value) if isinstance(o, NamedNode)}


def _in_scheme(store: Store, concept: str, scheme_suffix: str) -> bool:
    return any(isinstance(o, NamedNode) and o.value.endswith(scheme_suffix)
               for o in _objects(store, NamedNode(concept), SKOS + "inScheme"))


def timespan(store: Store, node: Any) -> dict[str, Any] | None:
    """The time span of `node` (crm:P4) as a Linked Art TimeSpan: `begin_of_the_begin`, `end_of_the_end`; None without."""
    for span in _objects(store, node, CRM + "P4_has_time-span"):
        found: dict[str, Any] = {"type": "TimeSpan"}
        for prop in ("P82a_begin_of_the_begin", "P82b_end_of_the_end"):
            for value in _objects(store, span, CRM + prop):
                if isinstance(value, Literal):
                    found[prop.split("_", 1)[1]] = value.value
        return found if len(found) > 1 else None
    return None


def linked_art_kind(store: Store, iri: str, ontology: str, base: str) -> str | None:
    """The Linked Art class of the record `iri` has here (HumanMadeObject, Group, Person, Type, Place, Set, VisualItem), or None."""
    groups = {ontology + t for t in GROUP_TYPES}
    keeper = keeper_of_collection(iri, base)
    if keeper is not None:
        return "Set" if _types_of(store, keeper) & groups else None
    asset = asset_of_visual(iri, base)
    if asset is not None:
        return "VisualItem" if ontology + "TangibleAsset" in _types_of(store, asset) and _themes(store, asset, ontology) else None
    types = _types_of(store, iri)
    if ontology + "TangibleAsset" in types:
        return "HumanMadeObject"
    if types & groups:
        return "Group"
    if SKOS + "Concept" in types:
        return "Type"
    if ontology + "Place" in types:
        return "Place"
    if ontology + "Person" in types:
        return "Person"
    return None


def _themes(store: Store, asset: str, ontology: str) -> list[str]:
    return [o.value for o in _objects(store, NamedNode(asset), CRM + "P2_has_type")
            if isinstance(o, NamedNode) and _in_scheme(store, o.value, "/scheme/themes")]


def describe(store: Store, iri: str, ontology: str, base: str) -> dict[str, Any]:
    """The Linked Art record of `iri`, whatever its kind; NotAnObject when Linked Art has no record for it."""
    kind = linked_art_kind(store, iri, ontology, base)
    if kind == "HumanMadeObject":
        return describe_object(store, iri, ontology, base)
    if kind is None:
        raise NotAnObject(f"<{iri}> has no Linked Art form here (objects, hubs and institutions, concepts, places, "
                          "collections and what objects show have one)")
    subject = NamedNode(iri)
    if kind == "Set":
        keeper = keeper_of_collection(iri, base) or ""
        return {**_titled(iri, "Set", f"Collection of {_label(store, keeper) or keeper}"), "classified_as": [COLLECTION]}
    if kind == "VisualItem":
        asset = asset_of_visual(iri, base) or ""
        return {**_titled(iri, "VisualItem", f"What {_label(store, asset) or asset} shows"),
                "about": [_reference(store, theme, "Type") for theme in _themes(store, asset, ontology)]}
    record = _record(store, iri, kind)
    statements = _statements(store, subject, ontology)
    if statements:
        record["referred_to_by"] = statements
    if kind == "Group":
        classes = _refs(store, subject, (ontology + "hubType", ontology + "institutionKind"), "Type")
        if classes:
            record["classified_as"] = classes
        residence = _refs(store, subject, (ontology + "basedIn",), "Place")
        if residence:
            record["residence"] = residence
        for formation in _objects(store, subject, CRM + "P95i_was_formed_by"):
            formed: dict[str, Any] = {"type": "Formation"}
            if (span := timespan(store, formation)) is not None:
                formed["timespan"] = span
            founders = [_reference(store, o.value, linked_art_kind(store, o.value, ontology, base) or "Group")
                        for o in _objects(store, formation, CRM + "P14_carried_out_by") if isinstance(o, NamedNode)]
            if founders:
                formed["carried_out_by"] = founders
            record["formed_by"] = formed
            break
    elif kind == "Type":
        broader = _refs(store, subject, (SKOS + "broader",), "Type")
        if broader:
            record["broader"] = broader
    elif kind == "Place":
        within = _refs(store, subject, (CRM + "P89_falls_within",), "Place")
        if within:
            record["part_of"] = within
        for wkt in _objects(store, subject, CRM + "P168_place_is_defined_by"):
            if isinstance(wkt, Literal):
                record["defined_by"] = wkt.value
                break
    equivalents = [{"id": o.value, "type": kind} for p in EQUIVALENTS for o in _objects(store, subject, p) if isinstance(o, NamedNode)]
    if equivalents:
        record["equivalent"] = equivalents
    return record


def describe_object(store: Store, iri: str, ontology: str, base: str) -> dict[str, Any]:
    """The Linked Art record of a tangible heritage asset.

    Each property goes to the Linked Art term with its meaning, or nowhere: hh:keptBy (P50 has current keeper) is
    `current_custodian`; hh:ownedBy (P51 former or current owner) and hh:locatedIn (P53 former or current
    location) have no Linked Art term (which has only current owner and location) and are left out; themes are
    what the object shows (`shows` a VisualItem `about` them), other types classify it.
    """
    subject = NamedNode(iri)
    if ontology + "TangibleAsset" not in _types_of(store, iri):
        raise NotAnObject(f"<{iri}> is not a tangible asset; Linked Art describes objects")
    record = _record(store, iri, "HumanMadeObject")
    identifiers = [{"type": "Identifier", "content": o.value, "classified_as": [ACCESSION_NUMBER]}
                   for o in _objects(store, subject, ontology + "inventoryNumber") if isinstance(o, Literal)]
    if identifiers:
        record["identified_by"] = record.get("identified_by", []) + identifiers
    themes = _themes(store, iri, ontology)
    types = [_reference(store, o.value, "Type") for o in _objects(store, subject, CRM + "P2_has_type")
             if isinstance(o, NamedNode) and o.value not in themes]
    if types:
        record["classified_as"] = types
    statements = _statements(store, subject, ontology)
    if statements:
        record["referred_to_by"] = statements
    keepers = [o.value for o in _objects(store, subject, ontology + "keptBy") if isinstance(o, NamedNode)]
    if keepers:
        record["member_of"] = [{"id": collection_of(k, base), "type": "Set", "_label": f"Collection of {_label(store, k) or k}"}
                               for k in keepers]
        record["current_custodian"] = [_reference(store, k, "Group") for k in keepers]
    if themes:
        record["shows"] = [{"id": visual_of(iri, base), "type": "VisualItem", "_label": f"What {record['_label']} shows"}]
    created = [o.value for o in _objects(store, subject, "http://purl.org/dc/terms/created") if isinstance(o, Literal)]
    if created:
        day = created[0][:10]
        record["produced_by"] = {"type": "Production", "timespan": {
            "type": "TimeSpan", "begin_of_the_begin": f"{day}T00:00:00Z", "end_of_the_end": f"{day}T23:59:59Z"}}
    equivalents = [{"id": o.value, "type": "HumanMadeObject"} for p in EQUIVALENTS
                   for o in _objects(store, subject, p) if isinstance(o, NamedNode)]
    if equivalents:
        record["equivalent"] = equivalents
    return record
