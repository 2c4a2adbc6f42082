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

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from gis.areas import one_core
from permits.engine import Engine
from permits.fork_gate import forking

T = TypeVar("T")

#: How long a child may take to start, or to send back a chunk, before it is taken for stuck
#: (a deadlock on a lock it inherited held, say) and ended: a chunk takes tens of milliseconds.
SILENT_SECONDS = 300.0


@dataclass(frozen=True)
class Workers:
    """An engine's children: the pool that hands them chunks, how many there are, their
    process ids, and whether they have been ended (or replaced), after which they take no
    more chunks."""

    pool: ProcessPoolExecutor
    children: int
    pids: frozenset[int] = frozenset()
    ended: threading.Event = field(default_factory=threading.Event)

    def back(self, chunk: Future[T]) -> T:
        """What a child sends back for a chunk it was handed. A child silent for
        ``SILENT_SECONDS`` is taken for stuck (a deadlock on a lock it inherited held, say):
        the children are ended, and this raises as if they had died."""
        try:
            return chunk.result(timeout=SILENT_SECONDS)
        except TimeoutError:
            self.kill()
            raise BrokenProcessPool(
                f"it sent nothing back for {SILENT_SECONDS:.0f} s, and was ended"
            ) from None

    def kill(self) -> None:
        """End every child at once (one is stuck): the pool then fails the chunks they held,
        as it does when a child dies, and their batch checks them itself."""
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

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
    forked now in place of any it had (none, with a warning, where they do not start); else
    none (and those it has are kept)."""
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


def _start(engine: Engine, children: int) -> Workers | None:
    """``children`` processes forked from this one for the engine; forked before this
    returns, so that a batch's first chunks do not wait for them, and once no other thread
    is inside the engine's work (``permits.fork_gate``). None, with a warning, where they
    have not started within ``SILENT_SECONDS`` (they are ended).

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
        before = {child.pid for child in multiprocessing.active_children()}
        gc.freeze()
        try:
            starting = [pool.submit(os.getpid) for _ in range(children)]
        finally:
            gc.unfreeze()
        pids = frozenset(child.pid for child in multiprocessing.active_children()) - before
    workers = Workers(pool, children, cast(frozenset[int], pids))
    try:
        for started in starting:
            started.result(timeout=SILENT_SECONDS)
    except TimeoutError:
        workers.kill()
        workers._end(wait=False)
        warnings.warn(
            f"the worker processes of this engine did not start within {SILENT_SECONDS:.0f} s "
            "and were ended; this batch is checked in this process",
            RuntimeWarning,
            stacklevel=5,
        )
        return None
    _RUNNING[engine] = workers
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
