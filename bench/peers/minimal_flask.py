"""The baseline peer: Flask + pyoxigraph with none of heritage-hubs' features.

No worker processes, no timeouts, no SERVICE check, no streaming cap: the
query runs in the request thread on a read-only store, results are
serialized in memory. Served by gunicorn like heritage-hubs, so the
difference between the two is the cost of the features.
"""

from __future__ import annotations

import os

import pyoxigraph as ox
from flask import Flask, Response, request

app = Flask(__name__)
_store: ox.Store | None = None


def store() -> ox.Store:
    global _store
    if _store is None:
        _store = ox.Store.read_only(os.environ["MINIMAL_STORE"])
    return _store


@app.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    query = request.values.get("query", "")
    result = store().query(query, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryTriples):
        return Response(result.serialize(format=ox.RdfFormat.N_TRIPLES), mimetype="application/n-triples")
    return Response(result.serialize(format=ox.QueryResultsFormat.JSON), mimetype="application/sparql-results+json")
