r"""The nuclear-norm program at large ``K``: a rank-adaptive Burer--Monteiro factorization
optimized by Riemannian L-BFGS, certified by the Frank--Wolfe gap.

The program (the LPM's nuclear-norm form, for any class counts):

.. math::

    \min_{Z \in \mathbb{R}^{K\times K}}\; f(Z) = \sum_k \pi_k L(Z_{k\cdot}, k)
    \quad\text{s.t.}\quad \lVert Z\rVert_* \le \tau = K\sqrt{E_W E_H}.

Method. :math:`\lVert Z\rVert_* = \min_{Z = H W^\top} (\lVert H\rVert_F^2 +
\lVert W\rVert_F^2)/2`, so with :math:`Z = H W^\top` (``H, W`` of shape ``K x r``) the
program is :math:`\min f(H W^\top)` s.t. :math:`\lVert H\rVert_F^2 + \lVert W\rVert_F^2
\le 2\tau`, which has the same optimal value as soon as ``r`` reaches the rank of an
optimal ``Z`` (Burer--Monteiro). When the budget binds (always for cross-entropy; for a
loss with a finite minimizer unless that minimizer fits, which is checked first and then
returned) the optimum lies on the sphere :math:`\lVert H\rVert_F^2 + \lVert W\rVert_F^2
= 2\tau`, a smooth manifold, and the solver runs L-BFGS on it: gradients projected on the
tangent space, retraction by rescaling, vector transport by projection. Three choices,
each decided by measurement (see ``bench/bench_scale.py`` and the project notes), make it
fast and accurate:

* *Preconditioner*: the diagonal of the Gauss--Newton part of the Lagrangian's Hessian
  (loss curvature through the other factor, plus the multiplier), refreshed every few
  iterations, as L-BFGS's initial metric. Loss weights that differ by the imbalance
  factor otherwise make the problem badly scaled.
* *Line search on the directional derivative*: a step is also accepted when the
  objective has not risen beyond its rounding level and the directional derivative has
  shrunk (an approximate Wolfe condition). The Frank--Wolfe gap is linear in the
  distance to the optimum while the objective error is quadratic, so a certified gap of
  1e-8 needs iterates far more accurate than the objective can resolve.
* *Rank adaptation*: the start is the balanced optimum (a simplex ETF, rank ``K - 1``);
  the singular values of ``Z`` separate within a few dozen iterations, and the factors
  are then cut to the numerical rank plus a few spare columns, which makes every later
  iteration cheaper (long-tailed counts keep about a third of the ranks at ``K = 1000``).
  When the gradient has a descent direction outside the current row and column spaces
  (the Frank--Wolfe gap shows it), its singular pair is added back.

The iteration stops once the Frank--Wolfe gap of the current ``Z`` is below ``gap_tol``;
the solution is then certified from the logits alone by :meth:`lpm.Solution.certify`.

References
----------
S. Burer, R. D. C. Monteiro, "A nonlinear programming algorithm for solving semidefinite
programs via low-rank factorization", Math. Program. 95, 2003. D. C. Liu, J. Nocedal,
"On the limited memory BFGS method for large scale optimization", Math. Program. 45,
1989. W. W. Hager, H. Zhang, "A new conjugate gradient method with guaranteed descent and
an efficient line search", SIAM J. Optim. 16, 2005 (approximate Wolfe conditions).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import _validation as check
from .logits import DenseLogits, helmert_basis
from .losses import CrossEntropy, LabelSmoothing, SquaredLoss
from .model import Model
from .solution import Solution, SolverError

EPS = np.finfo(float).eps

#: default ``solver_options`` of ``method="lowrank"``
DEFAULTS = {
    "max_iter": 20_000,
    "memory": 8,
    "time_limit": None,
    "rank_rtol": 1e-3,
    "start": None,
    "memory_limit": 8 * 1024**3,
}

#: iterations between two refreshes of the preconditioner
PRECONDITION_EVERY = 10
#: iterations before the first review of the rank, and between two later ones
FIRST_REVIEW = 25
REVIEW_EVERY = 50
#: iterations between two exact certificates (each costs an SVD of the gradient, about
#: the price of two or three iterations) while the gap is predicted to be far above its
#: target, and once it is predicted to be near it
CHECK_EVERY = 25
CHECK_CLOSE = 3
#: stop when the gap has not halved over this many iterations (its rounding floor)
PATIENCE = 1000
#: at most this many singular pairs are added to the factors at once
MAX_ADDED = 8


# -- the loss on dense logits -----------------------------------------------------------
class _Objective:
    """``f`` on dense logits and the Gauss--Newton diagonal of the factored problem."""

    def __init__(self, model: Model):
        self.model = model
        self.pi = model.pi
        loss = model.loss
        if type(loss) is CrossEntropy:
            self.kind, self.alpha = "softmax", 0.0
        elif type(loss) is LabelSmoothing:
            self.kind, self.alpha = "softmax", loss.alpha
        elif type(loss) is SquaredLoss:
            self.kind, self.alpha = "squared", 0.0
        else:  # any other convex loss: its own dense evaluation, no preconditioner
            self.kind, self.alpha = "generic", 0.0

    def __call__(self, Z):
        return self.model.loss.dense(Z, self.pi)

    def gauss_newton_diagonal(self, H, W, G):
        """Diagonal of the loss curvature in ``(H, W)`` (``None`` when unknown)."""
        pi = self.pi
        if self.kind == "squared":  # row Hessian pi_k I
            return np.outer(pi, (W * W).sum(axis=0)), np.outer(np.ones(len(pi)), pi @ (H * H))
        if self.kind != "softmax":
            return None
        K = len(pi)
        # probabilities from the gradient: p = G / pi + targets (rows of weight 0 are
        # left at 0; they carry no curvature)
        live = pi > 0
        P = np.zeros_like(G)
        P[live] = G[live] / pi[live, None] + self.alpha / K
        d = np.arange(K)
        P[d, d] = 0.0
        others = P.sum(axis=1)  # 1 - p_own, without cancellation
        P[d, d] = 1.0 - others
        A = pi[:, None] * P
        PW = P @ W
        dH = A @ (W * W) - pi[:, None] * PW * PW
        A *= 1.0 - P
        A[d, d] = pi * P[d, d] * others
        dW = A.T @ (H * H)
        return dH, dW


# -- the factored program on the sphere --------------------------------------------------
@dataclass
class LowRankResult:
    """Raw output of :func:`factored_lbfgs`."""

    Z: np.ndarray
    H: np.ndarray
    W: np.ndarray
    iterations: int
    evaluations: int
    converged: bool
    message: str
    gap: float  # Frank-Wolfe gap of Z with this module's loss evaluation
    history: list = field(default_factory=list)  # (iteration, objective, gap, rank)


def frank_wolfe_gap(model: Model, Z, value, G) -> float:
    """The Frank--Wolfe gap with the rounding allowance of :meth:`Solution.certify`."""
    inner = float(np.vdot(G, Z))
    sigma = float(np.linalg.norm(G, 2))
    magnitude = abs(inner) + model.tau * sigma + abs(value)
    return max(inner + model.tau * sigma, 0.0) + 8 * model.K * EPS * magnitude


def _truncated(H, W, rtol, dead):
    """Balanced factors of ``H W^T`` cut to its numerical rank (+ spare columns), or None
    when the cut would not shrink them by at least 10%."""
    QH, RH = np.linalg.qr(H)
    QW, RW = np.linalg.qr(W)
    u, s, vt = np.linalg.svd(RH @ RW.T)
    keep = int((s > rtol * s[0]).sum()) if s.size and s[0] > 0 else 1
    r = min(H.shape[1], keep + max(2, math.ceil(0.02 * keep)))
    if r > 0.9 * H.shape[1]:
        return None
    root = np.sqrt(s[:r])
    Hn = (QH @ u[:, :r]) * root
    Wn = (QW @ vt[:r].T) * root
    Hn[dead] = 0.0
    return Hn, Wn


def _outside_directions(H, W, G, threshold):
    """Singular pairs ``(sigma, u, v)`` of ``-G`` restricted to the complements of the
    column spaces of ``H`` and ``W`` with ``sigma > threshold`` (at most MAX_ADDED).

    At an optimum every such singular value is at most the budget's multiplier (the
    matrix ``W_perp`` of the KKT conditions has spectral norm <= 1); a larger one is a
    descent direction that the current rank cannot reach."""
    QH = np.linalg.qr(H)[0]
    QW = np.linalg.qr(W)[0]
    Gp = -G
    Gp = Gp - QH @ (QH.T @ Gp)
    Gp = Gp - (Gp @ QW) @ QW.T
    U, S, Vt = np.linalg.svd(Gp)
    n = int(min(MAX_ADDED, (S > threshold).sum()))
    return S[:n], U[:, :n], Vt[:n].T


def factored_lbfgs(
    model: Model,
    H: np.ndarray,
    W: np.ndarray,
    *,
    gap_tol: float,
    max_iter: int = 20_000,
    memory: int = 8,
    time_limit: float | None = None,
    rank_rtol: float = 1e-3,
) -> LowRankResult:
    r"""Riemannian L-BFGS for :math:`\min f(H W^\top)` on the sphere
    :math:`\lVert H\rVert_F^2 + \lVert W\rVert_F^2 = 2\tau`, with rank adaptation.

    Parameters
    ----------
    model : Model
    H, W : ndarray, shape (K, r)
        Starting factors (scaled onto the sphere here). Rows of ``H`` of classes with
        loss weight 0 are set to 0 and stay 0 (the loss does not see them, the budget
        does).
    gap_tol : float
        Stop when the Frank--Wolfe gap of ``Z = H W^T`` is at most this.
    max_iter : int
        Maximum number of L-BFGS iterations.
    memory : int
        Number of correction pairs kept by L-BFGS.
    time_limit : float, optional
        Seconds after which the current point is returned (``converged=False``).
    rank_rtol : float
        Singular values of ``Z`` below ``rank_rtol`` times the largest count as zero when
        the factors are cut to the numerical rank.

    Returns
    -------
    LowRankResult
    """
    run = _SphereLBFGS(model, memory)
    return run.solve(H, W, gap_tol, max_iter, time_limit, rank_rtol)


class _SphereLBFGS:
    """State of one run of :func:`factored_lbfgs`; ``x`` stacks ``H`` and ``W``."""

    def __init__(self, model: Model, memory: int):
        self.model = model
        self.objective = _Objective(model)
        self.K = model.K
        self.radius2 = 2.0 * model.tau
        self.dead = model.pi <= 0
        self.memory = memory
        self.evaluations = 0

    # -- the point and its derivatives ----------------------------------------------------
    def split(self, x):
        n = self.K * self.r
        return x[:n].reshape(self.K, self.r), x[n:].reshape(self.K, self.r)

    def load(self, H, W):
        """Move to the factors ``(H, W)`` scaled onto the sphere; forget the memory."""
        H = np.array(H, dtype=float)
        H[self.dead] = 0.0
        self.r = H.shape[1]
        x = np.concatenate([H.ravel(), np.asarray(W, dtype=float).ravel()])
        x *= math.sqrt(self.radius2 / float(x @ x))
        self.x = x
        self.f, self.g, self.Z, self.G = self.evaluate(x)
        self.rg = self.g - (float(x @ self.g) / self.radius2) * x
        m, n = self.memory, x.size
        self.S, self.Y = np.zeros((m, n)), np.zeros((m, n))
        self.rho = np.zeros(m)
        self.count = self.head = 0
        self.D = None

    def evaluate(self, x):
        self.evaluations += 1
        H, W = self.split(x)
        Z = H @ W.T
        value, G = self.objective(Z)
        g = np.empty_like(x)
        gH, gW = self.split(g)
        np.matmul(G, W, out=gH)
        np.matmul(G.T, H, out=gW)
        return value, g, Z, G

    def precondition(self):
        """Refresh the diagonal metric: Gauss-Newton diagonal plus the multiplier."""
        mu = max(-float(self.x @ self.g) / self.radius2, 0.0)
        diag = self.objective.gauss_newton_diagonal(*self.split(self.x), self.G)
        if diag is None:
            self.D = None
            return
        D = np.concatenate([diag[0].ravel(), diag[1].ravel()])
        D += mu
        floor = 1e-12 * float(D.max())
        self.D = np.maximum(D, floor if floor > 0 else 1.0, out=D)

    # -- one iteration --------------------------------------------------------------------
    def direction(self):
        """L-BFGS direction (two-loop recursion, tangent at ``x``) and its slope."""
        S, Y, rho, D = self.S, self.Y, self.rho, self.D
        q = self.rg.copy()
        order = [(self.head - 1 - i) % self.memory for i in range(self.count)]
        alpha = np.zeros(self.memory)
        for i in order:
            alpha[i] = rho[i] * float(S[i] @ q)
            q -= alpha[i] * Y[i]
        if self.count:
            j = order[0]
            yHy = float(Y[j] @ (Y[j] / D)) if D is not None else float(Y[j] @ Y[j])
            q *= (1.0 / rho[j]) / yHy
        elif D is None:
            q *= 1e-2 / max(float(np.linalg.norm(self.rg)), 1e-300)
        if D is not None:
            q /= D
        for i in reversed(order):
            q += (alpha[i] - rho[i] * float(Y[i] @ q)) * S[i]
        q -= (float(self.x @ q) / self.radius2) * self.x
        q *= -1.0
        return q, float(self.rg @ q)

    def line_search(self, d, slope) -> bool:
        """Backtrack along ``d`` (retracted onto the sphere); on success move there and
        store the correction pair. A step is accepted on sufficient decrease, or, once
        the objective is at its rounding level, on a shrinking directional derivative."""
        x, f, rg = self.x, self.f, self.rg
        slack = 64 * EPS * abs(f)
        step = 1.0
        for _ in range(40):
            xn = x + step * d
            xn *= math.sqrt(self.radius2 / float(xn @ xn))
            fn, gn, Zn, Gn = self.evaluate(xn)
            rgn = gn - (float(xn @ gn) / self.radius2) * xn
            # rgn is tangent at xn, so rgn . d is the slope of the retracted path
            if fn <= f + 1e-4 * step * slope or (
                fn <= f + slack and abs(float(rgn @ d)) <= 0.9 * abs(slope)
            ):
                break
            step *= 0.5
        else:
            return False
        # correction pair, transported to xn by projection (|xn|^2 = radius2)
        c = float(xn @ x) / self.radius2
        s = c * xn - x
        y = rgn - rg
        y += (float(xn @ rg) / self.radius2) * xn
        sy = float(s @ y)
        if sy > 1e-20 * math.sqrt(float(s @ s) * float(y @ y)):
            self.S[self.head], self.Y[self.head] = s, y
            self.rho[self.head] = 1.0 / sy
            self.head = (self.head + 1) % self.memory
            self.count = min(self.count + 1, self.memory)
        self.x, self.f, self.g, self.rg, self.Z, self.G = xn, fn, gn, rgn, Zn, Gn
        return True

    # -- rank -----------------------------------------------------------------------------
    def review(self, gap, stalled, rank_rtol) -> bool:
        """Cut the factors to the numerical rank, or, when progress stalled after a cut,
        add the singular pairs of the gradient outside their span. True if changed."""
        H, W = self.split(self.x)
        # once ranks had to be added back, the cut was too deep: never cut again
        cut = None if self.grown else _truncated(H, W, rank_rtol, self.dead)
        if cut is not None:
            self.load(*cut)
            self.truncated = True
            return True
        if not (self.truncated and stalled):
            return False
        tau = self.model.tau
        mu = -float(np.vdot(self.G, self.Z)) / tau
        sig, U, V = _outside_directions(H, W, self.G, mu + 0.5 * gap / tau)
        if not sig.size:
            return False
        scale = math.sqrt(1e-3 * float(sig[-1]) / max(mu, 1e-300))
        self.load(np.hstack([H, U * scale]), np.hstack([W, V * scale]))
        self.grown = True
        return True

    # -- the loop -------------------------------------------------------------------------
    def solve(self, H, W, gap_tol, max_iter, time_limit, rank_rtol) -> LowRankResult:
        started = time.perf_counter()
        self.truncated = self.grown = False
        self.load(H, W)
        history = []
        best_gap, best_at = math.inf, 0
        last_check, last_review, gap_at_review = 0, 0, math.inf
        ratio = math.inf
        converged, message = False, f"maximum number of iterations ({max_iter}) reached"
        gap = math.inf
        it = 0
        while True:
            # -- certificate (one SVD of the gradient), stopping tests, rank review -------
            out_of_time = time_limit is not None and time.perf_counter() - started > time_limit
            since = it - last_check
            # the gap and the gradient norm shrink together near the optimum: their ratio
            # at the last check says when the next check can succeed (the schedule depends
            # on the iterates only, so the same call gives the same numbers)
            predicted = ratio * float(np.linalg.norm(self.rg))
            close = predicted <= 2 * gap_tol and since >= CHECK_CLOSE
            if it == 0 or close or since >= CHECK_EVERY or it >= max_iter or out_of_time:
                gap = frank_wolfe_gap(self.model, self.Z, self.f, self.G)
                last_check = it
                history.append((it, float(self.f), float(gap), self.r))
                ratio = gap / max(float(np.linalg.norm(self.rg)), 1e-300)
                if gap <= gap_tol:
                    converged, message = True, f"converged: Frank-Wolfe gap {gap:.3g}"
                    break
                if gap < 0.5 * best_gap:
                    best_gap, best_at = gap, it
                elif it - best_at >= PATIENCE:
                    converged = True
                    message = (
                        f"stopped: the Frank-Wolfe gap ({gap:.3g}) has not halved in "
                        f"{PATIENCE} iterations (its rounding floor, or very slow progress)"
                    )
                    break
                if it >= max_iter:
                    break
                if out_of_time:
                    message = f"time limit ({time_limit:g} s) reached"
                    break
                due = FIRST_REVIEW if last_review == 0 else REVIEW_EVERY
                if it - last_review >= due:
                    self.review(gap, gap > 0.5 * gap_at_review, rank_rtol)
                    last_review, gap_at_review = it, gap

            if self.D is None or it % PRECONDITION_EVERY == 0:
                self.precondition()
            d, slope = self.direction()
            if not slope < 0:  # not a descent direction: restart from the scaled gradient
                self.count = self.head = 0
                d, slope = self.direction()
            if not self.line_search(d, slope):
                if self.count:  # retry once from the preconditioned gradient
                    self.count = self.head = 0
                    d, slope = self.direction()
                    ok = self.line_search(d, slope)
                else:
                    ok = False
                if not ok:
                    converged = True
                    message = (
                        f"stopped: no descent step from the current point (gap {gap:.3g}); "
                        "the iteration has reached the rounding level of the objective"
                    )
                    break
            it += 1

        H, W = self.split(self.x)
        return LowRankResult(
            Z=self.Z,
            H=H.copy(),
            W=W.copy(),
            iterations=it,
            evaluations=self.evaluations,
            converged=converged,
            message=message,
            gap=gap,
            history=history,
        )


# -- starts ------------------------------------------------------------------------------
def etf_start(model: Model):
    """The balanced optimum as factors: ``H = W`` an orthonormal basis of the centered
    vectors (rank ``K - 1``, a simplex ETF) for a shift-invariant loss, the identity
    otherwise; rows of loss weight 0 in ``H`` are 0."""
    K = model.K
    B = helmert_basis(K) if model.loss.shift_invariant and K > 1 else np.eye(K)
    H, W = B.copy(), B.copy()
    H[model.pi <= 0] = 0.0
    return H, W


def factors_of(Z: np.ndarray, rtol: float = 1e-12):
    """Balanced factors of a logit matrix, cut at ``rtol`` times its largest singular value."""
    U, s, Vt = np.linalg.svd(np.asarray(Z, dtype=float))
    r = max(1, int((s > rtol * s[0]).sum())) if s.size and s[0] > 0 else 1
    root = np.sqrt(s[:r])
    return U[:, :r] * root, Vt[:r].T * root


# -- the method ----------------------------------------------------------------------------
def solve_lowrank(
    model: Model,
    *,
    p: int | None = None,
    gap_tol: float = 1e-8,
    max_iter: int = DEFAULTS["max_iter"],
    memory: int = DEFAULTS["memory"],
    time_limit: float | None = None,
    rank_rtol: float = DEFAULTS["rank_rtol"],
    start=None,
    memory_limit: float = DEFAULTS["memory_limit"],
) -> Solution:
    r"""Solve the nuclear-norm program of the LPM by a rank-adaptive factorization.

    .. math::

        \min_{Z} \sum_k \pi_k L(Z_{k\cdot}, k)
        \quad\text{s.t.}\quad \lVert Z\rVert_* \le \tau = K\sqrt{E_W E_H}

    over :math:`Z = H W^\top` (see the module docstring), for any class counts; the cost
    of an iteration is a few ``K x K x r`` products, ``r`` the rank of the optimum.

    Parameters
    ----------
    model : Model
        With the average norm constraint (per-class budgets have no nuclear-norm form).
    p : int, optional
        Columns of ``W`` and ``H`` of the solution (default: the smallest exact one,
        ``K - 1`` for cross-entropy).
    gap_tol : float
        Certified gap at which the iteration stops and the solution counts as a success.
    max_iter : int
        Maximum number of L-BFGS iterations.
    memory : int
        L-BFGS correction pairs.
    time_limit : float, optional
        Seconds after which the current point is certified and returned.
    rank_rtol : float
        Relative singular-value level below which ranks are cut (they are added back if
        the certificate shows they are needed).
    start : array_like, shape (K, K), optional
        Logits to start from (e.g. a neighbouring solution's ``logits``); default the
        balanced optimum (simplex ETF).
    memory_limit : float
        Bytes the work arrays may take (about ``(6 + 4 memory) K^2`` doubles at the
        start, at full rank); a larger need raises ``MemoryError`` before any work.

    Returns
    -------
    Solution
        ``method="lowrank"``, ``solver="lbfgs"``; ``history`` holds
        ``(iteration, objective, gap, rank)`` at each check of the certificate.
    """
    from .reduced import unconstrained_minimizer

    started = time.perf_counter()
    if model.constraint != "average":
        raise ValueError(
            "method='lowrank' needs the average norm constraint; per-class budgets have no "
            "nuclear-norm form (use method='sdp')"
        )
    if getattr(model, "beta", None) is not None:
        raise ValueError(
            "method='lowrank' solves the budget-constrained program; for weight decay use "
            "lpm.solve_penalized_model"
        )
    gap_tol = check.positive_real("gap_tol", gap_tol)
    max_iter = check.class_count("max_iter", max_iter, minimum=0)
    memory = check.class_count("memory", memory, minimum=1)
    if time_limit is not None:
        time_limit = check.positive_real("time_limit", time_limit)
    rank_rtol = check.positive_real("rank_rtol", rank_rtol)
    if not rank_rtol < 1:
        raise ValueError(f"rank_rtol must be in (0, 1), got {rank_rtol!r}")
    memory_limit = check.positive_real("memory_limit", memory_limit)
    lo = model.min_exact_dimension
    if p is None:
        p = lo
    else:
        why = f"the nuclear-norm program is exact only for p >= {lo} with K={model.K}"
        p = check.feature_dimension(p, lo, why)
    need = 8.0 * (6 + 4 * memory) * float(model.K) ** 2
    if need > memory_limit:
        raise MemoryError(
            f"method='lowrank' needs about {need / 1024**3:.3g} GiB of work arrays for "
            f"K={model.K} with memory={memory}, above memory_limit="
            f"{memory_limit / 1024**3:.3g} GiB; pass a larger memory_limit or a smaller "
            "memory in solver_options"
        )

    # a budget that does not bind: the least-norm unconstrained minimizer is optimal
    free = unconstrained_minimizer(model.groups, model.loss)
    if free is not None and free.nuclear_norm() <= model.tau:
        return Solution.certify(
            model,
            DenseLogits(free.dense()),
            method="lowrank",
            solver="lbfgs",
            started=started,
            p=p,
            gap_tol=gap_tol,
            message="budget not binding: the unconstrained minimizer is feasible",
            iterations=0,
        )

    if start is None:
        H0, W0 = etf_start(model)
    else:
        Z0 = np.asarray(start, dtype=float)
        if Z0.shape != (model.K, model.K):
            raise ValueError(
                f"start must be a {model.K} x {model.K} logit matrix, got an array of "
                f"shape {Z0.shape}"
            )
        if not (np.all(np.isfinite(Z0)) and np.any(Z0[model.pi > 0] != 0)):
            raise ValueError(
                "start must be finite and nonzero in a row of positive loss weight (rows "
                "of weight 0 are set to 0)"
            )
        H0, W0 = factors_of(Z0)
    res = factored_lbfgs(
        model,
        H0,
        W0,
        gap_tol=gap_tol,
        max_iter=max_iter,
        memory=memory,
        time_limit=time_limit,
        rank_rtol=rank_rtol,
    )
    if not np.all(np.isfinite(res.Z)):
        raise SolverError("method='lowrank': the iteration produced non-finite logits")
    message = f"{res.message}; rank {res.H.shape[1]}, {res.evaluations} evaluations"
    return Solution.certify(
        model,
        DenseLogits(res.Z),
        method="lowrank",
        solver="lbfgs",
        started=started,
        p=p,
        gap_tol=gap_tol,
        message=message,
        converged=res.converged,
        iterations=res.iterations,
        history=res.history,
    )


def solve(
    model: Model,
    *,
    p: int,
    solver: str | None = None,
    gap_tol: float = 1e-8,
    solver_options: dict | None = None,
) -> Solution:
    """Runner for ``method="lowrank"``: :func:`solve_lowrank` with the options
    ``max_iter``, ``memory``, ``time_limit``, ``rank_rtol``, ``start``, ``memory_limit``
    given in ``solver_options``."""
    if solver not in (None, "lbfgs"):
        raise ValueError(
            f"method='lowrank' uses its own L-BFGS solver ('lbfgs'), got solver={solver!r}"
        )
    options = check.solver_options("lowrank", solver_options, DEFAULTS)
    return solve_lowrank(model, p=p, gap_tol=gap_tol, **options)
