"""The heritage-hubs ontology, its CIDOC-CRM alignment, SKOS vocabularies and SHACL shapes (Turtle files)."""
