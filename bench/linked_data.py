"""Linked Data serving: dereferencing and dumps, against Oxigraph in the same run.

    ./run bench linked_data

1. Dereferencing: `GET /doc/hub/gen-N.ttl` on heritage-hubs (outgoing and
   incoming statements, blank-node closure, labels of linked things) against
   Oxigraph's server answering `DESCRIBE <…/id/hub/gen-N>`, random hubs,
   `wrk -t2 -c8`; req/s, p50, p99 and the ratio.
2. Dumps: the first `GET /dumps/all.nq.gz` (made then streamed) and a second
   one (streamed from disk) against `Store.dump` of the same data into a gzip
   file; MB/s and the server's peak RSS while it happens.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sparql_endpoint import bench_arguments, data_and_work, start_heritage_hubs, start_oxigraph, wait_for, wrk  # noqa: E402


def rss_of_tree(root: int) -> int:
    total = 0
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    for pid in found:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total // 1024


def sample_rss(pid: int, peak: list[int], done: threading.Event) -> None:
    while not done.is_set():
        peak.append(rss_of_tree(pid))
        time.sleep(0.1)


def main() -> None:
    parser = bench_arguments(__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    data, work = data_and_work(args, "hh-ld-bench-")
    script = ROOT / "bench" / "deref.lua"
    env = {"BENCH_CLUSTERS": str(max(args.triples // 1300, 1))}
    print(f"{args.triples:,} triples; wrk -t2 -c8 -d{args.seconds}s")
    rates = {}
    for name, start, mode in (("oxigraph DESCRIBE", start_oxigraph, "describe"), ("heritage-hubs /doc", start_heritage_hubs, "doc")):
        peer = start(data, work)
        assert peer is not None, f"{name} is not installed"
        try:
            wait_for(peer.endpoint)
            url = peer.endpoint if mode == "describe" else peer.endpoint.rsplit("/", 1)[0]
            wrk(url, script, 3, {**env, "BENCH_MODE": mode})
            rate, p50, p99, errors = wrk(url, script, args.seconds, {**env, "BENCH_MODE": mode})
            rates[name] = rate
            print(f"{name:20} {rate:9.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  non-2xx {errors}", flush=True)
            if mode == "doc":
                base = url
                for attempt in ("first (made, then sent)", "second (from disk)"):
                    peak = [rss_of_tree(peer.process.pid)]
                    done = threading.Event()

                    sampler = threading.Thread(target=sample_rss, args=(peer.process.pid, peak, done))
                    sampler.start()
                    started = time.perf_counter()
                    size = 0
                    with urllib.request.urlopen(base + "/dumps/all.nq.gz", timeout=600) as response:
                        while chunk := response.read(1 << 20):
                            size += len(chunk)
                    seconds = time.perf_counter() - started
                    done.set()
                    sampler.join()
                    print(f"dump {attempt:24} {size / 1e6:7.1f} MB in {seconds:6.2f} s = {size / 1e6 / seconds:7.1f} MB/s; "
                          f"server RSS {peak[0]} -> peak {max(peak)} MiB", flush=True)
                    rates[f"dump {attempt}"] = size / 1e6 / seconds
        finally:
            peer.stop()
    import pyoxigraph as ox

    location = work / "oxigraph"
    store = ox.Store.read_only(str(location))
    target = work / "raw-dump.nq.gz"
    started = time.perf_counter()
    with gzip.open(target, "wb") as handle:
        store.dump(handle, ox.RdfFormat.N_QUADS)
    seconds = time.perf_counter() - started
    raw_rate = target.stat().st_size / 1e6 / seconds
    print(f"raw Store.dump + gzip   {target.stat().st_size / 1e6:7.1f} MB in {seconds:6.2f} s = {raw_rate:7.1f} MB/s")
    print("\nratios:")
    print(f"  dereferencing /doc vs DESCRIBE: {rates['heritage-hubs /doc'] / rates['oxigraph DESCRIBE']:.2f}x")
    for key in ("dump first (made, then sent)", "dump second (from disk)"):
        print(f"  {key} vs raw Store.dump: {rates[key] / raw_rate:.2f}x")


if __name__ == "__main__":
    main()
