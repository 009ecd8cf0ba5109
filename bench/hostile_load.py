"""Mixed load with hostile clients beside it: does everyone else still get answers, and how fast?

    ./run bench hostile_load                                 # the bundled data, 60 s
    ./run bench hostile_load --store /tmp/hh-scale/store-1000000 --seconds 120

For a fixed time, on loopback, a live `heritage-hubs serve` gets, at once:
  readers      never-seen cheap SPARQL queries (a label lookup with a new literal each time: no cache helps)
  pages        the home page, a hub page, the list of hubs
  fragments    first pages of triple patterns
  reconcile    OpenRefine-sized batches (10 queries)
  writers      three institutions, each appending records to its own graph with its own token
  harvester    the change feed, followed page by page
and, from another address (127.0.0.2), hostile clients:
  slow bodies  uploads that declare 1 MiB and send 100 bytes a second
  "service"    20 KB queries full of the word service (comments, literals, names)
  big batches  reconciliation batches of 100 queries, back to back
  deep pages   fragment pages near the deepest allowed
It prints, per client, requests, statuses and latency p50/p99, checks that every write the server acknowledged
can be read back, and writes the figures to bench/out/hostile_load.json. The well-behaved clients should see no
5xx at all; hostile ones only 4xx and 503 (with Retry-After).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE = "https://w3id.org/heritage-hubs/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
HOSTILE_ADDRESS = "127.0.0.2"


@dataclass
class Tally:
    """What one kind of client saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)

    def failed(self, error: BaseException) -> None:
        with self.lock:
            self.errors[type(error).__name__] += 1

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies)

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1) if ordered else 0.0

        return {"requests": len(ordered), "statuses": dict(sorted(self.statuses.items())), "errors": dict(self.errors),
                "p50_ms": at(0.5), "p99_ms": at(0.99), "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else 0.0}


class Load:
    def __init__(self, url: str, tokens: dict[str, str], deadline: float) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.tokens = tokens
        self.deadline = deadline
        self.tallies: dict[str, Tally] = {}
        self.acknowledged: dict[str, set[str]] = {}
        self.lock = threading.Lock()

    def tally(self, name: str) -> Tally:
        with self.lock:
            return self.tallies.setdefault(name, Tally())

    def request(self, name: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                source: str | None = None, timeout: float = 120) -> tuple[int, bytes]:
        tally = self.tally(name)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                                source_address=(source, 0) if source else None)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            tally.add(response.status, time.monotonic() - started)
            return response.status, data
        except (OSError, http.client.HTTPException) as error:
            tally.failed(error)
            return 0, b""
        finally:
            connection.close()

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    # ---------------------------------------------------------------- well-behaved clients

    def reader(self, n: int) -> None:
        i = 0
        while self.running():
            i += 1
            query = f'SELECT ?s WHERE {{ ?s <{LABEL}> "reader {n} asks {i} {random.random()}"@en }}'
            self.request("readers", "GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                         headers={"Accept": "application/sparql-results+json"})

    def pages(self, n: int) -> None:
        paths = ["/", "/doc/hub/tabakalera", "/hubs", "/doc/hub/polo-del-900", "/.well-known/void"]
        while self.running():
            self.request("pages", "GET", random.choice(paths), headers={"Accept": "text/html"})

    def fragments(self, n: int) -> None:
        patterns = [{"predicate": LABEL}, {"subject": BASE + "id/hub/tabakalera"}, {"predicate": BASE + "ontology/hasPartner"}, {}]
        while self.running():
            params = {**random.choice(patterns), "page": str(random.randint(1, 3))}
            self.request("fragments", "GET", "/fragments?" + urllib.parse.urlencode(params), headers={"Accept": "text/turtle"})

    def reconcile(self, n: int) -> None:
        names = ["Tabakalera", "Polo del 900", "Farm Cultural Park", "European Heritage Hub", "Turin", "Museo", "Archivio"]
        while self.running():
            batch = {f"q{i}": {"query": random.choice(names), "limit": 3} for i in range(10)}
            self.request("reconcile", "POST", "/reconcile", urllib.parse.urlencode({"queries": json.dumps(batch)}).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def writer(self, n: int) -> None:
        graph = f"{BASE}graph/institution/load-{n}"
        acknowledged = self.acknowledged.setdefault(graph, set())
        i = 0
        while self.running():
            i += 1
            subject = f"{BASE}id/load/w{n}-{i}"
            body = f'<{subject}> <{LABEL}> "load record {n}-{i}"@en .'.encode()
            status, _ = self.request("writers", "POST", "/graph-store?" + urllib.parse.urlencode({"graph": graph}), body,
                                     {"Content-Type": "text/turtle", "Authorization": f"Bearer {self.tokens[f'load-{n}']}"})
            if 200 <= status < 300:
                acknowledged.add(subject)

    def harvester(self, n: int) -> None:
        while self.running():
            status, data = self.request("harvester", "GET", "/feed", headers={"Accept": "application/n-triples"})
            pages = sorted({int(p) for p in _page_numbers(data)})[:5] if status == 200 else []
            for page in pages:
                if not self.running():
                    break
                self.request("harvester", "GET", f"/feed/page/{page}", headers={"Accept": "application/n-triples"})
            time.sleep(0.2)

    # ---------------------------------------------------------------- hostile clients

    def slow_body(self, n: int) -> None:
        graph = urllib.parse.quote(f"{BASE}graph/institution/load-0", safe="")
        while self.running():
            tally = self.tally("hostile: slow bodies")
            started = time.monotonic()
            try:
                sock = socket.create_connection((self.host, self.port), timeout=120, source_address=(HOSTILE_ADDRESS, 0))
                sock.sendall((f"PUT /graph-store?graph={graph} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: text/turtle\r\n"
                              f"Authorization: Bearer {self.tokens['load-0']}\r\nContent-Length: 1048576\r\n\r\n").encode())
                answer = b""
                sock.settimeout(1.0)
                while self.running() and not answer:
                    sock.sendall(b"#" * 100)
                    try:
                        answer = sock.recv(4096)
                    except TimeoutError:
                        continue
                sock.close()
                if answer:
                    tally.add(int(answer.split(b" ", 2)[1]), time.monotonic() - started)
            except OSError as error:
                tally.failed(error)

    def service_queries(self, n: int) -> None:
        filler = " ".join(f'?service{i} <{LABEL}> "service {i}" . # service\n' for i in range(250))
        while self.running():
            query = f"SELECT * WHERE {{ {filler} }} LIMIT 1 # {random.random()}"
            self.request("hostile: service queries", "POST", "/sparql", query.encode(),
                         {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
                         source=HOSTILE_ADDRESS)

    def big_batches(self, n: int) -> None:
        while self.running():
            batch = {f"q{i}": {"query": f"museum archive {i} {random.random():.6f}", "limit": 50} for i in range(100)}
            self.request("hostile: big batches", "POST", "/reconcile", urllib.parse.urlencode({"queries": json.dumps(batch)}).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded"}, source=HOSTILE_ADDRESS)

    def deep_pages(self, n: int) -> None:
        while self.running():
            params = {"predicate": LABEL, "page": str(random.randint(9000, 10000))}
            self.request("hostile: deep pages", "GET", "/fragments?" + urllib.parse.urlencode(params),
                         headers={"Accept": "text/turtle"}, source=HOSTILE_ADDRESS)

    # ---------------------------------------------------------------- after

    def unread_writes(self) -> dict[str, int]:
        """Acknowledged writes that cannot be read back, per graph."""
        missing = {}
        for graph, subjects in self.acknowledged.items():
            query = f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s <{LABEL}> ?l }} }}"
            status, data = self.request("check", "GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                                        headers={"Accept": "application/sparql-results+json"})
            found = {b["s"]["value"] for b in json.loads(data)["results"]["bindings"]} if status == 200 else set()
            missing[graph] = len(subjects - found)
        return missing


def _page_numbers(data: bytes) -> list[str]:
    return [part.split(b">", 1)[0].decode() for part in data.split(b"/feed/page/")[1:] if part.split(b">", 1)[0].isdigit()]


WELL_BEHAVED = {"reader": 3, "pages": 2, "fragments": 1, "reconcile": 1, "writer": 3, "harvester": 1}
HOSTILE = {"slow_body": 8, "service_queries": 2, "big_batches": 2, "deep_pages": 1}


def run(url: str, tokens: dict[str, str], seconds: float, *, hostile: bool = True) -> dict[str, object]:
    load = Load(url, tokens, time.monotonic() + seconds)
    threads = [threading.Thread(target=getattr(load, kind), args=(n,), daemon=True)
               for kind, count in (*WELL_BEHAVED.items(), *(HOSTILE.items() if hostile else ())) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 180)
    clients = {name: tally.summary() for name, tally in sorted(load.tallies.items()) if name != "check"}
    return {"seconds": seconds, "clients": clients, "unread_writes": load.unread_writes(),
            "acknowledged_writes": sum(len(s) for s in load.acknowledged.values())}


def tokens_for(store: Path) -> dict[str, str]:
    from heritage_hubs.graph import GraphStore
    from heritage_hubs.graph.tokens import TokenStore

    tokens = TokenStore(GraphStore(store).directory)
    return {f"load-{n}": tokens.create(f"load-{n}", [f"{BASE}graph/institution/load-{n}"])[1] for n in range(WELL_BEHAVED["writer"])}


def main() -> None:
    from bench.sparql_endpoint import BIN, free_port, spawn, wait_for

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="a store to copy and serve (default: a new one with the bundled data)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hh-hostile-"))
    store = work / "store"
    if args.store:
        shutil.copytree(args.store, store)
    else:
        from heritage_hubs.graph import GraphStore
        from heritage_hubs.graph.bundled import seed

        seed(GraphStore(store))
    tokens = tokens_for(store)
    port = free_port()
    process = spawn([str(BIN / "heritage-hubs"), "--store", str(store), "serve", "--port", str(port), "--workers", str(args.workers)])
    try:
        wait_for(f"http://127.0.0.1:{port}/sparql")
        results = {}
        for hostile in (False, True):
            label = "with hostile clients" if hostile else "alone"
            results[label] = run(f"http://127.0.0.1:{port}", tokens, args.seconds, hostile=hostile)
            print(f"\n{label} ({args.seconds:g} s, {args.workers} workers, store {args.store or 'bundled'}):")
            print(f"{'client':28} {'requests':>9} {'p50 ms':>9} {'p99 ms':>9}  statuses")
            for name, summary in results[label]["clients"].items():  # type: ignore[attr-defined]
                print(f"{name:28} {summary['requests']:9d} {summary['p50_ms']:9.1f} {summary['p99_ms']:9.1f}  "
                      f"{summary['statuses']} {summary['errors'] or ''}")
            print(f"acknowledged writes {results[label]['acknowledged_writes']}, not read back: {results[label]['unread_writes']}")
        alone = results["alone"]["clients"]["readers"]["p99_ms"]  # type: ignore[index]
        hostile_p99 = results["with hostile clients"]["clients"]["readers"]["p99_ms"]  # type: ignore[index]
        print(f"\ncheap-query p99: {alone} ms alone, {hostile_p99} ms beside hostile clients ({hostile_p99 / max(alone, 0.1):.2f}x)")
        out = ROOT / "bench" / "out"
        out.mkdir(exist_ok=True)
        (out / "hostile_load.json").write_text(json.dumps(results, indent=1))
    finally:
        process.terminate()
        process.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
