r"""The active-set Newton method of the reduced program (:mod:`lpm.solvers.reduced_program`).

Vectorized over a batch of problems that share one group structure: each problem
iterates on its own (masks replace index sets, a converged problem is frozen, and the
line search and active set are per problem), so a problem gets the same numbers alone or
in any batch. The active set holds a group at :math:`s_g = 0` only while that face's KKT
sign condition holds, which makes the converged active set the exact collapse test.
"""

from __future__ import annotations

import numpy as np

from ..certificates import SolverError
from .reduced_program import ReducedProgram, ReducedResult


def newton(
    program: ReducedProgram,
    *,
    t=None,
    beta=None,
    force_zero=(),
    max_iter: int = 200,
    decrement_tol: float = 1e-24,
) -> list[ReducedResult]:
    r"""Solve a batch of reduced programs by an active-set Newton method.

    Exactly one of ``t`` (constrained: :math:`c \le t`, shape (n,)) and ``beta``
    (penalized: :math:`f + \beta K c`, shape (n,)) is given; ``c`` is the normalized
    budget of :class:`ReducedProgram`. ``force_zero`` lists groups held at ``s_g = 0``
    whatever the KKT conditions say (the collapsed restriction of the threshold search).

    Each problem iterates on its own: masks replace index sets, a converged problem is
    frozen, and the line search and active set are per problem.
    """
    constrained = t is not None
    if constrained == (beta is not None):
        raise ValueError("give exactly one of t (constrained) and beta (penalized)")
    P = program
    if constrained and P.nc:
        raise ValueError("a bias is only solved in the penalized mode")
    n, G, ny = P.n, P.G, P.ny
    t = None if t is None else np.broadcast_to(np.asarray(t, float), (n,)).copy()
    lam_pen = None if constrained else np.broadcast_to(np.asarray(beta, float) * P.K, (n,))
    force = np.zeros(G, bool)
    force[list(force_zero)] = True
    structural = P.m == 0
    fixed = np.tile(structural | force, (n, 1))
    s_cols = P.s0 + np.arange(G)
    y = P.start(t if constrained else np.ones(n))
    y[:, s_cols] = np.where(fixed, 0.0, y[:, s_cols])
    if constrained and P.budget(y).min() > 0:
        y = P.retract(y, t)
    eye = np.eye(ny)
    diag_ch = np.diag(P.c_hess)
    done = np.zeros(n, bool)
    converged = np.zeros(n, bool)
    iters = np.zeros(n, int)
    messages = ["maximum number of iterations reached"] * n
    releases = np.zeros((n, G), int)
    trace = []  # per iteration: (live, value, decrement), split per problem at the end
    flat = np.zeros(n, bool)
    stall = np.zeros(n, int)
    best_dec = np.full(n, np.inf)

    # With the budget binding, minimizing log f has the same minimizer and multiplier
    # signs, and behaves like a log-sum-exp where f is a sum of exponentials (large
    # budgets): Newton then takes O(1) steps instead of crawling one nat at a time.
    def objective(y):
        v, g, Hs = P.evaluate(y)
        if not constrained:
            # the line search compares the penalized objective; the gradient and Hessian
            # stay those of f (the penalty's are added with the multiplier below)
            return v + lam_pen * P.budget(y), g, Hs
        if np.any(v < 1e-290):  # below the normal double range precision is gone
            raise SolverError(
                "the loss falls below 1e-290, out of double precision: sqrt(E_W*E_H) is too "
                "large for this model (optimal margins of several hundred)"
            )
        g1 = g / v[:, None]
        return np.log(v), g1, Hs / v[:, None, None] - g1[:, :, None] * g1[:, None, :]

    value, grad, H = objective(y)

    def multiplier(grad, gc, act):
        gca = gc * act
        return -(grad * gca).sum(axis=1) / (gca * gca).sum(axis=1)

    for _ in range(max_iter):
        live = ~done
        if not live.any():
            break
        iters[live] += 1
        act = np.ones((n, ny))
        act[:, s_cols] = ~fixed
        gc = P.budget_grad(y)
        lam = multiplier(grad, gc, act) if constrained else lam_pen
        r = (grad + lam[:, None] * gc) * act
        HL = (H + lam[:, None, None] * diag_ch) * act[:, :, None] * act[:, None, :]
        # directions that must not move (held coordinates, the normal of the budget) get
        # an eigenvalue of the Hessian's own scale, which can be tiny (f ~ e^-100)
        hs = np.maximum(np.abs(HL).max(axis=(1, 2)), 1e-300)[:, None, None]
        HL += hs * (1.0 - act)[:, :, None] * eye
        if constrained:
            nv = gc * act
            nv /= np.linalg.norm(nv, axis=1, keepdims=True)
            Pi = eye - nv[:, :, None] * nv[:, None, :]
            rr = (Pi @ r[:, :, None])[:, :, 0]
            Hm = Pi @ HL @ Pi + hs * nv[:, :, None] * nv[:, None, :]
        else:
            rr, Hm = r, HL
        ev, U = np.linalg.eigh(Hm)
        floor = 1e-14 * np.abs(ev).max(axis=1, keepdims=True)
        ev = np.maximum(np.abs(ev), np.maximum(floor, 1e-300))
        proj = (U.transpose(0, 2, 1) @ rr[:, :, None])[:, :, 0]
        coef = proj / ev
        decrement = (coef * proj).sum(axis=1)
        d = -(U @ coef[:, :, None])[:, :, 0] * act  # held coordinates stay exactly put
        trace.append((live.copy(), value.copy(), decrement.copy()))
        # -- problems stationary on their face: KKT signs of the held groups ------------
        # decrement ~ 2 x suboptimality: relative to f in the penalized mode (f can be
        # e^-100), absolute for log f; vround: the rounding level of the objective
        if constrained:
            fscale = np.ones(n)
            vround = 1e-14 * np.maximum(1.0, np.abs(value))
        else:
            fscale = np.maximum(np.abs(value), 1e-300)
            vround = 1e-14 * fscale
        # a step that no longer lowers f and a decrement at the rounding floor of the
        # gradient: rounding has the last word (not earlier: near a collapse threshold a
        # decrement of 1e-13 still hides an error of 1e-6 in s_g)
        # Or, below 1e-14, the decrement has not set a new low (half the best so far) for
        # 3 steps: Newton converges quadratically, so that too is the rounding floor.
        low = decrement < 1e-14 * fscale
        record = decrement < 0.5 * best_dec
        stall = np.where(low & ~record, stall + 1, 0)
        best_dec = np.where(live & record, decrement, best_dec)
        stat = live & (
            (decrement <= decrement_tol * fscale)
            | (flat & (decrement < 1e-20 * fscale))
            | (stall >= 3)
        )
        if stat.any():
            slack = (grad + lam[:, None] * gc)[:, s_cols]
            scale = np.abs(grad[:, s_cols]) + np.abs(lam)[:, None] * P.c_lin[:, s_cols]
            viol = fixed & ~(structural | force) & (slack < -1e-13 * scale) & stat[:, None]
            finish = stat & ~viol.any(axis=1)
            converged[finish] = True
            done[finish] = True
            for i in np.flatnonzero(finish):
                messages[i] = "converged: Newton decrement below tolerance, KKT signs hold"
            for i in np.flatnonzero(viol.any(axis=1)):
                ratio = np.where(viol[i], slack[i] / np.maximum(scale[i], 1e-300), np.inf)
                g = int(np.argmin(ratio))
                releases[i, g] += 1
                fixed[i, g] = False
                flat[i], stall[i], best_dec[i] = False, 0, np.inf
                if releases[i, g] > 3:
                    done[i] = True
                    messages[i] = f"active-set cycling on group {g}"
            d[stat] = 0.0
        move = live & ~stat & ~done
        if not move.any():
            continue
        # -- line search, per problem, keeping every free s_g >= 0 ----------------------
        ds, s = d[:, s_cols], y[:, s_cols]
        going = ~fixed & (ds < 0)
        ratio = np.where(going, -s / np.where(going, ds, -1.0), np.inf)
        alpha_max = ratio.min(axis=1)
        alpha = np.where(move, np.minimum(1.0, alpha_max), 0.0)
        slope = (r * d).sum(axis=1)
        pending = move.copy()
        y_new, v_new, g_new, H_new = y.copy(), value.copy(), grad.copy(), H.copy()
        while pending.any():
            y_try = y + alpha[:, None] * d
            if constrained:
                y_try = P.retract(y_try, t)
            # most steps are accepted at once: evaluate the Hessian with the value
            v_try, g_try, H_try = objective(y_try)
            # once the predicted decrease is below the rounding of f, Armijo's test is
            # noise: take the Newton step unless f rises beyond rounding
            ok = pending & (
                (v_try <= value + 1e-4 * alpha * slope)
                | ((decrement < 1e-12 * fscale) & (v_try <= value + vround))
            )
            y_new[ok], v_new[ok], g_new[ok], H_new[ok] = y_try[ok], v_try[ok], g_try[ok], H_try[ok]
            pending &= ~ok
            alpha = np.where(pending, alpha * 0.5, alpha)
            stuck = pending & (alpha < 1e-20)
            if stuck.any():
                for i in np.flatnonzero(stuck):
                    done[i] = True
                    converged[i] = decrement[i] < 1e-14 * fscale[i]
                    messages[i] = (
                        "converged: no further decrease representable in float64"
                        if converged[i]
                        else "line search failed"
                    )
                pending &= ~stuck
                move &= ~stuck
        hit_bound = move & (alpha == alpha_max)
        if hit_bound.any():  # hold the groups that reached s_g = 0
            hit = going & (ratio <= alpha_max[:, None] * (1 + 1e-12)) & hit_bound[:, None]
            fixed |= hit
            yh = y_new.copy()
            yh[:, s_cols] = np.where(hit, 0.0, yh[:, s_cols])
            if constrained:
                yh = P.retract(yh, t)
            y_new = np.where(hit_bound[:, None], yh, y_new)
            vh, gh, Hh = objective(y_new)
            v_new, g_new, H_new = vh, gh, Hh
        y = np.where(move[:, None], y_new, y)
        flat = move & (v_new >= value)
        value = np.where(move, v_new, value)
        grad = np.where(move[:, None], g_new, grad)
        H = np.where(move[:, None, None], H_new, H)

    value, grad, _ = P.evaluate(y, hessian=False)  # back to f itself
    act = np.ones((n, ny))
    act[:, s_cols] = ~fixed
    gc = P.budget_grad(y)
    lam = multiplier(grad, gc, act) if constrained else lam_pen
    slack = (grad + lam[:, None] * gc)[:, s_cols]
    logits = P.all_logits(y)
    biases = P.bias_values(y) if P.nc else None
    history = [[] for _ in range(n)]
    if trace:
        was_live, values, decs = (np.array(a) for a in zip(*trace))  # (iterations, n)
        for i in range(n):
            rows = was_live[:, i]
            history[i] = list(zip(values[rows, i].tolist(), decs[rows, i].tolist()))
    return [
        ReducedResult(
            logits=logits[i],
            multiplier=float(lam[i]) / P.K,
            iterations=int(iters[i]),
            converged=bool(converged[i]),
            message=messages[i],
            fixed=fixed[i] & ~structural,
            kkt_slack=slack[i],
            history=history[i],
            y=y[i].copy(),
            bias=None if biases is None else biases[i].copy(),
        )
        for i in range(n)
    ]
