"""A small SPARQL lexer: enough to find keywords and braces outside strings, IRIs and comments."""

from __future__ import annotations

import re

TOKEN = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
    r'|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)'
    r'|(?P<comment>#[^\n]*)'
    r'|(?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)'
    r'|(?P<pname>[A-Za-z_][\w.-]*:[\w.:%-]*|:[\w.:%-]*)'
    r'|(?P<word>[A-Za-z]+)'
    r'|(?P<open>\{)|(?P<close>\})'
    r'|(?P<other>\S)',
    re.S,
)



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
