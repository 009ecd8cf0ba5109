"""The home page: what the dataset is, its hubs, its graphs, where to go next."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..graph.catalog import LANGUAGES, hub_summaries
from ..graph.library import named_queries
from . import get_store

blueprint = Blueprint("home", __name__)


def preferred_language() -> str:
    return request.accept_languages.best_match(LANGUAGES) or "en"


@blueprint.get("/")
def index() -> str:
    store = get_store()
    language = preferred_language()
    return render_template(
        "home.html",
        hubs=hub_summaries(store.reader(), store.namespaces, language),
        graphs=store.graphs(),
        queries=named_queries(),
        language=language,
        base_iri=store.namespaces.base,
    )
