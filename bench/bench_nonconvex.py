"""Time the nonconvex (W, H) solver against the reduced Newton solver (the baseline),
measured in the same run. Run by hand: ``python bench/bench_nonconvex.py``.

Prints one row per case: the model, the number of feature rows, wall time and
iterations of the nonconvex solve, its certified gap and relative objective difference
from the baseline, and the baseline's time.
"""

import time

import lpm

CASES = [
    # (K_A, K_B, R, features)
    (5, 5, 10, "class"),
    (10, 10, 100, "class"),
    (25, 25, 100, "class"),
    (5, 5, 100, "sample"),
    (5, 5, 1000, "sample"),
    (5, 5, 10000, "sample"),
]


def main():
    print(
        f"{'model':<26}{'rows':>8}{'time [s]':>10}{'iters':>7}{'gap':>10}"
        f"{'rel. diff':>11}{'reduced [s]':>13}"
    )
    for K_A, K_B, R, features in CASES:
        model = lpm.Model.two_group(K_A, K_B, R, 1.0, 5.0)
        t = time.perf_counter()
        base = lpm.solve_model(model, method="reduced")
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        sol = lpm.solve_model(model, method="nonconvex", solver_options={"features": features})
        t_nc = time.perf_counter() - t
        rows = model.K if features == "class" else int(K_A * R + K_B)
        diff = abs(sol.objective - base.objective) / base.objective
        label = f"{K_A}+{K_B}, R={R:g}, {features}"
        print(
            f"{label:<26}{rows:>8}{t_nc:>10.3f}{sol.iterations:>7}{sol.gap:>10.1e}"
            f"{diff:>11.1e}{t_base:>13.4f}"
        )


if __name__ == "__main__":
    main()
