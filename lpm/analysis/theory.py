r"""Closed forms of the Layer-Peeled Model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validation as check
from ..model.logits import helmert_basis


@dataclass(frozen=True)
class BalancedOptimum:
    """Theorem 1 of Fang et al. (2021): the optimum of the balanced LPM.

    Attributes
    ----------
    objective : float
        :math:`\\log(1 + (K-1)\\exp(-K\\sqrt{E_W E_H}/(K-1)))`.
    W, H : ndarray, shape (K, K-1)
        A simplex ETF with :math:`W W^T = E_W \\frac{K}{K-1}(I - J/K)` and
        :math:`H = \\sqrt{E_H/E_W}\\, W` (for ``K = 1``: one vector of squared norm
        ``E_W``, resp. ``E_H``; every feasible pair is then optimal).
    """

    K: int
    E_W: float
    E_H: float
    objective: float
    W: np.ndarray
    H: np.ndarray


def balanced_optimum(K: int, E_W: float = 1.0, E_H: float = 1.0) -> BalancedOptimum:
    r"""Closed-form optimum of the balanced LPM with cross-entropy (Theorem 1).

    .. math::

        \min_{W,H} \frac1K \sum_k L(W h_k, k)\ \text{s.t.}\
        \tfrac1K\lVert W\rVert_F^2 \le E_W,\ \tfrac1K\lVert H\rVert_F^2 \le E_H
        \;=\; \log\!\Big(1 + (K-1)\,e^{-K\sqrt{E_W E_H}/(K-1)}\Big),

    attained by a simplex ETF ``W`` with ``H = sqrt(E_H/E_W) W``.

    Parameters
    ----------
    K : int
        Number of classes, >= 1.
    E_W, E_H : float
        Positive finite budgets.

    Returns
    -------
    BalancedOptimum

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021), Theorem 1.
    """
    K = check.class_count("K", K)
    E_W = check.positive_real("E_W", E_W)
    E_H = check.positive_real("E_H", E_H)
    if K == 1:
        W = np.array([[math.sqrt(E_W)]])
        return BalancedOptimum(1, E_W, E_H, 0.0, W, W * math.sqrt(E_H / E_W))
    margin = K * math.sqrt(E_W * E_H) / (K - 1)
    objective = math.log1p((K - 1) * math.exp(-margin))
    W = math.sqrt(E_W * K / (K - 1)) * helmert_basis(K)
    return BalancedOptimum(K, E_W, E_H, objective, W, math.sqrt(E_H / E_W) * W)
