"""Linked Art: assets out as Linked Art JSON-LD, Linked Art records in as CIDOC-CRM triples."""

from __future__ import annotations

import json
from pathlib import Path

import rdflib
from flask.testing import FlaskClient

from heritage_hubs.graph import GraphStore, RdfSource, linked_art

BASE = "https://w3id.org/heritage-hubs/"
CRM = rdflib.Namespace("http://www.cidoc-crm.org/cidoc-crm/")
LA = linked_art.MEDIA_TYPE
ASSET = BASE + "id/asset/polo-del-900-collections"


def _crm(record: bytes) -> rdflib.Graph:
    return rdflib.Graph().parse(data=linked_art.to_nquads(record), format="nt")


def test_assets_negotiate_linked_art_and_it_expands_to_crm(client: FlaskClient) -> None:
    see_other = client.get("/id/asset/polo-del-900-collections", headers={"Accept": LA})
    assert see_other.status_code == 303 and see_other.headers["Location"] == "/doc/asset/polo-del-900-collections.linked-art.json"
    negotiated = client.get("/doc/asset/polo-del-900-collections", headers={"Accept": LA})
    explicit = client.get("/doc/asset/polo-del-900-collections.linked-art.json")
    assert negotiated.data == explicit.data and 'profile="https://linked.art/ns/v1/linked-art.json"' in explicit.content_type
    record = json.loads(explicit.data)
    assert record["type"] == "HumanMadeObject" and record["id"] == ASSET
    assert {n["type"] for n in record["identified_by"]} >= {"Name"}
    assert all(k["type"] == "Group" for k in record["former_or_current_keeper"])
    assert record["member_of"][0]["type"] == "Set"
    graph = _crm(explicit.data)
    subject = rdflib.URIRef(ASSET)
    assert (subject, rdflib.RDF.type, CRM["E22_Human-Made_Object"]) in graph
    names = list(graph.objects(subject, CRM.P1_is_identified_by))
    assert names and all(graph.value(n, CRM.P190_has_symbolic_content) for n in names)
    # Plain JSON-LD is still the default for the same document, and the Link header offers Linked Art.
    assert "linked-art.json" in client.get("/doc/asset/polo-del-900-collections.ttl").headers["Link"]


def test_intangible_assets_have_no_linked_art_form(client: FlaskClient) -> None:
    response = client.get("/doc/asset/memory-of-the-resistance.linked-art.json")
    assert response.status_code == 406 and b"tangible" in response.data


def test_a_museum_loads_a_linked_art_record(client: FlaskClient, museum_token: str, store_path: Path) -> None:
    graph = BASE + "graph/institution/museo-esempio"
    record = {
        "@context": linked_art.CONTEXT_URL,
        "id": BASE + "id/asset/museo-esempio-la-1", "type": "HumanMadeObject", "_label": "Partisan armband",
        "identified_by": [{"type": "Name", "content": "Bracciale partigiano"},
                          {"type": "Identifier", "content": "ME-LA-1"}],
        "referred_to_by": [{"type": "LinguisticObject", "content": "Sample record."}],
    }
    response = client.put("/graph-store", query_string={"graph": graph}, data=json.dumps(record), content_type=LA,
                          headers={"Authorization": f"Bearer {museum_token}"})
    assert response.status_code == 201, response.data
    rows = list(GraphStore(store_path).query(
        f"PREFIX crm: <{CRM}> SELECT ?content WHERE {{ GRAPH <{graph}> {{ <{BASE}id/asset/museo-esempio-la-1> "
        "a crm:E22_Human-Made_Object ; crm:P1_is_identified_by/crm:P190_has_symbolic_content ?content } }"))
    assert sorted(str(r["content"].value) for r in rows) == ["Bracciale partigiano", "ME-LA-1"]  # type: ignore[index]

    # A record naming any other remote context is refused: loading never reaches the network.
    hostile = {**record, "@context": "http://127.0.0.1:9/context.jsonld", "extra": linked_art.CONTEXT_URL}
    before = GraphStore(store_path).generation
    refused = client.put("/graph-store", query_string={"graph": graph}, data=json.dumps(hostile), content_type=LA,
                         headers={"Authorization": f"Bearer {museum_token}"})
    assert refused.status_code == 400 and b"refused" in refused.data
    assert GraphStore(store_path).generation == before


def test_linked_art_patterns_for_an_imported_record(client: FlaskClient, store_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.ttl"
    record.write_text(f"""
        @prefix hh: <{BASE}ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix crm: <{CRM}> . @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix dct: <http://purl.org/dc/terms/> .
        <{BASE}id/asset/museo-esempio-x> a hh:TangibleAsset ; rdfs:label "Bandiera"@it , "Flag"@en ;
            hh:inventoryNumber "ME-X" ; hh:description "Sample record."@en ;
            crm:P2_has_type <{BASE}id/concept/resistance> ; hh:keptBy <{BASE}id/hub/polo-del-900> ;
            hh:locatedIn <{BASE}id/place/turin> ; dct:created "1945-04-25"^^<http://www.w3.org/2001/XMLSchema#date> ;
            owl:sameAs <https://collections.example.org/object/x> .
    """)
    GraphStore(store_path).load(RdfSource.from_path(record),
                                graph=BASE + "graph/institution/museo-esempio")
    out = json.loads(client.get("/doc/asset/museo-esempio-x.linked-art.json").data)
    assert {n["content"] for n in out["identified_by"]} == {"Bandiera", "Flag", "ME-X"}
    assert [c["id"] for c in out["classified_as"]] == [BASE + "id/concept/resistance"]
    assert out["referred_to_by"][0]["type"] == "LinguisticObject" and out["referred_to_by"][0]["content"] == "Sample record."
    assert out["member_of"] == [{"id": BASE + "id/hub/polo-del-900#collection", "type": "Set",
                                 "_label": "Collection of Polo del '900"}]
    assert out["equivalent"] == [{"id": "https://collections.example.org/object/x", "type": "HumanMadeObject"}]
    assert out["current_location"]["id"] == BASE + "id/place/turin"
    assert out["produced_by"]["timespan"]["begin_of_the_begin"] == "1945-04-25T00:00:00Z"
    graph = _crm(json.dumps(out).encode())
    assert (rdflib.URIRef(BASE + "id/asset/museo-esempio-x"), CRM.P2_has_type, rdflib.URIRef(BASE + "id/concept/resistance")) in graph
