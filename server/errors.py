"""One error family for the HTTP layer and one handler that renders it.

Errors are answered in what the client asked for: ``application/problem+json``
(RFC 9457) for programs, an escaped HTML page for browsers, plain text
otherwise. Every body says what is wrong and, where we know, where.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from ..graph import GraphError, ParseError, StoreBusyError, UpdateLimitError, ValidationFailed
from .negotiation import wants_html


class HttpError(Exception):
    """An error with an HTTP status, a message, and optional structured detail."""

    status = 500

    def __init__(self, message: str, *, status: int | None = None, detail: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.detail = detail or {}
        self.headers = headers or {}


class BadRequest(HttpError):
    status = 400


class Unauthorized(HttpError):
    status = 401


class Forbidden(HttpError):
    status = 403


class NotFound(HttpError):
    status = 404


class NotAcceptable(HttpError):
    status = 406


class UnsupportedMediaType(HttpError):
    status = 415


class Unprocessable(HttpError):
    status = 422


class ServiceUnavailable(HttpError):
    status = 503


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           406: "Not Acceptable", 409: "Conflict", 410: "Gone", 413: "Content Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Content", 500: "Internal Server Error", 503: "Service Unavailable"}


def problem_json(status: int, message: str, detail: dict[str, Any] | None = None, title: str | None = None) -> str:
    """RFC 9457 problem details: the status, its title, what is wrong (`detail`) and any structured detail."""
    problem = {"type": "about:blank", "title": title or _TITLES.get(status, "Error"), "status": status, "detail": message,
               **(detail or {})}
    return json.dumps(problem, ensure_ascii=False)


def render_error(status: int, message: str, detail: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> Response:
    title = _TITLES.get(status, "Error")
    accept = request.accept_mimetypes
    if wants_html(accept):
        body = render_template("error.html", status=status, title=title, message=message, detail=detail or {})
        response = Response(body, status=status, mimetype="text/html")
    elif detail or accept.best_match(["application/problem+json", "application/json", "text/plain"]) != "text/plain":
        response = Response(problem_json(status, message, detail, title), status=status, mimetype="application/problem+json")
    else:
        response = Response(f"{status} {title}: {message}\n", status=status, mimetype="text/plain")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


def graph_error_response(error: GraphError) -> Response:
    if isinstance(error, ValidationFailed):
        return render_error(422, str(error), {"violations": [v.as_dict() for v in error.violations]})
    if isinstance(error, ParseError):
        return render_error(400, str(error), {"line": error.line, "column": error.column})
    if isinstance(error, UpdateLimitError):
        return render_error(503, str(error))
    if isinstance(error, StoreBusyError):
        # Another write holds the store: nothing is wrong with the request, it can be sent again.
        return render_error(503, str(error), headers={"Retry-After": "5"})
    status = getattr(error, "status", None)  # a SPARQL engine's failure says which (graph/remote.py: 501, 502, 503 …)
    if isinstance(status, int):
        return render_error(status, str(error))
    return render_error(400, str(error))


def register(app: Flask) -> None:
    @app.errorhandler(HttpError)
    def _http_error(error: HttpError) -> Response:
        return render_error(error.status, error.message, error.detail, error.headers)

    @app.errorhandler(GraphError)
    def _graph_error(error: GraphError) -> Response:
        return graph_error_response(error)

    @app.errorhandler(HTTPException)
    def _werkzeug_error(error: HTTPException) -> Response:
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
        return render_error(error.code or 500, error.description or error.name, headers=headers)
