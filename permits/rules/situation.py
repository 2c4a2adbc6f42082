"""One application placed on the plan: what every rule reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry

from permits.application import Application
from permits.decision import ZonePiece

if TYPE_CHECKING:  # the compiled plan holds the rules' lookups, so it imports them
    from permits.compiled import CompiledPlan


@dataclass(frozen=True)
class Situation:
    """The application with its geometries in the plan's metric CRS, the lot area (m2) and the
    zone pieces it covers (``rows``: each piece's zone row in the compiled plan)."""

    plan: CompiledPlan
    app: Application
    parcel: BaseGeometry
    lot_m2: float
    pieces: tuple[ZonePiece, ...]
    rows: tuple[int, ...]
    footprint: BaseGeometry | None = None
    frontage: BaseGeometry | None = None

    @property
    def deciding(self) -> list[tuple[ZonePiece, int]]:
        """Pieces above the sliver tolerance, with their zone rows, largest first."""
        return [(p, r) for p, r in zip(self.pieces, self.rows, strict=True) if p.deciding]

    def subzones(self) -> list[str]:
        """The deciding pieces' sub-zone codes, each once, largest piece first."""
        return list(dict.fromkeys(p.subzone_code for p, _ in self.deciding if p.subzone_code))
