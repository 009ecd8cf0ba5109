"""Entity reconciliation (W3C Reconciliation API 0.2) over the label index.

`reconcile` answers one query: candidates from the full-text label index
(filtered by type, superclasses included), scored by :func:`labels.score`
on their best label in any language, then by property conditions when given
(each condition holds when the candidate has that property with the given
entity, or with a literal or a linked thing's label equal to the given text).
A candidate is a `match` only when it is the single one with an exact label and
every condition holds. `extend` reads property values for data extension.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import Literal, NamedNode, Store, Variable

from .authorities import AUTHORITIES, LINK_PROPERTIES, authority_of
from .catalog import FALLS_WITHIN
from .labels import LABEL_PROPERTIES, LabelIndex, fold, score

NAME_WEIGHT = 0.7  # with property conditions, the label makes 70 % of the score and the conditions 30 %
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
DESCRIPTION = "http://purl.org/dc/terms/description"
#: Data extension's property for a candidate's identifier in an authority file: `authority:wikidata` gives `Q42`.
AUTHORITY_PROPERTY = "authority:"


@dataclass(frozen=True)
class Condition:
    property: str
    values: tuple[str | dict[str, Any], ...]


@dataclass
class Result:
    id: str
    name: str
    score: float
    match: bool
    types: list[dict[str, str]]
    features: list[dict[str, Any]] = field(default_factory=list)
    description: str | None = None
    #: The candidate's links to authority files (owl:sameAs, skos:exactMatch, skos:closeMatch into their namespaces).
    same_as: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.id, "name": self.name, "score": self.score, "match": self.match,
                                 "type": self.types, "features": self.features}
        if self.description:
            found["description"] = self.description
        if self.same_as:
            found["sameAs"] = self.same_as  # beside the standard fields, as the schemas allow
        return found


class Reconciler:
    """Reconciliation against one store snapshot and its label index."""

    def __init__(self, store: Store, index: LabelIndex, language: str = "en") -> None:
        self.store = store
        self.index = index
        self.language = language
        self._labels: dict[str, list[tuple[str, str]]] = {}

    def labels_of(self, iri: str) -> list[tuple[str, str]]:
        """The labels of `iri`, read once per reconciler (a batch names the same types and candidates again and again)."""
        found = self._labels.get(iri)
        if found is None:
            found = self._labels[iri] = self.index.labels_of(iri)
        return found

    def label(self, iri: str) -> str:
        """The label of `iri` in the preferred language, else any, else the IRI's last segment."""
        found = self.labels_of(iri)
        for wanted in (self.language, "en", ""):
            for text, language in found:
                if language == wanted:
                    return text
        return found[0][0] if found else iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]

    def describe_type(self, iri: str) -> dict[str, str]:
        return {"id": iri, "name": self.label(iri)}

    def description(self, iri: str) -> str | None:
        for prop in (DESCRIPTION, COMMENT):
            texts = [q.object for q in self.store.quads_for_pattern(NamedNode(iri), NamedNode(prop), None, None)
                     if isinstance(q.object, Literal)]
            for text in sorted(texts, key=lambda t: t.language != self.language):
                return text.value[:300]
        return None

    def reconcile(self, query: str, *, types: Sequence[str] = (), limit: int = 5,
                  conditions: Sequence[Condition] = ()) -> list[Result]:
        candidates = self.index.search(query, types=types, limit=max(limit * 4, 20))
        results = []
        for candidate in candidates:
            name_score = max((score(query, text) for text, _ in self.labels_of(candidate.iri)), default=0.0)
            features: list[dict[str, Any]] = [{"id": "name", "value": name_score}]
            held = [self._holds(candidate.iri, condition) for condition in conditions]
            for condition, ok in zip(conditions, held, strict=True):
                features.append({"id": f"property:{condition.property}", "value": ok})
            total = name_score if not conditions else round(
                NAME_WEIGHT * name_score + (1 - NAME_WEIGHT) * 100 * sum(held) / len(held), 2)
            results.append(Result(candidate.iri, self.label(candidate.iri), total, False,
                                  [self.describe_type(t) for t in self.shown_types(candidate.types)], features,
                                  self.description(candidate.iri), self.authority_links(candidate.iri)))
        results.sort(key=lambda r: (-r.score, r.name))
        exact = [r for r in results if r.features[0]["value"] == 100.0 and all(f["value"] for f in r.features[1:])]
        if len(exact) == 1:
            exact[0].match = True
        return results[:limit]

    def authority_links(self, iri: str) -> list[str]:
        """The authority IRIs `iri` is the same as or matches (Wikidata, GeoNames, VIAF, ISIL, Getty), in order."""
        found = {q.object.value for prop in LINK_PROPERTIES
                 for q in self.store.quads_for_pattern(NamedNode(iri), NamedNode(prop), None, None)
                 if isinstance(q.object, NamedNode) and authority_of(q.object.value) is not None}
        return sorted(found)

    def shown_types(self, types: Iterable[str]) -> list[str]:
        """The types worth showing a user: ours and SKOS, else the first few."""
        ours = [t for t in types if "/ontology/" in t or t.startswith("http://www.w3.org/2004/02/skos/core#")]
        return ours or list(types)[:3]

    def _holds(self, iri: str, condition: Condition) -> bool:
        """Whether `iri` has a value of the condition's property that matches: the same IRI, a label, or, for a place,
        a place it falls within (crm:P89_falls_within, transitively: a museum in Turin's Quartieri Militari is in Turin)."""
        objects = [q.object for q in self.store.quads_for_pattern(NamedNode(iri), NamedNode(condition.property), None, None)]
        objects += self._within(objects)
        for wanted in condition.values:
            if isinstance(wanted, dict):
                if any(isinstance(o, NamedNode) and o.value == wanted.get("id") for o in objects):
                    return True
                continue
            text = fold(str(wanted))
            for found in objects:
                if isinstance(found, Literal) and fold(found.value) == text:
                    return True
                if isinstance(found, NamedNode) and (found.value == str(wanted) or any(
                        fold(label) == text for label, _ in self.labels_of(found.value))):
                    return True
        return False

    def _within(self, places: Sequence[Any], most: int = 50) -> list[NamedNode]:
        """The places the given ones fall within, transitively (at most `most` of them: a bounded walk)."""
        found: list[NamedNode] = []
        frontier = [p for p in places if isinstance(p, NamedNode)]
        seen = set(frontier)
        while frontier and len(found) < most:
            place = frontier.pop()
            for quad in self.store.quads_for_pattern(place, FALLS_WITHIN, None, None):
                if isinstance(quad.object, NamedNode) and quad.object not in seen:
                    seen.add(quad.object)
                    found.append(quad.object)
                    frontier.append(quad.object)
        return found

    # ------------------------------------------------------------ data extension

    def extend(self, ids: Sequence[str], properties: Sequence[str]) -> dict[str, Any]:
        rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for iri in ids:
            row: dict[str, list[dict[str, Any]]] = {}
            for prop in properties:
                if prop.startswith(AUTHORITY_PROPERTY):  # the identifiers as people write them: Q42, 3165524
                    authority = AUTHORITIES[prop[len(AUTHORITY_PROPERTY):]]
                    row[prop] = [{"str": authority.identifier(link)} for link in self.authority_links(iri)
                                 if link.startswith(authority.namespace)]
                    continue
                values: list[dict[str, Any]] = []
                seen: set[str] = set()
                for quad in self.store.quads_for_pattern(NamedNode(iri), NamedNode(prop), None, None):
                    value = quad.object
                    key = str(value)
                    if key in seen:
                        continue
                    seen.add(key)
                    if isinstance(value, NamedNode):
                        values.append({"id": value.value, "name": self.label(value.value)})
                    elif isinstance(value, Literal):
                        values.append(_literal_value(value))
                row[prop] = values
            rows[iri] = row
        return {"meta": [{"id": p, "name": self.property_name(p)} for p in properties], "rows": rows}

    def property_name(self, prop: str) -> str:
        if prop.startswith(AUTHORITY_PROPERTY) and prop[len(AUTHORITY_PROPERTY):] in AUTHORITIES:
            return f"{AUTHORITIES[prop[len(AUTHORITY_PROPERTY):]].name} identifier"
        return self.label(prop)

    def propose_properties(self, type_iri: str, limit: int = 20) -> list[dict[str, str]]:
        """The properties instances of `type_iri` (or of any of its subclasses) use most, from up to 500 of them."""
        counts: dict[str, int] = {}
        rdf_type = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        classes = [row["c"] for row in self.store.query(  # type: ignore[union-attr]
            "SELECT DISTINCT ?c ?type WHERE { ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf>* ?type }",
            use_default_graph_as_union=True, substitutions={Variable("type"): NamedNode(type_iri)})] or [NamedNode(type_iri)]
        seen: set[Any] = set()
        for quad in (q for cls in classes for q in self.store.quads_for_pattern(None, rdf_type, cls, None)):
            if quad.subject in seen:
                continue
            if len(seen) >= 500:
                break
            seen.add(quad.subject)
            for statement in self.store.quads_for_pattern(quad.subject, None, None, None):
                prop = statement.predicate.value
                if prop not in LABEL_PROPERTIES and statement.predicate != rdf_type:
                    counts[prop] = counts.get(prop, 0) + 1
        linked = sorted({a.key for s in seen if isinstance(s, NamedNode)
                         for link in self.authority_links(s.value) if (a := authority_of(link))}) \
            if any(p in LINK_PROPERTIES for p in counts) else []
        ranked = sorted(counts, key=lambda p: (-counts[p], p))[:limit]
        return [{"id": p, "name": self.label(p)} for p in ranked] + \
            [{"id": AUTHORITY_PROPERTY + key, "name": f"{AUTHORITIES[key].name} identifier"} for key in linked]


def _literal_value(value: Literal) -> dict[str, Any]:
    datatype = value.datatype.value.rsplit("#", 1)[-1] if value.datatype else ""
    try:
        if datatype in ("integer", "int", "long", "nonNegativeInteger", "positiveInteger"):
            return {"int": int(value.value)}
        if datatype in ("decimal", "double", "float"):
            return {"float": float(value.value)}
    except ValueError:
        pass
    if datatype == "dateTime" and "T" in value.value:
        return {"date": value.value}
    return {"str": value.value}
