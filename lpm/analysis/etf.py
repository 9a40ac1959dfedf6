r"""The exact simplex-ETF test: is the optimum of a model a simplex ETF?

The best point of the simplex-ETF family is found by a 1-D convex search; the optimum is
a simplex ETF exactly when that point's Frank--Wolfe gap is zero up to rounding.
"""

from __future__ import annotations

import numpy as np

from ..certificates import NuclearBall
from ..model.logits import GroupedLogits
from ..model.model import Model
from .collapse import require_reducible


def etf_point(model: Model) -> GroupedLogits:
    r"""The best point of the simplex-ETF family :math:`Z = c (I - J/K)`,
    :math:`0 \le c \le \tau/(K-1)`, in grouped form (a 1-D convex problem, solved to
    machine precision by Brent's method on its derivative)."""
    g = model.groups
    if model.K < 2:
        raise ValueError("a simplex ETF needs K >= 2 classes")
    v = np.sqrt(g.sizes / model.K)
    shape = GroupedLogits(g, np.eye(g.G) - np.outer(v, v), np.where(g.sizes > 1, 1.0, 0.0))

    def slope(c):
        _, grad = shape.scaled(c).value_and_gradient(model)
        return grad.inner(shape)

    c_max = model.tau / (model.K - 1)
    if slope(c_max) <= 0:
        c = c_max
    elif slope(0.0) >= 0:
        c = 0.0
    else:
        from scipy.optimize import brentq  # scipy's import is slow: only when it is used

        c = brentq(slope, 0.0, c_max, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    return shape.scaled(c)


def etf_is_optimal(model: Model) -> bool:
    """Exact test: is the optimum of ``model`` a simplex ETF (``W W^T`` proportional to
    ``I - J/K``)? True iff the best ETF point has a zero Frank-Wolfe gap, up to rounding.

    The rounding allowance is 64 machine epsilons of the gap's terms and of
    ``tau * sigma_max(grad f(Z(1 + d)) - grad f(Z)) / d`` (``d = 2^-30``): the gradient's
    sensitivity to a relative change of ``Z``, i.e. its rounding level. That term matters
    where the loss reaches 0 at the ETF (squared loss, centered targets: the gradient
    there is pure rounding, of the size of ``Z`` times the loss curvature) and vanishes
    where the loss is flat (cross-entropy at large budgets, whose tiny gradient is
    computed to full relative accuracy).

    With ``fixed_classifier="etf"`` the classifiers are a simplex ETF by construction:
    True."""
    require_reducible(model, penalty=False)
    if model.fixed_classifier:
        return True
    Z = etf_point(model)
    b = NuclearBall().bound(model, Z, None)  # the certificate every solution carries
    d = 2.0**-30
    _, moved = b.logits.scaled(1.0 + d).value_and_gradient(model)
    change = GroupedLogits(moved.groups, moved.M - b.gradient.M, moved.s - b.gradient.s)
    scale = b.magnitude + model.tau * change.spectral_norm() / d
    return bool(b.gap <= 64 * np.finfo(float).eps * scale)
