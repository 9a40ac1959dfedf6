r"""A classifier fixed in advance instead of learned: the simplex ETF of the budget's norm
(Yang et al. 2022; Zhu et al. 2021).

With ``fixed_classifier="etf"`` the classifiers are

.. math:: W = a\,B,\qquad a^2 = \frac{K E_W}{K - 1},\qquad WW^\top = a^2\,(I - J/K),

``B`` the ``K x (K-1)`` Helmert basis (rows: a simplex ETF), so
:math:`\lVert W\rVert_F^2 = K E_W`: the budget, spent on the most separated frame. Only
the features are free.
"""

from __future__ import annotations

import math

import numpy as np

from .logits import helmert_basis


def etf_scale(K: int, E_W: float) -> float:
    r""":math:`a = \sqrt{K E_W/(K-1)}`, the norm of each fixed classifier."""
    return math.sqrt(K * E_W / (K - 1))


def etf_classifier(K: int, E_W: float, p: int) -> np.ndarray:
    """The fixed classifiers ``W`` (K x p, ``p >= K - 1``): ``a`` times the Helmert basis,
    padded with zero columns."""
    W = np.zeros((K, p))
    W[:, : K - 1] = etf_scale(K, E_W) * helmert_basis(K)
    return W


def etf_features(Z: np.ndarray, E_W: float, p: int) -> np.ndarray:
    r"""The features ``H`` (K x p) with :math:`HW^\top = Z` for the fixed ``W`` and the
    least norm: :math:`H = Z B / a` (exact for ``Z 1 = 0``)."""
    K = Z.shape[0]
    H = np.zeros((K, p))
    H[:, : K - 1] = (Z @ helmert_basis(K)) / etf_scale(K, E_W)
    return H
