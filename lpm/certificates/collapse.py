r"""Exact-structure reports: which classifiers are exactly equal at the optimum, decided
by optimality (the KKT conditions of the reduced program), never by a tolerance.

The classifiers of a group ``g`` (two or more classes of equal loss weight) are all equal
exactly when the within-group singular value :math:`s_g` of the optimal logits is 0.
The reduced Newton solver holds a group at :math:`s_g = 0` only while the KKT sign
condition of that face holds,

.. math:: \gamma_g \le \lambda ,

with :math:`\lambda` the budget's multiplier and :math:`\gamma_g` the singular value
of :math:`-\nabla f` on the within-group differences; so its active set at convergence
*is* the exact test. This module reads a converged solve into a :class:`CollapseReport`
and says when the margin is too close to the solve's own error to decide
(:func:`undecided_reason`). Running the solve is the business of the layers above
(:func:`lpm.analysis.collapse_report`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.logits import GroupedLogits
from ..model.model import Model
from .solution import SolverError


@dataclass(frozen=True)
class CollapseReport:
    r"""Which groups of classes have exactly equal classifiers at the optimum.

    Attributes
    ----------
    sizes : ndarray, shape (G,)
        Classes per group.
    within : ndarray, shape (G,)
        :math:`s_g`, the singular value of the optimal logits on the within-group
        differences (0 for a collapsed group and for one-class groups).
    gamma : ndarray, shape (G,)
        :math:`\gamma_g`, the singular value of :math:`-\nabla f` on the same subspace.
    multiplier : float
        :math:`\lambda`, the multiplier of the budget.
    collapsed : ndarray of bool, shape (G,)
        Groups of 2 or more classes whose classifiers are exactly equal.
    minority_group : int or None
        The group holding the minority classes (None if they span several groups).
    logits : GroupedLogits
        The optimal logits of the reduced program this report was read from.
    """

    model: Model
    sizes: np.ndarray
    within: np.ndarray
    gamma: np.ndarray
    multiplier: float
    collapsed: np.ndarray
    minority_group: int | None
    logits: GroupedLogits
    #: why the test could not decide (empty when it did): see :func:`undecided_reason`
    undecided: str = ""

    @property
    def margin(self) -> np.ndarray:
        r""":math:`\lambda - \gamma_g`: >= 0 for a collapsed group (how far from the
        threshold), 0 for a group off its collapse (it sits at stationarity)."""
        return self.multiplier - self.gamma

    @property
    def minority_collapsed(self) -> bool | None:
        """Whether all minority classifiers are equal; None when the minority has fewer
        than two classes or does not lie inside one group (e.g. R = 1)."""
        g = self.minority_group
        if g is None or self.model.minority_size < 2 or self.undecided:
            return None
        # inside a group every pair of classifiers is at the same distance, so a minority
        # that is part of a larger group (R = 1) is collapsed iff the group is
        return bool(self.collapsed[g])

    def collapsed_classes(self) -> list[np.ndarray]:
        """Class indices of each collapsed group (ValueError when the test is undecided)."""
        if self.undecided:
            raise ValueError(f"the exact collapse test is undecided: {self.undecided}")
        return [self.model.groups.members(g) for g in np.flatnonzero(self.collapsed)]

    def classifier_distance(self) -> np.ndarray:
        r"""Distance between two classifiers of each group, :math:`\sqrt{2\sqrt{E_W/E_H}\,s_g}`."""
        return np.sqrt(2.0 * self.within / self.model.scale)


#: a held group's KKT margin must exceed this many times the residual of the free groups
#: stationarity (the solve's own error on the same scale) for the test to decide
DECISION_FACTOR = 100.0


def undecided_reason(sizes, weights, result) -> str:
    """Why a converged reduced solve cannot decide collapse ("" when it can).

    A held group (``s_g = 0``) is collapsed when its KKT margin is >= 0; that margin is
    only meaningful above the solve's error, measured by the stationarity residual of the
    free groups (0 in exact arithmetic). Where the two are comparable (a loss with a
    finite minimizer whose budget multiplier tends to 0 as ``R`` grows) the sign is
    rounding noise. With a slack budget, a group of weight 0 has no unique optimum.
    """
    sizes = np.asarray(sizes)
    multi = sizes > 1
    if result.multiplier == 0.0 and np.any(multi & (np.asarray(weights) == 0)):
        return (
            "the norm budget is slack and a group of two or more classes has weight 0, so "
            "the optimum is not unique and collapse is not determined"
        )
    free = multi & ~result.fixed
    held = multi & result.fixed
    if not held.any() or not free.any():
        return ""
    noise = float(np.max(np.abs(result.kkt_slack[free])))
    margin = float(np.min(result.kkt_slack[held]))
    if margin <= DECISION_FACTOR * noise:
        return (
            f"the KKT margin of a collapsed group ({margin:.2e}) is within "
            f"{DECISION_FACTOR:g}x the solve's stationarity residual ({noise:.2e}): its sign "
            f"is rounding noise (typically a loss with a finite minimizer whose budget "
            f"multiplier, {result.multiplier:.2e}, has almost vanished)"
        )
    return ""


def report_from_result(model: Model, result, grad: GroupedLogits | None = None) -> CollapseReport:
    """A :class:`CollapseReport` from a converged reduced solve of ``model`` (``grad``: the
    gradient at its logits, when already computed)."""
    if not result.converged:
        raise SolverError(f"the reduced solve did not converge: {result.message}")
    if grad is None:
        _, grad = result.logits.value_and_gradient(model)
    sizes = model.groups.sizes
    gamma = np.where(sizes > 1, -grad.s, 0.0)
    return CollapseReport(
        model=model,
        sizes=sizes,
        within=np.where(result.fixed, 0.0, result.logits.s),
        gamma=gamma,
        multiplier=grad.spectral_norm(),
        collapsed=result.fixed.copy(),
        minority_group=model.minority_group,
        logits=result.logits,
        undecided=undecided_reason(sizes, model.groups.weights, result),
    )


@dataclass(frozen=True)
class PenalizedCollapseReport(CollapseReport):
    """:class:`CollapseReport` of a penalized model: ``gamma`` is measured
    against the penalty (collapse iff ``gamma_g <= beta``), and ``omega`` holds each
    group's row weight of the norm."""

    omega: np.ndarray | None = None

    def classifier_distance(self) -> np.ndarray:
        return np.sqrt(2.0 * self.omega * self.within / self.model.scale)


def penalized_report_from_result(model, result) -> PenalizedCollapseReport:
    """The :class:`PenalizedCollapseReport` of a converged penalized reduced solve of
    ``model`` (a :class:`lpm.PenalizedModel`): the Newton active set holds a group at
    ``s_g = 0`` only while its KKT sign condition ``gamma_g <= beta`` holds."""
    if not result.converged:
        raise SolverError(f"the reduced solve did not converge: {result.message}")
    g = model.groups
    og = model.group_omega
    _, grad = result.logits.value_and_gradient(model)
    return PenalizedCollapseReport(
        model=model,
        sizes=g.sizes,
        within=np.where(result.fixed, 0.0, result.logits.s),
        gamma=np.where(g.sizes > 1, -grad.s / og, 0.0),
        multiplier=model.beta,
        collapsed=result.fixed.copy(),
        minority_group=model.minority_group,
        logits=result.logits,
        undecided=undecided_reason(g.sizes, g.weights, result),
        omega=og,
    )
