"""Benchmark: the paper's Figure-3 curve, lpm against the paper's own SDP, paired per point.

Run by hand:  python bench/bench_figure3.py [--rounds 5]

Curve: K = 10, K_A = K_B = 5, E_W = 1, E_H = 5, R = 10^(0.1 i), i = 0..40. The baseline is
the paper's code path: the 2K x 2K SDP built with cvxpy and solved by SCS at its default
settings, one problem per point. A round runs the 41 points through the baseline, then
through a loop of ``lpm.solve`` (each with its minority cosine, the curve's number), then
``SWEEPS`` calls of ``lpm.sweep`` of the 41 points, each time recorded; the table reports
medians over the rounds, so that the load of a shared machine weighs on both sides alike.
``solve`` speed-up: the median over the points of (SDP time / lpm.solve time) at that
point; ``sweep`` speed-up: the sum of the 41 SDP medians over the median sweep.

Each route runs after a call of its own, as the SDP's points do (each after the last
one): the first sweep of a round runs right after the SCS and ``lpm.solve`` loops, whose
memory has evicted its code and data from the CPU's caches, and takes about 10 us a point
longer (measured: 47 against 36 us). That first call is reported on its own line too,
since a user's single sweep after other work pays it.

Garbage collection is paused in every timed call, and a collection is run between the
routes: without it, the objects cvxpy leaves behind slow the next numpy code by up to 2x
(measured here: 580 us a solve before any conic run, 1000 us right after one, 580 us
after ``gc.collect()``), which would charge lpm for the baseline's memory.

Accuracy (printed after the timings): the largest difference of the 41 minority cosines
from the same SDP solved by SCS at eps 1e-12 (itself good to about 1e-11), and the
largest certified gap. Then two-group solves at large K.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import lpm
from lpm.solvers import sdp
from lpm.studies.sweep import decades

R_GRID = decades(41)
#: timed sweeps per round (the median over all of them is the table's number)
SWEEPS = 3
SETTING = dict(K_A=5, K_B=5, E_W=1.0, E_H=5.0)


def paper_point(R: float, options=None) -> float:
    """The paper's code path at one R: build the SDP, solve it with SCS, read the mean
    minority cosine off the Gram matrix."""
    model = lpm.Model.two_group(5, 5, R, 1.0, 5.0)
    prob, X = sdp.problem(model)
    prob.solve(solver="SCS", **(options or {}))
    W = X.value[10:, 10:]
    d = np.sqrt(np.diag(W))
    C = (W / np.outer(d, d))[5:, 5:]
    return float(C[np.triu_indices(5, 1)].mean())


def lpm_point(R: float) -> float:
    return lpm.solve(5, 5, R, 1.0, 5.0).minority_cosine


def lpm_sweep():
    return lpm.sweep(5, 5, R=R_GRID, E_W=1.0, E_H=5.0)


def timed(fn, *args):
    gc.disable()
    try:
        t0 = time.perf_counter()
        out = fn(*args)
        return time.perf_counter() - t0, out
    finally:
        gc.enable()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians)")
    args = ap.parse_args(argv)
    blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    print(f"BLAS pools: {blas}; load average: {os.getloadavg()}")

    with threadpool_limits(1):
        paper_point(1.0)  # cvxpy's first compile, not timed
        lpm_sweep()
        sdp_t = [[] for _ in R_GRID]
        one_t = [[] for _ in R_GRID]
        sweep_t, first_t = [], []
        for _ in range(args.rounds):
            for i, R in enumerate(R_GRID):
                sdp_t[i].append(timed(paper_point, R)[0])
            gc.collect()
            for i, R in enumerate(R_GRID):
                one_t[i].append(timed(lpm_point, R)[0])
            times = [timed(lpm_sweep)[0] for _ in range(SWEEPS)]
            first_t.append(times[0])
            sweep_t.extend(times)
        print(f"load average after the timings: {os.getloadavg()}")

        sdp_med = np.array([statistics.median(t) for t in sdp_t])
        one_med = np.array([statistics.median(t) for t in one_t])
        sweep_med = statistics.median(sweep_t)
        first_med = statistics.median(first_t)
        ratio = sdp_med / one_med
        print(f"\nFigure-3 curve, 41 points ({SETTING}), medians of {args.rounds} paired rounds")
        print(f"{'route':40s} {'time':>12s} {'speed-up':>10s}")
        print(f"{'paper: SDP, cvxpy + SCS defaults':40s} {sdp_med.sum():10.4f} s {1:9.0f}x")
        print(
            f"{'lpm.solve, one call per point':40s} {one_med.sum():10.4f} s "
            f"{np.median(ratio):9.0f}x  (per point {ratio.min():.0f}x to {ratio.max():.0f}x;"
            f" {1e6 * np.median(one_med):.0f} us against {1e3 * np.median(sdp_med):.1f} ms)"
        )
        print(
            f"{'lpm.sweep, the 41 points':40s} {sweep_med:10.4f} s "
            f"{sdp_med.sum() / sweep_med:9.0f}x  ({1e6 * sweep_med / 41:.0f} us a point; "
            f"median of {SWEEPS} calls a round)"
        )
        print(
            f"{'  its first call of a round':40s} {first_med:10.4f} s "
            f"{sdp_med.sum() / first_med:9.0f}x  ({1e6 * first_med / 41:.0f} us a point, "
            f"after the SCS and lpm.solve loops)"
        )

        print("\naccuracy: reference SDP + SCS at eps 1e-12 ...", flush=True)
        tight = {"eps_abs": 1e-12, "eps_rel": 1e-12, "max_iters": 10**6}
        models = [lpm.Model.two_group(5, 5, R, 1.0, 5.0) for R in R_GRID]
        ref = np.array(
            [
                s.minority_cosine
                for s in lpm.solve_models(models, method="sdp", solver_options=tight)
            ]
        )
        base = np.array([paper_point(R) for R in R_GRID])
        table = lpm_sweep()
        ours = table["minority_cosine"]
        print(f"{'route':40s} {'max |cos - ref|':>16s} {'max cos':>18s} {'max gap':>9s}")
        print(
            f"{'paper: SDP, cvxpy + SCS defaults':40s} {np.abs(base - ref).max():16.2e} "
            f"{base.max():18.15f} {'none':>9s}"
        )
        print(
            f"{'lpm (solve and sweep: the same numbers)':40s} {np.abs(ours - ref).max():16.2e}"
            f" {ours.max():18.15f} {table['gap'].max():9.1e}"
        )

        print("\ntwo-group solves at large K (K_A = K_B = K/2, R = 100, E_W = E_H = 1):")
        print(f"{'K':>10s} {'time [s]':>10s} {'gap':>9s} {'minority cos':>13s} {'collapsed':>9s}")
        for K in (10**2, 10**4, 10**6):
            runs = [timed(lambda K=K: lpm.solve(K // 2, K // 2, 100.0)) for _ in range(3)]
            t = statistics.median(r[0] for r in runs)
            s = runs[-1][1]
            with np.errstate(invalid="ignore"):  # NaN where the minority classifiers vanish
                cos = s.minority_stats().mean_cosine
            print(f"{K:10d} {t:10.5f} {s.gap:9.1e} {cos:13.10f} {str(s.minority_collapsed):>9s}")


if __name__ == "__main__":
    main()
