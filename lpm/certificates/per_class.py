r"""The certificate of per-class budgets: a Lagrangian dual bound for the SDP whose
budgets bind every class (no nuclear-norm form exists for them)."""

from __future__ import annotations

import math

import numpy as np

from ..model.logits import DenseLogits
from ..model.model import Model
from .kinds import EPS, Bound, Certificate


def fit_budgets(H, W, model: Model):
    """Scale rows (per-class) or the whole matrix (average) into the budgets, so that the
    certified point is feasible despite the solver's tolerance."""
    if model.constraint == "average":
        for A, E in ((H, model.E_H), (W, model.E_W)):
            total = float((A * A).sum())
            if total > model.K * E:
                A *= math.sqrt(model.K * E / total)
    else:
        for A, E in ((H, model.E_H), (W, model.E_W)):
            n2 = (A * A).sum(axis=1)
            A *= np.sqrt(np.minimum(1.0, E / np.maximum(n2, 1e-300)))[:, None]
    return H, W


class PerClassDual(Certificate):
    r"""Lagrangian dual certificate of the SDP with per-class budgets.

    With :math:`F(X) = f(X_{HW})` and the feasible set
    :math:`C = \{X \succeq 0,\ \operatorname{diag} X_{HH} \le E_H,\ \operatorname{diag}
    X_{WW} \le E_W\}` (budget vector ``e``), the gradient of ``F`` in the symmetric
    ``X`` is :math:`S = \begin{pmatrix}0 & G/2\\ G^\top/2 & 0\end{pmatrix}`,
    :math:`G = \nabla f(Z)`. For any :math:`\mu \ge 0` with
    :math:`S + \operatorname{Diag}(\mu) \succeq 0` and any :math:`Y \in C`,
    :math:`\langle S, Y\rangle = \langle S + \operatorname{Diag}\mu, Y\rangle - \sum_i \mu_i
    Y_{ii} \ge -\mu^\top e`, so convexity gives, for a feasible ``X``,

    .. math:: F(X) - F^\star \le \langle G, Z\rangle + \mu^\top e .

    The bound depends on ``X`` only through ``Z`` (and needs factors ``H, W`` with
    ``Z = H W^T`` inside the budgets, which make ``X`` feasible). It bounds the distance to
    the SDP's optimum, which is at most the LPM's optimum at any feature dimension ``p``,
    so it is a valid certificate for every ``p`` (and can only be small when ``p`` is
    large enough for the relaxation to be exact).

    Candidates for :math:`\mu`: the solver's dual values of the diagonal constraints,
    when given, and the multipliers that the point's own stationarity conditions imply,
    :math:`\mu_{H,k} = -\langle (G W)_k, h_k\rangle / (2\lVert h_k\rVert^2)` (and likewise
    for ``W``), clipped at 0. Each is raised uniformly by :math:`\lvert\lambda_{\min}\rvert`
    of :math:`S + \operatorname{Diag}\mu` plus a margin covering the eigenvalue solver's
    rounding, which makes the PSD condition hold exactly; the smaller bound is kept.

    Parameters
    ----------
    duals : ndarray, shape (2K,), optional
        Solver multipliers of ``diag X_HH <= E_H`` then ``diag X_WW <= E_W``.
    """

    kind = "per_class_dual"

    def __init__(self, duals=None):
        self.duals = None if duals is None else np.asarray(duals, dtype=float).ravel()

    def bound(self, model, logits, factors):
        if factors is None:
            raise ValueError("the per-class certificate needs the factors (H, W)")
        H, W = fit_budgets(factors[0].copy(), factors[1].copy(), model)
        K = model.K
        Z = DenseLogits(H @ W.T)
        value, grad = Z.value_and_gradient(model)
        G = grad.Z
        S = np.zeros((2 * K, 2 * K))
        S[:K, K:] = 0.5 * G
        S[K:, :K] = 0.5 * G.T
        budgets = np.concatenate([np.full(K, model.E_H), np.full(K, model.E_W)])
        candidates = [stationarity_multipliers(G, H, W)]
        if self.duals is not None and self.duals.size == 2 * K:
            candidates.append(np.clip(np.nan_to_num(self.duals), 0.0, None))
        best = None
        for mu in candidates:
            mu = psd_lift(S, mu)
            dual_term = float(mu @ budgets)
            if best is None or dual_term < best[0]:
                best = (dual_term, mu)
        dual_term, mu = best
        inner = float(np.vdot(G, Z.Z))
        nuc = Z.nuclear_norm()
        return Bound(
            logits=Z,
            factors=(H, W),
            value=float(value),
            gap=inner + dual_term,
            magnitude=abs(inner) + abs(dual_term) + abs(value),
            multiplier=grad.spectral_norm(),
            residual=nuc - model.tau,
        )

    def budget_residuals(self, model, H, W):
        return (
            float((W * W).sum(axis=1).max() - model.E_W),
            float((H * H).sum(axis=1).max() - model.E_H),
        )


def stationarity_multipliers(G: np.ndarray, H: np.ndarray, W: np.ndarray) -> np.ndarray:
    r"""Multipliers of the per-class budgets implied by stationarity of ``(H, W)``:
    :math:`(G/2) W + \operatorname{Diag}(\mu_H) H = 0` and
    :math:`(G^\top/2) H + \operatorname{Diag}(\mu_W) W = 0`, solved row by row in least
    squares and clipped at 0 (shape (2K,): features, then classifiers)."""
    out = []
    for A, B in ((H, G @ W), (W, G.T @ H)):
        n2 = (A * A).sum(axis=1)
        num = -(A * B).sum(axis=1)
        out.append(np.where(n2 > 0, num / (2.0 * np.where(n2 > 0, n2, 1.0)), 0.0))
    return np.clip(np.concatenate(out), 0.0, None)


def psd_lift(S: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Raise ``mu`` uniformly until ``S + Diag(mu)`` is PSD, with a margin covering the
    rounding of the eigenvalue computation (backward stable: the computed eigenvalues are
    those of a matrix within a few ``n eps ||M||_2`` of ``M``)."""
    M = S + np.diag(mu)
    eig = np.linalg.eigvalsh(M)
    lam_min = float(eig[0])
    margin = 4.0 * M.shape[0] * EPS * float(np.abs(eig).max())
    return mu + max(0.0, margin - lam_min)
