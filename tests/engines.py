"""SPARQL engines started for the tests (and the benches) on loopback, each with its own data directory.

- Oxigraph's server (`oxigraph serve`, PyPI package oxigraph), with its own
  union default graph left off unless asked (the service names its graphs
  itself; `union=True` for the benches, with `&union=engine` in the location);
- Virtuoso (Debian's virtuoso-opensource): SPARQL at /sparql, updates and the
  Graph Store with digest authentication at /sparql-auth and
  /sparql-graph-crud-auth (user dba, the password of a new database).

An engine that cannot be started raises: in CI a missing engine is a failure,
not a skip (`./run test` installs both).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import rdflib

BIN = Path(sys.executable).parent
VIRTUOSO = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"
#: The Debian package's pages directory; Virtuoso's HTTP server wants a root even when it serves only SPARQL.
VIRTUOSO_VSP = "/var/lib/virtuoso-opensource-7/vsp"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningEngine:
    name: str
    location: str
    process: subprocess.Popen[bytes]
    query_url: str
    env: dict[str, str] = field(default_factory=dict)
    #: Virtuoso's SQL port (isql-vt), for its own bulk loader.
    sql_port: int | None = None

    def stop(self) -> None:
        stop_process(self.process, 30)


WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"
_NUMBER = re.compile(r"-?\d+\.\d+")


def rounded_wkt(text: str) -> str:
    """A WKT literal's numbers to 4 decimals: Virtuoso keeps geometries at single precision (7.7 → 7.6999998092651),
    which the README states; everything else must be equal."""
    return _NUMBER.sub(lambda m: f"{float(m.group()):.4f}", text)


def rounded_graph(graph: rdflib.Graph) -> rdflib.Graph:
    """`graph` with its WKT literals' numbers rounded as :func:`rounded_wkt` does."""
    rounded = rdflib.Graph()
    for s, p, o in graph:
        if isinstance(o, rdflib.Literal) and str(o.datatype) == WKT:
            o = rdflib.Literal(rounded_wkt(str(o)), datatype=o.datatype)
        rounded.add((s, p, o))
    return rounded


def seed_location(location: str, env: dict[str, str], base: str = "https://w3id.org/heritage-hubs/") -> None:
    """The bundled data into a store or an engine, through `heritage-hubs` itself (graph/bundled.py)."""
    subprocess.run([sys.executable, "-m", "heritage_hubs.graph.bundled", location, base], check=True, capture_output=True,
                   env={**os.environ, **env}, timeout=300)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Ask a process to end; kill it if it has not within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 90.0) -> None:
    ask = url + "?query=ASK%7B%7D"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(ask, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{name} did not answer at {url} within {timeout:g} s")


def start_oxigraph(folder: Path, *, union: bool = False) -> RunningEngine:
    binary = BIN / "oxigraph"
    if not binary.exists():
        raise RuntimeError(f"Oxigraph's server is not installed ({binary}); `./run test` installs it (PyPI oxigraph)")
    port = free_port()
    command = [str(binary), "serve", "--location", str(folder / "oxigraph"), "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen([*command, "--union-default-graph"] if union else command,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/query"
    _wait(url, process, "Oxigraph's server")
    location = f"sparql+http://127.0.0.1:{port}/query?update=/update&store=/store" + ("&union=engine" if union else "")
    return RunningEngine("oxigraph", location, process, url)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
FileExtend = 200
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
Striping = 0
[Parameters]
ServerPort = {sql_port}
DisableUnixSocket = 1
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {folder}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
MaxQueryMem = 1G
[HTTPServer]
ServerPort = {http_port}
ServerRoot = {vsp}
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
Charset = UTF-8
[SPARQL]
; Virtuoso cuts results at ResultSetMaxRows without saying so: far above anything the service asks for.
ResultSetMaxRows = 10000000
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 120
"""


def start_virtuoso(folder: Path, *, buffers: int = 20000) -> RunningEngine:
    if not os.path.exists(VIRTUOSO):
        raise RuntimeError("Virtuoso is not installed (virtuoso-t); `./run test` installs Debian's virtuoso-opensource")
    folder = folder / "virtuoso"
    folder.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(folder=folder, sql_port=sql_port, http_port=http_port,
                                                             vsp=VIRTUOSO_VSP, buffers=buffers, dirty=buffers * 3 // 4))
    process = subprocess.Popen([VIRTUOSO, "+foreground", "+configfile", str(folder / "virtuoso.ini")],
                               cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{http_port}/sparql"
    _wait(url, process, "Virtuoso")
    env = {"HERITAGE_HUBS_ENGINE_USER": "dba", "HERITAGE_HUBS_ENGINE_PASSWORD": "dba", "HERITAGE_HUBS_ENGINE_AUTH": "digest"}
    return RunningEngine("virtuoso", f"sparql+http://127.0.0.1:{http_port}/sparql?update=/sparql-auth"
                         "&store=/sparql-graph-crud-auth&timeout=ms", process, url, env, sql_port)


ENGINES: dict[str, Callable[[Path], RunningEngine]] = {"oxigraph": start_oxigraph, "virtuoso": start_virtuoso}
