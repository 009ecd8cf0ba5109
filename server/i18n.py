"""The words of the interface in the visitor's language (English, Italian, Spanish), with Flask-Babel and gettext
catalogues (`server/translations/{it,es}/LC_MESSAGES/messages.po`, compiled to `.mo`; `./run i18n` extracts, merges
and compiles them).

The language is, in this order: `?lang=` on the request (the language switch in every footer, which also keeps the
choice in a `lang` cookie), the `lang` cookie, the best match of `Accept-Language`, English. The same choice picks
the data's labels, so a page's `lang` attribute says what it is written in. Templates say `{{ _("Hubs") }}`; Python
code says `gettext(...)`, or `N_(...)` for a phrase translated where it is shown. Tests keep every phrase translated
(tests/test_i18n.py) and the compiled catalogues equal to their sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from babel.dates import format_date
from flask import Flask, Response, request
from flask_babel import Babel, format_decimal, gettext, lazy_pgettext

from ..graph.catalog import LANGUAGES

#: The cookie that keeps a visitor's choice of language.
COOKIE = "lang"
TRANSLATIONS = Path(__file__).parent / "translations"
#: Whose conventions dates follow in each language (English pages write 25 April 1945).
DATE_LOCALES = {"en": "en_GB", "it": "it_IT", "es": "es_ES"}
#: Each language's name in itself, for the language switch.
NATIVE_NAMES = {"en": "English", "it": "Italiano", "es": "Español"}


def N_(text: str) -> str:
    """Marks a phrase for the catalogues where it is defined; it is translated where it is shown."""
    return text


def preferred_language() -> str:
    """The visitor's language: `?lang=`, else the `lang` cookie, else `Accept-Language`, else English."""
    asked = request.args.get(COOKIE)
    if asked in LANGUAGES:
        return str(asked)
    kept = request.cookies.get(COOKIE)
    if kept in LANGUAGES:
        return str(kept)
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_app(app: Flask) -> None:
    """Flask-Babel on the app, and the language switch's cookie on pages."""
    Babel(app, locale_selector=preferred_language, default_translation_directories=str(TRANSLATIONS))
    # Numbers as the visitor writes them: 1,234 in English, 1.234 in Italian and Spanish.
    app.jinja_env.filters["number"] = format_decimal

    @app.after_request
    def _remember(response: Response) -> Response:
        if response.mimetype != "text/html":
            return response
        # A page's words depend on these; a shared cache must not give one visitor's language to another.
        response.vary.update(("Accept-Language", "Cookie"))
        asked = request.args.get(COOKIE)
        if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
            response.set_cookie(COOKIE, str(asked), max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                                secure=request.is_secure)
            response.headers["Cache-Control"] = "private"
        return response


#: What the properties of other vocabularies are called on pages (ours have labels in the ontology).
PROPERTY_NAMES: dict[str, Any] = {
    "http://www.w3.org/2000/01/rdf-schema#label": lazy_pgettext("property", "name"),
    "http://www.w3.org/2000/01/rdf-schema#comment": lazy_pgettext("property", "comment"),
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": lazy_pgettext("property", "kind"),
    "http://purl.org/dc/terms/source": lazy_pgettext("property", "source"),
    "http://purl.org/dc/terms/created": lazy_pgettext("property", "made"),
    "http://purl.org/dc/terms/description": lazy_pgettext("property", "description"),
    "http://www.w3.org/2003/01/geo/wgs84_pos#lat": lazy_pgettext("property", "latitude"),
    "http://www.w3.org/2003/01/geo/wgs84_pos#long": lazy_pgettext("property", "longitude"),
    "http://xmlns.com/foaf/0.1/homepage": lazy_pgettext("property", "web site"),
    "http://www.w3.org/2002/07/owl#sameAs": lazy_pgettext("property", "same as"),
    "http://www.w3.org/2004/02/skos/core#exactMatch": lazy_pgettext("property", "same as"),
    "http://www.w3.org/2004/02/skos/core#closeMatch": lazy_pgettext("property", "close to"),
    "http://www.w3.org/2004/02/skos/core#prefLabel": lazy_pgettext("property", "name"),
    "http://www.w3.org/2004/02/skos/core#altLabel": lazy_pgettext("property", "also called"),
    "http://www.cidoc-crm.org/cidoc-crm/P2_has_type": lazy_pgettext("property", "type or theme"),
    "http://www.cidoc-crm.org/cidoc-crm/P95i_was_formed_by": lazy_pgettext("property", "founded"),
    "http://www.cidoc-crm.org/cidoc-crm/P14_carried_out_by": lazy_pgettext("property", "by"),
    "http://www.cidoc-crm.org/cidoc-crm/P4_has_time-span": lazy_pgettext("property", "when"),
    "http://www.cidoc-crm.org/cidoc-crm/P82a_begin_of_the_begin": lazy_pgettext("property", "from"),
    "http://www.cidoc-crm.org/cidoc-crm/P82b_end_of_the_end": lazy_pgettext("property", "until"),
    "http://www.cidoc-crm.org/cidoc-crm/P89_falls_within": lazy_pgettext("property", "within"),
    "http://www.cidoc-crm.org/cidoc-crm/P168_place_is_defined_by": lazy_pgettext("property", "geometry (WKT)"),
}


def property_name(iri: str) -> str | None:
    """What a property of another vocabulary is called on a page, in the visitor's language; None for one we do not name."""
    name = PROPERTY_NAMES.get(iri)
    return None if name is None else str(name)


_DAY = re.compile(r"(-?\d{4,})-(\d{2})-(\d{2})")


def day(value: str, language: str) -> str:
    """An xsd:date or xsd:dateTime as people write a day: 25 April 1945, 25 aprile 1945, 25 de abril de 1945."""
    found = _DAY.match(value)
    if found is None or not 1 <= int(found[1]) <= 9999:
        return value  # a year before the common era, or past 9999: as written
    try:
        when = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:  # 31 February
        return value
    return format_date(when, format="long", locale=DATE_LOCALES.get(language, "en_GB"))


def span(begin: str | None, end: str | None, language: str) -> str | None:
    """A time span in words: a whole year as the year, one day as the day, else from … to …; None without a begin."""
    if not begin:
        return None
    if end and begin[:4] == end[:4] and begin[5:10] == "01-01" and end[5:10] == "12-31":
        return str(gettext("in %(year)s", year=begin[:4]))
    if not end or begin[:10] == end[:10]:
        return day(begin, language)
    return str(gettext("from %(begin)s to %(end)s", begin=day(begin, language), end=day(end, language)))


def extract_summaries(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extractor for the `# summary:` line of a named query (babel.cfg)."""
    for number, line in enumerate(fileobj.read().decode("utf-8").splitlines(), start=1):
        if line.startswith("# summary:"):
            yield number, "gettext", line.split(":", 1)[1].strip(), ["summary of a named query"]
