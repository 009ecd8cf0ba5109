"""What a public endpoint refuses before a query or update reaches the store.

pyoxigraph follows ``SERVICE <http://…>`` and ``LOAD <http://…>`` with real
HTTP requests (no timeout, no way to switch it off), so a query received over
HTTP must not contain them unless the endpoint is on an allow-list. (The
query processes also leave the network where the OS allows: a second line.)

The check reads the request with a lexer (:mod:`.sparql_text`), in one pass
of linear cost and without parsing: after undoing the codepoint escapes that
SPARQL 1.1 §19.2 allows anywhere, the keyword can only be a word token
outside strings, IRIs and comments, and the lexer's strings, IRIs and comments
end where the grammar ends them (a comment at either end-of-line character;
a string at its first unescaped quote). "service" in a literal, a comment, a
variable or a prefixed name is therefore never mistaken for the keyword, and
the keyword is never hidden from the check in text a SPARQL parser would
read as code. A SERVICE endpoint must be written as a full IRI on the
allow-list; a variable or prefixed name is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sparql_text import code_tokens, is_word, unescape_codepoints


class RefusedOperation(Exception):
    """A query or update uses an operation the endpoint does not allow."""


@dataclass(frozen=True)
class NetworkPolicy:
    """Which federated endpoints SERVICE may reach (none by default)."""

    allowed_services: frozenset[str] = frozenset()

    def check_query(self, query: str) -> None:
        """Raise RefusedOperation if `query` would contact a host not allowed."""
        if "service" not in unescape_codepoints(query).lower():
            return  # the keyword cannot be spelled without its letters
        self._check_services(code_tokens(query))

    def _check_services(self, tokens: list[re.Match[str]]) -> None:
        for index in range(len(tokens)):
            if not is_word(tokens[index], "SERVICE"):
                continue
            following = index + 1
            if following < len(tokens) and is_word(tokens[following], "SILENT"):
                following += 1
            kind, text = (tokens[following].lastgroup, tokens[following].group()) if following < len(tokens) else ("other", "")
            endpoint = text[1:-1] if kind == "iri" else None
            if endpoint is None or endpoint not in self.allowed_services:
                shown = f"<{endpoint}>" if endpoint else "an endpoint not written as a full IRI"
                raise RefusedOperation(
                    f"SERVICE {shown} is not allowed here: this endpoint does not send queries to other servers"
                    + (f" (allowed: {', '.join(sorted(self.allowed_services))})" if self.allowed_services else "")
                )

    def check_update(self, update: str) -> None:
        """Raise RefusedOperation for LOAD (and SERVICE inside an update)."""
        text = unescape_codepoints(update).lower()
        if "load" not in text and "service" not in text:
            return
        tokens = code_tokens(update)
        if any(is_word(token, "LOAD") for token in tokens):
            raise RefusedOperation("LOAD is not allowed here: the endpoint does not fetch data from the network or the file system; "
                                   "send the data itself (Graph Store Protocol or INSERT DATA)")
        try:
            self._check_services(tokens)
        except RefusedOperation:
            raise RefusedOperation("SERVICE is not allowed inside an update") from None
