"""A public endpoint: no network, no starvation, no runaway memory, results that stream.

These run against a live server (`heritage-hubs serve` in a subprocess) with
small limits, so that each property is exercised for real.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from heritage_hubs.graph import GraphStore
from heritage_hubs.graph.executor import Limits, QueryExecutor, QueryFailed, QueryJob, StreamAborted
from heritage_hubs.graph.store import open_store
from heritage_hubs.graph.tokens import TokenStore

from .conftest import Listener, LiveServer, WritableBackend, admin_server, process_tree, rss_kib, start_server, stop_server

CARTESIAN_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MEMORY_EATER = "SELECT ?a ?c ?d ?f WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"


def request(server: LiveServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def query(server: LiveServer, text: str, **params: str) -> tuple[int, dict[str, str], bytes]:
    return request(server, "GET", "/sparql?" + urllib.parse.urlencode({"query": text, **params}))


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    store_path = tmp_path_factory.mktemp("limited") / "store"
    server = start_server(store_path, extra_env={
        "HERITAGE_HUBS_QUERY_TIMEOUT": "3",
        "HERITAGE_HUBS_QUERY_MEMORY_MB": "512",
        "HERITAGE_HUBS_QUERY_PROCESSES": "3",
        "HERITAGE_HUBS_MAX_RESULT_MB": "1",
    }, workers=1)
    _, secret = TokenStore(GraphStore(store_path).directory).create("admin", ["*"])
    yield server, secret
    stop_server(server)


@pytest.fixture(scope="module")
def guarded_server(writable_backend: WritableBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A live server and an all-graphs token on each backend in turn: over an engine, what the checks let through would
    be the engine's to run, so nothing may leave unchecked."""
    with admin_server(writable_backend, tmp_path_factory.mktemp("guarded"), "admin", workers=1) as guarded:
        yield guarded.server, guarded.secret


@pytest.mark.parametrize("text", [
    "SELECT * WHERE { SERVICE <{url}> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <{url}> { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <{url}> { ?s ?p ?o } }",
    "select * where { hub:tabakalera ?p ?o . service <{url}> { ?x ?y ?z } }",
    "SELECT * WHERE { BIND(<{url}> AS ?e) SERVICE ?e { ?s ?p ?o } }",
])
def test_service_is_refused_and_nothing_is_contacted(guarded_server: tuple[LiveServer, str], listener: Listener, text: str) -> None:
    server, _ = guarded_server
    status, _, body = query(server, text.replace("{url}", listener.url))
    assert status == 400
    assert "SERVICE" in json.loads(body)["detail"]
    time.sleep(0.3)
    assert listener.connections == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("LOAD <{url}>", 400),
    # SILENT makes a failed LOAD a success (SPARQL 1.1 Update §3.1.4): it answers 204 and loads nothing.
    ("LOAD SILENT <{url}> INTO GRAPH <https://w3id.org/heritage-hubs/graph/x>", 204),
    ("LOAD SILENT <file:///etc/passwd>", 204),
    ("LOAD <file:///etc/passwd>", 400),
    ("INSERT { GRAPH <https://w3id.org/heritage-hubs/graph/x> { ?s ?p ?o } } WHERE { SERVICE <{url}> { ?s ?p ?o } }", 400),
])
def test_load_and_service_in_updates_are_refused(guarded_server: tuple[LiveServer, str], listener: Listener, text: str,
                                                 expected: int) -> None:
    server, secret = guarded_server
    before = open_store(server.location).generation
    status, _, body = request(server, "POST", "/sparql", text.replace("{url}", listener.url).encode(),
                              {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {secret}"})
    assert status == expected, body
    assert open_store(server.location).generation == before
    time.sleep(0.3)
    assert listener.connections == 0


def test_query_processes_are_off_the_network(store_path: Path, listener: Listener) -> None:
    """Even a SERVICE that got past the check reaches nothing from a query process."""
    if not _can_isolate():
        pytest.skip("this machine lets no process leave the network namespace")
    executor = QueryExecutor(store_path, Limits(timeout_seconds=10, processes=1, isolate_network=True))
    try:
        job = QueryJob(query=f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}",
                       solution_formats=("application/sparql-results+json",), graph_formats=("text/turtle",))
        with pytest.raises((QueryFailed, StreamAborted)):
            b"".join(executor.run(job))
    finally:
        executor.close()
    time.sleep(0.3)
    assert listener.connections == 0


def _can_isolate() -> bool:
    import subprocess
    import sys

    probe = "from heritage_hubs.graph.executor import _leave_network; print(_leave_network())"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False).stdout.strip() == "isolated"


def test_allow_listed_service_is_reached(tmp_path: Path, listener: Listener) -> None:
    server = start_server(tmp_path / "store", extra_env={"HERITAGE_HUBS_ALLOWED_SERVICES": listener.url,
                                                          "HERITAGE_HUBS_QUERY_TIMEOUT": "5"}, workers=1)
    try:
        status, _, _ = query(server, f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}")
        assert status >= 500  # the listener is no SPARQL server, but it was called
        assert listener.connections >= 1
        status, _, _ = query(server, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/other> { ?s ?p ?o } }")
        assert status == 400
    finally:
        stop_server(server)


def test_runaway_query_is_stopped_and_others_keep_answering(limited_server: tuple[LiveServer, str]) -> None:
    server, _ = limited_server
    outcome: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        outcome["status"], _, outcome["body"] = query(server, CARTESIAN_COUNT)
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    latencies = []
    while thread.is_alive():
        started = time.monotonic()
        status, _, _ = query(server, "ASK { hub:tabakalera a hh:Hub }")
        latencies.append(time.monotonic() - started)
        assert status == 200
        time.sleep(0.1)
    thread.join()
    assert outcome["status"] == 503
    assert "time limit" in json.loads(outcome["body"])["detail"]  # type: ignore[arg-type]
    assert 2.5 < outcome["seconds"] < 15  # type: ignore[operator]
    assert latencies and max(latencies) < 2.5
    status, _, _ = query(server, "ASK { ?s ?p ?o }")
    assert status == 200


def test_memory_exhaustion_kills_the_query_not_the_service(limited_server: tuple[LiveServer, str]) -> None:
    server, _ = limited_server
    status, _, body = query(server, MEMORY_EATER)
    assert status == 503
    assert "memory" in json.loads(body)["detail"]
    for _ in range(3):
        status, _, body = query(server, "SELECT (COUNT(*) AS ?n) WHERE { ?h a hh:Hub }")
        assert status == 200 and b'"4"' in body


def test_result_cap_cuts_the_stream_visibly(limited_server: tuple[LiveServer, str]) -> None:
    server, _ = limited_server
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"}))
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("X-Result-Limit-Bytes") == str(1024 * 1024)
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        connection.close()


def test_a_million_rows_stream_with_flat_memory(tmp_path: Path) -> None:
    server = start_server(tmp_path / "store", extra_env={"HERITAGE_HUBS_QUERY_TIMEOUT": "120"}, workers=1)
    try:
        query(server, "ASK {}")
        pids = process_tree(server.process.pid)
        assert len(pids) >= 3  # gunicorn's arbiter (the CLI itself), a worker, a query process
        baseline = sum(rss_kib(p) for p in pids)
        text = "SELECT ?a ?c WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 1000000"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": text}), headers={"Accept": "text/tab-separated-values"})
        response = connection.getresponse()
        assert response.status == 200
        rows = -1  # the header line
        peak = baseline
        pending = b""
        while chunk := response.read(1 << 20):
            pending += chunk
            rows += pending.count(b"\n")
            pending = pending[pending.rfind(b"\n") + 1:]
            peak = max(peak, sum(rss_kib(p) for p in process_tree(server.process.pid)))
        connection.close()
        assert rows == 1_000_000
        # Tens of MB of result went through; the server's processes grew by far less.
        print(f"result streamed; server RSS {baseline // 1024} MiB before, peak {peak // 1024} MiB")
        assert peak - baseline < 150 * 1024, f"RSS grew by {(peak - baseline) // 1024} MiB"
    finally:
        stop_server(server)


def _query_processes(server: LiveServer) -> set[int]:
    found = set()
    for pid in process_tree(server.process.pid):
        try:
            if b"heritage_hubs.graph.executor" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_client_that_leaves_mid_stream_stops_its_query(tmp_path: Path, method: str) -> None:
    """The result is not computed to the end for nobody: the query's process is stopped and replaced.

    By POST, the query comes with 200 KB of comment, so the body is still arriving when the app starts."""
    server = start_server(tmp_path / "store", extra_env={"HERITAGE_HUBS_QUERY_TIMEOUT": "300", "HERITAGE_HUBS_QUERY_PROCESSES": "1"},
                          workers=1)
    try:
        assert query(server, "ASK {}")[0] == 200
        before = _query_processes(server)
        assert len(before) == 1
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        text = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
        if method == "GET":
            connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": text}), headers={"Accept": "text/tab-separated-values"})
        else:
            connection.request("POST", "/sparql", body=("#" + "x" * 200_000 + "\n" + text).encode(),
                               headers={"Accept": "text/tab-separated-values", "Content-Type": "application/sparql-query"})
        response = connection.getresponse()
        assert response.status == 200 and len(response.read(1 << 20)) == 1 << 20
        connection.close()  # hundreds of millions of rows still to come
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _query_processes(server) & before:
            time.sleep(0.2)
        assert not _query_processes(server) & before
        assert query(server, "SELECT (COUNT(*) AS ?n) WHERE { ?h a hh:Hub }")[0] == 200  # a new process answers
    finally:
        stop_server(server)


@pytest.mark.parametrize(("sig", "status", "message"), [(signal.SIGSEGV, 400, "crashed the query engine"),
                                                        (signal.SIGKILL, 503, "ran out of memory"),
                                                        (signal.SIGTERM, 503, "ended unexpectedly")])
def test_a_query_process_death_is_reported_for_what_it_was(store_path: Path, sig: int, status: int, message: str) -> None:
    executor = QueryExecutor(store_path, Limits(timeout_seconds=30, processes=1, isolate_network=True))
    try:
        job = QueryJob(query=CARTESIAN_COUNT, solution_formats=("application/sparql-results+json",), graph_formats=("text/turtle",))

        def kill_soon() -> None:
            time.sleep(1.0)  # the query is running by then
            for pid in process_tree(os.getpid()):
                with contextlib.suppress(OSError):
                    if b"heritage_hubs.graph.executor" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        os.kill(pid, sig)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        with pytest.raises(QueryFailed) as caught:
            b"".join(executor.run(job))
        killer.join()
        assert caught.value.status == status and message in str(caught.value)
    finally:
        executor.close()


def test_deeply_nested_queries_are_refused_before_they_run(client: FlaskClient) -> None:
    query = "SELECT * WHERE " + "{" * 500 + " ?s ?p ?o " + "}" * 500
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400 and "nests brackets 500 deep" in response.get_data(as_text=True)
