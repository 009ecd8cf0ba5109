"""What a write changed: the quads it added and removed, graph by graph.

Everything derived from the data (validation, the change feed, the label
index, triple counts, the dataset statistics) follows the change rather than
the store: a write's cost grows with the delta, not with the store around it.

A graph's change is *listed* (the exact quads added and removed) when it is
small enough to hold in memory: a load that appends to a graph records what
it added as it goes, and any other change to a graph (replace, update, drop)
is found by comparing the graph before and after, as long as both sides are
under :data:`LISTED_MAX` quads. A larger change is *whole*: every quad of the
graph's old and new content counts as changed. A whole change still costs the
size of that one graph, never the size of the store.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, Store

#: Above this many quads on either side, a graph's change is treated as whole.
LISTED_MAX = 100_000

RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SUBCLASS = NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")

Node = NamedNode | BlankNode


def graph_term(graph: str) -> NamedNode | DefaultGraph:
    """The store term of a graph name ("" is the default graph)."""
    return NamedNode(graph) if graph else DefaultGraph()


def has_quads(store: Store, graph: str) -> bool:
    """Whether `graph` ("" the default graph) holds any statement in `store` (one lookup, not a count)."""
    return next(iter(store.quads_for_pattern(None, None, None, graph_term(graph))), None) is not None


@dataclass
class GraphChange:
    """One graph's change: listed quads, or `whole` (its entire old and new content)."""

    added: set[Quad] = field(default_factory=set)
    removed: set[Quad] = field(default_factory=set)
    whole: bool = False

    def __len__(self) -> int:
        return len(self.added) + len(self.removed)


@dataclass
class Delta:
    """The change a commit makes, graph by graph (graph names as in WriteTransaction; "" is the default graph)."""

    graphs: dict[str, GraphChange] = field(default_factory=dict)
    #: The whole dataset was replaced (restore): nothing can be derived from the previous generation.
    restored: bool = False

    @property
    def listed(self) -> dict[str, GraphChange]:
        return {g: c for g, c in self.graphs.items() if not c.whole}

    @property
    def whole_graphs(self) -> list[str]:
        return sorted(g for g, c in self.graphs.items() if c.whole)

    def quads(self) -> Iterator[tuple[Quad, bool]]:
        """Every listed quad with True if it was added, False if removed."""
        for change in self.listed.values():
            for quad in change.added:
                yield quad, True
            for quad in change.removed:
                yield quad, False

    def touches_class_hierarchy(self) -> bool:
        """A listed rdfs:subClassOf statement changed (what every target and sh:class test depends on)."""
        return any(quad.predicate == SUBCLASS for quad, _ in self.quads())

    def is_empty(self) -> bool:
        return not self.restored and all(not c.whole and not len(c) for c in self.graphs.values())


def _limited(quads: Iterable[Quad], limit: int) -> set[Quad] | None:
    """The quads as a set, or None if there are more than `limit`."""
    found = set(itertools.islice(quads, limit + 1))
    return None if len(found) > limit else found


def compare_graph(old: Store, new: Store, graph: str, *, limit: int | None = None) -> GraphChange:
    """The change to one graph between two stores: listed if both sides hold at most `limit` quads, else whole."""
    limit = LISTED_MAX if limit is None else limit
    name = graph_term(graph)
    before = _limited(old.quads_for_pattern(None, None, None, name), limit)
    if before is None:
        return GraphChange(whole=True)
    after = _limited(new.quads_for_pattern(None, None, None, name), limit)
    if after is None:
        return GraphChange(whole=True)
    return GraphChange(added=after - before, removed=before - after)
