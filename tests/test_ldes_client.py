"""The change feed read by a real LDES client (`ldes-client` from npm, installed by ./run): materialised, it rebuilds
exactly the store (deletions included) from `/feed` or from `/feed/view`, and a one-shot run resumed from its saved
state picks up exactly the new members — on the embedded store and in front of each SPARQL engine (where the feed is
kept in the engine, graph/remote_feed.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
import rdflib
from rdflib.compare import isomorphic

from heritage_hubs.graph.store import open_store

from .conftest import ROOT, LiveServer, http_request, start_server, stop_server
from .engines import ENGINES, rounded_graph, seed_location

LDES_CLIENT = ROOT / "node_modules" / ".bin" / "ldes-client"
BASE = "https://w3id.org/heritage-hubs/"
GRAPH = BASE + "graph/institution/museo-esempio"
PROV_TIME = rdflib.URIRef("http://www.w3.org/ns/prov#generatedAtTime")
AS_DELETE = rdflib.URIRef("https://www.w3.org/ns/activitystreams#Delete")
RECORD = """@prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/heritage-hubs/id/asset/museo-esempio-{slug}> a hh:TangibleAsset ; rdfs:label "{label}"@en ;
    hh:keptBy <https://w3id.org/heritage-hubs/id/institution/museo-esempio> .
"""

pytestmark = pytest.mark.skipif(not LDES_CLIENT.exists() and not os.environ.get("CI"),
                                reason="ldes-client is installed by ./run (npm ci)")


@dataclass
class Served:
    server: LiveServer
    token: str
    location: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(params=["embedded", *ENGINES])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """A store whose feed has pages of 40 members (the bundled data fills several), a museum token, a live server."""
    env = {"HERITAGE_HUBS_FEED_PAGE_SIZE": "40", "HERITAGE_HUBS_ENGINE_STATE": str(tmp_path / "engine-state")}
    engine = ENGINES[request.param](tmp_path) if request.param != "embedded" else None
    location = engine.location if engine is not None else str(tmp_path / "store")
    env |= engine.env if engine is not None else {}
    try:
        seed_location(location, env)
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            _, token = open_store(location).tokens().create("museo-esempio", [GRAPH])
        server = start_server(cast(Path, location), extra_env=env)
        yield Served(server, token, location, env)
        stop_server(server)
    finally:
        if engine is not None:
            engine.stop()


def _client(url: str, state: Path | None = None) -> list[rdflib.Graph]:
    """The members ldes-client emits, materialised (the version IRI replaced by its resource), in timestamp order."""
    command = [str(LDES_CLIENT), url, "--materialize", "-o", "ascending"]
    if state is not None:
        command += ["-s", str(state)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    members = []
    for block in result.stdout.split("\n\n"):
        if block.strip():
            members.append(rdflib.Graph().parse(data=block, format="turtle"))  # N-Triples with Turtle short numbers
    return members


def _apply(state: dict[rdflib.term.Node, rdflib.Graph], members: list[rdflib.Graph]) -> None:
    """A consumer's materialisation: each member replaces its resource; a member typed as:Delete removes it."""
    for member in members:
        resource = next(member.subjects(PROV_TIME, None))
        if (resource, rdflib.RDF.type, AS_DELETE) in member:
            state.pop(resource, None)
            continue
        member.remove((resource, PROV_TIME, None))
        state[resource] = member


def _union(state: dict[rdflib.term.Node, rdflib.Graph]) -> rdflib.Graph:
    """The members' statements together; WKT rounded on both sides (Virtuoso keeps geometries at single precision, the
    feed what it was given)."""
    union = rdflib.Graph()
    for graph in state.values():
        for triple in graph:
            union.add(triple)
    return rounded_graph(union)


def _store_graph(served: Served) -> rdflib.Graph:
    """Every statement the store asserts: not the provenance in the metadata graph nor the entailed graph (derived,
    which the feed does not carry)."""
    from pyoxigraph import RdfFormat, serialize

    with pytest.MonkeyPatch.context() as patch:
        for key, value in served.env.items():
            patch.setenv(key, value)
        store = open_store(served.location)
        derived = (f"<{store.namespaces.metadata_graph}>", f"<{store.namespaces.graph('entailed')}>")
        triples = [q.triple for q in store.reader().quads_for_pattern(None, None, None, None) if str(q.graph_name) not in derived]
    return rounded_graph(rdflib.Graph().parse(data=serialize(triples, format=RdfFormat.N_TRIPLES), format="nt"))


def _put(served: Served, body: str) -> None:
    status, _, answer = http_request(f"{served.url}/graph-store?graph={urllib.parse.quote(GRAPH, safe='')}", "PUT",
                                     body=body.encode(), headers={"Content-Type": "text/turtle",
                                                                  "Authorization": f"Bearer {served.token}"})
    assert status in (201, 204), answer


def test_ldes_client_rebuilds_the_store_with_deletions_and_resumes(served: Served, tmp_path: Path) -> None:
    museum = (ROOT / "examples" / "museum" / "institution.ttl").read_text()

    # 1. Materialised from /feed, the members are the store.
    state: dict[rdflib.term.Node, rdflib.Graph] = {}
    first = _client(served.url + "/feed", tmp_path / "state")
    assert len(first) > 80  # several pages of 40
    _apply(state, first)
    assert isomorphic(_union(state), _store_graph(served))

    # 2. A museum writes two records, then replaces its graph without one of them (a deletion) and with the other renamed.
    _put(served, museum + RECORD.format(slug="a", label="Flag") + RECORD.format(slug="b", label="Poster"))
    _put(served, museum + RECORD.format(slug="a", label="Brigade flag"))

    # 3. One-shot, resumed from the saved state: exactly the new members (the institution, a twice, b and its deletion).
    resumed = _client(served.url + "/feed", tmp_path / "state")
    resources = [str(next(m.subjects(PROV_TIME, None))) for m in resumed]
    assert sorted(resources) == sorted([BASE + "id/institution/museo-esempio", BASE + "id/asset/museo-esempio-a",
                                        BASE + "id/asset/museo-esempio-b", BASE + "id/asset/museo-esempio-a",
                                        BASE + "id/asset/museo-esempio-b"]), resources
    _apply(state, resumed)
    assert rdflib.URIRef(BASE + "id/asset/museo-esempio-b") not in state
    assert isomorphic(_union(state), _store_graph(served))

    # 4. A new client from the view's URL: the same store, deletions applied.
    fresh: dict[rdflib.term.Node, rdflib.Graph] = {}
    _apply(fresh, _client(served.url + "/feed/view"))
    assert isomorphic(_union(fresh), _store_graph(served))
    shutil.rmtree(tmp_path / "state", ignore_errors=True)
