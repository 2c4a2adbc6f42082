"""A city's parcels from a file into a results GeoPackage: every input format, the same figures as
check_many, an interrupted run resumed to the same results, a foreign output refused; and the
analyst's commands: check, batch, export a plan version, export the decisions."""

from __future__ import annotations

import json
import os
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import permits.batch
from api.cli import main
from layers.demo_loader import load_demo
from layers.stores import open_store
from permits import Engine, check_many
from permits.batchfile import BatchFileError, check_file, results_frame
from permits.records import DecisionStore
from permits.workers import stop_workers
from tests.geoms import lots_over
from tests.test_engine_workers import _NOTES, _noted, _pids


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The demo city in a GeoPackage store, its engine, and 600 lots over it in lon/lat."""
    folder = tmp_path_factory.mktemp("city")
    store = open_store(folder / "city.gpkg")
    version = load_demo(store)
    engine = Engine.from_store(store, version.id)
    zones = store.zones(version.id)
    boxes, rng = lots_over(zones.total_bounds, 600, (12, 45))
    lots = gpd.GeoDataFrame(
        {
            "nib": [f"NIB-{i:05d}" for i in range(600)],
            "activity": rng.choice(["47112", "68111", "10710", "99999"], 600),
            "footprint_m2": np.round(shapely.area(boxes) * 0.4, 1),
        },
        geometry=boxes,
        crs=zones.crs,
    ).to_crs(4326)
    yield folder, store, engine, lots
    store.close()


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson", ".parquet"])
def test_every_input_format_gives_check_manys_figures(city, tmp_path, suffix):
    _folder, _store, engine, lots = city
    lots = lots.drop(columns="footprint_m2")  # a Shapefile's names stop at 10 characters
    source = tmp_path / f"lots{suffix}"
    if suffix == ".parquet":
        lots.to_parquet(source)
    else:
        lots.to_file(source)
    run = check_file(source, tmp_path / "out.gpkg", engine, chunk=250)
    assert (run.total, run.skipped, run.checked) == (600, 0, 600)
    got = results_frame(tmp_path / "out.gpkg")
    expected = check_many(lots, engine)
    assert list(got["nib"]) == list(lots["nib"])
    assert list(got["outcome"]) == list(expected["outcome"])
    assert np.allclose(got["parcel_area_m2"], expected["parcel_area_m2"], rtol=1e-9)
    assert set(got["plan_version_id"]) == {engine.ref.version_id}
    assert sum(run.outcomes.values()) == 600


def test_an_interrupted_run_resumes_where_it_stopped(city, tmp_path):
    _folder, _store, engine, lots = city
    source = tmp_path / "lots.gpkg"
    lots.to_file(source)
    target = tmp_path / "out.gpkg"

    def cut_after_two_chunks(done: int, _total: int) -> None:
        if done >= 200:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_file(source, target, engine, chunk=100, progress=cut_after_two_chunks)
    assert len(results_frame(target)) == 200
    seen = []
    run = check_file(source, target, engine, chunk=100, progress=lambda d, t: seen.append(d))
    assert (run.skipped, run.checked) == (200, 400)
    assert seen[0] == 200 and seen[-1] == 600
    resumed = results_frame(target)
    whole = check_file(source, tmp_path / "whole.gpkg", engine, chunk=600)
    assert whole.checked == 600
    assert list(resumed["source_row"]) == list(range(600))
    assert list(resumed["outcome"]) == list(results_frame(tmp_path / "whole.gpkg")["outcome"])


def test_workers_share_every_chunk_of_a_file_and_write_what_one_process_writes(
    city, tmp_path, monkeypatch
):
    """``workers=2`` over a file written 100 rows at a time (batch chunks of 16 rows, so each
    written chunk is too small to fork for on its own): a child is forked once for the run,
    shares the chunks, and the file holds what one process writes."""
    _folder, _store, shared, lots = city
    notes = tmp_path / "notes"
    notes.mkdir()
    monkeypatch.setattr(permits.batch, "CHUNK", 16)
    monkeypatch.setattr(permits.batch, "_remote", _noted)
    monkeypatch.setitem(_NOTES, "in", notes)
    engine = Engine(shared.plan, shared.settings)
    source = tmp_path / "lots.gpkg"
    lots.to_file(source)
    check_file(source, tmp_path / "one.gpkg", engine, chunk=100)
    try:
        run = check_file(source, tmp_path / "two.gpkg", engine, chunk=100, workers=2)
        children = _pids(notes)
    finally:
        stop_workers(engine)
    assert (run.total, run.checked) == (600, 600)
    assert len(children) == 1 and os.getpid() not in children
    assert 0 < children.total() < len(range(0, 600, 16))
    pd.testing.assert_frame_equal(
        results_frame(tmp_path / "two.gpkg"), results_frame(tmp_path / "one.gpkg")
    )
    with pytest.raises(ValueError, match="workers must be 1 or more"):
        check_file(source, tmp_path / "three.gpkg", engine, workers=0)


def test_an_output_of_another_run_is_refused(city, tmp_path):
    _folder, _store, engine, lots = city
    source = tmp_path / "lots.gpkg"
    lots.to_file(source)
    out = tmp_path / "out.gpkg"
    check_file(source, out, engine, activity="47112")
    with pytest.raises(BatchFileError, match="results of another run"):
        check_file(source, out, engine, activity="68111")
    with sqlite3.connect(out) as conn:  # as an earlier Simtaru, without these columns, wrote it
        made_by = json.loads(conn.execute("SELECT made_by FROM simtaru_batch").fetchone()[0])
        del made_by["columns"]
        conn.execute("UPDATE simtaru_batch SET made_by = ?", (json.dumps(made_by),))
    with pytest.raises(BatchFileError, match="other columns, written by another version"):
        check_file(source, out, engine, activity="47112")
    with pytest.raises(BatchFileError, match="no such file"):
        check_file(tmp_path / "nope.gpkg", tmp_path / "x.gpkg", engine)
    (tmp_path / "text.gpkg").write_text("not a file of parcels")
    with pytest.raises(BatchFileError, match="GDAL can read"):
        check_file(tmp_path / "text.gpkg", tmp_path / "y.gpkg", engine)


def test_the_commands_check_batch_and_export(city, tmp_path, capsys):
    folder, store, engine, lots = city
    db = str(folder / "city.gpkg")
    lot = lots.geometry.iloc[0]
    code = main(["--store", db, "check", lot.wkt, "--activity", "47112", "--json"])
    decision = json.loads(capsys.readouterr().out)
    assert code == 0 and decision["plan"]["version_id"] == engine.ref.version_id
    assert main(["--store", db, "check", lot.wkt, "--activity", "47112", "--lang", "en"]) == 0
    assert "Outcome:" in capsys.readouterr().out

    lots.drop(columns="footprint_m2").to_file(tmp_path / "lots.shp")
    assert (
        main(
            [
                "--store",
                db,
                "batch",
                str(tmp_path / "lots.shp"),
                str(tmp_path / "o.gpkg"),
                "--chunk",
                "200",
                "--quiet",
            ]
        )
        == 0
    )
    assert "600 parcels checked" in capsys.readouterr().out
    assert (
        main(
            [
                "--store",
                db,
                "batch",
                str(tmp_path / "lots.shp"),
                str(tmp_path / "o.gpkg"),
                "--quiet",
            ]
        )
        == 0
    )
    assert "0 parcels checked" in capsys.readouterr().out  # nothing left to do
    shared = ["--store", db, "batch", str(tmp_path / "lots.shp"), str(tmp_path / "w.gpkg")]
    assert main([*shared, "--workers", "2", "--quiet"]) == 0
    assert "600 parcels checked" in capsys.readouterr().out
    pd.testing.assert_frame_equal(
        results_frame(tmp_path / "w.gpkg"), results_frame(tmp_path / "o.gpkg")
    )
    with pytest.raises(SystemExit):
        main([*shared, "--workers", "0"])
    assert "argument --workers: must be 1 or more, not 0" in capsys.readouterr().err

    assert (
        main(["--store", db, "export", str(engine.ref.version_id), str(tmp_path / "v.gpkg")]) == 0
    )
    layers = {name for name, _kind in pyogrio.list_layers(tmp_path / "v.gpkg")}
    assert {"zones", "overlays", "rule_cells", "rule_intensity", "plan_version"} <= layers
    exported = pyogrio.read_dataframe(tmp_path / "v.gpkg", layer="zones")
    stored = store.zones(engine.ref.version_id)
    assert list(exported["subzone_code"]) == list(stored["subzone_code"])
    assert exported.crs.to_epsg() == stored.crs.to_epsg()
    assert (
        main(["--store", db, "export", str(engine.ref.version_id), str(tmp_path / "v.gpkg")]) == 2
    )
    assert "exists already" in capsys.readouterr().err


def test_recorded_decisions_export_to_csv_and_geopackage(city, tmp_path, capsys):
    folder, store, engine, lots = city
    log = DecisionStore.of(store)
    results = check_many(lots.iloc[:5], engine)
    for i, decision in enumerate(results["decision"]):
        metric = lots.geometry.iloc[[i]].to_crs(engine.ref.crs_epsg).iloc[0]
        log.record(
            decision,
            parcel=metric,
            crs_epsg=engine.ref.crs_epsg,
            activity="47112",
            activity_ids=(),
            idempotency_key=f"export-{i}-{tmp_path.name}",
        )
    db = str(folder / "city.gpkg")
    assert main(["--store", db, "export-decisions", str(tmp_path / "d.csv")]) == 0
    assert main(["--store", db, "export-decisions", str(tmp_path / "d.gpkg")]) == 0
    table = gpd.read_file(tmp_path / "d.gpkg")
    assert len(table) >= 5 and table.crs.to_epsg() == 4326
    mine = table[table["idempotency_key"].str.startswith("export-")]
    assert mine.geometry.iloc[0].equals_exact(lots.geometry.iloc[0], 1e-7)
    assert "parcel_wkt" in (tmp_path / "d.csv").read_text().splitlines()[0]
    assert main(["--store", db, "export-decisions", str(tmp_path / "d.txt")]) == 2
