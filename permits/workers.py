"""The processes forked from this one to share an engine's batches, kept for its next batches.

Forking the engine's process costs tens of milliseconds, and a child's first chunks run cold:
every page of the engine it touches is copied on its first write (reference counts), its caches
are empty and it has worked out no class of parcels yet. So an engine's children are forked once,
when a batch first has enough chunks to pay for them, and kept: a later batch hands them its
chunks at once, and they keep what they worked out (classes, prepared zone parts) as this
process does. They end when the engine is collected, at ``stop_workers``, or when this process
exits. Linux only: elsewhere nothing can inherit the engine, and Dask is the way
(``permits.distributed``).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import weakref
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import cast

from gis.areas import one_core
from permits.engine import Engine


@dataclass(frozen=True)
class Workers:
    """An engine's children: the pool that hands them chunks and how many there are."""

    pool: ProcessPoolExecutor
    children: int


#: Each engine's children, while they run (the entry goes with the engine, and the pool, no
#: longer referenced, ends them).
_RUNNING: weakref.WeakKeyDictionary[Engine, Workers] = weakref.WeakKeyDictionary()

#: In a child: the engine it was forked to check with (empty in the process that forks).
_ADOPTED: list[Engine] = []


def running(engine: Engine) -> Workers | None:
    """The engine's children, if it has any."""
    return _RUNNING.get(engine)


def start(engine: Engine, children: int) -> Workers:
    """``children`` processes forked from this one for the engine, in place of any it had;
    forked before this returns, so that a batch's first chunks do not wait for them.

    The collector is frozen over the fork, so the children never walk (and so copy) the
    objects they inherit; this process thaws them at once."""
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError(
            "workers > 1 forks this process, which this platform cannot; "
            "use permits.distributed.check_many on a Dask cluster instead"
        )
    stop_workers(engine)
    pool = ProcessPoolExecutor(
        children,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_adopt,
        initargs=(weakref.ref(engine),),
    )
    gc.freeze()
    try:
        pool.submit(os.getpid).result()
    finally:
        gc.unfreeze()
    workers = _RUNNING[engine] = Workers(pool, children)
    return workers


def stop_workers(engine: Engine) -> None:
    """End the engine's children, if it has any (their memory is freed at once, rather than
    when the engine is collected)."""
    workers = _RUNNING.pop(engine, None)
    if workers is not None:
        workers.pool.shutdown(cancel_futures=True)


def adopted() -> Engine:
    """In a child, the engine it checks with."""
    return _ADOPTED[0]


def _adopt(engine: weakref.ref[Engine]) -> None:
    """A child's start: its own core (no parallel kernel, which a process forked from one that
    ran it on GNU OpenMP must not launch), the engine, and the collector on (a batch pauses it
    while it runs, as in this process). The pool holds the engine only weakly, or the engine
    would outlive every use of it, and its children with it; in the child, the forking
    caller still holds it."""
    one_core()
    _ADOPTED.append(cast(Engine, engine()))
    gc.enable()
