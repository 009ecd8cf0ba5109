"""The Reconciliation API 0.2: every response validated against the published JSON schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft7Validator
from pyoxigraph import RdfFormat
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.labels import fold, score

from .conftest import CONFORMANCE, needs_conformance

SCHEMAS = CONFORMANCE / "reconciliation-0.2" / "schemas"
BASE = "https://w3id.org/heritage-hubs/"
HH = BASE + "ontology/"

pytestmark = needs_conformance(SCHEMAS)


def _validator(name: str) -> Draft7Validator:
    documents = {path.name: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json") if path.name != "openapi.json"}
    registry: Registry[Any] = Registry().with_resources(
        (document["$id"], Resource.from_contents(document, default_specification=DRAFT7)) for document in documents.values())
    return Draft7Validator(documents[name], registry=registry)


def _valid(name: str, value: Any) -> Any:
    errors = sorted(_validator(name).iter_errors(value), key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return value


def _batch(client: FlaskClient, queries: dict[str, Any], method: str = "GET") -> dict[str, Any]:
    _valid("reconciliation-query-batch.json", queries)
    if method == "GET":
        response = client.get("/reconcile", query_string={"queries": json.dumps(queries)})
    else:
        response = client.post("/reconcile", data={"queries": json.dumps(queries)})
    assert response.status_code == 200 and response.mimetype == "application/json", response.data
    return _valid("reconciliation-result-batch.json", response.json)  # type: ignore[no-any-return]


def test_manifest(backend_client: FlaskClient) -> None:
    manifest = _valid("manifest.json", backend_client.get("/reconcile").json)
    assert manifest["identifierSpace"] == BASE + "id/" and manifest["schemaSpace"] == HH
    assert {t["id"] for t in manifest["defaultTypes"]} == {HH + n for n in ("Hub", "Institution", "HeritageAsset", "Place",
                                                                            "Narrative")}
    assert all(t["name"] for t in manifest["defaultTypes"])


def test_exact_labels_in_any_language_rank_first_and_match(backend_client: FlaskClient) -> None:
    answers = _batch(backend_client, {
        "q0": {"query": "Tabakalera"},
        "q1": {"query": "Città di Torino", "type": HH + "Institution"},
        "q2": {"query": "Ayuntamiento de Turin", "type": [HH + "Institution"]},  # Spanish label, without its accent
        "q3": {"query": "Tabakalera cultural center", "limit": 3},
        "q4": {"query": "museum hub", "type": "http://www.w3.org/2004/02/skos/core#Concept"},  # an alternative label
    }, method="POST")
    top = answers["q0"]["result"][0]
    assert top["id"] == BASE + "id/hub/tabakalera" and top["score"] == 100 and top["match"] is True
    assert answers["q0"]["result"][1]["score"] < 100 and not answers["q0"]["result"][1]["match"]
    assert answers["q1"]["result"][0]["id"] == BASE + "id/institution/citta-di-torino"  # a PublicBody: subclasses count
    assert answers["q1"]["result"][0]["match"] is True
    assert answers["q2"]["result"][0]["id"] == BASE + "id/institution/citta-di-torino"
    assert all(r["match"] is False for r in answers["q3"]["result"]) and len(answers["q3"]["result"]) <= 3
    assert answers["q3"]["result"][0]["id"] == BASE + "id/hub/tabakalera"
    assert answers["q4"]["result"][0]["id"] == BASE + "id/concept/hub-museum" and answers["q4"]["result"][0]["match"]


def test_typed_queries_and_property_conditions(backend_client: FlaskClient) -> None:
    answers = _batch(backend_client, {
        "hub": {"query": "Polo del '900", "type": HH + "Hub"},
        "turin": {"query": "Compagnia di San Paolo", "properties": [{"pid": "hh:basedIn", "v": "Torino"}]},
        "wrong": {"query": "Compagnia di San Paolo", "properties": [{"pid": HH + "basedIn", "v": {"id": BASE + "id/place/favara"}}]},
    })
    assert [r["id"] for r in answers["hub"]["result"]] == [BASE + "id/hub/polo-del-900"]
    turin, wrong = answers["turin"]["result"][0], answers["wrong"]["result"][0]
    assert turin["match"] is True and turin["score"] == 100
    assert wrong["match"] is False and wrong["score"] < turin["score"]
    assert {"id": f"property:{HH}basedIn", "value": False} in wrong["features"]


def test_places_match_what_they_fall_within_and_other_names_are_found(client: FlaskClient, store_path: Path) -> None:
    """A museum in Turin's Quartieri Militari is in Turin; acronyms and other names (skos:altLabel) are searchable."""
    museum = (Path(__file__).parent.parent / "examples" / "museum" / "institution.ttl").read_bytes()
    GraphStore(store_path).load(RdfSource.from_bytes(museum, RdfFormat.TURTLE), graph=BASE + "graph/institution/museo-esempio")
    answers = _batch(client, {
        "museum": {"query": "Museo Diffuso della Resistenza", "properties": [{"pid": "hh:basedIn", "v": "Turin"}]},
        "by-id": {"query": "Museo Diffuso della Resistenza", "properties": [{"pid": "hh:basedIn", "v": {"id": BASE + "id/place/turin"}}]},
        "acronym": {"query": "ISTORETO"},
        "novecento": {"query": "Polo del Novecento", "type": HH + "Hub"},
    })
    for key in ("museum", "by-id"):
        first = answers[key]["result"][0]
        assert first["id"] == BASE + "id/institution/museo-diffuso-resistenza", answers[key]
        assert {"id": f"property:{HH}basedIn", "value": True} in first["features"]
    assert answers["acronym"]["result"][0]["id"] == BASE + "id/institution/istoreto"
    assert answers["novecento"]["result"][0]["id"] == BASE + "id/hub/polo-del-900"


@pytest.mark.parametrize("type_id", ["Institution", "hh:Institution", HH + "Institution", HH + "HeritageAsset", HH + "Hub"])
def test_proposed_properties_count_the_subclasses(backend_client: FlaskClient, type_id: str) -> None:
    response = backend_client.get("/reconcile/propose_properties", query_string={"type": type_id})
    assert response.status_code == 200, response.data
    proposed = [p["id"] for p in response.get_json()["properties"]]
    assert proposed, type_id
    if "Institution" in type_id:
        assert HH + "basedIn" in proposed and HH + "institutionKind" in proposed
    assert backend_client.get("/reconcile/propose_properties", query_string={"type": "not a type"}).status_code == 400


def test_suggest_preview_view_and_extend(client: FlaskClient, store_path: Path, tmp_path: Path) -> None:
    entities = _valid("suggest-entities-response.json", client.get("/reconcile/suggest/entity?prefix=tabak").json)
    assert entities["result"][0]["id"] == BASE + "id/hub/tabakalera"
    types = _valid("suggest-types-response.json", client.get("/reconcile/suggest/type?prefix=Institu").json)
    assert HH + "Institution" in [t["id"] for t in types["result"]]
    props = _valid("suggest-properties-response.json", client.get("/reconcile/suggest/property?prefix=based").json)
    assert props["result"][0]["id"] == HH + "basedIn"
    proposal = _valid("data-extension-property-proposal.json",
                      client.get("/reconcile/propose_properties", query_string={"type": HH + "Hub"}).json)
    assert HH + "basedIn" in [p["id"] for p in proposal["properties"]]
    query = {"ids": [BASE + "id/hub/tabakalera"], "properties": [{"id": HH + "basedIn"}, {"id": HH + "memberCount"}]}
    _valid("data-extension-query.json", query)
    extended = _valid("data-extension-response.json", client.post("/reconcile", data={"extend": json.dumps(query)}).json)
    assert extended["rows"][BASE + "id/hub/tabakalera"][HH + "basedIn"][0]["id"].startswith(BASE + "id/place/")
    view = client.get("/reconcile/view", query_string={"id": BASE + "id/hub/tabakalera"})
    assert view.status_code == 303 and view.headers["Location"].endswith("/doc/hub/tabakalera")

    hostile = tmp_path / "hostile.ttl"
    hostile.write_text(f'<{BASE}id/person/x> a <{HH}Person> ; <http://www.w3.org/2000/01/rdf-schema#label> '
                       f'"<script>alert(1)</script> Mallory"@en .')
    GraphStore(store_path).load(RdfSource.from_path(hostile), graph=BASE + "graph/institution/x")
    page = client.get("/reconcile/preview", query_string={"id": BASE + "id/person/x"}).get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;" in page
    # The label index followed the load, within the same commit.
    found = _batch(client, {"q": {"query": "Mallory", "type": HH + "Person"}})
    assert found["q"]["result"][0]["id"] == BASE + "id/person/x"


def test_bad_requests(backend_client: FlaskClient) -> None:
    broken = backend_client.get("/reconcile", query_string={"queries": "{not json"})
    assert broken.status_code == 400 and "line 1" in broken.json["detail"]  # type: ignore[index]
    assert backend_client.get("/reconcile", query_string={"queries": json.dumps({"q": {"query": 3}})}).status_code == 400
    assert backend_client.get("/reconcile", query_string={"queries": json.dumps({"q": {"query": "x", "limit": -1}})}).status_code == 400
    assert backend_client.post("/reconcile", data={"extend": json.dumps({"ids": "x"})}).status_code == 400


def test_scores() -> None:
    assert fold("Città  di TORINO") == "citta di torino"
    assert score("citta di torino", "Città di Torino") == 100
    assert 0 < score("Torino", "Città di Torino") < 90
    assert score("Roma", "Città di Torino") == 0


def test_the_bulk_index_update_matches_a_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heritage_hubs.graph import labels as labels_module
    from heritage_hubs.graph.bundled import seed
    from heritage_hubs.graph.labels import LabelIndex

    monkeypatch.setattr(LabelIndex, "BULK", 0)  # every commit takes the one-scan path
    monkeypatch.setattr(labels_module, "_NAMES_AT_ONCE", 0)  # and the full-text index is written in one statement
    store = GraphStore(tmp_path / "store")
    seed(store)
    generation = int(store.generation)
    assert store.labels.generation() == generation

    def contents(index: LabelIndex) -> tuple[list[tuple[str, ...]], ...]:
        reader = index._reader()
        return (sorted(reader.execute("SELECT resource, label, language FROM names").fetchall()),
                sorted(reader.execute("SELECT resource, type FROM types").fetchall()),
                sorted(reader.execute("SELECT term, doc, cnt FROM labels_vocabulary").fetchall()))

    updated = contents(store.labels)
    fresh = LabelIndex(tmp_path / "rebuilt")
    (tmp_path / "rebuilt").mkdir()
    fresh.rebuild(store.reader(), generation)
    assert updated == contents(fresh) and len(updated[0]) > 500 and len(updated[2]) > 500
    reader = store.labels._reader()
    for row_id, label in reader.execute("SELECT id, label FROM names").fetchall():  # every name is in the full-text index
        phrase = '"' + label.replace('"', '""') + '"'
        assert (row_id,) in reader.execute("SELECT rowid FROM labels WHERE labels MATCH ?", (phrase,)).fetchall(), label
    # The trigger is back: a small write's names are searchable.
    monkeypatch.undo()
    store.load(RdfSource.from_bytes(b'<https://w3id.org/heritage-hubs/id/person/zyxwv> a <https://w3id.org/heritage-hubs/ontology/Person> ; '
                                    b'<http://www.w3.org/2000/01/rdf-schema#label> "Zyxwv Qwerty"@en .', RdfFormat.TURTLE),
               graph="https://w3id.org/heritage-hubs/graph/institution/people")
    assert [c.iri for c in store.labels.search("zyxwv")] == ["https://w3id.org/heritage-hubs/id/person/zyxwv"]
