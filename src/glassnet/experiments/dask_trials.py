"""Run sweep trials on Dask workers: ``client.submit`` per trial, ``as_completed`` to collect.

Dask does the scheduling, the retries and the rescheduling of work lost with a dead
worker; this module only hands it trials. A trial carries its own generator, so its
result is the same on a worker as in a local process. Dask is optional:
``pip install glassnet[dask]``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from glassnet.errors import ConfigError
from glassnet.experiments.trials import Trial, TrialResult, run_trial

INSTALL_HINT = "Dask is not installed; install it with: pip install glassnet[dask]"


def require_distributed() -> Any:
    """The ``dask.distributed`` module, or a ConfigError that says how to install it."""
    try:
        import dask.distributed
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return dask.distributed


@contextmanager
def dask_client(
    scheduler: str | None = None, *, local_workers: int | None = None, timeout: float = 30.0
) -> Iterator[Any]:
    """A ``dask.distributed.Client``: connected to ``scheduler`` (``tcp://host:port``), or
    to a LocalCluster of ``local_workers`` single-threaded worker processes on 127.0.0.1."""
    distributed = require_distributed()
    cluster = None
    try:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {scheduler} ({exc}); "
                    "is `dask scheduler` running there?"
                ) from None
        else:
            # One thread per worker: trials parallelize across processes, BLAS stays at one
            # thread, and loopback-only keeps the cluster off the network.
            cluster = distributed.LocalCluster(
                n_workers=local_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def run_trials_on_dask(
    client: Any,
    trials: list[Trial],
    train_data: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    *,
    n_outputs: int,
    on_result: Callable[[TrialResult], None] | None = None,
    retries: int = 2,
    timeout: float | None = None,
    inputs: dict[str, Any] | None = None,
) -> list[TrialResult]:
    """Every trial as one Dask task; ``on_result`` sees each result once, as it finishes.

    The data go to every worker once (``scatter``); ``retries`` re-runs a trial whose task
    raised, and Dask itself re-runs trials lost with a worker. Results in trial order.
    ``inputs`` go to ``run_trial`` as keywords: ``image_shape`` and ``scaler`` for
    augmentation, ``score_every_epoch``. The workers must run this glassnet version.
    """
    distributed = require_distributed()
    train_future, valid_future = client.scatter([train_data, validation], broadcast=True)
    # A fresh token per sweep keeps task keys unique, so nothing is served from an old sweep.
    token = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            run_trial,
            trial,
            train_future,
            valid_future,
            n_outputs,
            **(inputs or {}),
            key=f"glassnet-trial-{trial.index}-{token}",
            pure=False,
            retries=retries,
        )
        for trial in trials
    ]
    results: dict[int, TrialResult] = {}
    try:
        for future in distributed.as_completed(futures, timeout=timeout):
            result = future.result()
            if result.index in results:  # never record a trial twice, whatever happens
                continue
            results[result.index] = result
            if on_result is not None:
                on_result(result)
    finally:
        client.cancel(futures)
    return [results[index] for index in sorted(results)]
