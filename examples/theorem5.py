"""Theorem 5 (Minority Collapse), checked numerically and sharply.

As R -> infinity the minority classifiers of the optimum approach each other (Theorem 5
of the paper). The exact collapse test shows more: they are *equal* for every R >= R_0
and for no R below; the solution also tends to the solution of the R = infinity problem.

    python examples/theorem5.py [OUT_DIR] [K_A K_B E_W E_H]   (default: ./out, 5 5 1 5)
"""

import sys

import lpm
from lpm import plotting


def main(out="out", K_A=5, K_B=5, E_W=1.0, E_H=5.0):
    check = lpm.verify_minority_collapse(int(K_A), int(K_B), float(E_W), float(E_H))
    print(check.verdict)
    for i in range(0, check.R.size, max(1, check.R.size // 8)):
        print(
            f"  R = {check.R[i]:11.4g}   max ||w_k - w_k'|| = {check.max_distance[i]:.6f}   "
            f"distance to R = inf: {check.distance_to_limit[i]:.3e}   "
            f"collapsed: {bool(check.collapsed[i])}"
        )
    check.table().to_csv(f"{out}/theorem5.csv")
    plotting.save_figure(check.plot(), out, "theorem5")
    print(f"wrote {out}/theorem5.csv, {out}/theorem5.png and .pdf")
    return check.holds


if __name__ == "__main__":
    sys.exit(0 if main(*sys.argv[1:]) else 1)
