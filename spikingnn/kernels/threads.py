"""Threads for the kernels, without Numba's parallel compiler.

A kernel that splits its work into independent parts (blocks of samples, chunks of a batch) is written as a
plain ``@numba.njit(cache=True, nogil=True)`` function of a range of parts, ``block(first, end, ...)``; ``run_parts``
calls it on consecutive ranges of the parts from as many threads as Numba is allowed (``numba.get_num_threads()``,
so ``NUMBA_NUM_THREADS`` and ``numba.set_num_threads`` hold), the calling thread taking the first range.
``nogil`` lets the calls run at the same time.

Why not ``prange``: Numba's parallel passes analyse and compile a ``parallel=True`` function a second time, as a
gufunc, and a first run (nothing in Numba's on-disk cache) pays for it. The default classifier's forward neuron
kernel took 8.5 s to compile with them and 3 s without (2-core machine, Numba 0.68), and a wrapper holding nothing
but the parallel loop still added 2-4 s; e-prop's kernel took 24-27 s, now 7.6-8.5 s. Waking a helper costs
about what waking OpenMP's passive threads cost: a neuron kernel on a batch of 2 samples takes 55-80 us against
48-70 us with ``prange``, and kernels of real batches take as long as before.

The convolution kernels were ``parallel=True`` until these threads polled for work (below); see ``conv.py``.

Handing a part to a sleeping helper costs more than the arithmetic of a small kernel: on this project's 2-vCPU
virtual machine a helper asleep on a lock took ~80 us to wake and answer (``run_parts`` of an empty kernel: 80
against 2.5 us on one thread), and a training batch calls ``run_parts`` six times. So, as OpenMP's threads spin
before they sleep, a helper that finished its task polls its mailbox (IDLE_ROUNDS, ~2.4 ms) before it sleeps, and a
caller waiting for its helpers polls (JOIN_ROUNDS, ~0.3 ms) before it sleeps. The polls are compiled loops that do not
hold the interpreter's lock (``poll_until``). An empty kernel then takes ~20 us (most of it the interpreter's lock,
which the helper needs to call its part). Measured in one process, alternating the two ways 30 times (fits of 30
batches of the default network, then 3,000 test pictures): training took 0.90-0.94 and inference 0.93-0.96 of the
time. The polls are bounded, and after every POLLS_PER_ROUND reads a polling thread offers its core to any other
thread waiting for one (``yield_core``): two training processes of 2 threads each on the 2 cores took 0.96-1.21 s
per 200 batches each, against 0.92-0.94 s with helpers that sleep at once, and 1.52-2.11 s when the polls did not
yield; alone, the yields cost nothing measurable (1.23-1.40 against 1.22-1.55 s per epoch, 4 interleaved pairs).
No kernel waits for a polling thread, unlike a team of OpenMP threads that all must be running.

Two more ways to spend the second core well. A kernel whose work is small passes ``work`` (roughly, the numbers it
steps) and gets one thread per WORK_PER_THREAD of it: the 10 output neurons of a classifier (25 steps of 128 samples)
stepped in 42 us on one thread, in 65 us on two even with the helper polling. And ``start_aside(task)`` lends a
helper to the caller for work of its own while the caller goes on alone (training encodes the next batch so, beside
the loss and the output layer's backward pass); the caller's next ``run_parts`` that wants two threads first waits
for it (``join_aside``).

Which part goes to which thread changes nothing in the results: the parts share no sum (each has its own partial
sum where a sum is needed, added in a fixed order by the kernel's caller).
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

# Work (numbers stepped) that pays for one more thread: the output layer of a classifier (25 x 128 x 10 = 32k numbers)
# runs on one thread, its 100-neuron hidden layer (320k) on two.
WORK_PER_THREAD = 100_000
POLLS_PER_ROUND = 256     # reads of a mailbox between two offers of the core to other threads (~0.15 us of reads)
IDLE_ROUNDS = 4096         # a helper's rounds of polls for its next task before it sleeps: ~2.4 ms (this machine)
JOIN_ROUNDS = 512          # a caller's rounds of polls for its helpers before it sleeps: ~0.3 ms
_aside = None                       # (caller's thread id, helper) of start_aside's task, until join_aside
_workers: list = []                 # the helper threads, started when first needed, reused for every call
_busy = threading.Lock()            # held while the helpers work for one caller; another caller runs alone


@intrinsic
def load_acquire(typingctx, cells, index):
    """cells[index] of an int64 array, read from memory at every call (an atomic load with acquire ordering): in a
    polling loop a plain read may be hoisted out by the compiler, and the loop would never see another thread's
    write."""
    if not (isinstance(cells, types.Array) and cells.dtype == types.int64 and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(builder.gep(array.data, [args[1]]), ordering="acquire", align=8)
    return types.int64(cells, index), codegen


@intrinsic
def yield_core(typingctx):
    """Let the operating system run another thread on this core now if one is waiting (POSIX ``sched_yield``; a
    no-op on Windows): a polling thread then takes nothing from busy ones."""
    def codegen(context, builder, signature, args):
        if sys.platform != "win32":
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                      "sched_yield")
            builder.call(function, [])
        return context.get_dummy_value()
    return types.void(), codegen


@numba.njit(cache=True, nogil=True)
def poll_until(cells, index, value, rounds):
    """Read cells[index] until it equals ``value``, for up to ``rounds`` rounds of POLLS_PER_ROUND reads, each
    round ended by ``yield_core``; True if it did. Runs without the interpreter's lock, so the thread that will
    write the value can run meanwhile."""
    for _ in range(rounds):
        for _ in range(POLLS_PER_ROUND):
            if load_acquire(cells, index) == value:
                return True
        yield_core()
    return False


class _Worker:
    """A daemon thread that runs one task at a time: ``start(task)``, then ``join()`` (re-raises its error).

    Its mailbox ``_count`` holds the number of tasks given [0] and finished [1]. Between tasks the thread polls
    [0] (IDLE_ROUNDS) and only then sleeps on ``_go``; ``_sleeping``, read and written under ``_state``, tells
    ``start`` whether it must wake the thread. ``_done`` is released once per finished task.
    """

    def __init__(self):
        self._go, self._done, self._state = threading.Lock(), threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._count = np.zeros(2, np.int64)
        self._sleeping = False
        self._task, self._error = None, None
        threading.Thread(target=self._loop, name="spikingnn-kernel", daemon=True).start()

    def _loop(self):
        given = 0
        while True:
            given += 1
            if not poll_until(self._count, 0, given, IDLE_ROUNDS):
                with self._state:
                    sleep = self._sleeping = self._count[0] < given
                if sleep:
                    self._go.acquire()
            try:
                self._task()
            except BaseException as error:      # handed to the caller by join()
                self._error = error
            self._count[1] = given
            self._done.release()

    def start(self, task):
        self._task, self._error = task, None
        with self._state:
            self._count[0] += 1
            wake, self._sleeping = self._sleeping, False
        if wake:
            self._go.release()

    def join(self):
        """Wait for the task, even through Ctrl-C (a kernel lasts milliseconds; the interrupt is raised after)."""
        interrupted = None
        poll_until(self._count, 1, self._count[0], JOIN_ROUNDS)    # most tasks end within microseconds of the caller's
        while True:
            try:
                self._done.acquire()
                break
            except KeyboardInterrupt as interrupt:
                interrupted = interrupt
        self._task = None
        if self._error is not None:
            raise self._error
        if interrupted is not None:
            raise interrupted


def _forget_workers():
    """A forked child has none of its parent's threads: it starts its own when it needs them (and has no task
    aside to wait for)."""
    global _busy, _aside
    _workers.clear()
    _busy, _aside = threading.Lock(), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


@contextlib.contextmanager
def alone():
    """Within it, the calling thread's kernels run on that thread only (``numba.set_num_threads(1)``, which is the
    thread's own setting; restored after)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def start_aside(task) -> None:
    """Run ``task()`` on a helper while the calling thread goes on; ``join_aside`` (or this thread's next
    ``run_parts`` on more than one thread) waits for it and re-raises its error. Without a free helper (one thread
    allowed, or the helpers working for another thread) the task runs here and now."""
    global _aside
    join_aside()
    if numba.get_num_threads() < 2 or not _busy.acquire(blocking=False):
        task()
        return
    if not _workers:
        _workers.append(_Worker())
    _workers[0].start(task)
    _aside = (threading.get_ident(), _workers[0])


def join_aside() -> None:
    """Wait for the task that this thread started with ``start_aside``, if any, and re-raise its error."""
    global _aside
    if _aside is None or _aside[0] != threading.get_ident():
        return
    worker, _aside = _aside[1], None
    try:
        worker.join()
    finally:
        _busy.release()


def run_parts(block, n_parts: int, *args, work: int | None = None) -> None:
    """Call ``block(first, end, *args)`` on consecutive ranges [first, end) that cover the parts 0 .. n_parts - 1,
    at once on up to ``numba.get_num_threads()`` threads (never more threads than parts, nor, if ``work`` is given,
    than one per WORK_PER_THREAD of it). If another thread is using the helpers, this call runs all parts in its
    own thread."""
    threads = max(1, min(n_parts, numba.get_num_threads(), n_parts if work is None else work // WORK_PER_THREAD))
    if threads > 1:
        join_aside()
    if threads == 1 or not _busy.acquire(blocking=False):
        block(0, n_parts, *args)
        return
    try:
        while len(_workers) < threads - 1:
            _workers.append(_Worker())
        bounds = [k * n_parts // threads for k in range(threads + 1)]
        helpers = _workers[:threads - 1]
        for k, worker in enumerate(helpers, start=1):
            worker.start(lambda first=bounds[k], end=bounds[k + 1]: block(first, end, *args))
        try:
            block(bounds[0], bounds[1], *args)
        finally:                                # the helpers finish before anything else happens
            errors = []
            for worker in helpers:
                try:
                    worker.join()
                except BaseException as error:
                    errors.append(error)
            if errors:
                raise errors[0]
    finally:
        _busy.release()
