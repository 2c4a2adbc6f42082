"""Vector tiles in the WebMercatorQuad grid: which tile is meant, and its Mapbox Vector Tile bytes.

The tile grid is morecantile's (the OGC TileMatrixSet), the encoding mapbox-vector-tile's; what is
left here is clipping geometries to the tile and its buffer, which the encoder does not do. The
parameters match PostGIS's ``ST_AsMVT`` defaults, so a tile looks the same from either store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import morecantile
import numpy as np
import shapely
from numpy.typing import NDArray

from gis.errors import SimtaruError
from gis.geometry import polygonal_parts

#: The grid every tile is addressed in (EPSG:3857 tiles, as MapLibre, QGIS and OGC API Tiles use).
TMS = morecantile.tms.get("WebMercatorQuad")
#: The CRS of that grid and of the coordinates a tile is encoded from (web Mercator).
MERCATOR_EPSG = 3857
#: Tile coordinates per side, and the margin (in the same units) kept around the tile so that
#: polygon edges just outside it do not show as seams: PostGIS's defaults.
EXTENT = 4096
BUFFER = 64
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


class TileError(SimtaruError):
    """A tile address outside the grid; ``field`` names the coordinate (``z``, ``x``, ``y``)."""

    code = "invalid-tile"
    title = "Invalid tile"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def tile_at(z: int, x: int, y: int) -> morecantile.Tile:
    """The WebMercatorQuad tile ``z/x/y``, or a ``TileError`` saying which coordinate is off.

    >>> tile_at(14, 13186, 8186)
    Tile(x=13186, y=8186, z=14)
    >>> tile_at(2, 4, 0)
    Traceback (most recent call last):
    ...
    gis.tiles.TileError: x 4 is outside zoom 2, whose tiles are numbered 0 to 3
    """
    if not TMS.minzoom <= z <= TMS.maxzoom:
        raise TileError(f"zoom {z} is outside {TMS.minzoom} to {TMS.maxzoom}", "z")
    matrix = TMS.matrix(z)
    for name, value, size in (("x", x, matrix.matrixWidth), ("y", y, matrix.matrixHeight)):
        if not 0 <= value < size:
            raise TileError(
                f"{name} {value} is outside zoom {z}, whose tiles are numbered 0 to {size - 1}",
                name,
            )
    return morecantile.Tile(x, y, z)


def encode(
    layer: str,
    geoms: NDArray[np.object_],
    properties: Sequence[Mapping[str, Any]],
    ids: Sequence[int],
    bounds: tuple[float, float, float, float],
) -> bytes:
    """One polygon layer's features as MVT bytes; empty bytes when none is left after clipping.

    ``geoms`` are in the tile's CRS (EPSG:3857) and ``bounds`` are the tile's in it; each
    geometry is clipped to the tile plus ``BUFFER`` and keeps only its polygons, and one that
    snapping to the tile's grid makes invalid is repaired or dropped, as ``ST_AsMVTGeom`` does.
    Properties that are empty (None, NaN) are left out, as ``ST_AsMVT`` leaves out NULLs.
    """
    minx, miny, maxx, maxy = bounds
    margin = (maxx - minx) * BUFFER / EXTENT
    clip = shapely.box(minx - margin, miny - margin, maxx + margin, maxy + margin)
    clipped = polygonal_parts(shapely.intersection(geoms, clip))
    # Tile units, y up: the encoder rounds them to its grid and flips y itself. Scaling here,
    # over all geometries at once, spares its per-vertex Python (and shapely.ops.transform).
    scale = np.array([EXTENT / (maxx - minx), EXTENT / (maxy - miny)])
    units = shapely.transform(clipped, lambda xy: (xy - (minx, miny)) * scale)
    features = [
        {"geometry": geom, "properties": _present(props), "id": int(fid)}
        for geom, props, fid in zip(units, properties, ids, strict=True)
        if not geom.is_empty
    ]
    if not features:
        return b""
    return bytes(
        mapbox_vector_tile.encode(
            {"name": layer, "features": features},
            default_options={"extents": EXTENT, "on_invalid_geometry": _repaired},
        )
    )


def _repaired(shape: shapely.Geometry) -> shapely.Geometry:
    """A polygon made invalid by snapping, repaired to its polygons (empty when it collapsed)."""
    return shapely.make_valid(shape, method="structure", keep_collapsed=False)


def _present(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if v is not None and v == v}
