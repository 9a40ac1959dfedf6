"""Benchmark: thresholds and phase diagrams against one solve of the paper's SDP, paired.

Run by hand:  python bench/bench_threshold.py [--rounds 5]

Each round times one paper-SDP solve (the 2K x 2K SDP of the two-group model at
K_A = K_B = 5, E_W = 1, E_H = 5, R = 12, built by cvxpy and solved by SCS at its default
settings, as in the paper's code), then ``lpm.collapse_threshold`` at four settings, then
the default ``lpm.phase_diagram`` (124 thresholds); the table reports medians over the
rounds and each time in units of the round's SDP solve. Garbage collection is paused in
every timed call and run between the routes (see ``bench_figure3.py``).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

from threadpoolctl import threadpool_limits

import lpm
from lpm.solvers import sdp

THRESHOLDS = [(5, 5, 1.0, 5.0), (2, 8, 1.0, 1.0), (10, 10, 1.0, 100.0), (5, 5, 300.0, 300.0)]


def paper_solve():
    prob, _ = sdp.problem(lpm.Model.two_group(5, 5, 12.0, 1.0, 5.0))
    prob.solve(solver="SCS")


def timed(fn, *args, **kwargs):
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        return time.perf_counter() - t0
    finally:
        gc.enable()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()}")
    with threadpool_limits(1):
        paper_solve()  # cvxpy's first compile, not timed
        lpm.collapse_threshold(5, 5, 1.0, 5.0)
        rows: dict[str, list[float]] = {"paper SDP, one solve": []}
        for _ in range(args.rounds):
            base = timed(paper_solve)
            rows["paper SDP, one solve"].append(base)
            for K_A, K_B, E_W, E_H in THRESHOLDS:
                key = f"collapse_threshold({K_A}, {K_B}, {E_W:g}, {E_H:g})"
                rows.setdefault(key, []).append(timed(lpm.collapse_threshold, K_A, K_B, E_W, E_H))
            rows.setdefault("phase_diagram() (124 thresholds)", []).append(timed(lpm.phase_diagram))
        print(f"load average after the timings: {os.getloadavg()}")
    base = statistics.median(rows["paper SDP, one solve"])
    print(f"\nmedians of {args.rounds} rounds")
    print(f"{'what':42s} {'time':>12s} {'in SDP solves':>14s}")
    for name, times in rows.items():
        t = statistics.median(times)
        print(f"{name:42s} {1e3 * t:9.2f} ms {t / base:14.3f}")


if __name__ == "__main__":
    main()
