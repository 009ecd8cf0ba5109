"""The `heritage-hubs` command: serve, load, validate, query, dump, restore, graphs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import click
from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat

from . import __version__
from .config import Settings, default_store_path
from .graph import GraphError, GraphStore, Namespaces, Provenance, RdfSource, ValidationFailed
from .graph.formats import format_by_name
from .graph.iris import is_absolute_iri
from .graph.store import open_store, store_location

_MAX_VIOLATIONS_SHOWN = 20


def _fail(message: str) -> NoReturn:
    click.echo(f"heritage-hubs: error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _reported() -> Iterator[None]:
    """Turn graph-layer errors into one line on stderr and exit status 1."""
    try:
        yield
    except ValidationFailed as error:
        click.echo(f"heritage-hubs: error: {error}", err=True)
        for violation in error.violations[:_MAX_VIOLATIONS_SHOWN]:
            click.echo(f"  {violation.describe()}", err=True)
        if len(error.violations) > _MAX_VIOLATIONS_SHOWN:
            click.echo(f"  … {len(error.violations) - _MAX_VIOLATIONS_SHOWN} more", err=True)
        sys.exit(1)
    except GraphError as error:
        _fail(str(error))
    except SyntaxError as error:  # SPARQL syntax errors from pyoxigraph
        _fail(f"SPARQL syntax error: {error}")


class _Context:
    def __init__(self, store_path: Path | str, base_iri: str) -> None:
        self.store_path = store_path
        self.base_iri = base_iri

    def store(self) -> GraphStore:
        return open_store(self.store_path, base_iri=self.base_iri)

    def graph_iri(self, name: str) -> str:
        if is_absolute_iri(name):
            return name
        try:
            return Namespaces(self.base_iri).graph(name)
        except ValueError as error:
            _fail(str(error))


def _engine_loader_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--engine-loader` and `--loader-dir`: a SPARQL engine's own bulk loader in place of Graph Store requests."""
    command = click.option("--loader-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
                           help="Folder for --engine-loader's N-Quads file; one the engine may read (Virtuoso's "
                                "DirsAllowed). Default: the system's temporary folder.")(command)
    return click.option("--engine-loader", metavar="COMMAND",
                        help="Over a SPARQL engine: write the validated data to one N-Quads file and run COMMAND on it "
                             "(the engine's own bulk loader; {file}, {dir} and {name} are replaced by the file's path, "
                             "folder and name) instead of sending it by Graph Store requests.")(command)


def _with_loader(store: GraphStore, command: str | None, folder: Path | None) -> None:
    """The operator's loader set on an engine store (graph/engine_loader.py); refused for the embedded store."""
    if command is None:
        if folder is not None:
            _fail("--loader-dir goes with --engine-loader")
        return
    from .graph.engine_loader import EngineLoader
    from .graph.remote import RemoteGraphStore

    if not isinstance(store, RemoteGraphStore):
        _fail("--engine-loader is for a store kept in a SPARQL engine (--store sparql+http://…); the embedded store "
              "loads in bulk itself")
    try:
        store.loader = EngineLoader(command, folder)
    except ValueError as error:
        _fail(str(error))


@contextmanager
def _progress(total: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal (tqdm disables itself elsewhere)."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=None, leave=False, file=sys.stderr)
    try:
        yield bar.update if not bar.disable else None
    finally:
        bar.close()


class _StoreLocation(click.ParamType[Path | str]):
    name = "DIRECTORY|ENGINE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path | str:
        location = store_location(value)
        if isinstance(location, Path) and location.exists() and not location.is_dir():
            self.fail(f"{location} is a file; the store is a directory", param, ctx)
        if isinstance(location, str):
            from .graph.remote import EngineAddress

            try:
                EngineAddress.parse(location)
            except ValueError as error:
                self.fail(str(error), param, ctx)
        return location


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="heritage-hubs")
@click.option(
    "--store", "store_path", type=_StoreLocation(), envvar="HERITAGE_HUBS_STORE",
    default=default_store_path, show_default="per-user data directory",
    help="Store directory, or a SPARQL engine: sparql+http://host:port/path?update=…&store=… "
         "[env: HERITAGE_HUBS_STORE].",
)
@click.option(
    "--base-iri", envvar="HERITAGE_HUBS_BASE_IRI", default=lambda: Settings().base_iri, show_default=True,
    help="Canonical base IRI [env: HERITAGE_HUBS_BASE_IRI].",
)
@click.pass_context
def main(ctx: click.Context, store_path: Path | str, base_iri: str) -> None:
    """A linked-open-data knowledge graph of heritage hubs.

    The store is a directory (pyoxigraph on disk), or a SPARQL engine you run
    (sparql+http://…; see the README, "In front of a SPARQL engine"). Every load is validated
    against the SHACL shapes and is all-or-nothing.
    """
    ctx.obj = _Context(store_path, base_iri)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--graph", "graph_name", required=True, help="Target graph: a name (core, institution/museo-x) or an IRI.")
@click.option("--replace", is_flag=True, help="Replace the graph's content instead of adding to it (atomic swap).")
@click.option("--format", "format_name", help="RDF format when the extension does not tell (turtle, trig, nt, nq, json-ld, rdfxml).")
@click.option("--title", help="Title of the graph, for its provenance record.")
@click.option("--publisher", help="Publisher (IRI or name), for the provenance record.")
@click.option("--license", "license_", help="Licence IRI, for the provenance record.")
@click.option("--source", help="Where the data comes from (IRI or name); defaults to the file name.")
@_engine_loader_options
@click.pass_obj
def load(obj: _Context, files: tuple[Path, ...], graph_name: str, replace: bool, format_name: str | None,
         title: str | None, publisher: str | None, license_: str | None, source: str | None,
         engine_loader: str | None, loader_dir: Path | None) -> None:
    """Load RDF FILES into one named graph, validated, all-or-nothing.

    Turtle, TriG, N-Triples, N-Quads, JSON-LD and RDF/XML, optionally gzipped.
    If any file fails to parse or the result breaks a SHACL shape, the store
    is left exactly as it was and the error names the file and line, or the
    focus node and path.
    """
    with _reported():
        fmt = format_by_name(format_name) if format_name else None
        sources = [RdfSource.from_path(path, fmt) for path in files]
        store = obj.store()
        _with_loader(store, engine_loader, loader_dir)
        graph = obj.graph_iri(graph_name)
        total = sum(s.size or 0 for s in sources)
        with _progress(total, "loading") as progress, store.transaction() as tx:
            for index, rdf in enumerate(sources):
                tx.load(
                    rdf, graph=graph, replace=replace and index == 0, progress=progress,
                    provenance=Provenance(title=title, publisher=publisher, license=license_,
                                          sources=(source or (rdf.path.name if rdf.path else rdf.name),),
                                          action="replace" if replace else "load"),
                )
        info = store.graph_info(graph)
        click.echo(f"loaded {len(sources)} file(s) into {graph}: {info.triples} triples in the graph")


@main.command("import-csv")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The mapping file (TOML): subject template, types, and what each column becomes.")
@click.option("--graph", "graph_name", required=True, help="Target graph: a name (institution/museo-x) or an IRI.")
@click.option("--replace", is_flag=True, help="Replace the graph's content instead of adding to it.")
@click.option("--skip-bad-rows", is_flag=True, help="Load the good rows and report the bad ones (default: any bad row loads nothing).")
@click.option("--delimiter", help="Cell delimiter (default: guessed among , ; and tab).")
@click.pass_obj
def import_csv_command(obj: _Context, file: Path, mapping_path: Path, graph_name: str, replace: bool, skip_bad_rows: bool,
                       delimiter: str | None) -> None:
    """Turn the rows of a CSV FILE into RDF through a mapping, validate, and load them into one graph.

    Bad rows are reported by row number (the header is row 1) and column. If
    any row is bad, nothing is loaded unless --skip-bad-rows is given.
    """
    from .graph.tabular import ImportFailed, Mapping, import_csv

    with _reported():
        store = obj.store()
        mapping = Mapping.from_toml(mapping_path.read_text(encoding="utf-8"), store.namespaces, source=str(mapping_path))
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            _fail(f"{file}: not UTF-8 (byte {error.start}); export the spreadsheet as CSV UTF-8")
        try:
            report = import_csv(store, text, mapping, graph=obj.graph_iri(graph_name), source=file.name, replace=replace,
                                skip_bad_rows=skip_bad_rows, provenance=Provenance(sources=(file.name,), action="import-csv"))
        except ImportFailed as failure:
            for bad in failure.errors:
                click.echo(f"{file}:{bad.row}: " + (f"column {bad.column!r}: " if bad.column else "") + bad.message, err=True)
            _fail(f"{file}: {len(failure.errors)} bad row(s); nothing was loaded")
        for bad in report.skipped:
            click.echo(f"{file}:{bad.row}: skipped: " + (f"column {bad.column!r}: " if bad.column else "") + bad.message, err=True)
        click.echo(f"imported {report.imported_rows} of {report.rows} rows into {report.graph}: {report.triples} triples")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--graph", "graph_name", default="core", show_default=True, help="Graph the files would be loaded into.")
@click.option("--replace", is_flag=True, help="Validate as if the files replaced the graph.")
@click.option("--format", "format_name", help="RDF format when the extension does not tell.")
@click.option("--all", "everything", is_flag=True, help="Validate every node of the store (the default when no FILES are named).")
@click.pass_obj
def validate(obj: _Context, files: tuple[Path, ...], graph_name: str, replace: bool, format_name: str | None,
             everything: bool) -> None:
    """Check FILES against the SHACL shapes without changing the store.

    Links are resolved against what the store already holds, as a real load
    would, and only what the files would change is checked (as a load checks
    it). With --all (or no FILES), validates everything in the store.
    """
    with _reported():
        store = obj.store()
        fmt = format_by_name(format_name) if format_name else None
        if files and everything:
            raise click.UsageError("name FILES to check a change, or --all to check the whole store, not both")
        if files:
            violations = []
            for path in files:
                violations += store.check(RdfSource.from_path(path, fmt), graph=obj.graph_iri(graph_name), replace=replace)
        else:
            violations = store.validate_all()
        errors = [v for v in violations if v.severity == "Violation"]
        if errors:
            raise ValidationFailed(errors, source=", ".join(str(f) for f in files) or str(obj.store_path))
        click.echo(f"conforms: {', '.join(str(f) for f in files) or obj.store_path}")


_RESULT_FORMATS = {
    "json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML,
    "csv": QueryResultsFormat.CSV, "tsv": QueryResultsFormat.TSV,
}
_GRAPH_FORMATS = {"turtle": RdfFormat.TURTLE, "nt": RdfFormat.N_TRIPLES, "json-ld": RdfFormat.JSON_LD, "rdfxml": RdfFormat.RDF_XML}


@main.command()
@click.argument("sparql", required=False)
@click.option("--file", "query_file", type=click.File("r"), help="Read the query from a file ('-' for stdin).")
@click.option("--named", "named", help="Run a named query from queries/ (see --list-named).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter of the named query; repeat for more.")
@click.option("--list-named", is_flag=True, help="List the named queries and their parameters, then exit.")
@click.option("--format", "format_name", type=click.Choice(["table", *_RESULT_FORMATS, *_GRAPH_FORMATS]), default="table",
              show_default=True, help="Output format (table/json/xml/csv/tsv for SELECT and ASK; turtle/nt/json-ld/rdfxml for CONSTRUCT).")
@click.pass_obj
def query(obj: _Context, sparql: str | None, query_file: IO[str] | None, named: str | None, params: tuple[str, ...],
          list_named: bool, format_name: str) -> None:
    """Run a SPARQL query against the store (all graphs form the default graph).

    The query is an argument, a file (--file) or a named query (--named, with
    --param NAME=VALUE bound as typed RDF terms, as the REST API does).
    """
    from .graph.library import ParameterError, named_queries
    from .graph.library import named_query as find_named_query

    if list_named:
        for item in named_queries():
            spec = " ".join(f"{p.name}:{p.type}{'' if p.optional or p.default else '!'}" for p in item.parameters)
            click.echo(f"{item.name}\t{item.summary}" + (f"\t[{spec}]" if spec else ""))
        return
    if sum(x is not None for x in (sparql, query_file, named)) != 1:
        _fail("give the query as an argument, with --file, or with --named")
    if params and named is None:
        _fail("--param goes with --named")
    if named is not None:
        found = find_named_query(named)
        if found is None:
            _fail(f"no named query {named!r}; --list-named shows them")
        given = {}
        for pair in params:
            key, sep, value = pair.partition("=")
            if not sep:
                _fail(f"--param takes NAME=VALUE, got {pair!r}")
            given[key] = value
        try:
            text = found.text(found.bind(given, obj.base_iri))
        except ParameterError as error:
            _fail(str(error))
    else:
        text = sparql if sparql is not None else query_file.read()  # type: ignore[union-attr]
    with _reported():
        store = obj.store()
        result = store.query(text, prefixes=store.namespaces.prefixes())
        out = sys.stdout.buffer
        if isinstance(result, QueryBoolean):
            if format_name in _RESULT_FORMATS:
                result.serialize(out, _RESULT_FORMATS[format_name])
            else:
                click.echo("true" if bool(result) else "false")
        elif isinstance(result, QuerySolutions):
            if format_name in _RESULT_FORMATS:
                result.serialize(out, _RESULT_FORMATS[format_name])
            elif format_name == "table":
                _print_table(result)
            else:
                _fail(f"--format {format_name} is for CONSTRUCT/DESCRIBE; use table, json, xml, csv or tsv")
        else:
            fmt = _GRAPH_FORMATS.get(format_name, RdfFormat.TURTLE if format_name == "table" else None)
            if fmt is None:
                _fail(f"--format {format_name} is for SELECT/ASK; use turtle, nt, json-ld or rdfxml")
            result.serialize(out, fmt)
        out.flush()


def _print_table(solutions: QuerySolutions) -> None:
    names = [v.value for v in solutions.variables]
    rows = [[_short(row[name]) for name in names] for row in solutions]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    click.echo("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", err=True)


def _short(term: Any) -> str:
    if term is None:
        return ""
    return str(term.value) if hasattr(term, "value") else str(term)


@main.command()
@click.option("--graph", "graph_name", help="Dump only this graph (name or IRI); default: everything.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file; default stdout. A .gz name implies --gzip.")
@click.option("--gzip", "compress", is_flag=True, help="Compress with gzip.")
@click.pass_obj
def dump(obj: _Context, graph_name: str | None, output: Path | None, compress: bool) -> None:
    """Write the dataset as N-Quads, streamed (blank nodes kept)."""
    with _reported():
        store = obj.store()
        graph = obj.graph_iri(graph_name) if graph_name else None
        compress = compress or (output is not None and output.suffix == ".gz")
        if output is None:
            store.dump(sys.stdout.buffer, graph=graph, compress=compress)
            sys.stdout.buffer.flush()
            return
        partial = output.with_name(output.name + ".partial")
        with open(partial, "wb") as handle:
            store.dump(handle, graph=graph, compress=compress)
        partial.replace(output)
        click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-validate", is_flag=True, help="Skip SHACL validation (for a dump this service wrote).")
@_engine_loader_options
@click.pass_obj
def restore(obj: _Context, file: Path, no_validate: bool, engine_loader: str | None, loader_dir: Path | None) -> None:
    """Replace the whole store with an N-Quads or TriG dump (optionally gzipped).

    All-or-nothing: a dump that fails to parse or validate changes nothing.
    """
    with _reported():
        store = obj.store()
        _with_loader(store, engine_loader, loader_dir)
        source = RdfSource.from_path(file)
        if not source.format.supports_datasets:
            _fail(f"{file}: a dump must be N-Quads or TriG, not {source.format.name}")
        with _progress(source.size, "restoring") as progress:
            count = store.restore(source, validate=not no_validate, progress=progress)
        click.echo(f"restored {count} quads from {file}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def graphs(obj: _Context, as_json: bool) -> None:
    """List the named graphs with their provenance and triple counts."""
    with _reported():
        infos = obj.store().graphs()
        if as_json:
            click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
            return
        if not infos:
            click.echo("(no graphs: the store is empty)")
        for info in infos:
            click.echo(f"{info.iri}\t{info.triples} triples")
            for label, value in (("title", info.title), ("publisher", info.publisher), ("source", ", ".join(info.sources)),
                                 ("license", info.license), ("modified", info.modified), ("by", info.agent)):
                if value:
                    click.echo(f"  {label}: {value}")


@main.group()
def token() -> None:
    """Create, list and revoke write tokens (bearer tokens for updates).

    A token names an institution and the graphs it may write; it is printed
    once, at creation, and only its hash is stored.
    """


@token.command("create")
@click.option("--institution", required=True, help="Slug of the institution the token is for (museo-x).")
@click.option("--graph", "graph_names", multiple=True, help="A graph it may write (name or IRI); repeat for more.")
@click.option("--all-graphs", is_flag=True, help="May write every graph (an administrator's token).")
@click.pass_obj
def token_create(obj: _Context, institution: str, graph_names: tuple[str, ...], all_graphs: bool) -> None:
    """Create a token and print it (the only time it is shown)."""
    from .graph.tokens import ALL_GRAPHS, TokenError

    if all_graphs == bool(graph_names):
        _fail("give either --graph (one or more) or --all-graphs")
    graphs = [ALL_GRAPHS] if all_graphs else [obj.graph_iri(name) for name in graph_names]
    try:
        created, secret = obj.store().tokens().create(institution, graphs)
    except TokenError as error:
        _fail(str(error))
    click.echo(secret)
    click.echo(f"token {created.id} for {institution} may write: {', '.join(graphs)} (shown once; store it now)", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def token_list(obj: _Context, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    tokens = obj.store().tokens().list()
    if as_json:
        click.echo(json.dumps([t.public() for t in tokens], indent=2))
        return
    for item in tokens:
        state = f"revoked {item.revoked}" if item.revoked else "active"
        click.echo(f"{item.id}\t{item.institution}\t{state}\t{' '.join(item.graphs)}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_obj
def token_revoke(obj: _Context, token_id: str) -> None:
    """Revoke a token by its id (as shown by 'token list')."""
    from .graph.tokens import TokenError

    try:
        revoked = obj.store().tokens().revoke(token_id)
    except TokenError as error:
        _fail(str(error))
    click.echo(f"revoked {revoked.id} ({revoked.institution})")


@main.command()
@click.option("--host", envvar="HERITAGE_HUBS_HOST", default="127.0.0.1", show_default=True,
              help="Address to listen on [env: HERITAGE_HUBS_HOST].")
@click.option("--port", envvar="HERITAGE_HUBS_PORT", default=5000, show_default=True, type=int,
              help="Port [env: HERITAGE_HUBS_PORT].")
@click.option("--workers", envvar="HERITAGE_HUBS_WORKERS", default=2, show_default=True, type=int,
              help="Worker processes [env: HERITAGE_HUBS_WORKERS].")
@click.pass_obj
def serve(obj: _Context, host: str, port: int, workers: int) -> None:
    """Serve the store over HTTP.

    On an empty store, the ontology and the bundled hubs are loaded first, so
    a new install shows real data.
    """
    import subprocess

    # The store is prepared in a child process: RocksDB is not fork-safe, and
    # this process is about to fork the server's workers.
    prepared = subprocess.run([sys.executable, "-m", "heritage_hubs.graph.bundled", str(obj.store_path), obj.base_iri],
                              capture_output=True, text=True, check=False)
    if prepared.returncode != 0:
        last = (prepared.stderr.strip().splitlines() or ["unknown error"])[-1]
        _fail(f"could not open the store at {obj.store_path}: {last}")
    if prepared.stdout.strip() == "seeded":
        click.echo("empty store: loaded the ontology and the bundled hubs", err=True)
    elif prepared.stdout.strip() == "entailed":
        click.echo("a store from before the entailed graph: built it", err=True)
    with _reported():
        settings = Settings(store_path=obj.store_path, base_iri=obj.base_iri, host=host, port=port, workers=workers)
        from .server.wsgi import run

        click.echo(f"serving {obj.store_path} on http://{host}:{port}/", err=True)
        run(settings)


if __name__ == "__main__":  # pragma: no cover
    main()
