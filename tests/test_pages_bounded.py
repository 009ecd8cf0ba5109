"""Pages cost what they show: the home page and the list of hubs are paged from the label index."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from pyoxigraph import RdfFormat

from bench.generate import write
from heritage_hubs.graph import RdfSource
from heritage_hubs.graph.labels import fold
from heritage_hubs.graph.store import open_store
from heritage_hubs.server import home

CARD = re.compile(r'<li class="card">\s*<h3><a href="([^"]+)" translate="no">([^<]+)</a>')


def _more_hubs(location: str) -> int:
    """About 30 generated hubs beside the 4 bundled ones; returns how many hubs there are."""
    out = io.StringIO()
    write(40_000, out, seed=3)
    store = open_store(location)
    store.load(RdfSource.from_bytes(out.getvalue().encode(), RdfFormat.N_TRIPLES), graph="https://w3id.org/heritage-hubs/graph/generated")
    rows = store.query("SELECT (COUNT(DISTINCT ?h) AS ?n) WHERE { ?h a <https://w3id.org/heritage-hubs/ontology/Hub> }")
    return int(next(iter(rows))["n"].value)  # type: ignore[index, union-attr]


def test_home_shows_a_bounded_number_of_hubs_in_label_order(location_client: FlaskClient, store_location: str) -> None:
    total = _more_hubs(store_location)
    assert total > home.HOME_HUBS
    page = location_client.get("/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    cards = CARD.findall(page)
    assert len(cards) == home.HOME_HUBS
    labels = [label for _, label in cards]
    assert labels == sorted(labels, key=fold)
    assert f"Tutti gli hub ({total})" in page
    assert "Polo " in page  # the generated hubs' Italian labels


def test_the_list_of_hubs_pages_through_every_hub(location_client: FlaskClient, store_location: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    total = _more_hubs(store_location)
    monkeypatch.setattr(home, "HUBS_PER_PAGE", 10)
    seen: list[str] = []
    page = 1
    while True:
        response = location_client.get(f"/hubs?page={page}")
        assert response.status_code == 200
        cards = CARD.findall(response.get_data(as_text=True))
        seen += [href for href, _ in cards]
        if 'rel="next"' not in response.get_data(as_text=True):
            break
        page += 1
    assert len(seen) == len(set(seen)) == total
    assert page == (total + 9) // 10
    assert "/hub/tabakalera" in " ".join(seen)
    for bad in ("0", "x", "-1", "99999999999"):
        assert location_client.get(f"/hubs?page={bad}").status_code == 400


def test_a_new_hub_appears_after_the_write_that_adds_it(location_client: FlaskClient, store_location: str) -> None:
    before = location_client.get("/hubs").get_data(as_text=True)
    assert "Zz Last Hub" not in before
    open_store(store_location).load(RdfSource.from_bytes(b"""
        @prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://w3id.org/heritage-hubs/id/hub/zz> a hh:Hub ; rdfs:label "Zz Last Hub"@en ;
            hh:hubType <https://w3id.org/heritage-hubs/id/concept/community-space> .""", RdfFormat.TURTLE),
        graph="https://w3id.org/heritage-hubs/graph/extra")
    after = CARD.findall(location_client.get("/hubs").get_data(as_text=True))
    assert after[-1] == ("/id/hub/zz", "Zz Last Hub")


def test_visitors_find_things_by_name_and_browse_them(location_client: FlaskClient, location_museum_token: str) -> None:
    """A search box and lists by kind: names in any language and alternative names are found, the page escapes what
    it shows, and lists page like /hubs."""
    found = location_client.get("/search", query_string={"q": "tabakal"}).get_data(as_text=True)  # an unfinished word
    assert 'href="/doc/hub/tabakalera"' in found and "Hub" in found
    assert 'href="/doc/institution/istoreto"' in location_client.get("/search", query_string={"q": "ISTORETO"}).get_data(as_text=True)
    hostile = location_client.get("/search", query_string={"q": "<script>alert(1)</script>"})
    assert hostile.status_code == 200 and "<script>alert" not in hostile.get_data(as_text=True)
    assert location_client.get("/search", query_string={"q": "x" * 201}).status_code == 400
    assert 'action="/search"' in location_client.get("/hubs").get_data(as_text=True)  # the box in every header
    institutions = location_client.get("/browse/institutions").get_data(as_text=True)
    assert 'href="/doc/institution/istoreto"' in institutions and "page 1 of 1" in institutions
    assert location_client.get("/browse/assets").status_code == 200
    assert location_client.get("/browse/nothing").status_code == 404
    assert location_client.get("/browse/places", query_string={"page": "99"}).status_code == 404
    assert location_client.get("/browse/places", query_string={"page": "x"}).status_code == 400
