"""The ontology: every term labelled in three languages and aligned with CIDOC-CRM 7.1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from heritage_hubs.graph.bundled import ontology_paths, shapes_graph

from .conftest import FIXTURES

HH = rdflib.Namespace("https://w3id.org/heritage-hubs/ontology/")
CRM = "http://www.cidoc-crm.org/cidoc-crm/"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
LANGUAGES = {"en", "it", "es"}
#: Gone from CRM 7.x: an alignment to any of these is wrong.
REMOVED_IN_7 = {"E40_Legal_Body", "E22_Man-Made_Object", "E24_Physical_Man-Made_Thing", "E71_Man-Made_Thing", "E84_Information_Carrier"}
CRM_TERMS = {
    line.strip() for line in (FIXTURES / "crm71-terms.txt").read_text().splitlines() if line.strip() and not line.startswith("#")
}


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in ontology_paths():
        graph.parse(path)
    return graph


def hh_terms(graph: rdflib.Graph) -> dict[rdflib.URIRef, rdflib.URIRef]:
    terms = {}
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in graph.subjects(RDF.type, kind):
            if isinstance(term, rdflib.URIRef) and term.startswith(HH):
                terms[term] = kind
    return terms


def test_ontology_header(ontology: rdflib.Graph) -> None:
    iri = rdflib.URIRef("https://w3id.org/heritage-hubs/ontology")
    assert (iri, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(iri, OWL.versionIRI) is not None
    assert ontology.value(iri, rdflib.URIRef("http://purl.org/dc/terms/license")) is not None
    assert ontology.value(iri, rdflib.URIRef("http://purl.org/dc/terms/creator")) is not None


def test_required_classes_exist(ontology: rdflib.Graph) -> None:
    terms = hh_terms(ontology)
    for name in ("Hub", "Institution", "PublicBody", "Museum", "Archive", "University", "Business", "NGO",
                 "CitizenAssociation", "HeritageAsset", "TangibleAsset", "IntangibleAsset", "Narrative", "Activity",
                 "Exhibition", "Workshop", "Residency", "EducationProgramme", "Event", "Place", "Community"):
        assert terms.get(HH[name]) == OWL.Class, name


def test_every_term_has_labels_and_comments_in_three_languages(ontology: rdflib.Graph) -> None:
    for term in hh_terms(ontology):
        for predicate in (RDFS.label, RDFS.comment):
            languages = {value.language for value in ontology.objects(term, predicate) if isinstance(value, rdflib.Literal)}
            assert languages >= LANGUAGES, f"{term} {predicate} has only {sorted(filter(None, languages))}"


def test_every_term_is_aligned_with_crm_7_1(ontology: rdflib.Graph) -> None:
    terms = hh_terms(ontology)
    assert len(terms) > 30
    for term, kind in terms.items():
        predicate = RDFS.subClassOf if kind == OWL.Class else RDFS.subPropertyOf
        targets = [str(t) for t in ontology.objects(term, predicate) if str(t).startswith(CRM)]
        assert targets, f"{term} has no CIDOC-CRM super-{'class' if kind == OWL.Class else 'property'}"
        for target in targets:
            name = target[len(CRM):]
            assert name not in REMOVED_IN_7, f"{term} is aligned with {name}, which CRM 7.1 no longer has"
            assert name in CRM_TERMS, f"{term} is aligned with {name}, not a known CRM 7.1 term"
            is_class = re.match(r"^E\d+_", name) is not None
            assert is_class == (kind == OWL.Class), f"{term} ({kind}) aligned with {name}"


@pytest.mark.parametrize(("term", "expected"), [
    ("Hub", "E74_Group"), ("Institution", "E74_Group"), ("TangibleAsset", "E24_Physical_Human-Made_Thing"),
    ("IntangibleAsset", "E28_Conceptual_Object"), ("Narrative", "E33_Linguistic_Object"), ("Activity", "E7_Activity"),
    ("Place", "E53_Place"), ("hasPartner", "P107_has_current_or_former_member"), ("keptBy", "P50_has_current_keeper"),
    ("refersTo", "P67_refers_to"), ("about", "P129_is_about"), ("carriedOutBy", "P14_carried_out_by"),
    ("basedIn", "P74_has_current_or_former_residence"), ("locatedIn", "P53_has_former_or_current_location"),
    ("hubType", "P2_has_type"),
])
def test_alignment_of_key_terms(ontology: rdflib.Graph, term: str, expected: str) -> None:
    targets = set(ontology.objects(HH[term], RDFS.subClassOf)) | set(ontology.objects(HH[term], RDFS.subPropertyOf))
    assert rdflib.URIRef(CRM + expected) in targets


def test_shortcuts_document_their_crm_path(ontology: rdflib.Graph) -> None:
    paths = dict(ontology.subject_objects(HH.crmPath))
    assert {HH.givesVoiceTo, HH.memberCount, HH.inventoryNumber, HH.accessNotice} <= set(paths)
    for term, path in paths.items():
        steps = [step.split(" (")[0].strip() for step in str(path).split("→")]
        assert len(steps) >= 3, term
        for step in steps:
            assert step in CRM_TERMS, f"{term}: {step} in its CRM path is not a CRM 7.1 term"


def test_skos_schemes_have_three_languages(ontology: rdflib.Graph) -> None:
    schemes = set(ontology.subjects(RDF.type, SKOS.ConceptScheme))
    names = {str(s).rsplit("/", 1)[-1] for s in schemes}
    assert {"hub-types", "technologies", "themes", "institution-kinds", "access-notices"} <= names
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) > 30
    for concept in concepts:
        languages = {v.language for v in ontology.objects(concept, SKOS.prefLabel) if isinstance(v, rdflib.Literal)}
        assert languages >= LANGUAGES, concept
        assert ontology.value(concept, SKOS.inScheme) in schemes


def test_every_class_is_covered_by_a_shape(ontology: rdflib.Graph) -> None:
    shapes = shapes_graph()
    targeted = set(shapes.objects(None, SH.targetClass))
    for term, kind in hh_terms(ontology).items():
        if kind != OWL.Class:
            continue
        ancestors = set(ontology.transitive_objects(term, RDFS.subClassOf))
        assert ancestors & targeted, f"no SHACL shape targets {term} or a superclass"


def test_ontology_files_are_the_packaged_ones() -> None:
    root = Path(__file__).parent.parent / "ontology"
    assert {p.name for p in ontology_paths()} <= {p.name for p in root.glob("*.ttl")}


def test_no_axiom_is_said_about_a_term_we_do_not_own(ontology: rdflib.Graph) -> None:
    """Merged with anyone's data, our ontology must not change what their terms mean: every subClassOf, subPropertyOf,
    domain, range, inverseOf or equivalence has one of our terms as its subject. Our concepts are CRM types by their
    own typing (not `skos:Concept rdfs:subClassOf crm:E55_Type`, which would make every concept anywhere one)."""
    ours = "https://w3id.org/heritage-hubs/"
    axioms = (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf, OWL.equivalentClass,
              OWL.equivalentProperty)
    foreign = sorted({(str(s), str(p)) for p in axioms for s in ontology.subjects(p, None)
                      if isinstance(s, rdflib.URIRef) and not str(s).startswith(ours)})
    assert foreign == []
    crm_type = rdflib.URIRef("http://www.cidoc-crm.org/cidoc-crm/E55_Type")
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) > 30 and all((c, RDF.type, crm_type) in ontology for c in concepts)


def test_every_aat_mapping_is_the_one_linked_arts_library_gives() -> None:
    """Each skos:exactMatch/closeMatch of our concepts into Getty AAT names its source, and the id is the one
    Linked Art's reference library (cromulent, a dependency) gives for the term the note names."""
    import json
    import os

    import cromulent

    vocabulary = json.loads((Path(os.path.dirname(cromulent.__file__)) / "data" / "vocab_classes.json").read_text())
    graph = rdflib.Graph().parse(Path(__file__).parent.parent / "ontology" / "vocabularies.ttl")
    skos = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
    mappings = [(s, o) for p in (skos.exactMatch, skos.closeMatch) for s, o in graph.subject_objects(p)
                if str(o).startswith("http://vocab.getty.edu/aat/")]
    assert len(mappings) >= 4
    for concept, aat in mappings:
        note = " ".join(str(n) for n in graph.objects(concept, skos.editorialNote))
        assert str(aat).rsplit("/", 1)[1] in note and graph.value(concept, rdflib.namespace.DCTERMS.source) is not None, concept
        named = re.search(r"\(\"([^\"]+)\", (\w+)", note)
        assert named is not None, note
        label, key = named.groups()
        assert vocabulary[key]["id"] == str(aat).rsplit("/", 1)[1] and vocabulary[key]["label"] == label, (concept, vocabulary[key])
