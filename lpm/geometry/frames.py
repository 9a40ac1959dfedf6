r"""Frames of classifiers and features: norms, cosines, simplex ETFs, pairs of classes.

They take ``W`` (``K x p``, one classifier per row) and ``H`` (``K x p`` class means, or
per-sample features with labels) from an ``lpm`` solution or from a trained network, in
the same class order: numpy arrays of any real dtype, or anything with ``__array__``
(a torch tensor on the CPU).

A *simplex equiangular tight frame* (ETF) is a set of ``K`` vectors of equal norm whose
pairwise cosines all equal :math:`-1/(K-1)`; its normalized Gram matrix is
:math:`\frac{K}{K-1}(I - \tfrac1K J)`. The measurements of neural collapse on ``K``
vectors (NC2: :func:`equinorm`, :func:`equiangularity`, :func:`max_equiangularity`,
:func:`simplex_etf_error`; NC3: :func:`self_duality_error`) are defined here; those that
need per-sample features are in :mod:`lpm.geometry.neural_collapse`.

Every quantity here is invariant to scaling the vectors, and each function scales its
input by a power of two before squaring it (exact in floating point), so vectors of norm
``1e160`` or ``1e-170`` give the same answer as vectors of norm 1.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import _validation as check

#: default tolerance of :func:`is_simplex_etf` (relative Frobenius distance)
ETF_TOL = 1e-6


def as_rows(name: str, X, rows: str = "one row per class") -> np.ndarray:
    """``X`` as a finite float64 ``2-D`` array (any real dtype, anything with
    ``__array__``); ValueError naming ``name`` otherwise."""
    return check.real_matrix(name, X, rows)


def unit_scale(X: np.ndarray) -> tuple[np.ndarray, float]:
    """``(X / s, s)`` with ``s`` a power of two such that the largest ``|entry|`` of
    ``X / s`` lies in ``[1/2, 1)`` (``s = 1`` for ``X = 0``).

    Dividing by a power of two is exact, so a scale-invariant quantity computed from
    ``X / s`` is the one of ``X``, without the overflow or underflow of squaring entries
    near the ends of the double range.
    """
    top = float(np.max(np.abs(X), initial=0.0))
    if top == 0.0:
        return X, 1.0
    s = math.ldexp(1.0, math.frexp(top)[1])
    return X / s, s


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


def _scaled_gram(name: str, W) -> np.ndarray:
    """``W W^T`` of ``W`` scaled to entries below 1 (a Gram matrix up to a positive factor)."""
    W = unit_scale(as_rows(name, W))[0]
    return W @ W.T


def cosine_matrix(W) -> np.ndarray:
    """Pairwise cosines of the rows of ``W`` (K x K); rows of norm 0 give NaN."""
    return gram_cosines(_scaled_gram("W", W))


def norms(W) -> np.ndarray:
    """Euclidean norm of each row."""
    W, s = unit_scale(as_rows("W", W))
    return np.linalg.norm(W, axis=1) * s


def simplex_etf_gram(K: int) -> np.ndarray:
    r"""Normalized Gram matrix of a simplex ETF, :math:`\frac{K}{K-1}(I - J/K)`."""
    K = check.class_count("K", K)
    if K < 2:
        raise ValueError(f"a simplex ETF needs K >= 2 vectors, got K={K}")
    check.memory((K, K), "the simplex-ETF Gram matrix", None)
    return K / (K - 1.0) * (np.eye(K) - 1.0 / K)


def gram_distance(gram: np.ndarray, reference: np.ndarray) -> float:
    r"""Relative distance between two Gram matrices of the same size, each divided by
    its trace:

    .. math:: \frac{\lVert G/\operatorname{tr}G - G_0/\operatorname{tr}G_0\rVert_F}
                   {\lVert G_0/\operatorname{tr}G_0\rVert_F} .

    0 exactly when ``G`` is a positive multiple of ``G_0`` (the same vectors up to a
    common rotation and scale); invariant to scaling either. ``inf`` when ``G`` has
    trace 0 (every vector 0).

    Parameters
    ----------
    gram, reference : ndarray, shape (K, K)
        Positive semidefinite; ``reference`` (``G_0``) with a positive trace.
    """
    gram, reference = check.real_array("gram", gram), check.real_array("reference", reference)
    if gram.shape != reference.shape or gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError(
            f"gram and reference must be square matrices of the same size, got shapes "
            f"{gram.shape} and {reference.shape}"
        )
    for name, G in (("gram", gram), ("reference", reference)):
        if not np.all(np.isfinite(G)):
            raise ValueError(f"{name} must be finite (a Gram matrix of finite vectors)")
    t0 = np.trace(reference)
    if not t0 > 0:
        raise ValueError(f"reference must have a positive trace, got {t0}")
    t = np.trace(gram)
    if t <= 0:
        return float("inf")
    target = reference / t0
    return float(np.linalg.norm(gram / t - target) / np.linalg.norm(target))


def etf_distance_gram(gram: np.ndarray) -> float:
    r"""Relative distance of a Gram matrix from the simplex-ETF Gram of the same trace:

    .. math:: \frac{\lVert G/\nu - \tfrac{K}{K-1}(I - J/K)\rVert_F}
                   {\lVert \tfrac{K}{K-1}(I - J/K)\rVert_F},\qquad \nu = \operatorname{tr}G/K

    (:func:`gram_distance` to the ETF Gram). 0 exactly for a simplex ETF (any norm, any
    rotation); invariant to scaling; ``inf`` when every vector is 0.
    """
    return gram_distance(gram, simplex_etf_gram(np.shape(gram)[0]))


def etf_distance(W) -> float:
    """:func:`etf_distance_gram` of ``W W^T``."""
    gram = _scaled_gram("W", W)
    if gram.shape[0] < 2:
        raise ValueError("W must have at least 2 rows (a simplex ETF has K >= 2), got 1")
    return etf_distance_gram(gram)


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


def _same_shape(W: np.ndarray, H: np.ndarray, names=("W", "H")) -> None:
    if W.shape != H.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (one row per class), got "
            f"{W.shape} and {H.shape}"
        )


def self_duality_distance(W, H) -> float:
    r"""Distance between classifiers and class-mean features after normalization:
    :math:`\lVert W/\lVert W\rVert_F - H/\lVert H\rVert_F\rVert_F` (0 when ``H`` is a
    positive multiple of ``W``, the self-duality of neural collapse, NC3 of Papyan, Han,
    Donoho 2020, who plot its square). Range ``[0, 2]``; NaN when ``W`` or ``H`` is 0."""
    W, H = as_rows("W", W), as_rows("H", H)
    _same_shape(W, H)
    W, H = unit_scale(W)[0], unit_scale(H)[0]
    nw, nh = np.linalg.norm(W), np.linalg.norm(H)
    if nw == 0 or nh == 0:
        return float("nan")
    return float(np.linalg.norm(W / nw - H / nh))


# -- neural collapse of K vectors: NC2 and NC3 -------------------------------------------
def _pair_cosines(name: str, X) -> tuple[np.ndarray, int]:
    """Cosines of the distinct pairs of rows of ``X`` and ``K``; ValueError for fewer
    than two rows or a row of norm 0 (its angles are undefined)."""
    gram = _scaled_gram(name, X)
    K = gram.shape[0]
    if K < 2:
        raise ValueError(f"{name} must have at least 2 rows for pairwise angles, got {K}")
    zero = np.flatnonzero(np.diagonal(gram) == 0)
    if zero.size:
        raise ValueError(f"{name} has rows of norm 0 (rows {zero.tolist()}): angles undefined")
    return gram_cosines(gram)[np.triu_indices(K, 1)], K


def equinorm(X) -> float:
    r"""How far the rows of ``X`` are from equal norms (NC2, equinorm): the coefficient
    of variation of the norms,

    .. math:: \frac{\operatorname{std}_k \lVert x_k\rVert}{\operatorname{mean}_k \lVert x_k\rVert}

    (population standard deviation; Papyan, Han, Donoho 2020, Fig. 2, on classifiers and
    on class means centred at the global mean). Range ``[0, \sqrt{K-1}]``: 0 exactly
    when every row has the same norm, ``\sqrt{K-1}`` when one row carries all of it.

    Parameters
    ----------
    X : array_like, shape (K, p)
        Classifiers or (centred) class means, one row per class.
    """
    n = np.linalg.norm(unit_scale(as_rows("X", X))[0], axis=1)
    if not n.max() > 0:
        raise ValueError("X has only rows of norm 0: the variation of their norms is undefined")
    return float(n.std() / n.mean())


def equiangularity(X) -> float:
    r"""How far the rows of ``X`` are from equal angles (NC2, equiangularity): the
    standard deviation of the cosines of the distinct pairs,
    :math:`\operatorname{std}_{k < k'} \cos\angle(x_k, x_{k'})` (Papyan, Han, Donoho
    2020, Fig. 3). Range ``[0, 1]``: 0 exactly when every pair has the same cosine (at
    any angle; see :func:`max_equiangularity` for the simplex one).

    Raises ``ValueError`` for fewer than 2 rows or a row of norm 0.
    """
    return float(_pair_cosines("X", X)[0].std())


def max_equiangularity(X) -> float:
    r"""How far the angles of the rows of ``X`` are from the simplex angle (NC2, maximal
    equiangularity): the mean of :math:`\lvert\cos\angle(x_k, x_{k'}) + 1/(K-1)\rvert`
    over distinct pairs (Papyan, Han, Donoho 2020, Fig. 4). Range
    ``[0, K/(K-1)]``: 0 exactly when every cosine is :math:`-1/(K-1)`, the largest
    equal angle of ``K`` vectors.

    Raises ``ValueError`` for fewer than 2 rows or a row of norm 0.
    """
    c, K = _pair_cosines("X", X)
    return float(np.abs(c + 1.0 / (K - 1)).mean())


def _structure_error(cross: np.ndarray) -> float:
    r""":math:`\lVert C/\lVert C\rVert_F - (I - J/K)/\sqrt{K-1}\rVert_F` (the second
    term is the simplex-ETF Gram of Frobenius norm 1)."""
    K = cross.shape[0]
    ideal = (np.eye(K) - 1.0 / K) / math.sqrt(K - 1)
    return float(np.linalg.norm(cross / np.linalg.norm(cross) - ideal))


def simplex_etf_error(X) -> float:
    r"""Distance of the rows of ``X`` from a simplex ETF (NC2), with both Gram matrices
    of Frobenius norm 1:

    .. math:: \Big\lVert \frac{X X^\top}{\lVert X X^\top\rVert_F}
              - \frac{I - J/K}{\sqrt{K-1}} \Big\rVert_F

    (Kothapalli 2023; ``simplex_etf_error`` of the ``neural_collapse`` library, which
    applies it to class means centred at the global mean). Range ``[0, \sqrt2]``: 0
    exactly for a simplex ETF of any norm and rotation. :func:`etf_distance` measures the
    same thing with trace-normalized Gram matrices, relative to the ETF's norm.
    """
    gram = _scaled_gram("X", X)
    if gram.shape[0] < 2:
        raise ValueError(f"X must have at least 2 rows for a simplex ETF, got {gram.shape[0]}")
    if not np.trace(gram) > 0:
        raise ValueError("X has only rows of norm 0: no simplex ETF structure to measure")
    return _structure_error(gram)


def self_duality_error(W, H) -> float:
    r"""Distance of the classifier-feature products from the simplex structure (NC3):

    .. math:: \Big\lVert \frac{W H^\top}{\lVert W H^\top\rVert_F}
              - \frac{I - J/K}{\sqrt{K-1}} \Big\rVert_F

    (``self_duality_error`` of the ``neural_collapse`` library, Kothapalli 2023, with
    ``H`` the class means centred at the global mean). 0 exactly when ``W`` and ``H``
    are the same simplex ETF up to scale and a common rotation, i.e. self-dual and
    collapsed; unlike :func:`self_duality_distance` it is not 0 for a self-dual pair that
    is not an ETF. Range ``[0, 2]``.
    """
    W, H = as_rows("W", W), as_rows("H", H)
    _same_shape(W, H)
    if W.shape[0] < 2:
        raise ValueError(f"W and H must have at least 2 rows, got {W.shape[0]}")
    cross = unit_scale(W)[0] @ unit_scale(H)[0].T
    if not np.any(cross):
        raise ValueError("W H^T is 0 (W or H is 0, or they are orthogonal): NC3 undefined")
    return _structure_error(cross)


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
    """:class:`PairStats` of the classes ``members`` (indices or a boolean mask, see
    :func:`lpm._validation.class_subset`) from a Gram matrix."""
    members = check.class_subset("members", members, np.shape(gram)[0])
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
    a = np.asarray(counts).tolist()
    size = sum(a)
    if size < 2:
        return no_pairs_stats(size, what)
    inside = [g for g, k in enumerate(a) if k]
    if len(inside) == 1:  # one group: its one pair, in floats (as group_pair_arrays has it)
        g = inside[0]
        n2 = float(norm2[g])
        dist2 = n2 + n2 - 2.0 * float(inner[g, g])
        low = float(cosines[g, g])
        mean = low + 0.0
        distance, zero = math.sqrt(max(dist2, 0.0)), a[g] if n2 <= 0 else 0
    else:
        mean, low, distance, zero = group_pair_arrays(norm2, inner, cosines, a)
    if zero:
        return zero_norm_stats(size, int(zero), what, float(distance))
    return PairStats(size, float(mean), float(low), float(distance))


def group_pair_arrays(norm2, inner, cosines, counts):
    """The numbers of :func:`pair_stats_from_groups` for one point or a stack of points
    sharing ``counts`` (at least two members): ``norm2`` (..., G), ``inner`` and
    ``cosines`` (..., G, G). Elementwise over the leading axes, and summed in order over
    at most eight pairs of groups (a set in one or two groups), so that there a point
    gets the same numbers alone or in a stack, bit for bit.

    Returns
    -------
    mean, low, distance : ndarray, shape (...)
        Mean and smallest cosine over the pairs of distinct members, largest distance.
    zero : ndarray of int, shape (...)
        Members whose vector has norm 0 (their cosines, and so ``mean``, are undefined).
    """
    a = np.asarray(counts)
    g, h, w = _group_pairs(tuple(a.tolist()))
    dist2 = norm2[..., g] + norm2[..., h] - 2.0 * inner[..., g, h]
    distance = np.sqrt(np.maximum(dist2.max(axis=-1), 0.0))
    zero = ((norm2 <= 0) * a).sum(axis=-1)
    # weighted mean written around one value, so a single group's cosine is exact; a few
    # terms are summed in order (numpy reduces a stack's rows in another order than one
    # row: the sweep's rows, of one or two groups, are the single solves' bit for bit)
    c = cosines[..., g, h]
    dev = c - c[..., :1]
    if g.size <= 8:
        total = w[0] * dev[..., 0]
        for j in range(1, g.size):
            total = total + w[j] * dev[..., j]
    else:
        total = (w * dev).sum(axis=-1)
    return c[..., 0] + total, c.min(axis=-1), distance, zero


@functools.lru_cache(maxsize=64)
def _group_pairs(counts: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g, h, w)``: the group pairs holding two distinct members of a class set with
    ``counts`` members per group, and the share of the pairs of members each holds."""
    a = np.array(counts)
    pairs = np.outer(a, a) - np.diag(a)  # ordered pairs of distinct members
    g, h = np.nonzero(pairs > 0)
    out = g, h, pairs[g, h] / pairs[g, h].sum()
    for array in out:
        array.setflags(write=False)  # shared by every call with these counts
    return out


def minority_collapse_stats(W, minority) -> PairStats:
    """Mean and minimum pairwise cosine and largest distance of the minority classifiers.

    Parameters
    ----------
    W : array_like, shape (K, p)
        Classifiers, one row per class.
    minority : array_like
        The minority classes: integer indices in ``[0, K)``, each once, or a boolean
        mask of ``K`` entries.
    """
    W, s = unit_scale(as_rows("W", W))
    members = check.class_subset("minority", minority, W.shape[0])
    stats = pair_stats_from_gram(W @ W.T, members, "the minority")
    return dataclasses.replace(stats, max_distance=stats.max_distance * s)
