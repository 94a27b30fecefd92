"""Work split with a fork: both results come back exactly, and a failure in the copy is
neither lost nor hidden."""

import os

import numpy as np
import pytest

from glassnet import processes
from glassnet.processes import can_fork, in_two, usable_cores

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_theirs_runs_in_a_copy_and_its_floats_come_back_exactly():
    values = np.random.default_rng(0).normal(size=20_000).tolist() + [float("nan"), 1e-310]
    mine, theirs = in_two(lambda: os.getpid(), lambda: (os.getpid(), values))
    assert mine == os.getpid() and theirs[0] != os.getpid()
    # 22 000 floats are far more than a pipe holds: the copy must not block on a full pipe.
    back = np.array(theirs[1])
    np.testing.assert_array_equal(back, np.array(values))
    assert back[-1] == 1e-310


@needs_fork
def test_what_the_copy_failed_to_do_is_done_here():
    parent = os.getpid()

    def theirs():
        if os.getpid() != parent:
            raise ValueError("only in the copy")
        return "done here"

    assert in_two(lambda: 1, theirs) == (1, "done here")


@needs_fork
def test_an_error_of_theirs_is_raised_here_after_mine_ran():
    ran = []

    def theirs():
        raise ValueError("cannot")

    with pytest.raises(ValueError, match="cannot"):
        in_two(lambda: ran.append("mine"), theirs)
    assert ran == ["mine"]


def test_usable_cores_follow_the_affinity_not_the_machine(monkeypatch):
    # Under taskset or a container's CPU limit the machine has 8 cores but this process 1.
    monkeypatch.setattr(processes.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(processes.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert usable_cores() == 1
    assert not can_fork()
    monkeypatch.setattr(processes.os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    assert can_fork(beside_threads=True) == hasattr(os, "fork")  # the suite may leave threads
    monkeypatch.delattr(processes.os, "sched_getaffinity")
    assert usable_cores() == 8
    monkeypatch.setattr(processes.os, "cpu_count", lambda: None)
    assert usable_cores() == 1


def test_only_work_that_takes_no_lock_forks_beside_another_thread(monkeypatch):
    monkeypatch.setattr(processes, "usable_cores", lambda: 2)
    monkeypatch.setattr(processes.threading, "active_count", lambda: 2)
    assert not can_fork()
    assert can_fork(beside_threads=True) == hasattr(os, "fork")
    monkeypatch.setattr(processes.threading, "active_count", lambda: 1)
    assert can_fork() == hasattr(os, "fork")
