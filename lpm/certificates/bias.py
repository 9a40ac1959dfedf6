r"""Weight decay with a classifier bias: logits :math:`W h + b`, the certificate.

The program is, over the logits :math:`Z = HW^\top` and the bias :math:`b \in
\mathbb R^K`,

.. math:: \min_{Z, b}\ F(Z, b) = f(Z + \mathbf 1 b^\top) + \beta\lVert\Omega Z\rVert_*
          + \tfrac{\lambda_b}{2}\lVert b\rVert^2 ,

with :math:`\lambda_b > 0` (a decayed bias) or :math:`\lambda_b = 0` (a free bias).

Derivation of the bound. Let :math:`G = \nabla f(Y)` at :math:`Y = Z + \mathbf 1b^\top`
and :math:`g = G^\top\mathbf 1` (column sums: the gradient in ``b``). Convexity of ``f``
gives, for every :math:`(S, c)`, :math:`F(S, c) \ge f(Y) + \langle G, S - Z\rangle +
\langle g, c - b\rangle + \beta\lVert\Omega S\rVert_* + \tfrac{\lambda_b}2\lVert c\rVert^2`.
The ``S`` part is bounded as in :class:`lpm.certificates.NuclearPenalty`: an optimum has
:math:`\beta\lVert\Omega Z^\star\rVert_* \le \bar F = \min(f(0), F(Z, b))` (``f`` and the
bias penalty are :math:`\ge 0`, and :math:`F(0, 0) = f(0)`), so over the ball
:math:`\rho = \bar F/\beta` it is at least :math:`-\rho\max(0, \sigma_{\max}(\Omega^{-1}G) -
\beta)`. The ``c`` part:

* decayed bias: :math:`\min_c \langle g, c\rangle + \tfrac{\lambda_b}2\lVert c\rVert^2 =
  -\lVert g\rVert^2/(2\lambda_b)`, so the bias adds
  :math:`\lVert g + \lambda_b b\rVert^2/(2\lambda_b)` to the gap;
* free bias: an optimal bias lies in a box :math:`\lVert b^\star\rVert_\infty \le D`, so
  :math:`\langle g, b^\star\rangle \ge -D\lVert g\rVert_1` and the bias adds
  :math:`\langle g, b\rangle + D\lVert g\rVert_1`. The box, from :math:`f(Y^\star) \le \bar F`
  and :math:`\lVert Z^\star\rVert_2 \le \lVert\Omega Z^\star\rVert_*/\omega_{\min} \le
  \bar F/(\beta\omega_{\min})`: for cross-entropy and label smoothing (shift-invariant, so
  some optimum has :math:`\sum_j b^\star_j = 0`), each row's loss is at least
  :math:`t_{own}(y_j - y_k)` (:math:`-\log p_k \ge y_j - y_k`, own target weight
  :math:`t_{own} = 1 - \alpha + \alpha/K`), hence :math:`b^\star_j - b^\star_k \le
  \bar F/(t_{own}\pi_{\min}) + 2\bar F/(\beta\omega_{\min}) = D` for all ``j, k``, and a
  centered :math:`b^\star` has :math:`\lvert b^\star_j\rvert \le D`; for the squared losses,
  :math:`\lvert y_{kj} - \text{target}\rvert \le \sqrt{2\bar F/\pi_k}` gives
  :math:`\lvert b^\star_j\rvert \le \sqrt{2\bar F/\pi_{\max}} + 1 + \bar F/(\beta
  \omega_{\min}) = D`.

So, for every ``(Z, b)``,

.. math:: F(Z, b) - F^\star \le \langle G, Z\rangle + \beta\lVert\Omega Z\rVert_*
          + \rho\max(0, \sigma_{\max}(\Omega^{-1}G) - \beta) + (\text{bias term}),

which vanishes at the optimum (there :math:`g = -\lambda_b b`, or :math:`g = 0`).
"""

from __future__ import annotations

import math

import numpy as np

from ..model.logits import DenseLogits, GroupedLogits, Logits
from ..model.losses import CrossEntropy, LabelSmoothing, SquaredLoss
from .kinds import Bound, NuclearPenalty, row_scaled


def with_bias(logits: Logits, bias: np.ndarray) -> Logits:
    r""":math:`Z + \mathbf 1 b^\top` for a bias ``b`` of shape (K,) (constant on groups for
    grouped logits: :math:`M_{gh} \mathrel{+}= \sqrt{K_gK_h}\,b_h`)."""
    bias = np.asarray(bias, float)
    if isinstance(logits, DenseLogits):
        return DenseLogits(logits.Z + bias[None, :])
    g = logits.groups
    q = np.sqrt(g.sizes.astype(float))
    return GroupedLogits(g, logits.M + np.outer(q, q * bias[g.first]), logits.s)


def column_sums(grad: Logits) -> np.ndarray:
    r""":math:`G^\top\mathbf 1`, shape (K,): the gradient in the bias."""
    if isinstance(grad, DenseLogits):
        return grad.Z.sum(axis=0)
    g = grad.groups
    q = np.sqrt(g.sizes.astype(float))
    return ((q @ grad.M) / q)[g.labels]


def free_bias_box(model, F_bar: float, beta: float, omega_min: float) -> float:
    r"""``D`` with :math:`\lVert b^\star\rVert_\infty \le D` for an optimal free bias (see the
    module docstring). ValueError for a loss without this bound."""
    loss = model.loss
    pi = np.asarray(model.groups.weights, float)
    spread = F_bar / (beta * omega_min)
    if type(loss) in (CrossEntropy, LabelSmoothing):
        alpha = getattr(loss, "alpha", 0.0)
        own = 1.0 - alpha + alpha / model.K
        return F_bar / (own * pi.min()) + 2.0 * spread
    if type(loss) is SquaredLoss:
        return math.sqrt(2.0 * F_bar / pi.max()) + 1.0 + spread
    raise ValueError(
        f"a free bias (lambda_b = 0) is certified for cross-entropy, label smoothing and the "
        f"squared losses, got {loss!r}; give lambda_b > 0"
    )


class NuclearPenaltyBias(NuclearPenalty):
    r"""Certificate of weight decay with a bias (see :mod:`lpm.certificates.bias`):
    :math:`\min F(Z, b) = f(Z + \mathbf 1b^\top) + \beta\lVert\Omega Z\rVert_* +
    \tfrac{\lambda_b}2\lVert b\rVert^2` at the point ``(Z, b)``; ``bias`` is ``b``.

    Parameters
    ----------
    beta : float
    omega : ndarray, shape (K,), optional
    bias : ndarray, shape (K,)
        The bias of the certified point.
    lambda_b : float
        Its weight decay (0: free).
    """

    kind = "nuclear_penalty_bias"

    def __init__(self, beta: float, omega, bias, lambda_b: float):
        super().__init__(beta, omega)
        self.bias = np.asarray(bias, float).copy()
        self.lambda_b = float(lambda_b)

    def bound(self, model, logits, factors):
        b, lam = self.bias, self.lambda_b
        value, grad = with_bias(logits, b).value_and_gradient(model)
        weighted = logits if self.omega is None else row_scaled(logits, self.omega)
        dual = grad if self.omega is None else row_scaled(grad, 1.0 / self.omega)
        nuc = weighted.nuclear_norm()
        inner = grad.inner(logits)
        sigma = dual.spectral_norm()
        penalty = 0.5 * lam * float(b @ b)
        F = value + self.beta * nuc + penalty
        f0, _ = logits.scaled(0.0).value_and_gradient(model)
        F_bar = max(min(f0, F), 0.0)
        rho = F_bar / self.beta
        g = column_sums(grad)
        if lam > 0:
            r = g + lam * b
            term = float(r @ r) / (2.0 * lam)
            size = float(g @ g) / (2.0 * lam) + abs(float(g @ b)) + penalty
        else:
            omega_min = 1.0 if self.omega is None else float(self.omega.min())
            D = free_bias_box(model, F_bar, self.beta, omega_min)
            term = float(g @ b) + D * float(np.abs(g).sum())
            size = abs(float(g @ b)) + D * float(np.abs(g).sum())
        return Bound(
            logits=logits,
            factors=factors,
            value=float(F),
            gap=float(inner + self.beta * nuc + rho * max(0.0, sigma - self.beta) + term),
            magnitude=abs(inner) + self.beta * nuc + rho * sigma + abs(F) + abs(f0) + size,
            multiplier=float(sigma),
            residual=-math.inf,
        )
