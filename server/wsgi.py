"""Running the app under gunicorn (a pre-fork WSGI server), and the WSGI entry point."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..config import Settings
from . import create_app


def run(settings: Settings) -> None:
    """Serve with gunicorn: `settings.workers` processes, each opening the store read-only."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", settings.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", settings.threads)
            self.cfg.set("accesslog", settings.access_log or None)
            self.cfg.set("timeout", 120)

        def load(self) -> Flask:
            return create_app(settings)

    _Server().run()


_app: Flask | None = None


def app(environ: dict[str, Any], start_response: Any) -> Any:
    """WSGI entry point for any server: `gunicorn 'heritage_hubs.server.wsgi:app'`."""
    global _app
    if _app is None:
        _app = create_app()
    return _app(environ, start_response)
