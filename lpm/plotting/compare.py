r"""Figures of a trained network against the LPM's prediction.

* :func:`comparison_figure` -- classifier and class-mean cosines of the network and of
  the prediction, side by side (a :class:`lpm.studies.compare.Comparison`);
* :func:`network_figure` -- the minority cosine of trained networks against the
  imbalance :math:`R`, next to the LPM's prediction at the networks' budgets (the table
  of :func:`lpm.studies.network.digits_experiment`).
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from .heatmaps import cosine_figure
from .style import LABELS, STYLE, WIDTH


def comparison_figure(comparison, *, size=None) -> Figure:
    """Heatmaps of pairwise cosines: the network's classifiers, the predicted ones, the
    network's class means, the predicted ones (the majority/minority boundary marked when
    the minority classes come last)."""
    c = comparison
    K, minority = c.K, c.minority
    last = minority.size and np.array_equal(minority, np.arange(K - minority.size, K))
    with np.errstate(invalid="ignore", divide="ignore"):
        matrices = [
            c.classifier_cosines,
            c.predicted_classifier_cosines,
            c.feature_cosines,
            c.predicted_feature_cosines,
        ]
    return cosine_figure(
        matrices,
        [
            "network: classifiers",
            "lpm: classifiers",
            "network: class means",
            "lpm: class means",
        ],
        boundary=K - minority.size if last else None,
        suptitle=(
            f"$K = {K},\\ E_W = {c.E_W:.4g},\\ E_H = {c.E_H:.4g}$; Gram distance: classifiers "
            f"{c.classifier_gram_distance:.3f}, class means {c.feature_gram_distance:.3f}"
        ),
        values=False,  # four panels: the colors say it, numbers would not be legible
        size=size or (4 * 0.62 * WIDTH, 2.5),
    )


def network_figure(table, *, size=(WIDTH, 2.6)) -> Figure:
    """Minority cosine of the trained networks against ``R`` (one marker per network,
    their mean joined by a line) and the LPM's prediction at each network's counts and
    budgets (its mean over networks), with the simplex-ETF level :math:`-1/(K-1)`.

    ``table`` has the columns ``R``, ``K``, ``minority_cosine`` and
    ``predicted_minority_cosine``, one row per trained network.
    """
    R = np.asarray(table["R"], float)
    measured = np.asarray(table["minority_cosine"], float)
    predicted = np.asarray(table["predicted_minority_cosine"], float)
    K = int(table["K"][0])
    grid = np.unique(R)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        ax.plot(R, measured, "o", color=colors[0], alpha=0.45, ms=3, zorder=3)
        for values, style, color, label in (
            (measured, "-o", colors[0], "trained network"),
            (predicted, "--s", colors[1], "lpm at the network's budgets"),
        ):
            means = [values[R == r].mean() for r in grid]
            ax.plot(grid, means, style, color=color, label=label, zorder=4)
        ax.axhline(-1.0 / (K - 1), color="0.45", ls=":", lw=1.0, zorder=1)
        ax.annotate(
            f"$-1/(K-1) = -1/{K - 1}$",
            (0.99, -1.0 / (K - 1)),
            xycoords=("axes fraction", "data"),
            xytext=(0, -3),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color="0.35",
        )
        ax.set_xscale("log")
        ax.set_xticks(grid, [f"{r:g}" for r in grid])  # the R of the experiment, no others
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(LABELS["R"])
        ax.set_ylabel(LABELS["minority_cosine"])
        finite = np.concatenate([measured, predicted])
        finite = finite[np.isfinite(finite)]
        lo = min([-1.0 / (K - 1)] + finite.tolist())
        hi = max([0.0] + finite.tolist())
        ax.set_ylim(lo - 0.05 * (hi - lo + 0.2), hi + 0.1 * (hi - lo + 0.2))
        ax.legend(loc="upper left")
    return fig
