"""The examples in the docstrings run, and show what they say: every module of the installed
glassnet is searched for doctests (a new example anywhere is picked up), as
`pytest --doctest-modules src/glassnet` would run them from a checkout.

Doctests run on the glassnet that the other tests import, so a non-editable install (CI)
tests its own copy rather than the source tree beside it.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
from threadpoolctl import threadpool_limits

import glassnet

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(glassnet.__path__, "glassnet.")
    if not info.name.endswith("__main__")
)
# The core modules promise an example on each public class or function that has a short one.
WITH_EXAMPLES = [
    "glassnet.nn.losses",
    "glassnet.nn.optim",
    "glassnet.training.loop",
    "glassnet.training.history",
    "glassnet.training.schedules",
    "glassnet.data.datasets",
    "glassnet.data.preprocessing",
]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    return [test for test in doctest.DocTestFinder().find(module) if test.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    try:
        tests = examples(name)
    except ImportError as exc:  # an optional dependency (onnx, dask) is not installed
        pytest.skip(f"{name}: {exc}")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    with threadpool_limits(1):
        for test in tests:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_core_modules_carry_examples(name):
    assert examples(name), f"{name} lost its docstring examples"
