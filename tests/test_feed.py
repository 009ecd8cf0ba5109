"""The change feed (LDES): members per changed resource, immutable pages, retention, harvest = dump."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.parse
import urllib.request
import warnings
from email.message import Message
from pathlib import Path

import pytest
import rdflib
from pyoxigraph import RdfFormat
from rdflib.compare import isomorphic
from rdflib.term import Node

from heritage_hubs.config import Settings
from heritage_hubs.graph import GraphStore, RdfSource, ValidationFailed, WriteTransaction
from heritage_hubs.graph import delta as delta_module
from heritage_hubs.graph import feed as feed_module
from heritage_hubs.graph.bundled import seed
from heritage_hubs.graph.feed import FeedPolicy
from heritage_hubs.graph.store import open_store
from heritage_hubs.graph.tokens import TokenStore
from heritage_hubs.server import close_resources, create_app

from .conftest import http_request, start_server, stop_server

LDES = rdflib.Namespace("https://w3id.org/ldes#")
TREE = rdflib.Namespace("https://w3id.org/tree#")
AS = rdflib.Namespace("https://www.w3.org/ns/activitystreams#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
BASE = "https://w3id.org/heritage-hubs/"
CORE = BASE + "graph/core"
METADATA = BASE + "graph/metadata"
FEED_KEYS = {DCT.isVersionOf, PROV.generatedAtTime}

Triple = tuple[Node, Node, Node]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    return http_request(url, headers={"Accept": "text/turtle", **(headers or {})})


class Harvester:
    """An LDES client as a portal would write one: follow relations, keep the latest version of each resource."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.state: dict[Node, set[Triple]] = {}
        self.processed: set[Node] = set()
        self.resume: str | None = None
        self.fetched: list[str] = []
        self.headers: dict[str, Message] = {}
        self.deletions: list[Node] = []

    def run(self) -> None:
        self.fetched = []
        url = self.resume
        if url is None:
            status, _, body = _get(self.root)
            assert status == 200
            stream = rdflib.Graph().parse(data=body, format="turtle")
            # The stream is the URL the harvester was given: it finds it there.
            view = stream.value(rdflib.URIRef(self.root), TREE.view)
            assert view is not None
            assert stream.value(rdflib.URIRef(self.root), LDES.timestampPath) == PROV.generatedAtTime
            assert stream.value(rdflib.URIRef(self.root), LDES.versionOfPath) == DCT.isVersionOf
            assert stream.value(rdflib.URIRef(self.root), LDES.versionDeleteObject) == AS.Delete
            assert stream.value(view, LDES.retentionPolicy) is not None  # on the view itself (no tree:ViewDescription)
            assert stream.value(None, rdflib.RDF.type, LDES.DurationAgoPolicy) is not None
            first = stream.value(stream.value(view, TREE.relation), TREE.node)
            url = str(first)
        while url is not None:
            status, headers, body = _get(url)
            assert status == 200, (url, status, body[:300])
            self.fetched.append(url)
            self.headers[url] = headers
            page = rdflib.Graph().parse(data=body, format="turtle")
            self._apply(page)
            following = None
            for relation in page.objects(rdflib.URIRef(url), TREE.relation):
                assert (relation, rdflib.RDF.type, TREE.GreaterThanOrEqualToRelation) in page
                assert page.value(relation, TREE.path) == PROV.generatedAtTime
                following = str(page.value(relation, TREE.node))
            if following is None:
                self.resume = url  # the newest page: read it again next time
            url = following

    def _apply(self, page: rdflib.Graph) -> None:
        members = [m for m in page.objects(rdflib.URIRef(self.root), TREE.member) if m not in self.processed]
        members.sort(key=lambda m: (str(page.value(m, PROV.generatedAtTime)), int(str(m).rsplit("#m", 1)[1])))
        for member in members:
            self.processed.add(member)
            resource = page.value(member, DCT.isVersionOf)
            assert resource is not None
            if (member, rdflib.RDF.type, AS.Delete) in page:
                self.state.pop(resource, None)
                self.deletions.append(resource)
                continue
            triples: set[Triple] = set()
            todo: list[Node] = [member]
            seen: set[Node] = set()
            while todo:
                node = todo.pop()
                for _, p, o in page.triples((node, None, None)):  # type: ignore[arg-type]
                    if node == member and p in FEED_KEYS:
                        continue
                    triples.add((resource if node == member else node, p, o))
                    if isinstance(o, rdflib.BNode) and o not in seen:
                        seen.add(o)
                        todo.append(o)
            self.state[resource] = triples

    def graph(self) -> rdflib.Graph:
        graph = rdflib.Graph()
        for triples in self.state.values():
            for triple in triples:
                graph.add(triple)
        return graph


def _dump_triples(server: str) -> rdflib.Graph:
    """The dump's statements outside the metadata and entailed graphs (derived: the feed leaves them out by design)."""
    status, _, body = _get(server + "/dumps/all.nq.gz", {"Accept": "*/*"})
    assert status == 200
    dataset = rdflib.Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # rdflib 7's N-Quads parser uses its own deprecated API
        dataset.parse(data=gzip.decompress(body), format="nquads")
    graph = rdflib.Graph()
    for s, p, o, g in dataset.quads((None, None, None, None)):
        if str(g) not in (METADATA, METADATA.replace("/graph/metadata", "/graph/entailed")):
            graph.add((s, p, o))
    return graph


def _update(server: str, token: str, sparql: str) -> None:
    data = urllib.parse.urlencode({"update": sparql}).encode()
    request = urllib.request.Request(server + "/sparql", data=data, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status in (200, 204)


@pytest.mark.parametrize("bulk", [False, True], ids=["lookups", "bulk"])
def test_harvest_by_feed_equals_a_dump_and_a_returning_harvester_reads_only_new_pages(
        tmp_path: Path, bulk: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store"
    if bulk:  # the path large loads take: bodies from one dump per graph (blank nodes of the shapes included)
        monkeypatch.setattr(feed_module, "_BULK", 0)
        monkeypatch.setattr(feed_module, "_ROWS_PER_BATCH", 7)  # members written a few at a time
        monkeypatch.setattr(delta_module, "LISTED_MAX", 0)  # loads changed as whole graphs, as large ones are
        monkeypatch.setattr(WriteTransaction, "LISTED_LOAD_BYTES", -1)
    seed(GraphStore(path, feed_policy=FeedPolicy(page_size=40)))
    monkeypatch.undo()
    _, token = TokenStore(GraphStore(path).directory).create("admin", ["*"])
    server = start_server(path, workers=1)
    try:
        harvester = Harvester(server.url + "/feed")
        harvester.run()
        assert len(harvester.fetched) >= 4
        for url in harvester.fetched[:-1]:
            assert "immutable" in harvester.headers[url]["Cache-Control"]
            assert harvester.headers[url]["ETag"]
        assert harvester.headers[harvester.fetched[-1]]["Cache-Control"] == "no-cache"
        assert isomorphic(harvester.graph(), _dump_triples(server.url))

        # An immutable page answers a conditional request with 304.
        first = harvester.fetched[0]
        status, _, _ = _get(first, {"If-None-Match": harvester.headers[first]["ETag"]})
        assert status == 304

        last_seen = harvester.fetched[-1]
        people = " ".join(f'person:visitor-{i} a hh:Person ; rdfs:label "Visitor {i}"@en .' for i in range(45))
        prefixes = (f"PREFIX hh: <{BASE}ontology/> PREFIX person: <{BASE}id/person/> "
                    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> ")
        _update(server.url, token, prefixes + f"INSERT DATA {{ GRAPH <{CORE}> {{ {people} }} }}")
        _update(server.url, token, prefixes + f"""
            DELETE {{ GRAPH <{CORE}> {{ person:visitor-0 ?p ?o }} }} WHERE {{ GRAPH <{CORE}> {{ person:visitor-0 ?p ?o }} }};
            DELETE DATA {{ GRAPH <{CORE}> {{ person:visitor-1 rdfs:label "Visitor 1"@en }} }};
            INSERT DATA {{ GRAPH <{CORE}> {{ person:visitor-1 rdfs:label "Visitor one"@en }} }}""")

        harvester.run()
        # Back again: the page it stopped at, then only pages that are new.
        number = int(last_seen.rsplit("/", 1)[1])
        # (47 new members at 40 a page fill one or two new pages, by where the last page stood.)
        fresh = [last_seen.rsplit("/", 1)[0] + f"/{n}" for n in range(number + 1, number + len(harvester.fetched))]
        assert harvester.fetched[0] == last_seen and harvester.fetched[1:] == fresh and 1 <= len(fresh) <= 2, harvester.fetched
        assert rdflib.URIRef(BASE + "id/person/visitor-0") in harvester.deletions
        harvested = harvester.graph()
        assert (rdflib.URIRef(BASE + "id/person/visitor-1"), rdflib.RDFS.label, rdflib.Literal("Visitor one", lang="en")) in harvested
        assert isomorphic(harvested, _dump_triples(server.url))

        # A newcomer reading from the root gets the same.
        newcomer = Harvester(server.url + "/feed")
        newcomer.run()
        assert isomorphic(newcomer.graph(), harvested)

        status, _, body = _get(server.url + "/feed/page/999")
        assert status == 404 and b"no page 999" in body
    finally:
        stop_server(server)


def _people(*names: tuple[str, str]) -> bytes:
    return "".join(f'<{BASE}id/person/{n}> <http://www.w3.org/2000/01/rdf-schema#label> "{label}"@en .\n'
                   for n, label in names).encode()


def test_retention_removes_superseded_pages_from_the_front_only(tmp_path: Path) -> None:
    store = GraphStore(tmp_path / "store", feed_policy=FeedPolicy(page_size=2, retention_days=0))
    graph = BASE + "graph/institution/museo"

    def load(data: bytes) -> None:
        store.load(RdfSource.from_bytes(data, RdfFormat.N_TRIPLES, name="people.nt"), graph=graph, replace=True, validate=False)

    load(_people(("a", "A"), ("b", "B")))  # page 0: a, b
    load(_people(("a", "A2"), ("b", "B"), ("c", "C")))  # page 1: a, c
    generation = int(store.generation)
    # Page 0 still holds the only version of b, so it stays.
    assert store.feed.first_page(generation) == 0
    load(_people(("a", "A2"), ("b", "B2"), ("c", "C")))  # page 2: b; now every member of page 0 is superseded
    generation = int(store.generation)
    assert store.feed.first_page(generation) == 1
    assert store.feed.page(0, generation) is None
    page1 = store.feed.page(1, generation)
    assert page1 is not None and page1.immutable and [m.resource for m in page1.members] == [BASE + "id/person/a", BASE + "id/person/c"]

    app = create_app(Settings(store_path=store.path, query_processes=1, feed_policy=FeedPolicy(page_size=2, retention_days=0)))
    try:
        client = app.test_client()
        gone = client.get("/feed/page/0", headers={"Accept": "text/turtle"})
        assert gone.status_code == 410 and b"retention" in gone.data
        root = rdflib.Graph().parse(data=client.get("/feed", headers={"Accept": "text/turtle"}).data, format="turtle")
        assert (None, TREE.node, rdflib.URIRef("http://localhost/feed/page/1")) in root
        assert root.value(None, rdflib.RDF.type, LDES.LatestVersionSubset) is not None
        page = client.get("/feed/page/2", headers={"Accept": "application/ld+json"})
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
        assert len(rdflib.Graph().parse(data=page.data, format="json-ld")) > 3
        browser = client.get("/feed/page/1", headers={"Accept": "text/html"})
        assert browser.mimetype == "text/html" and b"<pre>" not in browser.data  # a table of members, not raw Turtle
        assert b'rel="next" href="/feed/page/2"' in browser.data and b"new version" in browser.data
        root_page = client.get("/feed/view", headers={"Accept": "text/html"})
        assert b'href="/feed/page/1"' in root_page.data and b"days" in root_page.data
    finally:
        close_resources()


def test_a_refused_write_adds_nothing_to_the_feed(store_location: str) -> None:
    store = open_store(store_location)
    before = store.feed.statistics(int(store.generation))
    with pytest.raises(ValidationFailed):
        store.update(f"PREFIX hh: <{BASE}ontology/> INSERT DATA {{ GRAPH <{CORE}> {{ <{BASE}id/hub/x> a hh:Hub }} }}",
                     graphs=[CORE])
    assert store.feed.statistics(int(store.generation)) == before
    assert before[0] > 100


def test_a_restore_records_the_same_members_from_dumps_as_from_lookups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A restore has no delta: its members are built from dumps of every graph (the bulk path) or a lookup each; both
    give the same members, one for each resource the restored store holds."""
    import io

    from pyoxigraph import NamedNode

    source = GraphStore(tmp_path / "source")
    seed(source)
    hub = source.namespaces.base + "id/hub/tabakalera"  # a resource stated in two graphs: its body needs both
    source.load(RdfSource.from_bytes(f'<{hub}> <http://www.w3.org/2004/02/skos/core#altLabel> "TBK"@eu .'.encode(),
                                     RdfFormat.N_TRIPLES), graph=source.namespaces.base + "graph/institution/other")
    dump = io.BytesIO()
    source.dump(dump)

    def restored(name: str) -> tuple[GraphStore, dict[str, set[str]]]:
        target = GraphStore(tmp_path / name)
        target.restore(RdfSource.from_bytes(dump.getvalue(), RdfFormat.N_QUADS))
        generation = int(target.generation)
        bodies: dict[str, set[str]] = {}
        number = target.feed.first_page(generation)
        while number is not None and (page := target.feed.page(number, generation)) is not None:
            bodies.update({m.resource: set(m.body.splitlines()) for m in page.members if not m.deleted})
            number += 1
        return target, bodies

    _, looked_up = restored("lookups")
    monkeypatch.setattr(feed_module, "_BULK", 0)
    target, from_dumps = restored("dumps")
    assert set(from_dumps) == set(looked_up)
    for resource, lines in from_dumps.items():  # each restore names its blank nodes afresh: compared as graphs
        dumped, found = (rdflib.Graph().parse(data="\n".join(sorted(b)), format="nt") for b in (lines, looked_up[resource]))
        assert isomorphic(dumped, found), resource
    derived = {NamedNode(target.namespaces.metadata_graph), NamedNode(target.namespaces.graph("entailed"))}
    subjects = {q.subject.value for q in target.reader().quads_for_pattern(None, None, None, None)
                if isinstance(q.subject, NamedNode) and q.graph_name not in derived}
    assert set(from_dumps) == subjects and len(subjects) > 200
    assert any('"TBK"@eu' in line for line in from_dumps[hub]) and any('"Tabakalera"' in line for line in from_dumps[hub])
