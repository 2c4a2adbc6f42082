"""API keys with roles, kept in the store's database as hashes, never as the keys themselves.

A key reads ``stk_<id>_<secret>``: the id is public (it names the key in lists and logs), the
secret is 192 random bits. Only SHA-256 of the whole key is stored; a random secret of that size
needs no slow password hash. Keys are created and revoked from the command line.

The service verifies keys from memory (``KeyRing``), refreshed from the store as often as it
looks for activated plan versions, so checks keep being authorised while the database is down;
a revocation takes effect within one refresh.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import Column, DateTime, Engine, MetaData, Table, Text, insert, select, update
from sqlalchemy.exc import DBAPIError

from layers.errors import NotFoundError, StoreError
from layers.store import READS, upgrade

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "simtaru_api_version"

_KEY = re.compile(r"stk_([0-9a-f]{12})_([A-Za-z0-9_-]{32})")


class Role(StrEnum):
    """Who holds a key: the permit system checks and records; a planner reads and checks; an
    admin manages plans (and may do everything else)."""

    PERMIT_SYSTEM = "permit-system"
    PLANNER = "planner"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    CHECK = "check"
    RECORD = "record"
    READ_DECISIONS = "read-decisions"
    MANAGE_PLANS = "manage-plans"


GRANTS = MappingProxyType(
    {
        Role.PERMIT_SYSTEM: frozenset(
            {Permission.READ, Permission.CHECK, Permission.RECORD, Permission.READ_DECISIONS}
        ),
        Role.PLANNER: frozenset({Permission.READ, Permission.CHECK, Permission.READ_DECISIONS}),
        Role.ADMIN: frozenset(Permission),
    }
)

metadata = MetaData()

api_key = Table(
    "api_key",
    metadata,
    Column("id", Text, primary_key=True, comment="the key's public prefix"),
    Column("name", Text, nullable=False, comment="who holds it"),
    Column("role", Text, nullable=False),
    Column("secret_sha256", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class ApiKey:
    """A key as the store lists it (without its secret)."""

    id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_id(token: str) -> str | None:
    """The id of a well-formed key, else None."""
    found = _KEY.fullmatch(token.strip())
    return found.group(1) if found else None


class KeyStore:
    """The ``api_key`` table beside the plan store, with its own Alembic history."""

    def __init__(self, engine: Engine, *, migrate: bool = True) -> None:
        self.engine = engine
        self.reader = engine.execution_options(**READS)
        if migrate:
            upgrade(engine, MIGRATIONS)

    def create(self, name: str, role: Role) -> tuple[ApiKey, str]:
        """A new key for ``name``; the key itself is returned once and never stored."""
        ident = secrets.token_hex(6)
        token = f"stk_{ident}_{secrets.token_urlsafe(24)}"
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_key).values(
                    id=ident,
                    name=name,
                    role=role.value,
                    secret_sha256=digest(token),
                    created_at=now,
                )
            )
        return ApiKey(ident, name, role, now), token

    def revoke(self, ident: str) -> ApiKey:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_key)
                .where(api_key.c.id == ident, api_key.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        if done.rowcount != 1:
            known = {k.id for k in self.list()}
            state = "is already revoked" if ident in known else "is not in the store"
            raise NotFoundError(f"API key {ident!r} {state}")
        return next(k for k in self.list() if k.id == ident)

    def list(self) -> list[ApiKey]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(api_key).order_by(api_key.c.created_at, api_key.c.id))
            return [
                ApiKey(
                    r.id,
                    r.name,
                    Role(r.role),
                    _utc(r.created_at),
                    _utc(r.revoked_at) if r.revoked_at else None,
                )
                for r in rows
            ]

    def active(self) -> dict[str, tuple[str, Role, str]]:
        """Unrevoked keys: id -> (hash, role, name)."""
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(api_key.c.id, api_key.c.secret_sha256, api_key.c.role, api_key.c.name).where(
                    api_key.c.revoked_at.is_(None)
                )
            )
            return {r.id: (r.secret_sha256, Role(r.role), r.name) for r in rows}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's id, holder and role (``anonymous`` without a key)."""

    key_id: str | None
    name: str
    role: Role | None

    def may(self, permission: Permission) -> bool:
        return self.role is not None and permission in GRANTS[self.role]


ANONYMOUS = Caller(None, "anonymous", None)


class KeyRing:
    """The active keys in memory. ``refresh`` replaces them in one assignment; a failed refresh
    keeps the last good set, so a database outage does not lock callers out."""

    #: Seconds between two store lookups for keys not in memory: a key made since the last
    #: refresh works at once, while a stream of unknown keys costs at most one query a second.
    MISS_INTERVAL_S = 1.0

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._keys: dict[str, tuple[str, Role, str]] = {}
        self._missed = -math.inf

    def refresh(self) -> None:
        try:
            self._keys = self.store.active()
        except DBAPIError as exc:
            raise StoreError(f"the API keys could not be read ({type(exc.orig).__name__})") from exc

    def verify(self, token: str) -> Caller | None:
        """The caller a key belongs to, or None for a wrong, unknown or revoked key. A key made
        since the last refresh is looked up in the store once."""
        ident = key_id(token)
        if ident is None:
            return None
        found = self._keys.get(ident)
        if found is None and time.monotonic() - self._missed > self.MISS_INTERVAL_S:
            self._missed = time.monotonic()
            try:
                self.refresh()
            except StoreError:
                return None
            found = self._keys.get(ident)
        if found is None:
            return None
        secret_hash, role, name = found
        if not hmac.compare_digest(secret_hash, digest(token.strip())):
            return None
        return Caller(ident, name, role)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
