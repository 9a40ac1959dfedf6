"""Compare lpm's prediction with the last layer of your own network.

Give the classifier W (K x p, one row per class) and the features: either the class
means H (K x p) with the class sizes (--counts), or the per-sample features (N x p) with
their labels (--labels, N integers in 0..K-1; the counts then come from the labels).
The budgets E_W, E_H of the prediction are those of the network,
E_W = ||W||_F^2 / K and E_H = ||H||_F^2 / K (class means), so the comparison is
scale-free: pairwise cosines of classifiers and of class means, network against lpm.

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


def compare(W, H, counts, out=None):
    """Print the network's geometry next to lpm's prediction; returns the solution."""
    K = W.shape[0]
    E_W = float((W * W).sum() / K)
    E_H = float((H * H).sum() / K)
    sol = lpm.solve_counts(counts, E_W, E_H)
    minority = sol.model.minority
    C_net, C_lpm = lpm.cosine_matrix(W), sol.classifier_cosines()
    F_net, F_lpm = lpm.cosine_matrix(H), sol.feature_cosines()
    net = lpm.minority_collapse_stats(W, minority) if minority.size > 1 else None
    print(f"K = {K} classes, counts {list(map(int, counts))}; E_W = {E_W:.4g}, E_H = {E_H:.4g}")
    print(f"lpm: objective {sol.objective:.10g}, certified gap {sol.gap:.1e}")
    print(f"classifier cosines: largest |network - lpm| = {np.abs(C_net - C_lpm).max():.3e}")
    print(f"class-mean cosines: largest |network - lpm| = {np.abs(F_net - F_lpm).max():.3e}")
    if net is not None:
        print(
            f"minority classifiers (classes {[int(k) + 1 for k in minority]}): mean cosine network "
            f"{net.mean_cosine:.6f}, lpm {sol.minority_cosine:.6f}; lpm says exactly "
            f"collapsed: {sol.minority_collapsed}"
        )
    print(f"self-duality |W/|W| - H/|H||: network {lpm.self_duality_distance(W, H):.3e}")
    if out is not None:
        n_major = K - minority.size
        fig = plotting.cosine_figure(
            [C_net, C_lpm],
            ["network: classifier cosines", "lpm: classifier cosines"],
            boundary=n_major if np.array_equal(minority, np.arange(n_major, K)) else None,
        )
        plotting.save_figure(fig, out, "own_network")
        print(f"wrote {out}/own_network.png and .pdf")
    return sol


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("W", nargs="?", help="classifier, K x p (.npy)")
    parser.add_argument("H", nargs="?", help="class means K x p, or features N x p (.npy)")
    parser.add_argument("--labels", help="N labels of the features (.npy)")
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
    if args.labels:
        labels = np.load(args.labels).astype(int).ravel()
        if labels.size != H.shape[0]:
            parser.error(f"{labels.size} labels for {H.shape[0]} feature rows")
        counts = np.bincount(labels, minlength=W.shape[0]).astype(float)
        H = np.array([H[labels == k].mean(axis=0) for k in range(W.shape[0])])
    elif args.counts:
        counts = np.array([float(c) for c in args.counts.split(",")])
    else:
        parser.error("give --counts (class means) or --labels (per-sample features)")
    if W.shape != H.shape or counts.size != W.shape[0]:
        parser.error(f"W {W.shape}, class means {H.shape} and {counts.size} counts do not match")
    compare(W, H, counts, args.out)


if __name__ == "__main__":
    sys.exit(main())
