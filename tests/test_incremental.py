"""Writes cost what they change: incremental validation and derived figures equal a full recomputation.

Each case starts from the seeded (valid) store, applies a change in a work
copy, and compares the validation of just what the change touched with a
full validation of the result. Then a series of committed writes keeps the
statistics and the per-graph counts equal to a recount.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat

from heritage_hubs.graph import GraphStore, RdfSource, ValidationFailed, WriteTransaction
from heritage_hubs.graph import delta as delta_module
from heritage_hubs.graph import feed as feed_module
from heritage_hubs.graph.provenance import count_triples

from .conftest import FIXTURES

BASE = "https://w3id.org/heritage-hubs/"
MUSEUM = BASE + "graph/institution/museo-esempio"
OTHER = BASE + "graph/institution/other"
PREFIXES = """PREFIX hh: <https://w3id.org/heritage-hubs/ontology/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX crm: <http://www.cidoc-crm.org/cidoc-crm/>
PREFIX concept: <https://w3id.org/heritage-hubs/id/concept/>
PREFIX inst: <https://w3id.org/heritage-hubs/id/institution/>
PREFIX asset: <https://w3id.org/heritage-hubs/id/asset/>
PREFIX activity: <https://w3id.org/heritage-hubs/id/activity/>
PREFIX hub: <https://w3id.org/heritage-hubs/id/hub/>
"""
KEEPER = """inst:keeper a hh:Museum ; rdfs:label "Keeper"@en ; hh:institutionKind concept:museum ."""
KEPT = """asset:kept a hh:TangibleAsset ; rdfs:label "Kept"@en ; hh:keptBy inst:keeper ."""


def turtle(text: str) -> RdfSource:
    return RdfSource.from_bytes((PREFIXES.replace("PREFIX ", "@prefix ").replace(">\n", "> .\n") + text).encode(), RdfFormat.TURTLE)


def committed(store: GraphStore, graph: str, text: str) -> None:
    store.load(turtle(text), graph=graph)


Change = Callable[[WriteTransaction], None]

CASES: dict[str, tuple[Callable[[GraphStore], None], Change]] = {
    "a valid record added": (lambda s: None, lambda tx: tx.load(RdfSource.from_path(FIXTURES / "institution.ttl"), graph=MUSEUM)),
    "an invalid record added": (lambda s: None,
                                lambda tx: tx.load(RdfSource.from_path(FIXTURES / "invalid-institution.ttl"), graph=MUSEUM)),
    "a record replaced by a worse one": (
        lambda s: s.load(RdfSource.from_path(FIXTURES / "institution.ttl"), graph=MUSEUM),
        lambda tx: tx.load(turtle("""inst:museo-esempio a hh:Museum ; rdfs:label "X"@en, "Y"@en ."""),
                           graph=MUSEUM, replace=True)),
    "a removal that breaks a link from another graph": (
        lambda s: (committed(s, OTHER, KEEPER), committed(s, MUSEUM, KEPT)),
        lambda tx: tx.load(turtle("""inst:keeper rdfs:label "Keeper"@en ."""), graph=OTHER, replace=True)),
    "a graph dropped under a link": (
        lambda s: (committed(s, OTHER, KEEPER), committed(s, MUSEUM, KEPT)),
        lambda tx: tx.drop(OTHER)),
    "a label deleted by an update": (
        lambda s: None,
        lambda tx: tx.update(PREFIXES + 'DELETE WHERE { GRAPH <' + BASE + 'graph/core> { hub:tabakalera rdfs:label ?l } }',
                             graphs=[BASE + "graph/core"])),
    "a blank node's type removed by an update": (
        lambda s: s.load(RdfSource.from_path(FIXTURES / "institution.ttl"), graph=MUSEUM),
        lambda tx: tx.update(PREFIXES + "WITH <" + MUSEUM + "> DELETE { ?t a crm:E52_Time-Span } WHERE { "
                             "activity:museo-esempio-show crm:P4_has_time-span ?t }", graphs=[MUSEUM])),
    "a type added that makes a node a target": (
        lambda s: committed(s, OTHER, KEEPER),
        lambda tx: tx.load(turtle("""inst:keeper a hh:Hub ."""), graph=MUSEUM)),
}


@pytest.mark.parametrize("whole", [False, True], ids=["listed", "whole graphs"])
@pytest.mark.parametrize("case", list(CASES))
def test_incremental_validation_equals_full_validation(store: GraphStore, case: str, whole: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    prepare, change = CASES[case]
    prepare(store)
    assert store.validator.validate(store.reader()) == [], "the starting point conforms"
    if whole:
        # The same changes when graphs are too large to list quad by quad.
        monkeypatch.setattr(delta_module, "LISTED_MAX", 0)
        monkeypatch.setattr(WriteTransaction, "LISTED_LOAD_BYTES", -1)
    with store._work_copy() as (tx, _):
        change(tx)
        old = store.reader()
        delta = tx.delta(old)
        assert bool(delta.whole_graphs) == whole
        incremental = store.validator.validate_change(old, tx.store, delta)
        assert not tx.store.contains_named_graph(NamedNode(store.validator.FOCUS_GRAPH))
        full = store.validator.validate(tx.store)
    assert incremental == full
    if case not in ("a valid record added",):
        assert full, "each case but the first breaks something"


def test_a_write_that_breaks_another_graph_is_refused(store: GraphStore) -> None:
    committed(store, OTHER, KEEPER)
    committed(store, MUSEUM, KEPT)
    before = store.generation
    with pytest.raises(ValidationFailed) as caught:
        store.drop(OTHER)
    assert {v.focus_node for v in caught.value.violations} == {f"<{BASE}id/asset/kept>"}
    assert store.generation == before


@pytest.mark.parametrize("whole", [False, True], ids=["listed", "whole graphs"])
def test_statistics_and_counts_follow_every_write(store: GraphStore, whole: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if whole:  # every change as large ones are made: new graphs counted by the store, others graph by graph
        monkeypatch.setattr(delta_module, "LISTED_MAX", 0)
        monkeypatch.setattr(WriteTransaction, "LISTED_LOAD_BYTES", -1)

    def recount() -> None:
        reader = store.reader()
        assert store.dataset_statistics() == store.statistics.compute(reader)
        # The same figures as aggregate queries count them (how they are counted over a SPARQL engine).
        assert store.statistics.compute_by_queries(reader) == store.statistics.compute(reader)
        for info in store.graphs():
            if info.iri != store.namespaces.metadata_graph:
                assert info.triples == count_triples(reader, info.iri), info.iri

    store.dataset_statistics()  # computed once for the seeded store, then advanced by each write
    store.load(RdfSource.from_path(FIXTURES / "institution.ttl"), graph=MUSEUM)
    recount()
    committed(store, OTHER, KEEPER + "\n" + KEPT)
    recount()
    store.load(turtle(KEEPER), graph=OTHER, replace=True)  # the asset goes, the keeper stays
    recount()
    store.update(PREFIXES + "INSERT DATA { GRAPH <" + MUSEUM + "> { hub:tabakalera rdfs:label \"Tabakalera\"@en } }",
                 graphs=[MUSEUM])  # a statement already in another graph: counted once per graph
    recount()
    store.update(PREFIXES + "DELETE DATA { GRAPH <" + MUSEUM + "> { hub:tabakalera rdfs:label \"Tabakalera\"@en } }",
                 graphs=[MUSEUM])
    recount()
    with pytest.raises(ValidationFailed):
        store.drop(BASE + "graph/core")
    recount()
    store.drop(OTHER)
    recount()
    # A file for the current generation is what readers use; without it, it is computed again.
    for path in (store.path / "statistics").glob("*.json"):
        path.unlink()
    recount()


def test_shapes_with_longer_paths_are_validated_in_full() -> None:
    """A change two steps away from a focus node counts under a sequence path: such shapes are not checked incrementally."""
    from pyoxigraph import Quad, Store

    from heritage_hubs.graph.delta import Delta, GraphChange
    from heritage_hubs.graph.validation import ShapesValidator

    validator = ShapesValidator.from_turtle("""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <urn:ex:> .
        ex:S a sh:NodeShape ; sh:targetClass ex:A ; sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ] .""")
    assert not validator.shallow_paths
    assert ShapesValidator.from_turtle("""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <urn:ex:> .
        ex:S a sh:NodeShape ; sh:targetClass ex:A ; sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:minCount 1 ] .""").shallow_paths
    g = NamedNode("urn:ex:g")
    a, b, p, q, cls = (NamedNode(f"urn:ex:{n}") for n in ("a", "b", "p", "q", "A"))
    rdf_type = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    from pyoxigraph import Literal

    removed = Quad(b, q, Literal("x"), g)
    old, new = Store(), Store()
    for store in (old, new):
        store.extend([Quad(a, rdf_type, cls, g), Quad(a, p, b, g), removed])
    new.remove(removed)
    delta = Delta(graphs={"urn:ex:g": GraphChange(removed={removed})})
    found = validator.validate_change(old, new, delta)
    assert [v.focus_node for v in found] == ["<urn:ex:a>"]
    assert found == validator.validate(new)


TRICKY = KEEPER + """
inst:keeper rdfs:label "Museo \\"Il Custode\\"\\nsede\\tcentrale"@it , "Café à côté"@fr , "Keeper's"@de ;
    hh:partnerOf hub:tabakalera ; hh:memberCount 12 .
asset:kept a hh:TangibleAsset ; rdfs:label "Kept"@en ; hh:keptBy inst:keeper ;
    hh:inventoryNumber "ME \\"0001\\"\\tbé\\\\x" .
activity:kept-show a hh:Exhibition ; rdfs:label "Show"@en ; hh:carriedOutBy inst:keeper ; hh:features asset:kept ;
    crm:P4_has_time-span [ a crm:E52_Time-Span ; crm:P82a_begin_of_the_begin "2025-04-25T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> ] .
hub:tabakalera <http://www.w3.org/2004/02/skos/core#altLabel> "TBK (museoaren)"@eu .
"""


def test_a_large_load_derives_what_a_rebuild_derives(store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A load changed whole (as a large one is: every step reads the commit's one dump of the graph as text) gives the
    entailed graph, statistics and label index that are made from scratch from the same store; the data has literals
    that N-Triples escapes, blank nodes, a shortcut with a literal value and a subject stated in another graph too."""
    from heritage_hubs.graph.entailment import entailed_graph, rebuild
    from heritage_hubs.graph.labels import LabelIndex

    monkeypatch.setattr(delta_module, "LISTED_MAX", 0)
    monkeypatch.setattr(WriteTransaction, "LISTED_LOAD_BYTES", -1)
    monkeypatch.setattr(LabelIndex, "BULK", 0)
    monkeypatch.setattr(feed_module, "_BULK", 0)  # the feed's members from the dump too
    store.dataset_statistics()
    committed(store, OTHER, TRICKY)
    reader = store.reader()
    assert store.dataset_statistics() == store.statistics.compute(reader)
    generation = int(store.generation)
    latest: dict[str, str] = {}
    number = store.feed.first_page(generation)
    while number is not None and (page := store.feed.page(number, generation)) is not None:
        latest.update({m.resource: m.body for m in page.members})
        number += 1
    hub = latest[BASE + "id/hub/tabakalera"]  # stated in the core graph, which this write left as it was, and in OTHER
    assert '"TBK (museoaren)"@eu' in hub and '"Tabakalera"@en' in hub
    target = NamedNode(entailed_graph(store.namespaces))
    kept = set(reader.quads_for_pattern(None, None, None, target))
    with store.transaction(validate=False) as tx:  # nothing touched: rebuilt in the work copy, never published
        rebuild(tx.store, store.namespaces)
        assert kept == set(tx.store.quads_for_pattern(None, None, None, target))
    fresh = LabelIndex(tmp_path)
    fresh.rebuild(reader, int(store.generation))
    tables = ("SELECT resource, label, language FROM names", "SELECT resource, type FROM types",
              "SELECT resource, language, label, sortkey FROM display")
    for query in tables:
        assert sorted(store.labels._reader().execute(query).fetchall()) == sorted(fresh._reader().execute(query).fetchall())
    assert ("Museo \"Il Custode\"\nsede\tcentrale", BASE + "id/institution/keeper", "it") in \
        store.labels._reader().execute("SELECT label, resource, language FROM names").fetchall()
    genid = f"SELECT ?v WHERE {{ GRAPH <{target.value}> {{ ?n crm:P190_has_symbolic_content ?v }} }}"
    values = {str(row[0]) for row in reader.query(PREFIXES + genid)}  # type: ignore[union-attr]
    assert '"ME \\"0001\\"\\tbé\\\\x"' in values


@pytest.mark.parametrize("others_first", [True, False], ids=["small other graphs", "large other graphs"])
def test_shared_subjects_are_those_stated_in_another_graph(others_first: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a large load's feed members, statistics and labels need to know: which of the graph's subjects are stated
    elsewhere too (named graphs and the default graph; derived graphs aside), whichever side the join starts from."""
    from pyoxigraph import BlankNode, DefaultGraph, Literal, Quad, Store

    monkeypatch.setattr(delta_module.Delta, "SHARED_SCAN_OTHERS", 10_000 if others_first else 0)
    store = Store()
    p, blank = NamedNode("http://p"), BlankNode("x")
    graph, other, derived = (NamedNode(f"http://g/{n}") for n in ("new", "other", "derived"))
    a, b, c, d = (NamedNode(f"http://s/{n}") for n in "abcd")
    store.extend([Quad(s, p, Literal("v"), graph) for s in (a, b, c, d, blank)] + [
        Quad(a, p, Literal("w"), other), Quad(b, p, Literal("w"), DefaultGraph()), Quad(c, p, Literal("w"), derived),
        Quad(blank, p, Literal("w"), other)])
    found = delta_module.Delta().shared_subjects(store, graph.value, {derived.value})
    assert found == {"<http://s/a>", "<http://s/b>", "_:x"}
    assert delta_module.Delta().shared_subjects(store, "", {derived.value}) == {"<http://s/b>"}  # the default graph changed
