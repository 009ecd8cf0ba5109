"""Bearer tokens for writes: each names an institution and the graphs it may write.

A token is shown once, when it is created (``hh_<id>_<secret>``); the store
keeps only the SHA-256 of the secret (the secret has 256 random bits, so a
plain hash is enough, as for API keys), in ``tokens.json`` beside the
snapshots, rewritten atomically under the store's write lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .provenance import now_utc
from .snapshots import SnapshotDirectory

ALL_GRAPHS = "*"
_FILE = "tokens.json"


class TokenError(Exception):
    """A token is missing, malformed, unknown or revoked."""


@dataclass(frozen=True)
class Token:
    id: str
    institution: str
    graphs: tuple[str, ...]
    created: str
    secret_sha256: str = field(repr=False)
    revoked: str | None = None

    @property
    def is_admin(self) -> bool:
        return ALL_GRAPHS in self.graphs

    def may_write(self, graph: str) -> bool:
        return self.is_admin or graph in self.graphs

    @classmethod
    def from_record(cls, item: dict[str, object]) -> Token:
        """A token from what is kept of it (its fields as JSON: `asdict`)."""
        return cls(**{**item, "graphs": tuple(item["graphs"])})  # type: ignore[arg-type]

    def revoked_now(self) -> Token:
        """This token, revoked as of now."""
        return Token(**{**asdict(self), "graphs": self.graphs, "revoked": now_utc().isoformat()})

    def public(self) -> dict[str, object]:
        """What `token list` shows: everything but the hash."""
        return {"id": self.id, "institution": self.institution, "graphs": list(self.graphs),
                "created": self.created, "revoked": self.revoked}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """The tokens of one store directory."""

    def __init__(self, directory: SnapshotDirectory) -> None:
        self.directory = directory
        self.path = directory.root / _FILE
        self._cache: tuple[float, dict[str, Token]] | None = None

    def _read(self) -> dict[str, Token]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[0] == mtime:
            return self._cache[1]
        raw = json.loads(self.path.read_text())
        tokens = {item["id"]: Token.from_record(item) for item in raw}
        self._cache = (mtime, tokens)
        return tokens

    def _write(self, tokens: dict[str, Token]) -> None:
        tmp = self.path.with_name(f".{_FILE}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps([asdict(t) for t in tokens.values()], indent=2))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._cache = None

    @staticmethod
    def new_token(institution: str, graphs: list[str]) -> tuple[Token, str]:
        """A token not yet kept anywhere, and the secret text it is presented with."""
        if not graphs:
            raise TokenError("a token must name at least one graph (or '*' for all)")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        token = Token(id=token_id, institution=institution, graphs=tuple(graphs),
                      created=now_utc().isoformat(), secret_sha256=_digest(secret))
        return token, f"hh_{token_id}_{secret}"

    def create(self, institution: str, graphs: list[str]) -> tuple[Token, str]:
        """A new token; returns it and the secret text, which is never stored."""
        token, secret = self.new_token(institution, graphs)
        with self.directory.write_lock():
            tokens = dict(self._read())
            tokens[token.id] = token
            self._write(tokens)
        return token, secret

    def list(self) -> list[Token]:
        return sorted(self._read().values(), key=lambda t: t.created)

    def revoke(self, token_id: str) -> Token:
        with self.directory.write_lock():
            tokens = dict(self._read())
            if token_id not in tokens:
                raise TokenError(f"no token with id {token_id}")
            token = tokens[token_id]
            if token.revoked is None:
                token = token.revoked_now()
                tokens[token_id] = token
                self._write(tokens)
        return token

    def authenticate(self, presented: str) -> Token:
        """The token behind a bearer credential, or TokenError."""
        parts = presented.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != "hh":
            raise TokenError("malformed token")
        token = self._read().get(parts[1])
        if token is None or not hmac.compare_digest(token.secret_sha256, _digest(parts[2])):
            raise TokenError("unknown token")
        if token.revoked:
            raise TokenError("this token was revoked")
        return token


def token_store_for(root: Path) -> TokenStore:
    return TokenStore(SnapshotDirectory(root))
