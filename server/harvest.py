"""What harvesters read: the VoID/DCAT description and the dumps.

`/.well-known/void` describes the dataset (statistics and partitions are
kept per store generation, advanced by each write: graph/statistics.py). `/dumps/all.nq.gz` and
`/dumps/graph/{name}.nq.gz` are gzipped N-Quads made once per generation and
served from disk with `Content-Length`, an `ETag` and byte ranges, so a
harvester can skip an unchanged dump or resume a broken download.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, send_file
from pyoxigraph import Literal, NamedNode

from ..graph.authorities import AUTHORITIES
from ..graph.iris import prefixed_name
from ..graph.provenance import GraphInfo
from ..graph.statistics import Statistics
from ..graph.void import DumpFiles, count_links, describe_dataset, serialize_description
from . import resources
from .errors import NotFound
from .negotiation import bare, requested_rdf, wants_html

blueprint = Blueprint("harvest", __name__)

VOCABULARIES = ("http://www.cidoc-crm.org/cidoc-crm/", "http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/",
                "http://www.w3.org/2003/01/geo/wgs84_pos#", "http://xmlns.com/foaf/0.1/")


@blueprint.get("/dataset")
def dataset() -> Response:
    """The dataset's IRI ({base}dataset): 303 to its description."""
    query = urllib.parse.urlencode({"format": request.args["format"]}) if "format" in request.args else ""
    response = Response(status=303, headers={"Location": "/.well-known/void" + ("?" + query if query else "")})
    response.vary.add("Accept")
    return response


@blueprint.get("/.well-known/void")
def void() -> Response:
    store = resources().store
    server = request.host_url.rstrip("/")
    reader = store.reader()

    def name_of(iri: str) -> str | None:
        """An agent's name: foaf:name or a label, when the store knows it."""
        for prop in ("http://xmlns.com/foaf/0.1/name", "http://www.w3.org/2000/01/rdf-schema#label"):
            for quad in reader.quads_for_pattern(NamedNode(iri), NamedNode(prop), None, None):
                if isinstance(quad.object, Literal):
                    return quad.object.value
        return None

    stats, graphs, links = store.dataset_statistics(), store.graphs(), count_links(reader, store.namespaces.metadata_graph)
    triples = describe_dataset(base=store.namespaces.base, server=server, stats=stats, graphs=graphs,
                               vocabularies=[store.namespaces.ontology, *VOCABULARIES], names=name_of,
                               metadata_graph=store.namespaces.metadata_graph, links=links)
    prefixes = {**store.namespaces.prefixes(), "void": "http://rdfs.org/ns/void#", "dcat": "http://www.w3.org/ns/dcat#"}
    if wants_html(request.accept_mimetypes):
        response = Response(_void_page(triples, prefixes, stats, graphs, links), mimetype="text/html")
    else:
        fmt = requested_rdf("the description is RDF: ")
        response = Response(serialize_description(triples, fmt, prefixes), content_type=f"{bare(fmt.media_type)}; charset=utf-8")
    response.vary.add("Accept")
    response.set_etag(f"void-{store.generation}", weak=True)
    response.make_conditional(request)
    return response


def _void_page(triples: list[Any], prefixes: dict[str, str], stats: Statistics, graph_infos: list[GraphInfo],
               link_counts: dict[tuple[str, str], int]) -> str:
    """The description as a page to read: figures, access, graphs, links to authorities, classes, vocabularies (from
    what the RDF description was made of)."""
    store = resources().store
    void_ns, dct = "http://rdfs.org/ns/void#", "http://purl.org/dc/terms/"
    description = next((str(t.object.value) for t in triples
                        if t.subject.value == store.namespaces.base + "dataset" and t.predicate.value == dct + "description"), "")

    def curie(iri: str) -> str:
        return prefixed_name(iri, prefixes) or iri

    graphs = [{"name": g.iri.rsplit("/graph/", 1)[-1], "title": g.title, "triples": g.triples, "modified": g.modified}
              for g in graph_infos]
    links = [{"authority": AUTHORITIES[key].name, "property": curie(prop), "count": count}
             for (key, prop), count in sorted(link_counts.items())]
    classes = sorted(((iri, curie(iri), n) for iri, n in stats.classes.items()), key=lambda c: (-c[2], c[1]))
    vocabularies = sorted({str(t.object.value) for t in triples if t.predicate.value == void_ns + "vocabulary"})
    return render_template("void.html", description=description, stats=stats, graphs=graphs, links=links, classes=classes,
                           vocabularies=vocabularies)


@blueprint.get("/dumps/")
def dumps_index() -> Response:
    store = resources().store
    server = request.host_url.rstrip("/")
    files: list[dict[str, Any]] = [{"url": f"{server}/dumps/all.nq.gz", "graph": None, "triples": store.dataset_statistics().triples}]
    for info in store.graphs():
        name = store.namespaces.graph_name(info.iri)
        if name is not None and info.iri != store.namespaces.metadata_graph:
            files.append({"url": f"{server}/dumps/graph/{name}.nq.gz", "graph": info.iri, "triples": info.triples})
    if wants_html(request.accept_mimetypes) and request.args.get("format") != "json":
        response = Response(render_template("dumps.html", files=files, generation=store.generation), mimetype="text/html")
    else:
        response = Response(json.dumps({"generation": store.generation, "format": "application/n-quads (gzip)", "files": files},
                                       indent=1), mimetype="application/json")
    response.vary.add("Accept")
    return response


def _send(graph: str | None, name: str) -> Response:
    store = resources().store
    generation = store.generation
    path = DumpFiles(store.path).path(store, generation, graph, name)
    response = send_file(path, mimetype="application/gzip", conditional=True, etag=f"{generation}-{name}",
                         download_name=name.rsplit("/", 1)[-1], max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    # The dump is the data as published: it was last modified when its generation was (not when the file was written,
    # which can be later than the Date of the answer).
    response.last_modified = datetime.fromtimestamp((store.path / "CURRENT").stat().st_mtime, UTC)
    return response


@blueprint.get("/dumps/all.nq.gz")
def dump_all() -> Response:
    return _send(None, "all.nq.gz")


@blueprint.get("/dumps/graph/<path:name>.nq.gz")
def dump_graph(name: str) -> Response:
    store = resources().store
    try:
        iri = store.namespaces.graph(name)
    except ValueError:
        raise NotFound(f"no graph named {name!r}") from None
    if iri == store.namespaces.metadata_graph or iri not in {g.iri for g in store.graphs()}:
        raise NotFound(f"no graph named {name!r}; /dumps/ lists the dumps")
    return _send(iri, f"graph/{name}.nq.gz")
