r"""The certificate of a fixed ETF classifier, and its exact-structure report.

With ``W = aB`` fixed (:mod:`lpm.model.fixed_classifier`) the logits are
:math:`Z = HW^\top = aHB^\top`, so :math:`Z\mathbf 1 = 0` and
:math:`\lVert H\rVert_F = \lVert Z\rVert_F/a`: the feature budget
:math:`\lVert H\rVert_F^2 \le K E_H` is the ball

.. math:: \mathcal C = \{Z : Z\mathbf 1 = 0,\ \lVert Z\rVert_F \le r\},\qquad
          r = a\sqrt{K E_H} = K\sqrt{\frac{E_W E_H}{K - 1}},

and the model is :math:`\min_{Z\in\mathcal C} f(Z)`, convex (every ``Z`` in
:math:`\mathcal C` is :math:`HW^\top` for :math:`H = ZB/a`). Its Frank--Wolfe gap: with
:math:`P = I - J/K`, :math:`\min_{S\in\mathcal C}\langle\nabla f, S\rangle =
-r\lVert\nabla f\,P\rVert_F`, so for every ``Z`` in :math:`\mathcal C`

.. math:: f(Z) - f^\star \le \langle\nabla f(Z), Z\rangle + r\,\lVert\nabla f(Z)\,P\rVert_F .

A point off :math:`\mathcal C` (solver tolerance) has its rows centered and is scaled into
the ball first. The classifiers are fixed and pairwise distinct
(:math:`\lVert w_k - w_j\rVert^2 = 2a^2`), so no two ever collapse: the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model.fixed_classifier import etf_features, etf_scale
from ..model.logits import DenseLogits, GroupedLogits, Logits
from ..model.model import Model
from .collapse import BlockStructure, CollapseReport
from .kinds import Bound, Certificate


def row_centered(logits: Logits) -> Logits:
    r""":math:`Z(I - J/K)`: every row minus its mean (grouped: :math:`M(I - qq^\top/K)`,
    :math:`q = (\sqrt{K_g})_g`, and ``s`` unchanged)."""
    if isinstance(logits, DenseLogits):
        Z = logits.Z
        return DenseLogits(Z - Z.mean(axis=1, keepdims=True))
    q = np.sqrt(logits.groups.sizes.astype(float))
    M = logits.M - np.outer(logits.M @ q, q) / logits.K
    return GroupedLogits(logits.groups, M, logits.s)


def frobenius_norm(logits: Logits) -> float:
    return math.sqrt(max(logits.inner(logits), 0.0))


def fixed_radius(model: Model) -> float:
    r""":math:`r = K\sqrt{E_W E_H/(K-1)}`, the radius of the logits' ball."""
    return model.K * math.sqrt(model.E_W * model.E_H / (model.K - 1))


class FixedClassifierBall(Certificate):
    r"""Frank--Wolfe gap of :math:`\min f(Z)` over :math:`\{Z\mathbf 1 = 0,\
    \lVert Z\rVert_F \le r\}`, the LPM with the classifiers fixed to a simplex ETF (see
    :mod:`lpm.certificates.fixed_classifier`). ``multiplier`` is
    :math:`\lVert\nabla f\,P\rVert_F`, the multiplier of :math:`\lVert Z\rVert_F \le r`
    where it binds. The factors are always those of the fixed ``W``: ``H = Z B / a``."""

    kind = "fixed_classifier_ball"

    def bound(self, model, logits, factors):
        r = fixed_radius(model)
        logits = row_centered(logits)
        norm = frobenius_norm(logits)
        if norm > r:
            logits = logits.scaled(r / norm)
            norm = frobenius_norm(logits)
        if factors is not None:
            W = factors[1]
            H = etf_features(logits.dense(), model.E_W, W.shape[1])
            factors = (H, W)
        value, grad = logits.value_and_gradient(model)
        inner = grad.inner(logits)
        sigma = frobenius_norm(row_centered(grad))
        return Bound(
            logits=logits,
            factors=factors,
            value=float(value),
            gap=float(inner + r * sigma),
            magnitude=abs(inner) + r * sigma + abs(value),
            multiplier=float(sigma),
            residual=norm - r,
            gradient=grad,
        )


@dataclass(frozen=True)
class FixedClassifierReport(CollapseReport):
    """:class:`CollapseReport` of a model with a fixed ETF classifier: no group ever
    collapses (its classifiers are fixed and pairwise at distance ``sqrt(2) a``).
    ``within`` holds the feature scalars ``t_g`` of the optimum (``Z = diag(t) P``: each
    feature is ``t_k / a`` times its own classifier's direction)."""

    def classifier_distance(self) -> np.ndarray:
        a = etf_scale(self.model.K, self.model.E_W)
        return np.where(self.sizes > 1, math.sqrt(2.0) * a, 0.0)

    @property
    def minority_collapsed(self) -> bool | None:
        return None if self.model.minority.size < 2 else False


def fixed_report(model: Model, logits: GroupedLogits, grad: GroupedLogits | None = None):
    """The :class:`FixedClassifierReport` of the optimum ``logits`` of ``model``."""
    if grad is None:
        _, grad = logits.value_and_gradient(model)
    sizes = model.groups.sizes
    return FixedClassifierReport(
        model=model,
        sizes=sizes,
        within=np.where(sizes > 1, logits.s, 0.0),
        gamma=np.where(sizes > 1, -grad.s, 0.0),
        multiplier=frobenius_norm(row_centered(grad)),
        collapsed=np.zeros(sizes.size, bool),
        minority_group=model.minority_group,
        logits=logits,
        # no classifier is ever 0, and the block's rank is not what this report is about
        block=BlockStructure(np.zeros(sizes.size, bool), None, math.nan, 0.0),
    )
