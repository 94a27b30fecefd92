"""The workflow API: ``train`` (a table, a DataFrame, arrays, images) -> a ``Run`` you can
look at, save, report and load back; the command line is a shell over these functions."""

from glassnet.workflow.api import (
    Job,
    RunInterrupted,
    prepare,
    presets,
    resume,
    run_preset,
    sweep,
    train,
)
from glassnet.workflow.apply import (
    evaluate,
    export,
    load_model,
    load_model_with_digest,
    predict,
    read_rows,
)
from glassnet.workflow.run import Report, Run, load_run, rewrite_report

__all__ = [
    "Job",
    "Report",
    "Run",
    "RunInterrupted",
    "evaluate",
    "export",
    "load_model",
    "load_model_with_digest",
    "load_run",
    "predict",
    "prepare",
    "presets",
    "read_rows",
    "resume",
    "rewrite_report",
    "run_preset",
    "sweep",
    "train",
]
