r"""The threshold :math:`R_0` of Minority Collapse in the two-group model.

The minority classifiers are exactly equal at the optimum iff :math:`R \ge R_0(K_A, K_B,
E_W E_H)`. With the minority held collapsed (:math:`s_B = 0`), the remaining KKT
condition is :math:`\varphi(R) = \lambda(R) - \gamma_B(R) \ge 0`
(:mod:`lpm.analysis.collapse`); :math:`R_0` is its root, found by Brent's method on
:math:`\log R` and confirmed by the full exact test on both sides.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from .. import _validation as check
from ..certificates import SolverError, undecided_reason
from ..model.losses import get_loss
from ..model.model import Model, two_group_weights
from ..model.unconstrained import unconstrained_minimizer
from ..solvers.reduced import solve_constrained


def _two_group_weights(K_A, K_B, R):
    """(n, 2) group weights of the two-group model over the ratios ``R``."""
    return np.column_stack(two_group_weights(K_A, K_B, R))


def _margins(K_A, K_B, R, E_W, E_H, loss):
    """``(phi, results)``: the margin at each ``R`` (NaN where the restricted solve did
    not converge) and the solver results."""
    loss = get_loss(loss)
    sizes = np.array([K_A, K_B])
    weights = _two_group_weights(K_A, K_B, R)
    tau = (K_A + K_B) * math.sqrt(E_W * E_H)
    results = solve_constrained(sizes, weights, loss, tau, force_zero=[1])
    # d Lagrangian / d s_B = (K_B - 1)(lambda - gamma_B)
    phi = np.array([r.kkt_slack[1] / (K_B - 1) if r.converged else math.nan for r in results])
    return phi, results


def _checked(K_A, K_B, E_W, E_H, loss):
    """The arguments checked as the two-group model checks them (``K_B >= 2``: one
    minority class cannot collapse)."""
    K_B = check.class_count("K_B", K_B, minimum=2)
    model = Model.two_group(K_A, K_B, 1.0, E_W, E_H, loss=loss)
    return model.two_group_params[0], K_B, model.E_W, model.E_H


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
    K_A, K_B, E_W, E_H = _checked(K_A, K_B, E_W, E_H, loss)
    R = np.array([check.positive_real("R", r, allow_inf=True) for r in check.values("R", R)])
    phi, results = _margins(K_A, K_B, R, E_W, E_H, loss)
    bad = np.flatnonzero(np.isnan(phi))
    if bad.size:
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
    :math:`\varphi(R) = \lambda(R) - \gamma_B(R)` (see :mod:`lpm.analysis.threshold`), bracketed
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
        :math:`R_0 \ge 1`; ``inf`` only for a loss whose minority never collapses (for
        one, a loss whose own minimizer fits in the budget: see
        :func:`_budget_never_binds`).

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
    K_A, K_B, E_W, E_H = _checked(K_A, K_B, E_W, E_H, loss)
    rtol = check.tolerance("rtol", rtol, 0.1)

    loss_obj = get_loss(loss)
    if _budget_never_binds(K_A, K_B, E_W, E_H, loss_obj):
        return math.inf

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
        raise SolverError(
            f"R_0 not found: the collapse margin changes sign at rounding level between "
            f"R = 1e{exps[k - 1]} and 1e{exps[k]} (the budget's multiplier has almost "
            f"vanished); no threshold can be certified for this loss and budget"
        ) from None
    R0 = float(math.exp(x0))
    _confirm_threshold(K_A, K_B, E_W, E_H, loss, R0, rtol)
    return R0


def _budget_never_binds(K_A, K_B, E_W, E_H, loss) -> bool:
    r"""Whether the budget is slack at every finite ``R``: the loss has a finite minimizer
    and its least-norm one fits in the ball.

    That minimizer does not depend on the loss weights as long as they are all positive
    (every row sits at its own minimizer), so then it is the optimum at every finite
    ``R``, and no two classifiers coincide there: row ``k`` of each loss here puts its own
    logit above the others, so columns ``k`` and ``k'`` of ``Z`` differ in row ``k``.
    The minority never collapses, and :math:`R_0 = \infty`.
    """
    if not loss.has_finite_minimizer:
        return False
    model = Model.two_group(K_A, K_B, 2.0, E_W, E_H, loss=loss)  # any finite R will do
    free = unconstrained_minimizer(model.groups, loss)
    return free is not None and free.nuclear_norm() <= model.tau


#: the confirmation of a threshold is made at R_0 (1 -/+ max(rtol, CONFIRM_RTOL))
CONFIRM_RTOL = 1e-9


def _confirm_threshold(K_A, K_B, E_W, E_H, loss, R0, rtol) -> None:
    """Check the root against the full reduced solve and its own KKT test: not collapsed
    just below ``R0``, collapsed just above (where the margin is at the level of the
    solver's residual, e.g. a label-smoothed loss whose budget multiplier tends to 0, the
    two disagree or the solve fails, and no threshold is returned)."""
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
