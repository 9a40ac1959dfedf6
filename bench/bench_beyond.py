"""Timings of the issue-13 routes (run by hand: ``python bench/bench_beyond.py``): the
max-margin SDP against the SELI closed form, the fixed classifier's scalar program against
its SDP, weight decay with and without a bias. Medians of interleaved rounds, one BLAS
thread (checked with threadpoolctl)."""

import statistics
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import lpm

warnings.simplefilter("ignore")


def timed(fn, rounds=5):
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    with threadpool_limits(1):
        print("BLAS:", [(i["internal_api"], i["num_threads"]) for i in threadpool_info()])
        for K in (5, 10, 20, 40):
            counts = np.geomspace(100.0, 1.0, K)
            a = timed(lambda counts=counts: lpm.solve_max_margin(counts), rounds=3)
            b = timed(lambda counts=counts: lpm.seli(counts), rounds=3)
            sol = lpm.solve_max_margin(counts)
            err = np.abs(sol.classifier_gram() - lpm.seli(counts).classifier_gram).max()
            print(
                f"max margin K={K:3d}: solve {a * 1e3:8.1f} ms, SELI {b * 1e3:6.2f} ms, "
                f"gap/objective {sol.gap / sol.objective:.1e}, Gram error {err:.1e}"
            )
        for K_A, K_B in ((5, 5), (50, 50), (500, 500)):
            r = timed(lambda a=K_A, b=K_B: lpm.solve(a, b, 100.0, 1.0, 5.0, fixed_classifier="etf"))
            line = f"fixed ETF K={K_A + K_B:5d}: scalar {r * 1e3:7.2f} ms"
            if K_A + K_B <= 10:
                s = timed(
                    lambda a=K_A, b=K_B: lpm.solve(
                        a, b, 100.0, 1.0, 5.0, fixed_classifier="etf", method="sdp"
                    ),
                    rounds=3,
                )
                line += f", SDP (SCS) {s * 1e3:7.1f} ms"
            print(line)
        for bias, lam in ((False, 0.0), (True, 0.0), (True, 0.05)):
            t = timed(
                lambda bias=bias, lam=lam: lpm.solve_penalized(
                    5, 5, 10.0, 1e-2, 1e-2, per_sample_penalty=True, bias=bias, lambda_b=lam
                )
            )
            print(f"weight decay, bias={bias}, lambda_b={lam}: reduced {t * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
