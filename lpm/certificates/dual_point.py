r"""A lower bound on the optimal value from any point, and a dual point that makes it tight.

For a convex, differentiable ``f`` and any logits :math:`Z'`, feasible or not,
:math:`f(Z) \ge f(Z') + \langle\nabla f(Z'), Z - Z'\rangle` for every ``Z``, and
:math:`\langle G, Z\rangle \ge -\lVert G\rVert_2\lVert Z\rVert_*`. Over the ball
:math:`\lVert Z\rVert_* \le \tau` this gives

.. math::

    f^\star \;\ge\; L(Z') = f(Z') - \langle\nabla f(Z'), Z'\rangle
    - \tau\,\sigma_{\max}(\nabla f(Z')).

At :math:`Z' = Z` (a feasible point), :math:`f(Z) - L(Z)` is the Frank--Wolfe gap. That
bound is linear in the distance to the optimum, the objective error quadratic: near the
optimum the top singular values of :math:`-\nabla f(Z)`, which are all equal to the
multiplier :math:`\lambda` at the optimum, are spread around it by the point's first-order
error, and the gap is :math:`\tau` times that spread.

:func:`newton_dual_point` moves ``Z`` to a point :math:`Z'` whose gradient has them equal.
Let :math:`U, V` span the singular vectors of ``Z``'s group block on the support (those
where :math:`u_i^\top(-G_M)v_i` is at :math:`\lambda`). The target gradient is
:math:`-\lambda UV^\top` on the support, zero between the support and its complement, and
the current gradient on the complement; on the within-group values, :math:`-\lambda` for
the groups that are not collapsed. The loss is a sum over rows, and a row's Hessian in its
slot values is :math:`\operatorname{diag}(p) - pp^\top` (``p`` the probability mass of each
slot), so the Newton step towards a change ``e`` of the row's gradient (summing to 0) is
explicit: :math:`\delta = e / p`. Two such steps make the support's singular values equal
to rounding (measured: a spread of :math:`5\cdot10^{-8}` becomes :math:`10^{-12}`, then
:math:`10^{-15}`), and :math:`f(Z) - L(Z')` is then within a small factor of the true
error: at ``K = 1000`` (848 counts), :math:`1.2\cdot10^{-7}` against an error of
:math:`6.7\cdot10^{-8}`, where the Frank--Wolfe gap is :math:`8\cdot10^{-4}`.

Nothing here needs to be right for the bound to hold: :math:`L(Z')` is a lower bound for
every :math:`Z'`, and the certificate computes it with its own arithmetic. A poor
:math:`Z'` only gives a weaker bound, which the certificate then does not use.
"""

from __future__ import annotations

import numpy as np

from ..model.logits import GroupedLogits, Logits, grouped_derivatives
from ..model.model import Model

#: a singular pair (or a group's within-group value) is on the support when its value of
#: the gradient is within this fraction of the multiplier. Measured on long-tailed counts
#: (K = 1000 and 2000, Frank-Wolfe gaps 1e-4 to 2e-2): 3e-3 gave the best bound or one
#: within 1.2x of it at every point, 1e-3 up to 54x weaker (it drops support pairs while
#: the point is still far), 1e-2 up to 200x weaker (it takes pairs off the support: at
#: K = 1000 the first lies 4e-3 below the multiplier)
SUPPORT_RTOL = 3e-3
#: and its singular value of ``M`` (or a group's within-group value) lies above a gap, by a
#: factor of at least this, between consecutive ones (:func:`_above_a_gap`; at K = 1000
#: the support's smallest ratio is 5.7, that to the first spare column 92): spare columns of a
#: factorization decay towards 0 with gradient values that can lie within SUPPORT_RTOL of
#: the multiplier (at K = 2000: one at 1.5e-4 of the largest value, 1.7e-3 below the
#: multiplier, while support pairs were up to 3.6e-4 off it; the smallest support value
#: was 0.105. Held to the multiplier it spoiled the bound from 1.3e-8 to 3.3e-7)
SPECTRAL_GAP = 30.0
#: Newton steps towards the target gradient (quadratic: the third changes nothing measured)
STEPS = 2


def lower_bound(model: Model, point: Logits) -> tuple[float, float]:
    r"""``(L, magnitude)``: the lower bound :math:`L(Z')` on the optimal value of the
    nuclear-norm program from any logits :math:`Z'` (see the module docstring), and the
    size of the terms summed into it (which sets the rounding it can carry)."""
    value, grad = point.value_and_gradient(model)
    inner = float(grad.inner(point))
    sigma = float(grad.spectral_norm())
    tau = float(model.tau)
    return float(value) - inner - tau * sigma, abs(float(value)) + abs(inner) + tau * sigma


def _above_a_gap(values: np.ndarray, candidates: np.ndarray, first: bool) -> np.ndarray:
    """The ``candidates`` whose value (>= 0) lies above a ratio of at least
    :data:`SPECTRAL_GAP` between consecutive candidate values in decreasing order: the
    first such ratio from the top (``first``) or the widest; all positive candidates when
    there is none."""
    chosen = candidates & (values > 0)
    v = np.sort(values[chosen])[::-1]
    if v.size < 2:
        return chosen
    ratios = v[:-1] / v[1:]
    wide = np.flatnonzero(ratios >= SPECTRAL_GAP)
    if wide.size == 0:
        return chosen
    k = int(wide[0]) if first else int(np.argmax(ratios))
    return chosen & (values >= v[k])


def newton_dual_point(
    model: Model, point: GroupedLogits, U: np.ndarray, V: np.ndarray
) -> GroupedLogits | None:
    r"""A point :math:`Z'` whose gradient has the support's singular values of ``point``
    equal to its multiplier (see the module docstring), or None when the loss's Hessian
    is not of the softmax form or the steps leave the floating-point range.

    Parameters
    ----------
    model : Model
    point : GroupedLogits
        A point near the optimum (on the budget's sphere).
    U, V : ndarray, shape (G, r)
        Orthonormal left and right singular vectors of ``point.M`` on (at least) its
        support, paired column by column; the pairs off the support are dropped here.
    """
    if model.loss.class_dependent:  # its rows' Hessians are not of the softmax form
        return None
    g = model.groups
    Kg = g.sizes.astype(float)
    m = Kg - 1.0
    w = np.asarray(g.weights, dtype=float)
    M, s = np.array(point.M, dtype=float), np.array(point.s, dtype=float)
    _, G_M, gamma, curv = grouped_derivatives(g.sizes, w, M, s, model.loss, True)
    if curv is None or curv[2] is not curv[4]:  # not diag(p) - p p^T
        return None
    lam = -GroupedLogits(g, G_M, gamma).inner(point) / float(model.tau)
    if not lam > 0:
        return None
    rho = np.einsum("gi,gi->i", U, -G_M @ V) / lam
    sigma = np.einsum("gi,gi->i", U, M @ V)
    # the support's singular values decrease without a wide gap, the spare columns' fall
    # far below the last of them: the first wide gap from the top ends the support
    near = (np.abs(rho - 1.0) < SUPPORT_RTOL) | (rho > 1.0)
    keep = _above_a_gap(sigma, near, first=True)
    U = U[:, keep]
    # the target must be a gradient: its rows sum to 0, G_M q = 0 with q_g = sqrt(K_g);
    # V is made orthogonal to q, keeping each column's sign (so its pair with U)
    q = np.sqrt(Kg) / np.sqrt(Kg.sum())
    V = V[:, keep] - np.outer(q, q @ V[:, keep])
    V, R = np.linalg.qr(V)
    V *= np.where(np.diagonal(R) < 0, -1.0, 1.0)
    # a group on its way to collapse has s_g falling geometrically: the widest gap
    near = (m > 0) & (np.abs(-gamma / lam - 1.0) < SUPPORT_RTOL)
    free = _above_a_gap(s, near, first=False)
    root = np.sqrt(Kg)
    slot_scale = w[:, None] * root[:, None] / root[None, :]  # G_M per slot gradient
    live = w > 0
    d = np.arange(Kg.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for step in range(STEPS):
            if step:
                _, G_M, gamma, curv = grouped_derivatives(g.sizes, w, M, s, model.loss, True)
            p_own, P = curv[1], curv[2]
            # the change of the gradient that reaches the target, in the group block
            GV, UG = G_M @ V, U.T @ G_M
            E = -lam * (U @ V.T) - U @ UG - GV @ V.T + U @ ((UG @ V) @ V.T)
            e_within = np.where(free, -lam - gamma, 0.0)
            # ... per slot of each row: d l_g / d X_gh off the diagonal; the own and the
            # same-group slot from the diagonal of G_M (w (g_own + g_same)) and gamma
            # (w (g_own - g_same / m))
            eX = E / slot_scale
            e_diag = np.diagonal(E)
            e_same = np.where(m > 0, (e_diag - e_within) * m / (w * Kg), 0.0)
            e_own = e_diag / w - e_same
            eX[d, d] = e_same
            # the Newton step of each row: e / p (the rows' gradients sum to 0)
            dX = np.where(P > 0, eX / P, 0.0)
            d_own = np.where(p_own > 0, e_own / p_own, 0.0)
            dX[~live] = 0.0
            d_own[~live] = 0.0
            # back to the block and the within-group values: M_gh = sqrt(K_g K_h) X_gh,
            # M_gg = own + m same, s_g = own - same
            dM = dX * np.outer(root, root)
            dM[d, d] = d_own + m * dX[d, d]
            M += dM
            s += np.where(m > 0, d_own - dX[d, d], 0.0)
    if not (np.all(np.isfinite(M)) and np.all(np.isfinite(s))):
        return None
    return GroupedLogits(g, M, s)
