"""The graph layer: the store and everything that touches triples. No HTTP here."""

from .backend import GraphBackend
from .errors import (
    GraphError,
    GraphNameError,
    ParseError,
    StoreBusyError,
    StoreLayoutError,
    UnknownFormatError,
    UpdateLimitError,
    ValidationFailed,
    Violation,
)
from .iris import DEFAULT_BASE_IRI, Namespaces
from .provenance import GraphInfo, Provenance
from .store import DEFAULT_GRAPH, GraphStore, RdfSource, WriteTransaction, open_store
from .validation import ShapesValidator, UnsupportedShapes

__all__ = [
    "DEFAULT_BASE_IRI",
    "DEFAULT_GRAPH",
    "GraphBackend",
    "GraphError",
    "GraphInfo",
    "GraphNameError",
    "GraphStore",
    "Namespaces",
    "ParseError",
    "Provenance",
    "RdfSource",
    "ShapesValidator",
    "StoreBusyError",
    "StoreLayoutError",
    "UnknownFormatError",
    "UnsupportedShapes",
    "UpdateLimitError",
    "ValidationFailed",
    "Violation",
    "WriteTransaction",
    "open_store",
]
