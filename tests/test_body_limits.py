"""Request bodies cannot hold the server: bounded in time from their first byte, in size, and asked for a token first."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.parse
from pathlib import Path

from heritage_hubs.graph import GraphStore
from heritage_hubs.graph.tokens import TokenStore

from .conftest import http_request, start_server, stop_server

MUSEUM = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
QUERY = "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})


def _open(port: int, head: bytes) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(head)
    return conn


def _answer(conn: socket.socket, wait: float = 30) -> bytes:
    conn.settimeout(wait)
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError, BrokenPipeError):
        while chunk := conn.recv(65536):
            received += chunk
    conn.close()
    return received


def _put_head(length: int | None, token: str | None, path: str = "/graph-store?graph=" + urllib.parse.quote(MUSEUM, safe="")) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: text/turtle"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_bodies_are_bounded_and_a_write_without_a_token_is_refused_before_its_body(store_path: Path) -> None:
    _, token = TokenStore(GraphStore(store_path).directory).create("museo-esempio", [MUSEUM])
    server = start_server(store_path, workers=1, extra_env={"HERITAGE_HUBS_HEADER_TIMEOUT": "3", "HERITAGE_HUBS_MAX_UPLOAD_MB": "1"})
    try:
        before = GraphStore(store_path).generation
        # A huge declared body: 401 without a token, 413 with one; neither waits for the body.
        for credentials, status in ((None, b"401"), (token, b"413")):
            started = time.monotonic()
            answer = _answer(_open(server.port, _put_head(10**12, credentials)))
            assert answer.startswith(b"HTTP/1.1 " + status) and time.monotonic() - started < 2, answer[:200]
        # A transfer coding other than chunked is not read as if it were plain.
        answer = _answer(_open(server.port, _put_head(None, token).replace(b"chunked", b"gzip, chunked")))
        assert answer.startswith(b"HTTP/1.1 501 "), answer[:200]
        # A body declared and never sent: cut off once the body time is up (3 s here), not held for ever.
        started = time.monotonic()
        answer = _answer(_open(server.port, _put_head(1000, token)))
        assert answer.startswith(b"HTTP/1.1 408 ") and 2.5 < time.monotonic() - started < 15, answer[:200]
        # Tricklers past the first 64 KiB hold no thread for long, and cheap requests go on meanwhile.
        tricklers = [_open(server.port, _put_head(200_000, token) + b"# " + b"x" * 70_000) for _ in range(6)]
        stop = threading.Event()

        def trickle() -> None:
            while not stop.is_set():
                for conn in tricklers:
                    with contextlib.suppress(OSError):
                        conn.send(b"x")
                time.sleep(0.5)

        feeder = threading.Thread(target=trickle, daemon=True)
        feeder.start()
        try:
            time.sleep(0.5)
            started = time.monotonic()
            assert http_request(server.url + QUERY, headers={"Accept": "application/sparql-results+json"})[0] == 200
            cheap = time.monotonic() - started
            answers = [_answer(conn) for conn in tricklers]
        finally:
            stop.set()
            feeder.join()
        assert cheap < 5
        assert all(a.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 408 ")) or a == b"" for a in answers), [a[:80] for a in answers]
        # A chunked body over the upload limit: 413, and nothing of it is written.
        chunk = b"<urn:a> <urn:b> \"" + b"y" * 60_000 + b"\" .\n"
        conn = _open(server.port, _put_head(None, token))
        with contextlib.suppress(OSError):
            for _ in range(40):  # 2.4 MB against a 1 MiB limit
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.sendall(b"0\r\n\r\n")
        answer = _answer(conn)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert GraphStore(store_path).generation == before
        assert http_request(server.url + "/")[0] == 200
    finally:
        stop_server(server)


def test_one_client_cannot_hold_every_connection(store_path: Path) -> None:
    server = start_server(store_path, workers=1, extra_env={"HERITAGE_HUBS_MAX_CONNECTIONS_PER_CLIENT": "5"})
    try:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(5)]
        time.sleep(0.3)
        answer = _answer(socket.create_connection(("127.0.0.1", server.port), timeout=10), wait=5)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"more than 5 connections" in answer
        for conn in idle:
            conn.close()
        time.sleep(0.3)
        assert http_request(server.url + "/")[0] == 200  # the slots are given back
    finally:
        stop_server(server)


def test_serve_opens_no_control_socket_another_serve_could_take(store_path: Path, tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    server = start_server(store_path, workers=1, extra_env={"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)})
    try:
        assert http_request(server.url + "/")[0] == 200
        assert list(runtime.iterdir()) == [] and not (tmp_path / ".gunicorn").exists()
    finally:
        stop_server(server)
