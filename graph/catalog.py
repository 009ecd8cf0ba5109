"""Read-side summaries the pages need (hubs for the home page), in any language."""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Store

from .iris import Namespaces
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


def hub_summaries(store: Store, namespaces: Namespaces, language: str = "en") -> list[HubSummary]:
    """Every hub with its label, description and coordinates (its own place's, else an enclosing place's)."""
    hh = namespaces.ontology
    rows = select(store, f"""
        PREFIX hh: <{hh}>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX geo: <http://www.w3.org/2003/01/geo/wgs84_pos#>
        PREFIX crm: <http://www.cidoc-crm.org/cidoc-crm/>
        SELECT ?hub ?label ?description ?placeLabel ?lat ?long WHERE {{
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
    return sorted(hubs, key=lambda h: h.label.lower())
