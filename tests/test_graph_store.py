"""The Graph Store Protocol: scoped tokens, validation, all-or-nothing, provenance and the change feed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import rdflib
from flask.testing import FlaskClient

from heritage_hubs.graph import GraphStore
from heritage_hubs.graph.store import open_store

BASE = "https://w3id.org/heritage-hubs/"
MUSEUM_GRAPH = BASE + "graph/institution/museo-esempio"
RECORD = f"""
@prefix hh: <{BASE}ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{BASE}id/asset/museo-esempio-1> a hh:TangibleAsset ; rdfs:label "Bandiera partigiana"@it ;
    hh:keptBy <{BASE}id/hub/polo-del-900> .
"""


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _read(location_client: FlaskClient, path: str, method: str = "GET", **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    """A read, with the response closed (graphs are streamed from a temporary file the close releases)."""
    with location_client.open(path, method=method, **kwargs) as response:
        return response.status_code, dict(response.headers), response.get_data()


def test_reads_are_public_and_negotiated(location_client: FlaskClient) -> None:
    status, headers, body = _read(location_client, "/graph-store", query_string={"graph": BASE + "graph/core"},
                                  headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"] == "text/turtle; charset=utf-8"
    core = rdflib.Graph().parse(data=body, format="turtle")
    assert (rdflib.URIRef(BASE + "id/hub/tabakalera"), None, None) in core
    _, _, body = _read(location_client, "/graph/core", headers={"Accept": "application/ld+json"})
    assert len(rdflib.Graph().parse(data=body, format="json-ld")) == len(core)
    assert _read(location_client, "/graph/core", "HEAD")[0] == 200
    assert _read(location_client, "/graph-store", query_string={"graph": BASE + "graph/nothing"})[0] == 404
    assert _read(location_client, "/graph-store", query_string={"default": ""})[0] == 200
    assert _read(location_client, "/graph-store")[0] == 400
    assert _read(location_client, "/graph/core", headers={"Accept": "image/png"})[0] == 406


def test_museum_writes_its_own_graph_only(location_client: FlaskClient, location_museum_token: str, store_location: str) -> None:
    target = {"graph": MUSEUM_GRAPH}
    assert location_client.put("/graph-store", query_string=target, data=RECORD, content_type="text/turtle").status_code == 401
    created = location_client.put("/graph-store", query_string=target, data=RECORD, content_type="text/turtle", headers=_auth(location_museum_token))
    assert created.status_code == 201
    again = location_client.put("/graph-store", query_string=target, data=RECORD, content_type="text/turtle", headers=_auth(location_museum_token))
    assert again.status_code == 204
    info = open_store(store_location).graph_info(MUSEUM_GRAPH)
    assert info.triples == 3 and info.agent == BASE + "id/institution/museo-esempio"
    for graph in (BASE + "graph/core", BASE + "graph/metadata"):
        refused = location_client.post("/graph-store", query_string={"graph": graph}, data=RECORD, content_type="text/turtle",
                              headers=_auth(location_museum_token))
        assert refused.status_code == 403, graph
    assert location_client.delete("/graph-store", query_string={"default": ""}, headers=_auth(location_museum_token)).status_code == 403
    assert location_client.post("/graph-store", data=RECORD, content_type="text/turtle", headers=_auth(location_museum_token)).status_code == 403
    # The change is in the feed.
    store = open_store(store_location)
    generation = int(store.generation)
    newest = store.feed.page(store.feed.page_starts(generation)[-1][0], generation)  # (a restore starts a new page)
    assert newest is not None and newest.members[-1].resource == BASE + "id/asset/museo-esempio-1"
    assert location_client.delete("/graph-store", query_string=target, headers=_auth(location_museum_token)).status_code == 204
    assert location_client.delete("/graph-store", query_string=target, headers=_auth(location_museum_token)).status_code == 404


def test_bad_writes_change_nothing_and_say_why(location_client: FlaskClient, location_museum_token: str, store_location: str) -> None:
    target = {"graph": MUSEUM_GRAPH}
    before = open_store(store_location).generation
    broken = location_client.put("/graph-store", query_string=target, data=RECORD.replace(" ;\n    hh:keptBy", " ;;; hh:keptBy <"),
                        content_type="text/turtle", headers=_auth(location_museum_token))
    assert broken.status_code == 400 and broken.json is not None and broken.json["line"] == 3
    invalid = location_client.put("/graph-store", query_string=target, data=RECORD.replace("hub/polo-del-900", "concept/museum"),
                         content_type="text/turtle", headers=_auth(location_museum_token))
    assert invalid.status_code == 422
    violation = invalid.json["violations"][0]  # type: ignore[index]
    assert violation["focusNode"] == BASE + "id/asset/museo-esempio-1" and "keptBy" in violation["resultPath"]
    unknown = location_client.put("/graph-store", query_string=target, data="a,b", content_type="text/csv", headers=_auth(location_museum_token))
    assert unknown.status_code == 415
    assert open_store(store_location).generation == before


def test_multipart_post_adds_every_part(location_client: FlaskClient, location_admin_token: str) -> None:
    parts = {"a": (io.BytesIO(RECORD.encode()), "a.ttl", "text/turtle"),
             "b": (io.BytesIO(f'<{BASE}id/asset/museo-esempio-1> <http://www.w3.org/2000/01/rdf-schema#label> '
                                            f'"Partisan flag"@en .'.encode()), "b.nt", "application/n-triples")}
    response = location_client.post("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=parts, content_type="multipart/form-data",
                           headers=_auth(location_admin_token))
    assert response.status_code == 201
    graph = rdflib.Graph().parse(data=_read(location_client, "/graph/institution/museo-esempio", headers={"Accept": "text/turtle"})[2],
                                 format="turtle")
    assert len(graph) == 4


def test_bodies_over_the_upload_limit_are_refused(store_location: str, location_museum_token: str) -> None:
    from heritage_hubs.config import Settings
    from heritage_hubs.server import close_resources, create_app

    app = create_app(Settings(store_path=store_location, query_processes=1, max_upload_mb=1))
    try:
        client = app.test_client()
        before = open_store(store_location).generation
        big = RECORD + "#" + "x" * (1024 * 1024) + "\n"
        response = client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=big, content_type="text/turtle",
                              headers=_auth(location_museum_token))
        assert response.status_code == 413 and response.json is not None and response.json["status"] == 413
        assert open_store(store_location).generation == before
        assert client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=RECORD, content_type="text/turtle",
                          headers=_auth(location_museum_token)).status_code == 201
    finally:
        close_resources()


def test_a_write_that_waits_too_long_for_another_gets_503_and_retry_after(
        location_client: FlaskClient, location_museum_token: str, store_location: str, monkeypatch: Any) -> None:
    monkeypatch.setattr(GraphStore, "lock_timeout", 0.3)
    other = open_store(store_location)
    before = other.generation
    with other.transaction():  # another writer holds the store
        response = location_client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=RECORD,
                              headers={**_auth(location_museum_token), "Content-Type": "text/turtle"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "try again later" in response.get_data(as_text=True)
    assert open_store(store_location).generation == before
    # Once the store is free, the same request goes through.
    response = location_client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=RECORD,
                          headers={**_auth(location_museum_token), "Content-Type": "text/turtle"})
    assert response.status_code == 201


def test_a_museum_describes_its_graph_over_http(location_client: FlaskClient, location_museum_token: str, store_location: str) -> None:
    """Title, publisher, licence and sources of a graph are set by the writes themselves (query parameters of a
    Graph Store write or an import); what a write does not say stays, and the sources follow the latest write."""
    import rdflib

    base = "https://w3id.org/heritage-hubs/"
    graph = base + "graph/institution/museo-esempio"
    museum = (Path(__file__).parent.parent / "examples" / "museum" / "institution.ttl").read_text()
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    first = {"graph": graph, "title": "Collezioni del Museo Esempio", "license": "https://creativecommons.org/licenses/by/4.0/",
             "source": "https://museo-esempio.example/catalogo"}
    assert location_client.put("/graph-store", query_string=first, data=museum, content_type="text/turtle", headers=auth).status_code in (201, 204)
    later = {"graph": graph, "source": "https://museo-esempio.example/catalogo/2026"}
    extra = f'<{base}id/institution/museo-esempio> <http://www.w3.org/2000/01/rdf-schema#comment> "aggiornato"@it .'
    assert location_client.post("/graph-store", query_string=later, data=extra, content_type="text/turtle", headers=auth).status_code == 204
    void = rdflib.Graph().parse(data=location_client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data, format="turtle")
    subject = rdflib.URIRef(graph)
    dct = rdflib.Namespace("http://purl.org/dc/terms/")
    assert str(void.value(subject, dct.title)) == "Collezioni del Museo Esempio"
    assert void.value(subject, dct.license) == rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert set(void.objects(subject, dct.source)) == {rdflib.URIRef("https://museo-esempio.example/catalogo/2026")}
    assert void.value(subject, dct.publisher) == rdflib.URIRef(base + "id/institution/museo-esempio")
    # A value that should be an IRI and is not: 400, nothing written.
    before = open_store(store_location).generation
    refused = location_client.post("/graph-store", query_string={"graph": graph, "license": "CC BY"}, data=extra,
                          content_type="text/turtle", headers=auth)
    assert refused.status_code == 400 and b"license must be an absolute IRI" in refused.data
    assert open_store(store_location).generation == before


def test_a_created_graph_is_said_in_text_with_its_location(location_client: FlaskClient, location_admin_token: str) -> None:
    graph = "https://w3id.org/heritage-hubs/graph/institution/new-one"
    response = location_client.put("/graph-store", query_string={"graph": graph}, data="<a:b> <a:c> <a:d> .", content_type="text/turtle",
                          headers={"Authorization": f"Bearer {location_admin_token}"})
    assert response.status_code == 201 and response.mimetype == "text/plain" and response.headers["Location"] == graph
    assert graph in response.get_data(as_text=True)


def test_error_pages_name_the_canonical_base(location_client: FlaskClient) -> None:
    page = location_client.get("/nowhere", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "canonical base <code>https://w3id.org/heritage-hubs/</code>" in page
