"""RDF formats: one lookup from file names and media types to pyoxigraph's RdfFormat."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import QueryResultsFormat, RdfFormat

from .errors import UnknownFormatError

#: Formats we read and write, in the order we offer them.
SUPPORTED: tuple[RdfFormat, ...] = (
    RdfFormat.TURTLE,
    RdfFormat.TRIG,
    RdfFormat.N_TRIPLES,
    RdfFormat.N_QUADS,
    RdfFormat.JSON_LD,
    RdfFormat.RDF_XML,
)

#: What a query's answer is written in, by bare media type: SELECT and ASK results, and CONSTRUCT and DESCRIBE graphs.
RESULTS_BY_MEDIA_TYPE: dict[str, QueryResultsFormat] = {
    f.media_type.split(";")[0]: f
    for f in (QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV, QueryResultsFormat.TSV)}
GRAPHS_BY_MEDIA_TYPE: dict[str, RdfFormat] = {
    f.media_type.split(";")[0]: f
    for f in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.TRIG, RdfFormat.N_QUADS)}

_EXTRA_EXTENSIONS = {"json": RdfFormat.JSON_LD, "owl": RdfFormat.RDF_XML, "xml": RdfFormat.RDF_XML, "n3": RdfFormat.TURTLE}

_NAMES = {
    "turtle": RdfFormat.TURTLE, "ttl": RdfFormat.TURTLE,
    "trig": RdfFormat.TRIG,
    "ntriples": RdfFormat.N_TRIPLES, "n-triples": RdfFormat.N_TRIPLES, "nt": RdfFormat.N_TRIPLES,
    "nquads": RdfFormat.N_QUADS, "n-quads": RdfFormat.N_QUADS, "nq": RdfFormat.N_QUADS,
    "json-ld": RdfFormat.JSON_LD, "jsonld": RdfFormat.JSON_LD,
    "rdf/xml": RdfFormat.RDF_XML, "rdfxml": RdfFormat.RDF_XML, "xml": RdfFormat.RDF_XML, "rdf": RdfFormat.RDF_XML,
}


def strip_compression(path: Path) -> tuple[Path, bool]:
    """(the name without .gz, whether it was gzipped)."""
    if path.suffix == ".gz":
        return path.with_suffix(""), True
    return path, False


def format_for_path(path: Path) -> RdfFormat:
    """The RDF format of a file, from its extension (``.gz`` is looked through)."""
    plain, _ = strip_compression(path)
    ext = plain.suffix.lstrip(".").lower()
    fmt = RdfFormat.from_extension(ext) if ext else None
    fmt = fmt or _EXTRA_EXTENSIONS.get(ext)
    if fmt is None or fmt not in SUPPORTED:
        raise UnknownFormatError(
            f"{path}: cannot tell the RDF format from the extension {plain.suffix or '(none)'}; "
            "use .ttl .trig .nt .nq .jsonld .rdf (optionally .gz) or give --format"
        )
    return fmt


def format_by_name(name: str) -> RdfFormat:
    """A format from a user-facing name (``turtle``, ``nq``) or a media type."""
    key = name.strip().lower()
    fmt = _NAMES.get(key) or RdfFormat.from_media_type(key)
    if fmt is None or fmt not in SUPPORTED:
        known = ", ".join(sorted({"turtle", "trig", "ntriples", "nquads", "json-ld", "rdfxml"}))
        raise UnknownFormatError(f"unknown RDF format {name!r}; known: {known}")
    return fmt
