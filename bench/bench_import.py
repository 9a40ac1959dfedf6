"""Benchmark: start-up time of ``import lpm`` and of the command line against numpy's.

    python bench/bench_import.py [--rounds 15]

Each round starts fresh interpreters, in turn, for ``import numpy``, ``import lpm``,
``lpm --help`` (``python -m lpm --help``) and ``import scipy.optimize`` (what
``import lpm`` used to pull in); the table gives the medians of the wall times and the
ratio to numpy's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    "python -c 'import lpm'": [sys.executable, "-c", "import lpm"],
    "python -m lpm --help": [sys.executable, "-m", "lpm", "--help"],
    "python -c 'import scipy.optimize'": [sys.executable, "-c", "import scipy.optimize"],
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()}")
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.rounds):
        for name, cmd in CASES.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["python -c 'import numpy'"])
    print(f"{'command':36s} {'median':>10s} {'x numpy':>8s}")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:36s} {t:8.3f} s {t / base:8.2f}")


if __name__ == "__main__":
    main()
