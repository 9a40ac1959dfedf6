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
certified by :class:`lpm.solution.NuclearPenalty`.

With the class-mean penalty the penalized optimum ``(W, H)`` is also the optimum of the
constrained LPM with budgets ``E_W = ||W||_F^2 / K`` and ``E_H = ||H||_F^2 / K`` (its
multiplier is the penalty), which the tests check.

References
----------
Hong, Ling, "Neural collapse for unconstrained feature model under cross-entropy loss
with imbalanced data", arXiv 2309.09725 (the per-sample penalty).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import _validation as check
from .collapse import CollapseReport, undecided_reason
from .logits import DenseLogits
from .losses import Loss
from .model import Model
from .solution import NuclearPenalty, Solution, SolverError

#: methods of :func:`solve_penalized_model`
PENALIZED_METHODS = ("auto", "reduced", "nuclear", "nonconvex")

#: certified-gap targets of the penalized methods
PENALIZED_GAP_TOL = {"reduced": 1e-9, "nuclear": 1e-6, "nonconvex": 1e-6}


class PenalizedModel(Model):
    r"""A Layer-Peeled Model with weight decay instead of norm budgets.

    .. math::

        \min_{W, H}\; \sum_k \pi_k L(W h_k, k) + \frac{\lambda_W}{2}\lVert W\rVert_F^2
        + \frac{\lambda_H}{2}\sum_k c_k\lVert h_k\rVert^2,
        \qquad c_k = 1 \ \text{or}\ \pi_k\ (\text{per-sample penalty}).

    Parameters
    ----------
    counts : array_like, shape (K,)
        Positive sample counts.
    lambda_W, lambda_H : float
        Positive, finite weight-decay coefficients.
    per_sample_penalty : bool
        Penalize each sample's feature (:math:`c_k = \pi_k`) instead of each class mean.
    loss, class_weights, minority, loss_params
        As for :class:`lpm.Model`.

    Attributes
    ----------
    beta : float
        :math:`\sqrt{\lambda_W\lambda_H}`, the weight of the nuclear norm.
    omega : ndarray, shape (K,)
        Row weights of the nuclear norm (:math:`\sqrt{\pi_k}` or 1).

    A penalized model has no budgets: ``E_W``, ``E_H``, ``tau`` raise ``ValueError``.
    """

    def __init__(
        self,
        counts,
        lambda_W: float,
        lambda_H: float,
        *,
        loss: str | Loss = "ce",
        class_weights=None,
        minority=None,
        per_sample_penalty: bool = False,
        loss_params: dict | None = None,
    ):
        base = Model(
            counts,
            loss=loss,
            class_weights=class_weights,
            minority=minority,
            loss_params=loss_params,
        )
        self._adopt(base, lambda_W, lambda_H, per_sample_penalty)

    @classmethod
    def two_group(
        cls,
        K_A: int,
        K_B: int,
        R: float,
        lambda_W: float,
        lambda_H: float,
        *,
        loss: str | Loss = "ce",
        oversample: float = 1.0,
        per_sample_penalty: bool = False,
        loss_params: dict | None = None,
    ) -> PenalizedModel:
        """The two-group model (see :meth:`lpm.Model.two_group`) with weight decay."""
        base = Model.two_group(
            K_A, K_B, R, loss=loss, oversample=oversample, loss_params=loss_params
        )
        model = cls.__new__(cls)
        model._adopt(base, lambda_W, lambda_H, per_sample_penalty)
        return model

    def _adopt(self, base: Model, lambda_W, lambda_H, per_sample_penalty) -> None:
        self.__dict__.update(base.__dict__)
        self.lambda_W = check.positive_real("lambda_W", lambda_W)
        self.lambda_H = check.positive_real("lambda_H", lambda_H)
        if not isinstance(per_sample_penalty, (bool, np.bool_)):
            raise ValueError(
                f"per_sample_penalty must be True or False, got {per_sample_penalty!r}"
            )
        self.per_sample_penalty = bool(per_sample_penalty)
        if self.per_sample_penalty and not np.all(self.pi > 0):
            raise ValueError(
                "per_sample_penalty=True needs a positive loss weight for every class (the "
                "penalty weights features by them); R = inf gives the minority weight 0"
            )
        for name in ("E_W", "E_H"):  # the class properties below say why there are none
            self.__dict__.pop(name, None)
        self.constraint = "penalty"
        self.label = f"{base.label}, lambda_W={self.lambda_W:g}, lambda_H={self.lambda_H:g}" + (
            ", per-sample penalty" if self.per_sample_penalty else ""
        )

    @property
    def beta(self) -> float:
        r""":math:`\sqrt{\lambda_W\lambda_H}`."""
        return math.sqrt(self.lambda_W * self.lambda_H)

    @property
    def omega(self) -> np.ndarray:
        """Row weights of the nuclear norm: ``sqrt(pi)`` (per-sample penalty) or ones."""
        return np.sqrt(self.pi) if self.per_sample_penalty else np.ones(self.K)

    @property
    def scale(self) -> float:
        r""":math:`c^2 = \sqrt{\lambda_W/\lambda_H}`: features are ``c`` times, classifiers
        ``1/c`` times the balanced factors of :math:`\Omega Z` (features then divided by
        :math:`\Omega`)."""
        return math.sqrt(self.lambda_W / self.lambda_H)

    def _no_budget(self, what):
        raise ValueError(
            f"a penalized model has no budget, so no {what}; solve it with "
            "lpm.solve_penalized_model (or take budgets from a solution's norms)"
        )

    @property
    def E_W(self) -> float:
        return self._no_budget("E_W")

    @property
    def E_H(self) -> float:
        return self._no_budget("E_H")

    @property
    def budget(self) -> float:
        return self._no_budget("budget")

    @property
    def tau(self) -> float:
        return self._no_budget("nuclear-norm radius tau")

    def with_budgets(self, E_W, E_H):
        return self._no_budget("budgets to change")

    def program(self) -> str:
        who = "sum_k pi_k ||h_k||^2" if self.per_sample_penalty else "||H||_F^2"
        return (
            f"penalized LPM ({self.label}, loss={self.loss!r}): minimize sum_k pi_k "
            f"L(W h_k, k) + lambda_W/2 ||W||_F^2 + lambda_H/2 {who} over W, H in "
            f"R^(K x p), K={self.K}"
        )

    def __repr__(self) -> str:
        return f"PenalizedModel({self.label}, loss={self.loss!r})"


@dataclass(frozen=True)
class PenalizedCollapseReport(CollapseReport):
    """:class:`lpm.collapse.CollapseReport` of a penalized model: ``gamma`` is measured
    against the penalty (collapse iff ``gamma_g <= beta``), and ``omega`` holds each
    group's row weight of the norm."""

    omega: np.ndarray | None = None

    def classifier_distance(self) -> np.ndarray:
        return np.sqrt(2.0 * self.omega * self.within / self.model.scale)


def _reduced_program(model: PenalizedModel, loss=None):
    from .reduced import ReducedProgram

    g = model.groups
    og = model.omega[g.first]
    return ReducedProgram(g.sizes, g.weights[None], loss or model.loss, omega=og[None], groups=[g])


def _reduced_result(model: PenalizedModel, options: dict | None):
    from .reduced import newton, newton_options

    res = newton(_reduced_program(model), beta=np.array([model.beta]), **newton_options(options))[0]
    if not res.converged:
        raise SolverError(f"penalized reduced solve failed for {model!r}: {res.message}")
    return res


def _collapse_report(model: PenalizedModel, res) -> PenalizedCollapseReport:
    """Exact collapse test from a converged reduced solve: the Newton active set holds a
    group at ``s_g = 0`` only while its KKT sign condition holds."""
    g = model.groups
    og = model.omega[g.first]
    _, grad = res.logits.value_and_gradient(model)
    gamma = np.where(g.sizes > 1, -grad.s / og, 0.0)
    return PenalizedCollapseReport(
        model=model,
        sizes=g.sizes,
        within=np.where(res.fixed, 0.0, res.logits.s),
        gamma=gamma,
        multiplier=model.beta,
        collapsed=res.fixed.copy(),
        minority_group=model.minority_group,
        logits=res.logits,
        undecided=undecided_reason(g.sizes, g.weights, res),
        omega=og,
    )


def _choose(model: PenalizedModel) -> str:
    """``"auto"``: the reduced program under the same rule as the constrained form
    (:func:`lpm.solve.choose_method`), else the nuclear-norm program."""
    from .solve import REDUCED_MAX_G

    G = model.groups.G
    return "reduced" if G * G + G < model.K**2 and G <= REDUCED_MAX_G else "nuclear"


def _nuclear_problem(model: PenalizedModel):
    """The cvxpy problem ``min f(Z) + beta ||Omega Z||_*`` and its variable."""
    import cvxpy as cp

    Z = cp.Variable((model.K, model.K), name="Z")
    weighted = Z if not model.per_sample_penalty else cp.multiply(model.omega[:, None], Z)
    objective = model.loss.cvx(Z, model.pi) + model.beta * cp.normNuc(weighted)
    return cp.Problem(cp.Minimize(objective)), Z


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
    method = _choose(model) if method == "auto" else method
    tol = PENALIZED_GAP_TOL[method] if gap_tol is None else check.positive_real("gap_tol", gap_tol)
    lo = model.min_exact_dimension
    started = time.perf_counter()
    certificate = NuclearPenalty(model.beta, model.omega if model.per_sample_penalty else None)
    if method == "nonconvex":
        from .nonconvex import solve as run_nonconvex

        p = model.K if p is None else p
        sol = run_nonconvex(model, p=p, solver=solver, gap_tol=tol, solver_options=solver_options)
        if _choose(model) == "reduced":
            sol._collapse = _collapse_report(model, _reduced_result(model, None))
        return sol
    why = f"the convex form is exact only for p >= {lo} with K={model.K} and this loss"
    p = lo if p is None else check.feature_dimension(p, lo, why)
    if method == "reduced":
        if solver not in (None, "newton"):
            raise ValueError(f"method='reduced' uses its own Newton solver, got solver={solver!r}")
        res = _reduced_result(model, solver_options)
        return Solution.certify(
            model,
            res.logits,
            method="reduced",
            solver="newton",
            started=started,
            p=p,
            gap_tol=tol,
            message=res.message,
            iterations=res.iterations,
            collapse=_collapse_report(model, res),
            certificate=certificate,
        )
    from .conic import run
    from .nuclear import DEFAULT_SOLVER

    solver = (solver or DEFAULT_SOLVER).upper()
    prob, Z = _nuclear_problem(model)
    converged, message, iterations = run(prob, solver, solver_options, "nuclear")
    collapse = None
    if _choose(model) == "reduced":
        collapse = _collapse_report(model, _reduced_result(model, None))
    return Solution.certify(
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
        collapse=collapse,
        certificate=certificate,
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
        Certified by :class:`lpm.solution.NuclearPenalty`; ``objective`` is the
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
    )
    return solve_penalized_model(
        model, method=method, solver=solver, p=p, gap_tol=gap_tol, solver_options=solver_options
    )
