"""The plan around a parcel, read from the store for drawing it: the zone pieces and overlay
pieces the parcel is made of (the map highlights them after a check) and the zones and overlays
near it (the decision document's map).

The engine keeps no geometry it could hand out, and a drawing needs only the few features near
one parcel: the store finds them through its spatial index (as lon/lat features, the form every
store serves), and the pieces are cut in the plan's metric CRS. Their areas agree with the
decision's to a few square centimetres; the decision's are the ones that count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from gis.crs import LONLAT_EPSG, reproject, transformer
from gis.geometry import polygonal_parts
from gis.index import NOISE_M2
from layers.model import PlanVersion
from layers.store import PlanStore

#: Features read around one parcel at most (a parcel meets a few dozen zones).
MAX_FEATURES = 10_000


@dataclass(frozen=True)
class Surroundings:
    """A version's zones and overlays meeting a box, in the version's metric CRS."""

    zones: gpd.GeoDataFrame
    overlays: gpd.GeoDataFrame
    crs_epsg: int


def around(store: PlanStore, version: PlanVersion, box: BaseGeometry) -> Surroundings:
    """The zones and overlays meeting ``box`` (metric CRS of the version)."""
    minx, miny, maxx, maxy = box.bounds
    lonlat = transformer(version.crs_epsg, LONLAT_EPSG).transform_bounds(
        minx, miny, maxx, maxy, densify_pts=21
    )
    bbox = (float(lonlat[0]), float(lonlat[1]), float(lonlat[2]), float(lonlat[3]))

    def layer(name: str) -> gpd.GeoDataFrame:
        page = store.feature_page(version.id, name, bbox, limit=MAX_FEATURES)
        if not page.features:
            return gpd.GeoDataFrame(geometry=[], crs=version.crs_epsg)
        frame = gpd.GeoDataFrame.from_features(page.features, crs=LONLAT_EPSG)
        return frame.to_crs(version.crs_epsg)

    return Surroundings(layer("zones"), layer("overlays"), version.crs_epsg)


def pieces(store: PlanStore, version: PlanVersion, parcel: BaseGeometry) -> dict[str, Any]:
    """The parcel (metric CRS of ``version``) cut by the version's zones and by its overlays,
    as a GeoJSON FeatureCollection in lon/lat: ``layer`` ``zone`` pieces with the zone's codes,
    area (m2) and share of the parcel; ``overlay`` pieces with the provision's kind, class and
    name and their area."""
    found = around(store, version, parcel)
    lot = float(parcel.area)
    features: list[dict[str, Any]] = []
    for layer, frame, keys in (
        ("zone", found.zones, ("zone_id", "subzone_code", "subzone_name", "zone_code", "block")),
        ("overlay", found.overlays, ("kind", "klass", "name")),
    ):
        if frame.empty:
            continue
        cut = polygonal_parts(
            shapely.intersection(parcel, np.asarray(frame.geometry.array, dtype=object))
        )
        areas = shapely.area(cut)
        keep = np.flatnonzero(areas > NOISE_M2)
        lonlat = reproject(cut[keep], version.crs_epsg, LONLAT_EPSG)
        for row, geometry in zip(keep.tolist(), lonlat, strict=True):
            properties = {key: _value(frame.iloc[row][key]) for key in keys}
            area = float(areas[row])
            properties.update(layer=layer, area_m2=area, share=area / lot if lot > 0 else 0.0)
            features.append(
                {"type": "Feature", "geometry": mapping(geometry), "properties": properties}
            )
    return {"type": "FeatureCollection", "features": features}


def _value(value: Any) -> Any:
    """A frame's value as JSON takes it (NaN and None as null)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value
