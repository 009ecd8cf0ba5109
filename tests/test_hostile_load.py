"""A bounded mixed load with hostile clients beside it (issue 12): the well-behaved clients get answers, never a 5xx,
and every write the server acknowledged is there afterwards. Timing is reported by bench/hostile_load.py, not
asserted here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.hostile_load import run, tokens_for

from .conftest import start_server, stop_server


@pytest.mark.slow
def test_well_behaved_clients_are_served_beside_hostile_ones(seeded_template: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(seeded_template, store)
    tokens = tokens_for(store)
    server = start_server(store, extra_env={"HERITAGE_HUBS_HEADER_TIMEOUT": "3"})
    try:
        results = run(server.url, tokens, seconds=20)
    finally:
        stop_server(server)
    clients = results["clients"]
    assert isinstance(clients, dict)
    for name in ("readers", "pages", "fragments", "reconcile", "writers", "harvester"):
        seen = clients[name]
        assert seen["requests"] > 0 and not seen["errors"], (name, seen)
        assert all(status < 500 for status in seen["statuses"]), (name, seen)
    for name in ("hostile: slow bodies", "hostile: service queries", "hostile: big batches", "hostile: deep pages"):
        seen = clients[name]
        assert seen["requests"] > 0, (name, seen)
        assert all(status < 500 or status == 503 for status in seen["statuses"]), (name, seen)  # refused, never broken
    assert set(clients["hostile: slow bodies"]["statuses"]) == {408}
    assert results["acknowledged_writes"] > 0  # type: ignore[operator]
    assert results["unread_writes"] and not any(results["unread_writes"].values()), results["unread_writes"]  # type: ignore[union-attr]
