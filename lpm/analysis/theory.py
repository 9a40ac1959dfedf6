r"""Closed forms of the Layer-Peeled Model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validation as check
from ..model.logits import helmert_basis
from ..model.model import safe_product_sqrt, safe_ratio_sqrt


@dataclass(frozen=True)
class BalancedOptimum:
    """Theorem 1 of Fang et al. (2021): the optimum of the balanced LPM.

    Attributes
    ----------
    objective : float
        :math:`\\log(1 + (K-1)\\exp(-K\\sqrt{E_W E_H}/(K-1)))`, in closed form (any K).
    W, H : ndarray, shape (K, K-1)
        A simplex ETF with :math:`W W^T = E_W \\frac{K}{K-1}(I - J/K)` and
        :math:`H = \\sqrt{E_H/E_W}\\, W` (for ``K = 1``: one vector of squared norm
        ``E_W``, resp. ``E_H``; every feasible pair is then optimal). Built on first
        access; ``MemoryError`` (before allocating) when ``K x (K-1)`` doubles exceed
        ``memory_limit`` of :meth:`factors` (2 GiB by default, about ``K = 16000``).
    """

    K: int
    E_W: float
    E_H: float
    objective: float

    def factors(self, memory_limit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(W, H)``, each ``K x (K-1)`` (``K x 1`` for ``K = 1``)."""
        if "_factors" not in self.__dict__:
            if self.K == 1:
                W = np.array([[math.sqrt(self.E_W)]])
            else:
                check.memory(
                    (self.K, self.K - 1),
                    "the simplex ETF W",
                    memory_limit,
                    "the objective needs no array (BalancedOptimum.objective is the closed "
                    "form); pass a larger memory_limit to factors() for W and H",
                )
                W = math.sqrt(self.E_W * self.K / (self.K - 1)) * helmert_basis(self.K)
            object.__setattr__(self, "_factors", (W, safe_ratio_sqrt(self.E_H, self.E_W) * W))
        return self.__dict__["_factors"]

    @property
    def W(self) -> np.ndarray:
        return self.factors()[0]

    @property
    def H(self) -> np.ndarray:
        return self.factors()[1]


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
        Number of classes, >= 1 (the objective costs O(1) for any K; ``W`` and ``H``
        are built only when asked for).
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
        return BalancedOptimum(1, E_W, E_H, 0.0)
    margin = K * safe_product_sqrt(E_W, E_H) / (K - 1)
    objective = math.log1p((K - 1) * math.exp(-margin))
    return BalancedOptimum(K, E_W, E_H, objective)
