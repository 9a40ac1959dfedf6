r"""Publication figures (matplotlib, no display needed).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so it
works on any backend, headless included, and leaves pyplot's state alone;
:func:`save_figure` writes it as vector PDF (fonts embedded as TrueType) and PNG,
atomically. The style (:data:`STYLE`) is applied only inside these functions.

* :func:`minority_cosine_figure` -- the paper's Figure 3: mean minority cosine against
  the imbalance :math:`R` (log axis), one curve per setting, the simplex-ETF level
  :math:`-1/(K-1)` and the threshold :math:`R_0` marked;
* :func:`phase_figure` -- :math:`R_0` against :math:`E_W E_H`;
* :func:`theorem5_figure` -- the Theorem-5 check;
* :func:`geometry_figure` -- heatmaps of classifier and feature cosines;
* :func:`curve_figure` -- any column of a sweep against a swept parameter.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .. import _io
from ..analysis.threshold import collapse_threshold

#: rcParams used for every figure of this module
STYLE = {
    "font.size": 9,
    "axes.labelsize": 10,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "lines.linewidth": 1.5,
    "lines.markersize": 3.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.5,
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "figure.constrained_layout.use": True,
}

#: single-column width of a two-column paper, in inches
WIDTH = 3.4

#: axis labels in the model's symbols
LABELS = {
    "R": r"imbalance ratio $R = n_A / n_B$",
    "E_W": r"classifier budget $E_W$",
    "E_H": r"feature budget $E_H$",
    "EWEH": r"budget product $E_W E_H$",
    "oversample": r"oversampling factor $w_r$",
    "K_A": r"majority classes $K_A$",
    "K_B": r"minority classes $K_B$",
    "K": r"classes $K$",
    "minority_cosine": r"minority cosine $\cos\angle(w_k, w_{k'})$",
    "majority_cosine": r"majority cosine $\cos\angle(w_k, w_{k'})$",
    "objective": r"optimal value $\sum_k \pi_k L(W h_k, k)$",
    "gap": "certified gap",
    "minority_within": r"minority singular value $s_B$",
    "minority_distance": r"$\max_{k, k' \in B} \Vert w_k - w_{k'} \Vert$",
    "multiplier": r"budget multiplier $\lambda$",
    "R0": r"threshold $R_0$",
    "time": "solve time (s)",
}

#: parameters shown on a log axis (all the positive scale parameters)
LOG_PARAMETERS = ("R", "E_W", "E_H", "EWEH", "oversample")

_SYMBOLS = {
    "K_A": "K_A",
    "K_B": "K_B",
    "K": "K",
    "R": "R",
    "E_W": "E_W",
    "E_H": "E_H",
    "EWEH": "E_W E_H",
    "oversample": "w_r",
}


def _style():
    return matplotlib.rc_context(STYLE)


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isinf(v):
            return r"\infty"
        return f"{v:.4g}"
    return str(v)


def setting_label(names: Sequence[str], values: Sequence) -> str:
    """Legend text such as ``$K_A = 5,\\ E_W E_H = 5$``."""
    if not names:
        return ""
    return (
        "$" + r",\ ".join(f"{_SYMBOLS.get(n, n)} = {_fmt(v)}" for n, v in zip(names, values)) + "$"
    )


def save_figure(fig: Figure, directory, stem: str, formats=("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``directory/stem.<fmt>`` for each format, atomically.

    PNG at 300 dpi; PDF is vector with TrueType fonts. Returns the paths written.
    """
    paths = []
    # fontTools, which embeds the fonts in the PDF, logs warnings about the fonts' own
    # timestamps; they say nothing about the figure
    fonttools = logging.getLogger("fontTools")
    level = fonttools.level
    fonttools.setLevel(logging.ERROR)
    try:
        with _style():
            for fmt in formats:
                path = Path(directory) / f"{stem}.{fmt}"
                _io.write_atomic(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt))
                paths.append(path)
    finally:
        fonttools.setLevel(level)
    return paths


# ---------------------------------------------------------------------------------------
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
    size=(WIDTH, 2.5),
) -> Figure:
    r"""``y`` against ``x`` from a :class:`lpm.SweepTable`, one curve per combination of
    the other swept parameters (or of the columns ``by``).

    For ``y = "minority_cosine"``: a dotted line at the simplex-ETF cosine
    :math:`-1/(K-1)` (``reference``) and, for ``x = "R"``, the threshold :math:`R_0` of
    each curve as a dashed vertical line with a marker where the curve reaches 1
    (``thresholds``; computed by :func:`lpm.collapse_threshold`, times the oversampling
    factor, for cross-entropy sweeps of the two-group model).
    """
    if x not in table.columns or y not in table.columns:
        raise ValueError(
            f"x and y must be columns of the table ({', '.join(table.columns)}), got {x!r}, {y!r}"
        )
    keys = _curve_keys(table, x, by)
    logx = (x in LOG_PARAMETERS) if logx is None else logx
    with _style():
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        groups = table.groupby(keys) if keys else [((), table)]
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        marker = "o" if len(table) <= 60 * max(1, len(groups)) else None
        Ks: set[int] = set()
        k_color: dict[int, str] = {}
        for i, (values, sub) in enumerate(groups):
            color = colors[i % len(colors)]
            xs = np.asarray(sub[x], float)
            ys = np.asarray(sub[y], float)
            order = np.argsort(xs, kind="stable")
            finite = np.isfinite(xs[order])
            label = setting_label(keys, values)
            R0 = None
            if thresholds and y == "minority_cosine" and x == "R":
                R0 = _threshold_of(sub)
                if R0 is not None and not (xs[finite].min() <= R0 <= xs[finite].max()):
                    R0 = None
            if R0 is not None and keys:
                label += f" ($R_0 = {R0:.4g}$)"
            ax.plot(
                xs[order][finite],
                ys[order][finite],
                marker=marker,
                color=color,
                label=label or None,
                clip_on=False,
                zorder=3,
            )
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
            level = -1.0 / (K - 1)
            ax.axhline(level, color="0.45", ls=":", lw=1.0, zorder=1)
            # label the level at the end of the x range where the curves are far from it
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
        x_all = np.asarray(table[x], float)
        x_all = x_all[np.isfinite(x_all)]
        if not np.isfinite(np.asarray(table[y], float)).any():
            # e.g. the minority cosine where those classifiers are 0 vectors: say so
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
        if keys or len(Ks) > 1:
            ax.legend(loc="best")
    return fig


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


def minority_cosine_figure(table, *, by=None, thresholds: bool = True, size=(WIDTH, 2.5)) -> Figure:
    """The paper's Figure 3: mean minority cosine against ``R`` (see :func:`curve_figure`)."""
    return curve_figure(table, "R", "minority_cosine", by=by, thresholds=thresholds, size=size)


# ---------------------------------------------------------------------------------------
def phase_figure(table, *, size=(WIDTH, 2.6)) -> Figure:
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
            ax.plot(e[ok], r[ok], marker="o", label=setting_label(["K_A", "K_B"], values))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(LABELS["EWEH"])
        ax.set_ylabel(LABELS["R0"])
        ax.legend(
            loc="upper left",
            title="minority collapsed above each curve",
            title_fontsize=8,
            alignment="left",
        )
    return fig


def theorem5_figure(check, *, size=(WIDTH, 3.6)) -> Figure:
    r"""The Theorem-5 check (:func:`lpm.verify_minority_collapse`): on top, the largest
    distance between minority classifiers against ``R`` (filled markers: exactly
    collapsed); below, the relative distance to the :math:`R = \infty` solution; the
    threshold :math:`R_0` dashed in both."""
    with _style():
        fig = Figure(figsize=size)
        top, bottom = fig.subplots(2, 1, sharex=True)
        R = check.R
        c = check.collapsed
        top.plot(R, check.max_distance, color="C0", zorder=2)
        top.plot(R[~c], check.max_distance[~c], "o", mfc="white", color="C0", label="distinct")
        top.plot(R[c], check.max_distance[c], "o", color="C0", label="exactly collapsed")
        top.set_ylabel(r"$\max_{k,k' \in B}\Vert w_k - w_{k'}\Vert$")
        top.set_ylim(bottom=0)
        top.legend(loc="upper right")
        d = check.distance_to_limit
        pos = d > 0
        bottom.plot(R[pos], d[pos], "o-", color="C1", ms=3)
        bottom.set_yscale("log")
        bottom.set_ylabel(
            "distance to $R = \\infty$\n"
            + r"$\Vert G(R) - G(\infty)\Vert_F / \Vert G(\infty)\Vert_F$",
            fontsize=9,
        )
        bottom.set_xscale("log")
        bottom.set_xlabel(LABELS["R"])
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


def _model_title(model) -> str:
    if model.two_group_params is None:
        return f"$K = {model.K},\\ E_W = {model.E_W:.4g},\\ E_H = {model.E_H:.4g}$"
    K_A, K_B, R, w = model.two_group_params
    names, values = ["K_A", "K_B", "R", "E_W", "E_H"], [K_A, K_B, R, model.E_W, model.E_H]
    if w != 1:
        names.append("oversample")
        values.append(w)
    return setting_label(names, values)


def cosine_figure(
    matrices: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    boundary: int | None = None,
    suptitle: str | None = None,
    values: bool | None = None,
    size=None,
) -> Figure:
    """Side-by-side heatmaps of cosine matrices (each ``K x K``, values in [-1, 1]) with
    one colorbar; ``boundary`` draws the line after the first ``boundary`` classes (the
    majority/minority split); ``values`` prints each entry (default: for ``K <= 12``)."""
    n = len(matrices)
    K = matrices[0].shape[0]
    values = K <= 12 if values is None else values
    with _style():
        fig = Figure(figsize=size or (WIDTH * n, 2.9))
        axes = np.atleast_1d(fig.subplots(1, n))
        for ax, C, title in zip(axes, matrices, titles):
            C = np.asarray(C, float)
            im = ax.imshow(
                np.ma.masked_invalid(C), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
            )
            ax.set_title(title)
            ax.grid(False)
            ticks = np.arange(K) if K <= 12 else np.linspace(0, K - 1, 6).round().astype(int)
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.set_xticklabels([str(t) for t in ticks])  # classes from 0, as in the API
            ax.set_yticklabels([str(t) for t in ticks])
            ax.set_xlabel("class $j$")
            ax.set_ylabel("class $k$")
            if boundary is not None and 0 < boundary < K:
                ax.axhline(boundary - 0.5, color="k", lw=0.8)
                ax.axvline(boundary - 0.5, color="k", lw=0.8)
            if values:
                for i in range(K):
                    for j in range(K):
                        if np.isfinite(C[i, j]):
                            ax.text(
                                j,
                                i,
                                f"{C[i, j]:.2f}",
                                ha="center",
                                va="center",
                                fontsize=4.5,
                                color="white" if abs(C[i, j]) > 0.6 else "black",
                            )
        fig.colorbar(im, ax=list(axes), shrink=0.85, label="cosine")
        if suptitle:
            fig.suptitle(suptitle, fontsize=9)
    return fig


def geometry_figure(solution, *, size=(2 * WIDTH, 2.9)) -> Figure:
    """Heatmaps of the pairwise cosines of the classifiers ``W`` and of the class-mean
    features ``H`` of a :class:`lpm.Solution`, with the majority/minority boundary
    marked."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cw = solution.classifier_cosines()
        ch = solution.feature_cosines()
    model = solution.model
    minority = model.minority
    contiguous = minority.size and np.array_equal(
        minority, np.arange(model.K - minority.size, model.K)
    )
    return cosine_figure(
        [cw, ch],
        [r"classifiers: $\cos\angle(w_k, w_j)$", r"features: $\cos\angle(h_k, h_j)$"],
        boundary=model.K - minority.size if contiguous else None,
        suptitle=_model_title(model),
        size=size,
    )
