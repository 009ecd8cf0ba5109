"""SHACL validation at store speed.

pyshacl walks an rdflib graph in Python (about 25k triples/s here), which
would make a million-triple load many times slower than the load itself. So
the shapes are *compiled*: every constraint of SHACL Core that our shapes use
becomes one SPARQL query that returns the offending focus nodes, and those
queries run inside pyoxigraph over the data being loaded. The result is a list
of :class:`~.errors.Violation` in the vocabulary of a SHACL validation report.

A shapes graph that uses something outside the compiled subset raises
:class:`UnsupportedShapes`; :func:`validate_with_pyshacl` is the reference
implementation the test suite compares against, and the fallback for such
shapes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, QuerySolutions, Store
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH

from .delta import RDF_TYPE, Delta, Node
from .errors import Violation
from .provenance import count_triples
from .results import select

Term = NamedNode | BlankNode | Literal

#: Datatypes whose lexical form we check with a SPARQL cast.
_CASTS = {
    "http://www.w3.org/2001/XMLSchema#decimal": "xsd:decimal",
    "http://www.w3.org/2001/XMLSchema#integer": "xsd:integer",
    "http://www.w3.org/2001/XMLSchema#nonNegativeInteger": "xsd:integer",
    "http://www.w3.org/2001/XMLSchema#double": "xsd:double",
    "http://www.w3.org/2001/XMLSchema#float": "xsd:float",
    "http://www.w3.org/2001/XMLSchema#boolean": "xsd:boolean",
    "http://www.w3.org/2001/XMLSchema#dateTime": "xsd:dateTime",
    "http://www.w3.org/2001/XMLSchema#date": "xsd:date",
}

_NODE_KIND_TESTS = {
    SH.IRI: "isIRI(?v)",
    SH.Literal: "isLiteral(?v)",
    SH.BlankNode: "isBlank(?v)",
    SH.BlankNodeOrIRI: "(isBlank(?v) || isIRI(?v))",
    SH.IRIOrLiteral: "(isIRI(?v) || isLiteral(?v))",
    SH.BlankNodeOrLiteral: "(isBlank(?v) || isLiteral(?v))",
}

_TARGETS = {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf}
_VALUE_CONSTRAINTS = {
    SH.datatype, SH["class"], SH.nodeKind, SH.languageIn, SH.minInclusive, SH.maxInclusive,
    SH.minExclusive, SH.maxExclusive, SH.pattern, SH["in"], SH.minLength, SH.maxLength,
}
_SET_CONSTRAINTS = {SH.minCount, SH.maxCount, SH.uniqueLang, SH.hasValue}
_DESCRIPTIVE = {
    RDF.type, SH.path, SH.property, SH.message, SH.severity, SH.flags, SH.deactivated, SH.name,
    SH.description, SH.order, SH.group, RDFS.label, RDFS.comment,
} | _TARGETS


class UnsupportedShapes(Exception):
    """The shapes use SHACL features the SPARQL compiler does not cover."""


def _nt(term: rdflib.term.Node) -> str:
    """SPARQL/N-Triples syntax for an rdflib term."""
    if isinstance(term, rdflib.URIRef):
        return f"<{term}>"
    if isinstance(term, rdflib.Literal):
        return str(term.n3())
    raise UnsupportedShapes(f"blank node {term} cannot be written in a query")


@dataclass
class _Check:
    """One compiled constraint: a query that returns ?focus (and maybe ?v)."""

    shape: str
    path: str | None
    component: str
    message: str
    severity: str
    query: str
    needs_focus_values: bool = False


@dataclass
class _Target:
    classes: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    subjects_of: list[str] = field(default_factory=list)
    objects_of: list[str] = field(default_factory=list)


class ShapesValidator:
    """Validates data in a pyoxigraph store against a SHACL shapes graph."""

    #: Cap on results reported per constraint: enough to fix a file, not a flood.
    MAX_RESULTS_PER_CHECK = 200

    def __init__(self, shapes: rdflib.Graph) -> None:
        self.shapes = shapes
        self._targets: dict[str, _Target] = {}
        self._checks: list[tuple[str, _Check]] = []
        #: Every path is one step (a predicate, its inverse, or alternatives of those): a change to a statement
        #: can only alter the conformance of its subject and object, or of whoever links to a retyped node.
        self.shallow_paths = True
        self._compile()

    @classmethod
    def from_turtle(cls, text: str) -> ShapesValidator:
        return cls(rdflib.Graph().parse(data=text, format="turtle"))

    # ------------------------------------------------------------ compiling

    def _label(self, node: rdflib.term.Node) -> str:
        if isinstance(node, rdflib.URIRef):
            return str(node)
        return f"_:{node}"

    def _message(self, shape: rdflib.term.Node, fallback: str) -> str:
        messages = list(self.shapes.objects(shape, SH.message))
        english = [m for m in messages if isinstance(m, rdflib.Literal) and m.language in (None, "en")]
        chosen = english or messages
        return str(chosen[0]) if chosen else fallback

    def _severity(self, shape: rdflib.term.Node) -> str:
        sev = self.shapes.value(shape, SH.severity)
        return str(sev).rsplit("#", 1)[-1] if sev is not None else "Violation"

    def _path(self, node: rdflib.term.Node) -> str:
        """A SHACL property path as a SPARQL property path."""
        if isinstance(node, rdflib.URIRef):
            return f"<{node}>"
        inverse = self.shapes.value(node, SH.inversePath)
        if inverse is not None:
            return f"^({self._path(inverse)})"
        for predicate, op in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
            inner = self.shapes.value(node, predicate)
            if inner is not None:
                self.shallow_paths = False
                return f"({self._path(inner)}){op}"
        alternatives = self.shapes.value(node, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(self._path(p) for p in Collection(self.shapes, alternatives)) + ")"
        if self.shapes.value(node, RDF.first) is not None:
            self.shallow_paths = False
            return "(" + "/".join(self._path(p) for p in Collection(self.shapes, node)) + ")"
        raise UnsupportedShapes(f"unsupported property path {node}")

    def _compile(self) -> None:
        node_shapes = set(self.shapes.subjects(RDF.type, SH.NodeShape))
        for predicate in _TARGETS:
            node_shapes.update(self.shapes.subjects(predicate, None))
        for shape in sorted(node_shapes, key=str):
            if self.shapes.value(shape, SH.deactivated) == rdflib.Literal(True):
                continue
            target = _Target(
                classes=[str(c) for c in self.shapes.objects(shape, SH.targetClass)],
                nodes=[_nt(n) for n in self.shapes.objects(shape, SH.targetNode)],
                subjects_of=[str(p) for p in self.shapes.objects(shape, SH.targetSubjectsOf)],
                objects_of=[str(p) for p in self.shapes.objects(shape, SH.targetObjectsOf)],
            )
            key = self._label(shape)
            self._targets[key] = target
            self._compile_constraints(key, shape, shape, path=None)
            for prop in self.shapes.objects(shape, SH.property):
                if self.shapes.value(prop, SH.deactivated) == rdflib.Literal(True):
                    continue
                path_node = self.shapes.value(prop, SH.path)
                if path_node is None:
                    raise UnsupportedShapes(f"property shape {prop} has no sh:path")
                self._compile_constraints(key, prop, prop, path=self._path(path_node))

    def _compile_constraints(self, target_key: str, shape: rdflib.term.Node, source: rdflib.term.Node, path: str | None) -> None:
        used = {p for p in self.shapes.predicates(source, None)}
        unknown = used - _VALUE_CONSTRAINTS - _SET_CONSTRAINTS - _DESCRIPTIVE
        if unknown:
            names = ", ".join(sorted(str(u) for u in unknown))
            raise UnsupportedShapes(f"shape {self._label(shape)} uses {names}, outside the compiled SHACL subset")
        if path is None and used & _SET_CONSTRAINTS:
            raise UnsupportedShapes(f"node shape {self._label(shape)} has cardinality constraints without a path")
        shape_label = self._label(shape)
        path_label = path.strip("<>") if path and path.startswith("<") and path.endswith(">") and " " not in path else path
        value_pattern = f"?focus {path} ?v ." if path else "BIND(?focus AS ?v)"

        def add(component: str, default_message: str, where: str, *, with_value: bool = True, aggregate: str | None = None) -> None:
            select = "SELECT DISTINCT ?focus ?v" if with_value else "SELECT DISTINCT ?focus"
            if aggregate:
                body = f"{{ {{FOCUS}} {where} }} {aggregate}"
                query = f"SELECT ?focus WHERE {body}"
            else:
                query = f"{select} WHERE {{ {{FOCUS}} {where} }}"
            self._checks.append((target_key, _Check(
                shape=shape_label, path=path_label, component=str(SH) + component,
                message=self._message(shape, default_message), severity=self._severity(shape),
                query=query, needs_focus_values=with_value,
            )))

        g = self.shapes
        for value in g.objects(source, SH.minCount):
            n = int(str(value))
            if n == 1:
                add("MinCountConstraintComponent", f"needs at least one value for {path_label}",
                    f"FILTER NOT EXISTS {{ ?focus {path} ?v }}", with_value=False)
            elif n > 1:
                add("MinCountConstraintComponent", f"needs at least {n} values for {path_label}",
                    f"OPTIONAL {{ ?focus {path} ?v }}", with_value=False,
                    aggregate=f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?v) < {n})")
        for value in g.objects(source, SH.maxCount):
            n = int(str(value))
            add("MaxCountConstraintComponent", f"allows at most {n} value(s) for {path_label}",
                f"?focus {path} ?v .", with_value=False,
                aggregate=f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?v) > {n})")
        if g.value(source, SH.uniqueLang) == rdflib.Literal(True):
            add("UniqueLangConstraintComponent", f"has two values in the same language for {path_label}",
                f"?focus {path} ?v . FILTER(lang(?v) != \"\")", with_value=False,
                aggregate="GROUP BY ?focus (LCASE(lang(?v))) HAVING (COUNT(DISTINCT ?v) > 1)")
        for value in g.objects(source, SH.hasValue):
            add("HasValueConstraintComponent", f"must have the value {_nt(value)} for {path_label}",
                f"FILTER NOT EXISTS {{ ?focus {path} {_nt(value)} }}", with_value=False)
        for value in g.objects(source, SH.datatype):
            dt = str(value)
            test = f"(isLiteral(?v) && datatype(?v) = <{dt}>)"
            cast = _CASTS.get(dt)
            if cast:
                test = f"({test} && COALESCE({cast}(STR(?v)) = {cast}(STR(?v)), false))"
                if dt.endswith("nonNegativeInteger"):
                    test = f"({test} && COALESCE(xsd:integer(STR(?v)) >= 0, false))"
            add("DatatypeConstraintComponent", f"value must have the datatype <{dt}>",
                f"{value_pattern} FILTER(!{test})")
        for value in g.objects(source, SH["class"]):
            add("ClassConstraintComponent", f"value must be an instance of <{value}>",
                f"{value_pattern} FILTER NOT EXISTS {{ ?v a ?type . VALUES ?type {{ {{CLASS:{value}}} }} }}")
        for value in g.objects(source, SH.nodeKind):
            test = _NODE_KIND_TESTS.get(value)  # type: ignore[call-overload]
            if test is None:
                raise UnsupportedShapes(f"unknown sh:nodeKind {value}")
            kind = str(value).rsplit("#", 1)[-1]
            add("NodeKindConstraintComponent", f"value must be of node kind sh:{kind}", f"{value_pattern} FILTER(!{test})")
        for value in g.objects(source, SH.languageIn):
            tags = [str(t) for t in Collection(g, value)]
            matches = " || ".join(f'langMatches(lang(?v), "{t}")' for t in tags) or "false"
            add("LanguageInConstraintComponent", f"language tag must be one of {', '.join(tags)}",
                f"{value_pattern} FILTER(!(isLiteral(?v) && ({matches})))")
        for predicate, op, name in (
            (SH.minInclusive, ">=", "MinInclusive"), (SH.maxInclusive, "<=", "MaxInclusive"),
            (SH.minExclusive, ">", "MinExclusive"), (SH.maxExclusive, "<", "MaxExclusive"),
        ):
            for value in g.objects(source, predicate):
                add(f"{name}ConstraintComponent", f"value must be {op} {value}",
                    f"{value_pattern} FILTER(!COALESCE(?v {op} {_nt(value)}, false))")
        for predicate, op, name in ((SH.minLength, ">=", "MinLength"), (SH.maxLength, "<=", "MaxLength")):
            for value in g.objects(source, predicate):
                add(f"{name}ConstraintComponent", f"value must have {op} {value} characters",
                    f"{value_pattern} FILTER(isBlank(?v) || !(STRLEN(STR(?v)) {op} {int(str(value))}))")
        for value in g.objects(source, SH.pattern):
            flags = g.value(source, SH.flags)
            flag_arg = f", {_nt(rdflib.Literal(str(flags)))}" if flags is not None else ""
            add("PatternConstraintComponent", f"value must match the pattern {value}",
                f"{value_pattern} FILTER(isBlank(?v) || !REGEX(STR(?v), {_nt(rdflib.Literal(str(value)))}{flag_arg}))")
        for value in g.objects(source, SH["in"]):
            allowed = " ".join(_nt(t) for t in Collection(g, value))
            add("InConstraintComponent", "value is not one of the allowed values",
                f"{value_pattern} FILTER NOT EXISTS {{ VALUES ?allowed {{ {allowed} }} FILTER(sameTerm(?v, ?allowed)) }}")

    # ------------------------------------------------------------ running

    @staticmethod
    def _subclasses_of(store: Store, cls: str, graphs: Sequence[NamedNode] | None, cache: dict[str, list[str]]) -> list[str]:
        """`cls` and its subclasses, asked once per validation."""
        if cls not in cache:
            cache[cls] = ShapesValidator._subclasses(store, cls, graphs)
        return cache[cls]

    @staticmethod
    def _subclasses(store: Store, cls: str, graphs: Sequence[NamedNode] | None) -> list[str]:
        query = f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS.subClassOf}>* <{cls}> }}"
        rows = _run(store, query, graphs)
        found = {str(row["c"].value) for row in rows if isinstance(row["c"], NamedNode)}
        found.add(cls)
        return sorted(found)

    def _focus_pattern(self, target: _Target, store: Store, graphs: Sequence[NamedNode] | None,
                       cache: dict[str, list[str]], *, focused: int | None,
                       class_sizes: Mapping[str, int] | None = None) -> str | None:
        """The pattern binding ?focus to the shape's targets: all of them, or those among the `focused` focus nodes."""
        branches = []
        for cls in target.classes:
            classes = self._subclasses_of(store, cls, graphs, cache)
            values = " ".join(f"<{c}>" for c in classes)
            branches.append(f"{{ ?focus a ?targetClass . VALUES ?targetClass {{ {values} }} }}")
        if target.nodes:
            branches.append(f"{{ VALUES ?focus {{ {' '.join(target.nodes)} }} }}")
        for p in target.subjects_of:
            branches.append(f"{{ ?focus <{p}> ?any }}")
        for p in target.objects_of:
            branches.append(f"{{ ?any <{p}> ?focus }}")
        if not branches:
            return None
        every_target = "{ SELECT DISTINCT ?focus WHERE { " + " UNION ".join(branches) + " } }"
        if focused is None:
            return every_target
        listed = f"GRAPH <{self.FOCUS_GRAPH}> {{ ?focus <{self._FOCUS_MARK}> <{self._FOCUS_MARK}> }}"
        if self._per_node(target, focused, cache, class_sizes):
            # Start from the listed nodes; the target test runs per node (EXISTS), never over the store.
            return f"{listed} FILTER EXISTS {{ {' UNION '.join(branches)} }}"
        # Many focus nodes for few targets: one scan of the targets, joined with the list, is cheaper.
        return f"{every_target} {listed}"

    #: A lookup per focus node costs about this many times a target read in a scan.
    PER_NODE_COST = 10
    #: Without class sizes, up to this many focus nodes are tested one by one.
    PER_NODE_MAX = 5_000

    def _per_node(self, target: _Target, focused: int, cache: dict[str, list[str]], class_sizes: Mapping[str, int] | None) -> bool:
        if class_sizes is None or target.subjects_of or target.objects_of:
            return focused <= self.PER_NODE_MAX
        targets = sum(class_sizes.get(c, 0) for cls in target.classes for c in cache.get(cls, [cls])) + len(target.nodes)
        return focused * self.PER_NODE_COST <= targets

    #: The graph that lists a change's focus nodes while the checks run; it never reaches a published snapshot.
    FOCUS_GRAPH = "urn:x-heritage-hubs:validation-focus"
    _FOCUS_MARK = "urn:x-heritage-hubs:focus"

    def validate(
        self,
        store: Store,
        *,
        focus_graphs: Iterable[str] | None = None,
        data_graphs: Sequence[str] | None = None,
    ) -> list[Violation]:
        """Validate the union of `data_graphs` (all graphs when None).

        With `focus_graphs`, only nodes mentioned in those graphs are checked:
        a load into one graph re-checks what it touched, while links from it
        are still resolved against every graph. `store` must be writable
        then (the nodes are listed in a scratch graph while the checks run).
        """
        if focus_graphs is None:
            return self._run_checks(store, data_graphs, focused=None)
        with self._focus(store) as focus:
            for graph in focus_graphs:
                focus.add_graph_nodes(graph)
            return self._run_checks(store, data_graphs, focused=focus.flush())

    def validate_change(self, old: Store, new: Store, delta: Delta, *, class_sizes: Mapping[str, int] | None = None,
                        store_size: int | None = None) -> list[Violation]:
        """Validate, in the writable store `new`, every node whose conformance the change `delta` from `old` may alter.

        Those are the subjects and objects of every changed statement; for a
        graph changed whole, every node of its old and new content; and, where
        a node gained or lost a type, the nodes that link to it (their
        ``sh:class`` tests see its types). A change to the class hierarchy,
        the default graph as a whole, a restore, or any change under shapes
        with paths longer than one step is validated in full. If
        `old` conformed, the result equals a full validation of `new`.
        `class_sizes` (instances per class, from the statistics) lets each
        check choose between testing the focus nodes one by one and one scan
        of its targets; `store_size` (triples before the change) lets a
        change that is most of the store be checked whole.
        """
        if delta.restored or delta.touches_class_hierarchy() or "" in delta.whole_graphs or not self.shallow_paths:
            return self._run_checks(new, None, focused=None)
        if store_size is not None and delta.whole_graphs:
            # A change that is most of the store (a large load into a small one) is checked whole: listing its
            # nodes and joining each check with the list would cost more than the checks over everything.
            changed = sum(count_triples(new, g) + count_triples(old, g) for g in delta.whole_graphs)
            if changed * 2 >= store_size + changed:
                return self._run_checks(new, None, focused=None)
        if delta.is_empty():
            return []
        with self._focus(new) as focus:
            retyped: set[Node] = set()
            for quad, _added in delta.quads():
                focus.add_quad_nodes(quad)
                if quad.predicate == RDF_TYPE and isinstance(quad.subject, NamedNode | BlankNode):
                    retyped.add(quad.subject)
            for graph in delta.whole_graphs:
                focus.add_graph_nodes(graph)
                for quad in old.quads_for_pattern(None, None, None, NamedNode(graph)):
                    focus.add_quad_nodes(quad)
                    if quad.predicate == RDF_TYPE and isinstance(quad.subject, NamedNode | BlankNode) and quad not in new:
                        retyped.add(quad.subject)
            for node in retyped:
                # sh:class on a value reads the value's types: whatever links to a retyped node (or, for an
                # inverse path, is linked from it) is checked again.
                for quad in new.quads_for_pattern(None, None, node, None):
                    if isinstance(quad.subject, NamedNode | BlankNode):
                        focus.add(quad.subject)
                for quad in new.quads_for_pattern(node, None, None, None):
                    if isinstance(quad.object, NamedNode | BlankNode):
                        focus.add(quad.object)
            return self._run_checks(new, None, focused=focus.flush(), class_sizes=class_sizes)

    @contextlib.contextmanager
    def _focus(self, store: Store) -> Iterator[_FocusNodes]:
        focus = _FocusNodes(store, NamedNode(self.FOCUS_GRAPH), NamedNode(self._FOCUS_MARK))
        try:
            yield focus
        finally:
            store.clear_graph(focus.graph)
            store.remove_graph(focus.graph)

    #: Threads that run the checks of a validation over everything (pyoxigraph evaluates a query without the GIL).
    THREADS = 2

    def _run_checks(self, store: Store, data_graphs: Sequence[str] | None, *, focused: int | None,
                    class_sizes: Mapping[str, int] | None = None) -> list[Violation]:
        """Every check over the targets (`focused` None) or over the `focused` nodes listed in the focus graph."""
        graphs = [NamedNode(g) for g in data_graphs] if data_graphs is not None else None
        class_cache: dict[str, list[str]] = {}

        def run(target_key: str, check: _Check) -> list[Violation]:
            focus = self._focus_pattern(self._targets[target_key], store, graphs, class_cache, focused=focused,
                                        class_sizes=class_sizes)
            if focus is None:
                return []
            query = check.query.replace("{FOCUS}", focus)
            while "{CLASS:" in query:
                start = query.index("{CLASS:")
                end = query.index("}", start)
                cls = query[start + 7:end]
                classes = self._subclasses_of(store, cls, graphs, class_cache)
                query = query[:start] + " ".join(f"<{c}>" for c in classes) + query[end + 1:]
            query = "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n" + query + f" LIMIT {self.MAX_RESULTS_PER_CHECK}"
            found = []
            for row in _run(store, query, graphs):
                value = row["v"] if check.needs_focus_values else None
                found.append(Violation(
                    focus_node=str(row["focus"]),
                    path=check.path,
                    value=str(value) if value is not None else None,
                    constraint=check.component,
                    shape=check.shape,
                    message=check.message,
                    severity=check.severity,
                ))
            return found

        if focused is None and self.THREADS > 1:
            # Everything is checked (a load that is most of the store): the checks share the cores.
            with concurrent.futures.ThreadPoolExecutor(self.THREADS, thread_name_prefix="validation") as pool:
                results = list(pool.map(lambda item: run(*item), self._checks))
        else:
            results = [run(target_key, check) for target_key, check in self._checks]
        violations = [v for found in results for v in found]
        violations.sort(key=lambda v: (v.focus_node, v.path or "", v.constraint, v.value or ""))
        return violations


class _FocusNodes:
    """The nodes a validation checks, written into a scratch graph of the store being validated.

    Each check then starts from that graph and tests the node against its
    shape's targets, so a check costs the number of focus nodes, not the
    number of targets in the store.
    """

    def __init__(self, store: Store, graph: NamedNode, mark: NamedNode) -> None:
        self.store = store
        self.graph = graph
        self.mark = mark
        self._nodes: set[Node] = set()

    def add(self, node: Node) -> None:
        self._nodes.add(node)

    def add_quad_nodes(self, quad: Quad) -> None:
        for term in (quad.subject, quad.object):
            if isinstance(term, NamedNode | BlankNode):
                self._nodes.add(term)

    def add_graph_nodes(self, graph: str) -> None:
        """Every subject and non-literal object of `graph` in the store."""
        for quad in self.store.quads_for_pattern(None, None, None, NamedNode(graph)):
            self.add_quad_nodes(quad)

    def flush(self) -> int:
        """Write the nodes into the focus graph; returns how many there are."""
        quads = (Quad(node, self.mark, self.mark, self.graph) for node in self._nodes)
        if len(self._nodes) > 10_000:
            self.store.bulk_extend(quads)
        else:
            self.store.extend(quads)  # bulk writes files of its own, dear for a few nodes
        return len(self._nodes)


def _run(store: Store, query: str, graphs: Sequence[NamedNode] | None) -> QuerySolutions:
    """A SELECT over the union of all graphs, or of the given ones."""
    if graphs is None:
        return select(store, query, use_default_graph_as_union=True)
    return select(store, query, default_graph=list(graphs))


def validate_with_pyshacl(data: rdflib.Graph, shapes: rdflib.Graph) -> list[Violation]:
    """The reference: pyshacl over an rdflib graph, as :class:`Violation` values."""
    import pyshacl

    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    assert isinstance(report, rdflib.Graph)
    results = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        message = report.value(result, SH.resultMessage)
        severity = report.value(result, SH.resultSeverity)
        results.append(Violation(
            focus_node=_term_str(report.value(result, SH.focusNode)),
            path=str(path) if isinstance(path, rdflib.URIRef) else (None if path is None else "complex"),
            value=_term_str(value) if value is not None else None,
            constraint=str(report.value(result, SH.sourceConstraintComponent)),
            shape=str(report.value(result, SH.sourceShape)),
            message=str(message) if message is not None else "",
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
        ))
    return results


def _term_str(term: rdflib.term.Node | None) -> str:
    if isinstance(term, rdflib.URIRef):
        return f"<{term}>"
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    if isinstance(term, rdflib.Literal):
        return str(term.n3())
    return str(term)
