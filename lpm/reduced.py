r"""The symmetry-reduced program and its dedicated Newton solver.

Classes with equal loss weight are interchangeable and the program is convex, so an
optimum has the grouped form of :class:`lpm.logits.GroupedLogits`,
:math:`Z = E M E^\top + \sum_g s_g D_g D_g^\top`, in which

.. math::

    f = \sum_g K_g \pi_g\, L\big((d_g, e_g, C_{g\cdot}) ; (1, K_g - 1, K_h)\big),\qquad
    \lVert Z\rVert_* = \lVert M\rVert_* + \sum_g (K_g - 1)\,\lvert s_g\rvert :

:math:`G^2 + G` unknowns whatever ``K`` is. The solver works in units where the budget
reads :math:`c = \lVert \hat M\rVert_* + \sum_g \tfrac{K_g-1}{K} s_g \le t = \sqrt{E_W E_H}`
(:math:`\hat M = M/K`), so its numbers stay of order one for any ``K``. Three facts make a
smooth Newton method exact on it:

* ``s_g >= 0`` without loss of generality (each loss here prefers the own class), so the
  within-group part of the norm is linear, with bounds ``s_g >= 0`` handled by an active
  set. A group held at ``s_g = 0`` is released only when the KKT sign condition fails;
  that condition *is* the exact collapse test.
* For a shift-invariant loss some optimum has ``Z 1 = 0``; then
  :math:`\hat M = \hat X Q^\top` with ``Q`` an orthonormal basis of the complement of
  :math:`(\sqrt{K_g})_g`. This removes the always-singular direction of ``M``.
* :math:`\lVert \hat X\rVert_* = \min_{\hat X = AB} (\lVert A\rVert_F^2 +
  \lVert B\rVert_F^2)/2`, here with ``B`` symmetric (no continuous gauge). The lifted
  program is smooth even where ``X`` loses rank (groups collapsing onto each other), and
  with the budget binding, Newton's method on the surface ``c(A, B, s) = t`` with a scaling
  retraction converges quadratically.

The solver is vectorized over a batch of problems sharing one group structure (a whole
curve in ``R`` or ``E_W E_H`` is one call); each problem's arithmetic is independent of
the others, so a problem gets the same numbers alone or in any batch. The optimality of
a result is never taken from the solver: callers certify it with the Frank--Wolfe gap of
the returned logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validation as check
from .logits import GroupedLogits
from .losses import Loss


def complement_basis(v: np.ndarray) -> np.ndarray:
    """Orthonormal basis (n x (n-1)) of the complement of the unit vector v (Householder)."""
    n = v.size
    u = v.copy()
    u[0] += np.copysign(1.0, v[0])
    u /= np.linalg.norm(u)
    return (np.eye(n) - 2.0 * np.outer(u, u))[:, 1:]


@dataclass
class ReducedResult:
    """Raw output of :func:`newton` for one problem."""

    logits: GroupedLogits
    multiplier: float  # of ||Z||_* <= tau in Z units (the penalty weight when penalized)
    iterations: int
    converged: bool
    message: str
    fixed: np.ndarray  # groups held at s_g = 0 at the end (with K_g >= 2)
    kkt_slack: np.ndarray  # d Lagrangian / d s_g; >= 0 for every held group at the optimum
    history: list  # (objective, Newton decrement) per iteration
    y: np.ndarray | None = None  # final solver coordinates (A, B, s)


class ReducedProgram:
    r"""The grouped program for one group structure and loss, over a batch of weights.

    Parameters
    ----------
    sizes : ndarray, shape (G,)
        Number of classes in each group.
    weights : ndarray, shape (n, G)
        Loss weight of one class of each group, for each of ``n`` problems.
    loss : Loss
    omega : ndarray, shape (n, G), optional
        Positive group scalings of the norm: the budget or penalty is on
        :math:`\lVert \Omega Z\rVert_*`, :math:`\Omega` = diag(omega) (default: identity).
    """

    def __init__(self, sizes, weights, loss: Loss, omega=None, groups=None):
        from .model import Groups

        sizes = np.asarray(sizes, dtype=int)
        G = sizes.size
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        self.n = weights.shape[0]
        self.G = G
        self.loss = loss
        Kg = sizes.astype(float)
        self.Kg = Kg
        self.K = float(Kg.sum())
        self.kappa = Kg / self.K
        self.m = Kg - 1.0
        self.w = Kg * weights  # (n, G) loss mass of each group
        # the class layout of each problem (classes of a group need not be adjacent)
        self.groups = (
            groups
            if groups is not None
            else [
                Groups(
                    np.repeat(np.arange(G), sizes),
                    sizes,
                    weights[i],
                    np.concatenate([[0], np.cumsum(sizes)[:-1]]),
                )
                for i in range(self.n)
            ]
        )
        self.omega = np.ones((self.n, G)) if omega is None else np.atleast_2d(omega) * 1.0
        self.centered = loss.shift_invariant
        if self.centered:
            self.Q = complement_basis(np.sqrt(self.kappa)) if G > 1 else np.zeros((1, 0))
        else:
            self.Q = np.eye(G)
        r = self.Q.shape[1]
        self.r = r
        # the Newton step holds an (n, G^2+G, ny) Jacobian, ny ~ 1.5 G^2: refuse sizes
        # that cannot fit (before allocating anything of that size)
        ny = G * r + r * (r + 1) // 2 + G
        need = 8.0 * self.n * (G * G + G) * ny * 3
        if need > 2 * 1024**3:
            raise ValueError(
                f"the reduced program of {G} groups would need about {need / 1024**3:.3g} GiB "
                "(its cost grows like G^4); use method='lowrank' (or 'auto') for models whose "
                "classes take many distinct counts"
            )
        # symmetric B from b: B = b[Bidx]; ||B||_F^2 = sum dup * b^2
        pairs = [(p, q) for p in range(r) for q in range(p, r)]
        self.pi_, self.qi_ = (
            np.array([p for p, _ in pairs], int),
            np.array([q for _, q in pairs], int),
        )
        self.nb = len(pairs)
        Bidx = np.zeros((r, r), int)
        for k, (p, q) in enumerate(pairs):
            Bidx[p, q] = Bidx[q, p] = k
        self.Bidx = Bidx
        self.dup = np.where(self.pi_ == self.qi_, 1.0, 2.0)
        self.half_diag = np.where(self.pi_ == self.qi_, 0.5, 1.0)
        self.Ek = np.zeros((self.nb, r, r))
        self.Ek[np.arange(self.nb), self.pi_, self.qi_] = 1.0
        self.Ek[np.arange(self.nb), self.qi_, self.pi_] = 1.0
        self.EkQT = self.Ek @ self.Q.T  # (nb, r, G)
        self.nA = G * r
        self.ny = self.nA + self.nb + G
        self.s0 = self.nA + self.nb
        # linear map u = (vec M_hat, s) -> compressed rows V (G x (G+2)), row-major
        nu = G * G + G
        L = np.zeros((G, G + 2, nu))
        for g in range(G):
            L[g, 0, g * G + g] = 1.0 / self.kappa[g]
            L[g, 0, G * G + g] = self.m[g] / Kg[g]
            L[g, 1, g * G + g] = 1.0 / self.kappa[g]
            L[g, 1, G * G + g] = -1.0 / Kg[g]
            for h in range(G):
                L[g, 2 + h, g * G + h] = 1.0 / np.sqrt(self.kappa[g] * self.kappa[h])
        self.Lg = L  # (G, m, nu)
        self.LgT = L.transpose(0, 2, 1)
        self.L = L.reshape(G * (G + 2), nu)
        self.nu = nu
        mult = np.empty((G, G + 2))
        mult[:, 0] = 1.0
        mult[:, 1] = self.m
        mult[:, 2:] = Kg
        mult[np.arange(G), 2 + np.arange(G)] = 0.0
        self.mult_rows = np.tile(mult, (self.n, 1))
        # budget c(y) = (||A||^2 + ||B||^2)/2 + sum_g (m_g/K) omega_g s_g
        self.c_lin = np.zeros((self.n, self.ny))
        self.c_lin[:, self.s0 :] = self.m / self.K * self.omega
        self.c_hess = np.concatenate([np.ones(self.nA), self.dup, np.zeros(G)])
        self.s_scale = np.ones(self.ny)  # retraction: (A, B) scale by beta, s by beta^2
        self.s_scale[self.s0 :] = 2.0
        # selector eye(G)/omega for the Jacobian of M_hat with respect to A
        self.eye_om = np.eye(G)[None, :, None, :, None] / self.omega[:, :, None, None, None]

    # -- coordinates ----------------------------------------------------------------------
    def split(self, y):
        n = y.shape[0]
        A = y[:, : self.nA].reshape(n, self.G, self.r)
        B = y[:, self.nA : self.s0][:, self.Bidx]
        return A, B, y[:, self.s0 :]

    def logits(self, y, i: int) -> GroupedLogits:
        """The grouped logits of problem ``i``.

        A singular value of ``M`` that is zero at the optimum (group means of the
        classifiers coinciding, e.g. minority classifiers at the origin) is approached
        quadratically by the lifted variables and ends near 1e-40, not at 0. Singular
        values below 1e-13 of the point's normalized nuclear norm are set to exactly 0;
        the caller's certificate is computed at the snapped point.
        """
        return self.all_logits(y[i : i + 1], first=i)[0]

    def all_logits(self, y, first: int = 0) -> list[GroupedLogits]:
        """:meth:`logits` of problems ``first, first + 1, ...`` for the rows of ``y``, with
        one batched SVD."""
        n = y.shape[0]
        rows = slice(first, first + n)
        A, B, s = self.split(y)
        Mh = (A @ B @ self.Q.T) / self.omega[rows][:, :, None]
        U, S, Vt = np.linalg.svd(Mh)
        size = S.sum(axis=1) + (self.c_lin[rows] * y).sum(axis=1)
        tiny = S <= 1e-13 * size[:, None]
        snap = np.flatnonzero(np.any((S > 0) & tiny, axis=1))
        if snap.size:
            S = np.where(tiny, 0.0, S)
            Mh[snap] = (U[snap] * S[snap, None, :]) @ Vt[snap]
        Mh *= self.K
        return [GroupedLogits(self.groups[first + i], Mh[i], s[i].copy()) for i in range(n)]

    def budget(self, y):
        return 0.5 * (y * y * self.c_hess).sum(axis=1) + (self.c_lin * y).sum(axis=1)

    def budget_grad(self, y):
        return self.c_hess * y + self.c_lin

    def retract(self, y, t):
        """Scale onto ``c = t``: (A, B) by beta and s by beta^2 scales Z by beta^2."""
        beta = np.sqrt(t / self.budget(y))
        return y * beta[:, None] ** self.s_scale

    def start(self, t):
        """The simplex-ETF logits ``c (I - J/K)`` (or ``c I`` for a non-shift-invariant
        loss), scaled onto ``c(y) = t``."""
        c = 1.0
        y = np.zeros((self.n, self.ny))
        if self.r:
            root = np.sqrt(c / self.K)
            y[:, : self.nA] = (root * self.omega[:, :, None] * self.Q[None]).reshape(self.n, -1)
            y[:, self.nA : self.s0] = np.where(self.pi_ == self.qi_, root, 0.0)
        y[:, self.s0 :] = np.where(self.m > 0, c, 0.0)
        if self.budget(y).min() <= 0:  # nothing to scale (K = 1)
            return y
        return self.retract(y, t)

    # -- objective ------------------------------------------------------------------------
    def evaluate(self, y, hessian: bool = True):
        """Objective (n,), gradient (n, ny) and Hessian (n, ny, ny) of f in y."""
        n, G = y.shape[0], self.G
        A, B, s = self.split(y)
        P = B @ self.Q.T  # (n, r, G)
        Mh = (A @ P) / self.omega[:n, :, None]
        u = np.concatenate([Mh.reshape(n, G * G), s], axis=1)
        V = np.einsum("na,ma->nm", u, self.L).reshape(n * G, G + 2)
        out = self.loss.rows(V, self.mult_rows[: n * G], hessian=hessian)
        value = (self.w[:n] * out[0].reshape(n, G)).sum(axis=1)
        gV = self.w[:n, :, None] * out[1].reshape(n, G, G + 2)
        gu = np.einsum("nm,ma->na", gV.reshape(n, -1), self.L)
        gX = (gu[:, : G * G].reshape(n, G, G) / self.omega[:n, :, None]) @ self.Q
        grad = np.empty((n, self.ny))
        grad[:, : self.nA] = (gX @ B).reshape(n, -1)
        S = A.transpose(0, 2, 1) @ gX
        S = S + S.transpose(0, 2, 1)
        grad[:, self.nA : self.s0] = S[:, self.pi_, self.qi_] * self.half_diag
        grad[:, self.s0 :] = gu[:, G * G :]
        if not hessian:
            return value, grad, None
        hV = self.w[:n, :, None, None] * out[2].reshape(n, G, G + 2, G + 2)
        Hu = (self.LgT[None] @ (hV @ self.Lg[None])).sum(axis=1)  # (n, nu, nu)
        J = np.zeros((n, self.nu, self.ny))
        PT = P.transpose(0, 2, 1)  # (n, G, r)
        J[:, : G * G, : self.nA] = (self.eye_om[:n] * PT[:, None, :, None, :]).reshape(
            n, G * G, self.nA
        )
        JB = (A[:, None] @ self.EkQT[None]) / self.omega[:n, None, :, None]  # (n, nb, G, G)
        J[:, : G * G, self.nA : self.s0] = JB.reshape(n, self.nb, G * G).transpose(0, 2, 1)
        J[:, G * G :, self.s0 :] = np.eye(G)
        H = J.transpose(0, 2, 1) @ Hu @ J
        cross = (gX[:, None] @ self.Ek[None]).reshape(n, self.nb, self.nA)  # bilinear X = AB
        H[:, self.nA : self.s0, : self.nA] += cross
        H[:, : self.nA, self.nA : self.s0] += cross.transpose(0, 2, 1)
        return value, grad, H


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
            from .solution import SolverError

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
        )
        for i in range(n)
    ]


def unconstrained_minimizer(layout, loss: Loss) -> GroupedLogits | None:
    """The least-nuclear-norm minimizer of ``f`` without a budget, in grouped form, or
    None when the loss has no finite minimizer.

    Rows of positive weight sit at the loss's own row minimizer (centered for a
    shift-invariant loss); rows of weight 0 are 0 (every row is optimal there). Every
    minimizer maps to this one by zeroing the weight-0 rows and, for a shift-invariant
    loss, multiplying by ``I - J/K`` on the right; both maps never raise the nuclear norm.
    So the budget is slack exactly when it is at least this point's nuclear norm, and then
    this point is optimal.
    """
    margin = loss.unconstrained_margin(layout.K)
    if margin is None:
        return None
    own, other = margin
    sizes = layout.sizes
    sq = np.sqrt(sizes.astype(float))
    M = (own - other) * np.eye(sizes.size) + other * np.outer(sq, sq)
    s = np.where(sizes > 1, own - other, 0.0)
    dead = layout.weights <= 0
    M[dead] = 0.0
    s[dead] = 0.0
    return GroupedLogits(layout, M, s)


#: the reduced solver's options (``solver_options=`` of ``method="reduced"``)
NEWTON_OPTIONS = ("max_iter", "decrement_tol")


def newton_options(options: dict | None) -> dict:
    """``options`` checked against :data:`NEWTON_OPTIONS` (ValueError naming the others)."""
    return check.solver_options("reduced", options, NEWTON_OPTIONS)


def solve_constrained(sizes, weights, loss: Loss, tau, *, force_zero=(), groups=None, **options):
    r"""Solve ``min f(Z)`` s.t. ``||Z||_* <= tau`` in grouped form for a batch of problems.

    ``weights`` is (n, G), ``tau`` is a scalar or (n,); ``groups`` optionally gives each
    problem's class layout (:class:`lpm.model.Groups`). A problem whose loss has a finite
    unconstrained minimizer inside its ball gets that minimizer (multiplier 0); the others
    are solved by :func:`newton` with the budget binding (see
    :func:`unconstrained_minimizer`).
    """
    weights = np.atleast_2d(np.asarray(weights, float))
    n = weights.shape[0]
    sizes = np.asarray(sizes, int)
    K = float(sizes.sum())
    tau = np.broadcast_to(np.asarray(tau, float), (n,))
    results: list[ReducedResult | None] = [None] * n
    if not len(force_zero):
        from .model import Groups

        for i in range(n):
            layout = (
                groups[i]
                if groups is not None
                else Groups(
                    np.repeat(np.arange(sizes.size), sizes),
                    sizes,
                    weights[i],
                    np.concatenate([[0], np.cumsum(sizes)[:-1]]),
                )
            )
            Zu = unconstrained_minimizer(layout, loss)
            if Zu is not None and Zu.nuclear_norm() <= tau[i]:
                results[i] = ReducedResult(
                    Zu,
                    0.0,
                    0,
                    True,
                    "budget not binding: the unconstrained minimizer is feasible",
                    np.zeros(sizes.size, bool),
                    np.zeros(sizes.size),
                    [],
                )
    todo = [i for i in range(n) if results[i] is None]
    if todo and K == 1 and loss.shift_invariant:
        # one class and a shift-invariant loss: the loss is identically 0, Z = 0
        from .model import Groups

        for i in todo:
            layout = (
                groups[i]
                if groups is not None
                else Groups(np.zeros(1, int), sizes, weights[i], np.zeros(1, int))
            )
            results[i] = ReducedResult(
                GroupedLogits(layout, np.zeros((1, 1)), np.zeros(1)),
                0.0,
                0,
                True,
                "one class: the loss is identically 0",
                np.zeros(1, bool),
                np.zeros(1),
                [],
            )
        todo = []
    if todo:
        program = ReducedProgram(
            sizes, weights[todo], loss, groups=None if groups is None else [groups[i] for i in todo]
        )
        for i, res in zip(todo, newton(program, t=tau[todo] / K, force_zero=force_zero, **options)):
            results[i] = res
    return results
