"""Forks of this process only while no other thread is inside the engine's work.

A process forked from one with several threads inherits every lock as it was at that instant,
held or not, and the threads that held them do not exist in it: the child deadlocks the first
time it takes one. The engine's work takes such locks all the time: numba's compiler lock
(held for a second or more while a kernel compiles or loads from its cache, and taken by a
kernel's first call with new argument types), PROJ's and GDAL's, OpenSSL's (a hash). Measured
here: a child forked while another thread's batch was loading the area kernel waited on the
compiler lock forever, and so did the batch that forked it.

So the engine's work in this process (a check, a batch's chunk, an engine's build, a results
file's write) goes ``inside()``, and ``forking()`` waits until no thread is inside, holding new
work back meanwhile (a fork takes tens of milliseconds). A thread already inside may go in again.
The child starts with the gate open.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Gate:
    """How many threads are inside, whether a fork waits or runs, and how deep each thread is;
    entered as the engine's work."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.turn = threading.Condition(self.lock)
        self.inside = 0
        self.forking = False
        self.depth = threading.local()

    def __enter__(self) -> None:
        depth = getattr(self.depth, "n", 0)
        if depth == 0:
            with self.lock:
                while self.forking:
                    self.turn.wait()
                self.inside += 1
        self.depth.n = depth + 1

    def __exit__(self, *_: object) -> None:
        depth = self.depth.n = self.depth.n - 1
        if depth == 0:
            with self.lock:
                self.inside -= 1
                if self.inside == 0 and self.forking:
                    self.turn.notify_all()


_GATE = _Gate()


def _reopen() -> None:
    """In a child: a gate of its own, open (the forking thread held the old one shut, and
    another thread may have held its lock)."""
    global _GATE
    _GATE = _Gate()


os.register_at_fork(after_in_child=_reopen)


def inside() -> _Gate:
    """A block ``with inside():`` is the engine's work: no fork of this process starts while
    it runs."""
    return _GATE


@contextmanager
def forking() -> Iterator[None]:
    """The block forks this process: it starts once no other thread is inside the engine's
    work, and no thread goes in until it ends. Refused inside the engine's work, which it
    would wait for forever."""
    gate = _GATE
    if getattr(gate.depth, "n", 0):
        raise RuntimeError("this process cannot fork from inside the engine's work")
    with gate.turn:
        while gate.forking:
            gate.turn.wait()
        gate.forking = True
        while gate.inside:
            gate.turn.wait()
    try:
        yield
    finally:
        with gate.turn:
            gate.forking = False
            gate.turn.notify_all()
