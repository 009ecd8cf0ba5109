"""Spreadsheet import: CSV rows turned into RDF through a declared mapping.

A mapping is a small TOML file that museum staff can read and edit (see
`examples/museum/mapping.toml` and the README, "Importing a spreadsheet"):

    subject = "asset/museo-esempio-{inventory}"   # IRI template under {base}id/, column values in braces
    types = ["hh:TangibleAsset"]                  # classes every row's subject gets

    [constants]                                   # statements every row gets
    "hh:keptBy" = "hub:polo-del-900"

    [columns.title_it]                            # one table per column used
    property = "rdfs:label"
    language = "it"                               # a language-tagged label

    [columns.function]
    property = "hh:originalFunction"
    lookup = "scheme:original-functions"          # a SKOS concept, found by any of its labels, any language

    [columns.made]
    property = "dct:created"
    date = "%d/%m/%Y"                             # parsed, written as xsd:date

    [columns.partner]
    property = "hh:keptBy"
    iri = "institution/{value}"                   # the cell names a thing by its slug

    [columns.notes]
    ignore = true

Other keys of a column: `datatype` ("xsd:integer" …) and `separator` (several
values in one cell). Every column of the file must be mapped or ignored, so a
renamed column is an error rather than silently lost data. Names use the
service's prefixes (hh:, rdfs:, skos:, dct:, crm:, hub:, inst:, concept: …) or
full IRIs.

Errors name the row (the spreadsheet's row number: the header is row 1) and
the column. Conversion returns the triples and the rows each subject came
from, so SHACL violations found when loading can be reported by row too.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyoxigraph import Literal, NamedNode, RdfFormat, Store, Triple

from .authorities import AUTHORITIES
from .errors import GraphError
from .iris import Namespaces, is_absolute_iri, valid_iri
from .labels import fold
from .sparql_text import too_deep

SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_NT = RdfFormat.N_TRIPLES
_COLUMN_KEYS = {"property", "language", "lookup", "date", "iri", "authority", "datatype", "separator", "ignore"}
#: What an authority column fills when it names no property.
SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"


class MappingError(GraphError):
    """The mapping file itself is wrong."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        return f"row {self.row}" + (f", column {self.column!r}" if self.column else "") + f": {self.message}"


class ImportFailed(GraphError):
    """Rows that could not be converted or would not validate; nothing was loaded."""

    def __init__(self, errors: list[RowError], source: str) -> None:
        self.errors = errors
        self.source = source
        shown = "; ".join(str(e) for e in errors[:5]) + (f"; … {len(errors) - 5} more" if len(errors) > 5 else "")
        super().__init__(f"{source}: {len(errors)} bad row{'s' if len(errors) != 1 else ''}: {shown}")


@dataclass(frozen=True)
class Column:
    name: str
    property: str | None = None
    language: str | None = None
    lookup: str | None = None
    date: str | None = None
    iri: str | None = None
    authority: str | None = None
    datatype: str | None = None
    separator: str | None = None
    ignore: bool = False


@dataclass(frozen=True)
class Mapping:
    subject: str
    types: tuple[str, ...]
    constants: tuple[tuple[str, str], ...]
    columns: dict[str, Column]

    @classmethod
    def from_toml(cls, text: str, namespaces: Namespaces, *, source: str = "mapping") -> Mapping:
        if (deep := too_deep(text)) is not None:
            raise MappingError(f"{source}: the mapping {deep}")
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as error:
            raise MappingError(f"{source}: {error}") from None
        expand = _expander(namespaces, source)
        subject = data.get("subject")
        if not isinstance(subject, str) or not _PLACEHOLDER.search(subject):
            raise MappingError(f"{source}: 'subject' must be an IRI template with at least one {{column}}")
        columns: dict[str, Column] = {}
        for name, spec in (data.get("columns") or {}).items():
            if not isinstance(spec, dict) or set(spec) - _COLUMN_KEYS:
                raise MappingError(f"{source}: columns.{name}: unknown keys {sorted(set(spec) - _COLUMN_KEYS)}; "
                                   f"use {', '.join(sorted(_COLUMN_KEYS))}")
            if not spec.get("ignore") and "property" not in spec and "authority" not in spec:
                raise MappingError(f"{source}: columns.{name} needs a 'property' (or 'ignore = true')")
            if sum(1 for k in ("language", "lookup", "date", "iri", "authority", "datatype") if k in spec) > 1:
                raise MappingError(f"{source}: columns.{name}: use one of language, lookup, date, iri, authority, datatype")
            if "authority" in spec and spec["authority"] not in AUTHORITIES:
                raise MappingError(f"{source}: columns.{name}: unknown authority {spec['authority']!r}; "
                                   f"known: {', '.join(sorted(AUTHORITIES))}")
            prop = expand(spec["property"]) if "property" in spec else (SAME_AS if "authority" in spec else None)
            columns[name] = Column(
                name=name, property=prop, language=spec.get("language"), authority=spec.get("authority"),
                lookup=expand(spec["lookup"]) if "lookup" in spec else None, date=spec.get("date"), iri=spec.get("iri"),
                datatype=expand(spec["datatype"]) if "datatype" in spec else None, separator=spec.get("separator"),
                ignore=bool(spec.get("ignore", False)))
        for placeholder in _PLACEHOLDER.findall(subject):
            if placeholder not in columns:
                raise MappingError(f"{source}: the subject template uses {{{placeholder}}}, which is not a mapped column")
        constants = tuple((expand(p), expand(v)) for p, v in (data.get("constants") or {}).items())
        return cls(subject, tuple(expand(t) for t in data.get("types") or ()), constants, columns)


def _expander(namespaces: Namespaces, source: str) -> Any:
    prefixes = namespaces.prefixes()

    def expand(name: str) -> str:
        if not isinstance(name, str):
            raise MappingError(f"{source}: expected a name, got {name!r}")
        if is_absolute_iri(name):
            expanded = name
        else:
            prefix, colon, local = name.partition(":")
            if not colon or prefix not in prefixes:
                raise MappingError(f"{source}: unknown prefix in {name!r}; known: {', '.join(sorted(prefixes))}")
            expanded = prefixes[prefix] + local
        if not valid_iri(expanded):
            raise MappingError(f"{source}: {name!r} is not a valid IRI")
        return expanded

    return expand


def slug(value: str) -> str:
    """A stable lower-case ASCII slug: accents dropped, other characters as '-'."""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


@dataclass
class Conversion:
    triples: list[Triple] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_of: dict[str, list[int]] = field(default_factory=dict)  # subject IRI -> row numbers
    rows: int = 0

    def ntriples(self, skip_rows: Iterable[int] = ()) -> bytes:
        skipped = set(skip_rows)
        bad_subjects = {s for s, rows in self.rows_of.items() if skipped & set(rows)}
        return "".join(f"{t.subject} {t.predicate} {t.object} .\n" for t in self.triples
                       if t.subject.value not in bad_subjects).encode()  # type: ignore[union-attr]


def convert(text: str, mapping: Mapping, namespaces: Namespaces, store: Store, *, delimiter: str | None = None) -> Conversion:
    """Rows of CSV `text` as triples, with every problem reported by row and column."""
    sample = text[:4096]
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        return _convert_rows(reader, mapping, namespaces, store)
    except csv.Error as error:  # a cell over the csv module's size limit, a broken quote
        raise MappingError(f"CSV line {reader.line_num}: {error}") from None


def _convert_rows(reader: csv.DictReader[str], mapping: Mapping, namespaces: Namespaces, store: Store) -> Conversion:
    result = Conversion()
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in mapping.columns]
    if unknown:
        result.errors.append(RowError(1, None, f"columns not in the mapping: {', '.join(unknown)} "
                                                "(map them, or add them with 'ignore = true')"))
        return result
    missing = [c for c in mapping.columns if c not in header]
    if missing:
        result.errors.append(RowError(1, None, f"columns the mapping needs are missing: {', '.join(missing)}"))
        return result
    lookups = {c.lookup: _concepts(store, c.lookup) for c in mapping.columns.values() if c.lookup}
    base = namespaces.base + "id/"
    for number, row in enumerate(reader, start=2):
        result.rows += 1
        if None in row:
            extra = row[None]
            result.errors.append(RowError(number, None, f"{len(extra)} more cells than the header has columns"))
            continue
        try:
            subject = NamedNode(base + _PLACEHOLDER.sub(lambda m, cells=row: _slug_of(cells, m.group(1)), mapping.subject))  # type: ignore[misc]
        except ValueError as error:
            result.errors.append(RowError(number, str(error), "the subject needs this cell, and it is empty"))
            continue
        triples = [Triple(subject, RDF_TYPE, NamedNode(t)) for t in mapping.types]
        triples += [Triple(subject, NamedNode(p), NamedNode(v)) for p, v in mapping.constants]
        row_errors = []
        for column in mapping.columns.values():
            cell = (row.get(column.name) or "").strip()
            if column.ignore or not cell or column.property is None:
                continue
            values = [v.strip() for v in cell.split(column.separator)] if column.separator else [cell]
            for value in filter(None, values):
                try:
                    triples.append(Triple(subject, NamedNode(column.property), _object(value, column, lookups, base)))
                except ValueError as error:
                    row_errors.append(RowError(number, column.name, str(error)))
        if row_errors:
            result.errors.extend(row_errors)
            continue
        result.triples.extend(triples)
        result.rows_of.setdefault(subject.value, []).append(number)
    return result


def _slug_of(row: dict[str, str], column: str) -> str:
    value = slug(row.get(column) or "")
    if not value:
        raise ValueError(column)
    return value


def _object(value: str, column: Column, lookups: dict[str, dict[str, str]], base: str) -> NamedNode | Literal:
    if column.lookup:
        found = lookups[column.lookup].get(fold(value))
        if found is None:
            raise ValueError(f"no concept labelled {value!r} in <{column.lookup}>")
        return NamedNode(found)
    if column.authority:
        return NamedNode(AUTHORITIES[column.authority].iri(value))  # ValueError: not that authority's syntax
    if column.iri:
        target = column.iri.replace("{value}", slug(value))
        return NamedNode(target if target.startswith(("http://", "https://")) else base + target)
    if column.date:
        try:
            parsed = datetime.strptime(value, column.date)
        except ValueError:
            raise ValueError(f"{value!r} is not a date in the form {column.date}") from None
        return Literal(parsed.date().isoformat(), datatype=NamedNode(XSD + "date"))
    if column.datatype:
        if column.datatype == XSD + "integer" and not re.fullmatch(r"[+-]?\d+", value):
            raise ValueError(f"{value!r} is not an integer")
        if column.datatype in (XSD + "decimal", XSD + "double") and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
            raise ValueError(f"{value!r} is not a number")
        return Literal(value, datatype=NamedNode(column.datatype))
    if column.language:
        return Literal(value, language=column.language)
    return Literal(value)


def _concepts(store: Store, scheme: str) -> dict[str, str]:
    """Folded label -> concept, for every label of every concept in `scheme` (read by lookups: no query text is composed)."""
    found: dict[str, str] = {}
    in_scheme, labels = NamedNode(SKOS + "inScheme"), (NamedNode(SKOS + "prefLabel"), NamedNode(SKOS + "altLabel"))
    concepts = sorted({q.subject.value for q in store.quads_for_pattern(None, in_scheme, NamedNode(scheme), None)
                       if isinstance(q.subject, NamedNode)})
    for concept in concepts:
        for predicate in labels:
            for quad in store.quads_for_pattern(NamedNode(concept), predicate, None, None):
                if isinstance(quad.object, Literal):
                    found.setdefault(fold(quad.object.value), concept)
    if not found:
        raise MappingError(f"the lookup scheme <{scheme}> has no concepts with labels in the store")
    return found


@dataclass(frozen=True)
class ImportReport:
    graph: str
    rows: int
    imported_rows: int
    triples: int
    skipped: tuple[RowError, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"graph": self.graph, "rows": self.rows, "importedRows": self.imported_rows, "triples": self.triples,
                "skipped": [e.as_dict() for e in self.skipped]}


def import_csv(store: Any, text: str, mapping: Mapping, *, graph: str, source: str, replace: bool = False,
               skip_bad_rows: bool = False, provenance: Any = None) -> ImportReport:
    """Convert, validate and load in one commit; with any bad row nothing changes unless `skip_bad_rows`.

    `store` is a :class:`~heritage_hubs.graph.store.GraphStore`. Rows that fail
    conversion or SHACL validation are reported by row number; with
    `skip_bad_rows` they are left out and the rest is loaded.
    """
    from .errors import ValidationFailed
    from .store import RdfSource

    conversion = convert(text, mapping, store.namespaces, store.reader())
    if conversion.errors and (not skip_bad_rows or any(e.row == 1 for e in conversion.errors)):
        raise ImportFailed(conversion.errors, source)
    skipped = list(conversion.errors)
    excluded: set[int] = set()
    for _attempt in range(2):
        if not set(row for rows in conversion.rows_of.values() for row in rows) - excluded:
            raise ImportFailed(skipped or [RowError(1, None, "the file has no rows")], source)  # nothing good left to load
        data = conversion.ntriples(excluded)
        try:
            with store.transaction() as tx:
                tx.load(RdfSource.from_bytes(data, _NT, name=source), graph=graph, replace=replace, provenance=provenance)
            break
        except ValidationFailed as failure:
            invalid = [RowError(row, None, f"{_short(v.path)}: {v.message}" if v.path else v.message)
                       for v in failure.violations for row in conversion.rows_of.get(v.focus_node.strip("<>"), [])]
            unplaced = [v for v in failure.violations if v.focus_node.strip("<>") not in conversion.rows_of]
            if not skip_bad_rows or unplaced or not invalid:
                raise ImportFailed(invalid + [RowError(0, None, str(v)) for v in unplaced], source) from None
            skipped += invalid
            excluded |= {e.row for e in invalid}
    else:
        raise ImportFailed(skipped, source)
    imported = {row for rows in conversion.rows_of.values() for row in rows} - excluded
    return ImportReport(graph, conversion.rows, len(imported), data.count(b"\n"), tuple(sorted(skipped, key=lambda e: e.row)))


def _short(path: str) -> str:
    return path.strip("<>").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
