"""A SPARQL engine's own bulk loader, run by `heritage-hubs load` and `restore` in place of Graph Store requests.

Over an engine the service writes large changes by the Graph Store HTTP
Protocol, in parts of 8 MB (graph/remote.py ``Engine.put_graph``). Every engine
has a faster way in of its own, outside the standards: Virtuoso's ``ld_dir`` and
``rdf_loader_run()`` (SQL, through isql), Oxigraph server's ``POST /store?no_transaction``,
TDB2's ``tdb2.tdbloader`` (with Fuseki stopped). An operator who names one with
``--engine-loader`` gets the validated change written as one N-Quads file, and
the command run on it:

1. the data is parsed and validated here first, exactly as without a loader:
   bad data runs nothing;
2. every statement the write sends (the graphs it replaces, the feed's members,
   the entailed graph's additions) goes into one N-Quads file in
   ``--loader-dir`` (it must be a folder the engine may read: Virtuoso's
   ``DirsAllowed``), named once per write (Virtuoso's loader skips a file name
   it has loaded before);
3. the graphs the write replaces are dropped (one SPARQL Update), then the
   command runs with ``{file}``, ``{dir}`` and ``{name}`` replaced by the file's
   path, folder and name (also in the environment as ``HERITAGE_HUBS_LOAD_FILE``);
4. the engine is waited for (the command may stop and start it, as TDB2's
   loader needs), then asked how many statements each replaced graph holds: a
   loader that stopped half-way, or reported an error only in its own log, is
   caught here and the generation does not move;
5. the rest of the write (metadata, the generation) goes as usual, by SPARQL
   Update.

As with Graph Store requests, the engine has no transaction across these steps:
a command that fails leaves the replaced graphs dropped and the generation
unmoved (so no cache moves on); running the same command again finishes it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from pyoxigraph import QueryResultsFormat, QuerySolutions, parse_query_results

from .remote import WRITE_TIMEOUT, EngineError

if TYPE_CHECKING:
    from .remote import RemoteGraphStore

#: The placeholders a loader command may use.
PLACEHOLDERS = ("file", "dir", "name")
#: A loader folder is written into the command as it is: it may hold only these characters (no quoting needed in a
#: shell or in Virtuoso's SQL strings).
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")
#: Bytes of the command's error output kept for the message.
_TAIL = 2000


@dataclass(frozen=True)
class EngineLoader:
    """An operator's command that bulk-loads one N-Quads file into the engine, and the folder the file is written to."""

    command: str
    folder: Path | None = None
    #: Seconds to wait for the engine to answer again after the command (it may have restarted it).
    wait_seconds: float = 300.0

    def __post_init__(self) -> None:
        names = set(re.findall(r"\{([^{}]*)\}", self.command))
        unknown = sorted(names - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"the loader command uses {{{unknown[0]}}}; it may use {{file}}, {{dir}} and {{name}}")
        if not names:
            raise ValueError("the loader command must name the file to load: {file} (or {dir} and {name})")
        if self.folder is not None:
            folder = str(self.folder.resolve())
            if not _SAFE_PATH.match(folder):
                raise ValueError(f"the loader folder {folder} has characters other than letters, digits, '_', '.', "
                                 "'-' and '/': the command gets its path as it is")
            if not self.folder.is_dir():
                raise ValueError(f"the loader folder {self.folder} is not a directory")

    def command_for(self, path: Path) -> str:
        return (self.command.replace("{file}", str(path)).replace("{dir}", str(path.parent))
                .replace("{name}", path.name))


class GraphSink(Protocol):
    """Where the statements of a large write go: whole graphs replaced, statements added to a graph."""

    def replace(self, graph: str, ntriples: bytes | IO[bytes]) -> None: ...

    def add(self, graph: str, ntriples: bytes | IO[bytes]) -> None: ...

    def finish(self) -> None: ...


class GraphStoreSink:
    """The standard way: each graph by Graph Store request as it comes (``PUT`` to replace, ``POST`` to add)."""

    def __init__(self, remote: RemoteGraphStore) -> None:
        self.engine = remote.engine

    def replace(self, graph: str, ntriples: bytes | IO[bytes]) -> None:
        self.engine.put_graph(graph, ntriples, timeout=WRITE_TIMEOUT)

    def add(self, graph: str, ntriples: bytes | IO[bytes]) -> None:
        self.engine.post_graph(graph, ntriples, timeout=WRITE_TIMEOUT)

    def finish(self) -> None:
        pass


class LoaderSink:
    """Statements gathered into one N-Quads file, handed to the engine's own loader at :meth:`finish` (see the module's
    description)."""

    def __init__(self, remote: RemoteGraphStore, loader: EngineLoader) -> None:
        self.remote = remote
        self.loader = loader
        folder = str(loader.folder.resolve()) if loader.folder is not None else None
        handle, name = tempfile.mkstemp(prefix="hh-load-", suffix=".nq", dir=folder)
        self.path = Path(name)
        if not _SAFE_PATH.match(str(self.path)):
            self.path.unlink()
            raise EngineError(f"the loader file {self.path} has characters the command cannot take as they are: "
                              "name a --loader-dir", status=400)
        self.file = os.fdopen(handle, "wb")
        #: Statements sent per replaced graph (what the engine must hold after the load).
        self.replaced: dict[str, int] = {}

    def replace(self, graph: str, ntriples: bytes | IO[bytes]) -> None:
        self.replaced[graph] = self._write(graph, ntriples)

    def add(self, graph: str, ntriples: bytes | IO[bytes]) -> None:
        self._write(graph, ntriples)

    def _write(self, graph: str, ntriples: bytes | IO[bytes]) -> int:
        """N-Triples (one statement per line, as pyoxigraph writes them) as N-Quads of `graph`."""
        tail = f" <{graph}> .\n".encode()
        lines = ntriples.splitlines() if isinstance(ntriples, bytes) else (line.rstrip(b"\r\n") for line in ntriples)
        count = 0
        for line in lines:
            statement = line.rstrip()
            if not statement:
                continue
            if not statement.endswith(b"."):
                raise EngineError(f"not one statement per line: {statement[:200]!r}")
            self.file.write(statement[:-1].rstrip() + tail)
            count += 1
        return count

    def finish(self) -> None:
        self.file.close()
        try:
            self.path.chmod(0o644)  # read by the engine, which may run as another user
            if self.replaced:
                operations = [f"DROP SILENT GRAPH <{g}>" for g in sorted(self.replaced)]
                counter = self.remote.generation_counter
                if counter.metadata_graph in self.replaced:
                    # The generation counter stays, at its value, while the loader runs (gone, it would read as 0).
                    counter.forget()
                    kept = counter.statement(int(self.remote.generation)).decode()
                    operations.append(f"INSERT DATA {{ GRAPH <{counter.metadata_graph}> {{ {kept} }} }}")
                self.remote.engine.update(" ;\n".join(operations), timeout=WRITE_TIMEOUT)
            self._run()
            self._wait()
            self._check()
        finally:
            self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        command = self.loader.command_for(self.path)
        # The operator's own command line, given to the command-line tool only (never by the server); what is put into
        # it is a path of characters that need no quoting (checked above).
        ran = subprocess.run(command, shell=True, capture_output=True,  # noqa: S602
                             env={**os.environ, "HERITAGE_HUBS_LOAD_FILE": str(self.path)})
        if ran.returncode != 0:
            said = (ran.stderr or ran.stdout).decode(errors="replace")[-_TAIL:].strip()
            raise EngineError(f"the engine's loader ({shlex.split(command)[0]}) exited with {ran.returncode}: "
                              f"{said or 'it said nothing'}. The graphs it was to fill are dropped and the generation "
                              "has not moved; run the same command again to finish")

    def _wait(self) -> None:
        deadline = time.monotonic() + self.loader.wait_seconds
        while True:
            try:
                self.remote.engine.query("ASK {}", accept="application/sparql-results+json", timeout=10).close()
                return
            except EngineError:
                if time.monotonic() > deadline:
                    raise EngineError(f"the engine did not answer within {self.loader.wait_seconds:.0f} s of its "
                                      "loader's end", status=503) from None
                time.sleep(1)

    def _check(self) -> None:
        if not self.replaced:
            return
        values = " ".join(f"<{g}>" for g in sorted(self.replaced))
        query = f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"
        # (a count over every statement loaded: given a write's time, not a query's)
        response = self.remote.engine.query(query, accept="application/sparql-results+json", timeout=WRITE_TIMEOUT)
        answer = parse_query_results(response.content, format=QueryResultsFormat.JSON)
        held = {str(row["g"].value): int(row["n"].value) for row in answer} if isinstance(answer, QuerySolutions) else {}
        for graph, sent in sorted(self.replaced.items()):
            if held.get(graph, 0) != sent:
                raise EngineError(f"the engine's loader exited normally, but <{graph}> holds {held.get(graph, 0):,} "
                                  f"statements of the {sent:,} sent: see the engine's log. The generation has not moved")


def sink_for(remote: RemoteGraphStore) -> GraphSink:
    """The operator's loader when one is set on `remote` (``--engine-loader``), else Graph Store requests."""
    loader = getattr(remote, "loader", None)
    return LoaderSink(remote, loader) if loader is not None else GraphStoreSink(remote)
