"""The SPARQL 1.1 Service Description of the endpoint, as RDF triples."""

from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from .provenance import GraphInfo

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
VOID = "http://rdfs.org/ns/void#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")

RESULT_FORMATS = (
    "SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
    "Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG", "N-Quads",
)


def service_description(endpoint: str, graphs: list[GraphInfo], *, title: str, license_iri: str | None,
                        update_endpoint: bool = True, entailed_graph: str | None = None) -> list[Triple]:
    """Triples describing the endpoint at `endpoint` and its dataset."""
    service = NamedNode(endpoint)

    def sd(name: str) -> NamedNode:
        return NamedNode(SD + name)

    triples = [
        Triple(service, RDF_TYPE, sd("Service")),
        Triple(service, sd("endpoint"), service),
        Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        Triple(service, sd("defaultEntailmentRegime"), NamedNode("http://www.w3.org/ns/entailment/Simple")),
        Triple(service, NamedNode(DCT + "title"), Literal(title)),
    ]
    if update_endpoint:
        triples.append(Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")))
    if entailed_graph:
        triples.append(Triple(service, NamedNode(DCT + "description"), Literal(
            f"The default graph is the union of every named graph, <{entailed_graph}> included: what the ontology entails "
            "from the asserted data (class and property hierarchies up to CIDOC-CRM, inverses, the full CRM paths of "
            "shortcut properties, transitive crm:P89_falls_within), kept in step with every write. Add entailment=none "
            "to a request to query the asserted graphs only.", language="en")))
    if license_iri:
        triples.append(Triple(service, NamedNode(DCT + "license"), NamedNode(license_iri)))
    for name in RESULT_FORMATS:
        triples.append(Triple(service, sd("resultFormat"), NamedNode(FORMATS + name)))
    dataset = BlankNode()
    default_graph = BlankNode()
    total = sum(g.triples for g in graphs)
    triples += [
        Triple(service, sd("defaultDataset"), dataset),
        Triple(dataset, RDF_TYPE, sd("Dataset")),
        Triple(dataset, sd("defaultGraph"), default_graph),
        Triple(default_graph, RDF_TYPE, sd("Graph")),
        Triple(default_graph, NamedNode(VOID + "triples"), Literal(str(total), datatype=XSD_INTEGER)),
    ]
    for info in graphs:
        named = BlankNode()
        graph = BlankNode()
        triples += [
            Triple(dataset, sd("namedGraph"), named),
            Triple(named, RDF_TYPE, sd("NamedGraph")),
            Triple(named, sd("name"), NamedNode(info.iri)),
            Triple(named, sd("graph"), graph),
            Triple(graph, RDF_TYPE, sd("Graph")),
            Triple(graph, NamedNode(VOID + "triples"), Literal(str(info.triples), datatype=XSD_INTEGER)),
        ]
        if info.title:
            triples.append(Triple(graph, NamedNode(DCT + "title"), Literal(info.title)))
    return triples
