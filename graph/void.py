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
from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from .provenance import DCAT, DCT, VOID, GraphInfo
from .statistics import Statistics

XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LICENSE = "https://creativecommons.org/licenses/by/4.0/"


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


def _data_service(dataset: NamedNode, url: str, conforms_to: str, title: str | None = None) -> tuple[BlankNode, list[Triple]]:
    """A `dcat:DataService` of the dataset: where it answers and the specification it follows."""
    service = BlankNode()
    triples = [
        Triple(dataset, dcat("accessService"), service),
        Triple(service, RDF_TYPE, dcat("DataService")),
        Triple(service, dcat("endpointURL"), NamedNode(url)),
        Triple(service, dct("conformsTo"), NamedNode(conforms_to)),
    ]
    if title is not None:
        triples.append(Triple(service, dct("title"), Literal(title, language="en")))
    return service, triples


def describe_dataset(*, base: str, server: str, stats: Statistics, graphs: list[GraphInfo], vocabularies: list[str]) -> list[Triple]:
    """VoID + DCAT triples about the dataset; `server` is where its endpoints and dumps are served."""
    dataset = NamedNode(base + "dataset")
    triples = [
        Triple(dataset, RDF_TYPE, void("Dataset")),
        Triple(dataset, RDF_TYPE, dcat("Dataset")),
        Triple(dataset, dct("title"), Literal("heritage-hubs", language="en")),
        Triple(dataset, dct("description"), Literal(
            "A linked-open-data knowledge graph of heritage hubs: cultural centres, research centres, community spaces and "
            "digital platforms that keep tangible and intangible heritage alive, aligned with CIDOC-CRM.", language="en")),
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
    for vocabulary in vocabularies:
        triples.append(Triple(dataset, void("vocabulary"), NamedNode(vocabulary)))
    distribution = BlankNode()
    triples += [
        Triple(dataset, dcat("distribution"), distribution),
        Triple(distribution, RDF_TYPE, dcat("Distribution")),
        Triple(distribution, dcat("downloadURL"), NamedNode(server + "/dumps/all.nq.gz")),
        Triple(distribution, dcat("mediaType"), NamedNode("https://www.iana.org/assignments/media-types/application/n-quads")),
        Triple(distribution, dcat("compressFormat"), NamedNode("https://www.iana.org/assignments/media-types/application/gzip")),
        Triple(distribution, dct("license"), NamedNode(LICENSE)),
    ]
    triples += _data_service(dataset, server + "/sparql", "https://www.w3.org/TR/sparql11-protocol/")[1]
    triples += _data_service(dataset, server + "/fragments",
                             "https://linkeddatafragments.org/specification/triple-pattern-fragments/", "Triple Pattern Fragments")[1]
    feed, described = _data_service(dataset, server + "/feed", "https://w3id.org/ldes/specification",
                                    "Change feed (Linked Data Event Stream)")
    triples += [*described, Triple(feed, dcat("servesDataset"), NamedNode(server + "/feed"))]
    for iri, count in sorted(stats.classes.items()):
        partition = BlankNode()
        triples += [Triple(dataset, void("classPartition"), partition), Triple(partition, void("class"), NamedNode(iri)),
                    Triple(partition, void("entities"), _integer(count))]
    for iri, count in sorted(stats.properties.items()):
        partition = BlankNode()
        triples += [Triple(dataset, void("propertyPartition"), partition), Triple(partition, void("property"), NamedNode(iri)),
                    Triple(partition, void("triples"), _integer(count))]
    for info in graphs:
        graph = NamedNode(info.iri)
        name = info.iri.rsplit("/graph/", 1)[-1]
        triples += [
            Triple(dataset, void("subset"), graph),
            Triple(graph, RDF_TYPE, void("Dataset")),
            Triple(graph, RDF_TYPE, dcat("Dataset")),
            Triple(graph, void("triples"), _integer(info.triples)),
            Triple(graph, void("dataDump"), NamedNode(f"{server}/dumps/graph/{name}.nq.gz")),
        ]
        if info.title:
            triples.append(Triple(graph, dct("title"), Literal(info.title)))
        if info.publisher:
            triples.append(Triple(graph, dct("publisher"), _iri_or_literal(info.publisher)))
        if info.license:
            triples.append(Triple(graph, dct("license"), NamedNode(info.license)))
        if info.modified:
            modified = Literal(info.modified, datatype=NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))
            triples.append(Triple(graph, dct("modified"), modified))
        for source in info.sources:
            triples.append(Triple(graph, dct("source"), _iri_or_literal(source)))
    return triples


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

