"""A full-text index of labels, for reconciliation and suggest.

Every resource with an ``rdfs:label``, ``skos:prefLabel`` or ``skos:altLabel``
is indexed in SQLite FTS5 (``STORE/labels.sqlite``; Unicode tokens, accents
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
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Store

from .results import select

LABEL_PROPERTIES = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel",
                    "http://www.w3.org/2004/02/skos/core#altLabel")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS labels USING fts5(label, resource UNINDEXED, language UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS types (resource TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY (resource, type)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS types_by_type ON types (type);
"""
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case, accents removed, words separated by single spaces."""
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

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "labels.sqlite"
        self._local = threading.local()

    def _connect(self, path: Path | None = None) -> sqlite3.Connection:
        connection = sqlite3.connect(path or self.path, timeout=60, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(_SCHEMA)
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "inode", None) != _inode(self.path):
            connection = self._local.connection = self._connect()
            self._local.inode = _inode(self.path)
        return connection

    def generation(self) -> int | None:
        if not self.path.exists():
            return None
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else None

    # ------------------------------------------------------------ writing

    def update(self, store: Store, resources: Iterable[str], generation: int) -> None:
        """Re-index `resources` as they are in `store` (called in a commit, with the write lock held)."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            known = connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            if known is None or int(known[0]) != generation - 1:
                connection.execute("ROLLBACK")
                connection.close()
                self.rebuild(store, generation)
                return
            hierarchy = _superclasses(store)
            for resource in resources:
                connection.execute("DELETE FROM labels WHERE resource = ?", (resource,))
                connection.execute("DELETE FROM types WHERE resource = ?", (resource,))
                _insert(connection, store, NamedNode(resource), hierarchy)
            connection.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def rebuild(self, store: Store, generation: int) -> None:
        """Index everything in `store` afresh, into a new file renamed over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / "labels.lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                if self.path.exists() and self.generation() == generation:
                    return
                partial = self.path.with_name(f".labels-{uuid.uuid4().hex}.sqlite")
                connection = self._connect(partial)
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
                    connection.executemany("INSERT INTO labels (label, resource, language) VALUES (?, ?, ?)", batch)
                    types: list[tuple[str, str]] = []
                    for subject in subjects:
                        for direct in _types(store, NamedNode(subject)):
                            types.extend((subject, t) for t in {direct, *hierarchy.get(direct, ())})
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
        match = " OR ".join(terms)
        wanted = list(types)
        type_filter = ""
        if wanted:
            type_filter = f" AND resource IN (SELECT resource FROM types WHERE type IN ({', '.join('?' * len(wanted))}))"
        rows = self._reader().execute(
            f"SELECT resource, label, language FROM labels WHERE labels MATCH ?{type_filter} ORDER BY bm25(labels) LIMIT ?",
            (match, *wanted, max(limit * 10, 50))).fetchall()
        best: dict[str, Candidate] = {}
        ranked: list[tuple[float, str]] = []
        for resource, label, language in rows:
            current = best.get(resource)
            if current is None or score(text, label) > score(text, current.label):
                best[resource] = Candidate(resource, label, language, ())
        for resource, candidate in best.items():
            value = score(text, candidate.label)
            if prefix and fold(candidate.label).startswith(fold(text)):
                # What is being typed: complete words first, the shortest completion first.
                value = max(value, 95.0 - min(len(fold(candidate.label)) - len(fold(text)), 40) / 10)
            ranked.append((value, resource))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        chosen = [best[r] for _, r in ranked[:limit]]
        return [Candidate(c.iri, c.label, c.language, self.types_of(c.iri)) for c in chosen]

    def types_of(self, resource: str) -> tuple[str, ...]:
        return tuple(r[0] for r in self._reader().execute("SELECT type FROM types WHERE resource = ? ORDER BY type", (resource,)))

    def labels_of(self, resource: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._reader().execute("SELECT label, language FROM labels WHERE resource = ?", (resource,))]


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


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


def _insert(connection: sqlite3.Connection, store: Store, subject: NamedNode, hierarchy: dict[str, set[str]]) -> None:
    labels = {(quad.object.value, quad.object.language or "")
              for prop in LABEL_PROPERTIES for quad in store.quads_for_pattern(subject, NamedNode(prop), None, None)
              if isinstance(quad.object, Literal)}
    connection.executemany("INSERT INTO labels (label, resource, language) VALUES (?, ?, ?)",
                           [(label, subject.value, language) for label, language in labels])
    if labels:
        for direct in _types(store, subject):
            for cls in {direct, *hierarchy.get(direct, ())}:
                connection.execute("INSERT OR IGNORE INTO types VALUES (?, ?)", (subject.value, cls))
