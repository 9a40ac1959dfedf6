"""Benchmark: large sweeps, serial, on a process pool and on a Dask cluster (run by hand).

    python bench/bench_sweep.py [--points 300] [--workers 2] [--no-dask]

The grid is the two-group model at K_A = K_B = 5 over ``points`` ratios R from 1 to 1e4
and ``points`` products E_W E_H from 0.1 to 100 (``--points 300``: 90,000 points, a 2-D
phase plane). It runs serially, on a ``ProcessPoolExecutor`` of ``--workers`` processes
and, when ``dask.distributed`` is installed, on a ``LocalCluster`` of as many worker
processes through ``client.get_executor()``; every table is checked equal to the serial
one (all columns but ``time``). Pools are started, and warmed by a small sweep, before
the clock runs. Times are single runs: the sweep is long enough to average the load.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

import lpm


def grid(points: int) -> dict:
    return dict(
        K_A=5, K_B=5, R=np.geomspace(1.0, 1e4, points), EWEH=np.geomspace(0.1, 100.0, points)
    )


def run(label, fn, reference=None):
    t0 = time.perf_counter()
    table = fn()
    t = time.perf_counter() - t0
    same = "" if reference is None else ("identical" if reference.equals(table) else "DIFFERENT")
    print(f"{label:44s} {t:9.2f} s {1e6 * t / len(table):9.0f} us/pt  {same}", flush=True)
    return table


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=300, help="values of R and of E_W E_H")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)
    kw = grid(args.points)
    n = args.points**2
    print(f"{n:,}-point sweep; load average {os.getloadavg()}")
    with threadpool_limits(1):
        lpm.sweep(**grid(4))  # warm-up
        serial = run("serial", lambda: lpm.sweep(**kw, progress=False))
        with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
            lpm.sweep(**grid(4), executor=pool)  # start the workers
            run(
                f"ProcessPoolExecutor({args.workers})",
                lambda: lpm.sweep(**kw, executor=pool, progress=False),
                serial,
            )
        if not args.no_dask:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                print("dask.distributed is not installed: no cluster run")
                return
            with (
                LocalCluster(
                    n_workers=args.workers, threads_per_worker=1, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                executor = client.get_executor()
                lpm.sweep(**grid(4), executor=executor)
                run(
                    f"dask LocalCluster({args.workers} workers)",
                    lambda: lpm.sweep(**kw, executor=executor, progress=False),
                    serial,
                )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
