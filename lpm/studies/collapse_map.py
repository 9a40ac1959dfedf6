r"""The collapse map of real class counts over the budget: which classes collapse or
vanish at the optimum, decided exactly, as :math:`E_W E_H` varies.

Each point solves the model of the given counts at one product :math:`E_W E_H`
(:func:`lpm.solve_model`) and decides its structure by the exact test (:func:`lpm.collapse_report`):
the groups of equal count that collapse to one classifier, the classes whose classifier
and feature vanish, the rank of the group block, and whether anything is undecided.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from .. import _validation as check
from ..model.model import Model
from ..solvers.dispatch import solve_model
from .sweep import grid_values
from .table import SweepTable

#: columns of :func:`collapse_vs_budget`
COLUMNS = (
    "EWEH",
    "objective",
    "gap",
    "status",
    "collapsed_groups",
    "collapsed_classes",
    "vanished_classes",
    "rank",
    "block_margin",
    "undecided_groups",
    "summary",
    "time",
)


def collapse_vs_budget(
    counts, EWEH: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0), *, loss="ce"
) -> SweepTable:
    r"""The exact collapse map of ``counts`` at each :math:`E_W E_H` of a grid.

    Parameters
    ----------
    counts : array_like, shape (K,)
        Positive class counts (e.g. :func:`lpm.counts.imagenet_lt`).
    EWEH : sequence of float
        Products :math:`E_W E_H` (only the product matters; ``E_W = 1``).
    loss : str or Loss
        Cross-entropy by default.

    Returns
    -------
    SweepTable
        One row per product: the solve's objective, gap and status; the number of
        collapsed groups, of classes in them, of vanished classes; the group block's rank
        and its margin; the number of undecided groups; the report's one-line summary;
        the time of solve and test.
    """
    products = sorted(check.positive_real("EWEH", v) for v in grid_values("EWEH", EWEH))
    base = Model(counts, 1.0, 1.0, loss=loss)
    rows = []
    for e in products:
        started = time.perf_counter()
        model = base.with_budgets(1.0, e)
        # each from the balanced start: a neighbouring budget's optimum has too low a
        # rank for this one (measured: 2-3x the iterations of a cold start)
        sol = solve_model(model)
        report = sol.collapse  # the exact test, started from this solution
        multi = model.groups.sizes > 1
        vanished = np.zeros(model.groups.G, bool) if report.vanished is None else report.vanished
        undecided = (
            np.zeros(model.groups.G, bool)
            if report.undecided_groups is None
            else report.undecided_groups
        )
        rows.append(
            {
                "EWEH": e,
                "objective": float(sol.objective),
                "gap": float(sol.gap),
                "status": sol.status,
                "collapsed_groups": int((report.collapsed & multi).sum()),
                "collapsed_classes": int(model.groups.sizes[report.collapsed & multi].sum()),
                "vanished_classes": int(model.groups.sizes[vanished].sum()),
                "rank": report.rank,
                "block_margin": float(report.block_margin),
                "undecided_groups": int(undecided.sum()),
                "summary": report.summary(),
                "time": time.perf_counter() - started,
            }
        )
    swept = ("EWEH",) if len(products) > 1 else ()
    return SweepTable(rows, COLUMNS, swept, {"K": base.K, "groups": base.groups.G})
