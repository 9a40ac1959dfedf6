r"""``method="reduced"``: the symmetry-reduced program solved by Newton's method.

Classes of equal loss weight are interchangeable, so the optimum has the grouped form of
:class:`lpm.model.GroupedLogits` with :math:`G^2 + G` unknowns whatever ``K`` is
(:mod:`lpm.solvers.reduced_program`), solved by the active-set Newton method of
:mod:`lpm.solvers.newton`. A budget that does not bind is recognized first (the loss's
unconstrained minimizer is then optimal). Every result is certified from its logits by
the Frank--Wolfe gap, and carries the exact collapse report of its active set.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from .. import _validation as check
from ..certificates import Solution, SolverError, certify, report_from_result
from ..model.few_groups import ce_row
from ..model.groups import Groups
from ..model.logits import GroupedLogits, evaluate_grouped
from ..model.losses import Loss
from ..model.unconstrained import unconstrained_minimizer
from .newton import newton
from .reduced_program import ReducedProgram, ReducedResult
from .two_group_batch import TwoGroupBatch
from .two_groups import INSIDE, solve_two_group_batch, solve_two_groups
from .two_groups import handles as two_groups_handle

#: the reduced Newton solver's cost grows fast with the number of groups G (measured:
#: 0.4 s at G = 14, 2.5 s at G = 16, 9 s at G = 20, 150 s at G = 30, out of memory at
#: G = 847, the distinct counts of a long-tailed K = 1000): ``"auto"`` uses it up to
REDUCED_MAX_G = 16


#: the reduced solver's options (``solver_options=`` of ``method="reduced"``)
NEWTON_OPTIONS = ("max_iter", "decrement_tol")


def newton_options(options: dict | None) -> dict:
    """``options`` checked against :data:`NEWTON_OPTIONS` (ValueError naming the others),
    with their values checked too."""
    if options is None:  # the usual case: nothing to check
        return {}
    options = check.solver_options("reduced", options, NEWTON_OPTIONS)
    if "max_iter" in options:
        options["max_iter"] = check.class_count("max_iter", options["max_iter"])
    if "decrement_tol" in options:
        options["decrement_tol"] = check.positive_real("decrement_tol", options["decrement_tol"])
    return options


def shared_layouts(sizes, weights) -> list[Groups]:
    """The class layout of each problem of a batch, groups in order, with no per-class
    array (the labels are built only if asked for): a batch holds ``n G`` numbers, not
    ``n K``, whatever ``K`` is."""
    sizes = np.asarray(sizes, int)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [Groups(None, sizes, np.asarray(w, float), first) for w in weights]


def solve_constrained(
    sizes, weights, loss: Loss, tau, *, force_zero=(), groups=None, starts=None, **options
):
    r"""Solve ``min f(Z)`` s.t. ``||Z||_* <= tau`` in grouped form for a batch of problems.

    ``weights`` is (n, G), ``tau`` is a scalar or (n,); ``groups`` optionally gives each
    problem's class layout (:class:`lpm.model.Groups`). A problem whose loss has a finite
    unconstrained minimizer inside its ball gets that minimizer (multiplier 0, see
    :func:`unconstrained_minimizer`); the others are solved with the budget binding: in
    closed form for one group and by the scalar Newton method of
    :mod:`lpm.solvers.two_groups` for two (cross-entropy; ``starts``: its warm starts, the
    ``y`` of earlier results), else by :func:`newton`.
    Each problem gets the numbers it gets alone.
    """
    weights = np.atleast_2d(np.asarray(weights, float))
    n = weights.shape[0]
    sizes = np.asarray(sizes, int)
    K = float(sum(sizes.tolist()))  # in integers: a numpy reduction costs a microsecond
    tau = np.asarray(tau, float)
    tau = np.full(n, tau) if tau.ndim == 0 else tau
    layouts = list(groups) if groups is not None else shared_layouts(sizes, weights)
    results: list[ReducedResult | None] = [None] * n
    # the problems share K, so a loss without a finite minimizer (cross-entropy) says so
    # once for all of them
    if not len(force_zero) and loss.unconstrained_margin(int(K)) is not None:
        for i in range(n):
            Zu = unconstrained_minimizer(layouts[i], loss)
            if Zu is not None and Zu.nuclear_norm() <= tau[i]:
                results[i] = ReducedResult(
                    Zu,
                    0.0,
                    0,
                    True,
                    "budget not binding: the unconstrained minimizer is feasible",
                    np.zeros(sizes.size, bool),
                    np.zeros(sizes.size),
                    [],
                )
    todo = [i for i in range(n) if results[i] is None]
    if todo and K == 1 and loss.has_invariant_direction:
        # one class and a shift-invariant loss: the loss is identically 0, Z = 0
        for i in todo:
            results[i] = ReducedResult(
                GroupedLogits(layouts[i], np.zeros((1, 1)), np.zeros(1)),
                0.0,
                0,
                True,
                "one class: the loss is identically 0",
                np.zeros(1, bool),
                np.zeros(1),
                [],
            )
        todo = []
    if todo and sizes.size <= 2 and two_groups_handle(loss):
        if sizes.size == 1 and not len(force_zero):
            for i in todo:
                results[i] = solve_one_group(int(K), weights[i, 0], tau[i], layouts[i])
            todo = []
        elif sizes.size == 2:
            every = len(todo) == n
            found = solve_two_groups(
                sizes,
                weights if every else weights[todo],
                loss,
                tau if every else tau[todo],
                [layouts[i] for i in todo],
                force_zero=force_zero,
                starts=None if starts is None else [starts[i] for i in todo],
                **options,
            )
            for i, res in zip(todo, found):
                results[i] = res
            todo = []
    for batch in _same_coefficients(loss, [layouts[i] for i in todo], todo):
        program = ReducedProgram(sizes, weights[batch], loss, groups=[layouts[i] for i in batch])
        for i, res in zip(
            batch, newton(program, t=tau[batch] / K, force_zero=force_zero, **options)
        ):
            results[i] = res
    return results


def _same_coefficients(loss: Loss, layouts, indices) -> list[list[int]]:
    """``indices`` split into batches whose groups carry the same coefficients of a
    class-dependent loss (one batch otherwise): a reduced batch shares them."""
    if not indices:
        return []
    if not loss.class_dependent:
        return [list(indices)]
    table = loss.class_table()
    batches: dict[bytes, list[int]] = {}
    for i, layout in zip(indices, layouts):
        batches.setdefault(table[layout.first].tobytes(), []).append(i)
    return list(batches.values())


def solve_results(models, options, evaluate: bool = True) -> tuple[list[ReducedResult], float]:
    """The reduced solves of models sharing one group structure and loss, as one Newton
    batch, each converged (else SolverError) and, if ``evaluate``, its loss evaluated for
    the certificate (:func:`lpm.model.logits.evaluate_grouped`, one call for all; else
    on first use): ``(results, started)``, ``started`` the ``time.perf_counter()``
    before the solves."""
    options = newton_options(options)
    started = time.perf_counter()
    g0 = models[0].groups
    weights = np.array([m.groups.weights for m in models])
    taus = np.array([m.tau for m in models])
    results = solve_constrained(
        g0.sizes,
        weights,
        models[0].loss,
        taus,
        groups=[m.groups for m in models],
        **options,
    )
    _check_converged(models, [r.converged for r in results], [r.message for r in results])
    if evaluate:
        evaluate_grouped([res.logits for res in results], models)
    return results, started


def solve_pair_batch(models, options) -> tuple[TwoGroupBatch, float]:
    """The solves of :func:`solve_results` for models of two groups of classes under
    cross-entropy (one group structure; the budget binds, cross-entropy having no finite
    minimizer), stacked, with no per-model result made: ``(batch, started)``. Each
    model's :meth:`TwoGroupBatch.result` is the result :func:`solve_results` gives it."""
    options = newton_options(options)
    started = time.perf_counter()
    weights = [m.groups.weights for m in models]
    taus = [m.tau for m in models]
    batch = solve_two_group_batch(models[0].groups.sizes, weights, taus, **options)
    _check_converged(models, batch.converged, batch.messages)
    return batch, started


def _check_converged(models, converged, messages) -> None:
    for model, ok, message in zip(models, converged, messages):
        if not ok:
            raise SolverError(f"method='reduced': Newton solver failed for {model!r}: {message}")


def solve_batch(models, dims, gap_tols, options) -> list[Solution]:
    """Runner of ``method="reduced"``: solve models that share one group structure and
    loss as one Newton batch, and certify each (its exact collapse report attached)."""
    results, started = solve_results(models, options)
    sols = []
    for model, res, p, gap_tol in zip(models, results, dims, gap_tols):
        sol = certify(
            model,
            res.logits,
            method="reduced",
            solver="newton",
            started=started,
            p=p,
            gap_tol=gap_tol,
            message=res.message,
            iterations=res.iterations,
            history=res.history,
            # the certificate's gradient serves the collapse test (None if rescaled)
            collapse=functools.partial(report_from_result, model, res),
        )
        sols.append(sol)
    share = (time.perf_counter() - started) / len(models)
    for sol in sols:
        sol.time = share
    return sols


def solve_one_group(K: int, weight: float, tau: float, layout) -> ReducedResult:
    r"""The one-group program (all classes of equal weight) in closed form: the optimum is
    the simplex ETF on the budget, :math:`M = 0`, :math:`s = \tau / (K - 1)` (``Z 1 = 0``
    makes ``M`` vanish, and the loss decreases in ``s`` up to the budget, which binds:
    callers check a finite unconstrained minimizer first; Theorem 1 of the paper)."""
    s = tau * INSIDE / (K - 1)  # inside the budget, as in two_groups._point
    value, lp, _, _, _, _ = ce_row(s, s, K - 1, 0)
    w = K * weight
    lam = -w * lp / (K - 1)
    return ReducedResult(
        logits=GroupedLogits(layout, np.zeros((1, 1)), np.array([s])),
        multiplier=lam,
        iterations=1,
        converged=True,
        message="converged: the one-group optimum in closed form (the simplex ETF)",
        fixed=np.zeros(1, bool),
        kkt_slack=np.zeros(1),
        history=[(math.log(w * value) if w * value > 0 else -math.inf, 0.0)],
        y=None,
    )
