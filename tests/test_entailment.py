"""The entailed graph: CIDOC-CRM questions answered over `hh:` data, kept in step with every write, never user data."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask.testing import FlaskClient
from pyoxigraph import Quad, RdfFormat, Store

from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.entailment import entailed_graph, load_rules, rebuild
from heritage_hubs.graph.store import open_store

from .conftest import WritableBackend

ID = "https://w3id.org/heritage-hubs/id/"
HH = "https://w3id.org/heritage-hubs/ontology/"
CRM = "http://www.cidoc-crm.org/cidoc-crm/"
MUSEUM_GRAPH = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
ENTAILED = "https://w3id.org/heritage-hubs/graph/entailed"
PREFIXES = f"PREFIX crm: <{CRM}> PREFIX hh: <{HH}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
MUSEUM = f"""@prefix hh: <{HH}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{ID}institution/museo-esempio> a hh:Museum ; rdfs:label "Museo Esempio"@it ;
    hh:institutionKind <{ID}concept/museum> ; hh:partnerOf <{ID}hub/tabakalera> .
"""


def _select(client: FlaskClient, query: str, **extra: str) -> list[dict[str, str]]:
    response = client.get("/sparql?" + urlencode({"query": PREFIXES + query, **extra}),
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [{k: v["value"] for k, v in row.items()} for row in json.loads(response.get_data())["results"]["bindings"]]


def _put(client: FlaskClient, token: str, body: str, graph: str = MUSEUM_GRAPH) -> int:
    return client.put(f"/graph-store?graph={quote(graph, safe='')}", data=body.encode(),
                      headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}).status_code


def test_a_crm_query_sees_every_hub_partner(location_client: FlaskClient) -> None:
    """The issue's query: every hub has partners in CRM terms, from hh:hasPartner through the alignment."""
    rows = _select(location_client, "SELECT DISTINCT ?g WHERE { ?g crm:P107_has_current_or_former_member ?m }")
    hubs = {r["h"] for r in _select(location_client, "SELECT ?h WHERE { ?h a hh:Hub ; hh:hasPartner ?p }")}
    assert hubs and hubs <= {r["g"] for r in rows}
    # A museum that is an hh:Museum is a crm:E74_Group and an hh:Institution, by the class hierarchy.
    groups = {r["x"] for r in _select(location_client, "SELECT ?x WHERE { ?x a crm:E74_Group }")}
    assert f"{ID}institution/istoreto" in groups and f"{ID}hub/tabakalera" in groups


def test_a_museums_partner_of_counts_in_crm_and_on_the_hubs_side(location_client: FlaskClient, location_museum_token: str) -> None:
    """Written from the museum's side only (its own graph), the partnership is the hub's hh:hasPartner and P107 too;
    taken back, both go."""
    assert _put(location_client, location_museum_token, MUSEUM) in (201, 204)
    member = f"{ID}institution/museo-esempio"
    assert {"m": member} in _select(location_client, f"SELECT ?m WHERE {{ <{ID}hub/tabakalera> crm:P107_has_current_or_former_member ?m }}")
    assert {"m": member} in _select(location_client, f"SELECT ?m WHERE {{ <{ID}hub/tabakalera> hh:hasPartner ?m }}")
    assert _put(location_client, location_museum_token, MUSEUM.replace(f"; hh:partnerOf <{ID}hub/tabakalera>", "")) == 204
    assert {"m": member} not in _select(location_client, f"SELECT ?m WHERE {{ <{ID}hub/tabakalera> crm:P107_has_current_or_former_member ?m }}")
    assert {"m": member} not in _select(location_client, f"SELECT ?m WHERE {{ <{ID}hub/tabakalera> hh:hasPartner ?m }}")


def test_what_another_statement_still_supports_stays(store_path: Path) -> None:
    """Both sides say the partnership; one takes it back; the entailed statements the other supports stay."""
    store = GraphStore(store_path)
    both = f"""@prefix hh: <{HH}> . <{ID}hub/tabakalera> hh:hasPartner <{ID}institution/istoreto> ."""
    store.load(RdfSource.from_bytes(both.encode(), RdfFormat.TURTLE), graph="https://w3id.org/heritage-hubs/graph/extra")
    ask = f"ASK {{ GRAPH <{ENTAILED}> {{ <{ID}institution/istoreto> <{CRM}P107i_is_current_or_former_member_of> <{ID}hub/tabakalera> }} }}"
    assert store.query(ask)
    store.drop("https://w3id.org/heritage-hubs/graph/extra")
    assert not store.query(ask)  # nothing else said it: Polo del '900's partner ISTORETO is not Tabakalera's
    store.load(RdfSource.from_bytes(both.encode(), RdfFormat.TURTLE), graph="https://w3id.org/heritage-hubs/graph/a")
    store.load(RdfSource.from_bytes(both.encode(), RdfFormat.TURTLE), graph="https://w3id.org/heritage-hubs/graph/b")
    store.drop("https://w3id.org/heritage-hubs/graph/a")
    assert store.query(ask)  # graph b still says it


@pytest.mark.parametrize(("shortcut", "crm_query"), [
    ("memberCount", f"SELECT ?v WHERE {{ <{ID}hub/polo-del-900> crm:P43_has_dimension ?d . ?d a crm:E54_Dimension ; "
                    f"crm:P2_has_type <{ID}concept/number-of-members> ; crm:P90_has_value ?v }}"),
    ("inventoryNumber", f"SELECT ?v WHERE {{ ?a hh:inventoryNumber ?asserted ; crm:P1_is_identified_by ?i . ?i a crm:E42_Identifier ; "
                        f"crm:P2_has_type <{ID}concept/inventory-number> ; crm:P190_has_symbolic_content ?v FILTER(?v = ?asserted) }}"),
    ("givesVoiceTo", "SELECT ?v WHERE { ?n hh:givesVoiceTo ?v ; crm:P94i_was_created_by ?c . ?c a crm:E65_Creation ; crm:P14_carried_out_by ?v }"),
    ("accessNotice", f"SELECT ?v WHERE {{ ?n hh:accessNotice ?v ; crm:P67i_is_referred_to_by ?t . ?t a crm:E33_Linguistic_Object ; "
                     f"crm:P2_has_type <{ID}concept/access-notice> ; crm:P190_has_symbolic_content ?v }}"),
])
def test_every_shortcut_answers_along_its_full_crm_path(location_client: FlaskClient, location_museum_token: str, shortcut: str, crm_query: str) -> None:
    """A test per hh:crmPath: the shortcut's value is found by walking the path it stands for."""
    if shortcut == "inventoryNumber":  # the bundled data has no inventory numbers: a museum's record has one
        record = MUSEUM + f"""<{ID}asset/museo-esempio-me-0001> a hh:TangibleAsset ; rdfs:label "Quadro"@it ;
            hh:inventoryNumber "ME-0001" ; hh:keptBy <{ID}institution/museo-esempio> ."""
        assert _put(location_client, location_museum_token, record) in (201, 204)
    paths = {r["p"] for r in _select(location_client, "SELECT ?p WHERE { ?p hh:crmPath ?path }")}
    assert HH + shortcut in paths and len(paths) == 4
    assert _select(location_client, crm_query), shortcut


def test_falls_within_is_transitive_and_follows_writes(store_location: str) -> None:
    store = open_store(store_location)
    places = f"""@prefix hh: <{HH}> . @prefix crm: <{CRM}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <{ID}place/room> a hh:Place ; rdfs:label "Room"@en ; crm:P89_falls_within <{ID}place/building> .
        <{ID}place/building> a hh:Place ; rdfs:label "Building"@en ; crm:P89_falls_within <{ID}place/turin> ."""
    store.load(RdfSource.from_bytes(places.encode(), RdfFormat.TURTLE), graph="https://w3id.org/heritage-hubs/graph/places")
    far = f"ASK {{ <{ID}place/room> <{CRM}P89_falls_within> <{ID}place/turin> }}"
    contains = f"ASK {{ <{ID}place/turin> <{CRM}P89i_contains> <{ID}place/room> }}"
    assert store.query(far) and store.query(contains)
    store.update(f"DELETE DATA {{ GRAPH <https://w3id.org/heritage-hubs/graph/places> {{ <{ID}place/building> "
                 f"<{CRM}P89_falls_within> <{ID}place/turin> }} }}", graphs=["https://w3id.org/heritage-hubs/graph/places"])
    assert not store.query(far) and not store.query(contains)


@pytest.mark.parametrize("changes", ["listed", "whole", "in parts"])
def test_the_graph_follows_writes_exactly(store_location: str, location_museum_token: str, location_client: FlaskClient, changes: str,
                                         writable_backend: WritableBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """After writes and removals, kept step by step, the entailed graph equals one rebuilt from scratch, whether the
    writes' changes are listed quad by quad or (as large ones are) whole graphs read back from the store; over an
    engine, also when each write is too large for one update ("in parts": Graph Store PUTs and POSTs, then updates)."""
    sent: list[str] = []
    if changes == "in parts":
        if writable_backend.name == "embedded":
            pytest.skip("the embedded store commits a write of any size at once")
        from heritage_hubs.graph import remote, remote_writes

        monkeypatch.setattr(remote_writes, "ONE_REQUEST_BYTES", 2048)
        monkeypatch.setattr(remote_writes, "DATA_STATEMENTS", 5)
        monkeypatch.setattr(remote, "GRAPH_REQUEST_BYTES", 512)
        to_graph = remote.Engine._to_graph

        def counted(self: remote.Engine, method: str, graph: str, *args: object) -> None:
            sent.append(f"{method} {graph}")
            to_graph(self, method, graph, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(remote.Engine, "_to_graph", counted)
    if changes == "whole":
        from heritage_hubs.graph import delta as delta_module
        from heritage_hubs.graph.store import WriteTransaction

        monkeypatch.setattr(delta_module, "LISTED_MAX", 0)
        monkeypatch.setattr(WriteTransaction, "LISTED_LOAD_BYTES", -1)
    # A blank node too: what follows from it (Turin's crm:P14i_performed) names it, in the engine by its skolem IRI.
    formed = (f"@prefix crm: <{CRM}> . <{ID}institution/museo-esempio> crm:P95i_was_formed_by "
              f"[ a crm:E66_Formation ; crm:P14_carried_out_by <{ID}institution/citta-di-torino> ] .\n")
    assert _put(location_client, location_museum_token, MUSEUM + formed) in (201, 204)
    assert _put(location_client, location_museum_token, MUSEUM.replace("hh:Museum", "hh:Archive") + formed) == 204
    kept, scratch = _kept_and_rebuilt(open_store(store_location))
    performed = [q for q in kept if q.subject.value == f"{ID}institution/citta-di-torino" and q.predicate.value == f"{CRM}P14i_performed"]
    assert kept == scratch and len(performed) == 2  # the bundled formation of the Polo del '900, and the museum's
    assert _put(location_client, location_museum_token, MUSEUM.replace("hh:Museum", "hh:Archive")) == 204
    location_client.delete(f"/graph-store?graph={quote(MUSEUM_GRAPH, safe='')}", headers={"Authorization": f"Bearer {location_museum_token}"})
    kept, scratch = _kept_and_rebuilt(open_store(store_location))
    assert kept == scratch and len(kept) > 500
    if changes == "in parts":
        assert f"PUT {MUSEUM_GRAPH}" in sent and f"POST {ENTAILED}" in sent


def _kept_and_rebuilt(store: GraphStore) -> tuple[set[Quad], set[Quad]]:
    """The entailed graph as the store keeps it, and as rebuilt from scratch from the same dump (on any backend)."""
    dumped = io.BytesIO()
    store.dump(dumped)
    local = Store()
    local.load(dumped.getvalue(), RdfFormat.N_QUADS)
    kept = set(local.quads_for_pattern(None, None, None, _graph(store)))
    rebuild(local, store.namespaces)
    return kept, set(local.quads_for_pattern(None, None, None, _graph(store)))


def _graph(store: GraphStore):  # type: ignore[no-untyped-def]
    from pyoxigraph import NamedNode

    return NamedNode(entailed_graph(store.namespaces))


def test_it_is_never_user_data(location_client: FlaskClient, location_admin_token: str, store_location: str) -> None:
    """No token may write it; validation does not read it; entailment=none leaves it out; VoID and the service
    description say it exists."""
    body = f"<{ID}hub/x> <{HH}hasPartner> <{ID}institution/y> ."
    response = location_client.put(f"/graph-store?graph={quote(ENTAILED, safe='')}", data=body.encode(),
                          headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {location_admin_token}"})
    assert response.status_code in (400, 403) and "maintained by the service" in response.get_data(as_text=True)
    update = location_client.post("/sparql", data=f"INSERT DATA {{ GRAPH <{ENTAILED}> {{ {body} }} }}".encode(),
                         headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {location_admin_token}"})
    assert update.status_code in (400, 403)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?g crm:P107_has_current_or_former_member ?m }"
    assert int(_select(location_client, count)[0]["n"]) > 0 and int(_select(location_client, count, entailment="none")[0]["n"]) == 0
    assert location_client.get("/sparql?" + urlencode({"query": "ASK {}", "entailment": "rdfs"})).status_code == 400
    description = location_client.get("/sparql", headers={"Accept": "text/turtle"}).get_data(as_text=True)
    assert ENTAILED in description and "entailment=none" in description
    assert "What the ontology entails" in location_client.get("/.well-known/void", headers={"Accept": "text/turtle"}).get_data(as_text=True)
    assert load_rules(open_store(store_location).reader(), open_store(store_location).namespaces).transitive


def test_a_store_from_before_the_entailed_graph_gets_it_before_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` builds the graph for a store that has none (made by an earlier version), before any visitor writes."""
    import subprocess
    import sys

    from heritage_hubs.graph import entailment
    from heritage_hubs.graph.bundled import seed

    monkeypatch.setattr(entailment, "apply", lambda *args: None)  # as the version before it: nothing entailed
    store = GraphStore(tmp_path / "old")
    seed(store)
    monkeypatch.undo()
    ask = f"ASK {{ <{ID}hub/tabakalera> <{CRM}P107_has_current_or_former_member> ?m }}"
    assert not store.query(ask)
    prepared = subprocess.run([sys.executable, "-m", "heritage_hubs.graph.bundled", str(tmp_path / "old"), "https://w3id.org/heritage-hubs/"],
                              capture_output=True, text=True, check=True)
    assert prepared.stdout.strip() == "entailed" and store.query(ask)
    assert not store.ensure_entailed()  # once
    assert any(g.iri == ENTAILED and g.triples > 500 for g in store.graphs())


def test_the_default_graph_is_asserted_data_too(client: FlaskClient, admin_token: str, store_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Statements in the default graph entail like any others, and a whole change of it (a large PUT) is followed,
    not a 500."""
    from heritage_hubs.graph import delta as delta_module
    from heritage_hubs.graph.store import WriteTransaction

    monkeypatch.setattr(delta_module, "LISTED_MAX", 0)
    monkeypatch.setattr(WriteTransaction, "LISTED_LOAD_BYTES", -1)
    body = f"<{ID}hub/tabakalera> <{HH}hasPartner> <{ID}institution/istoreto> ."
    response = client.put("/graph-store?default", data=body.encode(),
                          headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {admin_token}"})
    assert response.status_code in (201, 204), response.get_data(as_text=True)
    store = GraphStore(store_path)
    ask = f"ASK {{ GRAPH <{ENTAILED}> {{ <{ID}institution/istoreto> <{CRM}P107i_is_current_or_former_member_of> <{ID}hub/tabakalera> }} }}"
    assert store.query(ask)
    kept = set(store.reader().quads_for_pattern(None, None, None, _graph(store)))
    with store.transaction(validate=False) as tx:
        rebuild(tx.store, store.namespaces)
        assert set(tx.store.quads_for_pattern(None, None, None, _graph(store))) == kept
