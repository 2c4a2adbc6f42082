"""Special provisions (ketentuan khusus): the zone flags and overlay layers a parcel touches.

Each touched provision is matched to the plan's provision rules by kind, class, block and
sub-zone: ``forbid`` rejects, ``condition`` approves with the condition, ``cap`` tightens the
intensity limits, a KKOP ceiling bounds the building's top. A provision with no rule in the plan
needs review: the plan marks the place but says nothing we could apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from layers.model import FLAG_PROVISIONS, SpecialProvision, norm
from permits.decision import Effect, Finding, Status
from permits.rules.location import Tolerance
from permits.rules.situation import Situation

RULE = "provision"

#: The intensity limits a ``cap`` provision may tighten.
CAP_FIELDS = ("kdb_max_pct", "klb_max", "height_max_m")


@dataclass(frozen=True)
class Touch:
    """A provision that reaches the parcel: from a zone's flag (whole piece) or an overlay
    polygon (``area_m2`` of overlap, m2)."""

    kind: str
    klass: str | None
    source: str
    area_m2: float
    ceiling_m: float | None = None


#: Touches are merged by provision kind, class and ceiling.
_Key = tuple[str, Any, float | None]


@dataclass(frozen=True)
class ProvisionResult:
    findings: list[Finding]
    caps: dict[str, float] = field(default_factory=dict)


def touches(s: Situation, tol: Tolerance) -> tuple[list[Touch], list[Finding]]:
    """Provisions from the deciding pieces' flags and from overlays overlapping the parcel;
    overlaps under the sliver tolerance are reported, not applied. Where a zone flag and an
    overlay report the same provision, it is one touch whose area is the larger of the two (the
    flag covers whole pieces, the overlay measures its own polygons)."""
    flagged: dict[_Key, Touch] = {}
    for piece, row in s.deciding:
        for column, value in s.plan.zones.flags[row].items():
            kind = FLAG_PROVISIONS.get(column)
            if kind:
                key: _Key = (kind, value, None)
                area = piece.area_m2 + (flagged[key].area_m2 if key in flagged else 0.0)
                flagged[key] = Touch(kind, value, f"zone flag {column}", area)
    overlaid, small = _overlaid(s, tol)
    found = dict(flagged)
    for key, touch in overlaid.items():
        other = found.get(key)
        if other is None:
            found[key] = touch
        else:
            found[key] = Touch(
                touch.kind,
                touch.klass,
                f"{other.source}, {touch.source}",
                max(other.area_m2, touch.area_m2),
                touch.ceiling_m,
            )
    return list(found.values()), small


def _overlaid(s: Situation, tol: Tolerance) -> tuple[dict[_Key, Touch], list[Finding]]:
    overlays = s.plan.overlays
    found: dict[_Key, Touch] = {}
    small: list[Finding] = []
    rows, areas = s.overlaid
    if not len(rows):
        return found, small
    for row, area in zip(rows, areas, strict=True):
        kind, klass = str(overlays.kind[row]), overlays.klass[row]
        ceiling = float(overlays.ceiling_m[row])
        ceiling_m = None if math.isnan(ceiling) else ceiling
        if area < tol.sliver_area_m2:
            small.append(_sliver(s, kind, klass, float(area), tol))
            continue
        key: _Key = (kind, klass, ceiling_m)
        total = float(area) + (found[key].area_m2 if key in found else 0.0)
        found[key] = Touch(kind, klass, f"overlay {kind}", total, ceiling_m)
    return found, small


#: What a parcel that touches no provision gets, shared.
_UNTOUCHED = ProvisionResult([], {})


def assess_provisions(s: Situation, tol: Tolerance) -> ProvisionResult:
    touched, findings = touches(s, tol)
    if not touched and not findings:
        return _UNTOUCHED
    caps: dict[str, float] = {}
    for touch in sorted(touched, key=lambda t: (t.kind, t.klass or "", t.ceiling_m or 0.0)):
        rules = _rules_for(s, touch)
        if touch.ceiling_m is not None:
            findings.append(_ceiling(s, touch))
        if not rules and touch.ceiling_m is None:
            findings.append(_no_rule(s, touch))
        for rule in rules:
            findings.append(_apply(s, touch, rule))
            if rule.effect == "cap":
                for name in CAP_FIELDS:
                    value = getattr(rule, name)
                    if value is not None:
                        caps[name] = min(caps.get(name, math.inf), value)
    return ProvisionResult(findings, caps)


def _rules_for(s: Situation, touch: Touch) -> tuple[SpecialProvision, ...]:
    """The plan's rules for a touched provision in the deciding blocks and sub-zones; kept by
    the compiled plan, since they depend on nothing else."""
    blocks = frozenset(p.block for p, _ in s.deciding)
    key = (RULE, touch.kind, touch.klass, blocks, s.subzones)
    return s.plan.kept(key, _matching, s, touch, blocks)


def _matching(
    s: Situation, touch: Touch, blocks: frozenset[str | None]
) -> tuple[SpecialProvision, ...]:
    return tuple(
        rule
        for rule in s.plan.provisions
        if rule.provision == touch.kind
        and (rule.klass is None or norm(rule.klass) == norm(touch.klass))
        and (rule.block is None or rule.block in blocks)
        and (rule.subzone_code is None or rule.subzone_code in s.subzones)
    )


def _apply(s: Situation, touch: Touch, rule: SpecialProvision) -> Finding:
    what = f"{touch.kind}{' ' + touch.klass if touch.klass else ''}"
    basis = rule.legal_basis or s.plan.basis("ketentuan khusus")
    if rule.effect == "forbid":
        return _found(
            touch,
            Status.FAIL,
            Effect.REJECT,
            f"Persil berada di kawasan {what}: {rule.text}",
            f"The parcel lies in {what}, where the plan forbids building: {rule.text}",
            basis,
            rule,
        )
    if rule.effect == "cap":
        caps = {n: getattr(rule, n) for n in CAP_FIELDS if getattr(rule, n) is not None}
        return _found(
            touch,
            Status.INFO,
            Effect.NONE,
            f"Kawasan {what} membatasi intensitas: {rule.text}",
            f"{what} caps the intensity limits ({caps}): {rule.text}",
            basis,
            rule,
            caps=caps,
        )
    return _found(
        touch,
        Status.PASS,
        Effect.CONDITION,
        f"Ketentuan kawasan {what}: {rule.text}",
        f"Condition of {what}: {rule.text}",
        basis,
        rule,
    )


def _found(
    touch: Touch,
    status: Status,
    effect: Effect,
    message_id: str,
    message_en: str,
    basis: str,
    rule: SpecialProvision,
    **details: object,
) -> Finding:
    return Finding(
        rule=f"{RULE}.{touch.kind}",
        status=status,
        effect=effect,
        message_id=message_id,
        message_en=message_en,
        basis=basis,
        measured=touch.area_m2,
        unit="m2",
        details={"source": touch.source, "text": rule.text, "effect": rule.effect, **details},
    )


def _ceiling(s: Situation, touch: Touch) -> Finding:
    """KKOP: the building's top (ground elevation + height, m above sea level) stays below the
    obstacle-limitation surface's ceiling."""
    building = s.app.building
    basis = s.plan.basis("ketentuan KKOP (batas ketinggian)")
    if building.height_m is None or building.ground_elevation_m is None:
        return Finding(
            rule=f"{RULE}.{touch.kind}.ceiling",
            status=Status.NOT_ASSESSED,
            effect=Effect.CONDITION,
            message_id=(
                f"Puncak bangunan harus di bawah {touch.ceiling_m:g} m dpl (KKOP); tinggi atau "
                "elevasi tanah tidak diberikan."
            ),
            message_en=(
                f"The building's top must stay below {touch.ceiling_m:g} m above sea level "
                "(KKOP); height or ground elevation not given."
            ),
            basis=basis,
            limit=touch.ceiling_m,
            unit="m",
        )
    top = building.ground_elevation_m + building.height_m
    ok = top <= (touch.ceiling_m or 0.0)
    return Finding(
        rule=f"{RULE}.{touch.kind}.ceiling",
        status=Status.PASS if ok else Status.FAIL,
        effect=Effect.NONE if ok else Effect.REJECT,
        message_id=f"Puncak bangunan {top:g} m dpl, batas KKOP {touch.ceiling_m:g} m.",
        message_en=f"Building top {top:g} m above sea level; KKOP ceiling {touch.ceiling_m:g} m.",
        basis=basis,
        measured=top,
        limit=touch.ceiling_m,
        unit="m",
    )


def _no_rule(s: Situation, touch: Touch) -> Finding:
    what = f"{touch.kind}{' ' + touch.klass if touch.klass else ''}"
    return Finding(
        rule=f"{RULE}.{touch.kind}",
        status=Status.NOT_ASSESSED,
        effect=Effect.REVIEW,
        message_id=f"Persil berada di kawasan {what}, tetapi rencana tidak memuat ketentuannya.",
        message_en=f"The parcel lies in {what}, but the plan gives no rule for it.",
        basis=s.plan.basis("ketentuan khusus"),
        measured=touch.area_m2,
        unit="m2",
        details={"source": touch.source},
    )


def _sliver(s: Situation, kind: str, klass: str | None, area: float, tol: Tolerance) -> Finding:
    return Finding(
        rule=f"{RULE}.{kind}.sliver",
        status=Status.INFO,
        effect=Effect.NONE,
        message_id=f"Persil hanya bersinggungan {area:.2f} m2 dengan {kind}: di bawah toleransi.",
        message_en=f"The parcel overlaps {kind} by only {area:.2f} m2: under the tolerance.",
        basis=s.plan.basis("ketentuan khusus"),
        measured=area,
        limit=tol.sliver_area_m2,
        unit="m2",
        details={"klass": klass},
    )
