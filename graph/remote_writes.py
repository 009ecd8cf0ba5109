"""Writes through the service to a SPARQL engine (graph/remote.py): validated here, then sent as one SPARQL Update.

The engine has no transaction that spans requests, so nothing is written to it
before the write is known to be good. A write runs on two private in-memory
stores: `old` and `new` receive the current content of every graph
the write touches (pulled from the engine when first touched), and the write
itself (a load, a replace, a drop) runs on `new` with the same code as on the
embedded store. At commit:

1. the change is listed graph by graph (`new` against `old`);
2. what the ontology entails changes with it (:func:`entailed_change`: the same
   rules as graph/entailment.py, with the engine asked whether a removed
   statement is still stated elsewhere, and the transitive closure recomputed
   from the engine's statements of those properties when the write touched one);
3. the SHACL shapes check the change (graph/validation.py ``validate_change``)
   over the neighbourhood it can reach, copied from the engine into both
   stores: every statement about the changed nodes and their neighbours, the
   types of whatever those statements point at, and the ontology. The shapes
   look one step along a path (the validator refuses to check a change
   incrementally otherwise, and so does this);
4. the metadata graph's description of each graph follows (graph/provenance.py);
5. one SPARQL Update sends it all, the engine's generation counter with it: a
   refused write has sent nothing. A change too large for one request (more
   than :data:`ONE_REQUEST_BYTES` of update text) goes as a Graph Store ``PUT``
   of each graph, the feed's members and the entailed graph's additions by
   Graph Store ``POST``, then updates of what is left.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, RdfFormat, Store, Triple, serialize

from . import entailment
from .delta import Delta, GraphChange, has_quads
from .engine_loader import sink_for
from .errors import GraphNameError, ParseError, ValidationFailed, Violation
from .provenance import forget_graph, record_change
from .remote import WRITE_TIMEOUT, EngineError
from .results import select
from .store import DEFAULT_GRAPH, RdfSource, WriteTransaction, _check_sizes

if TYPE_CHECKING:
    from .remote import RemoteGraphStore

#: Update text above this size is not sent as one request: the graphs go by Graph Store PUT first. Virtuoso refuses
#: an update of more than 10 MB ("The requested string session is longer than 10Mb").
ONE_REQUEST_BYTES = 8 * 1024 * 1024
#: Statements per INSERT DATA / DELETE DATA operation: Virtuoso's SPARQL compiler runs out of memory at about 5,000 in
#: one operation (it takes many operations of 2,000 in one update).
DATA_STATEMENTS = 2_000
#: Nodes per VALUES block when the neighbourhood of a change is copied from the engine.
CHUNK = 400
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


class PulledTransaction(WriteTransaction):
    """A write transaction whose graphs are copied from the engine the first time the write touches them."""

    def __init__(self, store: Store, old: Store, remote: RemoteGraphStore) -> None:
        super().__init__(store, remote.namespaces)
        self.old = old
        self.remote = remote
        self.pulled: set[str] = set()
        self.scratch: tempfile.TemporaryDirectory[str] | None = None

    def _graph(self, graph: str) -> NamedNode | DefaultGraph:
        target = super()._graph(graph)
        if isinstance(target, DefaultGraph):
            raise GraphNameError("the default graph cannot be written in a SPARQL engine: name a graph")
        prefix = self.remote.reader().graph_prefix
        if not graph.startswith(prefix):
            # The engine may hold its operator's own graphs: the service writes (and shows) only graphs under its prefix.
            raise GraphNameError(f"<{graph}> is not a graph of this service: in a SPARQL engine it keeps only graphs "
                                 f"under {prefix} (name it {prefix}…)")
        if graph not in self.pulled:
            self.pulled.add(graph)
            self._copy(graph)
        return target

    def update(self, sparql: str, *, graphs: Iterable[str], base_iri: str | None = None,
               prefixes: dict[str, str] | None = None) -> None:
        """Run a SPARQL Update here, with pyoxigraph, on copies of the graphs it writes and reads (as on the embedded
        store: the same engine, the same semantics; under the same limits, in the update process, when the service
        has one). The engine's own default graph holds nothing of the service's, and neither does the copy's."""
        from .updates import ANY_GRAPH, UpdateError, analyse

        graphs = list(graphs)
        for graph in graphs:
            self._graph(graph)
        try:
            reads = analyse(sparql, prefixes=prefixes).reads
        except UpdateError as error:
            raise ParseError(str(error), source="<update>") from None
        if ANY_GRAPH in reads:
            raise EngineError("an update whose WHERE reads a graph named by a variable (GRAPH ?g) would need every graph "
                              "copied from the SPARQL engine: name the graphs it reads", status=501)
        ours = set(self.remote.reader().our_graphs())
        for graph in sorted(reads & ours - self.pulled):
            self.pulled.add(graph)
            self._copy(graph)
        runner = self.remote.updates
        if runner is not None and self.path is None:
            # The update process works on a store on disk: the copies go into one, in a folder that lasts the write.
            self.scratch = tempfile.TemporaryDirectory(prefix="hh-engine-update-")
            path = Path(self.scratch.name) / "store"
            copies = self.store
            self._store = Store(str(path))  # (held by the transaction alone: the update process must open it)
            self._store.extend(copies)
            self._store.flush()
            self.path, self.updates = path, runner
        super().update(sparql, graphs=graphs, base_iri=base_iri, prefixes=prefixes)

    def _copy(self, graph: str) -> None:
        quads = list(self.remote.reader().quads_for_pattern(None, None, None, NamedNode(graph)))
        self.store.extend(quads)
        self.old.extend(quads)

    def restore(self, *args: Any, **kwargs: Any) -> None:
        raise GraphNameError("a restore into an engine is `heritage-hubs restore` (RemoteGraphStore.restore)")


@contextlib.contextmanager
def remote_transaction(remote: RemoteGraphStore, *, validate: bool, lock_timeout: float | None) -> Iterator[PulledTransaction]:
    """See the module's description."""
    with remote.write_lock(lock_timeout):
        # In memory: a write through the service is at most HERITAGE_HUBS_MAX_UPLOAD_MB of data and its neighbourhood.
        old, new = Store(), Store()
        tx = PulledTransaction(new, old, remote)
        try:
            yield tx
            if tx.touched:
                commit(remote, tx, validate=validate)
        finally:
            tx.close()
            if tx.scratch is not None:
                tx.scratch.cleanup()


def _listed(old: Store, new: Store, graphs: Iterable[str]) -> Delta:
    delta = Delta()
    for graph in graphs:
        name = NamedNode(graph)
        before = set(old.quads_for_pattern(None, None, None, name))
        after = set(new.quads_for_pattern(None, None, None, name))
        delta.graphs[graph] = GraphChange(added=after - before, removed=before - after)
    return delta


def _prepared(remote: RemoteGraphStore, tx: PulledTransaction) -> tuple[list[str], Delta, set[Triple], set[Triple]]:
    """The touched graphs, the change listed, and what the entailed graph gains and loses with it."""
    ns = remote.namespaces
    touched = sorted(g for g in tx.touched if g != DEFAULT_GRAPH)
    delta = _listed(tx.old, tx.store, touched)
    for quad, added in delta.quads():
        if added:
            _check_sizes(quad, None)
    if delta.touches_class_hierarchy() or ns.ontology_graph in touched:
        raise EngineError("a change to the class hierarchy or the ontology needs every statement validated again, which "
                          "is not done through heritage-hubs over a SPARQL engine yet: restore a dump instead", status=501)
    rules = entailment.load_rules(_ontology(remote, tx), ns)
    to_add, to_remove = entailed_change(remote, tx, delta, rules, touched)
    return touched, delta, to_add, to_remove


def violations_of(remote: RemoteGraphStore, tx: PulledTransaction, touched: list[str], delta: Delta, to_add: set[Triple],
                  to_remove: set[Triple]) -> list[Violation]:
    """What the shapes find wrong with the change, over its neighbourhood copied from the engine (the module's step 3)."""
    if not remote.validator.shallow_paths:
        raise EngineError("shapes with paths longer than one step need a full validation, not done over an engine yet",
                          status=501)
    _copy_neighbourhood(remote, tx, delta, touched, to_add)
    target = NamedNode(entailment.entailed_graph(remote.namespaces))
    for triple in to_remove:
        quad = Quad(triple.subject, triple.predicate, triple.object, target)
        if quad in tx.store:
            tx.store.remove(quad)
    tx.store.extend(Quad(t.subject, t.predicate, t.object, target) for t in to_add)
    return [v for v in remote.validator.validate_change(tx.old, tx.store, delta) if v.severity == "Violation"]


def check(remote: RemoteGraphStore, source: RdfSource, *, graph: str, replace: bool) -> list[Violation]:
    """Validate `source` as if it were loaded into `graph`, sending nothing (`heritage-hubs validate FILES`)."""
    tx = PulledTransaction(Store(), Store(), remote)
    tx.load(source, graph=graph, replace=replace)
    touched, delta, to_add, to_remove = _prepared(remote, tx)
    return violations_of(remote, tx, touched, delta, to_add, to_remove)


def commit(remote: RemoteGraphStore, tx: PulledTransaction, *, validate: bool) -> None:
    ns = remote.namespaces
    touched, delta, to_add, to_remove = _prepared(remote, tx)
    reader = remote.reader()
    entailed = entailment.entailed_graph(ns)
    if validate:
        violations = violations_of(remote, tx, touched, delta, to_add, to_remove)
        if violations:
            sources = {s for p in tx.touched.values() for s in p.sources}
            raise ValidationFailed(violations, source=", ".join(sorted(sources)) or None)
    # The metadata graph, as it is in the engine, then each touched graph's description rewritten.
    meta = NamedNode(ns.metadata_graph)
    described = Store()
    before = list(reader.quads_for_pattern(None, None, None, meta))
    described.extend(before)
    for graph in touched:
        described.extend(tx.store.quads_for_pattern(None, None, None, NamedNode(graph)))
        change = delta.graphs[graph]
        if has_quads(tx.store, graph):
            record_change(described, ns.metadata_graph, graph, tx.touched[graph], started=tx.started,
                          count_change=len(change.added) - len(change.removed))
        else:
            forget_graph(described, ns.metadata_graph, graph)
    after = set(described.quads_for_pattern(None, None, None, meta))
    metadata_removed, metadata_added = set(before) - after, after - set(before)
    generation = int(remote.generation or 0) + 1
    term = reader.sparql_term
    members, before_members = _feed_members(remote, tx, touched)
    described_and_counted = [*_data("DELETE", ns.metadata_graph, (q.triple for q in metadata_removed), term),
                             *_data("INSERT", ns.metadata_graph, (q.triple for q in metadata_added), term),
                             remote.generation_counter.bump_update()]
    # The whole write in one update: the touched graphs' own change, the feed's members, the entailed graph's change,
    # the metadata and the generation. Its text is made as it is measured, and given up at the limit.
    text = None if remote.loader is not None else _within(itertools.chain(
        *(itertools.chain(_data("DELETE", graph, (q.triple for q in delta.graphs[graph].removed), term),
                          _data("INSERT", graph, (q.triple for q in delta.graphs[graph].added), term)) for graph in touched),
        before_members, _data("INSERT", remote.feed.graph, members, term),
        _data("DELETE", entailed, to_remove, term), _data("INSERT", entailed, to_add, term),
        described_and_counted), ONE_REQUEST_BYTES)
    if text is None:
        # Too large for one request (or the operator's own loader named: graph/engine_loader.py): each touched graph
        # whole by Graph Store PUT, the feed's members and the entailed graph's additions by Graph Store POST (in
        # parts: Engine.put_graph), the removals in updates of at most ONE_REQUEST_BYTES first, and last the metadata
        # with the new generation (so no cache moves on before the rest is there).
        if before_members:
            remote.engine.update(" ;\n".join(before_members), timeout=WRITE_TIMEOUT)
        for request in _requests(_data("DELETE", entailed, to_remove, term)):
            remote.engine.update(request, timeout=WRITE_TIMEOUT)
        sink = sink_for(remote)
        for graph in touched:
            sink.replace(graph, remote.skolem.graph_of(tx.store, graph))
        sink.add(remote.feed.graph, serialize(members, None, RdfFormat.N_TRIPLES) or b"")
        sink.add(entailed, serialize((remote.skolem.triple(t) for t in to_add), None, RdfFormat.N_TRIPLES) or b"")
        sink.finish()
        text = " ;\n".join(described_and_counted)
    remote.engine.update(text, timeout=WRITE_TIMEOUT)
    remote.generation_counter.forget()
    if validate and int(remote.generation) == generation:  # (not if another host wrote in between: then rebuilt)
        _follow_locally(remote, tx, delta, published=generation - 1, generation=generation)


def _follow_locally(remote: RemoteGraphStore, tx: PulledTransaction, delta: Delta, *, published: int, generation: int) -> None:
    """This host's label index and statistics follow the write from its neighbourhood (both private stores hold every
    statement about the changed nodes), as the embedded store's commit does, instead of being rebuilt from the engine.
    Behind or missing, they are left to be rebuilt when next read."""
    resources = sorted({q.subject.value for q, _ in delta.quads() if isinstance(q.subject, NamedNode)})
    if remote.labels.generation() == published:
        remote.labels.update(tx.store, resources, generation, published=published)
    known = remote.statistics.read(f"{published:08d}")
    if known is not None:
        remote.statistics.write(f"{generation:08d}", remote.statistics.advance(known, tx.old, tx.store, delta))


def _requests(operations: Iterable[str]) -> Iterator[str]:
    """`operations` joined into updates of at most :data:`ONE_REQUEST_BYTES` each (one operation alone may be more)."""
    batch: list[str] = []
    size = 0
    for operation in operations:
        if batch and size + len(operation) > ONE_REQUEST_BYTES:
            yield " ;\n".join(batch)
            batch, size = [], 0
        batch.append(operation)
        size += len(operation) + 3
    if batch:
        yield " ;\n".join(batch)


def _within(operations: Iterable[str], limit: int) -> str | None:
    """`operations` joined into one update if its text is at most `limit` characters; None (having made no more of it
    than the limit) if not."""
    batch: list[str] = []
    size = 0
    for operation in operations:
        size += len(operation) + 3
        if size > limit:
            return None
        batch.append(operation)
    return " ;\n".join(batch)


def _data(verb: str, graph: str, triples: Iterable[Triple], term: Any) -> Iterator[str]:
    """`INSERT DATA` / `DELETE DATA` operations for `triples` in `graph`, :data:`DATA_STATEMENTS` statements each, made
    as they are read."""
    lines = []
    for triple in triples:
        lines.append(f"{term(triple.subject)} {term(triple.predicate)} {term(triple.object)} .")
        if len(lines) == DATA_STATEMENTS:
            yield f"{verb} DATA {{ GRAPH <{graph}> {{\n" + "\n".join(lines) + "\n} }"
            lines = []
    if lines:
        yield f"{verb} DATA {{ GRAPH <{graph}> {{\n" + "\n".join(lines) + "\n} }"


def _among(remote: RemoteGraphStore, skip: Iterable[str]) -> str:
    """A filter keeping `?g` to the service's graphs but `skip`: an engine may hold other graphs (its own, someone
    else's data, or the same statements written to it directly), which must not support, or be checked with, a write."""
    left = [g for g in remote.reader().our_graphs() if g not in set(skip)]
    return f"FILTER(?g IN ({', '.join(f'<{g}>' for g in left)}))" if left else "FILTER(false)"


def _ontology(remote: RemoteGraphStore, tx: PulledTransaction) -> Store:
    """The ontology graph, copied into both private stores once (the rules and the class hierarchy come from it)."""
    graph = NamedNode(remote.namespaces.ontology_graph)
    if next(iter(tx.old.quads_for_pattern(None, None, None, graph)), None) is None:
        quads = list(remote.reader().quads_for_pattern(None, None, None, graph))
        tx.old.extend(quads)
        tx.store.extend(quads)
    return tx.store


def _stated_elsewhere(remote: RemoteGraphStore, tx: PulledTransaction, triples: set[Triple], touched: list[str]) -> set[Triple]:
    """Those of `triples` that an asserted graph states after the write: a touched graph's new content, or another graph
    in the engine (never the entailed graph, the metadata or the shapes)."""
    found = {t for t in triples for g in touched if Quad(t.subject, t.predicate, t.object, NamedNode(g)) in tx.store}
    rest = list(triples - found)
    skip = [*entailment._skipped(remote.namespaces), *touched]
    remote_reader = remote.reader()
    term = remote_reader.sparql_term
    reader = cast(Store, remote_reader)
    for start in range(0, len(rest), CHUNK):
        rows = " ".join(f"({term(t.subject)} {term(t.predicate)} {term(t.object)})" for t in rest[start:start + CHUNK])
        query = (f"SELECT ?s ?p ?o WHERE {{ VALUES (?s ?p ?o) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} "
                 f"{_among(remote, skip)} }}")
        found.update(Triple(r["s"], r["p"], r["o"]) for r in select(reader, query, use_default_graph_as_union=True))
    return found


def entailed_change(remote: RemoteGraphStore, tx: PulledTransaction, delta: Delta, rules: entailment.Rules,
                    touched: list[str]) -> tuple[set[Triple], set[Triple]]:
    """What the entailed graph gains and loses with `delta` (graph/entailment.py ``apply``, asked of the engine)."""
    added = {q.triple for c in delta.graphs.values() for q in c.added}
    removed = {q.triple for c in delta.graphs.values() for q in c.removed}
    unchanged = added & removed
    family = {NamedNode(p) for p in rules.transitive} | {i for i in rules.transitive.values() if i is not None}
    to_add = {e for t in added - unchanged for e in rules.entail(t)}
    gone_candidates = removed - unchanged
    gone = gone_candidates - _stated_elsewhere(remote, tx, gone_candidates, touched)
    candidates = {e for t in gone for e in rules.entail(t)} - to_add
    premises = {e: set(rules.premises(e)) for e in candidates}
    supported = _stated_elsewhere(remote, tx, set().union(*premises.values()) if premises else set(), touched)
    to_remove = {e for e, ps in premises.items() if not ps & supported}
    if any(t.predicate in family for t in (added | removed) - unchanged):
        closure, existing = _closure(remote, tx, rules, family, touched)
        for triple in existing:
            if triple not in closure and triple not in to_add:
                ps = set(rules.premises(triple))
                if not ps & _stated_elsewhere(remote, tx, ps, touched):
                    to_remove.add(triple)
        to_add |= closure
    return to_add, to_remove - to_add


def _closure(remote: RemoteGraphStore, tx: PulledTransaction, rules: entailment.Rules, family: set[NamedNode],
             touched: list[str]) -> tuple[set[Triple], set[Triple]]:
    """The transitive closure over every asserted statement of the transitive properties (places are few), and the
    statements with those properties the entailed graph holds now."""
    reader = cast(Store, remote.reader())
    values = " ".join(str(p) for p in family)
    skip = [*entailment._skipped(remote.namespaces), *touched]
    edges = Store()
    rows = select(reader, f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?p {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} "
                          f"{_among(remote, skip)} }}", use_default_graph_as_union=True)
    edges.extend(Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows)
    for graph in touched:
        edges.extend(q for p in family for q in tx.store.quads_for_pattern(None, p, None, NamedNode(graph)))
    closure = entailment._transitive_closure(edges, rules, [g for g in edges.named_graphs() if isinstance(g, NamedNode)])
    entailed = entailment.entailed_graph(remote.namespaces)
    existing = {Triple(r["s"], r["p"], r["o"]) for r in select(
        reader, f"SELECT ?s ?p ?o WHERE {{ VALUES ?p {{ {values} }} GRAPH <{entailed}> {{ ?s ?p ?o }} }}",
        use_default_graph_as_union=True)}
    return closure, existing


def _nodes(quads: Iterable[Quad]) -> set[NamedNode | BlankNode]:
    found: set[NamedNode | BlankNode] = set()
    for quad in quads:
        if isinstance(quad.subject, NamedNode | BlankNode):
            found.add(quad.subject)
        if isinstance(quad.object, NamedNode | BlankNode):
            found.add(quad.object)
    return found


def _inverse_predicates(remote: RemoteGraphStore) -> list[NamedNode]:
    """The predicates the shapes follow backwards (sh:inversePath, sh:targetObjectsOf): a node's statements with them
    pointing at it are all of its incoming statements its checks read."""
    import rdflib

    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    shapes = remote.validator.shapes
    found = {str(o) for p in (sh.inversePath, sh.targetObjectsOf) for o in shapes.objects(None, p)
             if isinstance(o, rdflib.URIRef)}
    return [NamedNode(p) for p in sorted(found)]


def _copy_neighbourhood(remote: RemoteGraphStore, tx: PulledTransaction, delta: Delta, touched: list[str],
                        entailed: set[Triple]) -> None:
    """Copy into both private stores what the shapes read when they check the change (graph/validation.py
    ``validate_change``: the changed nodes, the nodes linked to a node whose types changed, and their values):
    every statement, in any graph but the touched ones and the metadata, from those nodes and from their neighbours; the
    statements pointing at them with a predicate the shapes follow backwards (all of them, for a node whose types
    changed); and the types of everything those statements point at. A node whose types changed is linked by what the
    write `entailed` too (a new place is contained by every place it falls within), as on the embedded store."""
    skip = [remote.namespaces.metadata_graph, *touched]
    where = _among(remote, skip)
    backwards = " ".join(str(p) for p in _inverse_predicates(remote))

    def fetch(nodes: Iterable[NamedNode | BlankNode], pattern: str, binds: str, where: str = where) -> set[Quad]:
        return _fetch(remote, nodes, pattern, where, binds)

    def outgoing(nodes: set[NamedNode | BlankNode]) -> set[Quad]:
        return fetch(nodes, "?n ?p ?o", "BIND(?n AS ?s)")

    def incoming(nodes: set[NamedNode | BlankNode], every: bool = False) -> set[Quad]:
        if every:
            return fetch(nodes, "?s ?p ?n", "BIND(?n AS ?o)")
        if not backwards:
            return set()
        return fetch(nodes, f"VALUES ?p {{ {backwards} }} ?s ?p ?n", "BIND(?n AS ?o)")

    changed = _nodes(q for q, _ in delta.quads())
    retyped: set[NamedNode | BlankNode] = {q.subject for q, _ in delta.quads()
                                            if q.predicate == RDF_TYPE and isinstance(q.subject, NamedNode | BlankNode)}
    first = outgoing(changed) | incoming(changed) | incoming(retyped, every=True)
    linked: set[NamedNode | BlankNode] = {q.subject for q in first if q.object in changed and
                                          isinstance(q.subject, NamedNode | BlankNode)}
    linked |= {q.object for q in first if q.subject in retyped and isinstance(q.object, NamedNode | BlankNode)}
    linked |= {t.subject for t in entailed if t.object in retyped and isinstance(t.subject, NamedNode | BlankNode)}
    linked |= {t.object for t in entailed if t.subject in retyped and isinstance(t.object, NamedNode | BlankNode)}
    neighbours = linked - changed
    second = outgoing(neighbours) | incoming(neighbours)
    copied = first | second
    pointed: set[NamedNode | BlankNode] = {q.object for q in copied if isinstance(q.object, NamedNode | BlankNode)}
    pointed |= {q.subject for q in copied if isinstance(q.subject, NamedNode | BlankNode)}
    pointed -= changed | neighbours
    # Asserted types only: sh:class reads a value's types through the class hierarchy (the ontology is copied), so the
    # entailed graph's copies of them (eight per node, at a hub with a thousand partners) add nothing.
    asserted = _among(remote, [*skip, entailment.entailed_graph(remote.namespaces)])
    copied |= fetch(pointed, f"?n {RDF_TYPE} ?o", f"BIND(?n AS ?s) BIND({RDF_TYPE} AS ?p)", asserted)
    tx.old.extend(copied)
    tx.store.extend(copied)


def _fetch(remote: RemoteGraphStore, nodes: Iterable[NamedNode | BlankNode], pattern: str, where: str,
           binds: str) -> set[Quad]:
    """The quads `pattern` (about `?n`; with `binds`, binding ?s ?p ?o) finds in the graphs `where` keeps, for each of
    `nodes`. The BINDs stay outside the GRAPH group: inside it, Jena's engine evaluates the group alone, over every
    statement of the engine, before it joins the VALUES (17 s at 1M generated triples, against 7 ms outside)."""
    remote_reader = remote.reader()
    term = remote_reader.sparql_term
    listed = list(nodes)
    found: set[Quad] = set()
    for start in range(0, len(listed), CHUNK):
        chunk = " ".join(term(n) for n in listed[start:start + CHUNK])
        rows = select(cast(Store, remote_reader),
                      f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?n {{ {chunk} }} GRAPH ?g {{ {pattern} }} {binds} {where} }}",
                      use_default_graph_as_union=True)
        found.update(Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows)
    return found


def _copy_descriptions(remote: RemoteGraphStore, tx: PulledTransaction, resources: set[str], skip: list[str]) -> None:
    """Copy into both private stores every statement about `resources` (and their blank-node closure) that the
    service's graphs but `skip` hold: a feed member carries a resource's whole description, not one graph's part."""
    where = _among(remote, skip)
    todo: set[NamedNode | BlankNode] = {NamedNode(r) for r in resources}
    seen: set[NamedNode | BlankNode] = set()
    while todo:
        seen |= todo
        found = _fetch(remote, todo, "?n ?p ?o", where, "BIND(?n AS ?s)")
        tx.old.extend(found)
        tx.store.extend(found)
        todo = {q.object for q in found if isinstance(q.object, BlankNode)}
        todo -= seen


def _feed_members(remote: RemoteGraphStore, tx: PulledTransaction, touched: list[str]) -> tuple[list[Triple], list[str]]:
    """The change feed's members for the write (graph/remote_feed.py), and the retention policy's updates."""
    from .feed import changed_resources

    ns = remote.namespaces
    derived = list(ns.derived_graphs)
    graphs = [g for g in touched if g not in derived]
    changed = changed_resources(tx.old, tx.store, graphs)
    _copy_descriptions(remote, tx, changed, [*derived, *graphs])
    return remote.feed.members_of(tx.old, tx.store, changed, graphs, exclude_graph=derived)
