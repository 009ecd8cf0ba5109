"""Running the app: gunicorn's pre-fork process model with uvicorn workers; and the WSGI entry point.

gunicorn manages the worker processes (restarts, timeouts, signals); in each
worker, uvicorn (httptools, uvloop) speaks HTTP and runs the ASGI front of
`asgi.py`, which answers cache hits itself and hands everything else to the
Flask app in a thread pool of `settings.threads` threads.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Flask

from ..config import Settings
from . import create_app


def run(settings: Settings) -> None:
    """Serve with gunicorn: `settings.workers` uvicorn processes, each opening the store read-only."""
    from gunicorn.app.base import BaseApplication
    from uvicorn_worker import UvicornWorker

    from .asgi import FrontApp, create_asgi_app
    from .protocol import BoundedHttpToolsProtocol

    class _Protocol(BoundedHttpToolsProtocol):
        head_timeout = settings.header_timeout
        max_per_client = settings.max_connections_per_client

    class _Worker(UvicornWorker):  # type: ignore[misc]
        # The access log costs much of a cached answer's time: off unless asked for.
        CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": _Protocol, "access_log": bool(settings.access_log),
                         "server_header": False,
                         # As gunicorn's worker_connections: beyond this, 503 rather than an unbounded queue.
                         "limit_concurrency": 1000}

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", settings.workers)
            self.cfg.set("worker_class", _Worker)
            self.cfg.set("accesslog", settings.access_log or None)
            self.cfg.set("timeout", 120)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn 24+ opens a control socket at one fixed path per user: a second `serve` on the
                # machine would take it over from the first. Nothing here uses it.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> FrontApp:
            return create_asgi_app(settings)

    _Server().run()


_app: Flask | None = None


def app(environ: dict[str, Any], start_response: Any) -> Any:
    """WSGI entry point for any server: `gunicorn 'heritage_hubs.server.wsgi:app'`."""
    global _app
    if _app is None:
        _app = create_app()
    return _app(environ, start_response)
