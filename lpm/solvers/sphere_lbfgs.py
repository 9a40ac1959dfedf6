r"""Riemannian L-BFGS on a sphere, with rank adaptation: the engine of
``method="lowrank"`` (:mod:`lpm.solvers.lowrank` has the method, its options and starts).

It minimizes a factored objective (:class:`lpm.solvers.grouped_factors.GroupedFactors`)
over the sphere :math:`\lVert x\rVert^2 = 2\tau`, on which a budget that binds keeps the
optimum: gradients projected on the tangent space, retraction by rescaling, vector
transport by projection. Four choices, each decided by measurement, make it fast and
accurate:

* *Preconditioner*: the diagonal of the Gauss--Newton part of the Lagrangian's Hessian
  (the loss curvature carried through the other factor, plus the multiplier), refreshed
  every few iterations, as L-BFGS's initial metric. Loss weights that differ by the
  imbalance factor otherwise make the problem badly scaled.
* *Line search on the directional derivative*: a step is also accepted when the objective
  has not risen beyond its rounding level and the directional derivative has shrunk (an
  approximate Wolfe condition). The Frank--Wolfe gap is linear in the distance to the
  optimum while the objective error is quadratic, so a certified gap of 1e-8 needs
  iterates more accurate than the objective can resolve.
* *Single precision first*: on large problems started from the ETF, the iterations
  before the first review of the rank (at full rank, far from the optimum) run their
  products in single precision, about twice as fast; every check that could stop the
  iteration, and everything after, is in double.
* *Rank adaptation*: the factors are cut to the numerical rank (plus spare columns) once
  the singular values have separated, which makes every later iteration cheaper; when the
  gradient has a descent direction outside the factors' spans (the Frank--Wolfe gap shows
  it), its singular pairs are added back.

The iteration stops once the Frank--Wolfe gap of the point is at most ``gap_tol``, or,
with ``dual``, once the bound at the point's Newton-corrected dual point is
(:mod:`lpm.certificates.dual_point`): that bound falls like the objective's error, the
Frank--Wolfe gap like the point's distance to the optimum, so it meets a target in 2.5 to
5 times fewer iterations, at a point whose geometry is no more accurate than its bound.

References
----------
D. C. Liu, J. Nocedal, "On the limited memory BFGS method for large scale optimization",
Math. Program. 45, 1989. W. W. Hager, H. Zhang, "A new conjugate gradient method with
guaranteed descent and an efficient line search", SIAM J. Optim. 16, 2005 (approximate
Wolfe conditions). P.-A. Absil, R. Mahony, R. Sepulchre, "Optimization Algorithms on
Matrix Manifolds", Princeton, 2008.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _progress

EPS = np.finfo(float).eps

#: iterations between two refreshes of the preconditioner
PRECONDITION_EVERY = 10
#: iterations before the first review of the rank, and between two later ones
FIRST_REVIEW = 25
REVIEW_EVERY = 50
#: iterations between two certificates while the gap is predicted to be far above its
#: target, and once it is predicted to be near it
CHECK_EVERY = 25
CHECK_CLOSE = 3
#: stop when the gap has not halved over this many iterations (its rounding floor)
PATIENCE = 1000
#: at most this many singular pairs (or a quarter of the rank) are added at once
MAX_ADDED = 8
#: from this many rows of the factors on, the iterations before the first review of the
#: rank run their products in single precision (the problem's ``single``): there the
#: factors are widest (an ETF start has full rank) and the point far from the optimum;
#: measured at K = 2000 (1445 rows), 20.3 s -> 12.2 s to the first review
SINGLE_ROWS = 400
#: from this many unknowns on, vector updates ``y += a x`` go through BLAS's daxpy (one
#: pass, no temporary: 2.5x faster at 6e5 unknowns); below, numpy (importing scipy's BLAS
#: takes about 0.3 s, once, more than it saves on a small problem)
AXPY_BLAS_SIZE = 100_000


def _numpy_axpy(x, y, a=1.0):
    y += a * x
    return y


def axpy_for(n: int):
    """``axpy(x, y, a)``: ``y + a x`` computed in ``y`` and returned, for vectors of
    length ``n`` (see :data:`AXPY_BLAS_SIZE`)."""
    if n < AXPY_BLAS_SIZE:
        return _numpy_axpy
    from scipy.linalg.blas import daxpy

    return daxpy


@dataclass
class LBFGSResult:
    """Raw output of :func:`sphere_lbfgs`."""

    x: np.ndarray
    value: float
    iterations: int
    evaluations: int
    converged: bool
    message: str
    gap: float  # Frank-Wolfe gap of the returned point (exact certificate arithmetic)
    history: list = field(default_factory=list)  # (iteration, objective, gap, rank)


class _Run:
    """State of one run of :func:`sphere_lbfgs`."""

    def __init__(self, problem, memory: int, progress):
        self.p = problem
        self.radius2 = 2.0 * problem.tau
        self.memory = memory
        self.progress = progress

    def load(self, x):
        """Move to ``x`` scaled onto the sphere; forget the memory."""
        x = np.asarray(x, dtype=float)
        self.axpy = axpy_for(x.size)
        norm2 = float(x @ x)
        if norm2 > 0:
            x = x * math.sqrt(self.radius2 / norm2)
        self.x = x
        self.f, self.g, self.aux = self.p.evaluate(x, curvature=True)
        self.rg = self.tangent(x, self.g)
        m, n = self.memory, x.size
        # correction pairs; a new one is computed in the slot of the oldest (no copies)
        self.S, self.Y = [np.zeros(n) for _ in range(m)], [np.zeros(n) for _ in range(m)]
        self.rho = np.zeros(m)
        self.count = self.head = 0
        self.D = None

    def tangent(self, x, v):
        """The projection of ``v`` on the tangent space at ``x`` (a new array)."""
        return self.axpy(x, v.copy(), a=-float(x @ v) / self.radius2)

    def double(self):
        """End the single-precision iterations: evaluate the point again in double."""
        self.p.single = False
        self.f, self.g, self.aux = self.p.evaluate(self.x, curvature=True)
        self.rg = self.tangent(self.x, self.g)

    def precondition(self):
        """Refresh the diagonal metric: Gauss-Newton diagonal plus the multiplier."""
        if self.aux[4] is None:  # the curvature of the last evaluation is needed
            self.f, self.g, self.aux = self.p.evaluate(self.x, curvature=True)
        diag = self.p.gauss_newton_diagonal(self.x, self.aux)
        if diag is None:
            self.D = None
            return
        diag += self.p.multiplier(self.x, self.g)
        floor = 1e-12 * float(diag.max(initial=0.0))
        self.D = np.maximum(diag, floor if floor > 0 else 1.0)
        self.D_inv = 1.0 / self.D

    def direction(self):
        """L-BFGS direction (two-loop recursion, tangent at ``x``) and its slope."""
        S, Y, rho, D = self.S, self.Y, self.rho, self.D
        q = self.rg.copy()
        order = [(self.head - 1 - i) % self.memory for i in range(self.count)]
        alpha = np.zeros(self.memory)
        for i in order:
            alpha[i] = rho[i] * float(S[i] @ q)
            q = self.axpy(Y[i], q, a=-alpha[i])
        if self.count:
            j = order[0]
            yHy = float(Y[j] @ (Y[j] * self.D_inv)) if D is not None else float(Y[j] @ Y[j])
            q *= (1.0 / rho[j]) / yHy
        elif D is None:
            q *= 1e-2 / max(float(np.linalg.norm(self.rg)), 1e-300)
        if D is not None:
            q *= self.D_inv
        for i in reversed(order):
            q = self.axpy(S[i], q, a=alpha[i] - rho[i] * float(Y[i] @ q))
        # minus its tangent part, in place
        q = self.axpy(self.x, q, a=-float(self.x @ q) / self.radius2)
        np.negative(q, out=q)
        return q, float(self.rg @ q)

    def line_search(self, d, slope) -> bool:
        """Backtrack along ``d`` (retracted onto the sphere); on success move there and
        store the correction pair. A step is accepted on sufficient decrease, or, once
        the objective is at its rounding level, on a shrinking directional derivative."""
        x, f, rg = self.x, self.f, self.rg
        slack = 64 * EPS * abs(f)
        step = 1.0
        for _ in range(40):
            xn = self.axpy(d, x.copy(), a=step)
            xn *= math.sqrt(self.radius2 / float(xn @ xn))
            fn, gn, auxn = self.p.evaluate(xn, curvature=self.curvature_next)
            rgn = self.tangent(xn, gn)
            # rgn is tangent at xn, so rgn . d is the slope of the retracted path
            if fn <= f + 1e-4 * step * slope or (
                fn <= f + slack and abs(float(rgn @ d)) <= 0.9 * abs(slope)
            ):
                break
            step *= 0.5
        else:
            return False
        # correction pair, transported to xn by projection (|xn|^2 = radius2), made in
        # the slot of the oldest pair (which a rejected pair then takes out of the memory)
        h = self.head
        s, y = self.S[h], self.Y[h]
        np.multiply(xn, float(xn @ x) / self.radius2, out=s)
        s -= x
        np.subtract(rgn, rg, out=y)
        y = self.axpy(xn, y, a=float(xn @ rg) / self.radius2)
        sy = float(s @ y)
        if sy > 1e-20 * math.sqrt(float(s @ s) * float(y @ y)):
            self.S[h], self.Y[h] = s, y  # the same arrays, unless axpy made new ones
            self.rho[h] = 1.0 / sy
            self.head = (h + 1) % self.memory
            self.count = min(self.count + 1, self.memory)
        else:
            self.count = min(self.count, self.memory - 1)
        self.x, self.f, self.g, self.rg, self.aux = xn, fn, gn, rgn, auxn
        return True

    def review(self, gap, rank_rtol) -> bool:
        """Cut the factors to the numerical rank, or add the gradient's singular pairs
        outside their spans that carry at least half of the gap (on the sphere the
        Frank--Wolfe gap is ``tau (sigma_max - mu)``: such a pair is a direction the
        current rank cannot reach, after a cut too deep or from a start of too low a
        rank). True if changed."""
        # once ranks had to be added back, the cut was too deep: never cut again
        cut = None if self.grown else self.p.truncated(self.x, rank_rtol)
        if cut is not None:
            self.load(cut)
            return True
        mu = self.p.multiplier(self.x, self.g)
        most = max(MAX_ADDED, self.p.r // 4)
        wider = self.p.outside(self.x, self.aux, mu + 0.5 * gap / self.p.tau, most, mu)
        if wider is None:
            return False
        self.load(wider)
        self.grown = True
        return True

    def dual_check(self, it: int, gap: float, gap_tol: float) -> float:
        """The gap at the Newton-corrected dual point of the current point, if smaller
        than ``gap`` (the point is kept on the problem when it meets ``gap_tol``); sets
        the iteration of the next such check, where the last two predict the target is
        met (the bound falls about geometrically), within :data:`CHECK_CLOSE` to
        :data:`CHECK_EVERY` iterations (half of that after the first)."""
        dual_gap, point = self.p.dual_gap(self.f, self.x)
        need = CHECK_EVERY // 2  # no rate yet: measured, about a decade in 20 iterations
        last = self.last_dual
        if last is not None and dual_gap < last[1] and dual_gap > gap_tol:
            rate = math.log(last[1] / dual_gap) / (it - last[0])
            need = math.ceil(math.log(dual_gap / gap_tol) / rate)
        self.last_dual = (it, dual_gap)
        self.next_dual = it + min(max(need, CHECK_CLOSE), CHECK_EVERY)
        if not dual_gap < gap:
            return gap
        if dual_gap <= gap_tol:
            self.p.dual_point = point
        return dual_gap

    def solve(self, x0, gap_tol, max_iter, time_limit, rank_rtol, single, dual) -> LBFGSResult:
        started = time.perf_counter()
        self.p.target = gap_tol
        self.p.dual_point = None
        # from the first check after the first review of the rank on (at the ETF start's
        # full rank the support is not yet separated, and the bound is no tighter)
        self.last_dual, self.next_dual = None, FIRST_REVIEW + 1
        self.grown = False
        self.p.single = single and self.p.nl >= SINGLE_ROWS
        self.load(x0)
        history = []
        best_gap, best_at = math.inf, 0
        last_check, last_review = 0, 0
        ratio = math.inf
        converged, message = False, f"maximum number of iterations ({max_iter}) reached"
        gap = math.inf
        it = 0
        # a bar on a terminal (after 1 s), with the gap and rank of each check
        self.bar = _progress.bar(max_iter, "lpm lowrank", progress=self.progress, unit="it")
        while True:
            # -- certificate, stopping tests, rank review ---------------------------------
            out_of_time = time_limit is not None and time.perf_counter() - started > time_limit
            since = it - last_check
            # the gap and the gradient norm shrink together near the optimum: their ratio
            # at the last check says when the next check can succeed (the schedule depends
            # on the iterates only, so the same call gives the same numbers)
            predicted = ratio * float(np.linalg.norm(self.rg))
            close = predicted <= 2 * gap_tol and since >= CHECK_CLOSE
            first_review = last_review == 0 and it == FIRST_REVIEW
            if self.p.single and it >= FIRST_REVIEW:
                self.double()
            if (
                it == 0
                or close
                or first_review
                or since >= CHECK_EVERY
                or (dual and it == self.next_dual and self.last_dual is not None)
                or it >= max_iter
                or (out_of_time)
            ):
                gap = self.p.gap(self.f, self.aux, exact=False, x=self.x)
                if gap <= gap_tol and self.p.single:  # checked in double precision only
                    self.double()
                    gap = self.p.gap(self.f, self.aux, exact=False, x=self.x)
                if gap <= gap_tol:  # confirm with the certificate's own arithmetic
                    gap = self.p.gap(self.f, self.aux, exact=True)
                # the Frank-Wolfe gap measures the point's stationarity: the schedule of
                # the checks and the rank review read it, the stopping test the best bound
                frank_wolfe = gap
                if dual and gap > gap_tol and it >= self.next_dual and not self.p.single:
                    gap = self.dual_check(it, gap, gap_tol)
                last_check = it
                history.append((it, float(self.f), float(gap), self.p.r))
                self.bar.set_postfix_str(f"gap {gap:.2e}, rank {self.p.r}", refresh=False)
                ratio = frank_wolfe / max(float(np.linalg.norm(self.rg)), 1e-300)
                if gap <= gap_tol:
                    how = "Frank-Wolfe gap" if gap == frank_wolfe else "gap at the dual point"
                    converged, message = True, f"converged: {how} {gap:.3g}"
                    break
                if gap < 0.5 * best_gap:
                    best_gap, best_at = gap, it
                elif it - best_at >= PATIENCE:
                    converged = True
                    message = (
                        f"stopped: the Frank-Wolfe gap ({gap:.3g}) has not halved in "
                        f"{PATIENCE} iterations (its rounding floor, or very slow progress)"
                    )
                    break
                if it >= max_iter:
                    break
                if out_of_time:
                    message = f"time limit ({time_limit:g} s) reached"
                    break
                due = FIRST_REVIEW if last_review == 0 else REVIEW_EVERY
                if it - last_review >= due:
                    self.review(frank_wolfe, rank_rtol)
                    last_review = it

            if self.D is None or it % PRECONDITION_EVERY == 0:
                self.precondition()
            # the point the line search accepts is preconditioned at next: its curvature
            self.curvature_next = (it + 1) % PRECONDITION_EVERY == 0
            d, slope = self.direction()
            if not slope < 0:  # not a descent direction: restart from the scaled gradient
                self.count = self.head = 0
                d, slope = self.direction()
            if not self.line_search(d, slope):
                ok = False
                if self.count:  # retry once from the preconditioned gradient
                    self.count = self.head = 0
                    d, slope = self.direction()
                    ok = self.line_search(d, slope)
                if not ok and self.p.single:  # the rounding of single precision: go on
                    self.double()  # in double from the preconditioned gradient
                    self.count = self.head = 0
                    d, slope = self.direction()
                    ok = self.line_search(d, slope)
                if not ok:
                    converged = True
                    message = (
                        f"stopped: no descent step from the current point (gap {gap:.3g}); "
                        "the iteration has reached the rounding level of the objective"
                    )
                    break
            it += 1
            self.bar.update()
        self.bar.close()
        if self.p.single:  # stopped before the first review: the point in double
            self.double()
            last_check = -1
        if not converged or it != last_check or gap > gap_tol:
            gap = self.p.gap(self.f, self.aux, exact=True)
        return LBFGSResult(
            x=self.x,
            value=float(self.f),
            iterations=it,
            evaluations=self.p.evaluations,
            converged=converged,
            message=message,
            gap=float(gap),
            history=history,
        )


def sphere_lbfgs(
    problem,
    x0: np.ndarray,
    *,
    gap_tol: float,
    max_iter: int = 20_000,
    memory: int = 8,
    time_limit: float | None = None,
    rank_rtol: float = 1e-3,
    progress: bool | None = None,
    single: bool = False,
    dual: bool = False,
) -> LBFGSResult:
    r"""Riemannian L-BFGS for ``problem`` on the sphere :math:`\lVert x\rVert^2 = 2\tau`,
    with rank adaptation.

    Parameters
    ----------
    problem : GroupedFactors
        The objective: its ``evaluate``, ``gauss_newton_diagonal``, ``gap``,
        ``multiplier``, ``truncated`` and ``outside``, its rows ``nl`` and its precision
        switch ``single``.
    x0 : ndarray
        Starting point (scaled onto the sphere here).
    gap_tol : float
        Stop when the Frank--Wolfe gap of the point is at most this.
    max_iter : int
        Maximum number of iterations.
    memory : int
        Number of correction pairs kept.
    time_limit : float, optional
        Seconds after which the current point is returned (``converged=False``).
    rank_rtol : float
        Singular values below ``rank_rtol`` times the largest count as zero when the
        factors are cut to the numerical rank.
    progress : bool or None
        A progress bar of the iterations with the gap and rank of each check:
        ``None`` (default) on a terminal only, ``True`` always, ``False`` never.
    single : bool
        Whether the iterations before the first review of the rank may run their
        products in single precision (from :data:`SINGLE_ROWS` rows on): for a start far
        from the optimum (the ETF), never for a warm start, which they would blur.
    dual : bool
        Whether the checks after the first review of the rank also bound the gap at the
        point's Newton-corrected dual point (``problem.dual_gap``; tight where the
        Frank--Wolfe gap is linear in the point's error), and stop on it; the point that
        meets ``gap_tol`` is left in ``problem.dual_point`` for the certificate.

    Returns
    -------
    LBFGSResult
    """
    run = _Run(problem, memory, progress)
    return run.solve(x0, gap_tol, max_iter, time_limit, rank_rtol, single, dual)
