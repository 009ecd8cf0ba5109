"""The named queries shipped in queries/: .rq files with their metadata in leading comments.

A file starts with comment lines::

    # summary: Hubs in a city or country
    # description: Every hub based in a place, or in a place within it.
    # tags: hubs, places
    # param: place iri optional — the city or country (IRI)
    # param: lang string default=en values=en,it,es — language of the labels
    # param: theme concept scheme=themes optional — a theme from the themes scheme
    # pagination: 50

and the first line that is not such a comment starts the query. Parameter
types: ``iri``, ``string``, ``langstring`` (``text@lang``), ``integer``,
``date``, ``concept`` (a SKOS concept of ``scheme``, by IRI or slug).

Parameters are never pasted into the query as text: each is checked against
its type and written as an RDF term (an IRI without any of the characters
that could end it, an escaped literal, a canonical integer or date), then
bound to the variable of the same name by a ``VALUES`` block that opens the
WHERE group, so every pattern and filter sees it and it can only ever be a
value. (pyoxigraph's ``substitutions`` would do the same but only for
projected variables, and our parameters are often filter-only.) A value that
is not a valid term of its type is refused with a message. Pagination
appends ``LIMIT``/``OFFSET`` built from validated integers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .iris import DEFAULT_BASE_IRI
from .sparql_text import where_group_start

_META = re.compile(r"^#\s*([a-z][a-z-]*):\s*(.*)$")
_IRI_FORBIDDEN = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
TYPES = ("iri", "string", "langstring", "integer", "date", "concept")
XSD = "http://www.w3.org/2001/XMLSchema#"


class ParameterError(ValueError):
    """A parameter value that is not a valid term of its declared type."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str = ""
    optional: bool = False
    default: str | None = None
    values: tuple[str, ...] = ()
    scheme: str | None = None

    def term(self, raw: str, base_iri: str = DEFAULT_BASE_IRI) -> str:
        """The value as an N-Triples term, or ParameterError."""
        if self.values and raw not in self.values:
            raise ParameterError(f"{self.name} must be one of {', '.join(self.values)}; got {raw!r}")
        if self.type in ("iri", "concept"):
            value = raw
            if self.type == "concept" and not value.startswith(("http://", "https://")):
                if not re.fullmatch(r"[a-z0-9-]+", value):
                    raise ParameterError(f"{self.name} must be a concept IRI or slug (a-z, 0-9, -); got {raw!r}")
                value = f"{base_iri}id/concept/{value}"
            if _IRI_FORBIDDEN.search(value) or not _IRI.match(value):
                raise ParameterError(f"{self.name} must be an absolute IRI without spaces or <>\"{{}}|^`\\; got {raw!r}")
            return f"<{value}>"
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?\d{1,18}", raw):
                raise ParameterError(f"{self.name} must be an integer; got {raw!r}")
            return f'"{int(raw)}"^^<{XSD}integer>'
        if self.type == "date":
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                raise ParameterError(f"{self.name} must be a date (YYYY-MM-DD); got {raw!r}") from None
            return f'"{raw}"^^<{XSD}date>'
        if self.type == "langstring":
            text, sep, lang = raw.rpartition("@")
            if not sep or not _LANG.match(lang):
                raise ParameterError(f"{self.name} must be text@lang (for example Torino@it); got {raw!r}")
            return _literal(text) + "@" + lang.lower()
        return _literal(raw)


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    description: str
    query: str
    tags: tuple[str, ...] = field(default_factory=tuple)
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    page_size: int | None = None

    @property
    def form(self) -> str:
        """SELECT, ASK, CONSTRUCT or DESCRIBE (the first query keyword)."""
        body = re.sub(r"(?im)^\s*(PREFIX|BASE)\b[^\n]*$", "", self.query)
        found = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", body, re.I)
        return found.group(1).upper() if found else "SELECT"

    def bind(self, given: dict[str, str], base_iri: str = DEFAULT_BASE_IRI) -> dict[str, str]:
        """Variable name -> N-Triples term, from the given raw values and defaults."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; this query takes: "
                                 + (", ".join(known) or "none"))
        bound = {}
        for parameter in self.parameters:
            raw = given.get(parameter.name, parameter.default)
            if raw is None or raw == "":
                if not parameter.optional:
                    raise ParameterError(f"the parameter {parameter.name} ({parameter.type}) is required")
                continue
            bound[parameter.name] = parameter.term(raw, base_iri)
        return bound

    def concept_checks(self, bound: dict[str, str], base_iri: str = DEFAULT_BASE_IRI) -> list[tuple[str, str, str]]:
        """(parameter, concept IRI, scheme IRI) for each bound concept that must belong to a scheme."""
        checks = []
        for parameter in self.parameters:
            if parameter.type == "concept" and parameter.scheme and parameter.name in bound:
                scheme = parameter.scheme if ":" in parameter.scheme else f"{base_iri}id/scheme/{parameter.scheme}"
                checks.append((parameter.name, bound[parameter.name].strip("<>"), scheme))
        return checks

    def text(self, bound: dict[str, str], page: tuple[int, int] | None = None) -> str:
        """The query with its parameters bound (a VALUES block) and, for a page, LIMIT/OFFSET.

        `bound` comes from :meth:`bind`: variable names from the query file,
        terms validated and written by :meth:`Parameter.term`.
        """
        query = self.query
        if bound:
            at = where_group_start(query)
            assert at is not None  # checked when the file was read
            names = sorted(bound)
            block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({' '.join(bound[n] for n in names)}) }} "
            query = query[:at] + block + query[at:]
        if page is not None:
            number, size = int(page[0]), int(page[1])
            query = f"{query.rstrip()}\nLIMIT {size + 1}\nOFFSET {(number - 1) * size}\n"
        return query


def _parameter(spec: str, where: str) -> Parameter:
    text, _, description = spec.partition("—")
    if not description:
        text, _, description = spec.partition(" - ")
    words = text.split()
    if len(words) < 2 or words[1] not in TYPES:
        raise ValueError(f"{where}: '# param:' needs a name and a type ({', '.join(TYPES)}): {spec!r}")
    options = {"optional": False}
    values: dict[str, str] = {}
    for word in words[2:]:
        if word == "optional":
            options["optional"] = True
        elif "=" in word:
            key, _, value = word.partition("=")
            values[key] = value
        else:
            raise ValueError(f"{where}: unknown parameter option {word!r}")
    return Parameter(
        name=words[0], type=words[1], description=description.strip(), optional=options["optional"],
        default=values.get("default"), values=tuple(v for v in values.get("values", "").split(",") if v),
        scheme=values.get("scheme"),
    )


def parse_named_query(name: str, text: str) -> NamedQuery:
    meta: dict[str, str] = {}
    parameters: list[Parameter] = []
    lines = text.splitlines()
    body_start = 0
    for index, line in enumerate(lines):
        match = _META.match(line)
        if match:
            key, value = match.groups()
            if key == "param":
                parameters.append(_parameter(value, f"{name}.rq:{index + 1}"))
            else:
                meta[key] = (meta[key] + " " + value).strip() if key in meta else value.strip()
            body_start = index + 1
        elif line.startswith("#") or not line.strip():
            body_start = index + 1
        else:
            break
    if "summary" not in meta:
        raise ValueError(f"{name}.rq: the leading comments need a '# summary:' line")
    query = "\n".join(lines[body_start:]).strip() + "\n"
    for parameter in parameters:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parameter.name):
            raise ValueError(f"{name}.rq: parameter name {parameter.name!r} is not a SPARQL variable name")
        if not re.search(rf"[?$]{re.escape(parameter.name)}\b", query):
            raise ValueError(f"{name}.rq: parameter {parameter.name} is not a variable of the query")
    if parameters and where_group_start(query) is None:
        raise ValueError(f"{name}.rq: a query with parameters needs an explicit 'WHERE {{'")
    return NamedQuery(
        name=name,
        summary=meta["summary"],
        description=meta.get("description", ""),
        query=query,
        tags=tuple(t.strip() for t in meta.get("tags", "").split(",") if t.strip()),
        parameters=tuple(parameters),
        page_size=int(meta["pagination"]) if "pagination" in meta else None,
    )


def queries_dir() -> Path:
    return Path(str(resources.files("heritage_hubs.queries")))


def named_queries() -> list[NamedQuery]:
    return [parse_named_query(path.stem, path.read_text(encoding="utf-8")) for path in sorted(queries_dir().glob("*.rq"))]


def named_query(name: str) -> NamedQuery | None:
    if not re.fullmatch(r"[a-z0-9-]+", name):
        return None
    path = queries_dir() / f"{name}.rq"
    return parse_named_query(name, path.read_text(encoding="utf-8")) if path.is_file() else None


def example_queries() -> list[NamedQuery]:
    """The queries offered as examples in the editor."""
    return named_queries()
