"""Does the cost of a request follow what it does, or the size of the store? (issue 11)

    ./run bench scale --sizes 0 1000000 10000000 --work /tmp/hh-scale

For each size, a store with the bundled data (size 0: only that, about 2k
triples) plus N generated triples in the graph `bench/generated`, made once
in --work and kept. The load is timed against raw `pyoxigraph` `bulk_load`
of the same file into a fresh store (the ratio is ours/raw in throughput).
Then a live `heritage-hubs serve` (2 workers) answers, over loopback:

- write: a Graph Store `PUT` of a 4-triple institution record (replaces the graph);
- home, hub page, /doc Turtle, VoID: each requested right after a write
  (a new generation), so nothing cached from before helps;
- the researcher's query mix (bench/mix.lua's queries), never seen (a fresh
  comment per request defeats the result cache) and cached (each repeated);
- 4 writers on 4 graphs at once (Graph Store PUT and SPARQL Update INSERT
  DATA, alternately): writes/s and p99;
- the first dump after a write (made, then streamed);
- the server's RSS (every process) before and after.

p50 and p99 of each, in milliseconds, and the ratio of p50 to the first
size's. Timing is never part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import ensure  # noqa: E402
from bench.linked_data import rss_of_tree  # noqa: E402
from bench.sparql_endpoint import BIN, free_port, spawn, wait_for  # noqa: E402

BASE = "https://w3id.org/heritage-hubs/"
GENERATED = "bench/generated"
RECORD = """@prefix hh: <https://w3id.org/heritage-hubs/ontology/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/heritage-hubs/id/institution/bench-{n}> a hh:Museum ;
    rdfs:label "Bench museum {n} ({i})"@en ;
    hh:institutionKind <https://w3id.org/heritage-hubs/id/concept/museum> ;
    hh:partnerOf <https://w3id.org/heritage-hubs/id/hub/tabakalera> .
"""
MIX = [
    "SELECT ?hub ?label WHERE {{ ?hub a hh:Hub ; rdfs:label ?label FILTER(lang(?label) = 'en') }} LIMIT 20 OFFSET {k}",
    "SELECT ?a ?l WHERE {{ ?a hh:keptBy <{inst}> ; rdfs:label ?l }} LIMIT 50",
    "SELECT (COUNT(*) AS ?n) WHERE {{ <{hub}> hh:hasPartner ?i . ?a hh:keptBy ?i }}",
    "SELECT ?p ?o WHERE {{ <{hub}> ?p ?o }}",
    "SELECT ?act ?begin WHERE {{ ?act hh:carriedOutBy <{inst}> ; crm:P4_has_time-span/crm:P82a_begin_of_the_begin ?begin }} "
    "ORDER BY ?begin LIMIT 10",
    "ASK {{ <{hub}> hh:basedIn ?p . ?p geo:lat ?lat }}",
]
PREFIXES = ("PREFIX hh: <https://w3id.org/heritage-hubs/ontology/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "PREFIX crm: <http://www.cidoc-crm.org/cidoc-crm/> PREFIX geo: <http://www.w3.org/2003/01/geo/wgs84_pos#> ")


def timed(action: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def prepare(size: int, work: Path) -> tuple[Path, dict[str, float]]:
    """The store for `size` (made once) and the load figures of this run, if it was made now."""
    store = work / f"store-{size}"
    figures: dict[str, float] = {}
    if (store / "CURRENT").exists():
        return store, figures
    subprocess.run([str(BIN / "python"), "-m", "heritage_hubs.graph.bundled", str(store), BASE], check=True)
    if size:
        import pyoxigraph as ox

        data = ensure(size, ROOT / "bench" / "out")
        with tempfile.TemporaryDirectory(dir=work) as raw_dir:
            def raw() -> None:
                raw_store = ox.Store(raw_dir)
                raw_store.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(BASE + "graph/" + GENERATED))
                raw_store.flush()
            figures["raw bulk_load s"] = timed(raw)
        figures["load + validate s"] = timed(lambda: subprocess.run(
            [str(BIN / "heritage-hubs"), "--store", str(store), "load", str(data), "--graph", GENERATED], check=True))
        figures["ratio (throughput ours/raw)"] = figures["raw bulk_load s"] / figures["load + validate s"]
    return store, figures


class Server:
    def __init__(self, store: Path) -> None:
        from heritage_hubs.graph import GraphStore
        from heritage_hubs.graph.tokens import TokenStore

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        _, self.admin = TokenStore(GraphStore(store).directory).create("bench", ["*"])
        self.process = spawn([str(BIN / "heritage-hubs"), "--store", str(store), "serve", "--port", str(self.port), "--workers", "2"],
                             env={**os.environ})
        wait_for(self.url + "/sparql")

    def request(self, path: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        with urllib.request.urlopen(request, timeout=600) as response:
            return bytes(response.read())

    def put_record(self, n: int, i: int) -> None:
        graph = urllib.parse.quote(f"{BASE}graph/institution/bench-{n}", safe="")
        self.request(f"/graph-store?graph={graph}", method="PUT", body=RECORD.format(n=n, i=i).encode(),
                     headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {self.admin}"})

    def insert(self, n: int, i: int) -> None:
        update = (f'INSERT DATA {{ GRAPH <{BASE}graph/institution/bench-{n}> {{ <{BASE}id/institution/bench-{n}> '
                  f'<http://www.w3.org/2000/01/rdf-schema#label> "Bench museum {n} ({i})"@it }} }}')
        self.request("/sparql", method="POST", body=update.encode(),
                     headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {self.admin}"})

    def query(self, text: str) -> None:
        self.request("/sparql?" + urllib.parse.urlencode({"query": PREFIXES + text}),
                     headers={"Accept": "application/sparql-results+json"})

    def stop(self) -> None:
        from bench.sparql_endpoint import Peer

        Peer("heritage-hubs", self.url, self.process).stop()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def measure(server: Server, size: int, rounds: int) -> dict[str, tuple[float, float]]:
    results: dict[str, list[float]] = {}
    clusters = max(size // 1300, 1)
    hub = f"{BASE}id/hub/gen-{clusters // 2}" if size else f"{BASE}id/hub/tabakalera"
    hub_slug = hub.rsplit("/", 1)[1]
    pages = {
        "home page /": "/",
        "hub page (HTML)": f"/doc/hub/{hub_slug}.html",
        "/doc Turtle": f"/doc/hub/{hub_slug}.ttl",
        "VoID": "/.well-known/void",
    }
    for i in range(rounds):
        results.setdefault("4-triple write (PUT)", []).append(timed(lambda i=i: server.put_record(0, i)))
        for name, path in pages.items():
            headers = {"Accept": "text/html" if "HTML" in name or path == "/" else "text/turtle"}
            results.setdefault(name + ", after a write", []).append(timed(lambda p=path, h=headers: server.request(p, headers=h)))
    rng = random.Random(7)
    institutions = [f"{BASE}id/institution/gen-{rng.randrange(clusters)}-{k}" for k in range(10)] if size else \
        [f"{BASE}id/institution/istoreto"]
    hubs = [f"{BASE}id/hub/gen-{rng.randrange(clusters)}" for _ in range(10)] if size else [hub]
    texts = [template.format(k=rng.randrange(100), inst=rng.choice(institutions), hub=rng.choice(hubs))
             for template in MIX for _ in range(max(rounds // 2, 3))]
    for n, text in enumerate(texts):
        fresh = f"# {time.time_ns()} {n}\n{text}"  # a comment no cache has seen
        results.setdefault("query mix, never seen", []).append(timed(lambda t=fresh: server.query(t)))
    for text in texts:
        server.query(text)
    for text in texts:
        results.setdefault("query mix, cached", []).append(timed(lambda t=text: server.query(t)))
    results["first dump after a write"] = []
    for i in range(1 if size > 5_000_000 else 2):  # a 10M dump takes minutes: one sample there
        server.put_record(0, 1000 + i)
        results["first dump after a write"].append(timed(lambda: server.request("/dumps/all.nq.gz")))
    # Four writers on four graphs at once.
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []

    def writer(n: int) -> None:
        for i in range(rounds):
            action = server.put_record if i % 2 == 0 else server.insert
            try:
                spent = timed(lambda act=action, k=i: act(n, k))
            except urllib.error.HTTPError as error:
                failures.append(f"{error.code} {error.read()[:200]!r}")
                continue
            except urllib.error.URLError as error:
                failures.append(str(error))
                continue
            with lock:
                latencies.append(spent)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, 5)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    summary = {name: percentiles(samples) for name, samples in results.items()}
    summary["4 writers: each write"] = percentiles(latencies)
    summary["4 writers: writes/s"] = (len(latencies) / elapsed, float(len(failures)))
    if failures:
        print(f"first failed write: {failures[0]}", flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1_000_000])
    parser.add_argument("--work", type=Path, help="keep the stores here between runs (default: a temporary directory)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="hh-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    first: dict[str, tuple[float, float]] | None = None
    for size in args.sizes:
        store, loading = prepare(size, work)
        for name, value in loading.items():
            print(f"{size:>10,}  {name:32} {value:10.2f}", flush=True)
        server = Server(store)
        try:
            rss_before = rss_of_tree(server.process.pid)
            summary = measure(server, size, args.rounds)
            rss_after = rss_of_tree(server.process.pid)
        finally:
            server.stop()
        first = first or summary
        print(f"\n{size:,} generated triples (+ the bundled ~2k)")
        print(f"{'':38} {'p50 ms':>10} {'p99 ms':>10} {'p50 / first size':>16}")
        for name, (p50, p99) in summary.items():
            if name == "4 writers: writes/s":
                print(f"{name:38} {p50:10.1f} writes/s, {int(p99)} failed")
                continue
            base = first.get(name, (p50, p99))[0] or p50
            print(f"{name:38} {p50:10.1f} {p99:10.1f} {p50 / base:15.2f}x")
        print(f"{'server RSS (all processes)':38} {rss_before:7d} MiB before, {rss_after} MiB after\n", flush=True)


if __name__ == "__main__":
    main()
