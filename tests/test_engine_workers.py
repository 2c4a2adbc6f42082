"""``check_many(..., workers=N)``: chunks shared with processes forked from this one, kept by the
engine for its next batches, giving the rows and decisions of one process in the frame's order."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import permits.batch
import permits.workers
from permits.batch import FORKED_CHUNKS, check_many
from permits.engine import Engine
from permits.fork_gate import forking, inside
from permits.workers import running, stop_workers
from tests.test_engine_rows import ACTIVITIES, ENGINES, _frame

#: Where ``_noted`` notes which process checked each chunk a child was sent.
_NOTES: dict[str, Path] = {}
_REMOTE = permits.batch._remote
_ADOPT = permits.workers._adopt
_SILENT = permits.workers.SILENT_SECONDS


def _noted(part: permits.batch._Part) -> object:
    """A child's chunk (``permits.batch._remote``), noted as a file named by the process."""
    tempfile.mkstemp(prefix=f"{os.getpid()}-", dir=_NOTES["in"])
    return _REMOTE(part)


def _pids(notes: Path) -> Counter[int]:
    """How many chunks each process noted, the notes then removed."""
    counted = Counter(int(path.name.split("-")[0]) for path in notes.iterdir())
    for path in notes.iterdir():
        path.unlink()
    return counted


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    """An engine of its own (its children are its own, and see the noting ``_remote``) over
    the strictest test plan, with chunks of 16 rows; its children ended afterwards."""
    monkeypatch.setattr(permits.batch, "CHUNK", 16)
    monkeypatch.setattr(permits.batch, "_remote", _noted)
    monkeypatch.setitem(_NOTES, "in", tmp_path)
    shared = ENGINES["strictest"]
    engine = Engine(shared.plan, shared.settings)
    yield engine
    stop_workers(engine)


@pytest.fixture(scope="module")
def parcels() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(9)
    drawn = [
        (*rng.uniform(-30, 400, 2), 25.0, 30.0, str(rng.choice(ACTIVITIES)), 1, 1, [90.0] * 7, 0)
        for _ in range(120)
    ]
    return _frame(drawn).set_index(np.arange(1000, 1121))


def test_workers_give_the_rows_and_decisions_of_one_process_in_order(engine, parcels, tmp_path):
    """Chunks shared between this process and one forked from it (after this process has run
    the parallel area kernel, which a fork of it must not run again), both checking; the
    child kept for the engine's next batches."""
    one = check_many(parcels, ENGINES["strictest"])
    two = check_many(parcels, engine, workers=2)
    assert [d.to_json_bytes() for d in two["decision"]] == [
        d.to_json_bytes() for d in one["decision"]
    ]
    rows = check_many(parcels, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(rows, one.drop(columns="decision"), check_exact=True)
    # One child checked some of both batches' chunks; this process checked the rest.
    noted = _pids(tmp_path)
    chunks = len(range(0, len(parcels), 16))
    assert len(noted) == 1 and os.getpid() not in noted
    assert 0 < noted.total() < 2 * chunks
    assert running(engine) is not None and running(engine).children == 1


def test_a_small_frame_forks_nothing_but_shares_with_running_children(engine, parcels, tmp_path):
    """Too few chunks for two processes to pay for a fork: all of them are checked here. Once
    the engine has a child, a frame of two chunks is shared with it; one process is asked for
    with ``workers=1``, and gets it."""
    rows = check_many(parcels, engine, decisions=False)
    few = parcels.iloc[: 16 * (2 * FORKED_CHUNKS - 1)]
    alone = check_many(few, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(alone, rows.iloc[: len(few)], check_exact=True)
    assert not any(tmp_path.iterdir()) and running(engine) is None
    check_many(parcels, engine, decisions=False, workers=2)
    child = set(_pids(tmp_path))
    small = check_many(parcels.iloc[:32], engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(small, rows.iloc[:32], check_exact=True)
    assert set(_pids(tmp_path)) == child
    single = check_many(parcels, engine, decisions=False, workers=1)
    pd.testing.assert_frame_equal(single, rows, check_exact=True)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="workers must be 1 or more"):
        check_many(parcels, engine, workers=0)


def test_a_child_that_ended_leaves_its_chunks_to_this_process(engine, parcels, tmp_path):
    """A child killed between batches (as the kernel's out-of-memory killer would): the next
    batch warns, checks here what the child would have, and gives the same rows; the batch
    after it forks a new child."""
    rows = check_many(parcels, engine, decisions=False)
    check_many(parcels, engine, decisions=False, workers=2)
    (child,) = _pids(tmp_path)
    os.kill(child, signal.SIGKILL)
    with pytest.warns(RuntimeWarning, match="a worker process of this engine ended"):
        after = check_many(parcels, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(after, rows, check_exact=True)
    assert running(engine) is None
    again = check_many(parcels, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(again, rows, check_exact=True)
    (new,) = _pids(tmp_path)
    assert new != child and running(engine) is not None


def test_an_engine_collected_ends_its_children(engine, parcels, tmp_path):
    """An engine no longer referenced (as a notebook's rebuilt one) takes its children with
    it: they would otherwise hold a copy of it for as long as Python runs."""
    shared = ENGINES["strictest"]
    rebuilt = Engine(shared.plan, shared.settings)
    check_many(parcels, rebuilt, decisions=False, workers=2)
    (child,) = _pids(tmp_path)
    del rebuilt
    gc.collect()
    assert _exited(child)


def _exited(pid: int, seconds: float = 10.0) -> bool:
    """Whether process ``pid`` has exited, waiting up to ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


def test_batches_from_many_threads_share_one_engines_children(engine, parcels, tmp_path):
    """Four threads running batches on one engine at once, while a fifth ends its children
    again and again (a notebook's cell, a second batch): every batch gives the rows of one
    process and none raises; children were forked, shared and ended, and none is left
    running once the engine's children are stopped."""
    rows = check_many(parcels, engine, decisions=False)
    ending = threading.Event()

    def batches(_: int) -> list[gpd.GeoDataFrame]:
        return [check_many(parcels, engine, decisions=False, workers=2) for _ in range(3)]

    def stopping() -> None:
        while not ending.wait(0.05):
            stop_workers(engine)

    with ThreadPoolExecutor(5) as threads:
        stopper = threads.submit(stopping)
        try:
            results = [frame for got in threads.map(batches, range(4)) for frame in got]
        finally:
            ending.set()
        stopper.result()
    for frame in results:
        pd.testing.assert_frame_equal(frame, rows, check_exact=True)
    children = _pids(tmp_path)
    assert children and os.getpid() not in children
    stop_workers(engine)
    assert running(engine) is None
    assert all(_exited(child) for child in children)


#: Held by another thread inside the engine's work, and taken by a child before each chunk, as
#: numba's compiler lock is while a kernel loads and by a kernel's first call.
_HELD = threading.Lock()


def _after_the_lock(part: permits.batch._Part) -> object:
    """A child's chunk, once it has had ``_HELD`` for a moment."""
    with _HELD:
        pass
    return _noted(part)


def test_a_fork_waits_until_no_other_thread_is_inside_the_engines_work(
    engine, parcels, monkeypatch
):
    """A batch that would fork while another thread holds a lock inside the engine's work: the
    fork waits for that thread to leave, so the child does not inherit the lock held (it would
    wait for it forever, and the batch for the child)."""
    monkeypatch.setattr(permits.batch, "_remote", _after_the_lock)
    rows = check_many(parcels, engine, decisions=False)
    held = threading.Event()

    def working() -> None:
        with inside(), _HELD:
            held.set()
            time.sleep(1.0)

    with ThreadPoolExecutor(2) as threads:
        other = threads.submit(working)
        held.wait()
        batch = threads.submit(check_many, parcels, engine, decisions=False, workers=2)
        try:
            shared = batch.result(timeout=30)
        except TimeoutError:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
            pytest.fail("the child forked while another thread held a lock waited for it")
        other.result()
    pd.testing.assert_frame_equal(shared, rows, check_exact=True)
    assert running(engine) is not None


def test_the_engines_work_may_go_in_again_while_a_fork_waits_but_cannot_fork():
    """A thread inside the engine's work goes in again (a batch's check) while a fork waits
    for it, and the fork starts once it has left; a thread inside cannot fork, and is told."""
    order: list[str] = []
    inner, waiting = threading.Event(), threading.Event()

    def working() -> None:
        with inside():
            inner.set()
            waiting.wait(5)
            with inside():
                order.append("again")
            order.append("left")

    def fork() -> None:
        with forking():
            order.append("forked")

    with ThreadPoolExecutor(2) as threads:
        work = threads.submit(working)
        inner.wait()
        fork_ = threads.submit(fork)
        time.sleep(0.2)
        waiting.set()
        work.result(timeout=10)
        fork_.result(timeout=10)
    assert order == ["again", "left", "forked"]
    with inside(), pytest.raises(RuntimeError, match="cannot fork from inside"), forking():
        pass


def _stuck(*_: object) -> None:
    """A child that never gets on (a deadlock on a lock it inherited held, as in CI), noted
    as ``_noted`` notes a child."""
    tempfile.mkstemp(prefix=f"{os.getpid()}-", dir=_NOTES["in"])
    time.sleep(3600)


def test_children_that_do_not_start_are_ended_and_the_batch_checked_here(
    engine, parcels, monkeypatch, tmp_path
):
    """Children that do not start in time are ended, with a warning, and the batch is
    checked in this process alone; the next batch tries again."""
    rows = check_many(parcels, engine, decisions=False)
    monkeypatch.setattr(permits.workers, "SILENT_SECONDS", 1.0)
    monkeypatch.setattr(permits.workers, "_adopt", _stuck)
    with pytest.warns(RuntimeWarning, match="did not start within 1 s and were ended"):
        alone = check_many(parcels, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(alone, rows, check_exact=True)
    assert running(engine) is None
    (child,) = _pids(tmp_path)
    assert _exited(child)
    monkeypatch.setattr(permits.workers, "SILENT_SECONDS", _SILENT)
    monkeypatch.setattr(permits.workers, "_adopt", _ADOPT)
    again = check_many(parcels, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(again, rows, check_exact=True)
    assert running(engine) is not None


def test_a_child_silent_on_a_chunk_is_ended_and_its_chunks_checked_here(
    engine, parcels, monkeypatch
):
    """A child that takes a chunk and never sends it back: once it has been silent too long
    it is ended, the batch warns and checks its chunks here, and gives the same rows."""
    rows = check_many(parcels, engine, decisions=False)
    check_many(parcels, engine, decisions=False, workers=2)
    (child,) = running(engine).pids
    monkeypatch.setattr(permits.workers, "SILENT_SECONDS", 1.0)
    monkeypatch.setattr(permits.batch, "_remote", _stuck)
    with pytest.warns(RuntimeWarning, match="sent nothing back for 1 s, and was ended"):
        after = check_many(parcels, engine, decisions=False, workers=2)
    pd.testing.assert_frame_equal(after, rows, check_exact=True)
    assert running(engine) is None and _exited(child)
