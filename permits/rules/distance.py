"""T3: a minimum distance to the same activity, where the plan's legend sets one.

Measured against decisions already approved under the same plan version, through whatever keeps
them (the decision store in the service; nothing in a notebook, where the rule is not assessed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shapely.geometry.base import BaseGeometry

from permits.decision import Effect, Finding, Status
from permits.rules.situation import Situation

RULE = "distance"
#: The finding T3 gives.
SAME_ACTIVITY = f"{RULE}.same_activity"


class Neighbours(Protocol):
    """Approved decisions of the same activity, as the decision store answers."""

    def nearest_same_activity(
        self,
        *,
        plan_version_id: int,
        activity_ids: Sequence[str],
        parcel: BaseGeometry,
        within_m: float,
        exclude_application_id: str | None = None,
    ) -> float | None: ...


def assess_distance(
    s: Situation,
    activity_ids: tuple[str, ...],
    min_distance_m: dict[str, float],
    neighbours: Neighbours | None,
) -> list[Finding]:
    if not min_distance_m:
        return []
    required = max(min_distance_m.values())
    codes = tuple(sorted(code for code, d in min_distance_m.items() if d == required))
    if neighbours is None:
        return [s.plan.kept((RULE, required, codes), _condition, s, required, codes)]
    basis = _basis(s, codes)
    nearest = neighbours.nearest_same_activity(
        plan_version_id=s.plan.ref.version_id,
        activity_ids=activity_ids,
        parcel=s.parcel,
        within_m=required,
        exclude_application_id=s.app.application_id,
    )
    ok = nearest is None or nearest + 1e-9 >= required
    found_id = "tidak ada" if nearest is None else f"{nearest:.1f} m"
    found_en = "none" if nearest is None else f"{nearest:.1f} m"
    return [
        Finding(
            rule=SAME_ACTIVITY,
            status=Status.PASS if ok else Status.FAIL,
            effect=Effect.NONE if ok else Effect.REJECT,
            message_id=f"Kegiatan sejenis terdekat dalam {required:g} m: {found_id}.",
            message_en=f"Nearest approved same activity within {required:g} m: {found_en}.",
            basis=basis,
            measured=nearest,
            unit="m",
            limit=required,
        )
    ]


def _basis(s: Situation, codes: tuple[str, ...]) -> str:
    return s.plan.basis(f"matriks ITBX, ketentuan T (jarak minimal), sub-zona {', '.join(codes)}")


def _condition(s: Situation, required: float, codes: tuple[str, ...]) -> Finding:
    """Without a record of decisions the distance is a condition: the same for every parcel of
    these sub-zones, so the compiled plan keeps it."""
    return Finding(
        rule=SAME_ACTIVITY,
        status=Status.NOT_ASSESSED,
        effect=Effect.CONDITION,
        message_id=f"Jarak min. {required:g} m dari kegiatan sejenis menjadi syarat.",
        message_en=f"At least {required:g} m from the same activity is a condition "
        "(no record of approved decisions to measure against).",
        basis=_basis(s, codes),
        unit="m",
        limit=required,
    )
