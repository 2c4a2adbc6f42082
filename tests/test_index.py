"""The zone index: which parts cover a parcel, asked of parts each thread prepares for itself,
is what GEOS's own ``covered_by`` says; and the shared parts are never prepared."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from gis.index import ZoneIndex
from layers.zoning import read_zoning

EPSG = 32649


def _jagoi(shared_data: Path) -> tuple[np.ndarray, ZoneIndex]:
    folder = shared_data / "jagoibabang"
    zones = read_zoning(folder / "KONSEPPOLARUANG_5.geojson", crs_epsg=EPSG).zones
    parcels = pyogrio.read_dataframe(folder / "HAT_3.geojson").to_crs(EPSG)
    return parcels.geometry.to_numpy(), ZoneIndex(zones.geometry.to_numpy())


def test_the_parts_covering_each_real_parcel_are_those_geos_relates(shared_data):
    """Every Jagoi Babang parcel against every part whose box meets it: the prepared parts'
    answers (after the box test) are the ``covered_by`` relation's, pair for pair, on both
    kinds of parcel, inside a zone and across zones."""
    parcels, index = _jagoi(shared_data)
    parcel, part = index._tree.query(parcels)
    covers = index._covers(part, parcels[parcel])
    expected = shapely.covered_by(parcels[parcel], index._parts[part])
    assert covers.tolist() == expected.tolist()
    assert 0 < covers.sum() < len(parcels)


def test_each_thread_prepares_its_own_copies_and_never_the_shared_parts(shared_data):
    """GEOS prepared geometries are not thread-safe: two threads locating the same parcels
    each ask their own prepared copies, and the parts every thread shares stay unprepared."""
    parcels, index = _jagoi(shared_data)
    expected = index.overlap_many(parcels)
    copies: list[np.ndarray] = []
    results: list[tuple[np.ndarray, ...]] = []

    def locate() -> None:
        results.append(index.overlap_many(parcels))
        copies.append(index._local.parts)

    threads = [threading.Thread(target=locate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(
        all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True)) for got in results
    )
    first, second = (np.flatnonzero(~shapely.is_missing(kept)) for kept in copies)
    assert len(first) and np.array_equal(first, second)
    assert not any(a is b for a, b in zip(copies[0][first], copies[1][first], strict=True))
    assert shapely.is_prepared(copies[0][first]).all()
    assert not shapely.is_prepared(index._parts).any()
