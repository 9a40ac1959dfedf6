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

from .logits import DenseLogits
from .model import Model
from .solution import Solution

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


def fit_budgets(H, W, model: Model):
    """Scale rows (per-class) or the whole matrix (average) into the budgets, so that the
    certified point is feasible despite the solver's tolerance."""
    if model.constraint == "average":
        for A, E in ((H, model.E_H), (W, model.E_W)):
            total = float((A * A).sum())
            if total > model.K * E:
                A *= math.sqrt(model.K * E / total)
    else:
        for A, E in ((H, model.E_H), (W, model.E_W)):
            n2 = (A * A).sum(axis=1)
            A *= np.sqrt(np.minimum(1.0, E / np.maximum(n2, 1e-300)))[:, None]
    return H, W


def solve(
    model: Model,
    *,
    p: int,
    solver: str | None = None,
    gap_tol: float = 1e-6,
    solver_options: dict | None = None,
) -> Solution:
    """Solve the SDP relaxation and factor its Gram matrix into ``W`` and ``H``."""
    from .conic import run

    started = time.perf_counter()
    solver = (solver or DEFAULT_SOLVER).upper()
    prob, X = problem(model)
    converged, message, iterations = run(prob, solver, solver_options, "sdp")
    H, W = fit_budgets(*factor_gram(X.value, model.K, p), model)
    if model.constraint != "average":
        from .solution import SolverError

        raise SolverError("per-class certificates are not implemented")  # see issue 4
    return Solution.certify(
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
    )
