"""What the visitor's pages cost at 2k, 1M and 10M triples: search with facets, browse, the map of places, the
timeline, the network of hubs and the ontology's documentation (counts and examples from the data), each requested
right after a write (a new generation: no page or result cache helps) and then again (answered from the page cache
where there is one). The home page is measured the same way as the reference a page should stay near.

    ./run bench pages --work /tmp/hh-scale --sizes 0 1000000 10000000

The stores are the ones `./run bench scale` makes (made here if missing).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import urllib.error
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import Server, prepare

PAGES = {
    "home page (reference)": "/",
    "search, 300 matches + facets": "/search?q=asset",
    "search, narrowed by kind": "/search?q=asset&kind=assets",
    "browse assets, page 2": "/browse/assets?page=2",
    "map of places": "/map",
    "map of places, page 3": "/map?page=3",
    "timeline: years": "/timeline",
    "timeline: one year": "/timeline?year=2000",
    "network of hubs": "/network",
    "network of hubs, page 20": "/network?page=20",
    "ontology documentation": "/ontology",
}


def timed_get(server: Server, path: str, language: str) -> float:
    started = time.perf_counter()
    server.request(path, headers={"Accept": "text/html", "Accept-Language": language})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1_000_000])
    parser.add_argument("--work", type=Path, help="where the stores are kept (default: a temporary directory)")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="hh-pages-"))
    work.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        store, _ = prepare(size, work)
        server = Server(store)
        try:
            for path in PAGES.values():  # once, so that the label index is built; pages past the end are left out below
                with contextlib.suppress(urllib.error.HTTPError):
                    server.request(path, headers={"Accept": "text/html"})
            cold: dict[str, list[float]] = {}
            warm: dict[str, list[float]] = {}
            past_the_end: set[str] = set()
            for i in range(args.rounds):
                server.put_record(0, i)  # a new generation: what is cached per generation is cold again
                for name, path in PAGES.items():
                    if name in past_the_end:
                        continue
                    language = ("en", "it", "es")[i % 3]
                    try:
                        cold.setdefault(name, []).append(timed_get(server, path, language))
                        warm.setdefault(name, []).append(timed_get(server, path, language))
                    except urllib.error.HTTPError:  # 404: past the last page at this size
                        past_the_end.add(name)
                        cold.pop(name, None)
                        warm.pop(name, None)
        finally:
            server.stop()
        reference = statistics.median(cold["home page (reference)"])
        print(f"\n{size:,} generated triples (+ the bundled ~2k), {args.rounds} rounds, p50 / max in ms")
        print(f"{'page':32} {'after a write':>16} {'again':>14} {'/ home page':>12}")
        for name in PAGES:
            if name not in cold:
                print(f"{name:32} {'(past the end at this size)':>44}")
                continue
            c, w = cold[name], warm[name]
            print(f"{name:32} {statistics.median(c) * 1000:8.1f} / {max(c) * 1000:6.0f} {statistics.median(w) * 1000:7.1f} / "
                  f"{max(w) * 1000:5.0f} {statistics.median(c) / reference:11.2f}x", flush=True)


if __name__ == "__main__":
    main()
