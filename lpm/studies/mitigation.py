r"""Remedies for Minority Collapse, compared exactly on the paper's setting.

The paper's remedy is oversampling: counting each minority sample :math:`w_r` times
changes the loss weights to those of the imbalance :math:`R / w_r`, so it moves the
threshold to :math:`w_r R_0`, and collapse is avoided at a given ``R`` exactly when
:math:`w_r > R / R_0` (:math:`w_r = R` restores the balanced simplex ETF). Later work
changes the loss instead: logit adjustment (Menon et al. 2021), class-dependent
temperatures (Ye et al. 2020) and the vector-scaling loss that contains both (Kini et
al. 2021), each convex in the logits (:mod:`lpm.model.adjusted`), so the LPM with each of
them is solved and its collapse decided as exactly as with cross-entropy.

:func:`mitigation_study` solves the two-group model (by default the paper's ``K_A = K_B
= 5``, :math:`E_W = 1`, :math:`E_H = 5`) with each remedy at its paper's parameters over
a grid of ``R``, and reports for each the threshold :math:`R_0` it gives and, at every
``R``, how far the optimum is from the simplex ETF: the mean cosine and the norm of the
minority classifiers, the distance of the classifiers' Gram matrix to the simplex ETF's,
and the exact collapse and vanishing flags (:class:`lpm.CollapseReport`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _progress
from .. import _validation as check
from ..analysis.threshold import collapse_threshold
from ..model.adjusted import ClassDependentTemperature, LogitAdjusted, VectorScaling
from ..model.losses import CrossEntropy, Loss
from ..model.model import Model
from ..solvers.dispatch import solve_models
from .sweep import decades
from .table import SweepTable

#: the remedies compared, in order: name -> (legend label, loss, oversampled)
REMEDIES: dict[str, tuple[str, Loss, bool]] = {
    "none": ("cross-entropy", CrossEntropy(), False),
    "oversampling": ("oversampling $w_r = {w:g}$", CrossEntropy(), True),
    "logit_adjusted": (r"logit adjustment $\tau = 1$", LogitAdjusted(), False),
    "cdt": (r"CDT $\gamma = 0.3$", ClassDependentTemperature(), False),
    "vs": (r"VS $\gamma = 0.3,\ \tau = 1$", VectorScaling(), False),
}

#: the columns of the study's table
COLUMNS = (
    "remedy",
    "loss",
    "oversample",
    "R",
    "R0",
    "minority_cosine",
    "minority_norm",
    "etf_distance",
    "minority_collapsed",
    "minority_vanished",
    "objective",
    "gap",
    "success",
)

#: solves per batch (the progress bar advances between batches)
CHUNK = 64


@dataclass
class MitigationStudy:
    """The remedies compared (see :func:`mitigation_study`).

    Attributes
    ----------
    table : SweepTable
        One row per remedy and ``R`` (:data:`COLUMNS`); ``settings`` holds the setting,
        the thresholds and the oversampling factor.
    thresholds : dict
        :math:`R_0` of each remedy (``inf`` if its minority never collapses).
    oversample : float
        The oversampling factor :math:`w_r` of the ``"oversampling"`` remedy.
    """

    table: SweepTable
    thresholds: dict[str, float]
    oversample: float

    def summary(self) -> dict:
        """The setting and, per remedy, :math:`R_0` and the ETF distance at the largest
        ``R`` (JSON-ready)."""
        out = dict(self.table.settings)
        last = max(self.table["R"])
        for row in self.table.rows:
            if row["R"] == last:
                out[f"etf_distance_at_R_max_{row['remedy']}"] = row["etf_distance"]
        return out


def remedy_model(remedy: str, K_A, K_B, R, E_W, E_H, oversample: float) -> Model:
    """The two-group model of one remedy of :data:`REMEDIES` at ``R``."""
    _, loss, oversampled = REMEDIES[remedy]
    w = oversample if oversampled else 1.0
    return Model.two_group(K_A, K_B, R, E_W, E_H, loss=loss, oversample=w)


def _row(remedy: str, sol, R0: float) -> dict:
    model = sol.model
    report = sol.collapse
    norms = sol.classifier_norms()
    group = report.minority_group
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = float(sol.minority_stats().mean_cosine)
    return {
        "remedy": remedy,
        "loss": repr(model.loss),
        "oversample": float(model.two_group_params[3]),
        "R": float(model.two_group_params[2]),
        "R0": R0,
        "minority_cosine": cosine,
        # 1 at the simplex ETF (all classifiers of one norm), 0 when the minority vanishes
        "minority_norm": float(norms[model.minority].mean() / norms[model.majority].mean()),
        "etf_distance": float(sol.etf_distance()),
        "minority_collapsed": report.minority_collapsed,
        "minority_vanished": bool(report.vanished is not None and report.vanished[group]),
        "objective": float(sol.objective),
        "gap": float(sol.gap),
        "success": bool(sol.success),
    }


def mitigation_study(
    K_A: int = 5,
    K_B: int = 5,
    E_W: float = 1.0,
    E_H: float = 5.0,
    R=None,
    *,
    oversample: float = 10.0,
    remedies=tuple(REMEDIES),
    rtol: float = 1e-8,
    progress: bool | None = None,
) -> MitigationStudy:
    r"""Oversampling, logit adjustment, CDT and VS against Minority Collapse.

    For each remedy (:data:`REMEDIES`; the losses at their papers' parameters:
    :math:`\tau = 1`; :math:`\gamma = 0.3`; :math:`\gamma = 0.3, \tau = 1`) the
    two-group model

    .. math:: \min_{W, H} \sum_k \pi_k L(W h_k, k)\quad\text{s.t.}\quad
              \tfrac1K\lVert W\rVert_F^2 \le E_W,\ \tfrac1K\lVert H\rVert_F^2 \le E_H

    is solved exactly at every ``R`` of the grid (reduced program, certified), and its
    threshold :math:`R_0` computed (:func:`lpm.collapse_threshold`; for oversampling by
    :math:`w_r`, :math:`w_r R_0` of cross-entropy, since the model at ``R`` is the one
    at :math:`R/w_r`).

    Parameters
    ----------
    K_A, K_B : int
        Majority and minority classes (``K_B >= 2``).
    E_W, E_H : float
        Budgets (only their product matters).
    R : array_like, optional
        Imbalance ratios; default :math:`10^{0.1 i}`, ``i = 0..40`` (the paper's Figure 3).
    oversample : float
        :math:`w_r` of the oversampling remedy (default 10: one decade).
    remedies : sequence of str
        Names from :data:`REMEDIES`, in the order of the table.
    rtol : float
        Relative accuracy of each threshold.
    progress : bool or None
        A progress bar (see :mod:`lpm._progress`).

    Returns
    -------
    MitigationStudy

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021) (oversampling); Menon et al.,
    ICLR 2021; Ye et al., arXiv 2001.01385; Kini et al., NeurIPS 2021.
    """
    K_A = check.class_count("K_A", K_A)
    K_B = check.class_count("K_B", K_B, minimum=2)
    E_W = check.positive_real("E_W", E_W)
    E_H = check.positive_real("E_H", E_H)
    w = check.positive_real("oversample", oversample)
    progress = _progress.check_progress(progress)
    if isinstance(remedies, str) or not isinstance(remedies, (list, tuple)) or not remedies:
        raise ValueError(
            f"remedies must be a non-empty list or tuple of names among {sorted(REMEDIES)}, "
            f"got {remedies!r:.60}"
        )
    for name in remedies:
        check.choice("remedies", name, tuple(REMEDIES))
    if R is None:
        R = decades(41)
    else:
        check.grid_size("the mitigation grid", {"R values": check.value_count("R", R)})
        R = [check.positive_real("R", r) for r in check.values("R", R)]
    thresholds: dict[str, float] = {}
    ce = None  # R_0 of cross-entropy, computed once
    for name in remedies:
        _, loss, oversampled = REMEDIES[name]
        if isinstance(loss, CrossEntropy):
            ce = collapse_threshold(K_A, K_B, E_W, E_H, rtol=rtol) if ce is None else ce
            thresholds[name] = w * ce if oversampled else ce
        else:
            thresholds[name] = collapse_threshold(K_A, K_B, E_W, E_H, rtol=rtol, loss=loss)
    points = [(name, r) for name in remedies for r in R]
    models = [remedy_model(name, K_A, K_B, r, E_W, E_H, w) for name, r in points]
    rows = []
    with _progress.bar(len(models), "lpm mitigation", progress=progress) as bar:
        for start in range(0, len(models), CHUNK):
            chunk = slice(start, start + CHUNK)
            for (name, _), sol in zip(points[chunk], solve_models(models[chunk], method="reduced")):
                rows.append(_row(name, sol, thresholds[name]))
                bar.update()
    settings = {
        "K_A": K_A,
        "K_B": K_B,
        "E_W": E_W,
        "E_H": E_H,
        "oversample": w,
        "R0": dict(thresholds),
        "losses": {name: repr(REMEDIES[name][1]) for name in remedies},
        "labels": {name: REMEDIES[name][0].format(w=w) for name in remedies},
    }
    table = SweepTable(rows, COLUMNS, ("remedy", "R"), settings)
    return MitigationStudy(table=table, thresholds=thresholds, oversample=w)
