"""The words of the interface in the visitor's language (English, Italian, Spanish), chosen like the data's labels
from `Accept-Language`. Templates say `{{ t("Hubs") }}`; a phrase without a translation is shown in English (a test
keeps every phrase the templates use translated)."""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    "it": {
        "Search names": "Cerca nomi",
        "Search": "Cerca",
        "Data licensed CC BY 4.0": "Dati con licenza CC BY 4.0",
        "canonical base": "base canonica",
        "ontology": "ontologia",
        "Heritage hubs": "Hub del patrimonio",
        "Cultural centres, research centres, community spaces and digital platforms where institutions, businesses, "
        "NGOs and citizens keep tangible and intangible heritage alive — published as Linked Open Data, aligned with "
        "CIDOC-CRM.": "Centri culturali, centri di ricerca, spazi di comunità e piattaforme digitali dove istituzioni, "
        "imprese, ONG e cittadini mantengono vivo il patrimonio materiale e immateriale, pubblicati come Linked Open "
        "Data e allineati a CIDOC-CRM.",
        "SPARQL query editor": "Editor di query SPARQL",
        "Ontology": "Ontologia",
        "Dataset description (VoID)": "Descrizione del dataset (VoID)",
        "Dumps": "Dump",
        "Change feed (LDES)": "Flusso delle modifiche (LDES)",
        "Fragments": "Frammenti",
        "Hubs": "Hub",
        "All hubs": "Tutti gli hub",
        "Ask the graph": "Interroga il grafo",
        "Write SPARQL in the query editor, or use a ready-made question:": "Scrivi SPARQL nell'editor, o usa una domanda pronta:",
        "API documentation": "documentazione dell'API",
        "Graphs": "Grafi",
        "Graph": "Grafo",
        "Triples": "Triple",
        "Title": "Titolo",
        "Modified": "Modificato",
        "more graphs: see the dataset description.": "altri grafi: vedi la descrizione del dataset.",
        "in the order of their names; page": "in ordine di nome; pagina",
        "of": "di",
        "in all": "in tutto",
        "Previous": "Precedente",
        "Next": "Successiva",
        "Browse": "Sfoglia",
        "Institutions": "Istituzioni",
        "Heritage assets": "Beni del patrimonio",
        "Places": "Luoghi",
        "Narratives": "Narrazioni",
        "Activities": "Attività",
        "Names of hubs, institutions, assets, places, people, themes": "Nomi di hub, istituzioni, beni, luoghi, persone, temi",
        "results for": "risultati per",
        "Nothing is called": "Nessun nome corrisponde a",
        "Try fewer words, or browse below.": "Prova con meno parole, o sfoglia qui sotto.",
        "Also as": "Anche come",
        "Narratives about it": "Narrazioni che ne parlano",
        "Property": "Proprietà",
        "Value": "Valore",
        "Linked from": "Collegato da",
        "more": "altri",
        "No point of its own: shown at": "Nessun punto proprio: mostrato presso",
        "where it is.": "dove si trova.",
        "The map tiles cannot be loaded; the point is at the coordinates above.":
            "Le tessere della mappa non si possono caricare; il punto è alle coordinate qui sopra.",
        "Names and description": "Nomi e descrizione",
        "Kinds and themes": "Tipi e temi",
        "People and organisations": "Persone e organizzazioni",
        "Place and time": "Luogo e tempo",
        "Heritage": "Patrimonio",
        "Sources and links": "Fonti e collegamenti",
        "Other statements": "Altre affermazioni",
        "Home": "Inizio",
    },
    "es": {
        "Search names": "Buscar nombres",
        "Search": "Buscar",
        "Data licensed CC BY 4.0": "Datos con licencia CC BY 4.0",
        "canonical base": "base canónica",
        "ontology": "ontología",
        "Heritage hubs": "Centros de patrimonio",
        "Cultural centres, research centres, community spaces and digital platforms where institutions, businesses, "
        "NGOs and citizens keep tangible and intangible heritage alive — published as Linked Open Data, aligned with "
        "CIDOC-CRM.": "Centros culturales, centros de investigación, espacios comunitarios y plataformas digitales donde "
        "instituciones, empresas, ONG y ciudadanos mantienen vivo el patrimonio material e inmaterial, publicados como "
        "Linked Open Data y alineados con CIDOC-CRM.",
        "SPARQL query editor": "Editor de consultas SPARQL",
        "Ontology": "Ontología",
        "Dataset description (VoID)": "Descripción del conjunto de datos (VoID)",
        "Dumps": "Volcados",
        "Change feed (LDES)": "Flujo de cambios (LDES)",
        "Fragments": "Fragmentos",
        "Hubs": "Centros",
        "All hubs": "Todos los centros",
        "Ask the graph": "Pregunta al grafo",
        "Write SPARQL in the query editor, or use a ready-made question:": "Escribe SPARQL en el editor, o usa una pregunta preparada:",
        "API documentation": "documentación de la API",
        "Graphs": "Grafos",
        "Graph": "Grafo",
        "Triples": "Tripletas",
        "Title": "Título",
        "Modified": "Modificado",
        "more graphs: see the dataset description.": "grafos más: ver la descripción del conjunto de datos.",
        "in the order of their names; page": "por orden de nombre; página",
        "of": "de",
        "in all": "en total",
        "Previous": "Anterior",
        "Next": "Siguiente",
        "Browse": "Explorar",
        "Institutions": "Instituciones",
        "Heritage assets": "Bienes patrimoniales",
        "Places": "Lugares",
        "Narratives": "Narraciones",
        "Activities": "Actividades",
        "Names of hubs, institutions, assets, places, people, themes":
            "Nombres de centros, instituciones, bienes, lugares, personas, temas",
        "results for": "resultados para",
        "Nothing is called": "Nada se llama",
        "Try fewer words, or browse below.": "Prueba con menos palabras, o explora abajo.",
        "Also as": "También como",
        "Narratives about it": "Narraciones sobre esto",
        "Property": "Propiedad",
        "Value": "Valor",
        "Linked from": "Enlazado desde",
        "more": "más",
        "No point of its own: shown at": "Sin punto propio: se muestra en",
        "where it is.": "donde está.",
        "The map tiles cannot be loaded; the point is at the coordinates above.":
            "No se pueden cargar las teselas del mapa; el punto está en las coordenadas de arriba.",
        "Names and description": "Nombres y descripción",
        "Kinds and themes": "Tipos y temas",
        "People and organisations": "Personas y organizaciones",
        "Place and time": "Lugar y tiempo",
        "Heritage": "Patrimonio",
        "Sources and links": "Fuentes y enlaces",
        "Other statements": "Otras afirmaciones",
        "Home": "Inicio",
    },
}


def translate(text: str, language: str) -> str:
    """`text` in `language`, or as it is (English) when there is no translation."""
    return UI.get(language, {}).get(text, text)


#: What the properties of other vocabularies are called on pages (ours have labels in the ontology), by language.
PROPERTY_NAMES: dict[str, tuple[str, str, str]] = {
    "http://www.w3.org/2000/01/rdf-schema#label": ("name", "nome", "nombre"),
    "http://www.w3.org/2000/01/rdf-schema#comment": ("comment", "commento", "comentario"),
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": ("kind", "tipo", "tipo"),
    "http://purl.org/dc/terms/source": ("source", "fonte", "fuente"),
    "http://purl.org/dc/terms/created": ("made", "realizzato", "realizado"),
    "http://purl.org/dc/terms/description": ("description", "descrizione", "descripción"),
    "http://www.w3.org/2003/01/geo/wgs84_pos#lat": ("latitude", "latitudine", "latitud"),
    "http://www.w3.org/2003/01/geo/wgs84_pos#long": ("longitude", "longitudine", "longitud"),
    "http://xmlns.com/foaf/0.1/homepage": ("web site", "sito web", "sitio web"),
    "http://www.w3.org/2002/07/owl#sameAs": ("same as", "lo stesso di", "el mismo que"),
    "http://www.w3.org/2004/02/skos/core#exactMatch": ("same as", "lo stesso di", "el mismo que"),
    "http://www.w3.org/2004/02/skos/core#closeMatch": ("close to", "simile a", "parecido a"),
    "http://www.w3.org/2004/02/skos/core#prefLabel": ("name", "nome", "nombre"),
    "http://www.w3.org/2004/02/skos/core#altLabel": ("also called", "detto anche", "también llamado"),
    "http://www.cidoc-crm.org/cidoc-crm/P2_has_type": ("type or theme", "tipo o tema", "tipo o tema"),
    "http://www.cidoc-crm.org/cidoc-crm/P95i_was_formed_by": ("founded", "fondazione", "fundación"),
    "http://www.cidoc-crm.org/cidoc-crm/P14_carried_out_by": ("by", "da", "por"),
    "http://www.cidoc-crm.org/cidoc-crm/P4_has_time-span": ("when", "quando", "cuándo"),
    "http://www.cidoc-crm.org/cidoc-crm/P82a_begin_of_the_begin": ("from", "dal", "desde"),
    "http://www.cidoc-crm.org/cidoc-crm/P82b_end_of_the_end": ("until", "fino al", "hasta"),
    "http://www.cidoc-crm.org/cidoc-crm/P89_falls_within": ("within", "dentro", "dentro de"),
    "http://www.cidoc-crm.org/cidoc-crm/P168_place_is_defined_by": ("geometry (WKT)", "geometria (WKT)", "geometría (WKT)"),
}
_ORDER = ("en", "it", "es")


def property_name(iri: str, language: str) -> str | None:
    """What a property of another vocabulary is called on a page, in `language`; None for one we do not name."""
    names = PROPERTY_NAMES.get(iri)
    return None if names is None else names[_ORDER.index(language) if language in _ORDER else 0]


MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
           "December"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre",
           "dicembre"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
           "diciembre"),
}
_WORDS = {  # the words of a time span, and of a founding
    "en": {"in": "in", "from": "from", "to": "to", "founded": "Founded", "by": "by", "when": "When"},
    "it": {"in": "nel", "from": "dal", "to": "al", "founded": "Fondato", "by": "da", "when": "Quando"},
    "es": {"in": "en", "from": "del", "to": "al", "founded": "Fundado", "by": "por", "when": "Cuándo"},
}


def word(key: str, language: str) -> str:
    return _WORDS.get(language, _WORDS["en"])[key]


def day(value: str, language: str) -> str:
    """An xsd:date or xsd:dateTime as people write a day: 25 April 1945, 25 aprile 1945, 25 de abril de 1945."""
    year, month, number = value[:4], int(value[5:7]), int(value[8:10])
    name = MONTHS.get(language, MONTHS["en"])[month - 1]
    return f"{number} de {name} de {year}" if language == "es" else f"{number} {name} {year}"


def span(begin: str | None, end: str | None, language: str) -> str | None:
    """A time span in words: a whole year as the year, one day as the day, else from … to …; None without a begin."""
    if not begin:
        return None
    if end and begin[:4] == end[:4] and begin[5:10] == "01-01" and end[5:10] == "12-31":
        return f"{word('in', language)} {begin[:4]}"
    if not end or begin[:10] == end[:10]:
        return day(begin, language)
    return f"{word('from', language)} {day(begin, language)} {word('to', language)} {day(end, language)}"
