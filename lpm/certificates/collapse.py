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

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..model.logits import GroupedLogits
from ..model.model import Model
from .bias import with_bias
from .solution import SolverError


@dataclass(frozen=True)
class BlockStructure:
    """The face of the group block at a certified point: its rank, the groups at 0, and
    the margin certifying both (:func:`block_structure`)."""

    vanished: np.ndarray
    rank: int | None
    margin: float
    noise: float


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
    vanished : ndarray of bool, shape (G,)
        Groups whose classifiers and features are exactly 0 (their rows and columns of
        the logits vanish): all their classes share the zero classifier, whatever their
        counts.
    rank : int
        Rank of the group block of the optimal logits: the classifiers of the classes in
        one-class or collapsed groups span this many dimensions (all parallel when it is
        1).
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
    #: groups whose collapse is undecided (margin within the noise), when known per group
    undecided_groups: np.ndarray | None = None
    #: the face of the group block (:class:`BlockStructure`), or a function making it on
    #: first use: a caller that asks only which groups collapse pays no SVD for it
    block: object = field(default=None, repr=False, compare=False)

    def _block(self):
        if callable(self.block):
            # a frozen dataclass caches the deferred value by bypassing its setattr
            object.__setattr__(self, "block", self.block())
        return self.block

    @property
    def vanished(self) -> np.ndarray | None:
        """Groups whose classifiers and features are exactly 0 (see
        :func:`block_structure`); None where the budget does not bind."""
        b = self._block()
        return None if b is None else b.vanished

    @property
    def rank(self) -> int | None:
        """Rank of the group block ``M`` of the optimal logits (None where the budget
        does not bind)."""
        b = self._block()
        return None if b is None else b.rank

    @property
    def block_margin(self) -> float:
        r""":math:`\lambda - \sigma_{r+1}(-G_M)`: > 0 certifies the rank and the vanished
        groups."""
        b = self._block()
        return math.nan if b is None else b.margin

    @property
    def noise(self) -> float:
        """The solve's own error on the scale of the margins (what a margin must exceed)."""
        b = self._block()
        return 0.0 if b is None else b.noise

    @property
    def margin(self) -> np.ndarray:
        r""":math:`\lambda - \gamma_g`: >= 0 for a collapsed group (how far from the
        threshold), 0 for a group off its collapse (it sits at stationarity)."""
        return self.multiplier - self.gamma

    @property
    def minority_collapsed(self) -> bool | None:
        """Whether all minority classifiers are exactly equal; None when the minority has
        fewer than two classes, when the test is undecided for it, and when it spans
        several groups that are not all vanished (classes of different counts with
        nonzero classifiers are never exactly equal at a certified optimum, but the test
        does not claim it; e.g. ``R = 1``)."""
        if self.model.minority_size < 2:
            return None
        g = self.minority_group  # the model's, known without a per-class array (any K)
        if g is not None:
            groups = [g]
        else:
            groups = np.unique(self.model.groups.labels[self.model.minority])
        if self.undecided or (
            self.undecided_groups is not None and self.undecided_groups[groups].any()
        ):
            return None
        if len(groups) == 1:
            # inside a group every pair of classifiers is at the same distance, so a
            # minority that is part of a larger group (R = 1) is collapsed iff the group
            # is (a vanished group of two or more classes is a collapsed one)
            return bool(self.collapsed[groups[0]])
        if self.vanished is not None and self.vanished[groups].all():
            return True  # every minority classifier is 0
        return None

    def collapsed_classes(self) -> list[np.ndarray]:
        """Classes with exactly equal classifiers: each collapsed group (two or more
        classes of one count) and, as one more set, every vanished class (classifier
        0, whatever its count). ValueError when the test is undecided."""
        if self.undecided:
            raise ValueError(f"the exact collapse test is undecided: {self.undecided}")
        groups = self.model.groups
        vanished = np.zeros(groups.G, bool) if self.vanished is None else self.vanished
        out = [groups.members(g) for g in np.flatnonzero(self.collapsed & ~vanished)]
        dead = self.vanished_classes()
        if dead.size >= 2:
            out.append(dead)
        return out

    def vanished_classes(self) -> np.ndarray:
        """Classes whose classifiers and features are exactly 0."""
        if self.vanished is None or not self.vanished.any():
            return np.zeros(0, dtype=int)
        return np.flatnonzero(self.vanished[self.model.groups.labels])

    def summary(self) -> str:
        """The structure in one line, e.g. ``"150 of 176 groups of equal count collapse
        (809 classes, counts 5-188), each to one classifier; no class vanishes; group block
        of rank 131"``."""
        groups, counts = self.model.groups, self.model.counts
        multi = groups.sizes > 1
        vanished = np.zeros(groups.G, bool) if self.vanished is None else self.vanished

        def classes(mask):
            return int(groups.sizes[mask].sum())

        def span(mask):
            if counts is None:  # R = inf: the weights, not counts, define the groups
                return f"weights {self.model.pi[groups.first[mask]].min():.3g}+"
            c = counts[groups.first[mask]]
            lo, hi = f"{c.min():g}", f"{c.max():g}"
            return f"count {lo}" if lo == hi else f"counts {lo}-{hi}"

        collapsed = self.collapsed & multi  # vanished groups of several classes included
        if collapsed.any():
            head = (
                f"{int(collapsed.sum())} of {int(multi.sum())} groups of equal count collapse "
                f"({classes(collapsed)} classes, {span(collapsed)}), each to one classifier"
            )
        elif multi.any():
            head = f"none of the {int(multi.sum())} groups of equal count collapses"
        else:
            head = "every class has its own count (no group to collapse)"
        tail = (
            f"{classes(vanished)} classes vanish ({span(vanished)}: classifiers and features 0)"
            if vanished.any()
            else "no class vanishes"
        )
        parts = [head, tail]
        if self.rank is not None:
            # classes whose classifier is their group's mean part: all in the block's span
            simple = ((groups.sizes == 1) | self.collapsed) & ~vanished
            text = f"group block of rank {self.rank}"
            if self.rank == 1 and simple.sum() >= 2:
                text += f" (the classifiers of the {classes(simple)} classes in one-class or "
                text += "collapsed groups are parallel)"
            parts.append(text)
        undecided = (
            np.zeros(groups.G, bool) if self.undecided_groups is None else self.undecided_groups
        )
        if self.undecided or undecided.any():
            parts.append(f"UNDECIDED: {self.undecided}")
        return "; ".join(parts)

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
    # on lists: a few groups, read in microseconds (every row of a sweep asks)
    multi = [k > 1 for k in np.asarray(sizes).tolist()]
    if result.multiplier == 0.0 and any(
        m and w == 0 for m, w in zip(multi, np.asarray(weights).tolist())
    ):
        return (
            "the norm budget is slack and a group of two or more classes has weight 0, so "
            "the optimum is not unique and collapse is not determined"
        )
    groups = list(zip(multi, np.asarray(result.fixed).tolist(), result.kkt_slack.tolist()))
    free = [abs(v) for m, held, v in groups if m and not held]
    held = [v for m, held, v in groups if m and held]
    if not held or not free:
        return ""
    noise, margin = float(max(free)), float(min(held))
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
    gradient at its logits, when already computed), with the group block's rank and
    vanished groups (:func:`block_structure`) where the budget binds."""
    if not result.converged:
        raise SolverError(f"the reduced solve did not converge: {result.message}")
    if grad is None:
        _, grad = result.logits.value_and_gradient(model)
    sizes = model.groups.sizes
    gamma = np.where(sizes > 1, -grad.s, 0.0)
    block = None
    if result.multiplier > 0:
        block = functools.partial(_block_at, model, result, grad, gamma)
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
        block=block,
    )


def _block_at(model: Model, result, grad: GroupedLogits, gamma: np.ndarray) -> BlockStructure:
    """The :class:`BlockStructure` of a converged reduced solve where the budget binds."""
    sizes = model.groups.sizes
    free = (sizes > 1) & ~result.fixed
    lam = -grad.inner(result.logits) / model.tau
    noise = float(np.abs(gamma[free] - lam).max(initial=0.0))
    rank, margin, noise, undecided = block_structure(result.logits, grad, model.tau, noise)
    # the Newton solver resolves the point to rounding: a row and column of the block at
    # that level, with the group collapsed, is 0 at the optimum when the block's margin
    # certifies the point's face
    scale = max(float(np.abs(result.logits.M).max()), model.budget)
    zero = zero_groups(result.logits, tol=ZERO_RTOL * scale)
    vanished = zero & (result.fixed | (sizes == 1)) & (not undecided)
    return BlockStructure(vanished=vanished, rank=rank, margin=margin, noise=noise)


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
    at = result.logits
    if getattr(result, "bias", None) is not None:  # the gradient at the logits W h + b
        at = with_bias(at, result.bias[g.labels])
    _, grad = at.value_and_gradient(model)
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


#: singular values of the group block below this fraction of its largest (at least of
#: the budget per class) are off the support (a legitimate one below it leaves a singular
#: value of -G_M at the multiplier off the support, and the rank undecided: nothing is
#: claimed at that level)
RANK_RTOL = 1e-10


#: the reduced Newton solver's point is exact to rounding: rows of the group block below
#: this fraction of its scale are 0 there
ZERO_RTOL = 1e-12


def zero_groups(logits: GroupedLogits, tol: float = 0.0) -> np.ndarray:
    """Groups whose rows and columns of the group block, and within-group value, are 0 at
    this point (exactly, as a restricted solve imposes them; or up to ``tol``)."""
    M = np.abs(logits.M)
    small = (M.max(axis=0, initial=0.0) <= tol) & (M.max(axis=1, initial=0.0) <= tol)
    return small & (np.abs(logits.s) <= tol)


def block_structure(logits: GroupedLogits, grad: GroupedLogits, tau: float, noise: float):
    r"""The rank of the group block at a point optimal on its face, and its certificate.

    At an optimum of :math:`\min f` s.t. :math:`\lVert Z\rVert_* \le \tau` with
    multiplier :math:`\lambda`, :math:`-\nabla f = \lambda (U V^\top + W_\perp)` with
    :math:`\lVert W_\perp\rVert_2 \le 1`, and in grouped form the group block splits off:
    the singular values of :math:`-G_M` are :math:`\lambda` on the support of ``M``
    (``rank`` of them: the singular values of ``M`` above :data:`RANK_RTOL` of its
    largest) and :math:`\lambda \sigma_i(W_\perp)` off it. The point's face
    (its rank, and its groups at 0: the vanished ones) is that of the optimum when the
    largest singular value off the support is below :math:`\lambda` by a margin; a
    direction off the support is where a new classifier direction, or a vanished group's
    classifier and feature, would grow.

    Parameters
    ----------
    logits, grad : GroupedLogits
        The point and the gradient of the loss there.
    tau : float
        The nuclear-norm radius (the budget binds at the point).
    noise : float
        The solve's own error on this scale (what a margin must exceed).

    Returns
    -------
    rank : int
    margin : float
        :math:`\lambda - \sigma_{r+1}(-G_M)` (``inf`` when the support is everything).
    noise : float
        ``noise``, raised to the spread of the support's singular values around
        :math:`\lambda` (0 in exact arithmetic).
    undecided : bool
        The margin is within :data:`DECISION_FACTOR` times the noise: the rank and the
        vanished groups are not decided.
    """
    lam = -grad.inner(logits) / tau
    sv = np.linalg.svd(logits.M, compute_uv=False)
    # relative to the block's largest singular value, or to the budget per class when the
    # whole block is at the noise level (it vanishes)
    top = max(float(sv.max(initial=0.0)), tau / logits.K)
    rank = int((sv > RANK_RTOL * top).sum())
    sigma = np.linalg.svd(-grad.M, compute_uv=False)
    # on the support the singular values of -G_M equal lambda up to the solve's error
    noise = max(noise, float(np.abs(sigma[:rank] - lam).max(initial=0.0)))
    margin = float(lam - sigma[rank]) if rank < sigma.size else math.inf
    return rank, margin, noise, bool(margin <= DECISION_FACTOR * noise)
