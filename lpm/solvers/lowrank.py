r"""``method="lowrank"``: the nuclear-norm program of the LPM for any class counts, as a
rank-adaptive Burer--Monteiro factorization in grouped coordinates, optimized by
Riemannian L-BFGS and certified by the Frank--Wolfe gap.

The program (the LPM's nuclear-norm form):

.. math::

    \min_{Z \in \mathbb{R}^{K\times K}}\; f(Z) = \sum_k \pi_k L(Z_{k\cdot}, k)
    \quad\text{s.t.}\quad \lVert Z\rVert_* \le \tau = K\sqrt{E_W E_H}.

Method. Classes of equal count are interchangeable and the program is convex, so some
optimum has the grouped form of :class:`lpm.model.GroupedLogits`: a ``G x G`` block
``M`` on the group means and one value :math:`s_g` per group, ``G`` the number of
distinct counts (310 for ImageNet-LT's 1000 classes). Factored as :math:`M = A B^\top`,
:math:`s_g = y_g^2/(2(K_g-1))`, the program is one smooth problem on the sphere
:math:`\lVert A\rVert_F^2 + \lVert B\rVert_F^2 + \lVert y\rVert^2 = 2\tau`
(:mod:`lpm.solvers.grouped_factors`), with the same optimal value once ``A, B`` have as
many columns as the rank of an optimal ``M``; it is solved by the Riemannian L-BFGS of
:mod:`lpm.solvers.sphere_lbfgs` (Gauss--Newton preconditioner, a line search that also
accepts steps on a shrinking directional derivative, rank cuts and additions decided by
the certificate). A budget that does not bind (a loss with a finite minimizer that fits)
is recognized first and its minimizer returned. The cost of an iteration is a few
``G x G x r`` products; nothing of size ``K x K`` is built unless asked for.

The iteration stops once the gap of the point is below ``gap_tol``: the Frank--Wolfe
gap, or, tighter near the optimum, the lower bound at the point's Newton-corrected dual
point (:mod:`lpm.certificates.dual_point`: the Frank--Wolfe gap is linear in the point's
error, that bound about as small as the objective's error). The solution is then
certified by :func:`lpm.certificates.certify` from its logits and that dual point alone.

References
----------
S. Burer, R. D. C. Monteiro, "A nonlinear programming algorithm for solving semidefinite
programs via low-rank factorization", Math. Program. 95, 2003.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _progress, _threads
from .. import _validation as check
from ..certificates import NuclearBall, Solution, SolverError, certify
from ..model.logits import GroupedLogits
from ..model.model import Model
from ..model.unconstrained import unconstrained_minimizer
from .grouped_factors import GroupedFactors
from .sphere_lbfgs import sphere_lbfgs

#: default ``solver_options`` of ``method="lowrank"``
DEFAULTS = {
    "max_iter": 20_000,
    "memory": 8,
    "time_limit": None,
    "rank_rtol": 1e-3,
    "start": None,
    "memory_limit": 8 * 1024**3,
    "progress": None,
    "blas_threads": 1,
    "dual_point": False,
}


def grouped_start(model: Model, start) -> GroupedLogits:
    """Logits to start from, in grouped form: a ``K x K`` matrix (averaged over the
    groups), grouped logits of the same groups, or a solution of the same model."""
    if isinstance(start, Solution):
        start = start.logits_repr
    if isinstance(start, GroupedLogits):
        if start.groups.G != model.groups.G or not np.array_equal(
            start.groups.sizes, model.groups.sizes
        ):
            raise ValueError("start must have the model's groups of classes")
        Z0 = start
    else:
        Z = check.real_array("start", start)
        if Z.shape != (model.K, model.K):
            raise ValueError(
                f"start must be a {model.K} x {model.K} logit matrix, got an array of "
                f"shape {Z.shape}"
            )
        if not np.all(np.isfinite(Z)):
            raise ValueError("start must be finite")
        Z0 = GroupedLogits.from_dense(model.groups, Z)
    live = model.groups.weights > 0
    if not (np.all(np.isfinite(Z0.M)) and (np.any(Z0.M[live] != 0) or np.any(Z0.s[live] != 0))):
        raise ValueError(
            "start must be finite and nonzero in a row of positive loss weight (rows "
            "of weight 0 are set to 0)"
        )
    return Z0


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
    progress: bool | None = None,
    blas_threads: int | None = DEFAULTS["blas_threads"],
    dual_point: bool = DEFAULTS["dual_point"],
) -> Solution:
    r"""Solve the nuclear-norm program of the LPM by a rank-adaptive factorization.

    .. math::

        \min_{Z} \sum_k \pi_k L(Z_{k\cdot}, k)
        \quad\text{s.t.}\quad \lVert Z\rVert_* \le \tau = K\sqrt{E_W E_H}

    in grouped coordinates (see the module docstring), for any class counts; the cost of
    an iteration is a few ``G x G x r`` products, ``G`` the number of distinct counts and
    ``r`` the rank of the optimum's group block.

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
    start : array_like, shape (K, K), GroupedLogits or Solution, optional
        Logits to start from (e.g. a neighbouring solution); default the balanced
        optimum (simplex ETF).
    memory_limit : float
        Bytes the work arrays may take (about ``(40 + 4 memory) G^2`` doubles at the
        start, at full rank); a larger need raises ``MemoryError`` before any work.
    progress : bool or None
        A progress bar of the iterations (gap and rank at each check): ``None`` on a
        terminal only, ``True`` always, ``False`` never.
    blas_threads : int or None
        BLAS threads of the iteration and its certificate (default 1: on shared cores
        more threads were measured 3-11x slower, and one gives the same numbers whatever
        the caller's BLAS settings); None leaves BLAS as configured.
    dual_point : bool
        What the iteration stops on. False (default): the Frank--Wolfe gap, which bounds
        the point's stationarity as well as its objective, and so its geometry (on
        CIFAR-100-LT at ``gap_tol=1e-8`` the classifier cosines are within
        :math:`2\cdot10^{-6}` of the optimum's). True: the objective's gap at the
        point's Newton-corrected dual point (:mod:`lpm.certificates.dual_point`), which
        certifies ``gap_tol`` in 2-4 times fewer iterations, but at a point whose
        geometry is less accurate (the same case: cosines within :math:`10^{-2}`); for
        an optimal value, not for cosines. Either way the reported ``gap`` is the smaller
        of the two bounds at the returned point.

    Returns
    -------
    Solution
        ``method="lowrank"``, ``solver="lbfgs"``, with grouped logits; ``history`` holds
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
    progress = _progress.check_progress(progress)
    blas_threads = _threads.check_threads(blas_threads)
    dual_point = check.flag("dual_point", dual_point)
    lo = model.min_exact_dimension
    if p is None:
        p = lo
    else:
        why = f"the nuclear-norm program is exact only for p >= {lo} with K={model.K}"
        p = check.feature_dimension(p, lo, why)
    G = model.groups.G
    # the factors at full rank, the gradient and its G x G work arrays, single-precision
    # copies and the correction pairs; with memory=8 this is 72 G^2 doubles, against
    # measured peaks of 66 G^2 (G = 200), 67 (G = 848) and 61 (G = 3024, K = 8000)
    need = 8.0 * (40 + 4 * memory) * float(G) ** 2
    if need > memory_limit:
        raise MemoryError(
            f"method='lowrank' needs about {need / 1024**3:.3g} GiB of work arrays for "
            f"{G} groups of classes with memory={memory}, above memory_limit="
            f"{memory_limit / 1024**3:.3g} GiB; pass a larger memory_limit or a smaller "
            "memory in solver_options"
        )
    Z0 = None if start is None else grouped_start(model, start)

    # a budget that does not bind: the least-norm unconstrained minimizer is optimal
    free = unconstrained_minimizer(model.groups, model.loss)
    if free is not None and free.nuclear_norm() <= model.tau:
        return certify(
            model,
            free,
            method="lowrank",
            solver="lbfgs",
            started=started,
            p=p,
            gap_tol=gap_tol,
            message="budget not binding: the unconstrained minimizer is feasible",
            iterations=0,
        )

    with _threads.limited(blas_threads):
        problem = GroupedFactors(model)
        x0 = problem.etf_start() if Z0 is None else problem.from_logits(Z0)
        res = sphere_lbfgs(
            problem,
            x0,
            gap_tol=gap_tol,
            max_iter=max_iter,
            memory=memory,
            time_limit=time_limit,
            rank_rtol=rank_rtol,
            progress=progress,
            single=Z0 is None,  # far from the optimum: see sphere_lbfgs.SINGLE_ROWS
            dual=bool(dual_point),
        )
        if not np.all(np.isfinite(res.x)):
            raise SolverError("method='lowrank': the iteration produced non-finite logits")
        if problem.dual_point is None:  # the bound at the returned point's dual point too
            problem.dual_point = problem.dual_gap(res.value, res.x)[1]
        message = f"{res.message}; rank {problem.r}, {res.evaluations} evaluations"
        # the logits of the last exact check are the returned point's (their evaluation
        # and SVD are cached on them)
        logits = problem.checked
        if logits is None or not np.array_equal(problem.checked_from, problem.M_s(res.x)[0]):
            logits = problem.logits(res.x)
        return certify(
            model,
            logits,
            method="lowrank",
            solver="lbfgs",
            started=started,
            p=p,
            gap_tol=gap_tol,
            message=message,
            converged=res.converged,
            iterations=res.iterations,
            history=res.history,
            certificate=NuclearBall(dual_point=problem.dual_point),
        )


def solve_face(
    model: Model,
    vanished,
    collapsed,
    start: GroupedLogits,
    *,
    gap_tol: float,
    max_iter: int = DEFAULTS["max_iter"],
    rank_rtol: float = DEFAULTS["rank_rtol"],
    blas_threads: int | None = DEFAULTS["blas_threads"],
):
    """The program restricted to a face: the groups ``vanished`` at 0, the groups
    ``collapsed`` at ``s_g = 0`` (the restricted programs of the exact structure tests,
    :mod:`lpm.analysis.structure`), from ``start`` projected onto the face.

    Returns
    -------
    logits : GroupedLogits
        The restricted optimum found.
    result : LBFGSResult
        The engine's record; ``result.gap`` is the restricted program's own gap.
    """
    problem = GroupedFactors(model, vanished=vanished, collapsed=collapsed)
    with _threads.limited(blas_threads):
        res = sphere_lbfgs(
            problem,
            problem.from_logits(start),
            gap_tol=gap_tol,
            max_iter=max_iter,
            rank_rtol=rank_rtol,
        )
    if not np.all(np.isfinite(res.x)):
        raise SolverError("the restricted low-rank solve produced non-finite logits")
    return problem.logits(res.x), res


def solve(
    model: Model,
    *,
    p: int,
    solver: str | None = None,
    gap_tol: float = 1e-8,
    solver_options: dict | None = None,
) -> Solution:
    """Runner for ``method="lowrank"``: :func:`solve_lowrank` with the options
    ``max_iter``, ``memory``, ``time_limit``, ``rank_rtol``, ``start``, ``memory_limit``,
    ``progress``, ``blas_threads``, ``dual_point`` given in ``solver_options``."""
    if solver not in (None, "lbfgs"):
        raise ValueError(
            f"method='lowrank' uses its own L-BFGS solver ('lbfgs'), got solver={solver!r}"
        )
    options = check.solver_options("lowrank", solver_options, DEFAULTS)
    return solve_lowrank(model, p=p, gap_tol=gap_tol, **options)
