"""The server: `serve` on an empty store seeds it and shows the hubs."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from flask.testing import FlaskClient

from heritage_hubs.config import Settings
from heritage_hubs.server import create_app

from .conftest import LiveServer


def client_for(store_path: Path) -> FlaskClient:
    return create_app(Settings(store_path=store_path)).test_client()


def test_home_lists_the_hubs(store_path: Path) -> None:
    response = client_for(store_path).get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("Polo del &#39;900", "Farm Cultural Park", "Tabakalera", "European Heritage Hub"):
        assert name in page
    assert "https://w3id.org/heritage-hubs/graph/core" in page


def test_home_speaks_the_visitors_language(store_path: Path) -> None:
    page = client_for(store_path).get("/", headers={"Accept-Language": "it;q=1, en;q=0.5"}).get_data(as_text=True)
    assert "Un centro culturale nei Quartieri Militari" in page
    page = client_for(store_path).get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Turín" in page or "Cuarteles militares" in page


def test_serve_seeds_an_empty_store(live_server: LiveServer) -> None:
    with urllib.request.urlopen(live_server.url + "/", timeout=10) as response:
        page = response.read().decode()
    assert "Tabakalera" in page and "Farm Cultural Park" in page
    assert (live_server.store_path / "CURRENT").exists()
