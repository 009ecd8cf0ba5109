"""/import/csv: a museum uploads a spreadsheet and its mapping (see graph/tabular.py).

`POST /import/csv?graph=IRI` with a `multipart/form-data` body holding `file`
(the CSV, UTF-8) and `mapping` (the TOML mapping), and a bearer token that
may write the graph. Add `skip_bad_rows=true` to load the good rows when some
are bad. Answers 200 with a report (rows, imported rows, triples, skipped
rows), or 422 listing every bad row by number and column, having changed
nothing.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from ..graph.iris import valid_iri
from ..graph.tabular import ImportFailed, Mapping, import_csv
from . import resources
from .auth import authenticate, provenance_of, require_write
from .errors import BadRequest, UnsupportedMediaType, problem_json

blueprint = Blueprint("imports", __name__)


def _text(part: str) -> str:
    upload = request.files.get(part)
    if upload is None:
        raise BadRequest(f"the form needs a '{part}' file part")
    try:
        data: bytes = upload.read()
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(f"{part}: not UTF-8 (byte {error.start}); export the spreadsheet as CSV UTF-8") from None


@blueprint.post("/import/csv")
def import_spreadsheet() -> Response:
    store = resources().store
    token = authenticate()
    graph = request.args.get("graph", "")
    if not valid_iri(graph):
        raise BadRequest("graph must be the absolute IRI of the graph to load into, e.g. ?graph=" + store.namespaces.graph("institution/x"))
    require_write(token, graph)
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send multipart/form-data with a 'file' part (CSV) and a 'mapping' part (TOML)")
    csv_upload = request.files.get("file")
    mapping = Mapping.from_toml(_text("mapping"), store.namespaces, source="mapping")
    name = (csv_upload.filename if csv_upload is not None else None) or "upload.csv"
    try:
        report = import_csv(store, _text("file"), mapping, graph=graph, source=name,
                            replace=request.args.get("replace") == "true",
                            skip_bad_rows=request.args.get("skip_bad_rows") == "true",
                            provenance=provenance_of(token, "import-csv", sources=(name,)))
    except ImportFailed as failure:
        body = problem_json(422, str(failure), {"errors": [e.as_dict() for e in failure.errors]})
        return Response(body, status=422, mimetype="application/problem+json")
    return Response(json.dumps(report.as_dict(), ensure_ascii=False), mimetype="application/json")
