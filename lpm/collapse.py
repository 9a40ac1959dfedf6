r"""Exact Minority Collapse: the KKT test, the threshold :math:`R_0`, and the ETF test.

The classifiers of a group ``g`` (two or more classes) are all equal exactly when the
within-group singular value :math:`s_g` of the optimal logits is 0 (for minority classes
:math:`k \ne k'`, :math:`\lVert w_k - w_{k'}\rVert^2 = 2\sqrt{E_W/E_H}\, s_g`). Solvers
return :math:`s_g` only to their tolerance, so collapse is decided by optimality instead:
solve the reduced program with :math:`s_g = 0` imposed and check the remaining KKT
condition,

.. math:: \gamma_g \le \lambda ,

where :math:`\lambda = \sigma_{\max}(-\nabla f)` is the budget's multiplier and
:math:`\gamma_g` the singular value of :math:`-\nabla f` on the within-group differences
(for cross-entropy :math:`\gamma_g = \pi_g(1 - p_{own} + p_{other})`). If it holds, the
collapsed point satisfies every KKT condition of the convex program and is optimal; if it
fails, moving :math:`s_g` off zero lowers the objective. The reduced Newton solver runs
exactly this test on its active set, so a group it returns at :math:`s_g = 0` is collapsed.

The threshold :math:`R_0` is the root of :math:`\varphi(R) = \lambda(R) - \gamma_B(R)`
at the collapsed restriction, found by Brent's method on :math:`\log R`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validation as check
from .logits import GroupedLogits
from .model import Model, two_group_weights
from .reduced import solve_constrained


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
        if g is None or self.model.minority.size < 2 or self.undecided:
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


def _require_reducible(model: Model) -> None:
    if model.constraint != "average":
        raise ValueError(
            "the exact collapse test uses the nuclear-norm form, which needs the average "
            f"norm constraint; this model has constraint={model.constraint!r}"
        )


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
    from .solution import SolverError

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


def collapse_report(model: Model) -> CollapseReport:
    """Exact collapse test of every group of ``model`` (solves its reduced program)."""
    _require_reducible(model)
    g = model.groups
    result = solve_constrained(g.sizes, g.weights, model.loss, model.tau, groups=[g])[0]
    return report_from_result(model, result)


# -- the threshold ---------------------------------------------------------------------
def _two_group_weights(K_A, K_B, R):
    """(n, 2) group weights of the two-group model over the ratios ``R``."""
    return np.column_stack(two_group_weights(K_A, K_B, R))


def _margins(K_A, K_B, R, E_W, E_H, loss):
    """``(phi, results)``: the margin at each ``R`` (NaN where the restricted solve did
    not converge) and the solver results."""
    from .losses import get_loss

    loss = get_loss(loss)
    sizes = np.array([K_A, K_B])
    weights = _two_group_weights(K_A, K_B, R)
    tau = (K_A + K_B) * math.sqrt(E_W * E_H)
    results = solve_constrained(sizes, weights, loss, tau, force_zero=[1])
    # d Lagrangian / d s_B = (K_B - 1)(lambda - gamma_B)
    phi = np.array([r.kkt_slack[1] / (K_B - 1) if r.converged else math.nan for r in results])
    return phi, results


def collapse_margin(
    K_A: int, K_B: int, R, E_W: float = 1.0, E_H: float = 1.0, *, loss="ce"
) -> np.ndarray:
    r""":math:`\varphi(R) = \lambda - \gamma_B` at the optimum with the minority held
    collapsed: >= 0 exactly when Minority Collapse is optimal. Vectorized over ``R``.

    Raises
    ------
    SolverError
        When the restricted program is not solved at some ``R`` (the message names it).
    """
    R = np.atleast_1d(np.asarray(R, float))
    phi, results = _margins(K_A, K_B, R, E_W, E_H, loss)
    bad = np.flatnonzero(np.isnan(phi))
    if bad.size:
        from .solution import SolverError

        i = int(bad[0])
        raise SolverError(
            f"the collapsed-restricted solve failed at R={R[i]:g}: {results[i].message}"
        )
    return phi


def collapse_threshold(
    K_A: int, K_B: int, E_W: float = 1.0, E_H: float = 1.0, *, rtol: float = 1e-8, loss="ce"
) -> float:
    r"""The imbalance :math:`R_0` from which the minority classifiers are exactly equal.

    Minority Collapse holds at the optimum of the two-group model iff
    :math:`R \ge R_0(K_A, K_B, E_W E_H)`. :math:`R_0` is the root of
    :math:`\varphi(R) = \lambda(R) - \gamma_B(R)` (see :mod:`lpm.collapse`), bracketed
    on a logarithmic grid of ``R`` from 1 up to :math:`10^{307}` (weak regularization
    puts :math:`R_0` far out; one batched solve) and refined by Brent's method on
    :math:`\log R`.

    Accuracy: every evaluation of :math:`\varphi` solves the collapsed reduced program by
    Newton's method to a decrement of :math:`10^{-24}` (machine precision), so
    :math:`\varphi` is accurate to about :math:`10^{-15}` relative while its slope in
    :math:`\log R` is of order :math:`\lambda`; the root is therefore limited by Brent's
    tolerance, set to ``rtol`` on ``R``.

    Parameters
    ----------
    K_A, K_B : int
        Majority and minority class counts; ``K_B >= 2`` (one minority class cannot
        collapse).
    E_W, E_H : float
        Budgets; only their product matters.
    rtol : float
        Relative accuracy of the returned threshold, in (0, 0.1].
    loss : str or Loss
        Cross-entropy by default; a loss whose minority never collapses gives ``inf``.

    Returns
    -------
    float
        :math:`R_0 \ge 1`; ``inf`` only for a loss whose minority never collapses.

    Raises
    ------
    OverflowError
        When :math:`R_0 > 10^{307}` (weak regularization: for cross-entropy
        :math:`\log_{10} R_0` grows about linearly in :math:`\sqrt{E_W E_H}`, to about
        :math:`10^{205}` at :math:`E_W E_H = 5\cdot 10^4` with ``K_A = K_B = 5``).
    SolverError
        When the restricted program cannot be solved on the bracket before a sign change:
        for cross-entropy once the optimal loss underflows (:math:`E_W E_H` of order
        :math:`10^5`, depending on ``K_A``, ``K_B``); for a loss with a finite minimizer
        (label smoothing, squared losses) when the norm budget goes slack as ``R`` grows
        and the collapse test degenerates. The message says up to which ``R`` the minority
        was found not collapsed.

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021), Section 3 and Theorem 5.
    """
    K_A = check.class_count("K_A", K_A)
    K_B = check.class_count("K_B", K_B, minimum=2)
    E_W = check.positive_real("E_W", E_W)
    E_H = check.positive_real("E_H", E_H)
    rtol = check.tolerance("rtol", rtol, 0.1)

    from .losses import get_loss

    loss_obj = get_loss(loss)

    def phi(x):
        return float(collapse_margin(K_A, K_B, math.exp(x), E_W, E_H, loss=loss)[0])

    # bracket: one batched solve on R = 10^0, 10^1, ..., 10^307 (the double range)
    exps = np.arange(0, 308)
    values, results = _margins(K_A, K_B, 10.0**exps, E_W, E_H, loss)
    failed = np.flatnonzero(np.isnan(values))
    solved = int(failed[0]) if failed.size else exps.size  # margins trusted below this
    above = np.flatnonzero(values[:solved] >= 0)
    if above.size and above[0] == 0:
        return 1.0
    if above.size == 0 and solved < exps.size:
        from .solution import SolverError

        below = f"; the minority is not collapsed for R <= 1e{solved - 1}" if solved else ""
        why = (
            f"E_W*E_H = {E_W * E_H:g} is too large for double precision"
            if loss_obj.name == "ce"
            else f"the {loss_obj.name} loss has a finite minimizer, and the collapse test "
            f"degenerates when the norm budget goes slack as R grows"
        )
        raise SolverError(
            f"R_0 not found: the collapsed-restricted program could not be solved at "
            f"R = 1e{solved} ({results[solved].message}){below}; {why}"
        )
    if above.size == 0:
        # cross-entropy always collapses at R = inf (gamma_B = 0 < lambda); another loss
        # may not, and then it never does
        if (
            loss_obj.name != "ce"
            and collapse_margin(K_A, K_B, math.inf, E_W, E_H, loss=loss)[0] < 0
        ):
            return math.inf
        raise OverflowError(
            f"R_0 exceeds 1e307, beyond double precision, for E_W*E_H = {E_W * E_H:g} "
            f"(K_A={K_A}, K_B={K_B}); log10 R_0 grows about linearly in sqrt(E_W E_H)"
        )
    k = int(above[0])
    lo, hi = exps[k - 1] * math.log(10.0), exps[k] * math.log(10.0)
    try:
        x0 = optimize.brentq(phi, lo, hi, xtol=rtol / 4, rtol=4 * np.finfo(float).eps)
    except ValueError:  # phi's sign at the bracket ends differs from the batched grid's
        from .solution import SolverError

        raise SolverError(
            f"R_0 not found: the collapse margin changes sign at rounding level between "
            f"R = 1e{exps[k - 1]} and 1e{exps[k]} (the budget's multiplier has almost "
            f"vanished); no threshold can be certified for this loss and budget"
        ) from None
    R0 = float(math.exp(x0))
    _confirm_threshold(K_A, K_B, E_W, E_H, loss, R0, rtol)
    return R0


#: the confirmation of a threshold is made at R_0 (1 -/+ max(rtol, CONFIRM_RTOL))
CONFIRM_RTOL = 1e-9


def _confirm_threshold(K_A, K_B, E_W, E_H, loss, R0, rtol) -> None:
    """Check the root against the full reduced solve and its own KKT test: not collapsed
    just below ``R0``, collapsed just above (where the margin is at the level of the
    solver's residual, e.g. a label-smoothed loss whose budget multiplier tends to 0, the
    two disagree or the solve fails, and no threshold is returned)."""
    from .model import Model
    from .solution import SolverError

    if R0 <= 1.0:
        return
    seen = []
    # 1e-9 at least: closer to the root the margin is below what the test can resolve
    delta = max(rtol, CONFIRM_RTOL)
    for R in (max(1.0, R0 * (1 - delta)), R0 * (1 + delta)):
        model = Model.two_group(K_A, K_B, R, E_W, E_H, loss=loss)
        g = model.groups
        res = solve_constrained(g.sizes, g.weights, model.loss, model.tau, groups=[g])[0]
        why = (
            f"the reduced solve failed ({res.message})"
            if not res.converged
            else undecided_reason(g.sizes, g.weights, res)
        )
        if why:
            raise SolverError(f"R_0 ~ {R0:.10g} could not be confirmed at R = {R:.10g}: {why}")
        seen.append(bool(res.fixed[model.minority_group]))
    if seen != [False, True]:
        raise SolverError(
            f"R_0 ~ {R0:.10g} could not be confirmed: the exact test at R_0 (1 -/+ {delta:g}) "
            f"gives collapsed = {seen}, not [False, True]; the collapse margin there is at "
            f"the solver's rounding level"
        )


# -- the simplex-ETF test --------------------------------------------------------------
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
        c = optimize.brentq(slope, 0.0, c_max, xtol=1e-300, rtol=4 * np.finfo(float).eps)
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
    computed to full relative accuracy)."""
    from .solution import NuclearBall

    _require_reducible(model)
    Z = etf_point(model)
    b = NuclearBall().bound(model, Z, None)  # the certificate every solution carries
    d = 2.0**-30
    _, moved = b.logits.scaled(1.0 + d).value_and_gradient(model)
    change = GroupedLogits(moved.groups, moved.M - b.gradient.M, moved.s - b.gradient.s)
    scale = b.magnitude + model.tau * change.spectral_norm() / d
    return bool(b.gap <= 64 * np.finfo(float).eps * scale)
