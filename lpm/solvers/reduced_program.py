r"""The symmetry-reduced program: the LPM in the grouped coordinates of its optimum.

Classes with equal loss weight are interchangeable and the program is convex, so an
optimum has the grouped form of :class:`lpm.model.GroupedLogits`,
:math:`Z = E M E^\top + \sum_g s_g D_g D_g^\top`, in which

.. math::

    f = \sum_g K_g \pi_g\, L\big((d_g, e_g, C_{g\cdot}) ; (1, K_g - 1, K_h)\big),\qquad
    \lVert Z\rVert_* = \lVert M\rVert_* + \sum_g (K_g - 1)\,\lvert s_g\rvert :

:math:`G^2 + G` unknowns whatever ``K`` is. The solver works in units where the budget
reads :math:`c = \lVert \hat M\rVert_* + \sum_g \tfrac{K_g-1}{K} s_g \le t = \sqrt{E_W E_H}`
(:math:`\hat M = M/K`), so its numbers stay of order one for any ``K``. Three facts make a
smooth Newton method exact on it:

* ``s_g >= 0`` without loss of generality (each loss here prefers the own class), so the
  within-group part of the norm is linear, with bounds ``s_g >= 0`` handled by an active
  set. A group held at ``s_g = 0`` is released only when the KKT sign condition fails;
  that condition *is* the exact collapse test.
* For a shift-invariant loss some optimum has ``Z 1 = 0``; then
  :math:`\hat M = \hat X Q^\top` with ``Q`` an orthonormal basis of the complement of
  :math:`(\sqrt{K_g})_g`. This removes the always-singular direction of ``M``.
* :math:`\lVert \hat X\rVert_* = \min_{\hat X = AB} (\lVert A\rVert_F^2 +
  \lVert B\rVert_F^2)/2`, here with ``B`` symmetric (no continuous gauge). The lifted
  program is smooth even where ``X`` loses rank (groups collapsing onto each other), and
  with the budget binding, Newton's method on the surface ``c(A, B, s) = t`` with a scaling
  retraction converges quadratically.

The solver is vectorized over a batch of problems sharing one group structure (a whole
curve in ``R`` or ``E_W E_H`` is one call); each problem's arithmetic is independent of
the others, so a problem gets the same numbers alone or in any batch. The optimality of
a result is never taken from the solver: callers certify it with the Frank--Wolfe gap of
the returned logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.groups import Groups
from ..model.logits import GroupedLogits
from ..model.losses import Loss


def complement_basis(v: np.ndarray) -> np.ndarray:
    """Orthonormal basis (n x (n-1)) of the complement of the unit vector v (Householder)."""
    n = v.size
    u = v.copy()
    u[0] += np.copysign(1.0, v[0])
    u /= np.linalg.norm(u)
    return (np.eye(n) - 2.0 * np.outer(u, u))[:, 1:]


def null_complement(loss: Loss, kappa: np.ndarray, first: np.ndarray) -> np.ndarray:
    r"""``Q`` (G x r): an orthonormal basis of the group vectors orthogonal to the loss's
    invariant direction, or the identity when it has none.

    With :math:`L(z + t v) = L(z)` (:meth:`lpm.Loss.invariant_direction`, ``v`` constant on
    groups) some optimum has :math:`Z v = 0`, i.e. :math:`M u = 0` with :math:`u_g =
    \sqrt{K_g} v_g`; so :math:`M = X Q^	op`. ``first`` (n, G) holds one class of each
    group for each problem of a batch; the direction must be the same for all.
    """
    G = kappa.size
    if loss.shift_invariant:  # v = 1: u = sqrt(kappa), a unit vector
        return complement_basis(np.sqrt(kappa)) if G > 1 else np.zeros((1, 0))
    v = loss.invariant_direction(first) if loss.has_invariant_direction else None
    if v is None:
        return np.eye(G)
    if np.any(v != v[:1]):
        raise ValueError(
            "the problems of one reduced batch must share the loss's invariant direction "
            "(solve them in separate batches)"
        )
    u = np.sqrt(kappa) * v[0]
    return complement_basis(u / np.linalg.norm(u)) if G > 1 else np.zeros((1, 0))


@dataclass
class ReducedResult:
    """Raw output of :func:`newton` for one problem."""

    logits: GroupedLogits | None  # None when not asked for (a threshold's margins)
    multiplier: float  # of ||Z||_* <= tau in Z units (the penalty weight when penalized)
    iterations: int
    converged: bool
    message: str
    fixed: np.ndarray  # groups held at s_g = 0 at the end (with K_g >= 2)
    kkt_slack: np.ndarray  # d Lagrangian / d s_g; >= 0 for every held group at the optimum
    history: list  # (objective, Newton decrement) per iteration
    y: np.ndarray | None = None  # final solver coordinates (A, B, s[, c])
    bias: np.ndarray | None = None  # the bias of each group, b_g (programs with a bias)


class ReducedProgram:
    r"""The grouped program for one group structure and loss, over a batch of weights.

    Parameters
    ----------
    sizes : ndarray, shape (G,)
        Number of classes in each group.
    weights : ndarray, shape (n, G)
        Loss weight of one class of each group, for each of ``n`` problems.
    loss : Loss
    omega : ndarray, shape (n, G), optional
        Positive group scalings of the norm: the budget or penalty is on
        :math:`\lVert \Omega Z\rVert_*`, :math:`\Omega` = diag(omega) (default: identity).
    bias : float, optional
        Penalized mode only: logits :math:`Z + \mathbf 1 b^\top` with a bias ``b`` constant
        on groups, free (``0.0``) or with the decay :math:`\tfrac{\lambda_b}{2}\lVert
        b\rVert^2` relative to the penalty weight (``bias = lambda_b / beta``); ``None``: no
        bias. Its coordinates ``c`` follow ``s`` in ``y``: :math:`\hat M \mathrel{+}=
        \sqrt\kappa\,(Qc)^\top`, i.e. :math:`b_h = (Qc)_h/\sqrt{\kappa_h}` (for a
        shift-invariant loss :math:`\sum_h K_h b_h = 0`, the bias's one free direction of
        no effect removed).
    """

    def __init__(self, sizes, weights, loss: Loss, omega=None, groups=None, bias=None):
        sizes = np.asarray(sizes, dtype=int)
        G = sizes.size
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        self.n = weights.shape[0]
        self.G = G
        self.loss = loss
        Kg = sizes.astype(float)
        self.Kg = Kg
        self.K = float(Kg.sum())
        self.kappa = Kg / self.K
        self.m = Kg - 1.0
        self.w = Kg * weights  # (n, G) loss mass of each group
        # the class layout of each problem (classes of a group need not be adjacent)
        self.groups = (
            groups
            if groups is not None
            else [
                Groups(
                    None,  # consecutive groups: labels built only if asked for (any K)
                    sizes,
                    weights[i],
                    np.concatenate([[0], np.cumsum(sizes)[:-1]]),
                )
                for i in range(self.n)
            ]
        )
        self.omega = np.ones((self.n, G)) if omega is None else np.atleast_2d(omega) * 1.0
        first = np.array([layout.first for layout in self.groups])  # (n, G)
        self.Q = null_complement(loss, self.kappa, first)
        self.centered = self.Q.shape[1] < G
        r = self.Q.shape[1]
        self.r = r
        # the Newton step holds an (n, G^2+G, ny) Jacobian, ny ~ 1.5 G^2: refuse sizes
        # that cannot fit (before allocating anything of that size)
        ny = G * r + r * (r + 1) // 2 + G
        need = 8.0 * self.n * (G * G + G) * ny * 3
        if need > 2 * 1024**3:
            raise ValueError(
                f"the reduced program of {G} groups would need about {need / 1024**3:.3g} GiB "
                "(its cost grows like G^4); use method='lowrank' (or 'auto') for models whose "
                "classes take many distinct counts"
            )
        # symmetric B from b: B = b[Bidx]; ||B||_F^2 = sum dup * b^2
        pairs = [(p, q) for p in range(r) for q in range(p, r)]
        self.pi_, self.qi_ = (
            np.array([p for p, _ in pairs], int),
            np.array([q for _, q in pairs], int),
        )
        self.nb = len(pairs)
        Bidx = np.zeros((r, r), int)
        for k, (p, q) in enumerate(pairs):
            Bidx[p, q] = Bidx[q, p] = k
        self.Bidx = Bidx
        self.dup = np.where(self.pi_ == self.qi_, 1.0, 2.0)
        self.half_diag = np.where(self.pi_ == self.qi_, 0.5, 1.0)
        self.Ek = np.zeros((self.nb, r, r))
        self.Ek[np.arange(self.nb), self.pi_, self.qi_] = 1.0
        self.Ek[np.arange(self.nb), self.qi_, self.pi_] = 1.0
        self.EkQT = self.Ek @ self.Q.T  # (nb, r, G)
        self.nA = G * r
        self.s0 = self.nA + self.nb
        self.bias = bias
        self.nc = 0 if bias is None else r  # bias coordinates, after s
        self.c0 = self.s0 + G
        self.ny = self.c0 + self.nc
        # linear map u = (vec M_hat, s) -> compressed rows V (G x (G+2)), row-major
        nu = G * G + G
        L = np.zeros((G, G + 2, nu))
        for g in range(G):
            L[g, 0, g * G + g] = 1.0 / self.kappa[g]
            L[g, 0, G * G + g] = self.m[g] / Kg[g]
            L[g, 1, g * G + g] = 1.0 / self.kappa[g]
            L[g, 1, G * G + g] = -1.0 / Kg[g]
            for h in range(G):
                L[g, 2 + h, g * G + h] = 1.0 / np.sqrt(self.kappa[g] * self.kappa[h])
        self.Lg = L  # (G, m, nu)
        self.LgT = L.transpose(0, 2, 1)
        self.L = L.reshape(G * (G + 2), nu)
        self.nu = nu
        mult = np.empty((G, G + 2))
        mult[:, 0] = 1.0
        mult[:, 1] = self.m
        mult[:, 2:] = Kg
        mult[np.arange(G), 2 + np.arange(G)] = 0.0
        self.mult_rows = np.tile(mult, (self.n, 1))
        # the loss on these rows: row g holds the own class and the other classes of group
        # g, then one slot per group h (a loss that treats all classes alike ignores it)
        if loss.class_dependent:
            slots = np.concatenate([first[:, :, None], first[:, :, None]], axis=2)
            slots = np.concatenate([slots, np.broadcast_to(first[:, None, :], (self.n, G, G))], 2)
            self.row_loss = loss.on_slots(slots.reshape(self.n * G, G + 2))
        else:
            self.row_loss = loss
        # budget c(y) = (||A||^2 + ||B||^2)/2 + sum_g (m_g/K) omega_g s_g
        self.c_lin = np.zeros((self.n, self.ny))
        self.c_lin[:, self.s0 : self.s0 + G] = self.m / self.K * self.omega
        self.c_hess = np.concatenate(
            [np.ones(self.nA), self.dup, np.zeros(G), np.full(self.nc, bias or 0.0)]
        )
        self.s_scale = np.ones(self.ny)  # retraction: (A, B) scale by beta, s by beta^2
        self.s_scale[self.s0 : self.c0] = 2.0
        # d M_hat / d c: M_hat_gh += sqrt(kappa_g) (Q c)_h (the bias, not scaled by omega)
        self.bias_jac = np.einsum("g,hk->ghk", np.sqrt(self.kappa), self.Q).reshape(G * G, r)
        # selector eye(G)/omega for the Jacobian of M_hat with respect to A
        self.eye_om = np.eye(G)[None, :, None, :, None] / self.omega[:, :, None, None, None]

    # -- coordinates ----------------------------------------------------------------------
    def split(self, y):
        n = y.shape[0]
        A = y[:, : self.nA].reshape(n, self.G, self.r)
        B = y[:, self.nA : self.s0][:, self.Bidx]
        return A, B, y[:, self.s0 : self.c0]

    def bias_values(self, y) -> np.ndarray:
        """The bias of each group, ``b_h`` (n, G) (zeros without a bias)."""
        if not self.nc:
            return np.zeros((y.shape[0], self.G))
        return (y[:, self.c0 :] @ self.Q.T) / np.sqrt(self.kappa)

    def _bias_block(self, y) -> np.ndarray:
        """The bias's part of ``M_hat``, (n, G, G): ``sqrt(kappa) (Q c)^T``."""
        v = y[:, self.c0 :] @ self.Q.T
        return np.sqrt(self.kappa)[None, :, None] * v[:, None, :]

    def logits(self, y, i: int) -> GroupedLogits:
        """The grouped logits of problem ``i``.

        A singular value of ``M`` that is zero at the optimum (group means of the
        classifiers coinciding, e.g. minority classifiers at the origin) is approached
        quadratically by the lifted variables and ends near 1e-40, not at 0. Singular
        values below 1e-13 of the point's normalized nuclear norm are set to exactly 0;
        the caller's certificate is computed at the snapped point.
        """
        return self.all_logits(y[i : i + 1], first=i)[0]

    def all_logits(self, y, first: int = 0) -> list[GroupedLogits]:
        """:meth:`logits` of problems ``first, first + 1, ...`` for the rows of ``y``, with
        one batched SVD."""
        n = y.shape[0]
        rows = slice(first, first + n)
        A, B, s = self.split(y)
        Mh = (A @ B @ self.Q.T) / self.omega[rows][:, :, None]
        U, S, Vt = np.linalg.svd(Mh)
        size = S.sum(axis=1) + (self.c_lin[rows] * y).sum(axis=1)
        tiny = S <= 1e-13 * size[:, None]
        snap = np.flatnonzero(np.any((S > 0) & tiny, axis=1))
        if snap.size:
            S = np.where(tiny, 0.0, S)
            Mh[snap] = (U[snap] * S[snap, None, :]) @ Vt[snap]
        Mh *= self.K  # the logits without the bias (whose values are bias_values(y))
        return [GroupedLogits(self.groups[first + i], Mh[i], s[i].copy()) for i in range(n)]

    def budget(self, y):
        return 0.5 * (y * y * self.c_hess).sum(axis=1) + (self.c_lin * y).sum(axis=1)

    def budget_grad(self, y):
        return self.c_hess * y + self.c_lin

    def retract(self, y, t):
        """Scale onto ``c = t``: (A, B) by beta and s by beta^2 scales Z by beta^2."""
        beta = np.sqrt(t / self.budget(y))
        return y * beta[:, None] ** self.s_scale

    def start(self, t):
        """The simplex-ETF logits ``c (I - J/K)`` (or ``c I`` for a non-shift-invariant
        loss), scaled onto ``c(y) = t``."""
        c = 1.0
        y = np.zeros((self.n, self.ny))
        if self.r:
            root = np.sqrt(c / self.K)
            y[:, : self.nA] = (root * self.omega[:, :, None] * self.Q[None]).reshape(self.n, -1)
            y[:, self.nA : self.s0] = np.where(self.pi_ == self.qi_, root, 0.0)
        y[:, self.s0 : self.c0] = np.where(self.m > 0, c, 0.0)
        if self.budget(y).min() <= 0:  # nothing to scale (K = 1)
            return y
        return self.retract(y, t)

    # -- objective ------------------------------------------------------------------------
    def evaluate(self, y, hessian: bool = True):
        """Objective (n,), gradient (n, ny) and Hessian (n, ny, ny) of f in y."""
        n, G = y.shape[0], self.G
        A, B, s = self.split(y)
        P = B @ self.Q.T  # (n, r, G)
        Mh = (A @ P) / self.omega[:n, :, None]
        if self.nc:
            Mh = Mh + self._bias_block(y)
        u = np.concatenate([Mh.reshape(n, G * G), s], axis=1)
        V = np.einsum("na,ma->nm", u, self.L).reshape(n * G, G + 2)
        out = self.row_loss.rows(V, self.mult_rows[: n * G], hessian=hessian)
        value = (self.w[:n] * out[0].reshape(n, G)).sum(axis=1)
        gV = self.w[:n, :, None] * out[1].reshape(n, G, G + 2)
        gu = np.einsum("nm,ma->na", gV.reshape(n, -1), self.L)
        gX = (gu[:, : G * G].reshape(n, G, G) / self.omega[:n, :, None]) @ self.Q
        grad = np.empty((n, self.ny))
        grad[:, : self.nA] = (gX @ B).reshape(n, -1)
        S = A.transpose(0, 2, 1) @ gX
        S = S + S.transpose(0, 2, 1)
        grad[:, self.nA : self.s0] = S[:, self.pi_, self.qi_] * self.half_diag
        grad[:, self.s0 : self.c0] = gu[:, G * G :]
        if self.nc:
            grad[:, self.c0 :] = gu[:, : G * G] @ self.bias_jac
        if not hessian:
            return value, grad, None
        hV = self.w[:n, :, None, None] * out[2].reshape(n, G, G + 2, G + 2)
        Hu = (self.LgT[None] @ (hV @ self.Lg[None])).sum(axis=1)  # (n, nu, nu)
        J = np.zeros((n, self.nu, self.ny))
        PT = P.transpose(0, 2, 1)  # (n, G, r)
        J[:, : G * G, : self.nA] = (self.eye_om[:n] * PT[:, None, :, None, :]).reshape(
            n, G * G, self.nA
        )
        JB = (A[:, None] @ self.EkQT[None]) / self.omega[:n, None, :, None]  # (n, nb, G, G)
        J[:, : G * G, self.nA : self.s0] = JB.reshape(n, self.nb, G * G).transpose(0, 2, 1)
        J[:, G * G :, self.s0 : self.c0] = np.eye(G)
        if self.nc:
            J[:, : G * G, self.c0 :] = self.bias_jac
        H = J.transpose(0, 2, 1) @ Hu @ J
        cross = (gX[:, None] @ self.Ek[None]).reshape(n, self.nb, self.nA)  # bilinear X = AB
        H[:, self.nA : self.s0, : self.nA] += cross
        H[:, : self.nA, self.nA : self.s0] += cross.transpose(0, 2, 1)
        return value, grad, H
