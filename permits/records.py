"""Recorded decisions: an append-only log of what the engine decided, kept in the plan's store.

A recorded decision has legal weight, so it is never changed: a database trigger refuses UPDATE
and DELETE on the ``decision`` table (PostgreSQL and SQLite alike). Recording is idempotent on a
key (the permit system's application id, or an Idempotency-Key): a retry gets the stored decision
back byte for byte, and a different application under the same key is refused. The unique
constraint on the key, not a lock, settles concurrent retries.

T3 (a minimum distance to approved decisions of the same activity) reads the log the decision
joins, so a decision whose distance was measured is checked again and appended while it holds the
version's turn (``serialised``): two near applications recorded at the same moment cannot both
pass. The turn is a transaction-level advisory lock on PostgreSQL and SQLite's write lock.

The log lives in the plan store's database, with its own Alembic environment and version table
(``simtaru_decisions_version``), so the plan store's migrations need not know it. Parcels are kept
as WKB in the plan's metric CRS with their bounding box (m) for a coarse spatial filter; exact
distances are measured with shapely.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from copy import copy
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    Select,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from gis.errors import SimtaruError
from layers.errors import NotFoundError, StoreError
from layers.store import READS, PlanStore, upgrade
from permits.decision import Decision, Outcome

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "simtaru_decisions_version"

#: Outcomes that count as an approved activity for the minimum-distance rule (T3).
APPROVALS = (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS)

_UNREADABLE = "the decision store could not be read"

#: The first key of the advisory lock whose second key is a plan version: recordings that
#: measured T3 under that version take it in turn.
T3_LOCK = 0x5433  # "T3"

metadata = MetaData()

decision_table = Table(
    "decision",
    metadata,
    Column("id", Text, primary_key=True, comment="uuid4 hex"),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("application_id", Text),
    Column("idempotency_key", Text),
    Column("input_hash", Text, nullable=False),
    Column("plan_version_id", Integer),
    Column("activity", Text, nullable=False, comment="the activity as the application gave it"),
    Column("activity_ids", Text, nullable=False, comment="resolved kegiatan ids, comma-separated"),
    Column("outcome", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decision", Text, nullable=False, comment="canonical JSON of the decision"),
    Column("parcel_wkb", LargeBinary, nullable=False, comment="the parcel in the plan's CRS"),
    Column("crs_epsg", Integer, nullable=False),
    Column("min_x", Float),
    Column("min_y", Float),
    Column("max_x", Float),
    Column("max_y", Float),
    UniqueConstraint("seq", name="decision_seq_key"),
    UniqueConstraint("idempotency_key", name="decision_idempotency_key_key"),
    Index("decision_application_idx", "application_id", "seq"),
    Index("decision_plan_version_idx", "plan_version_id"),
    Index("decision_bbox_idx", "min_x", "min_y", "max_x", "max_y"),
)

#: The columns a recorded decision reads back (the parcel stays in the store).
_RECORD_COLUMNS = tuple(
    decision_table.c[name]
    for name in (
        "id",
        "seq",
        "created_at",
        "idempotency_key",
        "application_id",
        "outcome",
        "plan_version_id",
        "input_hash",
        "decision",
    )
)


class IdempotencyConflict(SimtaruError):  # noqa: N818 (the name the HTTP layer maps)
    """An idempotency key already recorded for a different application (HTTP 409)."""

    code = "idempotency-conflict"
    title = "Idempotency key reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different application; a retry "
            "must send the same application, a new application needs a new key"
        )
        self.key = key


@dataclass(frozen=True)
class RecordedDecision:
    """A decision as the log keeps it. ``decision_json`` is the canonical JSON exactly as first
    stored; ``replayed`` says this answer is an earlier record returned to a retry."""

    id: str
    seq: int
    created_at: datetime
    idempotency_key: str | None
    application_id: str | None
    outcome: Outcome
    plan_version_id: int | None
    decision_json: str
    replayed: bool = False


class DecisionStore:
    """The decision log in the database of a plan store (PostGIS or the embedded GeoPackage)."""

    def __init__(self, engine: Engine, *, migrate: bool = True) -> None:
        self.engine = engine
        self.reader = engine.execution_options(**READS)
        #: The transaction holding a version's turn, which every read and write of a
        #: ``serialised`` log goes through.
        self._held: Connection | None = None
        if migrate:
            with _failing_as("cannot open the decision store"):
                self.migrate()

    @classmethod
    def of(cls, plan_store: PlanStore, *, migrate: bool = True) -> DecisionStore:
        """The log beside a plan store, on its engine (and so its transaction recipe)."""
        return cls(plan_store.engine, migrate=migrate)

    def migrate(self) -> None:
        """Bring the log's schema to its newest revision (a no-op when it is there)."""
        upgrade(self.engine, MIGRATIONS)

    def record(
        self,
        decision: Decision,
        *,
        parcel: BaseGeometry,
        crs_epsg: int,
        activity: str,
        activity_ids: Sequence[str],
        idempotency_key: str | None = None,
    ) -> RecordedDecision:
        """Append a decision, or return the one already recorded under its key.

        The key is ``idempotency_key``, else the decision's application id; without either the
        decision is always appended. ``parcel`` is in the plan's metric CRS (``crs_epsg``) and
        ``activity_ids`` are the kegiatan ids the engine resolved the activity to.
        """
        key = idempotency_key if idempotency_key is not None else decision.application_id
        row = _row(decision, parcel, crs_epsg, activity, activity_ids, key)
        with _failing_as("the decision was not recorded: the store failed"):
            if key is not None and (found := self._by_key(key)) is not None:
                return _replay(found, key, decision.input_hash)
            try:
                return self._insert(row)
            except IntegrityError:
                # A concurrent retry won the unique key: answer with its record.
                if key is None or (found := self._by_key(key)) is None:
                    raise
                return _replay(found, key, decision.input_hash)

    @contextmanager
    def serialised(self, plan_version_id: int) -> Iterator[DecisionStore]:
        """The log, read and written in one transaction that holds the turn of the plan
        version: whoever records a decision that measured T3 checks it again and appends it in
        here, so it sees every such decision recorded before it and the next one sees it. The
        turn is released, and the decision committed, when the block ends."""
        failing = _failing_as("the decision was not recorded: the store failed")
        # SQLite begins a writer's transaction IMMEDIATE: the write lock is the turn.
        with failing, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(T3_LOCK, plan_version_id)))
            held = copy(self)
            held._held = conn
            yield held

    def get(self, decision_id: str) -> RecordedDecision:
        with _failing_as(_UNREADABLE):
            rows = self._read(select(*_RECORD_COLUMNS).where(decision_table.c.id == decision_id))
        if not rows:
            raise NotFoundError(f"decision {decision_id!r} is not in the store")
        return _recorded(rows[0])

    def parcel(self, decision_id: str) -> tuple[BaseGeometry, int, str]:
        """A recorded decision's parcel (in the plan's metric CRS), that CRS's EPSG code, and
        the activity as the application gave it: what a decision document shows besides the
        decision itself."""
        c = decision_table.c
        query = select(c.parcel_wkb, c.crs_epsg, c.activity).where(c.id == decision_id)
        with _failing_as(_UNREADABLE):
            rows = self._read(query)
        if not rows:
            raise NotFoundError(f"decision {decision_id!r} is not in the store")
        row = rows[0]
        return shapely.from_wkb(row.parcel_wkb), int(row.crs_epsg), row.activity

    def by_application(self, application_id: str) -> list[RecordedDecision]:
        """Every decision recorded for an application, oldest first."""
        query = (
            select(*_RECORD_COLUMNS)
            .where(decision_table.c.application_id == application_id)
            .order_by(decision_table.c.seq)
        )
        with _failing_as(_UNREADABLE):
            return [_recorded(r) for r in self._read(query)]

    def page(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        application_id: str | None = None,
        plan_version_id: int | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[RecordedDecision], bool]:
        """Recorded decisions in the order recorded, after the record numbered ``after`` (its
        ``seq``), at most ``limit``, narrowed by application, plan version, outcome and time
        recorded (``since`` inclusive, ``until`` exclusive; naive times are UTC); and whether
        more follow. Paging by ``seq`` is stable while decisions are appended: a page never
        repeats or skips a record."""
        c = decision_table.c
        query = select(*_RECORD_COLUMNS).where(c.seq > after)
        if application_id is not None:
            query = query.where(c.application_id == application_id)
        if plan_version_id is not None:
            query = query.where(c.plan_version_id == plan_version_id)
        if outcome is not None:
            query = query.where(c.outcome == outcome.value)
        if since is not None:
            query = query.where(c.created_at >= _utc(since))
        if until is not None:
            query = query.where(c.created_at < _utc(until))
        with _failing_as(_UNREADABLE):
            rows = self._read(query.order_by(c.seq).limit(limit + 1))
        return [_recorded(r) for r in rows[:limit]], len(rows) > limit

    def export(self) -> gpd.GeoDataFrame:
        """Every recorded decision, oldest first, with its parcel in lon/lat (EPSG:4326): the
        record's fields, the activity as given, and the decision's canonical JSON."""
        c = decision_table.c
        query = select(*_RECORD_COLUMNS, c.activity, c.parcel_wkb, c.crs_epsg).order_by(c.seq)
        with _failing_as(_UNREADABLE):
            rows = self._read(query)
        frames = []
        for epsg in sorted({r.crs_epsg for r in rows}):
            mine = [r for r in rows if r.crs_epsg == epsg]
            frames.append(
                gpd.GeoDataFrame(
                    {
                        "id": [r.id for r in mine],
                        "seq": [int(r.seq) for r in mine],
                        "created_at": [_recorded(r).created_at for r in mine],
                        "application_id": [r.application_id for r in mine],
                        "idempotency_key": [r.idempotency_key for r in mine],
                        "activity": [r.activity for r in mine],
                        "outcome": [r.outcome for r in mine],
                        "plan_version_id": [r.plan_version_id for r in mine],
                        "input_hash": [r.input_hash for r in mine],
                        "decision": [r.decision for r in mine],
                    },
                    geometry=shapely.from_wkb([r.parcel_wkb for r in mine]),
                    crs=epsg,
                ).to_crs(4326)
            )
        if not frames:
            return gpd.GeoDataFrame({"id": [], "seq": []}, geometry=[], crs=4326)
        return gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True).sort_values("seq", ignore_index=True),
            crs=4326,
        )

    def nearest_same_activity(
        self,
        *,
        plan_version_id: int,
        activity_ids: Sequence[str],
        parcel: BaseGeometry,
        within_m: float,
        exclude_application_id: str | None = None,
    ) -> float | None:
        """Distance (m, plan CRS) from ``parcel`` to the nearest approved parcel of the same plan
        version sharing a kegiatan id, among those within ``within_m``; None when there is none.

        Bounding boxes filter in SQL, shapely measures the exact distance of what remains.
        """
        if not activity_ids or parcel.is_empty:
            return None
        min_x, min_y, max_x, max_y = parcel.bounds
        query = _nearest_query(len(activity_ids), exclude_application_id is not None)
        params: dict[str, Any] = {
            "version": plan_version_id,
            "min_x": min_x - within_m,
            "min_y": min_y - within_m,
            "max_x": max_x + within_m,
            "max_y": max_y + within_m,
            "exclude": exclude_application_id,
            **{f"id{k}": f"%,{_like_escaped(i)},%" for k, i in enumerate(activity_ids)},
        }
        with _failing_as(_UNREADABLE), self._reading() as conn:
            found = [r.parcel_wkb for r in conn.execute(query, params)]
        if not found:
            return None
        distances = shapely.distance(parcel, shapely.from_wkb(found))
        near = distances[distances <= within_m]
        return float(near.min()) if near.size else None

    def _by_key(self, key: str) -> Row[Any] | None:
        rows = self._read(select(*_RECORD_COLUMNS).where(decision_table.c.idempotency_key == key))
        return rows[0] if rows else None

    def _insert(self, row: dict[str, Any]) -> RecordedDecision:
        with self._writing() as conn:
            if conn.dialect.name == "sqlite":
                # SQLite has no identity columns; BEGIN IMMEDIATE serialises writers, so the
                # next number is safe to take from the table itself.
                next_seq = select(func.coalesce(func.max(decision_table.c.seq), 0) + 1)
                row = {**row, "seq": next_seq.scalar_subquery()}
            stored = conn.execute(
                insert(decision_table).values(**row).returning(*_RECORD_COLUMNS)
            ).one()
        return _recorded(stored)

    def _read(self, query: Select[Any]) -> list[Row[Any]]:
        with self._reading() as conn:
            return list(conn.execute(query))

    def _reading(self) -> AbstractContextManager[Connection]:
        return self.reader.connect() if self._held is None else nullcontext(self._held)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction of its own, or a savepoint in the held one (a lost race for a key
        rolls back to it, and the turn is kept)."""
        if self._held is None:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self._held.begin_nested():
                yield self._held


@lru_cache(maxsize=32)
def _nearest_query(ids: int, exclude: bool) -> Select[Any]:
    """The T3 query for ``ids`` kegiatan ids, built once: made afresh on every check, its
    expression objects cost more than the query itself."""
    c = decision_table.c
    tokens = literal(",") + c.activity_ids + literal(",")
    query = select(c.parcel_wkb).where(
        c.plan_version_id == bindparam("version"),
        c.outcome.in_([o.value for o in APPROVALS]),
        c.min_x <= bindparam("max_x"),
        c.max_x >= bindparam("min_x"),
        c.min_y <= bindparam("max_y"),
        c.max_y >= bindparam("min_y"),
        or_(*(tokens.like(bindparam(f"id{k}"), escape="/") for k in range(ids))),
    )
    if exclude:
        query = query.where(c.application_id.is_distinct_from(bindparam("exclude")))
    return query


def _like_escaped(text: str) -> str:
    """``text`` matched literally by LIKE ... ESCAPE '/'."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _row(
    decision: Decision,
    parcel: BaseGeometry,
    crs_epsg: int,
    activity: str,
    activity_ids: Sequence[str],
    key: str | None,
) -> dict[str, Any]:
    if decision.plan is not None and decision.plan.crs_epsg != crs_epsg:
        raise ValueError(
            f"the parcel is in EPSG:{crs_epsg}, but the decision's plan version is in "
            f"EPSG:{decision.plan.crs_epsg}; record parcels in the plan's metric CRS"
        )
    if isinstance(activity_ids, str):
        raise TypeError(
            f"activity_ids is a sequence of kegiatan ids, not one string: {activity_ids!r}"
        )
    if any("," in i for i in activity_ids):
        raise ValueError(f"kegiatan ids may not contain commas: {list(activity_ids)}")
    bounds = parcel.bounds
    bbox = bounds if all(math.isfinite(v) for v in bounds) else (None, None, None, None)
    return {
        "id": uuid.uuid4().hex,
        "application_id": decision.application_id,
        "idempotency_key": key,
        "input_hash": decision.input_hash,
        "plan_version_id": decision.plan.version_id if decision.plan else None,
        "activity": activity,
        "activity_ids": ",".join(activity_ids),
        "outcome": decision.outcome.value,
        "created_at": datetime.now(UTC),
        "decision": decision.to_json(),
        "parcel_wkb": shapely.to_wkb(parcel),
        "crs_epsg": crs_epsg,
        **dict(zip(("min_x", "min_y", "max_x", "max_y"), bbox, strict=True)),
    }


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC, as the log records times (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _replay(row: Row[Any], key: str, input_hash: str) -> RecordedDecision:
    """The stored record for a retry, or a conflict when the key was used for other input."""
    if row.input_hash != input_hash:
        raise IdempotencyConflict(key)
    return replace(_recorded(row), replayed=True)


def _recorded(row: Row[Any]) -> RecordedDecision:
    return RecordedDecision(
        id=row.id,
        seq=int(row.seq),
        created_at=_utc(row.created_at),
        idempotency_key=row.idempotency_key,
        application_id=row.application_id,
        outcome=Outcome(row.outcome),
        plan_version_id=row.plan_version_id,
        decision_json=row.decision,
    )


@contextmanager
def _failing_as(what: str) -> Iterator[None]:
    """Turn a database failure into a StoreError naming only its kind: the database's message
    may quote data, SQL or addresses, and must never reach a client."""
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(f"{what} ({type(exc.orig).__name__})") from exc
