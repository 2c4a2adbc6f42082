"""One application placed on the plan: what every rule reads."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from permits.application import Application
from permits.decision import ZonePiece

if TYPE_CHECKING:  # the compiled plan holds the rules' lookups, so it imports them
    from permits.compiled import CompiledPlan


@dataclass(frozen=True)
class Situation:
    """The application with its geometries in the plan's metric CRS, the lot area (m2) and the
    zone pieces it covers (``rows``: each piece's zone row in the compiled plan). What the rules
    derive from the pieces is worked out once per check (``cached_property``)."""

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

    @cached_property
    def overlaid(self) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Overlay rows the parcel intersects, and the area (m2) in each."""
        if self.overlay_hits is not None:
            return self.overlay_hits
        _, rows, areas = self.plan.overlays.overlap_many(np.array([self.parcel], dtype=object))
        return rows, areas

    @cached_property
    def deciding(self) -> tuple[tuple[ZonePiece, int], ...]:
        """Pieces above the sliver tolerance, with their zone rows, largest first."""
        return tuple((p, r) for p, r in zip(self.pieces, self.rows, strict=True) if p.deciding)

    @cached_property
    def subzones(self) -> tuple[str, ...]:
        """The deciding pieces' sub-zone codes, each once, largest piece first."""
        return tuple(dict.fromkeys(p.subzone_code for p, _ in self.deciding if p.subzone_code))
