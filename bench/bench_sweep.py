"""Sweep timings (run by hand): the Figure-3 curve and a larger grid, one by one (the
baseline) against batched, chunked and threaded sweeps, measured in the same run.

    python bench/bench_sweep.py
"""

import concurrent.futures
import time

import numpy as np

import lpm


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    R41 = 10.0 ** (0.1 * np.arange(41))
    big = dict(K_A=[2, 5, 10], K_B=[2, 5, 10], R=np.geomspace(1, 1e6, 60), E_W=1.0, E_H=[1.0, 5.0])
    n_big = 3 * 3 * 60 * 2
    models41 = [lpm.Model.two_group(5, 5, r, 1.0, 5.0) for r in R41]
    lpm.sweep(5, 5, R=R41[:2])  # warm-up
    rows = [
        (
            "Figure 3, 41 points",
            "one solve_model per point (baseline)",
            best_of(lambda: [lpm.solve_model(m) for m in models41]),
        ),
        (
            "Figure 3, 41 points",
            "lpm.sweep (one batch)",
            best_of(lambda: lpm.sweep(5, 5, R=R41, E_W=1.0, E_H=5.0)),
        ),
    ]
    base = best_of(lambda: lpm.sweep(**big, chunksize=1), repeat=1)
    rows.append((f"grid, {n_big} points", "lpm.sweep, chunksize=1 (baseline)", base))
    rows.append(
        (
            f"grid, {n_big} points",
            "lpm.sweep, default chunks",
            best_of(lambda: lpm.sweep(**big), repeat=1),
        )
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        rows.append(
            (
                f"grid, {n_big} points",
                "lpm.sweep, 2 threads",
                best_of(lambda: lpm.sweep(**big, executor=pool), repeat=1),
            )
        )
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        lpm.sweep(5, 5, R=R41, executor=pool)  # start the workers
        rows.append(
            (
                f"grid, {n_big} points",
                "lpm.sweep, 2 processes",
                best_of(lambda: lpm.sweep(**big, executor=pool), repeat=1),
            )
        )
    print(f"{'case':<22} {'how':<40} {'seconds':>9}")
    for case, how, t in rows:
        print(f"{case:<22} {how:<40} {t:9.3f}")


if __name__ == "__main__":
    main()
