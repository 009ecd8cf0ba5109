"""Label search for reconciliation: the full-text index against a SPARQL regex scan, same store, same run.

    ./run bench reconcile                     # the 1M-triple generated dataset
    ./run bench reconcile --triples 100000

On a store holding the bundled data and the generated triples:
  build       the label index built from scratch (what a store written before
              the index existed pays once; later commits update it in place)
  index       Reconciler.reconcile() for names taken from the data: exact
              labels, their first two words, and typed queries
  http        the same queries as OpenRefine sends them: batches of 10 by
              form POST to /reconcile on a live server
  regex       the obvious alternative without an index: a SPARQL
              FILTER(regex(?label, "name", "i")) over every label
and prints p50/p99 per query and the ratio.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sparql_endpoint import BIN, bench_arguments, data_and_work, free_port, prepared_store, spawn, wait_for  # noqa: E402
from heritage_hubs.graph import GraphStore  # noqa: E402
from heritage_hubs.graph.reconcile import Reconciler  # noqa: E402
from heritage_hubs.graph.results import select  # noqa: E402

HH = "https://w3id.org/heritage-hubs/ontology/"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> None:
    parser = bench_arguments(__doc__)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    data, work = data_and_work(args, "hh-reconcile-bench-")
    path = prepared_store(data, work)
    store = GraphStore(path)
    reader = store.reader()
    generation = int(store.generation)
    labels = sum(1 for _ in select(reader, "SELECT ?s WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }",
                                   use_default_graph_as_union=True))
    print(f"{args.triples:,} triples, {labels:,} labels; {args.queries} queries of each kind")

    store.labels.path.unlink(missing_ok=True)
    started = time.perf_counter()
    store.labels.ensure(reader, generation)
    print(f"build      {time.perf_counter() - started:8.2f} s  (full index, once)")

    rng = random.Random(20261127)
    rows = list(select(reader, f"SELECT ?s ?l ?t WHERE {{ ?s a ?t ; <http://www.w3.org/2000/01/rdf-schema#label> ?l "
                               f"FILTER(STRSTARTS(STR(?t), '{HH}')) }}", use_default_graph_as_union=True))
    picked = rng.sample(rows, min(args.queries, len(rows)))
    exact = [(r["l"].value, None) for r in picked]
    partial = [(" ".join(r["l"].value.split()[:2]), None) for r in picked]
    typed = [(r["l"].value, r["t"].value) for r in picked]
    reconciler = Reconciler(reader, store.labels)
    results: dict[str, tuple[float, float]] = {}
    hits = 0
    for name, queries in (("exact", exact), ("partial", partial), ("typed", typed)):
        times = []
        for text, type_iri in queries:
            started = time.perf_counter()
            found = reconciler.reconcile(text, types=[type_iri] if type_iri else [], limit=5)
            times.append(time.perf_counter() - started)
            if name != "partial":
                hits += bool(found) and found[0].score == 100
        results[f"index {name}"] = percentiles(times)
    print(f"exact and typed queries with a score-100 candidate first: {hits} of {2 * len(picked)}")

    port = free_port()
    server = spawn([str(BIN / "heritage-hubs"), "--store", str(path), "serve", "--port", str(port), "--workers", "2"])
    try:
        wait_for(f"http://127.0.0.1:{port}/sparql")
        batch_times = []
        for start in range(0, len(exact), 10):
            queries = {f"q{i}": {"query": text, "limit": 3} for i, (text, _) in enumerate(exact[start:start + 10])}
            body = urllib.parse.urlencode({"queries": json.dumps(queries)}).encode()
            started = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/reconcile", data=body, timeout=120) as response:
                response.read()
            batch_times.append(time.perf_counter() - started)
        results["http batch of 10"] = percentiles(batch_times)
    finally:
        server.terminate()
        server.wait()

    regex_times = []
    for text, _ in exact[: max(10, args.queries // 10)]:
        pattern = re.escape(text).replace("\\", "\\\\").replace('"', '\\"')
        started = time.perf_counter()
        list(select(reader, f'SELECT ?s ?l WHERE {{ ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l '
                            f'FILTER(regex(?l, "{pattern}", "i")) }} LIMIT 20', use_default_graph_as_union=True))
        regex_times.append(time.perf_counter() - started)
    results["regex scan"] = percentiles(regex_times)

    for name, (p50, p99) in results.items():
        print(f"{name:18} p50 {p50:9.2f} ms  p99 {p99:9.2f} ms")
    print("\nratio (regex scan p50 / index exact p50): "
          f"{results['regex scan'][0] / results['index exact'][0]:.0f}x faster with the index")


if __name__ == "__main__":
    main()
