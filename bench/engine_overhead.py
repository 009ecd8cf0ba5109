"""heritage-hubs in front of a SPARQL engine, against the engine itself: the cost of the layer (issue 16).

    ./run bench engine_overhead                        # 1M triples, Oxigraph server, Virtuoso and Jena
    ./run bench engine_overhead --triples 100000 --engines oxigraph --seconds 10

For each engine (started as tests/engines.py starts it, in a folder of this run):
  1. the generated data, with the bundled graphs and the entailed graph, go in
     through `heritage-hubs restore` (a dump of an embedded store made once,
     validated, then each graph by Graph Store in parts of 8 MB; then again
     with `--engine-loader`, which hands one N-Quads file to the engine's own
     loader: Oxigraph server's `POST /store?no_transaction`, Virtuoso's
     `ld_dir` + `rdf_loader_run()`, TDB2's `tdb2.tdbloader` with Jena
     stopped and started again around it), against the engine's own
     bulk loader on the same dump into an empty store (`oxigraph load`;
     Virtuoso's `ld_dir` + `rdf_loader_run()` through isql-vt; Jena's
     `tdb2.tdbloader`);
  2. wrk (-t2 -c8) drives the never-seen query mix (bench/mix.lua) and the
     trivial query at the engine's endpoint directly, then at `heritage-hubs
     serve` (result cache off) in front of it;
  3. dereferencing a hub (bench/deref.lua): the engine's DESCRIBE against
     heritage-hubs' `/doc/hub/….ttl`;
  4. a 4-triple institution record PUT through heritage-hubs (validated,
     entailed, described, its feed member: one SPARQL Update) against the same
     PUT straight to the engine's Graph Store (curl with digest for Virtuoso);
  5. a 40,000-triple load through `heritage-hubs load` against a Graph Store
     POST of the same N-Triples straight to the engine;
  6. the change feed (kept in the engine) read through heritage-hubs: its root
     and its newest page.
With --load-only, step 1 alone (the 10M run: `--triples 10000000 --load-only`);
--restore picks the way (or ways) step 1 goes; with both, each way restores into
an engine of its own, started empty, and the second one stays for the steps after.
The ratio printed is heritage-hubs' req/s over the engine's (goal ≥ 0.8× for
never-seen queries). Oxigraph is started with --union-default-graph and
heritage-hubs told so (`&union=engine`), so both answer over the same default
graph, and so is Jena (TDB2's union default graph); Virtuoso's default graph is
the union of every graph it has (its own system graphs too), and heritage-hubs
names its graphs in each query instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import ensure  # noqa: E402
from bench.sparql_endpoint import ACCEPT, BIN, TRIVIAL, free_port, prepared_store, wait_for, wrk  # noqa: E402
from tests.engines import (  # noqa: E402
    JAVA,
    RunningEngine,
    bulk_loader,
    jena_build,
    start_jena,
    start_oxigraph,
    start_virtuoso,
)

#: Each engine's Graph Store path (beside its query endpoint) and curl's options for its credentials.
GRAPH_STORES: dict[str, tuple[str, list[str]]] = {"oxigraph": ("store", []),
                                                  "virtuoso": ("sparql-graph-crud-auth", ["--digest", "-u", "dba:dba"]),
                                                  "jena": ("data", ["-u", "admin:jena"])}


def graph_store(engine: RunningEngine) -> tuple[str, list[str]]:
    """The engine's Graph Store URL and curl's options for its credentials."""
    path, auth = GRAPH_STORES[engine.name]
    return engine.location[len("sparql+"):].split("?")[0].rsplit("/", 1)[0] + "/" + path, auth


def dump_of(store: Path, work: Path) -> Path:
    dump = work / "dataset.nq"
    if not dump.exists():
        subprocess.run([str(BIN / "heritage-hubs"), "--store", str(store), "dump", "-o", str(dump)], check=True)
    return dump


RECORD = """<https://w3id.org/heritage-hubs/id/institution/bench-{n}> a <https://w3id.org/heritage-hubs/ontology/Museum> ;
  <http://www.w3.org/2000/01/rdf-schema#label> "Bench museum {n}"@en ;
  <https://w3id.org/heritage-hubs/ontology/institutionKind> <https://w3id.org/heritage-hubs/id/concept/museum> ;
  <https://w3id.org/heritage-hubs/ontology/partnerOf> <https://w3id.org/heritage-hubs/id/hub/gen-1> .
"""


def small_writes(name: str, engine: RunningEngine, port: int, env: dict[str, str], count: int = 7) -> str:
    """A 4-triple institution record PUT `count` times: through heritage-hubs (validated, entailed, described, one
    update) and straight to the engine's Graph Store; medians."""
    import statistics
    import urllib.error
    import urllib.request

    def put(url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"PUT {url}: {error.code} {error.read()[:300]!r}") from None

    made = subprocess.run([str(BIN / "heritage-hubs"), "--store", engine.location, "token", "create", "--institution",
                           "bench", "--graph", "institution/bench"], capture_output=True, text=True, env=env, check=True)
    secret = made.stdout.strip()
    graph = "https://w3id.org/heritage-hubs/graph/institution/bench"
    timings: dict[str, list[float]] = {"heritage-hubs": [], "engine": []}
    store_url, auth = graph_store(engine)
    for n in range(count):
        body = RECORD.format(n=n).encode()
        started = time.perf_counter()
        put(f"http://127.0.0.1:{port}/graph-store?graph={graph}", body,
            {"Content-Type": "text/turtle", "Authorization": f"Bearer {secret}"})
        timings["heritage-hubs"].append(time.perf_counter() - started)
        started = time.perf_counter()
        if not auth:
            put(f"{store_url}?graph=urn:bench", body, {"Content-Type": "text/turtle"})
        else:
            subprocess.run(["curl", "-s", "-f", *auth, "-X", "PUT", "-H", "Content-Type: text/turtle",
                            "--data-binary", body.decode(), f"{store_url}?graph=urn:bench"], check=True,
                           capture_output=True)
        timings["engine"].append(time.perf_counter() - started)
    ours, theirs = statistics.median(timings["heritage-hubs"]), statistics.median(timings["engine"])
    print(f"{name:9} 4-triple PUT: heritage-hubs {ours * 1000:8.1f} ms, the engine's Graph Store {theirs * 1000:8.1f} ms "
          f"(medians of {count})", flush=True)
    return f"  {name:9} 4-triple write {ours * 1000:.0f} ms vs {theirs * 1000:.0f} ms"


def medium_write(name: str, engine: RunningEngine, env: dict[str, str], folder: Path, triples: int = 40_000) -> str:
    """A museum's larger upload: `triples` generated triples by `heritage-hubs load` (validated over their
    neighbourhood, entailed, described, fed; on Virtuoso in INSERT DATA operations of 2,000 statements, in requests of
    at most 8 MB) against a Graph Store POST of the same N-Triples straight to the engine."""
    import io

    from bench.generate import write

    text = io.StringIO()
    write(triples, text, seed=11)
    data = folder / "medium.nt"
    data.write_text(text.getvalue().replace("/gen-", "/upload-"))  # things of its own, not the generated dataset's
    started = time.perf_counter()
    loaded = subprocess.run([str(BIN / "heritage-hubs"), "--store", engine.location, "load", str(data), "--graph",
                             "https://w3id.org/heritage-hubs/graph/medium"], capture_output=True, text=True, env=env)
    ours = time.perf_counter() - started
    if loaded.returncode != 0:
        raise RuntimeError(f"heritage-hubs load: {loaded.stderr[-2000:]}")
    store_url, auth = graph_store(engine)
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", *auth, "-X", "POST", "-H", "Content-Type: application/n-triples", "--data-binary",
                    f"@{data}", f"{store_url}?graph=urn:bench-medium"], check=True, capture_output=True)
    theirs = time.perf_counter() - started
    print(f"{name:9} {triples:,}-triple load: heritage-hubs {ours:8.1f} s, the engine's Graph Store POST {theirs:8.1f} s",
          flush=True)
    return f"  {name:9} {triples:,}-triple load {ours:.1f} s vs {theirs:.1f} s"


def feed_reads(name: str, port: int, count: int = 5) -> str:
    """The change feed, kept in the engine, read through heritage-hubs: its root and its newest page (the one a
    returning harvester reads); medians."""
    import re
    import statistics
    import urllib.request

    def get(path: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                                           headers={"Accept": "application/n-triples"}), timeout=300) as r:
            body = r.read()
        return time.perf_counter() - started, body

    _, root = get("/feed")
    newest = max(int(n) for n in re.findall(rb"/feed/page/(\d+)>", root))
    roots = [get("/feed")[0] for _ in range(count)]
    pages = [get(f"/feed/page/{newest}")[0] for _ in range(count)]
    line = (f"feed root {statistics.median(roots) * 1000:.0f} ms, newest page ({newest}) "
            f"{statistics.median(pages) * 1000:.0f} ms")
    print(f"{name:9} {line} (medians of {count})", flush=True)
    return f"  {name:9} {line}"


def own_loader(name: str, dump: Path, folder: Path) -> float:
    """Seconds the engine's own bulk loader takes for the same dump, into an empty store of its own."""
    started = time.perf_counter()
    if name == "oxigraph":
        subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(folder / "own-load"), "--file", str(dump)],
                       check=True, capture_output=True)
        return time.perf_counter() - started
    if name == "jena":  # TDB2's own bulk loader, as Fuseki's operators load a TDB2 database
        classes, classpath = jena_build()
        subprocess.run([JAVA, "-Xmx4g", "-cp", f"{classes}:{classpath}", "tdb2.tdbloader", "--loc",
                        str(folder / "own-load"), str(dump)], check=True, capture_output=True)
        return time.perf_counter() - started
    engine = start_virtuoso(folder / "own-load", buffers=680_000)
    try:
        target = folder / "own-load" / "virtuoso" / dump.name
        os.link(dump, target)  # in a folder Virtuoso's DirsAllowed lists
        started = time.perf_counter()
        sql = f"ld_dir('{target.parent}', '{dump.name}', 'urn:unused'); rdf_loader_run(); checkpoint;"
        subprocess.run(["isql-vt", str(engine.sql_port), "dba", "dba", f"exec={sql}"], check=True, capture_output=True)
        seconds = time.perf_counter() - started
        count = ('SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } '
                 'FILTER(STRSTARTS(STR(?g), "https://w3id.org/heritage-hubs/graph/")) }')
        found = subprocess.run(["curl", "-s", "-H", "Accept: text/csv", "--data-urlencode", f"query={count}", engine.query_url],
                               capture_output=True, text=True, check=True).stdout.split()[-1]
        print(f"virtuoso  (its own loader loaded {found} statements)", flush=True)
        return seconds
    finally:
        engine.stop()


def start_engine(name: str, folder: Path) -> RunningEngine:
    if name == "oxigraph":
        return start_oxigraph(folder, union=True)
    if name == "jena":
        return start_jena(folder, union=True)
    return start_virtuoso(folder, buffers=680_000)  # ~5 GiB of Virtuoso's 8 KiB buffers: its guide's setting for 8 GiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--engines", nargs="+", default=["oxigraph", "virtuoso", "jena"], choices=list(GRAPH_STORES))
    parser.add_argument("--work", type=Path, help="keep the embedded store and its dump here between runs")
    parser.add_argument("--load-only", action="store_true",
                        help="step 1 only: the dataset through `heritage-hubs restore` against the engine's own loader")
    parser.add_argument("--restore", choices=["graph-store", "engine-loader", "both"], default="both",
                        help="how `heritage-hubs restore` sends the dataset: by Graph Store requests, through the "
                             "engine's own loader (--engine-loader: tests/engines.py bulk_loader), or both, one after "
                             "the other")
    args = parser.parse_args()
    data = ensure(args.triples, ROOT / "bench" / "out")
    work = args.work or Path(tempfile.mkdtemp(prefix="hh-engine-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    dump = dump_of(prepared_store(data, work), work)
    clusters = max(args.triples // 1300, 1)
    workloads = {"trivial": {"BENCH_QUERY": TRIVIAL, "BENCH_ACCEPT": ACCEPT},
                 "mix": {"BENCH_CLUSTERS": str(clusters), "BENCH_ACCEPT": ACCEPT}}
    print(f"{args.triples:,} generated triples (+ the store's other graphs: {dump.stat().st_size / 1e6:,.0f} MB of N-Quads); "
          f"wrk -t2 -c8 -d{args.seconds}s; 2 cores shared by engine, heritage-hubs and wrk")
    summary: list[str] = []
    for name in args.engines:
        ways: list[str] = [way for way in ("graph-store", "engine-loader") if args.restore in (way, "both")]
        restores = []
        for index, way in enumerate(ways):
            # Each way into an engine of its own, started empty: a second restore into the same engine would
            # first drop every graph the first one put there (minutes on Oxigraph's server at 1M).
            folder = Path(tempfile.mkdtemp(prefix=f"hh-{name}-", dir=work))
            engine = start_engine(name, folder)
            env = {**os.environ, **engine.env, "HERITAGE_HUBS_ENGINE_STATE": str(folder / "state"),
                   "HERITAGE_HUBS_RESULT_CACHE_MB": "0"}
            options: list[str] = []
            label = "by Graph Store"
            if way == "engine-loader":
                command, loader_dir = bulk_loader(engine, folder)
                options = ["--engine-loader", command, "--loader-dir", str(loader_dir)]
                label = "through the engine's loader"
            started = time.perf_counter()
            try:
                subprocess.run([str(BIN / "heritage-hubs"), "--store", engine.location, "restore", str(dump), *options],
                               check=True, env=env)
            except BaseException:
                engine.stop()
                raise
            restores.append((label, time.perf_counter() - started))
            print(f"{name:9} restore through heritage-hubs {label}: {restores[-1][1]:8.1f} s", flush=True)
            if index < len(ways) - 1:
                engine.stop()
        try:
            loader_seconds = own_loader(name, dump, folder)
            print(f"{name:9} the engine's own bulk loader: {loader_seconds:8.1f} s", flush=True)
            for way, restore_seconds in restores:
                summary.append(f"  {name:9} load     {restore_seconds:.0f} s through heritage-hubs {way} vs "
                               f"{loader_seconds:.0f} s by the engine's own loader ({loader_seconds / restore_seconds:.2f}x)")
            if args.load_only:
                continue
            port = free_port()
            server = subprocess.Popen([str(BIN / "heritage-hubs"), "--store", engine.location, "serve", "--port", str(port),
                                       "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
            try:
                ours = f"http://127.0.0.1:{port}/sparql"
                wait_for(ours)
                summary.append(small_writes(name, engine, port, env))
                summary.append(medium_write(name, engine, env, folder))
                summary.append(feed_reads(name, port))
                for workload, extra in workloads.items():
                    rates = {}
                    for label, endpoint in (("engine", engine.query_url), ("heritage-hubs", ours)):
                        wrk(endpoint, ROOT / "bench" / "mix.lua", 3, extra)  # warm-up
                        rate, p50, p99, errors = wrk(endpoint, ROOT / "bench" / "mix.lua", args.seconds, extra)
                        rates[label] = rate
                        print(f"{name:9} {workload:8} {label:14} {rate:9.1f} req/s  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  "
                              f"non-2xx {errors}", flush=True)
                    summary.append(f"  {name:9} {workload:8} {rates['heritage-hubs'] / rates['engine']:.2f}x")
                # A hub dereferenced: the engine's DESCRIBE against our /doc/hub/….ttl (which adds labels and
                # the statements pointing at the hub).
                rates = {}
                for label, url, mode in (("engine", engine.query_url, "describe"),
                                         ("heritage-hubs", f"http://127.0.0.1:{port}/doc/hub/gen-1", "doc")):
                    rate, p50, p99, errors = wrk(url, ROOT / "bench" / "deref.lua", args.seconds,
                                                 {"BENCH_CLUSTERS": str(clusters), "BENCH_MODE": mode})
                    rates[label] = rate
                    print(f"{name:9} deref    {label:14} {rate:9.1f} req/s  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  "
                          f"non-2xx {errors}", flush=True)
                summary.append(f"  {name:9} deref    {rates['heritage-hubs'] / rates['engine']:.2f}x")
            finally:
                server.terminate()
                server.wait(timeout=60)
        finally:
            engine.stop()
    print("\nheritage-hubs against the engine itself (req/s ratio for never-seen queries, result cache off; write times):")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
