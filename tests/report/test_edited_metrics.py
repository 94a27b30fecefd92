"""Issue 23: ``glassnet report`` on a hand-edited metrics.json ends with a report or one line
naming the field, never a traceback."""

import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet.cli import main


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edited")
    rng = np.random.default_rng(0)
    rows = "".join(
        f"{a:.3f},{b:.3f},{'yes' if a > 0 else 'no'}\n" for a, b in rng.normal(size=(60, 2))
    )
    (folder / "t.csv").write_text("a,b,label\n" + rows)
    args = ["train", "--data", str(folder / "t.csv"), "--target", "label", "--epochs", "3"]
    assert main([*args, "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


def report_on(run_folder, tmp_path, edit, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(run_folder, folder, dirs_exist_ok=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics = edit(metrics)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    code = main(["report", str(folder), "--quiet"])
    err = capsys.readouterr().err
    return code, err


EDITS = {
    "accuracy as text": (lambda m: {**m, "test_accuracy": "high"}, "'test_accuracy'"),
    "history lists as text": (lambda m: {**m, "history": {"train_loss": "low"}}, "'history'"),
    "unknown history key": (lambda m: {**m, "history": {"loss": [1.0]}}, "'history'"),
    "split sizes as a list": (lambda m: {**m, "split_sizes": [1, 2]}, "'split_sizes'"),
    "config as a list": (lambda m: {**m, "config": []}, "'config'"),
    "sweep of numbers": (lambda m: {**m, "sweep": [1, 2]}, "'sweep'"),
    "seconds as text": (lambda m: {**m, "seconds": "3 s"}, "'seconds'"),
    "best params as text": (lambda m: {**m, "best_params": "l2=1"}, "'best_params'"),
    "data as text": (lambda m: {**m, "data": "t.csv"}, "'data'"),
    "not an object": (lambda m: [m], "JSON object"),
    "image shape as text": (lambda m: {**m, "data": {"image_shape": "8x8"}}, "'data'"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_hand_edited_field_is_named_in_one_line(case, run_folder, tmp_path, capsys):
    edit, words = EDITS[case]
    code, err = report_on(run_folder, tmp_path, edit, capsys)
    assert code == 2 and err.count("\n") == 1 and words in err, err
    assert "metrics.json" in err


def test_edits_of_the_right_type_still_give_a_report(run_folder, tmp_path, capsys):
    code, err = report_on(
        run_folder,
        tmp_path,
        lambda m: {**m, "test_accuracy": None, "seed": "x", "best_params": None, "sweep": []},
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "copy" / "report.html").is_file()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(
        [
            "test_accuracy",
            "history",
            "config",
            "sweep",
            "data",
            "split_sizes",
            "best_params",
            "seconds",
            "task",
            "refit",
        ]
    ),
    value=JSON,
)
def test_any_value_in_any_field_gives_a_report_or_one_line(
    key, value, run_folder, tmp_path, capsys
):
    code, err = report_on(run_folder, tmp_path, lambda m: {**m, key: value}, capsys)
    assert code == 0 or (code == 2 and err.count("\n") == 1), err


PREDICTION_EDITS = {
    "labels outside the classes": (lambda d: {**d, "y_true": d["y_true"] + 7}, "outside 0..1"),
    "one probability column": (lambda d: {**d, "proba": d["proba"][:, :1]}, "proba must be"),
    "one class": (lambda d: {**d, "classes": d["classes"][:1]}, "outside 0..0"),
    "fewer labels": (lambda d: {**d, "y_true": d["y_true"][:3]}, "proba must be (rows"),
    "NaN probabilities": (lambda d: {**d, "proba": d["proba"] * np.nan}, "NaN or infinite"),
    "labels as text": (lambda d: {**d, "y_true": d["y_true"].astype(str)}, "class indices"),
    "2-D classes": (lambda d: {**d, "classes": d["classes"][:, None]}, "1-D array of class"),
}


@pytest.mark.parametrize("case", sorted(PREDICTION_EDITS))
def test_a_hand_edited_predictions_file_is_named_in_one_line(case, run_folder, tmp_path, capsys):
    """Found while fuzzing by hand: an edited predictions.npz was a ValueError traceback."""
    edit, words = PREDICTION_EDITS[case]
    folder = tmp_path / "copy"
    shutil.copytree(run_folder, folder, dirs_exist_ok=True)
    with np.load(folder / "predictions.npz") as loaded:
        arrays = edit(dict(loaded))
    np.savez(folder / "predictions.npz", **arrays)
    capsys.readouterr()
    assert main(["report", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "predictions.npz" in err and words in err, err


@pytest.mark.parametrize("name", ["metrics.json", "run.json", "predictions.npz"])
def test_a_fifo_in_a_run_folder_never_blocks_the_report(name, run_folder, tmp_path, capsys):
    import os
    import threading

    folder = tmp_path / "copy"
    shutil.copytree(run_folder, folder, dirs_exist_ok=True)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    codes = []
    worker = threading.Thread(
        target=lambda: codes.append(main(["report", str(folder), "--quiet"])), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    assert codes, "the report blocked on a FIFO"
    err = capsys.readouterr().err
    if name == "run.json":  # optional: the report does without it
        assert codes == [0], err
    else:
        assert codes == [2] and "not a regular file" in err, err


def test_the_columns_section_marks_the_dropped_row_past_a_record_it_skips():
    from glassnet.report.html import _columns

    records = [
        {"name": "a", "role": "numeric", "missing": 0.0, "distinct": 3},
        "not a record",  # an edited metrics.json: skipped, and must not shift the marks
        {"name": "id", "role": "dropped", "missing": 0.0, "distinct": 9, "note": "id-like"},
    ]
    html = _columns({"columns": records})
    assert "<tr class=dropped><td>id</td>" in html
    assert html.count("class=dropped") == 1
