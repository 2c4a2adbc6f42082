"""Reading zoning and overlay layers from files into the plan's metric CRS.

Shapefiles (also zipped), GeoPackages, GeoJSON and FileGDB folders are read with pyogrio. The
reader checks what a user can get wrong (CRS, swapped axes, 3D, non-polygons, empty and invalid
geometries), repairs what can be repaired and reports it, and maps the source's columns to
``ZONE_COLUMNS``/``OVERLAY_COLUMNS``. Every error names the file and the features or column.
"""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely
from numpy.typing import NDArray

from gis.crs import (
    is_metric,
    looks_swapped,
    metric_crs_for,
    reproject,
    to_lonlat,
    within_lonlat,
)
from gis.errors import CRSError
from gis.geometry import drop_z, repair_polygons, to_multipolygon
from layers.errors import PlanInputError
from layers.model import FLAG_PROVISIONS, OVERLAY_COLUMNS, ZONE_COLUMNS
from layers.quality import check_overlay
from layers.report import Issue, QualityReport, Severity

#: Canonical zone field -> source column of the ATR/BPN schema (Permen ATR/BPN 14/2021).
DEFAULT_MAPPING: dict[str, str] = {
    "zone_id": "OBJECTID",
    "subzone_code": "KODSBL",
    "subzone_name": "NAMOBJ",
    "subzone_num": "KODSZN",
    "zone_num": "KODZON",
    "block": "KODBLK",
}

#: Special-provision (ketentuan khusus) flag columns of the ATR/BPN schema.
FLAG_COLUMNS: tuple[str, ...] = tuple(FLAG_PROVISIONS)

#: The value a flag column holds where the provision does not apply.
FLAG_NONE = "tidak ada"

_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)
_ZIP_DATASETS = (".shp", ".gpkg", ".geojson", ".json", ".gdb")
_FAMILY = re.compile(r"^\s*([A-Za-z]+)")
_WHOLE_FLOAT_TEXT = re.compile(r"^\d+\.0+$")
_WHERE_SUFFIX = re.compile(r"\[[^\]]*\]$")
_NAMED_MAX = 10


@dataclass(frozen=True)
class ZoningLayer:
    """A zoning layer as read: ``zones`` (``ZONE_COLUMNS`` + MultiPolygon geometry in EPSG
    ``crs_epsg``, metric), the file name it came from, what reading it found, and how its features
    are named (``id_column`` is the source id column, e.g. ``OBJECTID``, or ``row``)."""

    zones: gpd.GeoDataFrame
    crs_epsg: int
    source: str
    report: QualityReport
    id_column: str = "row"


@dataclass(frozen=True)
class _Layer:
    """Polygons read by the shared reader: source attributes, metric MultiPolygons, feature ids."""

    frame: pd.DataFrame
    geometry: NDArray[np.object_]
    crs_epsg: int
    columns: dict[str, str | None]
    ids: list[str]
    labels: list[str]
    id_column: str
    source: str
    report: QualityReport


def read_zoning(
    path: str | Path,
    *,
    layer: str | None = None,
    mapping: Mapping[str, str] | None = None,
    crs_epsg: int | None = None,
    allow_z: bool = False,
) -> ZoningLayer:
    """The zones of a zoning (pola ruang) layer, in ``crs_epsg`` or the UTM zone of the data.

    ``mapping`` (canonical field -> source column, e.g. ``{"subzone_code": "Kode_Z3"}``) overrides
    ``DEFAULT_MAPPING``; column names match case-insensitively. ``allow_z`` drops Z coordinates
    (with a warning) instead of refusing the file.
    """
    unknown = sorted(set(mapping or {}) - set(DEFAULT_MAPPING))
    if unknown:
        raise PlanInputError(
            f"{Path(path).name}: unknown field(s) {', '.join(unknown)} in the column mapping; "
            f"fields: {', '.join(DEFAULT_MAPPING)}"
        )
    wanted = {**DEFAULT_MAPPING, **(mapping or {})}
    read = read_polygons(
        path,
        layer=layer,
        crs_epsg=crs_epsg,
        allow_z=allow_z,
        wanted=wanted,
        explicit=set(mapping or {}),
    )
    cols, frame = read.columns, read.frame
    if cols["subzone_code"] is None:
        raise PlanInputError(
            f"{read.source}: no sub-zone code column {wanted['subzone_code']}; map one with "
            f"mapping={{'subzone_code': ...}}; columns: {', '.join(map(str, frame.columns))}"
        )
    for field, column in cols.items():
        if column is None and field not in ("zone_id", "subzone_code"):
            read.report.add(
                Issue(
                    Severity.WARNING,
                    "missing-column",
                    f"no column {wanted[field]}: {field} left empty",
                    source=read.source,
                )
            )
    subzone_code = _column_text(frame, cols["subzone_code"])
    data: dict[str, Any] = {
        "zone_id": read.ids,
        "subzone_code": subzone_code,
        "subzone_name": _column_text(frame, cols["subzone_name"]),
        "subzone_num": _column_text(frame, cols["subzone_num"]),
        "zone_code": [zone_family(code) for code in subzone_code],
        "zone_num": _column_text(frame, cols["zone_num"]),
        "block": _column_text(frame, cols["block"]),
        "flags": _flags(frame),
        "attrs": attrs_json(frame),
    }
    zones = _frame(data, ZONE_COLUMNS, read)
    return ZoningLayer(zones, read.crs_epsg, read.source, read.report, read.id_column)


def read_overlay(
    path: str | Path,
    kind: str,
    *,
    layer: str | None = None,
    crs_epsg: int,
    name_column: str | None = None,
    klass_column: str | None = None,
    ceiling_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, QualityReport]:
    """The polygons of a special-provision overlay (``kind`` = ``LP2B``, ``KRB``, ``KKOP``, ...)
    in the plan's metric CRS ``crs_epsg``, with ``OVERLAY_COLUMNS``.

    ``ceiling_column`` holds a KKOP height ceiling in metres above sea level.
    """
    optional = {"name": name_column, "klass": klass_column, "ceiling_m": ceiling_column}
    explicit = {field: column for field, column in optional.items() if column}
    read = read_polygons(
        path,
        layer=layer,
        crs_epsg=crs_epsg,
        allow_z=False,
        wanted={"zone_id": DEFAULT_MAPPING["zone_id"], **explicit},
        explicit=set(explicit),
    )
    cols, frame = read.columns, read.frame
    data: dict[str, Any] = {
        "overlay_id": read.ids,
        "kind": [kind] * len(read.ids),
        "name": _column_text(frame, cols.get("name")),
        "klass": _column_text(frame, cols.get("klass")),
        "ceiling_m": _ceilings(read, cols.get("ceiling_m")),
        "attrs": attrs_json(frame),
    }
    overlay = _frame(data, OVERLAY_COLUMNS, read)
    read.report.extend(check_overlay(overlay, read.labels, source=read.source))
    return overlay, read.report


def _frame(data: dict[str, Any], columns: tuple[str, ...], read: _Layer) -> gpd.GeoDataFrame:
    """``columns`` of ``data`` with the layer's geometry and CRS; lists become object columns
    (None stays None, not NaN), arrays keep their dtype."""
    return gpd.GeoDataFrame(
        {
            name: data[name]
            if isinstance(data[name], np.ndarray)
            else pd.Series(data[name], dtype=object)
            for name in columns
        },
        geometry=read.geometry,
        crs=read.crs_epsg,
    )


def zone_family(subzone_code: str | None) -> str | None:
    """The zone family of a sub-zone code: the letters before the number.

    >>> [zone_family(c) for c in ("SPU-2", "R-3", "BA", "SPU-2.3", None)]
    ['SPU', 'R', 'BA', 'SPU', None]
    """
    match = _FAMILY.match(subzone_code or "")
    return match.group(1) if match else None


def read_polygons(
    path: str | Path,
    *,
    layer: str | None,
    crs_epsg: int | None,
    allow_z: bool,
    wanted: dict[str, str],
    explicit: set[str],
) -> _Layer:
    """Read one polygon layer, check and repair it, and bring it into the metric CRS."""
    path = Path(path)
    source = path.name
    if not path.exists():
        raise PlanInputError(f"{source}: no such file or folder ({path})")
    dataset = dataset_path(path, source)
    report = QualityReport()
    frame, crs = _read_frame(dataset, layer, source, report)
    columns = _resolve_columns(frame, wanted, explicit, source)
    ids, labels, id_column = _feature_ids(frame, columns["zone_id"])
    _report_duplicate_ids(ids, labels, id_column, source, report)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    _refuse(shapely.is_missing(geoms) | shapely.is_empty(geoms), labels, source, "empty geometry")
    geoms = _without_z(geoms, labels, source, allow_z, report)
    _refuse_non_polygons(geoms, labels, source)
    _check_axes(crs, geoms, source)
    epsg = _target_epsg(crs, geoms, crs_epsg, source)
    if pyproj.CRS.from_epsg(epsg) != crs:
        geoms = reproject(geoms, crs.to_wkt(), epsg)
        report.add(
            Issue(
                Severity.INFO,
                "reprojected",
                f"reprojected from {crs.to_string()} to EPSG:{epsg}",
                source=source,
            )
        )
    _refuse(_non_finite(geoms), labels, source, f"coordinates not finite in EPSG:{epsg}")
    geoms = _repaired(geoms, labels, epsg, source, report)
    multi, _ = to_multipolygon(geoms)
    return _Layer(
        frame.drop(columns=frame.geometry.name),
        multi,
        epsg,
        columns,
        ids,
        labels,
        id_column,
        source,
        report,
    )


def dataset_path(path: Path, source: str) -> str:
    """What GDAL opens for ``path``: the file or folder itself, or the dataset inside a zip.

    Zip members are checked first: a member whose path leaves the archive is refused.
    """
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise PlanInputError(f"{source}: not a readable zip archive ({exc})") from exc
    for member in members:
        name = member.replace("\\", "/")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
            raise PlanInputError(f"{source}: member {member!r} leaves the archive; refused")
    found = sorted(set(_zip_datasets(members)))
    if len(found) != 1:
        what = ", ".join(found) if found else "none"
        raise PlanInputError(
            f"{source}: expected one Shapefile folder, GeoPackage, GeoJSON or FileGDB inside the "
            f"zip; found {what}"
        )
    return f"/vsizip/{path.resolve()}/{found[0]}".rstrip("/")


def _zip_datasets(members: Iterable[str]) -> Iterable[str]:
    """Datasets in a zip's member list: Shapefile folders, FileGDB folders and single files."""
    for member in members:
        parts = PurePosixPath(member.replace("\\", "/")).parts
        gdb = [i for i, part in enumerate(parts) if part.lower().endswith(".gdb")]
        suffix = PurePosixPath(member).suffix.lower()
        if gdb:
            yield "/".join(parts[: gdb[0] + 1])
        elif suffix == ".shp":
            yield "/".join(parts[:-1])
        elif suffix in _ZIP_DATASETS:
            yield "/".join(parts)


def _read_frame(
    dataset: str, layer: str | None, source: str, report: QualityReport
) -> tuple[gpd.GeoDataFrame, pyproj.CRS]:
    """The chosen layer as a GeoDataFrame with its named fid column (FileGDB's OBJECTID) kept,
    and its CRS. What GDAL warns about while reading goes into ``report``."""
    try:
        chosen = _choose_layer(dataset, layer, source)
        fid_column = pyogrio.read_info(dataset, layer=chosen)["fid_column"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pyogrio.read_dataframe(dataset, layer=chosen, fid_as_index=bool(fid_column))
    except _READ_ERRORS as exc:
        raise PlanInputError(f"{source}: not a readable vector layer ({exc})") from exc
    for warning in caught:
        report.add(Issue(Severity.WARNING, "gdal-warning", str(warning.message), source=source))
    if not isinstance(frame, gpd.GeoDataFrame):
        raise PlanInputError(f"{source}: layer {chosen!r} has no geometry; not a vector layer")
    if fid_column and fid_column not in frame.columns:
        frame = frame.rename_axis(fid_column).reset_index()
    if frame.empty:
        raise PlanInputError(f"{source}: layer {chosen!r} has no features")
    if frame.crs is None:
        raise PlanInputError(f"{source} has no CRS (.prj missing?)")
    return frame.reset_index(drop=True), frame.crs


def _choose_layer(dataset: str, layer: str | None, source: str) -> str:
    """``layer`` if the dataset has it, else its only layer with geometry; else an error."""
    layers = pyogrio.list_layers(dataset)
    names = [str(name) for name, _ in layers]
    if layer is not None:
        if layer not in names:
            raise PlanInputError(f"{source}: no layer {layer!r}; layers: {', '.join(names)}")
        return layer
    spatial = [str(name) for name, kind in layers if kind is not None]
    if not spatial:
        raise PlanInputError(f"{source}: no layer with geometry; not a vector layer")
    if len(spatial) > 1:
        raise PlanInputError(
            f"{source}: {len(spatial)} layers with geometry, name one with layer=; "
            f"layers: {', '.join(names)}"
        )
    return spatial[0]


def _resolve_columns(
    frame: pd.DataFrame, wanted: dict[str, str], explicit: set[str], source: str
) -> dict[str, str | None]:
    """The actual column for each canonical field (case-insensitive), None where absent.

    A column the caller named explicitly must exist.
    """
    actual = _columns_by_folded_name(frame)
    resolved = {field: actual.get(column.casefold()) for field, column in wanted.items()}
    for field in sorted(explicit):
        if resolved[field] is None:
            raise PlanInputError(
                f"{source}: column {wanted[field]!r} (for {field}) not found; "
                f"columns: {', '.join(actual.values())}"
            )
    return resolved


def _columns_by_folded_name(frame: pd.DataFrame) -> dict[str, str]:
    """Attribute columns by case-folded name, for matching names case-insensitively."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return {str(c).casefold(): str(c) for c in frame.columns if c != geometry}


def _feature_ids(frame: pd.DataFrame, column: str | None) -> tuple[list[str], list[str], str]:
    """Feature ids as text, labels for messages (``OBJECTID 424`` or ``row 17``), id column."""
    rows = [str(n) for n in range(1, len(frame) + 1)]
    if column is None:
        return rows, [f"row {n}" for n in rows], "row"
    values = _column_text(frame, column)
    ids = [value if value is not None else row for value, row in zip(values, rows, strict=True)]
    labels = [
        f"{column} {value}" if value is not None else f"row {row}"
        for value, row in zip(values, rows, strict=True)
    ]
    return ids, labels, column


def _report_duplicate_ids(
    ids: list[str], labels: list[str], id_column: str, source: str, report: QualityReport
) -> None:
    """Warn about ids that several features share: messages naming them are ambiguous."""
    counts = pd.Series(ids).value_counts()
    for value, count in counts[counts > 1].items():
        label = labels[ids.index(str(value))]
        report.add(
            Issue(
                Severity.WARNING,
                "duplicate-id",
                f"{count} features share {id_column} {value}",
                source=source,
                feature=label,
            )
        )


def _without_z(
    geoms: NDArray[np.object_],
    labels: list[str],
    source: str,
    allow_z: bool,
    report: QualityReport,
) -> NDArray[np.object_]:
    """2D geometries; 3D ones are refused unless ``allow_z``, then dropped with a warning."""
    flat, had_z = drop_z(geoms)
    if not had_z.any():
        return geoms
    if not allow_z:
        _refuse(had_z, labels, source, "3D coordinates (pass allow_z to drop Z)")
    report.add(
        Issue(
            Severity.WARNING,
            "z-dropped",
            f"Z coordinates dropped from {int(had_z.sum())} feature(s)",
            source=source,
            feature=_named(np.flatnonzero(had_z), labels),
        )
    )
    return flat


def _refuse_non_polygons(geoms: NDArray[np.object_], labels: list[str], source: str) -> None:
    """Refuse the layer if any feature is not a Polygon or MultiPolygon, naming them."""
    _, bad = to_multipolygon(geoms)
    if bad.size:
        kinds = sorted(set(shapely.get_type_id(geoms[bad]).tolist()))
        names = ", ".join(shapely.GeometryType(k).name.title() for k in kinds)
        raise PlanInputError(
            f"{source}: non-polygon geometry ({names}) in {_named(bad, labels)}; "
            "a zoning layer holds polygons only"
        )


def _check_axes(crs: pyproj.CRS, geoms: NDArray[np.object_], source: str) -> None:
    """Refuse coordinates that cannot be in ``crs``: swapped lon/lat, or degrees in metres."""
    minx, miny, maxx, maxy = (float(b) for b in shapely.total_bounds(geoms))
    in_degrees = within_lonlat((minx, miny, maxx, maxy))
    if crs.is_geographic and looks_swapped((minx, miny, maxx, maxy)):
        raise PlanInputError(
            f"{source}: coordinates look like latitude, longitude (swapped): x spans "
            f"{minx:.4f}..{maxx:.4f}, y spans {miny:.4f}..{maxy:.4f}"
        )
    if crs.is_geographic and not in_degrees:
        raise PlanInputError(
            f"{source}: coordinates are not degrees though the CRS is {crs.to_string()} "
            "(a projected layer with a wrong .prj?)"
        )
    if crs.is_projected and in_degrees:
        raise PlanInputError(
            f"{source}: coordinates look like lon/lat degrees though the CRS is "
            f"{crs.to_string()} (a wrong .prj?)"
        )


def _target_epsg(
    crs: pyproj.CRS, geoms: NDArray[np.object_], crs_epsg: int | None, source: str
) -> int:
    """``crs_epsg`` if given; else the source CRS if it is metric with an EPSG code; else the UTM
    zone of the data's centre."""
    if crs_epsg is not None:
        try:
            metric = is_metric(crs_epsg)
        except pyproj.exceptions.CRSError as exc:
            raise CRSError(f"{source}: unknown CRS EPSG:{crs_epsg}") from exc
        if not metric:
            raise CRSError(f"{source}: EPSG:{crs_epsg} is not a metric CRS")
        return crs_epsg
    own = crs.to_epsg()
    if own is not None and is_metric(crs):
        return int(own)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    lon, lat = to_lonlat((minx + maxx) / 2, (miny + maxy) / 2, crs.to_wkt())
    return metric_crs_for(lon, lat)


def _repaired(
    geoms: NDArray[np.object_], labels: list[str], epsg: int, source: str, report: QualityReport
) -> NDArray[np.object_]:
    """Repaired geometries; a warning per repair, an error if any cannot be repaired."""
    fixed, notes = repair_polygons(geoms)
    failed = [note for note in notes if not note.repaired]
    if failed:
        named = "; ".join(f"{labels[n.index]}: {n.reason}" for n in failed[:_NAMED_MAX])
        raise PlanInputError(f"{source}: invalid geometry that cannot be repaired ({named})")
    for note in notes:
        report.add(
            Issue(
                Severity.WARNING,
                "invalid-geometry",
                f"invalid geometry ({_WHERE_SUFFIX.sub('', note.reason)}) repaired; "
                f"area change {note.area_change:+.2f} m2",
                source=source,
                feature=labels[note.index],
                location=to_lonlat(*note.location, epsg) if note.location else None,
                details={"reason": note.reason, "area_change_m2": note.area_change},
            )
        )
    return fixed


def _non_finite(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """Which geometries have a NaN or infinite coordinate (e.g. projected out of range)."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    mask = np.zeros(len(geoms), dtype=bool)
    mask[owner[~np.isfinite(coords).all(axis=1)]] = True
    return mask


def _refuse(mask: NDArray[np.bool_], labels: list[str], source: str, what: str) -> None:
    """Raise naming the features where ``mask`` is set."""
    if mask.any():
        raise PlanInputError(f"{source}: {what} in {_named(np.flatnonzero(mask), labels)}")


def _named(indices: Iterable[int], labels: list[str]) -> str:
    """The labels of ``indices``, at most ten, then how many more."""
    chosen = [labels[i] for i in indices]
    more = len(chosen) - _NAMED_MAX
    return ", ".join(chosen[:_NAMED_MAX]) + (f" and {more} more" if more > 0 else "")


def _column_text(frame: pd.DataFrame, column: str | None) -> list[str | None]:
    """A column as text: stripped, empty as None, whole numbers without ".0" (codes arrive as
    floats: 32040000.0 -> "32040000")."""
    if column is None:
        return [None] * len(frame)
    return [_text(value) for value in frame[column].tolist()]


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if _WHOLE_FLOAT_TEXT.match(text):
        text = text.split(".")[0]
    return text or None


def _flags(frame: pd.DataFrame) -> list[str]:
    """Per feature, a JSON object of the special-provision flags that apply (not "Tidak Ada")."""
    actual = _columns_by_folded_name(frame)
    flags: list[dict[str, str]] = [{} for _ in range(len(frame))]
    for column in (actual[f.casefold()] for f in FLAG_COLUMNS if f.casefold() in actual):
        for row, value in enumerate(_column_text(frame, column)):
            if value is not None and value.casefold() != FLAG_NONE:
                flags[row][column] = value
    return [json.dumps(f, sort_keys=True, ensure_ascii=False) for f in flags]


def attrs_json(frame: pd.DataFrame) -> list[str]:
    """Per feature, a JSON object of every source attribute as it came (NaN as null)."""
    plain = frame.astype(object).where(frame.notna(), None)
    return [
        json.dumps(record, ensure_ascii=False, default=_json_value)
        for record in plain.to_dict("records")
    ]


def _json_value(value: Any) -> Any:
    """JSON for values the json module does not know (numpy numbers, dates)."""
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _ceilings(read: _Layer, column: str | None) -> NDArray[np.float64]:
    """KKOP ceilings in m (NaN where none); a value that is not a number is an error naming the
    feature."""
    texts = pd.Series(_column_text(read.frame, column), dtype=object)
    numbers = pd.to_numeric(texts, errors="coerce")
    bad = (numbers.isna() & texts.notna()).to_numpy()
    _refuse(bad, read.labels, read.source, f"column {column} is not a number")
    return numbers.to_numpy(dtype=np.float64)
