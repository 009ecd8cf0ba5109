"""A full-text index of labels, for reconciliation and suggest.

Every resource with an ``rdfs:label``, ``skos:prefLabel`` or ``skos:altLabel``
is indexed in SQLite FTS5 (``STORE/labels-3.sqlite``; Unicode tokens, accents
removed) with its types and their superclasses. The index is kept up to date
in the commit that changes the data: the change feed's diff says which
resources changed, and only those are re-indexed. It records the generation
it matches; a reader that finds it behind (a crash between commit and index
update, or a store written before the index existed) rebuilds it whole.

Scoring (see :func:`score`): a label equal to the query after case and accent
folding scores 100; otherwise the score is the share of words in common,
at most 90. Preferred labels and alternative labels count the same, in any
language.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Literal, NamedNode, RdfFormat, Store, parse

from .delta import Delta
from .results import select
from .sqlite_files import SqliteFile

LABEL_PROPERTIES = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel",
                    "http://www.w3.org/2004/02/skos/core#altLabel")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

#: Indexes each new name (a large batch is indexed at once instead: see _insert_names).
_NAMES_ADDED = """CREATE TRIGGER IF NOT EXISTS names_added AFTER INSERT ON names BEGIN
    INSERT INTO labels (rowid, label) VALUES (new.id, new.label);
END;
"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, resource TEXT NOT NULL, label TEXT NOT NULL, language TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS names_by_resource ON names (resource);
CREATE VIRTUAL TABLE IF NOT EXISTS labels USING fts5(label, content = 'names', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2');
""" + _NAMES_ADDED + """CREATE TRIGGER IF NOT EXISTS names_removed AFTER DELETE ON names BEGIN
    INSERT INTO labels (labels, rowid, label) VALUES ('delete', old.id, old.label);
END;
CREATE VIRTUAL TABLE IF NOT EXISTS labels_vocabulary USING fts5vocab(labels, 'row');
CREATE TABLE IF NOT EXISTS types (resource TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY (resource, type)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS types_by_type ON types (type);
CREATE TABLE IF NOT EXISTS display (resource TEXT NOT NULL, language TEXT NOT NULL, label TEXT NOT NULL, sortkey TEXT NOT NULL,
    PRIMARY KEY (resource, language)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS display_order ON display (language, sortkey, resource);
"""
#: The languages of the interface: each resource has a display label (and a sort key) per language.
DISPLAY_LANGUAGES = ("en", "it", "es")


def in_preferred_language(by_language: dict[str, str], preferred: str) -> str | None:
    """The text in `preferred`, else English, Italian, Spanish, else without a language tag; None if none of those."""
    for language in (preferred, *DISPLAY_LANGUAGES, ""):
        if language in by_language:
            return by_language[language]
    return None
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case, accents removed, words separated by single spaces."""
    if text.isascii():  # most labels: nothing to decompose (and casefold is lower)
        return " ".join(_WORD.findall(text.lower()))
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(plain))


def score(query: str, label: str) -> float:
    """100 for the same words in the same order (case and accents aside); else the share of common words, at most 90."""
    q, candidate = fold(query), fold(label)
    if not q or not candidate:
        return 0.0
    if q == candidate:
        return 100.0
    a, b = q.split(), candidate.split()
    common = len(set(a) & set(b))
    return round(90.0 * 2 * common / (len(a) + len(b)), 2)


@dataclass(frozen=True)
class Candidate:
    iri: str
    label: str
    language: str
    types: tuple[str, ...]


class LabelIndex:
    """The label index of one store directory."""

    BULK = 2000  # above this many changed resources (and a fifth of the index), labels are read in one scan

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "labels-3.sqlite"  # the number changes with the layout, so an old index is rebuilt
        self._file = SqliteFile(self.path, _SCHEMA)

    def _reader(self) -> sqlite3.Connection:
        return self._file.reader()

    def generation(self) -> int | None:
        if not self.path.exists():
            return None
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else None

    # ------------------------------------------------------------ writing

    def update(self, store: Store, resources: Iterable[str], generation: int, *, published: int | None = None,
               delta: Delta | None = None, derived: Collection[str] = ()) -> None:
        """Re-index `resources` as they are in `store` (called in a commit, with the write lock held).

        The index must match `published` (the generation the commit starts
        from; by default the one before `generation`), or it is rebuilt. With
        the commit's `delta`, the resources of graphs it changed whole are read
        from its dump of them (`derived`: the graphs the service derives, which
        say nothing of a resource's own).
        """
        published = generation - 1 if published is None else published
        with self._file.transaction() as connection:
            known = connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            if known is not None and int(known[0]) == published:
                hierarchy = _superclasses(store)
                keys = [(resource,) for resource in resources]
                connection.executemany("DELETE FROM names WHERE resource = ?", keys)
                connection.executemany("DELETE FROM types WHERE resource = ?", keys)
                connection.executemany("DELETE FROM display WHERE resource = ?", keys)
                names: list[tuple[str, str, str]] = []
                types: list[tuple[str, str]] = []
                indexed = connection.execute("SELECT COALESCE(MAX(id), 0) FROM names").fetchone()[0]  # about the size, at no cost
                wanted = {r for (r,) in keys}
                if delta is not None and delta.whole_graphs:
                    wanted -= _entries_from_dumps(store, delta, wanted, derived, hierarchy, names, types)
                if len(wanted) > max(self.BULK, indexed // 5):
                    _all_entries(store, wanted, hierarchy, names, types)  # one scan beats a lookup each
                else:
                    for resource in sorted(wanted):
                        _entries(store, NamedNode(resource), hierarchy, names, types)
                _insert_names(connection, names)
                # In key order: each B-tree page is written once, not once per row (a large load has 100,000s).
                connection.executemany("INSERT OR IGNORE INTO types VALUES (?, ?)", sorted(types))
                connection.executemany("INSERT INTO display VALUES (?, ?, ?, ?)", sorted(_display_rows(names)))
                connection.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
                return
        self.rebuild(store, generation)  # behind (or never built): start again from the whole store

    def rebuild(self, store: Store, generation: int) -> None:
        """Index everything in `store` afresh, into a new file renamed over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / "labels.lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                if self.path.exists() and self.generation() == generation:
                    return
                partial = self.path.with_name(f".labels-{uuid.uuid4().hex}.sqlite")
                connection = self._file.connect(partial)
                try:
                    hierarchy = _superclasses(store)
                    connection.execute("BEGIN")
                    values = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
                    rows = select(store, f"SELECT DISTINCT ?s ?l WHERE {{ VALUES ?p {{ {values} }} ?s ?p ?l FILTER(isIRI(?s)) }}",
                                  use_default_graph_as_union=True)
                    subjects: set[str] = set()
                    batch = []
                    for row in rows:
                        label = row["l"]
                        if isinstance(label, Literal):
                            batch.append((label.value, row["s"].value, label.language or ""))
                            subjects.add(row["s"].value)
                    _insert_names(connection, batch)
                    connection.executemany("INSERT INTO display VALUES (?, ?, ?, ?)", _display_rows(batch))
                    types: set[tuple[str, str]] = set()
                    for quad in store.quads_for_pattern(None, NamedNode(RDF_TYPE), None, None):
                        subject, direct = quad.subject, quad.object
                        if isinstance(subject, NamedNode) and isinstance(direct, NamedNode) and subject.value in subjects:
                            types.update((subject.value, t) for t in (direct.value, *hierarchy.get(direct.value, ())))
                    connection.executemany("INSERT OR IGNORE INTO types VALUES (?, ?)", types)
                    connection.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
                    connection.execute("COMMIT")
                    connection.execute("PRAGMA journal_mode=DELETE")
                finally:
                    connection.close()
                os.replace(partial, self.path)
                for suffix in ("-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(str(self.path) + suffix)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------ reading

    def ensure(self, store: Store, generation: int) -> None:
        """Rebuild the index if it does not match `generation` (it is behind, or was never built)."""
        known = self.generation()
        if known is None or known < generation:
            self.rebuild(store, generation)

    def search(self, text: str, *, types: Iterable[str] = (), limit: int = 20, prefix: bool = False) -> list[Candidate]:
        """Resources whose labels share words with `text` (`prefix`: the last word may be unfinished), best first."""
        words = fold(text).split()
        if not words:
            return []
        terms = [f'"{w}"' for w in words]
        if prefix:
            terms[-1] += "*"
        wanted = list(types)
        type_filter = ""
        if wanted:
            type_filter = f" AND n.resource IN (SELECT resource FROM types WHERE type IN ({', '.join('?' * len(wanted))}))"
        sql = ("SELECT n.resource, n.label, n.language FROM labels JOIN names n ON n.id = labels.rowid "
               f"WHERE labels MATCH ?{type_filter} ORDER BY bm25(labels) LIMIT ?")
        enough = max(limit * 10, 50)
        # Labels holding every word first (selective, so cheap even when the words are common);
        # labels sharing only some of them only when that is not enough.
        connection = self._reader()
        counts, common = self._frequencies(words)
        if all(counts.get(word, 0) > common for word in words):
            # Every word is in a large share of the labels: ranking them all by bm25 reads them all (1.7 s for a word in
            # 767k labels at 10M triples); the first ones found are scored below like any others.
            sql = sql.replace(" ORDER BY bm25(labels)", "")
        rows = connection.execute(sql, (" AND ".join(terms), *wanted, enough)).fetchall()
        if len({r[0] for r in rows}) < limit and len(terms) > 1:
            rows += connection.execute(sql, (" OR ".join(self._informative(words, terms, counts, common)), *wanted, enough)).fetchall()
        best: dict[str, tuple[float, Candidate]] = {}  # each resource's best-scoring label, scored once
        ranked: list[tuple[float, str]] = []
        for resource, label, language in rows:
            value = score(text, label)
            current = best.get(resource)
            if current is None or value > current[0]:
                best[resource] = (value, Candidate(resource, label, language, ()))
        for resource, (value, candidate) in best.items():
            if prefix and fold(candidate.label).startswith(fold(text)):
                # What is being typed: complete words first, the shortest completion first.
                value = max(value, 95.0 - min(len(fold(candidate.label)) - len(fold(text)), 40) / 10)
            ranked.append((value, resource))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        chosen = [best[r][1] for _, r in ranked[:limit]]
        return [Candidate(c.iri, c.label, c.language, self.types_of(c.iri)) for c in chosen]

    COMMON = 0.02  # a word in more than 2 % of the labels (and in more than 500) does not find candidates on its own
    COMMON_MINIMUM = 500

    def _frequencies(self, words: list[str]) -> tuple[dict[str, int], float]:
        """How many labels hold each word, and above how many a word is common (more than COMMON of the labels, and
        more than COMMON_MINIMUM). The labels are counted only when a word is in more than COMMON_MINIMUM of them:
        below that no word can be common, whatever the total."""
        connection = self._reader()
        counts = dict(connection.execute(
            f"SELECT term, doc FROM labels_vocabulary WHERE term IN ({', '.join('?' * len(words))})", words).fetchall())
        if max(counts.values(), default=0) <= self.COMMON_MINIMUM:
            return counts, self.COMMON_MINIMUM
        total = connection.execute("SELECT COUNT(*) FROM names").fetchone()[0] or 1
        return counts, max(total * self.COMMON, self.COMMON_MINIMUM)

    def _informative(self, words: list[str], terms: list[str], counts: dict[str, int], common: float) -> list[str]:
        """The terms worth an OR search: words that are not in a large share of labels (the rarest one at least).

        Ranking every label that holds a very common word ('place', '1') costs a
        scan of most of the index; such words still count in the AND search and
        in the score.
        """
        kept = [term for word, term in zip(words, terms, strict=True) if counts.get(word, 0) <= common]
        if kept:
            return kept
        rarest = min(range(len(words)), key=lambda i: counts.get(words[i], 0))
        return [terms[rarest]]

    def types_of(self, resource: str) -> tuple[str, ...]:
        return tuple(r[0] for r in self._reader().execute("SELECT type FROM types WHERE resource = ? ORDER BY type", (resource,)))

    def members(self, cls: str, language: str, *, offset: int = 0, limit: int = 24) -> list[tuple[str, str]]:
        """(resource, display label) of labelled instances of `cls` (subclasses included), in label order, a page at a time."""
        language = language if language in DISPLAY_LANGUAGES else DISPLAY_LANGUAGES[0]
        return [(r[0], r[1]) for r in self._reader().execute(
            # CROSS JOIN keeps SQLite to this order: the class's members first (few), then each one's display row;
            # walking the display order instead reads every labelled resource before it finds the few of a rare class.
            "SELECT d.resource, d.label FROM types t CROSS JOIN display d ON d.resource = t.resource AND d.language = ? "
            "WHERE t.type = ? ORDER BY d.sortkey, d.resource LIMIT ? OFFSET ?", (language, cls, limit, offset))]

    def display_labels(self, resources: Iterable[str], language: str) -> dict[str, str]:
        """The display label of each of `resources` that has one, in `language` (as `members` shows them)."""
        language = language if language in DISPLAY_LANGUAGES else DISPLAY_LANGUAGES[0]
        wanted = list(dict.fromkeys(resources))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters
            chunk = wanted[start:start + 500]
            found.update(self._reader().execute(
                f"SELECT resource, label FROM display WHERE language = ? AND resource IN ({', '.join('?' * len(chunk))})",
                (language, *chunk)).fetchall())
        return found

    def count_members(self, cls: str) -> int:
        """How many labelled instances `cls` has (subclasses included)."""
        return int(self._reader().execute("SELECT COUNT(*) FROM types WHERE type = ?", (cls,)).fetchone()[0])

    def labels_of(self, resource: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._reader().execute("SELECT label, language FROM names WHERE resource = ?", (resource,))]


#: Above this many names, the full-text index is written in one statement after the rows, not by the trigger.
_NAMES_AT_ONCE = 1_000


def _insert_names(connection: sqlite3.Connection, names: list[tuple[str, str, str]]) -> None:
    """Insert (label, resource, language) rows into the names table and its full-text index.

    The trigger indexes a row at a time: 390,000 names take 14 s that way, 1 s as one INSERT … SELECT. So a large
    batch goes in without the trigger (dropped and made again inside the caller's transaction: readers never see
    it missing), then is indexed at once.
    """
    if len(names) <= _NAMES_AT_ONCE:
        connection.executemany("INSERT INTO names (label, resource, language) VALUES (?, ?, ?)", names)
        return
    first = connection.execute("SELECT COALESCE(MAX(id), 0) FROM names").fetchone()[0]
    connection.execute("DROP TRIGGER IF EXISTS names_added")
    connection.executemany("INSERT INTO names (label, resource, language) VALUES (?, ?, ?)", names)
    connection.execute("INSERT INTO labels (rowid, label) SELECT id, label FROM names WHERE id > ?", (first,))
    connection.execute(_NAMES_ADDED)


def _display_rows(names: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    """(resource, language, label, sort key) for each display language, from (label, resource, language) rows.

    A resource is shown by its label in the language, else in English, Italian, Spanish, without a tag, or any.
    """
    by_resource: dict[str, dict[str, str]] = {}
    for label, resource, language in names:
        by_resource.setdefault(resource, {}).setdefault(language, label)
    rows = []
    for resource, labels in by_resource.items():
        for language in DISPLAY_LANGUAGES:
            chosen = in_preferred_language(labels, language)
            if chosen is None:
                chosen = min(labels.values())
            rows.append((resource, language, chosen, fold(chosen)))
    return rows


def _types(store: Store, subject: NamedNode) -> Iterator[str]:
    for quad in store.quads_for_pattern(subject, NamedNode(RDF_TYPE), None, None):
        if isinstance(quad.object, NamedNode):
            yield quad.object.value


def _superclasses(store: Store) -> dict[str, set[str]]:
    """Every class with all its superclasses (rdfs:subClassOf, transitively)."""
    direct: dict[str, set[str]] = {}
    for quad in store.quads_for_pattern(None, NamedNode(SUBCLASS), None, None):
        if isinstance(quad.subject, NamedNode) and isinstance(quad.object, NamedNode):
            direct.setdefault(quad.subject.value, set()).add(quad.object.value)
    closed: dict[str, set[str]] = {}
    for cls in direct:
        seen: set[str] = set()
        todo = list(direct[cls])
        while todo:
            parent = todo.pop()
            if parent not in seen:
                seen.add(parent)
                todo.extend(direct.get(parent, ()))
        closed[cls] = seen
    return closed


def _all_entries(store: Store, subjects: set[str], hierarchy: dict[str, set[str]], names: list[tuple[str, str, str]],
                 types: list[tuple[str, str]]) -> None:
    """What :func:`_entries` appends, for every resource in `subjects`, from one scan of the labels and types."""
    values = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
    labelled: set[str] = set()
    found = select(store, f"SELECT DISTINCT ?s ?l WHERE {{ VALUES ?p {{ {values} }} ?s ?p ?l FILTER(isIRI(?s) && isLiteral(?l)) }}",
                   use_default_graph_as_union=True)
    for row in found:
        subject, label = row["s"].value, row["l"]
        if subject in subjects:
            names.append((label.value, subject, label.language or ""))
            labelled.add(subject)
    pairs: set[tuple[str, str]] = set()
    for quad in store.quads_for_pattern(None, NamedNode(RDF_TYPE), None, None):
        subject, direct = quad.subject, quad.object
        if isinstance(subject, NamedNode) and isinstance(direct, NamedNode) and subject.value in labelled:
            pairs.update((subject.value, cls) for cls in (direct.value, *hierarchy.get(direct.value, ())))
    types.extend(pairs)


def _entries_from_dumps(store: Store, delta: Delta, wanted: set[str], derived: Collection[str], hierarchy: dict[str, set[str]],
                        names: list[tuple[str, str, str]], types: list[tuple[str, str]]) -> set[str]:
    """What :func:`_entries` appends, for the resources of `wanted` that are subjects of a graph `delta` changed whole
    and of no other graph (all they say is in that graph's dump); returns those resources."""
    label_texts = {f"<{p}>" for p in LABEL_PROPERTIES}
    type_text = f"<{RDF_TYPE}>"
    done: set[str] = set()
    for graph in delta.whole_graphs:
        shared = delta.shared_subjects(store, graph, derived)
        labelled: list[str] = []
        direct: dict[str, list[str]] = {}
        subject = None
        for key, predicate, obj in delta.statements(store, graph):
            if key != subject:  # a subject's lines are consecutive
                subject = key
                take = key.startswith("<") and key not in shared and key[1:-1] in wanted
                if take:
                    done.add(key[1:-1])
            if not take:
                continue
            if predicate in label_texts:
                if obj.startswith('"'):
                    labelled.append(f"{key} {predicate} {obj} .")
            elif predicate == type_text and obj.startswith("<"):
                direct.setdefault(key[1:-1], []).append(obj[1:-1])
        found: set[tuple[str, str, str]] = set()
        for quad in parse("\n".join(labelled).encode(), format=RdfFormat.N_TRIPLES):
            label = quad.object
            assert isinstance(label, Literal) and isinstance(quad.subject, NamedNode)
            found.add((label.value, quad.subject.value, label.language or ""))
        names.extend(sorted(found))
        for resource in sorted({r for _, r, _ in found}):
            classes = {cls for d in direct.get(resource, ()) for cls in (d, *hierarchy.get(d, ()))}
            types.extend((resource, cls) for cls in sorted(classes))
    return done


def _entries(store: Store, subject: NamedNode, hierarchy: dict[str, set[str]], names: list[tuple[str, str, str]],
             types: list[tuple[str, str]]) -> None:
    """Append `subject`'s labels (label, resource, language) and, if it has any, its types with their superclasses."""
    labels = {(quad.object.value, quad.object.language or "")
              for prop in LABEL_PROPERTIES for quad in store.quads_for_pattern(subject, NamedNode(prop), None, None)
              if isinstance(quad.object, Literal)}
    names.extend((label, subject.value, language) for label, language in labels)
    if labels:
        classes = {cls for direct in _types(store, subject) for cls in (direct, *hierarchy.get(direct, ()))}
        types.extend((subject.value, cls) for cls in classes)
