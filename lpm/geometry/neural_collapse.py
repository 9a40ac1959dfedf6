r"""Neural-collapse measurements of labelled features, from any source (an ``lpm``
solution or a trained network's penultimate layer).

Notation: features :math:`h_i \in \mathbb{R}^p` with labels :math:`y_i`, ``N`` samples;
:math:`n_k` samples of class ``k``; the classes present (:math:`n_k > 0`) number
:math:`K'`; class means :math:`\mu_k = \frac{1}{n_k}\sum_{y_i = k} h_i`; the global mean
:math:`\mu_G = \frac1N \sum_i h_i`. The four properties of neural collapse (Papyan, Han,
Donoho 2020) are measured by

* NC1, within-class variability: :func:`nc1` (the trace form) and
  :func:`variability_cdnv` (the class-distance normalized variance);
* NC2, class means and classifiers at a simplex ETF: :func:`lpm.geometry.equinorm`,
  :func:`lpm.geometry.equiangularity`, :func:`lpm.geometry.max_equiangularity`,
  :func:`lpm.geometry.simplex_etf_error` (on the centred class means and on ``W``);
* NC3, self-duality: :func:`lpm.geometry.self_duality_distance` and
  :func:`lpm.geometry.self_duality_error`;
* NC4, the network decides like the nearest class mean: :func:`clf_ncc_agreement`;

all of them at once by :func:`neural_collapse_metrics`. Names follow the
``neural_collapse`` library of R. Wu where it has the measurement. Every one is 0 at
collapse except the agreement, which is 1.

Labels may be of any integer dtype; a class with no sample (absent from a batch) is
left out of what needs its mean, and reported. Features of any real dtype are scaled by
a power of two first (exact), so that features near the ends of the double range give
the numbers of features of norm 1.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .. import _validation as check
from .frames import (
    as_rows,
    equiangularity,
    equinorm,
    max_equiangularity,
    self_duality_distance,
    self_duality_error,
    simplex_etf_error,
    unit_scale,
)


@dataclass(frozen=True)
class ClassMeans:
    """Class counts and means of labelled features (see :func:`class_means`).

    Attributes
    ----------
    counts : ndarray of int, shape (K,)
        Samples of each class (0 for an absent class).
    means : ndarray, shape (K, p)
        Class means; NaN rows for absent classes.
    global_mean : ndarray, shape (p,)
        Mean of all samples, :math:`\\mu_G`.
    """

    counts: np.ndarray
    means: np.ndarray
    global_mean: np.ndarray

    @property
    def present(self) -> np.ndarray:
        """Indices of the classes with at least one sample."""
        return np.flatnonzero(self.counts)

    @property
    def absent(self) -> np.ndarray:
        """Indices of the classes with no sample."""
        return np.flatnonzero(self.counts == 0)


@dataclass(frozen=True)
class _Samples:
    """Checked features, scaled by the power of two ``scale``, and labels in [0, K)."""

    H: np.ndarray
    y: np.ndarray
    K: int
    scale: float
    counts: np.ndarray
    means: np.ndarray  # scaled; rows of absent classes are 0 here (never read)

    @property
    def present(self) -> np.ndarray:
        return np.flatnonzero(self.counts)


def _samples(features, labels, num_classes, *, absent_ok: bool) -> _Samples:
    H, scale = unit_scale(as_rows("features", features, "one row per sample"))
    if num_classes is not None:
        num_classes = check.class_count("num_classes", num_classes)
    y = check.labels("labels", labels, H.shape[0], num_classes)
    K = int(y.max()) + 1 if num_classes is None else num_classes
    counts = np.bincount(y, minlength=K)
    if not absent_ok and np.any(counts == 0):
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(
            f"labels must use every class 0..{K - 1}; classes {missing} are empty (pass "
            f"num_classes={K} to measure the classes present, e.g. in a batch)"
        )
    sums = np.zeros((K, H.shape[1]))
    np.add.at(sums, y, H)
    means = sums / np.maximum(counts, 1)[:, None]
    return _Samples(H, y, K, scale, counts, means)


def class_means(features, labels, *, num_classes: int | None = None) -> ClassMeans:
    r"""Class counts, class means :math:`\mu_k` and the global mean :math:`\mu_G`.

    Parameters
    ----------
    features : array_like, shape (N, p)
        One feature per row (any real dtype, or anything with ``__array__``).
    labels : array_like of int, shape (N,)
        Class of each row, in ``0 .. K-1`` (any integer dtype).
    num_classes : int, optional
        ``K``; default ``max(labels) + 1``. Classes without a sample get a NaN mean.
    """
    return _class_means(_samples(features, labels, num_classes, absent_ok=True))


def _class_means(s: _Samples) -> ClassMeans:
    means = s.means * s.scale
    means[s.counts == 0] = np.nan
    return ClassMeans(s.counts, means, s.H.mean(axis=0) * s.scale)


def nc1(features, labels, *, rtol: float = 1e-12, num_classes: int | None = None) -> float:
    r"""Within-class variability of features relative to their spread between classes (NC1).

    .. math:: \mathrm{NC1} = \frac1{K'} \operatorname{tr}\big(\Sigma_W \Sigma_B^{+}\big),\quad
              \Sigma_W = \frac1N\sum_{i} (h_i - \mu_{y_i})(h_i - \mu_{y_i})^\top,\quad
              \Sigma_B = \frac1{K'}\sum_k (\mu_k - \mu_G)(\mu_k - \mu_G)^\top,

    sums over the :math:`K'` classes present, :math:`\Sigma_B^{+}` the pseudo-inverse
    (Papyan, Han, Donoho 2020; ``covariance_pinv`` of the ``neural_collapse`` library).
    Range ``[0, inf)``: 0 exactly when every feature equals its class mean (within-class
    variability collapse); about 1 when the variability within classes is as large as
    the spread of their means. Invariant to rotating, shifting and scaling the features.

    Parameters
    ----------
    features : array_like, shape (N, p)
        One feature per row (any real dtype, or anything with ``__array__``).
    labels : array_like of int, shape (N,)
        Class of each row, in ``0 .. K-1`` (any integer dtype).
    rtol : float
        Eigenvalues of :math:`\Sigma_B` below ``rtol`` times the largest are treated as
        0 by the pseudo-inverse (directions in which the class means do not spread).
    num_classes : int, optional
        ``K``. Without it every class ``0 .. max(labels)`` must occur; with it, classes
        without a sample (absent from a batch) are left out (:func:`class_means` says
        which).

    Returns
    -------
    float
        ``NC1 >= 0``; NaN when the class means all coincide (no between-class spread).

    References
    ----------
    V. Papyan, X. Y. Han, D. L. Donoho, "Prevalence of neural collapse during the terminal
    phase of deep learning training", PNAS 117(40), 2020.
    """
    s = _samples(features, labels, num_classes, absent_ok=num_classes is not None)
    return _nc1(s, check.tolerance("rtol", rtol, 0.5))


def _nc1(s: _Samples, rtol: float) -> float:
    present = s.present
    dev = s.H - s.means[s.y]
    sigma_w = dev.T @ dev / s.H.shape[0]
    spread = s.means[present] - s.H.mean(axis=0)
    sigma_b = spread.T @ spread / present.size
    vals, vecs = np.linalg.eigh(sigma_b)
    top = vals.max(initial=0.0)
    if top <= 0:
        return float("nan")
    keep = vals > rtol * top
    # tr(Sigma_W Sigma_B^+) = sum over kept eigenpairs of v^T Sigma_W v / lambda
    proj = vecs[:, keep]
    quad = np.einsum("ij,ij->j", proj, sigma_w @ proj)
    return float(quad @ (1.0 / vals[keep]) / present.size)


def variability_cdnv(features, labels, *, num_classes: int | None = None) -> float:
    r"""Class-distance normalized variance (CDNV, NC1), averaged over pairs of classes:

    .. math:: \frac{2}{K'(K'-1)} \sum_{k < l}
              \frac{V_k + V_l}{2\,\lVert \mu_k - \mu_l\rVert^2},\qquad
              V_k = \frac{1}{n_k}\sum_{y_i = k} \lVert h_i - \mu_k\rVert^2,

    over the :math:`K'` classes present (Galanti, György, Hutter 2022;
    ``variability_cdnv`` of the ``neural_collapse`` library). Range ``[0, inf]``: 0
    exactly at within-class collapse; below 1 when classes are farther apart than they
    spread; ``inf`` when two classes have the same mean. Invariant to rotating, shifting
    and scaling the features.

    Parameters
    ----------
    features, labels, num_classes
        As for :func:`nc1` (classes without a sample are left out); at least two classes
        must be present.

    References
    ----------
    T. Galanti, A. György, M. Hutter, "On the role of neural collapse in transfer
    learning", ICLR 2022.
    """
    return _cdnv(_samples(features, labels, num_classes, absent_ok=num_classes is not None))


def _cdnv(s: _Samples) -> float:
    present = s.present
    if present.size < 2:
        raise ValueError(f"the CDNV needs at least 2 classes present, got {present.size}")
    dev = s.H - s.means[s.y]
    V = np.bincount(s.y, np.einsum("ij,ij->i", dev, dev), minlength=s.K)[present]
    V = V / s.counts[present]
    M = s.means[present] - s.H.mean(axis=0)
    total = 0.0
    for k in range(present.size - 1):  # one row of pairs at a time: O(K p) memory
        d2 = ((M[k + 1 :] - M[k]) ** 2).sum(axis=1)
        if np.any(d2 == 0):
            return float("inf")
        total += float(((V[k] + V[k + 1 :]) / (2.0 * d2)).sum())
    return total / (present.size * (present.size - 1) / 2)


def _checked_last_layer(W, features, labels) -> tuple[np.ndarray, _Samples]:
    """``W`` and the samples, with labels in ``[0, K)`` for the ``K`` rows of ``W`` and
    the features' ``p`` columns of ``W``."""
    W = as_rows("W", W)
    s = _samples(features, labels, None, absent_ok=True)
    if s.K > W.shape[0]:
        raise ValueError(
            f"labels must lie in [0, {W.shape[0]}) (one class per row of W), got the label "
            f"{s.K - 1}: W has fewer rows than the labels have classes (a transposed W?)"
        )
    if s.K < W.shape[0]:  # classes beyond the largest label: absent from the samples
        s = _samples(features, labels, W.shape[0], absent_ok=True)
    if W.shape[1] != s.H.shape[1]:
        raise ValueError(
            f"W {W.shape} (one row per class) and features {s.H.shape} (one row per sample) "
            f"must have the same number of columns p"
        )
    return W, s


def _agreement(s: _Samples, W: np.ndarray, bias, weighted: bool) -> float:
    K = W.shape[0]
    Ws, sw = unit_scale(W)
    logits = s.H @ Ws.T  # the network's logits divided by sw * s.scale
    if bias is not None:
        b = check.real_array("bias", bias)
        if b.shape != (K,) or not np.all(np.isfinite(b)):
            raise ValueError(f"bias must be {K} finite numbers (one per class), got {bias!r:.80}")
        logits = logits + b / (sw * s.scale)
    present = s.present
    M = s.means[present]
    # the nearest class mean: ||h - mu||^2 up to the ||h||^2 every class shares
    nearest = present[((M * M).sum(axis=1) - 2.0 * s.H @ M.T).argmin(axis=1)]
    agree = (logits.argmax(axis=1) == nearest).astype(float)
    if weighted:
        return float(agree.mean())
    return float((np.bincount(s.y, agree, minlength=s.K)[present] / s.counts[present]).mean())


def clf_ncc_agreement(W, features, labels, *, bias=None, weighted: bool = True) -> float:
    r"""Agreement of the network's decision with the nearest class mean (NC4):

    .. math:: \frac1N \sum_i \mathbb{1}\Big[\operatorname*{argmax}_k\, (w_k^\top h_i + b_k)
              = \operatorname*{argmin}_{k} \lVert h_i - \mu_k\rVert\Big]

    (``clf_ncc_agreement`` of the ``neural_collapse`` library), the nearest mean taken
    over the classes present. Range ``[0, 1]``: 1 when the classifier decides exactly
    like the nearest class mean, as it does at neural collapse (unlike the other
    measurements, 1 is collapse). Ties go to the lower class index.

    Parameters
    ----------
    W : array_like, shape (K, p)
        The last layer's weights, one row per class.
    features : array_like, shape (N, p)
        Features of the samples (the input of the last layer).
    labels : array_like of int, shape (N,)
        Class of each sample, in ``0 .. K-1``; they define the class means.
    bias : array_like, shape (K,), optional
        The last layer's bias.
    weighted : bool
        True: the fraction of samples (classes weighted by their counts). False: the
        mean over the classes present of each class's fraction.
    """
    W, s = _checked_last_layer(W, features, labels)
    return _agreement(s, W, bias, weighted)


#: the measurements of :class:`NeuralCollapseMetrics`: (name, what, range, value at collapse);
#: ``M`` is the matrix of class means centred at the global mean
METRICS = (
    ("nc1", "NC1 tr(Sigma_W Sigma_B^+)/K", "[0, inf)", 0.0),
    ("cdnv", "NC1 class-distance normalized variance", "[0, inf]", 0.0),
    ("equinorm_means", "NC2 std/mean of the norms of M", "[0, sqrt(K-1)]", 0.0),
    ("equinorm_classifiers", "NC2 std/mean of the norms of W", "[0, sqrt(K-1)]", 0.0),
    ("equiangularity_means", "NC2 std of the cosines of M", "[0, 1]", 0.0),
    ("equiangularity_classifiers", "NC2 std of the cosines of W", "[0, 1]", 0.0),
    ("max_equiangularity_means", "NC2 mean |cos + 1/(K-1)| of M", "[0, K/(K-1)]", 0.0),
    ("max_equiangularity_classifiers", "NC2 mean |cos + 1/(K-1)| of W", "[0, K/(K-1)]", 0.0),
    ("etf_error_means", "NC2 simplex-ETF error of M", "[0, sqrt 2]", 0.0),
    ("etf_error_classifiers", "NC2 simplex-ETF error of W", "[0, sqrt 2]", 0.0),
    ("self_duality", "NC3 ||W/||W|| - M/||M|| ||", "[0, 2]", 0.0),
    ("self_duality_error", "NC3 simplex-ETF error of W M^T", "[0, 2]", 0.0),
    ("agreement", "NC4 agreement with nearest class mean", "[0, 1]", 1.0),
)


@dataclass(frozen=True)
class NeuralCollapseMetrics:
    """The neural-collapse measurements of a last layer (:func:`neural_collapse_metrics`).

    Each measurement is an attribute named as in :data:`METRICS`, which gives its range
    and its value at collapse (0 for all but ``agreement``, which is 1). ``M`` is the
    matrix of the class means centred at the global mean, over the classes present.

    Attributes
    ----------
    K : int
        Classes (rows of ``W``).
    counts : ndarray of int, shape (K,)
        Samples of each class.
    absent : ndarray of int
        Classes with no sample: left out of every measurement of class means.
    undefined : dict
        Measurements that are NaN, with the reason (e.g. a class mean at the global mean
        has no angle).
    """

    K: int
    counts: np.ndarray
    absent: np.ndarray
    nc1: float
    cdnv: float
    equinorm_means: float
    equinorm_classifiers: float
    equiangularity_means: float
    equiangularity_classifiers: float
    max_equiangularity_means: float
    max_equiangularity_classifiers: float
    etf_error_means: float
    etf_error_classifiers: float
    self_duality: float
    self_duality_error: float
    agreement: float
    undefined: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Plain-Python ``{name: value}`` of every measurement, with ``absent``."""
        out = {name: getattr(self, name) for name, *_ in METRICS}
        out["absent"] = self.absent.tolist()
        return out

    def __str__(self) -> str:
        lines = [f"neural collapse of K = {self.K} classes ({int(self.counts.sum())} samples)"]
        if self.absent.size:
            lines[0] += f"; absent classes {self.absent.tolist()} left out"
        for name, what, rng, ideal in METRICS:
            value = getattr(self, name)
            note = f"  ({self.undefined[name]})" if name in self.undefined else ""
            lines.append(
                f"  {name:<31} {value:10.4g}  {what:<39} {rng:>13}, {ideal:g} at collapse{note}"
            )
        return "\n".join(lines)


def neural_collapse_metrics(
    W, features, labels, *, bias=None, rtol: float = 1e-12
) -> NeuralCollapseMetrics:
    r"""Every neural-collapse measurement of a last layer: NC1 to NC4 (see
    :data:`METRICS` and the functions named there).

    Class means are centred at the global mean :math:`\mu_G` of the samples for NC2 and
    NC3 (Papyan, Han, Donoho 2020); classes with no sample are left out of them (and of
    NC1) and reported in ``absent``; the classifiers' NC2 uses every row of ``W``.

    Parameters
    ----------
    W : array_like, shape (K, p)
        The last layer's weights, one row per class (any real dtype or ``__array__``).
    features : array_like, shape (N, p)
        The features of the samples (the last layer's input).
    labels : array_like of int, shape (N,)
        Class of each sample, in ``0 .. K-1``, any integer dtype.
    bias : array_like, shape (K,), optional
        The last layer's bias (only NC4 uses it).
    rtol : float
        For :func:`nc1`.

    Returns
    -------
    NeuralCollapseMetrics
    """
    rtol = check.tolerance("rtol", rtol, 0.5)
    W, s = _checked_last_layer(W, features, labels)
    stats = _class_means(s)
    present = stats.present
    M = stats.means[present] - stats.global_mean
    undefined: dict[str, str] = {}

    def measure(name, f, *args):
        try:
            return f(*args)
        except ValueError as exc:
            undefined[name] = str(exc)
            return math.nan

    values = {
        "nc1": _nc1(s, rtol),
        "cdnv": measure("cdnv", _cdnv, s),
        "agreement": _agreement(s, W, bias, True),
    }
    nc2 = (
        ("equinorm", equinorm),
        ("equiangularity", equiangularity),
        ("max_equiangularity", max_equiangularity),
        ("etf_error", simplex_etf_error),
    )
    for (name, f), (what, X) in itertools.product(nc2, (("means", M), ("classifiers", W))):
        values[f"{name}_{what}"] = measure(f"{name}_{what}", f, X)
    values["self_duality"] = self_duality_distance(W[present], M)
    if math.isnan(values["self_duality"]):
        undefined["self_duality"] = "W or the centred class means are 0"
    values["self_duality_error"] = measure("self_duality_error", self_duality_error, W[present], M)
    if math.isnan(values["nc1"]):
        undefined["nc1"] = "the class means coincide (no spread between classes)"
    return NeuralCollapseMetrics(
        W.shape[0], stats.counts, stats.absent, undefined=undefined, **values
    )
