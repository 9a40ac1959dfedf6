"""Certificates and the result record: what makes an answer trustworthy.

* :mod:`~lpm.certificates.kinds`: the convex program a solution is certified against
  and the bound on its suboptimality each kind computes at a point;
  :mod:`~lpm.certificates.bias`: weight decay with a classifier bias;
  :mod:`~lpm.certificates.per_class`: the dual certificate of per-class budgets;
  :mod:`~lpm.certificates.fixed_classifier`: the certificate of a fixed ETF classifier;
  :mod:`~lpm.certificates.max_margin`: the max-margin program, its dual certificate and
  its result record;
* :mod:`~lpm.certificates.collapse`: exact-structure reports (which classifiers are
  exactly equal), read from the KKT conditions of a converged reduced solve;
* :mod:`~lpm.certificates.solution`: :class:`Solution`, the record every solver returns;
* :mod:`~lpm.certificates.certify`: :func:`certify`, the one place where a solver's point
  becomes a certified solution with a status.
"""

from .bias import NuclearPenaltyBias, column_sums, with_bias
from .certify import certified_gap, certify, judge, rounding_allowance
from .collapse import (
    DECISION_FACTOR,
    CollapseReport,
    PenalizedCollapseReport,
    penalized_report_from_result,
    report_from_result,
    undecided_reason,
)
from .dual_point import lower_bound, newton_dual_point
from .fixed_classifier import FixedClassifierBall, FixedClassifierReport, row_centered
from .kinds import (
    EPS,
    Bound,
    Certificate,
    NoCertificate,
    NuclearBall,
    NuclearPenalty,
    row_scaled,
    slack_note,
)
from .max_margin import MaxMarginSolution, certify_max_margin, max_margin_bound
from .per_class import PerClassDual, fit_budgets, psd_lift, stationarity_multipliers
from .solution import (
    EXACT_TESTS,
    Residuals,
    Solution,
    SolverError,
    exact_test,
    register_exact_tests,
)

__all__ = [
    "DECISION_FACTOR",
    "EPS",
    "EXACT_TESTS",
    "FixedClassifierBall",
    "FixedClassifierReport",
    "Bound",
    "MaxMarginSolution",
    "Certificate",
    "CollapseReport",
    "NoCertificate",
    "NuclearBall",
    "NuclearPenalty",
    "NuclearPenaltyBias",
    "PenalizedCollapseReport",
    "PerClassDual",
    "Residuals",
    "Solution",
    "SolverError",
    "certified_gap",
    "column_sums",
    "certify",
    "certify_max_margin",
    "exact_test",
    "fit_budgets",
    "judge",
    "lower_bound",
    "max_margin_bound",
    "newton_dual_point",
    "penalized_report_from_result",
    "psd_lift",
    "register_exact_tests",
    "report_from_result",
    "rounding_allowance",
    "row_centered",
    "row_scaled",
    "slack_note",
    "stationarity_multipliers",
    "undecided_reason",
    "with_bias",
]
