"""Hostile input: user values never become query text, and bad IRIs are a 400 that changes nothing (issue 12)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pyoxigraph import RdfFormat

from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.store import open_store

from .conftest import Listener

ROOT = Path(__file__).parent.parent
MUSEUM_GRAPH = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"


def _form(mapping: str) -> dict[str, object]:
    return {"file": (io.BytesIO((ROOT / "examples" / "museum" / "records.csv").read_bytes()), "records.csv"),
            "mapping": (io.BytesIO(mapping.encode()), "mapping.toml")}


def test_a_lookup_in_a_mapping_cannot_become_query_text(location_client: FlaskClient, location_museum_token: str, store_location: str,
                                                         listener: Listener) -> None:
    mapping = (ROOT / "examples" / "museum" / "mapping.toml").read_text()
    hostile = f'https://w3id.org/heritage-hubs/id/scheme/themes> . SERVICE <http://127.0.0.1:{listener.port}/x> {{ ?a ?b ?c }} }} #'
    before = open_store(store_location).generation
    response = location_client.post("/import/csv", query_string={"graph": MUSEUM_GRAPH},
                           data=_form(mapping.replace('lookup = "scheme:themes"', f'lookup = "{hostile}"')),
                           headers={"Authorization": f"Bearer {location_museum_token}"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "is not a valid IRI" in response.get_data(as_text=True)
    assert open_store(store_location).generation == before
    assert listener.connections == 0


@pytest.mark.parametrize("graph", ["https://example.org/a b", "https://example.org/a><b", 'https://example.org/"x"',
                                   "https://example.org/{x}", "urn:x y"])
def test_graph_iris_that_are_not_iris_are_refused(location_client: FlaskClient, location_admin_token: str, store_location: str, graph: str) -> None:
    before = open_store(store_location).generation
    auth = {"Authorization": f"Bearer {location_admin_token}"}
    assert location_client.get("/graph-store", query_string={"graph": graph}).status_code == 400
    put = location_client.put("/graph-store", query_string={"graph": graph}, data="<urn:a> <urn:b> <urn:c> .",
                     headers={**auth, "Content-Type": "text/turtle"})
    assert put.status_code == 400 and "absolute IRI" in put.get_data(as_text=True)
    upload = location_client.post("/import/csv", query_string={"graph": graph}, data=_form("subject = 'asset/x-{a}'"),
                         headers=auth, content_type="multipart/form-data")
    assert upload.status_code == 400
    assert open_store(store_location).generation == before


def test_reconciliation_requests_are_bounded_before_they_are_scored(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from heritage_hubs.server import reconcile

    def batch(queries: object) -> tuple[int, str]:
        response = client.get("/reconcile", query_string={"queries": queries if isinstance(queries, str) else json.dumps(queries)})
        return response.status_code, response.get_data(as_text=True)

    assert batch({f"q{n}": {"query": "Tabakalera"} for n in range(101)})[0] == 400
    assert batch('{"q0": {"query": "Tabakalera", "limit": Infinity}}')[0] == 400
    assert batch({"q0": {"query": "x" * 1001}})[0] == 400
    assert batch({"q0": {"query": "Polo", "properties": [{"pid": "hh:basedIn", "v": "x"}] * 11}})[0] == 400
    assert batch({"q0": {"query": "Polo", "properties": [{"pid": "not an iri", "v": "x"}]}})[0] == 400
    status, text = batch({"q0": {"query": "Tabakalera", "limit": 10**9}})
    assert status == 200 and len(json.loads(text)["q0"]["result"]) <= reconcile.MAX_LIMIT
    monkeypatch.setattr(reconcile, "BATCH_SECONDS", -1.0)  # a batch past its time budget stops, with a way forward
    response = client.get("/reconcile", query_string={"queries": json.dumps({"q0": {"query": "Tabakalera"}})})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    extend = {"ids": ["not an iri"], "properties": [{"id": "hh:basedIn"}]}
    assert client.get("/reconcile", query_string={"extend": json.dumps(extend)}).status_code == 400
    assert client.get("/reconcile/suggest/entity", query_string={"prefix": "ta", "cursor": "99999999999"}).status_code == 400
    assert client.get("/reconcile/propose_properties", query_string={"type": "Institution x"}).status_code == 400


def test_heavy_work_takes_a_slot_and_stops_when_the_client_leaves(client: FlaskClient) -> None:
    import json
    import threading

    from heritage_hubs.server import resources_for
    from heritage_hubs.server.limits import CLIENT_GONE

    batch = {"queries": json.dumps({f"q{n}": {"query": "Tabakalera"} for n in range(5)})}
    # A client that has left: the batch stops before scoring anything more.
    response = client.get("/reconcile", query_string=batch, environ_base={CLIENT_GONE: lambda: True})
    assert response.status_code == 503
    # Heavy slots held by batches still running (threads with their own request, from an address each).
    app = client.application
    heavy = resources_for(app.config["HERITAGE_HUBS_SETTINGS"]).heavy
    assert heavy.slots == 2 and heavy.per_client == 1  # 4 threads: half do heavy work, one client holds half of that
    release = threading.Event()
    holders = []

    def hold(address: str) -> None:
        taken = threading.Event()

        def run() -> None:
            with app.test_request_context(environ_base={"REMOTE_ADDR": address}), heavy.slot("test"):
                taken.set()
                release.wait(30)

        holders.append(threading.Thread(target=run))
        holders[-1].start()
        assert taken.wait(10)

    try:
        hold("127.0.0.1")  # the test client's own address
        response = client.get("/reconcile", query_string=batch)  # one client, one slot: it may not take the other
        assert response.status_code == 503 and "already has" in response.get_data(as_text=True)
        assert client.get("/reconcile", query_string=batch, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
        hold("10.0.0.2")
        response = client.get("/reconcile", query_string=batch, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert "busy" in response.get_data(as_text=True)
        deep = client.get("/fragments", query_string={"page": "101"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert deep.status_code == 503  # a deep page is heavy too
        assert client.get("/fragments").status_code == 200  # a first page is not
    finally:
        release.set()
        for holder in holders:
            holder.join()
    assert client.get("/reconcile", query_string=batch).status_code == 200


def test_the_asgi_front_tells_the_app_when_the_client_has_left() -> None:
    import asyncio
    import time as clock
    from typing import Any

    from heritage_hubs.server.asgi import WsgiBridge
    from heritage_hubs.server.limits import CLIENT_GONE

    seen: list[float] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started = clock.monotonic()
        while not environ[CLIENT_GONE]() and clock.monotonic() - started < 10:
            clock.sleep(0.01)
        seen.append(clock.monotonic() - started)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late"]

    async def exchange() -> None:
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.sleep(0.3)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            pass

        scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": [],
                 "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
        await WsgiBridge(app, threads=1, stall_seconds=5)(scope, receive, send)

    asyncio.run(exchange())
    assert seen and seen[0] < 5, seen


def test_the_view_link_redirects_only_to_this_service(client: FlaskClient) -> None:
    assert client.get("/reconcile/view", query_string={"id": "https://evil.example/"}).status_code == 404
    ours = client.get("/reconcile/view", query_string={"id": "https://w3id.org/heritage-hubs/id/hub/tabakalera"})
    assert ours.status_code == 303 and ours.headers["Location"].endswith("/doc/hub/tabakalera")


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://w3id.org/heritage-hubs/id/asset/laughs"><rdfs:label>&d;</rdfs:label></rdf:Description>
</rdf:RDF>"""


def test_entity_expansion_and_huge_literals_are_refused(location_client: FlaskClient, location_museum_token: str, store_location: str) -> None:
    before = open_store(store_location).generation
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    response = location_client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=LAUGHS,
                          headers={**auth, "Content-Type": "application/rdf+xml"})
    assert response.status_code == 400 and "entity declarations" in response.get_data(as_text=True)
    huge = '<https://w3id.org/heritage-hubs/id/asset/big> <http://www.w3.org/2000/01/rdf-schema#label> "' + "x" * 1_000_001 + '"@en .'
    for content_type in ("text/turtle", "application/n-triples"):
        response = location_client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=huge, headers={**auth, "Content-Type": content_type})
        assert response.status_code == 400 and "1,000,001 characters" in response.get_data(as_text=True)
    update = f"INSERT DATA {{ GRAPH <{MUSEUM_GRAPH}> {{ {huge[:-2]} }} }}"
    response = location_client.post("/sparql", data=update, headers={**auth, "Content-Type": "application/sparql-update"})
    assert response.status_code == 400 and "characters" in response.get_data(as_text=True)
    assert open_store(store_location).generation == before


def test_pages_link_only_web_iris_and_carry_a_content_security_policy(location_client: FlaskClient, location_museum_token: str) -> None:
    record = """@prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    <https://w3id.org/heritage-hubs/id/asset/museo-esempio-js> a hh:TangibleAsset ; rdfs:label "Click me"@en ;
        rdfs:seeAlso <javascript:alert(document.domain)> , <data:text/html,hello> , <https://example.org/fine> ;
        hh:keptBy <https://w3id.org/heritage-hubs/id/hub/polo-del-900> ."""
    response = location_client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=record,
                          headers={"Authorization": f"Bearer {location_museum_token}", "Content-Type": "text/turtle"})
    assert response.status_code in (201, 204), response.get_data(as_text=True)
    page = location_client.get("/doc/asset/museo-esempio-js.html")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "javascript:alert" in html and 'href="javascript:' not in html and 'href="data:' not in html
    assert 'href="https://example.org/fine"' in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    for path in ("/", "/sparql", "/ontology", "/hubs"):
        assert "Content-Security-Policy" in location_client.get(path, headers={"Accept": "text/html"}).headers, path


def test_deeply_nested_input_is_refused_before_any_parser_sees_it(location_client: FlaskClient, location_museum_token: str, store_location: str) -> None:
    before = open_store(store_location).generation
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    bodies = {
        "text/turtle": "<urn:a> <urn:b> " + "[ <urn:p> " * 5000 + "]" * 5000 + " .",
        "application/ld+json": '{"@id": "urn:a", "urn:p": ' + "[" * 3000 + "1" + "]" * 3000 + "}",
    }
    for content_type, body in bodies.items():
        response = location_client.put("/graph-store", query_string={"graph": MUSEUM_GRAPH}, data=body, headers={**auth, "Content-Type": content_type})
        assert response.status_code == 400 and "deep" in response.get_data(as_text=True), content_type
    update = "INSERT DATA { GRAPH <" + MUSEUM_GRAPH + "> " + "{" * 5000 + "}" * 5000 + " }"
    response = location_client.post("/sparql", data=update, headers={**auth, "Content-Type": "application/sparql-update"})
    assert response.status_code == 400 and "deep" in response.get_data(as_text=True)
    assert open_store(store_location).generation == before


def test_out_of_range_and_oversized_input_gets_4xx_not_500(location_client: FlaskClient, location_museum_token: str) -> None:
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    assert location_client.get("/fragments", query_string={"page": str(10**20)}).status_code == 400
    assert location_client.get(f"/feed/page/{10**30}").status_code == 404
    mapping = (ROOT / "examples" / "museum" / "mapping.toml").read_text()
    records = (ROOT / "examples" / "museum" / "records.csv").read_text().splitlines()
    header, first = records[0], records[1]
    big_cell = header + "\n" + first.replace(",", ',"' + "x" * 140_000 + '",', 1) + "\n"
    cases = {
        "a CSV cell over 128 KiB": (big_cell, mapping, "CSV line"),
        "TOML nested 100,000 deep": ("\n".join(records), "x = " + "[" * 100_000 + "]" * 100_000, "deep"),
    }
    for name, (csv_text, toml_text, message) in cases.items():
        form = {"file": (io.BytesIO(csv_text.encode()), "records.csv"), "mapping": (io.BytesIO(toml_text.encode()), "mapping.toml")}
        response = location_client.post("/import/csv", query_string={"graph": MUSEUM_GRAPH}, data=form, headers=auth,
                               content_type="multipart/form-data")
        assert response.status_code == 400 and message in response.get_data(as_text=True), name


def test_only_trusted_host_names_are_answered(store_path: Path) -> None:
    from heritage_hubs.config import Settings
    from heritage_hubs.server import close_resources, create_app

    client = create_app(Settings(store_path=store_path, query_processes=1)).test_client()
    try:
        evil = client.get("/.well-known/void", base_url="http://evil.example", headers={"Accept": "text/turtle"})
        assert evil.status_code == 400 and b"evil.example" not in client.get("/.well-known/void").data
        assert client.get("/.well-known/void", base_url="http://127.0.0.1:5000").status_code == 200
    finally:
        close_resources()
    client = create_app(Settings(store_path=store_path, query_processes=1, trusted_hosts=("hubs.example.org",))).test_client()
    try:
        assert client.get("/", base_url="https://hubs.example.org").status_code == 200
        assert client.get("/", base_url="http://evil.example").status_code == 400
    finally:
        close_resources()


def test_an_update_runs_under_a_time_limit_off_the_server_process(store_path: Path, admin_token: str) -> None:
    from heritage_hubs.config import Settings
    from heritage_hubs.server import close_resources, create_app

    client = create_app(Settings(store_path=store_path, query_processes=1, query_timeout=2)).test_client()
    try:
        before = GraphStore(store_path).generation
        update = (f"INSERT {{ GRAPH <{MUSEUM_GRAPH}> {{ ?a <urn:x:p> ?i }} }} "
                  "WHERE { GRAPH ?x { ?a ?b ?c } GRAPH ?y { ?d ?e ?f } GRAPH ?z { ?g ?h ?i } }")  # billions of solutions
        started = time.monotonic()
        response = client.post("/sparql", data=update, headers={"Content-Type": "application/sparql-update",
                                                                 "Authorization": f"Bearer {admin_token}"})
        assert response.status_code == 503 and "limit" in response.get_data(as_text=True)
        assert time.monotonic() - started < 30
        assert GraphStore(store_path).generation == before
        missing = client.post("/sparql", data=f"DROP GRAPH <{MUSEUM_GRAPH}-none>", headers={
            "Content-Type": "application/sparql-update", "Authorization": f"Bearer {admin_token}"})
        assert missing.status_code == 400 and "does not exist" in missing.get_data(as_text=True)
        fine = client.post("/sparql", data=f'INSERT DATA {{ GRAPH <{MUSEUM_GRAPH}> {{ <{MUSEUM_GRAPH}#x> <urn:x:p> "ok" }} }}',
                           headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {admin_token}"})
        assert fine.status_code == 204 and GraphStore(store_path).generation != before
    finally:
        close_resources()


def test_a_cycle_of_blank_nodes_in_someones_data_is_a_page(location_client: FlaskClient, store_location: str) -> None:
    """Blank nodes that point at each other (legal RDF, and what an inverse makes of a formation and its time span)
    are shown once each, not followed for ever."""
    open_store(store_location).load(RdfSource.from_bytes(b"""
        @prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://w3id.org/heritage-hubs/id/group/loop> a hh:Community ; rdfs:label "Loop"@en ; hh:description _:a .
        _:a rdfs:seeAlso _:b . _:b rdfs:seeAlso _:a .""", RdfFormat.TURTLE), graph="https://w3id.org/heritage-hubs/graph/loop",
        validate=False)
    page = location_client.get("/doc/group/loop.html")
    assert page.status_code == 200 and "Loop" in page.get_data(as_text=True)
