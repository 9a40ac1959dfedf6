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
the solution is then certified from the logits alone by :func:`lpm.certificates.certify`.

References
----------
S. Burer, R. D. C. Monteiro, "A nonlinear programming algorithm for solving semidefinite
programs via low-rank factorization", Math. Program. 95, 2003. D. C. Liu, J. Nocedal,
"On the limited memory BFGS method for large scale optimization", Math. Program. 45,
1989. W. W. Hager, H. Zhang, "A new conjugate gradient method with guaranteed descent and
an efficient line search", SIAM J. Optim. 16, 2005 (approximate Wolfe conditions).
"""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as check
from ..certificates import Solution, SolverError, certify
from ..model.logits import DenseLogits, helmert_basis
from ..model.model import Model
from ..model.unconstrained import unconstrained_minimizer
from .sphere_lbfgs import factored_lbfgs

#: default ``solver_options`` of ``method="lowrank"``
DEFAULTS = {
    "max_iter": 20_000,
    "memory": 8,
    "time_limit": None,
    "rank_rtol": 1e-3,
    "start": None,
    "memory_limit": 8 * 1024**3,
}


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
    started = time.perf_counter()
    check.instance("model", model, Model, "an lpm.Model")
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
        return certify(
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
        Z0 = check.real_array("start", start)
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
    return certify(
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
