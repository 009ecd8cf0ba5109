"""Finding things as a visitor: search facets and paging, the map of places, the timeline and the network of hubs,
on the bundled data, on what a museum contributes, and on a generated store (pages bounded by what they show)."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from urllib.parse import quote

from flask.testing import FlaskClient
from pyoxigraph import RdfFormat

from bench.generate import write
from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.server import browse

ID = "https://w3id.org/heritage-hubs/id/"
RESULT = re.compile(r'<li><a href="([^"]+)" translate="no">([^<]+)</a>')
GRAPH = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"


def _results(page: str) -> list[tuple[str, str]]:
    return RESULT.findall(page.split('<ul class="results">', 1)[1].split("</ul>", 1)[0]) if '<ul class="results">' in page else []


def _facet(page: str, heading: str) -> dict[str, int]:
    """The options of one facet: label → count."""
    block = page.split(f"<h2>{heading}</h2>", 1)[1].split("</ul>", 1)[0]
    return {html.unescape(label): int(count) for label, count in re.findall(r">([^<]+)</(?:a|strong)> <small>\((\d+)\)</small>", block)}


def test_search_facets_narrow_the_results(backend_client: FlaskClient) -> None:
    page = backend_client.get("/search", query_string={"q": "tab"}).get_data(as_text=True)
    results = _results(page)
    assert ("/doc/hub/tabakalera", "Tabakalera") in results
    kinds, hubs, places = _facet(page, "Kind"), _facet(page, "Hub"), _facet(page, "Place")
    assert kinds["Hubs"] == 1 and kinds["Activities"] >= 3 and hubs["Tabakalera"] >= 3 and "Egia" in places
    # Narrowed to the things linked to Tabakalera: as many as the facet said, each of them linked to it.
    narrowed = backend_client.get("/search", query_string={"q": "tab", "hub": ID + "hub/tabakalera"}).get_data(as_text=True)
    assert len(_results(narrowed)) == hubs["Tabakalera"]
    assert 'class="facet-chosen">Hub: Tabakalera' in narrowed  # the chosen filter, removable
    assert 'name="hub" value="https://w3id.org/heritage-hubs/id/hub/tabakalera"' in narrowed  # kept by the search box
    only_hubs = backend_client.get("/search", query_string={"q": "tab", "kind": "hubs"}).get_data(as_text=True)
    assert _results(only_hubs) == [("/doc/hub/tabakalera", "Tabakalera")]
    assert backend_client.get("/search", query_string={"q": "tab", "kind": "spaceships"}).status_code == 400
    assert backend_client.get("/search", query_string={"q": "tab", "page": "2"}).status_code == 404
    assert backend_client.get("/search", query_string={"q": "tab", "hub": "x" * 2001}).status_code == 400


def test_search_results_are_paged(client: FlaskClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(browse, "SEARCH_PAGE", 4)
    seen = []
    number = 1
    while True:
        page = client.get("/search", query_string={"q": "tab", "page": number}).get_data(as_text=True)
        seen += _results(page)
        if 'rel="next"' not in page:
            break
        number += 1
    assert number > 2 and len(seen) == len(set(seen)) and "page 1 of" not in page


def test_the_map_lists_every_place_with_a_point_and_draws_them(backend_client: FlaskClient) -> None:
    page = backend_client.get("/map", headers={"Accept-Language": "it"}).get_data(as_text=True)
    places = re.findall(r'<a href="([^"]+)" translate="no">([^<]+)</a>', page.split("<tbody>", 1)[1])
    assert ("/doc/place/turin", "Torino") in places and ("/doc/place/egia", "Egia") in places and len(places) == 7
    points = json.loads(html.unescape(re.search(r'data-points="([^"]*)"', page)[1]))  # type: ignore[index]
    assert [45.0667, 7.7, "Torino", "/doc/place/turin"] in points and len(points) == len(places)
    assert "7 luoghi con un punto proprio" in page
    assert backend_client.get("/map", query_string={"page": "2"}).status_code == 404


def test_the_timeline_counts_years_and_lists_one(backend_client: FlaskClient) -> None:
    years = backend_client.get("/timeline").get_data(as_text=True)
    assert '<a href="?year=2015">2015</a>' in years
    year = backend_client.get("/timeline", query_string={"year": "2015"}, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert re.search(r'<span class="when">en 2015</span> <a href="/doc/hub/polo-del-900" translate="no">Fundación de Polo del &#39;900</a>', year), year
    assert backend_client.get("/timeline", query_string={"year": "20x5"}).status_code == 400
    assert backend_client.get("/timeline", query_string={"year": "1066"}).status_code == 404


def test_the_network_shows_partners_whichever_side_says_so(client: FlaskClient, museum_token: str) -> None:
    """A museum that writes only its own graph says it is a partner of a hub (hh:partnerOf): the network shows it."""
    body = f"""@prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <{ID}institution/museo-esempio> a hh:Museum ; rdfs:label "Museo <b>Esempio</b>"@it ;
            hh:institutionKind <{ID}concept/museum> ;
            hh:partnerOf <{ID}hub/tabakalera> ."""
    response = client.put(f"/graph-store?graph={quote(GRAPH, safe='')}", data=body.encode(),
                          headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {museum_token}"})
    assert response.status_code in (201, 204), response.get_data(as_text=True)
    page = client.get("/network").get_data(as_text=True)
    tabakalera = page.split('<li><a href="/doc/hub/tabakalera">', 1)[1].split("</li>", 1)[0]
    assert '<a href="/doc/institution/museo-esempio">Museo &lt;b&gt;Esempio&lt;/b&gt;</a>' in tabakalera
    assert "<b>Esempio" not in page  # escaped in the drawing too
    assert page.count("<line ") >= 18  # Polo del '900's partners, the EHH's, and the museum's line
    assert client.get("/network", query_string={"page": "2"}).status_code == 404


def test_new_pages_cost_what_they_show(client: FlaskClient, store_path: Path) -> None:
    """On a store with a few hundred generated hubs, places and activities, each page shows one page of them."""
    out = io.StringIO()
    write(300_000, out, seed=5)
    GraphStore(store_path).load(RdfSource.from_bytes(out.getvalue().encode(), RdfFormat.N_TRIPLES),
                                graph="https://w3id.org/heritage-hubs/graph/generated")
    network = client.get("/network").get_data(as_text=True)
    assert network.count('class="hub"') == browse.NETWORK_HUBS and 'rel="next"' in network
    places = client.get("/map").get_data(as_text=True)
    assert places.count('translate="no"') == browse.MAP_PAGE and 'rel="next"' in places
    assert client.get("/map", query_string={"page": "2"}).status_code == 200
    years = client.get("/timeline").get_data(as_text=True)
    counts = [int(n.replace(",", "")) for n in re.findall(r"<small>([\d,]+)</small>", years)]
    assert sum(counts) > 4_000 and len(counts) >= 30
    busy = client.get("/timeline", query_string={"year": "2000"}).get_data(as_text=True)
    assert busy.count('<span class="when">') == browse.TIMELINE_PAGE and 'rel="next"' in busy
    search = client.get("/search", query_string={"q": "asset"}).get_data(as_text=True)
    assert f"(the best {browse.SEARCH_POOL})" in search and len(_results(search)) == browse.SEARCH_PAGE
