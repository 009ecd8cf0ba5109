"""Read-side summaries the pages need (hubs for the home page), in any language.

A page costs what it shows: the hubs are listed in label order from the
label index (kept per generation, see labels.py), and only the hubs on the
page are then read from the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Store

from .iris import Namespaces
from .labels import LabelIndex, fold
from .results import select

LANGUAGES = ("en", "it", "es")


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
    for lang in (preferred, *LANGUAGES, ""):
        if lang in by_lang:
            return by_lang[lang]
    return next(iter(by_lang.values()), None)


_ORDERS: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
_ORDERS_LOCK = threading.Lock()


def ordered_members(index: LabelIndex, generation: str, cls: str, language: str) -> list[tuple[str, str]]:
    """(IRI, label in `language` or another) of every labelled instance of `cls`, in label order; kept per generation."""
    key = (str(index.path), generation, cls + " " + language)
    with _ORDERS_LOCK:
        found = _ORDERS.get(key)
    if found is not None:
        return found
    labels: dict[str, list[Literal]] = {}
    for resource, label, tag in index.labels_of_members(cls):
        labels.setdefault(resource, []).append(Literal(label, language=tag) if tag else Literal(label))
    chosen = [(resource, pick_language(values, language) or resource) for resource, values in labels.items()]
    chosen.sort(key=lambda item: (fold(item[1]), item[0]))
    with _ORDERS_LOCK:
        if len(_ORDERS) > 32:
            _ORDERS.clear()  # older generations are not asked for again
        _ORDERS[key] = chosen
    return chosen


def hub_page(store: Store, index: LabelIndex, generation: str, namespaces: Namespaces, language: str = "en", *,
             offset: int = 0, limit: int = 24) -> tuple[list[HubSummary], int]:
    """The hubs from `offset` (at most `limit`), in label order, and how many hubs there are."""
    ordered = ordered_members(index, generation, namespaces.ontology + "Hub", language)
    shown = [iri for iri, _ in ordered[offset:offset + limit]]
    return hub_summaries(store, namespaces, language, only=shown), len(ordered)


def hub_summaries(store: Store, namespaces: Namespaces, language: str = "en", *, only: list[str] | None = None) -> list[HubSummary]:
    """Hubs (all, or those in `only`) with label, description and coordinates (their own place's, else an enclosing place's)."""
    if only is not None and not only:
        return []
    hh = namespaces.ontology
    values = "" if only is None else "VALUES ?hub { " + " ".join(f"<{iri}>" for iri in only) + " }"
    rows = select(store, f"""
        PREFIX hh: <{hh}>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX geo: <http://www.w3.org/2003/01/geo/wgs84_pos#>
        PREFIX crm: <http://www.cidoc-crm.org/cidoc-crm/>
        SELECT ?hub ?label ?description ?placeLabel ?lat ?long WHERE {{
          {values}
          ?hub a hh:Hub ; rdfs:label ?label .
          OPTIONAL {{ ?hub hh:description ?description }}
          OPTIONAL {{
            ?hub hh:basedIn ?place . ?place rdfs:label ?placeLabel .
            OPTIONAL {{ ?place geo:lat ?ownLat ; geo:long ?ownLong }}
            OPTIONAL {{ ?place crm:P89_falls_within+ ?within . ?within geo:lat ?upLat ; geo:long ?upLong }}
          }}
          BIND(COALESCE(?ownLat, ?upLat) AS ?lat)
          BIND(COALESCE(?ownLong, ?upLong) AS ?long)
        }}""", use_default_graph_as_union=True)
    labels: dict[str, list[Literal]] = {}
    descriptions: dict[str, list[Literal]] = {}
    places: dict[str, list[Literal]] = {}
    coordinates: dict[str, tuple[float, float]] = {}
    for row in rows:
        hub = row["hub"]
        assert isinstance(hub, NamedNode)
        key = hub.value
        for name, bucket in (("label", labels), ("description", descriptions), ("placeLabel", places)):
            term = row[name]
            if isinstance(term, Literal) and term not in bucket.setdefault(key, []):
                bucket[key].append(term)
        lat, long = row["lat"], row["long"]
        if isinstance(lat, Literal) and isinstance(long, Literal) and key not in coordinates:
            coordinates[key] = (float(lat.value), float(long.value))
    hubs = []
    for key in labels:
        lat_long = coordinates.get(key)
        hubs.append(HubSummary(
            iri=key,
            label=pick_language(labels[key], language) or key,
            description=pick_language(descriptions.get(key, []), language),
            place=pick_language(places.get(key, []), language),
            lat=lat_long[0] if lat_long else None,
            long=lat_long[1] if lat_long else None,
        ))
    if only is not None:
        position = {iri: n for n, iri in enumerate(only)}
        return sorted(hubs, key=lambda h: position[h.iri])
    return sorted(hubs, key=lambda h: h.label.lower())
