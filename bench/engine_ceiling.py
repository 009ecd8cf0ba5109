"""How fast can any pyoxigraph-based server answer the researcher's mix? The engine alone, against Oxigraph's server.

    ./run bench engine_ceiling --work /tmp/hh-sparql        # the stores `bench sparql_endpoint` made

The same queries as bench/mix.lua (the six templates, random hubs), on the same 1M-triple stores, measured four
ways in one run:
  pyoxigraph sequential   one query at a time in this process (the engine's latency)
  pyoxigraph 2 threads    two threads in this process (what the engine gives on 2 cores)
  executor N processes    heritage-hubs' query processes (graph/executor.py), 8 client threads, no HTTP
  oxigraph server         Oxigraph's own server over HTTP, one client (latency) and 8 threads (throughput)
It prints queries per second and the ratios: the gap between heritage-hubs' /sparql and Oxigraph's server splits
into what the engine build costs (pyoxigraph against the server binary) and what our serving costs (executor and
HTTP against pyoxigraph alone).
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from bench.sparql_endpoint import BIN, bench_arguments, free_port  # noqa: E402
from heritage_hubs.graph import GraphStore  # noqa: E402
from heritage_hubs.graph.executor import Limits, QueryExecutor, QueryJob  # noqa: E402

P = "PREFIX hh: <https://w3id.org/heritage-hubs/ontology/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
ID = "https://w3id.org/heritage-hubs/id/"
WORDS = ["memory", "river", "factory", "courtyard", "archive", "voices", "workers", "city", "harbour", "market"]
# The templates of bench/mix.lua, in the same order.
TEMPLATES: list[Callable[[int], str]] = [
    lambda c: P + f"SELECT ?p ?o WHERE {{ <{ID}hub/gen-{c}> ?p ?o }}",
    lambda c: P + f'SELECT ?s ?l WHERE {{ ?s a hh:Hub ; rdfs:label ?l FILTER(CONTAINS(?l, "{WORDS[c % 10]}")) }} LIMIT 20',
    lambda c: P + f"SELECT ?inst ?asset ?label WHERE {{ <{ID}hub/gen-{c}> hh:hasPartner ?inst . ?asset hh:keptBy ?inst ; "
                  'rdfs:label ?label FILTER(lang(?label) = "en") } LIMIT 100',
    lambda c: P + f"SELECT ?kind (COUNT(?inst) AS ?n) WHERE {{ <{ID}hub/gen-{c}> hh:hasPartner ?inst . "
                  "?inst hh:institutionKind ?kind } GROUP BY ?kind ORDER BY DESC(?n)",
    lambda c: f"DESCRIBE <{ID}asset/gen-{c}-{c % 60}>",
    lambda c: P + "SELECT ?a ?label ?desc ?inv ?keeper ?place WHERE { ?a a hh:TangibleAsset ; rdfs:label ?label . "
                  "OPTIONAL { ?a hh:description ?desc } OPTIONAL { ?a hh:inventoryNumber ?inv } "
                  f"OPTIONAL {{ ?a hh:keptBy ?keeper }} OPTIONAL {{ ?a hh:locatedIn ?place }} }} LIMIT 50 OFFSET {(c % 20) * 50}",
]
ACCEPT = "application/sparql-results+json, application/n-triples"


def parallel(queries: list[str], threads: int, run: Callable[[str], object]) -> float:
    """Queries per second with `threads` threads taking the next query as they finish."""
    pending = iter(queries)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                query = next(pending, None)
            if query is None:
                return
            run(query)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return len(queries) / (time.perf_counter() - started)


def main() -> None:
    parser = bench_arguments(__doc__)
    parser.add_argument("--queries", type=int, default=1200)
    args = parser.parse_args()
    work = args.work or sys.exit("--work: the directory where `./run bench sparql_endpoint --work DIR` keeps its stores")
    rng = random.Random(7)
    queries = [TEMPLATES[i % len(TEMPLATES)](rng.randrange(700)) for i in range(args.queries)]
    reader = GraphStore(work / "heritage-hubs").reader()

    def in_process(query: str) -> None:
        result = reader.query(query, use_default_graph_as_union=True)
        if isinstance(result, ox.QueryTriples):
            ox.serialize(result, format=ox.RdfFormat.N_TRIPLES)
        else:
            result.serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[union-attr]

    results: dict[str, float] = {}
    parallel(queries[:60], 1, in_process)  # warm the caches
    results["pyoxigraph sequential"] = parallel(queries, 1, in_process)
    results["pyoxigraph 2 threads"] = parallel(queries, 2, in_process)
    for processes in (2, 4):
        executor = QueryExecutor(work / "heritage-hubs", Limits(timeout_seconds=60, processes=processes, isolate_network=True))

        def through(query: str, executor: QueryExecutor = executor) -> None:
            job = QueryJob(query=query, solution_formats=(ACCEPT.split(",")[0],), graph_formats=("application/n-triples",),
                           base_iri=ID)
            b"".join(executor.run(job))

        parallel(queries[:60], 8, through)
        results[f"executor {processes} processes"] = parallel(queries, 8, through)
        executor.close()
    port = free_port()
    server = subprocess.Popen([str(BIN / "oxigraph"), "serve-read-only", "--location", str(work / "oxigraph"),
                               "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)

        def over_http(query: str) -> None:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"query": query}),
                                             headers={"Accept": ACCEPT})
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()

        parallel(queries[:60], 8, over_http)
        results["oxigraph server sequential"] = parallel(queries, 1, over_http)
        results["oxigraph server 8 threads"] = parallel(queries, 8, over_http)
    finally:
        server.terminate()
        server.wait(30)
    best = results["oxigraph server 8 threads"]
    print(f"{len(queries)} queries of the mix (bench/mix.lua's templates), 1M triples")
    for name, rate in results.items():
        print(f"{name:28} {rate:8.0f} q/s   {rate / best:5.2f}x Oxigraph's server (8 threads)")


if __name__ == "__main__":
    main()
