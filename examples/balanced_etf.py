"""Neural collapse in balanced training: the optimum is a simplex ETF (Theorem 1).

Solves the balanced LPM with K classes and checks it against the closed form:
objective log(1 + (K-1) exp(-K sqrt(E_W E_H) / (K-1))), classifier Gram matrix
E_W K/(K-1) (I - J/K), features H = sqrt(E_H/E_W) W.

    python examples/balanced_etf.py [OUT_DIR] [K]      (default: ./out, K = 10)
"""

import sys

import numpy as np

import lpm
from lpm import plotting


def main(out="out", K=10, E_W=1.0, E_H=1.0):
    K = int(K)
    sol = lpm.solve_counts(np.ones(K), E_W, E_H)
    closed = lpm.balanced_optimum(K, E_W, E_H)
    etf_gram = E_W * K / (K - 1) * (np.eye(K) - 1.0 / K)
    print(f"K = {K}, E_W = {E_W:g}, E_H = {E_H:g}")
    print(f"objective       {sol.objective:.15g}  (certified gap {sol.gap:.1e})")
    print(f"closed form     {closed.objective:.15g}")
    print(f"|W W^T - ETF|   {np.abs(sol.classifier_gram() - etf_gram).max():.1e}")
    print(f"simplex ETF (exact optimality test): {sol.is_simplex_etf()}")
    cos = sol.classifier_cosines()[np.triu_indices(K, 1)]
    print(
        f"pairwise cosines in [{cos.min():.15g}, {cos.max():.15g}]; -1/(K-1) = {-1 / (K - 1):.15g}"
    )
    plotting.save_figure(plotting.geometry_figure(sol), out, "balanced_etf")
    print(f"wrote {out}/balanced_etf.png and .pdf")


if __name__ == "__main__":
    main(*sys.argv[1:])
