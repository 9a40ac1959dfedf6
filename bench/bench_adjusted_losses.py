"""Benchmark: the class-dependent losses (issue 13, item 4) and cross-entropy's speed.

Run by hand:  python bench/bench_adjusted_losses.py [--baseline DIR] [--rounds 5]

1. Cross-entropy must keep its speed: with ``--baseline DIR`` (a checkout of ``main``,
   e.g. ``git archive main | tar -x -C DIR``) each round runs the same cross-entropy
   workload in a child process on this tree and on the baseline, alternately, and the
   table reports the medians over the rounds of each workload's time on both, so the
   load of a shared machine weighs on both sides alike. The workloads: 41 single solves
   of Figure 3's curve, the 41-point sweep, R_0, and the low-rank solve of a long-tailed
   K = 100 (60 groups).
2. The new losses, on this tree only, interleaved per round: one reduced solve at
   R = 100 (K_A = K_B = 5, E_W = 1, E_H = 5), R_0, and the low-rank solve of the same
   long-tailed counts; then the whole ``lpm reproduce mitigation`` study.

BLAS threads are limited to one (threadpoolctl), in the children too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy  # noqa: F401  (loads BLAS, so that threadpoolctl sees it)
from threadpoolctl import threadpool_info, threadpool_limits

HERE = Path(__file__).resolve().parents[1]

#: the cross-entropy workload, run in a child process on a given tree; prints JSON times
CE_WORKLOAD = r"""
import json, time
from threadpoolctl import threadpool_limits
threadpool_limits(1)
import lpm
R = [10.0 ** (0.1 * i) for i in range(41)]
counts = lpm.counts.long_tailed(100, 100.0)
work = {
    "41 solves": lambda: [lpm.solve(5, 5, r, 1.0, 5.0) for r in R],
    "sweep (41)": lambda: lpm.sweep(5, 5, R=R, E_W=1.0, E_H=5.0),
    "R_0": lambda: lpm.collapse_threshold(5, 5, 1.0, 5.0),
    "lowrank K=100": lambda: lpm.solve_counts(counts, 1.0, 5.0, method="lowrank"),
}
out = {}
for name, run in work.items():
    t = time.perf_counter()
    run()
    out[name] = time.perf_counter() - t
print(json.dumps(out))
"""

LOSSES = ("ce", "logit_adjusted", "cdt", "vs")


def child(tree: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", CE_WORKLOAD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def new_losses_round() -> dict:
    import lpm
    from lpm.studies.mitigation import mitigation_study

    counts = lpm.counts.long_tailed(100, 100.0)
    out = {}
    for loss in LOSSES:
        lpm.solve(5, 5, 100.0, 1.0, 5.0, loss=loss)  # warm
        t = time.perf_counter()
        for _ in range(20):
            lpm.solve(5, 5, 100.0, 1.0, 5.0, loss=loss)
        out[f"{loss}: reduced solve"] = (time.perf_counter() - t) / 20
        t = time.perf_counter()
        lpm.collapse_threshold(5, 5, 1.0, 5.0, loss=loss)
        out[f"{loss}: R_0"] = time.perf_counter() - t
        t = time.perf_counter()
        sol = lpm.solve_counts(counts, 1.0, 5.0, loss=loss, method="lowrank")
        out[f"{loss}: lowrank K=100"] = time.perf_counter() - t
        out[f"{loss}: lowrank gap"] = sol.gap
    t = time.perf_counter()
    mitigation_study()
    out["mitigation study"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, help="a checkout of main to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    threadpool_limits(1)
    print("BLAS:", [(i["internal_api"], i["num_threads"]) for i in threadpool_info()])
    print("load average:", os.getloadavg())
    if args.baseline is not None:
        times: dict[str, dict[str, list]] = {"this tree": {}, "baseline": {}}
        for _ in range(args.rounds):
            for name, tree in (("this tree", HERE), ("baseline", args.baseline)):
                for key, value in child(tree).items():
                    times[name].setdefault(key, []).append(value)
        print("\ncross-entropy, medians over rounds (s):")
        for key in times["this tree"]:
            a = statistics.median(times["this tree"][key])
            b = statistics.median(times["baseline"][key])
            print(f"  {key:16s} this tree {a:8.4f}   baseline {b:8.4f}   ratio {a / b:5.2f}")
    rounds = [new_losses_round() for _ in range(args.rounds)]
    print("\nnew losses, medians over rounds:")
    for key in rounds[0]:
        value = statistics.median(r[key] for r in rounds)
        unit = "" if key.endswith("gap") else " s"
        print(f"  {key:28s} {value:.3g}{unit}")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
