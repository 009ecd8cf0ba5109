"""What harvesters read: the VoID/DCAT description and the dumps."""

from __future__ import annotations

import gzip
import json

import rdflib
from flask.testing import FlaskClient
from pyoxigraph import CanonicalizationAlgorithm, Dataset, NamedNode, RdfFormat, parse

from heritage_hubs.graph import RdfSource
from heritage_hubs.graph.store import open_store

from .conftest import FIXTURES

VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


def test_void_describes_the_dataset(location_client: FlaskClient, store_location: str) -> None:
    response = location_client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.data, format="turtle")
    dataset = rdflib.URIRef("https://w3id.org/heritage-hubs/dataset")
    assert graph.value(dataset, VOID.sparqlEndpoint) == rdflib.URIRef("http://localhost/sparql")
    assert graph.value(dataset, VOID.dataDump) == rdflib.URIRef("http://localhost/dumps/all.nq.gz")
    # The statements of the data: every graph but the metadata graph, which describes them, and the entailed graph,
    # which follows from them (a subset of its own, with its own count).
    store = open_store(store_location)
    derived = {NamedNode(store.namespaces.metadata_graph), NamedNode(store.namespaces.graph("entailed"))}
    data = [q for q in store.reader().quads_for_pattern(None, None, None, None) if q.graph_name not in derived]
    assert int(graph.value(dataset, VOID.triples)) == len(data)  # type: ignore[arg-type]
    hubs = [p for p in graph.objects(dataset, VOID.classPartition)
            if graph.value(p, VOID["class"]) == rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/Hub")]
    assert len(hubs) == 1 and int(graph.value(hubs[0], VOID.entities)) == 4  # type: ignore[arg-type]
    core = rdflib.URIRef("https://w3id.org/heritage-hubs/graph/core")
    assert (dataset, VOID.subset, core) in graph
    assert graph.value(core, rdflib.URIRef("http://purl.org/dc/terms/license")) is not None
    assert graph.value(dataset, DCAT.distribution) is not None
    assert (dataset, VOID.vocabulary, rdflib.URIRef("http://www.cidoc-crm.org/cidoc-crm/")) in graph
    endpoints = {graph.value(s, DCAT.endpointURL) for s in graph.objects(dataset, DCAT.accessService)}
    assert endpoints == {rdflib.URIRef(f"http://localhost/{p}") for p in ("sparql", "fragments", "feed")}


def test_void_in_other_formats_and_for_browsers(backend_client: FlaskClient) -> None:
    assert len(rdflib.Graph().parse(data=backend_client.get("/.well-known/void", headers={"Accept": "application/ld+json"}).data,
                                    format="json-ld")) > 50
    page = backend_client.get("/.well-known/void", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and b"SPARQL endpoint" in page.data  # a page to read (see below)
    assert backend_client.get("/.well-known/void", headers={"Accept": "image/png"}).status_code == 406


def _dataset(data: bytes) -> Dataset:
    dataset = Dataset(parse(gzip.decompress(data), RdfFormat.N_QUADS))
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return dataset


def test_dump_is_the_store_and_supports_resuming(location_client: FlaskClient, store_location: str) -> None:
    index = json.loads(location_client.get("/dumps/").data)
    assert {f["url"] for f in index["files"]} >= {"http://localhost/dumps/all.nq.gz", "http://localhost/dumps/graph/core.nq.gz"}
    response = location_client.get("/dumps/all.nq.gz")
    assert response.status_code == 200
    body = response.data
    assert int(response.headers["Content-Length"]) == len(body)
    expected = Dataset(open_store(store_location).reader().quads_for_pattern(None, None, None))
    expected.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    assert _dataset(body) == expected
    etag = response.headers["ETag"]
    response.close()
    with location_client.get("/dumps/all.nq.gz", headers={"If-None-Match": etag}) as unchanged:
        assert unchanged.status_code == 304
    with location_client.get("/dumps/all.nq.gz", headers={"Range": "bytes=100-199"}) as part:
        assert part.status_code == 206 and part.data == body[100:200]


def test_dumps_follow_changes_and_per_graph_dumps_keep_their_graph(location_client: FlaskClient, store_location: str) -> None:
    with location_client.get("/dumps/all.nq.gz") as before:
        before_etag = before.headers["ETag"]
    open_store(store_location).load(RdfSource.from_path(FIXTURES / "institution.ttl"),
                                graph="https://w3id.org/heritage-hubs/graph/institution/museo-esempio")
    with location_client.get("/dumps/all.nq.gz") as after:
        assert after.headers["ETag"] != before_etag
        assert b"museo-esempio" in gzip.decompress(after.data)
    with location_client.get("/dumps/graph/institution/museo-esempio.nq.gz") as one:
        quads = list(parse(gzip.decompress(one.data), RdfFormat.N_QUADS))
    assert len(quads) == 20
    assert {q.graph_name for q in quads} == {NamedNode("https://w3id.org/heritage-hubs/graph/institution/museo-esempio")}
    assert location_client.get("/dumps/graph/metadata.nq.gz").status_code == 404
    assert location_client.get("/dumps/graph/nothing-here.nq.gz").status_code == 404


def test_the_description_satisfies_dcat_ap(backend_client: FlaskClient) -> None:
    """What DCAT-AP 3 (the profile European portals harvest) asks of the description: titles and descriptions on every
    dataset, distribution and data service, publishers as named agents (IRIs, not literals), an access URL on every
    distribution; and VoID: every graph a subset (the metadata graph too), every namespace used a vocabulary."""
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, VOID

    graph = rdflib.Graph().parse(data=backend_client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data, format="turtle")
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    distributions = set(graph.subjects(RDF.type, DCAT.Distribution))
    services = set(graph.subjects(RDF.type, DCAT.DataService))
    assert len(datasets) >= 5 and len(distributions) == len(datasets) and len(services) == 3
    for node in datasets | distributions | services:
        assert graph.value(node, DCTERMS.title) is not None, node
        assert graph.value(node, DCTERMS.description) is not None, node
    for distribution in distributions:
        assert graph.value(distribution, DCAT.accessURL) is not None and graph.value(distribution, DCAT.downloadURL) is not None
    publishers = set(graph.objects(None, DCTERMS.publisher))
    assert publishers and all(isinstance(p, rdflib.URIRef) and graph.value(p, FOAF.name) for p in publishers), publishers
    dataset = rdflib.URIRef("https://w3id.org/heritage-hubs/dataset")
    subsets = {str(s) for s in graph.objects(dataset, VOID.subset)}
    assert "https://w3id.org/heritage-hubs/graph/metadata" in subsets
    vocabularies = {str(v) for v in graph.objects(dataset, VOID.vocabulary)}
    used = {str(t) for t in (*graph.objects(None, VOID["class"]), *graph.objects(None, VOID.property))}
    for term in used:
        cut = max(term.rfind("#"), term.rfind("/")) + 1
        assert term[:cut] in vocabularies, term
    # The publisher is a resource of the dataset: it dereferences like any other.
    publisher = next(iter(publishers))
    assert backend_client.get(str(publisher).removeprefix("https://w3id.org/heritage-hubs"), headers={"Accept": "text/turtle"}).status_code == 303


def test_the_description_reads_as_a_page(backend_client: FlaskClient) -> None:
    """A browser at /.well-known/void reads figures, access points, graphs with their descriptions and dumps, and
    classes, not a dump of Turtle; machines still get RDF."""
    page = backend_client.get("/.well-known/void", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<pre>" not in page and 'href="/doc/graph/core.html"' in page and 'href="/dumps/graph/core.nq.gz"' in page
    assert "hh:Hub" in page and "SPARQL endpoint" in page and '<html lang="en">' in page
    assert backend_client.get("/.well-known/void", headers={"Accept": "text/turtle"}).mimetype == "text/turtle"


def test_the_dumps_list_reads_as_a_page(backend_client: FlaskClient) -> None:
    page = backend_client.get("/dumps/", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and b'href="http://localhost/dumps/all.nq.gz"' in page.data
    assert backend_client.get("/dumps/").mimetype == "application/json"  # programs (and */*) still get the JSON list
    assert backend_client.get("/dumps/", query_string={"format": "json"}, headers={"Accept": "text/html"}).mimetype == "application/json"
