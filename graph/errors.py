"""The error family of the graph layer.

Every error says what went wrong and where (file and line, or focus node and
path), so the CLI can print it as one line and the HTTP layer can map it onto
a 4xx response without knowing the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class GraphError(Exception):
    """Base class of every error the graph layer raises on purpose."""


class ParseError(GraphError):
    """An RDF document could not be parsed. Nothing was changed."""

    def __init__(self, message: str, *, source: str, line: int | None = None, column: int | None = None) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.detail = message
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class UnknownFormatError(GraphError):
    """The RDF format of a file or media type could not be recognised."""


class GraphNameError(GraphError):
    """A graph name is not allowed for this operation."""


class StoreBusyError(GraphError):
    """Another writer held the store longer than we were willing to wait."""


class UpdateLimitError(GraphError):
    """A SPARQL Update went past its time or memory limit and was stopped (nothing changed)."""


class StoreLayoutError(GraphError):
    """The store directory is not a heritage-hubs store (or is damaged)."""


@dataclass(frozen=True)
class Violation:
    """One SHACL validation result, in plain strings (N-Triples term syntax)."""

    focus_node: str
    path: str | None
    value: str | None
    constraint: str
    shape: str
    message: str
    severity: str = "Violation"

    def describe(self) -> str:
        parts = [self.focus_node]
        if self.path:
            parts.append(self.path)
        component = self.constraint.rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
        text = " ".join(parts) + f" [{component}]: {self.message}"
        if self.value is not None:
            text += f" (value {self.value})"
        return text

    def as_dict(self) -> dict[str, str | None]:
        return {
            "focusNode": _plain(self.focus_node),
            "resultPath": _plain(self.path) if self.path else self.path,
            "value": self.value,
            "sourceConstraintComponent": self.constraint,
            "sourceShape": self.shape,
            "resultMessage": self.message,
            "resultSeverity": self.severity,
        }


class ValidationFailed(GraphError):
    """The data does not conform to the SHACL shapes. Nothing was changed."""

    def __init__(self, violations: Sequence[Violation], *, source: str | None = None) -> None:
        self.violations = list(violations)
        self.source = source
        first = self.violations[0].describe() if self.violations else "no details"
        count = len(self.violations)
        prefix = f"{source}: " if source else ""
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"{prefix}{count} SHACL violation{'s' if count != 1 else ''}: {first}{more}")


def _plain(term: str) -> str:
    """An IRI without its N-Triples angle brackets (JSON readers want the IRI itself)."""
    return term[1:-1] if term.startswith("<") and term.endswith(">") and " " not in term else term
