"""Read-side summaries the pages need (hubs for the home page), in any language.

A page costs what it shows: the hubs are listed in label order from the
label index (kept per generation, see labels.py), and only the hubs on the
page are then read from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Store

from .iris import Namespaces
from .labels import DISPLAY_LANGUAGES, LabelIndex, in_preferred_language

LANGUAGES = DISPLAY_LANGUAGES


@dataclass(frozen=True)
class HubSummary:
    iri: str
    label: str
    description: str | None
    place: str | None
    lat: float | None
    long: float | None


def pick_language(values: list[Literal], preferred: str) -> str | None:
    """The value in `preferred`, else English, else Italian, else Spanish, else any."""
    by_lang = {v.language or "": v.value for v in values}
    chosen = in_preferred_language(by_lang, preferred)
    if chosen is not None:
        return chosen
    return next(iter(by_lang.values()), None)


def hub_page(store: Store, index: LabelIndex, namespaces: Namespaces, language: str = "en", *,
             offset: int = 0, limit: int = 24) -> tuple[list[HubSummary], int]:
    """The hubs from `offset` (at most `limit`), in label order, and how many hubs there are (`index` at `store`'s generation)."""
    hub = namespaces.ontology + "Hub"
    shown = [iri for iri, _ in index.members(hub, language, offset=offset, limit=limit)]
    return hub_summaries(store, namespaces, shown, language), index.count_members(hub)


RDFS_LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
GEO_LAT = NamedNode("http://www.w3.org/2003/01/geo/wgs84_pos#lat")
GEO_LONG = NamedNode("http://www.w3.org/2003/01/geo/wgs84_pos#long")
FALLS_WITHIN = NamedNode("http://www.cidoc-crm.org/cidoc-crm/P89_falls_within")


def _literals(store: Store, subject: NamedNode, predicate: NamedNode) -> list[Literal]:
    found: list[Literal] = []
    for quad in store.quads_for_pattern(subject, predicate, None, None):
        if isinstance(quad.object, Literal) and quad.object not in found:
            found.append(quad.object)
    return found


def label_in(store: Store, iri: str, language: str) -> str | None:
    """An rdfs:label of `iri` from the store, by the one language preference rule (pick_language)."""
    return pick_language(_literals(store, NamedNode(iri), RDFS_LABEL), language)


def _objects(store: Store, subject: NamedNode, predicate: NamedNode) -> list[NamedNode]:
    return sorted({q.object for q in store.quads_for_pattern(subject, predicate, None, None) if isinstance(q.object, NamedNode)},
                  key=lambda n: n.value)


def _coordinates(store: Store, place: NamedNode, *, depth: int = 8) -> tuple[float, float] | None:
    """The place's own point, else the nearest enclosing place's (crm:P89_falls_within, a few levels up)."""
    seen: set[NamedNode] = set()
    level = [place]
    for _ in range(depth):
        for node in level:
            lat, long = _literals(store, node, GEO_LAT), _literals(store, node, GEO_LONG)
            if lat and long:
                try:
                    return float(lat[0].value), float(long[0].value)
                except ValueError:
                    continue
        seen.update(level)
        level = [up for node in level for up in _objects(store, node, FALLS_WITHIN) if up not in seen]
        if not level:
            break
    return None


def hub_summaries(store: Store, namespaces: Namespaces, hubs: list[str], language: str = "en") -> list[HubSummary]:
    """The hubs `hubs` (in that order) with label, description and coordinates (their own place's, else an enclosing place's).

    Read by lookups on each hub (its statements, its place's, the places
    that place falls within), so the cost follows the number of hubs asked for.
    """
    hub_class = NamedNode(namespaces.ontology + "Hub")
    subjects = [NamedNode(iri) for iri in hubs]
    based_in = NamedNode(namespaces.ontology + "basedIn")
    description = NamedNode(namespaces.ontology + "description")
    summaries: list[HubSummary] = []
    for hub in subjects:
        labels = _literals(store, hub, RDFS_LABEL)
        if not labels or next(iter(store.quads_for_pattern(hub, RDF_TYPE, hub_class, None)), None) is None:
            continue
        places = _objects(store, hub, based_in)
        place_labels = [label for place in places for label in _literals(store, place, RDFS_LABEL)]
        point = next((found for place in places if (found := _coordinates(store, place)) is not None), None)
        summaries.append(HubSummary(
            iri=hub.value,
            label=pick_language(labels, language) or hub.value,
            description=pick_language(_literals(store, hub, description), language),
            place=pick_language(place_labels, language),
            lat=point[0] if point else None,
            long=point[1] if point else None,
        ))
    return summaries
