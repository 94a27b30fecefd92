"""One line saying what the benchmarks ran on: cores, NumPy, the BLAS in use, scikit-learn."""

from __future__ import annotations

import os
import platform

import numpy as np
import sklearn
from threadpoolctl import threadpool_info


def machine_info() -> str:
    blas = [
        f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
        f"{i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"numpy {np.__version__}; BLAS: {', '.join(blas)}; scikit-learn {sklearn.__version__}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"
    )
