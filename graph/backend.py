"""The interface the server uses, whatever holds the triples.

The embedded :class:`~.store.GraphStore` implements it, and so does
:class:`~.remote.RemoteGraphStore`, which speaks SPARQL 1.1 Query, Update and
the Graph Store Protocol to an engine someone runs (Oxigraph's server,
Virtuoso, …) behind the same methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO, Protocol, runtime_checkable

from .provenance import GraphInfo, Provenance
from .store import QueryResult, RdfSource


@runtime_checkable
class GraphBackend(Protocol):
    """Load a graph, replace a graph, query, update, dump, list graphs."""

    @property
    def generation(self) -> str:
        """Changes whenever the data changes (for ETags and caches)."""
        ...

    def query(self, sparql: str, **options: Any) -> QueryResult: ...

    def load(
        self, source: RdfSource, *, graph: str, replace: bool = False,
        provenance: Provenance | None = None, validate: bool = True,
    ) -> GraphInfo: ...

    def update(self, sparql: str, *, graphs: Iterable[str], provenance: Provenance | None = None) -> None: ...

    def drop(self, graph: str) -> None: ...

    def dump(self, output: BinaryIO, *, graph: str | None = None, compress: bool = False) -> None: ...

    def graphs(self) -> list[GraphInfo]: ...
