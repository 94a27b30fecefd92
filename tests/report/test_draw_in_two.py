"""Figures drawn by two processes: the same files as drawn by one, and a failure in the forked
copy is neither lost nor hidden."""

import os
from pathlib import Path

import pytest

from glassnet import processes
from glassnet.report import run_folder
from glassnet.report.run_folder import FigureJob, draw_in_two

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def writer(fail_in_copy=False, fail=False):
    """A draw(path) that writes the id of the process that drew it."""
    parent = os.getpid()

    def draw(path: Path) -> Path:
        if fail or (fail_in_copy and os.getpid() != parent):
            raise ValueError(f"cannot draw {path.name}")
        path.write_text(str(os.getpid()))
        return path

    return draw


def test_every_second_figure_is_drawn_by_the_copy(tmp_path):
    jobs = [FigureJob(f"f{i}", tmp_path / f"f{i}.txt", writer()) for i in range(5)]
    draw_in_two(jobs)
    drawn_by = [int(job.path.read_text()) for job in jobs]
    assert drawn_by[0::2] == [os.getpid()] * 3
    assert len(set(drawn_by[1::2])) == 1 and drawn_by[1] != os.getpid()


def test_figures_the_copy_failed_to_draw_are_drawn_here(tmp_path):
    jobs = [FigureJob(f"f{i}", tmp_path / f"f{i}.txt", writer(fail_in_copy=True)) for i in range(4)]
    draw_in_two(jobs)
    assert [int(job.path.read_text()) for job in jobs] == [os.getpid()] * 4


def test_a_figure_that_cannot_be_drawn_raises_here(tmp_path):
    jobs = [FigureJob("good", tmp_path / "good.txt", writer())]
    jobs.append(FigureJob("bad", tmp_path / "bad.txt", writer(fail=True)))
    with pytest.raises(ValueError, match="cannot draw bad.txt"):
        draw_in_two(jobs)
    assert (tmp_path / "good.txt").exists()


def test_run_figures_are_the_same_drawn_in_two_processes_or_one(tmp_path, monkeypatch):
    epochs = 5
    history = {
        "train_loss": [1.0 / (e + 1) for e in range(epochs)],
        "validation_loss": [1.2 / (e + 1) for e in range(epochs)],
        "validation_accuracy": [0.5 + 0.1 * e for e in range(epochs)],
    }
    metrics = {
        "sweep": [{"l2": l2, "validation_accuracy": 0.9 - l2 / 10} for l2 in (0.1, 1.0, 3.0)],
        "best_params": {"l2": 0.1},
        "config": {"name": "tiny", "sweep": {"l2": [0.1, 1.0, 3.0]}, "train": {}},
        "history": history,
        "test_accuracy": 0.8,
    }
    two, one = tmp_path / "two", tmp_path / "one"
    monkeypatch.setattr(run_folder, "can_draw_in_two", lambda n_figures: True)
    drawn_in_two = run_folder.draw_figures(metrics, None, two)
    monkeypatch.setattr(run_folder, "can_draw_in_two", lambda n_figures: False)
    drawn_in_one = run_folder.draw_figures(metrics, None, one)
    assert list(drawn_in_two) == list(drawn_in_one) == ["sweep_plot", "loss_plot", "accuracy_plot"]
    for name, path in drawn_in_two.items():
        assert Path(path).read_bytes() == Path(drawn_in_one[name]).read_bytes(), name


def test_no_fork_for_one_figure_one_core_or_beside_another_thread(monkeypatch):
    # Pin the thread and core counts: the suite may leave threads behind or run on one core,
    # and then a bare False would prove nothing.
    threads, cores = {"n": 1}, {"n": 4}
    monkeypatch.setattr(processes.threading, "active_count", lambda: threads["n"])
    monkeypatch.setattr(processes, "usable_cores", lambda: cores["n"])
    assert run_folder.can_draw_in_two(3)
    assert not run_folder.can_draw_in_two(1)
    threads["n"] = 2
    assert not run_folder.can_draw_in_two(3)
    threads["n"] = 1
    cores["n"] = 1
    assert not run_folder.can_draw_in_two(3)
