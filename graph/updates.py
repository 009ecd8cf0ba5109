"""What a SPARQL Update writes, before it runs.

A write token names the graphs it may change, so the endpoint must know an
update's target graphs before running it. pyoxigraph does not expose its
algebra, so the update is parsed and translated with rdflib (prefixes and
BASE resolved) and every operation is read for the graphs it writes:
``INSERT DATA``/``DELETE DATA`` quads, ``INSERT``/``DELETE`` templates and
``WITH``, ``CLEAR``/``DROP``/``CREATE`` targets and the destination of
``ADD``/``COPY``/``MOVE``. A template ``GRAPH ?g`` or ``ALL``/``NAMED`` can
write any graph; only a token for all graphs may run it.

Both parsers must read the same IRIs, or a token scoped to one graph could
write another (rdflib and pyoxigraph resolve relative IRIs differently). So
an update may hold only absolute IRIs: a relative IRI or a ``BASE`` is
refused before anything is parsed (:func:`refuse_relative_iris`), the update
runs without a base IRI, and absolute IRIs are taken as written by both.

It also applies the protocol's ``using-graph-uri`` / ``using-named-graph-uri``
parameters, which pyoxigraph's ``Store.update`` has no argument for, by
adding ``USING`` clauses before the ``WHERE`` of each INSERT/DELETE operation
(SPARQL 1.1 Protocol §2.2.3: the parameters and USING/WITH are exclusive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import URIRef, Variable

from .sparql_text import MAX_NESTING, TOKEN, nesting_depth, unescape_codepoints

DEFAULT_GRAPH = "DEFAULT"
ANY_GRAPH = "*"


class UpdateError(Exception):
    """The update cannot be analysed or combined with the protocol parameters."""


@dataclass(frozen=True)
class UpdatePlan:
    """The graphs an update writes (DEFAULT_GRAPH for the default graph, ANY_GRAPH if unknowable)."""

    targets: frozenset[str]
    has_dataset_clause: bool
    operations: tuple[str, ...]

    @property
    def writes_any_graph(self) -> bool:
        return ANY_GRAPH in self.targets


def _graph(term: Any) -> str:
    if isinstance(term, URIRef):
        return str(term)
    if term == "DEFAULT" or term is None:
        return DEFAULT_GRAPH
    if isinstance(term, Variable):
        return ANY_GRAPH
    return ANY_GRAPH


def _field(node: Any, key: str) -> Any:
    """A CompValue's field, or None (CompValue.get answers the key's name when it is missing)."""
    if key in node:  # not .get(): CompValue.get has no default argument
        return node[key]
    return None


def _quad_targets(clause: Any) -> set[str]:
    targets: set[str] = set()
    if not clause or isinstance(clause, str):
        return targets
    if _field(clause, "triples"):
        targets.add(DEFAULT_GRAPH)
    for graph in (_field(clause, "quads") or {}):
        targets.add(_graph(graph))
    return targets


_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def refuse_relative_iris(update: str) -> None:
    """Raise UpdateError if `update` has a BASE or a relative IRI (read after SPARQL's codepoint escapes), or nests too deep."""
    depth = nesting_depth(update)
    if depth > MAX_NESTING:
        raise UpdateError(f"the update nests brackets {depth} deep (at most {MAX_NESTING})")
    for match in TOKEN.finditer(unescape_codepoints(update)):
        kind = match.lastgroup
        if kind == "word" and match.group().upper() == "BASE":
            raise UpdateError("BASE is not accepted in updates: write every IRI in full (<https://…>)")
        if kind == "pname" and "\\" in match.group():
            raise UpdateError(f"escaped prefixed name {match.group()} in the update: write the IRI in full (<https://…>)")
        if kind == "iri" and not _ABSOLUTE.match(match.group()[1:-1]):
            raise UpdateError(f"relative IRI {match.group()} in the update: write every IRI in full (<https://…>), "
                              "so that the graphs it writes are the graphs it names")


def analyse(update: str, *, base_iri: str | None = None, prefixes: dict[str, str] | None = None) -> UpdatePlan:
    """Parse `update` and list what it writes. Raises UpdateError on bad syntax or a relative IRI.

    `base_iri` is kept for callers; with relative IRIs refused it changes nothing.
    """
    from rdflib.plugins.sparql import algebra, parser

    refuse_relative_iris(update)

    # The endpoint's predeclared prefixes go first as PREFIX lines (the
    # update's own declarations come later and win); rdflib's initNs would
    # lose the update's prefixes after its first operation.
    prologue = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in (prefixes or {}).items())
    try:
        translated = algebra.translateUpdate(parser.parseUpdate(prologue + update), base=base_iri)
    except Exception as error:
        raise UpdateError(_syntax_message(update, base_iri, prefixes) or f"SPARQL Update syntax error: {error}") from None
    targets: set[str] = set()
    dataset_clause = False
    names: list[str] = []
    for operation in translated.algebra:
        name = operation.name
        names.append(name)
        if name in ("InsertData", "DeleteData", "DeleteWhere"):
            targets |= _quad_targets(operation)
        elif name == "Modify":
            with_graph = _field(operation, "withClause")
            if with_graph is not None or _field(operation, "using"):
                dataset_clause = True
            for clause in (_field(operation, "delete"), _field(operation, "insert")):
                found = _quad_targets(clause)
                if with_graph is not None and DEFAULT_GRAPH in found:
                    found.discard(DEFAULT_GRAPH)
                    found.add(str(with_graph))
                targets |= found
        elif name in ("Clear", "Drop", "Create"):
            target = _field(operation, "graphiri")
            if target in ("ALL", "NAMED"):
                targets.add(ANY_GRAPH)
            else:
                targets.add(_graph(target))
        elif name in ("Add", "Copy", "Move"):
            source, destination = _field(operation, "graph")
            targets.add(_graph(destination))
            if name == "Move":
                targets.add(_graph(source))
        elif name == "Load":
            targets.add(_graph(_field(operation, "graphiri")))
        else:
            targets.add(ANY_GRAPH)
    return UpdatePlan(frozenset(targets), dataset_clause, tuple(names))


def _syntax_message(update: str, base_iri: str | None, prefixes: dict[str, str] | None) -> str | None:
    """pyoxigraph's own syntax error (with the line and column in the text as sent).

    pyoxigraph has no parse-only call, so the update is run on an empty
    in-memory store; callers have already refused LOAD and SERVICE, so this
    touches nothing outside that throwaway store.
    """
    from pyoxigraph import Store

    try:
        Store().update(update, base_iri=base_iri, prefixes=prefixes)
    except SyntaxError as error:
        return f"SPARQL Update syntax error: {error}"
    except Exception:  # a runtime error means the syntax was fine
        return None
    return None


def with_protocol_dataset(update: str, using: Sequence[str], using_named: Sequence[str]) -> str:
    """Add USING / USING NAMED clauses for the protocol parameters to each INSERT/DELETE … WHERE."""
    if not using and not using_named:
        return update
    clauses = " ".join([*(f"USING <{_iri(g)}>" for g in using), *(f"USING NAMED <{_iri(g)}>" for g in using_named)])
    pieces: list[str] = []
    position = 0
    depth = 0
    previous_word = ""
    for match in TOKEN.finditer(update):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "word":
            word = match.group().upper()
            # WHERE at the top level of an INSERT/DELETE template; not the
            # short form DELETE WHERE, which takes no USING.
            if word == "WHERE" and depth == 0 and previous_word != "DELETE":
                pieces.append(update[position:match.start()])
                pieces.append(clauses + " ")
                position = match.start()
            previous_word = word
            continue
        if kind not in ("comment",):
            previous_word = "" if kind != "word" else previous_word
    pieces.append(update[position:])
    return "".join(pieces)


def _iri(value: str) -> str:
    if re.search(r'[<>"{}|^`\\\x00-\x20]', value):
        raise UpdateError(f"not an IRI: {value!r}")
    return value


def graphs_to_write(plan: UpdatePlan, existing: Iterable[str]) -> frozenset[str]:
    """The concrete graphs an update may touch, for validation and provenance."""
    if plan.writes_any_graph:
        return frozenset(existing) | (plan.targets - {ANY_GRAPH})
    return plan.targets
