r"""Publication figures (matplotlib, no display needed).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so it
works on any backend, headless included, and leaves pyplot's state alone;
:func:`save_figure` writes it as vector PDF (fonts embedded as TrueType) and PNG,
atomically. The style (:data:`STYLE`, :mod:`lpm.plotting.style`) is applied only inside
these functions. Each figure states the setting it shows (the parameters common to its
curves) in its title, and keeps its legend off the curves.

* :func:`minority_cosine_figure` -- the paper's Figure 3: mean minority cosine against
  the imbalance :math:`R` (log axis), one curve per setting, the simplex-ETF level
  :math:`-1/(K-1)` and the threshold :math:`R_0` marked; where the minority classifiers
  vanish (0 vectors, no cosine) the curve goes on at 1 in hollow markers, so said;
* :func:`phase_figure` -- :math:`R_0` against :math:`E_W E_H`;
* :func:`theorem5_figure` -- the Theorem-5 check;
* :func:`geometry_figure`, :func:`cosine_figure` -- heatmaps of classifier and feature
  cosines (:mod:`lpm.plotting.heatmaps`);
* :func:`curve_figure` -- any column of a sweep against a swept parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..analysis.threshold import collapse_threshold

# the heatmaps lived here before: still importable from lpm.plotting.figures
from .heatmaps import cosine_figure as cosine_figure
from .heatmaps import geometry_figure as geometry_figure
from .style import LABELS, LOG_PARAMETERS, WIDTH, _style, setting_label, settings_title
from .style import STYLE as STYLE
from .style import save_figure as save_figure


def _legend_columns(labels) -> int:
    """Columns of :func:`legend_below`: all entries in one row when there are at most
    three short ones, else two columns, or one for long labels."""
    longest = max(len(t) for t in labels)
    if len(labels) <= 3 and longest < 24:
        return len(labels)
    return 1 if longest > 44 else 2


def legend_below(ax, handles=None, labels=None):
    """The legend of ``ax`` under the figure, outside the axes (constrained layout makes
    room for it), so that it never covers a curve."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return ax.figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=_legend_columns(labels),
        handlelength=1.6,
        columnspacing=1.0,
    )


def _curve_keys(table, x: str, by: Sequence[str] | None) -> list[str]:
    if by is not None:
        return list(by)
    # every swept column but x and the derived ones (K follows K_A, K_B; EWEH follows E_W, E_H)
    swept = [c for c in table.swept if c != x]
    if x in ("E_W", "E_H", "EWEH"):
        swept = [c for c in swept if c not in ("E_W", "E_H", "EWEH")]
    if "K" in swept and ("K_A" in swept or "K_B" in swept):
        swept.remove("K")
    if "EWEH" in swept and ("E_W" in swept or "E_H" in swept):
        swept.remove("EWEH")
    if "E_H" in swept and "EWEH" in swept:
        swept.remove("E_H")
    return swept


def curve_figure(
    table,
    x: str = "R",
    y: str = "minority_cosine",
    *,
    by: Sequence[str] | None = None,
    thresholds: bool = True,
    reference: bool = True,
    logx: bool | None = None,
    logy: bool = False,
    size=None,
) -> Figure:
    r"""``y`` against ``x`` from a :class:`lpm.SweepTable`, one curve per combination of
    the other swept parameters (or of the columns ``by``).

    The title states the parameters common to all curves; the legend sits under the
    axes. For ``y = "minority_cosine"``: a dotted line at the simplex-ETF cosine
    :math:`-1/(K-1)` (``reference``); where the minority classifiers vanish (the
    ``minority_vanished`` column: 0 vectors, no cosine) the curve goes on at 1 in hollow
    markers on a dotted line, which the legend explains (their pairwise distances are 0);
    and, for ``x = "R"``, the threshold :math:`R_0` of each curve as a dashed vertical line
    with a marker where the curve reaches 1 (``thresholds``; computed by
    :func:`lpm.collapse_threshold`, times the oversampling factor, for cross-entropy
    sweeps of the two-group model).
    """
    if x not in table.columns or y not in table.columns:
        raise ValueError(
            f"x and y must be columns of the table ({', '.join(table.columns)}), got {x!r}, {y!r}"
        )
    keys = _curve_keys(table, x, by)
    logx = (x in LOG_PARAMETERS) if logx is None else logx
    vanishing = y == "minority_cosine" and "minority_vanished" in table.columns
    groups = table.groupby(keys) if keys else [((), table)]
    if size is None:  # room for the title and the legend rows under the axes
        entries = (len(groups) if keys else 0) + bool(
            vanishing and any(v is True for v in table["minority_vanished"])
        )
        rows = 0 if entries == 0 else 1 if entries <= 3 else math.ceil(entries / 2)
        size = (WIDTH, 2.6 + 0.2 * rows)
    with _style():
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        marker = "o" if len(table) <= 60 * max(1, len(groups)) else None
        Ks: set[int] = set()
        k_color: dict[int, str] = {}
        any_vanished = False
        for i, (values, sub) in enumerate(groups):
            color = colors[i % len(colors)]
            xs = np.asarray(sub[x], float)
            ys = np.asarray(sub[y], float)
            order = np.argsort(xs, kind="stable")
            xs, ys = xs[order], ys[order]
            finite = np.isfinite(xs)
            label = setting_label(keys, values)
            R0 = None
            if thresholds and y == "minority_cosine" and x == "R":
                R0 = _threshold_of(sub)
                if R0 is not None and not (xs[finite].min() <= R0 <= xs[finite].max()):
                    R0 = None
            if R0 is not None and keys:
                label += f" ($R_0 = {R0:.4g}$)"
            ax.plot(
                xs[finite],
                ys[finite],
                marker=marker,
                color=color,
                label=label or None,
                clip_on=False,
                zorder=3,
            )
            if vanishing:
                gone = np.array([v is True for v in sub["minority_vanished"]])[order] & finite
                if gone.any():
                    any_vanished = True
                    _vanished_points(ax, xs, ys, gone, color)
            if "K" in sub.columns:
                Ks.update(int(k) for k in sub["K"])
                if len(set(sub["K"])) == 1:
                    k_color.setdefault(int(sub["K"][0]), color)
            if R0 is not None:
                # the threshold: where the curve reaches 1 and stays there
                ax.axvline(R0, color=color, ls="--", lw=0.9, zorder=2)
                ax.plot([R0], [1.0], marker="D", ms=4.5, color=color, zorder=4, clip_on=False)
                if not keys:
                    ax.annotate(
                        f"$R_0 = {R0:.4g}$",
                        (R0, 0.5),
                        xycoords=("data", "axes fraction"),
                        xytext=(4, 0),
                        textcoords="offset points",
                        color=color,
                        fontsize=8,
                    )
        if reference and y in ("minority_cosine", "majority_cosine") and len(Ks) > 1:
            # one simplex-ETF level per K, in the color of its curve, named in the legend
            for K in sorted(Ks):
                ax.axhline(-1.0 / (K - 1), color=k_color.get(K, "0.45"), ls=":", lw=1.0, zorder=1)
            ax.plot([], [], color="0.45", ls=":", lw=1.0, label="$-1/(K-1)$")
        elif reference and y in ("minority_cosine", "majority_cosine") and Ks:
            (K,) = Ks
            _etf_level(ax, table, x, y, K)
        x_all = np.asarray(table[x], float)
        x_all = x_all[np.isfinite(x_all)]
        if not np.isfinite(np.asarray(table[y], float)).any() and not any_vanished:
            # e.g. the majority cosine of a single majority class: say so
            ax.text(0.5, 0.5, f"no finite values of {y}", transform=ax.transAxes, ha="center")
            if x_all.size:
                ax.set_xlim(x_all.min(), max(x_all.max(), x_all.min() * (1 + 1e-9)))
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(LABELS.get(x, x))
        ax.set_ylabel(LABELS.get(y, y))
        if y == "minority_cosine":
            finite = np.asarray(table[y], float)
            finite = finite[np.isfinite(finite)]
            lo = min([-1.0 / (K - 1) for K in Ks] + [float(v) for v in finite] + [0.0])
            ax.set_ylim(lo - 0.05, 1.05)
        title = settings_title(table, exclude=[x, *keys])
        if title:
            ax.set_title(title, fontsize=9)
        if any_vanished:
            ax.plot(
                [],
                [],
                color="0.3",
                ls=":",
                marker="o",
                mfc="white",
                label="minority $w_k = 0$ (vanished), at 1",
            )
        if keys or len(Ks) > 1 or any_vanished:
            legend_below(ax)
    return fig


def _vanished_points(ax, xs, ys, gone, color) -> None:
    """Where the minority classifiers are 0 vectors the cosine is undefined (NaN) but
    they coincide (their distances are 0): hollow markers at 1 on a dotted line, joined to
    the curve's last finite point before them."""
    idx = np.flatnonzero(gone)
    before = idx[0] - 1
    px, py = xs[idx], np.ones(idx.size)
    if before >= 0 and np.isfinite(ys[before]):
        px, py = np.r_[xs[before], px], np.r_[ys[before], py]
    ax.plot(px, py, color=color, ls=":", lw=1.2, zorder=2.5, clip_on=False)
    ax.plot(xs[idx], np.ones(idx.size), "o", color=color, mfc="white", zorder=4, clip_on=False)


def _etf_level(ax, table, x, y, K) -> None:
    """The simplex-ETF cosine -1/(K-1), labelled at the end of the x range where the
    curves are far from it."""
    level = -1.0 / (K - 1)
    ax.axhline(level, color="0.45", ls=":", lw=1.0, zorder=1)
    x_all, y_all = np.asarray(table[x], float), np.asarray(table[y], float)
    ok = np.isfinite(x_all) & np.isfinite(y_all)
    left = False  # no finite point (e.g. classifiers of norm 0): label on the right
    if ok.any():
        at_left = y_all[ok][x_all[ok] == x_all[ok].min()]
        at_right = y_all[ok][x_all[ok] == x_all[ok].max()]
        left = np.abs(at_right - level).min() < np.abs(at_left - level).min()
    ax.annotate(
        f"$-1/(K-1) = -1/{K - 1}$",
        (0.01 if left else 0.99, level),
        xycoords=("axes fraction", "data"),
        xytext=(0, 3),
        textcoords="offset points",
        ha="left" if left else "right",
        va="bottom",
        fontsize=8,
        color="0.35",
    )


def _threshold_of(sub) -> float | None:
    """R_0 of the two-group cross-entropy setting of a curve (None when not defined)."""
    needed = ("K_A", "K_B", "E_W", "E_H", "oversample")
    if not all(c in sub.columns for c in needed):
        return None
    if sub.settings.get("loss", "CrossEntropy()") != "CrossEntropy()":
        return None
    first = sub.rows[0]
    if any(len({r[c] for r in sub.rows}) > 1 for c in needed) or first["K_B"] < 2:
        return None
    R0 = collapse_threshold(first["K_A"], first["K_B"], first["E_W"], first["E_H"])
    return R0 * first["oversample"] if math.isfinite(R0) else None


def minority_cosine_figure(table, *, by=None, thresholds: bool = True, size=None) -> Figure:
    """The paper's Figure 3: mean minority cosine against ``R`` (see :func:`curve_figure`)."""
    return curve_figure(table, "R", "minority_cosine", by=by, thresholds=thresholds, size=size)


# ---------------------------------------------------------------------------------------
def phase_figure(table, *, size=(WIDTH, 2.9)) -> Figure:
    r""":math:`R_0` against :math:`E_W E_H` (log-log), one curve per ``(K_A, K_B)``,
    from :func:`lpm.phase_diagram`. Above a curve the minority classifiers are exactly
    equal (Minority Collapse); below, they are distinct."""
    with _style():
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        for values, sub in table.groupby(["K_A", "K_B"]):
            e = np.asarray(sub["EWEH"], float)
            r = np.asarray(sub["R0"], float)
            ok = np.isfinite(r)
            ax.plot(
                e[ok], r[ok], marker="o", label=setting_label(["K_A", "K_B"], values), clip_on=False
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(LABELS["EWEH"])
        ax.set_ylabel(LABELS["R0"])
        ax.set_title("minority collapsed above each curve, distinct below", fontsize=9)
        legend_below(ax)
    return fig


def theorem5_figure(check, *, size=(WIDTH, 3.9)) -> Figure:
    r"""The Theorem-5 check (:func:`lpm.verify_minority_collapse`): on top, the largest
    distance between minority classifiers against ``R`` (filled markers: exactly
    collapsed, drawn whole on the axis at 0); below, the relative distance to the
    :math:`R = \infty` solution, where distances at rounding level (at most
    ``check.rounding``, exact zeros included) are drawn as triangles on that line;
    the threshold :math:`R_0` dashed in both."""
    with _style():
        fig = Figure(figsize=size)
        top, bottom = fig.subplots(2, 1, sharex=True)
        R = check.R
        c = check.collapsed
        top.plot(R, check.max_distance, color="C0", zorder=2, clip_on=False)
        marks = dict(color="C0", zorder=3, clip_on=False)
        top.plot(R[~c], check.max_distance[~c], "o", mfc="white", label="distinct", **marks)
        top.plot(R[c], check.max_distance[c], "o", label="exactly collapsed", **marks)
        top.set_ylabel("largest minority\ndistance " + r"$\Vert w_k - w_{k'}\Vert$")
        top.set_ylim(bottom=0)
        top.legend(loc="upper right")
        d = check.distance_to_limit
        floor = check.rounding
        rounding = d <= floor
        bottom.plot(R[~rounding], d[~rounding], "o-", color="C1", ms=3, clip_on=False)
        if rounding.any():
            bottom.axhline(floor, color="0.5", ls=":", lw=0.9)
            bottom.plot(
                R[rounding],
                np.full(int(rounding.sum()), floor),
                "v",
                color="C1",
                ms=3.5,
                clip_on=False,
                label=f"at rounding level ($\\leq 10^{{{round(math.log10(floor))}}}$)",
            )
            bottom.legend(loc="upper right")
        bottom.set_yscale("log")
        bottom.set_ylabel("relative distance\nto the " + r"$R = \infty$ Gram")
        bottom.set_xscale("log")
        bottom.set_xlabel(LABELS["R"])
        fig.align_ylabels([top, bottom])
        if math.isfinite(check.R0) and R.min() <= check.R0 <= R.max():
            for ax in (top, bottom):
                ax.axvline(check.R0, color="C3", ls="--", lw=0.9)
            top.annotate(
                f"$R_0 = {check.R0:.4g}$",
                (check.R0, 0.55),
                xycoords=("data", "axes fraction"),
                xytext=(4, 0),
                textcoords="offset points",
                color="C3",
                fontsize=8,
            )
        top.set_title(
            setting_label(
                ["K_A", "K_B", "E_W", "E_H"], [check.K_A, check.K_B, check.E_W, check.E_H]
            ),
            fontsize=9,
        )
    return fig
