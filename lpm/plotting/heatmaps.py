r"""Heatmaps of cosine matrices: the geometry of the classifiers and features of a solution.

* :func:`cosine_figure` -- side-by-side heatmaps of ``K x K`` cosine matrices;
* :func:`geometry_figure` -- those of the classifiers ``W`` and the features ``H`` of a
  :class:`lpm.Solution`, with its groups of classes separated.

The colour scale is set by the off-diagonal cosines (the diagonal is 1 by definition and
drawn in grey), symmetric about 0: a simplex ETF of 100 classes, whose cosines are
:math:`-1/99`, is then visibly blue rather than lost next to the diagonal's 1. Classes
whose vectors are 0 at the optimum (the minority in its vanishing phase) have no cosine
and are hatched, with a note saying so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .style import WIDTH, _style, setting_label

#: above this many classes the cells carry no printed values
VALUES_MAX_K = 10

#: grey of the diagonal (1 by definition) and of undefined cosines
DIAGONAL_GREY, UNDEFINED_GREY = "0.72", "0.9"


def _model_title(model) -> str:
    if model.two_group_params is None:
        return f"$K = {model.K},\\ E_W = {model.E_W:.4g},\\ E_H = {model.E_H:.4g}$"
    K_A, K_B, R, w = model.two_group_params
    names, values = ["K_A", "K_B", "R", "E_W", "E_H"], [K_A, K_B, R, model.E_W, model.E_H]
    if w != 1:
        names.append("oversample")
        values.append(w)
    return setting_label(names, values)


def class_ticks(K: int) -> np.ndarray:
    """Classes labelled on a heatmap's axes, numbered from 0 as in the API: every class up
    to 12, else 0 and the multiples of a round step (``0, 20, ..., 80`` at ``K = 100``),
    evenly spaced."""
    if K <= 12:
        return np.arange(K)
    return np.arange(0, K, _round_step(K / 5))


def _round_step(x: float) -> int:
    """The smallest of 1, 2, 2.5, 5 times a power of 10 at least ``x`` (an integer)."""
    power = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= x and float(m * power).is_integer():
            return int(m * power)
    return int(10 * power)


def color_limit(matrices: Sequence[np.ndarray]) -> float:
    """Half-width of the symmetric colour scale: the largest off-diagonal ``|cosine|``,
    rounded up to a round number (1, 2, 2.5 or 5 times a power of 10), at most 1."""
    largest = 0.0
    for C in matrices:
        off = np.asarray(C, float)[~np.eye(C.shape[0], dtype=bool)]
        off = off[np.isfinite(off)]
        if off.size:
            largest = max(largest, float(np.abs(off).max()))
    if largest <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(largest))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= largest * (1 - 1e-12):
            return min(1.0, m * power)
    return 1.0


def cosine_figure(
    matrices: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    boundary: int | Sequence[int] | None = None,
    suptitle: str | None = None,
    values: bool | None = None,
    size=None,
) -> Figure:
    """Side-by-side heatmaps of cosine matrices (each ``K x K``, values in [-1, 1]) with
    one colorbar.

    Parameters
    ----------
    matrices : sequence of ndarray, shape (K, K)
    titles : sequence of str
    boundary : int or sequence of int, optional
        Draw a separator after the first ``b`` classes for each ``b`` (the boundaries
        between groups of classes).
    suptitle : str, optional
    values : bool, optional
        Print each entry (default: for ``K <= 10``, in a font that can be read).
    size : (float, float), optional
        Figure size in inches.
    """
    n = len(matrices)
    K = matrices[0].shape[0]
    values = K <= VALUES_MAX_K if values is None else values
    bounds = [] if boundary is None else np.atleast_1d(boundary).astype(int).tolist()
    bounds = [b for b in bounds if 0 < b < K]
    limit = color_limit(matrices)
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad=UNDEFINED_GREY)
    ticks = class_ticks(K)
    undefined = False
    with _style():
        fig = Figure(figsize=size or (WIDTH * n, 3.1))
        axes = np.atleast_1d(fig.subplots(1, n))
        for ax, C, title in zip(axes, matrices, titles):
            C = np.asarray(C, float)
            image = ax.imshow(
                np.ma.masked_invalid(C),
                cmap=cmap,
                vmin=-limit,
                vmax=limit,
                interpolation="nearest",
            )
            # the diagonal, 1 by definition (where the vector is not 0), in grey: it is off
            # the scale of the other cosines
            eye = np.eye(K, dtype=bool) & np.isfinite(C)
            diagonal = np.ma.masked_where(~eye, np.ones((K, K)))
            ax.imshow(diagonal, cmap=ListedColormap([DIAGONAL_GREY]), interpolation="nearest")
            nan = ~np.isfinite(C)
            if nan.any():
                undefined = True
                edges = np.arange(K + 1) - 0.5
                ax.pcolor(
                    edges,
                    edges,
                    np.ma.masked_where(~nan, np.ones((K, K))),
                    cmap=ListedColormap([UNDEFINED_GREY]),
                    hatch="////" if K <= 40 else "//",
                    edgecolor="0.6",
                    linewidth=0.0,
                )
            ax.set_title(title)
            ax.grid(False)
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.set_xticklabels([str(t) for t in ticks])  # classes from 0, as in the API
            ax.set_yticklabels([str(t) for t in ticks])
            ax.set_xlabel("class $j$")
            ax.set_ylabel("class $k$", labelpad=2)
            for b in bounds:
                ax.axhline(b - 0.5, color="k", lw=0.8)
                ax.axvline(b - 0.5, color="k", lw=0.8)
            if values:
                for i in range(K):
                    for j in range(K):
                        if i != j and np.isfinite(C[i, j]):
                            ax.text(
                                j,
                                i,
                                _cell(C[i, j]),
                                ha="center",
                                va="center",
                                fontsize=6.5 if K <= 8 else 6,
                                color="white" if abs(C[i, j]) > 0.6 * limit else "black",
                            )
        label = "cosine (grey diagonal: 1)"
        fig.colorbar(image, ax=list(axes), shrink=0.85, label=label)
        note = ""
        if undefined:
            note = "hatched: vectors of norm 0 at the optimum, cosine undefined"
        if suptitle or note:
            fig.suptitle("\n".join(s for s in (suptitle, note) if s), fontsize=9)
    return fig


def _cell(c: float) -> str:
    """A cosine in a cell: two decimals without the leading zero (``-.16``, ``.07``,
    ``1``), so that it fits the cell at a readable size."""
    text = f"{c:.2f}"
    if text in ("1.00", "-1.00"):
        return text[:-3]
    return text.replace("0.", ".", 1)


def group_boundaries(model) -> list[int]:
    """Indices ``b`` with classes ``b - 1`` and ``b`` in different groups (the separators
    of :func:`geometry_figure`), or none when the groups are not consecutive classes or
    there are more than 20 of them (long-tailed counts)."""
    groups = model.groups
    if not groups.is_contiguous or groups.G > 20:
        return []
    return [int(f) for f in groups.first[1:]]


def geometry_figure(solution, *, size=(2 * WIDTH, 3.1)) -> Figure:
    """Heatmaps of the pairwise cosines of the classifiers ``W`` and of the class-mean
    features ``H`` of a :class:`lpm.Solution`, with a separator between consecutive
    groups of classes (classes of equal loss weight: majority and minority for the
    two-group model)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cw = solution.classifier_cosines()
        ch = solution.feature_cosines()
    model = solution.model
    return cosine_figure(
        [cw, ch],
        [r"classifiers: $\cos\angle(w_k, w_j)$", r"features: $\cos\angle(h_k, h_j)$"],
        boundary=group_boundaries(model),
        suptitle=_model_title(model),
        size=size,
    )
