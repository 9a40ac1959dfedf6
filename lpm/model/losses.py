r"""Losses on the logits: the one replaceable piece of the model.

A loss :math:`L(z, k)` scores the logit vector :math:`z \in \mathbb{R}^K` of a sample of
class :math:`k`. Every loss here is convex in :math:`z` and treats the classes other than
:math:`k` alike, which is what the symmetry reduction needs.

Each loss is evaluated on *compressed rows*: a row lists the distinct logit values
``V[..., 0]`` (the own class) and ``V[..., 1:]`` (the others), and ``mult`` says how many
classes carry each value (``mult[..., 0] == 1``; a multiplicity may be 0). A full logit
row is the special case ``mult == 1``; the grouped program of
:mod:`lpm.solvers.reduced` uses larger multiplicities. Derivatives are with respect to the
distinct values (the derivative with respect to one value counts all its copies).
The same loss is written once more as a cvxpy expression for the conic formulations.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod

import numpy as np

from .._validation import choice


class Loss(ABC):
    """A loss convex in the logits that is symmetric in the non-target classes."""

    #: short name used by ``loss=`` arguments and in tables
    name: str = ""
    #: ``L(z + c 1, k) == L(z, k)`` for every constant ``c``
    shift_invariant: bool = False
    #: the loss has a finite unconstrained minimizer (so a large budget can be slack)
    has_finite_minimizer: bool = False
    #: the balanced optimum is a simplex ETF (Theorem 1 geometry) when the budget binds
    balanced_geometry: str = "simplex_etf"
    #: the loss's parameters depend on the classes (their counts): :meth:`bind` sets them,
    #: and the routes give the class of every logit (:meth:`on_slots`, :meth:`on_groups`)
    class_dependent: bool = False

    @abstractmethod
    def rows(self, V: np.ndarray, mult: np.ndarray, hessian: bool = False):
        """Value, gradient and (optionally) Hessian of compressed rows.

        Parameters
        ----------
        V : ndarray, shape (n, m)
            Distinct logit values of ``n`` rows; column 0 is the own class.
        mult : ndarray, shape (n, m)
            Multiplicities; ``mult[:, 0] == 1``; ``mult.sum(1)`` is the number of classes.
        hessian : bool
            Also return the Hessian.

        Returns
        -------
        value : ndarray, shape (n,)
        grad : ndarray, shape (n, m)
        hess : ndarray, shape (n, m, m), only when ``hessian``
        """

    @abstractmethod
    def cvx(self, Z, weights: np.ndarray):
        """``sum_k weights[k] * L(Z[k, :], k)`` as a cvxpy expression (Z is K x K)."""

    def unconstrained_margin(self, K: int):
        """Own and other logit of the minimum-norm unconstrained minimizer.

        Returns ``(own, other)`` such that ``Z = own I + other (J - I)`` minimizes the
        loss of every row with no budget, or ``None`` when no finite minimizer exists.
        """
        return None

    # -- classes: a loss that treats all classes alike ignores them ----------------------
    def bind(self, counts) -> Loss:
        """The loss for classes of these sample counts (``(K,)``): a loss whose
        parameters depend on the classes sets them here (:class:`lpm.Model` binds its
        loss); one that treats all classes alike returns itself."""
        return self

    def on_slots(self, classes) -> Loss:
        """The loss on compressed rows whose slots hold the classes ``classes`` (an
        integer array of the shape of the rows' values ``V``: the class of every slot,
        column 0 the own class). Itself for a loss that treats all classes alike."""
        return self

    def on_groups(self, classes) -> Loss:
        """The loss on rows in grouped form (:meth:`grouped`) whose slot ``h`` holds
        classes like ``classes[..., h]`` (one class of each group; row ``g``'s own class
        is like ``classes[..., g]``). Itself for a loss that treats all classes alike."""
        return self

    @property
    def has_invariant_direction(self) -> bool:
        """Some vector ``v`` over the classes has ``L(z + t v, k) = L(z, k)`` for every
        ``t`` and ``k`` (see :meth:`invariant_direction`)."""
        return self.shift_invariant

    def invariant_direction(self, classes) -> np.ndarray | None:
        """``v[i]`` for the classes ``classes[i]`` of a direction with ``L(z + t v, k) =
        L(z, k)`` for all ``t, k`` (``v = 1`` for a shift-invariant loss), or None.

        Every row of the gradient is then orthogonal to ``v``, so projecting the logits
        onto the complement of ``v`` (``Z -> Z (I - v v^T / |v|^2)``) keeps the loss and
        does not raise the nuclear norm: some optimum has ``Z v = 0`` and rank ``K - 1``.
        """
        return np.ones(np.shape(classes)) if self.shift_invariant else None

    def dense(self, Z: np.ndarray, weights: np.ndarray):
        """Weighted loss ``sum_k weights[k] L(Z[k], k)`` and its gradient for a K x K Z."""
        K = Z.shape[0]
        off = ~np.eye(K, dtype=bool)
        V = np.empty((K, K))
        V[:, 0] = np.diagonal(Z)
        V[:, 1:] = Z[off].reshape(K, K - 1)
        value, g = self.rows(V, np.ones((K, K)))
        G = np.empty((K, K))
        G[np.diag_indices(K)] = g[:, 0]
        G[off] = g[:, 1:].ravel()
        G *= weights[:, None]
        return float(weights @ value), G

    def grouped(self, own, X, mult, curvature: bool = False):
        r"""Value and derivatives of rows in grouped form (batched over leading axes).

        Row ``g`` has its own logit ``own[..., g]`` and other logits taking the values
        ``X[..., g, h]``, value ``h`` carried by ``mult[..., g, h]`` classes (``mult`` may
        be 0; it broadcasts against ``X``). This is the form of the symmetry-reduced
        logits (:func:`lpm.model.logits.grouped_derivatives`), where slot ``h`` holds the
        classes of group ``h`` (and slot ``g`` the other classes of the row's own group).

        Parameters
        ----------
        own : ndarray, shape (..., G)
        X, mult : ndarray, shape (..., G, G)
        curvature : bool
            Also return the Hessian of each row in the distinct values, in the form
            :math:`\operatorname{diag}(d) - q q^\top` that every loss here has:
            ``(d_own, d_X, q_own, q_X)`` (shapes of ``own`` and ``X``); ``None`` for a
            loss that does not provide it (the solvers then go without a
            preconditioner).

        Returns
        -------
        value : ndarray, shape (..., G)
        g_own : ndarray, shape (..., G)
        g_X : ndarray, shape (..., G, G)
            Derivatives with respect to the distinct values (all copies together).
        curvature : tuple or None, only when ``curvature``
        """
        own = np.asarray(own, dtype=float)
        X = np.asarray(X, dtype=float)
        mult = np.broadcast_to(np.asarray(mult, dtype=float), X.shape)
        lead, G = X.shape[:-2], X.shape[-1]
        V = np.concatenate([own[..., None], X], axis=-1).reshape(-1, G + 1)
        m = np.concatenate([np.ones(own.shape + (1,)), mult], axis=-1).reshape(-1, G + 1)
        value, grad = self.rows(V, m)
        grad = grad.reshape(lead + (G, G + 1))
        out = (value.reshape(lead + (G,)), grad[..., 0], grad[..., 1:])
        return (*out, None) if curvature else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        # hashed a few times per solve (caches keyed by the loss); most losses have no
        # parameters, and equal losses are of one type with equal parameters
        items = self.__dict__
        if not items:  # a class name's hash is computed once, kept by the string
            return hash(type(self).__name__)
        return hash((type(self).__name__, tuple(sorted(items.items()))))


class _SoftmaxLoss(Loss):
    """Shared softmax algebra: ``L = logsumexp(z) - t . z`` for the target distribution
    ``t = (1 - a) e_k + a 1 / K`` (``a = 0``: cross-entropy; ``a = alpha``: smoothing)."""

    shift_invariant = True
    #: smoothing ``a`` of the targets
    smoothing = 0.0

    def _target(self, mult: np.ndarray) -> np.ndarray:
        K = mult.sum(axis=1, keepdims=True)
        t = self.smoothing * mult / K
        t[:, 0] += 1.0 - self.smoothing
        return t

    def dense(self, Z: np.ndarray, weights: np.ndarray):
        """:meth:`Loss.dense` in place on the ``K x K`` array: the arithmetic of
        :meth:`rows` (logits relative to the own class, ``log1p``, gradients summing to 0)
        in fewer passes, four times faster at ``K = 1000`` (the inner loop of the
        low-rank solver and of every dense certificate)."""
        K = Z.shape[0]
        a = self.smoothing
        d = np.arange(K)
        own = Z[d, d].copy()
        E = Z - own[:, None]  # z_j - z_k
        E[d, d] = -np.inf
        c = np.maximum(E.max(axis=1, initial=-np.inf), 0.0)
        lin = (a / K) * (Z.sum(axis=1) - K * own) if a else 0.0
        E -= c[:, None]
        np.exp(E, out=E)  # exp(z_j - z_k - c), 0 on the diagonal
        s = E.sum(axis=1)
        value = c + np.log1p(np.expm1(-c) + s) - lin
        E /= (np.exp(-c) + s)[:, None]  # probabilities of the other classes
        if a:
            E -= a / K
            E[d, d] = 0.0
        E[d, d] = -E.sum(axis=1)
        E *= weights[:, None]
        return float(weights @ value), E

    def grouped(self, own, X, mult, curvature: bool = False):
        """:meth:`Loss.grouped` in closed form: the arithmetic of :meth:`rows` (logits
        relative to the own one, ``log1p``, derivatives summing to 0) on whole arrays."""
        own = np.asarray(own, dtype=float)
        X = np.asarray(X, dtype=float)
        mult = np.broadcast_to(np.asarray(mult, dtype=float), X.shape)
        dead = mult <= 0
        D = X - own[..., None]  # z_j - z_own, per slot (a new array: worked on in place)
        if dead.any():  # slots no class carries: out of the max and the sum
            D[dead] = -np.inf
        c = np.maximum(D.max(axis=-1), 0.0)
        if self.smoothing:
            target = self.smoothing * mult / (1.0 + mult.sum(axis=-1, keepdims=True))
            linear = (target * np.where(dead, 0.0, D)).sum(axis=-1)
        D -= c[..., None]
        E = np.exp(D, out=D)
        E *= mult
        total = E.sum(axis=-1)
        S = np.exp(-c) + total
        value = c + np.log1p(np.expm1(-c) + total)
        E /= S[..., None]
        P = E  # probability mass of each slot
        g_X = P
        if self.smoothing:
            value = value - linear
            g_X = P - target
        g_own = -g_X.sum(axis=-1)  # the derivatives sum to zero (shift invariance)
        if not curvature:
            return value, g_own, g_X
        p_own = np.exp(-c) / S
        # the Hessian of log-sum-exp in the slot values: diag(p) - p p^T
        return value, g_own, g_X, (p_own, P, p_own, P)

    def rows(self, V, mult, hessian=False):
        V = np.asarray(V, dtype=float)
        mult = np.broadcast_to(np.asarray(mult, dtype=float), V.shape)
        t = self._target(mult)
        # Work relative to the own logit, and with log1p, so that a loss near 0 keeps
        # full relative accuracy (large budgets drive the optimum towards 0).
        D = V[:, 1:] - V[:, :1]
        live = mult[:, 1:] > 0
        Dm = np.where(live, D, -np.inf)
        c = np.maximum(Dm.max(axis=1, initial=-np.inf), 0.0)
        E = np.where(live, mult[:, 1:] * np.exp(np.where(live, D, 0.0) - c[:, None]), 0.0)
        value = c + np.log1p(np.expm1(-c) + E.sum(axis=1))
        value -= (t[:, 1:] * D).sum(axis=1)
        S = np.exp(-c) + E.sum(axis=1)
        p_rest = E / S[:, None]
        grad = np.empty_like(V)
        grad[:, 1:] = p_rest - t[:, 1:]
        grad[:, 0] = -grad[:, 1:].sum(axis=1)  # gradients sum to zero: keeps p_0 - t_0 exact
        if not hessian:
            return value, grad
        p = np.empty_like(V)
        p[:, 1:] = p_rest
        p[:, 0] = np.exp(-c) / S
        hess = -p[:, :, None] * p[:, None, :]
        idx = np.arange(V.shape[1])
        # diagonal p_i (1 - p_i) = p_i sum_{j != i} p_j: summing the others avoids the
        # cancellation of 1 - p_i when one class takes almost all the probability
        others = np.einsum("ni,ij->nj", p, 1.0 - np.eye(V.shape[1]))
        hess[:, idx, idx] = p * others
        return value, grad, hess


class CrossEntropy(_SoftmaxLoss):
    r"""Cross-entropy, :math:`L(z, k) = \log\sum_j e^{z_j} - z_k`."""

    name = "ce"

    def cvx(self, Z, weights):
        import cvxpy as cp

        return weights @ cp.log_sum_exp(Z, axis=1) - weights @ cp.diag(Z)


class LabelSmoothing(_SoftmaxLoss):
    r"""Label-smoothed cross-entropy with smoothing :math:`\alpha \in [0, 1)`.

    :math:`L(z, k) = \log\sum_j e^{z_j} - \sum_j y_j z_j` with targets
    :math:`y = (1-\alpha) e_k + \alpha \mathbf{1}/K`. Its unconstrained minimizer is finite
    for :math:`\alpha > 0` (margin :math:`\log(1 + K(1-\alpha)/\alpha)`), so a large budget is
    slack.
    """

    name = "label_smoothing"

    def __init__(self, alpha: float = 0.1):
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"alpha must be a real number in [0, 1), got {alpha!r}")
        a = float(alpha)
        if not (0.0 <= a < 1.0):
            raise ValueError(f"alpha must be in [0, 1), got {alpha!r}")
        self.alpha = a
        self.smoothing = a
        self.has_finite_minimizer = a > 0

    def unconstrained_margin(self, K):
        if self.alpha == 0 or K < 2:
            return None
        delta = np.log1p(K * (1.0 - self.alpha) / self.alpha)
        return delta * (K - 1) / K, -delta / K

    def cvx(self, Z, weights):
        import cvxpy as cp

        K = Z.shape[0]
        return (
            weights @ cp.log_sum_exp(Z, axis=1)
            - (1.0 - self.alpha) * (weights @ cp.diag(Z))
            - (self.alpha / K) * (weights @ cp.sum(Z, axis=1))
        )

    def __repr__(self):
        return f"LabelSmoothing(alpha={self.alpha!r})"


class SquaredLoss(Loss):
    r"""Squared loss against fixed targets, :math:`L(z, k) = \tfrac12 \lVert z - y_k\rVert^2`.

    ``targets="onehot"``: :math:`y_k = e_k` (no bias; the balanced optimum is an
    orthogonal frame). ``targets="centered"``: :math:`y_k = e_k - \mathbf{1}/K` (the
    balanced optimum is a simplex ETF).
    """

    has_finite_minimizer = True

    def __init__(self, targets: str = "onehot"):
        self.targets = choice("targets", targets, ("onehot", "centered"))
        self.name = "squared" if targets == "onehot" else "squared_centered"
        self.balanced_geometry = "orthogonal" if targets == "onehot" else "simplex_etf"

    def _own_other(self, K):
        shift = 1.0 / K if self.targets == "centered" else 0.0
        return 1.0 - shift, -shift

    def rows(self, V, mult, hessian=False):
        V = np.asarray(V, dtype=float)
        mult = np.broadcast_to(np.asarray(mult, dtype=float), V.shape)
        n = V.shape[0]
        own, other = (np.broadcast_to(x, (n,)) for x in self._own_other(mult.sum(axis=1)))
        R = V - other[:, None]
        R[:, 0] = V[:, 0] - own
        value = 0.5 * (mult * R * R).sum(axis=1)
        grad = mult * R
        if not hessian:
            return value, grad
        hess = np.zeros(V.shape + (V.shape[1],))
        idx = np.arange(V.shape[1])
        hess[:, idx, idx] = mult
        return value, grad, hess

    def grouped(self, own, X, mult, curvature: bool = False):
        """:meth:`Loss.grouped` in closed form."""
        own = np.asarray(own, dtype=float)
        X = np.asarray(X, dtype=float)
        mult = np.broadcast_to(np.asarray(mult, dtype=float), X.shape)
        y_own, y_other = self._own_other(1.0 + mult.sum(axis=-1))
        R_own = own - y_own
        R = X - np.asarray(y_other)[..., None]
        value = 0.5 * (R_own * R_own + (mult * R * R).sum(axis=-1))
        g_X = mult * R
        if not curvature:
            return value, R_own, g_X
        zero = np.zeros_like(own)
        return value, R_own, g_X, (np.ones_like(own), mult.copy(), zero, np.zeros_like(X))

    def unconstrained_margin(self, K):
        return self._own_other(K)

    def cvx(self, Z, weights):
        import cvxpy as cp

        K = Z.shape[0]
        own, other = self._own_other(K)
        Y = other * np.ones((K, K)) + (own - other) * np.eye(K)
        return 0.5 * cp.sum(weights @ cp.square(Z - Y))

    def __repr__(self):
        return f"SquaredLoss(targets={self.targets!r})"


#: the losses whose parameters depend on the class counts, by name: the subclasses of
#: :class:`lpm.model.adjusted.ClassAffineLoss`, which add themselves here when
#: :mod:`lpm.model` is imported (that module builds on this one, so this one cannot
#: import it)
CLASS_LOSSES: dict[str, type] = {}

#: every ``loss=`` name
LOSS_NAMES = (
    "ce",
    "label_smoothing",
    "squared",
    "squared_centered",
    "logit_adjusted",
    "cdt",
    "vs",
    "ldam",
)


#: what ``loss=`` accepts: the names, and cross-entropy's long one
_ACCEPTED_NAMES = LOSS_NAMES + ("cross_entropy",)


def get_loss(loss="ce", **params) -> Loss:
    """A :class:`Loss` from its name (``"ce"``, ``"label_smoothing"``, ``"squared"``,
    ``"squared_centered"``, and the class-dependent ``"logit_adjusted"``, ``"cdt"``,
    ``"vs"``, ``"ldam"`` of :mod:`lpm.model.adjusted`) or an instance, returned as is."""
    if isinstance(loss, Loss):
        if params:
            raise ValueError(
                f"loss parameters are only accepted with a loss name (loss_params), got "
                f"{sorted(params)} with {loss!r}"
            )
        return loss
    choice("loss", loss, _ACCEPTED_NAMES)
    if loss in CLASS_LOSSES:
        return CLASS_LOSSES[loss].from_params(params)
    if loss in ("ce", "cross_entropy"):
        if params:
            raise ValueError(
                f"cross-entropy takes no parameters (loss_params), got {sorted(params)}"
            )
        return CrossEntropy()
    if loss == "label_smoothing":
        if set(params) - {"alpha"}:
            raise ValueError(
                f"label smoothing takes one parameter, alpha; got {sorted(params)} (loss_params)"
            )
        return LabelSmoothing(**params)
    if params:
        raise ValueError(
            f"the squared loss takes no parameters (loss_params), got {sorted(params)}"
        )
    return SquaredLoss("onehot" if loss == "squared" else "centered")
