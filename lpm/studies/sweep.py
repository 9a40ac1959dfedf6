r"""Sweeps: the two-group model solved over a grid of parameters, as a tidy table.

:func:`sweep` takes any of ``K_A``, ``K_B``, ``R``, ``E_W``, ``E_H``, the product
``EWEH`` :math:`= E_W E_H` and the oversampling factor ``oversample`` (:math:`w_r`) as a
scalar or a sequence, solves the model at every point of their Cartesian product and
returns a :class:`SweepTable`: one row per point with the parameters, the objective, its
certified gap, the status, the mean pairwise cosine of the minority and of the majority
classifiers, the singular value :math:`s_B` of the optimal logits on the minority
differences, the exact collapse flag and the solve time. :func:`sweep_models` does the
same for any list of :class:`lpm.Model`.

Points are solved in chunks through :func:`lpm.solve_models`, which batches reduced
solves of a common group structure; the batched Newton solver gives every problem the
numbers it gets alone, so the table is the same, bit for bit, whatever the chunking and
whether the chunks run serially or on a :class:`concurrent.futures.Executor` (threads,
processes, or a Dask cluster through ``Client.get_executor()``). Only ``time`` differs.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import math
import numbers
import os
from collections.abc import Callable, Sequence

import numpy as np

from .. import _progress
from .. import _validation as check
from ..model.losses import Loss, get_loss
from ..model.model import Model
from ..solvers.dispatch import METHODS
from .rows import RESULT_COLUMNS, solve_rows
from .table import SweepTable

#: parameters :func:`sweep` accepts as grids, in the order the grid nests them
#: (the last, ``R``, varies fastest, so a curve in ``R`` is a contiguous block of rows)
PARAMETERS = ("K_A", "K_B", "E_W", "E_H", "EWEH", "oversample", "R")


def _solve_chunk(models: list[Model], options: dict, tick: Callable | None = None) -> list[dict]:
    """Solve one chunk into its rows (:func:`lpm.studies.rows.solve_rows`; module level:
    picklable); ``tick()`` after each row."""
    return solve_rows(models, **options, tick=tick)


def run_chunked(
    function: Callable[..., list],
    items: Sequence,
    options: dict,
    *,
    executor: concurrent.futures.Executor | None = None,
    chunksize: int | None = None,
    progress: bool | None = None,
    desc: str = "lpm",
) -> list:
    """``function(chunk, options)`` over consecutive chunks of ``items``, serially or on
    ``executor``; the concatenated results in the order of ``items``.

    A progress bar (:func:`lpm._progress.bar`) counts the items: serially ``function`` is
    also given ``tick``, to call once per item done; on an executor the bar advances as
    chunks come back.
    """
    n = len(items)
    if chunksize is None:
        if executor is None:
            chunksize = 128
        else:
            workers = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
            chunksize = max(1, min(128, math.ceil(n / (4 * workers))))
    else:
        integral = isinstance(chunksize, numbers.Integral) and not isinstance(chunksize, bool)
        if not integral or chunksize < 1:
            raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
        chunksize = int(chunksize)
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise ValueError(
            "executor must be a concurrent.futures.Executor (e.g. ThreadPoolExecutor, "
            f"ProcessPoolExecutor, dask's Client.get_executor()), got {executor!r}"
        )
    chunks = [list(items[i : i + chunksize]) for i in range(0, n, chunksize)]
    results: list[list] = [[] for _ in chunks]
    with _progress.bar(n, desc, progress=progress) as bar:
        if executor is None:
            for i, chunk in enumerate(chunks):
                results[i] = function(chunk, options, bar.update)
        else:
            futures = {
                executor.submit(function, chunk, options): i for i, chunk in enumerate(chunks)
            }
            for fut in concurrent.futures.as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                bar.update(len(chunks[i]))
    return [r for chunk in results for r in chunk]


# ---------------------------------------------------------------------------------------
def grid_values(name: str, value, integer: bool = False) -> list:
    """A parameter as a non-empty list of values (a scalar is a list of one)."""
    return check.values(name, value)


def sweep_models(
    models: Sequence[Model],
    parameters: Sequence[dict] | None = None,
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    executor: concurrent.futures.Executor | None = None,
    chunksize: int | None = None,
    progress: bool | None = None,
    settings: dict | None = None,
) -> SweepTable:
    """Solve a list of models and tabulate the results (see :func:`sweep`).

    Parameters
    ----------
    models : sequence of Model
    parameters : sequence of dict, optional
        One dict per model: the parameter columns of its row (same keys for all).
        Default: the model's label.
    method, solver, p, gap_tol, solver_options
        As in :func:`lpm.solve_models`.
    executor, chunksize, progress
        As in :func:`sweep`.
    settings : dict, optional
        Recorded in the table's ``settings``.

    Returns
    -------
    SweepTable
    """
    if isinstance(models, (Model, str, bytes)) or not isinstance(models, Sequence):
        raise ValueError(f"models must be a list of lpm.Model, got {type(models).__name__}")
    progress = _progress.check_progress(progress)
    check.grid_size("the sweep", {"models": len(models)})
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one Model, got an empty sequence")
    for i, m in enumerate(models):
        if not isinstance(m, Model):
            raise ValueError(f"models[{i}] must be an lpm.Model, got {type(m).__name__}")
    if parameters is None:
        parameters = [{"model": m.label} for m in models]
    if isinstance(parameters, (str, bytes, dict)) or not isinstance(parameters, Sequence):
        raise ValueError(f"parameters must be a list of dicts, got {type(parameters).__name__}")
    if not all(isinstance(d, dict) for d in parameters):
        raise ValueError("parameters must be a list of dicts (one per model)")
    parameters = [dict(d) for d in parameters]
    if len(parameters) != len(models):
        raise ValueError(
            f"parameters must have one dict per model ({len(models)}), got {len(parameters)}"
        )
    keys = tuple(parameters[0])
    if any(tuple(d) != keys for d in parameters):
        raise ValueError("every dict in parameters must have the same keys, in the same order")
    options = {
        "method": method,
        "solver": solver,
        "p": p,
        "gap_tol": gap_tol,
        "solver_options": solver_options,
    }
    return _tabulate(models, parameters, options, executor, chunksize, progress, settings)


def _tabulate(models, parameters, options, executor, chunksize, progress, settings):
    """:func:`sweep_models` on checked arguments: ``models`` a non-empty list of models,
    ``parameters`` one dict per model (the table keeps them: not the caller's), all with
    the keys of the first in its order, ``options`` those of :func:`solve_rows`."""
    method, gap_tol = options["method"], options["gap_tol"]
    # validate the options once, here, rather than in every worker
    check.choice("method", method, METHODS)
    if gap_tol is not None:
        check.positive_real("gap_tol", gap_tol)
    keys = tuple(parameters[0])
    results = run_chunked(
        _solve_chunk,
        models,
        options,
        executor=executor,
        chunksize=chunksize,
        progress=progress,
        desc="lpm sweep",
    )
    rows = [{**par, **res} for par, res in zip(parameters, results)]
    swept = tuple(k for k in keys if _varies([d[k] for d in parameters]))
    info = {"method": method, **check.mapping("settings", settings)}
    return SweepTable(rows, keys + RESULT_COLUMNS, swept, info)


def _varies(values: list) -> bool:
    """Whether the values are not all written the same (their ``repr``), read only where
    a value is not the first one itself (a grid's constant parameter is one object)."""
    first, text = values[0], None
    for value in values:
        if value is not first:
            text = repr(first) if text is None else text
            if repr(value) != text:
                return True
    return False


def sweep(
    K_A,
    K_B,
    R,
    E_W=1.0,
    E_H=None,
    *,
    EWEH=None,
    oversample=1.0,
    loss: str | Loss = "ce",
    loss_params: dict | None = None,
    method: str = "auto",
    solver: str | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    executor: concurrent.futures.Executor | None = None,
    chunksize: int | None = None,
    progress: bool | None = None,
) -> SweepTable:
    r"""Solve the two-group model over a grid of parameters.

    Every parameter below may be a number or a 1-D sequence; the grid is the Cartesian
    product of all of them, nested in the order of :data:`PARAMETERS` (``R`` fastest).
    Each point is the program of :func:`lpm.solve`,

    .. math::

        \min_{W, H} \sum_k \pi_k L(W h_k, k)\quad\text{s.t.}\quad
        \tfrac1K\lVert W\rVert_F^2 \le E_W,\ \tfrac1K\lVert H\rVert_F^2 \le E_H,

    with ``K_A`` majority classes of weight :math:`\propto R` and ``K_B`` minority
    classes of weight :math:`\propto w_r` (``oversample``).

    Parameters
    ----------
    K_A, K_B : int or sequence of int
        Majority and minority class counts.
    R : float or sequence of float
        Imbalance ratios (``inf`` allowed: the limit problem).
    E_W, E_H : float or sequence of float
        Budgets (default 1).
    EWEH : float or sequence of float, optional
        The product :math:`E_W E_H` (the only combination the optimal logits depend
        on); when given, ``E_H`` is set to ``EWEH / E_W`` and must not be given too.
    oversample : float or sequence of float
        Oversampling factor :math:`w_r` of the minority (effective imbalance
        :math:`R / w_r`).
    loss, loss_params, method, solver, gap_tol, solver_options
        As in :func:`lpm.solve`.
    executor : concurrent.futures.Executor, optional
        Runs the chunks (e.g. ``ThreadPoolExecutor``, ``ProcessPoolExecutor``, or a Dask
        ``Client.get_executor()``); the results equal the serial run's exactly.
    chunksize : int, optional
        Points per task (default 128 serially; with an executor, enough chunks for
        about four per worker).
    progress : bool, optional
        A progress bar advancing per point: ``None`` (default) shows one on a terminal
        (not in a pipe or CI) once the sweep has run for a second; ``True`` always;
        ``False`` never.

    Returns
    -------
    SweepTable
        Columns ``K_A, K_B, K, R, E_W, E_H, EWEH, oversample`` then
        :data:`RESULT_COLUMNS`: ``minority_cosine`` (mean pairwise cosine of the
        minority classifiers; NaN where they vanish), ``minority_vanished`` (the minority
        classifiers are 0 vectors at the optimum, see
        :attr:`lpm.Solution.minority_vanished`), ``majority_cosine``,
        ``minority_within`` (:math:`s_B`, the singular value of the optimal logits on the
        minority differences, exactly 0 when collapsed), ``minority_distance`` (largest
        distance between two minority classifiers), ``minority_collapsed`` (exact KKT
        test) and the solver's ``objective``, ``gap``, ``status``, ``time``.

    Raises
    ------
    ValueError
        Invalid values, or a grid of more than :data:`lpm._validation.MAX_GRID_POINTS`
        points (the message says how many were asked for), refused before any solve.

    Examples
    --------
    >>> import lpm, numpy as np
    >>> t = lpm.sweep(5, 5, R=10 ** (0.1 * np.arange(41)), E_W=1, E_H=5)
    >>> float(t["minority_cosine"][-1])   # exactly collapsed at R = 10^4
    1.0
    """
    progress = _progress.check_progress(progress)
    given = {"K_A": K_A, "K_B": K_B, "E_W": E_W, "E_H": E_H, "EWEH": EWEH}
    given.update(oversample=oversample, R=R)
    # the size first: a grid too large is refused before any of its values is read
    check.grid_size(
        "the sweep", {f"{name} values": check.value_count(name, v) for name, v in given.items()}
    )
    grids = {
        "K_A": [check.class_count("K_A", v) for v in grid_values("K_A", K_A)],
        "K_B": [check.class_count("K_B", v) for v in grid_values("K_B", K_B)],
        "E_W": [check.positive_real("E_W", v) for v in grid_values("E_W", E_W)],
        "oversample": [
            check.positive_real("oversample", v) for v in grid_values("oversample", oversample)
        ],
        "R": [check.positive_real("R", v, allow_inf=True) for v in grid_values("R", R)],
    }
    if EWEH is not None:
        if E_H is not None:
            raise ValueError("give either E_H or EWEH (the product E_W E_H), not both")
        grids["E_H"] = [None]
        grids["EWEH"] = [check.positive_real("EWEH", v) for v in grid_values("EWEH", EWEH)]
    else:
        E_H = 1.0 if E_H is None else E_H
        grids["E_H"] = [check.positive_real("E_H", v) for v in grid_values("E_H", E_H)]
        grids["EWEH"] = [None]
    loss_obj = get_loss(loss, **check.mapping("loss_params", loss_params))  # once, not per point
    models, params = [], []
    curve, first = None, None
    for K_A, K_B, E_W, E_H, EWEH, w, R in itertools.product(*(grids[n] for n in PARAMETERS)):
        if EWEH is None:  # (unpacked in the order of PARAMETERS)
            EWEH = E_W * E_H
        else:
            E_H = EWEH / E_W
        if (K_A, K_B, E_W, E_H, w) == curve:  # R runs fastest: the rest of a curve
            models.append(first._at_ratio(R))
        else:  # a curve's first model, built and checked in full
            curve = (K_A, K_B, E_W, E_H, w)
            first = Model.two_group(K_A, K_B, R, E_W, E_H, loss=loss_obj, oversample=w)
            models.append(first)
        params.append(
            {
                "K_A": K_A,
                "K_B": K_B,
                "K": K_A + K_B,
                "R": R,
                "E_W": E_W,
                "E_H": E_H,
                "EWEH": EWEH,
                "oversample": w,
            }
        )
    # the models and the parameter dicts are built here: checked as they were made
    options = {"method": method, "solver": solver, "p": None, "gap_tol": gap_tol}
    options["solver_options"] = solver_options
    settings = {"loss": repr(models[0].loss), "model": "two_group"}
    return _tabulate(models, params, options, executor, chunksize, progress, settings)


def decades(count: int, step: float = 0.1) -> np.ndarray:
    """``R = 10^(step i)`` for ``i = 0 .. count - 1``, each by the C library's ``pow``
    (correctly rounded), so the grid is the same whatever numpy's vectorized ``pow``
    (which can be 1 ulp off, and has changed between numpy versions)."""
    return np.array([10.0 ** (step * i) for i in range(count)])


#: the paper's Figure 3 setting: K = 10 classes, K_A = K_B = 5, E_W = 1, E_H = 5 and
#: R = 10^(0.1 i), i = 0..40
FIGURE3 = {"K_A": 5, "K_B": 5, "E_W": 1.0, "E_H": 5.0, "R": decades(41)}


def figure3_table(
    method: str = "auto", *, solver: str | None = None, progress: bool | None = None
) -> SweepTable:
    """The data of the paper's Figure 3 (:data:`FIGURE3`): the minority cosine against
    ``R`` for ``K_A = K_B = 5``, ``E_W = 1``, ``E_H = 5``, ``R = 10^(0.1 i)``.

    With the default (reduced) method the cosines run from -1/9 at ``R = 1`` to exactly 1
    once ``R >= R_0 = 12.19...``; ``method="sdp"`` solves the paper's own SDP instead
    (slower, accurate to about 1e-6).
    """
    f = FIGURE3
    return sweep(
        f["K_A"],
        f["K_B"],
        f["R"],
        f["E_W"],
        f["E_H"],
        method=method,
        solver=solver,
        progress=progress,
    )
