r"""A trained network against the LPM, on real data: Minority Collapse on the handwritten
digits of scikit-learn (the experiment of the paper's Figure 4, on a CPU).

The data are scikit-learn's digits (1797 images of 8 x 8 pixels, 10 classes, about 180
each, shipped with scikit-learn: no download), pixels scaled to [0, 1]. The digits 0-4
are the ``K_A = 5`` majority classes, with all their images (``n_A`` each, on average);
the digits 5-9 are the ``K_B = 5`` minority classes, each subsampled at random to
:math:`n_B = \mathrm{round}(n_A / R)` images. A small network, scikit-learn's
``MLPClassifier`` (two ReLU layers of 64 and 32 units, full-batch L-BFGS, weight decay
``alpha``, seeded), is trained to zero training error; the minority cosine of its last
layer is measured and set against the LPM's prediction for the same class counts at the
network's own budgets (:func:`lpm.compare` with ``center="global"``: the last layer has
a bias, which absorbs the features' mean).

Needs scikit-learn: ``pip install scikit-learn`` (or the ``experiments`` extra).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .. import _progress, _threads
from .. import _validation as check
from .compare import compare
from .table import SweepTable

#: the experiment as the documentation runs it (docs/trained-network.md)
DIGITS = {
    "R": (1.0, 2.0, 5.0, 10.0, 20.0, 50.0),
    "seeds": (0, 1, 2),
    "hidden": (64, 32),
    "alpha": 1.0,
    "max_iter": 5000,
}

#: the digits that are majority classes (the others are the minority)
MAJORITY = (0, 1, 2, 3, 4)

COLUMNS = (
    "R",
    "seed",
    "K",
    "n_A",
    "n_B",
    "train_error",
    "iterations",
    "E_W",
    "E_H",
    "minority_cosine",
    "predicted_minority_cosine",
    "predicted_collapsed",
    "classifier_gram_distance",
    "feature_gram_distance",
    "nc1",
    "agreement",
    "time",
)


def _sklearn():
    try:
        import sklearn.datasets
        import sklearn.exceptions
        import sklearn.neural_network
    except ImportError:
        raise ImportError(
            "the trained-network experiment needs scikit-learn: pip install scikit-learn "
            '(or pip install "lpm[experiments]")'
        ) from None
    return sklearn


def digits_subset(R: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The imbalanced training set: all images of the digits 0-4, and for each of the
    digits 5-9 ``round(n_A / R)`` of its images (``n_A`` the mean count of 0-4; at most
    all of them), drawn with ``numpy.random.default_rng(seed)``.

    Returns ``(X, y)``: pixels in [0, 1] (``N x 64``) and labels (``N``), in the order of
    the data set.
    """
    R = check.real_at_least("R", R, 1.0)
    X, y = _sklearn().datasets.load_digits(return_X_y=True)
    counts = np.bincount(y)
    minority = [k for k in range(counts.size) if k not in MAJORITY]
    n_A = counts[list(MAJORITY)].mean()
    n_B = int(min(max(1, round(n_A / R)), counts[minority].min()))
    rng = np.random.default_rng(seed)
    keep = [np.flatnonzero(y == k) for k in MAJORITY]
    keep += [rng.choice(np.flatnonzero(y == k), n_B, replace=False) for k in minority]
    idx = np.sort(np.concatenate(keep))
    return X[idx] / 16.0, y[idx]


@dataclass(frozen=True)
class TrainedNetwork:
    """The last layer of a trained network: ``W`` (``K x p``), ``bias`` (``K``), the
    features of the training samples (``N x p``), the fraction of training samples it
    misclassifies, and the solver's iterations."""

    W: np.ndarray
    bias: np.ndarray
    features: np.ndarray
    train_error: float
    iterations: int


def train_mlp(
    X,
    y,
    *,
    hidden=DIGITS["hidden"],
    alpha: float = DIGITS["alpha"],
    seed: int = 0,
    max_iter: int = DIGITS["max_iter"],
    blas_threads: int | None = 1,
) -> TrainedNetwork:
    r"""Train scikit-learn's ``MLPClassifier`` (ReLU layers ``hidden``, full-batch
    L-BFGS, weight decay: the loss plus :math:`\frac{\alpha}{2N}` times the squared norm
    of every weight matrix) and return its last layer and the features it is fed.

    ``blas_threads``: BLAS threads of the training (None: as BLAS is configured). One by
    default: the same network whatever the caller's settings, and on two busy cores two
    threads made the two-network test run take 181 s of CPU instead of 15."""
    threads = _threads.check_threads(blas_threads)
    sk = _sklearn()
    net = sk.neural_network.MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        alpha=check.positive_real("alpha", alpha),
        solver="lbfgs",
        max_iter=check.class_count("max_iter", max_iter),
        tol=1e-6,
        random_state=seed,
    )
    with _threads.limited(threads):
        with warnings.catch_warnings():  # stopping at max_iter shows in .iterations
            warnings.simplefilter("ignore", sk.exceptions.ConvergenceWarning)
            net.fit(X, y)
        features = np.asarray(X, float)
        for A, a in zip(net.coefs_[:-1], net.intercepts_[:-1]):
            features = np.maximum(features @ A + a, 0.0)
    W, bias = net.coefs_[-1].T.copy(), net.intercepts_[-1].copy()
    error = float(np.mean((features @ W.T + bias).argmax(axis=1) != y))
    return TrainedNetwork(W, bias, features, error, int(net.n_iter_))


def digits_experiment(
    R=DIGITS["R"],
    seeds=(0,),
    *,
    hidden=DIGITS["hidden"],
    alpha: float = DIGITS["alpha"],
    max_iter: int = DIGITS["max_iter"],
    progress: bool | None = None,
) -> SweepTable:
    """Train one network per imbalance ``R`` and seed (:func:`digits_subset`,
    :func:`train_mlp`) and compare its last layer with the LPM (:func:`lpm.compare`,
    features centred at their global mean).

    Returns
    -------
    SweepTable
        One row per network: ``R``, ``seed``, ``K``, the counts ``n_A`` (mean) and
        ``n_B``, ``train_error``, the solver's ``iterations``, the budgets ``E_W`` and
        ``E_H``, the measured and predicted ``minority_cosine``, whether the LPM predicts
        exact collapse, the Gram distances, NC1, NC4 (``agreement``) and the ``time``.
    """
    R = check.positive_vector("R", R)
    seeds = [check.class_count("seeds", s, minimum=0) for s in np.atleast_1d(seeds).tolist()]
    rows = []
    with _progress.bar(R.size * len(seeds), "digits networks", progress=progress) as bar:
        for r in R:
            for seed in seeds:
                start = time.perf_counter()
                X, y = digits_subset(float(r), seed)
                net = train_mlp(X, y, hidden=hidden, alpha=alpha, seed=seed, max_iter=max_iter)
                minority = [k for k in range(10) if k not in MAJORITY]
                c = compare(
                    net.W, net.features, y, center="global", bias=net.bias, minority=minority
                )
                counts = c.counts
                rows.append(
                    {
                        "R": float(r),
                        "seed": seed,
                        "K": c.K,
                        "n_A": float(counts[list(MAJORITY)].mean()),
                        "n_B": float(counts[minority[0]]),
                        "train_error": net.train_error,
                        "iterations": net.iterations,
                        "E_W": c.E_W,
                        "E_H": c.E_H,
                        "minority_cosine": c.minority_stats.mean_cosine,
                        "predicted_minority_cosine": c.predicted_minority_stats.mean_cosine,
                        "predicted_collapsed": c.minority_collapsed,
                        "classifier_gram_distance": c.classifier_gram_distance,
                        "feature_gram_distance": c.feature_gram_distance,
                        "nc1": c.metrics.nc1,
                        "agreement": c.metrics.agreement,
                        "time": time.perf_counter() - start,
                    }
                )
                bar.update()
    settings = {
        "data": "sklearn digits, majority 0-4 (all images), minority 5-9 (n_A / R each)",
        "network": f"MLPClassifier{tuple(hidden)}, relu, lbfgs, alpha={alpha:g}",
        "center": "global",
    }
    swept = tuple(c for c, n in (("R", R.size), ("seed", len(seeds))) if n > 1)
    return SweepTable(rows, COLUMNS, swept, settings)
