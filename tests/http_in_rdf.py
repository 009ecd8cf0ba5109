"""Reading W3C test manifests written in the HTTP-in-RDF vocabulary (the Protocol and Graph Store suites)."""

from __future__ import annotations

import rdflib
from rdflib.collection import Collection
from rdflib.term import Node

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")


def headers(graph: rdflib.Graph, node: Node) -> dict[str, str]:
    """The `ht:headers` of a request or response, names in lower case."""
    found = graph.value(node, HT.headers)
    if found is None:
        return {}
    return {str(graph.value(h, HT.fieldName)).lower(): str(graph.value(h, HT.fieldValue)) for h in Collection(graph, found)}
