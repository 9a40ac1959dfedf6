r"""Where the geometry goes as regularization vanishes: the budgeted LPM to the simplex
ETF, per-sample weight decay to the max-margin SELI geometry.

With budgets, :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le K\sqrt{E_W E_H}`: the
norm does not see the counts, and as :math:`E_W E_H \to \infty` the optimal logits, scaled,
tend to the max-margin solution of :math:`\lVert Z\rVert_*`, which is the simplex ETF for
any counts (SELI with equal weights). With per-sample weight decay,
:math:`\min f(Z) + \beta\lVert D^{1/2}Z\rVert_*`: as :math:`\beta \to 0` the direction
tends to the max-margin solution of :math:`\lVert D^{1/2}Z\rVert_*`, SELI at the counts
(:func:`lpm.seli`); weight decay on class means behaves like the budget. Distances are
:func:`lpm.gram_distance` of the classifier Gram to each limit (scale-free).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import _validation as check
from ..analysis.theory import seli
from ..certificates import SolverError
from ..geometry import gram_distance, simplex_etf_gram
from ..solvers.dispatch import solve
from ..solvers.penalized import solve_penalized
from .figures import WIDTH, _style

#: default ranges: E_W E_H up to 1e4 (margins near 110; beyond, the loss underflows) and
#: weight decay down to 1e-8 (below, the penalized objective is under 1e-6 and its
#: certificate, absolute at 1e-14, no longer pins the geometry down)
EWEH_RANGE = np.geomspace(0.1, 1e4, 21)
BETA_RANGE = np.geomspace(1e-1, 1e-8, 22)


def limit_distances(K_A: int, K_B: int, R: float, *, EWEH=None, betas=None) -> dict:
    r"""Distances of the classifier Gram to the simplex ETF and to SELI along the two
    vanishing-regularization paths of the two-group model (each point a certified solve).

    Parameters
    ----------
    K_A, K_B, R
        The two-group model (``R`` finite).
    EWEH : array_like, optional
        Products of the budgets (default :data:`EWEH_RANGE`).
    betas : array_like, optional
        Weight decays :math:`\sqrt{\lambda_W\lambda_H}` (default :data:`BETA_RANGE`).

    Returns
    -------
    dict
        ``EWEH``, ``budget_etf``, ``budget_seli`` (the budgeted LPM), ``beta``,
        ``sample_etf``, ``sample_seli`` (per-sample weight decay), ``mean_etf``,
        ``mean_seli`` (weight decay on class means): arrays of
        :func:`lpm.gram_distance`.

    Raises
    ------
    SolverError
        When a solve is not certified to its target.
    """
    R = check.positive_real("R", R)
    EWEH = EWEH_RANGE if EWEH is None else np.asarray(EWEH, float)
    betas = BETA_RANGE if betas is None else np.asarray(betas, float)
    counts = np.concatenate([np.full(K_A, R), np.ones(K_B)])
    etf, target = simplex_etf_gram(K_A + K_B), seli(counts).classifier_gram

    def distances(sol):
        if not sol.success:
            raise SolverError(f"uncertified point on the limit path: {sol!r}")
        G = sol.classifier_gram()
        return gram_distance(G, etf), gram_distance(G, target)

    out = {"EWEH": EWEH, "beta": betas}
    budget = [distances(solve(K_A, K_B, R, 1.0, e)) for e in EWEH]
    sample = [distances(solve_penalized(K_A, K_B, R, b, b, per_sample_penalty=True)) for b in betas]
    mean = [distances(solve_penalized(K_A, K_B, R, b, b)) for b in betas]
    for name, rows in (("budget", budget), ("sample", sample), ("mean", mean)):
        arr = np.array(rows)
        out[f"{name}_etf"], out[f"{name}_seli"] = arr[:, 0], arr[:, 1]
    return out


def limits_figure(
    K_A: int = 5, K_B: int = 5, R: float = 10.0, *, data: dict | None = None, size=None
) -> Figure:
    r"""Two panels: the budgeted LPM's classifier Gram against :math:`E_W E_H` (left) and
    weight decay's against :math:`1/\sqrt{\lambda_W\lambda_H}` (right), each as its
    distance to the simplex ETF and to SELI (:func:`limit_distances`; ``data`` reuses its
    output)."""
    d = limit_distances(K_A, K_B, R) if data is None else data
    with _style():
        fig = Figure(figsize=size or (2 * WIDTH, 2.6))
        left, right = fig.subplots(1, 2, sharey=True)
        left.loglog(d["EWEH"], d["budget_etf"], "o-", color="C0", label="to the simplex ETF")
        left.loglog(d["EWEH"], d["budget_seli"], "s-", color="C1", label="to SELI")
        left.set_xlabel(r"$E_W E_H$")
        left.set_ylabel("distance of $WW^\\top$")
        left.set_title("norm budgets")
        x = 1.0 / d["beta"]
        right.loglog(x, d["sample_etf"], "o-", color="C0", label="per-sample: to the ETF")
        right.loglog(x, d["sample_seli"], "s-", color="C1", label="per-sample: to SELI")
        right.loglog(
            x, d["mean_etf"], "o--", color="C0", mfc="none", label="class-mean: to the ETF"
        )
        right.loglog(x, d["mean_seli"], "s--", color="C1", mfc="none", label="class-mean: to SELI")
        right.set_xlabel(r"$1/\sqrt{\lambda_W\lambda_H}$")
        right.set_title("weight decay")
        left.legend(loc="lower left")
        fig.legend(*right.get_legend_handles_labels(), loc="outside lower center", ncol=4)
        fig.suptitle(f"$K_A={K_A}$, $K_B={K_B}$, $R={R:g}$", fontsize=9)
    return fig
