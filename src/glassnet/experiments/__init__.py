"""Experiments: presets, one run end to end, and sweeps on local processes or Dask."""
