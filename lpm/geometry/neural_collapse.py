r"""Neural-collapse measurements on features from any source (an ``lpm`` solution or a
trained network's penultimate layer)."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _validation as check


def nc1(features, labels, *, rtol: float = 1e-12) -> float:
    r"""Within-class variability of features relative to their spread between classes (NC1).

    .. math:: \mathrm{NC1} = \frac1K \operatorname{tr}\big(\Sigma_W \Sigma_B^{+}\big),\qquad
              \Sigma_W = \frac1N\sum_{i} (h_i - \mu_{y_i})(h_i - \mu_{y_i})^\top,\quad
              \Sigma_B = \frac1K\sum_k (\mu_k - \mu_G)(\mu_k - \mu_G)^\top,

    with class means :math:`\mu_k`, the global mean :math:`\mu_G` of all ``N`` samples and
    :math:`\Sigma_B^{+}` the pseudo-inverse (Papyan, Han, Donoho 2020). It is 0 exactly
    when every feature equals its class mean (within-class variability collapse).
    Works on any features, e.g. a trained network's penultimate layer.

    Parameters
    ----------
    features : array_like, shape (N, p)
        One feature per row.
    labels : array_like of int, shape (N,)
        Class of each row, in ``0 .. K-1``; every class must occur.
    rtol : float
        Eigenvalues of :math:`\Sigma_B` below ``rtol`` times the largest are treated as
        0 by the pseudo-inverse (directions in which the class means do not spread).

    Returns
    -------
    float
        ``NC1 >= 0``; NaN when the class means all coincide (no between-class spread).

    References
    ----------
    V. Papyan, X. Y. Han, D. L. Donoho, "Prevalence of neural collapse during the terminal
    phase of deep learning training", PNAS 117(40), 2020.
    """
    H = check.real_array("features", features)
    if H.ndim != 2 or H.shape[0] < 1:
        raise ValueError(
            f"features must be a 2-D array with one row per sample, got shape {H.shape}"
        )
    if not np.all(np.isfinite(H)):
        raise ValueError("features must be finite")
    y = np.asarray(labels)
    if y.shape != (H.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(
            "labels must be a 1-D array of nonnegative integers, one per row of features "
            f"({H.shape[0]}), got {np.asarray(labels)!r:.80}"
        )
    counts = np.bincount(y)
    K = counts.size
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"labels must use every class 0..{K - 1}; classes {missing} are empty")
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 < rtol < 1:
        raise ValueError(f"rtol must be a real number in (0, 1), got {rtol!r}")
    sums = np.zeros((K, H.shape[1]))
    np.add.at(sums, y, H)
    means = sums / counts[:, None]
    dev = H - means[y]
    sigma_w = dev.T @ dev / H.shape[0]
    spread = means - H.mean(axis=0)
    sigma_b = spread.T @ spread / K
    vals, vecs = np.linalg.eigh(sigma_b)
    top = vals.max(initial=0.0)
    if top <= 0:
        return float("nan")
    keep = vals > rtol * top
    # tr(Sigma_W Sigma_B^+) = sum over kept eigenpairs of v^T Sigma_W v / lambda
    proj = vecs[:, keep]
    return float(np.einsum("ij,ij->j", proj, sigma_w @ proj) @ (1.0 / vals[keep]) / K)
