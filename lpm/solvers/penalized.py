r"""The weight-decay (penalized) form of the LPM.

.. math::

    \min_{W, H}\; \sum_k \pi_k L(W h_k, k) + \frac{\lambda_W}{2}\lVert W\rVert_F^2
    + \frac{\lambda_H}{2}\sum_k c_k \lVert h_k\rVert^2 ,

with :math:`c_k = 1` (class-mean penalty) or :math:`c_k = \pi_k` (the usual per-sample
penalty :math:`\tfrac{\lambda_H}{2N}\sum_{k,i}\lVert h_{k,i}\rVert^2` once features sit at
their class means). Since :math:`\min_{H W^\top = Z} \tfrac{a}{2}\lVert W\rVert_F^2 +
\tfrac{b}{2}\lVert D^{1/2} H\rVert_F^2 = \sqrt{ab}\,\lVert D^{1/2} Z\rVert_*` (balanced
factors of :math:`D^{1/2}Z`), the program is the convex

.. math:: \min_Z\; F(Z) = f(Z) + \beta\,\lVert \Omega Z\rVert_*,\qquad
          \beta = \sqrt{\lambda_W\lambda_H},\quad
          \Omega = I \ \text{or}\ \operatorname{diag}(\sqrt{\pi}),

for feature dimensions ``p`` at least the rank of its solution. Every solution is
certified by :class:`lpm.certificates.NuclearPenalty`.

With the class-mean penalty the penalized optimum ``(W, H)`` is also the optimum of the
constrained LPM with budgets ``E_W = ||W||_F^2 / K`` and ``E_H = ||H||_F^2 / K`` (its
multiplier is the penalty), which the tests check.

References
----------
Hong, Ling, "Neural collapse for unconstrained feature model under cross-entropy loss
with imbalanced data", arXiv 2309.09725 (the per-sample penalty).
"""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as check
from ..certificates import (
    NuclearPenalty,
    NuclearPenaltyBias,
    PenalizedCollapseReport,
    Solution,
    SolverError,
    certify,
    penalized_report_from_result,
)
from ..model.logits import DenseLogits
from ..model.losses import Loss
from ..model.penalized import PenalizedModel
from .conic import run
from .newton import newton
from .nonconvex import solve as run_nonconvex
from .nuclear import DEFAULT_SOLVER
from .reduced import REDUCED_MAX_G, newton_options
from .reduced_program import ReducedProgram

#: methods of :func:`solve_penalized_model`
PENALIZED_METHODS = ("auto", "reduced", "nuclear", "nonconvex")

#: certified-gap targets of the penalized methods
PENALIZED_GAP_TOL = {"reduced": 1e-9, "nuclear": 1e-6, "nonconvex": 1e-6}


def _reduced_result(model: PenalizedModel, options: dict | None):
    """The penalized reduced program of ``model`` solved by Newton's method (with the bias
    as extra coordinates when the model has one)."""
    g = model.groups
    og = model.group_omega
    bias = model.lambda_b / model.beta if model.bias else None
    program = ReducedProgram(
        g.sizes, g.weights[None], model.loss, omega=og[None], groups=[g], bias=bias
    )
    res = newton(program, beta=np.array([model.beta]), **newton_options(options))[0]
    if not res.converged:
        raise SolverError(f"penalized reduced solve failed for {model!r}: {res.message}")
    return res


def penalized_collapse_report(model: PenalizedModel) -> PenalizedCollapseReport:
    """The exact collapse report of a penalized model (solves its reduced program)."""
    return penalized_report_from_result(model, _reduced_result(model, None))


def use_reduced(model: PenalizedModel) -> bool:
    """Whether the reduced program is the quick route for ``model``: smaller than the
    full one, with at most :data:`lpm.solvers.reduced.REDUCED_MAX_G` groups (the rule of
    the constrained form, :func:`lpm.solvers.dispatch.choose_method`)."""
    G = model.groups.G
    return G * G + G < model.K**2 and G <= REDUCED_MAX_G


def _nuclear_problem(model: PenalizedModel):
    """The cvxpy problem ``min f(Z + 1 b^T) + beta ||Omega Z||_* (+ lambda_b/2 ||b||^2)``,
    its variable ``Z`` and the bias variable (None without a bias)."""
    import cvxpy as cp

    K = model.K
    Z = cp.Variable((K, K), name="Z")
    weighted = Z if not model.per_sample_penalty else cp.multiply(model.omega[:, None], Z)
    b = cp.Variable(K, name="b") if model.bias else None
    logits = Z if b is None else Z + np.ones((K, 1)) @ cp.reshape(b, (1, K), order="F")
    objective = model.loss.cvx(logits, model.pi) + model.beta * cp.normNuc(weighted)
    if b is not None and model.lambda_b:
        objective = objective + 0.5 * model.lambda_b * cp.sum_squares(b)
    return cp.Problem(cp.Minimize(objective)), Z, b


def _certificate(model: PenalizedModel, bias=None):
    """The certificate kind of ``model`` at a point with bias ``bias`` (K,)."""
    omega = model.omega if model.per_sample_penalty else None
    if not model.bias:
        return NuclearPenalty(model.beta, omega)
    return NuclearPenaltyBias(model.beta, omega, bias, model.lambda_b)


def solve_penalized_model(
    model: PenalizedModel,
    *,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
) -> Solution:
    """Solve a :class:`PenalizedModel` (see :func:`solve_penalized` for the parameters)."""
    if not isinstance(model, PenalizedModel):
        raise ValueError(f"model must be a PenalizedModel, got {type(model).__name__}")
    check.choice("method", method, PENALIZED_METHODS)
    solver = check.solver_name(solver)
    if method == "auto":
        method = "reduced" if use_reduced(model) else "nuclear"
    tol = PENALIZED_GAP_TOL[method] if gap_tol is None else check.positive_real("gap_tol", gap_tol)
    lo = model.min_exact_dimension
    started = time.perf_counter()
    if method == "nonconvex":
        if model.bias:
            raise ValueError(
                "method='nonconvex' does not take a bias; a model with bias=True is solved by "
                "method='reduced' or method='nuclear'"
            )
        p = model.K if p is None else p
        return run_nonconvex(model, p=p, solver=solver, gap_tol=tol, solver_options=solver_options)
    why = f"the convex form is exact only for p >= {lo} with K={model.K} and this loss"
    p = lo if p is None else check.feature_dimension(p, lo, why)
    if method == "reduced":
        if solver not in (None, "newton"):
            raise ValueError(f"method='reduced' uses its own Newton solver, got solver={solver!r}")
        res = _reduced_result(model, solver_options)
        bias = None if res.bias is None else res.bias[model.groups.labels]
        return certify(
            model,
            res.logits,
            method="reduced",
            solver="newton",
            started=started,
            p=p,
            gap_tol=tol,
            message=res.message,
            iterations=res.iterations,
            collapse=penalized_report_from_result(model, res),
            certificate=_certificate(model, bias),
        )
    solver = (check.solver_name(solver) or DEFAULT_SOLVER).upper()
    prob, Z, b = _nuclear_problem(model)
    converged, message, iterations = run(prob, solver, solver_options, "nuclear")
    bias = None
    if b is not None:
        bias = np.asarray(b.value, float)
        if model.loss.shift_invariant:  # b + c 1 changes nothing: report the centered one
            bias = bias - bias.mean()
    return certify(
        model,
        DenseLogits(Z.value.copy()),
        method="nuclear",
        solver=solver,
        started=started,
        p=p,
        gap_tol=tol,
        message=message,
        converged=converged,
        iterations=iterations,
        certificate=_certificate(model, bias),
    )


def solve_penalized(
    K_A: int,
    K_B: int,
    R: float,
    lambda_W: float,
    lambda_H: float,
    *,
    per_sample_penalty: bool = False,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    loss: str | Loss = "ce",
    loss_params: dict | None = None,
    oversample: float = 1.0,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    bias: bool = False,
    lambda_b: float = 0.0,
) -> Solution:
    r"""Solve the two-group Layer-Peeled Model with weight decay.

    .. math::

        \min_{W, H}\; \sum_k \pi_k L(W h_k, k) + \frac{\lambda_W}{2}\lVert W\rVert_F^2
        + \frac{\lambda_H}{2}\sum_k c_k\lVert h_k\rVert^2
        \;=\; \min_Z f(Z) + \sqrt{\lambda_W\lambda_H}\,\lVert\Omega Z\rVert_* ,

    with :math:`c_k = 1`, :math:`\Omega = I` (class-mean penalty) or :math:`c_k = \pi_k`,
    :math:`\Omega = \operatorname{diag}(\sqrt\pi)` (per-sample penalty).

    Parameters
    ----------
    K_A, K_B, R, loss, loss_params, oversample
        As for :func:`lpm.solve`.
    lambda_W, lambda_H : float
        Positive, finite weight-decay coefficients.
    per_sample_penalty : bool
        Penalize each sample's feature (weights :math:`\pi_k`) instead of each class mean.
    bias, lambda_b
        A classifier bias, logits :math:`W h + b`, free (``lambda_b=0``) or with the
        decay :math:`\tfrac{\lambda_b}{2}\lVert b\rVert^2` (``"reduced"`` and
        ``"nuclear"``; the bias is :attr:`lpm.Solution.bias`).
    method : {"auto", "reduced", "nuclear", "nonconvex"}
        ``"reduced"``: the symmetry-reduced program by Newton's method (penalized mode);
        ``"nuclear"``: the nuclear-norm form through cvxpy; ``"nonconvex"``: accelerated
        proximal gradient in ``(W, H)`` (options in ``solver_options``, see
        :func:`lpm.solve_nonconvex`). ``"auto"``: reduced whenever it is smaller.
    solver, p, gap_tol, solver_options
        As for :func:`lpm.solve`.

    Returns
    -------
    Solution
        Certified by :class:`lpm.certificates.NuclearPenalty`; ``objective`` is the
        penalized objective.

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021); Hong, Ling, arXiv 2309.09725.
    """
    model = PenalizedModel.two_group(
        K_A,
        K_B,
        R,
        lambda_W,
        lambda_H,
        loss=loss,
        loss_params=loss_params,
        oversample=oversample,
        per_sample_penalty=per_sample_penalty,
        bias=bias,
        lambda_b=lambda_b,
    )
    return solve_penalized_model(
        model, method=method, solver=solver, p=p, gap_tol=gap_tol, solver_options=solver_options
    )


def solve_penalized_counts(
    counts,
    lambda_W: float,
    lambda_H: float,
    *,
    per_sample_penalty: bool = False,
    method: str = "auto",
    solver: str | None = None,
    p: int | None = None,
    loss: str | Loss = "ce",
    loss_params: dict | None = None,
    class_weights=None,
    minority=None,
    gap_tol: float | None = None,
    solver_options: dict | None = None,
    bias: bool = False,
    lambda_b: float = 0.0,
) -> Solution:
    r"""Solve the Layer-Peeled Model with weight decay for any per-class sample counts
    (see :func:`solve_penalized`; ``counts``, ``class_weights`` and ``minority`` as for
    :func:`lpm.solve_counts`)."""
    model = PenalizedModel(
        counts,
        lambda_W,
        lambda_H,
        loss=loss,
        loss_params=loss_params,
        class_weights=class_weights,
        minority=minority,
        per_sample_penalty=per_sample_penalty,
        bias=bias,
        lambda_b=lambda_b,
    )
    return solve_penalized_model(
        model, method=method, solver=solver, p=p, gap_tol=gap_tol, solver_options=solver_options
    )
