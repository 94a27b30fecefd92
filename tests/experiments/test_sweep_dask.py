"""Sweeps on a real dask.distributed LocalCluster (worker processes on 127.0.0.1 only)."""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from glassnet.experiments.plan import plan_from_dict  # noqa: E402
from glassnet.experiments.sweep import run_sweep  # noqa: E402

TIMEOUT = 120  # seconds; a hung cluster fails the test instead of hanging the suite


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, timeout=TIMEOUT) as client,
    ):
        yield client


def small_plan(epochs: int, seeds: list[int]):
    return plan_from_dict(
        {
            "train": {"epochs": epochs, "hidden_layer_sizes": [16]},
            "sweep": {"l2": [0.01, 0.1, 1.0, 10.0, 100.0]},
            "seeds": seeds,
        }
    )


def test_dask_sweep_gives_the_same_records_as_local(client, tmp_path):
    plan = small_plan(epochs=20, seeds=[0, 1, 2, 3])  # 20 trials
    local = run_sweep(plan, out=tmp_path / "local", n_jobs=2)
    on_dask = run_sweep(plan, out=tmp_path / "dask", client=client, timeout=TIMEOUT)
    assert len(local.records) == 20
    assert on_dask.records == local.records  # exactly equal floats, not approximately
    assert on_dask.summary == local.summary
    written = [json.loads(line) for line in (tmp_path / "dask" / "trials.jsonl").open()]
    assert sorted(written, key=lambda r: r["trial"]) == local.records


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killing_a_worker_mid_sweep_still_records_every_trial_once(client, tmp_path):
    plan = small_plan(epochs=200, seeds=[0, 1])  # 10 trials, each well under a second
    killed = []

    def kill_a_worker(record):
        if not killed:  # the first trial is done: kill a worker that is running another
            busy = sorted(address for address, keys in client.processing().items() if keys)
            assert busy, "no trial is running: the sweep would not lose one"
            pids = client.run(os.getpid, workers=busy[:1])
            address, pid = next(iter(pids.items()))
            os.kill(pid, signal.SIGKILL)
            killed.append(address)

    result = run_sweep(plan, out=tmp_path, client=client, on_record=kill_a_worker, timeout=TIMEOUT)
    assert killed
    written = [json.loads(line)["trial"] for line in (tmp_path / "trials.jsonl").open()]
    assert sorted(written) == list(range(10))  # every trial, exactly once
    assert [r["trial"] for r in result.records] == list(range(10))
    # A trial re-run after the kill gives the record it would have given anywhere.
    from glassnet.experiments.plan import load_arrays
    from glassnet.experiments.trials import run_trial

    train, valid, n_outputs = load_arrays(plan.preset)
    last = plan.trials()[-1]
    expected = run_trial(last, train, valid, n_outputs).record()
    assert result.records[-1] == expected


def test_estimator_grid_search_on_joblib_dask_backend(client):
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from glassnet.sklearn import GlassNetClassifier

    x, y = load_digits(return_X_y=True)
    x = x[:300] / 16
    y = y[:300]
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [0.01, 0.02]}
    search = GridSearchCV(
        GlassNetClassifier((16,), max_iter=15, random_state=0), grid, cv=2, n_jobs=-1
    )
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        search.fit(x, y)
    assert len(tasks.data) >= 8  # the 4 x 2 fits ran as tasks on the Dask workers
    local = GridSearchCV(
        GlassNetClassifier((16,), max_iter=15, random_state=0), grid, cv=2, n_jobs=1
    ).fit(x, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


def test_cli_sweep_on_a_scheduler_address(client, tmp_path):
    from glassnet.cli.app import main

    args = ["sweep", "--set", "epochs=5", "--grid", "l2=0.1,1", "--seeds", "0,1", "--quiet"]
    assert main([*args, "--scheduler", client.scheduler.address, "--out", str(tmp_path / "d")]) == 0
    assert main([*args, "--jobs", "1", "--out", str(tmp_path / "l")]) == 0
    lines = {
        name: sorted((tmp_path / name / "trials.jsonl").read_text().splitlines())
        for name in ("d", "l")
    }
    assert len(lines["d"]) == 4 and lines["d"] == lines["l"]
