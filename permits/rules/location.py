"""Location: the zone pieces a parcel overlaps, their areas (m2) and shares.

Pieces under the sliver tolerance (area or share) are reported but do not decide; a parcel
partly outside the plan needs review, and one wholly outside is not assessable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import NDArray

from gis.index import Overlap
from permits.compiled import CompiledPlan
from permits.decision import Effect, Finding, Status, ZonePiece

RULE = "location"


@dataclass(frozen=True)
class Tolerance:
    """Pieces smaller than ``sliver_area_m2`` or ``sliver_share`` of the parcel do not decide;
    an uncovered part under ``uncovered_m2`` is rounding, not a gap in the plan."""

    sliver_area_m2: float = 1.0
    sliver_share: float = 0.01
    uncovered_m2: float = 0.01

    @overload
    def decides(self, area_m2: float, share: float) -> bool: ...
    @overload
    def decides(
        self, area_m2: NDArray[np.float64], share: NDArray[np.float64]
    ) -> NDArray[np.bool_]: ...

    def decides(
        self, area_m2: float | NDArray[np.float64], share: float | NDArray[np.float64]
    ) -> bool | NDArray[np.bool_]:
        """Whether a piece of ``area_m2`` and ``share`` of its parcel is above the tolerance
        (or each of many pieces, given arrays: a batch's classes ask so)."""
        return (area_m2 >= self.sliver_area_m2) & (share >= self.sliver_share)


def share_of(area_m2: float, lot_m2: float) -> float:
    """A piece's share of its parcel (none of a parcel without area)."""
    return area_m2 / lot_m2 if lot_m2 > 0 else 0.0


def ordered(plan: CompiledPlan, overlap: Overlap) -> list[tuple[float, int]]:
    """(area, zone row) of each zone the parcel overlaps, largest first, then by zone id, so
    that decisions are stable."""
    if len(overlap.zones) == 1:  # most parcels: nothing to sort
        return [(overlap.areas.item(0), overlap.zones.item(0))]
    labels = plan.zones.labels
    return sorted(
        zip(overlap.areas.tolist(), overlap.zones.tolist(), strict=True),
        key=lambda pair: (-pair[0], labels[pair[1]][0]),
    )


def pieces_of(
    plan: CompiledPlan, overlap: Overlap, lot_m2: float, tol: Tolerance
) -> tuple[tuple[ZonePiece, ...], tuple[int, ...]]:
    """Zone pieces in ``ordered`` order, with their zone rows."""
    labels = plan.zones.labels
    pieces, rows = [], []
    for area, row in ordered(plan, overlap):
        share = share_of(area, lot_m2)
        zone_id, code, name, zone_code, block = labels[row]
        deciding = tol.decides(area, share)
        pieces.append(ZonePiece(zone_id, code, name, zone_code, block, area, share, deciding))
        rows.append(row)
    return tuple(pieces), tuple(rows)


def location_findings(
    plan: CompiledPlan, pieces: tuple[ZonePiece, ...], lot_m2: float, tol: Tolerance
) -> list[Finding]:
    basis = plan.basis("peta pola ruang / zoning map")
    covered = sum(p.area_m2 for p in pieces)
    if pieces and not any(p.deciding for p in pieces):
        return [
            Finding(
                rule=f"{RULE}.coverage",
                status=Status.NOT_ASSESSED,
                effect=Effect.REVIEW,
                message_id=(
                    f"Hanya {covered:,.1f} m2 ({covered / lot_m2:.2%}) persil berada dalam "
                    "rencana, dalam bagian di bawah toleransi."
                ),
                message_en=(
                    f"Only {covered:,.1f} m2 ({covered / lot_m2:.2%}) of the parcel lies in the "
                    "plan, in pieces under the sliver tolerance."
                ),
                basis=basis,
                measured=covered,
                unit="m2",
            )
        ]
    if not pieces:
        return [
            Finding(
                rule=RULE,
                status=Status.FAIL,
                effect=Effect.NOT_ASSESSABLE,
                message_id="Persil berada di luar cakupan rencana ini.",
                message_en="The parcel lies outside this plan's coverage.",
                basis=basis,
                measured=covered,
                unit="m2",
            )
        ]
    findings = [
        Finding(
            rule=RULE,
            status=Status.INFO,
            effect=Effect.NONE,
            message_id=f"Persil seluas {lot_m2:,.1f} m2 berada di {len(pieces)} bagian zona.",
            message_en=f"The {lot_m2:,.1f} m2 parcel lies in {len(pieces)} zone piece(s).",
            basis=basis,
            measured=lot_m2,
            unit="m2",
            details={"covered_m2": covered},
        )
    ]
    uncovered = lot_m2 - covered
    if uncovered > tol.uncovered_m2:
        findings.append(
            Finding(
                rule=f"{RULE}.coverage",
                status=Status.NOT_ASSESSED,
                effect=Effect.REVIEW,
                message_id=f"{uncovered:,.1f} m2 persil berada di luar cakupan rencana.",
                message_en=f"{uncovered:,.1f} m2 of the parcel lies outside the plan.",
                basis=basis,
                measured=uncovered,
                unit="m2",
                details={"share": uncovered / lot_m2},
            )
        )
    for piece in pieces:
        if not piece.deciding:
            findings.append(
                Finding(
                    rule=f"{RULE}.sliver",
                    status=Status.INFO,
                    effect=Effect.NONE,
                    message_id=(
                        f"Bagian {piece.area_m2:,.2f} m2 di zona {piece.subzone_code} di bawah "
                        "toleransi dan tidak menentukan."
                    ),
                    message_en=(
                        f"A {piece.area_m2:,.2f} m2 piece in {piece.subzone_code} is under the "
                        "sliver tolerance and does not decide."
                    ),
                    basis=basis,
                    measured=piece.area_m2,
                    unit="m2",
                    limit=tol.sliver_area_m2,
                    subzone_code=piece.subzone_code,
                    zone_id=piece.zone_id,
                )
            )
        elif not piece.subzone_code:
            findings.append(
                Finding(
                    rule=f"{RULE}.subzone",
                    status=Status.NOT_ASSESSED,
                    effect=Effect.REVIEW,
                    message_id="Zona tanpa kode sub-zona: tidak ada data aturan.",
                    message_en="A zone without a sub-zone code: no rules can be applied.",
                    basis=basis,
                    zone_id=piece.zone_id,
                )
            )
    return findings
