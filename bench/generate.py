"""Deterministic synthetic heritage-hub graphs of about N triples, valid against the shapes.

    python bench/generate.py 1000000 -o bench/out/hubs-1m.nt.gz

The same N and seed always give the same bytes. The data mimic the bundled
hubs: each hub has partner institutions that keep assets, run activities
(with time-spans as blank nodes) and publish narratives that give voice to
communities; everything points to the ontology's SKOS concepts, so it must be
loaded into a store that has the ontology graph (any seeded store).
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

BASE = "https://w3id.org/heritage-hubs/"
HH = BASE + "ontology/"
ID = BASE + "id/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
CRM = "http://www.cidoc-crm.org/cidoc-crm/"
XSD = "http://www.w3.org/2001/XMLSchema#"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"

HUB_TYPES = ["hub-museum", "research-centre", "community-space", "digital-platform", "cultural-centre"]
THEMES = ["twentieth-century-history", "resistance", "civil-rights", "contemporary-art", "industrial-heritage",
          "urban-regeneration", "labour-history", "citizen-engagement", "young-professionals", "heritage-policy"]
TECHNOLOGIES = ["augmented-reality", "artificial-intelligence", "digital-archive", "virtual-reality", "digitisation",
                "online-platform", "media-lab"]
INSTITUTION_KINDS = [("Museum", "museum"), ("Archive", "archive"), ("University", "university"), ("Business", "business"),
                     ("NGO", "ngo"), ("CitizenAssociation", "citizen-association"), ("PublicBody", "public-body")]
ACTIVITY_CLASSES = ["Exhibition", "Workshop", "Residency", "EducationProgramme", "Event"]
FUNCTIONS = ["tobacco-factory", "military-quarters", "dwellings"]
NOTICES = ["open-to-all", "attribution-requested", "community-voice", "culturally-sensitive"]
WORDS = ["memory", "river", "factory", "courtyard", "archive", "voices", "workers", "city", "harbour", "market",
         "school", "garden", "station", "theatre", "library", "mill", "bridge", "square", "tower", "valley"]


def iri(value: str) -> str:
    return f"<{value}>"


def hh(term: str) -> str:
    return f"<{HH}{term}>"


def concept(slug: str) -> str:
    return f"<{ID}concept/{slug}>"


def lang(text: str, tag: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + f'"@{tag}'


def typed(value: str, datatype: str) -> str:
    return f'"{value}"^^<{datatype}>'


class Generator:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.blank = 0

    def words(self, n: int) -> str:
        return " ".join(self.random.choice(WORDS) for _ in range(n))

    def cluster(self, c: int) -> Iterator[str]:
        """One hub with everything around it (about 1,300 triples)."""
        r = self.random
        places = []
        for p in range(3):
            place = iri(f"{ID}place/gen-{c}-{p}")
            places.append(place)
            lat, long = round(r.uniform(35, 60), 4), round(r.uniform(-9, 25), 4)
            yield f"{place} {RDF_TYPE} {hh('Place')} ."
            yield f"{place} {LABEL} {lang(f'Place {c}-{p} {self.words(1)}', 'en')} ."
            yield f"{place} {LABEL} {lang(f'Luogo {c}-{p}', 'it')} ."
            yield f"{place} <{GEO}lat> {typed(str(lat), XSD + 'decimal')} ."
            yield f"{place} <{GEO}long> {typed(str(long), XSD + 'decimal')} ."
            wkt = typed(f"POINT({long} {lat})", "http://www.opengis.net/ont/geosparql#wktLiteral")
            yield f"{place} <{CRM}P168_place_is_defined_by> {wkt} ."
            if p:
                yield f"{place} <{CRM}P89_falls_within> {places[0]} ."
        hub = iri(f"{ID}hub/gen-{c}")
        yield f"{hub} {RDF_TYPE} {hh('Hub')} ."
        for tag, word in (("en", "Hub"), ("it", "Polo"), ("es", "Centro")):
            yield f"{hub} {LABEL} {lang(f'{word} {c} {self.words(2)}', tag)} ."
        yield f"{hub} {hh('hubType')} {concept(r.choice(HUB_TYPES))} ."
        for theme in r.sample(THEMES, 2):
            yield f"{hub} {hh('focus')} {concept(theme)} ."
        yield f"{hub} {hh('basedIn')} {places[0]} ."
        yield f"{hub} {hh('description')} {lang('A generated hub about ' + self.words(8), 'en')} ."
        yield f"{hub} {hh('memberCount')} {typed('10', XSD + 'integer')} ."
        communities = []
        for k in range(2):
            community = iri(f"{ID}group/gen-{c}-{k}")
            communities.append(community)
            yield f"{community} {RDF_TYPE} {hh('Community')} ."
            yield f"{community} {LABEL} {lang(f'Community {c}-{k} of {self.words(2)}', 'en')} ."
            yield f"{community} {hh('basedIn')} {r.choice(places)} ."
        institutions = []
        for i in range(10):
            inst = iri(f"{ID}institution/gen-{c}-{i}")
            institutions.append(inst)
            cls, kind = r.choice(INSTITUTION_KINDS)
            yield f"{inst} {RDF_TYPE} {hh(cls)} ."
            yield f"{inst} {LABEL} {lang(f'Institution {c}-{i} {self.words(2)}', 'en')} ."
            yield f"{inst} {LABEL} {lang(f'Istituto {c}-{i}', 'it')} ."
            yield f"{inst} {hh('institutionKind')} {concept(kind)} ."
            yield f"{inst} {hh('partnerOf')} {hub} ."
            yield f"{inst} {hh('basedIn')} {r.choice(places)} ."
            yield f"{hub} {hh('hasPartner')} {inst} ."
        assets = []
        for a in range(60):
            asset = iri(f"{ID}asset/gen-{c}-{a}")
            assets.append(asset)
            tangible = a % 4 != 3
            yield f"{asset} {RDF_TYPE} {hh('TangibleAsset' if tangible else 'IntangibleAsset')} ."
            yield f"{asset} {LABEL} {lang(f'Asset {c}-{a} {self.words(3)}', 'en')} ."
            yield f"{asset} {LABEL} {lang(f'Bene {c}-{a}', 'it')} ."
            yield f"{asset} {hh('description')} {lang(self.words(12), 'en')} ."
            yield f"{asset} {hh('inventoryNumber')} \"INV-{c}-{a:04d}\" ."
            if tangible:
                yield f"{asset} {hh('keptBy')} {r.choice(institutions)} ."
                yield f"{asset} {hh('locatedIn')} {r.choice(places)} ."
                if a % 10 == 0:
                    yield f"{asset} {hh('originalFunction')} {concept(r.choice(FUNCTIONS))} ."
        for t in range(20):
            activity = iri(f"{ID}activity/gen-{c}-{t}")
            yield f"{activity} {RDF_TYPE} {hh(r.choice(ACTIVITY_CLASSES))} ."
            yield f"{activity} {LABEL} {lang(f'Activity {c}-{t} on {self.words(2)}', 'en')} ."
            yield f"{activity} {hh('carriedOutBy')} {r.choice([hub, *institutions])} ."
            yield f"{activity} {hh('tookPlaceAt')} {r.choice(places)} ."
            for asset in r.sample(assets, 3):
                yield f"{activity} {hh('features')} {asset} ."
            yield f"{activity} {hh('usesTechnology')} {concept(r.choice(TECHNOLOGIES))} ."
            self.blank += 1
            span = f"_:ts{self.blank}"
            year = r.randint(1990, 2025)
            yield f"{activity} <{CRM}P4_has_time-span> {span} ."
            yield f"{span} {RDF_TYPE} <{CRM}E52_Time-Span> ."
            yield f"{span} <{CRM}P82a_begin_of_the_begin> {typed(f'{year}-01-01T00:00:00Z', XSD + 'dateTime')} ."
            yield f"{span} <{CRM}P82b_end_of_the_end> {typed(f'{year}-12-31T23:59:59Z', XSD + 'dateTime')} ."
        for n in range(5):
            narrative = iri(f"{ID}narrative/gen-{c}-{n}")
            yield f"{narrative} {RDF_TYPE} {hh('Narrative')} ."
            yield f"{narrative} {LABEL} {lang(f'Narrative {c}-{n} {self.words(3)}', 'en')} ."
            yield f"{narrative} {hh('text')} {lang(self.words(40), 'en')} ."
            yield f"{narrative} {hh('refersTo')} {hub} ."
            yield f"{narrative} {hh('refersTo')} {r.choice(assets)} ."
            yield f"{narrative} {hh('about')} {concept(r.choice(THEMES))} ."
            yield f"{narrative} {hh('givesVoiceTo')} {r.choice(communities)} ."
            yield f"{narrative} {hh('accessNotice')} {concept(r.choice(NOTICES))} ."

    def triples(self, target: int) -> Iterator[str]:
        produced = 0
        cluster = 0
        while produced < target:
            for line in self.cluster(cluster):
                yield line
                produced += 1
                if produced >= target:
                    return
            cluster += 1


def write(target: int, output: IO[str], *, seed: int = 20261127) -> int:
    count = 0
    for line in Generator(seed).triples(target):
        output.write(line)
        output.write("\n")
        count += 1
    return count


def ensure(target: int, directory: Path, *, seed: int = 20261127) -> Path:
    """The generated file for `target` triples, generated once and cached."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"hubs-{target}-{seed}.nt"
    if not path.exists():
        partial = path.with_suffix(".partial")
        with open(partial, "w", encoding="utf-8") as handle:
            write(target, handle, seed=seed)
        partial.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("triples", type=int, help="how many triples (10000, 100000, 1000000, 10000000)")
    parser.add_argument("-o", "--output", type=Path, help="output file (.nt or .nt.gz); default stdout")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    if args.output is None:
        write(args.triples, sys.stdout, seed=args.seed)
        return
    if args.output.suffix == ".gz":
        with gzip.open(args.output, "wt", encoding="utf-8") as handle:
            count = write(args.triples, handle, seed=args.seed)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            count = write(args.triples, handle, seed=args.seed)
    print(f"wrote {count} triples to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
