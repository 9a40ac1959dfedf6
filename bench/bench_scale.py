"""Benchmark: general class counts at large K, every route measured in the same run.

Run by hand::

    python bench/bench_scale.py            # K = 10, 50, 100, 200, 1000 (about 40 minutes)
    python bench/bench_scale.py --quick    # K = 10, 50, 100 with a 60 s limit per solve

Prints one table and writes the same rows to a CSV file (atomically, after every case, so
an interrupted run keeps the finished cases): for each count shape, each K and each
method, the wall time of the solve (certificate included), iterations, the certified gap,
and the objective's difference from the most accurate route of that case (the row with
the smallest certified gap; every row is a feasible point, so a difference below minus
the reference's gap would be a bug).

Count shapes (``n_max = 5000``, budgets ``E_W = 1``, ``E_H = 5`` as in the paper):

* ``long_tailed``: ``lpm.counts.long_tailed(K, rho=100)`` (CIFAR-LT style; most classes
  have their own count: 848 distinct of 1000 at ``K = 1000``), and ``long_tailed500``:
  ``rho = 500`` (an iNaturalist-size profile at ``K = 8000``: 3024 distinct counts);
* ``step``: ``lpm.counts.step(K, K // 2, R=100)`` (two groups; the reduced solver is the
  reference there);
* real profiles, whatever ``--K`` says: ``imagenet_lt`` (``lpm.counts.imagenet_lt()``,
  K = 1000, 310 distinct counts), ``cifar100_lt`` (``lpm.counts.cifar_lt(100, 100)``,
  85 distinct counts).

Methods:

* ``lowrank``: this package's factorization (``method="lowrank"``) at its default target
  gap 1e-8, and from K = 1000 on also at 1e-6 (and 1e-5 from K = 8000), with one BLAS
  thread and with two (``--threads``); from K = 100 on each target also with the stop on
  the objective's gap at the Newton-corrected dual point (``dual stop``:
  ``solver_options={"dual_point": True}``);
* ``structure``: the exact structure test (``lpm.collapse_report``: which classes collapse
  or vanish, the rank), started from a low-rank solution (its time counted separately);
* ``reduced``: the symmetry-reduced Newton solver (grouped counts only);
* ``nonconvex``: accelerated projected gradient on ``(W, H)`` (``method="nonconvex"``);
* ``nuclear``: the nuclear-norm program through cvxpy + SCS at this package's tight
  settings (``method="nuclear"``);
* ``sdp-scs``: the generic route of the paper's code: ``lpm.solvers.sdp.problem(model)`` solved by
  cvxpy with ``solver="SCS"`` and no options (cvxpy's SCS defaults), its Gram matrix
  factored into ``W``, ``H`` and certified like every other row.

With ``--rounds N`` every solve of a case runs N times, the case's solves interleaved
(each round runs them all in order), and the time is the median: the pairs of the
default and the dual stop are then measured under the same load.

Every solve runs in its own process with a wall-clock limit (``--time-limit``); a method
that hits it is not run at larger K, nor is a cvxpy route whose time at the previous K
(when above 1/20 of the limit) predicts, with cubic growth, that it would. ``peak MB`` is
the peak resident memory of that process (imports included).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import platform
import queue
import statistics
import time

SHAPES = ("long_tailed", "long_tailed500", "step", "imagenet_lt", "cifar100_lt")
#: shapes whose K is that of a real data set
PROFILES = {"imagenet_lt": 1000, "cifar100_lt": 100}
#: routes through cvxpy, whose time and memory grow at least like K^3: not started when
#: the previous K predicts they would pass the time limit
CONIC = ("nuclear", "sdp-scs")
KS = (10, 50, 100, 200, 1000)
#: BLAS threads of the low-rank rows (``--threads``)
THREADS = (1,)
QUICK_KS = (10, 50, 100)
E_W, E_H = 1.0, 5.0
COLUMNS = (
    "shape",
    "K",
    "method",
    "settings",
    "status",
    "time_s",
    "iterations",
    "gap",
    "objective",
    "objective_diff",
    "reference",
    "peak_mb",
    "note",
)


def counts(shape: str, K: int):
    import lpm

    if shape == "long_tailed":
        return lpm.counts.long_tailed(K, 100.0)
    if shape == "long_tailed500":
        return lpm.counts.long_tailed(K, 500.0)
    if shape == "imagenet_lt":
        return lpm.counts.imagenet_lt()
    if shape == "cifar100_lt":
        return lpm.counts.cifar_lt(100, 100.0)
    return lpm.counts.step(K, K // 2, 100.0)


def jobs_for(shape: str, K: int):
    """``(method, settings, options)`` to run for one case."""
    import lpm
    from lpm.solvers.reduced import REDUCED_MAX_G

    model = lpm.Model(counts(shape, K), E_W, E_H)
    out = []
    tols = [1e-8] if K < 8000 else []
    tols += [1e-6] if K >= 1000 else []
    tols += [1e-5] if K >= 8000 else []
    for threads in THREADS:
        t = f", {threads} thr" if len(THREADS) > 1 else ""
        for tol in tols:
            opts = {"method": "lowrank", "gap_tol": tol, "threads": threads}
            out.append(("lowrank", f"gap_tol={tol:g}" + t, opts))
            if K >= 100:  # the stop on the objective's gap at the dual point
                dual = dict(opts, dual_point=True)
                out.append(("lowrank", f"{tol:g}, dual stop" + t, dual))
    if model.groups.G > 16:
        out.append(("structure", "from lowrank 1e-8", {"method": "structure", "threads": 1}))
    G = model.groups.G
    if G * G + G < K * K and G <= REDUCED_MAX_G:  # as method="auto" decides
        out.append(("reduced", "gap_tol=1e-9", {"method": "reduced"}))
    out.append(("nonconvex", "defaults", {"method": "nonconvex"}))
    out.append(("nuclear", "SCS eps 1e-9", {"method": "nuclear", "solver": "SCS"}))
    out.append(("sdp-scs", "SCS, cvxpy defaults", {"method": "paper-sdp"}))
    return out


# -- one solve, in a child process ----------------------------------------------------------
def _paper_sdp(model):
    """The paper's route: the 2K x 2K SDP with SCS at its defaults, factored and certified."""
    import lpm
    from lpm.certificates import certify, fit_budgets
    from lpm.model.logits import DenseLogits
    from lpm.solvers import sdp

    started = time.perf_counter()
    prob, X = sdp.problem(model)
    prob.solve(solver="SCS")
    if X.value is None:
        raise lpm.SolverError(f"SCS ended with status {prob.status!r}")
    p = model.min_exact_dimension
    H, W = fit_budgets(*sdp.factor_gram(X.value, model.K, p), model)
    return certify(
        model,
        DenseLogits(H @ W.T),
        method="sdp",
        solver="SCS",
        started=started,
        p=p,
        gap_tol=1e-6,
        message=f"SCS: {prob.status}",
        converged=prob.status == "optimal",
        iterations=getattr(prob.solver_stats, "num_iters", None),
        factors=(H, W),
    )


def _child(shape, K, options, out):
    import resource

    import lpm

    try:
        from threadpoolctl import threadpool_limits

        model = lpm.Model(counts(shape, K), E_W, E_H)
        options = dict(options)
        method = options.pop("method")
        threads = options.pop("threads", 1)
        dual = options.pop("dual_point", False)
        threadpool_limits(threads)
        if method == "lowrank":  # the solver sets its own BLAS threads (default 1)
            options["solver_options"] = {"blas_threads": threads, "dual_point": dual}
        note = ""
        t0 = time.perf_counter()
        if method == "paper-sdp":
            sol = _paper_sdp(model)
        elif method == "structure":  # the exact test, timed apart from the solve
            sol = lpm.solve_model(model, method="lowrank")
            t0 = time.perf_counter()
            report = sol.collapse
            note = report.summary()
        else:
            sol = lpm.solve_model(model, method=method, **options)
        elapsed = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        out.put(
            dict(
                status=sol.status,
                time_s=elapsed,
                iterations=sol.iterations,
                gap=sol.gap,
                objective=sol.objective,
                peak_mb=peak,
                note=note or ("" if sol.success else sol.message[:120]),
            )
        )
    except Exception as exc:  # reported in the table, never hidden
        out.put(dict(status="error", note=f"{type(exc).__name__}: {exc}"[:160]))


def measure(shape, K, options, time_limit):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_child, args=(shape, K, options, out))
    proc.start()
    try:
        result = out.get(timeout=time_limit)
    except queue.Empty:
        result = dict(status="timeout", note=f"no answer within {time_limit:g} s")
    if proc.is_alive():
        proc.terminate()
    proc.join()
    return result


# -- the table ------------------------------------------------------------------------------
def fmt(value, kind):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "time":
        return f"{value:.3g}"
    if kind == "sci":
        return f"{value:.1e}"
    if kind == "signed":
        return f"{value:+.1e}"
    if kind == "int":
        return str(int(value))
    return str(value)


HEADER = (
    f"{'shape':<12}{'K':>6}  {'method':<10}{'settings':<20}{'status':<12}{'time [s]':>10}"
    f"{'iters':>7}{'gap':>10}{'obj - ref':>11}{'peak MB':>9}  note"
)


def line(row):
    return (
        f"{row['shape']:<12}{row['K']:>6}  {row['method']:<10}{row['settings']:<20}"
        f"{row['status']:<12}{fmt(row.get('time_s'), 'time'):>10}"
        f"{fmt(row.get('iterations'), 'int'):>7}{fmt(row.get('gap'), 'sci'):>10}"
        f"{fmt(row.get('objective_diff'), 'signed'):>11}{fmt(row.get('peak_mb'), 'int'):>9}"
        f"  {row.get('note', '')}"
    )


def write_csv(path, rows):
    from lpm._io import csv_cell, write_text

    lines = [",".join(COLUMNS)]
    lines += [",".join(csv_cell(row.get(c)) for c in COLUMNS) for row in rows]
    write_text(path, "\n".join(lines) + "\n")


def environment() -> str:
    import cvxpy
    import numpy
    import scipy
    import scs

    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i.get('internal_api')} {i.get('num_threads')} threads" for i in threadpool_info()
        )
    except ImportError:
        blas = "threadpoolctl not installed"
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, scipy {scipy.__version__}, cvxpy {cvxpy.__version__}, "
        f"SCS {scs.__version__}; BLAS: {blas}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K = 10, 50, 100; 60 s limit")
    parser.add_argument("--K", type=int, nargs="+", help="class counts to run")
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=("lowrank", "structure", "reduced", "nonconvex", "nuclear", "sdp-scs"),
        help="methods to run (default: all)",
    )
    parser.add_argument("--time-limit", type=float, help="seconds per solve (default 300)")
    parser.add_argument("--csv", default=os.path.join("out", "bench_scale.csv"))
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1], help="BLAS threads of the lowrank rows"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="interleaved rounds of each case's solves; times are their medians",
    )
    args = parser.parse_args(argv)
    global THREADS
    THREADS = tuple(args.threads)
    Ks = args.K or (QUICK_KS if args.quick else KS)
    limit = args.time_limit or (60.0 if args.quick else 300.0)

    print(environment())
    print(f"time limit {limit:g} s per solve; E_W = {E_W:g}, E_H = {E_H:g}; CSV: {args.csv}")
    print(HEADER)
    rows = []
    for shape in args.shapes:
        last = {}  # method -> (K, time) of its last finished run, or None after a timeout
        for K in [PROFILES[shape]] if shape in PROFILES else sorted(Ks):
            case = []
            jobs = [j for j in jobs_for(shape, K) if not args.methods or j[0] in args.methods]
            for method, settings, options in jobs:
                row = dict(shape=shape, K=K, method=method, settings=settings)
                key = (method, settings)
                prev = last.get(key, ())
                if prev is None:
                    row.update(status="skipped", note="hit the time limit at a smaller K")
                elif (
                    prev
                    and method in CONIC
                    and prev[1] >= limit / 20  # the solver, not cvxpy's set-up, dominates
                    and prev[1] * (K / prev[0]) ** 3 > limit
                ):
                    predicted = prev[1] * (K / prev[0]) ** 3
                    row.update(
                        status="skipped",
                        note=f"predicted {predicted:.0f} s from K={prev[0]} (cubic growth)",
                    )
                else:
                    row.update(measure(shape, K, options, limit))
                    row["times"] = [row.get("time_s")]
                    if row["status"] == "timeout":
                        last[key] = None
                    elif "time_s" in row:
                        last[key] = (K, row["time_s"])
                case.append(row)
            # further rounds, interleaved: every solve of the case again, in the same order
            for _ in range(args.rounds - 1):
                for row, (_, _, options) in zip(case, jobs):
                    if row.get("times") and row["status"] != "timeout":
                        row["times"].append(measure(shape, K, options, limit).get("time_s"))
            for row in case:
                times = [t for t in row.pop("times", []) if t is not None]
                if len(times) > 1:
                    row["time_s"] = statistics.median(times)
                    row["note"] = (row.get("note", "") + f" median of {len(times)}").strip()
            done = [r for r in case if r.get("gap") is not None and math.isfinite(r["gap"])]
            if done:
                ref = min(done, key=lambda r: r["gap"])
                for r in done:
                    r["objective_diff"] = r["objective"] - ref["objective"]
                    r["reference"] = f"{ref['method']} ({ref['settings']})"
            for r in case:
                print(line(r), flush=True)
            rows.extend(case)
            write_csv(args.csv, rows)
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
