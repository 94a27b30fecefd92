"""Reading a run folder back: damaged or incomplete files are DataErrors, not tracebacks."""

import json

import numpy as np
import pytest

from glassnet import DataError
from glassnet.cli.app import main
from glassnet.report.run_folder import PREDICTIONS, evaluation_of, read_metrics, read_predictions


def test_corrupt_predictions_file_is_a_data_error(tmp_path):
    (tmp_path / PREDICTIONS).write_bytes(b"PK\x03\x04 not really a zip archive")
    with pytest.raises(DataError, match="predictions.npz is not a readable .npz file"):
        read_predictions(tmp_path)


def test_predictions_without_an_array_are_a_data_error(tmp_path):
    np.savez(tmp_path / PREDICTIONS, classes=np.arange(2), y_true=np.array([0, 1]))
    predictions = read_predictions(tmp_path)
    with pytest.raises(DataError, match=r"lacks the array\(s\) \['proba'\]"):
        evaluation_of(predictions)


def test_no_metrics_or_bad_json_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not a run folder"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        read_metrics(tmp_path)


def test_report_on_a_damaged_folder_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "metrics.json").write_text(json.dumps({"config": {"name": "x"}}))
    (tmp_path / PREDICTIONS).write_bytes(b"garbage")
    assert main(["report", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("glassnet: error:") and "predictions.npz" in err and "\n" not in err
