r"""Closed forms of the Layer-Peeled Model and of the models around it: the balanced
optimum (Theorem 1), the collapse thresholds of weight decay, the max-margin (SELI)
geometry."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validation as check
from ..certificates.max_margin import margin_counts, max_margin_bound, polar_multipliers
from ..model.logits import helmert_basis
from ..model.losses import CrossEntropy, LabelSmoothing, SquaredLoss, get_loss
from ..model.penalized import PenalizedModel
from ..model.precision import safe_product_sqrt, safe_ratio_sqrt


@dataclass(frozen=True)
class BalancedOptimum:
    """Theorem 1 of Fang et al. (2021): the optimum of the balanced LPM.

    Attributes
    ----------
    objective : float
        :math:`\\log(1 + (K-1)\\exp(-K\\sqrt{E_W E_H}/(K-1)))`, in closed form (any K).
    W, H : ndarray, shape (K, K-1)
        A simplex ETF with :math:`W W^T = E_W \\frac{K}{K-1}(I - J/K)` and
        :math:`H = \\sqrt{E_H/E_W}\\, W` (for ``K = 1``: one vector of squared norm
        ``E_W``, resp. ``E_H``; every feasible pair is then optimal). Built on first
        access; ``MemoryError`` (before allocating) when ``K x (K-1)`` doubles exceed
        ``memory_limit`` of :meth:`factors` (2 GiB by default, about ``K = 16000``).
    """

    K: int
    E_W: float
    E_H: float
    objective: float

    def factors(self, memory_limit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(W, H)``, each ``K x (K-1)`` (``K x 1`` for ``K = 1``)."""
        if "_factors" not in self.__dict__:
            if self.K == 1:
                W = np.array([[math.sqrt(self.E_W)]])
            else:
                check.memory(
                    (self.K, self.K - 1),
                    "the simplex ETF W",
                    memory_limit,
                    "the objective needs no array (BalancedOptimum.objective is the closed "
                    "form); pass a larger memory_limit to factors() for W and H",
                )
                W = math.sqrt(self.E_W * self.K / (self.K - 1)) * helmert_basis(self.K)
            object.__setattr__(self, "_factors", (W, safe_ratio_sqrt(self.E_H, self.E_W) * W))
        return self.__dict__["_factors"]

    @property
    def W(self) -> np.ndarray:
        return self.factors()[0]

    @property
    def H(self) -> np.ndarray:
        return self.factors()[1]


def balanced_optimum(K: int, E_W: float = 1.0, E_H: float = 1.0) -> BalancedOptimum:
    r"""Closed-form optimum of the balanced LPM with cross-entropy (Theorem 1).

    .. math::

        \min_{W,H} \frac1K \sum_k L(W h_k, k)\ \text{s.t.}\
        \tfrac1K\lVert W\rVert_F^2 \le E_W,\ \tfrac1K\lVert H\rVert_F^2 \le E_H
        \;=\; \log\!\Big(1 + (K-1)\,e^{-K\sqrt{E_W E_H}/(K-1)}\Big),

    attained by a simplex ETF ``W`` with ``H = sqrt(E_H/E_W) W``.

    Parameters
    ----------
    K : int
        Number of classes, >= 1 (the objective costs O(1) for any K; ``W`` and ``H``
        are built only when asked for).
    E_W, E_H : float
        Positive finite budgets.

    Returns
    -------
    BalancedOptimum

    References
    ----------
    Fang, He, Long, Su, PNAS 118(43) e2103091118 (2021), Theorem 1.
    """
    K = check.class_count("K", K)
    E_W = check.positive_real("E_W", E_W)
    E_H = check.positive_real("E_H", E_H)
    if K == 1:
        return BalancedOptimum(1, E_W, E_H, 0.0)
    margin = K * safe_product_sqrt(E_W, E_H) / (K - 1)
    objective = math.log1p((K - 1) * math.exp(-margin))
    return BalancedOptimum(K, E_W, E_H, objective)


# -- weight decay: the collapse threshold in closed form ---------------------------------


def collapsed_separation(loss) -> float:
    r"""The constant :math:`c` with :math:`\gamma_g = c\,\pi_g` at every point where group
    ``g`` is collapsed: the singular value of :math:`-\nabla f` on the differences between
    the classes of the group.

    At a point with :math:`s_g = 0` the rows and the columns of ``Z`` of the group's
    classes are equal, so a feature of the group gives its own class and another class of
    the group the same logit, and the group's block of the gradient is
    :math:`\pi_g(aJ - cI)` for some :math:`a`; projected on the within-group differences it
    is :math:`-c\pi_g(I - J/K_g)`. Cross-entropy, :math:`\nabla = \pi(p - e_k)`:
    :math:`c = 1`; label smoothing :math:`\alpha`, targets :math:`(1 - \alpha)e_k +
    \alpha\mathbf 1/K`: :math:`c = 1 - \alpha`; the squared losses,
    :math:`\nabla = \pi(z - y_k)` with :math:`y_k = e_k` or :math:`e_k - \mathbf 1/K`:
    :math:`c = 1`. The constant does not depend on the point, which is what makes the
    thresholds below closed forms.

    Parameters
    ----------
    loss : str or Loss
        ``"ce"``, ``"label_smoothing"`` (a :class:`lpm.LabelSmoothing` instance for
        another ``alpha``), ``"squared"``, ``"squared_centered"``.

    Raises
    ------
    ValueError
        For another loss: no closed form is claimed for it (its exact collapse test,
        :func:`lpm.collapse_report`, still applies).
    """
    loss = get_loss(loss)
    if type(loss) is CrossEntropy or type(loss) is SquaredLoss:
        return 1.0
    if type(loss) is LabelSmoothing:
        return 1.0 - loss.alpha
    raise ValueError(
        f"loss must be cross-entropy, label smoothing or a squared loss for the closed-form "
        f"threshold, got {loss!r}; lpm.collapse_report decides collapse for any loss"
    )


def penalized_threshold_betas(model: PenalizedModel) -> np.ndarray:
    r"""The critical penalty :math:`\beta^\star_g` of every group of a weight-decay model:
    group ``g`` (two or more classes) is exactly collapsed at the optimum iff
    :math:`\sqrt{\lambda_W\lambda_H} \ge \beta^\star_g`.

    .. math:: \beta^\star_g = \frac{c\,\pi_g}{\omega_g},\qquad
              \omega_g = 1\ \text{(class-mean penalty)},\quad
              \omega_g = \sqrt{\pi_g}\ \text{(per-sample penalty)},

    with :math:`c` of :func:`collapsed_separation`. Derivation: the program is
    :math:`\min_Z f(Z) + \beta\lVert\Omega Z\rVert_*`; hold :math:`s_g = 0` and solve the
    rest. The one KKT condition left is the subgradient inequality of the within-group
    part, :math:`\gamma_g \le \beta\,\omega_g` (the norm weighs those directions by
    :math:`\omega_g`), and :math:`\gamma_g = c\pi_g` at *every* collapsed point. So the
    collapsed restriction is optimal iff :math:`\beta \ge c\pi_g/\omega_g`, whatever the
    other groups do, and no solve is needed. Groups of one class get ``nan``.

    Parameters
    ----------
    model : PenalizedModel

    Returns
    -------
    ndarray, shape (G,)
    """
    if not isinstance(model, PenalizedModel):
        raise ValueError(f"model must be a PenalizedModel, got {type(model).__name__}")
    c = collapsed_separation(model.loss)
    g = model.groups
    pi = np.asarray(g.weights, float)
    omega = model.omega[g.first]
    return np.where(g.sizes > 1, c * pi / omega, math.nan)


def penalized_collapse_threshold(
    K_A: int,
    K_B: int,
    R: float,
    *,
    per_sample_penalty: bool = False,
    loss="ce",
    loss_params: dict | None = None,
    oversample: float = 1.0,
) -> float:
    r"""The critical weight decay of the two-group model: the minority classifiers are
    exactly equal at the optimum of :func:`lpm.solve_penalized` iff
    :math:`\sqrt{\lambda_W\lambda_H} \ge \beta^\star`, with

    .. math:: \beta^\star = c\,\pi_B\ \text{(class-mean penalty)},\qquad
              \beta^\star = c\sqrt{\pi_B}\ \text{(per-sample penalty)},\qquad
              \pi_B = \frac{w_r}{K_A R + K_B w_r},

    :math:`c = 1` for cross-entropy and the squared losses, :math:`1 - \alpha` for label
    smoothing (:func:`penalized_threshold_betas` has the derivation).

    Parameters
    ----------
    K_A, K_B : int
        Majority and minority class counts; ``K_B >= 2``.
    R : float
        Imbalance ratio (``inf`` with the class-mean penalty: the minority then has
        weight 0 and collapses at every penalty, ``beta* = 0``).
    per_sample_penalty, loss, loss_params, oversample
        As for :func:`lpm.solve_penalized`.

    Returns
    -------
    float
        :math:`\beta^\star`.

    See Also
    --------
    lpm.collapse_threshold : with ``penalty=``, the threshold :math:`R_0` at a given penalty.

    References
    ----------
    Hong, Ling, arXiv 2309.09725 (2023), the per-sample penalty (see :func:`hong_ling_beta`
    for their units).
    """
    K_B = check.class_count("K_B", K_B, minimum=2)
    model = PenalizedModel.two_group(
        K_A,
        K_B,
        R,
        1.0,
        1.0,
        loss=loss,
        loss_params=loss_params,
        oversample=oversample,
        per_sample_penalty=per_sample_penalty,
    )
    return float(penalized_threshold_betas(model)[model.minority_group])


def penalized_threshold_ratio(
    K_A: int, K_B: int, penalty: float, *, per_sample_penalty: bool = False, loss="ce"
) -> float:
    r"""The imbalance :math:`R_0` from which the minority is exactly collapsed at the
    weight decay :math:`\beta = \sqrt{\lambda_W\lambda_H}` = ``penalty``: the root of
    :math:`\beta = c\pi_B(R)` (class-mean) or :math:`\beta = c\sqrt{\pi_B(R)}` (per-sample
    penalty), :math:`\pi_B = 1/(K_A R + K_B)`:

    .. math:: R_0 = \frac{c/\beta - K_B}{K_A}\quad\text{or}\quad
              R_0 = \frac{(c/\beta)^2 - K_B}{K_A},

    and ``1.0`` when that is below 1 (collapsed at balance already), as
    :func:`lpm.collapse_threshold` returns. This is what ``collapse_threshold(K_A, K_B,
    penalty=...)`` computes.

    Raises
    ------
    OverflowError
        When :math:`R_0` is beyond the double range (a tiny penalty).
    """
    K_A = check.class_count("K_A", K_A)
    K_B = check.class_count("K_B", K_B, minimum=2)
    beta = check.positive_real("penalty", penalty)
    per_sample_penalty = check.flag("per_sample_penalty", per_sample_penalty)
    ratio = collapsed_separation(loss) / beta
    with np.errstate(over="ignore"):
        need = ratio * ratio if per_sample_penalty else ratio  # the K_A R + K_B at R_0
        R0 = (need - K_B) / K_A
    if not math.isfinite(R0):
        raise OverflowError(f"R_0 exceeds the double range for penalty={beta!r}")
    return max(1.0, float(R0))


def hong_ling_beta(lam: float, N: float) -> float:
    r"""The penalty :math:`\beta = \sqrt{\lambda_W\lambda_H}` of
    ``PenalizedModel(..., per_sample_penalty=True)`` that is Hong and Ling's
    regularization :math:`\lambda` for ``N`` training samples: :math:`\beta = \lambda\sqrt N`.

    Their convex program is :math:`\min_{Z} \frac1N\sum_i L(z_i, y_i) + \lambda\lVert
    Z\rVert_*` over the ``K x N`` matrix of per-sample logits (which is
    :math:`\min_{W,H} \frac1N\sum_i L(W h_i, y_i) + \lambda_W\lVert W\rVert_F^2 +
    \lambda_H\lVert H\rVert_F^2` with :math:`\lambda = 2\sqrt{\lambda_W\lambda_H}`: no
    halves, and the feature penalty summed over samples, not averaged). With the features
    at their class means :math:`Z = Z_{\text{class}} E^\top`,
    :math:`\lVert Z\rVert_* = \sqrt N\,\lVert D^{1/2}Z_{\text{class}}\rVert_*`,
    :math:`D = \operatorname{diag}(\pi)`, which is this package's per-sample penalty with
    :math:`\beta = \lambda\sqrt N`. Their sharp threshold :math:`\lambda^\star =
    \sqrt{n_B}/N` is then :math:`\beta^\star = \sqrt{\pi_B}`
    (:func:`penalized_collapse_threshold`).
    """
    return check.positive_real("lam", lam) * math.sqrt(check.positive_real("N", N))


# -- the max-margin limit: SELI ----------------------------------------------------------


@dataclass(frozen=True)
class SeliGeometry:
    r"""The closed-form solution of the UF-SVM (:func:`lpm.solve_max_margin`): the
    simplex-encoded-labels interpolation of Thrampoulidis et al. (2022).

    Attributes
    ----------
    counts : ndarray, shape (K,)
    logits : ndarray, shape (K, K)
        :math:`P = I - J/K`: every margin is exactly 1.
    classifier_gram : ndarray, shape (K, K)
        :math:`WW^\top = (P D P)^{1/2}`, :math:`D = \operatorname{diag}(n)`.
    feature_gram : ndarray, shape (K, K)
        :math:`HH^\top = D^{-1/2}(D^{1/2}PD^{1/2})^{1/2}D^{-1/2}` (class-mean features).
    objective : float
        :math:`\lVert D^{1/2}P\rVert_*`.
    dual : ndarray, shape (K, K)
        Closed-form multipliers of the margins,
        :math:`\mu_{kj} = -[D P (PDP)^{+1/2}]_{kj}`.
    gap : float
        The certified gap of the closed form with those multipliers
        (:func:`lpm.certificates.max_margin.max_margin_bound`): rounding level, which
        proves SELI optimal at these counts.
    """

    counts: np.ndarray
    logits: np.ndarray
    classifier_gram: np.ndarray
    feature_gram: np.ndarray
    objective: float
    dual: np.ndarray
    gap: float


def seli(counts) -> SeliGeometry:
    r"""The SELI geometry: the solution of the unconstrained-features SVM in closed form.

    .. math::

        Z^\star = P = I - \tfrac1K J,\qquad WW^\top = (PDP)^{1/2},\qquad
        HH^\top = D^{-1/2}(D^{1/2}PD^{1/2})^{1/2}D^{-1/2},\qquad D = \operatorname{diag}(n).

    Derivation. The program is :math:`\min \lVert D^{1/2}Z\rVert_*` s.t.
    :math:`Z_{kk} - Z_{kj} \ge 1` (:mod:`lpm.certificates.max_margin`). ``P`` is
    feasible with every margin 1. Its dual candidate is the subgradient
    :math:`\Lambda = D^{1/2}UV^\top` of the norm at ``P`` (:math:`D^{1/2}P = USV^\top`, rank
    ``K - 1``), i.e. :math:`\Lambda = DP(PDP)^{+1/2}`: its rows sum to 0 (the range of
    :math:`(PDP)^{+1/2}` is orthogonal to :math:`\mathbf 1`), so it is
    :math:`\Lambda(\mu)` with :math:`\mu_{kj} = -\Lambda_{kj}`, and
    :math:`\sigma_{\max}(D^{-1/2}\Lambda) = 1`. Its off-diagonal entries are nonpositive
    (checked here at every call: it is what the certified ``gap`` says, and it held at
    every one of thousands of random counts tried), so :math:`\mu \ge 0` and
    :math:`\sum\mu = \langle\Lambda, P\rangle = \lVert D^{1/2}P\rVert_*`: zero duality
    gap. ``W`` and ``H`` are the balanced factors of :math:`D^{1/2}P`.

    Which diagonal. With the feature penalty summed over samples, as here, the Gram is
    :math:`(P\operatorname{diag}(n)P)^{1/2}`. Averaging it over samples
    (:math:`\tfrac{1}{2N}\sum_i\lVert h_i\rVert^2`) replaces ``n`` by :math:`\pi = n/N`:
    :math:`(P\operatorname{diag}(\pi)P)^{1/2}`, the same Gram divided by :math:`\sqrt N`, so
    the angles are those of either and only the scale differs.

    Parameters
    ----------
    counts : array_like, shape (K,)
        Positive sample counts, ``K >= 2``.

    Returns
    -------
    SeliGeometry

    References
    ----------
    Thrampoulidis, Kini, Vakilian, Behnia, "Imbalance trouble: revisiting neural-collapse
    geometry", NeurIPS 2022.
    """
    counts = margin_counts(counts)
    K = counts.size
    P = np.eye(K) - 1.0 / K
    root = np.sqrt(counts)
    U, S, Vt = np.linalg.svd(root[:, None] * P)
    r = K - 1
    # the dual: the norm's subgradient at P, D^(1/2) U_r V_r^T, read as multipliers
    bound = max_margin_bound(counts, P, [polar_multipliers(counts, P)])
    F_W = (Vt[:r].T * S[:r]) @ Vt[:r]
    F_H = (U[:, :r] * S[:r]) @ U[:, :r].T / np.outer(root, root)
    return SeliGeometry(counts, P, F_W, F_H, bound.value, bound.dual, float(bound.gap))
