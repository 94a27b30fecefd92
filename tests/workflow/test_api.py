"""The workflow API as a notebook user calls it, against the command line doing the same
walkthrough: a table (file or DataFrame), a regression, arrays, a sweep, ONNX export, save
and load, interruption and resume. The CLI is a shell over these functions, so each pair
must agree bit for bit."""

import contextlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glassnet
from glassnet import workflow
from glassnet.cli.app import main
from glassnet.errors import ConfigError, DataError
from glassnet.workflow.progress import Display

QUICK = {"epochs": 40, "lr": 0.01, "early_stopping_patience": None, "hidden_layer_sizes": [16]}
QUICK_FLAGS = ["--epochs", "40", "--lr", "0.01", "--patience", "none", "--hidden", "16"]


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    palmerpenguins = pytest.importorskip("palmerpenguins")
    shipped = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
    folder = tmp_path_factory.mktemp("penguins")
    return Path(shutil.copy(shipped, folder / "penguins.csv"))


def cli(capsys, *argv):
    jobs = [] if argv[0] == "export" else ["--jobs", "1"]
    code = main([*map(str, argv), *jobs])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured


def same_model_arrays(first, second):
    a, b = np.load(first), np.load(second)
    assert a.files == b.files
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_table_trains_as_the_command_line_trains_it(penguins, tmp_path, capsys):
    run = glassnet.train(penguins, target="species", out=tmp_path / "api", progress=False, **QUICK)
    cli(
        capsys,
        "train",
        "--data",
        penguins,
        "--target",
        "species",
        "--out",
        tmp_path / "cli",
        *QUICK_FLAGS,
    )
    same_model_arrays(tmp_path / "api" / "model.npz", tmp_path / "cli" / "model.npz")
    metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    assert run.test_accuracy == metrics["test_accuracy"] > 0.9
    assert run.history.train_loss == metrics["history"]["train_loss"]
    roles = {column["name"]: column["role"] for column in run.columns}
    assert roles["island"] == "categorical" and roles["bill_length_mm"] == "numeric"
    assert run.folder == tmp_path / "api" and (run.folder / "report.html").is_file()


def test_a_dataframe_gets_the_roles_and_the_model_of_its_file(penguins, tmp_path):
    frame = pd.read_csv(penguins)
    from_file = glassnet.train(penguins, target="species", progress=False, **QUICK)
    from_frame = glassnet.train(frame, target="species", progress=False, **QUICK)
    assert from_frame.columns == from_file.columns
    assert from_frame.test_accuracy == from_file.test_accuracy
    rows = frame.drop(columns="species").sample(20, random_state=0)
    np.testing.assert_array_equal(from_frame.model.predict(rows), from_file.model.predict(rows))
    assert list(frame.columns)[0] == "species"  # the user's frame is left as it was
    # The preprocessing is inside the model: raw rows in, labels out, columns in any order.
    shuffled = rows[list(reversed(rows.columns))]
    np.testing.assert_array_equal(
        from_frame.model.predict(shuffled), from_frame.model.predict(rows)
    )
    assert set(from_frame.model.predict(rows)) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_a_saved_run_loads_back_with_everything_it_showed(penguins, tmp_path):
    run = glassnet.train(penguins, target="species", progress=False, **QUICK)
    assert run.folder is None
    run.save(tmp_path / "saved")
    loaded = glassnet.load_run(tmp_path / "saved")
    assert loaded.scores == run.scores and loaded.columns == run.columns
    assert loaded.history == run.history and loaded.best_params == run.best_params
    rows = pd.read_csv(penguins).head(30)
    np.testing.assert_array_equal(loaded.model.predict(rows), run.model.predict(rows))
    with pytest.raises(ConfigError, match="already holds a run"):
        glassnet.train(penguins, target="species", out=tmp_path / "saved", progress=False)
    # A loaded run saves by copying its folder.
    loaded.save(tmp_path / "copy")
    assert glassnet.load_run(tmp_path / "copy").scores == run.scores


def test_a_regression_is_read_from_the_target_as_on_the_command_line(tmp_path, capsys):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    run = glassnet.train(frame, target="target", progress=False, **QUICK)
    cli(
        capsys,
        "train",
        "--data",
        path,
        "--target",
        "target",
        "--out",
        tmp_path / "cli",
        *QUICK_FLAGS,
    )
    metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    assert run.task == "regression" and run.test_accuracy is None
    assert run.test_r2 == metrics["test_r2"] and run.scores["test_rmse"] == metrics["test_rmse"]
    assert 0.2 < run.test_r2 < 0.7


def test_arrays_train_a_classifier_or_a_regression():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    run = glassnet.train(x, target=y, progress=False, epochs=60, hidden_layer_sizes=[32])
    assert run.task == "classification" and run.test_accuracy > 0.85
    assert np.mean(run.model.predict(x[:200]) == y[:200]) > 0.85  # labels, as given
    rng = np.random.default_rng(0)
    values = x[:, 20] * 0.5 + rng.normal(0, 0.1, len(x))
    regression = glassnet.train(x, target=values, progress=False, epochs=60)
    assert regression.task == "regression" and regression.test_r2 > 0.9
    images = x.reshape(-1, 8, 8)
    as_images = glassnet.train(images, target=values, task="regression", progress=False, epochs=60)
    assert as_images.model.info["image_shape"] == [8, 8]
    with pytest.raises(DataError, match="one label per row"):
        glassnet.train(x, target=y[:10], progress=False)


def test_job_shows_the_columns_before_anything_trains(penguins):
    job = workflow.prepare(penguins, "species", progress=False, **QUICK)
    assert job.task == "classification"
    assert [c["name"] for c in job.columns if not c["used"]] == []
    assert "sex" in [c["name"] for c in job.columns]
    with pytest.raises(DataError, match="did you mean 'species'"):
        workflow.prepare(penguins, "Species", progress=False)


def test_a_sweep_in_python_records_what_the_command_line_records(penguins, tmp_path, capsys):
    grid = {"l2": [0.001, 1.0]}
    result = glassnet.sweep(
        data=penguins,
        target="species",
        grid=grid,
        seeds=[0, 1],
        n_jobs=1,
        progress=False,
        out=tmp_path / "api",
        **QUICK,
    )
    cli(
        capsys,
        "sweep",
        "--data",
        penguins,
        "--target",
        "species",
        "--grid",
        "l2=0.001,1.0",
        "--seeds",
        "0,1",
        "--out",
        tmp_path / "cli",
        *(
            f"--set={key}={json.dumps(value) if value is not None else 'none'}"
            for key, value in QUICK.items()
            if value is not None
        ),
        "--set",
        'early_stopping_patience="none"',
    )
    recorded = [
        json.loads(line) for line in (tmp_path / "cli" / "trials.jsonl").read_text().splitlines()
    ]
    assert len(result.records) == 4
    assert [r["validation_accuracy"] for r in result.records] == [
        r["validation_accuracy"] for r in recorded
    ]


def test_the_onnx_walkthrough_in_python(penguins, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    run = glassnet.train(penguins, target="species", out=tmp_path / "run", progress=False, **QUICK)
    written = workflow.export(run.folder / "model.npz", tmp_path / "api.onnx", check=str(penguins))
    assert written["check"]["rows"] == 344 and written["check"]["max_difference"] < 1e-6
    cli(capsys, "export", run.folder / "model.npz", "--out", tmp_path / "cli.onnx")
    assert (tmp_path / "api.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()


def test_an_interrupted_run_resumes_from_python(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = frame["a"] * 2 - frame["b"] + rng.normal(0, 0.1, 300)
    # One network (a small regression table would average 3): on_epoch follows a single one.
    settings = dict(
        epochs=30, early_stopping_patience=None, lr=0.01, hidden_layer_sizes=[8], ensemble=1
    )

    @contextlib.contextmanager
    def interrupting(*args, **kwargs):
        def on_epoch(epoch, epochs, history):
            if epoch == 10:
                raise KeyboardInterrupt

        yield {"on_trial": None, "on_epoch": on_epoch, "on_member": None}

    with monkeypatch.context() as patched:
        patched.setattr(Display, "training", interrupting)
        with pytest.raises(workflow.RunInterrupted) as stopped:
            glassnet.train(frame, target="y", out=tmp_path / "run", progress=False, **settings)
    assert "glassnet.resume(" in str(stopped.value) and stopped.value.folder == tmp_path / "run"
    with pytest.raises(ConfigError, match="give them again"):
        glassnet.resume(tmp_path / "run", progress=False)
    other = frame.assign(a=frame["a"] + 1.0)
    with pytest.raises(ConfigError, match="the data given differ"):
        glassnet.resume(tmp_path / "run", data=other, progress=False)
    resumed = glassnet.resume(tmp_path / "run", data=frame, progress=False)
    whole = glassnet.train(frame, target="y", progress=False, **settings)
    assert resumed.test_r2 == whole.test_r2
    np.testing.assert_array_equal(resumed.model.predict(frame), whole.model.predict(frame))


def test_a_run_and_its_model_show_themselves_in_a_notebook(penguins, tmp_path):
    run = glassnet.train(penguins, target="species", progress=False, **QUICK)
    page = run._repr_html_()
    assert f"{run.test_accuracy:.4f}" in page and "bill_length_mm" in page
    assert "data:image/png;base64," in page  # the loss curves
    assert "categorical" in run.model._repr_html_()
    report = run.report(tmp_path / "shown")
    assert Path(report).name == "report.html" and "<iframe srcdoc=" in report._repr_html_()
    assert repr(run).startswith("Run(classification, validation_accuracy=")


def test_bad_input_in_python_is_a_glassnet_error(penguins):
    with pytest.raises(DataError, match="cannot train on a dict"):
        glassnet.train({"a": 1}, progress=False)
    with pytest.raises(ConfigError, match="seed"):
        glassnet.train(penguins, target="species", seed=-1, progress=False)
    with pytest.raises(ConfigError, match="epochs"):
        glassnet.train(penguins, target="species", epochs=-5, progress=False)


def test_ctrl_c_then_resume_gives_the_uninterrupted_model_with_early_stopping(
    tmp_path, monkeypatch
):
    """A table's recipe stops early (its stopper keeps a best epoch and best weights): the
    state saved at Ctrl-C carries them, so the resumed training goes on from the epoch it
    stopped at and ends exactly where an uninterrupted one does."""
    import os
    import signal

    from glassnet.experiments.experiment import STATE_FILE
    from glassnet.training.resume import load_state

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["y"] = np.where(frame["a"] + rng.normal(0, 0.8, 400) > 0, "up", "down")
    settings = dict(epochs=200, early_stopping_patience=25, hidden_layer_sizes=[16], seed=2)
    whole = glassnet.train(frame, target="y", progress=False, **settings)
    assert whole.history.best_epoch is not None and 40 < len(whole.history.train_loss) < 200

    # Ctrl-C after the best epoch: a stopper that forgot it would keep a later, worse one.
    stop_at = whole.history.best_epoch + 10

    @contextlib.contextmanager
    def ctrl_c_after_the_best_epoch(*args, **kwargs):
        def on_epoch(epoch, epochs, history):
            if epoch == stop_at:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the epoch finishes, then a save

        yield {"on_trial": None, "on_epoch": on_epoch, "on_member": None}

    with monkeypatch.context() as patched:
        patched.setattr(Display, "training", ctrl_c_after_the_best_epoch)
        with pytest.raises(workflow.RunInterrupted):
            glassnet.train(frame, target="y", out=tmp_path / "run", progress=False, **settings)
    saved = load_state(tmp_path / "run" / STATE_FILE)
    assert saved.epoch == stop_at and saved.callbacks[0]["best_epoch"] == whole.history.best_epoch
    started = []
    with monkeypatch.context() as patched:

        @contextlib.contextmanager
        def watching(*args, **kwargs):
            yield {
                "on_trial": None,
                "on_epoch": lambda e, n, h: started.append(e),
                "on_member": None,
            }

        patched.setattr(Display, "training", watching)
        resumed = glassnet.resume(tmp_path / "run", data=frame, progress=False)
    assert started[0] == stop_at + 1  # went on from the saved epoch, not from the first
    assert resumed.history == whole.history
    np.testing.assert_array_equal(
        resumed.model.predict_proba(frame), whole.model.predict_proba(frame)
    )


def test_a_users_own_split_validates_and_tests_on_its_own_tables(penguins, tmp_path, capsys):
    frame = pd.read_csv(penguins)
    early, late = frame[frame.year < 2009], frame[frame.year == 2009]
    early.to_csv(tmp_path / "early.csv", index=False)
    late.iloc[:60].to_csv(tmp_path / "valid.csv", index=False)
    test = late.iloc[60:].copy()
    test.loc[test.index[:2], "species"] = None  # rows without a label are left out
    test.to_csv(tmp_path / "test.csv", index=False)
    cli(
        capsys,
        "train",
        "--data",
        tmp_path / "early.csv",
        "--target",
        "species",
        "--validation-data",
        tmp_path / "valid.csv",
        "--test-data",
        tmp_path / "test.csv",
        "--out",
        tmp_path / "run",
        *QUICK_FLAGS,
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["split_sizes"] == {"train": len(early), "validation": 60, "test": len(test) - 2}
    assert metrics["data"]["test_data"] == str(tmp_path / "test.csv")
    rows = np.load(tmp_path / "run" / "predictions.npz")["test_rows"]
    np.testing.assert_array_equal(rows, np.arange(2, len(test)))  # positions in test.csv
    # The same in Python, with the test rows as a DataFrame; a test table alone takes the
    # validation rows out of the data, at its fraction.
    run = glassnet.train(early, target="species", test_data=test, progress=False, **QUICK)
    assert run.split_sizes["test"] == len(test) - 2
    assert run.split_sizes["train"] + run.split_sizes["validation"] == len(early)
    with pytest.raises(ConfigError, match="take tables"):
        glassnet.train("digits", test_data=test, progress=False)


def test_a_class_the_own_splits_holdout_leaves_out_of_training_trains_with_a_warning():
    """With only test rows given, validation rows are held out of the data; a one-row class
    drawn into them would never be learned: it stays a training row, as random_split keeps
    it, and the run says so."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    frame = pd.DataFrame(x, columns=["a", "b"]).assign(kind=np.where(x[:, 0] > 0, "up", "down"))
    frame.loc[17, "kind"] = "odd"  # the only row of its class
    test = frame.iloc[:10].assign(kind=lambda f: np.where(f.a > 0, "up", "down"))
    held_out_at_some_seed = False
    for seed in range(8):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = glassnet.train(frame, target="kind", test_data=test, seed=seed,
                                 progress=False, **{**QUICK, "epochs": 2})  # fmt: skip
        assert run.split_sizes["train"] + run.split_sizes["validation"] == 60
        held_out_at_some_seed |= any("odd (1 row)" in str(w.message) for w in caught)
        assert "odd" in run.model.classes.tolist()
    assert held_out_at_some_seed  # the cut did draw it into the validation rows


def test_a_sweep_scores_its_trainings_on_the_users_own_validation_rows(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ [1.0, -2.0, 0.5])
    frame.iloc[:200].to_csv(tmp_path / "train.csv", index=False)
    # Validation rows far off the training ones: only they can make the loss this large.
    shifted = frame.iloc[200:].assign(y=lambda f: f.y + 100)
    shifted.to_csv(tmp_path / "valid.csv", index=False)
    data = ["--data", tmp_path / "train.csv", "--target", "y", "--grid", "l2=0.001,0.1"]
    settings = ["--set", "epochs=20", "--set", 'early_stopping_patience="none"']
    cli(capsys, "sweep", *data, *settings, "--out", tmp_path / "held")
    cli(capsys, "sweep", *data, *settings, "--validation-data", tmp_path / "valid.csv",
        "--out", tmp_path / "own")  # fmt: skip

    def losses(folder):
        lines = (tmp_path / folder / "trials.jsonl").read_text().splitlines()
        return [json.loads(line)["validation_loss"] for line in lines]

    assert max(losses("held")) < 1 < 100 < min(losses("own"))
    result = glassnet.sweep(
        data=tmp_path / "train.csv",
        target="y",
        grid={"l2": [0.001, 0.1]},
        validation_data=shifted,
        epochs=20,
        early_stopping_patience=None,
        n_jobs=1,
        progress=False,
    )
    assert [record["validation_loss"] for record in result.records] == losses("own")
    with pytest.raises(ConfigError, match="validation_data takes a table file or a DataFrame"):
        glassnet.sweep(data="digits", validation_data=x, grid={"l2": [0.1]}, progress=False)


def test_task_regression_works_on_images_from_an_npz_and_a_pixel_csv(tmp_path, capsys):
    from sklearn.datasets import load_digits

    x, _ = load_digits(return_X_y=True)
    ink = x[:, 20] * 0.5  # a number per image: the brightness of one pixel
    np.savez(tmp_path / "digits.npz", x=x.reshape(-1, 8, 8), y=ink)
    frame = pd.DataFrame(x, columns=[f"p{i}" for i in range(64)]).assign(ink=ink)
    frame.to_csv(tmp_path / "pixels.csv", index=False)
    for argv in (
        ["--data", tmp_path / "digits.npz"],
        ["--data", tmp_path / "pixels.csv", "--target", "ink", "--image-shape", "8x8"],
    ):
        out = tmp_path / f"run-{len(argv)}"
        cli(capsys, "train", *argv, "--task", "regression", "--epochs", "50", "--out", out)
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["task"] == "regression" and metrics["test_r2"] > 0.8
        assert metrics["data"]["image_shape"] == [8, 8]


def test_a_network_too_large_for_the_machine_is_refused_before_a_folder_is_claimed(
    penguins, tmp_path, capsys
):
    out = tmp_path / "run"
    argv = ["train", "--data", str(penguins), "--target", "species", "--hidden", "100000000"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "this training needs about" in error and "GiB" in error and error.count("\n") == 1
    assert not out.exists()


def test_a_frame_with_numbers_for_column_names_trains_and_predicts(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(150, 3)))  # columns 0, 1, 2
    frame[3] = np.where(frame[0] > 0, "yes", "no")
    before = frame.copy()
    run = glassnet.train(frame, target=3, progress=False, epochs=60, lr=0.01)
    assert [column["name"] for column in run.columns] == ["0", "1", "2"]
    predicted = run.model.predict(frame.drop(columns=3))
    assert np.mean(predicted == frame[3].to_numpy()) > 0.8
    assert frame.equals(before)  # the user's frame is left as it was
    with pytest.raises(ConfigError, match="test_data takes a table"):
        glassnet.train(frame, target=3, test_data=np.zeros((3, 3)), progress=False)
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        glassnet.train(frame, target=3, out=file, progress=False, epochs=2)


def test_a_copied_run_names_its_own_files_and_exports_check_frames(penguins, tmp_path):
    run = glassnet.train(penguins, target="species", out=tmp_path / "a", progress=False, **QUICK)
    loaded = glassnet.load_run(tmp_path / "a")
    loaded.save(tmp_path / "b")
    outputs = json.loads((tmp_path / "b" / "metrics.json").read_text())["outputs"]
    assert outputs and all(Path(path).parent == tmp_path / "b" for path in outputs.values())
    assert glassnet.load_run(tmp_path / "b").metrics["outputs"] == outputs
    pytest.importorskip("onnxruntime")
    frame = pd.read_csv(penguins)
    written = workflow.export(run.folder / "model.npz", tmp_path / "p.onnx", check=frame)
    assert written["check"]["rows"] == len(frame) and written["check"]["data"] == "DataFrame"
    with pytest.raises(DataError, match="lacks the column"):
        workflow.export(run.folder / "model.npz", tmp_path / "q.onnx", check=frame[["year"]])


def test_a_run_that_fails_while_writing_its_outputs_is_finished_by_resume(
    penguins, tmp_path, capsys, monkeypatch
):
    """A full disk while the report is written: one line naming the file, and a folder that
    --resume finishes (metrics.json, which marks a finished run, is written last)."""
    import errno

    from glassnet.report import html

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run/report.html"))

    out = tmp_path / "run"
    argv = ["train", "--data", str(penguins), "--target", "species", "--out", str(out)]
    with monkeypatch.context() as patched:
        patched.setattr(html, "render", full_disk)
        assert main([*argv, *QUICK_FLAGS, "--jobs", "1", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "No space left on device" in error and "report.html" in error
    assert error.count("\n") == 1 and not (out / "metrics.json").exists()
    cli(capsys, "train", "--resume", out, "--quiet")
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] > 0.9
    assert (out / "report.html").is_file()


def test_a_saved_run_keeps_weights_and_preprocessing_not_rows(penguins, tmp_path):
    """The keep-nothing rule for run objects: once a run is written, pickling it carries no
    test row (an unsaved run keeps them until saved: it must write its predictions)."""
    import pickle

    job = workflow.prepare(penguins, "species", progress=False, **QUICK)
    test_row = job.inputs.splits.test.x[3].tobytes()
    in_memory = job.run()
    assert test_row in pickle.dumps(in_memory)  # the check can see a row when one is kept
    in_memory.save(tmp_path / "saved")
    assert test_row not in pickle.dumps(in_memory)
    job = workflow.prepare(penguins, "species", progress=False, **QUICK)
    written = job.run(tmp_path / "written")
    assert job.inputs.splits.test.x[3].tobytes() not in pickle.dumps(written)
    assert written.result is None and written.test_accuracy == in_memory.test_accuracy
