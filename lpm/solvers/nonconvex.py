r"""The LPM in its own variables: accelerated projected gradient on ``(W, H)``.

With one feature per class (``features="class"``) the program is

.. math::

    \min_{W, H \in \mathbb{R}^{K\times p}}\; \sum_k \pi_k L(W h_k, k)
    \quad\text{s.t.}\quad \tfrac1K \lVert W\rVert_F^2 \le E_W,\quad
    \tfrac1K \lVert H\rVert_F^2 \le E_H ,

and with one feature per training sample (``features="sample"``, ``n_k`` features
:math:`h_{k,i}` for class ``k``)

.. math::

    \min_{W, \{h_{k,i}\}}\; \sum_k \frac{\pi_k}{n_k}\sum_{i=1}^{n_k} L(W h_{k,i}, k)
    \quad\text{s.t.}\quad \tfrac1K \lVert W\rVert_F^2 \le E_W,\quad
    \tfrac1K \sum_k \tfrac{1}{n_k}\sum_i \lVert h_{k,i}\rVert^2 \le E_H .

``constraint="per_class"`` bounds every class instead (:math:`\lVert w_k\rVert^2 \le E_W`,
:math:`\tfrac{1}{n_k}\sum_i \lVert h_{k,i}\rVert^2 \le E_H`); a
:class:`lpm.PenalizedModel` replaces the budgets by weight decay,
:math:`+\tfrac{\lambda_W}{2}\lVert W\rVert_F^2 + \tfrac{\lambda_H}{2}\sum_k
\tfrac{c_k}{n_k}\sum_i\lVert h_{k,i}\rVert^2` with :math:`c_k = 1` (class-mean penalty) or
:math:`c_k = \pi_k` (per-sample penalty).

Method: FISTA (accelerated proximal gradient) with backtracking on the step and
O'Donoghue--Candès gradient restarts, in the metric
:math:`\lVert W\rVert_F^2 + \sum_{k,i} \lVert h_{k,i}\rVert^2 / n_k` that the feature budget
itself uses. In that metric every projection is exact and cheap: the budget sets are
balls (a rescaling), per-class budgets are balls per class (a rescaling per class), and
the weight-decay proximal step is a rescaling per class. The restart test uses
gradients, not function values, so the iteration keeps converging below the rounding
level of the objective.

Certificates. The returned point is certified against the convex program of its class
means :math:`\bar h_k`: the point's objective exceeds that of the logits
:math:`Z = \bar H W^\top` by a computable amount (Jensen over the samples; AM-GM for
weight decay), both programs have the same optimal value, so that excess plus the
certificate of ``Z`` (:class:`lpm.certificates.NuclearBall`,
:class:`lpm.certificates.NuclearPenalty` or :class:`lpm.certificates.PerClassDual`) bounds the
suboptimality. Below the exact feature dimension (``p < K - 1`` for cross-entropy) the
nonconvex program can have a larger optimal value than the convex one, and no certificate
applies: the solution says so and has ``gap = inf``.

References
----------
A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
inverse problems", SIAM J. Imaging Sci. 2(1), 2009. B. O'Donoghue, E. Candès, "Adaptive
restart for accelerated gradient schemes", Found. Comput. Math. 15, 2015.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .. import _validation as check
from ..certificates import (
    NoCertificate,
    NuclearBall,
    NuclearPenalty,
    PerClassDual,
    Solution,
    certify,
)
from ..model.logits import DenseLogits
from ..model.model import Model
from ..model.penalized import PenalizedModel

FEATURES = ("class", "sample")

#: default options of :func:`solve_nonconvex`
DEFAULTS = {"features": "class", "seed": 0, "restarts": 1, "max_iter": 20_000, "tol": 1e-10}

#: iterations between two evaluations of the stopping test (it costs an SVD)
CHECK_EVERY = 10
#: stop when the stopping measure has not halved over this many iterations
PATIENCE = 600


@dataclass
class _Layout:
    """Rows of the feature matrix: their class, loss weight and metric weight."""

    labels: np.ndarray  # (N,) class of each feature row
    loss_weight: np.ndarray  # (N,) pi_k / n_k
    metric: np.ndarray  # (N,) 1 / n_k: the budget's weight of each row
    order: np.ndarray  # (K, K) own class first, then the others
    K: int

    @property
    def N(self) -> int:
        return int(self.labels.size)


def _layout(model: Model, features: str) -> _Layout:
    K = model.K
    order = np.empty((K, K), dtype=int)
    for k in range(K):
        order[k] = np.r_[k, np.arange(k), np.arange(k + 1, K)]
    if features == "class":
        labels = np.arange(K)
        return _Layout(labels, model.pi.copy(), np.ones(K), order, K)
    counts = model.counts
    if counts is None or not np.all(np.isfinite(counts)):
        raise ValueError(
            "features='sample' needs finite integer sample counts; this model has none "
            "(R = inf has no minority samples)"
        )
    if not np.all(counts == np.round(counts)) or np.any(counts < 1):
        raise ValueError(
            f"features='sample' needs integer sample counts >= 1, got counts={counts.tolist()}"
        )
    n = counts.astype(int)
    labels = np.repeat(np.arange(K), n)
    return _Layout(labels, (model.pi / n)[labels], (1.0 / n)[labels], order, K)


class _Side:
    """Proximal map of one block (``W`` or the features) in the metric ``diag(metric)``."""

    def __init__(self, kind: str, labels, metric, K: int, budget=None, decay=None):
        self.kind, self.labels, self.metric, self.K = kind, labels, metric, K
        self.budget = budget  # average: K E; per_class: E
        self.decay = decay  # (N,) penalty weight of each row over its metric weight

    def weighted_sq(self, X):
        return self.metric @ (X * X).sum(axis=1)

    def prox(self, Y, L):
        if self.kind == "penalty":
            return Y * (L / (L + self.decay))[:, None]
        n2 = self.metric * (Y * Y).sum(axis=1)
        if self.kind == "average":
            total = n2.sum()
            f = 1.0 if total <= self.budget else math.sqrt(self.budget / total)
            X = Y * f
            if self.weighted_sq(X) > self.budget:  # rounding: step strictly inside
                X *= 1.0 - 4 * np.finfo(float).eps
            return X
        per = np.bincount(self.labels, weights=n2, minlength=self.K)
        f = np.sqrt(np.minimum(1.0, self.budget / np.where(per > 0, per, 1.0)))
        f = np.where(per > self.budget, f * (1.0 - 4 * np.finfo(float).eps), f)
        return Y * f[self.labels][:, None]

    def penalty(self, X):
        if self.kind != "penalty":
            return 0.0
        return 0.5 * float((self.decay * self.metric) @ (X * X).sum(axis=1))


class _Problem:
    """The smooth loss part and the two proximal blocks."""

    def __init__(self, model: Model, layout: _Layout, p: int):
        self.model, self.lay, self.p = model, layout, p
        K, N = model.K, layout.N
        check.memory((N, max(K, p)), "the per-sample features and logits", None)
        self.ones = np.ones((N, K))
        self.rows = np.arange(N)[:, None]
        self.idx = layout.order[layout.labels]  # (N, K) own class first
        self.row_loss = model.loss.on_slots(self.idx)  # slot j of row i holds class idx[i, j]
        cls = np.arange(K)
        if isinstance(model, PenalizedModel):
            c = model.pi if model.per_sample_penalty else np.ones(K)
            self.W = _Side("penalty", cls, np.ones(K), K, decay=np.full(K, model.lambda_W))
            self.H = _Side(
                "penalty",
                layout.labels,
                layout.metric,
                K,
                decay=model.lambda_H * c[layout.labels],
            )
        elif model.constraint == "per_class":
            self.W = _Side("per_class", cls, np.ones(K), K, budget=model.E_W)
            self.H = _Side("per_class", layout.labels, layout.metric, K, budget=model.E_H)
        else:
            self.W = _Side("average", cls, np.ones(K), K, budget=K * model.E_W)
            self.H = _Side("average", layout.labels, layout.metric, K, budget=K * model.E_H)

    def loss(self, W, H, grad: bool = True):
        """Loss of the feature rows ``H`` and, optionally, its gradients in ``W`` and ``H``."""
        lay = self.lay
        Zs = H @ W.T
        V = np.take_along_axis(Zs, self.idx, axis=1)
        out = self.row_loss.rows(V, self.ones)
        value = float(lay.loss_weight @ out[0])
        if not grad:
            return value
        G = np.empty_like(Zs)
        G[self.rows, self.idx] = out[1] * lay.loss_weight[:, None]
        return value, G.T @ H, G @ W

    def objective(self, W, H) -> float:
        return self.loss(W, H, grad=False) + self.W.penalty(W) + self.H.penalty(H)

    def class_means(self, H):
        lay = self.lay
        if lay.N == lay.K:
            return H
        sums = np.zeros((lay.K, H.shape[1]))
        np.add.at(sums, lay.labels, H)
        return sums / np.bincount(lay.labels, minlength=lay.K)[:, None]

    def start(self, rng):
        K, N, p = self.model.K, self.lay.N, self.p
        W = rng.standard_normal((K, p)) / math.sqrt(p)
        H = rng.standard_normal((N, p)) / math.sqrt(p)
        for side, X in ((self.W, W), (self.H, H)):
            if side.kind == "average":
                X *= math.sqrt(side.budget / side.weighted_sq(X))
            elif side.kind == "per_class":
                n2 = np.bincount(side.labels, weights=side.metric * (X * X).sum(1), minlength=K)
                X *= np.sqrt(side.budget / n2)[side.labels][:, None]
        return W, H


def _certificate(model: Model, p: int):
    """The certificate kind for ``model`` at feature dimension ``p``."""
    if isinstance(model, PenalizedModel):
        inner = NuclearPenalty(model.beta, model.omega)
    elif model.constraint == "per_class":
        return PerClassDual()  # valid at every p (it bounds the distance to the SDP)
    else:
        inner = NuclearBall()
    lo = model.min_exact_dimension
    if p < lo:
        return NoCertificate(
            f"p={p} is below {lo}, the feature dimension from which the convex program is "
            f"exact for K={model.K} and loss {model.loss.name!r}; the nonconvex optimum can "
            "lie above the convex one, so the result is a stationary point without a bound",
            inner,
        )
    return inner


def _stopping_measure(prob: _Problem, cert, W, H, point_value, G_W, G_H):
    """Certified gap of the point (when a certificate applies), else a first-order
    stationarity measure of the same scale: ``||G||_D (||W|| + ||H||_D)`` with ``G`` the
    gradient mapping."""
    if not isinstance(cert, NoCertificate):
        Hbar = prob.class_means(H)
        b = cert.bound(prob.model, DenseLogits(Hbar @ W.T), (Hbar, W))
        return max(b.gap, 0.0) + max(point_value - b.value, 0.0)
    size = math.sqrt(float((W * W).sum())) + math.sqrt(prob.H.weighted_sq(H))
    return math.sqrt(float((G_W * G_W).sum()) + prob.H.weighted_sq(G_H)) * size


def _run(prob: _Problem, cert, W, H, max_iter: int, tol: float):
    """One FISTA run from ``(W, H)``; returns the final point, history and status."""
    dW = np.ones(prob.model.K)[:, None]
    dH = prob.lay.metric[:, None]
    xW, xH = W, H
    yW, yH = W, H
    t, L = 1.0, 1.0
    history = []
    best, since = math.inf, 0
    converged, message = False, f"maximum number of iterations ({max_iter}) reached"
    it = 0
    for it in range(1, max_iter + 1):
        fy, gW, gH = prob.loss(yW, yH)
        slack = 1e-14 * abs(fy)
        while True:
            nW = prob.W.prox(yW - gW / (L * dW), L)
            nH = prob.H.prox(yH - gH / (L * dH), L)
            sW, sH = nW - yW, nH - yH
            fn = prob.loss(nW, nH, grad=False)
            quad = float((gW * sW).sum() + (gH * sH).sum())
            step2 = float((sW * sW).sum() + (dH * sH * sH).sum())
            if fn <= fy + quad + 0.5 * L * step2 + slack:
                break
            L *= 2.0
            if not math.isfinite(L) or L > 1e300:
                raise FloatingPointError("the step size underflowed")
        # O'Donoghue-Candes: restart the momentum when it points against the step
        if float((sW * (nW - xW)).sum() + (dH * sH * (nH - xH)).sum()) < 0:
            t = 1.0
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        mom = (t - 1.0) / t_next
        yW, yH = nW + mom * (nW - xW), nH + mom * (nH - xH)
        xW, xH, t = nW, nH, t_next
        value = fn + prob.W.penalty(xW) + prob.H.penalty(xH)
        history.append(value)
        L *= 0.9
        if it % CHECK_EVERY == 0 or it == max_iter:
            measure = _stopping_measure(prob, cert, xW, xH, value, L * sW, L * sH)
            if measure <= tol * abs(value):
                converged, message = True, f"converged: stopping measure {measure:.3g}"
                break
            if measure < 0.5 * best:
                best, since = measure, 0
            else:
                since += CHECK_EVERY
                if since >= PATIENCE:
                    converged = True
                    message = (
                        f"stopped: the stopping measure ({measure:.3g}) has not halved in "
                        f"{PATIENCE} iterations (its rounding floor, or very slow progress)"
                    )
                    break
    return xW, xH, history, it, converged, message


def solve_nonconvex(
    model: Model,
    *,
    p: int | None = None,
    features: str = "class",
    seed: int = 0,
    restarts: int = 1,
    max_iter: int = 20_000,
    tol: float = 1e-10,
    gap_tol: float = 1e-6,
) -> Solution:
    r"""Solve the LPM directly in ``(W, H)`` by accelerated projected gradient.

    .. math::

        \min_{W, H} \sum_k \frac{\pi_k}{n_k} \sum_{i} L(W h_{k,i}, k)
        \quad\text{s.t.}\quad \tfrac1K\lVert W\rVert_F^2 \le E_W,\
        \tfrac1K\sum_k\tfrac1{n_k}\sum_i \lVert h_{k,i}\rVert^2 \le E_H

    (``n_k = 1`` with ``features="class"``; per-class budgets or weight decay as the
    model says; see the module docstring).

    Parameters
    ----------
    model : Model or PenalizedModel
    p : int, optional
        Columns of ``W`` and of the features, >= 1 (default ``K``). Below the exact
        dimension (``K - 1`` for cross-entropy, ``K`` otherwise) no certificate applies.
    features : {"class", "sample"}
        One feature per class, or one per training sample (``model.counts`` must be
        integers; the cost grows with the number of samples, practical to about 1e5).
    seed : int
        Seed of the random starts (same seed, same numbers).
    restarts : int
        Number of random starts; the one with the lowest objective is returned.
    max_iter : int
        Iterations per start.
    tol : float
        Stop when the certified gap (or, without a certificate, a first-order
        stationarity measure) is below ``tol`` times the objective, or when it stops
        improving (its rounding floor).
    gap_tol : float
        Certified gap below which the solution counts as a success.

    Returns
    -------
    Solution
        ``W``, ``H`` (class means), ``sample_features``/``sample_labels`` with per-sample
        features, ``iterations`` (of the returned start), ``history`` (objective per
        iteration of the returned start), and the certificate.
    """
    started = time.perf_counter()
    check.instance("model", model, Model, "an lpm.Model or lpm.PenalizedModel")
    features = check.choice("features", features, FEATURES)
    p = model.K if p is None else check.feature_dimension(p, 1, "any p >= 1 for 'nonconvex'")
    seed = check.class_count("seed", seed, minimum=0)
    restarts = check.class_count("restarts", restarts, minimum=1)
    max_iter = check.class_count("max_iter", max_iter, minimum=1)
    tol = check.positive_real("tol", tol)
    gap_tol = check.positive_real("gap_tol", gap_tol)
    layout = _layout(model, features)
    prob = _Problem(model, layout, p)
    cert = _certificate(model, p)
    rng = np.random.default_rng(seed)
    best = None
    total = 0
    for _ in range(restarts):
        W0, H0 = prob.start(rng)
        W, H, history, its, converged, message = _run(prob, cert, W0, H0, max_iter, tol)
        total += its
        value = prob.objective(W, H)
        if best is None or value < best[0]:
            best = (value, W, H, history, its, converged, message)
    value, W, H, history, its, converged, message = best
    if restarts > 1:
        message = f"{message} (best of {restarts} starts, {total} iterations in all)"
    Hbar = prob.class_means(H)
    sol = certify(
        model,
        DenseLogits(Hbar @ W.T),
        method="nonconvex",
        solver="apg",
        started=started,
        p=p,
        gap_tol=gap_tol,
        message=message,
        converged=converged,
        iterations=its,
        factors=(Hbar, W),
        history=history,
        certificate=cert,
        point_objective=value,
    )
    if features == "sample":
        sol.sample_features, sol.sample_labels = H, layout.labels
    return sol


def solve(
    model: Model,
    *,
    p: int,
    solver: str | None = None,
    gap_tol: float = 1e-6,
    solver_options: dict | None = None,
) -> Solution:
    """Runner for ``method="nonconvex"``: :func:`solve_nonconvex` with the options
    ``features``, ``seed``, ``restarts``, ``max_iter``, ``tol`` given in
    ``solver_options``."""
    if solver not in (None, "apg"):
        raise ValueError(
            f"method='nonconvex' uses its own accelerated gradient solver ('apg'), got "
            f"solver={solver!r}"
        )
    options = check.solver_options("nonconvex", solver_options, DEFAULTS)
    return solve_nonconvex(model, p=p, gap_tol=gap_tol, **options)
