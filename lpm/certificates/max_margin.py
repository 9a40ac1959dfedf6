r"""The max-margin (UF-SVM) program, its dual certificate and its result record.

The unconstrained-features SVM, with ``n_k`` samples in class ``k``,

.. math::

    \min_{W, h_i}\ \tfrac12\lVert W\rVert_F^2 + \tfrac12\sum_i \lVert h_i\rVert^2
    \quad\text{s.t.}\quad (w_{y_i} - w_j)^\top h_i \ge 1\ \ (j \ne y_i),

is the limit of the cross-entropy model with per-sample weight decay as the decay
vanishes (directions of its solutions). Its features sit at their class means
(averaging a class's features keeps the margins and lowers the norm), so with
:math:`Z_{kj} = \langle h_k, w_j\rangle` and :math:`D = \operatorname{diag}(n)` it is the
convex program in the logits

.. math::

    p^\star = \min_Z\ \lVert D^{1/2} Z\rVert_* \quad\text{s.t.}\quad
    Z_{kk} - Z_{kj} \ge 1\ \ (j \ne k)

(the least :math:`\tfrac12\lVert W\rVert_F^2 + \tfrac12\sum_k n_k\lVert h_k\rVert^2` over
factorizations is the nuclear norm of :math:`D^{1/2}Z`).

The certificate is Lagrangian duality. For multipliers :math:`\mu_{kj} \ge 0` put
:math:`\Lambda(\mu) = \operatorname{Diag}(\mu\mathbf 1) - \mu` (so
:math:`\langle\Lambda, Z\rangle = \sum_{k \ne j}\mu_{kj}(Z_{kk} - Z_{kj})`). If
:math:`\sigma_{\max}(D^{-1/2}\Lambda) \le s`, every feasible ``Y`` has
:math:`\lVert D^{1/2}Y\rVert_* \ge \langle D^{-1/2}\Lambda/s, D^{1/2}Y\rangle =
\sum \mu_{kj}(Y_{kk} - Y_{kj})/s \ge \sum\mu/s` (the dual norm of the nuclear norm is the
spectral norm). So for a feasible ``Z``,

.. math:: \lVert D^{1/2}Z\rVert_* - p^\star \le \lVert D^{1/2}Z\rVert_* - \frac{\sum\mu}{s},

from the point and the multipliers alone. A point with margins below 1 is divided by its
smallest margin first (rows are also centered, :math:`Z \leftarrow Z(I - J/K)`, which keeps
every margin and does not raise the norm).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _validation as check
from .. import geometry
from ..model.logits import DenseLogits
from .kinds import EPS
from .solution import SolverError, result_summary


def margin_counts(counts) -> np.ndarray:
    """``counts`` checked for the max-margin program: positive, at least 2 classes."""
    counts = check.positive_vector("counts", counts)
    if counts.size < 2:
        raise ValueError(f"counts must have at least 2 classes, got {counts.size}")
    return counts


def margins(Z: np.ndarray) -> np.ndarray:
    """``Z_kk - Z_kj`` (K x K, the diagonal 0)."""
    return np.diagonal(Z)[:, None] - Z


def dual_matrix(mu: np.ndarray) -> np.ndarray:
    r""":math:`\Lambda(\mu) = \operatorname{Diag}(\mu\mathbf 1) - \mu` for multipliers with a
    zero diagonal."""
    return np.diag(mu.sum(axis=1)) - mu


def polar_multipliers(counts: np.ndarray, Z: np.ndarray) -> np.ndarray:
    r"""The multipliers that the point's own subgradient implies: with
    :math:`D^{1/2}Z = USV^\top` (rank ``r``), :math:`\Lambda = D^{1/2}U_rV_r^\top` and
    :math:`\mu_{kj} = -\Lambda_{kj}` (``k != j``), clipped at 0. At the optimum of a row-
    centered ``Z`` this is a dual solution whenever the off-diagonal of
    :math:`D^{1/2}U_rV_r^\top` is nonpositive (as at SELI)."""
    root = np.sqrt(counts)
    U, S, Vt = np.linalg.svd(root[:, None] * Z)
    r = int((S > 1e3 * Z.shape[0] * EPS * S[0]).sum()) if S.size and S[0] > 0 else 0
    Lam = root[:, None] * (U[:, :r] @ Vt[:r])
    mu = np.clip(-Lam, 0.0, None)
    np.fill_diagonal(mu, 0.0)
    return mu


@dataclass
class MaxMarginBound:
    """A certified point of the max-margin program (see :func:`max_margin_bound`)."""

    logits: np.ndarray
    value: float
    gap: float
    dual: np.ndarray
    dual_value: float


def max_margin_bound(counts, Z, candidates) -> MaxMarginBound:
    """The point ``Z`` made feasible and its certified gap, from the best of the candidate
    multipliers ``candidates`` (each K x K, any sign; clipped at 0, diagonal ignored).

    Raises
    ------
    SolverError
        When some margin of ``Z`` is not positive (no scaling makes it feasible).
    """
    counts = np.asarray(counts, float)
    K = counts.size
    Z = np.asarray(Z, float)
    Z = Z - Z.mean(axis=1, keepdims=True)  # margins unchanged, ||D^1/2 Z||_* not raised
    m = margins(Z) + np.diag(np.full(K, np.inf))
    low = float(m.min())
    if not low > 0:
        raise SolverError(f"the max-margin point has a margin {low:.3g} <= 0: infeasible")
    if low < 1.0:
        Z = Z / low
    value = float(np.linalg.svd(np.sqrt(counts)[:, None] * Z, compute_uv=False).sum())
    best = None
    inv_root = 1.0 / np.sqrt(counts)
    for mu in candidates:
        mu = np.clip(np.nan_to_num(np.asarray(mu, float)), 0.0, None)
        np.fill_diagonal(mu, 0.0)
        s = float(np.linalg.norm(inv_root[:, None] * dual_matrix(mu), 2))
        if not s > 0:
            continue
        mu = mu / s
        d = float(mu.sum())
        if best is None or d > best[0]:
            best = (d, mu)
    if best is None:
        return MaxMarginBound(Z, value, math.inf, np.zeros((K, K)), -math.inf)
    d, mu = best
    # rounding: sums of O(K^2) terms and one SVD of each side, a few ulps each
    allowance = 16 * K * EPS * (abs(value) + abs(d))
    return MaxMarginBound(Z, value, max(value - d, 0.0) + allowance, mu, d)


@dataclass
class MaxMarginSolution:
    r"""A certified solution of the max-margin program (the UF-SVM; see
    :mod:`lpm.certificates.max_margin`).

    Attributes
    ----------
    counts : ndarray, shape (K,)
        Samples per class ``n_k``.
    logits : ndarray, shape (K, K)
        ``Z[k, j] = <h_k, w_j>``: rows centered, every margin ``Z_kk - Z_kj >= 1``.
    objective : float
        :math:`\lVert D^{1/2}Z\rVert_*`, the UF-SVM objective of the balanced factors.
    gap : float
        Certified upper bound on ``objective - optimum`` (Lagrangian dual, rounding
        included).
    dual : ndarray, shape (K, K)
        The multipliers :math:`\mu_{kj}` of the margins that certify it.
    status, success, message, time, method, solver, iterations, gap_tol
        As for :class:`lpm.Solution`.
    p : int
        Columns of ``W`` and ``H`` (``K - 1``: rows of ``Z`` are centered).
    """

    counts: np.ndarray
    logits: np.ndarray
    objective: float
    gap: float
    dual: np.ndarray = field(repr=False)
    status: str
    success: bool
    message: str
    time: float
    method: str
    solver: str
    iterations: int | None
    gap_tol: float
    p: int

    @property
    def K(self) -> int:
        return int(self.counts.size)

    def _weighted(self) -> DenseLogits:
        return DenseLogits(np.sqrt(self.counts)[:, None] * self.logits)

    def factors(self):
        r"""``(H, W)``, each ``K x p``: the balanced factors of :math:`D^{1/2}Z`, features
        then divided by :math:`\sqrt{n_k}` (class-mean features)."""
        F_H, F_W = self._weighted().factors(self.p)
        return F_H / np.sqrt(self.counts)[:, None], F_W

    @property
    def W(self) -> np.ndarray:
        """Classifiers, ``K x p``."""
        return self.factors()[1]

    @property
    def H(self) -> np.ndarray:
        """Class-mean features, ``K x p`` (every sample of a class has this feature)."""
        return self.factors()[0]

    def classifier_gram(self) -> np.ndarray:
        r""":math:`WW^\top = (Z^\top D Z)^{1/2}`."""
        return self._weighted().classifier_gram()

    def feature_gram(self) -> np.ndarray:
        r""":math:`HH^\top = D^{-1/2}(D^{1/2}ZZ^\top D^{1/2})^{1/2}D^{-1/2}`."""
        root = np.sqrt(self.counts)
        return self._weighted().feature_gram() / np.outer(root, root)

    def classifier_cosines(self) -> np.ndarray:
        return geometry.gram_cosines(self.classifier_gram())

    def feature_cosines(self) -> np.ndarray:
        return geometry.gram_cosines(self.feature_gram())

    @property
    def min_margin(self) -> float:
        return float((margins(self.logits) + np.diag(np.full(self.K, np.inf))).min())

    def summary(self) -> dict:
        """Plain-Python summary: the fields every certified result reports."""
        return result_summary(self)

    def __repr__(self) -> str:
        return (
            f"MaxMarginSolution(K={self.K}, solver={self.solver!r}, status={self.status!r}, "
            f"objective={self.objective:.12g}, gap={self.gap:.2e}, time={self.time:.3g}s)"
        )


def certify_max_margin(
    counts,
    Z,
    candidates,
    *,
    method: str,
    solver: str,
    started: float,
    gap_tol: float | None,
    message: str,
    converged: bool = True,
    iterations=None,
) -> MaxMarginSolution:
    """A :class:`MaxMarginSolution` at ``Z``: made feasible, certified by the best of the
    candidate multipliers (and those of the point's own subgradient,
    :func:`polar_multipliers`), given a status. ``gap_tol=None``: ``1e-9`` of the
    objective."""
    counts = np.asarray(counts, float)
    b = max_margin_bound(counts, Z, list(candidates) + [polar_multipliers(counts, Z)])
    tol = 1e-9 * b.value if gap_tol is None else float(gap_tol)
    success = bool(converged) and bool(b.gap <= tol)  # a Python bool, never numpy's
    status = "optimal" if success else "inaccurate"
    if converged and not success:
        message = f"{message}; certified gap {b.gap:.3g} is above gap_tol={tol:.3g}"
    sol = MaxMarginSolution(
        counts=counts,
        logits=b.logits,
        objective=b.value,
        gap=float(b.gap),
        dual=b.dual,
        status=status,
        success=success,
        message=message,
        time=0.0,
        method=method,
        solver=solver,
        iterations=iterations,
        gap_tol=tol,
        p=max(1, counts.size - 1),
    )
    sol.time = time.perf_counter() - started
    return sol
