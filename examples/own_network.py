"""Compare lpm's prediction with the last layer of your own network.

Give the classifier W (K x p, one row per class) and the features: either the class
means H (K x p) with the class sizes (--counts), or the per-sample features (N x p) with
their labels (--labels, N integers in 0..K-1, classes numbered from 0 as everywhere in
lpm; the counts then come from the labels). The budgets E_W, E_H of the prediction are
those of the network, E_W = ||W||_F^2 / K and E_H = ||H||_F^2 / K (class means), so the
comparison is scale-free: Gram distances and pairwise cosines of classifiers and of
class means, network against lpm (lpm.compare), and with per-sample features the
neural-collapse measurements NC1 to NC4 of the network.

    python examples/own_network.py W.npy H.npy --counts 500,500,500,500,50,50,50
    python examples/own_network.py W.npy feats.npy --labels labels.npy --out cmp
    python examples/own_network.py --demo DIR     # makes a small synthetic network first
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import lpm
from lpm import plotting


def make_demo(directory, seed=0):
    """A synthetic 'trained network' saved as W.npy, feats.npy, labels.npy: the LPM
    optimum for 4 classes of 200 samples and 3 of 20 (E_W E_H = 3), rotated into
    p = 16 dimensions, rescaled (W by 2.5, H by 1/2.5: the logits and E_W E_H stay),
    with noise on the classifiers and on every sample's features."""
    rng = np.random.default_rng(seed)
    counts = np.array([200] * 4 + [20] * 3)
    sol = lpm.solve_counts(counts, 1.0, 3.0, p=counts.size)
    Q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    W = 2.5 * sol.W @ Q[: counts.size] + 0.01 * rng.standard_normal((counts.size, 16))
    labels = np.repeat(np.arange(counts.size), counts)
    means = sol.H @ Q[: counts.size] / 2.5
    feats = means[labels] + 0.02 * rng.standard_normal((labels.size, 16))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "W.npy", W)
    np.save(directory / "feats.npy", feats)
    np.save(directory / "labels.npy", labels)
    return directory / "W.npy", directory / "feats.npy", directory / "labels.npy"


def compare(W, features, labels, counts=None, out=None):
    """Print the network's geometry next to lpm's prediction; returns the comparison.

    E_H is the mean squared norm of the class means (the budget the prediction spends:
    its features equal their class means), so that class means with counts and
    per-sample features with labels give the same prediction."""
    stats = lpm.class_means(features, labels)
    K = stats.counts.size
    E_H = float(np.nansum(stats.means**2) / K)
    c = lpm.compare(W, features, labels, counts=counts, E_H=E_H)
    print(c)
    print(f"self-duality |W/|W| - H/|H||: network {lpm.self_duality_distance(W, c.means):.3e}")
    if c.metrics is not None:  # per-sample features: NC1 to NC4 of the network
        print(c.metrics)
    if out is not None:
        plotting.save_figure(c.plot(), out, "own_network")
        print(f"wrote {out}/own_network.png and .pdf")
    return c


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("W", nargs="?", help="classifier, K x p (.npy)")
    parser.add_argument("H", nargs="?", help="class means K x p, or features N x p (.npy)")
    parser.add_argument("--labels", help="N labels of the features (.npy), in 0..K-1")
    parser.add_argument("--counts", help="class sizes, comma separated (with class means)")
    parser.add_argument("--demo", metavar="DIR", help="write a synthetic network to DIR and use it")
    parser.add_argument("--out", metavar="DIR", help="write the comparison figure into DIR")
    args = parser.parse_args(argv)
    if args.demo:
        args.W, args.H, args.labels = map(str, make_demo(args.demo))
        args.out = args.out or args.demo
    if not (args.W and args.H):
        parser.error("give W.npy and H.npy, or --demo DIR")
    W, H = np.load(args.W), np.load(args.H)
    counts = None
    if args.labels:
        labels = np.load(args.labels).ravel()
    elif args.counts:
        counts = np.array([float(c) for c in args.counts.split(",")])
        labels = np.arange(H.shape[0])  # one class mean per row
    else:
        parser.error("give --counts (class means) or --labels (per-sample features)")
    try:
        compare(W, H, labels, counts, args.out)
    except ValueError as exc:  # a transposed W, labels that miss a class, ...
        parser.error(str(exc))


if __name__ == "__main__":
    sys.exit(main())
