"""Oversampling against Minority Collapse (the paper's mitigation).

Counting every minority sample w_r times multiplies the minority loss weights by w_r:
the effective imbalance is R / w_r. At R = 1000 the minority has collapsed; it becomes
distinct again once R / w_r < R_0, i.e. w_r > R / R_0, and w_r = R restores the
simplex ETF of balanced training (cosine -1/(K-1)).

    python examples/oversampling.py [OUT_DIR] [R] [POINTS]   (default: ./out, 1000, 31)
"""

import sys

import numpy as np

import lpm
from lpm import plotting


def main(out="out", R=1000.0, points=31, K_A=5, K_B=5, E_W=1.0, E_H=5.0):
    R, points = float(R), int(points)
    w = np.geomspace(1.0, R, points)
    table = lpm.sweep(K_A, K_B, R=R, E_W=E_W, E_H=E_H, oversample=w)
    R0 = lpm.collapse_threshold(K_A, K_B, E_W, E_H)
    needed = R / R0
    collapsed = table["minority_collapsed"].astype(bool)
    print(
        f"R = {R:g}, R_0 = {R0:.9g} (rtol 1e-8): the minority stays collapsed while "
        f"w_r <= R / R_0 = {needed:.6g}"
    )
    print(f"collapsed at w_r = {', '.join(f'{x:.3g}' for x in w[collapsed])}")
    print(f"distinct  at w_r = {', '.join(f'{x:.3g}' for x in w[~collapsed])}")
    assert all(c == (x <= needed) for c, x in zip(collapsed, w))
    cos = table["minority_cosine"]
    print(f"minority cosine at w_r = R: {cos[-1]:.15g} (simplex ETF: {-1 / (K_A + K_B - 1):.15g})")
    table.to_csv(f"{out}/oversampling.csv")
    fig = plotting.curve_figure(table, "oversample", "minority_cosine")
    ax = fig.axes[0]
    ax.axvline(needed, color="C3", ls="--", lw=0.9)
    ax.annotate(
        f"$w_r = R/R_0 = {needed:.3g}$",
        (needed, 0.75),
        xycoords=("data", "axes fraction"),
        xytext=(-4, 0),
        ha="right",
        textcoords="offset points",
        color="C3",
        fontsize=8,
    )
    plotting.save_figure(fig, out, "oversampling")
    print(f"wrote {out}/oversampling.csv, {out}/oversampling.png and .pdf")


if __name__ == "__main__":
    main(*sys.argv[1:])
