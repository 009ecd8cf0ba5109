"""The named queries shipped in queries/: .rq files with metadata in leading comments.

A file starts with comment lines ``# key: value`` (``summary``, ``description``,
``tags``); the first line that is not such a comment starts the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

_META = re.compile(r"^#\s*([a-z][a-z-]*):\s*(.*)$")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    description: str
    query: str
    tags: tuple[str, ...] = field(default_factory=tuple)


def parse_named_query(name: str, text: str) -> NamedQuery:
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = 0
    for index, line in enumerate(lines):
        match = _META.match(line)
        if match:
            key, value = match.groups()
            meta[key] = (meta[key] + " " + value).strip() if key in meta else value.strip()
            body_start = index + 1
        elif line.startswith("#") or not line.strip():
            body_start = index + 1
        else:
            break
    if "summary" not in meta:
        raise ValueError(f"{name}.rq: the leading comments need a '# summary:' line")
    return NamedQuery(
        name=name,
        summary=meta["summary"],
        description=meta.get("description", ""),
        query="\n".join(lines[body_start:]).strip() + "\n",
        tags=tuple(t.strip() for t in meta.get("tags", "").split(",") if t.strip()),
    )


def queries_dir() -> Path:
    return Path(str(resources.files("heritage_hubs.queries")))


def named_queries() -> list[NamedQuery]:
    return [parse_named_query(path.stem, path.read_text(encoding="utf-8")) for path in sorted(queries_dir().glob("*.rq"))]


def example_queries() -> list[NamedQuery]:
    """The queries offered as examples in the editor (all of them, for now)."""
    return named_queries()
