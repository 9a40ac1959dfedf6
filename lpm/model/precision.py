"""The range of budgets where double precision determines the optimum, and square roots
of products and ratios of budgets that cannot over- or underflow."""

from __future__ import annotations

import functools
import math

import numpy as np

from .losses import Loss

#: smallest budget product ``E_W E_H`` accepted. Below it the loss varies over the whole
#: budget by less than its rounding error (about ``K sqrt(E_W E_H)`` against ``1e-16``),
#: so double precision no longer determines the optimal geometry: measured, the reduced
#: solver's classifier Gram matrices stay exact down to ``E_W E_H ~ 1e-32`` and are wrong
#: below; this bound keeps eight decades of margin.
MIN_BUDGET_PRODUCT = 1e-24

#: an optimal loss below this is out of double precision (the solvers stop there)
LOSS_FLOOR = 1e-290


def safe_ratio_sqrt(a: float, b: float) -> float:
    """``sqrt(a / b)`` for positive doubles, also where ``a / b`` leaves the normal range
    (``1e-200 / 1e200``): then as ``sqrt(a) / sqrt(b)``, which cannot over- or underflow.
    Within the range the direct form is kept (the same numbers as before)."""
    ratio = a / b
    if _TINY <= ratio <= _HUGE:
        return math.sqrt(ratio)
    return math.sqrt(a) / math.sqrt(b)


def safe_product_sqrt(a: float, b: float) -> float:
    """``sqrt(a * b)`` for positive doubles, as ``sqrt(a) sqrt(b)`` where ``a * b`` leaves
    the normal range (see :func:`safe_ratio_sqrt`)."""
    product = a * b
    if _TINY <= product <= _HUGE:
        return math.sqrt(product)
    return math.sqrt(a) * math.sqrt(b)


_TINY, _HUGE = float(np.finfo(float).tiny), float(np.finfo(float).max)


def etf_loss(loss: Loss, K: int, groups=None):
    """The objective at the simplex-ETF logits ``c (I - J/K)``,
    ``c = K sqrt(E_W E_H) / (K - 1)`` (feasible, so an upper bound on the optimal value),
    as a function of ``log sqrt(E_W E_H)``. A class-dependent loss needs the model's
    ``groups``: each group's row, with one slot per group of other classes."""
    if not loss.class_dependent:
        mult = np.array([[1.0, K - 1.0]])

        def value(log_b: float) -> float:
            c = K * math.exp(log_b) / (K - 1)
            return float(loss.rows(np.array([[c * (K - 1) / K, -c / K]]), mult)[0][0])

        return value
    G, first = groups.G, groups.first
    sizes = groups.sizes.astype(float)
    # slot 0: the row's own class; slot 1 + h: the other classes of group h
    mult = np.hstack([np.ones((G, 1)), sizes[None, :] - np.eye(G)])
    classes = np.hstack([first[:, None], np.broadcast_to(first, (G, G))])
    weight = sizes * np.asarray(groups.weights, float)

    def value(log_b: float) -> float:
        c = K * math.exp(log_b) / (K - 1)
        V = np.hstack([np.full((G, 1), c * (K - 1) / K), np.full((G, G), -c / K)])
        return float(weight @ loss.rows(V, mult, classes=classes)[0])

    return value


def largest_product(value) -> float:
    """The largest ``E_W E_H`` at which ``value`` (of :func:`etf_loss`, decreasing) is at
    least :data:`LOSS_FLOOR`: by bisection on ``log sqrt(E_W E_H)``."""
    lo, hi = 0.0, math.log(1e150)
    if value(hi) >= LOSS_FLOOR:
        return math.inf
    if value(lo) < LOSS_FLOOR:
        return 1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if value(mid) >= LOSS_FLOOR else (lo, mid)
    return math.exp(2 * lo)


@functools.lru_cache(maxsize=64)
def _max_budget_product(loss: Loss, K: int) -> float:
    return largest_product(etf_loss(loss, K))


def max_budget_product(loss: Loss, K: int) -> float:
    """The largest ``E_W E_H`` at which the loss of the simplex-ETF logits, an upper bound
    on the optimal value, is at least :data:`LOSS_FLOOR` (for a loss without a finite
    minimizer that treats all classes alike; cached)."""
    try:
        return _max_budget_product(loss, K)
    except TypeError:  # a user's loss that cannot be hashed
        return largest_product(etf_loss(loss, K))
