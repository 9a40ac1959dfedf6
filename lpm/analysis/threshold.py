r"""The threshold :math:`R_0` of Minority Collapse in the two-group model.

The minority classifiers are exactly equal at the optimum iff :math:`R \ge R_0(K_A, K_B,
E_W E_H)`. With the minority held collapsed (:math:`s_B = 0`), the remaining KKT
condition is :math:`\varphi(R) = \lambda(R) - \gamma_B(R) \ge 0`
(:mod:`lpm.analysis.collapse`); :math:`R_0` is its root in :math:`x = \log R`.

How it is found. For cross-entropy a collapsed minority has :math:`\gamma_B = \pi_B`
(its own and another minority class get the same probability), so :math:`R_0` solves
:math:`\lambda(R) = \pi_B(R) = 1/(K_A R + K_B)`; the multiplier of the limit problem
:math:`R = \infty` turns that into a first guess, usually within a few per cent. A
safeguarded secant on :math:`\varphi(x)` then brackets and refines the root, each
evaluation one restricted solve warm-started from the nearest one solved (three or four
Newton steps of :mod:`lpm.solvers.two_groups`). The answer does not depend on that path:
it is read off the canonical grid :math:`x_j = j h` (``h`` the power of two just below
``rtol/4``) as the linear interpolation of :math:`\varphi` between the two grid points
around the root, both solved from the solver's own cold start, and then confirmed by the
full exact test on both sides. So a threshold computed alone or along a phase diagram
(:func:`threshold_path`, warm-started from its neighbour) is the same number, bit for bit.
For cross-entropy nothing here grows with ``K``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as check
from ..certificates import SolverError, undecided_reason
from ..model.losses import get_loss
from ..model.model import Model
from ..model.unconstrained import unconstrained_minimizer
from ..solvers import two_groups
from ..solvers.reduced import solve_constrained
from .margin import X_MAX, Margin, checked_args, group_weights, two_group_loss
from .theory import penalized_threshold_ratio


def _grid_step(rtol: float) -> float:
    """The canonical grid step in ``log R``: the power of two at or just below ``rtol/4``."""
    return 2.0 ** math.floor(math.log2(rtol / 4))


def _first_guess(phi: Margin) -> float:
    r"""A first ``x = log R``: for cross-entropy from :math:`\lambda(\infty) = \pi_B(R)`,
    :math:`R = (1/\lambda(\infty) - K_B)/K_A`; else one decade."""
    if phi.loss.name != "ce":
        return math.log(10.0)
    lam = float(phi(math.inf)[2].multiplier)
    R = (1.0 / lam - phi.K_B) / phi.K_A if lam > 0 else math.inf
    return min(math.log(R), X_MAX) if R > 1.0 else 0.05


def _bracket_and_refine(phi: Margin, x0: float, h: float, start=None) -> float | None:
    """A root of ``psi`` in ``[0, X_MAX]`` from the guess ``x0`` (``start``: its warm
    start), to a fraction of ``h``; ``None`` when ``phi(0) >= 0`` (collapsed at balance).

    Safeguarded secant: the secant of the last two points when it falls inside the
    bracket (else bisection); while one end is missing, the secant extrapolated a quarter
    further, within steps that grow fourfold from 5 per cent of ``x0``."""
    lo = hi = None  # (x, psi): psi(lo) < 0 <= psi(hi)
    points: list[tuple[float, float]] = []
    x, grow = x0, max(0.05 * abs(x0), 0.05)
    for _ in range(200):
        f = phi(x, cold=(x == 0.0), start=start)[0]
        start = None
        points.append((x, f))
        if f < 0:
            if lo is None or x > lo[0]:
                lo = (x, f)
        elif hi is None or x < hi[0]:
            hi = (x, f)
        if hi is not None and hi[0] == 0.0:
            return None
        secant = math.nan
        if len(points) > 1:
            (x1, f1), (x2, f2) = points[-2], points[-1]
            if f2 != f1:
                secant = x2 - f2 * (x2 - x1) / (f2 - f1)
        if lo is not None and hi is not None:
            if hi[0] - lo[0] <= 0.25 * h:
                return 0.5 * (lo[0] + hi[0])
            # the secant may land on an end when psi there is 0 to rounding: the root
            new = secant if lo[0] <= secant <= hi[0] else 0.5 * (lo[0] + hi[0])
            if abs(new - x) < h / 16:
                return new
        elif hi is None:  # root above every point so far
            if lo[0] >= X_MAX:
                raise OverflowError
            new = lo[0] + grow
            if secant > lo[0]:
                new = min(new, secant + 0.25 * (secant - lo[0]))
            new = min(new, X_MAX)
            grow *= 4.0
        else:  # root below every point so far
            new = hi[0] - grow
            if secant < hi[0]:
                new = max(new, secant - 0.25 * (hi[0] - secant))
            new = max(new, 0.0)
            grow *= 4.0
        x = new
    raise SolverError("R_0 not found: the search for the root of the collapse margin stalled")


def _canonical_root(phi: Margin, estimate: float, h: float):
    """``(R_0, y)`` from the grid points ``x_{j-1} < root <= x_j`` around ``estimate``,
    both solved cold: the linear interpolation of ``psi`` between them (a function of the
    problem and ``rtol`` only, whatever found ``estimate``), and the solver coordinates at
    ``x_j`` (``None`` without the two-group solver)."""
    j = max(1, math.ceil(estimate / h))
    for _ in range(64):
        lo, hi = (j - 1) * h, j * h
        f_hi = phi(hi, cold=True)[0]
        if f_hi < 0:
            j += 1
            continue
        f_lo = phi(lo, cold=True)[0]
        if f_lo >= 0 and j > 1:
            j -= 1
            continue
        if f_lo >= 0:  # collapsed from R = e^h on, within rtol of 1
            return 1.0, None
        t = f_lo / (f_lo - f_hi)
        return math.exp(lo + h * min(max(t, 0.0), 1.0)), phi(hi, cold=True)[2].y
    raise SolverError(
        "R_0 not found: the collapse margin changes sign at rounding level around "
        f"R = {math.exp(estimate):.10g} (the budget's multiplier has almost vanished); no "
        "threshold can be certified for this loss and budget"
    )


def _check_threshold_args(K_A, K_B, E_W, E_H, rtol):
    K_A = check.class_count("K_A", K_A)
    K_B = check.class_count("K_B", K_B, minimum=2)
    E_W = check.positive_real("E_W", E_W)
    E_H = check.positive_real("E_H", E_H)
    rtol = check.tolerance("rtol", rtol, 0.1, check.MIN_RTOL)
    return K_A, K_B, E_W, E_H, rtol


def _threshold(K_A, K_B, EWEH, rtol, loss_obj, hint=None):
    """``(R_0, hint)`` for validated arguments; ``hint`` is ``(x, warm start)`` of a
    neighbouring threshold (a phase diagram's previous point), and the second return the
    hint for the next one. The first return does not depend on ``hint``."""
    if _budget_never_binds(K_A, K_B, EWEH, loss_obj):
        return math.inf, None
    phi = Margin(K_A, K_B, EWEH, loss_obj)
    h = _grid_step(rtol)
    try:
        if hint is not None:
            x0, start = hint
            estimate = _bracket_and_refine(phi, x0, h, start)
        else:
            estimate = _bracket_and_refine(phi, _first_guess(phi), h)
    except OverflowError:
        # cross-entropy always collapses at R = inf (gamma_B = 0 < lambda); another loss
        # may not, and then it never does
        if loss_obj.has_finite_minimizer and phi(math.inf)[1] < 0:
            _confirm_never(K_A, K_B, EWEH, loss_obj)
            return math.inf, None
        raise OverflowError(
            f"R_0 exceeds 1e307, beyond double precision, for E_W*E_H = {EWEH:g} "
            f"(K_A={K_A}, K_B={K_B}); log10 R_0 grows about linearly in sqrt(E_W E_H)"
        ) from None
    if estimate is None:
        return 1.0, None
    R0, start = _canonical_root(phi, estimate, h)
    _confirm_threshold(K_A, K_B, EWEH, loss_obj, R0, rtol, start)
    nearest = min(phi.warm, key=lambda y: abs(y - estimate)) if phi.warm else None
    return R0, (None if nearest is None else (estimate, phi.warm[nearest]))


def collapse_threshold(
    K_A: int,
    K_B: int,
    E_W: float | None = None,
    E_H: float | None = None,
    *,
    rtol: float = 1e-8,
    loss="ce",
    penalty: float | None = None,
    per_sample_penalty: bool = False,
) -> float:
    r"""The imbalance :math:`R_0` from which the minority classifiers are exactly equal.

    Minority Collapse holds at the optimum of the two-group model iff
    :math:`R \ge R_0(K_A, K_B, E_W E_H)`. With ``penalty=beta`` the model is the
    weight-decay one (:func:`lpm.solve_penalized`, :math:`\beta = \sqrt{\lambda_W
    \lambda_H}`) and :math:`R_0` is the closed form of
    :func:`lpm.analysis.theory.penalized_threshold_ratio`, exact: the minority collapses
    iff :math:`\beta \ge c\,\pi_B(R)` (class-mean penalty) or :math:`\beta \ge
    c\sqrt{\pi_B(R)}` (``per_sample_penalty=True``), :math:`c = 1` for cross-entropy
    and the squared losses, :math:`1 - \alpha` for label smoothing. :math:`R_0` is the root of
    :math:`\varphi(R) = \lambda(R) - \gamma_B(R)` (see :mod:`lpm.analysis.threshold`): a
    first guess from the limit problem :math:`R = \infty`, a safeguarded secant on
    :math:`\log R` over warm-started restricted solves, and the root read off a canonical
    grid in :math:`\log R` of step about ``rtol/4``, so that the same arguments give the
    same number however it was reached (alone or in :func:`lpm.phase_diagram`).

    Accuracy: every evaluation of :math:`\varphi` solves the collapsed reduced program by
    Newton's method to a decrement of :math:`10^{-24}` (machine precision), so
    :math:`\varphi` is accurate to about :math:`10^{-15}` relative while its slope in
    :math:`\log R` is of order :math:`\lambda`; the root is therefore limited by the grid,
    set by ``rtol`` on ``R``.

    Parameters
    ----------
    K_A, K_B : int
        Majority and minority class counts; ``K_B >= 2`` (one minority class cannot
        collapse).
    E_W, E_H : float
        Budgets (default 1); only their product matters. Not with ``penalty``.
    rtol : float
        Relative accuracy of the returned threshold, in (0, 0.1] (the penalized closed
        form is exact).
    loss : str or Loss
        Cross-entropy by default; a loss whose minority never collapses gives ``inf``.
    penalty : float, optional
        :math:`\sqrt{\lambda_W\lambda_H} > 0`: the threshold of the weight-decay model
        instead of the budgeted one.
    per_sample_penalty : bool
        With ``penalty``: the per-sample feature penalty (Hong and Ling).

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
        When the restricted program cannot be solved on the way to a sign change: for
        cross-entropy once the optimal loss underflows (:math:`E_W E_H` of order
        :math:`10^5`, depending on ``K_A``, ``K_B``); for a loss with a finite minimizer
        (label smoothing, squared losses) when the norm budget goes slack as ``R`` grows
        and the collapse test degenerates. The message says up to which ``R`` the minority
        was found not collapsed.

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021), Section 3 and Theorem 5.
    """
    if penalty is not None:
        if E_W is not None or E_H is not None:
            raise ValueError(
                f"penalty={penalty!r} gives the weight-decay model, which has no budgets; "
                f"got E_W={E_W!r}, E_H={E_H!r} (give one or the other)"
            )
        return penalized_threshold_ratio(
            K_A, K_B, penalty, per_sample_penalty=per_sample_penalty, loss=loss
        )
    if check.flag("per_sample_penalty", per_sample_penalty):
        raise ValueError("per_sample_penalty=True needs penalty= (the weight-decay model)")
    E_W = 1.0 if E_W is None else E_W
    E_H = 1.0 if E_H is None else E_H
    K_A, K_B, E_W, E_H = checked_args(K_A, K_B, E_W, E_H, loss)
    rtol = check.tolerance("rtol", rtol, 0.1, check.MIN_RTOL)

    loss_obj = get_loss(loss)
    if not two_groups.handles(loss_obj):  # the general solver holds a K-sized layout
        check.memory((2, K_A + K_B), "the reduced program's class layout", None)
    return _threshold(K_A, K_B, E_W * E_H, rtol, loss_obj)[0]


def threshold_path(K_A: int, K_B: int, EWEH, *, rtol: float = 1e-8, loss="ce", tick=None):
    r""":func:`collapse_threshold` at every :math:`E_W E_H` of ``EWEH`` (in that order),
    each search warm-started from the previous threshold: the same numbers as one call per
    value, in a fraction of the time. ``tick()`` is called after each threshold."""
    K_A, K_B, _, _, rtol = _check_threshold_args(K_A, K_B, 1.0, 1.0, rtol)
    products = [check.positive_real("EWEH", v) for v in EWEH]
    loss_obj = get_loss(loss)
    if not two_groups.handles(loss_obj):
        check.memory((2, K_A + K_B), "the reduced program's class layout", None)
    out, hint = [], None
    for e in products:
        R0, hint = _threshold(K_A, K_B, e, rtol, loss_obj, hint)
        out.append(R0)
        if tick is not None:
            tick()
    return out


def _budget_never_binds(K_A, K_B, EWEH, loss) -> bool:
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
    model = Model.two_group(K_A, K_B, 2.0, 1.0, EWEH, loss=loss)  # any finite R will do
    free = unconstrained_minimizer(model.groups, loss)
    return free is not None and free.nuclear_norm() <= model.tau


#: the confirmation of a threshold is made at R_0 (1 -/+ max(rtol, CONFIRM_RTOL))
CONFIRM_RTOL = 1e-9


def _full_solve(K_A, K_B, R, tau, loss, start=None):
    """The reduced solve of the two-group model at ``R`` (its active set and KKT data),
    warm-started from ``start`` when the two-group solver runs it."""
    weights = group_weights(K_A, K_B, R)
    sizes = np.array([K_A, K_B])
    if two_groups.handles(loss):
        res = two_groups.solve_two_groups(sizes, weights, loss, [tau], None, starts=[start])
        return res[0], weights[0]
    loss = two_group_loss(loss, K_A, K_B, R)
    return solve_constrained(sizes, weights, loss, tau)[0], weights[0]


def _no_verdict(K_A, K_B, res, weights) -> str:
    """Why the full solve ``res`` decides no collapse verdict ("" when it does): the solve
    failed, or its exact test is undecided."""
    if not res.converged:
        return f"the reduced solve failed ({res.message})"
    return undecided_reason(np.array([K_A, K_B]), weights, res)


def _confirm_never(K_A, K_B, EWEH, loss) -> None:
    """Check ``R_0 = inf`` (a margin negative up to the top of the double range) against
    the full reduced solve at ``R = inf`` and its own KKT test: SolverError unless that
    test decides "not collapsed". Where the budget goes slack as ``R`` grows (label
    smoothing at a large budget) the margin is rounding noise of either sign (measured:
    -7e-18 at R = inf, +1.4e-12 at R = e^27.6 for K_A = K_B = 5, E_W E_H = 5), and no
    claim is made."""
    tau = (K_A + K_B) * math.sqrt(EWEH)
    res, weights = _full_solve(K_A, K_B, math.inf, tau, loss)
    why = _no_verdict(K_A, K_B, res, weights)
    if not why and res.fixed[1]:
        why = "the exact test there says collapsed, against the sign of the margin"
    if why:
        raise SolverError(f"R_0 not found: R_0 ~ inf could not be confirmed at R = inf: {why}")


def _confirm_threshold(K_A, K_B, EWEH, loss, R0, rtol, start=None) -> None:
    """Check the root against the full reduced solve and its own KKT test: not collapsed
    just below ``R0``, collapsed just above (where the margin is at the level of the
    solver's residual, e.g. a label-smoothed loss whose budget multiplier tends to 0, the
    two disagree or the solve fails, and no threshold is returned). ``start``: the
    restricted solution at the grid point above the root (a canonical warm start)."""
    if R0 <= 1.0:
        return
    seen = []
    # 1e-9 at least: closer to the root the margin is below what the test can resolve
    delta = max(rtol, CONFIRM_RTOL)
    tau = (K_A + K_B) * math.sqrt(EWEH)
    for R in (max(1.0, R0 * (1 - delta)), R0 * (1 + delta)):
        try:
            res, weights = _full_solve(K_A, K_B, R, tau, loss, start)
        except SolverError as exc:
            raise SolverError(
                f"R_0 not found: R_0 ~ {R0:.10g} could not be confirmed at R = {R:.10g}: {exc}"
            ) from None
        why = _no_verdict(K_A, K_B, res, weights)
        if why:
            raise SolverError(
                f"R_0 not found: R_0 ~ {R0:.10g} could not be confirmed at R = {R:.10g}: {why}"
            )
        seen.append(bool(res.fixed[1]))
    if seen != [False, True]:
        raise SolverError(
            f"R_0 not found: R_0 ~ {R0:.10g} could not be confirmed: the exact test at "
            f"R_0 (1 -/+ {delta:g}) "
            f"gives collapsed = {seen}, not [False, True]; the collapse margin there is at "
            f"the solver's rounding level"
        )
