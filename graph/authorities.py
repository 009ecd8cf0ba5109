"""The authority files a record links to (Wikidata, GeoNames, VIAF, ISIL, Getty AAT/TGN/ULAN): their identifier
syntax, the IRI an identifier stands for, and which authority an IRI belongs to.

A spreadsheet column says `authority = "wikidata"` and holds identifiers as people write them (`Q42`, `3165524`);
the import checks each against its authority's syntax (a bad one is a row error, nothing is loaded) and writes the
authority's IRI for it. VoID counts the links to each authority as a `void:Linkset`, and pages name the authority.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Authority:
    key: str
    name: str
    #: The IRI of an identifier: `{id}` stands for it.
    template: str
    #: What an identifier looks like (the whole of it).
    syntax: re.Pattern[str]
    #: How the syntax is said in an error message.
    example: str

    @property
    def namespace(self) -> str:
        return self.template.split("{id}", 1)[0]

    def iri(self, identifier: str) -> str:
        """The IRI for `identifier` (surrounding spaces ignored); ValueError when it is not this authority's syntax."""
        value = identifier.strip()
        if not self.syntax.fullmatch(value):
            raise ValueError(f"{identifier!r} is not a {self.name} identifier (like {self.example})")
        return self.template.replace("{id}", value)

    def identifier(self, iri: str) -> str:
        """The identifier as people write it, from an IRI of this authority (the inverse of :meth:`iri`)."""
        return iri[len(self.namespace):].rstrip("/")


#: The properties that link a thing to its record in an authority file.
LINK_PROPERTIES = ("http://www.w3.org/2002/07/owl#sameAs", "http://www.w3.org/2004/02/skos/core#exactMatch",
                   "http://www.w3.org/2004/02/skos/core#closeMatch")

AUTHORITIES: dict[str, Authority] = {a.key: a for a in (
    Authority("wikidata", "Wikidata", "http://www.wikidata.org/entity/{id}", re.compile(r"Q[1-9][0-9]*"), "Q42"),
    Authority("geonames", "GeoNames", "https://sws.geonames.org/{id}/", re.compile(r"[1-9][0-9]*"), "3165524"),
    Authority("viaf", "VIAF", "http://viaf.org/viaf/{id}", re.compile(r"[1-9][0-9]*"), "102333412"),
    Authority("isil", "ISIL", "https://isil.org/{id}", re.compile(r"[A-Z]{2}-[A-Za-z0-9:/-]{1,11}"), "IT-TO0123"),
    Authority("aat", "Getty AAT", "http://vocab.getty.edu/aat/{id}", re.compile(r"3[0-9]{8}"), "300404670"),
    Authority("tgn", "Getty TGN", "http://vocab.getty.edu/tgn/{id}", re.compile(r"[1-9][0-9]{6}"), "7003138"),
    Authority("ulan", "Getty ULAN", "http://vocab.getty.edu/ulan/{id}", re.compile(r"5[0-9]{8}"), "500115493"),
)}


def authority_of(iri: str) -> Authority | None:
    """The authority whose namespace `iri` is in, or None."""
    for authority in AUTHORITIES.values():
        if iri.startswith(authority.namespace):
            return authority
    return None


def _class(chars: set[str]) -> str:
    escaped = "".join("\\" + c if c in "]\\^-[" else c for c in sorted(chars))
    return f"[^{escaped}]"


def _not_starting_with(prefixes: list[str]) -> str:
    """A regex (no look-ahead: SPARQL's and SHACL's dialect) matching the start of any string that starts with none
    of `prefixes`: at each step of their common trie, the string ends, or goes where no prefix goes."""
    trie: dict[str, Any] = {}
    for prefix in prefixes:
        node = trie
        for char in prefix:
            node = node.setdefault(char, {})
        node[""] = {}  # a whole prefix ends here

    def walk(node: dict[str, Any]) -> str:
        branches = ["$", _class({c for c in node if c})]
        for char, child in sorted(node.items()):
            if char and "" not in child:
                branches.append(re.escape(char) + "(" + walk(child) + ")")
        return "|".join(branches)

    return "^(" + walk(trie) + ")"


def shacl_pattern() -> str:
    """The `sh:pattern` a link to an authority file must match: a well-formed identifier of that file, or any IRI
    outside every authority's namespace (ontology/shapes.ttl holds it; a test keeps the two equal)."""
    valid = "|".join(re.escape(a.namespace) + "(" + a.syntax.pattern + ")" + re.escape(a.template.split("{id}", 1)[1])
                     for a in AUTHORITIES.values())
    return f"^({valid})$|{_not_starting_with([a.namespace for a in AUTHORITIES.values()])}"
