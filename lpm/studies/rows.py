r"""A table row per solved model: from a :class:`lpm.Solution`, or for a whole batch of
reduced solves of one or two groups at once.

:func:`solution_row` reads the result columns (:data:`RESULT_COLUMNS`) off a solution.
:func:`solve_rows` solves a chunk of models and returns their rows: models of one or
two groups of equal loss weight that ``method="reduced"`` solves (the two-group model,
any counts with at most two distinct values) are solved as one Newton batch per group
structure, certified by the same function as a solution (:func:`lpm.certificates.judge`)
and their geometry computed for the whole batch by the same elementwise functions a
solution uses (:mod:`lpm.model.group_gram`, :func:`lpm.geometry.group_pair_arrays`),
with no :class:`lpm.Solution` built; every other model is solved by
:func:`lpm.solve_models` and read by :func:`solution_row`. Both give a model the same
row, bit for bit (only ``time`` differs).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from .. import _validation as check
from ..analysis.collapse import collapse_unavailable
from ..certificates import NuclearBall, judge, report_from_result
from ..certificates.collapse import DECISION_FACTOR
from ..certificates.kinds import EPS
from ..geometry import group_pair_arrays, pair_stats_from_groups
from ..model.few_groups import (
    ce_derivatives_pairs,
    gram_geometry,
    gram_geometry_pairs,
    inner_pairs,
    singular_values_pairs,
)
from ..model.losses import CrossEntropy
from ..model.model import Model
from ..solvers.dispatch import (
    METHODS,
    _feature_dimension,
    choose_method,
    default_gap_tol,
    solve_models,
)
from ..solvers.reduced import solve_pair_batch, solve_results

#: columns of a solution row (after the parameter columns)
RESULT_COLUMNS = (
    "objective",
    "gap",
    "status",
    "success",
    "minority_cosine",
    "minority_vanished",
    "majority_cosine",
    "minority_within",
    "minority_distance",
    "minority_collapsed",
    "multiplier",
    "method",
    "solver",
    "iterations",
    "time",
)


def solution_row(sol) -> dict:
    """The result columns (:data:`RESULT_COLUMNS`) of one :class:`lpm.Solution`."""
    model = sol.model
    # NaN statistics, without a warning, for fewer than 2 minority classes and for
    # classifiers of norm 0 (whose cosines are undefined)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = sol.minority_stats()
        majority_cosine = float(sol.majority_cosine)
    within = math.nan
    collapsed = None
    if model.minority_size >= 2 and sol.collapse_unavailable() is None:
        report = sol.collapse
        collapsed = report.minority_collapsed
        if report.minority_group is not None:
            within = float(report.within[report.minority_group])
    return {
        "objective": float(sol.objective),
        "gap": float(sol.gap),
        "status": sol.status,
        "success": bool(sol.success),
        "minority_cosine": float(stats.mean_cosine),
        # why that cosine is NaN in the phase where the minority classifiers are 0
        "minority_vanished": sol.minority_vanished,
        "majority_cosine": majority_cosine,
        "minority_within": within,
        "minority_distance": float(stats.max_distance),
        "minority_collapsed": collapsed,
        "multiplier": float(sol.multiplier),
        "method": sol.method,
        "solver": sol.solver,
        "iterations": None if sol.iterations is None else int(sol.iterations),
        "time": float(sol.time),
    }


def _batched(model, method: str, solver) -> bool:
    """Whether :func:`solve_rows` solves ``model`` in a batch: the reduced route (chosen
    or asked for) of a budgeted model of one or two groups whose classifiers are learned
    (a fixed classifier has a program of its own: :func:`lpm.solve_models` solves it).
    A function of the model's type, group sizes, constraint and fixed classifier only
    (:func:`solve_rows` decides once per combination)."""
    if type(model) is not Model or model.constraint != "average" or model.groups.G > 2:
        return False
    if model.fixed_classifier:
        return False
    if solver not in (None, "newton"):
        return False
    return method == "reduced" or (method == "auto" and choose_method(model) == "reduced")


def solve_rows(
    models: list[Model],
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    tick: Callable | None = None,
) -> list[dict]:
    """The result rows (:data:`RESULT_COLUMNS`) of ``models``, in order: each the row
    :func:`solution_row` reads off ``lpm.solve_models([model], ...)[0]`` (parameters as
    there); ``tick()`` after each row."""
    # the checks of lpm.solve_models, before any is solved either way
    check.choice("method", method, METHODS)
    solver = check.solver_name(solver)
    if gap_tol is not None:
        gap_tol = check.positive_real("gap_tol", gap_tol)
    rows: list[dict | None] = [None] * len(models)
    batches: dict[tuple, list[int]] = {}
    rest = []
    decided: dict[tuple, bool] = {}  # _batched depends on the model through this key only
    for i, model in enumerate(models):
        batched = False
        if type(model) is Model:
            key = (tuple(model.groups.sizes.tolist()), model.loss)
            settings = (*key, model.constraint, model.fixed_classifier)
            batched = decided.get(settings)
            if batched is None:
                batched = decided[settings] = _batched(model, method, solver)
        if batched:
            batches.setdefault(key, []).append(i)
        else:
            rest.append(i)
    options = dict(method=method, solver=solver, p=p, gap_tol=gap_tol)
    options["solver_options"] = solver_options
    # the reduced route batches its Newton solves (each gets its numbers alone, and the
    # batch takes milliseconds); the others are solved one by one, each row ticked when
    # it is done, so that a bar over slow solves advances per point
    grouped = [i for i in rest if _reduced_route(models[i], method)]
    if grouped:
        for i, sol in zip(grouped, solve_models([models[i] for i in grouped], **options)):
            rows[i] = solution_row(sol)
            _tick(tick)
    for i in rest:
        if rows[i] is None:
            rows[i] = solution_row(solve_models([models[i]], **options)[0])
            _tick(tick)
    for members in batches.values():
        batch = [models[i] for i in members]
        for i, row in zip(members, _batch_rows(batch, p, gap_tol, solver_options)):
            rows[i] = row
            _tick(tick)
    return rows


def _reduced_route(model, method: str) -> bool:
    """Whether ``lpm.solve_models`` takes ``model`` by the (batched) reduced route."""
    if method != "auto":
        return method == "reduced"
    return type(model) is Model and choose_method(model) == "reduced"


def _tick(tick: Callable | None) -> None:
    if tick is not None:
        tick()


def _batch_rows(models: list[Model], p, gap_tol, solver_options) -> list[dict]:
    """The rows of a batch of reduced models sharing one or two groups and the loss."""
    # the check solve_models makes, the same for every model of a batch (one K, one loss,
    # learned classifiers)
    _feature_dimension(models[0], p, "reduced")
    tols = [gap_tol if gap_tol is not None else default_gap_tol(m, "reduced") for m in models]
    minority = _minority_counts(models)
    if models[0].groups.G == 2 and type(models[0].loss) is CrossEntropy:
        # two groups under cross-entropy: the solves stacked, the loss at the points
        # evaluated here, on arrays; a result made only for a row left to _row
        batch, started = solve_pair_batch(models, solver_options)
        rows, geometry = _pair_rows(models, batch, tols, minority)
        results = [None if row else batch.result(i, models[i].groups) for i, row in enumerate(rows)]
    else:
        results, started = solve_results(models, solver_options)
        rows, geometry = [None] * len(models), None
    cert = NuclearBall()
    points = [None] * len(models)
    for i, (model, res, tol) in enumerate(zip(models, results, tols)):
        if rows[i] is None:
            rows[i], points[i] = _row(model, res, tol, cert)
    _batch_geometry(models, points, rows, geometry, minority)
    share = (time.perf_counter() - started) / len(models)
    for row in rows:
        row["time"] = share
    return rows


def _row(model: Model, res, tol: float, cert) -> tuple[dict, object]:
    """A model's row from its reduced result, decided as a solution decides it (its
    certified point's geometry still to be filled in), and that point."""
    b = cert.bound(model, res.logits, None)
    objective, gap, multiplier, status, success, _ = judge(b, "reduced", "newton", tol, res.message)
    within, collapsed = math.nan, None
    if model.minority_size >= 2 and collapse_unavailable(model, cert.kind, True) is None:
        # the report a solution makes on first use (its gradient unless rescaled)
        report = report_from_result(model, res, b.gradient if b.logits is res.logits else None)
        collapsed = report.minority_collapsed
        if report.minority_group is not None:
            within = float(report.within[report.minority_group])
    row = _new_row(objective, gap, status, success, within, collapsed, multiplier, res.iterations)
    return row, b.logits


def _new_row(objective, gap, status, success, within, collapsed, multiplier, iterations) -> dict:
    return {
        "objective": objective,
        "gap": gap,
        "status": status,
        "success": success,
        "minority_cosine": math.nan,
        "minority_vanished": None,
        "majority_cosine": math.nan,
        "minority_within": within,
        "minority_distance": math.nan,
        "minority_collapsed": collapsed,
        "multiplier": multiplier,
        "method": "reduced",
        "solver": "newton",
        "iterations": int(iterations),
        "time": 0.0,
    }


def _minority_counts(models) -> np.ndarray:
    """:attr:`lpm.Model.minority_per_group` of a batch's models, stacked (n, G)."""
    return np.array([m.minority_per_group for m in models])


def _pair_rows(models, batch, tols, minority=None):
    """The rows of a :class:`lpm.solvers.two_group_batch.TwoGroupBatch` of two-group
    cross-entropy solves, on its arrays: what
    :func:`_row` computes for each (:meth:`lpm.certificates.NuclearBall.bound`, then
    :func:`lpm.certificates.judge`, then the collapse report's verdict), operation for
    operation (:mod:`lpm.model.few_groups`). A row whose point the certificate would
    rescale into the budget, or whose numbers are not finite, is left None (for
    :func:`_row`). Returns ``(rows, (norm2, inner, cosines))``, the classifier geometry
    of the points as :func:`lpm.model.few_groups.gram_geometry` gives it. ``minority``:
    the models' :func:`_minority_counts`, if already stacked."""
    n = len(models)
    sizes = models[0].groups.sizes.tolist()
    mult = [k - 1.0 for k in sizes]
    M, s = batch.M, batch.s
    W, tau = batch.weights, batch.tau  # the models' groups.weights and tau, stacked
    sv = singular_values_pairs(M)
    # GroupedLogits.nuclear_norm: the block's singular values, then the within parts
    within = 0.0 + mult[0] * np.abs(s[:, 0]) + mult[1] * np.abs(s[:, 1])
    nuclear = 0.0 + sv[0] + sv[1] + within
    # NuclearBall.bound at the point, its gradient by ce_derivatives
    value, G_M, gamma = ce_derivatives_pairs(sizes, W, M, s)
    inner = inner_pairs(G_M, gamma, M, s, mult)
    sigma = singular_values_pairs(G_M)[0]
    for g in (0, 1):
        if mult[g] > 0:
            sigma = np.maximum(sigma, np.abs(gamma[:, g]))
    span = tau * sigma
    bound = inner + span
    magnitude = np.abs(inner) + span + np.abs(value)
    # judge: the rounding allowance of a grouped point (G + 1 = 3 terms)
    allowance = 8 * 3 * EPS * (magnitude + 0.0)
    gap = np.maximum(bound, 0.0) + 0.0 + allowance
    plain = (nuclear <= tau) & np.isfinite(value) & np.isfinite(gap)
    success = (gap <= np.array(tols)).tolist()
    # the collapse report's verdict (report_from_result, undecided_reason)
    fixed, slack = batch.fixed, batch.kkt_slack
    multi = np.array([k > 1 for k in sizes])
    free, held = multi & ~fixed, multi & fixed
    noise = np.where(free, np.abs(slack), -np.inf).max(axis=1)
    margin = np.where(held, slack, np.inf).min(axis=1)
    undecided = free.any(axis=1) & held.any(axis=1) & (margin <= DECISION_FACTOR * noise)
    lam = batch.multiplier
    undecided |= (lam == 0.0) & (multi & (W == 0)).any(axis=1)
    kept = np.where(fixed, 0.0, s)
    # Model.minority_size and minority_group, for the batch at once
    minority = _minority_counts(models) if minority is None else minority
    sizes_B = minority.sum(axis=1).tolist()
    group_B = np.where(minority[:, 0] > 0, 0, 1).tolist()
    alone = (np.count_nonzero(minority, axis=1) == 1).tolist()
    rows = [None] * n
    columns = zip(value.tolist(), gap.tolist(), sigma.tolist(), success, plain.tolist())
    undecided, fixed, kept = undecided.tolist(), fixed.tolist(), kept.tolist()  # floats
    for i, (v, gp, lm, ok, simple) in enumerate(columns):
        many = sizes_B[i] >= 2
        if not simple or (many and not alone[i]):
            continue  # rescaled into the budget, not finite, a minority across groups
        within_g, collapsed = math.nan, None
        if many and collapse_unavailable(models[i], "nuclear_ball", True) is None:
            g = group_B[i]
            collapsed = None if undecided[i] else fixed[i][g]
            within_g = kept[i][g]
        status = "optimal" if ok else "inaccurate"
        rows[i] = _new_row(v, gp, status, ok, within_g, collapsed, lm, batch.iterations[i])
    return rows, gram_geometry_pairs(M, s, sizes, sv, "W")


def _batch_geometry(models, points, rows, geometry=None, minority=None) -> None:
    """The classifier statistics of the rows (minority and majority cosines, distance,
    vanishing), for the whole batch: what :meth:`lpm.Solution.minority_stats`,
    ``majority_cosine`` and ``minority_vanished`` compute for each, elementwise on the
    stacked grouped logits. ``geometry``: the ``(norm2, inner, cosines)`` of the points
    already stacked, of which the rows with a ``points`` entry are replaced by that
    point's; ``minority``: the models' :func:`_minority_counts`, if already stacked."""
    sizes = models[0].groups.sizes
    # each point's numbers as its solution has them (GroupedLogits.group_gram: in closed
    # form, lpm.model.few_groups), stacked
    size_list = sizes.tolist()
    if geometry is None:
        parts = [
            gram_geometry(z.M.tolist(), z.s.tolist(), size_list, z.block_singular_values, "W")
            for z in points
        ]
        norm2, inner, cos = (np.array(part) for part in zip(*parts))
    else:
        norm2, inner, cos = geometry
        for i, z in enumerate(points):
            if z is not None:
                parts = gram_geometry(
                    z.M.tolist(), z.s.tolist(), size_list, z.block_singular_values, "W"
                )
                norm2[i], inner[i], cos[i] = (np.array(part) for part in parts)
    # the classifiers' scale, as Solution.group_geometry applies it
    f = np.array([1.0 / m.scale for m in models])
    norm2, inner = norm2 * f[:, None], inner * f[:, None, None]
    minority = _minority_counts(models) if minority is None else minority
    for key, counts in (("minority", minority), ("majority", sizes - minority)):
        sets: dict[tuple, list[int]] = {}
        if (counts == counts[0]).all():  # one class set for the batch (a sweep's curve)
            first = counts[0].tolist()
            if sum(first) >= 2:
                sets[tuple(first)] = list(range(len(rows)))
        else:
            for i, c in enumerate(counts.tolist()):
                if sum(c) >= 2:  # else no pairs: NaN statistics
                    sets.setdefault(tuple(c), []).append(i)
        for c, take in sets.items():
            if len(take) == 1:  # one point: a solution's own statistics, in floats
                i = take[0]
                stats = pair_stats_from_groups(norm2[i], inner[i], cos[i], c)
                mean, distance, zero = [stats.mean_cosine], [stats.max_distance], [stats.reason]
            else:
                arrays = group_pair_arrays(norm2[take], inner[take], cos[take], np.array(c))
                mean, distance, zero = (arrays[k].tolist() for k in (0, 2, 3))
            for i, m, d, z in zip(take, mean, distance, zero):
                if key == "minority":
                    rows[i]["minority_distance"] = d
                if not z:
                    rows[i][f"{key}_cosine"] = m
    vanished = ((norm2 <= 0) & (minority > 0)).any(axis=1).tolist()
    for row, v, c in zip(rows, vanished, minority.sum(axis=1).tolist()):
        if c:
            row["minority_vanished"] = v
