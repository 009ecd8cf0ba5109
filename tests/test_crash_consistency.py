"""A writer killed at any step of a commit leaves store, change feed, label index and statistics in agreement.

Each case runs a write in a child process that dies (os._exit, no clean-up
of any kind) at one step of the commit; then the store is opened again, as
a restarted server opens it, and a further write goes through. The feed's
latest versions, the label index and the statistics must then describe
exactly what the store holds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat

from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.labels import LABEL_PROPERTIES

GHOST = "https://w3id.org/heritage-hubs/id/institution/crash-ghost"
RECORD = """@prefix hh: <https://w3id.org/heritage-hubs/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{iri}> a hh:Museum ; rdfs:label "{label}"@en ; hh:institutionKind <https://w3id.org/heritage-hubs/id/concept/museum> .
"""
CHILD = """
import os, sys
from pyoxigraph import RdfFormat
from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.labels import LABEL_PROPERTIES
from heritage_hubs.graph import feed, labels, snapshots, statistics
target = {"feed": (feed.ChangeFeed, "record_delta"), "labels": (labels.LabelIndex, "update"),
          "statistics": (statistics.DatasetStatistics, "write"), "publish": (snapshots.SnapshotDirectory, "_publish_name"),
          "published": (snapshots.SnapshotDirectory, "collect_garbage")}[sys.argv[2]]
original = getattr(*target)
def crash(*args, **kwargs):
    if sys.argv[2] in ("feed", "labels", "statistics"):
        original(*args, **kwargs)  # the step is done, then the process dies
    os._exit(9)
setattr(target[0], target[1], crash)
GraphStore(sys.argv[1]).load(RdfSource.from_bytes(sys.argv[3].encode(), RdfFormat.TURTLE),
                             graph="https://w3id.org/heritage-hubs/graph/institution/crash")
"""


def _latest_versions(store: GraphStore) -> set[str]:
    """Resources whose latest member in the feed (as readers see it) is not a deletion."""
    generation = int(store.generation)
    latest: dict[str, bool] = {}
    number = store.feed.first_page(generation)
    while number is not None:
        page = store.feed.page(number, generation)
        if page is None:
            break
        for member in page.members:
            latest[member.resource] = not member.deleted
        number += 1
    return {resource for resource, alive in latest.items() if alive}


def _subjects(store: GraphStore) -> set[str]:
    """What was asserted about: the feed leaves out the derived graphs (the metadata, the entailed graph)."""
    derived = {NamedNode(store.namespaces.metadata_graph), NamedNode(store.namespaces.graph("entailed"))}
    return {q.subject.value for q in store.reader().quads_for_pattern(None, None, None, None)
            if isinstance(q.subject, NamedNode) and q.graph_name not in derived}


def _check_agreement(store: GraphStore) -> None:
    assert _latest_versions(store) == _subjects(store)
    reader = store.reader()
    labelled = {q.subject.value for p in LABEL_PROPERTIES for q in reader.quads_for_pattern(None, NamedNode(p), None, None)
                if isinstance(q.subject, NamedNode)}
    indexed = {row[0] for row in store.labels._reader().execute("SELECT DISTINCT resource FROM names")}
    assert indexed == labelled
    assert store.dataset_statistics() == store.statistics.compute(reader)


@pytest.mark.parametrize("step", ["feed", "labels", "statistics", "publish", "published"])
def test_a_writer_killed_at_any_step_of_a_commit_leaves_everything_in_agreement(store_path: Path, step: str) -> None:
    store = GraphStore(store_path)
    store.dataset_statistics()
    store.labels.ensure(store.reader(), int(store.generation))
    child = subprocess.run([sys.executable, "-c", CHILD, str(store_path), step, RECORD.format(iri=GHOST, label="Crash ghost")],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 9, child.stderr
    restarted = GraphStore(store_path)
    assert restarted.repair_derived_data()  # what a server does when it starts
    published = GHOST in _subjects(restarted)
    assert published == (step == "published")
    _check_agreement(restarted)
    assert bool(restarted.labels.labels_of(GHOST)) == published
    # The next write builds on a consistent state.
    restarted.load(RdfSource.from_bytes(RECORD.format(iri=GHOST + "-2", label="After the crash").encode(), RdfFormat.TURTLE),
                   graph="https://w3id.org/heritage-hubs/graph/institution/after")
    _check_agreement(restarted)
    assert restarted.labels.labels_of(GHOST + "-2")
