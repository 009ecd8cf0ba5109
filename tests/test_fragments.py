"""Triple Pattern Fragments: matching triples, counts, Hydra controls, paging."""

from __future__ import annotations

import rdflib
from flask.testing import FlaskClient
from pyoxigraph import NamedNode, RdfFormat, parse

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
HAS_PARTNER = "https://w3id.org/heritage-hubs/ontology/hasPartner"


def test_fragment_triples_and_controls(client: FlaskClient) -> None:
    response = client.get("/fragments", query_string={"predicate": HAS_PARTNER}, headers={"Accept": "application/trig"})
    assert response.status_code == 200 and response.mimetype == "application/trig"
    quads = list(parse(response.data, RdfFormat.TRIG))
    data = [q for q in quads if q.graph_name.__class__.__name__ == "DefaultGraph"]
    assert len(data) == 17 and all(q.predicate == NamedNode(HAS_PARTNER) for q in data)
    metadata = rdflib.Graph()
    for q in quads:
        if q not in data:
            metadata.add((rdflib.URIRef(q.subject.value) if isinstance(q.subject, NamedNode) else rdflib.BNode(q.subject.value),
                          rdflib.URIRef(q.predicate.value),
                          rdflib.Literal(q.object.value) if q.object.__class__.__name__ == "Literal" else
                          (rdflib.URIRef(q.object.value) if isinstance(q.object, NamedNode) else rdflib.BNode(q.object.value))))
    assert int(next(metadata.objects(None, HYDRA.totalItems))) == 17  # type: ignore[arg-type]
    template = str(next(metadata.objects(None, HYDRA.template)))
    assert template.endswith("/fragments{?subject,predicate,object}")
    assert len(list(metadata.objects(None, HYDRA.mapping))) == 3


def test_paging_and_literals(client: FlaskClient) -> None:
    first = client.get("/fragments", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=first.data, format="turtle")
    next_page = next(graph.objects(None, HYDRA.next))
    assert str(next_page).endswith("?page=2")
    second = client.get("/fragments", query_string={"page": "2"}, headers={"Accept": "text/turtle"})
    assert list(rdflib.Graph().parse(data=second.data, format="turtle").objects(None, HYDRA.previous))
    literal = client.get("/fragments", query_string={"object": '"Tabakalera"@eu'}, headers={"Accept": "application/n-triples"})
    assert b'<https://w3id.org/heritage-hubs/id/hub/tabakalera> <http://www.w3.org/2000/01/rdf-schema#label> "Tabakalera"@eu' in literal.data


def test_bad_patterns(client: FlaskClient) -> None:
    assert client.get("/fragments", query_string={"subject": '"a literal"'}).status_code == 400
    assert client.get("/fragments", query_string={"object": '"unterminated'}).status_code == 400
    assert client.get("/fragments", query_string={"page": "0"}).status_code == 400
    assert client.get("/fragments", headers={"Accept": "image/png"}).status_code == 406
