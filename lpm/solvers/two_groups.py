r"""The reduced program of two groups (and of one) under cross-entropy, in three scalar
unknowns.

With two groups and cross-entropy (any shift-invariant loss) the grouped logits of
:class:`lpm.model.GroupedLogits` have a rank-one group block: ``Z 1 = 0`` forces
:math:`M = \mu q^\top` with :math:`q = (\sqrt{\kappa_2}, -\sqrt{\kappa_1})`
(:math:`\kappa_g = K_g / K`), so :math:`\lVert M\rVert_* = \lVert\mu\rVert` and the program
of :mod:`lpm.solvers.reduced_program` reads

.. math::

    \min_{\mu, s}\; \sum_g w_g\, \ell_g\big(s_g,\ \beta_g \mu_g + \tfrac{K_g - 1}{K_g} s_g\big)
    \quad\text{s.t.}\quad \lVert\mu\rVert + \sum_g (K_g - 1) s_g = \tau,\ s \ge 0,

with :math:`w_g = K_g\pi_g`, :math:`\beta_1 = \sqrt K/(K_1\sqrt{K_2})`,
:math:`\beta_2 = -\sqrt K/(K_2\sqrt{K_1})` and :math:`\ell_g(p, q) = \log(1 + (K_g - 1)
e^{-p} + K_h e^{-q})` (``h`` the other group): a group's loss depends on its own margins
only, the groups meet in the budget. Writing
:math:`\mu = \tau r (\cos\theta, \sin\theta)` and :math:`s_g = \tau\sigma_g/(K_g - 1)`, the
budget is the simplex :math:`r + \sigma_1 + \sigma_2 = 1` and the unknowns are
:math:`\theta` and a point of the simplex: at most three, whatever ``K``.

Newton's method runs on :math:`\log f` (as :func:`lpm.solvers.newton.newton` does: it
behaves like a log-sum-exp where ``f`` is tiny) over the simplex face of the coordinates
not held at 0, with the stopping rules and the KKT release test of that solver. Holding
:math:`\sigma_g = 0` is the exact collapse of group ``g``; holding :math:`r = 0` is the
vanishing phase (``M = 0``, reached exactly here). The coordinates keep their relative
accuracy however small they get, the scaling retraction keeps the budget exact, and each
problem is solved by the same scalar arithmetic alone or in a batch, so a problem gets the
same numbers either way. An iteration costs a few microseconds of plain floating-point
arithmetic, not the overhead of array calls on six numbers.

The path is chosen for the usual problem, the answer does not depend on it. A cold solve
starts on the face where the group of the smaller weight per class is collapsed (most
of a sweep over ``R``), and drops that guess at the first evaluation where its KKT sign
plainly fails; a collapse reached by a step is dropped at once where its sign plainly
fails there (once a group); steps in ``theta`` are at most a quarter radian. Whatever the
path, the solve ends stationary on a face whose KKT signs hold beyond the solve's own
error, and the last Newton step is then taken, so that the coordinates are exact to
rounding and not only to the square root of the decrement tolerance.

Only cross-entropy is solved here. Label smoothing has a finite minimizer, and where its
budget nearly stops binding the gradient is a difference of nearly equal terms: there the
KKT signs are rounding, which the general solver's residuals report (the collapse test
then says "undecided") and a solve this exact on its face would not.

As everywhere in the package, nothing here is trusted: the caller certifies the returned
logits by their Frank--Wolfe gap.
"""

from __future__ import annotations

import math

import numpy as np

from ..certificates.collapse import DECISION_FACTOR
from ..model.few_groups import ce_row
from ..model.losses import CrossEntropy, Loss
from .compiled import load
from .reduced_program import ReducedResult
from .small_systems import newton_direction
from .two_group_batch import TwoGroupBatch
from .two_group_objective import TwoGroupObjective

_EPS = 2.0**-52
#: the share of the budget a solution takes: four ulps inside, so that the nuclear norm of
#: the stored logits, computed by an SVD, does not exceed tau by an ulp (half the time it
#: would, and certify would rescale the point)
INSIDE = 1.0 - 4 * _EPS
#: the share of the budget in the group block at the collapsed cold start
_COLLAPSED_R = 0.035
#: a KKT sign fails plainly when the slack is below minus this fraction of the slopes
_PLAIN = 0.1
#: the longest Newton step in theta (radians); the simplex coordinates move at most 1
_THETA_STEP = 0.25

#: names of the simplex coordinates in messages (index 1, 2, 3 of the state)
_COORDINATE = {1: "the cross-group block (M = 0)", 2: "group 0", 3: "group 1"}


def handles(loss: Loss) -> bool:
    """Whether this module solves the loss: cross-entropy itself (a subclass may change
    it), in the budget form."""
    return type(loss) is CrossEntropy


def _tangent_step(x, gl, H, free):
    """``(d, decrement)``: the Newton direction of ``log f`` on the current face, in
    ``(theta, r, s1, s2)``, from its gradient ``gl`` and Hessian ``H`` (flat 4 x 4).

    The tangent directions are ``e_i - e_k`` for the free simplex coordinates ``i`` other
    than the pivot ``k`` (the largest free one), and theta while ``r > 0`` (at ``r = 0``
    the point does not depend on theta: just released from ``M = 0``, r leaves along the
    steepest theta first). The reduced system is built flat, lower triangle row by row.
    """
    if len(free) == 2 and x[1] > 0.0:
        # the usual face (one group collapsed, or M = 0 released): the loop below
        # unrolled, the same arithmetic in the same order
        i, k = free
        if not x[k] > x[i]:  # the pivot k is the larger, the first on a tie
            i, k = k, i
        i4, hik, hkk = 4 * i, H[4 * i + k], H[5 * k]
        rH = (H[0], H[i4] - H[4 * k], H[5 * i] - hik - hik + hkk)
        step, decrement = newton_direction(rH, (gl[0], gl[i] - gl[k]))
        d = [-step[0], 0.0, 0.0, 0.0]
        d[i], d[k] = -step[1], step[1]
        return d, decrement
    k = free[0]
    for i in free:
        if x[i] > x[k]:
            k = i
    gk, k4, hkk = gl[k], 4 * k, H[5 * k]
    theta = x[1] > 0.0
    basis, rg, rH = ([0], [gl[0]], [H[0]]) if theta else ([], [], [])
    for i in free:
        if i == k:
            continue
        i4 = 4 * i
        hik = H[i4 + k]
        if theta:
            rH.append(H[i4] - H[k4])
        for j in basis:
            if j:
                rH.append(H[i4 + j] - H[k4 + j] - hik + hkk)
        rH.append(H[5 * i] - hik - hik + hkk)
        basis.append(i)
        rg.append(gl[i] - gk)
    d = [0.0, 0.0, 0.0, 0.0]
    if not basis:
        return d, 0.0
    step, decrement = newton_direction(rH, rg)
    for i, v in zip(basis, step):
        d[i] = -v
        if i:
            d[k] += v
    return d, decrement


def _start(problem: TwoGroupObjective, held):
    """The simplex-ETF logits ``c (I - J/K)`` on the budget, with the held groups at 0."""
    K1, K2 = problem.m[0] + 1, problem.m[1] + 1
    K = K1 + K2
    th = math.atan2(-math.sqrt(K1 / K), math.sqrt(K2 / K))
    sig = [0.0 if held[2 + k] else problem.m[k] / (K - 1) for k in (0, 1)]
    return [th, 1.0 - sig[0] - sig[1], sig[0], sig[1]]


def _collapsed_start(problem: TwoGroupObjective, held):
    """A cold start on the face where the group of the smaller weight per class is
    collapsed (where most of a sweep over R lies), or None: ``(x, coordinate)``.

    On that face ``theta`` starts along the steepest descent direction of ``mu`` at
    ``M = 0`` (where the other group holds the whole budget), ``r`` at
    :data:`_COLLAPSED_R`. Measured in evaluations a problem over 600 random problems
    (K_g up to 60) and on the Figure-3 curve: this face instead of the simplex-ETF start,
    4.7 instead of 5.5 (6.8 instead of 8.2 on the curve); theta along the steepest
    direction instead of 0, 3.9 instead of 4.0 (5.0 instead of 5.7). The first
    evaluation releases the face where its KKT sign plainly fails (:func:`solve_one`).
    """
    per_class = [problem.w[k] / (problem.m[k] + 1) for k in (0, 1)]
    if per_class[0] == per_class[1]:
        return None
    light = 3 if per_class[1] < per_class[0] else 2
    if held[light]:
        return None
    other = 5 - light
    x = [0.0 if light == 3 else -0.5 * math.pi, 1.0, 0.0, 0.0]
    if not held[other]:
        x[1], x[other] = _COLLAPSED_R, 1.0 - _COLLAPSED_R
        # d f / d mu_g = w_g beta_g d l_g / d q at M = 0, s_other = tau / (K_other - 1)
        A1, A2, B1, B2, P1, P2, w1, w2, m1, m2, n1, n2, beta1, beta2 = problem._c
        s1, s2 = (1.0, 0.0) if other == 2 else (0.0, 1.0)
        slope1 = w1 * beta1 * ce_row(P1 * s1, B1 * s1, m1, n1)[2]
        slope2 = w2 * beta2 * ce_row(P2 * s2, B2 * s2, m2, n2)[2]
        x[0] = math.atan2(-slope2, -slope1)
    return x, light


def _multiplier(g, free) -> float:
    """The budget's multiplier from a gradient ``g`` in the simplex coordinates: minus
    the mean slope of the free ones (least squares; they are equal at a stationary
    point)."""
    total = 0.0
    for j in free:
        total += g[j]
    return -total / len(free)


def _plainly_fails(ev, free, i) -> bool:
    """Whether the KKT sign of the held coordinate ``i`` fails at the evaluation ``ev``
    by more than :data:`_PLAIN` of the slopes, the multiplier estimated from the free
    coordinates (a guess of the path, not the final test of :func:`solve_one`)."""
    gl = ev[1]
    nu = _multiplier(gl, free)
    return gl[i] + nu < -_PLAIN * (abs(gl[i]) + abs(nu))


def _final_step(x, d, free, ev):
    """Take the Newton step ``d`` from ``x`` (in place) when it keeps the simplex
    coordinates positive; returns ``ev`` with the gradient of ``f`` moved to the new
    point to first order, ``g + f (H + a a^T) dx`` (``a``, ``H``: the gradient and Hessian
    of ``log f``), off by ``|dx|^2``, about the decrement: below rounding at convergence,
    and one evaluation fewer. Only that gradient is read after the solve (the multiplier
    and the KKT slacks)."""
    trial = [x[0] + d[0], x[1] + d[1], x[2] + d[2], x[3] + d[3]]
    if any(trial[i] <= 0.0 for i in free):
        return ev
    total = trial[1] + trial[2] + trial[3]
    if total != 1.0:
        trial[1], trial[2], trial[3] = trial[1] / total, trial[2] / total, trial[3] / total
    log_f, a, H, f, g, dmu = ev
    d0, d1, d2, d3 = trial[0] - x[0], trial[1] - x[1], trial[2] - x[2], trial[3] - x[3]
    ad = a[0] * d0 + a[1] * d1 + a[2] * d2 + a[3] * d3
    moved = (
        g[0] + f * (H[0] * d0 + H[1] * d1 + H[2] * d2 + H[3] * d3 + a[0] * ad),
        g[1] + f * (H[4] * d0 + H[5] * d1 + H[6] * d2 + H[7] * d3 + a[1] * ad),
        g[2] + f * (H[8] * d0 + H[9] * d1 + H[10] * d2 + H[11] * d3 + a[2] * ad),
        g[3] + f * (H[12] * d0 + H[13] * d1 + H[14] * d2 + H[15] * d3 + a[3] * ad),
    )
    x[:] = trial
    return log_f, a, H, f, moved, dmu


def solve_one(
    problem: TwoGroupObjective,
    held: list[bool],
    structural: list[bool],
    x=None,
    max_iter: int = 200,
    decrement_tol: float = 1e-24,
):
    """Active-set Newton on ``log f`` over the simplex of ``(r, s1, s2)`` and ``theta``.

    ``held[i]`` (i = 1, 2, 3) holds coordinate ``i`` at 0 until its KKT sign condition
    fails (``structural`` ones forever: one-class groups and forced collapses); ``x`` is
    a starting point (a previous solution: a warm start). Returns ``(x, held, converged,
    message, iterations, history, evaluation)``.
    """
    held = list(held)
    guess = None
    if x is None:
        guess = _collapsed_start(problem, held)
        if guess is None:
            x = _start(problem, held)
        else:
            x = guess[0]
            held[guess[1]] = True
    else:
        x = [float(v) for v in x]
        for i in (1, 2, 3):
            if held[i]:
                x[i] = 0.0
        total = x[1] + x[2] + x[3]
        x[1], x[2], x[3] = x[1] / total, x[2] / total, x[3] / total
    for i in (1, 2, 3):  # a warm start on a face starts held on it
        if x[i] == 0.0:
            held[i] = True
    tau = problem.tau
    evaluate = problem.derivatives
    ev = evaluate(x)
    converged, message, iterations = False, "maximum number of iterations reached", 0
    history = []
    releases = [0, 0, 0, 0]
    dropped = [False] * 4
    flat, stall, best = False, 0, math.inf
    free = [i for i in (1, 2, 3) if not held[i]]
    if guess is not None:
        # the guessed collapse, released at once where its KKT sign plainly fails (by a
        # tenth of the slopes): then the simplex-ETF start, as if no guess was made
        light = guess[1]
        if _plainly_fails(ev, free, light):
            held[light] = False
            x = _start(problem, held)
            ev = evaluate(x)
            free = [i for i in (1, 2, 3) if not held[i]]
    while iterations < max_iter:
        iterations += 1
        value, gl, Hl = ev[0], ev[1], ev[2]
        d, decrement = _tangent_step(x, gl, Hl, free)
        history.append((value, decrement))
        # the stopping rules of lpm.solvers.newton.newton (its constrained mode), the
        # rounding floor of the decrement taken at 1e-12 (these coordinates reach it
        # sooner where the budget is nearly slack and log f nearly flat)
        low = decrement < 1e-12
        record = decrement < 0.5 * best
        stall = stall + 1 if (low and not record) else 0
        if record:
            best = decrement
        if decrement <= decrement_tol or (flat and decrement < 1e-20) or stall >= 3:
            # stationary on the face: the KKT sign of each held coordinate
            nu = _multiplier(gl, free)
            # a held coordinate is released only when its KKT sign fails clearly beyond
            # the solve's own error (the stationarity residual of the free ones): a
            # violation within it is rounding, and the collapse test reports it undecided
            noise = DECISION_FACTOR * max(abs(gl[i] + nu) for i in free)
            worst, pick = 0.0, None
            for i in (1, 2, 3):
                if not held[i] or structural[i]:
                    continue
                if i == 1:  # r = 0: the best direction of mu is that of -df/dmu
                    slope = -tau * math.hypot(*ev[5]) / ev[3]
                else:
                    slope = gl[i]
                slack = slope + nu
                ratio = slack / max(abs(slope) + abs(nu), 1e-300)
                if ratio < -1e-13 and -slack > noise and ratio < worst:
                    worst, pick = ratio, i
            if pick is None:
                converged = True
                message = "converged: Newton decrement below tolerance, KKT signs hold"
                if not stall:  # (a stall: the steps are rounding noise)
                    # the point is within about sqrt(decrement) of the optimum and the
                    # step within about decrement of it: take the step, so that the
                    # coordinates are exact to rounding, not to the square root of the
                    # tolerance (measured: 3e-12 off without it, 4e-16 with it)
                    ev = _final_step(x, d, free, ev)
                break
            releases[pick] += 1
            if releases[pick] > 3:
                message = f"active-set cycling on {_COORDINATE[pick]}"
                break
            held[pick] = False
            free = [i for i in (1, 2, 3) if not held[i]]
            flat, stall, best = False, 0, math.inf
            if pick == 1:  # leave M = 0 along the steepest direction
                x[0] = math.atan2(-ev[5][1], -ev[5][0])
                ev = evaluate(x)
            continue
        # at most a quarter radian in theta and the whole simplex in r, s: where log f is
        # nearly flat (one exponential dominates) the Newton step is huge, the line search
        # not; and log f is periodic in theta, where a long step overshoots (measured over
        # 600 random problems: 4.2 instead of 4.6 evaluations, against one radian)
        d0, d1, d2, d3 = d
        longest = max(abs(d0) / _THETA_STEP, abs(d1), abs(d2), abs(d3))
        if longest > 1.0:
            d0, d1, d2, d3 = d = [d0 / longest, d1 / longest, d2 / longest, d3 / longest]
        # -- line search keeping the simplex coordinates >= 0 ---------------------------
        alpha_max = math.inf
        for i in free:
            if d[i] < 0.0:
                limit = -x[i] / d[i]
                if limit < alpha_max:
                    alpha_max = limit
        alpha = 1.0 if alpha_max > 1.0 else alpha_max
        slope = gl[0] * d0 + gl[1] * d1 + gl[2] * d2 + gl[3] * d3
        x0, x1, x2, x3 = x
        while True:
            trial = [x0 + alpha * d0, x1 + alpha * d1, x2 + alpha * d2, x3 + alpha * d3]
            hits = ()
            if alpha == alpha_max:
                hits = [i for i in free if d[i] < 0 and -x[i] / d[i] <= alpha_max * (1 + 1e-12)]
                for i in hits:
                    trial[i] = 0.0
            total = trial[1] + trial[2] + trial[3]
            if total != 1.0:
                trial[1], trial[2], trial[3] = trial[1] / total, trial[2] / total, trial[3] / total
            new = evaluate(trial)
            # once the predicted decrease is below the rounding of log f, Armijo's test
            # is noise: take the Newton step unless log f rises beyond rounding
            if new[0] <= value + 1e-4 * alpha * slope or (
                decrement < 1e-12 and new[0] <= value + 1e-14 * max(1.0, abs(value))
            ):
                break
            alpha *= 0.5
            if alpha < 1e-20:
                new = None
                break
        if new is None:
            converged = decrement < 1e-14
            message = (
                "converged: no further decrease representable in float64"
                if converged
                else "line search failed"
            )
            break
        flat = new[0] >= value
        x, ev = trial, new
        if hits:
            # hold the coordinates that reached 0; but a group's collapse reached on the
            # way is dropped at once (once a group) where its KKT sign plainly fails there,
            # instead of after a solve on it
            for i in hits:
                held[i] = True
            free = [i for i in (1, 2, 3) if not held[i]]
            for i in hits:
                if i > 1 and not structural[i] and not dropped[i] and _plainly_fails(ev, free, i):
                    dropped[i] = True
                    held[i] = False
            free = [i for i in (1, 2, 3) if not held[i]]
    return x, held, converged, message, iterations, history, ev


def _point(problem: TwoGroupObjective, q, state):
    """A solved problem in the units of the general solver, in floats: ``(M, s,
    multiplier, fixed, kkt_slack)``, the multiplier of ``||Z||_* <= tau`` and
    ``kkt_slack[g] = df/ds_g + lambda (K_g - 1)`` (see :class:`TwoGroupBatch`)."""
    x, held, _, _, _, _, ev = state
    tau, g = problem.tau, ev[4]
    free = [i for i in (1, 2, 3) if not held[i]]
    nu = _multiplier(g, free)
    inside = tau * INSIDE
    rho = inside * x[1]
    mu = (rho * math.cos(x[0]), rho * math.sin(x[0])) if rho else (0.0, 0.0)
    M = [[mu[0] * q[0], mu[0] * q[1]], [mu[1] * q[0], mu[1] * q[1]]]
    m = problem.m
    s = [inside * x[2] / m[0] if m[0] else 0.0, inside * x[3] / m[1] if m[1] else 0.0]
    slack = [m[k] / tau * (g[2 + k] + nu) if m[k] else 0.0 for k in (0, 1)]
    return M, s, nu / tau, (held[2] and m[0] > 0, held[3] and m[1] > 0), slack


def solve_two_group_batch(
    sizes,
    weights,
    tau,
    *,
    force_zero=(),
    starts=None,
    max_iter: int = 200,
    decrement_tol: float = 1e-24,
) -> TwoGroupBatch:
    r"""Solve ``min f(Z)`` s.t. ``||Z||_* <= tau`` under cross-entropy for two-group
    problems, the budget binding (callers check a finite unconstrained minimizer first).

    Parameters
    ----------
    sizes : sequence of int, length 2
        Classes per group.
    weights : array_like, shape (n, 2)
        The loss weight of one class of each group, per problem.
    tau : float or array_like, shape (n,)
        The nuclear-norm budgets.
    force_zero : sequence of int
        Groups held at ``s_g = 0`` whatever the KKT conditions say.
    starts : sequence of ndarray or None, optional
        Warm starts: the ``y`` of earlier results (``None`` entries start cold).
    max_iter, decrement_tol
        As in :func:`lpm.solvers.newton.newton`.

    Returns
    -------
    TwoGroupBatch
        The solves stacked; ``y`` holds the final ``(theta, r, s1, s2)``, a warm start
        for a nearby problem.
    """
    K1, K2 = (int(k) for k in sizes)
    K, weights = K1 + K2, np.asarray(weights, float)
    q = (math.sqrt(K2 / K), -math.sqrt(K1 / K))
    structural = [False, False, K1 == 1 or 0 in force_zero, K2 == 1 or 1 in force_zero]
    pairs, tau = weights.tolist(), np.asarray(tau, float).tolist()
    tau = [tau] * len(pairs) if isinstance(tau, float) else tau
    columns, deferred = None, range(len(pairs))
    # (class counts as a C long, even a 32-bit one; beyond, in Python)
    if COMPILED and type(max_iter) is int and isinstance(decrement_tol, float) and K < 2**31:
        args = (pairs, tau, structural, starts, max_iter, decrement_tol)
        columns = _compiled.solve_columns(K1, K2, *args)
        deferred = columns[0]
    solved = {}
    for i in deferred:  # in Python (also where the C route raises or calls LAPACK)
        problem = TwoGroupObjective(K1, K2, K1 * pairs[i][0], K2 * pairs[i][1], tau[i])
        start = None if starts is None else starts[i]
        state = solve_one(problem, structural, structural, start, max_iter, decrement_tol)
        solved[i] = _point(problem, q, state), state
    if columns is not None:
        return TwoGroupBatch.from_columns(columns, solved, weights, tau)
    return TwoGroupBatch.stack(list(solved.values()), weights, tau)


def solve_two_groups(sizes, weights, loss: Loss, tau, layouts, **options) -> list[ReducedResult]:
    """:func:`solve_two_group_batch` as one :class:`ReducedResult` per problem, with the
    logits of each problem's class layout in ``layouts`` (``None``: no logits, only the
    multiplier, the active set and the KKT slacks, with no array of size ``K``);
    ``loss``: cross-entropy (:func:`handles`)."""
    return solve_two_group_batch(sizes, weights, tau, **options).results(layouts)


def _agrees(module) -> bool:
    """Whether the extension holds this module's constants and gives its bits on three
    reference problems (K = 5 + 5: not collapsed, collapsed, and M = 0 at a small
    budget); a build that does not (a compiler's other rounding, a stale build) is not
    used."""
    constants = (_EPS, _COLLAPSED_R, _PLAIN, _THETA_STEP, DECISION_FACTOR)
    if getattr(module, "CONSTANTS", None) != constants:
        return False
    problems = ([0.18, 0.02], 10 * math.sqrt(5)), ([0.1998, 0.0002], 22.0), ([0.15, 0.05], 0.3)
    held = [False] * 4
    for weights, tau in problems:
        problem = TwoGroupObjective(5, 5, 5 * weights[0], 5 * weights[1], tau)
        state = solve_one(problem, held, held, None, 200, 1e-24)
        point = _point(problem, (math.sqrt(0.5), -math.sqrt(0.5)), state)
        if module.solve_batch(5, 5, [weights], [tau], held, None, 200, 1e-24) != [(point, state)]:
            return False
    return True


#: whether :func:`solve_two_group_batch` runs in C (``_two_group_newton.c``, the same bits)
_compiled = load("_two_group_newton", _agrees)
COMPILED = _compiled is not None
