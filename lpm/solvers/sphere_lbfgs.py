r"""Riemannian L-BFGS for the factored nuclear-norm program, with rank adaptation: the
engine of ``method="lowrank"`` (:mod:`lpm.solvers.lowrank` has the method, its
options and its starts).

:math:`\min f(H W^\top)` on the sphere :math:`\lVert H\rVert_F^2 + \lVert W\rVert_F^2 =
2\tau`: gradients projected on the tangent space, retraction by rescaling, vector
transport by projection; a Gauss--Newton diagonal preconditioner, a line search that
also accepts steps on a shrinking directional derivative, and rank cuts and additions
decided by the Frank--Wolfe gap (see :mod:`lpm.solvers.lowrank`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _progress
from ..model.losses import CrossEntropy, LabelSmoothing, SquaredLoss
from ..model.model import Model

EPS = np.finfo(float).eps

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
        bar = _progress.bar(max_iter, "lpm lowrank", unit="it")  # on a terminal, after 1 s
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
                bar.set_postfix_str(f"gap {gap:.2e}, rank {self.r}", refresh=False)
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
            bar.update()

        bar.close()
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
