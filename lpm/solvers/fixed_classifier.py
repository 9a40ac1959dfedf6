r"""The LPM with the classifier fixed to a simplex ETF (``fixed_classifier="etf"``).

The program is :math:`\min f(Z)` over :math:`\{Z\mathbf 1 = 0,\ \lVert Z\rVert_F \le r\}`
(:mod:`lpm.certificates.fixed_classifier`). It separates by rows but for the one ball:
row ``k``'s loss depends on row ``k`` only, and for a loss that treats the other classes
alike, averaging row ``k`` over the permutations of the other classes keeps its norm,
keeps it orthogonal to :math:`\mathbf 1` and does not raise its loss. So an optimum has

.. math:: Z = \operatorname{diag}(t)\,(I - J/K),\qquad
          h_k = \frac{t_k}{a}\,b_k \ \ (w_k = a\,b_k):

each feature points along its own classifier, and only its length :math:`t_k` (its margin
over every other class) is free. With :math:`\ell(t) = L(t(e_k - \mathbf 1/K), k)` the
program is, per group of equal weight,

.. math:: \min_t \sum_g K_g\pi_g\,\ell(t_g) \quad\text{s.t.}\quad
          \sum_g K_g t_g^2 \le \frac{K^3 E_W E_H}{(K-1)^2},

with KKT conditions :math:`\pi_g\ell'(t_g) + \mu t_g = 0`: for each multiplier
:math:`\mu > 0` every :math:`t_g` is the root of an increasing scalar function, and the
budget fixes :math:`\mu` (both by bracketing, to machine precision). That is
``method="reduced"``. ``method="sdp"`` solves the paper's SDP with the classifier block held
at :math:`WW^\top`, through cvxpy: an independent route. Both are certified by
:class:`lpm.certificates.FixedClassifierBall`.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from .. import _validation as check
from ..certificates import Solution, SolverError, certify
from ..certificates.fixed_classifier import FixedClassifierBall, fixed_report
from ..model.fixed_classifier import etf_classifier, etf_features
from ..model.logits import DenseLogits, GroupedLogits
from ..model.losses import CrossEntropy, LabelSmoothing, SquaredLoss
from ..model.model import Model
from .conic import run
from .sdp import DEFAULT_SOLVER

#: the methods that solve a fixed-classifier model
FIXED_METHODS = ("reduced", "sdp")


def _row_derivatives(loss, K: int, t: np.ndarray):
    r""":math:`\ell'(t)` and :math:`\ell''(t)` of one class's loss at logits
    :math:`t(e_k - \mathbf 1/K)` (own value :math:`t(K-1)/K`, the others :math:`-t/K`)."""
    V = np.column_stack([t * (K - 1) / K, -t / K])
    mult = np.tile([1.0, K - 1.0], (t.size, 1))
    _, g, h = loss.rows(V, mult, hessian=True)
    c = np.array([(K - 1) / K, -1.0 / K])
    return g @ c, np.einsum("i,nij,j->n", c, h, c)


def _roots(loss, K, pi, mu, lo, hi):
    r"""The root of :math:`\pi\ell'(t) + \mu t` in ``[lo, hi]`` for each group (increasing
    in ``t``, of opposite signs at the ends), by Newton's method safeguarded by bisection
    to the last bit."""
    lo, hi = lo.copy(), hi.copy()
    t = 0.5 * (lo + hi)
    for _ in range(200):
        d1, d2 = _row_derivatives(loss, K, t)
        F = pi * d1 + mu * t
        lo = np.where(F < 0, t, lo)
        hi = np.where(F >= 0, t, hi)
        step = t - F / np.maximum(pi * d2 + mu, 1e-300)
        inside = (step > lo) & (step < hi)
        new = np.where(inside, step, 0.5 * (lo + hi))
        if np.all((new == t) | (hi - lo <= 4 * np.finfo(float).eps * np.abs(hi))):
            return new
        t = new
    return t


def solve_scalars(model: Model) -> tuple[np.ndarray, float]:
    r"""``(t, mu)``: the optimal feature scalars :math:`t_g` of each group and the
    multiplier of the budget (0 when the loss's own minimizer fits).

    Raises
    ------
    ValueError
        For a loss not known to treat the other classes alike (the reduction needs it).
    """
    loss = model.loss
    if type(loss) not in (CrossEntropy, LabelSmoothing, SquaredLoss):
        raise ValueError(
            f"fixed_classifier='etf' with method='reduced' needs a loss that treats the other "
            f"classes alike (cross-entropy, label smoothing, squared), got {loss!r}; use "
            f"method='sdp'"
        )
    g, K = model.groups, model.K
    pi = np.asarray(g.weights, float)
    sizes = g.sizes.astype(float)
    budget = K**3 * model.E_W * model.E_H / (K - 1) ** 2  # sum_g K_g t_g^2 at most
    live = pi > 0
    if loss.has_finite_minimizer:  # the loss's own minimum, where it fits in the ball
        free = np.where(live, _roots(loss, K, pi, 0.0, np.zeros(g.G), np.full(g.G, 1e3)), 0.0)
        if sizes @ free**2 <= budget:
            return free, 0.0
    d0, _ = _row_derivatives(loss, K, np.zeros(g.G))

    def lengths(mu):
        top = np.where(live, -pi * d0 / mu, 0.0)  # pi l'(t) + mu t >= 0 there
        return np.where(live, _roots(loss, K, pi, mu, np.zeros(g.G), top), 0.0)

    def excess(log_mu):
        return math.log(sizes @ lengths(math.exp(log_mu)) ** 2) - math.log(budget)

    from scipy.optimize import brentq  # scipy's import is slow: only when it is used

    # at mu the lengths are below -pi l'(0)/mu: bracket log mu from there
    hi = math.log(math.sqrt(sizes @ (pi * d0) ** 2 / budget)) + 1.0
    lo = hi - 2.0
    while excess(lo) < 0:
        lo -= 4.0
        if lo < -700:
            raise SolverError("fixed classifier: the budget's multiplier underflows")
    log_mu = brentq(excess, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    mu = math.exp(log_mu)
    return lengths(mu), mu


def grouped_optimum(model: Model, t: np.ndarray) -> GroupedLogits:
    r"""The grouped form of :math:`Z = \operatorname{diag}(t)(I - J/K)`:
    :math:`M = \operatorname{diag}(t)(I - qq^\top/K)`, :math:`s = t`."""
    g = model.groups
    q = np.sqrt(g.sizes.astype(float))
    M = t[:, None] * (np.eye(g.G) - np.outer(q, q) / model.K)
    return GroupedLogits(g, M, np.where(g.sizes > 1, t, 0.0))


def fixed_collapse_report(model: Model):
    """The exact-structure report of a fixed-classifier model (nothing collapses)."""
    t, _ = solve_scalars(model)
    return fixed_report(model, grouped_optimum(model, t))


def _factors(model: Model, logits, p: int):
    W = etf_classifier(model.K, model.E_W, p)
    return etf_features(logits.dense(), model.E_W, p), W


def _sdp(model: Model, solver: str, options):
    """The SDP with the classifier block fixed: its logits block and the solver's word."""
    import cvxpy as cp

    K = model.K
    W0 = etf_classifier(model.K, model.E_W, K - 1)
    X = cp.Variable((2 * K, 2 * K), PSD=True, name="X")
    Z = X[:K, K:]
    constraints = [cp.trace(X[:K, :K]) <= K * model.E_H, X[K:, K:] == W0 @ W0.T]
    prob = cp.Problem(cp.Minimize(model.loss.cvx(Z, model.pi)), constraints)
    converged, message, iterations = run(prob, solver, options, "sdp")
    return 0.5 * (X.value[:K, K:] + X.value[K:, :K].T), converged, message, iterations


def solve_fixed(
    model: Model,
    *,
    method: str,
    p: int,
    solver: str | None,
    gap_tol: float,
    solver_options: dict | None,
) -> Solution:
    """Solve a model with ``fixed_classifier="etf"`` by ``method`` (``"reduced"`` or
    ``"sdp"``; ValueError for the others)."""
    if method not in FIXED_METHODS:
        raise ValueError(
            f"fixed_classifier={model.fixed_classifier!r} is solved by method='reduced' (its "
            f"scalar program) or method='sdp' (the SDP with the classifier block fixed), "
            f"got method={method!r}"
        )
    started = time.perf_counter()
    certificate = FixedClassifierBall()
    if method == "reduced":
        if solver not in (None, "newton", "scalar"):
            raise ValueError(f"method='reduced' uses its own scalar solver, got solver={solver!r}")
        if solver_options:
            raise ValueError(
                f"the fixed classifier's scalar solver takes no solver_options, got "
                f"{sorted(solver_options)}"
            )
        t, mu = solve_scalars(model)
        logits = grouped_optimum(model, t)
        return certify(
            model,
            logits,
            method="reduced",
            solver="scalar",
            started=started,
            p=p,
            gap_tol=gap_tol,
            message=f"converged: feature lengths by bracketing (multiplier {mu:.6g})",
            factors=_factors(model, logits, p),
            certificate=certificate,
            collapse=functools.partial(fixed_report, model, logits),
        )
    solver = (check.solver_name(solver) or DEFAULT_SOLVER).upper()
    Z, converged, message, iterations = _sdp(model, solver, solver_options)
    logits = DenseLogits(Z)
    return certify(
        model,
        logits,
        method="sdp",
        solver=solver,
        started=started,
        p=p,
        gap_tol=gap_tol,
        message=message,
        converged=converged,
        iterations=iterations,
        factors=_factors(model, logits, p),
        certificate=certificate,
    )
