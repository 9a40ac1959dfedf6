"""The loss's own optimum with no budget, when it is finite: where a budget stops binding."""

from __future__ import annotations

import numpy as np

from .logits import GroupedLogits
from .losses import Loss


def unconstrained_minimizer(layout, loss: Loss) -> GroupedLogits | None:
    """The least-nuclear-norm minimizer of ``f`` without a budget, in grouped form, or
    None when the loss has no finite minimizer.

    Rows of positive weight sit at the loss's own row minimizer (centered for a
    shift-invariant loss); rows of weight 0 are 0 (every row is optimal there). Every
    minimizer maps to this one by zeroing the weight-0 rows and, for a shift-invariant
    loss, multiplying by ``I - J/K`` on the right; both maps never raise the nuclear norm.
    So the budget is slack exactly when it is at least this point's nuclear norm, and then
    this point is optimal.
    """
    margin = loss.unconstrained_margin(layout.K)
    if margin is None:
        return None
    own, other = margin
    sizes = layout.sizes
    sq = np.sqrt(sizes.astype(float))
    M = (own - other) * np.eye(sizes.size) + other * np.outer(sq, sq)
    s = np.where(sizes > 1, own - other, 0.0)
    dead = layout.weights <= 0
    M[dead] = 0.0
    s[dead] = 0.0
    return GroupedLogits(layout, M, s)
