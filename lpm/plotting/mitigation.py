r"""The remedies for Minority Collapse side by side (the table of
:func:`lpm.studies.mitigation.mitigation_study`).

* :func:`mitigation_figure` -- against the imbalance :math:`R`, for each remedy: the mean
  minority cosine (its threshold :math:`R_0` dashed; on the oversampling curve the point
  :math:`R = w_r R_0`, where :math:`w_r = R/R_0` is the oversampling that just stops the
  collapse), the minority classifiers' norm relative to the majority's (0: the minority
  vanishes), and the distance of the classifiers' Gram matrix to the simplex ETF's.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .figures import LABELS, STYLE, WIDTH

#: the panels: (column, axis label)
PANELS = (
    ("minority_cosine", LABELS["minority_cosine"]),
    ("minority_norm", r"minority norm $\overline{\Vert w_B\Vert} / \overline{\Vert w_A\Vert}$"),
    ("etf_distance", r"ETF distance of $W W^\top$"),
)


def mitigation_figure(table, *, size=(2 * WIDTH, 2.9)) -> Figure:
    r"""Three panels against ``R`` (log axis), one curve per remedy (see the module
    docstring).

    ``table`` has the columns ``remedy``, ``R``, ``R0`` and those of :data:`PANELS`, and
    its ``settings`` hold ``K_A``, ``K_B``, ``oversample`` and ``labels`` (the legend
    text of each remedy), as :func:`lpm.studies.mitigation.mitigation_study` writes them.
    """
    settings = table.settings
    K = int(settings["K_A"]) + int(settings["K_B"])
    labels = settings.get("labels", {})
    w = float(settings["oversample"])
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size)
        axes = fig.subplots(1, len(PANELS))
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, ((remedy,), sub) in enumerate(table.groupby(["remedy"])):
            color = colors[i % len(colors)]
            R = np.asarray(sub["R"], float)
            R0 = float(sub["R0"][0])
            inside = math.isfinite(R0) and R.min() <= R0 <= R.max()
            label = labels.get(remedy, remedy) + (f" ($R_0 = {R0:.4g}$)" if inside else "")
            for j, (ax, (column, _)) in enumerate(zip(axes, PANELS)):
                values = np.asarray(sub[column], float)
                ax.plot(R, values, color=color, label=label if j == 0 else None, zorder=3)
                if inside:
                    ax.axvline(R0, color=color, ls="--", lw=0.8, zorder=2)
            if remedy == "oversampling" and inside:
                axes[0].plot([R0], [1.0], marker="D", ms=4.5, color=color, zorder=4)
                axes[0].annotate(
                    f"$w_r = R/R_0 = {w:g}$",
                    (R0, 1.0),
                    xytext=(4, -10),
                    textcoords="offset points",
                    color=color,
                    fontsize=7.5,
                )
        # the simplex ETF: cosine -1/(K-1), equal norms, distance 0
        for ax, level in zip(axes, (-1.0 / (K - 1), 1.0, 0.0)):
            ax.axhline(level, color="0.45", ls=":", lw=1.0, zorder=1)
        axes[0].set_ylim(-1.0 / (K - 1) - 0.1, 1.08)
        axes[1].set_ylim(-0.05, None)
        for ax, (_, ylabel) in zip(axes, PANELS):
            ax.set_xscale("log")
            ax.set_xlabel(LABELS["R"])
            ax.set_ylabel(ylabel)
        fig.legend(loc="outside lower center", ncols=3)
    return fig
