"""lpm: exact, certified solutions of the Layer-Peeled Model (Fang, He, Long, Su, 2021).

Flat public API::

    import lpm
    sol = lpm.solve(K_A=5, K_B=5, R=100, E_W=1, E_H=5)   # two groups, any K
    sol.objective, sol.gap, sol.minority_cosine, sol.minority_collapsed
    lpm.collapse_threshold(5, 5, 1, 5)                   # R_0, the onset of Minority Collapse
    lpm.sweep(5, 5, R=[1, 10, 100], E_W=1, E_H=5)        # a tidy table over a grid
    lpm.verify_minority_collapse(5, 5, 1, 5).verdict     # Theorem 5, checked sharply

The package is layered (``docs/architecture.md``): :mod:`lpm.geometry` (measurements on
arrays), :mod:`lpm.model` (what is solved), :mod:`lpm.certificates` (certificates and the
:class:`Solution` record), :mod:`lpm.solvers` (the routes and the dispatch),
:mod:`lpm.analysis` (exact collapse, thresholds, closed forms), :mod:`lpm.plotting`
(figures), :mod:`lpm.studies` (sweeps, phase diagrams, Theorem 5) and :mod:`lpm.cli`.
"""

import sys as _sys

from . import analysis as analysis
from . import geometry as geometry
from ._version import __version__ as __version__
from .analysis import (
    BalancedOptimum,
    CollapseReport,
    balanced_optimum,
    collapse_margin,
    collapse_report,
    collapse_threshold,
    etf_is_optimal,
    penalized_collapse_threshold,
    seli,
)
from .certificates import MaxMarginSolution, Solution, SolverError
from .geometry import (
    ClassMeans,
    NeuralCollapseMetrics,
    PairStats,
    class_means,
    clf_ncc_agreement,
    cosine_matrix,
    equiangularity,
    equinorm,
    etf_distance,
    gram_distance,
    is_simplex_etf,
    max_equiangularity,
    minority_collapse_stats,
    nc1,
    neural_collapse_metrics,
    norms,
    self_duality_distance,
    self_duality_error,
    simplex_etf_error,
    simplex_etf_gram,
    variability_cdnv,
)
from .model import (
    LDAM,
    ClassAffineLoss,
    ClassDependentTemperature,
    CrossEntropy,
    LabelSmoothing,
    LogitAdjusted,
    Loss,
    Model,
    PenalizedModel,
    SquaredLoss,
    VectorScaling,
    counts,
    get_loss,
)
from .solvers import (
    METHODS,
    choose_method,
    solve,
    solve_counts,
    solve_lowrank,
    solve_max_margin,
    solve_model,
    solve_models,
    solve_nonconvex,
    solve_penalized,
    solve_penalized_counts,
    solve_penalized_model,
)
from .studies import (
    Comparison,
    MinorityCollapseCheck,
    MitigationStudy,
    SweepTable,
    compare,
    digits_experiment,
    mitigation_study,
    phase_diagram,
    sweep,
    sweep_models,
    verify_minority_collapse,
)

# Module paths of the flat layout before 0.2 (CHANGELOG.md): ``lpm.counts``,
# ``lpm.collapse`` and ``lpm.theory`` keep working, as imports and as attributes.
collapse = analysis
theory = analysis.theory
for _old, _new in (("counts", counts), ("collapse", analysis), ("theory", analysis.theory)):
    _sys.modules[f"{__name__}.{_old}"] = _new
del _old, _new

__all__ = [
    "BalancedOptimum",
    "ClassAffineLoss",
    "ClassDependentTemperature",
    "ClassMeans",
    "CollapseReport",
    "Comparison",
    "CrossEntropy",
    "LDAM",
    "LabelSmoothing",
    "LogitAdjusted",
    "Loss",
    "METHODS",
    "MaxMarginSolution",
    "MinorityCollapseCheck",
    "MitigationStudy",
    "Model",
    "NeuralCollapseMetrics",
    "PairStats",
    "PenalizedModel",
    "Solution",
    "SolverError",
    "SquaredLoss",
    "SweepTable",
    "VectorScaling",
    "balanced_optimum",
    "choose_method",
    "class_means",
    "clf_ncc_agreement",
    "compare",
    "counts",
    "collapse_margin",
    "collapse_report",
    "collapse_threshold",
    "cosine_matrix",
    "digits_experiment",
    "equiangularity",
    "equinorm",
    "etf_distance",
    "etf_is_optimal",
    "get_loss",
    "gram_distance",
    "is_simplex_etf",
    "max_equiangularity",
    "minority_collapse_stats",
    "mitigation_study",
    "nc1",
    "neural_collapse_metrics",
    "norms",
    "penalized_collapse_threshold",
    "phase_diagram",
    "seli",
    "self_duality_distance",
    "self_duality_error",
    "simplex_etf_error",
    "simplex_etf_gram",
    "solve",
    "solve_counts",
    "solve_model",
    "solve_models",
    "sweep",
    "sweep_models",
    "variability_cdnv",
    "verify_minority_collapse",
    "solve_lowrank",
    "solve_max_margin",
    "solve_nonconvex",
    "solve_penalized",
    "solve_penalized_counts",
    "solve_penalized_model",
]
