r"""The LPM with weight decay in place of norm budgets (the model; its solvers are in
:mod:`lpm.solvers.penalized`).

.. math::

    \min_{W, H}\; \sum_k \pi_k L(W h_k, k) + \frac{\lambda_W}{2}\lVert W\rVert_F^2
    + \frac{\lambda_H}{2}\sum_k c_k \lVert h_k\rVert^2 ,

with :math:`c_k = 1` (class-mean penalty) or :math:`c_k = \pi_k` (per-sample penalty).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as check
from .losses import Loss
from .model import Model
from .precision import safe_product_sqrt, safe_ratio_sqrt

#: smallest ``lambda_W lambda_H`` accepted: measured, the reduced Newton solver converges
#: down to ``sqrt(lambda_W lambda_H) = 1e-80`` and fails from 1e-90 on; this bound
#: (``sqrt = 1e-50``) keeps thirty decades of margin
MIN_PENALTY_PRODUCT = 1e-100


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
        Positive, finite weight-decay coefficients, with ``lambda_W * lambda_H`` at least
        :data:`MIN_PENALTY_PRODUCT` (``1e-100``).
    per_sample_penalty : bool
        Penalize each sample's feature (:math:`c_k = \pi_k`) instead of each class mean.
    bias : bool
        Logits :math:`W h + b` with a classifier bias ``b`` (default: none).
    lambda_b : float
        With ``bias``: its weight decay :math:`\tfrac{\lambda_b}{2}\lVert b\rVert^2`
        (``0``: a free bias; every class then needs a positive loss weight).
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
        bias: bool = False,
        lambda_b: float = 0.0,
    ):
        base = Model(
            counts,
            loss=loss,
            class_weights=class_weights,
            minority=minority,
            loss_params=loss_params,
        )
        self._adopt(base, lambda_W, lambda_H, per_sample_penalty, bias, lambda_b)

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
        bias: bool = False,
        lambda_b: float = 0.0,
    ) -> PenalizedModel:
        """The two-group model (see :meth:`lpm.Model.two_group`) with weight decay."""
        base = Model.two_group(
            K_A, K_B, R, loss=loss, oversample=oversample, loss_params=loss_params
        )
        model = cls.__new__(cls)
        model._adopt(base, lambda_W, lambda_H, per_sample_penalty, bias, lambda_b)
        return model

    def _adopt(
        self, base: Model, lambda_W, lambda_H, per_sample_penalty, bias=False, lambda_b=0.0
    ) -> None:
        self.__dict__.update(base.__dict__)
        self.lambda_W = check.positive_real("lambda_W", lambda_W)
        self.lambda_H = check.positive_real("lambda_H", lambda_H)
        product = self.lambda_W * self.lambda_H
        if not product >= MIN_PENALTY_PRODUCT:
            raise ValueError(
                f"lambda_W * lambda_H must be at least {MIN_PENALTY_PRODUCT:g}: below, the "
                f"optimal logits grow out of the reach of the solvers in double precision; "
                f"got lambda_W={self.lambda_W:g}, lambda_H={self.lambda_H:g} "
                f"(product {check.product_text(self.lambda_W, self.lambda_H)})"
            )
        self.per_sample_penalty = check.flag("per_sample_penalty", per_sample_penalty)
        if self.per_sample_penalty and not np.all(self.groups.weights > 0):
            raise ValueError(
                "per_sample_penalty=True needs a positive loss weight for every class (the "
                "penalty weights features by them); R = inf gives the minority weight 0"
            )
        self.bias = check.flag("bias", bias)
        self.lambda_b = check.real_at_least("lambda_b", lambda_b, 0.0)
        if self.lambda_b > 0 and not self.bias:
            raise ValueError(f"lambda_b={lambda_b!r} is the decay of a bias: give bias=True too")
        if self.bias and self.lambda_b == 0 and not np.all(self.pi > 0):
            raise ValueError(
                "a free bias (lambda_b=0) needs a positive loss weight for every class (a class "
                "of weight 0 would push its bias to -inf); R = inf gives the minority weight 0"
            )
        for name in ("E_W", "E_H"):  # the class properties below say why there are none
            self.__dict__.pop(name, None)
        self.constraint = "penalty"
        self.label = f"{base.label}, lambda_W={self.lambda_W:g}, lambda_H={self.lambda_H:g}" + (
            ", per-sample penalty" if self.per_sample_penalty else ""
        )
        if self.bias:
            self.label += f", bias decay {self.lambda_b:g}" if self.lambda_b else ", free bias"

    @property
    def beta(self) -> float:
        r""":math:`\sqrt{\lambda_W\lambda_H}`."""
        return safe_product_sqrt(self.lambda_W, self.lambda_H)

    @property
    def omega(self) -> np.ndarray:
        """Row weights of the nuclear norm: ``sqrt(pi)`` (per-sample penalty) or ones."""
        if self.per_sample_penalty:
            return np.sqrt(self.pi)
        check.memory((self.K,), "the row weights of the norm", None)
        return np.ones(self.K)

    @property
    def group_omega(self) -> np.ndarray:
        """:attr:`omega` of one class of each group (G,), with no per-class array."""
        w = self.groups.weights
        return np.sqrt(w) if self.per_sample_penalty else np.ones(w.size)

    @property
    def scale(self) -> float:
        r""":math:`c^2 = \sqrt{\lambda_W/\lambda_H}`: features are ``c`` times, classifiers
        ``1/c`` times the balanced factors of :math:`\Omega Z` (features then divided by
        :math:`\Omega`)."""
        return safe_ratio_sqrt(self.lambda_W, self.lambda_H)

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
        logit = "W h_k + b" if self.bias else "W h_k"
        decay = " + lambda_b/2 ||b||^2" if self.lambda_b else ""
        return (
            f"penalized LPM ({self.label}, loss={self.loss!r}): minimize sum_k pi_k "
            f"L({logit}, k) + lambda_W/2 ||W||_F^2 + lambda_H/2 {who}{decay} over W, H in "
            f"R^(K x p), K={self.K}" + (", b in R^K" if self.bias else "")
        )

    def __repr__(self) -> str:
        return f"PenalizedModel({self.label}, loss={self.loss!r})"
