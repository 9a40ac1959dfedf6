r"""The nuclear-norm form of the LPM, solved with cvxpy.

For :math:`p \ge K`, :math:`\{H W^\top : \lVert H\rVert_F^2 \le K E_H,\
\lVert W\rVert_F^2 \le K E_W\} = \{Z : \lVert Z\rVert_* \le \tau\}`,
:math:`\tau = K\sqrt{E_W E_H}`, since :math:`\lVert Z\rVert_*` is the least
:math:`\lVert H\rVert_F\lVert W\rVert_F` over factorizations. The LPM is therefore the
convex program

.. math:: \min_{Z\in\mathbb{R}^{K\times K}} \sum_k \pi_k L(Z_{k\cdot}, k)
          \quad\text{s.t.}\quad \lVert Z\rVert_* \le \tau ,

and ``W, H`` are the balanced factors of its solution.
"""

from __future__ import annotations

import time

from .. import _validation as check
from ..certificates import Solution, certify
from ..model.logits import DenseLogits
from ..model.model import Model
from .conic import run

DEFAULT_SOLVER = "SCS"


def problem(model: Model):
    """The cvxpy problem and its variable ``Z``."""
    import cvxpy as cp

    Z = cp.Variable((model.K, model.K), name="Z")
    objective = cp.Minimize(model.loss.cvx(Z, model.pi))
    return cp.Problem(objective, [cp.normNuc(Z) <= model.tau]), Z


def solve(
    model: Model,
    *,
    p: int,
    solver: str | None = None,
    gap_tol: float = 1e-6,
    solver_options: dict | None = None,
) -> Solution:
    r"""Solve the nuclear-norm program :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le \tau`
    with a conic solver through cvxpy (SCS at tight tolerances by default)."""
    if model.constraint != "average":
        raise ValueError(
            "method='nuclear' needs the average norm constraint; per-class budgets have no "
            "nuclear-norm form (use method='sdp')"
        )
    started = time.perf_counter()
    solver = (check.solver_name(solver) or DEFAULT_SOLVER).upper()
    prob, Z = problem(model)
    converged, message, iterations = run(prob, solver, solver_options, "nuclear")
    return certify(
        model,
        DenseLogits(Z.value.copy()),
        method="nuclear",
        solver=solver,
        started=started,
        p=p,
        gap_tol=gap_tol,
        message=message,
        converged=converged,
        iterations=iterations,
    )
