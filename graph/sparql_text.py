"""A small SPARQL lexer: enough to find keywords and braces outside strings, IRIs and comments."""

from __future__ import annotations

import re
from collections.abc import Iterator

TOKEN = re.compile(
    # Each token ends where the SPARQL grammar ends it: short strings hold no raw line break, comments stop at
    # either end-of-line character, and prefixed names take their backslash escapes (PN_LOCAL_ESC), so no code
    # a parser would read can hide inside a string or comment here.
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\')'
    r'|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)'
    r'|(?P<comment>#[^\r\n]*)'
    r'|(?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)'
    r'|(?P<blank>_:[\w.-]*)'  # a blank node's label (BLANK_NODE_LABEL), not a prefixed name: no prefix starts with _
    r"|(?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[\w.:%-]|\\[_~.\-!$&'()*+,;=/?#@%])*)"
    r'|(?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)'  # "x"@service is a language, not a keyword
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


#: Deeper nesting than this is refused before any parser sees it: the parsers are recursive, and a few kilobytes
#: of brackets overflow a thread's stack (a crash of the whole server process, not an exception).
MAX_NESTING = 128
_BRACKET = re.compile(rb"[\[\](){}]|<<|>>")
_OPENERS = frozenset((b"[", b"(", b"{", b"<<"))


def nesting_depth(data: bytes | str) -> int:
    """How deeply brackets ((), [], {}, << >>) nest in `data`, counted everywhere (strings too: an upper bound)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = deepest = 0
    for match in _BRACKET.finditer(raw):
        if match.group() in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def too_deep(data: bytes | str) -> str | None:
    """'nests brackets N deep (at most M)' when `data` nests deeper than MAX_NESTING, else None (callers name what nests)."""
    depth = nesting_depth(data)
    return f"nests brackets {depth} deep (at most {MAX_NESTING})" if depth > MAX_NESTING else None


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


def code_tokens(text: str) -> list[re.Match[str]]:
    """The tokens of a query or update as a parser reads them: codepoint escapes undone, comments left out."""
    return [m for m in TOKEN.finditer(unescape_codepoints(text)) if m.lastgroup != "comment"]


def is_word(token: re.Match[str], keyword: str) -> bool:
    """Whether `token` is the keyword `keyword` (keywords are case-insensitive)."""
    return token.lastgroup == "word" and token.group().upper() == keyword


_POSITION = re.compile(r"^error at (\d+):(\d+):\s*")


def where_in_text(message: str) -> str:
    """pyoxigraph's "error at 3:14: expected …" said as "at line 3, column 14: expected …"."""
    found = _POSITION.match(message)
    if found is None:
        return ": " + message
    return f"at line {found[1]}, column {found[2]}: {message[found.end():]}"


def dataset_clause_graphs(query: str) -> list[str | None]:
    """The graphs a query's FROM and FROM NAMED clauses name, as absolute IRIs; None for one that cannot be read as an
    absolute IRI here (a relative IRI, a prefix the query does not declare)."""
    tokens = code_tokens(query)
    prefixes: dict[str, str] = {}
    found: list[str | None] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1:index + 3]
        if is_word(token, "PREFIX") and len(following) == 2 and following[0].lastgroup == "pname" \
                and following[1].lastgroup == "iri":
            prefixes[following[0].group()[:-1]] = following[1].group()[1:-1]
        elif is_word(token, "FROM"):
            target = following[1] if following and is_word(following[0], "NAMED") and len(following) > 1 else \
                following[0] if following else None
            if target is None:
                continue
            if target.lastgroup == "iri":
                iri = target.group()[1:-1]
                found.append(iri if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", iri) else None)
            elif target.lastgroup == "pname":
                prefix, _, local = target.group().partition(":")
                found.append(prefixes[prefix] + local if prefix in prefixes and "\\" not in local else None)
            else:
                found.append(None)
    return found


def has_dataset_clause(query: str) -> bool:
    """Whether a query names its own dataset (FROM or FROM NAMED), outside strings, IRIs and comments.

    Such a query's dataset replaces the endpoint's default (the union of all graphs): SPARQL 1.1 §13.2.
    """
    if "from" not in query.lower() and "\\u" not in query.lower():
        return False
    return any(is_word(m, "FROM") for m in code_tokens(query))


def _prefixes_in(text: str) -> Iterator[tuple[str, bool]]:
    """Each prefixed name's prefix in `text`, in order, and whether it stands in a PREFIX declaration."""
    tokens = code_tokens(text)
    for index, token in enumerate(tokens):
        if token.lastgroup == "pname":
            yield token.group().split(":", 1)[0], bool(index and is_word(tokens[index - 1], "PREFIX"))


def undeclared_prefix(text: str, predeclared: dict[str, str] | None = None) -> str | None:
    """The first prefix a query or update uses without declaring it (and that is not predeclared), or None."""
    declared = set(predeclared or ())
    for prefix, declaration in _prefixes_in(text):
        if declaration:
            declared.add(prefix)
        elif prefix not in declared:
            return prefix
    return None


def prefix_message(prefix: str, predeclared: dict[str, str] | None = None) -> str:
    known = f"; this endpoint predeclares {', '.join(sorted(predeclared))}" if predeclared else ""
    return f"prefix '{prefix}:' is not declared: add PREFIX {prefix}: <…> before the query{known}"


def query_form(query: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the query's form (its first such keyword outside strings, IRIs and
    comments, the prologue's PREFIX and BASE declarations holding none), or None."""
    for token in code_tokens(query):
        if token.lastgroup == "word" and token.group().upper() in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return token.group().upper()
    return None


def undeclared_prefixes(text: str, predeclared: dict[str, str]) -> list[str]:
    """The predeclared prefixes `text` uses without declaring them itself, in order of first use."""
    declared: set[str] = set()
    used: dict[str, None] = {}
    for prefix, declaration in _prefixes_in(text):
        if declaration:
            declared.add(prefix)
        elif prefix not in declared and prefix in predeclared:
            used[prefix] = None
    return list(used)


def with_prologue(text: str, predeclared: dict[str, str], base_iri: str | None = None) -> str:
    """`text` with a first line declaring the predeclared prefixes it uses without declaring (and the endpoint's base):
    what an engine that knows neither needs to read it as the embedded store does. Its own declarations follow, and win."""
    if not predeclared and not base_iri:
        return text
    declarations = [f"BASE <{base_iri}>"] if base_iri else []
    declarations += [f"PREFIX {p}: <{predeclared[p]}>" for p in undeclared_prefixes(text, predeclared)]
    return " ".join(declarations) + "\n" + text if declarations else text
