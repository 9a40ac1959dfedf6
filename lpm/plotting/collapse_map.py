"""Figures of the exact collapse structure for any class counts.

* :func:`collapse_map_figure` -- the classifier cosines with the classes sorted by count
  on both axes, the exactly collapsed groups and the vanished classes outlined, and the
  count of each class on a side bar;
* :func:`collapse_count_figure` -- the number of collapsed and of vanished classes
  against :math:`E_W E_H` (from :func:`lpm.studies.collapse_map.collapse_vs_budget`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullLocator

from .style import LABELS, WIDTH, _style


def collapse_map_figure(solution, *, title: str | None = None, size=(1.9 * WIDTH, 1.75 * WIDTH)):
    """The collapse map of a solution: cosines of its classifiers, classes sorted by count
    (largest first) on both axes; each collapsed group (classes of one count sharing one
    classifier, decided by the exact test) outlined on the diagonal, the vanished classes
    (classifier 0, cosines undefined) shaded, and the count on a side bar.

    Parameters
    ----------
    solution : Solution
        Of a model with the average norm constraint (the exact test must apply).
    title : str, optional
        Default: the number of classes, groups and the budgets.
    """
    model = solution.model
    report = solution.collapse
    order = np.argsort(-np.asarray(model.pi), kind="stable")  # by count, largest first
    with np.errstate(invalid="ignore", divide="ignore"):
        C = solution.classifier_cosines()[np.ix_(order, order)]
    K = model.K
    groups = model.groups
    rank = np.empty(K, int)
    rank[order] = np.arange(K)
    vanished = np.zeros(groups.G, bool) if report.vanished is None else np.asarray(report.vanished)
    with _style():
        fig = Figure(figsize=size)
        grid = fig.add_gridspec(1, 3, width_ratios=[0.09, 1.0, 0.04], wspace=0.02)
        side = fig.add_subplot(grid[0, 0])
        ax = fig.add_subplot(grid[0, 1], sharey=side)
        cax = fig.add_subplot(grid[0, 2])
        im = ax.imshow(
            np.ma.masked_invalid(C),
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            interpolation="nearest",
            aspect="auto",
        )
        ax.set_facecolor("0.82")  # undefined cosines (vanished classifiers)
        ax.grid(False)
        lw = 0.9 if K <= 100 else 0.6
        for g in np.flatnonzero(report.collapsed & (groups.sizes > 1) & ~vanished):
            where = np.sort(rank[groups.members(g)])
            lo, hi = where[0], where[-1]
            ax.add_patch(
                Rectangle(
                    (lo - 0.5, lo - 0.5), hi - lo + 1, hi - lo + 1, fill=False, edgecolor="k", lw=lw
                )
            )
        dead = np.flatnonzero(vanished[groups.labels])
        if dead.size:
            where = np.sort(rank[dead])
            ax.add_patch(
                Rectangle(
                    (where[0] - 0.5, where[0] - 0.5),
                    where[-1] - where[0] + 1,
                    where[-1] - where[0] + 1,
                    fill=False,
                    edgecolor="0.25",
                    lw=lw,
                    hatch="///",
                )
            )
        ax.set_xlabel("class $j$, by count (largest first)")
        ax.tick_params(labelleft=False)
        counts = (model.counts if model.counts is not None else model.pi)[order]
        side.plot(counts, np.arange(K), color="0.2", lw=0.9)
        side.set_xscale("log")
        side.set_ylim(K - 0.5, -0.5)
        lo, hi = float(counts.min()), float(counts.max())
        side.set_xlim(lo / 1.3, hi * 1.3)
        side.set_xticks([lo, hi] if hi > lo else [hi])
        side.set_xticklabels([f"{v:g}" for v in ([lo, hi] if hi > lo else [hi])], rotation=90)
        side.xaxis.set_minor_locator(NullLocator())
        side.set_ylabel("class $k$, by count (largest first)")
        side.set_xlabel("count", fontsize=8)
        side.tick_params(axis="x", labelsize=7)
        side.grid(False)
        fig.colorbar(im, cax=cax, label=r"$\cos\angle(w_k, w_j)$")
        handles = [Patch(fill=False, edgecolor="k", label="collapsed group (exact)")]
        if dead.size:
            handles.append(
                Patch(facecolor="0.82", edgecolor="0.25", hatch="///", label="vanished (w = 0)")
            )
        ax.legend(handles=handles, loc="upper right", fontsize=7, frameon=True, framealpha=0.9)
        if title is None:
            title = (
                f"K = {K} classes, {groups.G} distinct counts, "
                f"$E_W = {model.E_W:g}$, $E_H = {model.E_H:g}$"
            )
        ax.set_title(title, fontsize=9)
    return fig


def collapse_count_figure(table, *, title: str | None = None, size=(WIDTH, 2.5)) -> Figure:
    """Classes in collapsed groups and vanished classes against :math:`E_W E_H`, from a
    table of :func:`lpm.studies.collapse_map.collapse_vs_budget`; undecided points are
    marked with a cross."""
    x = table["EWEH"]
    with _style():
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        ax.plot(x, table["collapsed_classes"], "o-", label="in collapsed groups")
        ax.plot(x, table["vanished_classes"], "s--", label="vanished")
        undecided = table["undecided_groups"] > 0
        if undecided.any():
            ax.plot(
                x[undecided],
                table["collapsed_classes"][undecided],
                "kx",
                ms=7,
                label="undecided groups",
            )
        ax.set_xscale("log")
        ax.set_xlabel(LABELS["EWEH"])
        ax.set_ylabel("classes")
        ax.set_ylim(bottom=0)
        ax.legend(loc="best")
        if title is not None:
            ax.set_title(title, fontsize=9)
    return fig
