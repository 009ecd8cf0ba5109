"""The benchmark data generator: deterministic, and its output passes the shapes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from pyoxigraph import RdfFormat

from bench.generate import write
from heritage_hubs.graph import GraphStore, RdfSource


def generate(size: int, seed: int = 7) -> bytes:
    out = io.StringIO()
    assert write(size, out, seed=seed) == size
    return out.getvalue().encode()


def test_same_size_and_seed_same_bytes() -> None:
    first = hashlib.sha256(generate(5_000)).hexdigest()
    assert first == hashlib.sha256(generate(5_000)).hexdigest()
    assert first != hashlib.sha256(generate(5_000, seed=8)).hexdigest()


def test_generated_graph_loads_and_validates(store: GraphStore, tmp_path: Path) -> None:
    data = generate(10_000)
    assert data.count(b"\n") == 10_000
    info = store.load(RdfSource.from_bytes(data, RdfFormat.N_TRIPLES, name="generated.nt"),
                      graph="https://w3id.org/heritage-hubs/graph/generated")
    assert info.triples == 10_000
