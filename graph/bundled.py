"""The files that ship with the package: ontology, vocabularies, shapes, data.

`seed` loads them into an empty store: the ontology graph, the shapes graph
and the core graph of the four hubs, validated, in one commit.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import rdflib

from .iris import Namespaces, rebase
from .provenance import Provenance
from .store import GraphStore, RdfSource, is_engine_location, open_store, rebased_source, store_location
from .validation import ShapesValidator
from .void import PROJECT

ONTOLOGY_FILES = ("heritage-hubs.ttl", "crm-alignment.ttl", "vocabularies.ttl")
SHAPES_FILE = "shapes.ttl"
DATA_FILES = ("hubs.ttl",)
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
PUBLISHER = PROJECT  # its agent is <{base}id/agent/heritage-hubs> (data/hubs.ttl), which VoID names
SEED_SOURCE = "https://w3id.org/heritage-hubs/id/source/article"


def _package_dir(package: str) -> Path:
    return Path(str(resources.files(f"heritage_hubs.{package}")))


def ontology_paths() -> list[Path]:
    root = _package_dir("ontology")
    return [root / name for name in ONTOLOGY_FILES]


def shapes_path() -> Path:
    return _package_dir("ontology") / SHAPES_FILE


def data_paths() -> list[Path]:
    root = _package_dir("data")
    return [root / name for name in DATA_FILES]


def shapes_graph(namespaces: Namespaces | None = None) -> rdflib.Graph:
    text = shapes_path().read_text(encoding="utf-8")
    if namespaces is not None:
        text = rebase(text, namespaces.base)
    return rdflib.Graph().parse(data=text, format="turtle")


def load_shapes(namespaces: Namespaces | None = None) -> ShapesValidator:
    return ShapesValidator(shapes_graph(namespaces))


def seed(store: GraphStore) -> None:
    """Load the ontology, the shapes and the bundled hubs (one commit)."""
    ns = store.namespaces
    with store.transaction() as tx:
        for index, path in enumerate(ontology_paths()):
            tx.load(
                rebased_source(path, ns.base), graph=ns.ontology_graph, replace=index == 0,
                provenance=Provenance(title="Heritage hubs ontology, CIDOC-CRM alignment and SKOS vocabularies",
                                      publisher=PUBLISHER, sources=(ns.ontology_iri,), license=LICENSE, action="seed"),
            )
        tx.load(
            rebased_source(shapes_path(), ns.base), graph=ns.shapes_graph, replace=True,
            provenance=Provenance(title="SHACL shapes", publisher=PUBLISHER, sources=(ns.ontology + "shapes",),
                                  license=LICENSE, action="seed"),
        )
        for index, path in enumerate(data_paths()):
            tx.load(
                rebased_source(path, ns.base), graph=ns.core_graph, replace=index == 0,
                provenance=Provenance(title="Heritage hubs of the seed article", publisher=PUBLISHER,
                                      sources=(SEED_SOURCE,), license=LICENSE, action="seed"),
            )


def seed_if_empty(path: str, base_iri: str) -> bool:
    """Seed the store at `path` (a directory or an engine's location) if it holds nothing; True if it did."""
    store = open_store(store_location(path), base_iri=base_iri)
    if not store.is_empty():
        return False
    if is_engine_location(path):
        # An engine gets the seeded dataset whole (graph by graph), as made in an embedded store.
        import tempfile

        with tempfile.TemporaryDirectory(prefix="hh-seed-") as folder:
            local = GraphStore(Path(folder) / "store", base_iri=base_iri)
            seed(local)
            dump = Path(folder) / "seed.nq"
            with open(dump, "wb") as output:
                local.dump(output)
            store.restore(RdfSource.from_path(dump), validate=False)
        return True
    seed(store)
    return True


if __name__ == "__main__":
    # Run by `serve` in a child process: RocksDB is not fork-safe, so the
    # server's parent process must never open the store before forking workers.
    import sys

    if seed_if_empty(sys.argv[1], sys.argv[2]):
        print("seeded")
    else:
        print("entailed" if open_store(store_location(sys.argv[1]), base_iri=sys.argv[2]).ensure_entailed() else "present")
