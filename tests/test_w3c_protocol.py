"""The W3C SPARQL 1.1 Protocol test suite, run against a live server.

The manifest (../shared/conformance/w3c-sparql11/protocol/manifest.ttl)
describes each test as HTTP requests in the HTTP-in-RDF vocabulary, with the
expected status class and, for results, the expected format and boolean.
There is no official runner; this one reads the manifest with rdflib, maps
the /sparql/ prefix onto our endpoint, loads each test's ut:graphData into
the named graphs it labels, and sends every request with an all-graphs token
(updates need one here; queries ignore it).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import rdflib
from pyoxigraph import RdfFormat
from rdflib.collection import Collection

from heritage_hubs.graph import RdfSource
from heritage_hubs.graph.store import open_store

from .conftest import CONFORMANCE, AdminServer, WritableBackend, admin_server, needs_conformance
from .http_in_rdf import CNT, HT, MF, headers

SUITE = CONFORMANCE / "w3c-sparql11" / "protocol"
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"

pytestmark = needs_conformance(SUITE / "manifest.ttl")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[str]
    expected_format: str | None
    expected_boolean: bool | None
    #: How `body` is encoded (the suite sends UTF-16 once).
    body_encoding: str = "utf-8"


@dataclass
class ProtocolTest:
    name: str
    label: str
    graph_data: list[tuple[Path, str]]
    requests: list[Request]


def read_manifest() -> list[ProtocolTest]:
    graph = rdflib.Graph().parse(SUITE / "manifest.ttl", format="turtle")
    manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
    tests = []
    for entry in Collection(graph, graph.value(manifest, MF.entries)):
        action = graph.value(entry, MF.action)
        requests = []
        for node in Collection(graph, graph.value(action, HT.requests)):
            body = None
            encoding = "utf-8"
            body_node = graph.value(node, HT.body)
            if body_node is not None:
                encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8").lower().replace("utf-16", "utf-16-le")
                body = str(graph.value(body_node, CNT.chars)).encode(encoding)
            response = graph.value(node, HT.resp)
            boolean = graph.value(response, MF.expectedBoolean)
            fmt = graph.value(response, MF.expectedFormat)
            requests.append(Request(
                method=str(graph.value(node, HT.methodName)),
                path=str(graph.value(node, HT.absolutePath)),
                headers=headers(graph, node),
                body=body,
                statuses={str(s).removeprefix(HTS) for s in graph.objects(response, MF.expectedStatus)},
                expected_format=str(fmt) if fmt is not None else None,
                expected_boolean=bool(boolean.toPython()) if boolean is not None else None,
                body_encoding=encoding,
            ))
        graph_data = [(SUITE / Path(urlsplit(str(graph.value(d, UT.graph))).path).name, str(graph.value(d, rdflib.RDFS.label)))
                      for d in graph.objects(entry, UT.graphData)]
        tests.append(ProtocolTest(str(entry).rsplit("#", 1)[-1], str(graph.value(entry, MF.name)), graph_data, requests))
    return tests


TESTS = read_manifest() if (SUITE / "manifest.ttl").exists() or os.environ.get("CI") else []


@pytest.fixture(scope="module")
def protocol_server(writable_backend: WritableBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    """A live server with an all-graphs token, on each backend in turn (conftest's `writable_backend`)."""
    with admin_server(writable_backend, tmp_path_factory.mktemp("protocol"), "w3c-test-suite") as server:
        yield server


#: Over an engine the service keeps its graphs under {base}graph/ (the README, "In front of a SPARQL engine"), so the
#: suite's graph IRIs are moved there wherever they are written (data, queries, protocol parameters, percent-encoded or
#: not), which keeps every test's meaning.
SUITE_GRAPHS = {"http://kasei.us/2009/09/sparql/data/": "https://w3id.org/heritage-hubs/graph/w3c/kasei/",
                "http://example.org/protocol-": "https://w3id.org/heritage-hubs/graph/w3c/protocol-"}
SUITE_GRAPHS |= {quote(k, safe=""): quote(v, safe="") for k, v in SUITE_GRAPHS.items()}
#: An update that may write any graph is refused over an engine with the reason (501), and changes nothing.
ANY_GRAPH = re.compile(r"\b(CLEAR|DROP)\s+(SILENT\s+)?(ALL|NAMED)\b|(CLEAR|DROP)(%20|\+)(ALL|NAMED)", re.IGNORECASE)


def _moved(text: str) -> str:
    for theirs, ours in SUITE_GRAPHS.items():
        text = text.replace(theirs, ours)
    return text


def test_the_manifest_has_all_34_tests() -> None:
    assert len(TESTS) == 34


def _boolean(content_type: str, body: bytes) -> bool:
    if "json" in content_type:
        return bool(json.loads(body)["boolean"])
    root = ET.fromstring(body)
    element = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert element is not None and element.text is not None
    return element.text.strip() == "true"


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_protocol(test: ProtocolTest, protocol_server: AdminServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server, secret = protocol_server.server, protocol_server.secret
    engine = protocol_server.backend != "embedded"
    for key, value in protocol_server.env.items():
        monkeypatch.setenv(key, value)
    store = open_store(protocol_server.location)
    for path, graph in test.graph_data:
        if engine:
            store.load(RdfSource.from_bytes(_moved(path.read_text()).encode(), RdfFormat.N_TRIPLES), graph=_moved(graph),
                       replace=True)
        else:
            store.load(RdfSource.from_path(path), graph=graph, replace=True)
    for request in test.requests:
        assert request.path.startswith("/sparql/")
        path = "/sparql" + request.path.removeprefix("/sparql/")
        body = request.body
        if engine:
            path = _moved(path)
            body = _moved(body.decode("utf-8")).encode("utf-8") if body is not None and request.body_encoding == "utf-8" else body
        sent = {**request.headers, "Authorization": f"Bearer {secret}"}
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request(request.method, path, body=body, headers=sent)
        response = connection.getresponse()
        received = response.read()
        connection.close()
        if engine and ANY_GRAPH.search(unquote(path) + " " + (body or b"").decode("utf-8", "replace")) and "2xx" in request.statuses:
            assert response.status == 501 and b"may write any graph" in received, received[:300]
            return
        body = received
        status_class = f"{response.status // 100}xx"
        assert status_class in request.statuses, f"{test.label}: {response.status} {body[:300]!r}"
        content_type = response.getheader("Content-Type", "")
        if request.expected_format == "boolean":
            value = _boolean(content_type, body)
            if request.expected_boolean is not None:
                assert value is request.expected_boolean, test.label
        elif request.expected_format == "tabular":
            assert content_type.split(";")[0] in {"application/sparql-results+json", "application/sparql-results+xml",
                                                  "text/csv", "text/tab-separated-values"}
        elif request.expected_format == "RDF":
            media = content_type.split(";")[0]
            assert media in {"application/rdf+xml", "text/turtle", "application/n-triples"}
            rdflib.Graph().parse(data=body, format={"application/rdf+xml": "xml", "text/turtle": "turtle",
                                                    "application/n-triples": "nt"}[media])
