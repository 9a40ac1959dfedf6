"""Studies: the model solved over grids of parameters, as tidy tables.

* :mod:`~lpm.studies.sweep`: :func:`sweep` of the two-group model over any parameters,
  :func:`sweep_models` over any list of models, the paper's Figure-3 data;
* :mod:`~lpm.studies.phase`: the phase diagram of Minority Collapse, :math:`R_0` against
  :math:`E_W E_H`;
* :mod:`~lpm.studies.theorem5`: the sharp numerical check of Theorem 5;
* :mod:`~lpm.studies.compare`: :func:`compare`, a trained network's last layer against
  the LPM's prediction for its class counts and budgets;
* :mod:`~lpm.studies.mitigation`: :func:`mitigation_study`, oversampling, logit
  adjustment, CDT and VS against Minority Collapse, exactly;
* :mod:`~lpm.studies.network`: :func:`digits_experiment`, networks trained on imbalanced
  handwritten digits against the LPM (needs scikit-learn);
* :mod:`~lpm.studies.table`: :class:`SweepTable`, the table they all return.
"""

from .compare import Comparison, compare
from .mitigation import MitigationStudy, mitigation_study
from .network import DIGITS, digits_experiment
from .phase import phase_diagram
from .sweep import FIGURE3, PARAMETERS, RESULT_COLUMNS, figure3_table, sweep, sweep_models
from .table import SweepTable
from .theorem5 import MinorityCollapseCheck, default_R_grid, verify_minority_collapse

__all__ = [
    "DIGITS",
    "FIGURE3",
    "PARAMETERS",
    "RESULT_COLUMNS",
    "Comparison",
    "MinorityCollapseCheck",
    "MitigationStudy",
    "SweepTable",
    "compare",
    "default_R_grid",
    "digits_experiment",
    "figure3_table",
    "mitigation_study",
    "phase_diagram",
    "sweep",
    "sweep_models",
    "verify_minority_collapse",
]
