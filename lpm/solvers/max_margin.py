r"""The max-margin limit of per-sample weight decay: the UF-SVM, solved directly.

.. math::

    \min_{W, h_i}\ \tfrac12\lVert W\rVert_F^2 + \tfrac12\sum_i\lVert h_i\rVert^2
    \ \text{s.t. every margin}\ (w_{y_i} - w_j)^\top h_i \ge 1
    \;=\; \min_Z \lVert D^{1/2}Z\rVert_*\ \text{s.t.}\ Z_{kk} - Z_{kj} \ge 1,

:math:`D = \operatorname{diag}(n)`, a convex program in the logits solved by a conic
solver through cvxpy (Clarabel at tight tolerances by default) and certified by the
Lagrangian dual of :mod:`lpm.certificates.max_margin`. Its closed form (SELI, Thrampoulidis
et al. 2022) is :func:`lpm.theory.seli`; the two are checked against each other.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as check
from ..certificates.max_margin import MaxMarginSolution, certify_max_margin, margin_counts
from .conic import run

#: Clarabel's tolerances: at 1e-10 it reported "optimal" on 40 random count vectors
#: (K <= 8, ratios up to 1e3) with certified relative gaps below 1e-10 and Grams within a
#: few 1e-9 of SELI; at 1e-11 it stopped "optimal_inaccurate" on half of them
DEFAULT_OPTIONS = {"CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}}

#: the SDP of the nuclear norm is 2K x 2K; measured (one thread): 17 ms at K = 5, 1 s at
#: K = 20, 28 s at K = 40
MAX_CLASSES = 30


def problem(counts: np.ndarray):
    """The cvxpy problem ``min ||D^(1/2) Z||_*`` s.t. margins >= 1, its variable and the
    margin constraint (a K x K matrix inequality, trivial on the diagonal)."""
    import cvxpy as cp

    K = counts.size
    Z = cp.Variable((K, K), name="Z")
    own = cp.reshape(cp.diag(Z), (K, 1), order="F") @ np.ones((1, K))
    margin = own - Z >= 1.0 - np.eye(K)
    objective = cp.Minimize(cp.normNuc(np.diag(np.sqrt(counts)) @ Z))
    return cp.Problem(objective, [margin]), Z, margin


def solve_max_margin(
    counts,
    *,
    solver: str | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
) -> MaxMarginSolution:
    r"""Solve the unconstrained-features SVM (the max-margin limit) for class counts.

    .. math::

        \min_{W, h_i}\ \tfrac12\lVert W\rVert_F^2 + \tfrac12\sum_i\lVert h_i\rVert^2
        \quad\text{s.t.}\quad (w_{y_i} - w_j)^\top h_i \ge 1\ \ (j \ne y_i)

    over ``n_k`` samples of class ``k``, as the convex program
    :math:`\min_Z \lVert D^{1/2}Z\rVert_*` s.t. :math:`Z_{kk} - Z_{kj} \ge 1`,
    :math:`D = \operatorname{diag}(n)`.

    Parameters
    ----------
    counts : array_like, shape (K,)
        Positive sample counts, ``K >= 2`` (any positive reals). Scaling them by ``c``
        scales the classifiers by :math:`c^{1/4}` and the features by :math:`c^{-1/4}`.
    solver : str, optional
        Conic solver for cvxpy, ``"CLARABEL"`` (default, at tolerances 1e-10) or
        ``"SCS"``.
    gap_tol : float, optional
        Certified gap for success; default ``1e-9 * objective``.
    solver_options : dict, optional
        Passed to the solver (override the defaults).

    Returns
    -------
    MaxMarginSolution
        Certified by the Lagrangian dual of the margins (the solver's multipliers or the
        point's own subgradient, whichever bounds better).

    Raises
    ------
    ValueError
        Bad counts, or more than :data:`MAX_CLASSES` classes (the conic program is an SDP
        of size 2K).
    SolverError
        The solver failed, or returned a point with a nonpositive margin.

    See Also
    --------
    lpm.theory.seli : the closed form this solve is tested against.

    References
    ----------
    Thrampoulidis, Kini, Vakilian, Behnia, "Imbalance trouble: revisiting neural-collapse
    geometry", NeurIPS 2022.
    """
    counts = margin_counts(counts)
    K = counts.size
    if K > MAX_CLASSES:
        raise ValueError(
            f"counts has {K} classes; solve_max_margin solves a 2K x 2K SDP and takes at most "
            f"{MAX_CLASSES} (the closed form lpm.theory.seli has any K)"
        )
    if gap_tol is not None:
        gap_tol = check.positive_real("gap_tol", gap_tol)
    started = time.perf_counter()
    solver = (check.solver_name(solver) or "CLARABEL").upper()
    options = dict(DEFAULT_OPTIONS.get(solver, {}))
    options.update(check.mapping("solver_options", solver_options))
    # counts only enter through their ratios and one overall scale: solve with the
    # smallest count 1 (a well-scaled SDP), then scale back (Z is scale-free, mu is not)
    scale = float(counts.min())
    prob, Z, margin = problem(counts / scale)
    converged, message, iterations = run(prob, solver, options, "max_margin")
    duals = []
    if margin.dual_value is not None:
        duals.append(np.asarray(margin.dual_value, float) * np.sqrt(scale))
    return certify_max_margin(
        counts,
        Z.value.copy(),
        duals,
        method="conic",
        solver=solver,
        started=started,
        gap_tol=gap_tol,
        message=message,
        converged=converged,
        iterations=iterations,
    )
