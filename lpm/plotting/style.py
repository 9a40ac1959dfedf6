"""The style every figure of :mod:`lpm.plotting` shares: rcParams, sizes, labels in the
model's symbols, the title of a setting, and atomic saving as PNG and PDF."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from .. import _io

#: rcParams used for every figure of lpm.plotting
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


def settings_title(table, exclude: Sequence[str] = ()) -> str:
    """The parameters that are the same in every row of ``table`` (and not in
    ``exclude``), as a title: ``$K = 10\\ (K_A = 5,\\ K_B = 5),\\ E_W = 1,\\ E_H = 5$``, so
    that a figure states the setting it shows. ``K`` leads when ``K_A`` and ``K_B`` are
    both fixed; ``E_W E_H`` is left out when both budgets are given; an oversampling
    factor of 1 is left out."""
    skip = set(exclude)
    fixed = {}
    for name in ("K", "K_A", "K_B", "R", "E_W", "E_H", "EWEH", "oversample"):
        if name in table.columns and name not in skip:
            values = {repr(row[name]) for row in table.rows}
            if len(values) == 1:
                fixed[name] = table.rows[0][name]
    if "E_W" in fixed and "E_H" in fixed:
        fixed.pop("EWEH", None)
    if fixed.get("oversample") == 1:
        fixed.pop("oversample")
    if "K" in fixed and ("K_A" in fixed) != ("K_B" in fixed):
        fixed.pop("K")  # K with only one of K_A, K_B fixed says less than it seems
    parts = []
    if "K" in fixed and "K_A" in fixed:
        parts.append(
            f"K = {fixed.pop('K')}\\ (K_A = {fixed.pop('K_A')},\\ K_B = {fixed.pop('K_B')})"
        )
    parts += [f"{_SYMBOLS.get(n, n)} = {_fmt(v)}" for n, v in fixed.items()]
    return "$" + r",\ ".join(parts) + "$" if parts else ""
