"""Write tokens of a store kept in a SPARQL engine, kept in the engine: every host in front of it knows every token.

A token is one statement in the graph ``{base}graph/tokens``, which the
service never describes (in no query's dataset, dump or count; no token may
write it): ``<{graph}#{id}> <{graph}#token> "{json}"``, the JSON holding
what ``tokens.json`` holds on the embedded store (the secret's SHA-256, never
the secret). Creating one is one ``INSERT DATA``; revoking one replaces its
statement in one update, so two hosts never lose each other's tokens. Each
process reads them at most once every :data:`TTL` seconds: a token revoked
on one host stops working on every host within that time; a token it does not
know yet is looked for again at once.

Over an engine whose default graph is the union of all its graphs
(``&union=engine``) a query at ``/sparql`` would see that graph, so the tokens
stay in the host's state folder there, as on the embedded store.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode

from .tokens import Token, TokenError, TokenStore

if TYPE_CHECKING:
    from .remote import RemoteGraphStore

#: Seconds a process keeps the tokens it read from the engine.
TTL = 2.0
#: Seconds between two reads for a token not known here (so unknown tokens cannot make every request a lookup).
REREAD = 0.2


class EngineTokenStore(TokenStore):
    """The tokens of a :class:`~heritage_hubs.graph.remote.RemoteGraphStore` (see the module's description)."""

    def __init__(self, remote: RemoteGraphStore) -> None:
        super().__init__(remote.directory)
        self.remote = remote
        self.graph = remote.namespaces.tokens_graph
        self.predicate = NamedNode(f"{self.graph}#token")
        self._read_at: tuple[float, dict[str, Token]] | None = None

    def _node(self, token_id: str) -> NamedNode:
        return NamedNode(f"{self.graph}#{token_id}")

    def _read(self) -> dict[str, Token]:
        cached = self._read_at
        if cached is not None and time.monotonic() - cached[0] < TTL:
            return cached[1]
        rows = self.remote.reader().select_outside_dataset(
            f"SELECT ?json WHERE {{ GRAPH <{self.graph}> {{ ?t {self.predicate} ?json }} }}")
        tokens = {}
        for row in rows:
            token = Token.from_record(json.loads(str(row["json"].value)))
            tokens[token.id] = token
        self._read_at = (time.monotonic(), tokens)
        return tokens

    def authenticate(self, presented: str) -> Token:
        """As on the embedded store; a token this process does not know yet (made on another host, or from the command
        line, since its last read) is looked for in the engine again at once, at most every REREAD seconds."""
        try:
            return super().authenticate(presented)
        except TokenError as error:
            cached = self._read_at
            if str(error) != "unknown token" or cached is None or time.monotonic() - cached[0] < REREAD:
                raise
            self._read_at = None
            return super().authenticate(presented)

    def _statement(self, token: Token) -> str:
        return f"{self._node(token.id)} {self.predicate} {Literal(json.dumps(asdict(token)))}"

    def _write(self, tokens: dict[str, Token]) -> None:
        raise NotImplementedError("tokens in an engine are written one at a time")

    def create(self, institution: str, graphs: list[str]) -> tuple[Token, str]:
        token, secret = self.new_token(institution, graphs)
        self.remote.engine.update(f"INSERT DATA {{ GRAPH <{self.graph}> {{ {self._statement(token)} }} }}")
        self._read_at = None
        return token, secret

    def revoke(self, token_id: str) -> Token:
        self._read_at = None
        token = self._read().get(token_id)
        if token is None:
            raise TokenError(f"no token with id {token_id}")
        if token.revoked is None:
            revoked = token.revoked_now()
            node = self._node(token_id)
            self.remote.engine.update(
                f"DELETE {{ GRAPH <{self.graph}> {{ {node} {self.predicate} ?json }} }} "
                f"WHERE {{ GRAPH <{self.graph}> {{ {node} {self.predicate} ?json }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{self.graph}> {{ {self._statement(revoked)} }} }}")
            self._read_at = None
            token = revoked
        return token
