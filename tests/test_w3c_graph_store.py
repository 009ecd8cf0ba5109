"""The W3C SPARQL 1.1 Graph Store HTTP Protocol tests, run against a live server.

The manifests (../shared/conformance/w3c-sparql11/graph-store-protocol/)
describe each test as a connection: HTTP requests in order, in the
HTTP-in-RDF vocabulary, with the expected statuses, a `Location` to carry into
later requests ($LOCATION$), and expected RDF bodies compared by graph
isomorphism. This runner maps `/gsp?…` (indirect identification) onto
`/graph-store?…` and `/gsp/…` (direct identification) onto `/graph/…`, empties
the store before each test, and sends every request with an all-graphs token.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import rdflib
from pyoxigraph import RdfFormat
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from heritage_hubs.graph import RdfSource
from heritage_hubs.graph.store import open_store

from .conftest import CONFORMANCE, AdminServer, WritableBackend, admin_server, needs_conformance
from .http_in_rdf import CNT, HT, MF, headers

SUITE = CONFORMANCE / "w3c-sparql11" / "graph-store-protocol"
STATUS = {"OK": {200}, "Created": {201}, "NoContent": {204}, "NotFound": {404}, "StatusCode2xx": set(range(200, 300))}
PARSERS = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld", "application/rdf+xml": "xml"}

pytestmark = needs_conformance(SUITE / "manifest.ttl")


@dataclass
class Step:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    statuses: set[int]
    location_variable: str | None
    expected_body: str | None
    expected_type: str | None


@dataclass
class GraphStoreTest:
    name: str
    label: str
    steps: list[Step]


def read_manifests() -> list[GraphStoreTest]:
    tests = []
    for name in ("manifest-indirect.ttl", "manifest-direct.ttl"):
        graph = rdflib.Graph().parse(SUITE / name, format="turtle")
        manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
        for entry in Collection(graph, graph.value(manifest, MF.entries)):
            connection = graph.value(entry, MF.action)
            steps = []
            for node in Collection(graph, graph.value(connection, HT.requests)):
                response = graph.value(node, HT.resp)
                body = graph.value(node, HT.body)
                expected = graph.value(response, HT.body)
                statuses: set[int] = set()
                for status in graph.objects(response, MF.expectedStatus):
                    statuses |= STATUS[str(status).rsplit("#", 1)[1]]
                location = graph.value(response, MF.expectedLocation)
                steps.append(Step(
                    method=str(graph.value(node, HT.methodName)),
                    path=str(graph.value(node, HT.absolutePath)),
                    headers=headers(graph, node),
                    body=str(graph.value(body, CNT.chars)) if body is not None else None,
                    statuses=statuses,
                    location_variable=str(location) if location is not None else None,
                    expected_body=str(graph.value(expected, CNT.chars)) if expected is not None else None,
                    expected_type=headers(graph, response).get("content-type"),
                ))
            tests.append(GraphStoreTest(str(entry).rsplit("#", 1)[-1], str(graph.value(entry, MF.name)), steps))
    return tests


TESTS = read_manifests() if (SUITE / "manifest.ttl").exists() or os.environ.get("CI") else []


@pytest.fixture(scope="module")
def gsp_server(writable_backend: WritableBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    """A live server with an all-graphs token, on each backend in turn (conftest's `writable_backend`)."""
    with admin_server(writable_backend, tmp_path_factory.mktemp("gsp"), "w3c-test-suite", workers=1) as server:
        yield server


def test_the_manifests_have_all_13_tests() -> None:
    assert len(TESTS) == 13


def _our_path(path: str) -> str:
    if path.startswith("/gsp/"):
        return "/graph/" + path.removeprefix("/gsp/")
    assert path == "/gsp" or path.startswith("/gsp?"), path
    return "/graph-store" + path.removeprefix("/gsp")


def _parse(body: str | bytes, media_type: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=body, format=PARSERS[media_type.split(";")[0].strip()], publicID="http://www.example/")


#: Over an engine the service keeps its graphs under {base}graph/ (the engine may hold other data; see the README, "In
#: front of a SPARQL engine"), so the suite's graph IRIs under http://www.example/gsp/ are moved there, spelled as the
#: suite spells them (percent-encoded or not: the encoding tests keep their meaning). The default graph is not written.
EXAMPLE_GRAPHS = {"http://www.example/gsp/": "https://w3id.org/heritage-hubs/graph/w3c/"}
EXAMPLE_GRAPHS |= {quote(k, safe=""): quote(v, safe="") for k, v in EXAMPLE_GRAPHS.items()}


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_graph_store_protocol(test: GraphStoreTest, gsp_server: AdminServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server, secret = gsp_server.server, gsp_server.secret
    engine = gsp_server.backend != "embedded"
    for key, value in gsp_server.env.items():
        monkeypatch.setenv(key, value)
    open_store(gsp_server.location).restore(RdfSource.from_bytes(b"", RdfFormat.N_QUADS), validate=False)
    variables: dict[str, str] = {}
    for step in test.steps:
        path, body = step.path, step.body
        for variable, value in variables.items():
            path = path.replace(variable, value)
            body = body.replace(variable, value) if body is not None else None
        if engine:
            for example, ours in EXAMPLE_GRAPHS.items():
                path = path.replace(example, ours)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request(step.method, _our_path(path), body=body.encode() if body is not None else None,
                           headers={**step.headers, "Authorization": f"Bearer {secret}"})
        response = connection.getresponse()
        received = response.read()
        connection.close()
        if engine and path.startswith("/gsp?default") and step.method in ("PUT", "POST", "DELETE"):
            # Over an engine the default graph is not the service's to write: refused, with the reason, nothing changed.
            assert response.status == 400 and b"default graph cannot be written" in received, received
            return
        assert response.status in step.statuses, f"{test.label}: {step.method} {path}: {response.status} {received[:300]!r}"
        if step.location_variable:
            location = response.getheader("Location")
            assert location, f"{test.label}: no Location"
            variables[step.location_variable] = location
        if step.expected_type:
            assert response.getheader("Content-Type", "").split(";")[0] == step.expected_type.split(";")[0], test.label
        if step.expected_body is not None and step.method != "HEAD":
            assert isomorphic(_parse(received, response.getheader("Content-Type", "")),
                              _parse(step.expected_body, step.expected_type or "text/turtle")), test.label
