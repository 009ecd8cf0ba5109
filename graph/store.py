"""The embedded graph store: pyoxigraph on disk, one named graph per source.

Reads go to an immutable snapshot (see :mod:`.snapshots`); every write runs in
a :class:`WriteTransaction` on a private copy that is validated against the
SHACL shapes and published atomically, or thrown away.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeGuard

from pyoxigraph import (
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    parse,
    serialize,
)

from . import entailment, linked_art
from .delta import Delta, compare_graph, has_quads, listed_or_whole
from .errors import GraphError, GraphNameError, ParseError, StoreBusyError, UpdateLimitError, ValidationFailed, Violation
from .feed import ChangeFeed, FeedPolicy, all_graphs
from .formats import format_for_path, strip_compression
from .iris import DEFAULT_BASE_IRI, Namespaces, rebase, valid_iri
from .labels import LabelIndex
from .provenance import GraphInfo, Provenance, count_triples, forget_graph, now_utc, read_graph_info, record_change
from .snapshots import SnapshotDirectory
from .sparql_text import has_dataset_clause, too_deep
from .statistics import DatasetStatistics, Statistics
from .tokens import TokenStore
from .updater import UpdateFailed, UpdateRunner
from .validation import ShapesValidator

QueryResult = QuerySolutions | QueryBoolean | QueryTriples

#: The name writes use for the store's default graph (the Graph Store Protocol's `?default`).
DEFAULT_GRAPH = ""
ProgressCallback = Callable[[int], None]

_POSITION = re.compile(r"line (\d+) column (\d+)")


@dataclass(frozen=True)
class RdfSource:
    """An RDF document to load: a file on disk or bytes received over HTTP."""

    name: str
    format: RdfFormat
    path: Path | None = None
    data: bytes | None = None
    gzipped: bool = False

    @classmethod
    def from_path(cls, path: str | Path, format: RdfFormat | None = None) -> RdfSource:
        path = Path(path)
        if not path.is_file():
            raise ParseError("no such file", source=str(path))
        _, gzipped = strip_compression(path)
        return cls(name=str(path), format=format or format_for_path(path), path=path, gzipped=gzipped)

    @classmethod
    def from_bytes(cls, data: bytes, format: RdfFormat, *, name: str = "<request body>") -> RdfSource:
        return cls(name=name, format=format, data=data)

    @property
    def size(self) -> int | None:
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path is not None else None

    @contextlib.contextmanager
    def open(self, progress: ProgressCallback | None = None) -> Iterator[IO[bytes]]:
        raw: IO[bytes]
        if self.data is not None:
            raw = io.BytesIO(self.data)
        else:
            assert self.path is not None
            raw = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        with raw:
            counted: IO[bytes] = _CountingReader(raw, progress) if progress else raw  # type: ignore[assignment]
            if self.gzipped:
                with gzip.GzipFile(fileobj=counted, mode="rb") as unzipped:
                    yield unzipped  # type: ignore[misc]
            else:
                yield counted


class _CountingReader:
    """A file wrapper that reports how many (compressed) bytes were read."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._progress(len(chunk))
        return chunk

    def readable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _parse_error(error: SyntaxError | ValueError, source: RdfSource) -> ParseError:
    message = str(error)
    line = column = None
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) > 1 and isinstance(args[1], tuple) and len(args[1]) >= 3:
        line, column = args[1][1], args[1][2]
    if line is None:
        found = _POSITION.search(message)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
    return ParseError(message, source=source.name, line=line, column=column)


@contextlib.contextmanager
def _reading(source: RdfSource, progress: ProgressCallback | None) -> Iterator[IO[bytes]]:
    """Open `source`; any parse or read failure inside becomes a ParseError naming it."""
    try:
        with source.open(progress) as stream:
            yield stream
    except (SyntaxError, ValueError) as error:
        raise _parse_error(error, source) from None
    except (OSError, EOFError) as error:
        # A truncated gzip stream or an unreadable file.
        raise ParseError(str(error) or type(error).__name__, source=source.name) from None


def _linked_art_as_nquads(source: RdfSource) -> RdfSource:
    """A JSON-LD record using the Linked Art context, expanded to CRM N-Quads (the context is read locally)."""
    if source.format != RdfFormat.JSON_LD:
        return source
    with _reading(source, None) as stream:
        data = stream.read()
    if not linked_art.uses_linked_art(data):
        return RdfSource.from_bytes(data, source.format, name=source.name)
    try:
        return RdfSource.from_bytes(linked_art.to_nquads(data), RdfFormat.N_QUADS, name=source.name)
    except (SyntaxError, ValueError) as error:
        raise _parse_error(error, source) from None


#: Formats whose parsers recurse into nested brackets (a document received over HTTP is measured first).
_NESTED_FORMATS = (RdfFormat.TURTLE, RdfFormat.TRIG, RdfFormat.N3, RdfFormat.JSON_LD)

#: The longest literal (in characters) a write may hold: a page shows every literal of a resource to anyone who asks.
MAX_LITERAL_CHARS = 1_000_000
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _check_sizes(quad: Quad, source: RdfSource | None) -> None:
    obj = quad.object
    if isinstance(obj, Literal) and len(obj.value) > MAX_LITERAL_CHARS:
        where = f"{source.name}: " if source is not None else ""
        raise ParseError(f"{where}a literal of {len(obj.value):,} characters about {quad.subject} (at most {MAX_LITERAL_CHARS:,}); "
                         "nothing was loaded", source=source.name if source is not None else "<update>")


def _without_entity_declarations(stream: IO[bytes], source: RdfSource) -> IO[bytes]:
    """The RDF/XML document, refused if it declares entities (they can expand to gigabytes from a few hundred bytes)."""
    data = stream.read()
    if _ENTITY.search(data):
        raise ParseError("RDF/XML with entity declarations (<!ENTITY …>) is not accepted: entities can expand without limit; "
                         "write the text out", source=source.name)
    return io.BytesIO(data)


#: How the entailed graph is described in the metadata graph.
ENTAILED_PROVENANCE = Provenance(title="What the ontology entails from the asserted data (derived; never written directly)",
                                 agent="heritage-hubs", action="entail", license="https://creativecommons.org/licenses/by/4.0/")


class WriteTransaction:
    """Changes to a private copy of the store; nothing is visible until commit."""

    def __init__(self, store: Store, namespaces: Namespaces, *, path: Path | None = None,
                 updates: UpdateRunner | None = None) -> None:
        self._store: Store | None = store
        self.namespaces = namespaces
        #: Where the work copy is, and the process that runs updates on it under limits; None: in this process.
        self.path = path
        self.updates = updates
        self.touched: dict[str, Provenance] = {}
        self.restored = False
        self.started = now_utc()
        # What changed, for everything derived from the data: graphs whose
        # added quads were recorded as they were loaded, and graphs to compare
        # before and after at commit (see delta.py).
        self._appended: dict[str, set[Quad]] = {}
        self._compared: set[str] = set()

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("this write transaction is over")
        return self._store

    @property
    def closed(self) -> bool:
        return self._store is None

    def close(self) -> None:
        """Let go of the work store so RocksDB closes it before its directory moves."""
        self._store = None

    def _graph(self, graph: str) -> NamedNode | DefaultGraph:
        if graph == DEFAULT_GRAPH:
            return DefaultGraph()
        if not valid_iri(graph):
            raise GraphNameError(f"graph names are absolute IRIs (http:, https: or urn:, no spaces or <>\"{{}}|^`\\), got {graph!r}")
        if graph in self.namespaces.maintained_graphs:
            raise GraphNameError(f"{graph} is maintained by the service and cannot be written directly")
        return NamedNode(graph)

    #: A document up to this size that adds to a graph is parsed into memory, so the commit knows exactly what it added.
    LISTED_LOAD_BYTES = 4 * 1024 * 1024

    def changed(self, graph: str) -> None:
        """Note that `graph` changed in a way the commit must find by comparing it before and after."""
        self._compared.add(graph)
        self._appended.pop(graph, None)

    def delta(self, old: Store) -> Delta:
        """What this transaction changed since `old`, the snapshot it started from."""
        delta = Delta(restored=self.restored, scratch=self.path)
        for graph, added in self._appended.items():
            delta.graphs[graph] = listed_or_whole(set(added))
        for graph in self._compared:
            delta.graphs[graph] = compare_graph(old, self.store, graph)
        return delta

    def load(
        self,
        source: RdfSource,
        *,
        graph: str,
        replace: bool = False,
        provenance: Provenance | None = None,
        progress: ProgressCallback | None = None,
        base_iri: str | None = None,
    ) -> None:
        """Load `source` into `graph`; with `replace`, the graph's old content goes."""
        target = self._graph(graph)
        if replace:
            self.store.clear_graph(target)
        if source.data is not None and source.format in _NESTED_FORMATS and (deep := too_deep(source.data)) is not None:
            raise ParseError(f"the document {deep}; nothing was loaded", source=source.name)
        json_ld = source.format == RdfFormat.JSON_LD and not source.gzipped
        if json_ld and source.data is not None and source.data.lstrip()[:1] not in (b"{", b"["):
            raise ParseError("a JSON-LD document is a JSON object or array; nothing was loaded", source=source.name)
        source = _linked_art_as_nquads(source)
        small = (source.size or 0) <= self.LISTED_LOAD_BYTES and not source.gzipped
        if replace or graph in self._compared:
            self.changed(graph)
        with _reading(source, progress) as stream:
            if small:
                # In memory: bulk loading writes files of its own, dear for a few statements.
                quads = set(self._quads(stream, source, target, base_iri))
                added = {quad for quad in quads if quad not in self.store}
                self.store.extend(added)
                if graph not in self._compared:
                    self._appended.setdefault(graph, set()).update(added)
            else:
                self.changed(graph)
                if source.format.supports_datasets or source.data is not None:
                    # Data received over HTTP goes through the checks statement by statement.
                    self.store.bulk_extend(self._quads(stream, source, target, base_iri))
                else:
                    self.store.bulk_load(stream, source.format, to_graph=target, base_iri=base_iri)
        action = "replace" if replace else "load"
        record = provenance or Provenance(sources=(Path(source.name).name,), action=action)
        earlier = self.touched.get(graph)
        self.touched[graph] = earlier.adding_sources(record) if earlier is not None else record

    @staticmethod
    def _quads(stream: IO[bytes], source: RdfSource, target: NamedNode | DefaultGraph, base_iri: str | None) -> Iterator[Quad]:
        """The document's statements in `target`.

        TriG, N-Quads and JSON-LD may name graphs: a load into one graph takes
        only the default graph and that graph, never another.
        """
        if source.format == RdfFormat.RDF_XML:
            stream = _without_entity_declarations(stream, source)
        for quad in parse(stream, source.format, base_iri=base_iri):
            graph = quad.graph_name
            if isinstance(graph, DefaultGraph) or graph == target:
                _check_sizes(quad, source)
                yield Quad(quad.subject, quad.predicate, quad.object, target)
            else:
                raise GraphNameError(
                    f"{source.name}: contains the named graph {graph}, but this load writes only {target}; "
                    "split the file per graph, or use 'restore' for a whole dataset"
                )

    def update(self, sparql: str, *, graphs: Iterable[str], base_iri: str | None = None,
               prefixes: dict[str, str] | None = None) -> None:
        """Run a SPARQL Update that the caller has established touches only `graphs`."""
        graphs = list(graphs)
        for graph in graphs:
            self._graph(graph)
        before = all_graphs(self.store)
        if self.path is not None and self.updates is not None:
            self._isolated_update(sparql, base_iri, prefixes, self.path, self.updates)
        else:
            try:
                self.store.update(sparql, base_iri=base_iri, prefixes=prefixes)
            except SyntaxError as error:
                raise ParseError(str(error), source="<update>") from None
        created = all_graphs(self.store) - before - set(graphs)
        if created:
            # What the caller established and what ran disagree: nothing is committed.
            raise GraphNameError(f"the update wrote {', '.join(sorted(created))}, which it was not allowed to write; nothing was changed")
        for graph in graphs:
            self.touched.setdefault(graph, Provenance(action="update"))
            self.changed(graph)

    def _isolated_update(self, sparql: str, base_iri: str | None, prefixes: dict[str, str] | None, path: Path,
                         updates: UpdateRunner) -> None:
        """The update in a child process with time and memory limits (see updater.py); the copy is closed meanwhile."""
        self.store.flush()
        self._store = None
        gc.collect()  # RocksDB lets one process open the copy read-write: ours closes first
        try:
            updates.run(path, sparql, base_iri=base_iri, prefixes=prefixes)
        except UpdateFailed as failure:
            if failure.kind == "syntax":
                raise ParseError(str(failure), source="<update>") from None
            if failure.kind in ("timeout", "memory"):
                raise UpdateLimitError(str(failure)) from None
            raise GraphError(f"the update failed: {failure}") from None
        finally:
            self._store = Store(str(path))

    def drop(self, graph: str) -> None:
        """Remove a named graph (or empty the default graph, `DEFAULT_GRAPH`)."""
        target = self._graph(graph)
        self.store.clear_graph(target)
        if isinstance(target, NamedNode):
            self.store.remove_graph(target)
        self.touched[graph] = Provenance(action="drop")
        self.changed(graph)

    def restore(self, source: RdfSource, *, progress: ProgressCallback | None = None) -> None:
        """Replace the whole dataset with the content of an N-Quads/TriG dump."""
        self.store.clear()
        self.restored = True
        with _reading(source, progress) as stream:
            self.store.bulk_load(stream, source.format)


class GraphStore:
    """The service's store: queries, loads, updates, dumps; see DESIGN.md."""

    def __init__(
        self,
        path: str | Path,
        *,
        base_iri: str = DEFAULT_BASE_IRI,
        validator: ShapesValidator | None = None,
        create: bool = True,
        feed_policy: FeedPolicy | None = None,
    ) -> None:
        if os.fspath(path).startswith(tuple(scheme.rstrip("/") for scheme in ENGINE_SCHEMES)):
            # A Path folds the engine location's `//`, and this class would make a store folder of that name.
            raise ValueError(f"{os.fspath(path)!r} names a SPARQL engine, not a store folder: open it with open_store()")
        self.path = Path(path)
        self.namespaces = Namespaces(base_iri)
        self.directory = SnapshotDirectory(self.path)
        self.feed = ChangeFeed(self.path, self.namespaces.base, feed_policy)
        self.labels = LabelIndex(self.path)
        self.statistics = DatasetStatistics(self.path, entity_space=self.namespaces.base + "id/",
                                            metadata_graph=self.namespaces.metadata_graph,
                                            derived_graphs=[entailment.entailed_graph(self.namespaces)])
        if not self.directory.exists():
            if not create:
                from .errors import StoreLayoutError

                raise StoreLayoutError(f"{self.path}: no heritage-hubs store here")
            self.directory.initialise()
        self._validator = validator

    # ------------------------------------------------------------ reading

    @property
    def validator(self) -> ShapesValidator:
        if self._validator is None:
            from .bundled import load_shapes

            self._validator = load_shapes(self.namespaces)
        return self._validator

    def reader(self) -> Store:
        """The current snapshot, read-only. Cheap to call once per request."""
        return self.directory.reader()

    def indexed_reader(self) -> Store:
        """The current snapshot, with the label index brought to its generation first (pages and reconciliation read
        both; after a write by another process the index may be behind)."""
        reader = self.reader()
        self.labels.ensure(reader, int(self.generation or 0))
        return reader

    @property
    def generation(self) -> str:
        return self.directory.generation() or ""

    def query(self, sparql: str, **options: Any) -> QueryResult:
        """Run a SPARQL query on the current snapshot (all graphs as the default graph unless told)."""
        if "default_graph" not in options and "named_graphs" not in options:
            options.setdefault("use_default_graph_as_union", not has_dataset_clause(sparql))
        return self.reader().query(sparql, **options)

    def graphs(self) -> list[GraphInfo]:
        """Every named graph with its provenance and triple count."""
        reader = self.reader()
        described = read_graph_info(reader, self.namespaces.metadata_graph)
        result = []
        for graph in sorted(str(g.value) for g in reader.named_graphs()):
            info = described.get(graph)
            if graph == self.namespaces.metadata_graph or info is None:
                info = GraphInfo(iri=graph, triples=count_triples(reader, graph), title=info.title if info else None)
            result.append(info)
        return result

    def is_empty(self) -> bool:
        return next(iter(self.reader().quads_for_pattern(None, None, None, None)), None) is None  # any graph

    def __len__(self) -> int:
        return len(self.reader())

    # ------------------------------------------------------------ writing

    #: Seconds a write waits for the one before it before giving up (StoreBusyError).
    lock_timeout = 60.0
    #: Runs SPARQL Updates in a child process under limits; None runs them in this process (trusted callers).
    updates: UpdateRunner | None = None

    @contextlib.contextmanager
    def _work_copy(self, lock_timeout: float | None = None) -> Iterator[tuple[WriteTransaction, Path]]:
        """A private copy of the current snapshot under the write lock; deleted unless published."""
        with self.directory.write_lock(timeout=self.lock_timeout if lock_timeout is None else lock_timeout):
            work_path = self.directory.new_work_copy()
            tx = WriteTransaction(Store(str(work_path)), self.namespaces, path=work_path, updates=self.updates)
            try:
                yield tx, work_path
            finally:
                if not tx.closed:
                    tx.close()
                    gc.collect()  # the RocksDB handle must be closed before the directory goes
                if work_path.exists():
                    self.directory.discard(work_path)

    @contextlib.contextmanager
    def transaction(self, *, validate: bool = True, lock_timeout: float | None = None) -> Iterator[WriteTransaction]:
        """A write: everything inside commits together, or nothing does.

        What the commit does after the change costs what the change costs:
        validation, provenance counts, the feed, the label index and the
        statistics all follow the write's delta (see delta.py).
        """
        with self._work_copy(lock_timeout) as (tx, work_path):
            self._repair_derived()
            yield tx
            if not tx.touched and not tx.restored:
                return  # nothing written: no new generation (the work copy is thrown away)
            old = self.reader()
            delta = tx.delta(old)
            try:
                # The published generation's figures: they size the checks, and the next figures follow from them.
                known = None if tx.restored else self.statistics.read(self.generation)
                # The entailed graph first: validation then reads it as it will be (focus nodes come from the write alone).
                self._entail(tx, old, delta)
                self._commit(tx, old, delta, known, validate=validate)
                generation = int(self.directory.next_name())
                self._record_changes(tx, old, delta, known, generation)
            finally:
                delta.close()  # the dumps of graphs changed whole
            try:
                tx.store.flush()
                tx.close()
                gc.collect()  # closed before the directory is published
                self.directory.publish(work_path)
            except BaseException:
                self.feed.discard(generation)
                raise

    def ensure_entailed(self) -> bool:
        """Build the entailed graph of a store made before it existed (`serve` calls this before it starts, so that
        no visitor's write pays for it); True if it was built."""
        target = entailment.entailed_graph(self.namespaces)
        if self.is_empty() or self.reader().contains_named_graph(NamedNode(target)):
            return False
        with self.transaction(validate=False) as tx:
            entailment.rebuild(tx.store, self.namespaces)
            tx.touched[target] = ENTAILED_PROVENANCE
        return True

    def _entail(self, tx: WriteTransaction, old: Store, delta: Delta) -> None:
        """The entailed graph in step with the write (graph/entailment.py), and its description in the metadata."""
        change = entailment.apply(tx.store, old, delta, self.namespaces)
        if change is None:
            return
        entailed, metadata = entailment.entailed_graph(self.namespaces), self.namespaces.metadata_graph
        if change == entailment.REBUILT:
            # Counted once, against the graph's description: a restore that gave it back as it was keeps the dump's.
            described = read_graph_info(tx.store, metadata).get(entailed)
            if described is None:
                change = None  # record_change counts it
            else:
                change = count_triples(tx.store, entailed) - described.triples
                if change == 0:
                    return
        record_change(tx.store, metadata, entailed, ENTAILED_PROVENANCE, started=tx.started, count_change=change)

    def _repair_derived(self) -> None:
        """Make the feed and the label index match the published generation again (call with the write lock held).

        A commit writes them before it publishes its snapshot; if the process
        died in between, they hold a change nobody can see. Members of a
        later generation go; an index that is not at the published generation
        is rebuilt. The statistics are kept per generation and need nothing.
        """
        published = int(self.generation or 0)
        self.feed.forget_unpublished(published)
        known = self.labels.generation()
        if known is not None and known != published:
            self.labels.rebuild(self.reader(), published)

    def repair_derived_data(self) -> bool:
        """:meth:`_repair_derived`, if no write is under way (a server calls it when it starts); True if it ran."""
        try:
            with self.directory.write_lock(timeout=0):
                self._repair_derived()
        except StoreBusyError:
            return False
        return True

    def tokens(self) -> TokenStore:
        """The write tokens (graph/tokens.py): in the store's folder."""
        return TokenStore(self.directory)

    def dataset_statistics(self) -> Statistics:
        """Triples, entities and class/property partitions of the current generation (VoID)."""
        generation = self.generation
        return self.statistics.get(self.reader(), generation)

    def _record_changes(self, tx: WriteTransaction, old: Store, delta: Delta, known: Statistics | None, generation: int) -> None:
        """The change feed's members, the label index and the statistics, written before the snapshot holding the change is published."""
        # The feed carries what was asserted: the metadata and the entailed graph are derived from it.
        derived = frozenset(self.namespaces.derived_graphs)
        if tx.restored:
            graphs = all_graphs(old) | all_graphs(tx.store)
            changed = self.feed.record(old, tx.store, graphs, generation=generation, exclude_graph=derived)
        else:
            changed = self.feed.record_delta(old, tx.store, delta, generation=generation, exclude_graph=derived)
        self.labels.update(tx.store, changed, generation, published=int(self.generation or 0), delta=delta, derived=derived)
        name = self.directory.generation_name(generation)
        stats = self.statistics.compute(tx.store) if known is None else self.statistics.advance(known, old, tx.store, delta)
        self.statistics.write(name, stats)

    def _commit(self, tx: WriteTransaction, old: Store, delta: Delta, known: Statistics | None, *, validate: bool) -> None:
        if not tx.touched:
            return
        for quad, added in delta.quads():
            if added:
                _check_sizes(quad, None)  # what an update wrote, as loads are checked while they are read
        if validate:
            violations = self.validator.validate_change(old, tx.store, delta, class_sizes=known.classes if known else None,
                                                        store_size=known.triples if known else None)
            errors = [v for v in violations if v.severity == "Violation"]
            if errors:
                sources = {s for p in tx.touched.values() for s in p.sources}
                raise ValidationFailed(errors, source=", ".join(sorted(sources)) or None)
        metadata = self.namespaces.metadata_graph
        for graph, provenance in tx.touched.items():
            if graph == DEFAULT_GRAPH:
                continue
            if has_quads(tx.store, graph):
                change = delta.graphs.get(graph)
                difference = None if change is None or change.whole else len(change.added) - len(change.removed)
                record_change(tx.store, metadata, graph, provenance, started=tx.started, count_change=difference)
            else:
                with contextlib.suppress(Exception):
                    tx.store.remove_graph(NamedNode(graph))
                forget_graph(tx.store, metadata, graph)

    def load(
        self,
        source: RdfSource,
        *,
        graph: str,
        replace: bool = False,
        provenance: Provenance | None = None,
        validate: bool = True,
        progress: ProgressCallback | None = None,
    ) -> GraphInfo:
        """Load one document into one named graph, validated, all-or-nothing."""
        with self.transaction(validate=validate) as tx:
            tx.load(source, graph=graph, replace=replace, provenance=provenance, progress=progress)
        return self.graph_info(graph)

    def validate_all(self) -> list[Violation]:
        """Every check over everything in the store (`heritage-hubs validate --all`)."""
        return self.validator.validate(self.reader())

    def check(self, source: RdfSource, *, graph: str, replace: bool = False) -> list[Violation]:
        """Validate `source` as if it were loaded into `graph`, changing nothing."""
        with self._work_copy() as (tx, _):
            tx.load(source, graph=graph, replace=replace)
            old = self.reader()
            return self.validator.validate_change(old, tx.store, tx.delta(old))

    def update(self, sparql: str, *, graphs: Iterable[str], provenance: Provenance | None = None,
               base_iri: str | None = None, prefixes: dict[str, str] | None = None, any_graph: bool = False) -> None:
        """Run a SPARQL Update in one validated commit; `graphs` are the named graphs it may touch.

        `any_graph`: the update may write any graph (`GRAPH ?g`, `CLEAR ALL`); the entailed graph is then taken out
        of the work copy before it runs, so that nothing the update writes there survives: the commit rebuilds it.
        """
        graphs = list(graphs)
        with self.transaction() as tx:
            if any_graph:
                tx.store.remove_graph(NamedNode(entailment.entailed_graph(self.namespaces)))
            tx.update(sparql, graphs=graphs, base_iri=base_iri, prefixes=prefixes)
            if provenance is not None:
                for graph in graphs:
                    tx.touched[graph] = provenance

    def drop(self, graph: str) -> None:
        with self.transaction() as tx:
            tx.drop(graph)

    def serialize_graph(self, output: BinaryIO, graph: str, fmt: RdfFormat, *, prefixes: dict[str, str] | None = None) -> None:
        """Write one graph's triples (`DEFAULT_GRAPH`: the default graph) to `output`, streamed."""
        name = DefaultGraph() if graph == DEFAULT_GRAPH else NamedNode(graph)
        quads = self.reader().quads_for_pattern(None, None, None, name)
        triples = (Quad(q.subject, q.predicate, q.object) for q in quads) if fmt.supports_datasets else (q.triple for q in quads)
        serialize(triples, output, fmt, prefixes=prefixes)

    def has_graph(self, graph: str) -> bool:
        """Whether `graph` exists (the default graph, `DEFAULT_GRAPH`, always does)."""
        return graph == DEFAULT_GRAPH or self.reader().contains_named_graph(NamedNode(graph))

    def write_graph(self, sources: Iterable[RdfSource], *, graph: str, replace: bool,
                    provenance: Provenance | None = None) -> bool:
        """Replace (PUT) or add to (POST) one graph from documents, in one validated commit; True if it is new."""
        with self.transaction() as tx:
            created = not (graph == DEFAULT_GRAPH or tx.store.contains_named_graph(NamedNode(graph)))
            if replace:
                tx.drop(graph)
            for source in sources:
                tx.load(source, graph=graph)
            tx.touched[graph] = provenance or Provenance(action="replace" if replace else "load")
        return created

    def graph_info(self, graph: str) -> GraphInfo:
        for info in self.graphs():
            if info.iri == graph:
                return info
        return GraphInfo(iri=graph, triples=0)

    # ------------------------------------------------------------ dump and restore

    def dump(self, output: BinaryIO, *, graph: str | None = None, compress: bool = False) -> None:
        """Stream the dataset (or one graph) as N-Quads, optionally gzipped."""
        reader = self.reader()
        target: BinaryIO = output
        zipped = gzip.GzipFile(fileobj=output, mode="wb", mtime=0) if compress else None
        if zipped is not None:
            target = zipped  # type: ignore[assignment]
        try:
            if graph is None:
                reader.dump(target, RdfFormat.N_QUADS)
            else:
                serialize(reader.quads_for_pattern(None, None, None, NamedNode(graph)), target, RdfFormat.N_QUADS)
        finally:
            if zipped is not None:
                zipped.close()

    def restore(self, source: RdfSource, *, validate: bool = True, progress: ProgressCallback | None = None) -> int:
        """Replace everything with a dump. Returns the number of quads restored."""
        with self.transaction(validate=False) as tx:
            tx.restore(source, progress=progress)
            if validate:
                violations = [v for v in self.validator.validate(tx.store) if v.severity == "Violation"]
                if violations:
                    raise ValidationFailed(violations, source=source.name)
        return len(self.reader())


ENGINE_SCHEMES = ("sparql+http://", "sparql+https://")


def is_engine_location(location: str | os.PathLike[str]) -> TypeGuard[str]:
    """Whether `location` names a SPARQL engine (``sparql+http://…``) rather than a store directory."""
    return isinstance(location, str) and location.startswith(ENGINE_SCHEMES)


def store_location(value: str | os.PathLike[str]) -> Path | str:
    """A store directory, or a SPARQL engine's location (``sparql+http://…``, kept as written: a path would fold its ``//``)."""
    text = os.fspath(value)
    return text if is_engine_location(text) else Path(text)


def open_store(location: str | Path, *, base_iri: str = DEFAULT_BASE_IRI, feed_policy: FeedPolicy | None = None) -> GraphStore:
    """The store at `location`: a directory (the embedded store) or a SPARQL engine (``sparql+http://…``, graph/remote.py)."""
    if is_engine_location(location):
        from .remote import RemoteGraphStore

        return RemoteGraphStore(location, base_iri=base_iri, feed_policy=feed_policy)
    return GraphStore(location, base_iri=base_iri, feed_policy=feed_policy)


def rebased_source(path: Path, base_iri: str) -> RdfSource:
    """A bundled file, rewritten onto a non-default base IRI if needed."""
    if base_iri == DEFAULT_BASE_IRI:
        return RdfSource.from_path(path)
    text = rebase(path.read_text(encoding="utf-8"), base_iri)
    return RdfSource.from_bytes(text.encode("utf-8"), format_for_path(path), name=str(path))
