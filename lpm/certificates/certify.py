"""Certification: the one function that turns a solver's point into a :class:`Solution`."""

from __future__ import annotations

import functools
import math
import time

from ..model.logits import Logits
from ..model.model import Model
from .kinds import Bound, Certificate, NuclearBall, rounding_unit
from .solution import Residuals, Solution, SolverError


def rounding_allowance(b: Bound, point_objective: float | None = None) -> float:
    """What rounding can hide in a bound: its terms are sums of O(K^2) products (dense
    logits) or O(G^2) (grouped), each accurate to a few ulps of its magnitude."""
    extra = 0.0 if point_objective is None else abs(point_objective)
    return rounding_unit(b.logits) * (b.magnitude + extra)


def certified_gap(model: Model, logits: Logits, certificate: Certificate | None = None) -> float:
    """The gap :func:`certify` would report for ``logits`` (no per-sample excess): the
    certificate kind's bound plus the rounding allowance. Solvers stop on it."""
    b = (certificate or NuclearBall()).bound(model, logits, None)
    return float(max(b.gap, 0.0) + rounding_allowance(b))


def judge(
    b: Bound,
    method: str,
    solver: str,
    gap_tol: float,
    message: str,
    converged: bool = True,
    point_objective: float | None = None,
) -> tuple[float, float, float, str, bool, str]:
    """What :func:`certify` decides from a certificate kind's bound: ``(objective, gap,
    multiplier, status, success, message)``, the rounding allowance and the excess of
    ``point_objective`` added to the gap (see :func:`certify` for the arguments). A
    sweep's table rows are decided by it too, without a :class:`Solution` each."""
    value, excess = b.value, 0.0
    if point_objective is not None:
        point_objective = float(point_objective)
    allowance = rounding_allowance(b, point_objective)
    if point_objective is not None:
        if point_objective < value - allowance:
            raise SolverError(
                f"{method}/{solver}: the point's objective {point_objective!r} is below "
                f"the convex objective {value!r} of its logits, which is impossible"
            )
        excess = max(point_objective - value, 0.0)
        value = point_objective
    gap = float(max(b.gap, 0.0) + excess + allowance)
    value, sigma = float(value), float(b.multiplier)
    if not math.isfinite(value) or math.isnan(gap):
        raise SolverError(f"{method}/{solver} returned a non-finite objective or gap")
    if b.note:
        message = f"{message}; {b.note}"
    if math.isinf(gap):
        success, status = False, "uncertified"
    else:
        success = bool(converged) and bool(gap <= gap_tol)  # a Python bool, never numpy's
        status = "optimal" if success else "inaccurate"
        if converged and not success:
            message = f"{message}; certified gap {gap:.3g} is above gap_tol={gap_tol:.3g}"
    return value, gap, sigma, status, success, message


def certify(
    model: Model,
    logits: Logits,
    *,
    method: str,
    solver: str,
    started: float,
    p: int,
    gap_tol: float,
    message: str,
    converged: bool = True,
    iterations=None,
    factors=None,
    history=None,
    collapse=None,
    certificate: Certificate | None = None,
    point_objective: float | None = None,
) -> Solution:
    """The solution of ``model`` at ``logits``: made feasible, certified, given a status.

    This is the one place where a bound becomes a solution: it adds (by :func:`judge`)
    the rounding allowance to the certificate kind's bound, and the excess of the returned
    point's own objective over the convex objective of its logits (per-sample features,
    unbalanced factors), and decides ``status`` and ``success``.

    Parameters
    ----------
    model : Model
    logits : Logits
        The point, from the solver (scaled into the budget here if slightly outside).
    method, solver : str
        The route and its numerical engine, recorded on the solution.
    started : float
        ``time.perf_counter()`` when the solve began.
    p : int
        Columns of ``W`` and ``H``.
    gap_tol : float
        Certified gap at which the solution counts as a success.
    message : str
        What the solver said.
    converged : bool
        The solver's own verdict (a solution is a success only if it converged too).
    iterations, history
        Recorded as given.
    factors : tuple, optional
        ``(H, W)`` of the point, when the solver has its own (else they are the balanced
        factors of the logits, built on request).
    collapse : CollapseReport or callable, optional
        The exact collapse report, or a function of the certificate's gradient at the
        point (``None`` when the point was rescaled) that makes it.
    certificate : Certificate, optional
        The certificate kind (default :class:`NuclearBall`).
    point_objective : float, optional
        The objective of the returned point in its own program, when it can exceed
        the convex objective of its logits (per-sample features, by Jensen; factors
        that are not balanced, by AM-GM). The two programs have the same optimal
        value, so the excess is added to the gap; this is the reported ``objective``.
    """
    certificate = certificate or NuclearBall()
    b = certificate.bound(model, logits, factors)
    value, gap, sigma, status, success, message = judge(
        b, method, solver, gap_tol, message, converged, point_objective
    )
    if callable(collapse):
        # made on first use (a loop of solves reading only the objective skips it); a
        # partial of module functions keeps the solution picklable
        collapse = functools.partial(collapse, b.gradient if b.logits is logits else None)
    sol = Solution(
        model=model,
        method=method,
        solver=solver,
        logits_repr=b.logits,
        time=0.0,
        status=status,
        success=success,
        message=message,
        objective=value,
        gap=gap,
        multiplier=sigma,
        p=p,
        iterations=iterations,
        gap_tol=float(gap_tol),
        residuals=Residuals(b.residual),
        history=list(history or []),
        certificate=certificate.kind,
        _factors=b.factors,
        _collapse=collapse,
        _certificate=certificate,
    )
    sol.time = time.perf_counter() - started
    return sol
