r"""Phase diagram of Minority Collapse: the threshold :math:`R_0` against :math:`E_W E_H`.

For the two-group model the minority classifiers are exactly equal iff
:math:`R \ge R_0(K_A, K_B, E_W E_H)` (:func:`lpm.collapse_threshold`). The curve
:math:`R_0(E_W E_H)` for fixed ``(K_A, K_B)`` splits the :math:`(E_W E_H, R)` plane into
the collapsed phase above it and the distinct phase below it; weaker regularization
(larger :math:`E_W E_H`) pushes it up, roughly like :math:`\log R_0 \propto E_W E_H`.
"""

from __future__ import annotations

import concurrent.futures
import itertools
from collections.abc import Callable, Sequence

import numpy as np

from .. import _progress
from .. import _validation as check
from ..analysis.threshold import threshold_path
from .sweep import grid_values, run_chunked
from .table import SweepTable

#: default ``(K_A, K_B)`` settings of :func:`phase_diagram`
DEFAULT_SETTINGS = ((5, 5), (2, 8), (8, 2), (10, 10))


def _thresholds_chunk(points: list[tuple], options: dict, tick: Callable | None = None):
    """The thresholds of consecutive ``(K_A, K_B, E_W E_H)`` points, each run of one
    setting followed along ``E_W E_H`` (:func:`lpm.analysis.threshold.threshold_path`)."""
    out: list[float] = []
    for (K_A, K_B), run in itertools.groupby(points, key=lambda point: point[:2]):
        products = [point[2] for point in run]
        out += threshold_path(
            K_A, K_B, products, rtol=options["rtol"], loss=options["loss"], tick=tick
        )
    return out


def phase_diagram(
    settings: Sequence[tuple[int, int]] = DEFAULT_SETTINGS,
    EWEH=None,
    *,
    loss="ce",
    rtol: float = 1e-8,
    executor: concurrent.futures.Executor | None = None,
    chunksize: int | None = None,
    progress: bool | None = None,
) -> SweepTable:
    r"""The threshold :math:`R_0` over a grid of :math:`E_W E_H`, for several
    ``(K_A, K_B)``.

    Parameters
    ----------
    settings : sequence of (int, int)
        ``(K_A, K_B)`` pairs, ``K_B >= 2``.
    EWEH : array_like, optional
        Values of the product :math:`E_W E_H` (only the product matters). Default:
        31 points from 0.1 to 100, geometrically spaced.
    loss : str or Loss
        Cross-entropy by default.
    rtol : float
        Relative accuracy of each threshold (see :func:`lpm.collapse_threshold`).
    executor, chunksize, progress
        As in :func:`lpm.sweep` (the bar advances per threshold); the thresholds do not
        depend on them.

    Returns
    -------
    SweepTable
        Columns ``K_A, K_B, K, EWEH, R0`` (``R0`` is ``inf`` when the minority never
        collapses below :math:`R = 10^{300}`).

    Notes
    -----
    Each setting is one path along ``EWEH`` (in the order given): every threshold search
    starts from the previous one's root and solver state, so a default diagram of 124
    thresholds takes a fraction of a second, and each threshold is exactly the number
    :func:`lpm.collapse_threshold` returns for it (both read it off the same canonical
    grid).
    """
    if isinstance(settings, (str, bytes)) or not isinstance(settings, Sequence):
        raise ValueError(
            f"settings must be a sequence of (K_A, K_B) pairs, got {type(settings).__name__}"
        )
    progress = _progress.check_progress(progress)
    settings = list(settings)
    grid = np.geomspace(0.1, 100.0, 31) if EWEH is None else EWEH
    check.grid_size(
        "the phase diagram",
        {"(K_A, K_B) settings": len(settings), "E_W E_H values": check.value_count("EWEH", grid)},
    )
    pairs = []
    for item in settings:
        if np.ndim(item) != 1 or len(item) != 2:
            raise ValueError(f"settings must hold (K_A, K_B) pairs, got {item!r}")
        pairs.append(
            (check.class_count("K_A", item[0]), check.class_count("K_B", item[1], minimum=2))
        )
    if not pairs:
        raise ValueError("settings must hold at least one (K_A, K_B) pair, got none")
    products = [check.positive_real("EWEH", v) for v in grid_values("EWEH", grid)]
    rtol = check.tolerance("rtol", rtol, 0.1, check.MIN_RTOL)
    points = [(a, b, e) for a, b in pairs for e in products]
    R0 = run_chunked(
        _thresholds_chunk,
        points,
        {"rtol": rtol, "loss": loss},
        executor=executor,
        chunksize=chunksize if chunksize is not None else (8 if executor is not None else None),
        progress=progress,
        desc="lpm phase",
    )
    rows = [
        {"K_A": a, "K_B": b, "K": a + b, "EWEH": e, "R0": r} for (a, b, e), r in zip(points, R0)
    ]
    swept = tuple(c for c in ("K_A", "K_B", "K", "EWEH") if len({row[c] for row in rows}) > 1)
    return SweepTable(
        rows, ("K_A", "K_B", "K", "EWEH", "R0"), swept, {"loss": str(loss), "rtol": rtol}
    )
