"""The bad-input catalogue (issue 12): every route and upload format, each case sent over real HTTP to a live server.

Each row says what is sent, the status expected, a piece of the message that must say what is wrong, and
whether it is a write attempt. After every case the published generation, the change feed and the token file
are unchanged: bad input changes nothing. The catalogue only grows; a row is a regression test.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from heritage_hubs.graph.store import is_engine_location, open_store

from .conftest import LiveServer, WritableBackend, module_backend, start_server, stop_server

ROOT = Path(__file__).parent.parent
BASE = "https://w3id.org/heritage-hubs/"
MUSEUM = BASE + "graph/institution/museo-esempio"
OTHER = BASE + "graph/institution/someone-else"
CORE = BASE + "graph/core"
MAPPING = (ROOT / "examples" / "museum" / "mapping.toml").read_text()
RECORDS = (ROOT / "examples" / "museum" / "records.csv").read_text()
GOOD_TTL = f"<{BASE}id/asset/catalogue-x> a <{BASE}ontology/TangibleAsset> ; <http://www.w3.org/2000/01/rdf-schema#label> \"x\"@en ."


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    message: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Which token is sent: None, "museum" (its own graph only), "admin" (every graph), "bogus".
    token: str | None = None


def q(path: str, **params: str) -> str:
    return path + "?" + urllib.parse.urlencode(params)


def gsp(graph: str = MUSEUM) -> str:
    return q("/graph-store", graph=graph)


def multipart(parts: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, dict[str, str]]:
    boundary = "catalogue" + uuid.uuid4().hex
    body = b""
    for name, (filename, mime, data) in parts.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                 f"Content-Type: {mime}\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def csv_import(name: str, status: int, message: str, *, mapping: str = MAPPING, records: str = RECORDS, graph: str = MUSEUM,
               token: str | None = "museum", records_bytes: bytes | None = None) -> Case:
    body, headers = multipart({"file": ("records.csv", "text/csv", records_bytes if records_bytes is not None else records.encode()),
                               "mapping": ("mapping.toml", "application/toml", mapping.encode())})
    return Case(name, "POST", q("/import/csv", graph=graph), status, message, body, headers, token)


def sparql_get(name: str, query: str, status: int, message: str, **extra: str) -> Case:
    return Case(name, "GET", q("/sparql", query=query, **extra), status, message)


def update(name: str, text: str, status: int, message: str, token: str | None = "museum") -> Case:
    return Case(name, "POST", "/sparql", status, message, text.encode(), {"Content-Type": "application/sparql-update"}, token)


def upload(name: str, body: bytes | str, mime: str, status: int, message: str, *, path: str = "", method: str = "PUT",
           token: str | None = "museum") -> Case:
    data = body.encode() if isinstance(body, str) else body
    return Case(name, method, path or gsp(), status, message, data, {"Content-Type": mime}, token)


def reconcile(name: str, queries: object, status: int, message: str) -> Case:
    raw = queries if isinstance(queries, str) else json.dumps(queries)
    return Case(name, "POST", "/reconcile", status, message, urllib.parse.urlencode({"queries": raw}).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})


def _sparql_cases() -> Iterator[Case]:
    yield sparql_get("sparql: empty query", "", 400, "")
    yield Case("sparql: two queries", "GET", "/sparql?query=ASK{}&query=ASK{}", 400, "one")
    yield sparql_get("sparql: syntax error", "SELECT * WHERE { ?s ?p }", 400, "line 1, column")
    yield sparql_get("sparql: syntax error on line 3", "SELECT *\nWHERE {\n ?s ?p ?o ?x }", 400, "line 3")
    yield sparql_get("sparql: garbage", "\x00\x01\x02", 400, "")
    yield sparql_get("sparql: update sent as a query", f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ <a:b> <a:c> <a:d> }} }}", 400, "")
    yield sparql_get("sparql: SERVICE", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }", 400, "SERVICE")
    yield sparql_get("sparql: SERVICE SILENT", "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/x> { ?s ?p ?o } }", 400, "SERVICE")
    yield sparql_get("sparql: SERVICE through a prefix", "PREFIX e: <http://127.0.0.1:9/> SELECT * WHERE { SERVICE e:x { ?s ?p ?o } }",
                     400, "SERVICE")
    yield sparql_get("sparql: SERVICE in lower case", "select * where { service <http://127.0.0.1:9/x> { ?s ?p ?o } }", 400, "SERVICE")
    yield sparql_get("sparql: SERVICE by a variable", "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
                     400, "SERVICE")
    yield sparql_get("sparql: nested 200 deep", "SELECT * WHERE " + "{" * 200 + "}" * 200, 400, "deep")
    yield sparql_get("sparql: bad default-graph-uri", "ASK {}", 400, "default-graph-uri", **{"default-graph-uri": "not an iri"})
    yield sparql_get("sparql: bad named-graph-uri", "ASK {}", 400, "named-graph-uri", **{"named-graph-uri": "a b"})
    yield Case("sparql: unacceptable Accept", "GET", q("/sparql", query="ASK {}"), 406, "image/png", headers={"Accept": "image/png"})
    yield Case("sparql: a SELECT asked as Turtle only", "GET", q("/sparql", query="SELECT * WHERE {}"), 406, "",
               headers={"Accept": "text/turtle"})
    yield sparql_get("sparql: unknown format", "ASK {}", 400, "format", format="bogus")
    yield Case("sparql: PUT", "PUT", "/sparql", 405, "", b"ASK {}", {"Content-Type": "application/sparql-query"})
    yield Case("sparql: DELETE", "DELETE", "/sparql", 405, "")
    yield Case("sparql: POST without Content-Type", "POST", "/sparql", 415, "Content-Type", b"ASK {}")
    yield Case("sparql: POST unknown Content-Type", "POST", "/sparql", 415, "Content-Type", b"ASK {}", {"Content-Type": "text/turtle"})
    yield Case("sparql: POST query not UTF-8", "POST", "/sparql", 400, "UTF-8", b"ASK { \xff }",
               {"Content-Type": "application/sparql-query"})
    yield Case("sparql: form with query and update", "POST", "/sparql", 400, "",
               urllib.parse.urlencode({"query": "ASK {}", "update": "CLEAR ALL"}).encode(),
               {"Content-Type": "application/x-www-form-urlencoded"}, "admin")
    yield Case("sparql: form without query or update", "POST", "/sparql", 400, "query",
               b"x=1", {"Content-Type": "application/x-www-form-urlencoded"})
    yield Case("sparql: query string plus body", "POST", q("/sparql", query="ASK {}"), 400, "",
               b"ASK {}", {"Content-Type": "application/sparql-query"})
    # Updates: refused before they run, nothing written.
    yield update("update: no token", f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ <a:b> <a:c> <a:d> }} }}", 401, "token", token=None)
    yield update("update: bogus token", f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ <a:b> <a:c> <a:d> }} }}", 401, "token", token="bogus")
    yield update("update: another graph", f"INSERT DATA {{ GRAPH <{OTHER}> {{ <a:b> <a:c> <a:d> }} }}", 403, OTHER)
    yield update("update: the core graph", f"INSERT DATA {{ GRAPH <{CORE}> {{ <a:b> <a:c> <a:d> }} }}", 403, CORE)
    yield update("update: default graph", "INSERT DATA { <a:b> <a:c> <a:d> }", 403, "default")
    yield update("update: relative graph", "INSERT DATA { GRAPH <graph/core//../institution/museo-esempio> { <a:b> <a:c> <a:d> } }",
                 403, "may not write")
    yield update("update: BASE elsewhere", "BASE <http://evil.example/x/> INSERT DATA { GRAPH <../graph/institution/museo-esempio> "
                 "{ <a:b> <a:c> <a:d> } }", 403, "evil.example")
    yield update("update: a second BASE", f"BASE <{BASE}> INSERT DATA {{ GRAPH <graph/institution/museo-esempio> {{ <a:b> <a:c> <a:d> }} }}"
                 " ; BASE <http://evil.example/> INSERT DATA { GRAPH <graph/institution/museo-esempio> { <a:b> <a:c> <a:d> } }",
                 403, "evil.example")
    yield update("update: syntax error on line 2", f"INSERT DATA {{\n GRAPH <{MUSEUM}> {{ <a:b> <a:c> }} }}", 400, "line 2")
    yield update("update: escaped prefixed name", f"PREFIX g: <{BASE}graph/> INSERT DATA {{ GRAPH g:institution\\/museo-esempio "
                 "{ <a:b> <a:c> <a:d> } }", 400, "")
    yield update("update: CLEAR ALL", "CLEAR ALL", 403, "")
    yield update("update: DROP ALL", "DROP ALL", 403, "")
    yield update("update: DROP another graph", f"DROP GRAPH <{OTHER}>", 403, OTHER)
    yield update("update: COPY into core", f"COPY <{MUSEUM}> TO <{CORE}>", 403, CORE)
    yield update("update: MOVE out of core", f"MOVE <{CORE}> TO <{MUSEUM}>", 403, CORE)
    yield update("update: ADD into another", f"ADD <{MUSEUM}> TO <{OTHER}>", 403, OTHER)
    yield update("update: WITH another graph", f"WITH <{OTHER}> INSERT {{ <a:b> <a:c> <a:d> }} WHERE {{}}", 403, OTHER)
    yield update("update: INSERT WHERE into a variable graph", "INSERT { GRAPH ?g { <a:b> <a:c> <a:d> } } WHERE { GRAPH ?g { } }",
                 403, "")
    yield update("update: LOAD", f"LOAD <http://127.0.0.1:9/x> INTO GRAPH <{MUSEUM}>", 400, "LOAD")
    yield update("update: SERVICE in WHERE", f"INSERT {{ GRAPH <{MUSEUM}> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <http://127.0.0.1:9/> "
                 "{ ?s ?p ?o } }", 400, "SERVICE")
    yield update("update: syntax error", f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ <a:b> <a:c> }} }}", 400, "")
    yield update("update: nested 200 deep", "INSERT { } WHERE " + "{" * 200 + "}" * 200, 400, "deep")
    yield update("update: a literal of 2,000,000 characters",
                 f'INSERT DATA {{ GRAPH <{MUSEUM}> {{ <a:b> <a:c> "{"x" * 2_000_000}" }} }}', 400, "characters")
    yield update("update: invalid data (SHACL)", f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ <{BASE}id/hub/bad> a <{BASE}ontology/Hub> }} }}",
                 422, "hubType")
    yield update("update: second operation after a good one", f"INSERT DATA {{ GRAPH <{MUSEUM}> {{ <a:b> <a:c> <a:d> }} }} ; "
                 f"INSERT DATA {{ GRAPH <{OTHER}> {{ <a:b> <a:c> <a:d> }} }}", 403, OTHER)
    yield Case("update: by GET", "GET", q("/sparql", update=f"CLEAR GRAPH <{MUSEUM}>"), 400, "")
    yield Case("update: not UTF-8", "POST", "/sparql", 400, "UTF-8", b"CLEAR GRAPH <\xff>",
               {"Content-Type": "application/sparql-update"}, "museum")


TURTLE_ERRORS = {
    "unterminated triple": ("<a:b> <a:c> <a:d>", "line"),
    "undeclared prefix": ("x:a x:b x:c .", "x"),
    "bad IRI": ("<a b> <a:c> <a:d> .", "line"),
    "unterminated literal": ('<a:b> <a:c> "open .', "line"),
    "not UTF-8": (b"<a:b> <a:c> \"\xff\xfe\" .", "UTF-8"),
}


def _upload_cases() -> Iterator[Case]:
    # Who may write what, on both Graph Store routes.
    for route in (gsp(), "/graph/institution/museo-esempio"):
        yield upload(f"gsp {route}: no token", GOOD_TTL, "text/turtle", 401, "token", path=route, token=None)
        yield upload(f"gsp {route}: bogus token", GOOD_TTL, "text/turtle", 401, "token", path=route, token="bogus")
        yield upload(f"gsp {route}: no Content-Type", GOOD_TTL, "", 415, "Content-Type", path=route)
        yield upload(f"gsp {route}: unknown Content-Type", GOOD_TTL, "application/x-unknown", 415, "Content-Type", path=route)
        yield upload(f"gsp {route}: DELETE no token", b"", "", 401, "token", path=route, method="DELETE", token=None)
    for route in (gsp(OTHER), "/graph/institution/someone-else", gsp(CORE), "/graph/core"):
        for method in ("PUT", "POST", "DELETE"):
            yield upload(f"gsp {route}: {method} another institution's graph", GOOD_TTL, "text/turtle", 403, "", path=route, method=method)
    yield upload("gsp: default graph with a museum token", GOOD_TTL, "text/turtle", 403, "", path="/graph-store?default")
    yield upload("gsp: graph and default", GOOD_TTL, "text/turtle", 400, "one graph", path=f"{gsp()}&default")
    yield upload("gsp: two graphs", GOOD_TTL, "text/turtle", 400, "one graph", path=f"{gsp()}&graph=x:y")
    for bad in ("not an iri", "relative/graph", "https://example.org/a b", "https://example.org/a><b", "https://example.org/{x}"):
        yield upload(f"gsp: graph {bad!r}", GOOD_TTL, "text/turtle", 400, "IRI", path=gsp(bad), token="admin")
    yield upload("gsp: no graph", GOOD_TTL, "text/turtle", 400, "graph", path="/graph-store")
    yield upload("gsp: DELETE a graph that is not there", b"", "", 404, "no graph", path=gsp(BASE + "graph/institution/nobody"),
                 method="DELETE", token="admin")
    # Every format's syntax errors, refused with where they are.
    for name, (text, message) in TURTLE_ERRORS.items():
        for mime in ("text/turtle", "application/trig", "application/n-triples", "application/n-quads"):
            if name == "undeclared prefix" and mime in ("application/n-triples", "application/n-quads"):
                continue
            yield upload(f"gsp {mime}: {name}", text, mime, 400, message)
    yield upload("gsp rdf/xml: not XML", "<rdf:RDF", "application/rdf+xml", 400, "")
    yield upload("gsp rdf/xml: entity expansion", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                 '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
                 "application/rdf+xml", 400, "ENTITY")
    yield upload("gsp rdf/xml: external entity", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>', "application/rdf+xml", 400, "ENTITY")
    yield upload("gsp json-ld: not JSON", "{", "application/ld+json", 400, "")
    yield upload("gsp json-ld: remote context", json.dumps({"@context": "http://127.0.0.1:9/context.jsonld", "@id": "a:b"}),
                 "application/ld+json", 400, "context")
    yield upload("gsp json-ld: nested 3000 deep", "[" * 3000 + "]" * 3000, "application/ld+json", 400, "deep")
    yield upload("gsp json-ld: a number", "42", "application/ld+json", 400, "")
    yield upload("gsp turtle: nested 3000 deep", "<a:b> <a:c> " + "(" * 3000 + ")" * 3000 + " .", "text/turtle", 400, "deep")
    yield upload("gsp turtle: nested triple terms", "<a:b> <a:c> " + "<<( " * 200 + "<a:b> <a:c> <a:d>" + " )>>" * 200 + " .",
                 "text/turtle", 400, "deep")
    yield upload("gsp turtle: literal of 2,000,000 characters", f'<a:b> <a:c> "{"x" * 2_000_000}" .', "text/turtle", 400, "characters")
    yield upload("gsp turtle: SHACL violation", f"<{BASE}id/hub/bad> a <{BASE}ontology/Hub> .", "text/turtle", 422, "hubType")
    yield upload("gsp json-ld: SHACL violation", json.dumps({"@id": f"{BASE}id/hub/bad", "@type": f"{BASE}ontology/Hub"}),
                 "application/ld+json", 422, "hubType")
    yield upload("gsp trig: a graph the token may not write",
                 f"<{OTHER}> {{ <a:b> <a:c> <a:d> }}", "application/trig", 400, OTHER, method="POST", path="/graph-store?graph=" +
                 urllib.parse.quote(MUSEUM))
    body, headers = multipart({"a": ("a.ttl", "text/turtle", GOOD_TTL.encode()), "b": ("b.ttl", "text/turtle", b"<a:b> <a:c> .")})
    yield Case("gsp multipart: second part broken", "POST", gsp(), 400, "line", body, headers, "museum")
    body, headers = multipart({"a": ("a.bin", "application/octet-stream", b"\x00\x01")})
    yield Case("gsp multipart: part with no RDF type", "POST", gsp(), 415, "part", body, headers, "museum")
    yield Case("gsp multipart: no file parts", "POST", gsp(), 400, "no file parts",
               b"--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"}, "museum")


def _import_cases() -> Iterator[Case]:
    yield csv_import("csv: no token", 401, "token", token=None)
    yield csv_import("csv: another graph", 403, OTHER, graph=OTHER)
    yield csv_import("csv: graph not an IRI", 400, "graph", graph="not an iri")
    yield csv_import("csv: TOML syntax error", 400, "mapping", mapping="subject = ")
    yield csv_import("csv: TOML nested 100,000 deep", 400, "deep", mapping="x = " + "[" * 100_000 + "]" * 100_000)
    yield csv_import("csv: no subject template", 400, "subject", mapping=MAPPING.replace('subject = "asset/museo-esempio-{inventory}"', ""))
    yield csv_import("csv: subject names a missing column", 400, "nope", mapping=MAPPING.replace("{inventory}", "{nope}", 1))
    yield csv_import("csv: unknown prefix in a property", 400, "zz", mapping=MAPPING.replace('property = "hh:inventoryNumber"',
                                                                                             'property = "zz:inventoryNumber"'))
    yield csv_import("csv: property not an IRI", 400, "a b", mapping=MAPPING.replace('property = "hh:inventoryNumber"',
                                                                                     'property = "a b"'))
    yield csv_import("csv: lookup is query text", 400, "IRI", mapping=MAPPING.replace(
        'lookup = "scheme:themes"', 'lookup = "https://w3id.org/x> . SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } } #"'))
    yield csv_import("csv: bad date format in a cell", 422, "row 2, column 'made'", records=RECORDS.replace("25/04/1945", "1945-04-25"))
    yield csv_import("csv: a cell over 128 KiB", 400, "field limit", records=RECORDS.replace("Sample record: a printed poster.", "x" * 140_000))
    yield csv_import("csv: not UTF-8", 400, "UTF-8", records_bytes=RECORDS.encode("utf-16"))
    yield csv_import("csv: a theme nobody knows", 422, "row 3, column 'themes'", records=RECORDS.replace("Resistenza", "Unknown theme"))
    yield csv_import("csv: SHACL violation", 422, "", records=RECORDS.replace("Bandiera di una brigata partigiana", "").replace(
        "Flag of a partisan brigade", ""))
    yield csv_import("csv: constants value not an IRI", 400, "", mapping=MAPPING.replace('"inst:museo-esempio"', '"a b"'))
    body, headers = multipart({"file": ("records.csv", "text/csv", RECORDS.encode())})
    yield Case("csv: no mapping part", "POST", q("/import/csv", graph=MUSEUM), 400, "mapping", body, headers, "museum")
    yield Case("csv: not multipart", "POST", q("/import/csv", graph=MUSEUM), 415, "multipart", RECORDS.encode(),
               {"Content-Type": "text/csv"}, "museum")


def _reconcile_cases() -> Iterator[Case]:
    yield reconcile("reconcile: not JSON", "{", 400, "not valid JSON")
    yield reconcile("reconcile: a list", [], 400, "JSON object")
    yield reconcile("reconcile: 101 queries", {f"q{i}": {"query": "x"} for i in range(101)}, 400, "at most 100")
    yield reconcile("reconcile: a query that is a number", {"q0": 5}, 400, "q0")
    yield reconcile("reconcile: query text a list", {"q0": {"query": ["x"]}}, 400, "q0")
    yield reconcile("reconcile: query of 1,001 characters", {"q0": {"query": "x" * 1001}}, 400, "1000")
    for limit in (0, -1, "3", True, None, 1e400):
        yield reconcile(f"reconcile: limit {limit!r}", {"q0": {"query": "x", "limit": limit}}, 400, "limit")
    yield reconcile("reconcile: limit Infinity", '{"q0": {"query": "x", "limit": Infinity}}', 400, "limit")
    yield reconcile("reconcile: limit NaN", '{"q0": {"query": "x", "limit": NaN}}', 400, "limit")
    yield reconcile("reconcile: type a number", {"q0": {"query": "x", "type": 3}}, 400, "type")
    yield reconcile("reconcile: properties not a list", {"q0": {"query": "x", "properties": {}}}, 400, "properties")
    yield reconcile("reconcile: 11 conditions", {"q0": {"query": "x", "properties": [{"pid": "rdfs:label", "v": "x"}] * 11}}, 400, "10")
    yield reconcile("reconcile: condition without v", {"q0": {"query": "x", "properties": [{"pid": "rdfs:label"}]}}, 400, "pid")
    yield reconcile("reconcile: pid with unknown prefix", {"q0": {"query": "x", "properties": [{"pid": "zz:x", "v": "x"}]}}, 400, "zz:x")
    yield reconcile("reconcile: pid with a space", {"q0": {"query": "x", "properties": [{"pid": "a b", "v": "x"}]}}, 400, "pid")
    yield reconcile("reconcile: 21 values", {"q0": {"query": "x", "properties": [{"pid": "rdfs:label", "v": ["x"] * 21}]}}, 400, "20")
    extend = {"ids": [f"{BASE}id/hub/tabakalera"], "properties": [{"id": "rdfs:label"}]}
    for name, value, message in (("not an object", [], "extend needs"), ("ids not a list", {**extend, "ids": "x"}, "extend needs"),
                                 ("501 ids", {**extend, "ids": ["x:y"] * 501}, "at most"),
                                 ("id not an IRI", {**extend, "ids": ["a b"]}, "ids[0]"),
                                 ("property without id", {**extend, "properties": [{}]}, "properties[0]"),
                                 ("property not an IRI", {**extend, "properties": [{"id": "a b"}]}, "properties[0]")):
        yield Case(f"extend: {name}", "POST", "/reconcile", 400, message,
                   urllib.parse.urlencode({"extend": json.dumps(value)}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    yield Case("extend: not JSON", "GET", q("/reconcile", extend="{"), 400, "not valid JSON")
    for cursor in ("-1", "x", "1001", "1" * 50):
        yield Case(f"suggest: cursor {cursor[:10]!r}", "GET", q("/reconcile/suggest/entity", prefix="tab", cursor=cursor), 400, "cursor")
    yield Case("suggest: type a number", "GET", q("/reconcile/suggest/entity", prefix="tab", type="3"), 200, "result")
    yield Case("preview: no id", "GET", "/reconcile/preview", 400, "?id=")
    yield Case("preview: unknown id", "GET", q("/reconcile/preview", id=f"{BASE}id/hub/nowhere"), 404, "")
    yield Case("preview: not an IRI", "GET", q("/reconcile/preview", id="<script>"), 400, "not an IRI")
    yield Case("view: another site", "GET", q("/reconcile/view", id="https://evil.example/"), 404, "")
    yield Case("view: javascript", "GET", q("/reconcile/view", id="javascript:alert(1)"), 404, "")
    yield Case("propose_properties: no type", "GET", "/reconcile/propose_properties", 400, "type")
    yield Case("propose_properties: bad limit", "GET", q("/reconcile/propose_properties", type=f"{BASE}ontology/Hub", limit="x"), 400,
               "limit")


def _read_cases() -> Iterator[Case]:
    for name, params, message in (("bad subject", {"subject": "a b"}, "subject"), ("subject a literal", {"subject": '"x"'}, "subject"),
                                  ("bad predicate", {"predicate": "<x"}, "predicate"), ("bad literal", {"object": '"x'}, "object"),
                                  ("bad datatype", {"object": '"x"^^<a b>'}, "object"),
                                  ("bad language", {"object": '"x"@-'}, "object"),
                                  ("page 0", {"page": "0"}, "page"), ("page -1", {"page": "-1"}, "page"),
                                  ("page text", {"page": "x"}, "page"), ("page 10^30", {"page": "1" + "0" * 30}, "page"),
                                  ("page 10001", {"page": "10001"}, "page")):
        yield Case(f"fragments: {name}", "GET", q("/fragments", **params), 400, message)
    yield Case("fragments: unknown format", "GET", q("/fragments", format="bogus"), 406, "")
    for number in ("-1", "99999999999999999999", "100000000"):
        yield Case(f"feed page {number[:12]}", "GET", f"/feed/page/{number}", 404, "")
    for page in ("0", "x", "-3", "9" * 30):
        yield Case(f"hubs page {page[:10]}", "GET", q("/hubs", page=page), 400, "page")
    yield Case("hubs page past the end", "GET", q("/hubs", page="9999"), 404, "past the end")
    for path in ("/doc/hub/nowhere", "/id/hub/nowhere", "/doc/nokind/x", "/id/nokind/x", "/ontology/NoSuchTerm",
                 "/dumps/graph/institution/nobody.nq.gz", "/dumps/graph/..%2F..%2Fetc%2Fpasswd.nq.gz", "/static/../pyproject.toml",
                 "/static/%2e%2e/pyproject.toml", "/api/queries/no-such-query", "/nowhere"):
        yield Case(f"not found: {path}", "GET", path, 404, "")
    yield Case("graph read: not there", "GET", gsp(BASE + "graph/institution/nobody"), 404, "no graph")
    yield Case("graph read: not an IRI", "GET", gsp("a b"), 400, "IRI")
    yield Case("doc: unknown format", "GET", "/doc/hub/tabakalera?format=bogus", 406, "")
    yield Case("named query: IRI parameter not an IRI", "GET", q("/api/queries/kept-assets", keeper="not an iri"), 400, "keeper")
    yield Case("named query: unknown parameter", "GET", q("/api/queries/kept-assets", keeper=f"{BASE}id/x", bogus="1"), 400, "bogus")
    yield Case("named query: per_page 1001", "GET", q("/api/queries/hub-partners", per_page="1001"), 400, "per_page")
    yield Case("named query: page 0", "GET", q("/api/queries/hub-partners", page="0"), 400, "page")
    yield Case("named query: page huge", "GET", q("/api/queries/hub-partners", page="9" * 30), 400, "page")
    yield Case("named query: bad format", "GET", q("/api/queries/hub-partners", format="bogus"), 400, "format")
    yield Case("named query: not acceptable", "GET", "/api/queries/hub-partners", 406, "", headers={"Accept": "image/png"})
    yield Case("host: untrusted", "GET", "/", 400, "host", headers={"Host": "evil.example"})
    yield Case("host: untrusted on a write", "PUT", gsp(), 400, "host", GOOD_TTL.encode(),
               {"Host": "evil.example", "Content-Type": "text/turtle"}, "museum")
    yield Case("head: over 64 KiB", "GET", "/", 431, "", headers={"X-Padding": "x" * 70_000})
    yield Case("body: declared over the limit", "PUT", gsp(), 413, "larger than", b"", {"Content-Type": "text/turtle",
                                                                                        "Content-Length": str(10**12)}, "museum")


CASES = [*_sparql_cases(), *_upload_cases(), *_import_cases(), *_reconcile_cases(), *_read_cases()]


def test_the_catalogue_has_at_least_150_cases_with_unique_names() -> None:
    assert len(CASES) >= 150, len(CASES)
    assert len({case.name for case in CASES}) == len(CASES)


def _fingerprint(location: str) -> str:
    """What bad input must never change: the published generation, the feed and the tokens (and over an engine, where
    they are graphs, every graph of the service)."""
    if is_engine_location(location):
        # Every write moves the generation in the same update that carries it; the statements of each graph under the
        # service's prefix are counted as well (the feed and the tokens are graphs there; the writers' lease is not
        # data and moves with every write attempted).
        store = open_store(location)
        ns = store.namespaces
        rows = store.reader().select_outside_dataset(  # type: ignore[attr-defined]
            f'SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{ns.base}graph/") '
            f"&& ?g != <{ns.lock_graph}>) }} GROUP BY ?g")
        counts = sorted(f"{row['g']} {row['n']}" for row in rows)
        return hashlib.sha256("\n".join([store.generation, *counts]).encode()).hexdigest()
    store_path = Path(location)
    digest = hashlib.sha256((store_path / "CURRENT").read_bytes())
    for part in ("feed", "tokens.json"):
        path = store_path / part
        for file in sorted(path.rglob("*")) if path.is_dir() else [path] if path.exists() else []:
            if file.is_file():
                digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def served(writable_backend: WritableBackend, seeded_template: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A live server on the bundled data, on each backend in turn (conftest's `writable_backend`)."""
    with module_backend(writable_backend, tmp_path_factory.mktemp("catalogue"), template=seeded_template) as (location, _):
        tokens = open_store(location).tokens()
        secrets = {"museum": tokens.create("museo-esempio", [MUSEUM])[1], "admin": tokens.create("admin", ["*"])[1],
                   "bogus": "hh_" + "0" * 40}
        server = start_server(location, workers=1,
                              extra_env={"HERITAGE_HUBS_MAX_UPLOAD_MB": "16", "HERITAGE_HUBS_QUERY_TIMEOUT": "20"})
        yield server, secrets
        stop_server(server)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(served: tuple[LiveServer, dict[str, str]], case: Case) -> None:
    server, secrets = served
    headers = {"Accept": "application/problem+json, */*;q=0.1", **case.headers}
    if case.token:
        headers["Authorization"] = f"Bearer {secrets[case.token]}"
    if "Content-Type" in headers and not headers["Content-Type"]:
        del headers["Content-Type"]
    before = _fingerprint(server.location)
    status, _, body = _send(server, case, headers)
    text = body.decode("utf-8", "replace")
    assert status == case.status, f"{case.name}: {status} {text[:500]}"
    assert case.message.lower() in text.lower(), f"{case.name}: the message does not say {case.message!r}: {text[:500]}"
    assert _fingerprint(server.location) == before, f"{case.name}: bad input changed the store, the feed or the tokens"


def _send(server: LiveServer, case: Case, headers: dict[str, str]) -> tuple[int, object, bytes]:
    """The request exactly as the case says: no header added (urllib would add a form Content-Type)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.putrequest(case.method, case.path, skip_host="Host" in headers, skip_accept_encoding=True)
        if case.body and "Content-Length" not in headers:
            headers = {**headers, "Content-Length": str(len(case.body))}
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(case.body or None)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()
