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
write another (rdflib and pyoxigraph resolve relative IRIs differently, and
disagree on where a ``BASE`` stops applying). So before either parser sees
an update, :func:`with_absolute_iris` rewrites it: every relative IRI is
resolved once, by pyoxigraph's own IRI resolution, against the endpoint's
base or the ``BASE`` in force (a ``BASE`` applies from where it stands to the
end of the request, and is then removed), and escaped prefixed names are
refused. Analysis and execution then read the same absolute IRIs, and the
update runs without a base IRI.

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

from .sparql_text import TOKEN, code_tokens, is_word, prefix_message, too_deep, undeclared_prefix, unescape_codepoints, where_in_text

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
    #: The named graphs its WHERE clauses (GRAPH, USING, WITH) and ADD/COPY/MOVE read; ANY_GRAPH for ``GRAPH ?g``.
    reads: frozenset[str] = frozenset()

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


def resolve_iri(reference: str, base: str) -> str:
    """`reference` resolved against `base` by pyoxigraph (RFC 3986), as the store would resolve it."""
    from pyoxigraph import RdfFormat, parse

    document = f"<{reference}> <urn:x-heritage-hubs:p> <urn:x-heritage-hubs:o> .".encode()
    try:
        return str(next(iter(parse(document, RdfFormat.TURTLE, base_iri=base))).subject.value)
    except (SyntaxError, ValueError, StopIteration):
        raise UpdateError(f"<{reference}> is not an IRI reference that resolves against <{base}>") from None


def with_absolute_iris(update: str, base: str | None) -> str:
    """`update` with every IRI absolute and no BASE (see the module docstring); UpdateError when that cannot be done.

    The text is returned unchanged when it has nothing relative; otherwise it
    is returned with SPARQL's codepoint escapes undone (as a parser reads it).
    """
    if (deep := too_deep(update)) is not None:
        raise UpdateError(f"the update {deep}")
    text = unescape_codepoints(update)
    pieces: list[str] = []
    position = 0
    current = base
    pending_base = False
    rewritten = False
    for match in TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "comment":
            continue
        if pending_base:
            if kind != "iri":
                raise UpdateError("BASE must be followed by an IRI")
            target = token[1:-1]
            current = target if _ABSOLUTE.match(target) else _resolved(target, current)
            pieces.append(text[position:match.start()])
            position = match.end()
            pending_base = False
            continue
        if kind == "word" and token.upper() == "BASE":
            pieces.append(text[position:match.start()])
            position = match.end()
            pending_base = rewritten = True
        elif kind == "pname" and "\\" in token:
            raise UpdateError(f"escaped prefixed name {token} in the update: write the IRI in full (<https://…>)")
        elif kind == "iri" and not _ABSOLUTE.match(token[1:-1]):
            pieces.append(text[position:match.start()] + f"<{_resolved(token[1:-1], current)}>")
            position = match.end()
            rewritten = True
    if pending_base:
        raise UpdateError("BASE must be followed by an IRI")
    if not rewritten:
        return update
    pieces.append(text[position:])
    return "".join(pieces)


def _resolved(reference: str, base: str | None) -> str:
    if base is None:
        raise UpdateError(f"relative IRI <{reference}> in the update, and no base to resolve it against: write the IRI in full")
    return resolve_iri(reference, base)


def analyse(update: str, *, base_iri: str | None = None, prefixes: dict[str, str] | None = None) -> UpdatePlan:
    """Parse `update` and list what it writes. Raises UpdateError on bad syntax or a relative IRI.

    `base_iri` is kept for callers; with relative IRIs refused it changes nothing.
    """
    from rdflib.plugins.sparql import algebra, parser

    update = with_absolute_iris(update, None)  # callers pass text already made absolute; anything relative left is refused

    if (prefix := undeclared_prefix(update, prefixes)) is not None:  # rdflib would let it through to the engine
        raise UpdateError("SPARQL Update syntax error: " + prefix_message(prefix, prefixes))
    # The endpoint's predeclared prefixes go first as PREFIX lines (the
    # update's own declarations come later and win); rdflib's initNs would
    # lose the update's prefixes after its first operation.
    prologue = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in (prefixes or {}).items())
    try:
        translated = algebra.translateUpdate(parser.parseUpdate(prologue + update), base=base_iri)
    except Exception as error:
        raise UpdateError(_syntax_message(update, base_iri, prefixes) or f"SPARQL Update syntax error: {error}") from None
    targets: set[str] = set()
    reads: set[str] = set()
    dataset_clause = False
    names: list[str] = []
    for operation in getattr(translated, "algebra", ()):  # an update of only a prologue (or nothing) has no operations
        name = operation.name
        names.append(name)
        if name in ("InsertData", "DeleteData", "DeleteWhere"):
            targets |= _quad_targets(operation)
            if name == "DeleteWhere":
                reads |= _quad_targets(operation)
        elif name == "Modify":
            reads |= _graphs_in(_field(operation, "where"))
            reads |= {str(v) for clause in (_field(operation, "using") or ()) for v in clause.values() if isinstance(v, URIRef)}
            with_graph = _field(operation, "withClause")
            if with_graph is not None:
                reads.add(str(with_graph))
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
            reads.add(_graph(source))
            targets.add(_graph(destination))
            if name == "Move":
                targets.add(_graph(source))
        elif name == "Load":
            targets.add(_graph(_field(operation, "graphiri")))
        else:
            targets.add(ANY_GRAPH)
    return UpdatePlan(frozenset(targets), dataset_clause, tuple(names), frozenset(reads - {DEFAULT_GRAPH}))


def _graphs_in(pattern: Any) -> set[str]:
    """The graphs the `GRAPH` patterns of an algebra expression name (ANY_GRAPH for a variable)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    found: set[str] = set()
    todo = [pattern]
    while todo:
        node = todo.pop()
        if isinstance(node, CompValue):
            if node.name in ("Graph", "GraphGraphPattern") and "term" in node:
                found.add(_graph(node["term"]))
            todo.extend(node.values())
        elif isinstance(node, list | tuple | set):
            todo.extend(node)
    return found


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
        return "SPARQL Update syntax error " + where_in_text(str(error))
    except Exception:  # a runtime error means the syntax was fine
        return None
    return None


def without_silent_loads(update: str) -> str:
    """`update` without its `LOAD SILENT` operations: they succeed without loading (SPARQL 1.1 Update §3.1.4 lets a
    SILENT operation fail quietly, and this endpoint never fetches anything). A plain LOAD is left to be refused."""
    text = unescape_codepoints(update)
    if "load" not in text.lower():
        return update
    tokens = code_tokens(text)

    def words(at: int, *keywords: str) -> bool:
        """The keywords stand at `at`, followed by a graph or document IRI."""
        return at + len(keywords) < len(tokens) and all(is_word(tokens[at + i], k) for i, k in enumerate(keywords)) \
            and tokens[at + len(keywords)].lastgroup in ("iri", "pname")

    cuts: list[tuple[int, int]] = []
    index = 0
    while index < len(tokens):
        if words(index, "LOAD", "SILENT"):
            end = index + 3
            if words(end, "INTO", "GRAPH"):
                end += 3
            if end < len(tokens) and tokens[end].group() == ";":
                end += 1
            cuts.append((tokens[index].start(), tokens[end - 1].end()))
            index = end
        else:
            index += 1
    if not cuts:
        return update
    pieces, position = [], 0
    for start, end in cuts:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces).rstrip().removesuffix(";")


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
