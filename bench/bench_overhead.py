"""Benchmark: the per-point time of the Figure-3 loops in this tree against another, paired.

Run by hand:  python bench/bench_overhead.py --base /path/to/other/checkout [--stub]

The Figure-3 curve (K_A = K_B = 5, E_W = 1, E_H = 5, 41 values of R) is timed two ways, as
in ``bench/bench_figure3.py``: a loop of ``lpm.solve(...).minority_cosine`` and one
``lpm.sweep``. Each round runs one subprocess per tree (``PYTHONPATH`` set to it, started
from a neutral directory so that neither tree is imported by accident), alternating, so
that the load of a shared machine weighs on both alike; a subprocess reports the fastest
of its repetitions, with garbage collection paused. The table gives, per point, the
median over the rounds and the fastest of all.

With ``--stub`` the scalar Newton iteration of the two-group solver
(``lpm.solvers.two_groups.solve_one``) is memoized after its first call per problem, so
what is timed is everything around it: model, dispatch, certificate, Solution, cosine
(the solve loop) or rows (the sweep), the per-point overhead. The numbers are otherwise
those of a real run (the memoized iteration returns what it returned). The stub runs
with ``LPM_PURE_PYTHON=1``: the compiled solver does not call ``solve_one``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import gc, json, sys, time
import lpm
from lpm.solvers import two_groups
from lpm.studies.sweep import decades

R = decades(41)
if sys.argv[2] == "stub":
    real, memo = two_groups.solve_one, {}

    def solve_one(problem, *args):
        key = (problem.w, problem.tau)
        if key not in memo:
            memo[key] = real(problem, *args)
        return memo[key]

    two_groups.solve_one = solve_one
lpm.sweep(5, 5, R=R, E_W=1.0, E_H=5.0)
[lpm.solve(5, 5, r, 1.0, 5.0).minority_cosine for r in R]
best = {"solve": float("inf"), "sweep": float("inf")}
for _ in range(int(sys.argv[1])):
    gc.collect()
    gc.disable()
    t = time.perf_counter()
    [lpm.solve(5, 5, r, 1.0, 5.0).minority_cosine for r in R]
    best["solve"] = min(best["solve"], time.perf_counter() - t)
    t = time.perf_counter()
    lpm.sweep(5, 5, R=R, E_W=1.0, E_H=5.0)
    best["sweep"] = min(best["sweep"], time.perf_counter() - t)
    gc.enable()
print(json.dumps({k: v / len(R) for k, v in best.items()}))
"""


def run(tree: str, mode: str, repeats: int, cwd: str) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    env.update(OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if mode == "stub":  # the Python route, whose solve_one the stub memoizes
        env["LPM_PURE_PYTHON"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(repeats), mode],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the other checkout (its root directory)")
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds (medians)")
    ap.add_argument("--repeats", type=int, default=30, help="repetitions in a subprocess")
    ap.add_argument("--stub", action="store_true", help="memoize the Newton iteration")
    args = ap.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"base": os.path.abspath(args.base), "this": here}
    mode = "stub" if args.stub else "real"
    times = {name: {"solve": [], "sweep": []} for name in trees}
    print(f"{mode}: load average before {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(args.rounds):
            for name, tree in trees.items():
                for key, value in run(tree, mode, args.repeats, cwd).items():
                    times[name][key].append(1e6 * value)
    print(f"{mode}: load average after {os.getloadavg()}")
    print(f"{'us per point':22s} {'base':>16s} {'this':>16s} {'paired ratio':>13s}")
    for key, label in (("solve", "solve + cosine loop"), ("sweep", "sweep")):
        base, this = times["base"][key], times["this"][key]
        ratio = statistics.median(b / t for b, t in zip(base, this))
        print(
            f"{label:22s} {statistics.median(base):8.1f} ({min(base):5.1f}) "
            f"{statistics.median(this):8.1f} ({min(this):5.1f}) {ratio:12.3f}x"
        )
    print("(median over rounds, fastest in parentheses; ratio: base / this, paired)")


if __name__ == "__main__":
    main()
