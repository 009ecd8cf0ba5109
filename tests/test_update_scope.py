"""A token's scope holds whatever an update's IRIs look like (issue 12: relative graph IRIs).

The graphs an update may write are decided by analysing it (rdflib) and it
then runs in pyoxigraph; the two must agree. A differential test generates
thousands of updates (every operation, graph IRIs spelled in every tricky
way, BASE, prefixed names, escapes, several operations) and checks on a real
store that the graphs that changed are always among those the analysis
allowed; then the exploits found by the review are sent over HTTP with a
museum's token.
"""

from __future__ import annotations

import random

import pytest
from flask.testing import FlaskClient
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, Store

from heritage_hubs.graph.store import open_store
from heritage_hubs.graph.updates import DEFAULT_GRAPH, UpdateError, analyse, graphs_to_write, with_absolute_iris

B = "https://w3id.org/heritage-hubs/"
ENDPOINT = B + "sparql"  # the base the endpoint resolves relative IRIs against
MUSEUM = B + "graph/institution/museo-x"
CORE = B + "graph/core"
OTHER = B + "graph/institution/other"
GRAPHS = [
    f"<{MUSEUM}>", f"<{CORE}>", f"<{OTHER}>",
    f"<{B}graph/core/../institution/museo-x>", f"<{B}graph/core//../institution/museo-x>", f"<{B}graph//institution/museo-x>",
    f"<{MUSEUM}?>", f"<{MUSEUM}#>", f"<{B}graph/./core>", "<HTTPS://w3id.org/heritage-hubs/graph/core>",
    "<graph/core//../institution/museo-x>", "<graph//institution/museo-x>", "<graph/institution/museo-x?>", "<institution/museo-x>",
    "<../graph/core>", "<core>", "<>", "<#x>", "<//evil.example/graph>",
    "g:core", "g:institution\\/museo-x", "g:institution\\/other", "h:", "h:museo-x",
    f"<{B}graph/institution/museo-\\u0078>", "<\\u0068ttps://w3id.org/heritage-hubs/graph/core>", "<graph/\\u0063ore>",
]
PREFIXES = f"PREFIX g: <{B}graph/> PREFIX h: <{MUSEUM}> "
BASES = ["", "BASE <http://evil.example/x/> ", f"BASE <{B}graph/core/> ", "BASE <> "]
TRIPLE = "<urn:s> <urn:p> <urn:o>"


def operations(g: str, h: str) -> list[str]:
    return [
        f"INSERT DATA {{ GRAPH {g} {{ {TRIPLE} }} }}",
        f"DELETE DATA {{ GRAPH {g} {{ <urn:s0> <urn:p0> <urn:o0> }} }}",
        f"INSERT {{ GRAPH {g} {{ ?s <urn:copied> ?o }} }} WHERE {{ GRAPH {h} {{ ?s ?p ?o }} }}",
        f"DELETE WHERE {{ GRAPH {g} {{ ?s ?p ?o }} }}",
        f"WITH {g} INSERT {{ {TRIPLE} }} WHERE {{ }}",
        f"WITH {g} DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
        f"DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} USING {h} WHERE {{ ?s ?p ?o }}",
        f"INSERT {{ {TRIPLE} }} WHERE {{ }}",
        f"ADD {h} TO {g}", f"COPY {h} TO {g}", f"MOVE {h} TO {g}", f"MOVE SILENT {g} TO {h}",
        f"CLEAR SILENT GRAPH {g}", f"DROP SILENT GRAPH {g}", f"CREATE SILENT GRAPH {g}",
        "CLEAR SILENT ALL", "DROP SILENT NAMED",
    ]


def dataset() -> Store:
    store = Store()
    for graph in (MUSEUM, CORE, OTHER):
        store.extend([Quad(NamedNode("urn:s0"), NamedNode("urn:p0"), NamedNode("urn:o0"), NamedNode(graph)),
                      Quad(NamedNode("urn:s1"), NamedNode("urn:p1"), Literal(graph), NamedNode(graph))])
    store.add(Quad(NamedNode("urn:d"), NamedNode("urn:p"), NamedNode("urn:o"), DefaultGraph()))
    return store


def contents(store: Store) -> dict[str, set[Quad]]:
    found: dict[str, set[Quad]] = {}
    for quad in store.quads_for_pattern(None, None, None, None):
        name = DEFAULT_GRAPH if isinstance(quad.graph_name, DefaultGraph) else quad.graph_name.value  # type: ignore[union-attr]
        found.setdefault(name, set()).add(quad)
    for graph in store.named_graphs():
        found.setdefault(graph.value, set())  # type: ignore[union-attr]
    return found


def generated_updates(count: int) -> list[str]:
    rng = random.Random(20261130)
    updates = []
    for _ in range(count):
        parts = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            parts.append(rng.choice(BASES) + rng.choice(operations(rng.choice(GRAPHS), rng.choice(GRAPHS))))
        updates.append(PREFIXES + " ; ".join(parts))
    return updates


def test_the_graphs_an_update_changes_are_always_among_those_its_analysis_allowed() -> None:
    refused = ran = 0
    for update in generated_updates(3000):
        store = dataset()
        before = contents(store)
        try:
            # As the endpoint does: relative IRIs resolved once, then analysed, then run as that same text.
            update = with_absolute_iris(update, ENDPOINT)
            plan = analyse(update)
        except UpdateError:
            refused += 1
            continue
        allowed = set(graphs_to_write(plan, [g for g in before if g != DEFAULT_GRAPH]))
        if plan.writes_any_graph:
            allowed.add(DEFAULT_GRAPH)  # ALL and GRAPH ?g reach the default graph too (an all-graphs token only)
        try:
            store.update(update)  # as the endpoint runs it: no base IRI
        except Exception:  # a failed update (a graph that does not exist, without SILENT) changes nothing
            assert contents(store) == before, update
            continue
        ran += 1
        after = contents(store)
        changed = {g for g in before.keys() | after.keys() if before.get(g) != after.get(g)}
        assert changed <= allowed, (update, changed, allowed)
        # And nothing an update names escapes the analysis in the other direction: no graph appears that it did not name.
        assert set(after) - set(before) <= allowed, update
    assert ran > 300 and refused > 100  # both outcomes were exercised (the rest fail in pyoxigraph and change nothing)


def test_relative_iris_are_resolved_once_by_the_store_and_base_applies_to_the_end_of_the_request() -> None:
    made = with_absolute_iris(f"INSERT DATA {{ GRAPH <graph/core//../institution/museo-x> {{ {TRIPLE} }} }}", ENDPOINT)
    # pyoxigraph's RFC 3986 resolution, not Python's urljoin (which drops the empty segment).
    assert f"<{B}graph/core/institution/museo-x>" in made and "<graph/" not in made
    assert analyse(made).targets == {f"{B}graph/core/institution/museo-x"}
    made = with_absolute_iris(f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ {TRIPLE} }} }} ; BASE <http://evil.example/x/> "
                              f"INSERT DATA {{ GRAPH <y> {{ {TRIPLE} }} }}", ENDPOINT)
    assert "BASE" not in made and analyse(made).targets == {MUSEUM, "http://evil.example/x/y"}
    assert with_absolute_iris(f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ {TRIPLE} }} }}", ENDPOINT) == \
        f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ {TRIPLE} }} }}"  # nothing relative: the text as sent
    for update in (f"INSERT DATA {{ GRAPH <graph/x> {{ {TRIPLE} }} }}",  # no base to resolve against
                   f"PREFIX g: <{B}graph/> INSERT DATA {{ GRAPH g:institution\\/other {{ {TRIPLE} }} }}"):
        with pytest.raises(UpdateError, match=r"relative IRI|escaped prefixed name"):
            analyse(with_absolute_iris(update, None))


EXPLOITS = [
    f"INSERT DATA {{ GRAPH <graph/core//../institution/museo-x> {{ {TRIPLE} }} }}",
    f"INSERT DATA {{ GRAPH <graph//institution/museo-x> {{ {TRIPLE} }} }}",
    f"INSERT DATA {{ GRAPH <graph/institution/museo-x?> {{ {TRIPLE} }} }}",
    f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ {TRIPLE} }} }} ; BASE <http://evil.example/x/> INSERT DATA {{ GRAPH <y> {{ {TRIPLE} }} }}",
    f"INSERT DATA {{ GRAPH <{B}graph/core/../institution/museo-x> {{ {TRIPLE} }} }}",
    f"INSERT DATA {{ GRAPH <{CORE}> {{ {TRIPLE} }} }}",
]


@pytest.mark.parametrize("update", EXPLOITS)
def test_a_museum_token_cannot_write_outside_its_graph(location_client: FlaskClient, store_location: str, update: str) -> None:
    """On every backend: over an engine the update is analysed here too, before anything leaves."""
    _, token = open_store(store_location).tokens().create("museo-x", [MUSEUM])
    before = open_store(store_location).generation
    response = location_client.post("/sparql", data=update, headers={"Content-Type": "application/sparql-update",
                                                                      "Authorization": f"Bearer {token}"})
    assert response.status_code in (400, 403), response.get_data(as_text=True)
    assert open_store(store_location).generation == before
