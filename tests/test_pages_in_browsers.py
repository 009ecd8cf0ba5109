"""Every page type in headless Chromium at 360, 768 and 1280 px, in English, Italian and Spanish: no horizontal
overflow, no console error, no interface phrase left in English, and axe-core (WCAG 2.1 AA) without a serious or
critical violation. A screenshot of each page is kept under test-artefacts/pages/ (or $HERITAGE_HUBS_ARTEFACTS), not
committed."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from .conftest import ROOT, LiveServer, WritableBackend, http_request, module_backend, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (360, 768, 1280)
#: One of each kind of page (name: path); names are the screenshots' file names.
PAGES = {
    "home": "/",
    "hubs": "/hubs",
    "search": "/search?q=tab",
    "search-narrowed": "/search?q=torino&kind=institutions",
    "search-nothing": "/search?q=zzqqzz",
    "browse": "/browse/institutions",
    "map": "/map",
    "timeline": "/timeline",
    "timeline-year": "/timeline?year=2015",
    "network": "/network",
    "hub": "/doc/hub/tabakalera",
    "hub-founded": "/doc/hub/polo-del-900",
    "place": "/doc/place/turin",
    "asset": "/doc/asset/tabakalera-building",
    "activity": "/doc/activity/ehh-launch",
    "concept": "/doc/concept/industrial-heritage",
    "graph": "/doc/graph/core",
    "browse-places": "/browse/places",
    "void": "/.well-known/void",
    "feed": "/feed/view",
    "feed-page": "/feed/page/0",
    "dumps": "/dumps/",
    "ontology": "/ontology",
    "sparql": "/sparql",
    "fragments": "/fragments",
    "fragments-matching": "/fragments?subject=https%3A%2F%2Fw3id.org%2Fheritage-hubs%2Fid%2Fhub%2Ftabakalera",
    "api": "/api/docs",
    "not-found": "/nowhere",
}
#: Text of the page that is in the page's language (not inside an element whose lang says otherwise), and the
#: readable attributes.
VISIBLE_TEXT = """lang => {
  // Data (names, literals: translate="no") and widgets that are not ours (the query editor, the map's controls) are
  // not the interface.
  const ours = el => !el.closest('script, style, code, pre, textarea, [translate=no], #yasgui, .leaflet-control-container')
                     && (el.closest('[lang]') || document.documentElement).getAttribute('lang') === lang;
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent && ours(parent)) texts.push(walker.currentNode.textContent);
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [data-label]')) {
    if (!ours(el)) continue;
    for (const name of ['aria-label', 'placeholder', 'title', 'data-label']) {
      if (el.hasAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts;
}"""
AXE_SERIOUS = ("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
               ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
               ".map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))")


def _english_phrases(language: str) -> set[str]:
    """The interface's phrases (without placeholders) whose translation into `language` differs from the English."""
    with (ROOT / "server" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    return {m.id for m in catalogue if isinstance(m.id, str) and m.id and "%(" not in m.id and m.string != m.id}


def _pieces(text: str) -> Iterator[str]:
    """A text and its parts between separators, as a phrase may stand among others ("Browse: Hubs · Places")."""
    yield text.strip()
    for piece in re.split(r"\s*[·:,;()\n…]\s*", text):
        if piece.strip():
            yield piece.strip()


@pytest.fixture(scope="module")
def server(writable_backend: WritableBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`serve` on each backend in turn: an empty store it seeds itself, or an engine holding the bundled data."""
    template = None if writable_backend.pristine is None else writable_backend.pristine
    with module_backend(writable_backend, tmp_path_factory.mktemp("browsers"), template=template) as (location, _):
        # No map tiles: this machine reaches no tile server, and the pages must say so rather than fail.
        found = start_server(location, extra_env={"HERITAGE_HUBS_TILES_URL": ""})
        yield found
        stop_server(found)


def _pages(server: LiveServer) -> dict[str, str]:
    """PAGES, with the feed's first page as the feed's own page links it (a restore over an engine starts the feed
    again at a later page)."""
    _, _, body = http_request(server.url + "/feed/view", headers={"Accept": "text/html"})
    first = re.search(r'href="(/feed/page/\d+)"', body.decode())
    assert first, "the feed's page links no page"
    return {**PAGES, "feed-page": first[1]}


def _artefacts(backend: str = "embedded") -> Path:
    folder = Path(os.environ.get("HERITAGE_HUBS_ARTEFACTS", ROOT / "test-artefacts")) / "pages"
    if backend != "embedded":
        folder = folder / backend
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.skipif((not CHROMIUM.exists() or not AXE.exists()) and not os.environ.get("CI"),
                    reason="needs Debian's chromium and axe-core (installed by ./run)")
@pytest.mark.parametrize("language", ["en", "it", "es"])
def test_every_page_type_at_every_width(server: LiveServer, language: str, writable_backend: WritableBackend) -> None:
    from playwright.sync_api import sync_playwright

    english = _english_phrases(language) if language != "en" else set()
    problems: dict[str, list[str]] = {}
    artefacts = _artefacts(writable_backend.name)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        for width in WIDTHS:
            # axe is injected with the page's CSP bypassed: the pages themselves never run inline script.
            context = browser.new_context(viewport={"width": width, "height": 900}, locale=language, bypass_csp=True,
                                          extra_http_headers={"Accept-Language": language})
            page = context.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            for name, path in _pages(server).items():
                errors.clear()
                page.goto(server.url + path, wait_until="load")
                if page.locator("#map").count():
                    page.wait_for_selector(".leaflet-interactive")  # the map drew its points
                    page.wait_for_selector(".leaflet-outline-pane path", state="attached")  # over the countries, served from here
                    assert page.locator(".tiles-missing").is_visible(), (name, "no tiles, and the page does not say so")
                if name == "sparql":
                    page.wait_for_function("window.heritageHubsEditor !== undefined")
                where = f"{name} {width}px {language}"
                found: list[str] = []
                if page.evaluate("document.documentElement.lang") != language:
                    found.append("lang attribute " + page.evaluate("document.documentElement.lang"))
                overflow = page.evaluate("document.scrollingElement.scrollWidth")
                if overflow > width:
                    found.append(f"scrolls sideways: {overflow} px")
                # The missing page's own 404 is the one console message expected.
                found += [f"console: {e}" for e in errors if not (name == "not-found" and "404" in e)]
                left = sorted({p for text in page.evaluate(VISIBLE_TEXT, language) for p in _pieces(text or "") if p in english})
                if left:
                    found.append(f"untranslated: {left}")
                page.add_script_tag(path=str(AXE))
                found += [f"axe: {v}" for v in page.evaluate(AXE_SERIOUS)]
                page.screenshot(path=str(artefacts / f"{name}-{width}-{language}.png"), full_page=True)
                if found:
                    problems[where] = found
            context.close()
        browser.close()
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())
    assert all((artefacts / f"{name}-{w}-{language}.png").stat().st_size > 5_000 for name in PAGES for w in WIDTHS)


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium (installed by ./run)")
def test_the_language_switch_and_the_keyboard_in_chromium(server: LiveServer) -> None:
    """A visitor with an English browser picks Italiano in the footer and keeps reading in Italian; the search box,
    the links and the facets are reached with Tab, and the focused element is visibly outlined."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"])
        page = browser.new_context(locale="en", extra_http_headers={"Accept-Language": "en"}).new_page()
        page.goto(server.url + "/", wait_until="load")
        assert page.evaluate("document.documentElement.lang") == "en"
        page.click("footer nav.languages a[lang=it]")
        assert page.evaluate("document.documentElement.lang") == "it" and page.locator("h1").inner_text() == "Hub del patrimonio"
        page.goto(server.url + "/browse/hubs", wait_until="load")
        assert page.evaluate("document.documentElement.lang") == "it" and page.locator("h1").inner_text() == "Hub"
        # The keyboard: the first Tab stops are the brand, the site's sections, the search box; each is outlined.
        page.goto(server.url + "/hubs", wait_until="load")
        reached = []
        for _ in range(8):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("[document.activeElement.tagName, getComputedStyle(document.activeElement).outlineStyle]"))
        assert reached[:6] == [["A", "solid"]] * 5 + [["INPUT", "solid"]], reached
        page.goto(server.url + "/hubs", wait_until="load")
        for _ in range(6):
            page.keyboard.press("Tab")
        page.keyboard.type("tabak")
        page.keyboard.press("Enter")
        page.wait_for_url("**/search?q=tabak*")
        assert page.locator("ul.results a", has_text="Tabakalera").count() >= 1
        browser.close()
