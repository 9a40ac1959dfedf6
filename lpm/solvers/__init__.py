"""The solvers: one module per route to the optimum, and the ``method=`` dispatch.

Routes (each certified by :func:`lpm.certificates.certify`):

* :mod:`~lpm.solvers.reduced` -- the symmetry-reduced program
  (:mod:`~lpm.solvers.reduced_program`) by active-set Newton
  (:mod:`~lpm.solvers.newton`), batched;
* :mod:`~lpm.solvers.lowrank` -- the nuclear-norm program factored, by Riemannian L-BFGS
  (:mod:`~lpm.solvers.sphere_lbfgs`);
* :mod:`~lpm.solvers.nuclear` and :mod:`~lpm.solvers.sdp` -- the nuclear-norm program
  and the paper's SDP through cvxpy (:mod:`~lpm.solvers.conic`);
* :mod:`~lpm.solvers.nonconvex` -- ``(W, H)`` directly, by accelerated projected gradient;
* :mod:`~lpm.solvers.penalized` -- the weight-decay form by the same routes;
* :mod:`~lpm.solvers.max_margin` -- the max-margin limit (UF-SVM) through cvxpy.

:mod:`~lpm.solvers.dispatch` chooses among them (``method="auto"``) and is what
:func:`lpm.solve` runs.
"""

from .dispatch import (
    GAP_TOL,
    METHODS,
    choose_method,
    default_gap_tol,
    loss_range,
    solve,
    solve_counts,
    solve_model,
    solve_models,
)
from .lowrank import solve_lowrank
from .max_margin import solve_max_margin
from .nonconvex import solve_nonconvex
from .penalized import solve_penalized, solve_penalized_counts, solve_penalized_model
from .reduced import REDUCED_MAX_G

__all__ = [
    "GAP_TOL",
    "METHODS",
    "REDUCED_MAX_G",
    "choose_method",
    "default_gap_tol",
    "loss_range",
    "solve",
    "solve_counts",
    "solve_lowrank",
    "solve_max_margin",
    "solve_model",
    "solve_models",
    "solve_nonconvex",
    "solve_penalized",
    "solve_penalized_counts",
    "solve_penalized_model",
]
