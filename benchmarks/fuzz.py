"""The fuzz tests (tests/fuzz/test_fuzz.py) run long: many more examples per test, under a
memory limit, each example allowed HANG seconds before it counts as a hang.

    python benchmarks/fuzz.py                      # 500 examples per test, 4 GiB
    python benchmarks/fuzz.py --examples 5000 --memory-gib 2 -k model

Every example must end in success or a glassnet error (exit 2 with one line); a traceback,
a hang or a MemoryError fails the run, and hypothesis prints the smallest input that does
it. The suite runs the same tests with a few dozen examples each.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import pytest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per test")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="address-space limit")
    parser.add_argument("--hang", type=int, default=60, help="seconds before an example hangs")
    parser.add_argument("-k", default=None, help="only the tests matching this expression")
    args = parser.parse_args()
    os.environ["GLASSNET_FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["GLASSNET_FUZZ_HANG_SECONDS"] = str(args.hang)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    limit = int(args.memory_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    tests = Path(__file__).resolve().parent.parent / "tests" / "fuzz"
    options = [str(tests), "-q", "-p", "no:cacheprovider", "-x"]
    if args.k:
        options += ["-k", args.k]
    started = time.perf_counter()
    code = pytest.main(options)
    print(
        f"{args.examples} examples per test, {args.memory_gib:g} GiB, "
        f"{time.perf_counter() - started:.0f} s: {'passed' if code == 0 else 'FAILED'}"
    )
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
