"""SPARQL endpoint throughput: heritage-hubs against its peers, same data, same run.

    ./run bench sparql_endpoint                     # 1M triples, all peers found
    ./run bench sparql_endpoint --triples 100000 --seconds 10 --peers oxigraph heritage-hubs

Every peer is started on loopback with the same generated data (bench/generate.py)
and driven by wrk (-t2 -c8) with two workloads:
  trivial  SELECT ?s ?p ?o { ?s ?p ?o } LIMIT 10
  mix      what a researcher runs: lookups by IRI, label filters, joins across
           hubs/institutions/assets, GROUP BY counts, DESCRIBE, an OPTIONAL-heavy
           page query (bench/mix.lua picks one per request)
and prints req/s, p50 and p99 latency, and the ratio of req/s to Oxigraph's server.

Peers: oxigraph (Rust server, `oxigraph serve-read-only`, PyPI package oxigraph),
oxigraph-our-data (the same server over a copy of heritage-hubs' store: the same
dataset our endpoint answers from, entailed graph included, so its ratio is our
own overhead),
heritage-hubs (`heritage-hubs serve`, every safety feature on; hh-no-cache: the
same with the result cache off), minimal-flask
(bench/peers/minimal_flask.py: Flask + gunicorn + pyoxigraph, no features),
virtuoso (Debian virtuoso-opensource), rdflib-endpoint (PyPI rdflib-endpoint).
A peer whose software is not installed is reported as skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import ensure  # noqa: E402

BIN = Path(sys.executable).parent
GRAPH = "https://w3id.org/heritage-hubs/graph/generated"
TRIVIAL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10"
ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Peer:
    name: str
    endpoint: str
    process: subprocess.Popen[bytes]
    cleanup: Callable[[], None] | None = None

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.cleanup:
            self.cleanup()


def wait_for(endpoint: str, timeout: float = 600) -> None:
    url = endpoint + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{endpoint} did not come up")


def spawn(command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **kwargs)  # type: ignore[call-overload]


# ---------------------------------------------------------------- peers


def start_oxigraph(data: Path, work: Path) -> Peer | None:
    binary = BIN / "oxigraph"
    if not binary.exists():
        return None
    location = work / "oxigraph"
    if not location.exists():
        subprocess.run([str(binary), "load", "--location", str(location), "--file", str(data), "--graph", GRAPH], check=True,
                       capture_output=True)
    port = free_port()
    process = spawn([str(binary), "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                     "--union-default-graph"])
    return Peer("oxigraph", f"http://127.0.0.1:{port}/query", process)


def bench_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options of every bench on the generated data: its size, and where its stores are kept."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, help="keep stores here between runs (default: a temporary directory)")
    return parser


def data_and_work(args: argparse.Namespace, prefix: str) -> tuple[Path, Path]:
    """The generated data (made once, in bench/out) and the directory for the stores of this run."""
    data = ensure(args.triples, ROOT / "bench" / "out")
    work = args.work or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    return data, work


def prepared_store(data: Path, work: Path) -> Path:
    """A heritage-hubs store in `work` with the bundled data and `data` in the graph `generated` (made once)."""
    store = work / "heritage-hubs"
    if not store.exists():
        subprocess.run([str(BIN / "python"), "-m", "heritage_hubs.graph.bundled", str(store), "https://w3id.org/heritage-hubs/"],
                       check=True, capture_output=True)
        subprocess.run([str(BIN / "heritage-hubs"), "--store", str(store), "load", str(data), "--graph", "generated"], check=True,
                       capture_output=True)
    return store


def start_oxigraph_on_our_data(data: Path, work: Path) -> Peer | None:
    """Oxigraph's server over a copy of heritage-hubs' own store: the same dataset our endpoint answers from (the bundled
    graphs, the generated one and the entailed graph), so the ratio to it is our server's own overhead."""
    binary = BIN / "oxigraph"
    if not binary.exists():
        return None
    location = work / "oxigraph-our-data"
    if not location.exists():
        from heritage_hubs.graph.store import GraphStore

        GraphStore(prepared_store(data, work), create=False).reader().backup(str(location))
    port = free_port()
    process = spawn([str(binary), "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                     "--union-default-graph"])
    return Peer("oxigraph-our-data", f"http://127.0.0.1:{port}/query", process)


def start_heritage_hubs(data: Path, work: Path, *, cache: bool = True) -> Peer:
    store = prepared_store(data, work)
    port = free_port()
    env = {**os.environ, "HERITAGE_HUBS_RESULT_CACHE_MB": "64" if cache else "0"}
    process = spawn([str(BIN / "heritage-hubs"), "--store", str(store), "serve", "--port", str(port), "--workers", "2"], env=env)
    return Peer("heritage-hubs" if cache else "hh-no-cache", f"http://127.0.0.1:{port}/sparql", process)


def start_heritage_hubs_without_cache(data: Path, work: Path) -> Peer:
    return start_heritage_hubs(data, work, cache=False)


def start_minimal_flask(data: Path, work: Path) -> Peer:
    location = work / "minimal"
    if not location.exists():
        import pyoxigraph as ox

        store = ox.Store(str(location))
        store.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH))
        store.flush()
        del store
    port = free_port()
    process = spawn([str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
                     "bench.peers.minimal_flask:app"], cwd=str(ROOT), env={**os.environ, "MINIMAL_STORE": str(location)})
    return Peer("minimal-flask", f"http://127.0.0.1:{port}/sparql", process)


def start_virtuoso(data: Path, work: Path) -> Peer | None:
    binary = shutil.which("virtuoso-t")
    if binary is None:
        return None
    directory = work / "virtuoso"
    directory.mkdir(exist_ok=True)
    port, sql_port = free_port(), free_port()
    (directory / "virtuoso.ini").write_text(textwrap.dedent(f"""
        [Database]
        DatabaseFile = {directory}/virtuoso.db
        TransactionFile = {directory}/virtuoso.trx
        ErrorLogFile = {directory}/virtuoso.log
        xa_persistent_file = {directory}/virtuoso.pxa
        [TempDatabase]
        DatabaseFile = {directory}/virtuoso-temp.db
        TransactionFile = {directory}/virtuoso-temp.trx
        [Parameters]
        ServerPort = 127.0.0.1:{sql_port}
        DirsAllowed = ., {data.parent}, /usr/share/virtuoso-opensource-7/vad
        NumberOfBuffers = 340000
        MaxDirtyBuffers = 250000
        ServerThreads = 20
        [HTTPServer]
        ServerPort = 127.0.0.1:{port}
        ServerRoot = /var/lib/virtuoso-opensource-7/vsp
        ServerThreads = 20
        [SPARQL]
        ResultSetMaxRows = 1000000
        MaxQueryExecutionTime = 60
        DefaultGraph = {GRAPH}
    """))
    process = spawn([binary, "+foreground", "+configfile", str(directory / "virtuoso.ini")], cwd=str(directory))
    endpoint = f"http://127.0.0.1:{port}/sparql"
    deadline = time.monotonic() + 120
    isql = shutil.which("isql-vt") or shutil.which("isql")
    while time.monotonic() < deadline:
        probe = subprocess.run([isql or "isql-vt", str(sql_port), "dba", "dba", "exec=status();"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            break
        time.sleep(1)
    marker = directory / "loaded"
    if not marker.exists():
        script = f"ld_dir('{data.parent}', '{data.name}', '{GRAPH}'); rdf_loader_run(); checkpoint;"
        subprocess.run([isql or "isql-vt", str(sql_port), "dba", "dba", f"exec={script}"], check=True, capture_output=True, timeout=3600)
        marker.write_text("yes")
    return Peer("virtuoso", endpoint, process)


def start_rdflib_endpoint(data: Path, work: Path) -> Peer | None:
    # Its dependencies (FastAPI, its own rdflib pin) live in a venv of their own.
    binary = Path(os.environ.get("RDFLIB_ENDPOINT", BIN / "rdflib-endpoint"))
    if not binary.exists():
        return None
    port = free_port()
    process = spawn([str(binary), "serve", str(data), "--host", "127.0.0.1", "--port", str(port)])
    return Peer("rdflib-endpoint", f"http://127.0.0.1:{port}/", process)


PEERS = {
    "oxigraph": start_oxigraph,
    "oxigraph-our-data": start_oxigraph_on_our_data,
    "heritage-hubs": start_heritage_hubs,
    "hh-no-cache": start_heritage_hubs_without_cache,
    "minimal-flask": start_minimal_flask,
    "virtuoso": start_virtuoso,
    "rdflib-endpoint": start_rdflib_endpoint,
}


# ---------------------------------------------------------------- load


def wrk(endpoint: str, script: Path, seconds: int, extra_env: dict[str, str]) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx responses)."""
    result = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(script), endpoint],
                            capture_output=True, text=True, env={**os.environ, **extra_env}, timeout=seconds + 120, check=True)
    out = result.stdout

    def latency(percentile: str) -> float:
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, latency("50"), latency("99"), int(errors.group(1)) if errors else 0


def main() -> None:
    parser = bench_arguments(__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--peers", nargs="+", default=list(PEERS))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    data, work = data_and_work(args, "hh-endpoint-bench-")
    mix = ROOT / "bench" / "mix.lua"
    trivial_env = {"BENCH_QUERY": TRIVIAL, "BENCH_ACCEPT": ACCEPT}
    clusters = max(args.triples // 1300, 1)
    results: dict[str, dict[str, tuple[float, float, float, int]]] = {}
    print(f"{args.triples:,} triples; wrk -t2 -c8 -d{args.seconds}s; 2 cores shared by server and load generator")
    for name in args.peers:
        peer = PEERS[name](data, work)
        if peer is None:
            print(f"{name:16} skipped: not installed")
            continue
        try:
            wait_for(peer.endpoint)
            for workload, env in (("trivial", trivial_env), ("mix", {"BENCH_CLUSTERS": str(clusters), "BENCH_ACCEPT": ACCEPT})):
                wrk(peer.endpoint, mix, 3, env)  # warm-up
                results.setdefault(name, {})[workload] = wrk(peer.endpoint, mix, args.seconds, env)
                rate, p50, p99, errors = results[name][workload]
                print(f"{name:16} {workload:8} {rate:10.1f} req/s  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  non-2xx {errors}", flush=True)
        finally:
            peer.stop()
    for reference_name, title in (("oxigraph", "Oxigraph's server on the generated data"),
                                  ("oxigraph-our-data", "Oxigraph's server on our store's own dataset")):
        reference = results.get(reference_name)
        if reference is None:
            continue
        print(f"\nratio of req/s to {title}:")
        for name, workloads in results.items():
            cells = []
            for workload, (rate, _, _, _) in workloads.items():
                base = reference[workload][0] if workload in reference else None
                cells.append(f"{workload} {rate / base:.2f}x" if base else f"{workload} n/a")
            print(f"  {name:18} " + "  ".join(cells))


if __name__ == "__main__":
    main()
