"""Load + validate throughput against raw pyoxigraph bulk_load, in the same run.

    ./run bench load_validate                 # 10k, 100k and 1M triples
    ./run bench load_validate --sizes 10000000
    ./run bench load_validate --sizes 1000000 --steps   # and where our load's time goes, step by step

For each size, on fresh on-disk stores in one temporary directory:
  raw       pyoxigraph Store(path).bulk_load(N-Triples) into a named graph, then flush
  ours      GraphStore.load(): work copy, bulk_load, SHACL validation compiled to
            SPARQL, provenance, publish (what `heritage-hubs load` does)
  validate  the validation step alone, on the loaded store
  pyshacl   pyshacl over an rdflib graph of the same data (sizes <= --pyshacl-max)
and prints seconds, triples/s and the ratio ours/raw.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import ensure
from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.bundled import ontology_paths, seed, shapes_graph

GRAPH = "https://w3id.org/heritage-hubs/graph/generated"
OUT = Path(__file__).resolve().parent / "out"


def timed(action: object) -> float:
    gc.collect()
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


STEPS: dict[str, float] = {}


def time_steps() -> None:
    """Time each step of a commit (wall clock, summed per step) into STEPS."""
    import functools

    from heritage_hubs.graph import entailment, feed, labels, statistics, store, validation

    def wrap(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed_step(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                STEPS[label] = STEPS.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed_step)

    wrap(store.WriteTransaction, "load", "bulk load into the work copy")
    wrap(store.WriteTransaction, "delta", "what changed (delta)")
    wrap(entailment, "apply", "entailed graph")
    wrap(validation.ShapesValidator, "validate_change", "validation")
    wrap(feed.ChangeFeed, "record_delta", "change feed")
    wrap(labels.LabelIndex, "update", "label index")
    wrap(statistics.DatasetStatistics, "advance", "statistics")


def bench_size(size: int, workdir: Path, pyshacl_max: int) -> dict[str, float | None]:
    data = ensure(size, OUT)

    def raw() -> None:
        store = ox.Store(str(workdir / f"raw-{size}"))
        store.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH))
        store.flush()

    ours_store = GraphStore(workdir / f"ours-{size}")
    seed(ours_store)

    def ours() -> None:
        STEPS.clear()
        ours_store.load(RdfSource.from_path(data), graph=GRAPH)

    raw_s = timed(raw)
    ours_s = timed(ours)
    violations: list[object] = []
    # A load that is most of the store is validated whole (graph/validation.py), so "alone" is the full validation.
    validate_s = timed(lambda: violations.extend(ours_store.validator.validate(ours_store.reader())))
    assert not violations, violations[:3]
    pyshacl_s = None
    if size <= pyshacl_max:
        import pyshacl
        import rdflib

        def reference() -> None:
            graph = rdflib.Graph()
            for path in ontology_paths():
                graph.parse(path)
            graph.parse(data, format="nt")
            conforms, _, _ = pyshacl.validate(graph, shacl_graph=shapes_graph(), inference="none")
            assert conforms

        pyshacl_s = timed(reference)
    return {"raw": raw_s, "ours": ours_s, "validate": validate_s, "pyshacl": pyshacl_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--pyshacl-max", type=int, default=100_000, help="largest size to run pyshacl on")
    parser.add_argument("--steps", action="store_true", help="also print where our load's time goes, step by step")
    args = parser.parse_args()
    if args.steps:
        time_steps()
    print(f"pyoxigraph {ox.__version__}; times in seconds, best of one run on a shared machine")
    header = f"{'triples':>10} {'raw load':>9} {'load+validate':>14} {'ratio':>6} {'validate':>9} {'pyshacl':>9} {'ours triples/s':>15}"
    print(header)
    with tempfile.TemporaryDirectory(prefix="hh-bench-") as tmp:
        for size in args.sizes:
            result = bench_size(size, Path(tmp), args.pyshacl_max)
            raw, ours = result["raw"] or 0.0, result["ours"] or 0.0
            pyshacl = f"{result['pyshacl']:9.2f}" if result["pyshacl"] is not None else f"{'-':>9}"
            print(f"{size:>10} {raw:9.2f} {ours:14.2f} {ours / raw:5.2f}x {result['validate']:9.2f} {pyshacl} {size / ours:15,.0f}",
                  flush=True)
            if args.steps:
                for step, seconds in STEPS.items():
                    print(f"{'':>10}   {step:<30} {seconds:7.2f} s")
                print(f"{'':>10}   {'the rest (copy, provenance, publish)':<30} {ours - sum(STEPS.values()):7.2f} s", flush=True)


if __name__ == "__main__":
    main()
