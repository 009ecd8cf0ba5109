"""Triple Pattern Fragments: matching triples, counts, Hydra controls, paging."""

from __future__ import annotations

from pathlib import Path

import rdflib
from flask.testing import FlaskClient
from pyoxigraph import NamedNode, RdfFormat, parse

from heritage_hubs.graph import GraphStore, RdfSource

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
HAS_PARTNER = "https://w3id.org/heritage-hubs/ontology/hasPartner"


def test_fragment_triples_and_controls(backend_client: FlaskClient) -> None:
    response = backend_client.get("/fragments", query_string={"predicate": HAS_PARTNER}, headers={"Accept": "application/trig"})
    assert response.status_code == 200 and response.mimetype == "application/trig"
    quads = list(parse(response.data, RdfFormat.TRIG))
    data = [q for q in quads if q.graph_name.__class__.__name__ == "DefaultGraph"]
    assert len(data) == 23 and all(q.predicate == NamedNode(HAS_PARTNER) for q in data)  # 17, and Tabakalera's 6
    metadata = rdflib.Graph()
    for q in quads:
        if q not in data:
            metadata.add((rdflib.URIRef(q.subject.value) if isinstance(q.subject, NamedNode) else rdflib.BNode(q.subject.value),
                          rdflib.URIRef(q.predicate.value),
                          rdflib.Literal(q.object.value) if q.object.__class__.__name__ == "Literal" else
                          (rdflib.URIRef(q.object.value) if isinstance(q.object, NamedNode) else rdflib.BNode(q.object.value))))
    assert int(next(metadata.objects(None, HYDRA.totalItems))) == 23  # type: ignore[arg-type]
    template = str(next(metadata.objects(None, HYDRA.template)))
    assert template.endswith("/fragments{?subject,predicate,object}")
    assert len(list(metadata.objects(None, HYDRA.mapping))) == 3


def test_paging_and_literals(backend_client: FlaskClient) -> None:
    first = backend_client.get("/fragments", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=first.data, format="turtle")
    next_page = next(graph.objects(None, HYDRA.next))
    assert str(next_page).endswith("?page=2")
    second = backend_client.get("/fragments", query_string={"page": "2"}, headers={"Accept": "text/turtle"})
    assert list(rdflib.Graph().parse(data=second.data, format="turtle").objects(None, HYDRA.previous))
    literal = backend_client.get("/fragments", query_string={"object": '"Tabakalera"@eu'}, headers={"Accept": "application/n-triples"})
    assert b'<https://w3id.org/heritage-hubs/id/hub/tabakalera> <http://www.w3.org/2000/01/rdf-schema#label> "Tabakalera"@eu' in literal.data


def test_bad_patterns(backend_client: FlaskClient) -> None:
    assert backend_client.get("/fragments", query_string={"subject": '"a literal"'}).status_code == 400
    assert backend_client.get("/fragments", query_string={"object": '"unterminated'}).status_code == 400
    assert backend_client.get("/fragments", query_string={"page": "0"}).status_code == 400
    assert backend_client.get("/fragments", headers={"Accept": "image/png"}).status_code == 406


def test_browsers_get_a_page_with_the_pattern_as_a_form(client: FlaskClient, store_path: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.ttl"
    hostile.write_text('<https://w3id.org/heritage-hubs/id/person/x> a <https://w3id.org/heritage-hubs/ontology/Person> ; '
                       '<http://www.w3.org/2000/01/rdf-schema#label> "<script>alert(1)</script>"@en .')
    GraphStore(store_path).load(RdfSource.from_path(hostile), graph="https://w3id.org/heritage-hubs/graph/institution/x")
    page = client.get("/fragments", query_string={"subject": "https://w3id.org/heritage-hubs/id/person/x"},
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.mimetype == "text/html" and "Accept" in page.headers["Vary"]
    text = page.get_data(as_text=True)
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # Its two statements and the CRM class the entailed graph adds (fragments read the union default graph, as /sparql).
    assert 'value="https://w3id.org/heritage-hubs/id/person/x"' in text and "3 matching triples" in text and "E21_Person" in text
    assert 'href="http://localhost/id/person/x"' in text and 'type="text/turtle"' in text
    # A `format` still gives RDF to a browser.
    assert client.get("/fragments?format=ttl", headers={"Accept": "text/html"}).mimetype == "text/turtle"


def test_counts_without_subject_or_object_come_from_the_statistics_and_paging_reaches_every_triple(
        client: FlaskClient, store_path: Path) -> None:
    """The whole-store pattern is not counted per request; its estimate is never below the real count."""
    from heritage_hubs.server.fragments import genid_prefix, skolemised

    store = GraphStore(store_path)
    genid = genid_prefix(store.namespaces.base)  # blank nodes come back as skolem IRIs
    distinct = {skolemised(q.triple, genid) for q in store.reader().quads_for_pattern(None, None, None, None)}
    seen: set[object] = set()
    page = 1
    while True:
        response = client.get("/fragments", query_string={"page": page}, headers={"Accept": "application/n-triples"})
        assert response.status_code == 200
        seen.update(q.triple for q in parse(response.data, RdfFormat.N_TRIPLES))
        graph = rdflib.Graph().parse(data=client.get("/fragments", query_string={"page": page},
                                                      headers={"Accept": "text/turtle"}).data, format="turtle")
        total = int(next(graph.objects(None, HYDRA.totalItems)))  # type: ignore[arg-type]
        if next(graph.objects(None, HYDRA.next), None) is None:
            break
        page += 1
    assert total >= len(distinct)
    assert distinct <= seen
