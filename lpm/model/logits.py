r"""The logit matrix :math:`Z = H W^\top` in two representations, and what is computed from it.

Every solver ends with a logit matrix, :math:`Z_{kj} = \langle h_k, w_j\rangle`. From it
alone (and the model) this module computes the objective, the gradient, the certificate,
the balanced factorization into :math:`W, H` and the classifier and feature Gram matrices:

* :class:`DenseLogits` stores the ``K x K`` matrix;
* :class:`GroupedLogits` stores the symmetry-reduced form of a model whose classes fall
  into ``G`` groups of equal loss weight. With :math:`E` the ``K x G`` matrix of
  normalized group indicators and :math:`D_g` an orthonormal basis of the differences
  inside group ``g`` (a Helmert basis),

  .. math:: Z = E M E^\top + \sum_g s_g D_g D_g^\top ,

  so ``M`` (``G x G``) acts on group means and :math:`s_g = d_g - e_g` is the singular
  value of ``Z`` on the within-group differences (multiplicity :math:`K_g - 1`). Its size
  does not grow with ``K``; the ``K x K`` objects are built only on request.

The certificate is the Frank--Wolfe gap of the nuclear-norm program
:math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le \tau`,

.. math:: \mathrm{gap}(Z) = \langle \nabla f(Z), Z\rangle + \tau\,\sigma_{\max}(\nabla f(Z))
          \;\ge\; f(Z) - f^\star \quad\text{for every feasible } Z,

since :math:`f` is convex and :math:`\min_{\lVert S\rVert_*\le\tau}\langle \nabla f, S\rangle
= -\tau\sigma_{\max}(\nabla f)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .. import _validation as check
from .few_groups import ce_derivatives, gram_geometry, grouped_inner, singular_values_2x2
from .group_gram import cosines_from_gram, gram_from_parts
from .groups import Groups
from .losses import CrossEntropy
from .model import Model


def helmert_basis(n: int) -> np.ndarray:
    """Orthonormal basis (n x (n-1)) of the vectors in R^n whose entries sum to zero.

    Column j (0-based) is (1, ..., 1, -(j+1), 0, ..., 0) / sqrt((j+1)(j+2)).
    """
    j = np.arange(1, n)
    B = np.zeros((n, n - 1))
    rows = np.arange(n)[:, None]
    B[:] = np.where(rows < j, 1.0, 0.0)
    B[j, j - 1] = -j
    return B / np.sqrt(j * (j + 1.0))


def _psd_sqrt_from_svd(U, S):
    """(U S U^T) for the left or right singular vectors: the square root of Z Z^T or Z^T Z."""
    return (U * S) @ U.T


class Logits:
    """Common interface; see :class:`DenseLogits` and :class:`GroupedLogits`."""

    K: int

    def value_and_gradient(self, model: Model):
        raise NotImplementedError

    def nuclear_norm(self) -> float:
        raise NotImplementedError

    def frank_wolfe_gap(self, model: Model) -> float:
        """Certified bound on ``f(Z) - f*`` (valid when ``Z`` is feasible)."""
        _, grad = self.value_and_gradient(model)
        return grad.inner(self) + model.tau * grad.spectral_norm()


# ---------------------------------------------------------------------------------------
@dataclass
class DenseLogits(Logits):
    """A ``K x K`` logit matrix."""

    Z: np.ndarray

    @property
    def K(self) -> int:
        return self.Z.shape[0]

    def value_and_gradient(self, model: Model):
        value, G = model.loss.dense(self.Z, model.pi)
        return value, DenseLogits(G)

    def inner(self, other: DenseLogits) -> float:
        return float(np.vdot(self.Z, other.Z))

    def singular_values(self) -> np.ndarray:
        return np.linalg.svd(self.Z, compute_uv=False)

    def spectral_norm(self) -> float:
        return float(self.singular_values()[0]) if self.K else 0.0

    def nuclear_norm(self) -> float:
        return float(self.singular_values().sum())

    def scaled(self, factor: float) -> DenseLogits:
        return DenseLogits(self.Z * factor)

    def dense(self, memory_limit=None) -> np.ndarray:
        return self.Z

    def factors(self, p: int, memory_limit=None):
        """Balanced factors ``F_H, F_W`` (K x p) with ``F_H F_W^T = Z`` and
        ``F_W F_W^T = (Z^T Z)^(1/2)``, ``F_H F_H^T = (Z Z^T)^(1/2)``."""
        U, S, Vt = np.linalg.svd(self.Z)
        r = min(p, S.size)
        root = np.sqrt(S[:r])
        F_H = np.zeros((self.K, p))
        F_W = np.zeros((self.K, p))
        F_H[:, :r] = U[:, :r] * root
        F_W[:, :r] = Vt[:r].T * root
        return F_H, F_W

    def classifier_gram(self, memory_limit=None) -> np.ndarray:
        """``(Z^T Z)^(1/2)``: the classifier Gram of the balanced factorization (times c^2)."""
        _, S, Vt = np.linalg.svd(self.Z)
        return _psd_sqrt_from_svd(Vt.T, S)

    def feature_gram(self, memory_limit=None) -> np.ndarray:
        U, S, _ = np.linalg.svd(self.Z)
        return _psd_sqrt_from_svd(U, S)


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)  # its value, gradient, SVD and Grams are cached on the object
class GroupedLogits(Logits):
    """Symmetry-reduced logits ``Z = E M E^T + sum_g s_g D_g D_g^T`` (see module docstring).

    Attributes
    ----------
    groups : Groups
    M : ndarray, shape (G, G)
        ``E^T Z E``: the action of ``Z`` on normalized group indicators.
    s : ndarray, shape (G,)
        Within-group singular values ``s_g = d_g - e_g`` (0 for groups of one class).
    """

    groups: Groups
    M: np.ndarray
    s: np.ndarray

    def __post_init__(self):
        # read-only: the cached value, gradient, SVD and Grams must stay those of M and s
        # (set in __dict__, as object.__setattr__ would, without its lookup: a solve makes
        # two of these objects)
        M, s = np.array(self.M, dtype=float), np.array(self.s, dtype=float)
        M.setflags(write=False)
        s.setflags(write=False)
        self.__dict__["M"], self.__dict__["s"] = M, s

    @property
    def K(self) -> int:
        return self.groups.K

    @property
    def mult(self) -> np.ndarray:
        """Multiplicity ``K_g - 1`` of each within-group singular value."""
        return self.groups.multiplicities  # computed once per layout, shared read-only

    # -- the entries of Z -----------------------------------------------------------------
    @classmethod
    def from_dense(cls, groups: Groups, Z) -> GroupedLogits:
        """The grouped logits nearest to a ``K x K`` matrix: its average over permutations
        inside each group (the orthogonal projection onto matrices of grouped form)."""
        Z = np.asarray(Z, dtype=float)
        lab, G = groups.labels, groups.G
        Kg = groups.sizes.astype(float)
        sums = np.zeros((G, G))
        np.add.at(sums, (lab[:, None], lab[None, :]), Z)
        M = sums / np.sqrt(np.outer(Kg, Kg))
        trace = np.bincount(lab, weights=np.diagonal(Z), minlength=G)
        within = trace - np.diagonal(sums) / Kg  # tr(D_g^T Z_gg D_g)
        s = np.divide(within, Kg - 1.0, out=np.zeros(G), where=Kg > 1)
        return cls(groups, M, s)

    def entries(self):
        """``(d, e, C)``: own logit ``d_g``, same-group logit ``e_g`` and the logit
        ``C[g, h] = M_gh / sqrt(K_g K_h)`` of a group-g feature on a group-h classifier."""
        Kg = self.groups.sizes.astype(float)
        diag = np.diagonal(self.M) / Kg
        d = diag + self.mult * self.s / Kg
        e = diag - self.s / Kg
        C = self.M / np.sqrt(np.outer(Kg, Kg))
        return d, e, C

    def compressed_rows(self):
        """Rows ``[d_g, e_g, C[g, 0..G-1]]`` and multiplicities ``[1, K_g - 1, K_h (h != g)]``.

        The column of a row's own group among the ``C`` entries has multiplicity 0.
        """
        d, e, C = self.entries()
        G = self.groups.G
        V = np.column_stack([d, e, C])
        mult = np.empty((G, G + 2))
        mult[:, 0] = 1.0
        mult[:, 1] = self.mult
        mult[:, 2:] = self.groups.sizes
        mult[np.arange(G), 2 + np.arange(G)] = 0.0
        return V, mult

    def value_and_gradient(self, model: Model):
        """Objective and its gradient, in grouped form (the gradient has the same symmetry).
        Computed once per model (see :func:`evaluate_grouped`)."""
        cached = self.__dict__.get("_evaluated")
        if cached is None or cached[0] is not model:
            evaluate_grouped([self], [model])
            cached = self.__dict__["_evaluated"]
        return cached[1]

    def inner(self, other: GroupedLogits) -> float:
        if self.groups.G <= 2:  # in floats, in the order a batch of rows follows too
            return grouped_inner(
                self.M.tolist(),
                self.s.tolist(),
                other.M.tolist(),
                other.s.tolist(),
                self.mult.tolist(),
            )
        return float(np.vdot(self.M, other.M) + self.mult @ (self.s * other.s))

    @cached_property
    def svd(self):
        """SVD of ``M`` (computed once; the object is not modified after creation)."""
        return np.linalg.svd(self.M)

    @property
    def block_singular_values(self) -> list[float]:
        """Singular values of ``M``, largest first: in closed form for one or two groups
        (:func:`lpm.model.few_groups.singular_values_2x2`), else from :attr:`svd` when it
        has been computed, or by an SVD without vectors (a certificate needs only the
        values: 2.6x faster at ``G = 848``). Computed once."""
        sv = self.__dict__.get("_block_sv")  # cached by hand, as mult
        if sv is None:
            G = self.groups.G
            if G == 1:
                sv = [abs(float(self.M[0, 0]))]
            elif G == 2:
                sv = list(singular_values_2x2(*self.M.ravel().tolist()))
            elif "svd" in self.__dict__:  # cached_property's slot
                sv = self.svd[1].tolist()
            else:
                sv = np.linalg.svd(self.M, compute_uv=False).tolist()
            self.__dict__["_block_sv"] = sv
        return sv

    def spectral_norm(self) -> float:
        top = max(self.block_singular_values, default=0.0)
        within = [abs(v) for v, m in zip(self.s.tolist(), self.mult.tolist()) if m > 0]
        return float(max([top, *within]))

    def nuclear_norm(self) -> float:
        within = sum(m * abs(v) for m, v in zip(self.mult.tolist(), self.s.tolist()))
        return float(sum(self.block_singular_values) + within)

    def scaled(self, factor: float) -> GroupedLogits:
        return GroupedLogits(self.groups, self.M * factor, self.s * factor)

    # -- K x K objects, on request --------------------------------------------------------
    def indicator_basis(self) -> np.ndarray:
        """``E``: K x G, column g is the indicator of group g divided by sqrt(K_g)."""
        E = np.zeros((self.K, self.groups.G))
        E[np.arange(self.K), self.groups.labels] = 1.0
        return E / np.sqrt(self.groups.sizes)

    def dense(self, memory_limit=None) -> np.ndarray:
        check.memory((self.K, self.K), "the logit matrix Z", memory_limit)
        d, e, C = self.entries()
        lab = self.groups.labels
        Z = np.where(lab[:, None] == lab[None, :], e[lab][:, None], C[lab][:, lab])
        Z[np.diag_indices(self.K)] = d[lab]
        return Z

    def factors(self, p: int, memory_limit=None):
        """Balanced factors ``F_H, F_W`` (K x p), built from the grouped SVD.

        Singular values below 1e-12 of the largest are rounding (``M`` is rank-deficient
        in exact arithmetic, e.g. ``M 1 = 0`` for cross-entropy) and get no column.
        """
        check.memory((self.K, p), "W and H", memory_limit)
        U, S, Vt = self.svd
        tol = 1e-12 * max(S.max(initial=0.0), np.abs(self.s).max(initial=0.0))
        live = S > tol
        E = self.indicator_basis()
        root = np.sqrt(S[live])
        cols_H, cols_W = [E @ (U[:, live] * root)], [E @ (Vt[live].T * root)]
        for g in range(self.groups.G):
            if self.mult[g] > 0 and abs(self.s[g]) > tol:
                D = np.zeros((self.K, int(self.mult[g])))
                D[self.groups.members(g)] = helmert_basis(int(self.groups.sizes[g]))
                r = np.sqrt(abs(self.s[g]))
                cols_H.append(np.sign(self.s[g]) * r * D)
                cols_W.append(r * D)
        F_H, F_W = np.hstack(cols_H), np.hstack(cols_W)
        if F_W.shape[1] > p:
            raise ValueError(
                f"the optimal logits have rank {F_W.shape[1]}, more than p={p} columns"
            )
        pad = np.zeros((self.K, p - F_W.shape[1]))
        return np.hstack([F_H, pad]), np.hstack([F_W, pad])

    def _gram_parts(self, side: str):
        """Group-level description of ``(Z^T Z)^(1/2)`` (side "W") or ``(Z Z^T)^(1/2)``
        (side "H"): ``P`` (G x G) with entries ``P_gh / sqrt(K_g K_h)`` between classes of
        groups g, h plus ``|s_g| (delta_ij - 1/K_g)`` inside group g."""
        U, S, Vt = self.svd
        P = _psd_sqrt_from_svd(Vt.T if side == "W" else U, S)
        return P, np.abs(self.s)

    def _group_geometry(self, side: str):
        """``(norm2, inner, cosines)`` of one side, computed once (read-only arrays): in
        closed form for one or two groups (:func:`lpm.model.few_groups.gram_geometry`),
        else from the SVD of ``M`` (:mod:`lpm.model.group_gram`)."""
        cache = self.__dict__.setdefault("_group_gram", {})
        if side not in cache:
            if self.groups.G <= 2:
                parts = gram_geometry(
                    self.M.tolist(),
                    self.s.tolist(),
                    self.groups.sizes.tolist(),
                    self.block_singular_values,
                    side,
                )
                norm2, inner, cos = np.array(parts[0]), np.array(parts[1]), np.array(parts[2])
            else:
                P, a = self._gram_parts(side)
                norm2, inner = gram_from_parts(P, a, self.groups.sizes)
                cos = cosines_from_gram(norm2, inner, np.diagonal(P), a, self.mult)
            for array in (norm2, inner, cos):
                array.setflags(write=False)
            cache[side] = (norm2, inner, cos)
        return cache[side]

    def group_gram(self, side: str = "W"):
        """``(norm2, inner)``: squared norm of a class of each group (G,), and the inner
        product between two distinct classes of groups g and h (G x G). Computed once per
        side (read-only arrays)."""
        return self._group_geometry(side)[:2]

    def group_cosines(self, side: str = "W") -> np.ndarray:
        """Cosine between two distinct classes of groups g and h (G x G); NaN where a
        norm is 0. Inside a group it is evaluated as ``(rho - 1)/(rho + K_g - 1)``,
        ``rho = P_gg / |s_g|``, so that a simplex gives exactly ``-1/(K_g - 1)``
        (:func:`lpm.model.group_gram.cosines_from_gram`; read-only)."""
        return self._group_geometry(side)[2]

    def classifier_gram(self, memory_limit=None) -> np.ndarray:
        return self._dense_gram("W", memory_limit)

    def feature_gram(self, memory_limit=None) -> np.ndarray:
        return self._dense_gram("H", memory_limit)

    def _dense_gram(self, side, memory_limit):
        check.memory((self.K, self.K), "a K x K Gram matrix", memory_limit)
        norm2, inner = self.group_gram(side)
        lab = self.groups.labels
        Gm = inner[lab][:, lab]
        Gm[np.diag_indices(self.K)] = norm2[lab]
        return Gm


def grouped_slots(sizes, weights) -> tuple:
    """The constants of :func:`grouped_derivatives` for fixed group sizes and weights
    (``G x G`` arrays an iterative solver would otherwise rebuild at every evaluation):
    pass the result as its ``slots``."""
    Kg = np.asarray(sizes, dtype=float)
    w = np.asarray(weights, dtype=float)
    G = Kg.size
    d_idx = np.arange(G)
    root = np.sqrt(Kg)
    outer = np.outer(root, root)
    mult = np.broadcast_to(Kg, (G, G)).copy()
    mult[d_idx, d_idx] = Kg - 1.0
    scale = w[..., :, None] * root[:, None] / root[None, :]
    for array in (outer, mult, scale):
        array.setflags(write=False)
    return Kg, w, outer, mult, scale


def grouped_derivatives(
    sizes, weights, M, s, loss, curvature: bool = False, classes=None, slots=None
):
    r"""The loss of grouped logits and its gradient in grouped coordinates, batched.

    For :math:`Z = E M E^\top + \sum_g s_g D_g D_g^\top` (see the module docstring),
    row ``g`` of the loss has own logit :math:`d_g = M_{gg}/K_g + (K_g - 1) s_g/K_g`,
    same-group logit :math:`e_g = M_{gg}/K_g - s_g/K_g` (``K_g - 1`` classes) and logit
    :math:`M_{gh}/\sqrt{K_g K_h}` on the ``K_h`` classes of group ``h``.

    Parameters
    ----------
    sizes : ndarray, shape (G,)
        Classes per group.
    weights : ndarray, shape (..., G)
        Loss weight of one class of each group.
    M : ndarray, shape (..., G, G)
    s : ndarray, shape (..., G)
    loss : Loss
    curvature : bool
        Also return the rows' Hessians in their slot values (see :meth:`Loss.grouped`),
        ``(mass, d_own, d_X, q_own, q_X)`` with ``mass = K_g pi_g`` the weight of row
        ``g`` in ``f``, or None when the loss does not give its curvature.
    classes : ndarray of int, shape (..., G), optional
        One class of each group (e.g. :attr:`Groups.first`), for a class-dependent loss
        (:meth:`lpm.Loss.on_groups`); ignored by a loss that treats all classes alike.
    slots : tuple, optional
        :func:`grouped_slots` of ``sizes`` and ``weights``, made once by a caller that
        evaluates many points of the same groups (the same numbers, without rebuilding
        its ``G x G`` constants).

    Returns
    -------
    value : ndarray, shape (...)
        :math:`f = \sum_g K_g \pi_g L_g`.
    G_M : ndarray, shape (..., G, G)
        :math:`\partial f / \partial M = E^\top \nabla f E`.
    gamma : ndarray, shape (..., G)
        The gradient on the within-group differences: :math:`\partial f/\partial s_g =
        (K_g - 1)\gamma_g`.
    curvature : tuple or None, only when ``curvature``
    """
    Kg, w, outer, mult, scale = grouped_slots(sizes, weights) if slots is None else slots
    m = Kg - 1.0
    M = np.asarray(M, dtype=float)
    s = np.asarray(s, dtype=float)
    d_idx = np.arange(Kg.size)
    diag = np.diagonal(M, axis1=-2, axis2=-1) / Kg
    X = M / outer
    X[..., d_idx, d_idx] = diag - s / Kg  # the same-group slot
    rows = loss if classes is None else loss.on_groups(classes)
    out = rows.grouped(diag + m * s / Kg, X, mult, curvature)
    value, g0, gX = out[:3]
    total = ((Kg * w) * value).sum(axis=-1)
    own = w * g0
    g_same = gX[..., d_idx, d_idx]
    same = np.divide(w * g_same, m, out=np.zeros_like(own), where=m > 0)
    G_M = gX * scale
    G_M[..., d_idx, d_idx] = own + m * same
    gamma = own - same
    if not curvature:
        return total, G_M, gamma
    return total, G_M, gamma, None if out[3] is None else (Kg * w, *out[3])


def evaluate_grouped(points: Sequence[GroupedLogits], models: Sequence[Model]) -> None:
    """:meth:`GroupedLogits.value_and_gradient` of many points at once (one loss call for
    all of them; the points share the group sizes and the loss), stored on each point. A
    batch of reduced solves is certified this way. One or two groups under cross-entropy
    are evaluated point by point in floats (:func:`lpm.model.few_groups.ce_derivatives`,
    ten times faster than numpy on so few numbers), alone or in a batch alike."""
    sizes = points[0].groups.sizes
    if sizes.size <= 2 and type(models[0].loss) is CrossEntropy:  # in floats, per point
        size_list = sizes.tolist()
        for point, model in zip(points, models):
            value, G_M, gamma = ce_derivatives(
                size_list, point.groups.weights.tolist(), point.M.tolist(), point.s.tolist()
            )
            point.__dict__["_evaluated"] = (model, (value, GroupedLogits(point.groups, G_M, gamma)))
        return
    w = np.array([p.groups.weights for p in points])  # (n, G)
    loss = models[0].loss
    classes = np.array([p.groups.first for p in points]) if loss.class_dependent else None
    M = np.array([p.M for p in points])
    totals, GM, gamma = grouped_derivatives(
        sizes, w, M, np.array([p.s for p in points]), loss, classes=classes
    )
    for i, (point, model) in enumerate(zip(points, models)):
        grad = GroupedLogits(point.groups, GM[i], gamma[i])
        point.__dict__["_evaluated"] = (model, (float(totals[i]), grad))
