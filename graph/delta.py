"""What a write changed: the quads it added and removed, graph by graph.

Everything derived from the data (validation, the change feed, the label
index, triple counts, the dataset statistics) follows the change rather than
the store: a write's cost grows with the delta, not with the store around it.

A graph's change is *listed* (the exact quads added and removed) when it is
small enough to hold in memory: a load that appends to a graph records what
it added as it goes, and any other change to a graph (replace, update, drop)
is found by comparing the graph before and after, as long as both sides are
under :data:`LISTED_MAX` quads and the change itself under
:data:`LISTED_CHANGE_MAX`. A larger change is *whole*: every quad of the
graph's old and new content counts as changed. A whole change still costs the
size of that one graph, never the size of the store.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, RdfFormat, Store

#: Above this many quads on either side, a graph's change is treated as whole.
LISTED_MAX = 100_000
#: A change of more quads than this is treated as whole too: each listed quad costs about 0.3 ms in the commit's
#: steps (its own lookups, focus nodes, feed body), each quad of a whole graph 0.1 ms (read once as text).
LISTED_CHANGE_MAX = 2_000

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
    #: The commit's work copy: temporary files go beside it, named after it (a writer removes what a crash leaves).
    scratch: Path | None = field(default=None, repr=False, compare=False)
    #: N-Triples dumps of graphs changed whole, made once per commit (see :meth:`lines`).
    _dumps: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _shared: dict[tuple[str, frozenset[str]], frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

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

    # ----------------------------------------------------- a graph changed whole, read once

    def lines(self, store: Store, graph: str) -> Iterator[str]:
        """The N-Triples lines (without their end of line) of `graph` (one this delta changed) as it is in `store`.

        Every step of a commit after a large load (the entailed graph, the feed,
        the statistics, the label index) reads the new content of the graph;
        reading it from the store term by term costs about 10 µs a statement,
        the store's own dump a tenth of that in Rust. So it is dumped once, to a
        temporary file read a line at a time (flat memory), and every step reads
        that file. The callers only write other graphs meanwhile (derived ones).
        Lines of one subject are consecutive (the store keeps a graph in subject
        order).
        """
        path = self._dumps.get(graph)
        if path is None:
            path = self._dumps[graph] = self.scratch_file(".nt")
            store.dump(path, RdfFormat.N_TRIPLES, from_graph=graph_term(graph))
        with open(path, encoding="utf-8", newline="\n") as text:
            for line in text:
                yield line[:-1]

    def statements(self, store: Store, graph: str) -> Iterator[tuple[str, str, str]]:
        """:meth:`lines` as (subject, predicate, object), each as N-Triples writes it (IRIs and blank nodes hold no
        space; the object is the rest of the line before ` .`)."""
        for line in self.lines(store, graph):
            first = line.index(" ")
            second = line.index(" ", first + 1)
            yield line[:first], line[first + 1:second], line[second + 1:-2]

    def scratch_file(self, suffix: str) -> str:
        """A new empty temporary file for this commit (beside the work copy, else in the system's temporary directory);
        the caller removes it (or :meth:`close`, for the dumps)."""
        if self.scratch is not None:
            handle, path = tempfile.mkstemp(suffix=suffix, dir=self.scratch.parent, prefix=self.scratch.name + "-")
        else:
            handle, path = tempfile.mkstemp(suffix=suffix, prefix="heritage-hubs-")
        os.close(handle)
        return str(path)

    #: Up to this many statements in the other graphs, the other graphs' subjects are listed first (see below).
    SHARED_SCAN_OTHERS = 500_000

    def shared_subjects(self, store: Store, graph: str, excluded: Collection[str]) -> frozenset[str]:
        """Subjects of `graph` (as N-Triples: `<iri>`, `_:id`) that have statements in another graph of `store` too
        (the default graph included), other than those in `excluded` (the derived graphs). Once per commit and graph.

        A join from the distinct subjects of the smaller side: the other graphs' when they are small (a load into a
        young store), else the graph's own, each looked up in the other side. (Oxigraph's FILTER EXISTS costs about
        0.1 ms a subject: 20 s for a million-statement load, against 1–5 s for the join.)
        """
        key = (graph, frozenset(excluded))
        found = self._shared.get(key)
        if found is None:
            skip = {graph, *excluded}
            others: list[NamedNode | DefaultGraph] = [g for g in store.named_graphs() if isinstance(g, NamedNode) and g.value not in skip]
            if graph:
                others.append(DefaultGraph())
            if not others:
                found = frozenset()
            else:
                options: dict[str, object] = {}
                if graph:  # the other graphs as the default graph (a union the store reads graph by graph)
                    within, elsewhere = f"GRAPH <{graph}> {{ ?s ?p ?o }}", "?s ?p2 ?o2"
                    options["default_graph"] = others
                else:  # the default graph itself changed: the others are named graphs
                    named = " ".join(str(g) for g in others)
                    within, elsewhere = "?s ?p ?o", f"VALUES ?g {{ {named} }} GRAPH ?g {{ ?s ?p2 ?o2 }}"
                bounded = f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ SELECT ?s WHERE {{ {elsewhere} }} LIMIT {self.SHARED_SCAN_OTHERS + 1} }} }}"
                size = next(iter(store.query(bounded, **options)))[0]  # type: ignore[arg-type]
                first, then = (elsewhere, within) if int(size.value) <= self.SHARED_SCAN_OTHERS else (within, elsewhere)
                rows = store.query(f"SELECT DISTINCT ?s WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ {first} }} }} {then} }}", **options)  # type: ignore[arg-type]
                found = frozenset(str(row[0]) for row in rows)  # type: ignore[union-attr]
            self._shared[key] = found
        return found

    def close(self) -> None:
        """Remove the dumps :meth:`lines` made."""
        for path in self._dumps.values():
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        self._dumps.clear()


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
    return listed_or_whole(after - before, before - after, limit=limit)


def listed_or_whole(added: set[Quad], removed: set[Quad] | None = None, *, limit: int | None = None) -> GraphChange:
    """The change as listed quads, or whole if it has more than :data:`LISTED_CHANGE_MAX` (or `limit`) of them: each
    listed quad costs more in the commit's steps than a quad of a whole graph read once as text."""
    change = GraphChange(added=added, removed=removed or set())
    most = LISTED_CHANGE_MAX if limit is None else min(limit, LISTED_CHANGE_MAX)
    return GraphChange(whole=True) if len(change) > most else change
