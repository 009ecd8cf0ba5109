"""Typed helpers over pyoxigraph query results."""

from __future__ import annotations

from typing import Any

from pyoxigraph import QuerySolutions, Store


def select(store: Store, sparql: str, **options: Any) -> QuerySolutions:
    """Run a SELECT query; anything else is a programming error."""
    result = store.query(sparql, **options)
    if not isinstance(result, QuerySolutions):
        raise TypeError("expected a SELECT query")
    return result
