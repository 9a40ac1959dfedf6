r"""The margin of Minority Collapse in the two-group model: with the minority held
collapsed (:math:`s_B = 0`), the KKT condition left is
:math:`\varphi(R) = \lambda(R) - \gamma_B(R) \ge 0` (:mod:`lpm.analysis.collapse`), whose
root in :math:`\log R` is the threshold :math:`R_0` (:mod:`lpm.analysis.threshold`)."""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as check
from ..certificates import SolverError
from ..model.imbalance import two_group_weights
from ..model.losses import get_loss
from ..model.model import Model, bind_loss
from ..solvers import two_groups
from ..solvers.reduced import solve_constrained


def group_weights(K_A, K_B, R):
    """(n, 2) group weights of the two-group model over the ratios ``R``."""
    return np.column_stack(two_group_weights(K_A, K_B, R))


def two_group_loss(loss, K_A: int, K_B: int, R: float):
    """``loss`` for the two-group model at ``R``: bound to its counts (``R`` for the
    majority, 1 for the minority) when its parameters depend on them
    (:mod:`lpm.model.adjusted`), else itself. ValueError when the bound coefficients
    are not the same on all majority and on all minority classes (explicit per-class
    vectors), which the two-group program needs."""
    if not loss.class_dependent:
        return loss
    bound = bind_loss(loss, np.repeat([R, 1.0], [K_A, K_B]))
    table = bound.class_table()
    if np.any(table[:K_A] != table[0]) or np.any(table[K_A:] != table[K_A]):
        raise ValueError(
            f"loss {loss!r} must have the same coefficients on the {K_A} majority and on "
            f"the {K_B} minority classes for the two-group model"
        )
    return bound


def margins(K_A, K_B, R, E_W, E_H, loss):
    """``(phi, results)``: the margin at each ``R`` (NaN where the restricted solve did
    not converge) and the solver results."""
    loss = get_loss(loss)
    sizes = np.array([K_A, K_B])
    weights = group_weights(K_A, K_B, R)
    tau = (K_A + K_B) * math.sqrt(E_W * E_H)
    if loss.class_dependent:  # one loss per R
        results = [
            solve_constrained(
                sizes, w[None], two_group_loss(loss, K_A, K_B, r), tau, force_zero=[1]
            )[0]
            for r, w in zip(R, weights)
        ]
    else:
        results = solve_constrained(sizes, weights, loss, tau, force_zero=[1])
    # d Lagrangian / d s_B = (K_B - 1)(lambda - gamma_B)
    phi = np.array([r.kkt_slack[1] / (K_B - 1) if r.converged else math.nan for r in results])
    return phi, results


def checked_args(K_A, K_B, E_W, E_H, loss):
    """The arguments checked as the two-group model checks them (``K_B >= 2``: one
    minority class cannot collapse)."""
    K_B = check.class_count("K_B", K_B, minimum=2)
    model = Model.two_group(K_A, K_B, 1.0, E_W, E_H, loss=loss)
    return model.two_group_params[0], K_B, model.E_W, model.E_H


def collapse_margin(
    K_A: int, K_B: int, R, E_W: float = 1.0, E_H: float = 1.0, *, loss="ce"
) -> np.ndarray:
    r""":math:`\varphi(R) = \lambda - \gamma_B` at the optimum with the minority held
    collapsed: >= 0 exactly when Minority Collapse is optimal. Vectorized over ``R``.

    Raises
    ------
    SolverError
        When the restricted program is not solved at some ``R`` (the message names it).
    """
    K_A, K_B, E_W, E_H = checked_args(K_A, K_B, E_W, E_H, loss)
    R = np.array([check.positive_real("R", r, allow_inf=True) for r in check.values("R", R)])
    phi, results = margins(K_A, K_B, R, E_W, E_H, loss)
    bad = np.flatnonzero(np.isnan(phi))
    if bad.size:
        i = int(bad[0])
        raise SolverError(
            f"the collapsed-restricted solve failed at R={R[i]:g}: {results[i].message}"
        )
    return phi


#: ``x = log R`` of the largest ratio the search considers (``R = 1e307``)
X_MAX = 307 * math.log(10.0)


class Margin:
    r""":math:`\varphi(x)` at :math:`R = e^x` for one ``(K_A, K_B, E_W E_H, loss)``, one
    restricted solve per evaluation, warm-started from the nearest point solved (or from
    ``start``; ``cold=True``: from the solver's own start, the canonical evaluations).

    The search works on :math:`\psi = \log(1 + \varphi/\pi_B)`, of the sign of
    :math:`\varphi`: for cross-entropy :math:`\psi = \log(\lambda (K_A R + K_B))`, about
    linear in :math:`\log R` where :math:`\varphi` itself spans hundreds of decades. For
    a class-dependent loss (:mod:`lpm.model.adjusted`, bound to the counts at each ``R``)
    :math:`\psi = \log(\lambda/\gamma_B)`, of the same sign and shape.
    """

    def __init__(self, K_A, K_B, EWEH, loss):
        self.K_A, self.K_B, self.EWEH, self.loss = K_A, K_B, EWEH, loss
        self.sizes = np.array([K_A, K_B])
        self.tau = (K_A + K_B) * math.sqrt(EWEH)
        self.kernel = two_groups.handles(loss)
        self.warm: dict[float, np.ndarray] = {}  # x -> final solver coordinates
        self.cold: dict[float, tuple] = {}
        self.below: float | None = None  # largest x known with phi < 0

    def __call__(self, x: float, cold: bool = False, start=None):
        """``(psi, phi, result)`` at ``x``."""
        if cold and x in self.cold:
            return self.cold[x]
        R = math.exp(x) if x != math.inf else math.inf
        weights = group_weights(self.K_A, self.K_B, R)
        loss = two_group_loss(self.loss, self.K_A, self.K_B, R)
        try:
            if self.kernel:
                if start is None and not cold and self.warm:
                    start = self.warm[min(self.warm, key=lambda y: abs(y - x))]
                res = two_groups.solve_two_groups(
                    self.sizes, weights, self.loss, [self.tau], None, force_zero=[1], starts=[start]
                )[0]
            else:
                res = solve_constrained(self.sizes, weights, loss, self.tau, force_zero=[1])[0]
        except SolverError as exc:
            raise self.failure(R, str(exc)) from None
        if not res.converged:
            raise self.failure(R, res.message)
        phi = float(res.kkt_slack[1]) / (self.K_B - 1)
        if self.loss.class_dependent:  # log(lambda / gamma_B), gamma_B = lambda - phi > 0
            ratio = -phi / res.multiplier if res.multiplier > 0 else -math.copysign(1.0, phi)
            psi = -math.log1p(ratio) if ratio < 0.5 else -ratio
        else:
            pi_B = float(weights[0, 1])
            ratio = phi / pi_B if pi_B > 0 else math.inf
            psi = math.log1p(ratio) if ratio > -0.5 else ratio  # the sign of phi, either way
        if res.y is not None:
            self.warm[x] = res.y
        if phi < 0 and (self.below is None or x > self.below):
            self.below = x
        out = (psi, phi, res)
        if cold:
            self.cold[x] = out
        return out

    def failure(self, R: float, why: str) -> SolverError:
        below = (
            f"; the minority is not collapsed for R <= {math.exp(self.below):.6g}"
            if self.below is not None
            else ""
        )
        reason = (
            f"the {self.loss.name} loss has a finite minimizer, and the collapse test "
            f"degenerates when the norm budget goes slack as R grows"
            if self.loss.has_finite_minimizer
            else f"E_W*E_H = {self.EWEH:g} is too large for double precision"
        )
        return SolverError(
            f"R_0 not found: the collapsed-restricted program could not be solved at "
            f"R = {R:.6g} ({why}){below}; {reason}"
        )
