"""Activity (ITBX): is the proposed activity permitted in each sub-zone the parcel uses?

The activity resolves through the plan's KBLI crosswalk (or its kegiatan id or name); an unknown
activity, or a sub-zone the matrix has no column or cell for, needs review: no data is never read
as permission. Across split lots the plan's policy decides: the strictest piece (default), the
dominant piece, or each piece for itself.

A KBLI code may cover several kegiatan (real estate, 68111, covers housing by a developer and a
shopping centre). Where the matrix answers them alike in a sub-zone, or permits them all, the
strictest answer stands; where it forbids some and permits others, the engine cannot tell which
the applicant means, and the piece needs review, each kegiatan's answer listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from layers.model import ItbxCell, ItbxClass
from permits.compiled import CompiledPlan, strictest
from permits.decision import Effect, Finding, Status
from permits.rules.situation import Situation

RULE = "activity"

_LABEL = {
    ItbxClass.I: ("diizinkan", "permitted"),
    ItbxClass.T: ("diizinkan terbatas", "permitted with limits"),
    ItbxClass.B: ("diizinkan bersyarat", "permitted with conditions"),
    ItbxClass.X: ("tidak diizinkan", "not permitted"),
}
_EFFECT = {
    ItbxClass.I: Effect.NONE,
    ItbxClass.T: Effect.CONDITION,
    ItbxClass.B: Effect.CONDITION,
    ItbxClass.X: Effect.REJECT,
}


@dataclass(frozen=True)
class Verdict:
    """The matrix's answer for one sub-zone: its class and the cells that gave it."""

    subzone_code: str
    klass: ItbxClass
    cells: tuple[ItbxCell, ...]
    #: The activity names several kegiatan and the matrix forbids some of them here and
    #: permits others: which one is meant needs review.
    split: bool = False


@dataclass(frozen=True)
class ActivityResult:
    """Findings, the kegiatan ids the activity resolved to, and what the matrix's T codes set
    per sub-zone: the share (%) of intensity allowed and a minimum distance (m) to the same
    activity."""

    findings: list[Finding]
    activity_ids: tuple[str, ...]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    intensity_pct: dict[str, float] = field(default_factory=dict)
    min_distance_m: dict[str, float] = field(default_factory=dict)


def assess_activity(s: Situation) -> ActivityResult:
    """The ITBX answer for the application's activity in the deciding sub-zones. It depends on
    nothing else, so the compiled plan keeps each answer for the next parcel that asks: keyed by
    the kegiatan the activity resolved to, so that what is kept is bounded by the plan's own
    matrix, whatever text callers send."""
    ids = s.plan.resolve_activity(s.app.activity)
    if not ids:
        return _assess(s.plan, s.app.activity, ids, s.subzones)
    return s.plan.kept((RULE, ids, s.subzones), _assess, s.plan, s.app.activity, ids, s.subzones)


def _assess(
    plan: CompiledPlan, activity: str, ids: tuple[str, ...], subzones: tuple[str, ...]
) -> ActivityResult:
    basis = plan.basis(f"matriks ITBX ({', '.join(plan.sources[:1]) or 'rule set'})")
    if not ids:
        return ActivityResult(
            [
                Finding(
                    rule=f"{RULE}.unknown",
                    status=Status.NOT_ASSESSED,
                    effect=Effect.REVIEW,
                    message_id=(
                        f"Kegiatan '{activity}' tidak dikenal dalam matriks ITBX rencana "
                        "ini maupun tabel KBLI-nya."
                    ),
                    message_en=(
                        f"Activity '{activity}' is neither a KBLI code of the plan's "
                        "crosswalk nor a kegiatan of its ITBX matrix."
                    ),
                    basis=basis,
                    measured=activity,
                )
            ],
            (),
        )
    findings: list[Finding] = []
    verdicts: dict[str, Verdict] = {}
    for code in subzones:
        verdict = _verdict(plan, ids, code)
        if verdict is None:
            findings.append(_no_data(plan, ids, code, basis))
        else:
            verdicts[code] = verdict
    findings += _judge(plan, ids, verdicts, basis)
    return ActivityResult(
        findings,
        ids,
        verdicts,
        intensity_pct=_per_subzone(plan, verdicts, "intensity_pct", min),
        min_distance_m=_per_subzone(plan, verdicts, "min_distance_m", max),
    )


def _verdict(plan: CompiledPlan, ids: tuple[str, ...], code: str) -> Verdict | None:
    cells = tuple(c for a in ids if (c := plan.cells.get((a, code))) is not None)
    if len(cells) < len(ids):
        return None
    classes = [plan.cell_class(c) for c in cells]
    forbidden = sum(k is ItbxClass.X for k in classes)
    return Verdict(code, strictest(classes), cells, split=0 < forbidden < len(classes))


def _no_data(plan: CompiledPlan, ids: tuple[str, ...], code: str, basis: str) -> Finding:
    what = "no column" if code not in plan.itbx_subzones else "no cell"
    return Finding(
        rule=f"{RULE}.no_data",
        status=Status.NOT_ASSESSED,
        effect=Effect.REVIEW,
        message_id=f"Matriks ITBX tidak memuat ketentuan kegiatan ini di sub-zona {code}.",
        message_en=f"The ITBX matrix has {what} for this activity in sub-zone {code}.",
        basis=basis,
        subzone_code=code,
        details={"activity_ids": list(ids)},
    )


def _judge(
    plan: CompiledPlan, ids: tuple[str, ...], verdicts: dict[str, Verdict], basis: str
) -> list[Finding]:
    policy = plan.split_policy
    order = list(verdicts)
    deciding = {order[0]} if policy == "dominant" and order else set(order)
    allowed = [c for c in order if verdicts[c].klass is not ItbxClass.X]
    findings = []
    for code in order:
        verdict = verdicts[code]
        if verdict.split:
            effect = Effect.REVIEW if code in deciding else Effect.NONE
            findings.append(_split(plan, verdict, effect, policy, code in deciding, basis))
            continue
        effect = _EFFECT[verdict.klass] if code in deciding else Effect.NONE
        if policy == "per_piece" and verdict.klass is ItbxClass.X and allowed:
            effect = Effect.CONDITION
        findings.append(_finding(plan, ids, verdict, effect, policy, code in deciding, basis))
    return findings


def _split(
    plan: CompiledPlan, verdict: Verdict, effect: Effect, policy: str, deciding: bool, basis: str
) -> Finding:
    """The finding for a sub-zone where the activity's kegiatan get different answers, some of
    them X: each kegiatan with its cell, and what would decide it."""
    answers = [
        (plan.activities[cell.activity_id].name, plan.cell_class(cell), cell)
        for cell in verdict.cells
    ]
    listed_id = "; ".join(f"{name} {_LABEL[k][0]} ({cell.raw})" for name, k, cell in answers)
    listed_en = "; ".join(f"{name} {_LABEL[k][1]} ({cell.raw})" for name, k, cell in answers)
    message_id = (
        f"Kegiatan ini mencakup beberapa kegiatan ITBX yang berbeda ketentuannya di sub-zona "
        f"{verdict.subzone_code}: {listed_id}. Kegiatan yang dimaksud perlu ditinjau "
        "(sebutkan kegiatannya agar dapat diputuskan)"
    )
    message_en = (
        f"The activity covers kegiatan the ITBX matrix treats differently in sub-zone "
        f"{verdict.subzone_code}: {listed_en}. Which is meant needs review (name the kegiatan "
        "for a decision)"
    )
    if not deciding:
        message_id += " (tidak menentukan: kebijakan zona dominan)"
        message_en += " (not deciding: the plan's dominant-share policy)"
    return Finding(
        rule=RULE,
        status=Status.NOT_ASSESSED,
        effect=effect,
        message_id=message_id + ".",
        message_en=message_en + ".",
        basis=basis,
        measured="; ".join(cell.raw for cell in verdict.cells),
        subzone_code=verdict.subzone_code,
        details={
            "activity_ids": [cell.activity_id for cell in verdict.cells],
            "policy": policy,
            "classes": [k.value for _, k, _ in answers],
        },
    )


def _finding(
    plan: CompiledPlan,
    ids: tuple[str, ...],
    verdict: Verdict,
    effect: Effect,
    policy: str,
    deciding: bool,
    basis: str,
) -> Finding:
    label_id, label_en = _LABEL[verdict.klass]
    names = ", ".join(plan.activities[a].name for a in ids)
    codes = sorted({code for cell in verdict.cells for code in cell.codes})
    conditions = [
        {"code": c, "text": plan.legend[c].text}
        for c in codes
        if c in plan.legend and plan.legend[c].klass in (ItbxClass.T, ItbxClass.B)
    ]
    message_id = f"{names} {label_id} di sub-zona {verdict.subzone_code}"
    message_en = f"{names}: {label_en} in sub-zone {verdict.subzone_code}"
    if verdict.klass is ItbxClass.X:
        conditions = []
    if conditions:
        message_id += " dengan ketentuan " + ", ".join(c["code"] for c in conditions)
        message_en += " under " + ", ".join(c["code"] for c in conditions)
    if not deciding:
        message_id += " (tidak menentukan: kebijakan zona dominan)"
        message_en += " (not deciding: the plan's dominant-share policy)"
    elif effect is Effect.CONDITION and verdict.klass is ItbxClass.X:
        message_id += "; kegiatan tidak boleh menempati bagian ini"
        message_en += "; the activity may not use this piece"
    return Finding(
        rule=RULE,
        status=Status.FAIL if verdict.klass is ItbxClass.X else Status.PASS,
        effect=effect,
        message_id=message_id + ".",
        message_en=message_en + ".",
        basis=basis,
        measured="; ".join(cell.raw for cell in verdict.cells),
        limit=verdict.klass.value,
        subzone_code=verdict.subzone_code,
        details=_details(plan, ids, verdict, policy, conditions),
    )


def _details(
    plan: CompiledPlan,
    ids: tuple[str, ...],
    verdict: Verdict,
    policy: str,
    conditions: list[dict[str, str]],
) -> dict[str, object]:
    """What the finding rests on; for an activity of several kegiatan, each one's own cell, so
    that a planner sees which kegiatan each condition comes from."""
    details: dict[str, object] = {
        "activity_ids": list(ids),
        "policy": policy,
        "conditions": conditions,
    }
    if len(verdict.cells) > 1:
        details["kegiatan"] = [
            {
                "activity_id": c.activity_id,
                "name": plan.activities[c.activity_id].name,
                "cell": c.raw,
            }
            for c in verdict.cells
        ]
    return details


def _per_subzone(
    plan: CompiledPlan,
    verdicts: dict[str, Verdict],
    attr: str,
    pick: Callable[[list[float]], float],
) -> dict[str, float]:
    out: dict[str, float] = {}
    for code, verdict in verdicts.items():
        values = [
            value
            for cell in verdict.cells
            for c in cell.codes
            if c in plan.legend and (value := getattr(plan.legend[c], attr)) is not None
        ]
        if values:
            out[code] = float(pick(values))
    return out
