"""The interface in English, Italian and Spanish: gettext catalogues that cover every phrase, templates without a word
outside them, the language switch and its cookie, and dates and numbers as each language writes them."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from jinja2 import Environment

from .conftest import ROOT, http_request, start_server, stop_server

TRANSLATIONS = ROOT / "server" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "lazy_pgettext": ((1, "c"), 2)}
#: Names that stay as they are in every language: formats, standards, the project.
NAMES = ("heritage-hubs", "OpenAPI 3.1", "OpenAPI", "SPARQL JSON", "SPARQL", "VoID", "DCAT-AP", "JSON-LD", "JSON", "Turtle",
         "N-Triples", "N-Quads", "RDF/XML", "CSV", "CC BY 4.0", "WGS84", "API")


def _phrases() -> set[tuple[str | None, str]]:
    """(context, msgid) of every phrase in the code, templates and named queries, as ./run i18n extracts them."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.add((context, msgid))
    return found


@pytest.mark.parametrize("language", ["it", "es"])
def test_every_phrase_is_translated(language: str) -> None:
    """Each phrase is in the catalogue, translated (every plural form), not fuzzy, with the same placeholders."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    phrases = _phrases()
    assert len(phrases) > 150
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms) and not message.fuzzy, (msgid, forms)
        for form in forms:
            assert set(re.findall(r"%\((\w+)\)s", form)) == set(re.findall(r"%\((\w+)\)s", msgid)), (msgid, form)
        translated[(message.context, msgid)] = forms
    assert phrases - set(translated) == set(), f"not in the {language} catalogue: run ./run i18n and translate them"
    assert set(translated) - phrases == set(), "phrases no longer used: run ./run i18n"
    assert [str(e) for _, errors in catalogue.check() for e in errors] == []


@pytest.mark.parametrize("language", ["it", "es"])
def test_the_compiled_catalogues_are_their_sources(language: str) -> None:
    """The .mo files the server reads are the .po files compiled (./run i18n compiles them)."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert (folder / "messages.mo").read_bytes() == compiled.getvalue()


class _Words(HTMLParser):
    """Text and readable attributes of a template's literal parts (what is not Jinja)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre", "title"):
            self.skipping += 1
        self.found += [value for name, value in attrs if name in ("title", "alt", "placeholder", "aria-label") and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre", "title"):
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.found.append(data)


def test_templates_have_no_words_outside_the_catalogues() -> None:
    """Every word a template writes goes through gettext, except the names of formats and standards."""
    environment = Environment(extensions=["jinja2.ext.i18n"])
    leftovers = {}
    for template in sorted((ROOT / "server" / "templates").glob("*.html")):
        literal = "".join(value if kind == "data" else " " for _, kind, value in environment.lex(template.read_text()))
        # The title is checked apart: its words are a block of the page, and its suffix is the project's name.
        literal += " ".join(re.findall(r"<title>(.*?)</title>", literal))
        words = _Words()
        words.feed(literal)
        text = " ".join(words.found)
        for name in NAMES:
            text = text.replace(name, " ")
        if re.search(r"[A-Za-z]{2,}", text):
            leftovers[template.name] = re.findall(r"[A-Za-z]{2,}", text)
    assert leftovers == {}


def test_a_visitor_chooses_a_language_and_keeps_it(backend_client: FlaskClient) -> None:
    """?lang= wins over Accept-Language and is kept in a cookie; the cookie wins next time; pages vary on both."""
    first = backend_client.get("/?lang=it", headers={"Accept-Language": "es"})
    assert '<html lang="it">' in first.get_data(as_text=True) and "<h1>Hub del patrimonio</h1>" in first.get_data(as_text=True)
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("lang=it;") and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert {"Accept-Language", "Cookie"} <= set(first.vary) and first.headers["Cache-Control"] == "private"
    later = backend_client.get("/browse/hubs", headers={"Accept-Language": "es"})  # the test client sends the cookie back
    assert '<html lang="it">' in later.get_data(as_text=True) and "Set-Cookie" not in later.headers
    # The footer offers the other languages, each named in itself and tagged with its language.
    assert '<a href="?lang=es" lang="es" hreflang="es" rel="alternate">Español</a>' in later.get_data(as_text=True)
    backend_client.delete_cookie("lang")
    assert '<html lang="es">' in backend_client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    nonsense = backend_client.get("/?lang=xx", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in nonsense.get_data(as_text=True) and "Set-Cookie" not in nonsense.headers


def test_dates_and_numbers_as_each_language_writes_them(backend_client: FlaskClient) -> None:
    counts = {}
    for language in ("en", "it", "es"):
        page = backend_client.get("/.well-known/void", headers={"Accept": "text/html", "Accept-Language": language}).get_data(as_text=True)
        counts[language] = re.search(r"<th>[^<]+</th><td>([0-9.,\u202f\xa0]+)</td>", page)[1]  # type: ignore[index]
    assert "," in counts["en"] and "." in counts["it"] and counts["en"].replace(",", "") == counts["it"].replace(".", "")
    activity = backend_client.get("/doc/activity/ehh-launch", headers={"Accept": "text/html", "Accept-Language": "it"}).get_data(as_text=True)
    assert "Quando: dal 10 maggio 2023 all" in activity or "Quando: dal 10 maggio 2023 al 11 maggio 2023" in activity


def test_the_server_cache_keeps_each_language_apart(store_location: str) -> None:
    """Pages answered before Flask (the document cache) depend on the language cookie as they do on Accept-Language,
    on every backend."""
    server = start_server(store_location, workers=1)
    try:
        url = server.url + "/doc/hub/polo-del-900"
        for _ in range(2):  # the second round is answered from the cache
            for language, founded in (("it", "Fondato nel 2015"), ("es", "Fundado en 2015"), ("en", "Founded in 2015")):
                status, _, body = http_request(url, headers={"Accept": "text/html", "Cookie": f"theme=dark; lang={language}"})
                assert status == 200 and founded in body.decode(), language
    finally:
        stop_server(server)


def test_named_query_summaries_are_translated(backend_client: FlaskClient) -> None:
    page = backend_client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Las instituciones socias de cada centro y sus tipos" in page


def test_a_date_before_the_common_era_is_shown_as_written() -> None:
    from heritage_hubs.server.i18n import day

    assert day("-0300-05-01", "it") == "-0300-05-01" and day("2023-02-31", "en") == "2023-02-31"
    assert day("1945-04-25T10:00:00Z", "en") == "25 April 1945" and day("1945-04-25", "es") == "25 de abril de 1945"


def test_the_html_lang_of_untranslated_data_says_english(backend_client: FlaskClient) -> None:
    """Texts that are not translated (a query's description, an error message) say they are English."""
    docs = backend_client.get("/api/docs", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert '<html lang="it">' in docs and '<span lang="en">' in docs
    missing = backend_client.get("/nowhere", headers={"Accept": "text/html", "Accept-Language": "it"}).get_data(as_text=True)
    assert '<p class="error" lang="en">' in missing and ">Inizio<" in missing
