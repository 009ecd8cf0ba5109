"""The HTTP layer: a Flask app factory and one blueprint per interface.

No SPARQL or triple handling lives here beyond what is passed through to
`heritage_hubs.graph`; each process opens the store lazily (after a fork).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from ..config import Settings
from ..graph import GraphStore


def create_app(settings: Settings | None = None, test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; settings default to the environment (see README, "Settings")."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config.from_mapping(
        HERITAGE_HUBS_SETTINGS=settings,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.from_mapping(test_config)

    from . import home

    app.register_blueprint(home.blueprint)
    return app


_STORES: dict[tuple[int, str, str], GraphStore] = {}


def get_store() -> GraphStore:
    """The store for this process (opened on first use, after any fork)."""
    settings: Settings = current_app.config["HERITAGE_HUBS_SETTINGS"]
    key = (os.getpid(), str(settings.store_path), settings.base_iri)
    store = _STORES.get(key)
    if store is None:
        store = GraphStore(settings.store_path, base_iri=settings.base_iri)
        _STORES[key] = store
    return store
