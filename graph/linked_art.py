"""Linked Art: heritage assets as Linked Art JSON-LD, and Linked Art records read as CIDOC-CRM triples.

Output (:func:`describe_object`) follows the Linked Art object patterns: a
`HumanMadeObject` with `identified_by` (a `Name` per label, with its language,
and the inventory number as an `Identifier`), `classified_as` (its themes and
original function), `referred_to_by` (descriptions as `LinguisticObject`s), `member_of`
(the collection of the institution that keeps it), `former_or_current_keeper`,
`current_owner`, `current_location`, `produced_by` (a date of creation) and
`equivalent` (sameAs links). Only tangible assets have a Linked Art form:
Linked Art describes objects, not practices.

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

CONTEXT_URL = "https://linked.art/ns/v1/linked-art.json"
PROFILE = CONTEXT_URL
MEDIA_TYPE = f'application/ld+json;profile="{PROFILE}"'
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
CRM = "http://www.cidoc-crm.org/cidoc-crm/"
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


def describe_object(store: Store, iri: str, ontology: str) -> dict[str, Any]:
    """The Linked Art JSON-LD of a tangible heritage asset."""
    subject = NamedNode(iri)
    types = {o.value for o in _objects(store, subject, RDF_TYPE.value) if isinstance(o, NamedNode)}
    if ontology + "TangibleAsset" not in types:
        raise NotAnObject(f"<{iri}> is not a tangible asset; Linked Art describes objects")
    record: dict[str, Any] = {"@context": CONTEXT_URL, "id": iri, "type": "HumanMadeObject"}
    label = _label(store, iri)
    if label:
        record["_label"] = label
    names = [{"type": "Name", "content": o.value, "language": _language(o.language or "")}
             for o in _objects(store, subject, RDFS_LABEL) if isinstance(o, Literal)]
    for name in names:
        if not name["language"]:
            del name["language"]
    identifiers = [{"type": "Identifier", "content": o.value,
                    "classified_as": [{"id": AAT + "300312355", "type": "Type", "_label": "accession number"}]}
                   for o in _objects(store, subject, ontology + "inventoryNumber") if isinstance(o, Literal)]
    if names or identifiers:
        record["identified_by"] = names + identifiers
    concepts = [_reference(store, o.value, "Type") for p in (CRM + "P2_has_type", ontology + "originalFunction")
                for o in _objects(store, subject, p) if isinstance(o, NamedNode)]
    if concepts:
        record["classified_as"] = concepts
    descriptions = [{"type": "LinguisticObject", "content": o.value, "language": _language(o.language or ""),
                     "classified_as": [{"id": AAT + "300435416", "type": "Type", "_label": "Description"}]}
                    for o in _objects(store, subject, ontology + "description") if isinstance(o, Literal)]
    if descriptions:
        record["referred_to_by"] = descriptions
    keepers = [o.value for o in _objects(store, subject, ontology + "keptBy") if isinstance(o, NamedNode)]
    if keepers:
        record["member_of"] = [{"id": f"{k}#collection", "type": "Set",
                                "_label": f"Collection of {_label(store, k) or k}"} for k in keepers]
        record["former_or_current_keeper"] = [_reference(store, k, "Group") for k in keepers]
    owners = [_reference(store, o.value, "Group") for o in _objects(store, subject, ontology + "ownedBy") if isinstance(o, NamedNode)]
    if owners:
        record["current_owner"] = owners
    places = [_reference(store, o.value, "Place") for o in _objects(store, subject, ontology + "locatedIn") if isinstance(o, NamedNode)]
    if places:
        record["current_location"] = places[0]
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
