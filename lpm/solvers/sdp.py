r"""The paper's semidefinite relaxation of the LPM, solved with cvxpy (SCS by default).

With :math:`X = [H; W][H; W]^\top` (a ``2K x 2K`` Gram matrix) and
:math:`Z = X_{HW} = H W^\top`,

.. math::

    \min_{X \succeq 0}\ \sum_k \pi_k L(Z_{k\cdot}, k)\quad\text{s.t.}\quad
    \operatorname{tr} X_{HH} \le K E_H,\quad \operatorname{tr} X_{WW} \le K E_W

(with ``constraint="per_class"``: :math:`\operatorname{diag} X_{HH} \le E_H`,
:math:`\operatorname{diag} X_{WW} \le E_W`). Any feasible ``X`` factors back into
``H, W`` with ``p = rank X`` columns, so the relaxation is exact once ``p`` reaches the
rank of an optimal ``X`` (``K - 1`` for cross-entropy).
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import _validation as check
from ..certificates import NuclearBall, PerClassDual, Solution, certify, fit_budgets
from ..model.logits import DenseLogits
from ..model.model import Model
from .conic import run

DEFAULT_SOLVER = "SCS"


def problem(model: Model):
    """The cvxpy problem and its Gram-matrix variable ``X``."""
    import cvxpy as cp

    K = model.K
    X = cp.Variable((2 * K, 2 * K), PSD=True, name="X")
    gram_H, gram_W, Z = X[:K, :K], X[K:, K:], X[:K, K:]
    objective = cp.Minimize(model.loss.cvx(Z, model.pi))
    if model.constraint == "average":
        budgets = [cp.trace(gram_H) <= K * model.E_H, cp.trace(gram_W) <= K * model.E_W]
    else:
        budgets = [cp.diag(gram_H) <= model.E_H, cp.diag(gram_W) <= model.E_W]
    return cp.Problem(objective, budgets), X


def factor_gram(X: np.ndarray, K: int, p: int):
    """``H, W`` (K x p) with ``[H; W][H; W]^T`` the best rank-p PSD approximation of X."""
    X = 0.5 * (X + X.T)
    vals, vecs = np.linalg.eigh(X)
    order = np.argsort(vals)[::-1][:p]
    vals = np.clip(vals[order], 0.0, None)
    F = np.zeros((2 * K, p))
    F[:, : vals.size] = vecs[:, order] * np.sqrt(vals)
    return F[:K], F[K:]


def solve(
    model: Model,
    *,
    p: int,
    solver: str | None = None,
    gap_tol: float = 1e-6,
    solver_options: dict | None = None,
) -> Solution:
    """Solve the SDP relaxation and factor its Gram matrix into ``W`` and ``H``.

    The average budgets are certified by the Frank--Wolfe gap of the nuclear-norm form;
    per-class budgets by :class:`PerClassDual`, from the solver's dual values.
    """
    started = time.perf_counter()
    solver = (check.solver_name(solver) or DEFAULT_SOLVER).upper()
    prob, X = problem(model)
    converged, message, iterations = run(prob, solver, solver_options, "sdp")
    if model.constraint == "per_class":
        duals = [c.dual_value for c in prob.constraints[:2]]
        have = all(d is not None for d in duals)
        certificate = PerClassDual(np.concatenate(duals) if have else None)
    else:
        certificate = NuclearBall()
    # Two candidate factorizations: the top-p eigenvectors of X, and the balanced factors
    # of the solver's logits X_HW. They agree when the budget binds (then rank X = rank Z);
    # with a slack budget the solver's X can have rank above p (many optima), and only
    # the second keeps the logits. The one with the smaller certified gap is returned.
    K = model.K
    Z = 0.5 * (X.value[:K, K:] + X.value[K:, :K].T)
    F_H, F_W = DenseLogits(Z).factors(p)
    c = math.sqrt(model.scale)
    candidates = [factor_gram(X.value, K, p), (F_H * c, F_W / c)]
    best = None
    for H, W in candidates:
        H, W = fit_budgets(H, W, model)
        gap = certificate.bound(model, DenseLogits(H @ W.T), (H, W)).gap
        if best is None or gap < best[0]:
            best = (gap, H, W)
    _, H, W = best
    return certify(
        model,
        DenseLogits(H @ W.T),
        method="sdp",
        solver=solver,
        started=started,
        p=p,
        gap_tol=gap_tol,
        message=message,
        converged=converged,
        iterations=iterations,
        factors=(H, W),
        certificate=certificate,
    )
