"""Named queries: every one answers the bundled data as expected, parameters are values never syntax."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from heritage_hubs.graph.library import ParameterError, named_queries, named_query, parse_named_query

ID = "https://w3id.org/heritage-hubs/id/"


def rows(client: FlaskClient, name: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/queries/{name}", query_string=params)
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/json"
    return json.loads(response.data)  # type: ignore[no-any-return]


def test_there_are_at_least_twelve_and_all_parse() -> None:
    queries = named_queries()
    assert len(queries) >= 12
    assert all(q.summary and q.description for q in queries)


# Each named query with its parameters and what the bundled data must answer.
KNOWN_ANSWERS: list[tuple[str, dict[str, str], Any]] = [
    ("hubs-by-place", {}, lambda r: {x["hub"] for x in r} == {f"{ID}hub/{h}" for h in
                                                               ("polo-del-900", "farm-cultural-park", "tabakalera", "european-heritage-hub")}),
    ("hubs-by-place", {"place": f"{ID}place/italy"}, lambda r: {x["hub"] for x in r} == {f"{ID}hub/polo-del-900", f"{ID}hub/farm-cultural-park"}),
    ("hubs-by-place", {"place": f"{ID}place/spain"}, lambda r: [x["countryLabel"] for x in r] == ["Spain"]),
    ("hub-partners", {"hub": f"{ID}hub/european-heritage-hub"},
     lambda r: {x["institutionLabel"] for x in r} == {"Europa Nostra", "Europeana Foundation", "Eurocities", "KU Leuven",
                                                      "ICLEI – Local Governments for Sustainability"}),
    ("kept-assets", {}, lambda r: [x["asset"] for x in r] == [f"{ID}asset/tabakalera-building"]),
    ("kept-assets", {"keeper": f"{ID}hub/polo-del-900", "lang": "it"}, lambda r: [x["label"] for x in r] == ["Patrimonio documentario del Polo del '900"]),
    ("community-voices", {}, lambda r: len(r) == 4 and "Women workers of the San Sebastián tobacco factory" in {x["communityLabel"] for x in r}),
    ("activities-by-type", {"type": "Residency"}, lambda r: {x["activity"] for x in r} == {f"{ID}activity/farm-residencies",
                                                                                            f"{ID}activity/tabakalera-residencies"}),
    ("activities-by-type", {"type": "Event", "year": "2023"},
     lambda r: {x["activity"] for x in r} == {f"{ID}activity/ehh-launch", f"{ID}activity/european-heritage-forum-2023"}),
    ("activities-by-type", {"year": "2015"}, lambda r: {x["activity"] for x in r} == {f"{ID}activity/tabakalera-opening"}),
    ("reused-buildings", {"function": "tobacco-factory"}, lambda r: [x["hub"] for x in r] == [f"{ID}hub/tabakalera"]),
    ("reused-buildings", {}, lambda r: {x["hub"] for x in r} == {f"{ID}hub/tabakalera", f"{ID}hub/polo-del-900", f"{ID}hub/farm-cultural-park"}),
    ("technologies-by-hub", {}, lambda r: {(x["hubLabel"], x["technologyLabel"]) for x in r} >= {
        ("Polo del '900", "digital archive"), ("Tabakalera", "media lab"), ("European Heritage Hub", "online platform")}),
    ("assets-by-theme", {}, lambda r: {x["asset"] for x in r} == {f"{ID}asset/tabakalera-building", f"{ID}asset/tobacco-work-memory"}),
    ("assets-by-theme", {"theme": f"{ID}concept/resistance"}, lambda r: [x["asset"] for x in r] == [f"{ID}asset/polo-del-900-collections"]),
    ("institution-network", {}, lambda r: len(r) == 23 and all(x["hubs"] == 1 for x in r)),  # 17, and Tabakalera's 6
    ("institution-network", {"min_hubs": "2"}, lambda r: r == []),
    ("places-on-a-map", {}, lambda r: {x["label"] for x in r} == {"Brussels", "Egia", "Favara", "Juvarra's Military Quarters", "San Sebastián",
                                                                   "Turin", "Venice"} and all(-180 <= x["long"] <= 180 for x in r)),
    ("external-links", {"hub": f"{ID}hub/tabakalera"}, lambda r: "https://www.tabakalera.eu/" in {x["target"] for x in r}),
    ("recent-changes", {}, lambda r: {x["graph"].rsplit("/", 1)[-1] for x in r} == {"core", "ontology", "shapes", "entailed"}),
    ("recent-changes", {"since": "2999-01-01"}, lambda r: r == []),
    ("narratives-about-hub", {"lang": "es", "hub": f"{ID}hub/tabakalera"}, lambda r: r[0]["title"] == "Las mujeres de la fábrica de tabacos"),
    # The bundled data's checked links (Italy, Sicily); a museum's links are listed in the test of authority columns below.
    ("linked-to-authority", {}, lambda r: sorted(x["link"] for x in r) == ["http://www.wikidata.org/entity/Q1460",
                                                                          "http://www.wikidata.org/entity/Q38"]),
]
#: CONSTRUCT queries, whose known answers are checked as RDF below.
RDF_QUERIES = {"hub-card"}


@pytest.mark.parametrize(("name", "params", "check"), KNOWN_ANSWERS, ids=[f"{n}-{'-'.join(p)}" for n, p, _ in KNOWN_ANSWERS])
def test_known_answers(backend_client: FlaskClient, name: str, params: dict[str, str], check: Any) -> None:
    assert check(rows(backend_client, name, **params))


def test_every_named_query_is_covered_by_a_known_answer() -> None:
    assert {q.name for q in named_queries()} <= {name for name, _, _ in KNOWN_ANSWERS} | RDF_QUERIES


@pytest.mark.parametrize(("name", "params"), [
    ("kept-assets", {"keeper": 'https://example.org/x> } ; DROP ALL #'}),
    ("kept-assets", {"keeper": "https://example.org/a>b"}),
    ("kept-assets", {"keeper": "not an iri"}),
    ("narratives-about-hub", {"lang": '"} ; DROP ALL #'}),
    ("institution-network", {"min_hubs": "1 } ; DROP ALL #"}),
    ("recent-changes", {"since": "2020-01-01\"^^<x> } #"}),
    ("assets-by-theme", {"theme": "industrial-heritage> } #"}),
    ("hubs-by-place", {"nowhere": "x"}),
    ("kept-assets", {"keeper": ""}),
    ("assets-by-theme", {"theme": "tobacco-factory"}),
    ("reused-buildings", {"function": "resistance"}),
])
def test_hostile_values_are_400_not_syntax(backend_client: FlaskClient, name: str, params: dict[str, str]) -> None:
    response = backend_client.get(f"/api/queries/{name}", query_string=params)
    assert response.status_code == 400, response.data
    assert json.loads(response.data)["detail"]


def test_a_string_holding_sparql_is_just_a_value() -> None:
    query = parse_named_query("probe", "# summary: probe\n# param: text string — any text\n"
                                       "SELECT ?text WHERE { BIND(STRLEN(?text) AS ?n) }\n")
    bound = query.bind({"text": '"} ; DROP ALL #\n<x> \\ \'" }'})
    text = query.text(bound)
    from pyoxigraph import Store

    rows = list(Store().query(text))  # type: ignore[call-overload]
    assert rows[0]["text"].value == '"} ; DROP ALL #\n<x> \\ \'" }'


def test_parameters_are_typed() -> None:
    query = named_query("activities-by-type")
    assert query is not None
    with pytest.raises(ParameterError, match="integer"):
        query.bind({"year": "twenty"})
    with pytest.raises(ParameterError, match="one of"):
        query.bind({"type": "Party"})
    assert query.bind({"year": "2023"}) == {"year": '"2023"^^<http://www.w3.org/2001/XMLSchema#integer>'}


@pytest.mark.parametrize(("accept", "fmt", "expected"), [
    ("text/csv", None, "text/csv"), ("application/sparql-results+json", None, "application/sparql-results+json"),
    (None, "csv", "text/csv"), (None, "sparql-json", "application/sparql-results+json"), ("*/*", None, "application/json"),
])
def test_formats(backend_client: FlaskClient, accept: str | None, fmt: str | None, expected: str) -> None:
    response = backend_client.get("/api/queries/community-voices", query_string={"format": fmt} if fmt else {},
                          headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.mimetype == expected
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize(("accept", "rdflib_format"), [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                                        ("application/n-triples", "nt"), (None, "turtle")])
def test_construct_named_query_answers_rdf(backend_client: FlaskClient, accept: str | None, rdflib_format: str) -> None:
    import rdflib

    response = backend_client.get("/api/queries/hub-card", query_string={"hub": f"{ID}hub/tabakalera"},
                          headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.data, format=rdflib_format)
    hub = rdflib.URIRef(f"{ID}hub/tabakalera")
    assert (hub, rdflib.RDF.type, rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/Hub")) in graph
    assert rdflib.Literal("Tabakalera", lang="eu") in set(graph.objects(hub, rdflib.RDFS.label))


def test_not_acceptable_and_unknown(backend_client: FlaskClient) -> None:
    assert backend_client.get("/api/queries/community-voices", headers={"Accept": "image/png"}).status_code == 406
    assert backend_client.get("/api/queries/no-such-query").status_code == 404
    assert backend_client.get("/api/queries/community-voices", query_string={"page": "2"}).status_code == 400


def test_pagination_with_link_headers(backend_client: FlaskClient) -> None:
    first = backend_client.get("/api/queries/hub-partners", query_string={"per_page": "5"})
    assert len(json.loads(first.data)) == 5
    assert 'rel="next"' in first.headers["Link"]
    seen = []
    page = 1
    while True:
        response = backend_client.get("/api/queries/hub-partners", query_string={"per_page": "5", "page": str(page)})
        seen += [row["institution"] for row in json.loads(response.data)]
        if 'rel="next"' not in response.headers.get("Link", ""):
            break
        assert 'rel="prev"' in response.headers["Link"] or page == 1
        page += 1
    assert len(seen) == len(set(seen)) == 23  # 17, and Tabakalera's 6


def test_listing_and_openapi(backend_client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    listing = json.loads(backend_client.get("/api/queries").data)["queries"]
    assert {q["name"] for q in listing} == {q.name for q in named_queries()}
    spec = json.loads(backend_client.get("/api/openapi.json").data)
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    operation = spec["paths"]["/api/queries/activities-by-type"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"type", "year", "format"}
    docs = backend_client.get("/api/docs")
    assert docs.status_code == 200 and b"activities-by-type" in docs.data


def test_named_queries_in_the_editor_and_on_the_home_page(backend_client: FlaskClient) -> None:
    home = backend_client.get("/").get_data(as_text=True)
    assert "/api/queries/reused-buildings" in home
    editor = backend_client.get("/sparql", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Hubs that re-use historic and industrial buildings" in editor


def test_cli_runs_named_queries(runner: Any, store_location: str) -> None:
    from heritage_hubs.cli import main

    result = runner.invoke(main, ["--store", store_location, "query", "--named", "reused-buildings", "--param", "function=tobacco-factory",
                                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert f"{ID}hub/tabakalera" in result.stdout and "farm-cultural-park" not in result.stdout
    result = runner.invoke(main, ["--store", store_location, "query", "--named", "kept-assets", "--param", "keeper=not an iri"])
    assert result.exit_code == 1 and "keeper must be an absolute IRI" in result.stderr


def test_fuzz_the_api_from_its_openapi_description(store_location: str, location_museum_token: str) -> None:
    """schemathesis generates requests from /api/openapi.json (named queries, SPARQL, fragments, the feed, VoID,
    reconciliation, the Graph Store with a museum's token) against a live server, on every backend: no 5xx, and every
    status, media type, header and JSON body is the one the description promises."""
    import subprocess
    import sys
    from pathlib import Path

    from .conftest import start_server, stop_server

    token = location_museum_token
    server = start_server(store_location, extra_env={"HERITAGE_HUBS_QUERY_TIMEOUT": "10"}, workers=1)
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "run", f"{server.url}/api/openapi.json",
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
                         "response_headers_conformance",
             "-H", f"Authorization: Bearer {token}",
             "--max-examples", "30", "--generation-deterministic",
             "--request-timeout", "30", "--suppress-health-check", "all", "--no-color"],
            capture_output=True, text=True, timeout=900, check=False)
    finally:
        stop_server(server)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout.lower()
    import re

    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested and int(tested[1]) >= 29, result.stdout[-2000:]  # every operation: queries, SPARQL, Linked Data, reconciliation, GSP


def test_every_parameter_type_writes_a_valid_term() -> None:
    from pyoxigraph import Store

    query = parse_named_query("types", "\n".join([
        "# summary: every type",
        "# param: a iri — an IRI",
        "# param: b string — a string",
        "# param: c langstring — a name in a language",
        "# param: d integer — a number",
        "# param: e date — a day",
        "# param: f concept — a concept",
        "SELECT ?a ?b ?c ?d ?e ?f WHERE { }",
    ]))
    bound = query.bind({"a": "https://example.org/x", "b": 'say "hi"', "c": "Torino@IT", "d": "-42", "e": "2024-02-29", "f": "resistance"})
    row = next(iter(Store().query(query.text(bound))))  # type: ignore[call-overload]
    assert row["a"].value == "https://example.org/x"
    assert row["b"].value == 'say "hi"'
    assert (row["c"].value, row["c"].language) == ("Torino", "it")
    assert (row["d"].value, row["d"].datatype.value) == ("-42", "http://www.w3.org/2001/XMLSchema#integer")
    assert row["e"].datatype.value == "http://www.w3.org/2001/XMLSchema#date"
    assert row["f"].value == f"{ID}concept/resistance"
    for name, bad in (("c", "Torino"), ("c", "Torino@"), ("e", "2023-02-30"), ("d", "1e3"), ("f", "Not A Slug")):
        with pytest.raises(ParameterError):
            query.bind({**{"a": "https://example.org/x", "b": "x", "c": "x@en", "d": "1", "e": "2024-01-01", "f": "x"}, name: bad})


def test_named_queries_see_what_a_museum_contributes(location_client: FlaskClient, location_museum_token: str) -> None:
    """A museum can only write its own graph: it links itself to a hub with hh:partnerOf and types its records with
    themes (the example mapping's themes column, crm:P2_has_type). The ready-made questions see both."""
    import io
    from pathlib import Path

    root = Path(__file__).parent.parent / "examples" / "museum"
    graph = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
    museum = (root / "institution.ttl").read_text() + \
        "\ninst:museo-esempio hh:partnerOf <https://w3id.org/heritage-hubs/id/hub/polo-del-900> .\n"
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    assert location_client.put("/graph-store", query_string={"graph": graph}, data=museum, content_type="text/turtle",
                      headers=auth).status_code in (201, 204)
    imported = location_client.post("/import/csv", query_string={"graph": graph}, headers=auth, content_type="multipart/form-data",
                           data={"file": (io.BytesIO((root / "records.csv").read_bytes()), "records.csv"),
                                 "mapping": (io.BytesIO((root / "mapping.toml").read_bytes()), "mapping.toml")})
    assert imported.status_code in (200, 201), imported.data
    museo = f"{ID}institution/museo-esempio"

    partners = location_client.get("/api/queries/hub-partners", query_string={"hub": f"{ID}hub/polo-del-900"}).get_json()
    assert museo in {row["institution"] for row in partners}
    network = location_client.get("/api/queries/institution-network").get_json()
    assert museo in {row["institution"] for row in network}
    themed = location_client.get("/api/queries/assets-by-theme", query_string={"theme": "resistance"}).get_json()
    assert {f"{ID}asset/museo-esempio-me-0001", f"{ID}asset/museo-esempio-me-0002"} <= {row["asset"] for row in themed}
    # The bundled narratives still count.
    assert any(row.get("narrative") for row in themed)


def test_authority_links_from_a_spreadsheet_are_checked_shown_counted_and_listed(location_client: FlaskClient, location_museum_token: str) -> None:
    """A column with `authority = "wikidata"` takes identifiers as people write them: a bad one is a row error and
    nothing is loaded; good ones become the authority's IRIs, named on pages, counted in VoID, listed by a named query."""
    import io
    from pathlib import Path

    import rdflib

    root = Path(__file__).parent.parent / "examples" / "museum"
    graph = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    assert location_client.put("/graph-store", query_string={"graph": graph}, data=(root / "institution.ttl").read_text(),
                      content_type="text/turtle", headers=auth).status_code in (201, 204)
    mapping = (root / "mapping.toml").read_text() + '\n[columns.wikidata]\nauthority = "wikidata"\n'
    lines = (root / "records.csv").read_text().splitlines()

    def records(ids: list[str]) -> bytes:
        rows = [lines[0] + ",wikidata"] + [f"{line},{ids[i] if i < len(ids) else ''}" for i, line in enumerate(lines[1:])]
        return ("\n".join(rows) + "\n").encode()

    def send(ids: list[str]) -> object:
        return location_client.post("/import/csv", query_string={"graph": graph}, headers=auth,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(records(ids)), "records.csv"), "mapping": (io.BytesIO(mapping.encode()), "mapping.toml")})

    refused = send(["Q42", "42"])
    assert refused.status_code == 422 and b"not a Wikidata identifier" in refused.data and b"row 3" in refused.data
    accepted = send(["Q42", " Q1 "])
    assert accepted.status_code == 200, accepted.data
    page = location_client.get("/doc/asset/museo-esempio-me-0001", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Wikidata: Q42" in page and 'href="http://www.wikidata.org/entity/Q42"' in page
    void = rdflib.Graph().parse(data=location_client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data, format="turtle")
    vo = rdflib.Namespace("http://rdfs.org/ns/void#")
    linksets = list(void.subjects(rdflib.RDF.type, vo.Linkset))
    wikidata = [ls for ls in linksets if str(void.value(void.value(ls, vo.objectsTarget), vo.uriSpace)) == "http://www.wikidata.org/entity/"]
    assert len(wikidata) == 1 and int(void.value(wikidata[0], vo.triples)) == 4  # type: ignore[arg-type]  # and Italy's, Sicily's
    rows = location_client.get("/api/queries/linked-to-authority", query_string={"authority": "wikidata"}).get_json()
    assert {row["link"] for row in rows} == {"http://www.wikidata.org/entity/Q42", "http://www.wikidata.org/entity/Q1",
                                             "http://www.wikidata.org/entity/Q38", "http://www.wikidata.org/entity/Q1460"}
    # Reconciliation candidates carry their links, data extension gives the identifiers as written, previews name them.
    found = location_client.get("/reconcile", query_string={"queries": json.dumps({"q0": {"query": "Flag of a partisan brigade"}})}).get_json()
    best = found["q0"]["result"][0]
    assert best["id"] == f"{ID}asset/museo-esempio-me-0001" and best["sameAs"] == ["http://www.wikidata.org/entity/Q42"]
    extended = location_client.get("/reconcile", query_string={"extend": json.dumps(
        {"ids": [best["id"]], "properties": [{"id": "authority:wikidata"}]})}).get_json()
    assert extended["rows"][best["id"]]["authority:wikidata"] == [{"str": "Q42"}]
    assert extended["meta"] == [{"id": "authority:wikidata", "name": "Wikidata identifier"}]
    proposed = location_client.get("/reconcile/propose_properties", query_string={"type": "hh:TangibleAsset"}).get_json()
    assert {"id": "authority:wikidata", "name": "Wikidata identifier"} in proposed["properties"]
    preview = location_client.get("/reconcile/preview", query_string={"id": best["id"]}).get_data(as_text=True)
    assert 'Wikidata: <a href="http://www.wikidata.org/entity/Q42">Q42</a>' in preview
