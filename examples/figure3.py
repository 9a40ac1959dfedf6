"""The paper's Figure 3: mean cosine of the minority classifiers against the imbalance R.

K = 10 classes (K_A = 5 majority, K_B = 5 minority), E_W = 1, E_H = 5,
R = 10^(0.1 i), i = 0..40. The cosine starts at -1/9 (the simplex ETF of balanced
training) and reaches exactly 1 at R_0 = 12.19...: Minority Collapse.

    python examples/figure3.py [OUT_DIR]        (default: ./out)

Writes figure3.csv, figure3.png and figure3.pdf. `lpm reproduce fig3` does the same.
"""

import sys

import numpy as np

import lpm
from lpm import plotting


def main(out="out"):
    R = 10.0 ** (0.1 * np.arange(41))
    table = lpm.sweep(5, 5, R=R, E_W=1.0, E_H=5.0)  # 41 certified solves, one batch
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0)
    table.to_csv(f"{out}/figure3.csv")
    plotting.save_figure(plotting.minority_cosine_figure(table), out, "figure3")
    cos = table["minority_cosine"]
    # R_0 is found to rtol = 1e-8: nine digits mean something (the float has 17)
    print(f"R_0 = {R0:.9g}; minority cosine {cos[0]:.15g} at R = 1, {cos[-1]:.15g} at R = 1e4")
    print(f"largest certified gap: {table['gap'].max():.2e}")
    print(f"wrote {out}/figure3.csv, {out}/figure3.png and {out}/figure3.pdf")


if __name__ == "__main__":
    main(*sys.argv[1:])
