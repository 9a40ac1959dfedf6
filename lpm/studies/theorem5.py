r"""Numerical check of Theorem 5 (Minority Collapse), in its sharp form.

Theorem 5 of Fang, He, Long, Su (2021): with ``K_A``, ``K_B``, :math:`E_W`, :math:`E_H`
fixed, the minority classifiers of every optimum satisfy
:math:`w_k - w_{k'} \to 0` as :math:`R \to \infty`. The symmetry-reduced program makes
this sharper: :math:`\lVert w_k - w_{k'}\rVert^2 = 2\sqrt{E_W/E_H}\, s_B`, and the exact
KKT test shows :math:`s_B = 0` (the minority classifiers *equal*) for every
:math:`R \ge R_0` and for no :math:`R < R_0`, with :math:`R_0` from
:func:`lpm.collapse_threshold`.

:func:`verify_minority_collapse` solves the model on a grid of ``R`` and at
:math:`R = \infty` (the limit problem, minority loss weight 0) and reports, for each
``R``, the largest distance between two minority classifiers, the distance of the
solution to the limit solution, and the exact collapse flag; then checks the sharp
statement point by point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _io, _progress
from .. import _validation as check
from ..analysis.threshold import collapse_threshold
from ..certificates import SolverError
from ..model.losses import Loss
from ..model.model import Model
from ..solvers.dispatch import solve_models
from .sweep import decades
from .table import SweepTable

#: grid points solved per batch (the progress bar advances between batches)
CHUNK = 64
#: the relative accuracy of the threshold :func:`verify_minority_collapse` computes
THRESHOLD_RTOL = 1e-8

#: grid points with :math:`|\log(R/R_0)|` below this are too close to the threshold (whose
#: accuracy is ``rtol = 1e-8``) for the sharp check and are left out of it
THRESHOLD_GUARD = 1e-7

#: relative distances between Gram matrices at or below this are rounding: the Gram
#: blocks are computed to a few ulps (observed: at most 1e-15 where the solutions are
#: equal), so the checks never read a difference this small as a change
ROUNDING = 1e-12


def _block_gram(sol) -> np.ndarray:
    r"""The classifier Gram matrix of a two-group solution as its five distinct values
    ``[|w_A|^2, <w_A, w_A'>, |w_B|^2, <w_B, w_B'>, <w_A, w_B>]`` (any K)."""
    norm2, inner = sol.group_geometry("W")
    groups = sol.logits_repr.groups
    K_A = sol.model.two_group_params[0]
    a, b = groups.label_of(0), groups.label_of(K_A)  # group of a majority, a minority class
    return np.array([norm2[a], inner[a, a], norm2[b], inner[b, b], inner[a, b]])


def _gram_distance(x: np.ndarray, y: np.ndarray, K_A: int, K_B: int) -> float:
    r""":math:`\lVert G_x - G_y\rVert_F` from the block values of :func:`_block_gram`."""
    d = x - y
    mult = np.array([K_A, K_A * (K_A - 1), K_B, K_B * (K_B - 1), 2 * K_A * K_B], float)
    size = float(np.abs(d).max())
    if size == 0 or not math.isfinite(size):
        return size
    d = d / size  # squares of tiny Gram entries would underflow
    return float(math.sqrt(mult @ (d * d)) * size)


@dataclass
class MinorityCollapseCheck:
    r"""Report of :func:`verify_minority_collapse`.

    Attributes
    ----------
    K_A, K_B : int
    E_W, E_H : float
    R : ndarray, shape (n,)
        The grid, increasing.
    max_distance : ndarray, shape (n,)
        Largest :math:`\lVert w_k - w_{k'}\rVert` over minority pairs (exactly 0 once
        collapsed).
    within : ndarray, shape (n,)
        :math:`s_B`, the singular value of the optimal logits on the minority differences.
    minority_cosine : ndarray, shape (n,)
        Mean pairwise cosine of the minority classifiers.
    distance_to_limit : ndarray, shape (n,)
        :math:`\lVert W W^\top(R) - W W^\top(\infty)\rVert_F / \lVert W W^\top(\infty)
        \rVert_F`: relative distance of the classifier Gram matrix to that of the
        :math:`R = \infty` solution (Gram matrices, because ``W`` is unique only up to a
        rotation).
    collapsed : ndarray of bool, shape (n,)
        The exact collapse flag (KKT test) at each ``R``.
    gap : ndarray, shape (n,)
        Certified optimality gap of each solve.
    R0 : float
        The threshold :func:`lpm.collapse_threshold`.
    limit_collapsed : bool
        Whether the minority of the :math:`R = \infty` solution is exactly collapsed.
    limit_gap : float
        Certified gap of the :math:`R = \infty` solve.
    """

    K_A: int
    K_B: int
    E_W: float
    E_H: float
    R: np.ndarray
    max_distance: np.ndarray
    within: np.ndarray
    minority_cosine: np.ndarray
    distance_to_limit: np.ndarray
    collapsed: np.ndarray
    gap: np.ndarray
    R0: float
    limit_collapsed: bool
    limit_gap: float

    #: relative Gram distances at or below this are rounding (:data:`ROUNDING`)
    rounding: ClassVar[float] = ROUNDING

    # -- the checks -----------------------------------------------------------------------
    @property
    def checked(self) -> np.ndarray:
        """Grid points far enough from :math:`R_0` for the sharp check."""
        if not math.isfinite(self.R0):
            return np.ones(self.R.size, bool)
        with np.errstate(divide="ignore"):
            return np.abs(np.log(self.R / self.R0)) > THRESHOLD_GUARD

    @property
    def above(self) -> np.ndarray:
        """Checked grid points with :math:`R \\ge R_0`."""
        return self.checked & (self.R >= self.R0)

    @property
    def below(self) -> np.ndarray:
        """Checked grid points with :math:`R < R_0`."""
        return self.checked & (self.R < self.R0)

    @property
    def collapsed_above(self) -> bool:
        """Exactly collapsed, with distance exactly 0, at every grid point above
        :math:`R_0` (and there is at least one)."""
        a = self.above
        return bool(a.any() and self.collapsed[a].all() and np.all(self.max_distance[a] == 0))

    @property
    def distinct_below(self) -> bool:
        """Not collapsed, and at positive distance, at every grid point below
        :math:`R_0`."""
        b = self.below
        return bool(not self.collapsed[b].any() and np.all(self.max_distance[b] > 0))

    @property
    def shrinking_below(self) -> bool:
        """The largest minority distance decreases along the grid below :math:`R_0`
        (strictly, beyond rounding: two points closer than :data:`ROUNDING` relative
        are not read as an increase)."""
        d = self.max_distance[self.below]
        if d.size < 2:
            return True
        return bool(np.all(np.diff(d) < ROUNDING * d.max()) and d[-1] < d[0])

    @property
    def limit_reached(self) -> bool:
        """At every grid point above :math:`R_0` the solution is the :math:`R = \\infty`
        solution up to rounding (relative Gram distance at most :data:`ROUNDING`): with
        small budgets, and in the phase where the minority classifiers vanish, the
        collapsed solution does not depend on ``R``."""
        d = self.distance_to_limit[self.above]
        return bool(d.size and d.max() <= ROUNDING)

    @property
    def approaches_limit(self) -> bool:
        """The distance to the :math:`R = \\infty` solution does not increase along the
        grid above :math:`R_0` beyond rounding (:data:`ROUNDING`) and ends below where it
        started, or the limit is reached (:attr:`limit_reached`)."""
        d = self.distance_to_limit[self.above]
        if d.size < 2:
            return bool(d.size == 1 and self.limit_collapsed)
        if self.limit_reached:
            return True
        return bool(np.all(np.diff(d) <= ROUNDING) and d[-1] < d[0] - ROUNDING)

    @property
    def holds(self) -> bool:
        """Theorem 5 in its sharp form holds on this grid: every check above passes and
        the limit solution is itself collapsed."""
        return (
            self.limit_collapsed
            and self.collapsed_above
            and self.distinct_below
            and self.shrinking_below
            and self.approaches_limit
        )

    @property
    def verdict(self) -> str:
        """The outcome in one paragraph."""
        a, b = self.above, self.below
        head = (
            f"K_A={self.K_A}, K_B={self.K_B}, E_W={self.E_W:g}, E_H={self.E_H:g}: "
            f"R_0 = {_io.to_accuracy(self.R0, THRESHOLD_RTOL)}. "
        )
        if not a.any():
            where = (
                f"the grid ends at R = {self.R.max():.4g}, below R_0"
                if self.R.max() < self.R0
                else "no grid point above R_0 lies outside the band around R_0 where the "
                "check is not made (the threshold is known only to its tolerance)"
            )
            return head + f"INCONCLUSIVE: {where}; extend R_grid beyond the threshold."
        parts = []
        if b.any():
            d = self.max_distance[b]
            parts.append(
                f"below R_0 ({int(b.sum())} points) the minority classifiers are "
                f"{'distinct' if self.distinct_below else 'NOT all distinct'} and their "
                f"largest distance {'decreases' if self.shrinking_below else 'does NOT decrease'}"
                f" from {d[0]:.4g} to {d[-1]:.4g}"
            )
        parts.append(
            f"for R >= R_0 ({int(a.sum())} points) they are "
            + ("exactly equal at every point" if self.collapsed_above else "NOT all exactly equal")
        )
        dl = self.distance_to_limit[a]
        limit = "exactly collapsed" if self.limit_collapsed else "NOT collapsed"
        if self.limit_reached:
            exactly = "exactly" if dl.max() == 0 else f"to rounding (distance <= {dl.max():.2g})"
            parts.append(
                f"the solution equals the R = inf solution {exactly} at every R >= R_0, "
                f"whose minority is {limit}"
            )
        else:
            parts.append(
                f"the solution {'approaches' if self.approaches_limit else 'does NOT approach'} "
                f"the R = inf solution (relative Gram distance {dl[0]:.3g} -> {dl[-1]:.3g}), "
                f"whose minority is {limit}"
            )
        status = (
            "Theorem 5 holds, sharply: exact collapse for every R >= R_0 and none below"
            if self.holds
            else "Theorem 5 check FAILED"
        )
        return head + "; ".join(parts) + ". " + status + "."

    # -- output ---------------------------------------------------------------------------
    def table(self) -> SweepTable:
        """The per-``R`` numbers as a :class:`lpm.SweepTable`."""
        columns = (
            "K_A",
            "K_B",
            "E_W",
            "E_H",
            "R",
            "above_threshold",
            "minority_collapsed",
            "max_distance",
            "minority_within",
            "minority_cosine",
            "distance_to_limit",
            "gap",
        )
        rows = [
            {
                "K_A": self.K_A,
                "K_B": self.K_B,
                "E_W": self.E_W,
                "E_H": self.E_H,
                "R": float(self.R[i]),
                "above_threshold": bool(self.R[i] >= self.R0),
                "minority_collapsed": bool(self.collapsed[i]),
                "max_distance": float(self.max_distance[i]),
                "minority_within": float(self.within[i]),
                "minority_cosine": float(self.minority_cosine[i]),
                "distance_to_limit": float(self.distance_to_limit[i]),
                "gap": float(self.gap[i]),
            }
            for i in range(self.R.size)
        ]
        return SweepTable(rows, columns, ("R",), self.summary())

    def summary(self) -> dict:
        """The threshold and the outcome of each check (JSON-ready)."""
        return {
            "K_A": self.K_A,
            "K_B": self.K_B,
            "E_W": self.E_W,
            "E_H": self.E_H,
            "R0": self.R0,
            "limit_collapsed": self.limit_collapsed,
            "limit_gap": self.limit_gap,
            "collapsed_above": self.collapsed_above,
            "distinct_below": self.distinct_below,
            "shrinking_below": self.shrinking_below,
            "approaches_limit": self.approaches_limit,
            "limit_reached": self.limit_reached,
            "holds": self.holds,
            "verdict": self.verdict,
        }

    def plot(self):
        """The convergence figure (:func:`lpm.plotting.theorem5_figure`)."""
        from ..plotting.figures import theorem5_figure  # matplotlib: only when drawing

        return theorem5_figure(self)


def default_R_grid(R0: float) -> np.ndarray:
    r""":math:`R = 10^{0.1 i}` from 1 to two decades past :math:`R_0` (at least to
    :math:`10^4`, at most to :math:`10^{300}`)."""
    top = 4.0 if not math.isfinite(R0) else max(4.0, math.ceil(math.log10(R0)) + 2.0)
    top = min(top, 300.0)
    return decades(int(round(10 * top)) + 1)


def verify_minority_collapse(
    K_A: int,
    K_B: int,
    E_W: float = 1.0,
    E_H: float = 1.0,
    R_grid=None,
    *,
    loss: str | Loss = "ce",
    progress: bool | None = None,
) -> MinorityCollapseCheck:
    r"""Check Theorem 5 (Minority Collapse) numerically, in its sharp form.

    For each ``R`` of the grid the two-group model is solved by the reduced method
    (certified to about 1e-15) and compared with the solution of the limit problem
    :math:`R = \infty`; the exact collapse flag comes from the KKT test.

    Parameters
    ----------
    K_A, K_B : int
        Majority and minority class counts, ``K_B >= 2``.
    E_W, E_H : float
        Budgets.
    R_grid : array_like, optional
        Imbalance ratios (finite, > 0; sorted here). Default: :func:`default_R_grid`,
        :math:`10^{0.1 i}` to two decades past :math:`R_0`.
    loss : str or Loss
        Cross-entropy by default.
    progress : bool, optional
        A progress bar advancing per grid point, as in :func:`lpm.sweep` (``None``: on a
        terminal only).

    Returns
    -------
    MinorityCollapseCheck
        Per-``R`` distances and flags, :math:`R_0`, the checks and a ``verdict``.

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021), Theorem 5.
    """
    K_A = check.class_count("K_A", K_A)
    K_B = check.class_count("K_B", K_B, minimum=2)
    E_W = check.positive_real("E_W", E_W)
    E_H = check.positive_real("E_H", E_H)
    progress = _progress.check_progress(progress)
    if R_grid is not None:
        check.grid_size("the Theorem-5 grid", {"R values": check.value_count("R_grid", R_grid)})
    R0 = collapse_threshold(K_A, K_B, E_W, E_H, rtol=THRESHOLD_RTOL, loss=loss)
    if R_grid is None:
        R = default_R_grid(R0)
    else:
        R = np.asarray(
            [check.positive_real("R_grid", r) for r in check.values("R_grid", R_grid)], float
        )
        R = np.unique(R)  # sorted, each ratio once (the shrinking checks are strict)
    try:
        models = [Model.two_group(K_A, K_B, r, E_W, E_H, loss=loss) for r in R]
    except ValueError as exc:  # the other arguments were checked: it is about a ratio
        raise ValueError(f"R_grid: {exc}") from None
    limit_model = Model.two_group(K_A, K_B, math.inf, E_W, E_H, loss=loss)
    limit = solve_models([limit_model], method="reduced")[0]
    ref = _block_gram(limit)
    scale = _gram_distance(ref, np.zeros(5), K_A, K_B)
    sols, stats, reports = [], [], []
    with _progress.bar(len(models), "lpm verify", progress=progress) as bar:
        for start in range(0, len(models), CHUNK):  # a bar that moves, batched solves
            for s in solve_models(models[start : start + CHUNK], method="reduced"):
                with np.errstate(invalid="ignore", divide="ignore"):
                    stats.append(s.minority_stats())
                reports.append(s.collapse)
                sols.append(s)
                bar.update()
    undecided = [(r, rep.undecided) for r, rep in zip(R, reports) if rep.undecided]
    if limit.collapse.undecided:
        undecided.append((math.inf, limit.collapse.undecided))
    if undecided:
        r, why = undecided[0]
        raise SolverError(
            f"the exact collapse test is undecided at R = {r:g} ({why}); the sharp "
            f"Theorem-5 check cannot be made on this grid"
        )
    return MinorityCollapseCheck(
        K_A=K_A,
        K_B=K_B,
        E_W=E_W,
        E_H=E_H,
        R=R,
        max_distance=np.array([st.max_distance for st in stats]),
        within=np.array([rep.within[rep.minority_group] for rep in reports]),
        minority_cosine=np.array([st.mean_cosine for st in stats]),
        distance_to_limit=np.array(
            [_gram_distance(_block_gram(s), ref, K_A, K_B) / scale for s in sols]
        ),
        collapsed=np.array([bool(rep.minority_collapsed) for rep in reports]),
        gap=np.array([s.gap for s in sols]),
        R0=R0,
        limit_collapsed=bool(limit.minority_collapsed),
        limit_gap=float(limit.gap),
    )
