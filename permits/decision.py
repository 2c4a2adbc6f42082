"""A decision and its findings: what the engine answers, rule by rule, traceable to the plan.

A decision is law for whoever receives it, so it says how each figure was measured (value, unit,
limit, legal basis) and which plan version and rule set produced it. Its JSON form is canonical:
the same decision always serialises to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import Any

import orjson

ENGINE_VERSION = "simtaru-engine/1"


class Outcome(StrEnum):
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"
    NOT_ASSESSABLE = "not_assessable"


class Status(StrEnum):
    """How a finding's check came out. ``not_assessed`` is never a pass: the data or the input
    needed for it was missing."""

    PASS = "pass"
    FAIL = "fail"
    NOT_ASSESSED = "not_assessed"
    INFO = "info"


class Effect(StrEnum):
    """What a finding does to the outcome, from none to the strongest."""

    NONE = "none"
    CONDITION = "condition"
    REVIEW = "review"
    REJECT = "reject"
    NOT_ASSESSABLE = "not_assessable"


_RANK = {effect: rank for rank, effect in enumerate(Effect)}
_OUTCOME = {
    Effect.NONE: Outcome.APPROVED,
    Effect.CONDITION: Outcome.APPROVED_WITH_CONDITIONS,
    Effect.REVIEW: Outcome.NEEDS_REVIEW,
    Effect.REJECT: Outcome.REJECTED,
    Effect.NOT_ASSESSABLE: Outcome.NOT_ASSESSABLE,
}
#: The outcome by the rank of the strongest effect.
_OUTCOMES = tuple(_OUTCOME[effect] for effect in Effect)
_EFFECT_OF = attrgetter("effect")


@dataclass(frozen=True)
class Finding:
    """One rule's answer. ``rule`` names the rule family and check (``intensity.kdb``);
    ``measured`` and ``limit`` are in ``unit`` (``m2``, ``m``, ``%``, ``ratio``, ``floors``);
    ``basis`` cites the plan and the table the limit comes from; messages are in Bahasa
    Indonesia (``message_id``) and English (``message_en``)."""

    rule: str
    status: Status
    effect: Effect
    message_id: str
    message_en: str
    basis: str
    measured: float | str | None = None
    unit: str | None = None
    limit: float | str | None = None
    subzone_code: str | None = None
    zone_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "status": self.status.value,
            "effect": self.effect.value,
            "measured": self.measured,
            "unit": self.unit,
            "limit": self.limit,
            "subzone_code": self.subzone_code,
            "zone_id": self.zone_id,
            "basis": self.basis,
            "message_id": self.message_id,
            "message_en": self.message_en,
            "details": self.details,
        }


#: The fields of a finding in the order its dict and a findings table list them.
FINDING_COLUMNS = (
    "rule",
    "status",
    "effect",
    "measured",
    "unit",
    "limit",
    "subzone_code",
    "zone_id",
    "basis",
    "message_id",
    "message_en",
    "details",
)


@dataclass(frozen=True)
class ZonePiece:
    """The part of the parcel in one zone: its area (m2, plan CRS) and share of the parcel.
    ``deciding`` is false for pieces under the sliver tolerance: reported, not deciding."""

    zone_id: str
    subzone_code: str | None
    subzone_name: str | None
    zone_code: str | None
    block: str | None
    area_m2: float
    share: float
    deciding: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "subzone_code": self.subzone_code,
            "subzone_name": self.subzone_name,
            "zone_code": self.zone_code,
            "block": self.block,
            "area_m2": self.area_m2,
            "share": self.share,
            "deciding": self.deciding,
        }


@dataclass(frozen=True)
class PlanRef:
    """Which plan version decided: the trace a decision carries."""

    plan_id: int
    plan_name: str
    legal_basis: str
    version_id: int
    version_label: str
    content_hash: str
    ruleset_hash: str
    crs_epsg: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "plan_name": self.plan_name,
            "legal_basis": self.legal_basis,
            "version_id": self.version_id,
            "version_label": self.version_label,
            "content_hash": self.content_hash,
            "ruleset_hash": self.ruleset_hash,
            "crs_epsg": self.crs_epsg,
        }


@dataclass(frozen=True)
class Decision:
    """The engine's answer for one application."""

    outcome: Outcome
    findings: tuple[Finding, ...]
    zones: tuple[ZonePiece, ...]
    parcel_area_m2: float | None
    plan: PlanRef | None
    input_hash: str
    application_id: str | None = None
    engine_version: str = ENGINE_VERSION

    @staticmethod
    def outcome_of(findings: tuple[Finding, ...]) -> Outcome:
        """The strongest effect among the findings decides; no finding at all approves nothing
        (the engine always adds a location finding)."""
        ranks = map(_RANK.__getitem__, map(_EFFECT_OF, findings))
        return _OUTCOMES[max(ranks, default=_RANK[Effect.REVIEW])]

    @property
    def conditions(self) -> tuple[Finding, ...]:
        """The findings an approval with conditions lists: T and B codes, provisions."""
        return tuple(f for f in self.findings if f.effect is Effect.CONDITION)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "application_id": self.application_id,
            "parcel_area_m2": self.parcel_area_m2,
            "zones": [z.to_dict() for z in self.zones],
            "findings": [f.to_dict() for f in self.findings],
            "plan": self.plan.to_dict() if self.plan else None,
            "input_hash": self.input_hash,
            "engine_version": self.engine_version,
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces, UTF-8 text; the same decision, the same bytes."""
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """The canonical JSON as UTF-8 bytes, as the HTTP service sends it."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    def to_text(self, lang: str = "id") -> str:
        """The decision for a person to read (``lang``: ``id`` Bahasa Indonesia, ``en``
        English): outcome and plan, the zone table, then each finding with its figures."""
        words = _WORDS[lang]
        plan = self.plan
        lines = [f"{words['outcome']}: {self.outcome.value}"]
        if plan is not None:
            lines.append(
                f"{words['plan']}: {plan.plan_name} ({plan.legal_basis}), {words['version']} "
                f"{plan.version_id} '{plan.version_label}', EPSG:{plan.crs_epsg}"
            )
        if self.parcel_area_m2 is not None:
            lines.append(f"{words['parcel']}: {self.parcel_area_m2:,.1f} m2")
        for z in self.zones:
            mark = "" if z.deciding else f"  ({words['sliver']})"
            lines.append(
                f"  {z.subzone_code or '-':<8} {z.subzone_name or '':<36} "
                f"{z.area_m2:>10,.1f} m2 {100 * z.share:6.1f} %{mark}"
            )
        for f in self.findings:
            message = f.message_id if lang == "id" else f.message_en
            lines.append(f"  [{f.status.value:<12}] {f.rule:<24} {message}")
        return "\n".join(lines)


_WORDS = {
    "id": {
        "outcome": "Hasil",
        "plan": "Rencana",
        "version": "versi",
        "parcel": "Luas persil",
        "sliver": "serpihan, tidak menentukan",
    },
    "en": {
        "outcome": "Outcome",
        "plan": "Plan",
        "version": "version",
        "parcel": "Parcel area",
        "sliver": "sliver, not deciding",
    },
}
