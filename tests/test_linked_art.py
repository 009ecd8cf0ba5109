"""Linked Art: assets out as Linked Art JSON-LD, Linked Art records in as CIDOC-CRM triples."""

from __future__ import annotations

import json
from pathlib import Path

import rdflib
from flask.testing import FlaskClient

from heritage_hubs.graph import RdfSource, linked_art
from heritage_hubs.graph.store import open_store

from .conftest import CONFORMANCE, needs_conformance

BASE = "https://w3id.org/heritage-hubs/"
CRM = rdflib.Namespace("http://www.cidoc-crm.org/cidoc-crm/")
LA = linked_art.MEDIA_TYPE
ASSET = BASE + "id/asset/polo-del-900-collections"


def _crm(record: bytes) -> rdflib.Graph:
    return rdflib.Graph().parse(data=linked_art.to_nquads(record), format="nt")


def test_assets_negotiate_linked_art_and_it_expands_to_crm(backend_client: FlaskClient) -> None:
    see_other = backend_client.get("/id/asset/polo-del-900-collections", headers={"Accept": LA})
    assert see_other.status_code == 303 and see_other.headers["Location"] == "/doc/asset/polo-del-900-collections.linked-art.json"
    negotiated = backend_client.get("/doc/asset/polo-del-900-collections", headers={"Accept": LA})
    explicit = backend_client.get("/doc/asset/polo-del-900-collections.linked-art.json")
    assert negotiated.data == explicit.data and 'profile="https://linked.art/ns/v1/linked-art.json"' in explicit.content_type
    record = json.loads(explicit.data)
    assert record["type"] == "HumanMadeObject" and record["id"] == ASSET
    assert {n["type"] for n in record["identified_by"]} >= {"Name"}
    assert all(k["type"] == "Group" for k in record["current_custodian"])
    assert record["member_of"][0]["type"] == "Set"
    graph = _crm(explicit.data)
    subject = rdflib.URIRef(ASSET)
    assert (subject, rdflib.RDF.type, CRM["E22_Human-Made_Object"]) in graph
    names = list(graph.objects(subject, CRM.P1_is_identified_by))
    assert names and all(graph.value(n, CRM.P190_has_symbolic_content) for n in names)
    # Plain JSON-LD is still the default for the same document, and the Link header offers Linked Art.
    assert "linked-art.json" in backend_client.get("/doc/asset/polo-del-900-collections.ttl").headers["Link"]


def test_intangible_assets_have_no_linked_art_form(backend_client: FlaskClient) -> None:
    response = backend_client.get("/doc/asset/memory-of-the-resistance.linked-art.json")
    assert response.status_code == 406 and b"no Linked Art form" in response.data
    # Asked for at /id with the Linked Art profile: plain JSON-LD, never a 303 to a 406.
    see_other = backend_client.get("/id/asset/memory-of-the-resistance", headers={"Accept": LA})
    assert see_other.status_code == 303 and see_other.headers["Location"].endswith(".jsonld")


def test_a_museum_loads_a_linked_art_record(location_client: FlaskClient, location_museum_token: str, store_location: str) -> None:
    graph = BASE + "graph/institution/museo-esempio"
    record = {
        "@context": linked_art.CONTEXT_URL,
        "id": BASE + "id/asset/museo-esempio-la-1", "type": "HumanMadeObject", "_label": "Partisan armband",
        "identified_by": [{"type": "Name", "content": "Bracciale partigiano"},
                          {"type": "Identifier", "content": "ME-LA-1"}],
        "referred_to_by": [{"type": "LinguisticObject", "content": "Sample record."}],
    }
    response = location_client.put("/graph-store", query_string={"graph": graph}, data=json.dumps(record), content_type=LA,
                          headers={"Authorization": f"Bearer {location_museum_token}"})
    assert response.status_code == 201, response.data
    rows = list(open_store(store_location).query(
        f"PREFIX crm: <{CRM}> SELECT ?content WHERE {{ GRAPH <{graph}> {{ <{BASE}id/asset/museo-esempio-la-1> "
        "a crm:E22_Human-Made_Object ; crm:P1_is_identified_by/crm:P190_has_symbolic_content ?content } }"))
    assert sorted(str(r["content"].value) for r in rows) == ["Bracciale partigiano", "ME-LA-1"]  # type: ignore[index]

    # A record naming any other remote context is refused: loading never reaches the network.
    hostile = {**record, "@context": "http://127.0.0.1:9/context.jsonld", "extra": linked_art.CONTEXT_URL}
    before = open_store(store_location).generation
    refused = location_client.put("/graph-store", query_string={"graph": graph}, data=json.dumps(hostile), content_type=LA,
                         headers={"Authorization": f"Bearer {location_museum_token}"})
    assert refused.status_code == 400 and b"refused" in refused.data
    assert open_store(store_location).generation == before


def test_linked_art_patterns_for_an_imported_record(location_client: FlaskClient, store_location: str, tmp_path: Path) -> None:
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
    open_store(store_location).load(RdfSource.from_path(record),
                                graph=BASE + "graph/institution/museo-esempio")
    out = json.loads(location_client.get("/doc/asset/museo-esempio-x.linked-art.json").data)
    assert {n["content"] for n in out["identified_by"]} == {"Bandiera", "Flag", "ME-X"}
    assert "classified_as" not in out  # a theme is what the object shows, not what kind of object it is
    assert out["shows"] == [{"id": BASE + "id/visual/museo-esempio-x", "type": "VisualItem", "_label": "What Flag shows"}]
    visual = json.loads(location_client.get("/doc/visual/museo-esempio-x.linked-art.json").data)
    assert [t["id"] for t in visual["about"]] == [BASE + "id/concept/resistance"]
    assert out["referred_to_by"][0]["type"] == "LinguisticObject" and out["referred_to_by"][0]["content"] == "Sample record."
    assert out["member_of"] == [{"id": BASE + "id/collection/hub-polo-del-900", "type": "Set",
                                 "_label": "Collection of Polo del '900"}]
    assert out["current_custodian"][0]["id"] == BASE + "id/hub/polo-del-900"
    assert out["equivalent"] == [{"id": "https://collections.example.org/object/x", "type": "HumanMadeObject"}]
    assert "current_location" not in out  # hh:locatedIn is P53 (former or current): Linked Art has no such term
    assert out["produced_by"]["timespan"]["begin_of_the_begin"] == "1945-04-25T00:00:00Z"
    graph = _crm(json.dumps(out).encode())
    assert (rdflib.URIRef(BASE + "id/asset/museo-esempio-x"), CRM.P65_shows_visual_item,
            rdflib.URIRef(BASE + "id/visual/museo-esempio-x")) in graph


SCHEMAS = CONFORMANCE / "linked-art-1.0" / "schema"
SCHEMA_OF = {"HumanMadeObject": "object.json", "Group": "group.json", "Person": "person.json", "Type": "concept.json",
             "Place": "place.json",
             "Set": "set.json", "VisualItem": "image.json"}


@needs_conformance(SCHEMAS)
def test_every_linked_art_record_is_valid_and_every_reference_dereferences(location_client: FlaskClient, store_location: str) -> None:
    """Every record the service produces (the bundled data and an imported museum), validated against the Linked Art
    API 1.0 JSON Schemas; every id of ours a record references answers, with the Linked Art profile, a record of the
    type the reference says."""
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    resources = [Resource.from_contents(json.loads(path.read_text())) for path in sorted(SCHEMAS.glob("*.json"))]
    registry = Registry().with_resources((str(r.contents["$id"]), r) for r in resources)  # type: ignore[index]
    validators = {name: Draft202012Validator(json.loads((SCHEMAS / name).read_text()), registry=registry,
                                             format_checker=FormatChecker()) for name in set(SCHEMA_OF.values())}
    museum = Path(__file__).parent.parent / "examples" / "museum"
    store = open_store(store_location)
    store.load(RdfSource.from_path(museum / "institution.ttl"), graph=BASE + "graph/institution/museo-esempio")
    from click.testing import CliRunner

    from heritage_hubs.cli import main

    runner_result = CliRunner().invoke(main, ["--store", str(store_location), "import-csv", str(museum / "records.csv"), "--mapping",
                                              str(museum / "mapping.toml"), "--graph", BASE + "graph/institution/museo-esempio"])
    assert runner_result.exit_code == 0, runner_result.output

    things = {str(r["s"].value) for r in store.query(  # type: ignore[index]
        "SELECT DISTINCT ?s WHERE { ?s a ?t FILTER(isIRI(?s) && STRSTARTS(STR(?s), 'https://w3id.org/heritage-hubs/id/')) }")}
    queue = sorted(things)
    seen: dict[str, str] = {}
    checked = 0
    while queue:
        iri = queue.pop()
        if iri in seen:
            continue
        path = iri[len(BASE) - 1:]
        response = location_client.get(path, headers={"Accept": LA})
        if response.status_code == 303 and response.headers["Location"].endswith(".linked-art.json"):
            record = json.loads(location_client.get(response.headers["Location"]).data)
        else:
            seen[iri] = ""
            continue
        kind = record["type"]
        seen[iri] = kind
        errors = sorted(validators[SCHEMA_OF[kind]].iter_errors(record), key=lambda e: list(e.path))
        assert not errors, f"{iri} ({kind}): " + "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])
        checked += 1
        assert any(linked_art.PRIMARY_NAME in name.get("classified_as", []) for name in record.get("identified_by", [])
                   if name["type"] == "Name"), f"{iri} has no primary name"
        for statement in record.get("referred_to_by", []):
            assert statement["classified_as"] == [linked_art.DESCRIPTION], statement  # a description, itself a brief text
        # Every reference of ours in the record: it must have a Linked Art record of the type it is referenced as.
        for ref in _references(record):
            if ref["id"].startswith(BASE) and ref["id"] != iri:
                answer = location_client.get(ref["id"][len(BASE) - 1:], headers={"Accept": LA})
                assert answer.status_code == 303 and answer.headers["Location"].endswith(".linked-art.json"), ref
                target = json.loads(location_client.get(answer.headers["Location"]).data)
                assert target["type"] == ref["type"], (iri, ref, target["type"])
                queue.append(ref["id"])
    kinds = set(seen.values()) - {""}
    assert kinds == set(SCHEMA_OF), kinds
    assert checked >= 60


def _references(value: object) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        if "id" in value and "type" in value and len(value) <= 4 and "@context" not in value:
            found.append(value)  # type: ignore[arg-type]
        for item in value.values():
            found += _references(item)
    elif isinstance(value, list):
        for item in value:
            found += _references(item)
    return found
