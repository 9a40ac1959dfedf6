"""The ``method=`` dispatch: pose a model, choose a route, solve, return a certified
:class:`lpm.Solution` (the public :func:`lpm.solve`, :func:`lpm.solve_counts`,
:func:`lpm.solve_model` and :func:`lpm.solve_models`)."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import numpy as np

from .. import _validation as check
from ..certificates import Solution
from ..certificates.kinds import EPS
from ..model.logits import GroupedLogits
from ..model.losses import Loss
from ..model.model import Model
from .fixed_classifier import solve_fixed
from .lowrank import solve as run_lowrank
from .nonconvex import solve as run_nonconvex
from .nuclear import solve as run_nuclear
from .reduced import REDUCED_MAX_G, solve_batch
from .sdp import solve as run_sdp

#: methods solved one model at a time: name -> runner
#: ``solve(model, *, p, solver, gap_tol, solver_options) -> Solution``
RUNNERS = {
    "nuclear": run_nuclear,
    "sdp": run_sdp,
    "nonconvex": run_nonconvex,
    "lowrank": run_lowrank,
}

#: every ``method=`` value (``"reduced"`` is batched by :func:`solve_models`)
METHODS = ("auto", "reduced", *RUNNERS)

#: certified-gap targets: a solution above its target is returned with success=False
#: (scaled down for small budgets, see :func:`default_gap_tol`)
GAP_TOL = {"reduced": 1e-9, "nuclear": 1e-6, "sdp": 1e-6, "nonconvex": 1e-6, "lowrank": 1e-8}


def loss_at_zero(model: Model) -> float:
    """``f(0)``, the loss at zero logits (``log K`` for cross-entropy): the scale that
    relative gap targets refer to."""
    return _loss_at_zero(model, exact=True)[0]


def loss_range(model: Model) -> float:
    r"""An upper bound on ``f(0) - f*``: ``tau * sigma_max(grad f(0))`` (convexity,
    :math:`f(Z) \ge f(0) + \langle\nabla f(0), Z\rangle` and
    :math:`\lVert Z\rVert_* \le \tau`)."""
    return _loss_at_zero(model, exact=True)[1]


@functools.lru_cache(maxsize=256)
def _row_at_zero(loss: Loss, K: int) -> tuple[float, float, float]:
    """``(L(0, k), a, b)`` with ``grad L(0, k) = a e_k + b 1`` (one compressed row)."""
    if K == 1:
        value, grad = loss.rows(np.zeros((1, 1)), np.ones((1, 1)))
        return float(value[0]), float(grad[0, 0]), 0.0
    value, grad = loss.rows(np.zeros((1, 2)), np.array([[1.0, K - 1.0]]))
    b = float(grad[0, 1]) / (K - 1)
    return float(value[0]), float(grad[0, 0]) - b, b


def _loss_at_zero(model: Model, exact: bool = False) -> tuple[float, float]:
    r"""``f(0)`` and ``tau * sigma_max(grad f(0))``, in closed form from the groups.

    Every loss here is symmetric in the non-target classes, so at ``Z = 0`` each row's
    gradient is :math:`a e_k + b \mathbf 1` (read off one compressed row) and
    :math:`\nabla f(0) = \Pi (aI + bJ)`. Its squared singular values are
    :math:`a^2 \pi_g^2` on the within-group differences of groups of two or more
    classes, and the eigenvalues of :math:`A\,\mathrm{diag}(\pi_g^2)\,A`,
    :math:`A = aI + b\sqrt{n}\sqrt{n}^\top`, on the group-constant vectors (a G x G
    problem: microseconds where the grouped gradient costs a fraction of a millisecond).
    Unless ``exact``, a lower bound at least 1 is returned in place of the span when it
    already shows the span is at least 1 (all that :func:`default_gap_tol` needs). A
    class-dependent loss (:mod:`lpm.model.adjusted`) gets both from its grouped gradient
    at 0.
    """
    g = model.groups
    if model.loss.class_dependent:  # the rows differ by class: the grouped gradient at 0
        zero = GroupedLogits(g, np.zeros((g.G, g.G)), np.zeros(g.G))
        f0, grad = zero.value_and_gradient(model)
        return f0, model.tau * grad.spectral_norm()
    try:
        value, a, b = _row_at_zero(model.loss, model.K)
    except TypeError:  # a user's loss that cannot be hashed: not cached
        value, a, b = _row_at_zero.__wrapped__(model.loss, model.K)
    sizes, weights = g.sizes.tolist(), g.weights.tolist()  # floats: a few microseconds
    f0 = value * sum(map(operator.mul, sizes, weights))  # in order, as a generator would
    # a row's norm bounds sigma_max from below: when that already puts the span above 1
    # (any usual budget), the exact value is not needed (min(1, span) = 1)
    row = math.sqrt(max((a + b) ** 2 + (model.K - 1) * b * b, 0.0)) * max(weights)
    tau = model.tau
    if not exact and tau * row >= 1.0:
        return f0, tau * row
    n, pi = np.array(sizes, float), np.array(weights, float)
    root = np.sqrt(n)
    A = a * np.eye(g.G) + b * np.outer(root, root)
    top = float(np.linalg.eigvalsh(A @ np.diag(pi**2) @ A)[-1])
    within = float(np.max(np.where(n > 1, (a * pi) ** 2, 0.0)))
    return f0, tau * math.sqrt(max(top, within, 0.0))


def default_gap_tol(model: Model, method: str) -> float:
    """``GAP_TOL[method] * min(1, loss_range(model))``, but not below the rounding level
    of the loss, ``1000 eps max(1, f(0))`` (no certificate resolves less).

    With a tiny budget (``E_W E_H`` of 1e-6 and below) the loss varies over the whole
    feasible set by less than an absolute tolerance, which would then accept a point with
    the wrong geometry; relative to that range, the target keeps its meaning.
    """
    f0, span = _loss_at_zero(model)
    floor = 1000 * EPS * max(1.0, f0)  # (np.finfo is a microsecond's lookup)
    return max(GAP_TOL[method] * min(1.0, span), floor)


def _feature_dimension(model: Model, p, method: str = "auto") -> int:
    if method == "nonconvex":  # any p >= 1; below the exact dimension, no certificate
        if p is None:
            return model.K
        return check.feature_dimension(p, 1, "method='nonconvex' takes any p >= 1")
    lo = model.min_exact_dimension
    if p is None:
        return lo
    why = (
        f"the convex relaxation is exact only for p >= {lo} with K={model.K} classes and "
        f"loss {model.loss.name!r}"
    )
    return check.feature_dimension(p, lo, why)


#: from this many classes on, ``"auto"`` solves models without usable symmetry by the
#: low-rank factorization (faster than the conic route at every K measured, by 15x at
#: K = 10; below it both take well under 0.1 s and the conic route is kept)
LOWRANK_MIN_K = 10


def choose_method(model: Model) -> str:
    """The method ``"auto"`` picks: the reduced program whenever it is smaller than the
    full one (``G^2 + G < K^2`` unknowns) and has at most ``REDUCED_MAX_G`` groups, else
    the low-rank factorization from ``LOWRANK_MIN_K`` classes on and the nuclear-norm
    program below; the SDP when the budgets are per class (no nuclear-norm form); the
    scalar program (``"reduced"``) for a fixed classifier."""
    _check_model("model", model)
    if getattr(model, "fixed_classifier", None):
        return "reduced"
    if model.constraint != "average":
        return "sdp"
    G = model.groups.G
    if G * G + G < model.K**2 and G <= REDUCED_MAX_G:
        return "reduced"
    return "lowrank" if model.K >= LOWRANK_MIN_K else "nuclear"


def _check_model(name: str, model) -> None:
    """ValueError unless ``model`` is a budgeted :class:`Model` (weight decay has its own
    solver)."""
    check.instance(name, model, Model, "an lpm.Model (e.g. lpm.Model.two_group(5, 5, 10))")
    if model.constraint == "penalty":
        raise ValueError(
            f"{name} is a PenalizedModel (weight decay, no budgets): solve it with "
            "lpm.solve_penalized_model"
        )


def solve_model(
    model: Model,
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
) -> Solution:
    """Solve a :class:`Model` (see :func:`solve` for the parameters)."""
    _check_model("model", model)
    return solve_models(
        [model], method=method, solver=solver, p=p, gap_tol=gap_tol, solver_options=solver_options
    )[0]


def solve_models(
    models: Sequence[Model],
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
) -> list[Solution]:
    """Solve many models; reduced solves sharing a group structure run as one batch.

    A batched problem gets exactly the numbers it gets alone (the batched Newton solver
    keeps problems independent); its ``time`` is the batch's wall time divided evenly.
    """
    check.choice("method", method, METHODS)
    solver = check.solver_name(solver)
    if gap_tol is not None:
        gap_tol = check.positive_real("gap_tol", gap_tol)
    if type(models) is not list and (  # a list first: the ABC check costs a microsecond
        isinstance(models, (Model, str, bytes)) or not isinstance(models, Sequence)
    ):
        raise ValueError(f"models must be a list of lpm.Model, got {type(models).__name__}")
    for i, m in enumerate(models):
        _check_model(f"models[{i}]", m)
    chosen = [choose_method(m) if method == "auto" else method for m in models]
    dims = [_feature_dimension(m, p, meth) for m, meth in zip(models, chosen)]
    out: list[Solution | None] = [None] * len(models)
    batches: dict[tuple, list[int]] = {}
    for i, (m, meth) in enumerate(zip(models, chosen)):
        if getattr(m, "fixed_classifier", None):
            tol = gap_tol if gap_tol is not None else default_gap_tol(m, meth)
            out[i] = solve_fixed(
                m, method=meth, p=dims[i], solver=solver, gap_tol=tol, solver_options=solver_options
            )
            continue
        if meth == "reduced":
            if m.constraint != "average":
                raise ValueError(
                    "method='reduced' needs the average norm constraint; per-class budgets "
                    "have no nuclear-norm form (use method='sdp')"
                )
            if solver not in (None, "newton"):
                raise ValueError(
                    f"method='reduced' uses its own Newton solver, got solver={solver!r}"
                )
            key = (tuple(m.groups.sizes.tolist()), m.loss)  # ints hash faster than numpy's
            batches.setdefault(key, []).append(i)
            continue
        tol = gap_tol if gap_tol is not None else default_gap_tol(m, meth)
        out[i] = RUNNERS[meth](
            m, p=dims[i], solver=solver, gap_tol=tol, solver_options=solver_options
        )
    for members in batches.values():
        batch = [models[i] for i in members]
        tols = [gap_tol if gap_tol is not None else default_gap_tol(m, "reduced") for m in batch]
        sols = solve_batch(batch, [dims[i] for i in members], tols, solver_options)
        for i, sol in zip(members, sols):
            out[i] = sol
    return out


def solve(
    K_A: int,
    K_B: int,
    R: float,
    E_W: float = 1.0,
    E_H: float = 1.0,
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    loss: str | Loss = "ce",
    loss_params: dict | None = None,
    oversample: float = 1.0,
    constraint: str = "average",
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    fixed_classifier: str | None = None,
) -> Solution:
    r"""Solve the two-group Layer-Peeled Model.

    .. math::

        \min_{W, H \in \mathbb{R}^{K\times p}} \sum_{k=1}^{K} \pi_k L(W h_k, k)
        \quad\text{s.t.}\quad \tfrac1K\lVert W\rVert_F^2 \le E_W,\
        \tfrac1K\lVert H\rVert_F^2 \le E_H,

    with ``K = K_A + K_B`` classes: ``K_A`` majority classes of ``R`` samples, then
    ``K_B`` minority classes of one sample, :math:`\pi_k \propto n_k`.

    Parameters
    ----------
    K_A, K_B : int
        Majority and minority class counts, >= 1.
    R : float
        Imbalance ratio :math:`n_A / n_B > 0`; ``float("inf")`` is the limit problem of
        Theorem 5 (minority loss weight 0).
    E_W, E_H : float
        Positive, finite budgets on the average squared norms; ``E_W * E_H`` in
        ``[1e-24, max]`` with ``max`` where the optimal loss would fall below 1e-290
        (about 3.6e5 for cross-entropy at K = 10; none for a loss with a finite
        minimizer). Each budget alone may be any positive double (only the product
        shapes the logits; the factors are scaled without overflow).
    method : {"auto", "reduced", "nuclear", "sdp", "nonconvex", "lowrank"}
        ``"reduced"``: the symmetry-reduced program (6 unknowns for two groups, any K)
        with a dedicated Newton solver, certified to ~1e-15. ``"nuclear"``: the
        nuclear-norm program through cvxpy (SCS). ``"sdp"``: the paper's 2K x 2K
        semidefinite program through cvxpy (SCS; Clarabel on request).
        ``"auto"``: the reduced program whenever it is smaller than the full one (and has
        at most 16 groups), else ``"lowrank"`` from ``K = 10`` on.
        ``"nonconvex"``: accelerated projected gradient on ``(W, H)`` itself
        (:func:`lpm.solve_nonconvex`; its options go in ``solver_options``).
        ``"lowrank"``: the nuclear-norm program as a rank-adaptive factorization
        ``Z = H W^T`` solved by Riemannian L-BFGS (:func:`lpm.solve_lowrank`; for general
        counts at large K, certified to 1e-8 by default).
    solver : str, optional
        Conic solver for ``"nuclear"``/``"sdp"`` (``"SCS"``, ``"CLARABEL"``, ...).
    p : int, optional
        Columns of ``W`` and ``H``; default and minimum: the smallest exact one,
        ``K - 1`` for cross-entropy (``"nonconvex"``: any ``p >= 1``, default ``K``).
    loss : str or Loss
        ``"ce"``, ``"label_smoothing"`` (``loss_params={"alpha": a}``), ``"squared"``,
        ``"squared_centered"``.
    oversample : float
        Factor multiplying the minority loss weights (the paper's mitigation).
    constraint : {"average", "per_class"}
    gap_tol : float, optional
        Certified gap below which the result counts as a success. Default: 1e-9 for
        ``"reduced"``, 1e-8 for ``"lowrank"``, 1e-6 for the others, each multiplied by
        ``min(1, tau * sigma_max(grad f(0)))``, a bound on how much the loss can vary over
        the budget (relative targets for tiny budgets; see :func:`default_gap_tol`).
    solver_options : dict, optional
        Passed to the solver (cvxpy keyword arguments, or Newton options).
    fixed_classifier : {None, "etf"}
        ``"etf"``: the classifiers are fixed to a simplex ETF of the budget's norm and
        only the features are optimized (Yang et al. 2022; see
        :mod:`lpm.solvers.fixed_classifier`). Methods ``"reduced"`` (the default: a scalar
        program, exact) and ``"sdp"``; the others raise ``ValueError``.

    Returns
    -------
    Solution

    Raises
    ------
    ValueError
        Invalid arguments (the message names the argument and what is allowed).
    SolverError
        The solver found no solution.

    References
    ----------
    Fang, He, Long, Su, "Exploring deep neural networks via Layer-Peeled Model: Minority
    Collapse in imbalanced training", PNAS 118(43) e2103091118 (2021).
    """
    model = Model.two_group(
        K_A,
        K_B,
        R,
        E_W,
        E_H,
        loss=loss,
        loss_params=loss_params,
        oversample=oversample,
        constraint=constraint,
        fixed_classifier=fixed_classifier,
    )
    return solve_model(
        model, method=method, solver=solver, p=p, gap_tol=gap_tol, solver_options=solver_options
    )


def solve_counts(
    counts,
    E_W: float = 1.0,
    E_H: float = 1.0,
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    loss: str | Loss = "ce",
    loss_params: dict | None = None,
    class_weights=None,
    minority=None,
    constraint: str = "average",
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    fixed_classifier: str | None = None,
) -> Solution:
    r"""Solve the Layer-Peeled Model for any per-class sample counts.

    .. math::

        \min_{W, H} \sum_k \pi_k L(W h_k, k)\quad\text{s.t.}\quad
        \tfrac1K\lVert W\rVert_F^2 \le E_W,\ \tfrac1K\lVert H\rVert_F^2 \le E_H,
        \qquad \pi_k = \frac{n_k \omega_k}{\sum_j n_j \omega_j}.

    Classes with equal counts form the groups of the reduced program. Parameters not
    listed here are those of :func:`solve`.

    Parameters
    ----------
    counts : array_like, shape (K,)
        Positive sample counts ``n_k`` (need not be integers).
    class_weights : array_like, shape (K,), optional
        Loss multipliers ``omega_k`` (oversampling factors).
    minority : array_like, optional
        Classes for the minority statistics, as indices or a boolean mask of ``K``
        entries (default: those with the smallest count).
    fixed_classifier : {None, "etf"}
        As for :func:`solve`.
    """
    model = Model(
        counts,
        E_W,
        E_H,
        loss=loss,
        loss_params=loss_params,
        class_weights=class_weights,
        minority=minority,
        constraint=constraint,
        fixed_classifier=fixed_classifier,
    )
    return solve_model(
        model, method=method, solver=solver, p=p, gap_tol=gap_tol, solver_options=solver_options
    )
