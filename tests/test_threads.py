"""spikingnn.kernels.threads: the parts are shared out once each, at the same time, and errors come back; helpers
poll for work, then sleep, and wake for the next call."""
import os
import signal
import threading

import numba
import numpy as np
import pytest

from spikingnn.kernels import threads


@pytest.fixture
def allowed(monkeypatch):
    """Set how many threads run_parts may use (Numba's own limit may be 1 on a one-core machine)."""
    return lambda n: monkeypatch.setattr(numba, "get_num_threads", lambda: n)


@pytest.mark.parametrize("n_threads", [1, 2, 3, 5])
@pytest.mark.parametrize("n_parts", [1, 2, 7, 19])
def test_ranges_cover_every_part_once_on_at_most_the_allowed_threads(allowed, n_threads, n_parts):
    allowed(n_threads)
    calls, lock = [], threading.Lock()

    def block(first, end, tag):
        with lock:
            calls.append((first, end, tag, threading.get_ident()))

    threads.run_parts(block, n_parts, "tag")
    ranges = sorted((first, end) for first, end, _, _ in calls)
    assert ranges[0][0] == 0 and ranges[-1][1] == n_parts
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:])), ranges       # contiguous, no overlap
    assert all(end > first for first, end in ranges)
    assert len(calls) == min(n_threads, n_parts) == len({ident for *_, ident in calls})
    assert {tag for _, _, tag, _ in calls} == {"tag"}
    assert max(e - f for f, e in ranges) - min(e - f for f, e in ranges) <= 1  # balanced


def test_the_threads_work_at_the_same_time(allowed):
    """Three blocks that each wait for the other two finish only if they run concurrently."""
    allowed(3)
    barrier = threading.Barrier(3, timeout=10)
    threads.run_parts(lambda first, end: barrier.wait(), 3)
    assert not barrier.broken


@pytest.mark.parametrize("failing", [0, 2])
def test_an_error_in_any_thread_reaches_the_caller_after_every_thread_ended(allowed, failing):
    allowed(3)
    finished = []

    def block(first, end):
        if first == failing:
            raise ValueError(f"part {first}")
        threading.Event().wait(0.05)
        finished.append(first)

    with pytest.raises(ValueError, match=f"part {failing}"):
        threads.run_parts(block, 3)
    assert sorted(finished) == sorted({0, 1, 2} - {failing})
    seen = []
    threads.run_parts(lambda first, end: seen.append(first), 3)      # the helpers still serve the next call
    assert sorted(seen) == [0, 1, 2]


def test_a_second_caller_runs_alone_while_the_helpers_are_busy(allowed):
    allowed(2)
    inside, release, seen = threading.Event(), threading.Event(), []

    def slow(first, end):
        inside.set()
        release.wait(10)

    caller = threading.Thread(target=threads.run_parts, args=(slow, 2))
    caller.start()
    assert inside.wait(10)
    threads.run_parts(lambda first, end: seen.append((first, end, threading.get_ident())), 4)
    release.set()
    caller.join(10)
    assert seen == [(0, 4, threading.get_ident())]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_threads_of_its_own(allowed):
    allowed(2)
    threads.run_parts(lambda first, end: None, 2)          # the parent's helper exists
    pid = os.fork()
    if pid == 0:                                            # the child: its copy of the helper has no thread
        signal.alarm(10)                                    # a child waiting for a thread that is not there dies
        seen = []
        try:
            threads.run_parts(lambda first, end: seen.append(first), 2)
            os._exit(0 if sorted(seen) == [0, 1] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_polling_sees_a_value_that_another_thread_writes_later():
    """The compiled loop reads memory at every poll: a read kept in a register would never see the write and the
    loop would give up (False) after its polls."""
    cells = np.zeros(2, np.int64)
    writer = threading.Timer(0.05, cells.__setitem__, (1, 7))
    writer.start()
    assert threads.poll_until(cells, 1, 7, 1 << 30)        # ~9 minutes of polls at most; the write comes in 50 ms
    writer.join()
    assert not threads.poll_until(cells, 1, 8, 1000)       # a value never written: False once the polls are spent
    assert threads.poll_until(cells, 0, 0, 1)


@pytest.mark.parametrize("idle_rounds, join_rounds", [(0, 0), (0, 1 << 12), (1 << 12, 0)])
def test_helpers_that_sleep_or_poll_serve_every_call(allowed, monkeypatch, idle_rounds, join_rounds):
    """With no polls a helper sleeps after each task and is woken by the next call; with polls it is found awake.
    Either way every call runs its parts once each, on two threads, with their errors."""
    allowed(2)
    monkeypatch.setattr(threads, "IDLE_ROUNDS", idle_rounds)
    monkeypatch.setattr(threads, "JOIN_ROUNDS", join_rounds)
    threads.run_parts(lambda first, end: None, 2)           # the helper picks up the settings from its next task on
    lock = threading.Lock()

    def block(first, end, seen, failing):
        with lock:
            seen.append((first, threading.get_ident()))
        if failing and first == 1:
            raise ValueError("the helper's part")

    for call in range(20):
        seen, failing = [], call % 5 == 4
        if failing:
            with pytest.raises(ValueError, match="the helper's part"):
                threads.run_parts(block, 2, seen, failing)
        else:
            threads.run_parts(block, 2, seen, failing)
        assert sorted(first for first, _ in seen) == [0, 1] and len({ident for _, ident in seen}) == 2
        if call % 3 == 0:
            threading.Event().wait(0.002)                   # a gap between calls, as between a batch's kernels


def test_a_task_aside_runs_beside_the_caller_and_the_next_parallel_call_waits_for_it(allowed):
    """start_aside: the task runs on a helper while the caller goes on (each waits for the other at a barrier);
    a later run_parts on two threads starts only once the task has finished; join_aside is then a no-op."""
    allowed(2)
    barrier, events = threading.Barrier(2, timeout=10), []

    def task():
        barrier.wait()                                      # the caller reaches it too: both run at once
        threading.Event().wait(0.05)
        events.append("task done")

    threads.start_aside(task)
    barrier.wait()
    threads.run_parts(lambda first, end: events.append("part"), 2)
    threads.join_aside()
    assert events == ["task done", "part", "part"]


def test_a_task_aside_raises_at_the_join_and_runs_here_without_a_helper(allowed):
    allowed(2)

    def failing():
        raise ValueError("aside")

    threads.start_aside(failing)
    with pytest.raises(ValueError, match="aside"):
        threads.join_aside()
    seen = []
    threads.run_parts(lambda first, end: seen.append(first), 2)     # the helper is free again
    assert sorted(seen) == [0, 1]
    allowed(1)
    ran_on = []
    threads.start_aside(lambda: ran_on.append(threading.get_ident()))
    assert ran_on == [threading.get_ident()]                   # one thread allowed: run at once, here


def test_small_work_runs_on_the_calling_thread_alone(allowed):
    allowed(2)
    idents = []
    threads.run_parts(lambda first, end: idents.append(threading.get_ident()), 4, work=threads.WORK_PER_THREAD - 1)
    assert idents == [threading.get_ident()]
    idents.clear()
    threads.run_parts(lambda first, end: idents.append(threading.get_ident()), 4, work=2 * threads.WORK_PER_THREAD)
    assert len(set(idents)) == 2
