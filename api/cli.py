"""The ``simtaru`` command line: load plans, read their reports, activate versions.

Every command works on the store named by ``--store`` (a ``postgresql+psycopg://`` URL or a
``.gpkg`` path), else ``SIMTARU_DATABASE_URL``, else the embedded store ``var/simtaru.gpkg``.
A user's mistake ends in one readable ``error:`` line and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pyogrio
from shapely.geometry.base import BaseGeometry
from tqdm import tqdm

from api.keys import KeyStore, Role
from api.server import serve
from api.settings import ApiSettings
from gis.errors import SimtaruError
from gis.parse import parse_geometry
from layers.demo_loader import load_demo
from layers.export import export_version
from layers.importer import (
    OVERLAY_SPEC,
    RASTER_SPEC,
    OverlaySource,
    PlanSources,
    RasterSource,
    import_plan,
    parse_pairs,
)
from layers.model import PlanKind, PlanVersion, Region
from layers.parcels import read_parcels
from layers.settings import StoreSettings
from layers.store import PlanStore
from layers.stores import open_store
from permits.application import ROAD_CLASSES, Application, Building
from permits.batch import BUILDING_COLUMNS
from permits.batchfile import check_file
from permits.engine import Engine
from permits.in_force import PlansInForce
from permits.records import DecisionStore

Command = Callable[[PlanStore, argparse.Namespace], None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.store_url = args.store or StoreSettings().store_url
        store = open_store(args.store_url)
        try:
            args.run(store, args)
        finally:
            store.close()
    except SimtaruError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _serve(store: PlanStore, args: argparse.Namespace) -> None:
    """Migrate once, load the demo city into a store without plans, then run the HTTP service
    in worker processes (each builds its own engines; they find the store in the environment)."""
    if not store.plans() and not args.no_demo:
        load_demo(store)
    DecisionStore.of(store)
    keys = KeyStore(store.engine)
    for version in store.versions_in_force(date.today()):
        plan = store.plan(version.plan_id)
        print(f"plan {plan.id}: {plan.name} ({plan.legal_basis})")
        _print_version(version, indent="  ")
    if not keys.list():
        _key, token = keys.create("first admin", Role.ADMIN)
        print(f"No API key existed; made one for an admin (shown once): {token}")
    print(f"Simtaru serves {_where(store)} at http://{args.host}:{args.port}/v1/docs")
    store.close()
    serve(args.store_url, args.host, args.port, args.workers)


def _demo(store: PlanStore, _args: argparse.Namespace) -> None:
    _print_version(load_demo(store))


def _key_add(store: PlanStore, args: argparse.Namespace) -> None:
    key, token = KeyStore(store.engine).create(args.name, Role(args.role))
    print(f"key {key.id} for {key.name} ({key.role.value}); the key, shown only now:")
    print(token)


def _key_revoke(store: PlanStore, args: argparse.Namespace) -> None:
    key = KeyStore(store.engine).revoke(args.id)
    print(f"key {key.id} of {key.name} ({key.role.value}) revoked")


def _keys(store: PlanStore, _args: argparse.Namespace) -> None:
    for key in KeyStore(store.engine).list():
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        print(
            f"key {key.id}: {key.name} ({key.role.value}), made {key.created_at:%Y-%m-%d}, {state}"
        )


def _check(store: PlanStore, args: argparse.Namespace) -> None:
    """One parcel (WKT, or the first feature of a file) against the plan in force."""
    parcel, crs = _parcel(args.parcel, args.crs)
    app = Application(
        parcel=parcel,
        activity=args.activity,
        building=Building(**{name: getattr(args, name) for name in BUILDING_COLUMNS}),
        crs=crs,
        road_class=args.road_class,
        applied_on=args.date,
    )
    decision = PlansInForce(store).check(app, plan_id=args.plan, neighbours=DecisionStore.of(store))
    if args.json:
        print(decision.to_json())
        return
    print(decision.to_text(args.lang))


def _batch(store: PlanStore, args: argparse.Namespace) -> None:
    """A file of parcels into a results GeoPackage, with a progress bar; resumes."""
    engine = Engine.from_store(store, _version_in_force(store, args.plan, args.date).id)
    with tqdm(unit=" parcels", file=sys.stderr, disable=args.quiet) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        run = check_file(
            args.input,
            args.output,
            engine,
            activity=args.activity,
            layer=args.layer,
            chunk=args.chunk,
            progress=progress,
            workers=args.workers,
        )
    counts = ", ".join(f"{n:,} {o}" for o, n in sorted(run.outcomes.items()))
    print(
        f"{args.output}: {run.checked:,} parcels checked against version {engine.ref.version_id}"
        f"{f', {run.skipped:,} done before' if run.skipped else ''} ({counts or 'none'})"
    )


def _export(store: PlanStore, args: argparse.Namespace) -> None:
    layers = export_version(store, args.version, args.output)
    print(f"{args.output}: {', '.join(layers)}")


def _export_decisions(store: PlanStore, args: argparse.Namespace) -> None:
    frame = DecisionStore.of(store).export()
    output = Path(args.output)
    if output.suffix.lower() == ".csv":
        table = frame.drop(columns="geometry").assign(parcel_wkt=frame.geometry.to_wkt())
        table.to_csv(output, index=False)
    elif output.suffix.lower() == ".gpkg":
        frame.to_file(output, layer="decisions", driver="GPKG")
    else:
        raise SimtaruError(f"{output}: export decisions to a .csv or a .gpkg file")
    print(f"{output}: {len(frame):,} decisions")


def _version_in_force(store: PlanStore, plan_id: int | None, day: date | None) -> PlanVersion:
    found = store.versions_in_force(day or date.today())
    if plan_id is not None:
        found = [v for v in found if v.plan_id == plan_id]
    if len(found) != 1:
        which = ", ".join(f"plan {v.plan_id}" for v in found) or "no plan"
        raise SimtaruError(f"{which} in force on {day or date.today()}; name one with --plan")
    return found[0]


def _parcel(value: str, crs: str) -> tuple[BaseGeometry, str]:
    """WKT text, or the first feature of a vector file (in the file's own CRS)."""
    path = Path(value)
    if not path.exists():
        return parse_geometry(value, fmt="wkt" if "(" in value else None), crs
    try:
        frame = pyogrio.read_dataframe(path, max_features=1)
    except pyogrio.errors.DataSourceError as exc:
        raise SimtaruError(f"{path}: not a vector file GDAL can read ({exc})") from None
    if not len(frame):
        raise SimtaruError(f"{path}: holds no feature")
    return frame.geometry.iloc[0], frame.crs.to_string() if frame.crs else crs


def _region_add(store: PlanStore, args: argparse.Namespace) -> None:
    bbox = tuple(float(v) for v in args.bbox.split(",")) if args.bbox else None
    if bbox is not None and len(bbox) != 4:
        raise SimtaruError("--bbox takes min_lon,min_lat,max_lon,max_lat")
    region = store.ensure_region(Region(args.code, args.name, bbox))  # type: ignore[arg-type]
    print(f"region {region.code}: {region.name}")


def _plan_add(store: PlanStore, args: argparse.Namespace) -> None:
    plan = store.create_plan(
        args.region,
        args.name,
        args.legal_basis,
        kind=PlanKind(args.kind),
        enacted_on=args.enacted,
    )
    print(f"plan {plan.id}: {plan.name} ({plan.kind.value}, region {plan.region_code})")


def _plans(store: PlanStore, _args: argparse.Namespace) -> None:
    for plan in store.plans():
        print(f"plan {plan.id}: {plan.name} ({plan.kind.value}, region {plan.region_code})")
        for version in store.versions(plan.id):
            _print_version(version, indent="    ")


def _import(store: PlanStore, args: argparse.Namespace) -> None:
    sources = PlanSources(
        zoning=args.zoning,
        layer=args.layer,
        mapping=dict(parse_pairs(args.map, "--map")),
        crs_epsg=args.crs,
        allow_z=args.allow_z,
        itbx=args.itbx,
        itbx_sheet=args.itbx_sheet,
        legend=args.legend,
        intensity=args.intensity,
        crosswalk=args.crosswalk,
        provisions=args.provisions,
        overlays=tuple(
            OverlaySource.parse(spec, Path(), "--overlay") for spec in args.overlay or ()
        ),
        rasters=tuple(RasterSource.parse(spec, Path(), "--raster") for spec in args.raster or ()),
        raster_rules=args.raster_rules,
    )
    version = import_plan(store, args.plan, sources, args.label or args.zoning.stem)
    _print_version(version)
    print(version.report.to_json() if args.json else version.report.to_text())


def _report(store: PlanStore, args: argparse.Namespace) -> None:
    version = store.version(args.version)
    if args.json:
        print(json.dumps(version.report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_version(version)
        print(version.report.to_text(limit=args.limit))


def _activate(store: PlanStore, args: argparse.Namespace) -> None:
    _print_version(store.activate(args.version, args.valid_from))


def _parcels_import(store: PlanStore, args: argparse.Namespace) -> None:
    """A region's land parcels, in place of those loaded before (the map finds them by NIB)."""
    store.region(args.region)
    layer = read_parcels(args.file, id_column=args.id_column, layer=args.layer)
    summary = store.replace_parcels(args.region, layer)
    print(
        f"region {summary.region_code}: {summary.count:,} parcels from {layer.source} "
        f"(ids from {layer.id_column}), EPSG:{summary.crs_epsg}"
    )
    if layer.report.issues:
        print(layer.report.to_text(limit=args.limit))


def _in_force(store: PlanStore, args: argparse.Namespace) -> None:
    for version in store.versions_in_force(args.date or date.today(), args.region):
        _print_version(version)


def _print_version(version: PlanVersion, indent: str = "") -> None:
    validity = ""
    if version.valid_from:
        validity = f", in force from {version.valid_from}"
        validity += f" to {version.valid_to}" if version.valid_to else ""
    print(
        f"{indent}version {version.id} '{version.label}': {version.status.value}{validity}; "
        f"{version.zone_count} zones, EPSG:{version.crs_epsg}, "
        f"{len(version.report.errors)} error(s), {len(version.report.warnings)} warning(s)"
    )


def _where(store: PlanStore) -> str:
    path = getattr(store, "path", None)
    return str(path) if path else "PostGIS"


def _count(text: str) -> int:
    """A whole number of 1 or more, as an option's value (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simtaru", description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="postgresql+psycopg:// URL or .gpkg path")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    sub = command(
        "serve", _serve, "start the HTTP service (the demo city in a store without plans)"
    )
    sub.add_argument("--host", default=ApiSettings().host)
    sub.add_argument("--port", type=int, default=ApiSettings().port)
    sub.add_argument("--workers", type=int, default=ApiSettings().workers)
    sub.add_argument("--no-demo", action="store_true", help="do not load the demo city")
    command("demo", _demo, "import and activate the generated demo city (idempotent)")
    sub = command("key-add", _key_add, "make an API key for a role (printed once)")
    sub.add_argument("name", help="who holds it, e.g. 'SIMBG permit desk'")
    sub.add_argument("--role", required=True, choices=[r.value for r in Role])
    sub = command("key-revoke", _key_revoke, "revoke an API key by its id")
    sub.add_argument("id")
    command("keys", _keys, "list the API keys (ids, holders, roles; never the keys)")
    sub = command("check", _check, "check one parcel (WKT or a file's first feature)")
    sub.add_argument("parcel", help="WKT, e.g. 'POLYGON ((117.47 0.137, ...))', or a file")
    sub.add_argument("--activity", required=True, help="KBLI code or kegiatan")
    sub.add_argument("--crs", default="OGC:CRS84", help="CRS of WKT (default lon/lat)")
    for name in BUILDING_COLUMNS:
        sub.add_argument(
            "--" + name.replace("_", "-"), dest=name, type=int if name == "floors" else float
        )
    sub.add_argument("--road-class", choices=ROAD_CLASSES)
    sub.add_argument("--date", type=date.fromisoformat, help="application date (YYYY-MM-DD)")
    sub.add_argument("--plan", type=int, help="plan id (default: the plan in force there)")
    sub.add_argument("--lang", choices=("id", "en"), default="id", help="language of findings")
    sub.add_argument("--json", action="store_true", help="the decision as canonical JSON")
    sub = command("batch", _batch, "check a file of parcels into a results GeoPackage")
    sub.add_argument("input", type=Path, help="GeoPackage, Shapefile, GeoJSON or GeoParquet")
    sub.add_argument("output", type=Path, help="results .gpkg (an interrupted run resumes)")
    sub.add_argument("--activity", help="for every parcel (else the file's 'activity' column)")
    sub.add_argument("--layer")
    sub.add_argument("--plan", type=int)
    sub.add_argument("--date", type=date.fromisoformat)
    sub.add_argument(
        "--chunk",
        type=_count,
        help="parcels written at a time (default 16,384, and at least 8,192 a worker)",
    )
    sub.add_argument(
        "--workers",
        type=_count,
        default=1,
        help="processes sharing the chunks (Linux): this one and workers - 1 forked from it",
    )
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    sub = command("export", _export, "write a plan version to a GeoPackage")
    sub.add_argument("version", type=int)
    sub.add_argument("output", type=Path)
    sub = command("export-decisions", _export_decisions, "write recorded decisions to CSV/GPKG")
    sub.add_argument("output", type=Path, help="a .csv or a .gpkg file")
    sub = command("region-add", _region_add, "add a region (kabupaten/kota) by its BPS code")
    sub.add_argument("code")
    sub.add_argument("name")
    sub.add_argument("--bbox", help="min_lon,min_lat,max_lon,max_lat")
    sub = command("plan-add", _plan_add, "add a plan (RDTR or RTRW) of a region")
    sub.add_argument("--region", required=True)
    sub.add_argument("--name", required=True)
    sub.add_argument("--legal-basis", required=True, help="regulation number and date")
    sub.add_argument("--kind", default="RDTR", choices=[k.value for k in PlanKind])
    sub.add_argument("--enacted", type=date.fromisoformat, help="YYYY-MM-DD")
    command("plans", _plans, "list plans and their versions")
    sub = command("import", _import, "import a zoning layer and rule tables as a draft version")
    sub.add_argument("plan", type=int, help="plan id")
    sub.add_argument("zoning", type=Path, help="Shapefile, zipped Shapefile, GeoPackage, ...")
    sub.add_argument("--layer")
    sub.add_argument("--map", action="append", help="FIELD=COLUMN, e.g. subzone_code=Kode_Z3")
    sub.add_argument("--crs", type=int, help="metric EPSG code (default: the UTM zone)")
    sub.add_argument("--allow-z", action="store_true", help="drop Z coordinates with a warning")
    sub.add_argument("--itbx", type=Path, help="ITBX matrix (XLSX as published, or CSV)")
    sub.add_argument("--itbx-sheet")
    sub.add_argument("--legend", type=Path, help="ITBX legend when not in the sheet")
    sub.add_argument("--intensity", type=Path, help="intensity table (CSV/XLSX)")
    sub.add_argument("--crosswalk", type=Path, help="KBLI to kegiatan table")
    sub.add_argument("--provisions", type=Path, help="special provisions table")
    sub.add_argument(
        "--overlay",
        action="append",
        help=f"{OVERLAY_SPEC}, e.g. "
        "LP2B=lp2b.shp or KKOP=overlays.gpkg,layer=kkop,ceiling=ELEV_MAX",
    )
    sub.add_argument(
        "--raster",
        action="append",
        help=f"{RASTER_SPEC}: a GeoTIFF, e.g. dem=dem.tif (slope derived) or "
        "flood_depth=banjir.tif",
    )
    sub.add_argument("--raster-rules", type=Path, help="limits on slope, flood, hazard (CSV/XLSX)")
    sub.add_argument("--label", help="version label (default: the file name)")
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    sub = command("report", _report, "show a version's quality report")
    sub.add_argument("version", type=int)
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--limit", type=int, default=200)
    sub = command("activate", _activate, "put a draft version in force")
    sub.add_argument("version", type=int)
    sub.add_argument("--from", dest="valid_from", type=date.fromisoformat, help="YYYY-MM-DD")
    sub = command(
        "parcels-import", _parcels_import, "load a region's land parcels (found by NIB on the map)"
    )
    sub.add_argument("region", help="the region's BPS code, e.g. 6107")
    sub.add_argument("file", type=Path, help="GeoJSON, (zipped) Shapefile, GeoPackage or KML")
    sub.add_argument("--id-column", help="the parcel id column (default: NIB where there is one)")
    sub.add_argument("--layer")
    sub.add_argument("--limit", type=int, default=10, help="report lines shown")
    sub = command("in-force", _in_force, "list the versions in force on a date")
    sub.add_argument("--date", type=date.fromisoformat)
    sub.add_argument("--region")
    return parser


if __name__ == "__main__":
    sys.exit(main())
