"""PostgreSQL goes away under the running service: dry-run checks are still answered from
memory, recorded decisions are refused with 503 and Retry-After, and when the database is back
nothing was half-written and the refused request can simply be sent again."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import create_engine, make_url, text

from api.keys import Role
from api.schemas import EXAMPLE_PARCEL
from tests.proxy import Relay
from tests.service import fresh_database, running

BODY = {"parcel": EXAMPLE_PARCEL, "activity": "47112", "building": {"footprint_m2": 120}}
T3 = {"parcel": EXAMPLE_PARCEL, "activity": "47721"}  # a pharmacy: T3, 100 m from another


def count(url: str, application_id: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM decision WHERE application_id = :a"), {"a": application_id}
        ).scalar_one()
    engine.dispose()
    return int(found)


def test_checks_survive_a_database_outage_and_records_wait_for_it(postgis_url):
    with fresh_database(postgis_url) as direct:
        real = make_url(direct)
        relay = Relay((real.host or "127.0.0.1", real.port or 5432))
        through = real.set(host="127.0.0.1", port=relay.port).render_as_string(False)
        try:
            with running(through) as service, service.client(Role.PERMIT_SYSTEM) as http:
                before = http.post("/v1/decisions", json={**BODY, "application_id": "OK-1"})
                assert before.status_code == 201
                dry = http.post("/v1/checks", json=BODY)
                assert dry.status_code == 200

                relay.cut()
                lost = f"LOST-{uuid.uuid4().hex[:6]}"
                still = http.post("/v1/checks", json=BODY)
                t3 = http.post("/v1/checks", json=T3)
                refused = http.post("/v1/decisions", json={**BODY, "application_id": lost})
                unread = http.get(before.headers["location"])
                time.sleep(1.2)  # a refresh of the engines fails meanwhile
                ready = http.get("/health/ready")

                assert still.status_code == 200
                assert still.json() == dry.json()
                assert t3.status_code == 200
                distance = {f["rule"]: f for f in t3.json()["findings"]}["distance.same_activity"]
                assert distance["status"] == "not_assessed"  # no log to measure against
                for answer in (refused, unread):
                    assert answer.status_code == 503, answer.text
                    assert answer.headers["retry-after"].isdigit()
                    assert answer.headers["content-type"] == "application/problem+json"
                    for leak in ("psycopg", "SELECT", "INSERT", "127.0.0.1", str(relay.port)):
                        assert leak not in answer.text
                assert ready.status_code == 200
                assert ready.json()["status"] == "degraded"
                assert ready.json()["checks"]["database"] == "unreachable"

                relay.restore()
                assert count(direct, lost) == 0  # nothing half-written
                again = http.post("/v1/decisions", json={**BODY, "application_id": lost})
                assert again.status_code == 201  # a new record, not a replay
                assert count(direct, lost) == 1
                assert http.get(before.headers["location"]).status_code == 200
                time.sleep(1.2)
                assert http.get("/health/ready").json()["status"] == "ok"
        finally:
            relay.close()
