"""The change feed: a Linked Data Event Stream of resource versions.

Every commit that changes data records, in the same write, one *member* per
resource whose description changed: a version object that carries the
resource's statements (with their blank-node closure), ``dct:isVersionOf`` the
resource and ``prov:generatedAtTime`` the commit time; a resource that no
longer has any statement gets an ``as:Delete`` member. The metadata graph
(provenance, statistics) is not part of the feed: it is rewritten on every
commit and is derived from the rest.

Members live in ``STORE/feed.sqlite`` with a sequence number; page ``k`` holds
the members numbered ``k*N … k*N+N-1``. A page is immutable once a later page
has members; the newest page grows until it is full. Rows are written before
the snapshot is published and tagged with its generation, and readers only see
rows of published generations, so the feed and the store never disagree.

Retention: members of the oldest pages go when they are older than the
retention period *and* superseded (a later version of the same resource
exists, or they record a deletion). Pages are removed from the front only, so
a relation never points at a removed page, and the latest version of every
existing resource is always kept: reading the whole feed from its root gives
the same triples as a dump.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Store, Triple, parse, serialize

from .delta import Delta, graph_term, has_quads
from .sqlite_files import SqliteFile

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
DCT = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
TIMESTAMP_PATH = NamedNode(PROV + "generatedAtTime")
VERSION_OF_PATH = NamedNode(DCT + "isVersionOf")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    seq INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    time TEXT NOT NULL,
    resource TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS members_by_resource ON members (resource, seq);
CREATE INDEX IF NOT EXISTS members_by_generation ON members (generation);
CREATE INDEX IF NOT EXISTS members_by_time ON members (time);
"""
_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class FeedPolicy:
    """How the feed is paged and how long superseded versions are kept."""

    page_size: int = 500
    retention_days: int = 90

    @classmethod
    def from_environment(cls) -> FeedPolicy:
        """The policy set by HERITAGE_HUBS_FEED_PAGE_SIZE and HERITAGE_HUBS_FEED_RETENTION_DAYS (README, "Settings")."""
        return cls(page_size=int(os.environ.get("HERITAGE_HUBS_FEED_PAGE_SIZE") or 500),
                   retention_days=int(os.environ.get("HERITAGE_HUBS_FEED_RETENTION_DAYS") or 90))

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("the feed page size must be at least 1")
        if self.retention_days < 0:
            raise ValueError("the feed retention must be zero or more days")


@dataclass(frozen=True)
class Member:
    seq: int
    time: str
    resource: str
    deleted: bool
    body: str


@dataclass(frozen=True)
class Page:
    """One page of the feed as a reader sees it."""

    number: int
    members: list[Member]
    next_time: str | None  # the relation to the next page, when that page has members
    immutable: bool

    @property
    def etag(self) -> str:
        last = self.members[-1].seq if self.members else -1
        return f"feed-{self.number}-{last}-{'i' if self.immutable else 'm'}"


def _time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class ChangeFeed:
    """The feed of one store directory (see the module docstring)."""

    def __init__(self, root: Path, base_iri: str, policy: FeedPolicy | None = None) -> None:
        self.path = Path(root) / "feed.sqlite"
        self.base = base_iri
        self.policy = policy or FeedPolicy.from_environment()
        self._file = SqliteFile(self.path, _SCHEMA)
        self._page_size: int | None = None  # read once: it never changes after the feed is created
        self._page_starts: tuple[int, list[tuple[int, str]]] | None = None

    # ------------------------------------------------------------ IRIs

    def stream_iri(self, server: str) -> str:
        """The stream's IRI: the URL a client is given (`{server}/feed`), so a client finds the stream it asked for."""
        return server + "/feed"

    def member_iri(self, server: str, page_size: int, seq: int) -> str:
        """A version's IRI: stable, and dereferenceable to the page that holds it."""
        return f"{server}/feed/page/{seq // page_size}#m{seq}"

    # ------------------------------------------------------------ database

    def _reader(self) -> sqlite3.Connection:
        return self._file.reader()

    def page_size(self) -> int:
        """The page size fixed when the feed was created (later settings do not move page boundaries)."""
        if self._page_size is not None:
            return self._page_size
        if not self.path.exists():
            return self.policy.page_size
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'page_size'").fetchone()
        if row is None:
            return self.policy.page_size
        self._page_size = int(row[0])
        return self._page_size

    # ------------------------------------------------------------ writing

    def record(self, old: Store, new: Store, graphs: Iterable[str], *, generation: int, exclude_graph: Collection[str]) -> set[str]:
        """Append the members for the change from `old` to `new` in `graphs`; returns the resources that changed.

        Call with the store's write lock held, before `generation` is published.
        """
        graphs = [g for g in graphs if g not in exclude_graph]
        changed = changed_resources(old, new, graphs)
        self._append(old, new, changed, graphs, generation=generation, exclude_graph=exclude_graph, bulk=True)
        return changed

    def record_delta(self, old: Store, new: Store, delta: Delta, *, generation: int, exclude_graph: Collection[str]) -> set[str]:
        """Like :meth:`record`, for the resources `delta` changed (its cost follows the delta, not the graphs)."""
        graphs = [g for g in delta.graphs if g not in exclude_graph]
        changed = resources_changed_by(old, new, delta, exclude_graph)
        self._append(old, new, changed, graphs, generation=generation, exclude_graph=exclude_graph, bulk=bool(delta.whole_graphs),
                     delta=delta)
        return changed

    def _append(self, old: Store, new: Store, changed: set[str], graphs: list[str], *, generation: int, exclude_graph: Collection[str],
                bulk: bool, delta: Delta | None = None) -> None:
        with self._file.transaction() as connection:
            # Rows of a generation that was never published (a crash between
            # this write and the publish) go before anything new is numbered.
            connection.execute("DELETE FROM members WHERE generation >= ?", (generation,))
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('page_size', ?)", (str(self.policy.page_size),))
            page_size = int(connection.execute("SELECT value FROM meta WHERE key = 'page_size'").fetchone()[0])
            newest = connection.execute("SELECT MAX(seq) FROM members").fetchone()[0]
            seq = 0 if newest is None else newest + 1
            last = connection.execute("SELECT MAX(time) FROM members").fetchone()[0]
            moment = datetime.now(UTC)
            if last is not None and moment <= _parse_time(last):
                moment = _parse_time(last) + timedelta(microseconds=1)  # member times never go backwards
            stamp = _time_text(moment)
            rows = []
            for number, resource, deleted, body in member_rows(old, new, changed, graphs, first=seq, exclude_graph=exclude_graph,
                                                                bulk=bulk, delta=delta):
                rows.append((number, generation, stamp, resource, 1 if deleted else 0, body))
                if len(rows) >= _ROWS_PER_BATCH:  # a large load's bodies are as large as its data: never all in memory twice
                    connection.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)", rows)
                    rows.clear()
            connection.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._prune(connection, page_size, moment)

    def discard(self, generation: int) -> None:
        """Forget the members of a generation that was not published after all."""
        if not self.path.exists():
            return
        with self._file.transaction() as connection:
            connection.execute("DELETE FROM members WHERE generation >= ?", (generation,))

    def forget_unpublished(self, published: int) -> int:
        """Remove members written for generations after `published` (a commit that crashed before its publish); how many."""
        if not self.path.exists():
            return 0
        with self._file.transaction() as connection:
            return int(connection.execute("DELETE FROM members WHERE generation > ?", (published,)).rowcount)

    def _prune(self, connection: sqlite3.Connection, page_size: int, now: datetime) -> None:
        cutoff = _time_text(now - timedelta(days=self.policy.retention_days))
        newest = connection.execute("SELECT MAX(seq) FROM members").fetchone()[0]
        if newest is None:
            return
        # Member times grow with their numbers, so only whole pages before the
        # first member inside the retention period can go: scan just those.
        recent = connection.execute("SELECT MIN(seq) FROM members WHERE time >= ?", (cutoff,)).fetchone()[0]
        last_page = min(newest, recent if recent is not None else newest) // page_size
        pages = connection.execute(
            """SELECT seq / ?1 AS page, COUNT(*),
                      SUM(CASE WHEN time < ?2 AND (deleted = 1 OR EXISTS (
                              SELECT 1 FROM members later WHERE later.resource = m.resource AND later.seq > m.seq))
                          THEN 1 ELSE 0 END)
               FROM members m WHERE seq < ?3 GROUP BY page ORDER BY page""",
            (page_size, cutoff, last_page * page_size)).fetchall()
        removable = 0
        for _, count, prunable in pages:
            if count != prunable:
                break  # only a prefix of pages goes, so no relation ever points at a removed page
            removable += 1
        if removable:
            first_kept = pages[removable][0] if removable < len(pages) else last_page
            connection.execute("DELETE FROM members WHERE seq < ?", (first_kept * page_size,))

    # ------------------------------------------------------------ reading

    def first_page(self, generation: int) -> int | None:
        if not self.path.exists():
            return None
        row = self._reader().execute("SELECT MIN(seq) FROM members WHERE generation <= ?", (generation,)).fetchone()
        return None if row[0] is None else int(row[0]) // self.page_size()

    def page(self, number: int, generation: int) -> Page | None:
        """Page `number` as of `generation`; None when it does not exist (yet, or any more)."""
        if not self.path.exists() or not 0 <= number < 2**40:  # beyond, no page can exist (and SQLite takes 64-bit numbers)
            return None
        size = self.page_size()
        connection = self._reader()
        rows = connection.execute(
            "SELECT seq, time, resource, deleted, body FROM members WHERE seq >= ? AND seq < ? AND generation <= ? ORDER BY seq",
            (number * size, (number + 1) * size, generation)).fetchall()
        if not rows:
            return None
        following = connection.execute(
            "SELECT MIN(time) FROM members WHERE seq >= ? AND generation <= ?", ((number + 1) * size, generation)).fetchone()[0]
        members = [Member(seq, time, resource, bool(deleted), body) for seq, time, resource, deleted, body in rows]
        # The relation's value is a lower bound for every member on the next page: the last time on this one.
        return Page(number, members, members[-1].time if following is not None else None, following is not None)

    def page_starts(self, generation: int) -> list[tuple[int, str]]:
        """Every page as of `generation` with the time of its first member (a lower bound for all of its members).

        The root view relates to each page, so a client resuming from saved state reaches every page that was not
        immutable when it last read it, whatever became of the pages in between. Computed once per generation.
        """
        if not self.path.exists():
            return []
        cached = self._page_starts
        if cached is not None and cached[0] == generation:
            return cached[1]
        rows = self._reader().execute("SELECT seq / ?, MIN(time) FROM members WHERE generation <= ? GROUP BY seq / ? ORDER BY 1",
                                      (self.page_size(), generation, self.page_size())).fetchall()
        starts = [(int(number), str(time)) for number, time in rows]
        self._page_starts = (generation, starts)
        return starts

    def statistics(self, generation: int) -> tuple[int, int]:
        """(members, resources) visible at `generation`."""
        if not self.path.exists():
            return 0, 0
        row = self._reader().execute("SELECT COUNT(*), COUNT(DISTINCT resource) FROM members WHERE generation <= ?",
                                     (generation,)).fetchone()
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------ as RDF

    def stream_triples(self, generation: int, server: str) -> list[Triple]:
        """The stream and its root view: paths, retention policy and the way in.

        `server` is where the pages are served: the view and pages are
        hypermedia controls, so they point at the serving host (members keep
        canonical IRIs).
        """
        stream, view = NamedNode(self.stream_iri(server)), NamedNode(server + "/feed/view")
        policy_time, policy_versions = BlankNode(), BlankNode()
        triples = [
            Triple(stream, RDF_TYPE, NamedNode(LDES + "EventStream")),
            Triple(stream, NamedNode(LDES + "timestampPath"), TIMESTAMP_PATH),
            Triple(stream, NamedNode(LDES + "versionOfPath"), VERSION_OF_PATH),
            # A member typed as:Delete says its resource is gone (LDES §4.3: version delete path and object).
            Triple(stream, NamedNode(LDES + "versionDeletePath"), RDF_TYPE),
            Triple(stream, NamedNode(LDES + "versionDeleteObject"), NamedNode(AS + "Delete")),
            Triple(stream, NamedNode(TREE + "view"), view),
            Triple(view, RDF_TYPE, NamedNode(TREE + "Node")),
            # What the view promises to keep: members of the last N days, and at least the latest version of each.
            Triple(view, NamedNode(LDES + "retentionPolicy"), policy_time),
            Triple(policy_time, RDF_TYPE, NamedNode(LDES + "DurationAgoPolicy")),
            Triple(policy_time, NamedNode(TREE + "value"),
                   Literal(f"P{self.policy.retention_days}D", datatype=NamedNode(XSD + "duration"))),
            Triple(view, NamedNode(LDES + "retentionPolicy"), policy_versions),
            Triple(policy_versions, RDF_TYPE, NamedNode(LDES + "LatestVersionSubset")),
            Triple(policy_versions, NamedNode(LDES + "amount"), Literal("1", datatype=NamedNode(XSD + "integer"))),
        ]
        # A relation to every page (the first plainly, the others from the time their members start), so that a
        # client that resumes reaches every page it has not seen as immutable: it does not re-read those.
        for index, (number, start) in enumerate(self.page_starts(generation)):
            relation = BlankNode()
            triples += [
                Triple(view, NamedNode(TREE + "relation"), relation),
                Triple(relation, NamedNode(TREE + "node"), NamedNode(f"{server}/feed/page/{number}")),
            ]
            if index == 0:
                triples.append(Triple(relation, RDF_TYPE, NamedNode(TREE + "Relation")))
            else:
                triples += [
                    Triple(relation, RDF_TYPE, NamedNode(TREE + "GreaterThanOrEqualToRelation")),
                    Triple(relation, NamedNode(TREE + "path"), TIMESTAMP_PATH),
                    Triple(relation, NamedNode(TREE + "value"), Literal(start, datatype=NamedNode(XSD + "dateTime"))),
                ]
        return triples

    def page_triples(self, page: Page, server: str) -> Iterator[Triple]:
        """A page: its node, the relation to the next page, and its members with their statements."""
        stream, node = NamedNode(self.stream_iri(server)), NamedNode(f"{server}/feed/page/{page.number}")
        yield Triple(node, RDF_TYPE, NamedNode(TREE + "Node"))
        yield Triple(node, NamedNode(DCT + "isPartOf"), stream)
        if page.next_time is not None:
            relation = BlankNode()
            yield Triple(node, NamedNode(TREE + "relation"), relation)
            yield Triple(relation, RDF_TYPE, NamedNode(TREE + "GreaterThanOrEqualToRelation"))
            yield Triple(relation, NamedNode(TREE + "node"), NamedNode(f"{server}/feed/page/{page.number + 1}"))
            yield Triple(relation, NamedNode(TREE + "path"), TIMESTAMP_PATH)
            yield Triple(relation, NamedNode(TREE + "value"), Literal(page.next_time, datatype=NamedNode(XSD + "dateTime")))
        size = self.page_size()
        for member in page.members:
            version = NamedNode(self.member_iri(server, size, member.seq))
            resource = NamedNode(member.resource)
            yield Triple(stream, NamedNode(TREE + "member"), version)
            yield Triple(version, VERSION_OF_PATH, resource)
            yield Triple(version, TIMESTAMP_PATH, Literal(member.time, datatype=NamedNode(XSD + "dateTime")))
            if member.deleted:
                yield Triple(version, RDF_TYPE, NamedNode(AS + "Delete"))
                continue
            for triple in parse(member.body, RdfFormat.N_TRIPLES):
                subject = version if triple.subject == resource else triple.subject
                yield Triple(subject, triple.predicate, triple.object)


# ---------------------------------------------------------------- what changed


def member_rows(old: Store, new: Store, changed: set[str], graphs: list[str], *, first: int,
                exclude_graph: Collection[str], bulk: bool, delta: Delta | None = None) -> Iterator[tuple[int, str, bool, str]]:
    """The members recording the change from `old` to `new` of the `changed` resources, numbered from `first`: (number,
    resource, deleted, N-Triples body). A resource that had and has no statement (outside `exclude_graph`) gets none."""
    seq = first
    # One dump of the changed graphs beats a lookup per resource when most of them changed (a large load).
    grouped = _statements_by_subject(new, graphs, exclude_graph, delta) if bulk and len(changed) > _BULK else None
    for resource in sorted(changed):
        body = (_grouped_body(grouped, resource, f"m{seq}") if grouped is not None else None) \
            or _body(new, resource, exclude_graph, label=f"m{seq}")
        if not body and not _has_statements(old, resource, exclude_graph):
            continue
        yield seq, resource, not body, "".join(body)
        seq += 1


def _signatures(store: Store, graph: str) -> dict[str, int]:
    """An order-independent fingerprint of each subject's statements in `graph`."""
    found: dict[str, int] = {}
    for quad in store.quads_for_pattern(None, None, None, graph_term(graph)):
        key = str(quad.subject)
        found[key] = (found.get(key, 0) + hash((quad.predicate.value, str(quad.object)))) & _MASK
    return found


def _subjects(store: Store, graph: str) -> set[str]:
    where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    return {str(row[0]) for row in store.query(f"SELECT DISTINCT ?s WHERE {{ {where} }}")}  # type: ignore[union-attr]


def changed_resources(old: Store, new: Store, graphs: Iterable[str]) -> set[str]:
    """IRIs whose statements (or whose blank-node closure) differ between `old` and `new` in `graphs`."""
    subjects: set[str] = set()
    for graph in graphs:
        if not has_quads(old, graph) or not has_quads(new, graph):
            # A new graph, or one that went: every subject on the other side changed (no fingerprints needed).
            subjects |= _subjects(old, graph) | _subjects(new, graph)
            continue
        before, after = _signatures(old, graph), _signatures(new, graph)
        subjects.update(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    resources = {key[1:-1] for key in subjects if key.startswith("<")}
    blanks = [key[2:] for key in subjects if key.startswith("_:")]
    for store in (old, new):
        resources.update(_roots(store, blanks))
    return resources


def resources_changed_by(old: Store, new: Store, delta: Delta, exclude_graph: Collection[str]) -> set[str]:
    """IRIs whose statements (or blank-node closure) `delta` changed: subjects of its listed quads, and a graph diff for whole changes."""
    resources: set[str] = set()
    blanks: list[str] = []
    for quad, _ in delta.quads():
        subject = quad.subject
        if isinstance(subject, NamedNode):
            resources.add(subject.value)
        elif isinstance(subject, BlankNode):
            blanks.append(subject.value)
    for store in (old, new):
        resources.update(_roots(store, blanks))
    whole = [g for g in delta.whole_graphs if g not in exclude_graph]
    if whole:
        resources |= changed_resources(old, new, whole)
    return resources


def _roots(store: Store, blanks: list[str]) -> set[str]:
    """The IRIs whose blank-node closure holds any of `blanks`."""
    roots: set[str] = set()
    seen: set[str] = set()
    todo = [BlankNode(b) for b in blanks]
    while todo:
        node = todo.pop()
        if node.value in seen:
            continue
        seen.add(node.value)
        for quad in store.quads_for_pattern(None, None, node, None):
            if isinstance(quad.subject, NamedNode):
                roots.add(quad.subject.value)
            elif isinstance(quad.subject, BlankNode):
                todo.append(quad.subject)
    return roots


def _has_statements(store: Store, resource: str, exclude_graph: Collection[str]) -> bool:
    excluded = {NamedNode(g) for g in exclude_graph}
    return any(q.graph_name not in excluded for q in store.quads_for_pattern(NamedNode(resource), None, None, None))


def _body(store: Store, resource: str, exclude_graph: Collection[str], *, label: str) -> list[str]:
    """N-Triples lines of `resource`'s statements and blank-node closure, in every graph but those of `exclude_graph`.

    Blank nodes get labels of their own per member, so two versions on one page never share one.
    """
    excluded = {NamedNode(g) for g in exclude_graph}
    quads = [q for q in store.quads_for_pattern(NamedNode(resource), None, None, None) if q.graph_name not in excluded]
    if not any(isinstance(q.object, BlankNode) for q in quads):
        # The common case, no blank nodes: serialised by pyoxigraph, duplicates across graphs dropped.
        written = serialize(list(dict.fromkeys(q.triple for q in quads)), format=RdfFormat.N_TRIPLES) or b""
        return written.decode().splitlines(keepends=True)
    lines: dict[str, None] = {}
    seen: set[str] = set()
    todo: list[NamedNode | BlankNode] = [NamedNode(resource)]

    def text(term: object) -> str:
        if isinstance(term, BlankNode):
            return f"_:{label}x{term.value}"
        return str(term)

    while todo:
        node = todo.pop()
        for quad in store.quads_for_pattern(node, None, None, None):
            if quad.graph_name in excluded:
                continue
            obj = quad.object
            lines[f"{text(quad.subject)} {quad.predicate} {text(obj)} .\n"] = None
            if isinstance(obj, BlankNode) and obj.value not in seen:
                seen.add(obj.value)
                todo.append(obj)
    return list(lines)


#: Above this many changed resources, bodies come from one dump per changed graph rather than a lookup each.
_BULK = 2000
#: Member rows written at a time.
_ROWS_PER_BATCH = 10_000
_BLANK = re.compile(r"(?<![^\s])_:([A-Za-z0-9]+)")


def _statements_by_subject(store: Store, graphs: list[str], exclude_graph: Collection[str],
                           delta: Delta | None = None) -> dict[str, list[str]]:
    """N-Triples lines of the changed graphs, grouped by subject, for the subjects found in no other graph.

    A subject with statements in another graph too is left out (its body needs
    every graph: it is looked up on its own). Each graph is read from the
    commit's one dump of it (:meth:`Delta.lines`), and its shared subjects are
    those :meth:`Delta.shared_subjects` finds.
    """
    dumps = delta if delta is not None else Delta()  # a restore has no delta: its dumps last this call
    try:
        grouped: dict[str, list[str]] = {}
        named = [g for g in graphs if g]
        for graph in named:
            subject, current = None, None
            for line in dumps.lines(store, graph):
                key = line[:line.index(" ")]
                if key != subject:  # a subject's lines are consecutive: one lookup per subject, not per line
                    subject, current = key, grouped.setdefault(key, [])
                current.append(line + "\n")  # type: ignore[union-attr]
        for graph in named:
            for key in dumps.shared_subjects(store, graph, exclude_graph):
                if key.startswith("<"):  # a blank node's lines stay: they belong to the bodies that hold it
                    grouped.pop(key, None)
        return grouped
    finally:
        if delta is None:
            dumps.close()


def _grouped_body(grouped: dict[str, list[str]], resource: str, label: str) -> list[str] | None:
    """`resource`'s lines and blank-node closure from :func:`_statements_by_subject`, or None to look it up instead.

    The resource's own lines leave `grouped` (each resource is asked for once; its memory goes as the members are
    written); blank nodes' lines stay, as several resources may hold one.
    """
    lines = grouped.pop(f"<{resource}>", None)
    if lines is None:
        return None
    result: dict[str, None] = {}
    todo, seen = list(lines), set()
    while todo:
        line = todo.pop(0)
        if "_:" not in line:
            result[line] = None
            continue
        for blank in _BLANK.findall(line):
            if blank not in seen:
                seen.add(blank)
                todo.extend(grouped.get(f"_:{blank}", ()))
        result[_BLANK.sub(lambda m: f"_:{label}x{m.group(1)}", line)] = None
    return list(result)


def all_graphs(store: Store) -> set[str]:
    return {g.value for g in store.named_graphs() if isinstance(g, NamedNode)}


