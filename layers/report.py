"""The quality report of an import: what is wrong with a plan, readable by a person and a program.

Errors block activation, warnings do not; information is kept for the record.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Issue:
    """One finding about the imported data.

    ``code`` is a stable slug (``invalid-geometry``, ``overlap``, ``gap``, ``sliver``, ...);
    ``feature`` names the feature or row as the source names it (e.g. ``OBJECTID 424`` or
    ``row 17``); ``location`` is a lon/lat point near the problem; ``area_m2`` is measured in the
    plan's metric CRS.
    """

    severity: Severity
    code: str
    message: str
    source: str | None = None
    feature: str | None = None
    location: tuple[float, float] | None = None
    area_m2: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["location"] = list(self.location) if self.location else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Issue:
        loc = data.get("location")
        return cls(
            severity=Severity(data["severity"]),
            code=data["code"],
            message=data["message"],
            source=data.get("source"),
            feature=data.get("feature"),
            location=(float(loc[0]), float(loc[1])) if loc else None,
            area_m2=data.get("area_m2"),
            details=dict(data.get("details") or {}),
        )

    def line(self) -> str:
        """One line for a person: severity, where, what."""
        where = ", ".join(p for p in (self.source, self.feature) if p)
        at = f" at {self.location[0]:.6f},{self.location[1]:.6f}" if self.location else ""
        area = f" ({self.area_m2:,.1f} m2)" if self.area_m2 is not None else ""
        prefix = f"[{self.severity.value}] {self.code}"
        return f"{prefix}: {where + ': ' if where else ''}{self.message}{area}{at}"


@dataclass
class QualityReport:
    """All issues of one import, in the order they were found."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    def extend(self, issues: list[Issue]) -> None:
        self.issues.extend(issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    @property
    def has_errors(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.issues)

    def by_code(self, code: str) -> list[Issue]:
        return [i for i in self.issues if i.code == code]

    def counts(self) -> dict[str, int]:
        """How many issues of each ``severity:code``, for summaries."""
        return dict(Counter(f"{i.severity.value}:{i.code}" for i in self.issues))

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "counts": self.counts(),
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityReport:
        return cls([Issue.from_dict(i) for i in data.get("issues", [])])

    def to_text(self, limit: int = 200) -> str:
        """A report a person reads: a summary line, then one line per issue (errors first)."""
        ordered = (
            self.errors + self.warnings + [i for i in self.issues if i.severity is Severity.INFO]
        )
        head = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        lines = [head] + [i.line() for i in ordered[:limit]]
        if len(ordered) > limit:
            lines.append(f"... and {len(ordered) - limit} more")
        return "\n".join(lines)
