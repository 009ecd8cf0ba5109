"""The SHACL-to-SPARQL validator agrees with pyshacl, the reference implementation."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
import rdflib
from pyoxigraph import NamedNode, RdfFormat, Store

from bench.generate import write
from heritage_hubs.graph import ShapesValidator, UnsupportedShapes, Violation
from heritage_hubs.graph.bundled import data_paths, ontology_paths, shapes_graph
from heritage_hubs.graph.validation import validate_with_pyshacl

from .conftest import FIXTURES


def _both(files: list[Path]) -> tuple[set[tuple[str, str | None, str]], set[tuple[str, str | None, str]]]:
    store = Store()
    union = rdflib.Graph()
    for index, path in enumerate(files):
        store.load(path=str(path), format=RdfFormat.TURTLE, to_graph=NamedNode(f"urn:test:graph:{index}"))
    ours = ShapesValidator(shapes_graph()).validate(store)
    # rdflib warns about the ill-typed literals the fixture holds on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for path in files:
            union.parse(path)
        reference = validate_with_pyshacl(union, shapes_graph())
    return _key(ours), _key(reference)


def _key(violations: list[Violation]) -> set[tuple[str, str | None, str]]:
    def node(value: str) -> str:
        return "_:blank" if value.startswith("_:") else value

    def path(value: str | None) -> str | None:
        if value is None or value.startswith(("http://", "https://")):
            return value
        return "complex"

    return {(node(v.focus_node), path(v.path), v.constraint.rsplit("#", 1)[-1]) for v in violations}


def test_bundled_data_conforms_in_both() -> None:
    ours, reference = _both([*ontology_paths(), *data_paths()])
    assert reference == set()
    assert ours == set()


def test_invalid_fixture_same_results_as_pyshacl() -> None:
    ours, reference = _both([*ontology_paths(), *data_paths(), FIXTURES / "invalid-institution.ttl"])
    assert reference, "the fixture is meant to break shapes"
    # SHACL 1.0 §4.4.2: a value for which "$maxInclusive >= v" does not return
    # true is a result; for the ill-typed "not a number"^^xsd:decimal the
    # comparison is an error, so it is one. pyshacl reports it for
    # sh:minInclusive but not for sh:maxInclusive; we follow the spec for both.
    spec_over_pyshacl = {
        ("<https://w3id.org/heritage-hubs/id/place/nowhere>", "http://www.w3.org/2003/01/geo/wgs84_pos#long",
         "MaxInclusiveConstraintComponent"),
    }
    assert spec_over_pyshacl <= ours
    assert ours - spec_over_pyshacl == reference


def test_invalid_fixture_reports_each_kind_of_problem() -> None:
    ours, _ = _both([*ontology_paths(), *data_paths(), FIXTURES / "invalid-institution.ttl"])
    components = {component for _, _, component in ours}
    assert {
        "MinCountConstraintComponent", "MaxCountConstraintComponent", "DatatypeConstraintComponent",
        "UniqueLangConstraintComponent", "LanguageInConstraintComponent", "MaxInclusiveConstraintComponent",
        "ClassConstraintComponent", "NodeKindConstraintComponent", "MinInclusiveConstraintComponent",
    } <= components


def test_valid_institution_fixture_conforms_in_both() -> None:
    ours, reference = _both([*ontology_paths(), *data_paths(), FIXTURES / "institution.ttl"])
    assert ours == reference == set()


def test_focus_graphs_limit_what_is_checked() -> None:
    store = Store()
    for path in [*ontology_paths(), *data_paths()]:
        store.load(path=str(path), format=RdfFormat.TURTLE, to_graph=NamedNode("urn:test:base"))
    generated = io.StringIO()
    write(3_000, generated, seed=1)
    store.load(generated.getvalue().encode(), RdfFormat.N_TRIPLES, to_graph=NamedNode("urn:test:copy"))
    store.load(path=str(FIXTURES / "invalid-institution.ttl"), format=RdfFormat.TURTLE, to_graph=NamedNode("urn:test:bad"))
    validator = ShapesValidator(shapes_graph())
    everything = validator.validate(store)
    # Only the nodes a focus graph mentions are checked (links still resolve against every graph).
    assert validator.validate(store, focus_graphs=["urn:test:base"]) == []
    assert validator.validate(store, focus_graphs=["urn:test:base", "urn:test:copy"]) == []
    assert validator.validate(store, focus_graphs=["urn:test:bad"]) == everything
    # The scratch graph that lists the focus nodes is gone afterwards.
    assert not store.contains_named_graph(NamedNode(ShapesValidator.FOCUS_GRAPH))


@pytest.mark.parametrize("feature", [
    "sh:or ( [ sh:class ex:A ] [ sh:class ex:B ] )",
    "sh:node ex:OtherShape",
    "sh:qualifiedValueShape [ sh:class ex:A ] ; sh:qualifiedMinCount 1",
    "sh:sparql [ sh:select \"SELECT $this WHERE {}\" ]",
])
def test_unsupported_features_are_refused_not_ignored(feature: str) -> None:
    shapes = f"""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:property [ sh:path ex:p ; {feature} ] .
    """
    with pytest.raises(UnsupportedShapes):
        ShapesValidator.from_turtle(shapes)


def test_a_partnership_is_said_only_by_an_institution_or_a_hub(location_client: object, location_museum_token: str) -> None:
    """hh:partnerOf is for institutions and hh:hasPartner for hubs, whoever writes them (a museum could link an asset)."""
    from flask.testing import FlaskClient

    assert isinstance(location_client, FlaskClient)
    base = "https://w3id.org/heritage-hubs/"
    graph = base + "graph/institution/museo-esempio"
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    museum = (Path(__file__).parent.parent / "examples" / "museum" / "institution.ttl").read_text()
    wrong = museum + (f"\n<{base}id/asset/museo-esempio-x> a hh:TangibleAsset ; rdfs:label \"x\"@en ;\n"
                      f"    hh:partnerOf <{base}id/hub/polo-del-900> ; hh:hasPartner inst:museo-esempio .\n")
    response = location_client.put("/graph-store", query_string={"graph": graph}, data=wrong, content_type="text/turtle", headers=auth)
    assert response.status_code == 422, response.data
    text = response.get_data(as_text=True)
    assert "only an hh:Institution can be hh:partnerOf a hub" in text and "only an hh:Hub can have an hh:hasPartner" in text
    right = museum + f"\ninst:museo-esempio hh:partnerOf <{base}id/hub/polo-del-900> .\n"  # a museum is an institution
    assert location_client.put("/graph-store", query_string={"graph": graph}, data=right, content_type="text/turtle",
                      headers=auth).status_code in (201, 204)
    # pyshacl reads the same shapes the same way.
    data = rdflib.Graph()
    for path in (*ontology_paths(), *data_paths()):
        data.parse(path)
    data.parse(data=wrong, format="turtle")
    messages = {str(v.message) for v in validate_with_pyshacl(data, shapes_graph())}
    assert {"only an hh:Institution can be hh:partnerOf a hub", "only an hh:Hub can have an hh:hasPartner"} <= messages


def test_links_to_authority_files_are_checked_by_shacl(location_client: object, location_museum_token: str) -> None:
    """owl:sameAs / skos:exactMatch / skos:closeMatch to an authority file must name an entry in its syntax; the
    pattern in the shapes is the one graph/authorities.py generates, and pyshacl reads it the same way."""
    from flask.testing import FlaskClient

    from heritage_hubs.graph.authorities import shacl_pattern

    assert isinstance(location_client, FlaskClient)
    shapes = shapes_graph()
    patterns = {str(p) for p in shapes.objects(rdflib.URIRef("https://w3id.org/heritage-hubs/ontology/shapes/AuthorityLinkShape"),
                                                rdflib.URIRef("http://www.w3.org/ns/shacl#pattern"))}
    assert patterns == {shacl_pattern()}
    base = "https://w3id.org/heritage-hubs/"
    graph = base + "graph/institution/museo-esempio"
    auth = {"Authorization": f"Bearer {location_museum_token}"}
    museum = (Path(__file__).parent.parent / "examples" / "museum" / "institution.ttl").read_text()
    links = {"owl:sameAs <http://www.wikidata.org/entity/42>": 422, "owl:sameAs <http://www.wikidata.org/entity/Q42>": 200,
             "skos:exactMatch <https://sws.geonames.org/Torino/>": 422, "skos:closeMatch <http://vocab.getty.edu/aat/300404670>": 200,
             "owl:sameAs <https://www.museo-esempio.example/about>": 200}
    for link, status in links.items():
        body = ("@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
                + museum + f"\ninst:museo-esempio {link} .\n")
        response = location_client.put("/graph-store", query_string={"graph": graph}, data=body, content_type="text/turtle", headers=auth)
        assert (response.status_code == 422) == (status == 422) and response.status_code < 500, (link, response.data)
        if status == 422:
            assert b"authority file" in response.data
    data = rdflib.Graph()
    for path in (*ontology_paths(), *data_paths()):
        data.parse(path)
    data.add((rdflib.URIRef(base + "id/hub/tabakalera"), rdflib.OWL.sameAs, rdflib.URIRef("http://www.wikidata.org/entity/x1")))
    assert any("authority file" in str(v.message) for v in validate_with_pyshacl(data, shapes))
