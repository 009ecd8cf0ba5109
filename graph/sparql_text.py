"""A small SPARQL lexer: enough to find keywords and braces outside strings, IRIs and comments."""

from __future__ import annotations

import re

TOKEN = re.compile(
    # Each token ends where the SPARQL grammar ends it: short strings hold no raw line break, comments stop at
    # either end-of-line character, and prefixed names take their backslash escapes (PN_LOCAL_ESC), so no code
    # a parser would read can hide inside a string or comment here.
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\')'
    r'|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)'
    r'|(?P<comment>#[^\r\n]*)'
    r'|(?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)'
    r"|(?P<pname>(?:[A-Za-z_][\w.-]*)?:(?:[\w.:%-]|\\[_~.\-!$&'()*+,;=/?#@%])*)"
    r'|(?P<word>[A-Za-z]+)'
    r'|(?P<open>\{)|(?P<close>\})'
    r'|(?P<other>\S)',
    re.S,
)



_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def unescape_codepoints(text: str) -> str:
    """The text with SPARQL's \\u/\\U codepoint escapes undone, as a parser sees it (SPARQL 1.1 §19.2)."""
    def char(match: re.Match[str]) -> str:
        try:
            return chr(int(match.group(1) or match.group(2), 16))
        except ValueError:  # beyond Unicode: left as written, the parser refuses it
            return match.group()
    return _ESCAPE.sub(char, text)


def where_group_start(query: str) -> int | None:
    """The offset just after the `{` that opens the query's top-level WHERE group."""
    depth = 0
    seen_where = False
    for match in TOKEN.finditer(query):
        kind = match.lastgroup
        if kind == "word" and depth == 0 and match.group().upper() == "WHERE":
            seen_where = True
        elif kind == "open":
            if seen_where and depth == 0:
                return match.end()
            depth += 1
        elif kind == "close":
            depth -= 1
    return None
