"""Dataset statistics kept per store generation, advanced by each write's delta.

VoID needs the number of triples, of entities (IRIs in the dataset's URI
space that are subjects), and a partition per class (instances) and per
property (statements). Counting those over the store takes minutes at ten
million triples, so they are computed once (for a store written before this
file existed, or after a restore) and from then on each commit derives the
next generation's figures from the previous ones and its delta, before the
snapshot is published. The figures live in ``STORE/statistics/<generation>.json``
(written to a temporary name and renamed): a crash before the publish leaves
a file for a generation nobody reads, which the next commit overwrites; a
reader that finds no file for the current generation recomputes it once.

The metadata graph (provenance) is left out: it describes the data, it is
not part of it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store

from .delta import RDF_TYPE, Delta, graph_term, has_quads


@dataclass
class Statistics:
    triples: int = 0
    entities: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"triples": self.triples, "entities": self.entities, "classes": self.classes,
                           "properties": self.properties}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Statistics:
        data = json.loads(text)
        return cls(int(data["triples"]), int(data["entities"]), {str(k): int(v) for k, v in data["classes"].items()},
                   {str(k): int(v) for k, v in data["properties"].items()})


class DatasetStatistics:
    """The statistics files of one store directory."""

    def __init__(self, root: Path, *, entity_space: str, metadata_graph: str, derived_graphs: Iterable[str] = ()) -> None:
        self.directory = Path(root) / "statistics"
        self.entity_space = entity_space
        self.metadata = NamedNode(metadata_graph)
        #: Graphs the figures leave out: the metadata, and what the service derives (the entailed graph).
        self.excluded = {self.metadata, *(NamedNode(g) for g in derived_graphs)}

    def _path(self, generation: str) -> Path:
        return self.directory / f"{generation}.json"

    def read(self, generation: str) -> Statistics | None:
        try:
            return Statistics.from_json(self._path(generation).read_text())
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def write(self, generation: str, stats: Statistics) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{generation}.{uuid.uuid4().hex}"
        partial.write_text(stats.as_json())
        os.replace(partial, self._path(generation))
        for old in self.directory.glob("*.json"):
            if old.stem.isdigit() and old.stem < generation and old.stem not in self._recent(generation):
                old.unlink(missing_ok=True)

    @staticmethod
    def _recent(generation: str) -> set[str]:
        # Keep the few previous generations a slow reader may still be on.
        number = int(generation)
        return {f"{n:08d}" for n in range(max(number - 3, 0), number)}

    def get(self, store: Store, generation: str) -> Statistics:
        """The figures of `generation` (whose snapshot `store` is), computed and kept if missing."""
        found = self.read(generation)
        if found is None:
            found = self.compute(store)
            self.write(generation, found)
        return found

    # ------------------------------------------------------------ counting

    def _is_entity(self, term: object) -> bool:
        return isinstance(term, NamedNode) and term.value.startswith(self.entity_space)

    def compute(self, store: Store) -> Statistics:
        """Every figure from one pass over the store (over a SPARQL engine: from four aggregate queries)."""
        if getattr(store, "answers_in_batches", False):
            return self.compute_by_queries(store)
        stats = Statistics()
        properties: Counter[str] = Counter()
        entities: set[str] = set()
        members: set[tuple[str, str]] = set()
        for quad in store.quads_for_pattern(None, None, None, None):
            if quad.graph_name in self.excluded:
                continue
            stats.triples += 1
            properties[quad.predicate.value] += 1
            if self._is_entity(quad.subject):
                entities.add(quad.subject.value)  # type: ignore[union-attr]
            if quad.predicate == RDF_TYPE and isinstance(quad.object, NamedNode):
                members.add((str(quad.subject), quad.object.value))
        stats.entities = len(entities)
        stats.properties = dict(properties)
        stats.classes = dict(Counter(cls for _, cls in members))
        return stats

    def compute_by_queries(self, store: Store) -> Statistics:
        """The figures of :meth:`compute`, counted by the store's SPARQL engine instead of read statement by statement
        (a store kept in a remote engine would otherwise send all of itself)."""
        from .results import select

        kept = f"FILTER(?g NOT IN ({', '.join(str(g) for g in sorted(self.excluded, key=str))}))"
        space = self.entity_space.replace("\\", "\\\\").replace('"', '\\"')

        def number(term: object) -> int:
            return int(term.value) if isinstance(term, Literal) else 0

        def count(query: str) -> int:
            return sum(number(row["n"]) for row in select(store, query, use_default_graph_as_union=True))

        def counts(query: str) -> dict[str, int]:
            return {str(getattr(row["k"], "value", "")): number(row["n"])
                    for row in select(store, query, use_default_graph_as_union=True)}

        stats = Statistics()
        stats.triples = count(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {kept} }}")
        stats.entities = count(f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {kept} '
                               f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{space}")) }}')
        stats.properties = counts(f"SELECT ?k (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?k ?o }} {kept} }} GROUP BY ?k")
        stats.classes = counts(f"SELECT ?k (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a ?k }} {kept} "
                               "FILTER(isIRI(?k)) } GROUP BY ?k")
        return stats

    def advance(self, previous: Statistics, old: Store, new: Store, delta: Delta) -> Statistics:
        """The figures after `delta` (from `old` to `new`), from those before it."""
        stats = Statistics(previous.triples, previous.entities, dict(previous.classes), dict(previous.properties))
        subjects: set[NamedNode | BlankNode] = set()
        memberships: set[tuple[NamedNode | BlankNode, NamedNode]] = set()

        def count(quads: Iterable[Quad], sign: int) -> None:
            for quad in quads:
                if quad.graph_name in self.excluded:
                    continue
                stats.triples += sign
                key = quad.predicate.value
                stats.properties[key] = stats.properties.get(key, 0) + sign
                if self._is_entity(quad.subject):
                    subjects.add(quad.subject)  # type: ignore[arg-type]
                if quad.predicate == RDF_TYPE and isinstance(quad.object, NamedNode):
                    memberships.add((quad.subject, quad.object))  # type: ignore[arg-type]

        if not delta.listed and len(delta.whole_graphs) == 1 and bool(delta.whole_graphs[0]) and not has_quads(old, delta.whole_graphs[0]):
            return self._with_new_graph(stats, new, delta.whole_graphs[0], delta)
        for change in delta.listed.values():
            count(change.added, 1)
            count(change.removed, -1)
        for graph in delta.whole_graphs:
            name = graph_term(graph)
            # A side that is empty (a new graph, or one dropped) needs no test of the other side.
            was_empty, is_empty = not has_quads(old, graph), not has_quads(new, graph)
            count((q for q in old.quads_for_pattern(None, None, None, name) if is_empty or q not in new), -1)
            count((q for q in new.quads_for_pattern(None, None, None, name) if was_empty or q not in old), 1)
        for subject in subjects:
            stats.entities += self._has_statements(new, subject) - self._has_statements(old, subject)
        for subject, cls in memberships:
            moved = self._is_member(new, subject, cls) - self._is_member(old, subject, cls)
            stats.classes[cls.value] = stats.classes.get(cls.value, 0) + moved
        stats.classes = {k: v for k, v in stats.classes.items() if v > 0}
        stats.properties = {k: v for k, v in stats.properties.items() if v > 0}
        return stats

    def _with_new_graph(self, stats: Statistics, new: Store, graph: str, delta: Delta) -> Statistics:
        """The figures after a graph that did not exist was added (a large load): counted from the commit's one dump
        of it (:meth:`Delta.lines`), not statement by statement from the store.

        Only the new graph changed, so a statement, entity or class member is new
        unless another graph (which is as it was) already has it.
        """
        excluded = {g.value for g in self.excluded}
        shared = delta.shared_subjects(new, graph, excluded)
        type_text = str(RDF_TYPE)
        entity_prefix = "<" + self.entity_space
        properties: Counter[str] = Counter()
        members: Counter[str] = Counter()
        subject = None
        for key, predicate, obj in delta.statements(new, graph):
            properties[predicate] += 1
            if key != subject:  # a subject's lines are consecutive
                subject = key
                if key.startswith(entity_prefix) and key not in shared:
                    stats.entities += 1
            if predicate == type_text and obj.startswith("<") and (key not in shared or not self._member_elsewhere(new, key, obj, graph)):
                members[obj[1:-1]] += 1
        for predicate, n in properties.items():
            stats.triples += n
            stats.properties[predicate[1:-1]] = stats.properties.get(predicate[1:-1], 0) + n
        for cls, n in members.items():
            stats.classes[cls] = stats.classes.get(cls, 0) + n
        return stats

    def _member_elsewhere(self, store: Store, subject: str, cls: str, graph: str) -> bool:
        """Whether `subject a cls` (both as N-Triples) is stated in a graph other than `graph` and the excluded ones."""
        term = BlankNode(subject[2:]) if subject.startswith("_:") else NamedNode(subject[1:-1])
        skip = {*self.excluded, NamedNode(graph)}
        return any(q.graph_name not in skip for q in store.quads_for_pattern(term, RDF_TYPE, NamedNode(cls[1:-1]), None))

    def _has_statements(self, store: Store, subject: NamedNode | BlankNode) -> int:
        return int(any(q.graph_name not in self.excluded for q in store.quads_for_pattern(subject, None, None, None)))

    def _is_member(self, store: Store, subject: NamedNode | BlankNode, cls: NamedNode) -> int:
        return int(any(q.graph_name not in self.excluded for q in store.quads_for_pattern(subject, RDF_TYPE, cls, None)))
