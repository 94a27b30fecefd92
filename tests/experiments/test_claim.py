"""One run folder, one run at a time: a second run into a folder that a live run holds is
refused with one line naming the holder, a claim whose holder died is taken over, and the
claim leaves no file behind."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from glassnet.errors import ConfigError
from glassnet.experiments.claim import LOCK, claim_folder


def test_a_held_folder_is_refused_naming_its_holder(tmp_path):
    with claim_folder(tmp_path / "run", "train"):
        with pytest.raises(ConfigError) as refused:
            with claim_folder(tmp_path / "run", "run"):
                pass
    message = str(refused.value)
    assert f"process {os.getpid()}" in message and "glassnet train" in message
    assert "another folder" in message and "\n" not in message
    assert not (tmp_path / "run" / LOCK).exists()  # let go: nothing left behind
    with claim_folder(tmp_path / "run", "run"):  # and free again
        pass


def test_the_claim_of_a_killed_run_is_taken_over(tmp_path):
    code = (
        "import sys, time; from glassnet.experiments.claim import claim_folder\n"
        "with claim_folder(sys.argv[1], 'train'):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"process {holder.pid}"):
            with claim_folder(tmp_path / "run", "train"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (tmp_path / "run" / LOCK).exists()  # SIGKILL: the file stays, its lock does not
    with claim_folder(tmp_path / "run", "train"):
        pass


def _hold(folder, ready, results):
    try:
        with claim_folder(folder, "train"):
            ready.wait(5)
            time.sleep(0.5)
            results.put("held")
    except ConfigError:
        results.put("refused")


def test_of_two_runs_started_together_one_holds_and_one_is_refused(tmp_path):
    context = multiprocessing.get_context("fork")
    ready, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_hold, args=(tmp_path / "run", ready, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    ready.set()
    for worker in workers:
        worker.join(10)
    assert sorted(results.get(timeout=5) for _ in workers) == ["held", "refused"]


def test_a_sweep_into_a_folder_a_run_holds_is_refused(tmp_path):
    import glassnet

    with claim_folder(tmp_path / "sweep", "sweep"):
        with pytest.raises(ConfigError, match="in use by another glassnet run"):
            glassnet.sweep(grid={"l2": [0.1, 1.0]}, out=tmp_path / "sweep", progress=False)
