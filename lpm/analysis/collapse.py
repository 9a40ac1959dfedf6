r"""The exact collapse test of a model: which groups' classifiers are exactly equal.

The classifiers of a group ``g`` (two or more classes) are all equal exactly when the
within-group singular value :math:`s_g` of the optimal logits is 0 (for classes
:math:`k \ne k'` of the group, :math:`\lVert w_k - w_{k'}\rVert^2 = 2\sqrt{E_W/E_H}\,
s_g`). Solvers return :math:`s_g` only to their tolerance, so collapse is decided by
optimality instead: with :math:`s_g = 0` held, the remaining KKT condition is

.. math:: \gamma_g \le \lambda ,

where :math:`\lambda = \sigma_{\max}(-\nabla f)` is the budget's multiplier and
:math:`\gamma_g` the singular value of :math:`-\nabla f` on the within-group differences
(for cross-entropy :math:`\gamma_g = \pi_g(1 - p_{own} + p_{other})`). If it holds, the
collapsed point satisfies every KKT condition of the convex program and is optimal; if it
fails, moving :math:`s_g` off zero lowers the objective. The reduced Newton solver runs
exactly this test on its active set (:mod:`lpm.certificates.collapse` reads it), so a group
it returns at :math:`s_g = 0` is collapsed.
"""

from __future__ import annotations

from ..certificates import CollapseReport, NoCertificate, report_from_result
from ..model.model import Model
from ..model.penalized import PenalizedModel
from ..model.unconstrained import unconstrained_minimizer
from ..solvers.fixed_classifier import fixed_collapse_report
from ..solvers.penalized import penalized_collapse_report, use_reduced
from ..solvers.reduced import REDUCED_MAX_G, solve_constrained
from .structure import structure_report


def require_reducible(model: Model, penalty: bool = True) -> None:
    """ValueError unless the exact test applies to ``model``: the nuclear-norm form of the
    average budgets, or (with ``penalty``) of weight decay."""
    if not isinstance(model, Model):
        raise ValueError(f"model must be an lpm.Model, got {type(model).__name__} {model!r:.60}")
    if model.constraint not in (("average", "penalty") if penalty else ("average",)):
        raise ValueError(
            "the exact collapse test uses the nuclear-norm form, which needs the average "
            f"norm constraint; this model has constraint={model.constraint!r}"
        )


def collapse_report(model: Model, start=None) -> CollapseReport:
    """Exact collapse test of every group of ``model``, for any class counts.

    With few groups of equal count (at most :data:`lpm.solvers.reduced.REDUCED_MAX_G`), or
    a budget that does not bind, the reduced program is solved exactly and its active set
    is the test; otherwise the structure is decided by restricted solves and KKT margins
    (:func:`lpm.analysis.structure.structure_report`). Either way the report says which
    groups collapse, which vanish, and the rank of the classifiers' span.

    A model with a fixed ETF classifier never collapses (its classifiers are fixed and
    distinct): its report (:class:`lpm.certificates.fixed_classifier.FixedClassifierReport`)
    holds the optimal feature lengths.

    Parameters
    ----------
    model : Model or PenalizedModel
        With the average norm constraint, or weight decay.
    start : Solution, optional
        A solution of the model, to start the solves of the general route from.

    Returns
    -------
    CollapseReport
    """
    require_reducible(model)
    if isinstance(model, PenalizedModel):
        return penalized_collapse_report(model)
    if model.fixed_classifier:  # classifiers fixed and distinct: the report says so
        return fixed_collapse_report(model)
    g = model.groups
    free = unconstrained_minimizer(g, model.loss)
    if g.G <= REDUCED_MAX_G or (free is not None and free.nuclear_norm() <= model.tau):
        result = solve_constrained(g.sizes, g.weights, model.loss, model.tau, groups=[g])[0]
        return report_from_result(model, result)
    return structure_report(model, start)


def collapse_unavailable(model: Model, certificate: str, has_report: bool) -> str | None:
    """Why the exact collapse test does not apply to a solution of ``model`` certified by
    the kind ``certificate`` (None when it does): a model with per-class budgets (the test
    uses the nuclear-norm form), an uncertified solve whose point need not be the model's
    optimum, or, for weight decay with no report already made by the solver, more groups
    of equal count than the reduced program handles quickly
    (:data:`lpm.solvers.reduced.REDUCED_MAX_G`)."""
    if model.constraint not in ("average", "penalty"):
        return (
            f"the exact collapse test needs the average norm constraint; this model has "
            f"constraint={model.constraint!r}"
        )
    if certificate == NoCertificate.kind:
        return (
            "this solve is uncertified (feature dimension below the exactness bound), so "
            "the optimum the exact test describes need not be the returned point"
        )
    if has_report or model.constraint == "average":
        return None
    if not use_reduced(model):
        return (
            f"for weight decay the exact test solves the reduced program, and this model has "
            f"{model.groups.G} groups of equal count (more than {REDUCED_MAX_G}: slow); "
            f"lpm.collapse_report(solution.model) runs it anyway"
        )
    return None
