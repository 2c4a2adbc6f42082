"""The decision log: append-only, idempotent, and the neighbours T3 measures against.

Every test runs against PostGIS and the embedded GeoPackage (the ``store`` fixture). Tests share
one PostGIS database, so each uses its own application ids, keys and plan version ids.
"""

from __future__ import annotations

import math
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyogrio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from shapely.geometry import Polygon, box
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gis.errors import SimtaruError
from layers.errors import NotFoundError, StoreError
from layers.store import MIGRATIONS as PLAN_MIGRATIONS
from layers.store import PlanStore
from layers.store_gpkg import GeoPackageStore
from layers.store_postgis import PostgisStore
from permits.decision import Decision, Effect, Finding, Outcome, PlanRef, Status, ZonePiece
from permits.records import (
    MIGRATIONS,
    VERSION_TABLE,
    DecisionStore,
    IdempotencyConflict,
    decision_table,
    metadata,
)

EPSG = 32650
PARCEL = box(0.0, 0.0, 20.0, 20.0)


@pytest.fixture
def decisions(store: PlanStore) -> DecisionStore:
    return DecisionStore.of(store)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_version_id() -> int:
    """A plan version id no other test uses (the log does not require the version to exist)."""
    return uuid.uuid4().int % 1_000_000_000 + 1_000_000


def decision(
    application_id: str | None,
    *,
    outcome: Outcome = Outcome.APPROVED,
    input_hash: str = "a" * 64,
    version_id: int = 7,
    kdb: float = 55.0,
) -> Decision:
    finding = Finding(
        rule="intensity.kdb",
        status=Status.PASS if outcome is Outcome.APPROVED else Status.FAIL,
        effect=Effect.NONE if outcome is Outcome.APPROVED else Effect.REJECT,
        message_id=f"KDB {kdb:g} % ≤ 60 % (sub-zona R-3, Perumahan Kepadatan Sedang)",
        message_en=f"KDB {kdb:g} % within 60 %",
        basis="Perda Kota Uji No. 1 Tahun 2024, Lampiran XV",
        measured=kdb,
        unit="%",
        limit=60.0,
        subzone_code="R-3",
    )
    zone = ZonePiece("z1", "R-3", "Perumahan Kepadatan Sedang", "R", "A.1", 400.0, 1.0, True)
    plan = PlanRef(1, "RDTR Kota Uji", "Perda 1/2024", version_id, "2024", "c" * 64, "r" * 64, EPSG)
    return Decision(outcome, (finding,), (zone,), 400.0, plan, input_hash, application_id)


def record(
    decisions: DecisionStore,
    made: Decision,
    parcel: Polygon = PARCEL,
    activity_ids: tuple[str, ...] = ("47111",),
    key: str | None = None,
):
    return decisions.record(
        made,
        parcel=parcel,
        crs_epsg=EPSG,
        activity="47111",
        activity_ids=activity_ids,
        idempotency_key=key,
    )


def rows_with(decisions: DecisionStore, **where: object) -> int:
    query = select(func.count()).select_from(decision_table)
    for column, value in where.items():
        query = query.where(decision_table.c[column] == value)
    with decisions.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_recorded_decision_reads_back_byte_for_byte(decisions: DecisionStore) -> None:
    made = decision(unique("APP"))
    before = datetime.now(UTC)
    recorded = record(decisions, made)

    assert recorded.decision_json == made.to_json()
    assert (recorded.outcome, recorded.plan_version_id, recorded.replayed) == (
        Outcome.APPROVED,
        7,
        False,
    )
    assert recorded.idempotency_key == recorded.application_id == made.application_id
    assert len(recorded.id) == 32 and int(recorded.id, 16) >= 0
    assert recorded.created_at.tzinfo is UTC
    assert before - timedelta(seconds=1) <= recorded.created_at <= datetime.now(UTC)
    assert decisions.get(recorded.id) == recorded
    assert decisions.get(recorded.id).decision_json.encode() == made.to_json().encode()
    with pytest.raises(NotFoundError, match="decision 'nope' is not in the store"):
        decisions.get("nope")


def test_an_unassessable_decision_without_plan_or_parcel_is_kept(
    decisions: DecisionStore,
) -> None:
    made = Decision(Outcome.NOT_ASSESSABLE, (), (), None, None, "b" * 64, unique("APP"))
    recorded = decisions.record(
        made, parcel=Polygon(), crs_epsg=4326, activity="47111", activity_ids=()
    )
    assert decisions.get(recorded.id).plan_version_id is None
    assert decisions.get(recorded.id).outcome is Outcome.NOT_ASSESSABLE


def test_decisions_of_an_application_list_in_the_order_recorded(
    decisions: DecisionStore,
) -> None:
    app = unique("APP")
    ids = [
        record(decisions, decision(app, input_hash=h), key=unique("KEY")).id
        for h in ("1" * 64, "2" * 64, "3" * 64)
    ]
    record(decisions, decision(unique("OTHER")))

    listed = decisions.by_application(app)
    assert [r.id for r in listed] == ids
    assert [r.seq for r in listed] == sorted(r.seq for r in listed)
    assert len({r.seq for r in listed}) == 3
    assert decisions.by_application(unique("NONE")) == []


def test_the_log_pages_in_the_order_recorded_narrowed_as_asked(decisions: DecisionStore) -> None:
    """Pages of two walk the whole log without repeating or skipping a record while more are
    appended between pages; the filters narrow by version, outcome, application and time."""
    version = new_version_id()
    start = datetime.now(UTC)
    made = [
        record(decisions, decision(unique("LOG"), outcome=o, version_id=version))
        for o in (Outcome.APPROVED, Outcome.REJECTED, Outcome.APPROVED, Outcome.REJECTED)
    ]
    seen, after, more = [], 0, True
    while more:
        page, more = decisions.page(after=after, limit=2, plan_version_id=version)
        assert len(page) <= 2
        seen += page
        after = page[-1].seq if page else after
        if len(seen) == 2:  # appended while the log is being read: on a later page, once
            made.append(record(decisions, decision(unique("LOG"), version_id=version)))
    assert [r.id for r in seen] == [r.id for r in made]
    assert [r.seq for r in seen] == sorted({r.seq for r in seen})

    rejected, more = decisions.page(plan_version_id=version, outcome=Outcome.REJECTED)
    assert [r.id for r in rejected] == [made[1].id, made[3].id] and not more
    one, _ = decisions.page(application_id=made[2].application_id)
    assert [r.id for r in one] == [made[2].id]
    later, _ = decisions.page(plan_version_id=version, since=made[4].created_at)
    assert [r.id for r in later] == [made[4].id]
    before, _ = decisions.page(plan_version_id=version, until=made[1].created_at)
    assert [r.id for r in before] == [made[0].id]
    naive = start.astimezone(UTC).replace(tzinfo=None)
    assert len(decisions.page(plan_version_id=version, since=naive)[0]) == 5
    assert decisions.page(plan_version_id=version, until=start - timedelta(days=1)) == ([], False)


def test_a_retry_gets_the_stored_decision_and_writes_nothing(decisions: DecisionStore) -> None:
    app = unique("APP")
    first = record(decisions, decision(app, kdb=55.0))
    # The same application checked again (a later engine run may word a finding differently):
    # the retry gets the decision first recorded, byte for byte.
    again = record(decisions, decision(app, kdb=55.5))

    assert again.replayed is True
    assert again.id == first.id
    assert again.decision_json == first.decision_json == decision(app, kdb=55.0).to_json()
    assert rows_with(decisions, application_id=app) == 1


def test_a_different_application_under_a_used_key_is_a_conflict(
    decisions: DecisionStore,
) -> None:
    key = unique("KEY")
    first = record(decisions, decision(unique("APP")), key=key)

    with pytest.raises(IdempotencyConflict, match=f"idempotency key '{key}'") as raised:
        record(decisions, decision(unique("APP"), input_hash="f" * 64), key=key)

    assert raised.value.code == "idempotency-conflict"
    assert raised.value.key == key
    assert isinstance(raised.value, SimtaruError)
    assert rows_with(decisions, idempotency_key=key) == 1
    assert decisions.get(first.id) == first


def test_concurrent_retries_make_exactly_one_record(decisions: DecisionStore) -> None:
    app = unique("APP")
    made = decision(app)
    start = threading.Barrier(16)

    def retry(_: int):
        start.wait()
        return record(decisions, made)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(retry, range(16)))

    assert {a.id for a in answers} == {answers[0].id}
    assert sum(not a.replayed for a in answers) == 1
    assert {a.decision_json for a in answers} == {made.to_json()}
    assert rows_with(decisions, idempotency_key=app) == 1


def test_the_log_refuses_update_and_delete(decisions: DecisionStore) -> None:
    recorded = record(decisions, decision(unique("APP")))
    statements = [
        "UPDATE decision SET outcome = 'rejected' WHERE id = :id",
        "DELETE FROM decision WHERE id = :id",
    ]
    if decisions.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE decision")
    for statement in statements:
        with (
            pytest.raises(DBAPIError, match="decision is append-only"),
            decisions.engine.begin() as conn,
        ):
            conn.execute(text(statement), {"id": recorded.id})
    assert decisions.get(recorded.id) == recorded


def test_nearest_same_activity_measures_to_approved_neighbours(
    decisions: DecisionStore,
) -> None:
    version = new_version_id()
    shop = ("47111", "47112")

    def neighbour(parcel: Polygon, outcome: Outcome, ids: tuple[str, ...], app: str | None = None):
        made = decision(app or unique("APP"), outcome=outcome, version_id=version)
        record(decisions, made, parcel=parcel, activity_ids=ids)

    neighbour(box(170, 0, 190, 20), Outcome.APPROVED, ("56101", "47112"))  # 150 m east
    north = unique("NORTH")
    neighbour(box(0, 100, 20, 120), Outcome.APPROVED_WITH_CONDITIONS, shop, north)  # 80 m north
    neighbour(box(30, 0, 50, 20), Outcome.REJECTED, shop)  # 10 m, rejected
    neighbour(box(0, 25, 20, 45), Outcome.NEEDS_REVIEW, shop)  # 5 m, not decided
    neighbour(box(-25, 0, -5, 20), Outcome.APPROVED, ("10750",))  # 5 m, another activity
    neighbour(box(0, -30, 20, -10), Outcome.APPROVED, ("4711",))  # 10 m, an id's prefix
    neighbour(box(0, -300, 20, -280), Outcome.APPROVED, shop)  # 280 m south
    other = decision(unique("APP"), version_id=version + 1)
    record(decisions, other, parcel=box(21, 0, 41, 20), activity_ids=shop)  # 1 m, other version

    def nearest(within_m: float, ids: tuple[str, ...] = shop, exclude: str | None = None):
        return decisions.nearest_same_activity(
            plan_version_id=version,
            activity_ids=ids,
            parcel=PARCEL,
            within_m=within_m,
            exclude_application_id=exclude,
        )

    assert nearest(200) == pytest.approx(80.0)
    assert nearest(80) == pytest.approx(80.0)
    assert nearest(79.9) is None
    assert nearest(200, ids=("47112",)) == pytest.approx(80.0)
    assert nearest(200, ids=("47111",), exclude=north) is None  # east shares only 47112
    assert nearest(200, exclude=north) == pytest.approx(150.0)
    assert nearest(149, exclude=north) is None
    assert nearest(200, ids=("%",)) is None
    assert nearest(200, ids=("4711_",)) is None  # LIKE's wildcards are taken literally
    assert nearest(200, ids=()) is None
    assert nearest(1000, ids=("47111",), exclude=north) == pytest.approx(280.0)


def test_nearest_same_activity_is_the_exact_distance_not_the_boxes(
    decisions: DecisionStore,
) -> None:
    version = new_version_id()
    # 60 m apart on both axes: the boxes are 60 m apart, the parcels 60 * sqrt(2) m.
    record(decisions, decision(unique("APP"), version_id=version), parcel=box(80, 80, 100, 100))

    def nearest(within_m: float):
        return decisions.nearest_same_activity(
            plan_version_id=version, activity_ids=["47111"], parcel=PARCEL, within_m=within_m
        )

    assert nearest(100) == pytest.approx(60 * math.sqrt(2))
    assert nearest(80) is None


def test_a_parcel_outside_the_plans_crs_is_refused(decisions: DecisionStore) -> None:
    app = unique("APP")
    with pytest.raises(ValueError, match=r"EPSG:4326.*EPSG:32650"):
        decisions.record(
            decision(app), parcel=PARCEL, crs_epsg=4326, activity="47111", activity_ids=["47111"]
        )
    assert rows_with(decisions, application_id=app) == 0


def test_the_log_migrates_with_its_own_version_table(store: PlanStore) -> None:
    DecisionStore.of(store)
    DecisionStore.of(store)  # a second open is a no-op
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_name": lambda name, type_, _parent: (
                    type_ != "table" or name in metadata.tables
                ),
            },
        )
        assert context.get_current_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert compare_metadata(context, metadata) == []
        plan_revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert plan_revision == ScriptDirectory(str(PLAN_MIGRATIONS)).get_current_head()
    if isinstance(store, GeoPackageStore):
        record(DecisionStore.of(store), decision(unique("APP")))
        assert "decision" not in {name for name, _ in pyogrio.list_layers(store.path)}


def test_a_dead_database_refuses_to_record_without_quoting_it() -> None:
    dead = PostgisStore("postgresql+psycopg://simtaru:secret@127.0.0.1:1/simtaru", migrate=False)
    with pytest.raises(StoreError, match=r"cannot open the decision store \(OperationalError\)"):
        DecisionStore.of(dead)
    log = DecisionStore.of(dead, migrate=False)
    with pytest.raises(StoreError) as raised:
        record(log, decision(unique("APP")))
    message = str(raised.value)
    assert message == "the decision was not recorded: the store failed (OperationalError)"
    with pytest.raises(StoreError, match=r"could not be read \(OperationalError\)"):
        log.by_application("APP-1")
    dead.close()
