"""One application placed on the plan: what every rule reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from permits.application import Application
from permits.decision import ZonePiece

if TYPE_CHECKING:  # the compiled plan holds the rules' lookups, so it imports them
    from permits.compiled import CompiledPlan


@dataclass(slots=True)
class Situation:
    """The application with its geometries in the plan's metric CRS, the lot area (m2) and the
    zone pieces it covers (``rows``: each piece's zone row in the compiled plan). Made for one
    check; the rules read it and never change it (not frozen: a frozen dataclass costs a
    microsecond more to make, on every check)."""

    plan: CompiledPlan
    app: Application
    parcel: BaseGeometry
    lot_m2: float
    pieces: tuple[ZonePiece, ...]
    rows: tuple[int, ...]
    footprint: BaseGeometry | None = None
    frontage: BaseGeometry | None = None
    #: The overlay rows the parcel intersects and the area (m2) in each, where the caller has
    #: measured them for many parcels at once (``Overlays.overlap_many``); else measured when a
    #: rule asks.
    overlay_hits: tuple[NDArray[np.intp], NDArray[np.float64]] | None = None
    #: Pieces above the sliver tolerance, with their zone rows, largest first.
    deciding: tuple[tuple[ZonePiece, int], ...] = field(init=False)
    #: The deciding pieces' sub-zone codes, each once, largest piece first.
    subzones: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        """What every rule reads of the pieces, worked out once per check."""
        deciding = tuple((p, r) for p, r in zip(self.pieces, self.rows, strict=True) if p.deciding)
        self.deciding = deciding
        self.subzones = tuple(dict.fromkeys(p.subzone_code for p, _ in deciding if p.subzone_code))

    @property
    def overlaid(self) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Overlay rows the parcel intersects, and the area (m2) in each."""
        if self.overlay_hits is not None:
            return self.overlay_hits
        return self.plan.overlays.overlap(self.parcel)
