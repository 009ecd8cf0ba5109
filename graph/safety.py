"""What a public endpoint refuses before a query or update reaches the store.

pyoxigraph follows ``SERVICE <http://…>`` and ``LOAD <http://…>`` with real
HTTP requests (no timeout, no way to switch it off), so a query received over
HTTP must not contain them unless the endpoint is on an allow-list.

The check is two-step. SPARQL keywords cannot be spelled without their
letters, so after undoing the codepoint escapes that SPARQL 1.1 §19.2 allows
anywhere in a request, text that does not contain "service" (or "load")
cannot use the keyword: that is the fast path for nearly every query. Text
that does contain the word, in a variable, a literal or the keyword itself,
is parsed with rdflib's SPARQL parser and its algebra is searched for the
operation; text rdflib cannot parse is refused, since we cannot show it safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyparsing import ParseResults
from rdflib import URIRef

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class RefusedOperation(Exception):
    """A query or update uses an operation the endpoint does not allow."""


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


@dataclass(frozen=True)
class NetworkPolicy:
    """Which federated endpoints SERVICE may reach (none by default)."""

    allowed_services: frozenset[str] = frozenset()

    def check_query(self, query: str) -> None:
        """Raise RefusedOperation if `query` would contact a host not allowed."""
        if "service" not in _unescape(query).lower():
            return
        for endpoint in _service_endpoints(query):
            if endpoint is None or endpoint not in self.allowed_services:
                shown = f"<{endpoint}>" if endpoint else "a variable endpoint"
                raise RefusedOperation(
                    f"SERVICE {shown} is not allowed here: this endpoint does not send queries to other servers"
                    + (f" (allowed: {', '.join(sorted(self.allowed_services))})" if self.allowed_services else "")
                )

    def check_update(self, update: str) -> None:
        """Raise RefusedOperation for LOAD (and SERVICE inside an update)."""
        text = _unescape(update).lower()
        if "load" in text and _update_has_load(update):
            raise RefusedOperation("LOAD is not allowed here: the endpoint does not fetch data from the network or the file system; "
                                   "send the data itself (Graph Store Protocol or INSERT DATA)")
        if "service" in text:
            for endpoint in _service_endpoints(update, update=True):
                if endpoint is None or endpoint not in self.allowed_services:
                    raise RefusedOperation("SERVICE is not allowed inside an update")


def _walk(node: Any) -> Iterator[Any]:
    """Every node of an rdflib algebra tree (CompValue / lists / dicts)."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list | tuple | ParseResults):
            stack.extend(list(current))


def _parse(text: str, *, update: bool) -> Any:
    from rdflib.plugins.sparql import parser

    try:
        return parser.parseUpdate(text) if update else parser.parseQuery(text)
    except Exception as error:  # rdflib raises pyparsing errors of several kinds
        raise RefusedOperation(
            f"this request mentions SERVICE or LOAD and could not be checked ({type(error).__name__}); it was not run"
        ) from None


def _service_endpoints(text: str, *, update: bool = False) -> Iterable[str | None]:
    tree = _parse(text, update=update)
    for node in _walk(tree):
        if getattr(node, "name", None) == "ServiceGraphPattern":
            term = node.get("term")
            yield str(term) if isinstance(term, URIRef) else None


def _update_has_load(text: str) -> bool:
    tree = _parse(text, update=True)
    return any(getattr(node, "name", None) == "Load" for node in _walk(tree))
