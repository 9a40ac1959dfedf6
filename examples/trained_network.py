"""Minority Collapse in a trained network, next to the LPM's prediction, on real data.

scikit-learn's handwritten digits (1797 images, 10 classes, no download): the digits
0-4 are the majority classes with all their images, the digits 5-9 the minority classes
with n_A / R images each. For each R a small network (MLPClassifier, ReLU layers of 64 and
32 units, L-BFGS, weight decay alpha = 1) is trained to zero training error; the mean
cosine of its five minority classifiers is set against the LPM's prediction for the same
class counts at the network's own budgets E_W, E_H (lpm.compare, features centred).

    python examples/trained_network.py [OUT_DIR] [--R 1,2,5,10,20,50] [--seeds 0,1,2]

Writes network.csv, network.png and network.pdf (a few minutes for the default 18
networks). `lpm reproduce network` does the same. Needs scikit-learn.
"""

import argparse

import numpy as np

import lpm
from lpm import plotting


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="out", help="output directory (./out)")
    parser.add_argument("--R", default="1,2,5,10,20,50", help="imbalance ratios")
    parser.add_argument("--seeds", default="0,1,2", help="one network per seed and R")
    args = parser.parse_args(argv)
    R = [float(r) for r in args.R.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    table = lpm.digits_experiment(R, seeds)
    table.to_csv(f"{args.out}/network.csv")
    plotting.save_figure(plotting.network_figure(table), args.out, "network")
    print(f"{len(table)} networks, largest training error {table['train_error'].max():g}")
    print("    R   n_B   minority cosine: network (mean, range)   lpm (mean)   E_W E_H")
    for r in np.unique(table["R"]):
        sub = table.subset(lambda row, r=r: row["R"] == r)
        m, p = sub["minority_cosine"], sub["predicted_minority_cosine"]
        budget = sub["E_W"] * sub["E_H"]
        print(
            f"{r:5g} {sub['n_B'][0]:5g}   {m.mean():+.3f} [{m.min():+.3f}, {m.max():+.3f}]"
            f"                  {p.mean():+.3f}    {budget.mean():8.1f}"
        )
    print(f"wrote {args.out}/network.csv, {args.out}/network.png and {args.out}/network.pdf")


if __name__ == "__main__":
    main()
