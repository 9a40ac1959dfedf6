"""lpm: exact, certified solutions of the Layer-Peeled Model (Fang, He, Long, Su, 2021).

Flat public API::

    import lpm
    sol = lpm.solve(K_A=5, K_B=5, R=100, E_W=1, E_H=5)   # two groups, any K
    sol.objective, sol.gap, sol.minority_cosine, sol.minority_collapsed
    lpm.collapse_threshold(5, 5, 1, 5)                   # R_0, the onset of Minority Collapse
    lpm.sweep(5, 5, R=[1, 10, 100], E_W=1, E_H=5)        # a tidy table over a grid
    lpm.verify_minority_collapse(5, 5, 1, 5).verdict     # Theorem 5, checked sharply

Figures: :mod:`lpm.plotting`; command line: ``lpm --help`` (:mod:`lpm.cli`).
"""

from . import counts
from .collapse import CollapseReport, collapse_margin, collapse_threshold, etf_is_optimal
from .curves import SweepTable, sweep, sweep_models
from .geometry import (
    PairStats,
    cosine_matrix,
    etf_distance,
    is_simplex_etf,
    minority_collapse_stats,
    nc1,
    norms,
    self_duality_distance,
    simplex_etf_gram,
)
from .losses import CrossEntropy, LabelSmoothing, Loss, SquaredLoss, get_loss
from .lowrank import solve_lowrank
from .model import Model
from .nonconvex import solve_nonconvex
from .penalized import (
    PenalizedModel,
    solve_penalized,
    solve_penalized_counts,
    solve_penalized_model,
)
from .phase import phase_diagram
from .solution import Solution, SolverError
from .solve import METHODS, choose_method, solve, solve_counts, solve_model, solve_models
from .theory import BalancedOptimum, balanced_optimum
from .verify import MinorityCollapseCheck, verify_minority_collapse

__version__ = "0.1.0"

__all__ = [
    "BalancedOptimum",
    "CollapseReport",
    "CrossEntropy",
    "LabelSmoothing",
    "Loss",
    "METHODS",
    "MinorityCollapseCheck",
    "Model",
    "PairStats",
    "PenalizedModel",
    "Solution",
    "SolverError",
    "SquaredLoss",
    "SweepTable",
    "balanced_optimum",
    "choose_method",
    "counts",
    "collapse_margin",
    "collapse_threshold",
    "cosine_matrix",
    "etf_distance",
    "etf_is_optimal",
    "get_loss",
    "is_simplex_etf",
    "minority_collapse_stats",
    "nc1",
    "norms",
    "phase_diagram",
    "self_duality_distance",
    "simplex_etf_gram",
    "solve",
    "solve_counts",
    "solve_model",
    "solve_models",
    "sweep",
    "sweep_models",
    "verify_minority_collapse",
    "solve_lowrank",
    "solve_nonconvex",
    "solve_penalized",
    "solve_penalized_counts",
    "solve_penalized_model",
]
