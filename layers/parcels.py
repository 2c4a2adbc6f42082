"""Land parcels (persil, bidang tanah): read from a file as the zoning layers are, and kept per
region so that a planner can find a parcel by its national id (NIB) instead of drawing it.

The land office's parcels of a region are a layer of their own (``parcels_<region code>``) in
the store, like a plan version's ``zones_v<id>``: no catalogue table, so no migration. The same
reader takes a parcel file an applicant uploads (GeoJSON, zipped Shapefile, KML): a file that is
no parcel is refused with a ``reason`` the planners' map words in its own language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pyogrio.errors

from layers.errors import PlanInputError
from layers.report import QualityReport
from layers.zoning import attrs_json, dataset_path, read_polygons

#: Columns of a parcels layer (besides ``geom``, a MultiPolygon in the data's metric CRS):
#: ``parcel_id`` the parcel's id as the source gives it (the NIB), ``attrs`` every source
#: attribute as JSON.
PARCEL_COLUMNS: tuple[str, ...] = ("parcel_id", "attrs")
#: The land office's id column (Nomor Identifikasi Bidang).
NIB_COLUMN = "NIB"

_REGION_CODE = re.compile(r"[0-9A-Za-z]{1,20}")
_NOT_POLYGONS = ("point", "linestring")


class ParcelFileError(PlanInputError):
    """A file that holds no usable parcel. ``reason`` says which kind of refusal it is
    (``unreadable``, ``no-crs``, ``not-polygon``, ``invalid``) so that a page can say it in
    its own language; ``params`` are the message's values (``geometry``: the type found)."""

    def __init__(self, message: str, reason: str, **params: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class ParcelLayer:
    """Parcels as read: ``frame`` has ``PARCEL_COLUMNS`` and MultiPolygons in EPSG
    ``crs_epsg`` (metric); ``id_column`` is the source column the ids came from (``row`` when
    the file has none)."""

    frame: gpd.GeoDataFrame
    crs_epsg: int
    source: str
    id_column: str
    report: QualityReport


def parcels_table_name(region_code: str) -> str:
    """The layer of a region's parcels (``parcels_6107``); the code is checked, as it names a
    table."""
    if not _REGION_CODE.fullmatch(region_code):
        raise PlanInputError(f"region code {region_code!r} is not a BPS code (letters and digits)")
    return f"parcels_{region_code}"


def read_parcels(
    path: str | Path, *, id_column: str | None = None, layer: str | None = None
) -> ParcelLayer:
    """The polygons of a parcel file in the metric CRS of their place (its UTM zone), each with
    its id from ``id_column`` (default ``NIB`` where the file has it, else the row number).

    What the zoning reader refuses is refused here too (an unsafe zip, no CRS, swapped axes,
    non-polygons, geometry that cannot be repaired); Z coordinates, which KML always carries,
    are dropped. A point, a line, a file GDAL cannot read and a Shapefile without its ``.prj``
    are told apart first, each with its own ``reason``.
    """
    path = Path(path)
    source = path.name
    try:
        dataset = dataset_path(path, source)
    except PlanInputError as exc:
        raise ParcelFileError(str(exc), "unreadable") from None
    try:
        info = pyogrio.read_info(dataset, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        raise ParcelFileError(
            f"{source}: not a file GDAL can read as GeoJSON, zipped Shapefile or KML", "unreadable"
        ) from None
    _refuse_what_is_no_parcel(info, source)
    wanted = {"zone_id": id_column or NIB_COLUMN}
    try:
        read = read_polygons(
            path,
            layer=layer,
            crs_epsg=None,
            allow_z=True,
            wanted=wanted,
            explicit={"zone_id"} if id_column else set(),
        )
    except PlanInputError as exc:
        raise ParcelFileError(str(exc), "invalid") from None
    frame = gpd.GeoDataFrame(
        {"parcel_id": read.ids, "attrs": attrs_json(read.frame)},
        geometry=read.geometry,
        crs=read.crs_epsg,
    )
    return ParcelLayer(frame, read.crs_epsg, source, read.id_column, read.report)


def _refuse_what_is_no_parcel(info: dict[str, Any], source: str) -> None:
    """Points and lines, and a layer without a CRS (a Shapefile without its ``.prj``: GeoJSON
    and KML are lon/lat by definition)."""
    kind = str(info.get("geometry_type") or "")
    if kind.casefold().removeprefix("multi").split(" ")[0] in _NOT_POLYGONS:
        raise ParcelFileError(
            f"{source}: holds {kind} geometry; a parcel is a polygon (its boundary)",
            "not-polygon",
            geometry=kind,
        )
    if info.get("crs") is None:
        raise ParcelFileError(
            f"{source}: has no coordinate reference system (a Shapefile needs its .prj file); "
            "its coordinates cannot be placed on the map",
            "no-crs",
        )
