"""Analysis of the model's optimum, decided exactly: which classifiers collapse, the
threshold :math:`R_0` of Minority Collapse, whether the optimum is a simplex ETF, and the
closed forms the solvers are checked against.

* :mod:`~lpm.analysis.collapse`: the exact collapse test of every group;
* :mod:`~lpm.analysis.margin`: the collapse margin :math:`\varphi(R)` of the two-group
  model, and :mod:`~lpm.analysis.threshold`: its root :math:`R_0`;
* :mod:`~lpm.analysis.etf`: the exact simplex-ETF test;
* :mod:`~lpm.analysis.theory`: closed forms (the balanced optimum of Theorem 1, the
  collapse thresholds of weight decay, the max-margin geometry).

Importing this package registers the exact tests that a :class:`lpm.Solution` answers
on request (:func:`lpm.certificates.register_exact_tests`).
"""

from ..certificates import CollapseReport, register_exact_tests
from .collapse import collapse_report, collapse_unavailable
from .etf import etf_is_optimal, etf_point
from .margin import collapse_margin
from .theory import (
    BalancedOptimum,
    SeliGeometry,
    balanced_optimum,
    collapsed_separation,
    hong_ling_beta,
    penalized_collapse_threshold,
    penalized_threshold_betas,
    penalized_threshold_ratio,
    seli,
)
from .threshold import CONFIRM_RTOL, collapse_threshold

register_exact_tests(
    collapse_report=collapse_report,
    collapse_unavailable=collapse_unavailable,
    etf_is_optimal=etf_is_optimal,
)

__all__ = [
    "CONFIRM_RTOL",
    "BalancedOptimum",
    "CollapseReport",
    "SeliGeometry",
    "balanced_optimum",
    "collapse_margin",
    "collapse_report",
    "collapse_threshold",
    "collapse_unavailable",
    "collapsed_separation",
    "etf_is_optimal",
    "etf_point",
    "hong_ling_beta",
    "penalized_collapse_threshold",
    "penalized_threshold_betas",
    "penalized_threshold_ratio",
    "seli",
]
