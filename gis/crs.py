"""Coordinate reference systems: which metric CRS fits a plan, cached transformers, sanity checks.

Every area and distance is measured in a metric CRS; lon/lat order is kept inside (always_xy).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from gis.errors import CRSError

#: The CRS of lon/lat coordinates that reports and API answers use.
LONLAT_EPSG = 4326


def metric_crs_for(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding ``lon``/``lat`` (326xx north, 327xx south).

    The plain zone formula, without the Norway/Svalbard exceptions, which no Indonesian plan meets.

    >>> metric_crs_for(109.9, 1.3), metric_crs_for(117.5, 0.13), metric_crs_for(109.9, -0.5)
    (32649, 32650, 32749)
    """
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise CRSError(f"no UTM zone for lon {lon}, lat {lat}: not a lon/lat position")
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str) -> pyproj.Transformer:
    """A transformer from ``src`` to ``dst`` (EPSG code or any text pyproj reads), x = lon.

    Cached: building one costs milliseconds, reusing one microseconds.
    """
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def reproject(geoms: NDArray[np.object_], src: int | str, dst: int | str) -> NDArray[np.object_]:
    """``geoms`` (an array of shapely geometries) from ``src`` to ``dst`` coordinates."""
    trans = transformer(src, dst)
    return shapely.transform(geoms, trans.transform, interleaved=False)


def to_lonlat(x: float, y: float, src: int | str) -> tuple[float, float]:
    """The lon/lat of point ``x``, ``y`` given in ``src``, for reports."""
    lon, lat = transformer(src, LONLAT_EPSG).transform(x, y)
    return float(lon), float(lat)


def is_metric(crs: pyproj.CRS | int | str) -> bool:
    """True when ``crs`` is projected with metre axes, so areas come out in m2.

    >>> is_metric(32649), is_metric(4326), is_metric(2263)
    (True, False, False)
    """
    crs = pyproj.CRS.from_user_input(crs)
    return crs.is_projected and all(a.unit_name in ("metre", "meter") for a in crs.axis_info)


def within_lonlat(bounds: tuple[float, float, float, float]) -> bool:
    """True when ``bounds`` (minx, miny, maxx, maxy) fit lon in [-180, 180], lat in [-90, 90]."""
    minx, miny, maxx, maxy = bounds
    return minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90


def looks_swapped(bounds: tuple[float, float, float, float]) -> bool:
    """True when lon/lat ``bounds`` (minx, miny, maxx, maxy) look like latitude, longitude:
    out of the lon/lat range as given, within it with x and y exchanged.

    Only detectable where the longitudes exceed 90 degrees (all of Indonesia, 95E to 141E).

    >>> looks_swapped((1.2, 109.8, 1.4, 110.0)), looks_swapped((109.8, 1.2, 110.0, 1.4))
    (True, False)
    """
    minx, miny, maxx, maxy = bounds
    return not within_lonlat(bounds) and within_lonlat((miny, minx, maxy, maxx))
