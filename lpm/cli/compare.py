"""``lpm compare`` (a trained network's last layer against the LPM) and ``lpm reproduce
network`` (the trained-network experiment on handwritten digits)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..studies.compare import compare
from .options import UsageError, int_grid, number, output_options, real_grid
from .output import Output, print_table

#: rows ``lpm reproduce network`` prints
NETWORK_COLUMNS = (
    "R",
    "seed",
    "n_B",
    "train_error",
    "minority_cosine",
    "predicted_minority_cosine",
    "E_W",
    "E_H",
    "nc1",
)


def add_compare_parser(sub, formatter_class) -> None:
    p = sub.add_parser(
        "compare",
        help="a trained network's last layer against the LPM's prediction",
        formatter_class=formatter_class,
        description="Solve the LPM for the class counts of LABELS and the network's budgets\n"
        "(E_W = mean ||w_k||^2, E_H = class-averaged mean ||h_i||^2) and compare it with the\n"
        "network: Gram distances of classifiers and class means, the minority cosine measured\n"
        "and predicted, the exact collapse predicted, and NC1-NC4 of the network. W is K x p\n"
        "(one row per class), FEATURES N x p, LABELS N integers in 0..K-1: .npy files (or\n"
        "text: .txt, .csv).",
        epilog="examples:\n  lpm compare W.npy features.npy labels.npy\n"
        "  lpm compare W.npy features.npy labels.npy --center global --out cmp\n"
        "  lpm compare W.npy features.npy labels.npy --E_W 1 --E_H 5 --json",
    )
    p.add_argument("W", help="classifiers, K x p (.npy, .txt or .csv)")
    p.add_argument("features", help="features of the training samples, N x p")
    p.add_argument("labels", help="class of each sample, N integers in 0..K-1")
    p.add_argument("--counts", type=real_grid, help="class sizes (default: from the labels)")
    p.add_argument("--E_W", type=number, help="classifier budget (default: the network's)")
    p.add_argument("--E_H", type=number, help="feature budget (default: the network's)")
    p.add_argument(
        "--center",
        choices=["none", "global"],
        default="none",
        help="centre the features at their global mean first (for a last layer with a bias) (none)",
    )
    p.add_argument("--bias", help="the last layer's bias, K numbers (for NC4)")
    output_options(p)
    p.set_defaults(run=cmd_compare)


def _load(path: str, name: str) -> np.ndarray:
    if Path(path).suffix in (".txt", ".csv"):
        return np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, ndmin=1)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:  # a pickled object array, or not an .npy file
        raise ValueError(f"{name} {path}: cannot read it as a numpy array ({exc})") from None


def cmd_compare(args) -> int:
    W, H = _load(args.W, "W"), _load(args.features, "features")
    labels = _load(args.labels, "labels")
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # labels written as text come back as floats
    labels = labels.ravel() if labels.ndim == 2 and 1 in labels.shape else labels
    bias = None if args.bias is None else _load(args.bias, "bias").ravel()
    out = Output(args)
    c = compare(
        W,
        H,
        labels,
        counts=args.counts,
        E_W=args.E_W,
        E_H=args.E_H,
        center=None if args.center == "none" else args.center,
        bias=bias,
    )
    summary = c.summary()
    out.json_file(summary, "comparison")
    out.figure(c.plot, "comparison")
    if args.json:
        out.done(summary)
    else:
        print(c)
        if c.metrics is not None:
            print(c.metrics)
        out.done(summary)
    return 0 if c.solution.success else 1


def add_network_options(p) -> None:
    """Options of ``lpm reproduce network``."""
    p.add_argument(
        "--R",
        type=real_grid,
        help="network: imbalance ratios (1,2,5,10,20,50); mitigation: (10^(0.1 i), i=0..40)",
        default=None,
    )
    p.add_argument(
        "--seeds", type=int_grid, help="network: seeds, one network each (0,1,2)", default=None
    )


def cmd_network(args) -> int:
    from ..plotting.compare import network_figure
    from ..studies.network import DIGITS, digits_experiment

    if args.method != "reduced" or args.solver is not None:
        raise UsageError("lpm reproduce network: error: --method and --solver are for fig3")
    R = DIGITS["R"] if args.R is None else args.R
    seeds = DIGITS["seeds"] if args.seeds is None else args.seeds
    out = Output(args)
    try:
        table = digits_experiment(R, seeds)
    except ImportError as exc:
        raise UsageError(f"lpm reproduce network: error: {exc}") from None
    out.table(table, "network")
    out.figure(lambda: network_figure(table), "network")
    if args.json:
        out.done({"figure": "network", "settings": table.settings, "rows": table.to_records()})
    else:
        print(
            "Minority cosine of MLPs trained to zero error on sklearn's digits (majority 0-4, "
            "minority 5-9 at n_A / R), against the LPM at each network's budgets:"
        )
        print_table(table.rows, NETWORK_COLUMNS)
        out.done({})
    return 0 if all(table["train_error"] == 0) else 1
