"""Phase diagram of Minority Collapse: the threshold R_0 against E_W E_H.

Above each curve the minority classifiers are exactly equal. Weaker regularization
(larger E_W E_H) delays the collapse, and a larger minority share K_B / K_A delays it
much more.

    python examples/phase_diagram.py [OUT_DIR] [POINTS]    (default: ./out, 31)
"""

import sys

import numpy as np

import lpm
from lpm import plotting


def main(out="out", points=31):
    settings = [(5, 5), (2, 8), (8, 2), (10, 10)]
    table = lpm.phase_diagram(settings, EWEH=np.geomspace(0.1, 100.0, int(points)))
    for (K_A, K_B), sub in table.groupby(["K_A", "K_B"]):
        e, r = sub["EWEH"], sub["R0"]
        print(
            f"K_A = {K_A:2d}, K_B = {K_B:2d}: R_0 = {r[0]:.4g} at E_W E_H = {e[0]:g}, "
            f"{r[-1]:.4g} at E_W E_H = {e[-1]:g}"
        )
    table.to_csv(f"{out}/phase.csv")
    plotting.save_figure(plotting.phase_figure(table), out, "phase")
    print(f"wrote {out}/phase.csv, {out}/phase.png and .pdf")


if __name__ == "__main__":
    main(*sys.argv[1:])
