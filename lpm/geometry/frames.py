r"""Frames of classifiers and features: norms, cosines, simplex ETFs, pairs of classes.

They take ``W`` (``K x p``, one classifier per row) and ``H`` (``K x p`` class means, or
per-sample features with labels) from an ``lpm`` solution or from a trained network, in
the same class order.

A *simplex equiangular tight frame* (ETF) is a set of ``K`` vectors of equal norm whose
pairwise cosines all equal :math:`-1/(K-1)`; its normalized Gram matrix is
:math:`\frac{K}{K-1}(I - \tfrac1K J)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as check

#: default tolerance of :func:`is_simplex_etf` (relative Frobenius distance)
ETF_TOL = 1e-6


def _as_rows(name, X, min_rows: int = 1) -> np.ndarray:
    X = check.real_array(name, X)
    if X.ndim != 2 or X.shape[0] < min_rows:
        raise ValueError(
            f"{name} must be a 2-D array with one row per class (at least {min_rows}), got "
            f"shape {X.shape}"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite")
    return X


def gram_cosines(gram: np.ndarray) -> np.ndarray:
    """Cosine matrix from a Gram matrix; rows of norm 0 give NaN cosines.

    Entries are clipped to [-1, 1]: a Gram matrix of real vectors obeys Cauchy-Schwarz, so
    anything outside is rounding.
    """
    d = np.sqrt(np.clip(np.diagonal(gram), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        C = gram / np.outer(d, d)
    C = np.clip(C, -1.0, 1.0)
    np.fill_diagonal(C, np.where(d > 0, 1.0, np.nan))
    return C


def cosine_matrix(W) -> np.ndarray:
    """Pairwise cosines of the rows of ``W`` (K x K)."""
    W = _as_rows("W", W)
    return gram_cosines(W @ W.T)


def norms(W) -> np.ndarray:
    """Euclidean norm of each row."""
    return np.linalg.norm(_as_rows("W", W), axis=1)


def simplex_etf_gram(K: int) -> np.ndarray:
    r"""Normalized Gram matrix of a simplex ETF, :math:`\frac{K}{K-1}(I - J/K)`."""
    K = check.class_count("K", K)
    if K < 2:
        raise ValueError(f"a simplex ETF needs K >= 2 vectors, got K={K}")
    check.memory((K, K), "the simplex-ETF Gram matrix", None)
    return K / (K - 1.0) * (np.eye(K) - 1.0 / K)


def etf_distance_gram(gram: np.ndarray) -> float:
    r"""Relative distance of a Gram matrix from the simplex-ETF Gram of the same trace:

    .. math:: \frac{\lVert G/\nu - \tfrac{K}{K-1}(I - J/K)\rVert_F}
                   {\lVert \tfrac{K}{K-1}(I - J/K)\rVert_F},\qquad \nu = \operatorname{tr}G/K.

    0 exactly for a simplex ETF (any norm, any rotation); invariant to scaling.
    """
    K = gram.shape[0]
    target = simplex_etf_gram(K)
    nu = np.trace(gram) / K
    if nu <= 0:
        return float("inf")
    return float(np.linalg.norm(gram / nu - target) / np.linalg.norm(target))


def etf_distance(W) -> float:
    """:func:`etf_distance_gram` of ``W W^T``."""
    W = _as_rows("W", W, min_rows=2)  # a simplex ETF needs K >= 2 vectors
    return etf_distance_gram(W @ W.T)


def is_simplex_etf(W, tol: float = ETF_TOL) -> bool:
    """Whether the rows of ``W`` form a simplex ETF up to ``tol``.

    ``tol`` bounds :func:`etf_distance`: the relative Frobenius error of the normalized
    Gram matrix. Cosines and squared norms are then within about ``tol * K`` of their ETF
    values. Use a tolerance above the accuracy of the data (for an ``lpm`` solution, well
    above the square root of its certified gap); :meth:`lpm.Solution.is_simplex_etf`
    without ``tol`` decides the model's optimum exactly instead.
    """
    tol = check.real_at_least("tol", tol, 0.0)
    return etf_distance(W) <= tol


def self_duality_distance(W, H) -> float:
    r"""Distance between classifiers and class-mean features after normalization:
    :math:`\lVert W/\lVert W\rVert_F - H/\lVert H\rVert_F\rVert_F` (0 when ``H`` is a
    positive multiple of ``W``, the self-duality of neural collapse)."""
    W, H = _as_rows("W", W), _as_rows("H", H)
    if W.shape != H.shape:
        raise ValueError(f"W and H must have the same shape, got {W.shape} and {H.shape}")
    nw, nh = np.linalg.norm(W), np.linalg.norm(H)
    if nw == 0 or nh == 0:
        return float("nan")
    return float(np.linalg.norm(W / nw - H / nh))


@dataclass(frozen=True)
class PairStats:
    """Statistics of the pairs of a set of classes.

    ``mean_cosine`` and ``min_cosine`` are over distinct pairs; ``max_distance`` is the
    largest Euclidean distance between two members. NaN with ``reason`` set when the set
    has fewer than two classes.
    """

    size: int
    mean_cosine: float
    min_cosine: float
    max_distance: float
    reason: str = ""


def no_pairs_stats(size: int, what: str) -> PairStats:
    nan = float("nan")
    return PairStats(
        size,
        nan,
        nan,
        nan,
        f"{what} has {size} class{'es' if size != 1 else ''}; pairwise statistics need at least 2",
    )


def pair_stats_from_gram(gram: np.ndarray, members, what: str = "the class set") -> PairStats:
    """:class:`PairStats` of the classes ``members`` from a Gram matrix."""
    members = np.asarray(members, dtype=int)
    if members.size < 2:
        return no_pairs_stats(members.size, what)
    sub = gram[np.ix_(members, members)]
    C = gram_cosines(sub)
    iu = np.triu_indices(members.size, 1)
    d = np.diagonal(sub)
    dist2 = d[:, None] + d[None, :] - 2.0 * sub
    distance = float(np.sqrt(max(dist2[iu].max(), 0.0)))
    if np.any(d <= 0):
        return zero_norm_stats(members.size, int((d <= 0).sum()), what, distance)
    return PairStats(members.size, float(C[iu].mean()), float(C[iu].min()), distance)


def zero_norm_stats(size: int, n_zero: int, what: str, distance: float, note: str = ""):
    """:class:`PairStats` for a set containing vectors of norm 0: cosines undefined."""
    nan = float("nan")
    reason = f"{n_zero} of the {size} vectors of {what} have norm 0, so cosines are undefined"
    return PairStats(size, nan, nan, distance, reason + note)


def pair_stats_from_groups(
    norm2: np.ndarray, inner: np.ndarray, cosines: np.ndarray, counts, what: str = "the class set"
) -> PairStats:
    """:class:`PairStats` of a class set from per-group geometry, with no K x K array.

    Parameters
    ----------
    norm2 : ndarray, shape (G,)
        Squared norm of a vector of each group.
    inner, cosines : ndarray, shape (G, G)
        Inner product and cosine of two distinct vectors of groups g and h (inside a
        group on the diagonal).
    counts : array_like of int, shape (G,)
        Members of the set in each group.
    """
    a = np.asarray(counts)
    size = int(a.sum())
    if size < 2:
        return no_pairs_stats(size, what)
    present = np.flatnonzero(a)
    dist2 = norm2[:, None] + norm2[None, :] - 2.0 * inner
    pairs = np.outer(a, a) - np.diag(a)  # ordered pairs of distinct members
    mask = np.zeros_like(pairs, dtype=bool)
    mask[np.ix_(present, present)] = True
    mask &= pairs > 0
    distance = float(np.sqrt(max(dist2[mask].max(), 0.0)))
    zero = present[norm2[present] <= 0]
    if zero.size:
        return zero_norm_stats(size, int(a[zero].sum()), what, distance)
    # weighted mean written around one value, so a single group's cosine is exact
    c, w = cosines[mask], pairs[mask] / pairs[mask].sum()
    mean = float(c[0] + w @ (c - c[0]))
    return PairStats(size, mean, float(c.min()), distance)


def minority_collapse_stats(W, minority) -> PairStats:
    """Mean and minimum pairwise cosine and largest distance of the minority classifiers
    (rows ``minority`` of ``W``)."""
    W = _as_rows("W", W)
    return pair_stats_from_gram(W @ W.T, minority, "the minority")
