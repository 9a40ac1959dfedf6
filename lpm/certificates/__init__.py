"""Certificates and the result record: what makes an answer trustworthy.

* :mod:`~lpm.certificates.kinds`: the convex program a solution is certified against
  and the bound on its suboptimality each kind computes at a point;
  :mod:`~lpm.certificates.per_class`: the dual certificate of per-class budgets;
* :mod:`~lpm.certificates.collapse`: exact-structure reports (which classifiers are
  exactly equal), read from the KKT conditions of a converged reduced solve;
* :mod:`~lpm.certificates.solution`: :class:`Solution`, the record every solver returns;
* :mod:`~lpm.certificates.certify`: :func:`certify`, the one place where a solver's point
  becomes a certified solution with a status.
"""

from .certify import certified_gap, certify, judge, rounding_allowance
from .collapse import (
    DECISION_FACTOR,
    CollapseReport,
    PenalizedCollapseReport,
    penalized_report_from_result,
    report_from_result,
    undecided_reason,
)
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
    "Bound",
    "Certificate",
    "CollapseReport",
    "NoCertificate",
    "NuclearBall",
    "NuclearPenalty",
    "PenalizedCollapseReport",
    "PerClassDual",
    "Residuals",
    "Solution",
    "SolverError",
    "certified_gap",
    "certify",
    "exact_test",
    "fit_budgets",
    "judge",
    "penalized_report_from_result",
    "psd_lift",
    "register_exact_tests",
    "report_from_result",
    "rounding_allowance",
    "row_scaled",
    "slack_note",
    "stationarity_multipliers",
    "undecided_reason",
]
