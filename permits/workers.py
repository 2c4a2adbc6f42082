"""The processes forked from this one to share an engine's batches, kept for its next batches.

Forking the engine's process costs tens of milliseconds, and a child's first chunks run cold:
every page of the engine it touches is copied on its first write (reference counts), its caches
are empty and it has worked out no class of parcels yet. So an engine's children are forked once,
when a batch first has enough chunks to pay for them, and kept: a later batch hands them its
chunks at once, and they keep what they worked out (classes, prepared zone parts) as this
process does. They end when the engine is collected, at ``stop_workers``, or when this process
exits. Linux only: elsewhere nothing can inherit the engine, and Dask is the way
(``permits.distributed``).

Batches on one engine from several threads share its children: which children a batch gets,
forking them, handing them a chunk and ending them take turns (``_TURN``), and children ended or
replaced while another thread's batch uses them finish the chunks they were handed; that batch
checks the rest itself. A fork waits for the engine's work in other threads to pause
(``permits.fork_gate``), so that no child inherits a lock that one of them held.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from gis.areas import one_core
from permits.engine import Engine
from permits.fork_gate import forking

T = TypeVar("T")


@dataclass(frozen=True)
class Workers:
    """An engine's children: the pool that hands them chunks, how many there are, and whether
    they have been ended (or replaced), after which they take no more chunks."""

    pool: ProcessPoolExecutor
    children: int
    ended: threading.Event = field(default_factory=threading.Event)

    def send(self, work: Callable[..., T], *args: Any) -> Future[T] | None:
        """``work(*args)`` handed to a child; None once they have been ended, by this thread or
        another, so that the caller does the work itself."""
        with _TURN:
            return None if self.ended.is_set() else self.pool.submit(work, *args)

    def _end(self, *, wait: bool) -> None:
        """No more chunks for them; each child exits once it has finished those it was
        handed (and ``wait`` waits for that)."""
        self.ended.set()
        self.pool.shutdown(wait=wait)


#: Each engine's children, while they run (the entry goes with the engine, and the pool, no
#: longer referenced, ends them).
_RUNNING: weakref.WeakKeyDictionary[Engine, Workers] = weakref.WeakKeyDictionary()
#: Held while children are chosen, forked, handed a chunk or ended: one thread at a time.
_TURN = threading.Lock()

#: In a child: the engine it was forked to check with (empty in the process that forks).
_ADOPTED: list[Engine] = []


def running(engine: Engine) -> Workers | None:
    """The engine's children, if it has any."""
    return _RUNNING.get(engine)


def for_batch(engine: Engine, wanted: int, fewer_than: int) -> Workers | None:
    """The children a batch shares its chunks with: the engine's own, where it has at least
    ``wanted`` and fewer than ``fewer_than``; else, where ``wanted`` is 1 or more, that many
    forked now in place of any it had; else none (and those it has are kept)."""
    with _TURN:
        have = _RUNNING.get(engine)
        if have is not None and wanted <= have.children < fewer_than:
            return have
        if wanted < 1:
            return None
        if have is not None:
            del _RUNNING[engine]
            have._end(wait=False)
        return _start(engine, wanted)


def _start(engine: Engine, children: int) -> Workers:
    """``children`` processes forked from this one for the engine; forked before this
    returns, so that a batch's first chunks do not wait for them, and once no other thread
    is inside the engine's work (``permits.fork_gate``).

    The collector is frozen over the fork, so the children never walk (and so copy) the
    objects they inherit; this process thaws them at once."""
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError(
            "workers > 1 forks this process, which this platform cannot; "
            "use permits.distributed.check_many on a Dask cluster instead"
        )
    pool = ProcessPoolExecutor(
        children,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_adopt,
        initargs=(weakref.ref(engine),),
    )
    with forking():
        gc.freeze()
        try:
            for started in [pool.submit(os.getpid) for _ in range(children)]:
                started.result()
        finally:
            gc.unfreeze()
    workers = _RUNNING[engine] = Workers(pool, children)
    return workers


def stop_workers(engine: Engine) -> None:
    """End the engine's children, if it has any, and wait for them to exit (their memory is
    freed now, rather than when the engine is collected). A batch another thread is running
    with them checks the chunks they were not handed yet itself."""
    with _TURN:
        workers = _RUNNING.pop(engine, None)
        if workers is not None:
            workers.ended.set()
    if workers is not None:
        workers._end(wait=True)


def retire(engine: Engine, workers: Workers) -> None:
    """End ``workers``, one of whose children has died, and forget them unless another
    thread has replaced them already."""
    with _TURN:
        if _RUNNING.get(engine) is workers:
            del _RUNNING[engine]
        workers._end(wait=False)


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
