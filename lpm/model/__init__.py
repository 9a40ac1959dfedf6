"""What is solved: losses on the logits, class counts, the model and its logit matrix.

* :mod:`~lpm.model.losses`: the loss, the one replaceable piece;
  :mod:`~lpm.model.adjusted`: the class-dependent losses for imbalance (logit
  adjustment, class-dependent temperatures, vector scaling, LDAM);
* :mod:`~lpm.model.counts`: class-count profiles (long-tailed, step, real data sets);
* :mod:`~lpm.model.model`: :class:`Model` (budgets) and :mod:`~lpm.model.penalized`
  :class:`PenalizedModel` (weight decay), with :mod:`~lpm.model.groups`, the classes
  grouped by equal weight;
* :mod:`~lpm.model.logits`: the logit matrix ``Z = H W^T``, dense or symmetry-reduced,
  with the loss's value, gradient and norms on it; :mod:`~lpm.model.unconstrained`, the
  loss's own optimum where a budget does not bind.
"""

from . import counts
from .adjusted import (
    LDAM,
    ClassAffineLoss,
    ClassDependentTemperature,
    LogitAdjusted,
    VectorScaling,
)
from .groups import Groups, group_by_weight
from .imbalance import two_group_weights
from .logits import DenseLogits, GroupedLogits, Logits, evaluate_grouped, helmert_basis
from .losses import CrossEntropy, LabelSmoothing, Loss, SquaredLoss, get_loss
from .model import Model
from .penalized import PenalizedModel
from .unconstrained import unconstrained_minimizer

__all__ = [
    "ClassAffineLoss",
    "ClassDependentTemperature",
    "CrossEntropy",
    "DenseLogits",
    "GroupedLogits",
    "Groups",
    "LDAM",
    "LabelSmoothing",
    "LogitAdjusted",
    "Logits",
    "Loss",
    "Model",
    "PenalizedModel",
    "SquaredLoss",
    "VectorScaling",
    "counts",
    "evaluate_grouped",
    "get_loss",
    "group_by_weight",
    "helmert_basis",
    "two_group_weights",
    "unconstrained_minimizer",
]
