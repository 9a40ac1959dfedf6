r"""Certificate kinds: the convex program a solution is certified against, and the bound
on its suboptimality that each computes at a point.

A solution is certified against a convex program whose optimal value equals the LPM's
(or lower-bounds it). Each kind computes, at the returned point, the convex objective
and an upper bound on its distance to the optimum, from the point alone:

* :class:`NuclearBall` (default): :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le
  \tau`, bounded by the Frank--Wolfe gap :math:`\langle \nabla f, Z\rangle +
  \tau\,\sigma_{\max}(\nabla f)`.
* :class:`NuclearPenalty`: :math:`\min F(Z) = f(Z) + \beta \lVert \Omega Z\rVert_*`
  (weight decay), bounded by a Frank--Wolfe gap over a ball that must hold the optimum.
* :class:`lpm.certificates.PerClassDual`: the SDP with per-class budgets, bounded by a
  Lagrangian dual certificate.
* :class:`NoCertificate`: the feature dimension is below the one at which the convex
  program is exact; the gap is ``inf``.

:func:`lpm.certificates.certify` turns a bound into a :class:`lpm.Solution`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model.logits import DenseLogits, GroupedLogits, Logits
from ..model.model import Model
from ..model.unconstrained import unconstrained_minimizer
from .dual_point import lower_bound

EPS = np.finfo(float).eps


@dataclass
class Bound:
    """What a certificate kind computes at a point.

    Attributes
    ----------
    logits : Logits
        The certified point (made feasible if the solver left it slightly outside).
    factors : tuple or None
        ``(H, W)``, scaled along with the logits.
    value : float
        Objective of the convex program at ``logits``.
    gap : float
        Upper bound on ``value - optimum`` before the rounding allowance (``inf`` when
        no certificate applies).
    magnitude : float
        Size of the terms summed into ``value`` and ``gap`` (sets the rounding allowance).
    multiplier : float
        See :attr:`Solution.multiplier`.
    residual : float
        :attr:`Residuals.nuclear`.
    note : str
        Appended to the solution's message.
    gradient : Logits or None
        The gradient of the loss at ``logits``, when the kind computed it (reused by the
        exact collapse report).
    """

    logits: Logits
    factors: tuple | None
    value: float
    gap: float
    magnitude: float
    multiplier: float
    residual: float
    note: str = ""
    gradient: Logits | None = None


def rounding_unit(logits: Logits) -> float:
    """What rounding can hide in a bound on ``logits``, per unit of the size of its terms:
    they are sums of O(K^2) products (dense logits) or O(G^2) (grouped), each accurate to
    a few ulps of its magnitude (:func:`lpm.certificates.rounding_allowance`)."""
    size = logits.K if isinstance(logits, DenseLogits) else logits.groups.G + 1
    return 8 * size * EPS


def row_scaled(logits: Logits, omega: np.ndarray) -> Logits:
    r""":math:`\Omega Z` with :math:`\Omega` = diag(omega), omega of shape (K,); for grouped
    logits omega must be constant on each group."""
    omega = np.asarray(omega, dtype=float)
    if isinstance(logits, DenseLogits):
        return DenseLogits(omega[:, None] * logits.Z)
    og = omega[logits.groups.first]
    return GroupedLogits(logits.groups, og[:, None] * logits.M, og * logits.s)


def slack_note(model: Model) -> str:
    """A note when the budget is slack: exactly when the least-norm unconstrained
    minimizer of the loss fits in the nuclear-norm ball
    (:func:`lpm.model.unconstrained_minimizer`)."""
    Zu = unconstrained_minimizer(model.groups, model.loss)
    if Zu is None or Zu.nuclear_norm() > model.tau:
        return ""
    return (
        "the budget is slack (the loss's unconstrained minimizer fits in it): many (W, H) "
        "factor the optimal logits and the W, H returned are one choice among them"
    )


class Certificate:
    """A certificate kind: the convex program a solution's gap refers to."""

    #: short name stored in :attr:`Solution.certificate`
    kind: str = ""
    #: positive per-class weights of the norm (``None``: all 1); they define the balanced
    #: factorization of :meth:`Solution.factors`
    omega: np.ndarray | None = None

    def bound(self, model: Model, logits: Logits, factors) -> Bound:
        raise NotImplementedError

    def budget_residuals(self, model: Model, H: np.ndarray, W: np.ndarray):
        """``(E_W, E_H)`` of :class:`Residuals` for the factors ``H, W``."""
        K = model.K
        return float((W * W).sum() / K - model.E_W), float((H * H).sum() / K - model.E_H)


class NuclearBall(Certificate):
    r"""Frank--Wolfe gap of :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le \tau`:

    .. math:: \mathrm{gap} = \langle\nabla f(Z), Z\rangle + \tau\,\sigma_{\max}(\nabla f(Z))
              \;\ge\; f(Z) - f^\star

    for every feasible ``Z`` (``f`` is convex and :math:`\min_{\lVert S\rVert_*\le\tau}
    \langle G, S\rangle = -\tau\,\sigma_{\max}(G)`). A point slightly outside the ball
    (solver tolerance) is scaled into it first.

    Parameters
    ----------
    dual_point : Logits, optional
        Any logits :math:`Z'` (feasible or not): the gap is then the smaller of the
        Frank--Wolfe gap and :math:`f(Z) - L(Z')`, with :math:`L(Z') = f(Z') -
        \langle\nabla f(Z'), Z'\rangle - \tau\sigma_{\max}(\nabla f(Z')) \le f^\star`
        (:mod:`lpm.certificates.dual_point`; the Frank--Wolfe gap is the case
        :math:`Z' = Z`). A solver passes the point it built to make the bound tight; the
        bound is computed here, so it holds whatever that point is.
    """

    kind = "nuclear_ball"

    def __init__(self, dual_point: Logits | None = None):
        self.dual_point = dual_point

    def bound(self, model, logits, factors):
        tau = model.tau
        nuc = logits.nuclear_norm()
        if nuc > tau:
            logits = logits.scaled(tau / nuc)
            nuc = logits.nuclear_norm()
            if factors is not None:
                f = math.sqrt(tau / max(nuc, 1e-300))
                factors = (factors[0] * f, factors[1] * f)
        value, grad = logits.value_and_gradient(model)
        inner = grad.inner(logits)
        sigma = grad.spectral_norm()
        gap, magnitude = float(inner + tau * sigma), abs(inner) + tau * sigma + abs(value)
        note = slack_note(model)
        if self.dual_point is not None:
            low, size = lower_bound(model, self.dual_point)
            # the better bound once rounding is allowed for (a far dual point has large
            # terms, whose rounding can outweigh what its bound gains)
            unit = rounding_unit(logits)
            if value - low + unit * (size + abs(value)) < gap + unit * magnitude:
                at_dual = f"the gap is the bound at the dual point (Frank-Wolfe gap {gap:.3g})"
                note = f"{note}; {at_dual}" if note else at_dual
                gap, magnitude = float(value - low), size + abs(value)
        return Bound(
            logits=logits,
            factors=factors,
            value=float(value),
            gap=gap,
            magnitude=magnitude,
            multiplier=float(sigma),
            residual=nuc - tau,
            note=note,
            gradient=grad,
        )


class NuclearPenalty(Certificate):
    r"""Certificate of the penalized (weight-decay) form
    :math:`\min_Z F(Z) = f(Z) + \beta\lVert \Omega Z\rVert_*`, :math:`\Omega` = diag(omega).

    Derivation. Every loss here is :math:`\ge 0`, so an optimum :math:`Z^\star` has
    :math:`\beta\lVert\Omega Z^\star\rVert_* = F^\star - f(Z^\star) \le \min(f(0), F(Z))`
    for any ``Z``: it lies in the ball :math:`B = \{S : \lVert \Omega S\rVert_* \le \rho\}`,
    :math:`\rho = \min(f(0), F(Z))/\beta`. ``f`` is convex, so for every ``S``,
    :math:`F(S) \ge f(Z) + \langle \nabla f(Z), S - Z\rangle + \beta\lVert\Omega S\rVert_*`.
    Over ``B`` (write ``S = r U`` with :math:`\lVert\Omega U\rVert_* = 1`, :math:`0 \le r
    \le \rho`; the dual norm of :math:`\lVert\Omega\,\cdot\rVert_*` is
    :math:`\sigma_{\max}(\Omega^{-1}\,\cdot)`),
    :math:`\min_{S\in B} \langle\nabla f, S\rangle + \beta\lVert\Omega S\rVert_* =
    -\rho\max(0, \sigma_{\max}(\Omega^{-1}\nabla f) - \beta)`. Hence, for every ``Z``,

    .. math:: F(Z) - F^\star \le \langle \nabla f(Z), Z\rangle + \beta\lVert\Omega Z\rVert_*
              + \rho\,\max\big(0,\ \sigma_{\max}(\Omega^{-1}\nabla f(Z)) - \beta\big),

    which vanishes at the optimum (there :math:`-\nabla f \in \beta\,\partial\lVert\Omega
    Z^\star\rVert_*`).

    Parameters
    ----------
    beta : float
        The penalty weight :math:`\sqrt{\lambda_W \lambda_H} > 0`.
    omega : ndarray, shape (K,), optional
        Positive row weights (:math:`\sqrt{\pi_k}` for the per-sample penalty).
    """

    kind = "nuclear_penalty"

    def __init__(self, beta: float, omega: np.ndarray | None = None):
        self.beta = float(beta)
        self.omega = None if omega is None else np.asarray(omega, dtype=float)

    def bound(self, model, logits, factors):
        value, grad = logits.value_and_gradient(model)
        weighted = logits if self.omega is None else row_scaled(logits, self.omega)
        dual = grad if self.omega is None else row_scaled(grad, 1.0 / self.omega)
        nuc = weighted.nuclear_norm()
        inner = grad.inner(logits)
        sigma = dual.spectral_norm()
        F = value + self.beta * nuc
        f0, _ = logits.scaled(0.0).value_and_gradient(model)
        rho = max(min(f0, F), 0.0) / self.beta
        return Bound(
            logits=logits,
            factors=factors,
            value=float(F),
            gap=float(inner + self.beta * nuc + rho * max(0.0, sigma - self.beta)),
            magnitude=abs(inner) + self.beta * nuc + rho * sigma + abs(F) + abs(f0),
            multiplier=float(sigma),
            residual=-math.inf,
        )

    def budget_residuals(self, model, H, W):
        return None, None


class NoCertificate(Certificate):
    """No certificate applies (the feature dimension is below the exact one): the gap is
    ``inf`` and the solution is never a success. The objective and multiplier are those
    of ``inner``, the kind that would apply at a large enough dimension."""

    kind = "none"

    def __init__(self, reason: str, inner: Certificate | None = None):
        self.reason = reason
        self.inner = inner or NuclearBall()
        self.omega = self.inner.omega

    def bound(self, model, logits, factors):
        b = self.inner.bound(model, logits, factors)
        b.gap = math.inf
        b.note = f"no certificate: {self.reason}"
        return b

    def budget_residuals(self, model, H, W):
        return self.inner.budget_residuals(model, H, W)
