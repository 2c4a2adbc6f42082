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

from gis.errors import SimtaruError
from layers.demo_loader import load_demo
from layers.importer import OverlaySource, PlanSources, import_plan
from layers.model import PlanKind, PlanVersion, Region
from layers.settings import StoreSettings
from layers.store import PlanStore
from layers.stores import open_store

Command = Callable[[PlanStore, argparse.Namespace], None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        store = open_store(args.store or StoreSettings().store_url)
        try:
            args.run(store, args)
        finally:
            store.close()
    except SimtaruError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _serve(store: PlanStore, _args: argparse.Namespace) -> None:
    version = load_demo(store)
    plan = store.plan(version.plan_id)
    print(f"Simtaru is ready on {_where(store)}")
    print(f"  plan {plan.id}: {plan.name} ({plan.legal_basis})")
    _print_version(version)
    print("The HTTP service arrives with its own release; until then use the command line")
    print("(`simtaru --help`) or Python: `from layers.stores import open_store`.")


def _demo(store: PlanStore, _args: argparse.Namespace) -> None:
    _print_version(load_demo(store))


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
        mapping=dict(_pairs(args.map, "--map")),
        crs_epsg=args.crs,
        allow_z=args.allow_z,
        itbx=args.itbx,
        itbx_sheet=args.itbx_sheet,
        legend=args.legend,
        intensity=args.intensity,
        crosswalk=args.crosswalk,
        provisions=args.provisions,
        overlays=tuple(_overlay(kind, spec) for kind, spec in _pairs(args.overlay, "--overlay")),
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


_OVERLAY_OPTIONS = {
    "layer": "layer",
    "name": "name_column",
    "class": "klass_column",
    "ceiling": "ceiling_column",
}


def _overlay(kind: str, spec: str) -> OverlaySource:
    """``PATH[,layer=L][,name=COL][,class=COL][,ceiling=COL]`` as an overlay source."""
    path, *options = spec.split(",")
    chosen = dict(_pairs(options, f"--overlay {kind}="))
    unknown = sorted(set(chosen) - set(_OVERLAY_OPTIONS))
    if unknown:
        raise SimtaruError(
            f"--overlay {kind}: unknown option(s) {', '.join(unknown)}; "
            f"options: {', '.join(_OVERLAY_OPTIONS)}"
        )
    return OverlaySource(kind, Path(path), **{_OVERLAY_OPTIONS[k]: v for k, v in chosen.items()})


def _pairs(items: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise SimtaruError(f"{option} takes NAME=VALUE, not {item!r}")
        pairs.append((key, value))
    return pairs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simtaru", description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="postgresql+psycopg:// URL or .gpkg path")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    command("serve", _serve, "load the demo city if needed and show what is in force")
    command("demo", _demo, "import and activate the generated demo city (idempotent)")
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
        help="KIND=PATH[,layer=L][,name=COL][,class=COL][,ceiling=COL], e.g. "
        "LP2B=lp2b.shp or KKOP=overlays.gpkg,layer=kkop,ceiling=ELEV_MAX",
    )
    sub.add_argument("--label", help="version label (default: the file name)")
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    sub = command("report", _report, "show a version's quality report")
    sub.add_argument("version", type=int)
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--limit", type=int, default=200)
    sub = command("activate", _activate, "put a draft version in force")
    sub.add_argument("version", type=int)
    sub.add_argument("--from", dest="valid_from", type=date.fromisoformat, help="YYYY-MM-DD")
    sub = command("in-force", _in_force, "list the versions in force on a date")
    sub.add_argument("--date", type=date.fromisoformat)
    sub.add_argument("--region")
    return parser


if __name__ == "__main__":
    sys.exit(main())
