"""The server: `serve` on an empty store seeds it and shows the hubs; its HTTP stack."""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pyoxigraph import RdfFormat

from heritage_hubs.config import Settings
from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.store import open_store
from heritage_hubs.graph.tokens import TokenStore
from heritage_hubs.server import create_app

from .conftest import LiveServer, WritableBackend, http_request, process_tree, start_server, stop_server


def client_for(store_path: Path) -> FlaskClient:
    return create_app(Settings(store_path=store_path)).test_client()


def test_home_lists_the_hubs(store_path: Path) -> None:
    response = client_for(store_path).get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("Polo del &#39;900", "Farm Cultural Park", "Tabakalera", "European Heritage Hub"):
        assert name in page
    assert "https://w3id.org/heritage-hubs/graph/core" in page


def test_home_speaks_the_visitors_language(store_path: Path) -> None:
    page = client_for(store_path).get("/", headers={"Accept-Language": "it;q=1, en;q=0.5"}).get_data(as_text=True)
    assert "Un centro culturale nei Quartieri Militari" in page
    page = client_for(store_path).get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Turín" in page or "Cuarteles militares" in page


def test_serve_seeds_an_empty_store(store_location: str, writable_backend: WritableBackend, tmp_path: Path) -> None:
    """The first of the README's two commands, on every backend: `serve` on an empty store (a new folder, or an engine
    that holds none of the service's graphs) puts the bundled data in before it answers."""
    if writable_backend.pristine is None:
        store_location = str(tmp_path / "served-store")
    else:
        open_store(store_location).restore(RdfSource.from_bytes(b"", RdfFormat.N_QUADS), validate=False)
        assert open_store(store_location).is_empty()
    server = start_server(store_location)
    try:
        with urllib.request.urlopen(server.url + "/", timeout=10) as response:
            page = response.read().decode()
    finally:
        stop_server(server)
    assert "Tabakalera" in page and "Farm Cultural Park" in page
    if writable_backend.pristine is None:
        assert (Path(store_location) / "CURRENT").exists()
    assert not open_store(store_location).is_empty()


# The HTTP stack of `serve` (gunicorn processes, uvicorn in each, Flask behind our bridge in asgi.py):
# what it must keep from the WSGI server it replaced.

@pytest.fixture
def served(store_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A live server on a seeded store, and an all-graphs token for it."""
    _, token = TokenStore(GraphStore(store_path).directory).create("admin", ["*"])
    server = start_server(store_path, workers=1)
    yield server, token
    stop_server(server)


def _without_date(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower() not in ("date", "x-cache")}


def test_a_cache_hit_answered_before_flask_is_the_first_answer_again(served: tuple[LiveServer, str]) -> None:
    server, _ = served
    sparql = server.url + "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?h WHERE { ?h a hh:Hub } ORDER BY ?h"})
    first = http_request(sparql, headers={"Accept": "text/csv"})
    second = http_request(sparql, headers={"Accept": "text/csv"})
    assert first[0] == second[0] == 200
    assert (first[1]["X-Cache"], second[1]["X-Cache"]) == ("miss", "hit")
    assert second[2] == first[2] and b"tabakalera" in second[2]
    assert _without_date(second[1]) == _without_date(first[1])
    assert second[1]["Access-Control-Allow-Origin"] == "*" and int(second[1]["Content-Length"]) == len(second[2])
    for path, accept in (("/doc/hub/tabakalera.ttl", "text/turtle"), ("/id/hub/tabakalera", "text/turtle")):
        first = http_request(server.url + path, headers={"Accept": accept}, follow=False)
        second = http_request(server.url + path, headers={"Accept": accept}, follow=False)
        assert first[0] == second[0] and first[0] in (200, 303)
        assert second[2] == first[2] and _without_date(second[1]) == _without_date(first[1])


def test_a_chunked_upload_is_read_whole(served: tuple[LiveServer, str]) -> None:
    """A client streaming its body (no Content-Length) is heard to the end, not taken for an empty body."""
    server, token = served
    triples = "".join(f"<https://example.org/o/{n}> <http://www.w3.org/2000/01/rdf-schema#label> \"object {n}\" .\n"
                      for n in range(2000))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("PUT", "/graph/museo-chunked", body=(line.encode() for line in triples.splitlines(keepends=True)),
                           headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {token}"},
                           encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 201, response.read()
    finally:
        connection.close()
    status, _, body = http_request(server.url + "/graph/museo-chunked", headers={"Accept": "application/n-triples"})
    assert status == 200 and body.count(b"\n") == 2000


def test_stopping_the_server_stops_every_process_it_started(store_path: Path) -> None:
    server = start_server(store_path, workers=2)
    try:
        for n in range(4):  # starts query processes in the workers
            assert http_request(server.url + "/sparql?" + urllib.parse.urlencode({"query": f"ASK {{ ?s ?p {n} }}"}))[0] == 200
        processes = process_tree(server.process.pid)
        assert len(processes) >= 4  # the arbiter, two workers, query processes
    finally:
        stop_server(server)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in processes):
        time.sleep(0.1)
    assert [pid for pid in processes if Path(f"/proc/{pid}").exists()] == []


def _raw_exchange(port: int, data: bytes, wait: float = 10) -> bytes:
    """Send raw bytes, return all the server sends until it closes (or `wait` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(data)
        received = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                received += chunk
    return received


def test_request_heads_are_bounded_in_size_and_time(store_path: Path) -> None:
    server = start_server(store_path, workers=1, extra_env={"HERITAGE_HUBS_HEADER_TIMEOUT": "5"})
    try:
        # A long SPARQL query still goes by GET (gunicorn stopped request lines at 4 KiB) …
        text = "SELECT ?h WHERE { ?h a hh:Hub } #" + "x" * 20_000
        status, _, _ = http_request(server.url + "/sparql?" + urllib.parse.urlencode({"query": text}))
        assert status == 200
        # … but a head beyond 64 KiB is refused with 431, and the connection closed.
        answer = _raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Padding: " + b"p" * 100_000 + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 431 ") and b"64 KiB" in answer
        # So is one that never ends, as soon as 64 KiB of it are in (not at the time limit).
        started = time.monotonic()
        answer = _raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * 300_000, wait=20)
        assert time.monotonic() - started < 4 and (answer == b"" or answer.startswith(b"HTTP/1.1 431 "))
        # A head that trickles in is cut off after HERITAGE_HUBS_HEADER_TIMEOUT.
        started = time.monotonic()
        answer = _raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", wait=20)
        assert answer.startswith(b"HTTP/1.1 408 ") and 4.5 < time.monotonic() - started < 19
        # A body that stops half-way does not hold a thread: 400 once it has stalled that long.
        started = time.monotonic()
        answer = _raw_exchange(server.port, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                                            b"Content-Length: 300000\r\n\r\n" + b"#" * 100_000, wait=20)
        assert answer.startswith(b"HTTP/1.1 400 ") and 4.5 < time.monotonic() - started < 19
        assert http_request(server.url + "/")[0] == 200  # the server is none the worse
    finally:
        stop_server(server)


def test_the_access_log_has_every_request_cache_hits_included(store_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    server = start_server(store_path, workers=1, extra_env={"HERITAGE_HUBS_ACCESS_LOG": str(log)})
    try:
        url = server.url + "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?h a hh:Hub }"})
        assert [http_request(url)[0] for _ in range(2)] == [200, 200]
    finally:
        stop_server(server)
    lines = [line for line in log.read_text().splitlines() if "GET /sparql?query=" in line]
    assert len(lines) == 2 and all(line.rstrip().endswith("200") for line in lines)


def test_one_date_header_and_no_last_modified_after_it(served: tuple[LiveServer, str]) -> None:
    import http.client
    from email.utils import parsedate_to_datetime

    server, _ = served
    for path in ("/", "/doc/hub/tabakalera.ttl", "/dumps/all.nq.gz", "/.well-known/void"):
        for _ in range(2):  # made, then from a cache
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            headers = response.getheaders()
            connection.close()
            dates = [v for k, v in headers if k.lower() == "date"]
            assert len(dates) == 1, (path, headers)
            modified = [v for k, v in headers if k.lower() == "last-modified"]
            if modified:
                assert parsedate_to_datetime(modified[0]) <= parsedate_to_datetime(dates[0]), (path, headers)


def test_the_interface_speaks_the_visitors_language(client: FlaskClient) -> None:
    """Italian and Spanish browsers read the interface in their language, with lang= saying so (the catalogues are
    checked in test_i18n.py)."""
    for language, heading, search in (("it", "Hub del patrimonio", "Cerca nomi"), ("es", "Centros de patrimonio", "Buscar nombres"),
                                      ("en", "Heritage hubs", "Search names")):
        page = client.get("/", headers={"Accept-Language": language}).get_data(as_text=True)
        assert f'<html lang="{language}">' in page and f"<h1>{heading}</h1>" in page and search in page
    missing = client.get("/nowhere", headers={"Accept-Language": "it", "Accept": "text/html"}).get_data(as_text=True)
    assert '<html lang="it">' in missing and ">Inizio<" in missing
