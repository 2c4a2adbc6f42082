"""Footprint: the building's footprint polygon lies inside the parcel and behind the GSB.

Without a footprint polygon, or without the frontage (the lot's road edge), the check is not
assessed and the setback stands as a condition: never a pass.
"""

from __future__ import annotations

from permits.decision import Effect, Finding, Status
from permits.rules.situation import Situation

RULE = "footprint"

#: A footprint may stick out of the parcel by this much (m2) before it is outside: rounding.
OUTSIDE_TOLERANCE_M2 = 0.01


#: Why the setback is not measured, in Indonesian and English.
_NO_FOOTPRINT = ("denah bangunan tidak diberikan", "no footprint polygon given")
_NO_FRONTAGE = ("sisi jalan persil tidak diberikan", "the lot's road edge was not given")


def assess_footprint(s: Situation, gsb: float | None) -> list[Finding]:
    """``gsb`` is the setback (m) in force: the largest among the deciding sub-zones."""
    if s.footprint is None:
        return [] if gsb is None else [_setback_condition(s, gsb, _NO_FOOTPRINT)]
    basis = _basis(s)
    outside = float(s.footprint.difference(s.parcel).area)
    inside = outside <= OUTSIDE_TOLERANCE_M2
    findings = [
        Finding(
            rule=f"{RULE}.inside",
            status=Status.PASS if inside else Status.FAIL,
            effect=Effect.NONE if inside else Effect.REJECT,
            message_id=(
                "Denah bangunan berada di dalam persil."
                if inside
                else f"{outside:,.2f} m2 denah bangunan berada di luar persil."
            ),
            message_en=(
                "The footprint lies inside the parcel."
                if inside
                else f"{outside:,.2f} m2 of the footprint lies outside the parcel."
            ),
            basis=basis,
            measured=outside,
            unit="m2",
            limit=OUTSIDE_TOLERANCE_M2,
        )
    ]
    if gsb is None:
        return findings
    if s.frontage is None:
        findings.append(_setback_condition(s, gsb, _NO_FRONTAGE))
        return findings
    distance = float(s.footprint.distance(s.frontage))
    ok = distance + 1e-9 >= gsb
    findings.append(
        Finding(
            rule=f"{RULE}.gsb",
            status=Status.PASS if ok else Status.FAIL,
            effect=Effect.NONE if ok else Effect.REJECT,
            message_id=f"Jarak bangunan ke jalan {distance:.2f} m, GSB min. {gsb:g} m.",
            message_en=f"The building is {distance:.2f} m from the road; GSB at least {gsb:g} m.",
            basis=basis,
            measured=distance,
            unit="m",
            limit=gsb,
        )
    )
    return findings


def _basis(s: Situation) -> str:
    return s.plan.basis("ketentuan tata bangunan (GSB, jarak bebas)")


def _setback_condition(s: Situation, gsb: float, why: tuple[str, str]) -> Finding:
    """The setback as a condition where it cannot be measured: the same for every parcel with
    this GSB, so the compiled plan keeps it."""
    return s.plan.kept((RULE, "gsb", gsb, why), _unmeasured_setback, s, gsb, why)


def _unmeasured_setback(s: Situation, gsb: float, why: tuple[str, str]) -> Finding:
    why_id, why_en = why
    return Finding(
        rule=f"{RULE}.gsb",
        status=Status.NOT_ASSESSED,
        effect=Effect.CONDITION,
        message_id=f"GSB min. {gsb:g} m dari jalan menjadi syarat ({why_id}).",
        message_en=f"A setback (GSB) of at least {gsb:g} m is a condition ({why_en}).",
        basis=_basis(s),
        unit="m",
        limit=gsb,
    )
