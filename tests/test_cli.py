"""The `heritage-hubs` command: every subcommand, its help, its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from pyoxigraph import RdfFormat, parse
from rdflib.compare import isomorphic

from heritage_hubs.cli import main
from heritage_hubs.graph import GraphStore, RdfSource
from heritage_hubs.graph.remote import EngineError
from heritage_hubs.graph.store import open_store

from .conftest import FIXTURES, WritableBackend

COMMANDS = ["serve", "load", "validate", "query", "dump", "restore", "graphs", "import-csv"]


def run(runner: CliRunner, store_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, ["--store", str(store_path), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(runner: CliRunner, command: str) -> None:
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage: main" in result.output or "Usage: heritage-hubs" in result.output
    assert len(result.output.splitlines()) > 3


def test_load_then_graphs_then_query(runner: CliRunner, store_location: str) -> None:
    code, out, _ = run(runner, store_location, "load", str(FIXTURES / "institution.ttl"), "--graph", "institution/museo-esempio",
                       "--publisher", "https://example.org/museo", "--license", "https://creativecommons.org/publicdomain/zero/1.0/")
    assert code == 0, out
    assert "graph/institution/museo-esempio: 20 triples" in out
    code, out, _ = run(runner, store_location, "graphs", "--json")
    graphs = {g["iri"]: g for g in json.loads(out)}
    assert graphs["https://w3id.org/heritage-hubs/graph/institution/museo-esempio"]["publisher"] == "https://example.org/museo"
    code, out, _ = run(runner, store_location, "query", "SELECT ?m WHERE { ?m hh:partnerOf hub:polo-del-900 ; a hh:Museum }", "--format", "csv")
    assert code == 0
    assert "https://w3id.org/heritage-hubs/id/institution/museo-esempio" in out
    assert "https://w3id.org/heritage-hubs/id/institution/museo-diffuso-resistenza" in out


@pytest.mark.parametrize(("fmt", "marker"), [("json", '"boolean":true'), ("table", "true")])
def test_ask_queries(runner: CliRunner, store_location: str, fmt: str, marker: str) -> None:
    code, out, _ = run(runner, store_location, "query", "ASK { hub:tabakalera a hh:Hub }", "--format", fmt)
    assert code == 0
    assert marker in out.replace(" ", "")


def test_construct_as_turtle(runner: CliRunner, store_location: str) -> None:
    code, out, _ = run(runner, store_location, "query", "CONSTRUCT { hub:tabakalera ?p ?o } WHERE { hub:tabakalera ?p ?o }")
    assert code == 0
    assert "tabakalera" in out


def test_bad_file_is_one_line_error_and_nonzero(runner: CliRunner, store_location: str) -> None:
    before = open_store(store_location).generation
    code, _, err = run(runner, store_location, "load", str(FIXTURES / "broken.ttl"), "--graph", "institution/x")
    assert code == 1
    assert err.startswith(f"heritage-hubs: error: {FIXTURES / 'broken.ttl'}:3:")
    assert len(err.strip().splitlines()) == 1
    assert open_store(store_location).generation == before


def test_invalid_file_lists_violations(runner: CliRunner, store_location: str) -> None:
    code, _, err = run(runner, store_location, "load", str(FIXTURES / "invalid-institution.ttl"), "--graph", "institution/x")
    assert code == 1
    first, *details = err.strip().splitlines()
    assert "SHACL violations" in first
    assert any("no-kind" in line and "[MinCount]" in line for line in details)


def test_validate_without_loading(runner: CliRunner, store_location: str) -> None:
    before = open_store(store_location).generation
    code, out, _ = run(runner, store_location, "validate", str(FIXTURES / "institution.ttl"), "--graph", "institution/museo-esempio")
    assert code == 0 and "conforms" in out
    code, _, err = run(runner, store_location, "validate", str(FIXTURES / "invalid-institution.ttl"))
    assert code == 1 and "violation" in err
    code, out, _ = run(runner, store_location, "validate")
    assert code == 0
    code, out, _ = run(runner, store_location, "validate", "--all")
    assert code == 0 and "conforms" in out
    code, _, err = run(runner, store_location, "validate", "--all", str(FIXTURES / "institution.ttl"))
    assert code == 2 and "not both" in err
    assert open_store(store_location).generation == before


def test_validate_all_finds_what_an_unvalidated_load_let_in(runner: CliRunner, store_location: str,
                                                            writable_backend: WritableBackend) -> None:
    store = open_store(store_location)
    graph = "https://w3id.org/heritage-hubs/graph/institution/x"
    invalid = (FIXTURES / "invalid-institution.ttl").read_text()
    if writable_backend.name == "virtuoso":
        # Virtuoso cannot keep an ill-typed literal ("not a number"^^xsd:decimal): the engine itself refuses the
        # write (README, "In front of a SPARQL engine"), whole; the rest of the file still gets in unvalidated.
        with pytest.raises(EngineError, match="Virtuoso"):
            store.load(RdfSource.from_bytes(invalid.encode(), RdfFormat.TURTLE), graph=graph, validate=False)
        assert graph not in {g.iri for g in store.graphs()}
        invalid = invalid.replace('"not a number"^^xsd:decimal', '"1.5"^^xsd:decimal').replace(
            '"2025-13-45"^^xsd:dateTime', '"2025-12-31T00:00:00"^^xsd:dateTime')
    store.load(RdfSource.from_bytes(invalid.encode(), RdfFormat.TURTLE), graph=graph, validate=False)
    code, _, err = run(runner, store_location, "validate", "--all")
    assert code == 1 and "no-kind" in err


def test_dump_and_restore(runner: CliRunner, store_location: str, tmp_path: Path) -> None:
    dump = tmp_path / "dump.nq.gz"
    code, _, _ = run(runner, store_location, "dump", "-o", str(dump))
    assert code == 0 and dump.stat().st_size > 1000
    code, out, _ = run(runner, tmp_path / "fresh", "restore", str(dump))
    assert code == 0, out
    assert len(GraphStore(tmp_path / "fresh")) == len(open_store(store_location))
    code, _, err = run(runner, tmp_path / "fresh", "restore", str(FIXTURES / "institution.ttl"))
    assert code == 1 and "N-Quads or TriG" in err


def test_a_restore_sends_a_large_graph_to_an_engine_in_parts(runner: CliRunner, store_location: str, tmp_path: Path,
                                                              writable_backend: WritableBackend,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Over an engine each graph goes as a Graph Store PUT of its first part and POSTs of the rest (Virtuoso stalls on
    one request of hundreds of MB): parts of 16 KB here, and every statement arrives."""
    if writable_backend.name == "embedded":
        pytest.skip("the embedded store loads a dump itself")
    from heritage_hubs.graph import remote

    dump = tmp_path / "dump.nq"
    assert run(runner, store_location, "dump", "-o", str(dump))[0] == 0
    monkeypatch.setattr(remote, "GRAPH_REQUEST_BYTES", 16 * 1024)
    sent: list[tuple[str, str, int]] = []
    to_graph = remote.Engine._to_graph

    def counted(self: remote.Engine, method: str, graph: str, body: bytes, *args: object) -> None:
        sent.append((method, graph, len(body)))
        to_graph(self, method, graph, body, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(remote.Engine, "_to_graph", counted)
    code, out, err = run(runner, store_location, "restore", str(dump))
    assert code == 0, out + err
    entailed = [(method, size) for method, graph, size in sent if graph.endswith("/graph/entailed")]
    assert len(entailed) > 3 and entailed[0][0] == "PUT" and {m for m, _ in entailed[1:]} == {"POST"}
    assert all(size <= 16 * 1024 for _, size in entailed)
    again = tmp_path / "again.nq"
    assert run(runner, store_location, "dump", "-o", str(again))[0] == 0

    def graphs(path: Path) -> dict[str, rdflib.Graph]:  # the feed and the metadata start again from a restore
        lines: dict[str, list[str]] = {}
        for quad in parse(path=str(path), format=RdfFormat.N_QUADS):
            if not quad.graph_name.value.endswith(("/graph/feed", "/graph/metadata")):
                lines.setdefault(quad.graph_name.value, []).append(f"{quad.triple} .")
        return {g: rdflib.Graph().parse(data="\n".join(text), format="nt") for g, text in lines.items()}

    before, after = graphs(dump), graphs(again)
    assert before.keys() == after.keys()
    assert all(isomorphic(before[g], after[g]) for g in before)


def test_unknown_extension(runner: CliRunner, store_location: str, tmp_path: Path) -> None:
    odd = tmp_path / "records.data"
    odd.write_text("")
    code, _, err = run(runner, store_location, "load", str(odd), "--graph", "core")
    assert code == 1 and "--format" in err


def test_sparql_syntax_error(runner: CliRunner, store_location: str) -> None:
    code, _, err = run(runner, store_location, "query", "SELECT * WHERE { ?s ?p }")
    assert code == 1 and "SPARQL syntax error" in err


def test_console_script_and_environment_variable(store_path: Path) -> None:
    """The installed entry point, with the store chosen by HERITAGE_HUBS_STORE."""
    script = Path(sys.executable).parent / "heritage-hubs"
    result = subprocess.run([str(script), "graphs"], capture_output=True, text=True,
                            env={"HERITAGE_HUBS_STORE": str(store_path), "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, result.stderr
    assert "graph/core" in result.stdout
    result = subprocess.run([str(script), "load", str(FIXTURES / "broken.ttl"), "--graph", "core"], capture_output=True, text=True,
                            env={"HERITAGE_HUBS_STORE": str(store_path), "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 1
    assert "broken.ttl:3:" in result.stderr


EXAMPLE = Path(__file__).parent.parent / "examples" / "museum"


def test_import_csv_example_and_bad_rows(runner: CliRunner, store_location: str, tmp_path: Path) -> None:
    graph = "institution/museo-esempio"
    assert run(runner, store_location, "load", str(EXAMPLE / "institution.ttl"), "--graph", graph)[0] == 0
    bad = tmp_path / "records.csv"
    bad.write_text((EXAMPLE / "records.csv").read_text().replace("25/04/1945", "1945-04-25").replace("labour history", "labor"))
    before = open_store(store_location).generation
    code, _, err = run(runner, store_location, "import-csv", str(bad), "--mapping", str(EXAMPLE / "mapping.toml"), "--graph", graph)
    assert code == 1 and open_store(store_location).generation == before
    assert f"{bad}:2: column 'made': '1945-04-25' is not a date in the form %d/%m/%Y" in err
    assert f"{bad}:4: column 'themes': no concept labelled 'labor'" in err
    code, out, err = run(runner, store_location, "import-csv", str(bad), "--mapping", str(EXAMPLE / "mapping.toml"), "--graph", graph,
                         "--skip-bad-rows")
    assert code == 0 and "imported 3 of 5 rows" in out and f"{bad}:2: skipped" in err
    code, out, _ = run(runner, store_location, "import-csv", str(EXAMPLE / "records.csv"), "--mapping", str(EXAMPLE / "mapping.toml"),
                       "--graph", graph)
    assert code == 0 and "imported 5 of 5 rows" in out
    rows = list(open_store(store_location).query(
        "PREFIX hh: <https://w3id.org/heritage-hubs/ontology/> PREFIX dct: <http://purl.org/dc/terms/> "
        "SELECT ?made WHERE { <https://w3id.org/heritage-hubs/id/asset/museo-esempio-me-0001> hh:inventoryNumber 'ME-0001' ; "
        "dct:created ?made ; <http://www.cidoc-crm.org/cidoc-crm/P2_has_type> "
        "<https://w3id.org/heritage-hubs/id/concept/resistance> }"))
    assert [str(r["made"].value) for r in rows] == ["1945-04-25"]  # type: ignore[index]


def test_import_csv_mapping_errors(runner: CliRunner, store_location: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text((EXAMPLE / "mapping.toml").read_text().replace('"rdfs:label"', '"nope:label"', 1))
    code, _, err = run(runner, store_location, "import-csv", str(EXAMPLE / "records.csv"), "--mapping", str(mapping), "--graph", "x")
    assert code == 1 and "unknown prefix in 'nope:label'" in err
    mapping.write_text((EXAMPLE / "mapping.toml").read_text().replace("[columns.notes]\nignore = true\n", ""))
    code, _, err = run(runner, store_location, "import-csv", str(EXAMPLE / "records.csv"), "--mapping", str(mapping), "--graph", "x")
    assert code == 1 and "columns not in the mapping: notes" in err
