"""What the entailed graph costs: a load of N generated triples and small writes after it, with this tree's
`heritage-hubs` against a baseline checkout's (the commit before the entailed graph, or any other), in the same run.

    git worktree add /tmp/hh-baseline 3c9bfca && (cd /tmp/hh-baseline && ./run bench generate --help >/dev/null)
    ./run bench entailment --baseline /tmp/hh-baseline --sizes 1000000

For each side, on a fresh store seeded with the bundled data: `heritage-hubs load` of the generated file (validated,
the feed, the label index, the statistics and, on this side, the entailed graph), then ten 4-triple Graph Store-like
writes (`load --replace` of a small file into a museum's graph, through the CLI, one commit each). Prints seconds, the
ratio this/baseline, and how many statements the entailed graph holds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import ensure  # noqa: E402

BASE = "https://w3id.org/heritage-hubs/"
RECORD = """@prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/heritage-hubs/id/institution/bench> a hh:Museum ; rdfs:label "Bench museum {i}"@it ;
    hh:institutionKind <https://w3id.org/heritage-hubs/id/concept/museum> ;
    hh:partnerOf <https://w3id.org/heritage-hubs/id/hub/tabakalera> .
"""


def run_side(checkout: Path, data: Path, work: Path, writes: int) -> tuple[float, list[float]]:
    python = checkout / ".venv" / "bin" / "python"
    cli = checkout / ".venv" / "bin" / "heritage-hubs"
    store = work / f"store-{checkout.name}"
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([str(python), "-m", "heritage_hubs.graph.bundled", str(store), BASE], check=True, cwd=checkout,
                   capture_output=True)
    started = time.perf_counter()
    subprocess.run([str(cli), "--store", str(store), "load", str(data), "--graph", "generated"], check=True, cwd=checkout,
                   capture_output=True)
    load = time.perf_counter() - started
    record = work / "record.ttl"
    times = []
    for i in range(writes):
        record.write_text(RECORD.format(i=i))
        started = time.perf_counter()
        subprocess.run([str(cli), "--store", str(store), "load", str(record), "--graph", "institution/bench", "--replace"],
                       check=True, cwd=checkout, capture_output=True)
        times.append(time.perf_counter() - started)
    return load, times


def entailed_size(checkout: Path, work: Path) -> int:
    out = subprocess.run([str(checkout / ".venv" / "bin" / "heritage-hubs"), "--store", str(work / f"store-{checkout.name}"),
                          "query", f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE}graph/entailed> {{ ?s ?p ?o }} }}",
                          "--format", "csv"], check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout without the entailed graph, with ./run's .venv")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--writes", type=int, default=10)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="hh-entail-"))
    work.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        data = ensure(size, ROOT / "bench" / "out")
        ours = run_side(ROOT, data, work, args.writes)
        base = run_side(args.baseline.resolve(), data, work, args.writes)
        size_entailed = entailed_size(ROOT, work)
        print(f"\n{size:,} generated triples: entailed graph {size_entailed:,} statements")
        print(f"{'':34} {'with entailment':>16} {'baseline':>10} {'ratio':>7}")
        print(f"{'load + validate (s)':34} {ours[0]:16.1f} {base[0]:10.1f} {ours[0] / base[0]:6.2f}x")
        ours_write, base_write = statistics.median(ours[1]), statistics.median(base[1])
        print(f"{'4-triple write, CLI, p50 (s)':34} {ours_write:16.2f} {base_write:10.2f} {ours_write / base_write:6.2f}x")
        print(f"{'4-triple write, CLI, max (s)':34} {max(ours[1]):16.2f} {max(base[1]):10.2f}", flush=True)


if __name__ == "__main__":
    main()
