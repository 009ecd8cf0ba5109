"""The dataset described with VoID and DCAT, and its dump files.

`describe_dataset` builds the VoID/DCAT triples (statistics, class and
property partitions, named graphs with their provenance, the SPARQL endpoint,
the dumps, licence, vocabularies). `DumpFiles` writes gzipped N-Quads dumps
per store generation, whole or per graph, into the store directory: written
to a temporary name and renamed, so a dump is never seen half-written, and
made once per generation, on first request.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Store, Triple, serialize

from .authorities import AUTHORITIES, LINK_PROPERTIES, authority_of
from .provenance import DCAT, DCT, VOID, GraphInfo
from .statistics import Statistics

XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
FOAF = "http://xmlns.com/foaf/0.1/"
#: The project as a publisher: its name in provenance, and its agent's IRI under the base (described in data/hubs.ttl).
PROJECT = "heritage-hubs"
PUBLISHER_PATH = "id/agent/heritage-hubs"


def _integer(value: int) -> Literal:
    return Literal(str(value), datatype=XSD_INTEGER)


def void(name: str) -> NamedNode:
    return NamedNode(VOID + name)


def dcat(name: str) -> NamedNode:
    return NamedNode(DCAT + name)


def dct(name: str) -> NamedNode:
    return NamedNode(DCT + name)


def _iri_or_literal(value: str) -> NamedNode | Literal:
    return NamedNode(value) if "://" in value else Literal(value)


def _data_service(dataset: NamedNode, url: str, conforms_to: str, title: str, description: str) -> list[Triple]:
    """A `dcat:DataService` of the dataset: where it answers, the specification it follows, its title and description."""
    service = BlankNode()
    triples = [
        Triple(dataset, dcat("accessService"), service),
        Triple(service, RDF_TYPE, dcat("DataService")),
        Triple(service, dcat("endpointURL"), NamedNode(url)),
        Triple(service, dct("conformsTo"), NamedNode(conforms_to)),
        Triple(service, dct("title"), Literal(title, language="en")),
        Triple(service, dct("description"), Literal(description, language="en")),
        Triple(service, dcat("servesDataset"), dataset),
    ]
    return triples


def _distribution(dataset: NamedNode, server: str, dump: str, title: str, description: str) -> list[Triple]:
    """A gzipped N-Quads dump as a `dcat:Distribution` (DCAT-AP: title, description, access and download URLs)."""
    distribution = BlankNode()
    return [
        Triple(dataset, dcat("distribution"), distribution),
        Triple(distribution, RDF_TYPE, dcat("Distribution")),
        Triple(distribution, dct("title"), Literal(title, language="en")),
        Triple(distribution, dct("description"), Literal(description, language="en")),
        Triple(distribution, dcat("accessURL"), NamedNode(server + "/dumps/")),
        Triple(distribution, dcat("downloadURL"), NamedNode(server + dump)),
        Triple(distribution, dcat("mediaType"), NamedNode("https://www.iana.org/assignments/media-types/application/n-quads")),
        Triple(distribution, dcat("compressFormat"), NamedNode("https://www.iana.org/assignments/media-types/application/gzip")),
        Triple(distribution, dct("license"), NamedNode(LICENSE)),
    ]


def namespace_of(iri: str) -> str:
    """The namespace of a term: its IRI up to the last '#' or '/'."""
    return iri[: max(iri.rfind("#"), iri.rfind("/")) + 1]


def publisher_agent(info: GraphInfo, base: str, known: Callable[[str], bool]) -> NamedNode | None:
    """The publisher of a graph as an agent IRI (DCAT-AP): an IRI given as such, the institution whose graph it is,
    or the project itself for what it seeds; None when none of those is known."""
    if info.publisher and "://" in info.publisher:
        return NamedNode(info.publisher)
    name = info.iri[len(base) + len("graph/"):] if info.iri.startswith(base + "graph/") else ""
    if name.startswith("institution/") and known(f"{base}id/{name}"):
        return NamedNode(f"{base}id/{name}")
    if info.publisher == PROJECT or name in ("core", "ontology", "shapes", "metadata"):
        return NamedNode(base + PUBLISHER_PATH)
    return None


def describe_dataset(*, base: str, server: str, stats: Statistics, graphs: list[GraphInfo], vocabularies: list[str],
                     names: Callable[[str], str | None] = lambda iri: None, metadata_graph: str | None = None,
                     links: dict[tuple[str, str], int] | None = None) -> list[Triple]:
    """VoID + DCAT (DCAT-AP 3) triples about the dataset; `server` is where its endpoints and dumps are served.

    `names` gives an agent's name (publishers are agents with a name, DCAT-AP); `metadata_graph` is described as
    the graph of provenance it is; `links` counts the links to each authority file by property (see count_links).
    """
    dataset = NamedNode(base + "dataset")
    project = NamedNode(base + PUBLISHER_PATH)
    triples = [
        Triple(dataset, RDF_TYPE, void("Dataset")),
        Triple(dataset, RDF_TYPE, dcat("Dataset")),
        Triple(dataset, dct("title"), Literal("heritage-hubs", language="en")),
        Triple(dataset, dct("description"), Literal(
            "A linked-open-data knowledge graph of heritage hubs: cultural centres, research centres, community spaces and "
            "digital platforms that keep tangible and intangible heritage alive, aligned with CIDOC-CRM.", language="en")),
        Triple(dataset, dct("publisher"), project),
        Triple(dataset, dct("license"), NamedNode(LICENSE)),
        Triple(dataset, void("uriSpace"), Literal(base + "id/")),
        Triple(dataset, void("sparqlEndpoint"), NamedNode(server + "/sparql")),
        Triple(dataset, void("triples"), _integer(stats.triples)),
        Triple(dataset, void("entities"), _integer(stats.entities)),
        Triple(dataset, void("classes"), _integer(len(stats.classes))),
        Triple(dataset, void("properties"), _integer(len(stats.properties))),
        Triple(dataset, void("dataDump"), NamedNode(server + "/dumps/all.nq.gz")),
        Triple(dataset, void("rootResource"), NamedNode(base + "id/hub/polo-del-900")),
        Triple(dataset, void("exampleResource"), NamedNode(base + "id/hub/tabakalera")),
    ]
    # Every namespace the data uses a class or property of, and the ones named by the caller.
    used = {namespace_of(iri) for iri in (*stats.classes, *stats.properties)}
    for vocabulary in sorted(set(vocabularies) | used):
        triples.append(Triple(dataset, void("vocabulary"), NamedNode(vocabulary)))
    triples += _distribution(dataset, server, "/dumps/all.nq.gz", "All graphs (N-Quads, gzip)",
                             "Every named graph of the dataset in one gzipped N-Quads file, remade after each write.")
    triples += _data_service(dataset, server + "/sparql", "https://www.w3.org/TR/sparql11-protocol/", "SPARQL endpoint",
                             "SPARQL 1.1 queries over every graph (the default graph is their union), with a time limit.")
    triples += _data_service(dataset, server + "/fragments",
                             "https://linkeddatafragments.org/specification/triple-pattern-fragments/", "Triple Pattern Fragments",
                             "Pages of the triples matching a pattern, for Linked Data Fragments clients such as Comunica.")
    triples += _data_service(dataset, server + "/feed", "https://w3id.org/ldes/specification",
                             "Change feed (Linked Data Event Stream)",
                             "Every change as a version of the resource it changed, for harvesters that keep a copy in step.")
    for iri, count in sorted(stats.classes.items()):
        partition = BlankNode()
        triples += [Triple(dataset, void("classPartition"), partition), Triple(partition, void("class"), NamedNode(iri)),
                    Triple(partition, void("entities"), _integer(count))]
    for iri, count in sorted(stats.properties.items()):
        partition = BlankNode()
        triples += [Triple(dataset, void("propertyPartition"), partition), Triple(partition, void("property"), NamedNode(iri)),
                    Triple(partition, void("triples"), _integer(count))]
    for (authority, predicate), count in sorted((links or {}).items()):
        # The links to each authority file, by property, as VoID linksets.
        linkset, target = BlankNode(), BlankNode()
        triples += [
            Triple(dataset, void("subset"), linkset),
            Triple(linkset, RDF_TYPE, void("Linkset")),
            Triple(linkset, void("subjectsTarget"), dataset),
            Triple(linkset, void("objectsTarget"), target),
            Triple(linkset, void("linkPredicate"), NamedNode(predicate)),
            Triple(linkset, void("triples"), _integer(count)),
            Triple(target, RDF_TYPE, void("Dataset")),
            Triple(target, dct("title"), Literal(AUTHORITIES[authority].name)),
            Triple(target, void("uriSpace"), Literal(AUTHORITIES[authority].namespace)),
        ]
    agents: set[NamedNode] = {project}
    for info in graphs:
        graph = NamedNode(info.iri)
        name = info.iri.rsplit("/graph/", 1)[-1]
        metadata = info.iri == metadata_graph
        title = info.title or ("Provenance of the named graphs" if metadata else f"Graph {name}")
        description = ("What is known of each named graph: title, publisher, sources, licence, last change and size."
                       if metadata else f"The statements of the named graph <{info.iri}>"
                       + (f", from {', '.join(info.sources)}." if info.sources else "."))
        triples += [
            Triple(dataset, void("subset"), graph),
            Triple(graph, RDF_TYPE, void("Dataset")),
            Triple(graph, RDF_TYPE, dcat("Dataset")),
            Triple(graph, dct("title"), Literal(title)),
            Triple(graph, dct("description"), Literal(description, language="en")),
            Triple(graph, void("triples"), _integer(info.triples)),
            Triple(graph, void("dataDump"), NamedNode(f"{server}/dumps/graph/{name}.nq.gz")),
        ]
        triples += _distribution(graph, server, f"/dumps/graph/{name}.nq.gz", f"{title} (N-Quads, gzip)",
                                 f"The named graph <{info.iri}> as a gzipped N-Quads file.")
        agent = publisher_agent(info, base, lambda iri: names(iri) is not None)
        if agent is not None:
            triples.append(Triple(graph, dct("publisher"), agent))
            agents.add(agent)
        if info.license:
            triples.append(Triple(graph, dct("license"), NamedNode(info.license)))
        if info.modified:
            modified = Literal(info.modified, datatype=NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))
            triples.append(Triple(graph, dct("modified"), modified))
        for source in info.sources:
            triples.append(Triple(graph, dct("source"), _iri_or_literal(source)))
    for agent in sorted(agents, key=lambda a: a.value):
        triples += [Triple(agent, RDF_TYPE, NamedNode(FOAF + "Agent")),
                    Triple(agent, NamedNode(FOAF + "name"), Literal(names(agent.value) or PROJECT))]
    return triples




def count_links(store: Store, metadata_graph: str | None = None) -> dict[tuple[str, str], int]:
    """How many statements link to each authority file, by property (owl:sameAs, skos:exactMatch, skos:closeMatch).

    Reads the statements of those three properties only (an index lookup each), not the store.
    """
    counts: dict[tuple[str, str], int] = {}
    hidden = NamedNode(metadata_graph) if metadata_graph else None
    for predicate in LINK_PROPERTIES:
        for quad in store.quads_for_pattern(None, NamedNode(predicate), None, None):
            if quad.graph_name == hidden or not isinstance(quad.object, NamedNode):
                continue
            authority = authority_of(quad.object.value)
            if authority is not None:
                counts[(authority.key, predicate)] = counts.get((authority.key, predicate), 0) + 1
    return counts


def serialize_description(triples: list[Triple], fmt: RdfFormat, prefixes: dict[str, str]) -> bytes:
    body = serialize(triples, format=fmt, prefixes=prefixes if fmt in (RdfFormat.TURTLE, RdfFormat.TRIG) else None)
    assert body is not None
    return body


class DumpFiles:
    """Gzipped N-Quads dumps of one store, made once per generation."""

    def __init__(self, root: Path) -> None:
        self.root = root / "dumps"

    def path(self, store: object, generation: str, graph: str | None, name: str) -> Path:
        """The dump for `graph` (None: everything) at `generation`, written first if needed."""
        directory = self.root / generation
        target = directory / name
        if target.exists():
            return target
        directory.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
                    with open(partial, "wb") as handle:
                        store.dump(handle, graph=graph, compress=True)  # type: ignore[attr-defined]
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(partial, target)
                    self._forget_older(generation)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        return target

    def _forget_older(self, generation: str) -> None:
        # The previous generation stays: a download may have just been handed its path.
        older = sorted(d.name for d in self.root.iterdir() if d.is_dir() and d.name.isdigit() and d.name < generation)
        for name in older[:-1]:
            shutil.rmtree(self.root / name, ignore_errors=True)

