"""What the ontology entails from the asserted data, kept in a derived graph (`{base}graph/entailed`).

A researcher asks in CIDOC-CRM terms; the data says `hh:` shortcuts. The entailed graph holds, for the current
generation:

* types up the class hierarchy (`rdfs:subClassOf`, transitively: a museum is an `hh:Institution` and a `crm:E74_Group`);
* statements up the property hierarchy (`rdfs:subPropertyOf`) and their inverses (`owl:inverseOf`), in any order
  (a museum's `hh:partnerOf` a hub gives the hub `hh:hasPartner` the museum and `crm:P107_has_current_or_former_member`);
* the full CRM path of each shortcut property (`hh:crmPath`), through nodes named from the statement they expand
  (`{base}.well-known/genid/crm-…`, so they dereference and stay the same from one write to the next);
* the transitive closure of properties declared `owl:TransitiveProperty` (`crm:P89_falls_within`), and its inverse.

It is updated inside the commit of the write that causes it (:func:`apply`), before validation (which then reads it
as it will be; its focus nodes are still those of the write alone), from the write's delta: each asserted statement
added brings what it entails; each one removed takes away what nothing else still supports. A change to the
ontology itself or a restore rebuilds it from every asserted graph; a graph changed whole is read from the commit's
one N-Triples dump of it, as text (flat memory). It is never user data: no write may name it, validation never takes
a node of it as its focus, the feed leaves it out, and `/sparql?entailment=none` queries the asserted graphs only.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, RdfFormat, Store, Triple

from .delta import RDF_TYPE, Delta, graph_term
from .iris import CRM, Namespaces
from .provenance import count_triples

SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
SUBPROPERTY = "http://www.w3.org/2000/01/rdf-schema#subPropertyOf"
INVERSE = "http://www.w3.org/2002/07/owl#inverseOf"
TRANSITIVE = "http://www.w3.org/2002/07/owl#TransitiveProperty"
_CLASS_IN_PATH = re.compile(r"^(E\d+\w*)(?:\s*\((P2_has_type)\s+([^)]+)\))?$")
_PROPERTY_IN_PATH = re.compile(r"^P\d+i?\w*$")

#: CIDOC-CRM 7.1's own inverses of the properties our alignment reaches, and its transitive property. They are CRM's
#: statements, not ours to publish in our ontology (which says nothing about terms it does not own): the rules add
#: them to what the ontology graph says.
CRM_INVERSES = tuple((CRM + a, CRM + b) for a, b in (
    ("P107_has_current_or_former_member", "P107i_is_current_or_former_member_of"),
    ("P74_has_current_or_former_residence", "P74i_is_current_or_former_residence_of"),
    ("P53_has_former_or_current_location", "P53i_is_former_or_current_location_of"),
    ("P50_has_current_keeper", "P50i_is_current_keeper_of"),
    ("P51_has_former_or_current_owner", "P51i_is_former_or_current_owner_of"),
    ("P103_was_intended_for", "P103i_was_intention_of"),
    ("P67_refers_to", "P67i_is_referred_to_by"),
    ("P129_is_about", "P129i_is_subject_of"),
    ("P14_carried_out_by", "P14i_performed"),
    ("P7_took_place_at", "P7i_witnessed"),
    ("P16_used_specific_object", "P16i_was_used_for"),
    ("P125_used_object_of_type", "P125i_was_type_of_object_used_in"),
    ("P2_has_type", "P2i_is_type_of"),
    ("P95_has_formed", "P95i_was_formed_by"),
    ("P4_has_time-span", "P4i_is_time-span_of"),
    ("P89_falls_within", "P89i_contains"),
))
CRM_TRANSITIVE = (CRM + "P89_falls_within",)

Term = NamedNode | BlankNode
Object = NamedNode | BlankNode | Literal


def entailed_graph(namespaces: Namespaces) -> str:
    return namespaces.graph("entailed")


class _Asserted:
    """A snapshot read without the entailed graph, for what documents show (what was asserted, in its graphs)."""

    def __init__(self, store: Store, hidden: str) -> None:
        self._store = store
        self._hidden = NamedNode(hidden)
        self.hidden_graph = hidden

    def quads_for_pattern(self, subject: object = None, predicate: object = None, obj: object = None,
                          graph_name: object = None) -> Iterator[Quad]:
        found = self._store.quads_for_pattern(subject, predicate, obj, graph_name)  # type: ignore[arg-type]
        if graph_name is not None:
            return found
        return (q for q in found if q.graph_name != self._hidden)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def asserted(store: Store, namespaces: Namespaces) -> Store:
    """`store` as documents read it: every graph but the entailed one (a view; SPARQL still sees the union)."""
    return _Asserted(store, entailed_graph(namespaces))  # type: ignore[return-value]


@dataclass
class Step:
    """One hop of a CRM path: the property to it, and (for a node in between) the node's class and type."""

    property: NamedNode
    node_class: NamedNode | None = None
    node_type: NamedNode | None = None


@dataclass
class Rules:
    """The ontology as rules: every entailment is a function of one asserted statement, but for transitivity."""

    super_classes: dict[str, list[NamedNode]] = field(default_factory=dict)
    #: property → every (inverted, property) one statement with it entails, itself excluded.
    property_closure: dict[str, list[tuple[bool, NamedNode]]] = field(default_factory=dict)
    #: property → every (inverted, property) whose statements entail a statement with it (its premises).
    supporters: dict[str, list[tuple[bool, NamedNode]]] = field(default_factory=dict)
    sub_classes: dict[str, list[NamedNode]] = field(default_factory=dict)
    paths: dict[str, list[Step]] = field(default_factory=dict)
    #: transitive property → its inverse, if declared.
    transitive: dict[str, NamedNode | None] = field(default_factory=dict)
    base: str = ""

    # -------------------------------------------------------------- entailing

    def text_tables(self) -> TextRules:
        """The same rules over N-Triples text (see :func:`_entail_text`)."""
        return TextRules(
            classes={f"<{c}>": [str(x) for x in above] for c, above in self.super_classes.items()},
            properties={f"<{p}>": [(inverted, str(q)) for inverted, q in reached] for p, reached in self.property_closure.items()},
            paths={f"<{p}>": steps for p, steps in self.paths.items()},
            base=self.base)

    def entail(self, triple: Triple) -> Iterator[Triple]:
        """What one asserted statement entails (never itself), transitivity aside."""
        yield from self._through(triple, self.super_classes, self.property_closure)
        if triple.predicate != RDF_TYPE and not isinstance(triple.subject, Triple) and not isinstance(triple.object, Triple):
            yield from self._path(triple.subject, triple.predicate, triple.object)

    def premises(self, triple: Triple) -> Iterator[Triple]:
        """The asserted statements that would entail `triple` by one rule (what may still support it)."""
        yield from self._through(triple, self.sub_classes, self.supporters)

    @staticmethod
    def _through(triple: Triple, classes: dict[str, list[NamedNode]],
                 properties: dict[str, list[tuple[bool, NamedNode]]]) -> Iterator[Triple]:
        """`triple` carried along a class table (for rdf:type) or a property table ((inverted, property) pairs)."""
        s, p, o = triple.subject, triple.predicate, triple.object
        if isinstance(s, Triple) or isinstance(o, Triple):
            return
        if p == RDF_TYPE:
            if isinstance(o, NamedNode):
                for cls in classes.get(o.value, ()):
                    yield Triple(s, RDF_TYPE, cls)
            return
        for inverted, q in properties.get(p.value, ()):
            if not inverted:
                yield Triple(s, q, o)
            elif not isinstance(o, Literal):
                yield Triple(o, q, s)

    def _path(self, s: Term, p: NamedNode, o: Object) -> Iterator[Triple]:
        steps = self.paths.get(p.value)
        if not steps:
            return
        digest = hashlib.sha256(f"{s}\x00{p}\x00{o}".encode()).hexdigest()[:20]
        current: Term = s
        for index, step in enumerate(steps):
            if step.node_class is None:
                yield Triple(current, step.property, o)
                return
            node = NamedNode(f"{self.base}.well-known/genid/crm-{digest}-{index}")
            yield Triple(current, step.property, node)
            yield Triple(node, RDF_TYPE, step.node_class)
            if step.node_type is not None:
                yield Triple(node, NamedNode(CRM + "P2_has_type"), step.node_type)
            current = node


@dataclass
class TextRules:
    """:class:`Rules` keyed by terms as N-Triples writes them, producing statements as text (`s p o`)."""

    classes: dict[str, list[str]]
    properties: dict[str, list[tuple[bool, str]]]
    paths: dict[str, list[Step]]
    base: str

    def entail(self, s: str, p: str, o: str) -> Iterator[str]:
        """What :meth:`Rules.entail` gives for the statement `s p o` (terms in N-Triples, no blank node)."""
        if p == _TYPE_TEXT:
            for cls in self.classes.get(o, ()):
                yield f"{s} {_TYPE_TEXT} {cls}"
            return
        for inverted, q in self.properties.get(p, ()):
            if not inverted:
                yield f"{s} {q} {o}"
            elif not o.startswith('"'):
                yield f"{o} {q} {s}"
        steps = self.paths.get(p)
        if not steps:
            return
        # The same digest as Rules._path: a term's str() is how N-Triples writes it.
        digest = hashlib.sha256(f"{s}\x00{p}\x00{o}".encode()).hexdigest()[:20]
        current = s
        for index, step in enumerate(steps):
            if step.node_class is None:
                yield f"{current} {step.property} {o}"
                return
            node = f"<{self.base}.well-known/genid/crm-{digest}-{index}>"
            yield f"{current} {step.property} {node}"
            yield f"{node} {_TYPE_TEXT} {step.node_class}"
            if step.node_type is not None:
                yield f"{node} <{CRM}P2_has_type> {step.node_type}"
            current = node


_TYPE_TEXT = str(RDF_TYPE)


def _closure(edges: dict[str, set[str]], start: str) -> list[str]:
    seen: list[str] = []
    frontier = list(edges.get(start, ()))
    while frontier:
        item = frontier.pop()
        if item != start and item not in seen:
            seen.append(item)
            frontier.extend(edges.get(item, ()))
    return seen


def _parse_path(text: str, namespaces: Namespaces) -> list[Step] | None:
    """`E74_Group → P43_has_dimension → E54_Dimension (P2_has_type number of members) → P90_has_value` as steps; the
    last element is the property to the value, or the class of the object (then the property before it leads there)."""
    parts = [part.strip() for part in text.split("→")]
    if len(parts) < 3:
        return None
    parts = parts[1:]  # the subject's class
    if _CLASS_IN_PATH.match(parts[-1]):
        parts = parts[:-1]  # the object's class
    steps: list[Step] = []
    for index in range(0, len(parts), 2):
        if not _PROPERTY_IN_PATH.match(parts[index]):
            return None
        step = Step(NamedNode(CRM + parts[index]))
        if index + 1 < len(parts):
            found = _CLASS_IN_PATH.match(parts[index + 1])
            if found is None:
                return None
            step.node_class = NamedNode(CRM + found[1])
            if found[3]:
                step.node_type = NamedNode(namespaces.thing("concept", re.sub(r"[^a-z0-9]+", "-", found[3].lower()).strip("-")))
        steps.append(step)
    return steps


def load_rules(store: Store, namespaces: Namespaces) -> Rules:
    """The rules the ontology graph of `store` states."""
    graph = NamedNode(namespaces.ontology_graph)
    supers: dict[str, set[str]] = defaultdict(set)
    super_properties: dict[str, set[str]] = defaultdict(set)
    inverses: dict[str, set[str]] = defaultdict(set)
    paths: dict[str, list[Step]] = {}
    transitive: set[str] = set()
    crm_path = namespaces.ontology + "crmPath"
    for quad in store.quads_for_pattern(None, None, None, graph):
        s, p, o = quad.subject, quad.predicate.value, quad.object
        if not isinstance(s, NamedNode):
            continue
        if p == SUBCLASS and isinstance(o, NamedNode):
            supers[s.value].add(o.value)
        elif p == SUBPROPERTY and isinstance(o, NamedNode):
            super_properties[s.value].add(o.value)
        elif p == INVERSE and isinstance(o, NamedNode):
            inverses[s.value].add(o.value)
            inverses[o.value].add(s.value)
        elif p == RDF_TYPE.value and o == NamedNode(TRANSITIVE):
            transitive.add(s.value)
        elif p == crm_path and isinstance(o, Literal):
            parsed = _parse_path(o.value, namespaces)
            if parsed:
                paths[s.value] = parsed
    for a, b in CRM_INVERSES:
        inverses[a].add(b)
        inverses[b].add(a)
    transitive.update(CRM_TRANSITIVE)
    rules = Rules(paths=paths, base=namespaces.base)
    for cls in supers:
        rules.super_classes[cls] = [NamedNode(c) for c in sorted(_closure(supers, cls))]
    subs: dict[str, list[NamedNode]] = defaultdict(list)
    for cls, above in rules.super_classes.items():
        for parent in above:
            subs[parent.value].append(NamedNode(cls))
    rules.sub_classes = dict(subs)
    # A statement with p entails statements with every property reachable from (forward, p) by going up the
    # hierarchy (same direction) or across an inverse (the other direction).
    for prop in set(super_properties) | set(inverses):
        seen: set[tuple[bool, str]] = {(False, prop)}
        frontier = [(False, prop)]
        while frontier:
            inverted, current = frontier.pop()
            for nxt in [(inverted, q) for q in super_properties.get(current, ())] + [(not inverted, q) for q in inverses.get(current, ())]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        seen.discard((False, prop))
        rules.property_closure[prop] = [(inverted, NamedNode(q)) for inverted, q in sorted(seen)]
    supporters: dict[str, list[tuple[bool, NamedNode]]] = defaultdict(list)
    for prop, reached in rules.property_closure.items():
        for inverted, q in reached:
            supporters[q.value].append((inverted, NamedNode(prop)))
    rules.supporters = dict(supporters)
    for prop in transitive:
        inverse = sorted(inverses.get(prop, ()))
        rules.transitive[prop] = NamedNode(inverse[0]) if inverse else None
    return rules


# ------------------------------------------------------------------ the graph


Graph = NamedNode | DefaultGraph


def _asserted_graphs(store: Store, skip: set[str]) -> list[Graph]:
    """The default graph and every named graph but those in `skip`."""
    return [DefaultGraph(), *(g for g in store.named_graphs() if isinstance(g, NamedNode) and g.value not in skip)]


def _asserted(store: Store, triple: Triple, graphs: list[Graph]) -> bool:
    """Whether `triple` is stated in one of `graphs` (or the default graph)."""
    for graph in graphs:
        if next(iter(store.quads_for_pattern(triple.subject, triple.predicate, triple.object, graph)), None) is not None:
            return True
    return False


#: What :func:`apply` answers when it rebuilt the graph (its size is then counted, not followed).
REBUILT = -1 << 62


def rebuild(store: Store, namespaces: Namespaces) -> None:
    """Entail everything from every asserted graph into a fresh entailed graph.

    Streamed, a batch at a time: memory stays flat whatever the store's size (the store drops duplicates).
    """
    target = NamedNode(entailed_graph(namespaces))
    if store.contains_named_graph(target):
        store.remove_graph(target)
    store.add_graph(target)  # there even when nothing is entailed: its absence means "never built"
    rules = load_rules(store, namespaces)
    graphs = _asserted_graphs(store, _skipped(namespaces))
    for graph in graphs:
        _extend(store, target, (e for quad in store.quads_for_pattern(None, None, None, graph) for e in rules.entail(quad.triple)))
    _extend(store, target, iter(_transitive_closure(store, rules, graphs)))


def _extend(store: Store, target: NamedNode, triples: Iterator[Triple], batch: int = 100_000) -> None:
    while chunk := [Quad(t.subject, t.predicate, t.object, target) for t in itertools.islice(triples, batch)]:
        # The work copy is thrown away if the commit fails, so a large batch may skip the store's own transaction.
        store.bulk_extend(chunk) if len(chunk) > 10_000 else store.extend(chunk)


def _entail_text(store: Store, target: NamedNode, statements: Iterable[tuple[str, str, str]], rules: Rules, graph: Graph,
                 path: str) -> bool:
    """Add what the `statements` of `graph` (terms as N-Triples writes them: :meth:`Delta.statements`) entail, as
    :meth:`Rules.entail` would; True if one of them has a transitive property (or its inverse).

    A large load's statements are rewritten as text into the temporary file `path` (removed after) that the store's
    bulk loader reads in one go: ten times cheaper than a store term per statement, and half the cost of loading it
    in batches. A statement with a blank node goes through :meth:`Rules.entail` instead (the parser would give the
    node a new name): its subject's statements are read from the store.
    """
    tables = rules.text_tables()
    transitive = {f"<{p}>" for p in rules.transitive} | {str(i) for i in rules.transitive.values() if i is not None}
    suffix = f" {target} .\n"
    blank_subjects: list[str] = []
    seen_transitive = False
    written = 0
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            for subject, predicate, obj in statements:
                if subject.startswith("<<") or obj.startswith("<<"):
                    continue  # a statement about a statement entails nothing (Rules.entail)
                if not seen_transitive and predicate in transitive:
                    seen_transitive = True
                if subject.startswith("_:") or obj.startswith("_:"):
                    if not blank_subjects or blank_subjects[-1] != subject:  # a subject's lines are consecutive
                        blank_subjects.append(subject)
                    continue
                for statement in tables.entail(subject, predicate, obj):
                    out.write(statement + suffix)
                    written += 1
        if written:
            store.bulk_load(path=path, format=RdfFormat.N_QUADS)
    finally:
        os.remove(path)
    for text in dict.fromkeys(blank_subjects):
        term: Term = BlankNode(text[2:]) if text.startswith("_:") else NamedNode(text[1:-1])
        quads = (q for q in store.quads_for_pattern(term, None, None, graph)
                 if isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode))
        _extend(store, target, (e for q in quads for e in rules.entail(q.triple)))
    return seen_transitive


def _skipped(namespaces: Namespaces) -> set[str]:
    """Graphs that are not asserted data: the entailed graph, the metadata, the shapes."""
    return {entailed_graph(namespaces), namespaces.metadata_graph, namespaces.shapes_graph}


def _transitive_closure(store: Store, rules: Rules, graphs: list[Graph]) -> set[Triple]:
    """The statements transitivity adds (and their inverses) beyond the asserted ones."""
    added: set[Triple] = set()
    for prop, inverse in rules.transitive.items():
        predicate = NamedNode(prop)
        edges: dict[Term, set[Term]] = defaultdict(set)
        for graph in graphs:
            for quad in store.quads_for_pattern(None, predicate, None, graph):
                if isinstance(quad.subject, NamedNode | BlankNode) and isinstance(quad.object, NamedNode | BlankNode):
                    edges[quad.subject].add(quad.object)
            if inverse is not None:  # `b P89i a` says `a P89 b`
                for quad in store.quads_for_pattern(None, inverse, None, graph):
                    if isinstance(quad.subject, NamedNode | BlankNode) and isinstance(quad.object, NamedNode | BlankNode):
                        edges[quad.object].add(quad.subject)
        for start in list(edges):
            reached: set[Term] = set()
            frontier = list(edges[start])
            while frontier:
                node = frontier.pop()
                if node in reached or node == start:
                    continue
                reached.add(node)
                frontier.extend(edges.get(node, ()))
            for far in reached - edges[start]:
                added.add(Triple(start, predicate, far))
                if inverse is not None:
                    added.add(Triple(far, inverse, start))
    return added


def apply(store: Store, old: Store, delta: Delta, namespaces: Namespaces) -> int | None:
    """Bring the entailed graph of `store` (the write's new state) in step with the write's `delta` (from `old`).

    Returns how many statements the graph gained (less those it lost), :data:`REBUILT` if it was rebuilt (the caller
    counts it), or None if the write changed nothing it depends on.
    """
    target = NamedNode(entailed_graph(namespaces))
    skip = _skipped(namespaces)
    changes = {g: c for g, c in delta.graphs.items() if g not in skip}
    if not changes and not delta.restored:
        return None
    if delta.restored or namespaces.ontology_graph in changes or not store.contains_named_graph(target):
        rebuild(store, namespaces)
        return REBUILT
    rules = load_rules(store, namespaces)
    graphs = _asserted_graphs(store, skip)
    family = {NamedNode(p) for p in rules.transitive} | {i for i in rules.transitive.values() if i is not None}
    touched: list[bool] = []

    def watched(triples: Iterable[Triple]) -> Iterator[Triple]:
        for triple in triples:
            if triple.predicate in family and not touched:
                touched.append(True)
            yield triple

    # What was added: everything it entails goes in (what is already there stays once). A graph changed whole is
    # read as text from the commit's dump of it (_entail_text): a large load costs its own size, in flat memory.
    whole = [graph_term(g) for g, c in changes.items() if c.whole]
    listed_added = {q.triple for c in changes.values() if not c.whole for q in c.added}
    listed_removed = {q.triple for c in changes.values() if not c.whole for q in c.removed}
    unchanged = listed_added & listed_removed
    before = count_triples(store, target.value) if whole else 0
    to_add = {e for t in watched(listed_added - unchanged) for e in rules.entail(t)}
    for graph in (g for g, c in changes.items() if c.whole):
        if _entail_text(store, target, delta.statements(store, graph), rules, graph_term(graph), delta.scratch_file(".nq")):
            touched.append(True)
    # What was removed: what it entailed goes, unless another asserted statement (in any graph) still supports it.
    removed = (listed_removed - unchanged) | {q.triple for g in whole for q in old.quads_for_pattern(None, None, None, g)
                                              if Quad(q.subject, q.predicate, q.object, g) not in store}
    gone = {t for t in watched(removed) if not _asserted(store, t, graphs)}
    candidates = {e for t in gone for e in rules.entail(t)} - to_add
    to_remove = {e for e in candidates if not any(_asserted(store, p, graphs) for p in rules.premises(e))}
    if touched:
        # The closure is recomputed whole (places are few); what single statements entail with these properties stays.
        closure = _transitive_closure(store, rules, graphs)
        for predicate in family:
            for quad in store.quads_for_pattern(None, predicate, None, target):
                if quad.triple not in closure and quad.triple not in to_add \
                        and not any(_asserted(store, p, graphs) for p in rules.premises(quad.triple)):
                    to_remove.add(quad.triple)
        to_add |= closure
    change = 0
    for triple in to_remove:
        quad = Quad(triple.subject, triple.predicate, triple.object, target)
        if quad in store:
            store.remove(quad)
            change -= 1
    fresh = [q for q in (Quad(t.subject, t.predicate, t.object, target) for t in to_add) if q not in store]
    store.extend(fresh)
    change += len(fresh)
    if whole:
        return count_triples(store, target.value) - before  # counted: what the streamed additions added is not followed one by one
    return change if change or to_remove or to_add else None

