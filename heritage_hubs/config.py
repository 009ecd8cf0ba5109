"""Settings: one table, read from the environment, documented in the README.

Every setting has an environment variable; the CLI options of the same name
override it. ``tests/test_docs.py`` checks that each one is documented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

from .graph.feed import FeedPolicy
from .graph.iris import DEFAULT_BASE_IRI
from .graph.store import store_location


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("HERITAGE_HUBS_STORE", "<user data dir>/heritage-hubs/store",
            "Directory of the on-disk store (created on first use), or a SPARQL engine: "
            "sparql+http://host:port/path?update=/path&store=/path (see \"In front of a SPARQL engine\")."),
    Setting("HERITAGE_HUBS_ENGINE_USER", "", "User name for a SPARQL engine's update and Graph Store endpoints; empty: none."),
    Setting("HERITAGE_HUBS_ENGINE_PASSWORD", "", "Password for HERITAGE_HUBS_ENGINE_USER."),
    Setting("HERITAGE_HUBS_ENGINE_AUTH", "basic", "How the engine checks them: 'basic' or 'digest' (Virtuoso's /sparql-auth)."),
    Setting("HERITAGE_HUBS_ENGINE_STATE", "<user cache dir>/heritage-hubs/engine-<digest of the location>",
            "Local directory where a process keeps its caches of an engine's data (label index, statistics) and its write "
            "lock; the tokens too with &union=engine (otherwise they are kept in the engine)."),
    Setting("HERITAGE_HUBS_RESTORE_MEMORY_MB", "4096",
            "Memory (MiB) `restore` into a SPARQL engine may use to hold and validate the dump (about four times its "
            "uncompressed size); a larger dump is held on disk, several times slower."),
    Setting("HERITAGE_HUBS_BASE_IRI", DEFAULT_BASE_IRI,
            "Canonical base of every IRI the service mints; must end with '/'."),
    Setting("HERITAGE_HUBS_HOST", "127.0.0.1", "Address `serve` listens on."),
    Setting("HERITAGE_HUBS_PORT", "5000", "Port `serve` listens on."),
    Setting("HERITAGE_HUBS_WORKERS", "2", "Number of server worker processes for `serve`."),
    Setting("HERITAGE_HUBS_THREADS", "4", "Threads per server worker process that run Flask (cache hits need none)."),
    Setting("HERITAGE_HUBS_HEADER_TIMEOUT", "30",
            "Seconds a client may take to send a request line and headers (at most 64 KiB), "
            "or to start a request body, before `serve` gives up on it (408); a body must then keep coming at 64 KiB/s on average."),
    Setting("HERITAGE_HUBS_MAX_CONNECTIONS_PER_CLIENT", "64",
            "Connections one client address may hold open at once, per server worker (503 beyond); 0 for no limit, "
            "as behind a reverse proxy."),
    Setting("HERITAGE_HUBS_TRUSTED_HOSTS", "localhost 127.0.0.1 ::1",
            "Host names requests may carry (links in pages, VoID, dumps and the feed are built from it); others get 400. "
            "Space-separated, '.example.org' for every subdomain, '*' for any (only behind a proxy that sets Host)."),
    Setting("HERITAGE_HUBS_ACCESS_LOG", "", "Where `serve` writes its access log: a file, '-' for stdout; empty: none."),
    Setting("HERITAGE_HUBS_QUERY_TIMEOUT", "30", "Seconds a SPARQL query may run before it is stopped (503)."),
    Setting("HERITAGE_HUBS_QUERY_MEMORY_MB", "2048", "Memory (MiB) a query process may allocate before the query is stopped."),
    Setting("HERITAGE_HUBS_QUERY_PROCESSES", "4", "Query processes per server worker (queries running at once)."),
    Setting("HERITAGE_HUBS_MAX_RESULT_MB", "512", "Largest query result (MiB) sent; larger results are cut off."),
    Setting("HERITAGE_HUBS_RESULT_CACHE_MB", "64", "Memory (MiB) per server worker for whole small query results; 0 turns the cache off."),
    Setting("HERITAGE_HUBS_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "Map tiles for place maps (Leaflet URL template); empty: a map without tiles."),
    Setting("HERITAGE_HUBS_ALLOWED_SERVICES", "", "Space-separated SPARQL endpoints SERVICE may call; empty: none."),
    Setting("HERITAGE_HUBS_MAX_UPLOAD_MB", "256",
            "Largest request body (MiB) accepted: updates, Graph Store writes, spreadsheet uploads; larger ones get 413."),
    Setting("HERITAGE_HUBS_FEED_PAGE_SIZE", "500",
            "Members per change-feed page; fixed when the store's feed is created, so page boundaries never move."),
    Setting("HERITAGE_HUBS_FEED_RETENTION_DAYS", "90",
            "Days superseded versions stay in the change feed; the latest version of every resource always stays."),
)


def default_store_path() -> Path:
    return Path(user_data_dir("heritage-hubs", appauthor=False)) / "store"


@dataclass(frozen=True)
class Settings:
    """The settings in force, from the environment unless given."""

    store_path: Path | str = field(
        default_factory=lambda: store_location(os.environ.get("HERITAGE_HUBS_STORE") or default_store_path()))
    base_iri: str = field(default_factory=lambda: os.environ.get("HERITAGE_HUBS_BASE_IRI") or DEFAULT_BASE_IRI)
    host: str = field(default_factory=lambda: os.environ.get("HERITAGE_HUBS_HOST") or "127.0.0.1")
    port: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_PORT") or 5000))
    workers: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_WORKERS") or 2))
    threads: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_THREADS") or 4))
    header_timeout: float = field(default_factory=lambda: float(os.environ.get("HERITAGE_HUBS_HEADER_TIMEOUT") or 30))
    max_connections_per_client: int = field(
        default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_MAX_CONNECTIONS_PER_CLIENT") or 64))
    trusted_hosts: tuple[str, ...] = field(default_factory=lambda: tuple(
        (os.environ.get("HERITAGE_HUBS_TRUSTED_HOSTS") or "localhost 127.0.0.1 ::1").split()))
    access_log: str = field(default_factory=lambda: os.environ.get("HERITAGE_HUBS_ACCESS_LOG", ""))
    query_timeout: float = field(default_factory=lambda: float(os.environ.get("HERITAGE_HUBS_QUERY_TIMEOUT") or 30))
    query_memory_mb: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_QUERY_MEMORY_MB") or 2048))
    query_processes: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_QUERY_PROCESSES") or 4))
    max_result_mb: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_MAX_RESULT_MB") or 512))
    result_cache_mb: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_RESULT_CACHE_MB") or 64))
    max_upload_mb: int = field(default_factory=lambda: int(os.environ.get("HERITAGE_HUBS_MAX_UPLOAD_MB") or 256))
    tiles_url: str = field(default_factory=lambda: os.environ.get("HERITAGE_HUBS_TILES_URL",
                                                                  "https://tile.openstreetmap.org/{z}/{x}/{y}.png"))
    allowed_services: tuple[str, ...] = field(
        default_factory=lambda: tuple((os.environ.get("HERITAGE_HUBS_ALLOWED_SERVICES") or "").split()))
    feed_policy: FeedPolicy = field(default_factory=FeedPolicy.from_environment)
