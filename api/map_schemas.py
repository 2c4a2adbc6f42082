"""The HTTP contract of what the planners' map asks besides checks: uploaded parcel files read
into GeoJSON, a region's land parcels by NIB, a version's activities, the zone and overlay
pieces of a parcel. Each model has an example, as the OpenAPI shows it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from api.schemas import CRS_DESCRIPTION, EXAMPLE_PARCEL, TEXT, ParcelGeometry, Strict

_PARCEL_FEATURE: dict[str, Any] = {
    "type": "Feature",
    "id": 0,
    "geometry": {"type": "MultiPolygon", "coordinates": [EXAMPLE_PARCEL["coordinates"]]},
    "properties": {
        "parcel_id": "00002",
        "area_m2": 480.44,
        "attrs": {"NIB": "00002", "TIPEHAK": "Hak Milik", "LUASTERTUL": 480.0},
    },
}


class ParcelFileForm(BaseModel):
    """An uploaded parcel file (``multipart/form-data``): one GeoJSON, zipped Shapefile (with
    its .prj) or KML file; a field the form does not know is refused."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"file": "persil.zip"}]}
    )

    file: UploadFile = Field(description="The parcel file (.geojson, .zip, .kml)")


class ParcelFileOut(BaseModel):
    """The parcels of an uploaded file in lon/lat (OGC:CRS84), each with its id (the file's
    NIB column, else its row number), its area (m2, measured in the metric CRS of its place)
    and the file's attributes; ``notes`` says what reading repaired or dropped."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "source": "persil.zip",
                    "id_column": "NIB",
                    "crs_epsg": 32650,
                    "features": [_PARCEL_FEATURE],
                    "notes": [],
                }
            ]
        }
    )

    type: Literal["FeatureCollection"]
    source: str = Field(description="The uploaded file's name")
    id_column: str = Field(description="The column the parcel ids came from (`row`: none)")
    crs_epsg: int = Field(description="The metric CRS the areas were measured in")
    features: list[dict[str, Any]]
    notes: list[str]


class ParcelSummaryOut(BaseModel):
    """A region's land parcels as ``simtaru parcels-import`` loaded them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region_code": "6107",
                    "count": 2784,
                    "crs_epsg": 32649,
                    "bbox": [109.8625, 1.2210, 110.0229, 1.3848],
                }
            ]
        }
    )

    region_code: str
    count: int = Field(description="Parcels loaded (0: none)")
    crs_epsg: int | None = Field(description="The metric CRS they are kept in")
    bbox: list[float] | None = Field(description="lon/lat extent")


class ParcelsOut(BaseModel):
    """The parcels with the NIBs asked for, in lon/lat; a NIB that several parcels share (the
    land office's data has such) gives each of them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "region_code": "6107",
                    "features": [
                        {**_PARCEL_FEATURE, "properties": {"parcel_id": "00002", "attrs": {}}}
                    ],
                }
            ]
        }
    )

    type: Literal["FeatureCollection"]
    region_code: str
    features: list[dict[str, Any]]


_ACTIVITY: dict[str, Any] = {
    "id": "47112",
    "name": "Toko Kelontong",
    "group": "Perdagangan dan Jasa",
    "kbli": ["47112"],
}


class ActivityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ACTIVITY]})

    id: str = Field(description="The kegiatan's id in the plan's ITBX matrix")
    name: str
    group: str | None
    kbli: list[str] = Field(description="KBLI codes linked to it (matrix and crosswalk)")


class ActivityList(BaseModel):
    """Activities of a version matching a query: by KBLI code (a prefix of digits) or by name
    (every word in it), best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"version_id": 1, "q": "4711", "number_matched": 1, "activities": [_ACTIVITY]}
            ]
        }
    )

    version_id: int
    q: str
    number_matched: int
    activities: list[ActivityOut]


class PiecesRequest(Strict):
    """A parcel whose pieces in the version's zones and overlays are wanted."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"parcel": EXAMPLE_PARCEL}]}
    )

    parcel: ParcelGeometry
    crs: str = Field("OGC:CRS84", max_length=200, pattern=TEXT, description=CRS_DESCRIPTION)


class PiecesOut(BaseModel):
    """The parcel cut by the zones (``layer``: ``zone``) and by the overlays (``overlay``), in
    lon/lat, each piece with its area (m2) and share of the parcel."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "version_id": 1,
                    "parcel_area_m2": 480.44,
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": EXAMPLE_PARCEL,
                            "properties": {
                                "layer": "zone",
                                "zone_id": "16",
                                "subzone_code": "R-3",
                                "subzone_name": "Perumahan Kepadatan Sedang",
                                "zone_code": "R",
                                "block": "I.A.2",
                                "area_m2": 480.44,
                                "share": 1.0,
                            },
                        }
                    ],
                }
            ]
        }
    )

    type: Literal["FeatureCollection"]
    version_id: int
    parcel_area_m2: float
    features: list[dict[str, Any]]
