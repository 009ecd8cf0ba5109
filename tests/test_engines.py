"""The service in front of a SPARQL engine (graph/remote.py): the same behaviour on the embedded store, Oxigraph's server
and Virtuoso, each started here on loopback and seeded through `heritage-hubs` itself.

Every test runs once per backend; answers are compared with those of the
embedded store as data (graphs compared up to blank-node renaming, rows as
sets), not as bytes: engines order unordered things differently.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pyoxigraph
import pytest
import rdflib
from rdflib.compare import isomorphic
from SPARQLWrapper import JSON, SPARQLWrapper

from heritage_hubs.graph.backend import GraphBackend
from heritage_hubs.graph.library import named_queries
from heritage_hubs.graph.remote import Engine, EngineAddress, EngineError, RemoteGraphStore
from heritage_hubs.graph.store import GraphStore, RdfSource

from .conftest import FIXTURES, LiveServer, http_request, multipart_form, start_server, stop_server
from .engines import ENGINES, WKT, rounded_wkt, seed_location, start_oxigraph

BASE = "https://w3id.org/heritage-hubs/"


@dataclass
class Backend:
    name: str
    server: LiveServer
    location: str
    env: dict[str, str] = field(default_factory=dict)
    #: The engine's name (tests/engines.py), None on the embedded store.
    engine: str | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, accept: str | None = None) -> tuple[int, bytes]:
        status, _, body = http_request(self.url + path, headers={"Accept": accept} if accept else {})
        return status, body

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", self.location, *args],
                              capture_output=True, text=True, env={**os.environ, **self.env, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def backend(backend_location: tuple[str, dict[str, str], str]) -> Iterator[Backend]:
    """The service on each backend in turn (conftest's `backend_location`: the bundled data, an engine started here)."""
    location, env, name = backend_location
    server = start_server(cast(Path, location), extra_env=env)
    yield Backend(name, server, location, env, None if name == "embedded" else name)
    stop_server(server)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The embedded store, served: what every backend's answers are compared with."""
    location = str(tmp_path_factory.mktemp("reference") / "store")
    server = start_server(Path(location))
    yield Backend("embedded", server, location)
    stop_server(server)


def graph_of(body: bytes, format: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    for s, p, o in rdflib.Graph().parse(data=body, format=format):
        if isinstance(o, rdflib.Literal) and str(o.datatype) == WKT:
            o = rdflib.Literal(rounded_wkt(str(o)), datatype=o.datatype)
        graph.add((s, p, o))
    return graph


def rows(body: bytes) -> set[str]:
    """A named query's JSON rows as a set; values concatenated by GROUP_CONCAT (in no defined order) sorted, the time of
    each seed (`modified`) left out."""
    def normal(value: object) -> object:
        if isinstance(value, str):
            for separator in (" | ", ", "):
                if separator in value:
                    return separator.join(sorted(value.split(separator)))
        return value

    return {json.dumps({k: normal(v) for k, v in row.items() if k != "modified"}, sort_keys=True) for row in json.loads(body)}


def select(backend: Backend, query: str, **params: str) -> list[dict[str, str]]:
    arguments = urllib.parse.urlencode({"query": query, **params})
    status, body = backend.get(f"/sparql?{arguments}", "application/sparql-results+json")
    assert status == 200, body[:500]
    return [{k: v["value"] for k, v in b.items()} for b in json.loads(body)["results"]["bindings"]]


# ---------------------------------------------------------------- pages and documents


def test_home_page_lists_the_four_hubs(backend: Backend) -> None:
    status, body = backend.get("/", "text/html")
    assert status == 200
    for name in ("Polo del &#39;900", "Farm Cultural Park", "Tabakalera", "European Heritage Hub"):
        assert name.encode() in body, name


@pytest.mark.parametrize("path", ["/doc/hub/tabakalera.ttl", "/doc/hub/polo-del-900.ttl", "/doc/place/turin.ttl",
                                  "/doc/institution/istoreto.ttl"])
def test_documents_hold_the_same_statements(backend: Backend, reference: Backend, path: str) -> None:
    status, body = backend.get(path)
    assert status == 200, body[:300]
    expected = graph_of(reference.get(path)[1], "turtle")
    found = graph_of(body, "turtle")
    assert isomorphic(found, expected), sorted(set(found) ^ set(expected), key=str)[:6]


def test_a_hub_page_follows_its_blank_nodes(backend: Backend) -> None:
    """Tabakalera's formation is a blank node with a time-span: in an engine it is kept as a skolem IRI and read back."""
    status, body = backend.get("/doc/hub/tabakalera.ttl")
    assert status == 200
    document = graph_of(body, "turtle")
    formations = list(document.objects(rdflib.URIRef(BASE + "id/hub/tabakalera"),
                                       rdflib.URIRef("http://www.cidoc-crm.org/cidoc-crm/P95i_was_formed_by")))
    assert formations and all(isinstance(f, rdflib.BNode) for f in formations)
    assert b".well-known/genid/bn-" not in body
    assert (formations[0], rdflib.RDF.type, rdflib.URIRef("http://www.cidoc-crm.org/cidoc-crm/E66_Formation")) in document


def test_an_id_is_answered_with_303_to_its_document(backend: Backend) -> None:
    status, headers, _ = http_request(backend.url + "/id/hub/farm-cultural-park", headers={"Accept": "text/turtle"},
                                      follow=False)
    assert status == 303 and headers["Location"].endswith("/doc/hub/farm-cultural-park.ttl")


def test_an_unknown_thing_is_404(backend: Backend) -> None:
    assert backend.get("/doc/hub/no-such-hub", "text/html")[0] == 404


# ---------------------------------------------------------------- SPARQL


def test_the_default_graph_is_the_union_of_the_service_graphs_only(backend: Backend, reference: Backend) -> None:
    """Virtuoso keeps system graphs of its own: they stay out of the counts and out of GRAPH ?g."""
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
    found = {r["g"]: int(r["n"]) for r in select(backend, query)}
    expected = {r["g"]: int(r["n"]) for r in select(reference, query)}
    metadata = BASE + "graph/metadata"
    assert {g: n for g, n in found.items() if g != metadata} == {g: n for g, n in expected.items() if g != metadata}
    total = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(!STRSTARTS(STR(?s), STR(<" + metadata + ">))) }"
    assert select(backend, total) and int(select(backend, total)[0]["n"]) > 2000


def test_a_from_clause_is_the_query_own_dataset(backend: Backend, reference: Backend) -> None:
    query = f"SELECT (COUNT(*) AS ?n) FROM <{BASE}graph/core> WHERE {{ ?s ?p ?o }}"
    assert select(backend, query) == select(reference, query)
    given = select(backend, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": BASE + "graph/ontology"})
    assert given == select(reference, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": BASE + "graph/ontology"})


def test_a_dataset_can_only_be_made_of_the_service_graphs(backend: Backend) -> None:
    """An engine may hold graphs of its own (Virtuoso's system graphs) or of others: FROM, FROM NAMED and the protocol's
    graph parameters cannot reach them through the service."""
    foreign = "http://www.openlinksw.com/schemas/virtrdf#"
    for query, params in ((f"SELECT * FROM <{foreign}> WHERE {{ ?s ?p ?o }} LIMIT 1", {}),
                          (f"PREFIX v: <{foreign}> SELECT * FROM NAMED v: WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1", {}),
                          ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1", {"named-graph-uri": foreign})):
        status, body = backend.get("/sparql?" + urllib.parse.urlencode({"query": query, **params}),
                                   "application/sparql-results+json")
        if backend.engine is None:
            assert status == 200 and json.loads(body)["results"]["bindings"] == [], body  # no such graph: nothing
        else:
            assert status == 400 and b"not a graph of this service" in body, body
    # The service's bookkeeping in an engine (token hashes, the writers' lease, the feed) is not a graph of its dataset;
    # a graph under its prefix that holds nothing is empty, as on the embedded store.
    for graph in ("tokens", "lock", "feed", "nothing-here"):
        query = f"SELECT * FROM <{BASE}graph/{graph}> WHERE {{ ?s ?p ?o }} LIMIT 1"
        status, body = backend.get("/sparql?" + urllib.parse.urlencode({"query": query}), "application/sparql-results+json")
        if backend.engine is None or graph == "nothing-here":
            assert status == 200 and json.loads(body)["results"]["bindings"] == [], (graph, body)
        else:
            assert status == 400 and b"not a graph of this service" in body, (graph, body)


def test_construct_and_ask(backend: Backend, reference: Backend) -> None:
    query = f"CONSTRUCT {{ ?h a <{BASE}ontology/Hub> }} WHERE {{ ?h a <{BASE}ontology/Hub> }}"
    arguments = urllib.parse.urlencode({"query": query})
    status, body = backend.get(f"/sparql?{arguments}", "text/turtle")
    assert status == 200
    assert isomorphic(graph_of(body, "turtle"), graph_of(reference.get(f"/sparql?{arguments}", "text/turtle")[1], "turtle"))
    ask = urllib.parse.urlencode({"query": f"ASK {{ <{BASE}id/hub/tabakalera> ?p ?o }}"})
    assert json.loads(backend.get(f"/sparql?{ask}", "application/sparql-results+json")[1])["boolean"] is True


def test_service_and_load_are_refused_before_the_query_leaves(backend: Backend) -> None:
    for text in ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",):
        status, body = backend.get("/sparql?" + urllib.parse.urlencode({"query": text}), "application/sparql-results+json")
        assert status == 400 and b"SERVICE" in body  # our message, not the engine's
    status, _, body = http_request(backend.url + "/sparql", "POST", body=b"LOAD <http://127.0.0.1:9/x.ttl>",
                                   headers={"Content-Type": "application/sparql-update"})
    assert status in (401, 400), body


def test_sparqlwrapper_with_its_defaults(backend: Backend, reference: Backend) -> None:
    def names(url: str) -> set[str]:
        client = SPARQLWrapper(url + "/sparql")
        client.setReturnFormat(JSON)
        client.setQuery(f'SELECT ?l WHERE {{ ?h a <{BASE}ontology/Hub> ; <http://www.w3.org/2000/01/rdf-schema#label> ?l '
                        'FILTER(lang(?l) = "en") }')
        result = client.queryAndConvert()
        return {b["l"]["value"] for b in result["results"]["bindings"]}  # type: ignore[index, call-overload]

    assert names(backend.url) == names(reference.url) and len(names(backend.url)) == 4


def test_a_syntax_error_is_a_400(backend: Backend) -> None:
    status, body = backend.get("/sparql?" + urllib.parse.urlencode({"query": "SELECT ?s WHERE { ?s"}),
                               "application/sparql-results+json")
    assert status == 400, body


# ---------------------------------------------------------------- named queries, search, reconciliation


def test_every_named_query_answers_as_on_the_embedded_store(backend: Backend, reference: Backend) -> None:
    names = [q.name for q in named_queries()]
    assert len(names) >= 10
    for name in names:
        status, body = backend.get(f"/api/queries/{name}", "application/json")
        expected_status, expected = reference.get(f"/api/queries/{name}", "application/json")
        assert status == expected_status, (name, body[:300])
        if status == 200:
            assert rows(body) == rows(expected), name


def test_search_and_reconciliation(backend: Backend) -> None:
    status, body = backend.get("/search?q=tabakalera", "text/html")
    assert status == 200 and b"/doc/hub/tabakalera" in body
    queries = json.dumps({"q0": {"query": "Tabakalera"}})
    status, body = backend.get("/reconcile?" + urllib.parse.urlencode({"queries": queries}))
    assert status == 200
    assert json.loads(body)["q0"]["result"][0]["id"] == BASE + "id/hub/tabakalera"


# ---------------------------------------------------------------- harvesting


def test_void_counts_each_graph_as_the_embedded_store_does(backend: Backend, reference: Backend) -> None:
    void = rdflib.URIRef("http://rdfs.org/ns/void#triples")

    def counts(b: Backend) -> dict[str, int]:
        graph = graph_of(b.get("/.well-known/void", "text/turtle")[1], "turtle")
        return {str(s): int(o) for s, o in graph.subject_objects(void)
                if isinstance(s, rdflib.URIRef) and "graph/metadata" not in str(s)}

    found = counts(backend)
    assert found == counts(reference) and len(found) >= 5


def test_a_fragment_counts_and_pages_as_the_embedded_store_does(backend: Backend, reference: Backend) -> None:
    path = "/fragments?" + urllib.parse.urlencode({"predicate": str(rdflib.RDF.type), "object": BASE + "ontology/Hub"})
    found, expected = (graph_of(b.get(path, "text/turtle")[1], "turtle") for b in (backend, reference))
    hubs = rdflib.URIRef(BASE + "ontology/Hub")
    assert set(found.subjects(rdflib.RDF.type, hubs)) == set(expected.subjects(rdflib.RDF.type, hubs))
    total = rdflib.URIRef("http://www.w3.org/ns/hydra/core#totalItems")
    assert {int(o) for o in found.objects(None, total)} == {int(o) for o in expected.objects(None, total)}


def canonical(quads: list[pyoxigraph.Quad]) -> set[str]:
    """Quads with their blank nodes named canonically (RDFC-1.0), as N-Quads lines: equal sets, equal datasets."""
    dataset = pyoxigraph.Dataset(
        pyoxigraph.Quad(q.subject, q.predicate, pyoxigraph.Literal(rounded_wkt(q.object.value), datatype=q.object.datatype), q.graph_name)
        if isinstance(q.object, pyoxigraph.Literal) and q.object.datatype.value == WKT else q for q in quads)
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.UNSTABLE)
    return {str(q) for q in dataset}


def test_the_dump_holds_every_graph(backend: Backend, reference: Backend) -> None:
    def graphs(b: Backend) -> dict[str, list[pyoxigraph.Quad]]:
        status, body = b.get("/dumps/all.nq.gz")
        assert status == 200, body[:200]
        found: dict[str, list[pyoxigraph.Quad]] = {}
        for quad in pyoxigraph.parse(gzip.decompress(body), pyoxigraph.RdfFormat.N_QUADS):
            found.setdefault(str(quad.graph_name.value), []).append(quad)
        return found

    found, expected = graphs(backend), graphs(reference)
    assert set(found) == set(expected)
    for name in ("core", "ontology", "entailed", "shapes"):
        assert canonical(found[BASE + "graph/" + name]) == canonical(expected[BASE + "graph/" + name]), name


def test_a_dump_reads_the_engine_answer_a_batch_at_a_time(backend: Backend, reference: Backend,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The same statements when each graph's answer is parsed seven lines at a time (blank nodes and all)."""
    if backend.engine is None:
        pytest.skip("the embedded store dumps its own files")
    import io

    from heritage_hubs.graph import remote

    monkeypatch.setattr(remote, "DUMP_BATCH_LINES", 7)
    for key, value in backend.env.items():
        monkeypatch.setenv(key, value)
    output = io.BytesIO()
    RemoteGraphStore(backend.location).reader().dump(output)
    dumped = list(pyoxigraph.parse(output.getvalue(), pyoxigraph.RdfFormat.N_QUADS))
    status, body = reference.get("/dumps/all.nq.gz")
    assert status == 200
    expected = list(pyoxigraph.parse(gzip.decompress(body), pyoxigraph.RdfFormat.N_QUADS))
    for name in ("core", "ontology", "entailed", "shapes"):
        graph = BASE + "graph/" + name
        found = [q for q in dumped if q.graph_name.value == graph]
        assert len(found) > 7 and canonical(found) == canonical([q for q in expected if q.graph_name.value == graph]), name


# ---------------------------------------------------------------- the change feed (also tests/test_ldes_client.py)


def test_the_change_feed_is_offered_on_every_backend(backend: Backend) -> None:
    """VoID names the feed, and the feed starts with a member for every resource of the data it was seeded with."""
    void = graph_of(backend.get("/.well-known/void", "text/turtle")[1], "turtle")
    assert any(str(o).endswith("/feed") for o in void.objects())
    status, body = backend.get("/feed", "text/turtle")
    assert status == 200, body[:300]
    stream = graph_of(body, "turtle")
    pages = sorted(str(o) for o in stream.objects(None, rdflib.URIRef("https://w3id.org/tree#node")))
    assert pages and pages[0].endswith("/feed/page/0")
    status, body = backend.get("/feed/page/0", "application/n-triples")
    members = set(graph_of(body, "nt").objects(None, rdflib.URIRef("http://purl.org/dc/terms/isVersionOf")))
    assert status == 200 and members and all(str(m).startswith(BASE) for m in members)


@pytest.mark.parametrize("name", list(ENGINES))
def test_the_feed_kept_in_an_engine_numbers_prunes_and_restarts(name: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of one member, kept no longer than they must be (retention of zero days): a superseded version's page goes,
    from the front, and answers as gone; a restore starts the feed again after the last page served; and the feed's
    graph in the engine is never a graph anyone may write, nor part of the service's data."""
    from heritage_hubs.graph.errors import GraphNameError
    from heritage_hubs.graph.feed import FeedPolicy

    engine = ENGINES[name](tmp_path)
    try:
        for key, value in engine.env.items():
            monkeypatch.setenv(key, value)
        store = RemoteGraphStore(engine.location, state=tmp_path / "state",
                                 feed_policy=FeedPolicy(page_size=1, retention_days=0))
        thing, graph, label = BASE + "id/thing/x", BASE + "graph/things", "http://www.w3.org/2000/01/rdf-schema#label"
        store.restore(RdfSource.from_bytes(f'<{thing}> <{label}> "v1" <{graph}> .'.encode(), pyoxigraph.RdfFormat.N_QUADS),
                      validate=False)
        feed = store.feed
        assert feed.first_page(0) == 0 and [m.resource for m in feed.page(0, 0).members] == [thing]  # type: ignore[union-attr]
        for version in ("v2", "v3"):
            store.write_graph([RdfSource.from_bytes(f'<{thing}> <{label}> "{version}" .'.encode(), pyoxigraph.RdfFormat.N_TRIPLES)],
                              graph=graph, replace=True)
        # Page 0 (v1, superseded) went; page 1 (v2) was the newest when v3 was written, so it stays until the next write.
        assert feed.first_page(0) == 1 and feed.page(0, 0) is None
        assert [('"v2"' in m.body, '"v3"' in m.body) for n in (1, 2) for m in feed.page(n, 0).members] == [  # type: ignore[union-attr]
            (True, False), (False, True)]
        assert [n for n, _ in feed.page_starts(0)] == [1, 2]
        store.restore(RdfSource.from_bytes(f'<{thing}> <{label}> "v4" <{graph}> .'.encode(), pyoxigraph.RdfFormat.N_QUADS),
                      validate=False)
        assert feed.first_page(0) == 3 and '"v4"' in feed.page(3, 0).members[0].body  # type: ignore[union-attr]
        assert feed.statistics(0) == (1, 1)
        with pytest.raises(GraphNameError, match="maintained by the service"):
            store.write_graph([RdfSource.from_bytes(b"<urn:a> <urn:b> <urn:c> .", pyoxigraph.RdfFormat.N_TRIPLES)],
                              graph=store.namespaces.feed_graph, replace=True)
        assert store.namespaces.feed_graph not in store.reader().our_graphs()
        assert len(store.reader()) == 1 + len(list(store.reader().quads_for_pattern(
            None, None, None, pyoxigraph.NamedNode(store.namespaces.metadata_graph))))
    finally:
        engine.stop()


MUSEUM = BASE + "graph/institution/museo-esempio"
EXAMPLE = Path(__file__).parent.parent / "examples" / "museum"


def _put(backend: Backend, secret: str, graph: str, body: bytes, method: str = "PUT") -> tuple[int, bytes]:
    status, _, answer = http_request(backend.url + "/graph-store?graph=" + urllib.parse.quote(graph), method, body=body,
                                     headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {secret}"})
    return status, answer


def _partners(backend: Backend) -> set[str]:
    status, body = backend.get("/api/queries/hub-partners?" + urllib.parse.urlencode({"hub": BASE + "id/hub/polo-del-900"}),
                               "application/json")
    assert status == 200, body[:300]
    return {row["institution"] for row in json.loads(body)}


def _void_agrees_with_a_count(backend: Backend) -> None:
    """VoID's figures (kept up to date by each write) equal what a query counts now."""
    void = graph_of(backend.get("/.well-known/void", "text/turtle")[1], "turtle")
    v = "http://rdfs.org/ns/void#"
    totals = {int(o) for o in void.objects(rdflib.URIRef(BASE + "dataset"), rdflib.URIRef(v + "triples"))}
    kept = f"FILTER(?g NOT IN (<{BASE}graph/metadata>, <{BASE}graph/entailed>))"
    assert totals == {int(select(backend, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {kept} }}")[0]["n"])}
    museums = [int(o) for p in void.subjects(rdflib.URIRef(v + "class"), rdflib.URIRef(BASE + "ontology/Museum"))
               for o in void.objects(p, rdflib.URIRef(v + "entities"))]
    counted = select(backend, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a <{BASE}ontology/Museum> }} {kept} }}")
    assert museums == [int(counted[0]["n"])] or (not museums and counted[0]["n"] == "0")


def test_a_museum_writes_its_graph_the_same_on_every_backend(backend: Backend) -> None:
    """The museum's journey over HTTP: a valid record in (validated, entailed, described, searchable), an invalid one
    refused with the same violations and nothing changed, an append, a removal that would break a link from another
    graph refused, and the graph deleted with everything that followed from it."""
    created = backend.cli("token", "create", "--institution", "museo-esempio", "--graph", "institution/museo-esempio")
    admin = backend.cli("token", "create", "--institution", "network", "--all-graphs")
    assert created.returncode == 0 and admin.returncode == 0, created.stderr + admin.stderr
    museum, network = created.stdout.strip(), admin.stdout.strip()
    record = (FIXTURES / "institution.ttl").read_bytes()
    institution = BASE + "id/institution/museo-esempio"
    assert institution not in _partners(backend)

    status, body = _put(backend, museum, MUSEUM, record)
    assert status == 201, body
    # The museum says hh:partnerOf; the entailed inverse puts it among the hub's partners, and a CRM query sees it.
    assert institution in _partners(backend)
    crm = f"ASK {{ <{BASE}id/hub/polo-del-900> <http://www.cidoc-crm.org/cidoc-crm/P107_has_current_or_former_member> <{institution}> }}"
    assert json.loads(backend.get("/sparql?" + urllib.parse.urlencode({"query": crm}), "application/sparql-results+json")[1])["boolean"]
    document = graph_of(backend.get("/doc/institution/museo-esempio.ttl")[1], "turtle")
    assert (rdflib.URIRef(institution), rdflib.RDFS.label, rdflib.Literal("Example Museum", lang="en")) in document
    queries = json.dumps({"q0": {"query": "Example Museum"}})
    found = json.loads(backend.get("/reconcile?" + urllib.parse.urlencode({"queries": queries}))[1])["q0"]["result"]
    assert found and found[0]["id"] == institution
    info = {r["g"]: r for r in select(backend, f"SELECT ?g ?n WHERE {{ GRAPH <{BASE}graph/metadata> {{ ?g <http://rdfs.org/ns/void#triples> ?n }} }}")}
    assert info[MUSEUM]["n"] == str(len(rdflib.Graph().parse(data=record, format="turtle")))
    _void_agrees_with_a_count(backend)

    # An invalid record: refused with the shapes' messages, and nothing of it is kept.
    status, body = _put(backend, museum, MUSEUM, (FIXTURES / "invalid-institution.ttl").read_bytes())
    assert status == 422, body
    messages = {v["resultMessage"] for v in json.loads(body)["violations"]}
    assert any("hh:institutionKind" in m for m in messages) and len(messages) >= 5, messages
    assert institution in _partners(backend)
    assert backend.get("/doc/institution/no-kind", "text/html")[0] == 404

    # An append (POST) adds to the graph.
    extra = f"<{institution}> <http://www.w3.org/2004/02/skos/core#altLabel> \"MdE\"@it .".encode()
    assert _put(backend, museum, MUSEUM, extra, method="POST")[0] == 204
    assert b"MdE" in backend.get("/doc/institution/museo-esempio.ttl")[1]

    # A spreadsheet with its mapping (OpenRefine's users' path): five records into the same graph.
    form, content_type = multipart_form({"file": ("records.csv", (EXAMPLE / "records.csv").read_bytes(), "text/csv"),
                                     "mapping": ("mapping.toml", (EXAMPLE / "mapping.toml").read_bytes(), "application/toml")})
    status, _, body = http_request(backend.url + "/import/csv?" + urllib.parse.urlencode({"graph": MUSEUM}), "POST",
                                   body=form, headers={"Authorization": f"Bearer {museum}", "Content-Type": content_type})
    assert status == 200 and json.loads(body)["importedRows"] == 5, body
    kept = json.loads(backend.get("/api/queries/kept-assets?" + urllib.parse.urlencode({"keeper": institution}),
                                  "application/json")[1])
    assert len(kept) >= 5, kept

    # A link from another graph: a hub that names the museum as a partner needs it to stay an institution.
    hub = (f"@prefix hh: <{BASE}ontology/> . <{BASE}id/hub/hub-esempio> a hh:Hub ; "
           f"<http://www.w3.org/2000/01/rdf-schema#label> \"Hub di esempio\"@it ; "
           f"hh:hubType <{BASE}id/concept/cultural-centre> ; hh:hasPartner <{institution}> .").encode()
    assert _put(backend, network, BASE + "graph/hub-esempio", hub)[0] == 201
    untyped = record.replace(b"<https://w3id.org/heritage-hubs/id/institution/museo-esempio> a hh:Museum ;",
                             b"<https://w3id.org/heritage-hubs/id/institution/museo-esempio>")
    status, body = _put(backend, museum, MUSEUM, untyped)
    assert status == 422, body
    assert any("hasPartner" in v["resultMessage"] for v in json.loads(body)["violations"]), body
    assert http_request(backend.url + "/graph-store?graph=" + urllib.parse.quote(BASE + "graph/hub-esempio"), "DELETE",
                        headers={"Authorization": f"Bearer {network}"})[0] == 204

    # Deleted: the graph, what it entailed, its description.
    assert http_request(backend.url + "/graph-store?graph=" + urllib.parse.quote(MUSEUM), "DELETE",
                        headers={"Authorization": f"Bearer {museum}"})[0] == 204
    assert institution not in _partners(backend)
    assert not json.loads(backend.get("/sparql?" + urllib.parse.urlencode({"query": crm}), "application/sparql-results+json")[1])["boolean"]
    leftover = f"ASK {{ GRAPH ?g {{ <{institution}> ?p ?o }} }}"
    assert not json.loads(backend.get("/sparql?" + urllib.parse.urlencode({"query": leftover}), "application/sparql-results+json")[1])["boolean"]
    info = {r["g"] for r in select(backend, f"SELECT ?g WHERE {{ GRAPH <{BASE}graph/metadata> {{ ?g a <http://rdfs.org/ns/void#Dataset> }} }}")}
    assert MUSEUM not in info
    _void_agrees_with_a_count(backend)


def test_statements_kept_in_the_engine_outside_the_service_count_for_nothing(tmp_path: Path) -> None:
    """The same statement written straight to the engine, in a graph that is not the service's, must not keep an
    entailment alive when the museum withdraws it — also when the engine's own default graph is the union of all its
    graphs (`&union=engine`, where no request names the service's graphs)."""
    engine = start_oxigraph(tmp_path, union=True)
    try:
        env = {"HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "state")}
        seed_location(engine.location, env)
        store = RemoteGraphStore(engine.location, state=tmp_path / "state")
        assert isinstance(store, GraphBackend)  # the contract both backends keep (graph/backend.py)
        institution, hub = BASE + "id/institution/museo-esempio", BASE + "id/hub/polo-del-900"
        engine_client = Engine(EngineAddress.parse(engine.location))
        engine_client.put_graph("urn:elsewhere", f"<{institution}> <{BASE}ontology/partnerOf> <{hub}> .".encode())
        entailed = f"ASK {{ GRAPH <{BASE}graph/entailed> {{ <{hub}> <{BASE}ontology/hasPartner> <{institution}> }} }}"
        record = (FIXTURES / "institution.ttl").read_bytes()
        store.write_graph([RdfSource.from_bytes(record, pyoxigraph.RdfFormat.TURTLE)], graph=MUSEUM, replace=True)
        assert bool(store.query(entailed))
        withdrawn = record.replace(b"    hh:partnerOf <https://w3id.org/heritage-hubs/id/hub/polo-del-900> ;\n", b"")
        assert withdrawn != record
        store.write_graph([RdfSource.from_bytes(withdrawn, pyoxigraph.RdfFormat.TURTLE)], graph=MUSEUM, replace=True)
        assert not bool(store.query(entailed))
    finally:
        engine.stop()


def test_the_command_line_on_every_backend(backend: Backend, tmp_path: Path) -> None:
    """`graphs`, `query`, `validate`, `load` (refused when invalid, with nothing kept) and `dump` over the same store."""
    listed = backend.cli("graphs")
    assert listed.returncode == 0 and BASE + "graph/core" in listed.stdout
    counted = backend.cli("query", "ASK { ?s a <https://w3id.org/heritage-hubs/ontology/Hub> }")
    assert counted.returncode == 0 and "true" in counted.stdout
    everything = backend.cli("validate")
    assert everything.returncode == 0, everything.stderr
    # A file checked against what the store holds (links resolved there), nothing changed.
    fine = backend.cli("validate", str(FIXTURES / "institution.ttl"), "--graph", "institution/museo-esempio")
    assert fine.returncode == 0 and "conforms" in fine.stdout, fine.stderr
    wrong = backend.cli("validate", str(FIXTURES / "invalid-institution.ttl"), "--graph", "institution/invalid")
    assert wrong.returncode == 1 and "SHACL violations" in wrong.stderr
    refused = backend.cli("load", str(FIXTURES / "invalid-institution.ttl"), "--graph", "institution/invalid")
    assert refused.returncode == 1 and "SHACL violations" in refused.stderr
    assert BASE + "graph/institution/invalid" not in backend.cli("graphs").stdout
    dumped = backend.cli("dump", "-o", str(tmp_path / "all.nq.gz"))
    assert dumped.returncode == 0 and (tmp_path / "all.nq.gz").stat().st_size > 10_000


def test_a_graph_outside_the_service_prefix_is_written_only_on_the_embedded_store(backend: Backend) -> None:
    """An engine may hold its operator's own graphs: the service writes there only graphs under its prefix, and says so
    (never a 201 for a graph it would not show again)."""
    admin = backend.cli("token", "create", "--institution", "network", "--all-graphs")
    assert admin.returncode == 0, admin.stderr
    graph = "http://www.example/gsp/person/1.ttl"
    status, body = _put(backend, admin.stdout.strip(), graph, b"<http://www.example/p> <http://www.example/q> 1 .")
    if backend.engine is None:
        assert status == 201
        assert http_request(backend.url + "/graph-store?graph=" + urllib.parse.quote(graph), "DELETE",
                            headers={"Authorization": f"Bearer {admin.stdout.strip()}"})[0] == 204
    else:
        assert status == 400 and b"not a graph of this service" in body, body[:300]
        assert backend.get("/graph-store?graph=" + urllib.parse.quote(graph))[0] == 404


def _update(backend: Backend, secret: str, update: str) -> tuple[int, bytes]:
    status, _, body = http_request(backend.url + "/sparql", "POST", body=update.encode(),
                                   headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {secret}"})
    return status, body


def test_sparql_update_on_every_backend(backend: Backend) -> None:
    """A museum edits its graph with SPARQL Update: data in, a label changed by DELETE/INSERT … WHERE, links made from
    what another graph holds, a removal the shapes refuse (nothing changes), a withdrawn partnership whose entailment
    goes with it; another institution's graph is out of its reach. Over an engine the update runs here on copies of
    the graphs it names, so one that reads a graph named by a variable is refused with the reason."""
    made = backend.cli("token", "create", "--institution", "museo-update", "--graph", "institution/museo-update")
    assert made.returncode == 0, made.stderr
    museum, graph = made.stdout.strip(), BASE + "graph/institution/museo-update"
    institution, hh, label = f"<{BASE}id/institution/museo-update>", f"{BASE}ontology/", "<http://www.w3.org/2000/01/rdf-schema#label>"
    record = (FIXTURES / "institution.ttl").read_text().replace("museo-esempio", "museo-update")
    triples = rdflib.Graph().parse(data=record, format="turtle").serialize(format="nt")
    status, body = _update(backend, museum, f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}")
    assert status == 204, body[:500]
    assert f"{BASE}id/institution/museo-update" in _partners(backend)

    relabel = (f"DELETE {{ GRAPH <{graph}> {{ {institution} {label} ?old }} }} "
               f"INSERT {{ GRAPH <{graph}> {{ {institution} {label} \"Museo aggiornato\"@it }} }} "
               f"WHERE {{ GRAPH <{graph}> {{ {institution} {label} ?old FILTER(LANG(?old) = \"it\") }} }}")
    assert _update(backend, museum, relabel)[0] == 204
    labels = {r["l"] for r in select(backend, f"SELECT ?l WHERE {{ GRAPH <{graph}> {{ {institution} {label} ?l }} }}")}
    assert labels == {"Museo aggiornato", "Example Museum"}, labels

    # Reading the core graph: a link to every hub it holds.
    hubs = {r["h"] for r in select(backend, f"SELECT ?h WHERE {{ GRAPH <{BASE}graph/core> {{ ?h a <{hh}Hub> }} }}")}
    link = (f"INSERT {{ GRAPH <{graph}> {{ {institution} <http://www.w3.org/2000/01/rdf-schema#seeAlso> ?h }} }} "
            f"WHERE {{ GRAPH <{BASE}graph/core> {{ ?h a <{hh}Hub> }} }}")
    assert _update(backend, museum, link)[0] == 204
    seen = {r["h"] for r in select(backend, f"SELECT ?h WHERE {{ GRAPH <{graph}> {{ {institution} "
                                            "<http://www.w3.org/2000/01/rdf-schema#seeAlso> ?h } }")}
    assert hubs and seen == hubs

    # Refused by the shapes (an institution needs its kind): 422, nothing changed.
    status, body = _update(backend, museum, f"DELETE WHERE {{ GRAPH <{graph}> {{ {institution} <{hh}institutionKind> ?k }} }}")
    assert status == 422 and b"institutionKind" in body, body[:300]
    assert select(backend, f"SELECT ?k WHERE {{ GRAPH <{graph}> {{ {institution} <{hh}institutionKind> ?k }} }}")

    # Another graph is out of the museum's reach, whatever the backend.
    status, _ = _update(backend, museum, f"INSERT DATA {{ GRAPH <{BASE}graph/core> {{ {institution} {label} \"x\" }} }}")
    assert status == 403

    # The partnership withdrawn: the entailed inverse goes with it.
    assert _update(backend, museum, f"DELETE WHERE {{ GRAPH <{graph}> {{ {institution} <{hh}partnerOf> ?h }} }}")[0] == 204
    assert f"{BASE}id/institution/museo-update" not in _partners(backend)

    # The change feed has the institution's latest version (an edit through SPARQL Update is a change like any).
    status, feed = backend.get("/feed", "application/n-triples")
    newest = max(int(n) for n in re.findall(rb"/feed/page/(\d+)>", feed))
    page = graph_of(backend.get(f"/feed/page/{newest}", "application/n-triples")[1], "nt")
    versions = set(page.subjects(rdflib.URIRef("http://purl.org/dc/terms/isVersionOf"),
                                 rdflib.URIRef(f"{BASE}id/institution/museo-update")))
    assert any((v, rdflib.RDFS.label, rdflib.Literal("Museo aggiornato", lang="it")) in page for v in versions)

    variable = (f"INSERT {{ GRAPH <{graph}> {{ {institution} <http://www.w3.org/2000/01/rdf-schema#seeAlso> ?g }} }} "
                "WHERE { GRAPH ?g { ?s ?p ?o } }")
    status, body = _update(backend, museum, variable)
    if backend.engine is None:
        assert status == 204
    else:
        assert status == 501 and b"name the graphs it reads" in body
    assert _update(backend, museum, f"DROP GRAPH <{graph}>")[0] == 204
    assert not select(backend, f"SELECT * WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


# ---------------------------------------------------------------- restore, and an engine that fails


def _graph_counts(backend: Backend) -> dict[str, str]:
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    return {r["g"]: r["n"] for r in select(backend, query) if not r["g"].endswith("graph/metadata")}


def test_a_dump_that_breaks_the_shapes_changes_nothing_in_the_engine(backend: Backend, tmp_path: Path) -> None:
    if backend.engine is None:
        pytest.skip("the embedded store's restore: tests/test_cli.py")
    dump = tmp_path / "dump.nq"
    made = backend.cli("dump", "-o", str(dump))
    assert made.returncode == 0, made.stderr
    before = _graph_counts(backend)
    bad = tmp_path / "bad.nq"
    hub = f"<{BASE}id/hub/unnamed> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{BASE}ontology/Hub> <{BASE}graph/core> .\n"
    bad.write_text(dump.read_text() + hub)
    # The dump is held in memory while it is validated and sent, or on disk when it is larger than
    # HERITAGE_HUBS_RESTORE_MEMORY_MB (0 here): the same outcome either way.
    on_disk = {"HERITAGE_HUBS_RESTORE_MEMORY_MB": "0"}
    for held in ({}, on_disk):
        refused = backend.cli("restore", str(bad), env=held)
        assert refused.returncode == 1 and "hubType" in refused.stderr, refused.stderr
        assert _graph_counts(backend) == before
    # The engine's own dump, given back whole, is accepted and leaves every graph as it was; the generation goes on
    # from the engine's (the dump's own is older: caches keyed by it would answer from before).
    metadata = BASE + "graph/metadata"
    generation = f"SELECT ?n WHERE {{ GRAPH <{metadata}> {{ <{metadata}> <{BASE}ontology/generation> ?n }} }}"
    earlier = int(select(backend, generation)[0]["n"])
    for times, held in enumerate(({}, on_disk), start=1):
        restored = backend.cli("restore", str(dump), env=held)
        assert restored.returncode == 0, restored.stderr
        assert _graph_counts(backend) == before
        assert [int(r["n"]) for r in select(backend, generation)] == [earlier + times]


def _counts_in(dump: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for quad in pyoxigraph.parse(path=str(dump), format=pyoxigraph.RdfFormat.N_QUADS):
        graph = str(quad.graph_name.value)
        counts[graph] = counts.get(graph, 0) + 1
    return counts


@pytest.mark.parametrize("name", list(ENGINES))
def test_the_engine_own_bulk_loader_driven_by_the_command_line(name: str, tmp_path: Path) -> None:
    """`restore` and `load --engine-loader`: validated here, one N-Quads file handed to the engine's own loader (Oxigraph
    server's HTTP bulk load, Virtuoso's ld_dir through isql, TDB2's loader with Jena stopped and started again around
    it), checked by counting what the engine then holds. Bad data runs nothing; a loader that fails, or loads nothing,
    is an error and the generation stays where it was."""
    from .engines import bulk_loader

    source = tmp_path / "source"
    seed_location(str(source), {})
    dump = tmp_path / "dump.nq"
    subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", str(source), "dump", "-o", str(dump)], check=True,
                   capture_output=True, timeout=300)
    engine = ENGINES[name](tmp_path)
    try:
        command, folder = bulk_loader(engine, tmp_path)
        env = {**os.environ, **engine.env, "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "state")}

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", engine.location, *args],
                                  capture_output=True, text=True, env=env, timeout=600)

        restored = cli("restore", str(dump), "--engine-loader", command, "--loader-dir", str(folder))
        assert restored.returncode == 0, restored.stderr
        store = RemoteGraphStore(engine.location, state=tmp_path / "check")
        held = {str(r["g"].value): int(r["n"].value) for r in store.reader().select_outside_dataset(  # type: ignore[union-attr]
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
        metadata = store.namespaces.metadata_graph
        expected = {g: n for g, n in _counts_in(dump).items() if g != metadata}
        assert {g: held.get(g) for g in expected} == expected
        assert not list(folder.glob("hh-load-*")), "the loader's file is removed after the load"

        def generation_now() -> int:
            store.generation_counter.forget()
            return int(store.generation)

        generation = generation_now()
        # A museum's file through `load`, by the same loader: its graph, the feed and the service's pages see it.
        museum = BASE + "graph/institution/museo-esempio"
        loaded = cli("load", str(FIXTURES / "institution.ttl"), "--graph", museum, "--engine-loader", command,
                     "--loader-dir", str(folder))
        assert loaded.returncode == 0, loaded.stderr
        assert generation_now() == generation + 1 and museum in store.reader().our_graphs()
        assert store.reader().holds_any(museum)
        assert "museo-esempio" in cli("query", f"SELECT ?s WHERE {{ GRAPH <{museum}> {{ ?s a ?t }} }}").stdout
        # Invalid data: refused here, the loader never runs.
        marker = tmp_path / "ran"
        refused = cli("load", str(FIXTURES / "invalid-institution.ttl"), "--graph", "institution/invalid",
                      "--engine-loader", f"touch {marker} {{file}}")
        assert refused.returncode == 1 and "SHACL violations" in refused.stderr and not marker.exists()
        # A loader that fails, and one that exits normally having loaded nothing: errors, the generation unmoved.
        idle = cli("load", str(FIXTURES / "institution.ttl"), "--graph", museum, "--replace", "--engine-loader", "true {file}")
        assert idle.returncode == 1 and "holds 0 statements of the" in idle.stderr, idle.stderr
        failed = cli("restore", str(dump), "--engine-loader", "echo refused by the engine >&2; false {file}")
        assert failed.returncode == 1 and "exited with 1: refused by the engine" in failed.stderr, failed.stderr
        assert generation_now() == generation + 1
        # Running the loader again finishes the job.
        again = cli("restore", str(dump), "--engine-loader", command, "--loader-dir", str(folder))
        assert again.returncode == 0, again.stderr
        assert generation_now() == generation + 2 and museum not in store.reader().our_graphs()
    finally:
        engine.stop()


def test_an_engine_loader_is_checked_before_anything_is_read(tmp_path: Path) -> None:
    env = {**os.environ, "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "state")}
    fixture = str(FIXTURES / "institution.ttl")

    def cli(store: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", store, "load", fixture, "--graph",
                               "institution/x", *args], capture_output=True, text=True, env=env, timeout=120)

    engine = "sparql+http://127.0.0.1:9/sparql"
    assert "may use {file}, {dir} and {name}" in cli(engine, "--engine-loader", "load {path}").stderr
    assert "must name the file to load" in cli(engine, "--engine-loader", "load everything").stderr
    odd = tmp_path / "a folder"
    odd.mkdir()
    assert "has characters other than" in cli(engine, "--engine-loader", "x {file}", "--loader-dir", str(odd)).stderr
    assert "goes with --engine-loader" in cli(engine, "--loader-dir", str(tmp_path)).stderr
    embedded = cli(str(tmp_path / "store"), "--engine-loader", "x {file}")
    assert embedded.returncode == 1 and "for a store kept in a SPARQL engine" in embedded.stderr


def test_an_engine_that_cannot_be_reached_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "state")}
    command = [sys.executable, "-m", "heritage_hubs.cli", "--store"]
    closed = subprocess.run([*command, "sparql+http://127.0.0.1:9/sparql", "query", "ASK {}"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert closed.returncode == 1 and "cannot be reached" in closed.stderr and "Traceback" not in closed.stderr
    odd = subprocess.run([*command, "sparql+http://127.0.0.1:9/sparql?updates=/u", "graphs"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert odd.returncode == 2 and "unknown option 'updates'" in odd.stderr


def test_an_engine_location_never_becomes_a_store_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Path folds `sparql+http://` to `sparql+http:/`: opened as a folder, it would make a local store of that name."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="names a SPARQL engine"):
        GraphStore("sparql+http://127.0.0.1:9/sparql")
    with pytest.raises(ValueError, match="names a SPARQL engine"):
        GraphStore(Path("sparql+http://127.0.0.1:9/sparql"))
    assert list(tmp_path.iterdir()) == []


def test_an_engine_that_does_not_answer_is_given_up_on_in_time() -> None:
    """A real socket that accepts and never answers: the query fails with 503 after the time limit, not later."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        engine = Engine(EngineAddress.parse(f"sparql+http://127.0.0.1:{silent.getsockname()[1]}/sparql"), timeout=1.0)
        with pytest.raises(EngineError) as raised:
            engine.query("ASK {}", accept="application/sparql-results+json")
        assert raised.value.status == 503 and "time limit of 1 s" in str(raised.value)
    finally:
        silent.close()


def test_two_servers_in_front_of_one_engine_see_each_other_s_changes(backend: Backend, tmp_path: Path) -> None:
    """Several processes (on several hosts) share the engine; each keeps its own caches, keyed by the engine's generation,
    so a change made elsewhere (here a restore from the command line) reaches both pages and cached query results."""
    if backend.engine is None:
        pytest.skip("one embedded store is served by one host")
    other = start_server(cast(Path, backend.location), extra_env={**backend.env, "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "other")})
    try:
        query = "/sparql?" + urllib.parse.urlencode({"query": f'ASK {{ <{BASE}id/hub/tabakalera> ?p "Tabakalera Donostia"@eu }}'})
        for server in (backend.url, other.url):
            assert json.loads(http_request(server + query, headers={"Accept": "application/sparql-results+json"})[2])["boolean"] is False
        dump = tmp_path / "dump.nq"
        assert backend.cli("dump", "-o", str(dump)).returncode == 0
        label = (f'<{BASE}id/hub/tabakalera> <http://www.w3.org/2004/02/skos/core#altLabel> "Tabakalera Donostia"@eu '
                 f"<{BASE}graph/core> .\n")
        dump.write_text(dump.read_text() + label)
        restored = backend.cli("restore", str(dump))
        assert restored.returncode == 0, restored.stderr
        deadline = time.monotonic() + 10  # each process reads the generation at most once a second
        for server in (backend.url, other.url):
            while True:
                answer = json.loads(http_request(server + query, headers={"Accept": "application/sparql-results+json"})[2])
                page = http_request(server + "/doc/hub/tabakalera.ttl")[2]
                if answer["boolean"] and b"Tabakalera Donostia" in page:
                    break
                assert time.monotonic() < deadline, f"{server} still shows the data from before the restore"
                time.sleep(0.2)
    finally:
        stop_server(other)


def test_a_token_made_on_one_host_writes_through_another_until_revoked(backend: Backend, tmp_path: Path) -> None:
    """Tokens are kept in the engine: one created from the command line of one host (its own state folder) lets a
    museum write through a server on another host, its feed member is served by both, and once revoked on either host
    it is refused on every one within seconds. No token can be read through the public endpoint."""
    if backend.engine is None:
        pytest.skip("one embedded store is served by one host")
    elsewhere = {**backend.env, "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "elsewhere")}
    other = start_server(cast(Path, backend.location), extra_env=elsewhere)
    try:
        def cli(*args: str) -> str:
            done = subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", backend.location, *args],
                                  capture_output=True, text=True, env={**os.environ, **elsewhere}, timeout=120)
            assert done.returncode == 0, done.stderr
            return done.stdout

        secret = cli("token", "create", "--institution", "museo-altrove", "--graph", "institution/museo-altrove").strip()
        graph = BASE + "graph/institution/museo-altrove"
        record = (FIXTURES / "institution.ttl").read_bytes().replace(b"museo-esempio", b"museo-altrove")
        assert _put(backend, secret, graph, record)[0] == 201  # through the first host, which never saw the token made
        assert "museo-altrove" in backend.cli("token", "list").stdout
        for server in (backend.url, other.url):
            feed = http_request(server + "/feed", headers={"Accept": "application/n-triples"})[2]
            newest = max(int(n) for n in re.findall(rb"/feed/page/(\d+)>", feed))
            page = http_request(f"{server}/feed/page/{newest}", headers={"Accept": "application/n-triples"})[2]
            assert f"<{BASE}id/institution/museo-altrove>".encode() in page
        token_id = secret.split("_")[1]
        revoked = backend.cli("token", "revoke", token_id)
        assert revoked.returncode == 0, revoked.stderr
        deadline = time.monotonic() + 10  # each process reads the tokens at most every 2 s
        while True:
            status, _, body = http_request(other.url + "/graph-store?graph=" + urllib.parse.quote(graph), "PUT", body=record,
                                           headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {secret}"})
            if status == 401:
                assert b"revoked" in body
                break
            assert status == 204 and time.monotonic() < deadline, (status, body[:200])
            time.sleep(0.5)
        leak = select(backend, f"SELECT * WHERE {{ GRAPH <{BASE}graph/tokens> {{ ?s ?p ?o }} }}")
        assert not leak
        status, body = backend.get("/sparql?" + urllib.parse.urlencode(
            {"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": BASE + "graph/tokens"}))
        assert status == 400, body[:200]
    finally:
        stop_server(other)


@pytest.mark.parametrize("name", list(ENGINES))
def test_writers_on_two_hosts_take_turns_through_the_engine(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hosts (two state folders) in front of one engine: one waits while the other holds the engine's lease, a host
    that died holding it is waited for only until its lease runs out, and writes made through both at once give each
    change-feed member a number of its own."""
    import threading

    from heritage_hubs.graph.errors import StoreBusyError

    engine = ENGINES[name](tmp_path)
    try:
        for key, value in engine.env.items():
            monkeypatch.setenv(key, value)
        seed_location(engine.location, {**engine.env, "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "a")})
        a = RemoteGraphStore(engine.location, state=tmp_path / "a")
        b = RemoteGraphStore(engine.location, state=tmp_path / "b")
        with a.write_lock(), pytest.raises(StoreBusyError, match="another host"), b.write_lock(timeout=1):
            pass
        with b.write_lock(timeout=5):
            assert b.lease.holder()[0] is not None
        assert b.lease.holder()[0] == ""  # given back
        a.lease.lease = 1.0
        a.engine.update(a.lease._take("a host that died"))
        started = time.monotonic()
        with b.write_lock(timeout=20):
            assert time.monotonic() - started > 0.3
        a.lease.lease = 30.0

        first = a.feed.statistics(-1)[0]
        errors: list[BaseException] = []

        def writes(store: RemoteGraphStore, slug: str) -> None:
            try:
                for n in range(3):
                    record = f'<{BASE}id/thing/{slug}-{n}> <http://www.w3.org/2000/01/rdf-schema#label> "{slug} {n}" .'
                    store.write_graph([RdfSource.from_bytes(record.encode(), pyoxigraph.RdfFormat.N_TRIPLES)],
                                      graph=f"{BASE}graph/{slug}", replace=False)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=writes, args=(store, slug)) for store, slug in ((a, "left"), (b, "right"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        numbers = [m.seq for n, _ in a.feed.page_starts(-2) for m in a.feed.page(n, 0).members]  # type: ignore[union-attr]
        assert len(numbers) == len(set(numbers)) == first + 6
    finally:
        engine.stop()


def test_a_query_past_the_time_limit_is_stopped_and_the_engine_told(backend: Backend, tmp_path: Path) -> None:
    """With a 2 s limit, a query that would run for minutes answers 503 in a few seconds, and the server goes on. The
    embedded store stops its query process; Virtuoso gets the limit as its own `timeout` parameter and stops too
    (its partial "anytime" answer is refused, never passed on as complete), and so does Jena (in seconds), whose 503
    stays a 503."""
    if backend.name == "oxigraph":
        pytest.skip("Oxigraph's server has no per-query time limit to pass on: the engine would go on working after we "
                    "stop waiting (our own limit: test_an_engine_that_does_not_answer_is_given_up_on_in_time)")
    env = {**backend.env, "HERITAGE_HUBS_QUERY_TIMEOUT": "2"}
    if backend.engine is not None:
        env["HERITAGE_HUBS_ENGINE_STATE"] = str(tmp_path / "state")
    server = start_server(cast(Path, backend.location), extra_env=env)
    try:
        query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(REGEX(STR(?c), STR(?f))) }"
        started = time.monotonic()
        status, _, body = http_request(server.url + "/sparql?" + urllib.parse.urlencode({"query": query}),
                                       headers={"Accept": "application/sparql-results+json"})
        assert status == 503 and time.monotonic() - started < 20, body
        assert b"time limit" in body, body
        ask = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
        assert http_request(server.url + "/sparql?" + ask, headers={"Accept": "application/sparql-results+json"})[0] == 200
    finally:
        stop_server(server)
