"""Dereferenceable URIs: 303 + content negotiation, documents, conditional requests, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib
from flask import request
from flask.testing import FlaskClient

from heritage_hubs.graph import GraphStore, RdfSource

HUB = "https://w3id.org/heritage-hubs/id/hub/tabakalera"


@pytest.mark.parametrize(("accept", "extension"), [
    ("text/turtle", "ttl"), ("application/ld+json", "jsonld"), ("application/rdf+xml", "rdf"), ("application/n-triples", "nt"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "html"), ("text/turtle;q=0.5, application/rdf+xml", "rdf"), (None, "ttl"),
])
def test_id_answers_303_to_the_negotiated_document(backend_client: FlaskClient, accept: str | None, extension: str) -> None:
    response = backend_client.get("/id/hub/tabakalera", headers={"Accept": accept} if accept else {})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/doc/hub/tabakalera.{extension}"
    assert "Accept" in response.headers["Vary"]


def test_unknown_and_unacceptable(backend_client: FlaskClient) -> None:
    assert backend_client.get("/id/hub/atlantis", headers={"Accept": "text/turtle"}).status_code == 404
    page = backend_client.get("/id/hub/atlantis", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert backend_client.get("/id/hub/tabakalera", headers={"Accept": "image/png"}).status_code == 406
    assert backend_client.get("/doc/hub/tabakalera.pdf").status_code == 404
    assert backend_client.get("/id/hub/Not_A_Slug").status_code == 404


@pytest.mark.parametrize(("extension", "rdflib_format"), [("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml"), ("nt", "nt")])
def test_documents_parse_and_describe_the_resource(backend_client: FlaskClient, extension: str, rdflib_format: str) -> None:
    response = backend_client.get(f"/doc/hub/tabakalera.{extension}")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.data, format=rdflib_format)
    hub = rdflib.URIRef(HUB)
    assert (hub, rdflib.RDF.type, rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/Hub")) in graph
    # labels of what it links to, the blank-node closure (formation, time-span), incoming links
    assert graph.value(rdflib.URIRef("https://w3id.org/heritage-hubs/id/place/egia"), rdflib.RDFS.label) is not None
    assert any(str(p).endswith("P82a_begin_of_the_begin") for p in graph.predicates())
    assert (rdflib.URIRef("https://w3id.org/heritage-hubs/id/narrative/tabakalera-women-workers"),
            rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/refersTo"), hub) in graph
    assert all(not str(s).startswith("http://localhost") for s in graph.subjects())
    assert 'rel="alternate"' in response.headers["Link"]


def test_conditional_requests(backend_client: FlaskClient) -> None:
    first = backend_client.get("/doc/hub/tabakalera.ttl")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = backend_client.get("/doc/hub/tabakalera.ttl", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_html_page_links_stay_on_the_serving_host(backend_client: FlaskClient) -> None:
    page = backend_client.get("/doc/hub/tabakalera.html", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<h1>Tabakalera</h1>" in page
    assert 'href="http://localhost/id/place/egia"' in page
    assert '<link rel="alternate" type="text/turtle" href="/doc/hub/tabakalera.ttl">' in page
    assert 'rel="describedby"' in page
    assert "Las mujeres de la fábrica de tabacos" in page  # incoming narrative, Spanish label
    sections = [h2.split("</h2>")[0] for h2 in page.split("<h2>")[1:]]
    assert sections[0] == "Narraciones sobre esto"  # the interface speaks the visitor's language too
    assert sections.index("Nombres y descripción") < sections.index("Lugar y tiempo") < sections.index("Fuentes y enlaces")
    assert '<html lang="es">' in page


def test_labels_are_escaped(client: FlaskClient, store_path: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.ttl"
    hostile.write_text("""
        @prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://w3id.org/heritage-hubs/id/group/x> a hh:Community ; rdfs:label "<script>alert(1)</script>"@en ;
            hh:description "<img src=x onerror=alert(2)>"@en .
    """)
    GraphStore(store_path).load(RdfSource.from_path(hostile), graph="https://w3id.org/heritage-hubs/graph/institution/x")
    page = client.get("/doc/group/x.html").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_ontology_documentation_and_rdf(backend_client: FlaskClient) -> None:
    page = backend_client.get("/ontology", headers={"Accept": "text/html", "Accept-Language": "it"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="Hub"' in text and "crm:E74_Group" in text and "Heritage hub" in text
    assert "Istituzione" in text  # Italian labels for the visitor's language
    # Contents, and each property's domain, range and inverse, as links to the terms on the page.
    assert '<nav class="contents"' in text and '<a href="#partnerOf">' in text
    partner = text.split('id="hasPartner"', 1)[1].split("</section>", 1)[0]
    assert 'Dominio: <a href="#Hub"><code>hh:Hub</code></a>' in partner and 'Codominio: <a href="#Institution">' in partner
    assert 'Inversa: <a href="#partnerOf">' in partner and "crm:P107_has_current_or_former_member" in partner
    # Examples of use drawn from the data, with how often it is used (from the dataset statistics).
    assert re.search(r'Usata \d+ volt[ea] nei dati, per esempio', partner), partner
    assert re.search(r'<ul class="examples"><li><a href="/doc/hub/[a-z0-9-]+">[^<]+</a> → <a href="/doc/institution/', partner), partner
    uses = re.findall(r"<li>(.*?)</li>", partner.split('<ul class="examples">', 1)[1].split("</ul>", 1)[0])
    assert len(uses) == 3 and len(set(uses)) == 3, uses  # what was stated, each once (not again from the entailed graph)
    hub = text.split('id="Hub"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"\d+ membri nei dati", hub) and hub.count("<li>") == 3
    turtle = backend_client.get("/ontology", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=turtle.data, format="turtle")
    assert (rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/Hub"), rdflib.RDF.type, rdflib.OWL.Class) in graph
    assert "Accept" in turtle.headers["Vary"]


@pytest.mark.parametrize(("accept", "location"), [("text/html", "/ontology#Hub"), ("text/turtle", "/ontology")])
def test_ontology_terms_dereference(backend_client: FlaskClient, accept: str, location: str) -> None:
    response = backend_client.get("/ontology/Hub", headers={"Accept": accept})
    assert response.status_code == 303 and response.headers["Location"] == location
    assert backend_client.get("/ontology/NoSuchTerm").status_code == 404


def test_places_and_things_in_them_get_a_map(backend_client: FlaskClient) -> None:
    page = backend_client.get("/doc/hub/polo-del-900.html").get_data(as_text=True)
    assert 'data-lat="45.0764"' in page and "vendor/leaflet/leaflet.js" in page
    assert 'id="map"' not in backend_client.get("/doc/concept/resistance.html").get_data(as_text=True)


def test_documents_follow_changes(client: FlaskClient, store_path: Path, tmp_path: Path) -> None:
    before = client.get("/doc/hub/tabakalera.ttl").get_data(as_text=True)
    assert "museo-esempio" not in before
    extra = tmp_path / "partner.ttl"
    extra.write_text("""
        @prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://w3id.org/heritage-hubs/id/institution/museo-esempio> a hh:Museum ; rdfs:label "Museo"@it ;
            hh:institutionKind <https://w3id.org/heritage-hubs/id/concept/museum> ;
            hh:partnerOf <https://w3id.org/heritage-hubs/id/hub/tabakalera> .
    """)
    GraphStore(store_path).load(RdfSource.from_path(extra), graph="https://w3id.org/heritage-hubs/graph/institution/museo-esempio")
    after = client.get("/doc/hub/tabakalera.ttl").get_data(as_text=True)
    assert "museo-esempio" in after  # an incoming link, from the new graph


def test_negotiation_ranks_among_what_is_offered(backend_client: FlaskClient) -> None:
    # TriG is preferred but not offered for a document: the next choice wins, not a 406.
    response = backend_client.get("/ontology", headers={"Accept": "application/trig, text/turtle;q=0.5"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert backend_client.get("/id/hub/tabakalera", headers={"Accept": "application/n-quads, application/ld+json;q=0.2"}).headers[
        "Location"] == "/doc/hub/tabakalera.jsonld"
    assert backend_client.get("/fragments", headers={"Accept": "application/ld+json"}).status_code == 406


def test_repeated_requests_are_answered_before_flask_and_unchanged(backend_client: FlaskClient) -> None:
    entered: list[str] = []
    backend_client.application.before_request(lambda: entered.append(request.path) and None)
    requests = [("/doc/hub/tabakalera", {"Accept": "text/turtle"}), ("/doc/hub/tabakalera", {"Accept": "text/html",
                "Accept-Language": "it"}), ("/id/hub/tabakalera", {"Accept": "application/ld+json"}),
                ("/doc/hub/tabakalera.nt", {})]
    first = [backend_client.get(path, headers=headers) for path, headers in requests]
    assert len(entered) == len(requests)
    again = [backend_client.get(path, headers=headers) for path, headers in requests]
    assert len(entered) == len(requests)  # every repeat was a cache hit
    for one, two in zip(first, again, strict=True):
        assert (one.status_code, one.get_data(), sorted(one.headers.items())) == (two.status_code, two.get_data(),
                                                                                 sorted(two.headers.items()))
    assert again[1].mimetype == "text/html" and "Vary" in again[1].headers and again[2].status_code == 303
    # Another language, another host or a conditional request is not the same response.
    assert backend_client.get("/doc/hub/tabakalera", headers={"Accept": "text/html", "Accept-Language": "es"}).status_code == 200
    assert backend_client.get("/doc/hub/tabakalera.nt", base_url="http://127.0.0.1").status_code == 200
    etag = first[3].headers["ETag"]
    assert backend_client.get("/doc/hub/tabakalera.nt", headers={"If-None-Match": etag}).status_code == 304
    assert len(entered) == len(requests) + 3


def test_every_iri_in_a_dump_and_in_void_dereferences(client: FlaskClient, store_path: Path) -> None:
    """A crawl: every IRI of ours that the dump or VoID holds (resources, terms, shapes, schemes, graphs, the dataset,
    the ontology's namespace and version) answers 200, or 303 to 200, with RDF that mentions it; a graph's IRI gives
    its content and points with rel="describedby" to a description that mentions it."""
    import gzip
    import re

    from heritage_hubs.graph import GraphStore

    base = "https://w3id.org/heritage-hubs/"
    store = GraphStore(store_path)
    dumped = client.get("/dumps/all.nq.gz")
    dump = gzip.decompress(dumped.data).decode()
    dumped.close()
    void = client.get("/.well-known/void", headers={"Accept": "application/n-triples"}).get_data(as_text=True)
    iris = set(re.findall(r"<(" + re.escape(base) + r"[^>]*)>", dump + void))
    iris -= {i for i in iris if "#" in i and i.split("#", 1)[0] in iris}  # a fragment is its document's
    assert len(iris) > 150
    failures = []
    for iri in sorted(iris):
        path = iri[len(base) - 1:]
        response = client.get(path, headers={"Accept": "text/turtle"})
        hops = 0
        while response.status_code == 303 and hops < 3:
            response = client.get(response.headers["Location"].replace("http://localhost", ""), headers={"Accept": "text/turtle"})
            hops += 1
        if response.status_code == 200 and store.has_graph(iri):
            described = re.search(r"<([^>]+)>; rel=\"describedby\"", response.headers.get("Link", ""))
            assert described, iri
            response.close()  # the graph's content, streamed from a temporary file
            response = client.get(described[1], headers={"Accept": "text/turtle"})
        if response.status_code != 200:
            failures.append(f"{iri}: {response.status_code}")
            continue
        try:
            graph = rdflib.Graph().parse(data=response.data, format="turtle", publicID="http://localhost" + path)
        except Exception as error:
            failures.append(f"{iri}: not Turtle ({error}): {response.data[:200]!r}")
            continue
        term = rdflib.URIRef(iri)
        mentioned = (term, None, None) in graph or (None, None, term) in graph or (None, term, None) in graph
        if iri.endswith("/"):  # a namespace: its document defines the terms in it
            mentioned = any(str(s).startswith(iri) for s in graph.subjects())
        if not mentioned:
            failures.append(f"{iri}: its document does not mention it")
    assert failures == [], "\n".join(failures)
    # A person at a graph's IRI reads what the graph is.
    page = client.get("/graph/core", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["Location"] == "/doc/graph/core.html"
    html = client.get("/doc/graph/core.html").get_data(as_text=True)
    assert "Heritage hubs of the seed article" in html


def test_an_identifier_as_written_in_a_spreadsheet_leads_to_its_resource(client: FlaskClient, store_path: Path) -> None:
    """The import makes identifiers from slugs (ME-0001 becomes me-0001); the identifier as written redirects there."""
    from click.testing import CliRunner

    from heritage_hubs.cli import main

    museum = Path(__file__).parent.parent / "examples" / "museum"
    GraphStore(store_path).load(RdfSource.from_path(museum / "institution.ttl"),
                                graph="https://w3id.org/heritage-hubs/graph/institution/museo-esempio")
    result = CliRunner().invoke(main, ["--store", str(store_path), "import-csv", str(museum / "records.csv"), "--mapping",
                                       str(museum / "mapping.toml"), "--graph", "institution/museo-esempio"])
    assert result.exit_code == 0, result.output
    moved = client.get("/id/asset/museo-esempio-ME-0001", headers={"Accept": "text/turtle"})
    assert moved.status_code == 301 and moved.headers["Location"] == "/id/asset/museo-esempio-me-0001"
    assert client.get(moved.headers["Location"], headers={"Accept": "text/turtle"}).status_code == 303


def test_a_map_says_whose_point_it_shows_and_its_coordinates(backend_client: FlaskClient) -> None:
    """A hub has no point of its own: its page says it is shown at the place it is in, with the coordinates in text
    (what a visitor still reads when no map tile loads); a place with its own point says nothing of the kind."""
    hub = backend_client.get("/doc/hub/tabakalera", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "No point of its own: shown at" in hub and "(WGS84)" in hub and "tiles-missing" in hub
    place = backend_client.get("/doc/place/turin", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "No point of its own" not in place and "45.0" in place


def test_a_resource_page_reads_in_words(client: FlaskClient, store_path: Path) -> None:
    """Properties by their names in the visitor's language (ours from the ontology, others from our list), a founding
    with its beginning before its end, and an imported record's themes and date in their sections."""
    page = client.get("/doc/hub/polo-del-900", headers={"Accept": "text/html", "Accept-Language": "it"}).get_data(as_text=True)
    assert ">fondazione<" in page and ">dal<" in page and page.index(">dal<") < page.index(">fino al<")
    assert ">crm:P95i_was_formed_by<" not in page and ">rdfs:label<" not in page
    english = client.get("/doc/place/turin", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert ">name<" in english and "(WGS84)" in english
    # Its own point is the map and the coordinates under it, not literals in the table (the RDF still has them).
    assert ">latitude<" not in english and "POINT(" not in english
    assert "wgs84_pos#lat" in client.get("/doc/place/turin.nt").get_data(as_text=True)
    museum = Path(__file__).parent.parent / "examples" / "museum"
    GraphStore(store_path).load(RdfSource.from_path(museum / "institution.ttl"),
                                graph="https://w3id.org/heritage-hubs/graph/institution/museo-esempio")
    from click.testing import CliRunner

    from heritage_hubs.cli import main

    assert CliRunner().invoke(main, ["--store", str(store_path), "import-csv", str(museum / "records.csv"), "--mapping",
                                     str(museum / "mapping.toml"), "--graph", "institution/museo-esempio"]).exit_code == 0
    record = client.get("/doc/asset/museo-esempio-me-0001", headers={"Accept": "text/html"}).get_data(as_text=True)
    sections = {h.split("</h2>")[0]: h for h in record.split("<h2>")[1:]}
    assert "type or theme" in sections["Kinds and themes"] and "made" in sections["Place and time"]
    assert "Other statements" not in sections


def test_events_read_as_sentences_in_the_visitors_language(backend_client: FlaskClient) -> None:
    """A founding and a time span as sentences with dates as people write them, in en, it and es."""
    english = backend_client.get("/doc/hub/polo-del-900", headers={"Accept": "text/html"}).get_data(as_text=True)
    # Founders in the order of their names, on every backend.
    assert ('class="event">Founded in 2015 by <a href="http://localhost/id/institution/citta-di-torino" translate="no">'
            'City of Turin</a>, <a href="http://localhost/id/institution/compagnia-di-san-paolo"') in english
    italian = backend_client.get("/doc/hub/polo-del-900", headers={"Accept": "text/html", "Accept-Language": "it"}).get_data(as_text=True)
    assert 'class="event">Fondato nel 2015 da <a' in italian and "Città di Torino" in italian
    launch = backend_client.get("/doc/activity/ehh-launch", headers={"Accept": "text/html", "Accept-Language": "es"}).get_data(as_text=True)
    assert 'class="event">Cuándo: del 10 de mayo de 2023 al 11 de mayo de 2023.' in launch
