"""Bearer tokens for writes: who is writing, and whether they may write a graph.

Reads are public. Every write (SPARQL Update, Graph Store Protocol, CSV
upload) names its institution's token; a token lists the graphs it may write
(or all of them, for an administrator). Tokens are stored hashed (graph/tokens.py).
"""

from __future__ import annotations

from flask import request

from ..graph import DEFAULT_GRAPH
from ..graph.tokens import Token, TokenError
from . import resources
from .errors import Forbidden, Unauthorized

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="heritage-hubs"'}


def authenticate() -> Token:
    """The token of this request, or 401."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise Unauthorized("writes need a bearer token (Authorization: Bearer hh_…); "
                           "an administrator creates one with 'heritage-hubs token create'", headers=CHALLENGE)
    try:
        return resources().tokens.authenticate(header[7:])
    except TokenError as error:
        raise Unauthorized(f"the bearer token was refused: {error}", headers=CHALLENGE) from None


def require_write(token: Token, graph: str) -> None:
    """403 unless `token` may write `graph` (the default graph needs an all-graphs token; the metadata graph no one)."""
    if graph == resources().store.namespaces.metadata_graph:
        raise Forbidden(f"<{graph}> is maintained by the service (provenance of every graph) and cannot be written")
    allowed = token.is_admin if graph == DEFAULT_GRAPH else token.may_write(graph)
    if not allowed:
        shown = "the default graph" if graph == DEFAULT_GRAPH else f"<{graph}>"
        raise Forbidden(f"this token ({token.institution}) may not write {shown}; it may write: "
                        + ", ".join(f"<{g}>" for g in token.graphs),
                        detail={"forbiddenGraphs": [graph], "allowedGraphs": list(token.graphs)})
