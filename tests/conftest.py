"""Fixtures: a fresh on-disk store per test, a CLI runner, a live server."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from heritage_hubs.config import Settings
from heritage_hubs.graph import GraphStore
from heritage_hubs.graph.bundled import seed
from heritage_hubs.graph.store import RdfSource, is_engine_location, open_store
from heritage_hubs.graph.tokens import TokenStore
from heritage_hubs.server import close_resources, create_app

from .engines import ENGINES, free_port, seed_location, stop_process

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
#: Public conformance data (W3C test suites, Reconciliation API schemas): ../shared/conformance, or where the variable says.
MUSEUM_GRAPH = "https://w3id.org/heritage-hubs/graph/institution/museo-esempio"
CONFORMANCE = Path(os.environ.get("HERITAGE_HUBS_CONFORMANCE", ROOT.parent / "shared" / "conformance"))


def needs_conformance(path: Path) -> pytest.MarkDecorator:
    """Skip when conformance data are missing outside CI (a checkout without ../shared); in CI they must run."""
    return pytest.mark.skipif(not path.exists() and not os.environ.get("CI"), reason=f"conformance data not found at {path}")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the ontology and bundled hubs, built once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "store"
    seed(GraphStore(path))
    return path


@pytest.fixture
def store_path(seeded_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store"
    shutil.copytree(seeded_template, path)
    return path


@pytest.fixture
def store(store_path: Path) -> GraphStore:
    """A fresh seeded store on disk, private to the test."""
    return GraphStore(store_path)


@pytest.fixture
def empty_store(tmp_path: Path) -> GraphStore:
    return GraphStore(tmp_path / "empty-store")


@pytest.fixture
def client(store_path: Path) -> Iterator[FlaskClient]:
    """A Flask test client on a fresh seeded store (one query process)."""
    app = create_app(Settings(store_path=store_path, query_processes=1, query_timeout=20))
    yield app.test_client()
    close_resources()


@pytest.fixture(scope="module", params=["embedded", *ENGINES])
def backend_location(request: pytest.FixtureRequest, seeded_template: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], str]]:
    """The bundled data on the embedded store and in each SPARQL engine (started here), one per module: for tests that
    only read, so that the same test runs on every backend (`backend_client`)."""
    folder = tmp_path_factory.mktemp(f"backend-{request.param}")
    if request.param == "embedded":
        shutil.copytree(seeded_template, folder / "store")
        yield str(folder / "store"), {}, "embedded"
        return
    engine = ENGINES[request.param](folder)
    env = {**engine.env, "HERITAGE_HUBS_ENGINE_STATE": str(folder / "state")}
    try:
        seed_location(engine.location, env)
        yield engine.location, env, request.param
    finally:
        engine.stop()


@pytest.fixture
def backend_client(backend_location: tuple[str, dict[str, str], str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """A Flask test client on the bundled data, on each backend in turn (see `backend_location`); read only."""
    location, env, _ = backend_location
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app(Settings(store_path=location, query_processes=1, query_timeout=20))
    yield app.test_client()
    close_resources()


@pytest.fixture
def backend_name(backend_location: tuple[str, dict[str, str], str]) -> str:
    """Which backend `backend_client` is on: "embedded", or an engine of tests/engines.py."""
    return backend_location[2]


@dataclass
class WritableBackend:
    """A backend the tests of one module write to: the embedded store (copied from the template per test) or an engine
    started for the module, brought back to the bundled data before each test from `pristine`, a dump of it."""
    name: str
    location: str = ""
    env: dict[str, str] = field(default_factory=dict)
    pristine: Path | None = None

    def environment(self, state: Path) -> dict[str, str]:
        """What a process needs to reach the engine, with its per-host state (caches) in `state`."""
        return {**self.env, "HERITAGE_HUBS_ENGINE_STATE": str(state)}

    def restore_pristine(self) -> None:
        """The engine brought back to the bundled data and nothing else."""
        assert self.pristine is not None
        open_store(self.location).restore(RdfSource.from_path(self.pristine), validate=False)


@pytest.fixture(scope="module", params=["embedded", *ENGINES])
def writable_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WritableBackend]:
    """The write-side tests, once per backend: the embedded store and each SPARQL engine of tests/engines.py."""
    if request.param == "embedded":
        yield WritableBackend("embedded")
        return
    folder = tmp_path_factory.mktemp(f"writable-{request.param}")
    engine = ENGINES[request.param](folder)
    backend = WritableBackend(request.param, engine.location, engine.env, folder / "pristine.nq")
    env = backend.environment(folder / "state")
    try:
        seed_location(engine.location, env)
        subprocess.run([sys.executable, "-m", "heritage_hubs.cli", "--store", engine.location, "dump", "--output",
                        str(backend.pristine)], check=True, capture_output=True, env={**os.environ, **env}, timeout=120)
        yield backend
    finally:
        engine.stop()


@contextlib.contextmanager
def module_backend(backend: WritableBackend, folder: Path, *, template: Path | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """For a module-scoped fixture: where `backend` is, and its environment, set for as long as the block runs (for
    the module's tests and what they start). On the embedded store, a new store in `folder` (a copy of `template` if
    given, else empty: `serve` seeds it); on an engine, its state in `folder`, and the bundled data restored if a
    `template` is given (the engine's own copy of it)."""
    if backend.pristine is None:
        location, env = str(folder / "store"), {}
        if template is not None:
            shutil.copytree(template, location)
    else:
        location, env = backend.location, backend.environment(folder / "state")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        if backend.pristine is not None and template is not None:
            backend.restore_pristine()
        yield location, env


@dataclass
class AdminServer:
    """A live server on one backend, with a token that may write every graph."""
    server: LiveServer
    secret: str
    location: str
    #: "embedded", or the engine's name (tests/engines.py).
    backend: str
    #: What a process needs in its environment to reach the backend.
    env: dict[str, str]


@contextlib.contextmanager
def admin_server(backend: WritableBackend, folder: Path, holder: str, *, workers: int = 2) -> Iterator[AdminServer]:
    """For a module-scoped fixture: a live server on `backend` (see `module_backend`) and an all-graphs token for `holder`."""
    with module_backend(backend, folder) as (location, env):
        _, secret = open_store(location).tokens().create(holder, ["*"])
        server = start_server(location, workers=workers)
        try:
            yield AdminServer(server, secret, location, backend.name, env)
        finally:
            stop_server(server)


@pytest.fixture
def store_location(writable_backend: WritableBackend, seeded_template: Path, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> str:
    """Where a write-side test's store is, holding the bundled data and nothing else: a copy of the template on the
    embedded store; the module's engine restored to the bundled data otherwise (its environment set for the test and
    for what the test starts: the command line, a live server)."""
    if writable_backend.pristine is None:
        shutil.copytree(seeded_template, tmp_path / "store")
        return str(tmp_path / "store")
    for key, value in writable_backend.environment(tmp_path / "engine-state").items():
        monkeypatch.setenv(key, value)
    writable_backend.restore_pristine()
    return writable_backend.location


@pytest.fixture
def location_client(store_location: str) -> Iterator[FlaskClient]:
    """A Flask test client on `store_location` (one query process)."""
    app = create_app(Settings(store_path=store_location, query_processes=1, query_timeout=20))
    yield app.test_client()
    close_resources()


@pytest.fixture
def location_museum_token(store_location: str) -> str:
    """A token that writes the sample museum's graph only, on `store_location`."""
    _, secret = open_store(store_location).tokens().create("museo-esempio", [MUSEUM_GRAPH])
    return secret


@pytest.fixture
def location_admin_token(store_location: str) -> str:
    _, secret = open_store(store_location).tokens().create("admin", ["*"])
    return secret


@pytest.fixture
def admin_token(store_path: Path) -> str:
    _, secret = TokenStore(GraphStore(store_path).directory).create("admin", ["*"])
    return secret


@pytest.fixture
def museum_token(store_path: Path) -> str:
    _, secret = TokenStore(GraphStore(store_path).directory).create("museo-esempio", [MUSEUM_GRAPH])
    return secret


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


class LiveServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, location: Path | str) -> None:
        self.process = process
        self.port = port
        #: The store's folder, or the engine's `sparql+http://…` location.
        self.location = str(location)
        self.url = f"http://127.0.0.1:{port}"

    @property
    def store_path(self) -> Path:
        """The embedded store's folder (a server in front of an engine has a location and no folder)."""
        if is_engine_location(self.location):
            raise AttributeError(f"a server in front of {self.location} has no store folder")
        return Path(self.location)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def http_request(url: str, method: str = "GET", *, body: bytes | None = None, headers: dict[str, str] | None = None,
                 follow: bool = True) -> tuple[int, Message, bytes]:
    """One real HTTP request: status, headers (names case-insensitive, as in HTTP) and body, errors included."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (children of any of its threads)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def start_server(store_path: Path | str, *, extra_env: dict[str, str] | None = None, timeout: float = 60.0,
                 workers: int = 2) -> LiveServer:
    port = free_port()
    env = {**os.environ, "HERITAGE_HUBS_STORE": str(store_path), **(extra_env or {})}
    command = [sys.executable, "-m", "heritage_hubs.cli", "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return LiveServer(process, port, store_path)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start in time")


def stop_server(server: LiveServer) -> None:
    stop_process(server.process, 20)
    if server.process.stderr:
        server.process.stderr.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """`heritage-hubs serve` in a subprocess, on an empty store it seeds itself."""
    server = start_server(tmp_path / "served-store")
    yield server
    stop_server(server)


class Listener:
    """A TCP listener on loopback that records every connection it receives."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def multipart_form(parts: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body of file parts (name → filename, data, media type), and its Content-Type."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, (filename, data, media_type) in parts.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                      f"Content-Type: {media_type}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
