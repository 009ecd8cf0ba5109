"""SPARQL engines started for the tests (and the benches) on loopback, each with its own data directory.

- Oxigraph's server (`oxigraph serve`, PyPI package oxigraph), with its own
  union default graph left off unless asked (the service names its graphs
  itself; `union=True` for the benches, with `&union=engine` in the location);
- Virtuoso (Debian's virtuoso-opensource): SPARQL at /sparql, updates and the
  Graph Store with digest authentication at /sparql-auth and
  /sparql-graph-crud-auth (user dba, the password of a new database);
- Jena's SPARQL engine (ARQ) over a TDB2 store, the engine Apache Jena Fuseki runs, from Debian's
  libapache-jena-java, behind tests/jena/JenaEngine.java: the SPARQL 1.1 Protocol and the Graph Store Protocol as
  Fuseki serves them (/query, /update, /data; `timeout` in seconds; Basic authentication on writes). Fuseki itself
  comes only from Maven's repository, which this project's machines cannot reach.

An engine that cannot be started raises: in CI a missing engine is a failure,
not a skip (`./run test` installs all three).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
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
    #: The engine's own folder (Virtuoso reads files to load from there: its DirsAllowed).
    location_folder: str = ""

    def stop(self) -> None:
        stop_process(self.process, 30)
        # An engine started again by tests/jena/offline_load.py, which wrote its process id here.
        restarted = Path(self.location_folder) / "jena.pid" if self.location_folder else None
        if restarted is not None and restarted.exists() and int(restarted.read_text()) != self.process.pid:
            pid = int(restarted.read_text())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                    time.sleep(0.2)
                os.kill(pid, signal.SIGKILL)


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
                         "&store=/sparql-graph-crud-auth&timeout=ms", process, url, env, sql_port, str(folder))




def bulk_loader(engine: RunningEngine, folder: Path) -> tuple[str, Path]:
    """The engine's own bulk loader as a `--engine-loader` command, and a folder it may read files from: Oxigraph
    server's bulk load over HTTP (`POST /store?no_transaction`), Virtuoso's `ld_dir` + `rdf_loader_run()` through
    isql-vt (its DirsAllowed lists the engine's folder), TDB2's `tdb2.tdbloader` with the engine stopped."""
    if engine.name == "oxigraph":
        store = engine.query_url.rsplit("/", 1)[0] + "/store"
        return (f"curl -sS -f -X POST -H 'Content-Type: application/n-quads' -T {{file}} '{store}?no_transaction'",
                folder)
    if engine.name == "virtuoso":
        sql = "ld_dir('{dir}', '{name}', 'urn:unused'); rdf_loader_run(); checkpoint;"
        return f'isql-vt {engine.sql_port} dba dba "exec={sql}"', Path(engine.location_folder)
    # TDB2's loader, with the engine stopped and started again around it (as Fuseki's operators run it).
    script = Path(__file__).parent / "jena" / "offline_load.py"
    return f"{sys.executable} {script} {engine.location_folder} {{file}}", folder


JENA_SOURCE = Path(__file__).parent / "jena" / "JenaEngine.java"
JENA_PACKAGE = "libapache-jena-java"
JAVA = shutil.which("java") or "/usr/bin/java"
JAVAC = shutil.which("javac") or "/usr/bin/javac"


def _java_packages(package: str, seen: set[str]) -> None:
    """`package` and the Java library packages it depends on, through Debian's records of what is installed."""
    if package in seen:
        return
    seen.add(package)
    depends = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True, text=True).stdout
    for alternatives in filter(None, (d.strip() for d in depends.split(","))):
        name = re.split(r"[\s(:|]", alternatives, maxsplit=1)[0]
        if name.startswith("lib") and name.endswith("-java"):
            _java_packages(name, seen)


#: slf4j's bindings and bridges, which Debian's libslf4j-java installs together: only one may be on a classpath (the
#: `nop` binding: the engine logs nothing), and a bridge beside its own binding loops.
_SLF4J_BRIDGES = re.compile(r".*/(slf4j-(?!api|nop)[^/]*|[a-z0-9]+-over-slf4j[^/]*|jul-to-slf4j[^/]*)\.jar")


def jena_classpath() -> str:
    """The jars of Debian's Jena and of the libraries it needs (each package's own jars, version-named ones only once)."""
    if subprocess.run(["dpkg-query", "-W", JENA_PACKAGE], capture_output=True).returncode != 0:
        raise RuntimeError(f"Jena is not installed ({JENA_PACKAGE}); `./run test` installs it from Debian's packages")
    packages: set[str] = set()
    _java_packages(JENA_PACKAGE, packages)
    jars: list[str] = []
    for package in sorted(packages):
        files = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True).stdout.split()
        for file in files:
            # Debian installs each jar once under its versioned name and links the bare name to it: take the links.
            if re.fullmatch(r"/usr/share/java/[^/]+\.jar", file) and os.path.islink(file) and not _SLF4J_BRIDGES.match(file):
                jars.append(file)
    return ":".join(jars)


def _xerces_messages(classpath: str, folder: Path) -> None:
    """Debian's jena-core 4.5.0-2 moves the Xerces it carries to the package `xerces` but leaves its message files under
    org/apache/jena/ext/xerces/, so XSD datatypes fail to initialise ("internal error"): copy them where the classes look."""
    core = next(jar for jar in classpath.split(":") if Path(jar).name.startswith("jena-core"))
    prefix = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile(core) as jar:
        for name in jar.namelist():
            if name.startswith(prefix) and name.endswith(".properties"):
                target = folder / "xerces" / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))


def jena_build() -> tuple[Path, str]:
    """JenaEngine.java compiled (once per source text, in the temporary folder) and the classpath it runs with."""
    classpath = jena_classpath()
    digest = hashlib.sha256(JENA_SOURCE.read_bytes() + classpath.encode()).hexdigest()[:16]
    classes = Path(tempfile.gettempdir()) / f"heritage-hubs-jena-{digest}"
    if not (classes / "JenaEngine.class").exists():
        building = Path(tempfile.mkdtemp(prefix="heritage-hubs-jena-"))
        subprocess.run([JAVAC, "-nowarn", "-cp", classpath, "-d", str(building), str(JENA_SOURCE)], check=True,
                       capture_output=True, timeout=300)
        _xerces_messages(classpath, building)
        with contextlib.suppress(OSError):  # another process built it first
            building.rename(classes)
    return classes, classpath


def start_jena(folder: Path, *, union: bool = False) -> RunningEngine:
    """Jena's SPARQL engine over a TDB2 store (tests/jena/JenaEngine.java), with Basic authentication on its writes."""
    classes, classpath = jena_build()
    port = free_port()
    java = [JAVA, "-Xmx2g", "-Dsun.net.httpserver.nodelay=true", "-cp", f"{classes}:{classpath}"]
    command = [*java, "JenaEngine", "--port", str(port), "--location", str(folder / "jena"), "--user", "admin",
               "--password", "jena", *(["--union"] if union else [])]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    # For tests/jena/offline_load.py, which stops the engine, runs TDB2's loader and starts it again.
    (folder / "jena-engine.json").write_text(json.dumps({"java": java, "command": command, "location": str(folder / "jena")}))
    (folder / "jena.pid").write_text(str(process.pid))
    url = f"http://127.0.0.1:{port}/query"
    _wait(url, process, "Jena")
    env = {"HERITAGE_HUBS_ENGINE_USER": "admin", "HERITAGE_HUBS_ENGINE_PASSWORD": "jena", "HERITAGE_HUBS_ENGINE_AUTH": "basic"}
    location = f"sparql+http://127.0.0.1:{port}/query?update=/update&store=/data&timeout=s" + ("&union=engine" if union else "")
    return RunningEngine("jena", location, process, url, env, location_folder=str(folder))


ENGINES: dict[str, Callable[[Path], RunningEngine]] = {"oxigraph": start_oxigraph, "virtuoso": start_virtuoso,
                                                         "jena": start_jena}
