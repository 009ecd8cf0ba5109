"""Bearer tokens for writes: who is writing, and whether they may write a graph.

Reads are public. Every write (SPARQL Update, Graph Store Protocol, CSV
upload) names its institution's token; a token lists the graphs it may write
(or all of them, for an administrator). Tokens are stored hashed (graph/tokens.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from ..graph import DEFAULT_GRAPH, Provenance
from ..graph.iris import valid_iri
from ..graph.tokens import Token, TokenError
from ..graph.updates import ANY_GRAPH
from . import resources
from .errors import BadRequest, Forbidden, Unauthorized

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
    """403 unless `token` may write `graph` (the default graph needs an all-graphs token; those the service maintains
    no one)."""
    if graph in resources().store.namespaces.maintained_graphs:
        raise Forbidden(f"<{graph}> is maintained by the service (provenance, entailments, the change feed) and cannot be "
                        "written")
    require_writes(token, [graph])


def require_writes(token: Token, graphs: Iterable[str]) -> None:
    """403 unless `token` may write each of `graphs`; the default graph and "any graph" need an all-graphs token."""
    forbidden = sorted(g for g in graphs if not (token.is_admin if g in (DEFAULT_GRAPH, ANY_GRAPH) else token.may_write(g)))
    if forbidden:
        shown = ", ".join("every graph" if g == ANY_GRAPH else "the default graph" if g == DEFAULT_GRAPH else f"<{g}>"
                          for g in forbidden)
        raise Forbidden(f"this token ({token.institution}) may not write {shown}; it may write: "
                        + ", ".join(f"<{g}>" for g in token.graphs),
                        detail={"forbiddenGraphs": forbidden, "allowedGraphs": list(token.graphs)})


#: Query parameters of a Graph Store write or a spreadsheet import that describe the graph written.
DESCRIPTION_PARAMETERS = ("title", "publisher", "license", "source")
MAX_TITLE_CHARS = 500


def provenance_of(token: Token, action: str, sources: tuple[str, ...] = ()) -> Provenance:
    """The provenance of a write: the token's institution as the agent, and what the request says of the graph.

    `?title=…&publisher=IRI&license=IRI&source=IRI` (source repeatable) set the graph's description in the
    metadata graph; what a write does not say stays as it was, and the sources follow the latest write that gives
    some. 400 for a title over 500 characters or a value that should be an IRI and is not.
    """
    args = request.args
    title = args.get("title") or None
    if title is not None and len(title) > MAX_TITLE_CHARS:
        raise BadRequest(f"title is longer than {MAX_TITLE_CHARS} characters")
    iris: dict[str, str | None] = {}
    for name in ("publisher", "license"):
        value = args.get(name) or None
        if value is not None and not valid_iri(value):
            raise BadRequest(f"{name} must be an absolute IRI, got {value!r}")
        iris[name] = value
    given = tuple(v for v in args.getlist("source") if v)
    for value in given:
        if not valid_iri(value):
            raise BadRequest(f"source must be an absolute IRI, got {value!r}")
    return Provenance(agent=resources().store.namespaces.thing("institution", token.institution), action=action,
                      sources=given or sources, title=title, publisher=iris["publisher"], license=iris["license"])
