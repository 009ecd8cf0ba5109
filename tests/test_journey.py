"""A museum's journey, scripted through real HTTP against a live server, on the embedded store and on each SPARQL engine.

Create a token for the museum; describe the museum in its own graph; upload
its spreadsheet with its mapping; reconcile names against the hubs as
OpenRefine would; push the links it chose; read them back by SPARQL and by
dereferencing; try to write another museum's graph (403); send a broken file
and see that nothing changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import rdflib
from SPARQLWrapper import JSON, POST, SPARQLWrapper

from .conftest import LiveServer, http_request, multipart_form, start_server, stop_server

BASE = "https://w3id.org/heritage-hubs/"
HH = BASE + "ontology/"
EXAMPLE = Path(__file__).parent.parent / "examples" / "museum"
GRAPH = BASE + "graph/institution/museo-esempio"
OBJECT = BASE + "id/asset/museo-esempio-me-0001"


def _request(server: LiveServer, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
             follow: bool = True) -> tuple[int, Message, bytes]:
    return http_request(server.url + path, method, body=body, headers=headers, follow=follow)


@pytest.fixture
def server(store_location: str) -> Iterator[LiveServer]:
    """The service on each backend in turn: the embedded store and each SPARQL engine (conftest's `store_location`)."""
    live = start_server(store_location, workers=2)
    yield live
    stop_server(live)


def test_a_museum_links_its_records(server: LiveServer) -> None:
    # 1. An administrator creates the museum's token with the command line; it is printed once.
    created = subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", server.location, "token", "create",
                              "--institution", "museo-esempio", "--graph", "institution/museo-esempio"],
                             capture_output=True, text=True, check=True)
    token = created.stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}

    # 2. The museum describes itself in its own graph (Graph Store Protocol).
    status, _, body = _request(server, "PUT", "/graph-store?" + urllib.parse.urlencode({"graph": GRAPH}),
                               body=(EXAMPLE / "institution.ttl").read_bytes(), headers={**auth, "Content-Type": "text/turtle"})
    assert status == 201, body

    # 3. It uploads its spreadsheet with the mapping.
    form, content_type = multipart_form({"file": ("records.csv", (EXAMPLE / "records.csv").read_bytes(), "text/csv"),
                                     "mapping": ("mapping.toml", (EXAMPLE / "mapping.toml").read_bytes(), "application/toml")})
    status, _, body = _request(server, "POST", "/import/csv?" + urllib.parse.urlencode({"graph": GRAPH}), body=form,
                               headers={**auth, "Content-Type": content_type})
    assert status == 200, body
    assert json.loads(body)["importedRows"] == 5

    # 4. OpenRefine reconciles a column of names against the hubs: manifest first, then a batch.
    status, _, body = _request(server, "GET", "/reconcile")
    manifest = json.loads(body)
    assert status == 200 and HH + "Hub" in [t["id"] for t in manifest["defaultTypes"]]
    queries = {"q0": {"query": "Polo del 900", "type": HH + "Hub"}, "q1": {"query": "Farm Cultural Park", "type": HH + "Hub"}}
    status, _, body = _request(server, "POST", "/reconcile", body=urllib.parse.urlencode({"queries": json.dumps(queries)}).encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    results = json.loads(body)
    hub = results["q0"]["result"][0]
    assert hub["id"] == BASE + "id/hub/polo-del-900" and hub["match"] is True

    # 5. It pushes the link it chose, with SPARQL Update from SPARQLWrapper.
    update = SPARQLWrapper(server.url + "/sparql")
    update.setMethod(POST)
    update.addCustomHttpHeader("Authorization", f"Bearer {token}")
    update.setQuery(f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <{OBJECT}> <{HH}ownedBy> <{hub['id']}> }} }}")
    update.query()

    # 6. Anyone reads it back: by SPARQL …
    select = SPARQLWrapper(server.url + "/sparql")
    select.setReturnFormat(JSON)
    select.setQuery(f"SELECT ?owner ?label WHERE {{ <{OBJECT}> <{HH}ownedBy> ?owner . ?owner <http://www.w3.org/2000/01/rdf-schema#label> ?label "
                    "FILTER(lang(?label) = 'it') }")
    bindings = select.queryAndConvert()["results"]["bindings"]  # type: ignore[index, call-overload]
    assert [(b["owner"]["value"], b["label"]["value"]) for b in bindings] == [(hub["id"], "Polo del '900")]
    # … and by dereferencing the object's IRI.
    status, headers, _ = _request(server, "GET", "/id/asset/museo-esempio-me-0001", headers={"Accept": "text/turtle"}, follow=False)
    assert status == 303 and headers["Location"] == "/doc/asset/museo-esempio-me-0001.ttl"
    status, _, body = _request(server, "GET", headers["Location"])
    document = rdflib.Graph().parse(data=body, format="turtle")
    assert (rdflib.URIRef(OBJECT), rdflib.URIRef(HH + "ownedBy"), rdflib.URIRef(hub["id"])) in document

    # 7. Another museum's graph, or the curated one, is out of reach.
    other = {"graph": BASE + "graph/institution/altro-museo"}
    status, _, _ = _request(server, "PUT", "/graph-store?" + urllib.parse.urlencode(other),
                            body=(EXAMPLE / "institution.ttl").read_bytes(), headers={**auth, "Content-Type": "text/turtle"})
    assert status == 403
    status, _, body = _request(server, "POST", "/sparql", body=f"INSERT DATA {{ GRAPH <{BASE}graph/core> {{ <{OBJECT}> "
                               f"<{HH}keptBy> <{BASE}id/hub/tabakalera> }} }}".encode(),
                               headers={**auth, "Content-Type": "application/sparql-update"})
    assert status == 403 and b"may not write" in body

    # 8. A broken file changes nothing and says which rows are wrong.
    _, _, before = _request(server, "GET", "/graph-store?" + urllib.parse.urlencode({"graph": GRAPH}),
                            headers={"Accept": "application/n-triples"})
    broken = (EXAMPLE / "records.csv").read_text().replace("26/04/1945", "April 1945")
    form, content_type = multipart_form({"file": ("records.csv", broken.encode(), "text/csv"),
                                     "mapping": ("mapping.toml", (EXAMPLE / "mapping.toml").read_bytes(), "application/toml")})
    status, _, body = _request(server, "POST", "/import/csv?" + urllib.parse.urlencode({"graph": GRAPH, "replace": "true"}),
                               body=form, headers={**auth, "Content-Type": content_type})
    assert status == 422
    assert json.loads(body)["errors"] == [{"row": 3, "column": "made", "message": "'April 1945' is not a date in the form %d/%m/%Y"}]
    _, _, after = _request(server, "GET", "/graph-store?" + urllib.parse.urlencode({"graph": GRAPH}),
                           headers={"Accept": "application/n-triples"})
    assert sorted(after.splitlines()) == sorted(before.splitlines())

    # The changes are in the change feed for harvesters.
    status, _, body = _request(server, "GET", "/feed", headers={"Accept": "text/turtle"})
    stream = rdflib.Graph().parse(data=body, format="turtle")
    page = str(stream.value(stream.value(stream.value(rdflib.URIRef(server.url + "/feed"), rdflib.URIRef("https://w3id.org/tree#view")),
                                         rdflib.URIRef("https://w3id.org/tree#relation")), rdflib.URIRef("https://w3id.org/tree#node")))
    assert page.startswith(server.url)
    status, _, body = _request(server, "GET", page.removeprefix(server.url), headers={"Accept": "text/turtle"})
    members = rdflib.Graph().parse(data=body, format="turtle")
    versions = list(members.subjects(rdflib.URIRef("http://purl.org/dc/terms/isVersionOf"), rdflib.URIRef(OBJECT)))
    assert len(versions) == 2  # imported, then linked
    assert any((v, rdflib.URIRef(HH + "ownedBy"), rdflib.URIRef(hub["id"])) in members for v in versions)
