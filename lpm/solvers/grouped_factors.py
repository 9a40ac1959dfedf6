r"""The nuclear-norm program of the LPM in grouped, factored coordinates on a sphere.

Classes of equal loss weight form groups (``G`` of them, sizes :math:`K_g`); some optimum
has the grouped form (:class:`lpm.model.GroupedLogits`)

.. math:: Z = E M E^\top + \sum_g s_g D_g D_g^\top,\qquad
          \lVert Z\rVert_* = \lVert M\rVert_* + \sum_g (K_g - 1)\, s_g ,\quad s_g \ge 0 .

With :math:`M = A B^\top` (``A, B`` of shape ``G x r``) and :math:`s_g = y_g^2 / (2 (K_g -
1))`, and since :math:`\lVert M\rVert_* = \min_{M = AB^\top} (\lVert A\rVert_F^2 +
\lVert B\rVert_F^2)/2`, the program :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le
\tau` becomes

.. math:: \min_{A, B, y}\ f(A B^\top, y^2/2m)\quad\text{s.t.}\quad
          \lVert A\rVert_F^2 + \lVert B\rVert_F^2 + \lVert y\rVert^2 \le 2\tau ,

one Burer--Monteiro factorization whose constraint is a Euclidean ball in ``x = (A, B,
y)``; it binds at the optimum whenever the budget does. Every class is its own group when
all counts differ (then ``M = Z``), so this covers any counts, with the cost of a ``G x G``
problem instead of ``K x K``.

Parts of the problem can be held fixed, which is how the exact structure tests pose their
restricted programs: groups held *vanished* (their rows and columns of ``M`` and their
``s_g`` are 0: classifiers and features 0) and groups held *collapsed* (``s_g = 0``: the
classifiers of the group coincide). Groups of loss weight 0 (the limit ``R = inf``) have
their rows of ``M`` and their ``s_g`` at 0 always: the loss does not see them.
"""

from __future__ import annotations

import math

import numpy as np

from ..certificates import certified_gap, lower_bound, newton_dual_point
from ..certificates.kinds import rounding_unit
from ..model.logits import GroupedLogits, grouped_derivatives, grouped_slots
from ..model.model import Model
from .reduced_program import complement_basis, null_complement

EPS = np.finfo(float).eps


class GroupedFactors:
    r"""``f`` and its derivatives in ``x = (A, B, y)`` for one model (see the module
    docstring), with the groups held vanished or collapsed.

    Parameters
    ----------
    model : Model
        With the average norm constraint; the sphere is :math:`\lVert x\rVert^2 =
        2\tau`.
    vanished, collapsed : array_like of bool, shape (G,), optional
        Groups held at 0, and groups held at :math:`s_g = 0`.
    """

    def __init__(self, model: Model, vanished=None, collapsed=None):
        self.model = model
        groups = model.groups
        self.groups, self.loss, self.tau = groups, model.loss, float(model.tau)
        G = groups.G
        self.G = G
        self.Kg = groups.sizes.astype(float)
        self.m = self.Kg - 1.0
        self.weights = np.asarray(groups.weights, dtype=float)
        self.slots = grouped_slots(groups.sizes, self.weights)  # made once per problem
        none = np.zeros(G, bool)
        self.vanished = none.copy() if vanished is None else np.asarray(vanished, bool).copy()
        self.collapsed = none.copy() if collapsed is None else np.asarray(collapsed, bool).copy()
        dead = self.weights <= 0
        self.live = ~self.vanished  # rows and columns of M that may be nonzero
        self.rows = self.live & ~dead  # features that may be nonzero
        self.free = (self.m > 0) & ~self.collapsed & ~self.vanished & ~dead  # y coordinates
        self.nl = int(self.live.sum())
        self.ny = int(self.free.sum())
        self.r = 0
        self.evaluations = 0
        self.checked: GroupedLogits | None = None  # the logits of the last exact check
        self.checked_from: np.ndarray | None = None  # the group block they were made from
        self.target = 0.0  # the gap target of the run (set by the engine)
        self._power_vector = None
        self._scales = None  # see _slot_scales
        #: whether the products of :meth:`evaluate` run in single precision (set by the
        #: engine for its first iterations on large problems, far from the optimum, where
        #: the factors are widest and an iteration costs the most; never for a check)
        self.single = False
        # one class of each group, for a class-dependent loss (its coefficients per slot)
        self.classes = groups.first if self.loss.class_dependent else None

    # -- coordinates ----------------------------------------------------------------------
    def size(self, r: int) -> int:
        return 2 * self.nl * r + self.ny

    def split(self, x):
        n = self.nl * self.r
        A = x[:n].reshape(self.nl, self.r)
        B = x[n : 2 * n].reshape(self.nl, self.r)
        return A, B, x[2 * n :]

    def pack(self, A, B, y) -> np.ndarray:
        self.r = A.shape[1]
        A = np.array(A, dtype=float)
        A[~self.rows[self.live]] = 0.0  # features of weight-0 groups stay 0
        return np.concatenate([A.ravel(), np.asarray(B, float).ravel(), np.asarray(y, float)])

    def M_s(self, x, single: bool = False):
        """The group block ``M`` (G x G) and the within-group values ``s`` (G,); with
        ``single``, ``A B^T`` in single precision (see :attr:`single`)."""
        A, B, y = self.split(x)
        AB = _product(A, B.T, single)
        if self.nl == self.G:
            M = AB
        else:
            M = np.zeros((self.G, self.G))
            M[np.ix_(self.live, self.live)] = AB
        s = np.zeros(self.G)
        s[self.free] = y * y / (2.0 * self.m[self.free])
        return M, s

    def logits(self, x) -> GroupedLogits:
        M, s = self.M_s(x)
        return GroupedLogits(self.groups, M, s)

    # -- the objective ---------------------------------------------------------------------
    def evaluate(self, x, curvature: bool = False):
        """``(f, grad, aux)``; ``aux = (M, s, G_M, gamma, curvature or None)``."""
        self.evaluations += 1
        single = self.single
        M, s = self.M_s(x, single)
        out = grouped_derivatives(
            self.groups.sizes, self.weights, M, s, self.loss, curvature, self.classes, self.slots
        )
        f, G_M, gamma = out[:3]
        A, B, y = self.split(x)
        GL = G_M if self.nl == self.G else G_M[np.ix_(self.live, self.live)]
        # the products written in place into the gradient (no concatenation pass)
        grad = np.empty_like(x)
        gA, gB, gy = self.split(grad)
        if single:
            GL32 = GL.astype(np.float32)
            gA[...] = GL32 @ B.astype(np.float32)
            gB[...] = GL32.T @ A.astype(np.float32)
        else:
            np.matmul(GL, B, out=gA)
            np.matmul(GL.T, A, out=gB)
        gA[~self.rows[self.live]] = 0.0
        np.multiply(gamma[self.free], y, out=gy)  # ds/dy = y/m, df/ds = m gamma
        return float(f), grad, (M, s, G_M, gamma, out[3] if curvature else None)

    def gauss_newton_diagonal(self, x, aux):
        r"""Diagonal of :math:`J^\top \nabla^2 f\, J`, ``J`` the Jacobian of the slot
        values of the loss rows in ``x`` (the Gauss--Newton part of the Hessian), or
        ``None`` when the loss gives no curvature.

        Each row's Hessian is :math:`m_g(\operatorname{diag}(d) - q q^\top)` in its slot
        values (:meth:`lpm.Loss.grouped`), and a coordinate moves the slots linearly:
        ``A[g, k]`` moves row ``g`` (slot ``h`` by ``B[h, k] c_{gh}``, the own slot by
        ``B[g, k] / K_g``), ``B[h, k]`` moves slot ``h`` of every row (by ``A[g, k]
        c_{gh}``; in row ``h`` the own and same slots by ``A[h, k] / K_h``), ``y_g`` the
        own and same slots of row ``g``; :math:`c_{gh} = 1/\sqrt{K_g K_h}`, and
        :math:`c_{gg} = 1/K_g` for the same-group slot."""
        curv = aux[4]
        if curv is None:
            return None
        mass, d_own, d_X, q_own, q_X = curv
        A, B, y = self.split(x)
        L = self.live
        Kg = self.Kg
        c, c2 = self._slot_scales()
        if self.nl == self.G:  # views, no copies of the G x G blocks
            d, q = d_X, q_X
        else:
            d, q = d_X[np.ix_(L, L)], q_X[np.ix_(L, L)]
        mL, dL, qL, KL = mass[L], d_own[L] / Kg[L], q_own[L] / Kg[L], Kg[L]
        A2, B2 = A * A, B * B
        # A: one row at a time; its Hessian has the rank-one part q q^T
        lin = (q * c) @ B
        lin += qL[:, None] * B
        dA = (d * c2) @ B2
        dA += (dL / KL)[:, None] * B2
        dA -= lin * lin
        dA *= mL[:, None]
        dA[~self.rows[L]] = 0.0
        # B: rows are independent, so only each slot's own curvature d - q^2 enters, but
        # in row h the own and same slots move together
        col = q * q
        np.subtract(d, col, out=col)
        col *= c2
        col *= mL[:, None]
        own_same = (d_own[L] + np.diagonal(d) - (q_own[L] + np.diagonal(q)) ** 2) / KL**2
        np.fill_diagonal(col, mL * own_same)
        dB = col.T @ A2
        # y: ds/dy = y/m moves the own slot by y/K and the same slot by -y/(m K)
        f = self.free
        mf, Kf = self.m[f], Kg[f]
        d_same, q_same = np.diagonal(d_X)[f], np.diagonal(q_X)[f]
        dy = mass[f] * (y / Kf) ** 2 * (d_own[f] + d_same / mf**2 - (q_own[f] - q_same / mf) ** 2)
        return np.concatenate([dA.ravel(), dB.ravel(), dy])

    def _slot_scales(self):
        r"""``c`` and ``c**2`` on the live block: :math:`c_{gh} = 1/\sqrt{K_g K_h}`, and
        :math:`c_{gg} = 1/K_g` for the same-group slot (fixed for the problem: made once)."""
        if self._scales is None:
            L = self.live
            c = 1.0 / np.sqrt(np.outer(self.Kg[L], self.Kg[L]))
            np.fill_diagonal(c, 1.0 / self.Kg[L])
            self._scales = (c, c * c)
        return self._scales

    @property
    def restricted(self) -> bool:
        """Whether some groups are held (the program is then the restriction to a face)."""
        return bool(self.vanished.any() or self.collapsed.any())

    def gap(self, f: float, aux, exact: bool = True, x=None) -> float:
        """Frank--Wolfe gap of the current point for the program being solved.

        Unrestricted, with ``exact``: the certificate's own value
        (:func:`lpm.certificates.certified_gap`, on :attr:`checked`, the logits it was
        computed at); otherwise an estimate for the checks made during the iteration, with
        the top singular value of the group block estimated from below once it is large:
        by the power method (see :func:`spectral_norm`) and, given the point ``x`` whose
        factors are narrow, on the span of ``B`` (:func:`support_norm`). Restricted to a
        face (groups held):
        the gap of the restricted program,
        whose linear minimization over the face's part of the ball is the top singular
        value of the live block of the gradient and of its free within-group values.
        """
        M, s, G_M, gamma, _ = aux
        within = np.abs(gamma[self.free]).max(initial=0.0)
        GL = G_M if self.nl == self.G else G_M[np.ix_(self.live, self.live)]
        if exact and not self.restricted:
            # the top singular value first (values only): the full certificate, with its
            # SVD of M, only when that gap already meets the target
            sigma = max(spectral_norm(GL, exact=True), within)
            inner = float(np.vdot(G_M, M) + (self.m * gamma) @ s)
            if inner + self.tau * sigma > self.target:
                return inner + self.tau * sigma
            # a point of the sphere has a nuclear norm of tau up to rounding, often one ulp
            # above it, which the certificate would scale back (an SVD and an evaluation,
            # at this check and again for the solution): certify a point just inside,
            # whose gap is larger by about (G + 1) eps tau mu, far below the allowance
            shrink = 1.0 - (self.G + 1) * EPS
            self.checked = GroupedLogits(self.groups, M * shrink, s * shrink)
            self.checked_from = M
            return certified_gap(self.model, self.checked)
        sigma = max(spectral_norm(GL, exact, start=self._power_start(GL)), within)
        if not exact and x is not None and 2 * self.r <= self.nl:
            sigma = max(sigma, support_norm(GL, self.split(x)[1]))
        inner = float(np.vdot(G_M, M) + (self.m * gamma) @ s)
        size = abs(inner) + self.tau * sigma + abs(f)
        return max(inner + self.tau * sigma, 0.0) + 8 * (self.G + 1) * EPS * size

    def dual_gap(self, f: float, x) -> tuple[float, GroupedLogits | None]:
        """``(gap, dual point)``: :math:`f(Z) - L(Z')` at the Newton-corrected dual point
        :math:`Z'` of the current point (:func:`lpm.certificates.newton_dual_point`; its
        support from the factors' QR decompositions and the SVD of their ``r x r`` core),
        with the certificate's rounding allowance; ``(inf, None)`` when no point is built
        (a restricted program, or a loss not of the softmax form)."""
        if self.restricted or self.r == 0:
            return math.inf, None
        A, B, _ = self.split(x)
        QA, RA = np.linalg.qr(A)
        QB, RB = np.linalg.qr(B)
        u, _, vt = np.linalg.svd(RA @ RB.T)
        U, V = QA @ u, QB @ vt.T  # unrestricted: every group is live (nl = G)
        dual = newton_dual_point(self.model, self.logits(x), U, V)
        if dual is None:
            return math.inf, None
        low, size = lower_bound(self.model, dual)  # cached on dual for the certificate
        return f - low + rounding_unit(dual) * (size + abs(f)), dual

    def _power_start(self, G):
        """The start of the power estimate: the previous estimate's vector when its size
        still fits (the schedule depends on the iterates only: same call, same numbers)."""
        v = self._power_vector
        if v is None or v.size != G.shape[1]:
            v = np.ones(G.shape[1])
        v = G.T @ (G @ v)
        self._power_vector = v
        return v

    def multiplier(self, x, grad) -> float:
        """The budget's multiplier at ``x`` from stationarity on the sphere."""
        return max(-float(x @ grad) / (2.0 * self.tau), 0.0)

    # -- starts and rank changes -------------------------------------------------------------
    def etf_start(self):
        """The balanced optimum: ``Z = c (I - J/K)`` for a shift-invariant loss (``c I``
        otherwise; for a class-dependent loss ``c (I - u u^T)`` in the group block, ``u``
        its invariant direction: :func:`lpm.solvers.reduced_program.null_complement`), as
        factors; its scale is set by the sphere."""
        kappa = self.Kg[self.live] / self.Kg.sum()
        if self.loss.class_dependent:
            Q = null_complement(self.loss, kappa / kappa.sum(), self.groups.first[self.live][None])
        elif self.loss.shift_invariant:
            v = np.sqrt(kappa)
            Q = complement_basis(v) if self.nl > 1 else np.zeros((self.nl, 0))
        else:
            Q = np.eye(self.nl)
        if Q.shape[1] == 0:  # one group: the group block is 0, keep one column for shape
            Q = np.zeros((self.nl, 1))
        y = np.sqrt(2.0 * self.m[self.free])
        return self.pack(Q, Q.copy(), y)

    def from_logits(self, logits: GroupedLogits, rtol: float = 1e-12):
        """Factors of given grouped logits (balanced, cut at ``rtol`` of the largest
        singular value)."""
        M = logits.M[np.ix_(self.live, self.live)]
        U, S, Vt = np.linalg.svd(M)
        keep = max(1, int((S > rtol * S.max(initial=0.0)).sum())) if S.size else 1
        root = np.sqrt(S[:keep]) if S.size else np.zeros(1)
        A = U[:, :keep] * root
        B = Vt[:keep].T * root
        y = np.sqrt(2.0 * self.m[self.free] * np.maximum(logits.s[self.free], 0.0))
        return self.pack(A, B, y)

    def truncated(self, x, rtol: float):
        """Balanced factors cut to the numerical rank of ``A B^T`` plus spare columns, or
        None when that would not shrink them by 10%.

        The singular values of ``A B^T`` come first (values only, from the small core
        ``R_A R_B^T`` of the factors' QR decompositions, or from ``A B^T`` itself when the
        factors are more than half as wide as tall, where two QR decompositions cost more
        than what they save); the vectors only when the factors are cut."""
        A, B, y = self.split(x)
        if self.r <= 1:
            return None
        direct = 2 * self.r > self.nl
        if direct:
            core = A @ B.T
        else:
            QA, RA = np.linalg.qr(A)
            QB, RB = np.linalg.qr(B)
            core = RA @ RB.T
        sv = np.linalg.svd(core, compute_uv=False)
        keep = int((sv > rtol * sv[0]).sum()) if sv.size and sv[0] > 0 else 1
        r = min(self.r, max(1, keep + max(2, math.ceil(0.02 * keep))))
        if r > 0.9 * self.r:
            return None
        u, sv, vt = np.linalg.svd(core)
        left, right = u[:, :r], vt[:r].T
        if not direct:
            left, right = QA @ left, QB @ right
        root = np.sqrt(sv[:r])
        return self.pack(left * root, right * root, y)

    def outside(self, x, aux, threshold: float, most: int, mu: float):
        r"""``x`` widened where the current point cannot move at first order, or None:

        * up to ``most`` columns added along the singular pairs of :math:`-G_M` outside
          the column spaces of ``A`` and ``B`` whose singular value exceeds ``threshold``
          (descent directions the current rank cannot reach);
        * the within-group value of a group revived where :math:`-\gamma_g` exceeds
          ``threshold`` while ``y_g`` is at 0 (``s = y^2/2m`` makes ``y = 0`` stationary,
          although ``s`` would grow at first order: a group that was collapsed at a warm
          start and no longer is).

        At an optimum none of these exceeds the multiplier."""
        A, B, y = self.split(x)
        M, s, G_M, gamma, _ = aux
        y = y.copy()
        revive = (-gamma[self.free] > threshold) & (s[self.free] <= 1e-12 * self.model.budget)
        y[revive] = np.sqrt(2.0 * self.m[self.free][revive] * 1e-3 * self.model.budget)
        G = -G_M[np.ix_(self.live, self.live)]
        G[~self.rows[self.live]] = 0.0
        QA = np.linalg.qr(A)[0]
        QB = np.linalg.qr(B)[0]
        G = G - QA @ (QA.T @ G)
        G = G - (G @ QB) @ QB.T
        # the values first: the vectors (2.5x the cost) only when a pair is added
        n = int(min(most, (np.linalg.svd(G, compute_uv=False) > threshold).sum()))
        if n == 0 and not revive.any():
            return None
        if n:
            U, S, Vt = np.linalg.svd(G)
            scale = math.sqrt(1e-3 * float(S[n - 1]) / max(mu, 1e-300))
            A, B = np.hstack([A, U[:, :n] * scale]), np.hstack([B, Vt[:n].T * scale])
        return self.pack(A, B, y)


def _product(a: np.ndarray, b: np.ndarray, single: bool) -> np.ndarray:
    """``a @ b`` in double precision, or computed in single and returned in double."""
    if not single:
        return a @ b
    return (a.astype(np.float32) @ b.astype(np.float32)).astype(float)


def spectral_norm(G: np.ndarray, exact: bool = True, start: np.ndarray | None = None) -> float:
    """Largest singular value of ``G``: by a dense SVD (backward stable: what the
    certificate uses), or, for large matrices when ``exact`` is False, a lower estimate by
    :data:`POWER_STEPS` steps of the power method on :math:`G^\top G` from ``start``
    (the checks inside an iteration; the certificate confirms). Lanczos is no good here:
    near the optimum the top singular values form a cluster at the multiplier, where it
    takes thousands of restarts to resolve one (measured: 90 s of a 114 s solve)."""
    n = min(G.shape)
    if n == 0:
        return 0.0
    if exact or n <= 400:
        return float(np.linalg.norm(G, 2))
    v = np.ones(G.shape[1]) if start is None else np.asarray(start, dtype=float)
    sigma = 0.0
    for _ in range(POWER_STEPS):
        v = v / max(float(np.linalg.norm(v)), 1e-300)
        u = G @ v
        sigma = float(np.linalg.norm(u))
        v = G.T @ u
    return sigma


def support_norm(G: np.ndarray, B: np.ndarray) -> float:
    r"""Largest singular value of ``G`` on the column span of ``B`` (``G x r``), a lower
    bound on :math:`\sigma_{\max}(G)`: :math:`\sigma_{\max}(G Q)`, ``Q`` an orthonormal
    basis of the span, from the top eigenvalue of the ``r x r`` Gram matrix.

    Near a stationary point of the factored program :math:`-G_M` maps the span of ``B``
    onto that of ``A`` with all its singular values at the multiplier, and the largest
    singular value of :math:`-G_M` lies in that cluster (once the rank is right), whose
    spread is the gap: there the power method cannot resolve it, while this estimate is
    off by the square of the point's stationarity error only. Cost: a QR of ``B``, one
    ``G x G x r`` product and an ``r x r`` eigenvalue (a full SVD of ``G`` is several
    times more at ``r <= G / 2``)."""
    if B.shape[1] == 0:
        return 0.0
    W = G @ np.linalg.qr(B)[0]
    top = np.linalg.eigvalsh(W.T @ W)[-1]
    return math.sqrt(max(float(top), 0.0))


#: power steps of the in-loop estimate of the top singular value (a lower bound, within
#: about 1e-3 of it after 30 steps on the clustered spectra met here)
POWER_STEPS = 30
