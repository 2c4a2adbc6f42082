"""A version activated anywhere (here the command line's store call) is swapped in by every
server on the store, another replica included, while checks keep being answered."""

from __future__ import annotations

import threading
import time
from datetime import date

import httpx
import pytest

from api.keys import Role
from api.schemas import EXAMPLE_PARCEL
from api.settings import ApiSettings, Settings
from layers.demo_loader import read_demo
from layers.model import PlanData
from layers.settings import StoreSettings
from tests.service import fresh_database, running, serve

BODY = {"parcel": EXAMPLE_PARCEL, "activity": "47112"}


def revision(zone_id: str) -> PlanData:
    """The demo plan with one R-3 zone turned into K-1 (trade and services)."""
    data = read_demo()
    zones = data.zones.copy()
    row = zones["zone_id"] == zone_id
    zones.loc[row, "subzone_code"] = "K-1"
    zones.loc[row, "subzone_name"] = data.rules.subzones["K-1"]
    zones.loc[row, "zone_code"] = "K"
    return PlanData(zones, data.overlays, data.rules, data.crs_epsg, data.report)


@pytest.fixture(params=["postgis", "gpkg"])
def store_url(request, tmp_path):
    if request.param == "gpkg":
        yield str(tmp_path / "city.gpkg")
    else:
        with fresh_database(request.getfixturevalue("postgis_url")) as url:
            yield url


def test_an_activation_reaches_every_replica_without_a_failed_check(store_url):
    settings = Settings(
        store=StoreSettings(database_url=store_url),
        api=ApiSettings(refresh_seconds=0.3, migrate=False),
    )
    with running(store_url, api=settings.api) as first, serve(settings) as (second_url, *_):
        key = first.keys[Role.PERMIT_SYSTEM]
        urls = (first.url, second_url)
        before = [httpx.post(u + "/v1/checks", json=BODY, headers={"X-API-Key": key}) for u in urls]
        zone_id = before[0].json()["zones"][0]["zone_id"]
        assert [b.json()["zones"][0]["subzone_code"] for b in before] == ["R-3", "R-3"]

        failures: list[int] = []
        stop = threading.Event()

        def keep_checking() -> None:
            with httpx.Client(headers={"X-API-Key": key}, timeout=30) as http:
                while not stop.is_set():
                    for url in urls:
                        status = http.post(url + "/v1/checks", json=BODY).status_code
                        if status != 200:
                            failures.append(status)

        checker = threading.Thread(target=keep_checking)
        checker.start()
        try:
            new = first.store.add_version(first.demo.plan_id, revision(zone_id), "revision 1")
            first.store.activate(new.id, date.today())
            deadline = time.monotonic() + 30
            answers: list[dict] = []
            while time.monotonic() < deadline:
                answers = [
                    httpx.post(u + "/v1/checks", json=BODY, headers={"X-API-Key": key}).json()
                    for u in urls
                ]
                if all(a["plan"]["version_id"] == new.id for a in answers):
                    break
                time.sleep(0.1)
        finally:
            stop.set()
            checker.join()
    assert [a["plan"]["version_id"] for a in answers] == [new.id, new.id]
    assert [a["zones"][0]["subzone_code"] for a in answers] == ["K-1", "K-1"]
    assert failures == []
