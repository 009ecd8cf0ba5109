"""A SPARQL engine someone already runs (Oxigraph server, Virtuoso, Fuseki …) behind the service's store interface.

Only standards cross the wire: SPARQL 1.1 Query and Update over the SPARQL 1.1
Protocol, and the Graph Store HTTP Protocol for whole graphs. A store location
``sparql+http://host:port/path`` (or ``sparql+https://``) names the engine's
query endpoint; its own query string names the others, relative to the query
endpoint's host::

    sparql+http://127.0.0.1:7878/query?update=/update&store=/store&union=engine
    sparql+http://127.0.0.1:8890/sparql?update=/sparql-auth&store=/sparql-graph-crud-auth

``union=engine`` trusts the engine's own default graph to be the union of the
service's graphs (Oxigraph's ``--union-default-graph``, Fuseki's
``unionDefaultGraph``); without it every query names the service's graphs with
``default-graph-uri``/``named-graph-uri`` (SPARQL 1.1 Protocol §2.1.4), which is
right on every engine, Virtuoso's system graphs included, and costs the engine
more. The service's graphs are those under ``{base}graph/`` that its metadata
graph describes.

Credentials come from the environment: ``HERITAGE_HUBS_ENGINE_USER``,
``HERITAGE_HUBS_ENGINE_PASSWORD`` and ``HERITAGE_HUBS_ENGINE_AUTH`` (``basic``,
the default, or ``digest``, which Virtuoso's ``/sparql-auth`` asks for).

The generation that keys every cache lives in the engine (one statement in the
metadata graph), so several service processes on several hosts in front of one
engine see each other's writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests
from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Store,
    Triple,
    Variable,
    parse,
    parse_query_results,
    serialize,
)
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from .errors import GraphError, ValidationFailed, Violation
from .executor import CHUNK_BYTES, Limits, QueryFailed, QueryJob, QueryStream, StreamAborted, not_acceptable
from .feed import FeedPolicy
from .formats import GRAPHS_BY_MEDIA_TYPE, RESULTS_BY_MEDIA_TYPE
from .iris import DEFAULT_BASE_IRI
from .provenance import Provenance
from .remote_feed import RemoteFeed
from .remote_lock import EngineLease
from .sparql_text import (
    code_tokens,
    dataset_clause_graphs,
    has_dataset_clause,
    is_word,
    prefix_message,
    query_form,
    undeclared_prefix,
    where_group_start,
    where_in_text,
    with_prologue,
)
from .store import DEFAULT_GRAPH, GraphStore, ProgressCallback, RdfSource, WriteTransaction, is_engine_location

if TYPE_CHECKING:
    from .engine_loader import EngineLoader
from .tokens import TokenStore
from .validation import ShapesValidator

#: Media types asked of the engine, best first: SPARQL JSON results for SELECT and ASK, N-Triples for graphs.
_ACCEPT_RESULTS = "application/sparql-results+json"
_ACCEPT_GRAPH = "application/n-triples, text/plain;q=0.9, text/turtle;q=0.8"
_GRAPH_TYPES = {"application/n-triples": RdfFormat.N_TRIPLES, "text/plain": RdfFormat.N_TRIPLES,
                "text/turtle": RdfFormat.TURTLE, "application/rdf+xml": RdfFormat.RDF_XML,
                "application/n-quads": RdfFormat.N_QUADS}
GENERATION = "generation"  # local name, under the ontology namespace, of the generation statement
#: Seconds a write to the engine (a graph's upload, a write's update) may take: an engine parses a large upload as it
#: reads it (a million statements: tens of seconds).
WRITE_TIMEOUT = 3600.0


class EngineError(GraphError):
    """The engine refused a request or could not be reached; `status` is what the service answers with."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class EngineAddress:
    """Where an engine's query, update and Graph Store endpoints are."""

    query_url: str
    update_url: str | None = None
    store_url: str | None = None
    union_default_graph: bool = False
    #: The unit of the engine's own `timeout` query parameter ("ms": Virtuoso, "s": Fuseki), if it has one: the
    #: service's time limit is passed on, so that the engine stops the work too.
    timeout_unit: str | None = None

    @classmethod
    def parse(cls, location: str) -> EngineAddress:
        if not is_engine_location(location):
            raise ValueError(f"not an engine location (sparql+http://…): {location!r}")
        url = urllib.parse.urlsplit(location[len("sparql+"):])
        if not url.hostname:
            raise ValueError(f"no host in the engine location {location!r}")
        options = urllib.parse.parse_qs(url.query)
        unknown = set(options) - {"update", "store", "union", "timeout"}
        if unknown:
            raise ValueError(f"unknown option {sorted(unknown)[0]!r} in the engine location {location!r} "
                             "(known: update, store, union, timeout)")
        query_url = urllib.parse.urlunsplit((url.scheme, url.netloc, url.path or "/", "", ""))

        def endpoint(name: str) -> str | None:
            value = options.get(name, [None])[0]
            return None if value is None else urllib.parse.urljoin(query_url, value)

        union = options.get("union", [""])[0]
        if union not in ("", "engine"):
            raise ValueError(f"union={union!r} in the engine location: the one value is 'engine'")
        unit = options.get("timeout", [None])[0]
        if unit not in (None, "ms", "s"):
            raise ValueError(f"timeout={unit!r} in the engine location: the unit of the engine's timeout parameter, ms or s")
        return cls(query_url, endpoint("update"), endpoint("store"), union == "engine", unit)


def _auth_from_environment(environ: Mapping[str, str]) -> AuthBase | None:
    user, password = environ.get("HERITAGE_HUBS_ENGINE_USER"), environ.get("HERITAGE_HUBS_ENGINE_PASSWORD")
    if not user:
        return None
    kind = (environ.get("HERITAGE_HUBS_ENGINE_AUTH") or "basic").lower()
    if kind == "basic":
        return HTTPBasicAuth(user, password or "")
    if kind == "digest":
        return HTTPDigestAuth(user, password or "")
    raise ValueError(f"HERITAGE_HUBS_ENGINE_AUTH={kind!r}: use 'basic' or 'digest'")


class Engine:
    """The HTTP conversation with one engine: pooled connections, time limits, credentials."""

    def __init__(self, address: EngineAddress, *, timeout: float = 30.0, connect_timeout: float = 5.0,
                 environ: Mapping[str, str] | None = None, pool: int = 16) -> None:
        self.address = address
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._auth = _auth_from_environment(os.environ if environ is None else environ)
        self._local = threading.local()
        self._pool = pool
        #: Called, on the thread that sends it, before each request (with whether it may take long): the writers'
        #: lease renews itself here, between the write's own requests (graph/remote_lock.py).
        self.before: Callable[[bool], None] | None = None

    @property
    def session(self) -> requests.Session:
        # One session per thread: requests' sessions are not documented as thread-safe; each keeps its own pool.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self._pool)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False  # never a proxy from the environment between us and our own engine
            self._local.session = session
        return session

    def _send(self, method: str, url: str, *, timeout: float | None = None, stream: bool = False,
              auth: bool = False, **kwargs: Any) -> requests.Response:
        limit = self.timeout if timeout is None else timeout
        # requests keeps the connect time limit while it sends the body: an engine that reads a large upload as it
        # parses it takes longer than that (150 MB into Oxigraph: over 5 s), so uploads get the whole limit.
        body = kwargs.get("data")
        uploading = (isinstance(body, bytes | bytearray) and len(body) > 1024 * 1024) or hasattr(body, "read")
        connect = limit if uploading else self.connect_timeout
        if self.before is not None:
            self.before(uploading or limit >= WRITE_TIMEOUT)
        for attempt in (1, 2):
            try:
                response = self.session.request(method, url, timeout=(connect, limit), stream=stream,
                                                auth=self._auth if auth else None, allow_redirects=False, **kwargs)
                break
            except requests.Timeout:
                raise EngineError(f"the SPARQL engine at {url} did not answer within the time limit of {limit:g} s",
                                  status=503) from None
            except requests.ConnectionError as error:
                # A pooled connection the engine closed while it lay idle fails at once: once more on a new one. Every
                # request the service sends may be sent twice (queries; PUT; updates of DATA and of the generation).
                self.close()
                if attempt == 2:
                    raise EngineError(f"the SPARQL engine at {url} cannot be reached: {type(error).__name__}",
                                      status=502) from None
                if hasattr(kwargs.get("data"), "seek"):
                    kwargs["data"].seek(0)
        if response.status_code >= 400:
            text = response.text[:2000].strip()
            response.close()
            # An engine's 503 (busy, or its own time limit reached: Fuseki's and Jena's answer) stays a 503.
            status = {400: 400, 401: 401, 403: 401, 503: 503}.get(response.status_code, 502)
            raise EngineError(f"the SPARQL engine answered {response.status_code}: {text or response.reason}", status=status)
        return response

    def query(self, sparql: str, *, accept: str, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (),
              timeout: float | None = None, stream: bool = False) -> requests.Response:
        """POST a query (SPARQL 1.1 Protocol §2.1.2, URL-encoded form)."""
        form: list[tuple[str, str]] = [("query", sparql)]
        form += [("default-graph-uri", g) for g in default_graphs]
        form += [("named-graph-uri", g) for g in named_graphs]
        if timeout is not None and self.address.timeout_unit is not None:
            # A little less than ours, so that the engine's stop (and its reason) arrives before we give up on it.
            engine_limit = timeout * 0.9
            form.append(("timeout", str(int(engine_limit * 1000)) if self.address.timeout_unit == "ms" else f"{engine_limit:g}"))
        response = self._send("POST", self.address.query_url, data=form, headers={"Accept": accept}, timeout=timeout,
                              stream=stream)
        if "X-SQL-State" in response.headers:
            # Virtuoso's "anytime" answer: what it found before its own time limit, sent as if complete. Never passed on.
            state = response.headers["X-SQL-State"]
            response.close()
            raise EngineError(f"the SPARQL engine stopped the query at its time limit ({state}) and offered a partial "
                              "answer, which is not passed on", status=503)
        return response

    def update(self, sparql: str, *, timeout: float | None = None) -> None:
        """POST an update directly, as the request's body (SPARQL 1.1 Protocol §2.2.2): a large update is sent as it is,
        where URL-encoding it would cost more time here than the engine takes to run it."""
        if self.address.update_url is None:
            raise EngineError("this engine location names no update endpoint (add ?update=/path)", status=503)
        self._send("POST", self.address.update_url, data=sparql.encode(), timeout=timeout, auth=True,
                   headers={"Content-Type": "application/sparql-update; charset=UTF-8"}).close()

    def put_graph(self, graph: str, body: bytes | IO[bytes], *, media_type: str = "application/n-triples",
                  timeout: float | None = None) -> None:
        """Replace one graph (Graph Store HTTP Protocol §5.3); N-Triples of more than :data:`GRAPH_REQUEST_BYTES` as a
        PUT of the first part and POSTs of the rest (not atomic across them)."""
        parts = _bodies(body, media_type)
        self._to_graph("PUT", graph, next(parts, b""), media_type, timeout)  # (nothing to send: an empty graph)
        for part in parts:
            self._to_graph("POST", graph, part, media_type, timeout)

    def post_graph(self, graph: str, body: bytes | IO[bytes], *, media_type: str = "application/n-triples",
                   timeout: float | None = None) -> None:
        """Add to one graph (Graph Store HTTP Protocol §5.5), N-Triples in parts as :meth:`put_graph` sends them."""
        for part in _bodies(body, media_type):
            self._to_graph("POST", graph, part, media_type, timeout)

    def _to_graph(self, method: str, graph: str, body: bytes | IO[bytes], media_type: str, timeout: float | None) -> None:
        if self.address.store_url is None:
            raise EngineError("this engine location names no Graph Store endpoint (add ?store=/path)", status=503)
        self._send(method, self.address.store_url, params={"graph": graph}, data=body,
                   headers={"Content-Type": media_type}, timeout=timeout, auth=True).close()

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None


#: The most N-Triples one Graph Store request carries. Virtuoso 7.2 stalled on one PUT of 278 MB (the 1.6 million
#: statements of a 1M-triple dataset's entailed graph): its monitor reported locks held for a long time, and neither it
#: nor we used any CPU for minutes. In parts of this size the same restore goes through.
GRAPH_REQUEST_BYTES = 8 * 1024 * 1024


def _bodies(body: bytes | IO[bytes], media_type: str) -> Iterator[bytes | IO[bytes]]:
    """The request bodies `body` goes in: N-Triples in :func:`_parts`, any other format whole."""
    return iter(_parts(body)) if media_type == "application/n-triples" else iter([body])


def _parts(body: bytes | IO[bytes], limit: int | None = None) -> Iterator[bytes]:
    """N-Triples `body` (bytes, or a file read as it goes) in parts of whole lines, each at most `limit` bytes
    (:data:`GRAPH_REQUEST_BYTES`) unless one line alone is longer. N-Triples keeps one statement per line, so each part
    is a document of its own."""
    limit = limit or GRAPH_REQUEST_BYTES
    if isinstance(body, bytes | bytearray):  # cut in place: a graph in memory may be gigabytes
        start, view = 0, memoryview(body)
        while start < len(body):
            cut = len(body) if start + limit >= len(body) else (
                body.rfind(b"\n", start, start + limit) + 1 or body.find(b"\n", start + limit) + 1 or len(body))
            yield bytes(view[start:cut])
            start = cut
        return
    rest = b""
    for block in iter(lambda: body.read(limit), b""):
        rest += block
        while len(rest) > limit:
            cut = rest.rfind(b"\n", 0, limit) + 1 or rest.find(b"\n", limit) + 1
            if not cut:
                break  # one line longer than the limit, not read to its end yet
            yield rest[:cut]
            rest = rest[cut:]
    if rest:
        yield rest


# ---------------------------------------------------------------- reading, as pyoxigraph reads


#: Datatypes an engine answers with in place of the standard ones it was given: Virtuoso keeps a geo:wktLiteral as its
#: own geometry type (at single precision: 7.7 comes back as 7.6999998092651) and names that type in its answers.
ENGINE_DATATYPES = {"http://www.openlinksw.com/schemas/virtrdf#Geometry": "http://www.opengis.net/ont/geosparql#wktLiteral"}


_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
#: Virtuoso keeps an xsd:boolean as a number: its SPARQL JSON results say "1" where the data (and its own N-Triples)
#: said "true". Both are lexical forms of the same value; the canonical one is read back, as the embedded store has it.
_BOOLEAN_NUMBERS = {"1": "true", "0": "false"}


#: A blank node as the subject of an N-Triples line, and as its object (the term before the closing " .").
_BLANK_SUBJECT = re.compile(rb"\n_:(\S+) ")  # (after a line end: the first line is given one)
_BLANK_OBJECT = re.compile(rb"(?m) _:(\S+) \.[ \t]*$")


class Skolem:
    """Blank nodes in an engine, as skolem IRIs (RDF 1.1 §3.5) under one prefix, and back; and an engine's own
    datatypes (:data:`ENGINE_DATATYPES`) and numeric booleans read back as the standard ones.

    An engine's blank nodes cannot be named in the next request, so a page
    could not follow them; the service therefore keeps none there. A restore
    gives each blank node the IRI ``{prefix}{id}``; everything read back turns
    such an IRI into the blank node ``_:{id}`` again, so pages, documents and
    dumps look as they do over the embedded store, and a blank node sent in a
    query goes as its IRI.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._marker = prefix.encode()
        self._in_graph = re.compile(rb"<" + re.escape(self._marker) + rb"([A-Za-z0-9_-]+)>")
        self._datatypes = {f"<{k}>".encode(): f"<{v}>".encode() for k, v in ENGINE_DATATYPES.items()}

    def iri(self, node: BlankNode) -> NamedNode:
        return NamedNode(self.prefix + node.value)

    def term(self, term: Any) -> str:
        """`term` as SPARQL text for the engine."""
        if isinstance(term, BlankNode):
            return str(self.iri(term))
        if isinstance(term, NamedNode | Literal):
            return str(term)
        raise EngineError(f"a {type(term).__name__} cannot be sent to a SPARQL engine", status=400)

    def triple(self, triple: Triple) -> Triple:
        """`triple` with its blank nodes as IRIs."""
        subject, obj = triple.subject, triple.object
        if not isinstance(subject, BlankNode) and not isinstance(obj, BlankNode):
            return triple
        return Triple(self.iri(subject) if isinstance(subject, BlankNode) else subject, triple.predicate,
                      self.iri(obj) if isinstance(obj, BlankNode) else obj)

    def graph_of(self, store: Store, graph: str, *, leaving_out: NamedNode | None = None) -> bytes:
        """One graph of `store` as N-Triples for the engine, its blank nodes as IRIs and without the statements whose
        predicate is `leaving_out`.

        pyoxigraph writes the graph, one statement per line; the rest is done on
        that text by position, never by parsing each line again (a Python object
        per statement, then a parse per blank-node line, cost a 1M restore a
        quarter and then a fifth of its time). In a line a blank node is the
        subject (the line starts with ``_:``) or the object (the line ends with
        ``_:label .``): a literal always ends with its quote, language tag or
        datatype IRI, so text inside one is never taken for a node. A subject is
        an IRI or a blank node, so the predicate is the second term exactly.
        """
        data = store.dump(format=RdfFormat.N_TRIPLES, from_graph=NamedNode(graph)) or b""
        predicate = b"" if leaving_out is None else f"<{leaving_out.value}>".encode()
        if predicate and predicate in data:
            data = re.sub(rb"(?m)^(?:<[^>\n]*>|_:\S+) " + re.escape(predicate) + rb" [^\n]*\n?", b"", data)
        if b"_:" not in data:
            return data
        # The subject pattern looks for a line end before the node, a search several times faster than trying each
        # line's start; the first line is given one for the search and has it taken off again.
        data = _BLANK_SUBJECT.sub(b"\n<" + self._marker + rb"\1> ", b"\n" + data)[1:]
        return _BLANK_OBJECT.sub(b" <" + self._marker + rb"\1> .", data)

    def results(self, content: bytes) -> bytes:
        """SPARQL JSON results with the skolem IRIs turned back into blank nodes."""
        datatypes = [d for d in ENGINE_DATATYPES if d.encode() in content]
        if self._marker not in content and not datatypes and _BOOLEAN.encode() not in content:
            return content
        prefix = self.prefix

        def hook(value: dict[str, Any]) -> dict[str, Any]:
            if value.get("type") == "uri" and isinstance(value.get("value"), str) and value["value"].startswith(prefix):
                return {"type": "bnode", "value": value["value"][len(prefix):]}
            if value.get("datatype") in ENGINE_DATATYPES:
                return {**value, "datatype": ENGINE_DATATYPES[value["datatype"]]}
            if value.get("datatype") == _BOOLEAN and value.get("value") in _BOOLEAN_NUMBERS:
                return {**value, "value": _BOOLEAN_NUMBERS[value["value"]]}
            return value

        return json.dumps(json.loads(content, object_hook=hook)).encode()

    def graph(self, content: bytes) -> bytes:
        """N-Triples or Turtle with the skolem IRIs turned back into blank nodes."""
        for engine_type, standard in self._datatypes.items():
            if engine_type in content:
                content = content.replace(engine_type, standard)
        return self._in_graph.sub(rb"_:\1", content) if self._marker in content else content


def _with_values(sparql: str, substitutions: Mapping[Variable, Any], skolem: Skolem) -> str:
    """`sparql` with the variables of `substitutions` bound by a VALUES block opening its WHERE group."""
    start = where_group_start(sparql)
    if start is None:
        raise EngineError("a query without a WHERE group cannot take bound variables", status=400)
    names = " ".join(f"?{v.value}" for v in substitutions)
    values = " ".join(skolem.term(t) for t in substitutions.values())
    return f"{sparql[:start]} VALUES ({names}) {{ ({values}) }} {sparql[start:]}"


def _media_type(response: requests.Response, default: str = "") -> str:
    """The media type of an engine's answer, without its parameters."""
    return response.headers.get("Content-Type", default).split(";")[0].strip().lower()


def _solutions_of(response: requests.Response, skolem: Skolem | None = None) -> QuerySolutions:
    content = response.content if skolem is None else skolem.results(response.content)
    parsed = parse_query_results(content, format=QueryResultsFormat.JSON)
    if not isinstance(parsed, QuerySolutions):
        raise EngineError("the SPARQL engine answered a SELECT query with a boolean")
    return parsed


class RemoteTriples:
    """A CONSTRUCT or DESCRIBE answer: its triples, iterable and serialisable like pyoxigraph's QueryTriples."""

    def __init__(self, triples: list[Triple]) -> None:
        self._triples = triples

    def __iter__(self) -> Iterator[Triple]:
        return iter(self._triples)

    def serialize(self, output: IO[bytes] | None = None, format: RdfFormat = RdfFormat.N_TRIPLES) -> bytes | None:
        return serialize(self._triples, output, format)


class RemoteReader:
    """What the service reads through a pyoxigraph ``Store`` (query, quads_for_pattern, named_graphs …), asked of an engine.

    One reader stands for one generation: the list of the service's graphs is read once per reader.
    """

    #: Readers that loop over quads_for_pattern ask graph patterns instead where they can (graph/describe.py).
    answers_in_batches = True

    def __init__(self, engine: Engine, graph_prefix: str, skolem: Skolem, *, timeout: float | None = None) -> None:
        self.engine = engine
        self.graph_prefix = graph_prefix
        self.skolem = skolem
        self.timeout = timeout
        self._graphs: list[str] | None = None

    def sparql_term(self, term: Any) -> str:
        """`term` as SPARQL text this engine understands (a blank node as its skolem IRI)."""
        return self.skolem.term(term)

    # -- the dataset

    def our_graphs(self) -> list[str]:
        """The service's graphs: those its metadata graph describes, and the metadata graph (one lookup; listing the
        graphs that hold statements would read every statement)."""
        if self._graphs is None:
            metadata = self.graph_prefix + "metadata"
            rows = self._solutions(f"SELECT DISTINCT ?g WHERE {{ GRAPH <{metadata}> {{ ?g a <http://rdfs.org/ns/void#Dataset> }} }}",
                                   with_dataset=False)
            described = {str(row["g"].value) for row in rows if isinstance(row["g"], NamedNode)}
            if described or self.holds_any(metadata):
                described.add(metadata)
            self._graphs = sorted(g for g in described if g.startswith(self.graph_prefix))
        return self._graphs

    def holds_any(self, graph: str) -> bool:
        response = self.engine.query(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", accept=_ACCEPT_RESULTS, timeout=self.timeout)
        answer = parse_query_results(response.content, format=QueryResultsFormat.JSON)
        return bool(answer) if isinstance(answer, QueryBoolean) else False

    def every_graph_under_prefix(self) -> list[str]:
        """Every graph under the service's prefix that holds a statement, described or not (reads every statement: for
        a restore, which replaces them all)."""
        prefix = self.graph_prefix.replace("\\", "\\\\").replace('"', '\\"')
        rows = self._solutions(f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{prefix}")) }}',
                               with_dataset=False)
        return sorted(str(row["g"].value) for row in rows)

    def dataset(self, sparql: str, options: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """The `default-graph-uri` and `named-graph-uri` values to send with `sparql`, run with pyoxigraph's `options`."""
        default = options.get("default_graph")
        named = options.get("named_graphs")
        if default is not None or named is not None:
            defaults = [default] if not isinstance(default, list | tuple) else list(default)
            if any(isinstance(g, DefaultGraph) for g in defaults):
                raise EngineError("the engine's own default graph cannot be named through the protocol", status=400)
            return [str(g.value) for g in defaults if g is not None], [str(g.value) for g in named or ()]
        if has_dataset_clause(sparql):
            return [], []  # the query's FROM / FROM NAMED decide
        if self.engine.address.union_default_graph and options.get("use_default_graph_as_union"):
            return [], []
        graphs = self.our_graphs()
        return (graphs if options.get("use_default_graph_as_union") else []), graphs

    def select_outside_dataset(self, sparql: str) -> QuerySolutions:
        """A SELECT over the engine's own dataset, naming its graphs itself (the service's bookkeeping, as the feed)."""
        return self._solutions(sparql, with_dataset=False)

    def _solutions(self, sparql: str, *, with_dataset: bool = True, **options: Any) -> QuerySolutions:
        defaults, named = self.dataset(sparql, options) if with_dataset else ([], [])
        response = self.engine.query(sparql, accept=_ACCEPT_RESULTS, default_graphs=defaults, named_graphs=named,
                                     timeout=self.timeout)
        return _solutions_of(response, self.skolem)

    def query(self, sparql: str, **options: Any) -> QuerySolutions | QueryBoolean | RemoteTriples:
        substitutions = options.pop("substitutions", None)
        base_iri = options.pop("base_iri", None)
        prefixes = options.pop("prefixes", None)
        if substitutions:
            sparql = _with_values(sparql, substitutions, self.skolem)
        sparql = with_prologue(sparql, prefixes or {}, base_iri)  # as pyoxigraph's options would have them
        defaults, named = self.dataset(sparql, options)
        # Only the formats of the query's own form: Virtuoso answers a CONSTRUCT in SPARQL JSON results if it may.
        form = query_form(sparql)
        accept = (_ACCEPT_GRAPH if form in ("CONSTRUCT", "DESCRIBE") else _ACCEPT_RESULTS if form in ("SELECT", "ASK")
                  else f"{_ACCEPT_RESULTS}, {_ACCEPT_GRAPH}")
        response = self.engine.query(sparql, accept=accept, default_graphs=defaults, named_graphs=named,
                                     timeout=self.timeout)
        media_type = _media_type(response)
        if media_type in ("application/sparql-results+json", "application/json"):
            return parse_query_results(self.skolem.results(response.content), format=QueryResultsFormat.JSON)
        if media_type == "application/sparql-results+xml":
            return parse_query_results(response.content, format=QueryResultsFormat.XML)
        rdf_format = _GRAPH_TYPES.get(media_type)
        if rdf_format is None:
            raise EngineError(f"the SPARQL engine answered in {media_type or 'no media type'}, which is neither a results "
                              "format nor an RDF one")
        return RemoteTriples([q.triple for q in parse(self.skolem.graph(response.content), rdf_format)])

    def quads_for_pattern(self, subject: Any, predicate: Any, object: Any, graph_name: Any = None) -> Iterator[Quad]:
        pattern = " ".join("?" + name if term is None else self.skolem.term(term)
                           for name, term in (("s", subject), ("p", predicate), ("o", object)))
        if isinstance(graph_name, DefaultGraph):
            return iter(())  # the service keeps nothing in an engine's own default graph
        graph = "?g" if graph_name is None else self.skolem.term(graph_name)
        rows = self._solutions(f"SELECT * WHERE {{ GRAPH {graph} {{ {pattern} }} }}", use_default_graph_as_union=True)
        fixed = {"s": subject, "p": predicate, "o": object, "g": graph_name}
        return (Quad(*(fixed[n] if fixed[n] is not None else row[n] for n in ("s", "p", "o", "g")))
                for row in rows)

    def named_graphs(self) -> Iterator[NamedNode]:
        return (NamedNode(g) for g in self.our_graphs())

    def contains_named_graph(self, graph: NamedNode | BlankNode) -> bool:
        return str(graph.value) in self.our_graphs()

    def __len__(self) -> int:
        rows = self._solutions("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", use_default_graph_as_union=True)
        count = next(iter(rows))["n"]
        return int(count.value) if isinstance(count, Literal) else 0

    def dump(self, output: IO[bytes], format: RdfFormat = RdfFormat.N_QUADS, **_: Any) -> None:
        """Every graph of the service, one CONSTRUCT per graph, as N-Quads. An N-Triples answer is read as it arrives,
        a batch of lines at a time, so a graph of any size costs the server one batch of memory."""
        for graph in self.our_graphs():
            response = self.engine.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                                         accept=_ACCEPT_GRAPH, timeout=None, stream=True)
            name = NamedNode(graph)
            rdf_format = _GRAPH_TYPES.get(_media_type(response), RdfFormat.N_TRIPLES)
            try:
                batches = (_line_batches(response.iter_lines(chunk_size=CHUNK_BYTES))
                           if rdf_format == RdfFormat.N_TRIPLES else iter([response.content]))
                for batch in batches:
                    quads = (Quad(q.subject, q.predicate, q.object, name)
                             for q in parse(self.skolem.graph(batch), rdf_format))
                    serialize(quads, output, format)
            finally:
                response.close()


#: Lines of an engine's N-Triples answer parsed at a time by a dump.
DUMP_BATCH_LINES = 20000


def _line_batches(lines: Iterator[bytes]) -> Iterator[bytes]:
    """N-Triples lines, DUMP_BATCH_LINES at a time, as one text each (a statement never split between two batches)."""
    size = DUMP_BATCH_LINES
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"


# ---------------------------------------------------------------- the generation


class Generation:
    """The engine's generation counter, read at most once per `ttl` seconds per process.

    A write made through this host also touches `notice` (a file in the local
    state folder), which every process here looks at on each read (a stat):
    a client that writes and then reads, through any worker of this host,
    sees its write at once. Processes on other hosts see it within `ttl`.
    """

    def __init__(self, engine: Engine, metadata_graph: str, predicate: str, *, ttl: float = 1.0,
                 notice: Path | None = None) -> None:
        self.engine = engine
        self.metadata_graph = metadata_graph
        self.predicate = predicate
        self.ttl = ttl
        self.notice = notice
        self._cached: tuple[float, str, Any] | None = None
        self._lock = threading.Lock()

    def _signature(self) -> Any:
        if self.notice is None:
            return None
        try:
            stat = os.stat(self.notice)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def read(self) -> str:
        now = time.monotonic()
        cached = self._cached
        signature = self._signature()
        if cached is not None and now - cached[0] < self.ttl and cached[2] == signature:
            return cached[1]
        with self._lock:
            response = self.engine.query(
                f"SELECT ?n WHERE {{ GRAPH <{self.metadata_graph}> {{ <{self.metadata_graph}> <{self.predicate}> ?n }} }}",
                accept=_ACCEPT_RESULTS)
            numbers = [int(row["n"].value) for row in _solutions_of(response) if isinstance(row["n"], Literal)]
            value = f"{max(numbers, default=0):08d}"  # named as the embedded store names its generations
            self._cached = (time.monotonic(), value, signature)
            return value

    def forget(self) -> None:
        """After a write by this process: every process of this host reads the counter again on its next request."""
        self._cached = None
        if self.notice is not None:
            self.notice.parent.mkdir(parents=True, exist_ok=True)
            fresh = self.notice.with_name(f".{self.notice.name}-{uuid.uuid4().hex}")
            fresh.write_text(str(time.time_ns()))
            os.replace(fresh, self.notice)  # a new inode: a stat tells every reader

    def set_update(self, value: int) -> str:
        """The SPARQL Update that sets the counter to `value` (a restore, which replaces the metadata graph whole)."""
        m, p = self.metadata_graph, self.predicate
        return (f"DELETE WHERE {{ GRAPH <{m}> {{ <{m}> <{p}> ?n }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{m}> {{ <{m}> <{p}> {value} }} }}")

    def statement(self, value: int) -> bytes:
        """The counter at `value`, as an N-Triples line."""
        return (f"<{self.metadata_graph}> <{self.predicate}> "
                f'"{value}"^^<http://www.w3.org/2001/XMLSchema#integer> .\n').encode()

    def bump_update(self) -> str:
        """The SPARQL Update that moves the counter on by one, counted by the engine itself (sent with the write it
        belongs to): two hosts writing at once each move it, and no two writes leave the same number."""
        m, p = self.metadata_graph, self.predicate
        return (f"DELETE {{ GRAPH <{m}> {{ <{m}> <{p}> ?n }} }} INSERT {{ GRAPH <{m}> {{ <{m}> <{p}> ?next }} }} "
                f"WHERE {{ OPTIONAL {{ GRAPH <{m}> {{ <{m}> <{p}> ?n }} }} BIND(COALESCE(?n, 0) + 1 AS ?next) }}")


# ---------------------------------------------------------------- the store


def default_state_path(location: str) -> Path:
    """Where a process keeps its caches of an engine's data (label index, statistics, tokens) by default."""
    from platformdirs import user_cache_dir

    digest = hashlib.sha256(location.encode()).hexdigest()[:16]
    return Path(user_cache_dir("heritage-hubs", appauthor=False)) / f"engine-{digest}"


class RemoteGraphStore(GraphStore):
    """The service's store, kept in a SPARQL engine (see the module's description).

    Reads go to the engine, one reader per generation. Caches derived from the
    data (the label index, the statistics) are kept in a local state directory,
    followed by this host's writes and rebuilt when another host's write moves
    the engine's generation. Writes of whole graphs are validated here and sent
    as one SPARQL Update (graph/remote_writes.py); a whole dataset is restored
    graph by graph (Graph Store PUT) after validation; SPARQL Update through the
    service is refused with a message.
    """

    def __init__(self, location: str, *, base_iri: str = DEFAULT_BASE_IRI, state: str | Path | None = None,
                 validator: ShapesValidator | None = None, feed_policy: FeedPolicy | None = None,
                 timeout: float = 30.0) -> None:
        self.location = location
        self.address = EngineAddress.parse(location)
        self.engine = Engine(self.address, timeout=timeout)
        if state is None:
            state = os.environ.get("HERITAGE_HUBS_ENGINE_STATE") or default_state_path(location)
        super().__init__(Path(state), base_iri=base_iri, validator=validator, feed_policy=feed_policy)
        self.generation_counter = Generation(self.engine, self.namespaces.metadata_graph, self.namespaces.ontology + GENERATION,
                                             notice=self.path / "WRITTEN")
        self._current: tuple[str, RemoteReader] | None = None
        self.skolem = Skolem(self.namespaces.base + ".well-known/genid/bn-")
        self.feed: RemoteFeed = RemoteFeed(self, feed_policy)
        self.lease = EngineLease(self)  # (kept in the engine: every host serves the same feed)
        #: The engine's own bulk loader, for the command line's large writes (graph/engine_loader.py); None: Graph Store.
        self.loader: EngineLoader | None = None

    def reader(self) -> RemoteReader:  # type: ignore[override]
        generation = self.generation
        current = self._current
        if current is None or current[0] != generation:
            current = (generation, RemoteReader(self.engine, self.namespaces.base + "graph/", self.skolem))
            self._current = current
        return current[1]

    @property
    def generation(self) -> str:
        return self.generation_counter.read()

    def is_empty(self) -> bool:
        """No graph of the service described (the metadata graph may hold the generation counter alone, after a
        restore of an empty dump)."""
        return all(g == self.namespaces.metadata_graph for g in self.reader().our_graphs())

    def ensure_entailed(self) -> bool:
        return False  # a dataset comes into an engine whole, its entailed graph with it (see restore)

    def query(self, sparql: str, **options: Any) -> Any:
        """A caller's query (the command line's, say): parsed here first, so that a syntax error is the embedded store's
        on every backend and never reaches the engine; then asked of the engine."""
        parse_here(sparql, query_form(sparql), base_iri=options.get("base_iri"), prefixes=options.get("prefixes"))
        return super().query(sparql, **options)

    def transaction(self, *, validate: bool = True, lock_timeout: float | None = None) -> Any:
        """A write of whole graphs (load, replace, drop), validated here and sent as one SPARQL Update
        (graph/remote_writes.py)."""
        from .remote_writes import remote_transaction

        return remote_transaction(self, validate=validate, lock_timeout=lock_timeout)

    def write_graph(self, sources: Iterable[RdfSource], *, graph: str, replace: bool,
                    provenance: Provenance | None = None) -> bool:
        # (the write's own copy is pulled when touched; the default graph is refused there, with the reason)
        existed = graph != DEFAULT_GRAPH and self.reader().contains_named_graph(NamedNode(graph))
        super().write_graph(sources, graph=graph, replace=replace, provenance=provenance)
        return not existed

    def repair_derived_data(self) -> bool:
        return False  # nothing is written locally before the engine has it

    @contextlib.contextmanager
    def write_lock(self, timeout: float | None = None) -> Iterator[None]:
        """One writer at a time: this host's processes queue on its file lock, hosts on a lease kept in the engine
        (graph/remote_lock.py)."""
        limit = self.lock_timeout if timeout is None else timeout
        started = time.monotonic()
        with self.directory.write_lock(timeout=limit), self.lease.held(max(limit - (time.monotonic() - started), 0.0)):
            yield

    def tokens(self) -> TokenStore:
        """The write tokens, kept in the engine so that every host knows them (graph/remote_tokens.py) — in the state
        folder when the engine's default graph is the union of all its graphs, where queries would see them."""
        if self.address.union_default_graph:
            return super().tokens()
        from .remote_tokens import EngineTokenStore

        return EngineTokenStore(self)

    def update(self, sparql: str, *, graphs: Iterable[str], provenance: Provenance | None = None,
               base_iri: str | None = None, prefixes: dict[str, str] | None = None, any_graph: bool = False) -> None:
        """A SPARQL Update, run here on copies of the graphs it writes and reads (graph/remote_writes.py), then
        committed as every write is. One that may write any graph (`GRAPH ?g` in a template, `CLEAR ALL`) would
        need every graph copied, and is refused with the reason."""
        if any_graph:
            raise EngineError("an update that may write any graph (a GRAPH ?g template, CLEAR/DROP ALL or NAMED) would "
                              "need every graph copied from the SPARQL engine: name the graphs it writes", status=501)
        super().update(sparql, graphs=graphs, provenance=provenance, base_iri=base_iri, prefixes=prefixes)

    def check(self, source: RdfSource, *, graph: str, replace: bool = False) -> list[Violation]:
        from .remote_writes import check

        return check(self, source, graph=graph, replace=replace)

    def validate_all(self) -> list[Violation]:
        """Every check over a copy of the service's graphs read from the engine (its own view of the data may differ:
        Virtuoso answers datatype() of a geo:wktLiteral with its own geometry type)."""
        copy = Store()
        reader = self.reader()
        for graph in reader.our_graphs():
            copy.extend(reader.quads_for_pattern(None, None, None, NamedNode(graph)))
        return self.validator.validate(copy)

    def restore(self, source: RdfSource, *, validate: bool = True, progress: ProgressCallback | None = None) -> int:
        """Replace every graph of the service in the engine with those of a dump (N-Quads or TriG).

        Blank nodes become skolem IRIs (:class:`Skolem`).

        The dump is parsed and (unless told not to) validated here first, so a
        bad dump changes nothing in the engine; then each graph is replaced by
        Graph Store requests (:meth:`Engine.put_graph`: a PUT, and POSTs beyond
        8 MB), graphs the dump lacks are dropped, and the generation moves. An
        engine has no transaction across requests: a failure half-way leaves
        the graphs sent so far in place, and the generation unmoved; running the
        restore again finishes it.
        """
        with tempfile.TemporaryDirectory(prefix="hh-restore-") as folder:
            staging = Store() if _fits_in_memory(source) else Store(folder)
            WriteTransaction(staging, self.namespaces).restore(source, progress=progress)
            if next(iter(staging.quads_for_pattern(None, None, None, DefaultGraph())), None) is not None:
                raise EngineError(f"{source.name}: statements in the default graph cannot be kept in a remote engine; "
                                  "name their graph", status=400)
            if validate:
                violations = [v for v in self.validator.validate(staging) if v.severity == "Violation"]
                if violations:
                    raise ValidationFailed(violations, source=source.name)
            prefix = self.namespaces.base + "graph/"
            _describe_undescribed(staging, self.namespaces.metadata_graph)
            graphs = sorted(str(g.value) for g in staging.named_graphs())
            foreign = [g for g in graphs if not g.startswith(prefix) or g in self.namespaces.engine_bookkeeping_graphs]
            if foreign:
                raise EngineError(f"{source.name}: the graph <{foreign[0]}> is not under {prefix}; the service keeps only its "
                                  "own graphs in an engine", status=400)
            with self.write_lock():
                self.generation_counter.forget()
                # The counter goes on from the engine's, never back to the dump's (caches are keyed by it).
                following = int(self.generation) + 1
                counter = NamedNode(self.generation_counter.predicate)
                old = set(self.reader().every_graph_under_prefix())
                from .engine_loader import sink_for

                sink = sink_for(self)  # Graph Store requests, or the operator's own loader (graph/engine_loader.py)
                for graph in graphs:
                    body = self.skolem.graph_of(staging, graph, leaving_out=counter)
                    if graph == self.namespaces.metadata_graph:
                        # The counter stays where it is until the end (never gone, which would read as 0).
                        body += self.generation_counter.statement(following - 1)
                    sink.replace(graph, body)
                # The feed starts again from the restored dataset (graph/remote_feed.py), streamed through a file.
                derived = list(self.namespaces.derived_graphs)
                with tempfile.TemporaryFile() as members:
                    serialize(self.feed.restart(staging, [g for g in graphs if g not in derived], exclude_graph=derived),
                              members, RdfFormat.N_TRIPLES)
                    members.seek(0)
                    sink.replace(self.feed.graph, members)
                    sink.finish()
                # The metadata graph too when the dump has none (an empty dump): else it would go on describing the
                # graphs just dropped. The counter is set again after the drops.
                gone = sorted(old - set(graphs) - set(self.namespaces.engine_bookkeeping_graphs))
                self.engine.update(" ;\n".join([*(f"DROP SILENT GRAPH <{g}>" for g in gone),
                                                self.generation_counter.set_update(following)]), timeout=WRITE_TIMEOUT)
                self.generation_counter.forget()
            count = len(staging)
            del staging
            return count


#: Bytes of memory a restore holding the dump in memory takes at its peak per byte of N-Quads (measured: 7.7 GB for a
#: 2,045 MB dump of 10M statements; the store alone is 1.1 GB for 560 MB), and the bytes of N-Quads per byte of a
#: gzipped dump (measured: the 1M dump, 560 MB, gzips to 31.6 MB; a dump that compresses less is overestimated and
#: held on disk, never the other way round).
_MEMORY_PER_BYTE = 4
_GZIP_RATIO = 18


def _fits_in_memory(source: RdfSource) -> bool:
    """Whether a restore may hold `source` in memory (HERITAGE_HUBS_RESTORE_MEMORY_MB): a memory store loads,
    validates and writes the graphs out several times faster than one on disk (a 1M-triple dump: 16 s against 30 s
    to load, 1.6 s against 16 s to write its largest graph as N-Triples)."""
    limit = int(os.environ.get("HERITAGE_HUBS_RESTORE_MEMORY_MB") or 4096) * 1024 * 1024
    size = source.size or 0
    return size * (_GZIP_RATIO if source.gzipped else 1) * _MEMORY_PER_BYTE <= limit


def _describe_undescribed(staging: Store, metadata_graph: str) -> None:
    """A graph of a dump that the dump's metadata does not describe gets a description (as if loaded now): over an
    engine the service's graphs are those its metadata graph describes, and the embedded store lists every graph."""
    from datetime import UTC, datetime

    from .provenance import Provenance, read_graph_info, record_change

    described = read_graph_info(staging, metadata_graph)
    now = datetime.now(UTC)
    for name in list(staging.named_graphs()):
        graph = str(name.value)
        if graph != metadata_graph and graph not in described:
            record_change(staging, metadata_graph, graph, Provenance(action="restore"), started=now)


# ---------------------------------------------------------------- the public endpoint's queries


class RemoteExecutor:
    """The `/sparql` endpoint's queries passed on to the engine, under the same limits as the embedded executor.

    The query has passed the safety check (no SERVICE, no LOAD) before it gets
    here. At most `limits.processes` queries per process are at the engine at
    once; each has `limits.timeout_seconds` in all, measured here (the
    connection is closed when it runs out); a result is cut at the job's byte
    limit. A small answer comes back whole, for the result cache.
    """

    def __init__(self, store: RemoteGraphStore, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self._slots = threading.BoundedSemaphore(max(limits.processes, 1))

    def warm_up(self) -> None:
        pass

    def run(self, job: QueryJob) -> QueryStream:
        deadline = time.monotonic() + self.limits.timeout_seconds
        if not self._slots.acquire(timeout=self.limits.timeout_seconds):
            raise QueryFailed(503, "every query slot stayed busy for the whole time limit; try again")
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._slots.release()

        try:
            form = query_form(job.query)
            prefixes = self.store.namespaces.prefixes()
            _check_here(job, form, prefixes)
            # The answer's formats, decided before the query leaves, as the embedded store decides them (406 otherwise).
            if form in ("SELECT", "ASK") and not any(m in RESULTS_BY_MEDIA_TYPE for m in job.solution_formats):
                raise QueryFailed(406, not_acceptable("SELECT and ASK results", job.solution_formats, RESULTS_BY_MEDIA_TYPE))
            if form in ("CONSTRUCT", "DESCRIBE") and not any(m in GRAPHS_BY_MEDIA_TYPE for m in job.graph_formats):
                raise QueryFailed(406, not_acceptable("CONSTRUCT and DESCRIBE results", job.graph_formats,
                                                      GRAPHS_BY_MEDIA_TYPE))
            sent = with_prologue(job.query, prefixes, job.base_iri)
            # Only the formats of the query's own form: Virtuoso answers a CONSTRUCT in SPARQL JSON results if asked.
            graph_form = form in ("CONSTRUCT", "DESCRIBE")
            # A graph is asked of the engine in N-Triples or Turtle, which every engine writes, and written here in any
            # other format the client wants (Virtuoso answers 406 to TriG or N-Quads, whatever else the list holds).
            first = job.graph_formats[0] if job.graph_formats else "application/n-triples"
            accept = ((first if first in _ENGINE_GRAPH_TYPES else "application/n-triples") if graph_form
                      else ", ".join(job.solution_formats) if form
                      else ", ".join([*job.solution_formats, *(f"{m};q=0.9" for m in job.graph_formats)]))
            reader = self.store.reader()
            if job.default_graphs is not None or job.named_graphs is not None:
                defaults, named = list(job.default_graphs or ()), list(job.named_graphs or ())
                asked: list[str | None] = [*defaults, *named]
            else:
                defaults, named = reader.dataset(job.query, {"use_default_graph_as_union": True})
                asked = dataset_clause_graphs(job.query) if has_dataset_clause(job.query) else []
            # The engine may hold graphs that are not the service's (its own system graphs, other data): a dataset the
            # request names may only be made of graphs under the service's prefix (one that holds nothing reads as
            # empty, as on the embedded store), never the service's bookkeeping (tokens, the writers' lease, the feed).
            hidden = set(self.store.namespaces.engine_bookkeeping_graphs)
            strange = [g for g in asked if g is None or not g.startswith(reader.graph_prefix) or g in hidden]
            if strange:
                shown = "a graph named by a relative IRI or an undeclared prefix" if strange[0] is None else f"<{strange[0]}>"
                raise QueryFailed(400, f"the query's dataset names {shown}, which is not a graph of this service "
                                       "(its graphs: GET /.well-known/void)")
            if form == "ASK":
                # Engines write a boolean in CSV and TSV each their own way (Virtuoso: a "bool" column holding 1):
                # asked as JSON and written here, it reads `true` or `false` as on the embedded store.
                try:
                    answered = self.store.engine.query(sent, accept=_ACCEPT_RESULTS, default_graphs=defaults,
                                                       named_graphs=named, timeout=self.limits.timeout_seconds)
                finally:
                    release()
                return _boolean_answer(answered, job, deadline)
            response = self.store.engine.query(sent, accept=accept, default_graphs=defaults, named_graphs=named,
                                               timeout=self.limits.timeout_seconds, stream=True)
        except EngineError as error:
            release()
            raise QueryFailed(error.status, str(error)) from None
        except BaseException:
            release()
            raise
        media_type = _media_type(response, "application/octet-stream")
        if graph_form and media_type not in job.graph_formats and job.graph_formats:
            return _converted(response, media_type, job, deadline, release)
        chunks = response.iter_content(CHUNK_BYTES)
        head: list[bytes] = []
        size, ended = 0, True
        try:
            # An engine sends its answer in pieces of its own size (HTTP chunks): up to one chunk of ours is read before
            # deciding, so that a small answer comes back whole (and can be cached) whatever the engine's pieces.
            for piece in chunks:
                head.append(piece)
                size += len(piece)
                if size >= CHUNK_BYTES:
                    ended = False
                    break
        except requests.RequestException as error:
            response.close()
            release()
            raise QueryFailed(503, f"the SPARQL engine's answer broke off: {type(error).__name__}") from None
        if ended:  # read to the end: the connection goes back to the pool by itself (close() would drop it)
            release()
            if size > job.max_bytes:
                raise QueryFailed(413, f"the result is larger than the limit of {job.max_bytes} bytes")
            return QueryStream(None, None, media_type, deadline, body=b"".join(head))  # type: ignore[arg-type]
        return _RemoteStream(response, media_type, deadline, head, chunks, job.max_bytes, release)

    def close(self) -> None:
        self.store.engine.close()


#: An empty store, to parse a query with before it is sent (pyoxigraph evaluates a SELECT, CONSTRUCT or DESCRIBE only
#: as its answer is read, and the answer of this one is never read).
_PARSER = Store()


def parse_here(sparql: str, form: str | None, *, base_iri: str | None = None, prefixes: dict[str, str] | None = None) -> None:
    """Parse `sparql` with pyoxigraph, as the embedded store would (its SyntaxError, ValueError or RuntimeError), over an
    empty store: an ASK (which pyoxigraph would answer at once) as a SELECT of the same pattern."""
    probe = sparql
    if form == "ASK":
        ask = next(t for t in code_tokens(probe) if is_word(t, "ASK"))
        probe = probe[:ask.start()] + "SELECT (1 AS ?hh_ask_probe)" + probe[ask.end():]
    _PARSER.query(probe, base_iri=base_iri, prefixes=prefixes or None)


def _check_here(job: QueryJob, form: str | None, prefixes: dict[str, str]) -> None:
    """Parse the query here, as the embedded store would, so that a syntax error, an undeclared prefix or an unknown
    function gets the same 400 and message on every backend, before anything is sent. An ASK query (which pyoxigraph
    would answer at once) is parsed as a SELECT of the same pattern."""
    try:
        parse_here(job.query, form, base_iri=job.base_iri, prefixes=prefixes)
    except SyntaxError as error:
        if (prefix := undeclared_prefix(job.query, prefixes)) is not None:
            raise QueryFailed(400, "SPARQL syntax error: " + prefix_message(prefix, prefixes)) from None
        raise QueryFailed(400, "SPARQL syntax error " + where_in_text(str(error))) from None
    except ValueError as error:
        raise QueryFailed(400, f"invalid request: {error}") from None
    except RuntimeError as error:
        raise QueryFailed(400, f"the query cannot be evaluated: {error}") from None


#: Graph formats every engine writes: a graph asked for in another is asked of the engine in N-Triples.
_ENGINE_GRAPH_TYPES = ("application/n-triples", "text/turtle")
#: The largest graph answer written here in another format than the engine's (read whole to be converted).
CONVERTED_BYTES = 16 * 1024 * 1024


def _converted(response: requests.Response, media_type: str, job: QueryJob, deadline: float, release: Any) -> QueryStream:
    """A graph answer in the first format the client asked for, written here from the engine's (at most
    CONVERTED_BYTES of it)."""
    try:
        source = _GRAPH_TYPES.get(media_type)
        target = next((GRAPHS_BY_MEDIA_TYPE[m] for m in job.graph_formats if m in GRAPHS_BY_MEDIA_TYPE), None)
        if source is None or target is None:
            raise QueryFailed(406, f"the SPARQL engine answered in {media_type}, which cannot be written as "
                                   + ", ".join(job.graph_formats))
        body = bytearray()
        for piece in response.iter_content(CHUNK_BYTES):
            body += piece
            if len(body) > CONVERTED_BYTES:
                raise QueryFailed(406, f"a graph answer over {CONVERTED_BYTES:,} bytes is sent only in a format the "
                                       "SPARQL engine writes itself: ask for N-Triples or Turtle")
    except requests.RequestException as error:
        raise QueryFailed(503, f"the SPARQL engine's answer broke off: {type(error).__name__}") from None
    finally:
        response.close()
        release()
    written = serialize(parse(bytes(body), source), None, target) or b""
    if len(written) > job.max_bytes:
        raise QueryFailed(413, f"the result is larger than the limit of {job.max_bytes} bytes")
    return QueryStream(None, None, target.media_type.split(";")[0], deadline, body=written)  # type: ignore[arg-type]


def _boolean_answer(response: requests.Response, job: QueryJob, deadline: float) -> QueryStream:
    answer = parse_query_results(response.content, format=QueryResultsFormat.JSON)
    if not isinstance(answer, QueryBoolean):
        raise QueryFailed(502, "the SPARQL engine answered an ASK query with solutions")
    allowed = [m for m in job.solution_formats if m in RESULTS_BY_MEDIA_TYPE]
    if not allowed:
        raise QueryFailed(406, "an ASK result is served as " + ", ".join(RESULTS_BY_MEDIA_TYPE))
    body = answer.serialize(format=RESULTS_BY_MEDIA_TYPE[allowed[0]]) or b""
    return QueryStream(None, None, allowed[0], deadline, body=body)  # type: ignore[arg-type]


class _RemoteStream(QueryStream):
    def __init__(self, response: requests.Response, media_type: str, deadline: float, head: list[bytes],
                 rest: Iterator[bytes], max_bytes: int, release: Any) -> None:
        super().__init__(None, None, media_type, deadline)  # type: ignore[arg-type]
        self._response = response
        self._head = head
        self._rest = rest
        self._max_bytes = max_bytes
        self._release = release

    def close(self) -> None:
        """Give the slot and the connection back if the answer was never read (reading gives them back at its end)."""
        if not self._started:
            self._started = True
            self._response.close()
            self._release()

    def __iter__(self) -> Iterator[bytes]:
        self._started = True
        sent = 0
        try:
            for chunk in itertools.chain(self._head, self._rest):
                sent += len(chunk)
                if sent > self._max_bytes:
                    raise StreamAborted(f"the result is larger than the limit of {self._max_bytes} bytes")
                if time.monotonic() > self.deadline:
                    raise StreamAborted("the query took longer than the time limit and was stopped")
                yield chunk
        except requests.RequestException as error:
            raise StreamAborted(f"the SPARQL engine's answer broke off: {type(error).__name__}") from None
        finally:
            self._response.close()
            self._release()
