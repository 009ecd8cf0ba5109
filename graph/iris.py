"""Identifiers: the canonical base, the named graphs and the prefixes we use.

The base is configurable (DESIGN.md, "Identifiers"); everything that mints an
IRI goes through :class:`Namespaces` so that one setting moves the whole graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

DEFAULT_BASE_IRI = "https://w3id.org/heritage-hubs/"
CRM = "http://www.cidoc-crm.org/cidoc-crm/"

#: How an absolute IRI may start where a name could also be given (a graph name, a prefixed name).
IRI_SCHEMES = ("http://", "https://", "urn:")


def is_absolute_iri(name: str) -> bool:
    """An IRI rather than a short name: `https://…/graph/core`, not `core` or `hh:Hub`."""
    return name.startswith(IRI_SCHEMES)


def valid_iri(name: str) -> bool:
    """An absolute IRI that is also a well-formed IRI (as pyoxigraph reads one): no spaces, no `<>"{}|^`\\`."""
    from pyoxigraph import NamedNode

    if not is_absolute_iri(name):
        return False
    try:
        NamedNode(name)
    except ValueError:
        return False
    return True

# The ontology and the bundled data are written against the default base; a
# deployment with another base rewrites them on load.
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_/][a-z0-9]+)*$")

PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "sh": "http://www.w3.org/ns/shacl#",
    "crm": CRM,
}


def prefixed_name(iri: str, prefixes: dict[str, str]) -> str | None:
    """`prefix:local` for an IRI in one of `prefixes` (the longest namespace wins), or None."""
    for prefix, namespace in sorted(prefixes.items(), key=lambda item: -len(item[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return None


@dataclass(frozen=True)
class Namespaces:
    """The IRIs minted under one canonical base."""

    base: str = DEFAULT_BASE_IRI

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            raise ValueError(f"the base IRI must end with '/': {self.base!r}")

    @property
    def ontology(self) -> str:
        return self.base + "ontology/"

    @property
    def ontology_iri(self) -> str:
        return self.base + "ontology"

    def thing(self, kind: str, slug: str) -> str:
        return f"{self.base}id/{kind}/{slug}"

    def graph(self, name: str) -> str:
        """The IRI of the named graph `name` (`core`, `ontology`, `institution/x`)."""
        if not _SLUG.match(name):
            raise ValueError(f"not a valid graph name: {name!r} (lower-case ASCII words joined by '-', '_' or '/')")
        return f"{self.base}graph/{name}"

    def graph_name(self, iri: str) -> str | None:
        """The short name of a graph IRI minted here, or None for a foreign IRI."""
        prefix = self.base + "graph/"
        return iri[len(prefix):] if iri.startswith(prefix) else None

    @property
    def core_graph(self) -> str:
        return self.graph("core")

    @property
    def ontology_graph(self) -> str:
        return self.graph("ontology")

    @property
    def shapes_graph(self) -> str:
        return self.graph("shapes")

    @property
    def metadata_graph(self) -> str:
        return self.graph("metadata")

    @property
    def derived_graphs(self) -> tuple[str, str]:
        """The graphs derived from the data, which no write names and no feed carries: the metadata, the entailed graph."""
        return self.metadata_graph, self.graph("entailed")

    @property
    def feed_graph(self) -> str:
        """Where a store kept in a SPARQL engine keeps its change feed (graph/remote_feed.py); never a service graph."""
        return self.graph("feed")

    @property
    def tokens_graph(self) -> str:
        """Where a store kept in a SPARQL engine keeps its write tokens (graph/remote_tokens.py); never a service graph."""
        return self.graph("tokens")

    @property
    def lock_graph(self) -> str:
        """Where a store kept in a SPARQL engine keeps its writers' lease (graph/remote_lock.py); never a service graph."""
        return self.graph("lock")

    @property
    def engine_bookkeeping_graphs(self) -> tuple[str, ...]:
        """The graphs a store kept in a SPARQL engine keeps there beside the data, never served: feed, tokens, lease."""
        return self.feed_graph, self.tokens_graph, self.lock_graph

    @property
    def maintained_graphs(self) -> tuple[str, ...]:
        """Graphs the service writes itself and no one else may: the metadata, the entailed graph, an engine's
        bookkeeping."""
        return *self.derived_graphs, *self.engine_bookkeeping_graphs

    def prefixes(self) -> dict[str, str]:
        """Prefixes for queries and serialisations, ours included (a fresh copy)."""
        return dict(_prefixes(self.base))


@cache
def _prefixes(base: str) -> dict[str, str]:
    ours = {
        "hh": base + "ontology/",
        **{name: f"{base}id/{kind}/" for name, kind in (
            ("hub", "hub"), ("inst", "institution"), ("asset", "asset"), ("narr", "narrative"), ("act", "activity"),
            ("place", "place"), ("person", "person"), ("group", "group"), ("concept", "concept"), ("scheme", "scheme"))},
    }
    return {**PREFIXES, **ours}


def rebase(text: str, base: str) -> str:
    """Rewrite IRIs written against the default base onto another base."""
    if base == DEFAULT_BASE_IRI:
        return text
    return text.replace(DEFAULT_BASE_IRI, base)
