"""Real clients against a live server: SPARQLWrapper, rdflib's SPARQLStore, Comunica, YASGUI in Chromium — on the
embedded store and in front of each SPARQL engine (tests/engines.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper

from .conftest import ROOT, LiveServer, start_server, stop_server

PREFIXES = "PREFIX hh: <https://w3id.org/heritage-hubs/ontology/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
HUB = "https://w3id.org/heritage-hubs/id/hub/tabakalera"
COMUNICA = ROOT / "node_modules" / ".bin" / "comunica-sparql"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def server(backend_location: tuple[str, dict[str, str], str]) -> Iterator[LiveServer]:
    """The service on the embedded store and in front of each SPARQL engine (conftest's `backend_location`): every
    client below runs against each."""
    location, env, _ = backend_location
    # No map tiles: this machine reaches no tile server, and a failed tile is a console error.
    found = start_server(cast(Path, location), extra_env={**env, "HERITAGE_HUBS_TILES_URL": ""})
    yield found
    stop_server(found)


class TestSPARQLWrapper:
    def test_select(self, server: LiveServer) -> None:
        client = SPARQLWrapper(server.url + "/sparql")
        client.setQuery(PREFIXES + "SELECT ?hub WHERE { ?hub a hh:Hub } ORDER BY ?hub")
        client.setReturnFormat(JSON)
        rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
        assert len(rows) == 4 and rows[-1]["hub"]["value"] == HUB

    def test_ask(self, server: LiveServer) -> None:
        client = SPARQLWrapper(server.url + "/sparql")
        client.setQuery(PREFIXES + f"ASK {{ <{HUB}> a hh:Hub }}")
        client.setReturnFormat(JSON)
        assert client.queryAndConvert()["boolean"] is True  # type: ignore[index]

    def test_construct(self, server: LiveServer) -> None:
        client = SPARQLWrapper(server.url + "/sparql")
        client.setQuery(f"CONSTRUCT WHERE {{ <{HUB}> ?p ?o }}")
        client.setReturnFormat(TURTLE)
        graph = rdflib.Graph().parse(data=client.queryAndConvert(), format="turtle")  # type: ignore[arg-type]
        assert (rdflib.URIRef(HUB), rdflib.RDF.type, rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/Hub")) in graph

    def test_post(self, server: LiveServer) -> None:
        client = SPARQLWrapper(server.url + "/sparql")
        client.setMethod("POST")
        client.setQuery(PREFIXES + "SELECT (COUNT(*) AS ?n) WHERE { ?s a hh:Narrative }")
        client.setReturnFormat(JSON)
        rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
        assert int(rows[0]["n"]["value"]) >= 4


_FORMS = {
    "SELECT": PREFIXES + f"SELECT ?hub ?label WHERE {{ ?hub a hh:Hub ; rdfs:label ?label FILTER(?hub = <{HUB}>) }}",
    "ASK": PREFIXES + f"ASK {{ <{HUB}> a hh:Hub }}",
    "CONSTRUCT": f"CONSTRUCT {{ <{HUB}> ?p ?o }} WHERE {{ <{HUB}> ?p ?o }}",
    "DESCRIBE": f"DESCRIBE <{HUB}>",
}
_RETURN_FORMATS = ["xml", "json", "turtle", "n3", "rdf", "rdf+xml", "csv", "tsv", "json-ld"]
_RDF_PARSERS = {"text/turtle": "turtle", "application/n-triples": "nt", "text/plain": "nt", "application/ld+json": "json-ld",
                "application/rdf+xml": "xml", "text/n3": "n3", "application/n-quads": "nquads", "application/trig": "trig"}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("return_format", _RETURN_FORMATS)
@pytest.mark.parametrize("form", list(_FORMS))
def test_sparqlwrapper_every_return_format_and_query_form(server: LiveServer, form: str, return_format: str, method: str) -> None:
    """SPARQLWrapper's defaults send `format=` (and `output=`, `results=`) beside a correct Accept header: whatever
    it asks for, every query form gets an answer it can convert, holding the right data."""
    import warnings
    from xml.dom.minidom import Document

    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(_FORMS[form])
    client.setReturnFormat(return_format)
    client.setMethod(method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SPARQLWrapper warns when it asks a SELECT for Turtle: its own choice
        result = client.query()
        content_type = result.info().get("content-type", "").split(";")[0].strip()
        converted = result.convert()
    if isinstance(converted, rdflib.Graph):
        text = converted.serialize(format="nt")
    elif isinstance(converted, Document):
        text = converted.toxml()
    elif isinstance(converted, bytes):
        text = converted.decode()
    elif isinstance(converted, dict | list):
        text = json.dumps(converted)
    else:
        text = str(converted)
    if form == "ASK":
        assert "true" in text.lower(), text[:300]
    elif form == "SELECT":
        assert HUB in text, text[:300]
    else:  # a graph: parsed as the RDF it says it is (engines abbreviate IRIs their own ways)
        graph = converted if isinstance(converted, rdflib.Graph) else rdflib.Graph().parse(
            data=text, format=_RDF_PARSERS[content_type])
        assert (rdflib.URIRef(HUB), rdflib.RDF.type, rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/Hub")) in graph
        assert any("Tabakalera" in str(o) for o in graph.objects(rdflib.URIRef(HUB), rdflib.RDFS.label)), text[:300]


class TestRdflibSPARQLStore:
    def test_select_ask_construct(self, server: LiveServer) -> None:
        store = SPARQLStore(server.url + "/sparql", returnFormat="json")
        graph = rdflib.Graph(store=store)
        labels = {str(row[0]) for row in graph.query(PREFIXES + f'SELECT ?l WHERE {{ <{HUB}> rdfs:label ?l FILTER(lang(?l) = "eu") }}')}
        assert labels == {"Tabakalera"}
        assert graph.query(PREFIXES + f"ASK {{ <{HUB}> hh:basedIn ?p }}").askAnswer is True
        constructed = graph.query(f"CONSTRUCT {{ <{HUB}> ?p ?o }} WHERE {{ <{HUB}> ?p ?o }}").graph
        assert constructed is not None and len(constructed) > 10
        store.close()


@pytest.mark.skipif(not COMUNICA.exists() and not os.environ.get("CI"), reason="Comunica is installed by ./run (npm ci)")
class TestComunica:
    def run(self, server: LiveServer, query: str, media_type: str) -> str:
        result = subprocess.run([str(COMUNICA), f"sparql@{server.url}/sparql", "-q", query, "-t", media_type],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def test_select(self, server: LiveServer) -> None:
        out = self.run(server, PREFIXES + "SELECT ?hub WHERE { ?hub a hh:Hub }", "application/sparql-results+json")
        hubs = {row["hub"]["value"] for row in json.loads(out)["results"]["bindings"]}
        assert len(hubs) == 4 and HUB in hubs

    def test_ask(self, server: LiveServer) -> None:
        out = self.run(server, PREFIXES + f"ASK {{ <{HUB}> a hh:Hub }}", "application/sparql-results+json")
        assert json.loads(out)["boolean"] is True

    def test_construct(self, server: LiveServer) -> None:
        out = self.run(server, f"CONSTRUCT {{ <{HUB}> ?p ?o }} WHERE {{ <{HUB}> ?p ?o }}", "application/n-triples")
        graph = rdflib.Graph().parse(data=out, format="nt")
        assert len(graph) > 10


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium (installed by ./run)")
def test_yasgui_runs_a_query_in_chromium(server: LiveServer, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        page = browser.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/sparql", wait_until="networkidle")
        page.wait_for_function("window.heritageHubsEditor !== undefined")
        query = PREFIXES + "SELECT ?hub ?label WHERE { ?hub a hh:Hub ; rdfs:label ?label FILTER(lang(?label) = 'en') }"
        page.evaluate("q => window.heritageHubsEditor.getTab().setQuery(q)", query)
        page.evaluate("() => window.heritageHubsEditor.getTab().query()")
        page.wait_for_selector("text=Farm Cultural Park", timeout=30_000)
        assert page.locator("text=European Heritage Hub").count() >= 1
        page.screenshot(path=str(tmp_path / "yasgui.png"), full_page=True)
        browser.close()
    assert (tmp_path / "yasgui.png").stat().st_size > 10_000
    assert errors == []


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium (installed by ./run)")
def test_pages_in_chromium(server: LiveServer, tmp_path: Path) -> None:
    """The home page and a resource page: they load, have no console errors, and their links resolve."""
    import urllib.request

    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(server.url + "/", wait_until="networkidle")
        assert page.locator("h3", has_text="Tabakalera").count() == 1
        page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
        page.goto(server.url + "/id/hub/tabakalera", wait_until="networkidle")
        assert page.url.endswith("/doc/hub/tabakalera.html")
        assert page.locator("h1").inner_text() == "Tabakalera"
        page.wait_for_selector(".leaflet-interactive")  # the map drew its marker
        assert page.locator(".tiles-missing").is_visible()  # no tiles here: the page says so, the point is in text
        links = {a for a in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)") if a.startswith(server.url)}
        page.screenshot(path=str(tmp_path / "tabakalera.png"), full_page=True)
        # A stacked table cell says which column it is (widths, languages and axe-core: test_pages_in_browsers.py).
        page.goto(server.url + "/doc/hub/tabakalera", wait_until="networkidle")
        label = page.evaluate("getComputedStyle(document.querySelector('td[data-label]'), '::before').content")
        assert "Property" in label or "Value" in label, label
        browser.close()
    assert errors == []
    assert len(links) > 10
    for link in sorted(links):
        request = urllib.request.Request(link, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200, link
    assert (tmp_path / "home.png").stat().st_size > 10_000


@pytest.mark.skipif(not COMUNICA.exists() and not os.environ.get("CI"), reason="Comunica is installed by ./run (npm ci)")
def test_comunica_joins_over_triple_pattern_fragments(server: LiveServer) -> None:
    query = (PREFIXES + "SELECT ?hubLabel ?partnerLabel WHERE { ?hub hh:hasPartner ?partner ; rdfs:label ?hubLabel . "
             "?partner rdfs:label ?partnerLabel . FILTER(lang(?hubLabel) = 'en' && lang(?partnerLabel) = 'en') }")
    result = subprocess.run([str(COMUNICA), f"{server.url}/fragments", "-q", query, "-t", "application/sparql-results+json"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    over_fragments = {(b["hubLabel"]["value"], b["partnerLabel"]["value"]) for b in json.loads(result.stdout)["results"]["bindings"]}
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    expected = {(b["hubLabel"]["value"], b["partnerLabel"]["value"])
                for b in client.queryAndConvert()["results"]["bindings"]}  # type: ignore[index]
    assert over_fragments == expected
    assert ("Tabakalera", "Basque Government") not in expected  # owners are not partners
    assert ("European Heritage Hub", "Europa Nostra") in expected


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium (installed by ./run)")
def test_the_content_security_policy_holds_in_chromium(seeded_template: Path, tmp_path: Path) -> None:
    """Every kind of page works under its CSP with no violation, and the policy blocks what an attacker would add:
    data holding markup and a javascript: IRI shows as text, and an inline script is refused by the browser."""
    import shutil

    from playwright.sync_api import sync_playwright

    from heritage_hubs.graph import GraphStore
    from heritage_hubs.graph.tokens import TokenStore

    from .conftest import http_request

    store = tmp_path / "store"
    shutil.copytree(seeded_template, store)
    graph = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
    _, token = TokenStore(GraphStore(store).directory).create("museo-esempio", [graph])
    hostile = (ROOT / "examples" / "museum" / "institution.ttl").read_text() + """
<https://w3id.org/heritage-hubs/id/institution/museo-esempio>
    <http://purl.org/dc/terms/source> <javascript:alert(document.domain)> ;
    <http://www.w3.org/2000/01/rdf-schema#comment> "<script>alert(1)</script><img src=x onerror=alert(2)>"@en .
"""
    served = start_server(store, extra_env={"HERITAGE_HUBS_TILES_URL": ""})
    try:
        status, _, body = http_request(f"{served.url}/graph-store?graph={graph}", "PUT", body=hostile.encode(),
                                       headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"})
        assert status in (201, 204), body
        pages = ["/", "/hubs", "/sparql", "/doc/hub/tabakalera", "/doc/institution/museo-esempio", "/fragments",
                 "/feed/view", "/ontology", "/api/docs", "/dumps/", "/nowhere", "/.well-known/void", "/search?q=tab",
                 "/browse/institutions", "/doc/graph/core"]
        errors: list[str] = []
        dialogs: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
            page = browser.new_page()
            page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation', "
                                 "e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            for path in pages:
                response = page.goto(served.url + path, wait_until="networkidle")
                assert response is not None
                if not response.headers.get("content-type", "").startswith("text/html"):
                    assert response.headers.get("x-content-type-options") == "nosniff", path
                    continue
                policy = response.headers.get("content-security-policy", "")
                assert "script-src 'self'" in policy and "object-src 'none'" in policy, (path, policy)
                assert response.headers.get("x-frame-options") == "DENY", path
                assert page.evaluate("window.__violations") == [], (path, page.evaluate("window.__violations"))
            # The museum's page: the hostile literal is text, the javascript: IRI is not a link.
            page.goto(served.url + "/doc/institution/museo-esempio", wait_until="networkidle")
            assert page.locator("a[href^='javascript']").count() == 0
            assert page.get_by_text("<script>alert(1)</script>", exact=False).count() >= 1
            # What an injected inline script would do: the browser refuses it under this policy.
            page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; "
                          "document.body.appendChild(s); }")
            page.wait_for_timeout(200)
            assert page.evaluate("window.__ran") is None
            assert any(v.startswith("script-src") for v in page.evaluate("window.__violations"))
            browser.close()
        assert dialogs == [] and errors == [], (dialogs, errors)
    finally:
        stop_server(served)


_BLANK_RECORD = """
@prefix hh: <https://w3id.org/heritage-hubs/ontology/> .
@prefix crm: <http://www.cidoc-crm.org/cidoc-crm/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/heritage-hubs/id/asset/museo-esempio-bn1> a hh:TangibleAsset ;
    rdfs:label "Printed leaflet"@en ;
    hh:keptBy <https://w3id.org/heritage-hubs/id/institution/museo-esempio> ;
    crm:P108i_was_produced_by [ a crm:E12_Production ;
        crm:P4_has_time-span [ a crm:E52_Time-Span ;
            crm:P82a_begin_of_the_begin "1945-04-25T00:00:00Z"^^xsd:dateTime ;
            crm:P82b_end_of_the_end "1945-04-25T23:59:59Z"^^xsd:dateTime ] ] .
"""


@pytest.mark.skipif(not COMUNICA.exists() and not os.environ.get("CI"), reason="Comunica is installed by ./run (npm ci)")
def test_comunica_over_fragments_follows_every_blank_node_path(seeded_template: Path, tmp_path: Path) -> None:
    """Every path through blank nodes in the data (the bundled hubs' formations and time-spans, and an imported
    museum's production events), found by SPARQL and asked of Comunica over /fragments: the same answers."""
    import shutil
    import urllib.parse

    from heritage_hubs.graph import GraphStore
    from heritage_hubs.graph.tokens import TokenStore

    from .conftest import http_request

    store = tmp_path / "store"
    shutil.copytree(seeded_template, store)
    graph = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
    _, token = TokenStore(GraphStore(store).directory).create("museo-esempio", [graph])
    served = start_server(store)
    try:
        body = ((ROOT / "examples" / "museum" / "institution.ttl").read_text() + _BLANK_RECORD).encode()
        status, _, answer = http_request(f"{served.url}/graph-store?graph={urllib.parse.quote(graph, safe='')}", "PUT", body=body,
                                         headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"})
        assert status in (201, 204), answer

        def sparql(query: str) -> list[dict[str, dict[str, str]]]:
            status, _, data = http_request(f"{served.url}/sparql?" + urllib.parse.urlencode({"query": query}),
                                           headers={"Accept": "application/sparql-results+json"})
            assert status == 200, data
            return list(json.loads(data)["results"]["bindings"])

        data_graphs = '!CONTAINS(STR(?g), "/graph/shapes") && !CONTAINS(STR(?g), "/graph/ontology")'
        paths = [(r["p1"]["value"], r["p2"]["value"]) for r in sparql(
            f"SELECT DISTINCT ?p1 ?p2 WHERE {{ GRAPH ?g {{ ?s ?p1 ?b . ?b ?p2 ?o }} "
            f"FILTER(isBlank(?b) && !isBlank(?s) && !isBlank(?o) && {data_graphs}) }}")]
        paths += [(r["p1"]["value"], r["p2"]["value"], r["p3"]["value"]) for r in sparql(
            f"SELECT DISTINCT ?p1 ?p2 ?p3 WHERE {{ GRAPH ?g {{ ?s ?p1 ?b . ?b ?p2 ?c . ?c ?p3 ?o }} "
            f"FILTER(isBlank(?b) && isBlank(?c) && !isBlank(?s) && !isBlank(?o) && {data_graphs}) }}")]
        assert any("P108i_was_produced_by" in p[0] for p in paths) and any("P95i_was_formed_by" in p[0] for p in paths)
        branches = []
        for index, path in enumerate(paths):
            hops = [f"?s <{path[0]}> ?b{index}_0"] + [f"?b{index}_{n - 1} <{p}> ?b{index}_{n}" for n, p in enumerate(path[1:-1], 1)]
            hops.append(f"?b{index}_{len(path) - 2} <{path[-1]}> ?o")
            branches.append("{ " + " . ".join(hops) + f' BIND("{index}" AS ?path) }}')
        query = "SELECT ?path ?s ?o WHERE { " + " UNION ".join(branches) + " }"
        # Paths between things that are not blank themselves (a path starting inside a formation is another path's tail).
        expected = {(r["path"]["value"], r["s"]["value"], r["o"]["value"]) for r in sparql(query)
                    if r["s"]["type"] != "bnode" and r["o"]["type"] != "bnode"}
        result = subprocess.run([str(COMUNICA), f"{served.url}/fragments", "-q", query, "-t", "application/sparql-results+json"],
                                capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        genid = "https://w3id.org/heritage-hubs/.well-known/genid/"
        found = {(b["path"]["value"], b["s"]["value"], b["o"]["value"]) for b in json.loads(result.stdout)["results"]["bindings"]
                 if not b["s"]["value"].startswith(genid) and not b["o"]["value"].startswith(genid)}
        assert len(expected) >= 10
        assert found == expected
        # A skolem IRI from a fragment dereferences to the statements about it.
        status, _, page = http_request(f"{served.url}/fragments?" + urllib.parse.urlencode(
            {"subject": "https://w3id.org/heritage-hubs/id/hub/tabakalera", "predicate": "http://www.cidoc-crm.org/cidoc-crm/P95i_was_formed_by"}),
            headers={"Accept": "application/n-triples"})
        skolem = next(line.split()[2].strip("<>") for line in page.decode().splitlines() if "P95i_was_formed_by" in line)
        assert skolem.startswith(genid)
        status, _, data = http_request(served.url + skolem[len("https://w3id.org/heritage-hubs"):],
                                             headers={"Accept": "application/n-triples"})
        assert status == 200 and "E66_Formation" in data.decode(), data[:300]
    finally:
        stop_server(served)
