r"""Losses that adjust the logits class by class, for imbalanced training.

Each is cross-entropy after an affine map of the logits that depends on the classes,

.. math:: L(z, k) = \mathrm{CE}\big(a \odot z + b + c_k e_k,\ k\big),
          \qquad \mathrm{CE}(u, k) = \log\textstyle\sum_j e^{u_j} - u_k ,

so it is convex in :math:`z` like cross-entropy itself:

====================  =============================  =====================  ====================
``loss=``             :math:`a_j`                    :math:`b_j`            :math:`c_k`
====================  =============================  =====================  ====================
``"logit_adjusted"``  1                              :math:`\tau\log\pi_j`  0
``"cdt"``             :math:`(n_j/n_{\max})^\gamma`  0                      0
``"vs"``              :math:`(n_j/n_{\max})^\gamma`  :math:`\tau\log\pi_j`  0
``"ldam"``            :math:`s`                      0                      :math:`-s\,\Delta_k`
====================  =============================  =====================  ====================

with :math:`\pi_j = n_j/N` and :math:`\Delta_k = C n_k^{-1/4}`. The parameters are
functions of the class counts, so a loss is *bound* to its classes before use
(:meth:`ClassAffineLoss.bind`, which :class:`lpm.Model` calls); they are equal on classes
of equal count, and the classes of a model are grouped by equal loss weight *and* equal
coefficients, so the symmetry reduction holds.

Derivatives follow by the chain rule: the gradient in a slot is :math:`a_j` times that
of cross-entropy at the mapped logits, and the Hessian in the slot values,
:math:`\operatorname{diag}(a)(\operatorname{diag}(d) - q q^\top)\operatorname{diag}(a)
= \operatorname{diag}(a^2 d) - (a q)(a q)^\top`, keeps the form the low-rank route's
preconditioner uses. Cross-entropy is invariant under :math:`u \to u + t\mathbf 1`, so
each of these losses is invariant under :math:`z \to z + t v`, :math:`v_j = 1/a_j`: some
optimum has :math:`Z v = 0` (rank ``K - 1`` suffices), and the reduced program works in
the complement of ``v``. For logit adjustment and LDAM (``a`` constant) that is the
usual :math:`Z\mathbf 1 = 0`. None of them has a finite minimizer: the budget always
binds.

References
----------
A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit, S. Kumar, "Long-tail learning
via logit adjustment", ICLR 2021 (logit adjustment, :math:`\tau = 1`).
H.-J. Ye, H.-Y. Chen, D.-C. Zhan, W.-L. Chao, "Identifying and compensating for feature
deviation in imbalanced deep learning", arXiv 2001.01385, 2020 (class-dependent
temperatures :math:`a_j = (n_{\max}/n_j)^\gamma`; logits divided by them).
G. R. Kini, O. Paraskevas, S. Oymak, C. Thrampoulidis, "Label-imbalanced and
group-sensitive classification under overparameterization", NeurIPS 2021 (the
vector-scaling loss, :math:`\Delta_j = (n_j/n_{\max})^\gamma`,
:math:`\iota_j = \tau\log\pi_j`).
K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning imbalanced datasets with
label-distribution-aware margin loss", NeurIPS 2019 (LDAM: margins
:math:`C n_k^{-1/4}`, the largest 0.5, scale :math:`s = 30`).
"""

from __future__ import annotations

import copy
from abc import abstractmethod

import numpy as np

from .. import _validation as check
from .losses import CLASS_LOSSES, CrossEntropy, Loss


def _read_only(values) -> np.ndarray:
    arr = np.array(values, dtype=float)
    arr.setflags(write=False)
    return arr


def log_prior(counts: np.ndarray) -> np.ndarray:
    r""":math:`\log\pi_j`, :math:`\pi_j = n_j / N`, without overflow (normalized by the
    largest count first)."""
    scaled = counts / counts.max()
    return np.log(scaled) - np.log(scaled.sum())


def count_power(counts: np.ndarray, gamma: float) -> np.ndarray:
    r""":math:`(n_j / n_{\max})^\gamma`."""
    return (counts / counts.max()) ** gamma


class ClassAffineLoss(Loss):
    r"""Cross-entropy after a class-dependent affine map of the logits,
    :math:`L(z, k) = \mathrm{CE}(a\odot z + b + c_k e_k, k)` (see the module docstring).

    A subclass defines its parameters and :meth:`coefficients`; :meth:`bind` computes
    the per-class ``a`` (:attr:`scale`), ``b`` (:attr:`offset`) and ``c`` (:attr:`own`)
    from the class counts. An unbound loss has no values: the routes use the bound one
    of a :class:`lpm.Model`.
    """

    class_dependent = True
    #: the loss the mapped logits go into
    base: Loss = CrossEntropy()
    #: names of the parameters (constructor arguments, ``repr``, equality, ``get_loss``)
    params: tuple[str, ...] = ()
    #: the counts the loss is bound to, and its coefficients per class (None: unbound)
    counts: np.ndarray | None = None
    scale: np.ndarray | None = None
    offset: np.ndarray | None = None
    own: np.ndarray | None = None

    @classmethod
    def from_params(cls, params: dict) -> ClassAffineLoss:
        """The loss from ``loss_params`` (ValueError naming any unknown one)."""
        unknown = sorted(set(params) - set(cls.params))
        if unknown:
            raise ValueError(
                f"loss {cls.name!r} takes the parameters {', '.join(cls.params)}; got "
                f"{', '.join(map(repr, unknown))}"
            )
        return cls(**params)

    @abstractmethod
    def coefficients(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, b, c)``, each of shape (K,), for classes of these (valid) counts."""

    def bind(self, counts) -> ClassAffineLoss:
        """The loss with its coefficients for classes of these sample counts (K,)."""
        counts = check.positive_vector("counts", counts)
        a, b, c = self.coefficients(counts)
        tiny = np.finfo(float).tiny
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(np.isfinite(c))):
            bad = "not finite"
        elif not np.all(a >= tiny):
            bad = "a logit scale of 0 (underflow)"
        else:
            bad = ""
        if bad:
            given = ", ".join(f"{p}={getattr(self, p)!r:.40}" for p in self.params)
            raise ValueError(
                f"the {self.name!r} loss's coefficients at these counts are {bad}: its "
                f"parameters ({given}) are out of the double range for counts "
                f"{float(counts.min()):g} to {float(counts.max()):g}"
            )
        bound = copy.copy(self)
        bound.counts, bound.scale, bound.offset, bound.own = (
            _read_only(x) for x in (counts, a, b, c)
        )
        # a constant scale keeps the shift invariance of cross-entropy
        bound.shift_invariant = bool(np.all(bound.scale == bound.scale[0]))
        bound.__dict__.pop("_hash", None)
        return bound

    def _require_bound(self, K: int | None = None) -> None:
        if self.scale is None:
            raise ValueError(
                f"the {self.name!r} loss sets its parameters from the class counts: bind it "
                "first (loss.bind(counts)), as lpm.Model does"
            )
        if K is not None and K != self.scale.size:
            raise ValueError(
                f"the {self.name!r} loss is bound to {self.scale.size} classes, got logits "
                f"of {K} classes"
            )

    def class_table(self) -> np.ndarray:
        """``(K, 3)``: ``a, b, c`` of every class (classes of equal rows are
        interchangeable for the loss; :attr:`lpm.Model.groups` groups by them)."""
        self._require_bound()
        return np.column_stack([self.scale, self.offset, self.own])

    # -- the routes ------------------------------------------------------------------------
    def on_slots(self, classes) -> _AffineRows:
        self._require_bound()
        cls = np.asarray(classes, dtype=int)
        shift = self.offset[cls]
        shift[..., 0] += self.own[cls[..., 0]]
        return _AffineRows(self.base, self.scale[cls], shift)

    def on_groups(self, classes) -> _AffineGroups:
        self._require_bound()
        cls = np.asarray(classes, dtype=int)
        b = self.offset[cls]
        return _AffineGroups(self.base, self.scale[cls], b, b + self.own[cls])

    def rows(self, V, mult, hessian=False, classes=None):
        """:meth:`Loss.rows` of rows whose slots hold the classes ``classes`` (the shape
        of ``V``; required): :meth:`on_slots` ``(classes).rows(V, mult, hessian)``."""
        if classes is None:
            raise ValueError(
                f"the {self.name!r} loss depends on the classes: give the class of every "
                "slot (classes=, or loss.on_slots(classes).rows(...))"
            )
        return self.on_slots(classes).rows(V, mult, hessian)

    def grouped(self, own, X, mult, curvature: bool = False, classes=None):
        """:meth:`Loss.grouped` with one class of each group in ``classes`` (required)."""
        if classes is None:
            raise ValueError(
                f"the {self.name!r} loss depends on the classes: give one class of each "
                "group (classes=, or loss.on_groups(classes).grouped(...))"
            )
        return self.on_groups(classes).grouped(own, X, mult, curvature)

    def dense(self, Z, weights):
        Z = np.asarray(Z, dtype=float)
        K = Z.shape[0]
        self._require_bound(K)
        mapped = Z * self.scale + self.offset
        mapped[np.diag_indices(K)] += self.own
        value, G = self.base.dense(mapped, weights)
        G *= self.scale
        return value, G

    def cvx(self, Z, weights):
        import cvxpy as cp

        K = Z.shape[0]
        self._require_bound(K)
        shift = np.tile(self.offset, (K, 1)) + np.diag(self.own)
        mapped = cp.multiply(np.tile(self.scale, (K, 1)), Z) + shift
        return self.base.cvx(mapped, weights)

    @property
    def has_invariant_direction(self) -> bool:
        return self.base.shift_invariant

    def invariant_direction(self, classes):
        self._require_bound()
        return 1.0 / self.scale[np.asarray(classes, dtype=int)]

    # -- identity ---------------------------------------------------------------------------
    def _values(self):
        return tuple(getattr(self, p) for p in self.params)

    def __repr__(self) -> str:
        def show(v):
            return repr(v.tolist()) if isinstance(v, np.ndarray) else repr(v)

        args = ", ".join(
            f"{p}={show(v)}" for p, v in zip(self.params, self._values()) if v is not None
        )
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return False
        for x, y in zip(self._values() + (self.counts,), other._values() + (other.counts,)):
            if (x is None) != (y is None):
                return False
            if isinstance(x, np.ndarray) and not np.array_equal(x, y):
                return False
            if not isinstance(x, np.ndarray) and x != y:
                return False
        return True

    def __hash__(self) -> int:
        cached = self.__dict__.get("_hash")
        if cached is None:
            parts = [
                v.tobytes() if isinstance(v, np.ndarray) else v
                for v in self._values() + (self.counts,)
            ]
            cached = self.__dict__["_hash"] = hash((type(self).__name__, *parts))
        return cached


class _AffineRows:
    """A class-dependent loss on rows whose slots' coefficients are fixed: the base loss
    of ``a * V + b`` (``a``, ``b`` of the shape of ``V``)."""

    def __init__(self, base: Loss, a: np.ndarray, b: np.ndarray):
        self.base, self.a, self.b = base, a, b

    def rows(self, V, mult, hessian: bool = False):
        out = self.base.rows(self.a * np.asarray(V, dtype=float) + self.b, mult, hessian)
        grad = out[1] * self.a
        if not hessian:
            return out[0], grad
        return out[0], grad, out[2] * (self.a[:, :, None] * self.a[:, None, :])


class _AffineGroups:
    """A class-dependent loss in grouped form with fixed group coefficients: row ``g``
    has own logit ``a_g own_g + b_g + c_g``, slot ``h`` the logits ``a_h X_gh + b_h``
    (``a``, ``b``, ``b_own = b + c`` of shape (..., G))."""

    def __init__(self, base: Loss, a: np.ndarray, b: np.ndarray, b_own: np.ndarray):
        self.base, self.a, self.b, self.b_own = base, a, b, b_own

    def grouped(self, own, X, mult, curvature: bool = False):
        a_own, a_X = self.a, self.a[..., None, :]
        mapped_own = a_own * np.asarray(own, dtype=float) + self.b_own
        mapped_X = a_X * np.asarray(X, dtype=float) + self.b[..., None, :]
        out = self.base.grouped(mapped_own, mapped_X, mult, curvature)
        value, g_own, g_X = out[0], out[1] * a_own, out[2] * a_X
        if not curvature:
            return value, g_own, g_X
        curv = out[3]
        if curv is not None:  # diag(a) (diag(d) - q q^T) diag(a)
            d_own, d_X, q_own, q_X = curv
            curv = (d_own * a_own**2, d_X * a_X**2, q_own * a_own, q_X * a_X)
        return value, g_own, g_X, curv


def _sized(name: str, values: np.ndarray, K: int) -> np.ndarray:
    """A per-class parameter vector (checked at construction) against ``K`` classes."""
    if values.size != K:
        raise ValueError(f"{name} must have one entry per class ({K}), got {values.size} entries")
    return values


def _vector_param(name: str, values, *, allow_zero: bool = False, positive: bool = True):
    """An optional per-class parameter vector, checked (but for its length) at
    construction and stored read-only."""
    if values is None:
        return None
    if positive:
        return _read_only(check.positive_vector(name, values, allow_zero=allow_zero))
    return _read_only(check.real_vector(name, values))


class LogitAdjusted(ClassAffineLoss):
    r"""Logit-adjusted cross-entropy: :math:`L(z, k) = \mathrm{CE}(z + \tau\log\pi, k)`.

    Parameters
    ----------
    tau : float
        :math:`\tau \ge 0`; 1 (the default) is Menon et al.'s choice, 0 is cross-entropy.
    prior : array_like, shape (K,), optional
        Positive weights :math:`\pi` in place of the class frequencies :math:`n_j/N` (any
        scale: a constant shift of the logits does not change the loss).

    References
    ----------
    Menon et al., "Long-tail learning via logit adjustment", ICLR 2021, eq. (10).
    """

    name = "logit_adjusted"
    params = ("tau", "prior")
    shift_invariant = True

    def __init__(self, tau: float = 1.0, prior=None):
        self.tau = check.real_at_least("tau", tau, 0.0)
        self.prior = _vector_param("prior", prior)

    def coefficients(self, counts):
        K = counts.size
        log_pi = log_prior(counts if self.prior is None else _sized("prior", self.prior, K))
        return np.ones(K), self.tau * log_pi, np.zeros(K)


class ClassDependentTemperature(ClassAffineLoss):
    r"""Class-dependent temperatures: the logit of class ``j`` divided by
    :math:`a_j = (n_{\max}/n_j)^\gamma` before cross-entropy,
    :math:`L(z, k) = \mathrm{CE}(z / a, k)`.

    Parameters
    ----------
    gamma : float
        :math:`\gamma \ge 0` (0 is cross-entropy). Ye et al. choose it on a validation
        grid, in :math:`[0, 0.4]` for CIFAR-10 (the ten-class benchmark; :math:`[0, 0.2]`
        for CIFAR-100 and Tiny-ImageNet); the default 0.3 is the one of Kini et al.'s
        code for this loss.
    temperatures : array_like, shape (K,), optional
        Positive :math:`a_j` given directly.

    References
    ----------
    Ye, Chen, Zhan, Chao, "Identifying and compensating for feature deviation in
    imbalanced deep learning", arXiv 2001.01385, 2020.
    """

    name = "cdt"
    params = ("gamma", "temperatures")

    def __init__(self, gamma: float = 0.3, temperatures=None):
        self.gamma = check.real_at_least("gamma", gamma, 0.0)
        self.temperatures = _vector_param("temperatures", temperatures)

    def coefficients(self, counts):
        K = counts.size
        if self.temperatures is None:
            scale = count_power(counts, self.gamma)
        else:
            scale = 1.0 / _sized("temperatures", self.temperatures, K)
        return scale, np.zeros(K), np.zeros(K)


class VectorScaling(ClassAffineLoss):
    r"""The vector-scaling (VS) loss: :math:`L(z, k) = \mathrm{CE}(\Delta\odot z + \iota, k)`
    with :math:`\Delta_j = (n_j/n_{\max})^\gamma` and :math:`\iota_j = \tau\log\pi_j`
    (``gamma = 0``: logit adjustment; ``tau = 0``: class-dependent temperatures).

    Parameters
    ----------
    gamma, tau : float
        :math:`\gamma, \tau \ge 0`; defaults 0.3 and 1, those of Kini et al.'s code.
    Delta : array_like, shape (K,), optional
        Positive multiplicative adjustments given directly (in place of ``gamma``).
    iota : array_like, shape (K,), optional
        Real additive adjustments given directly (in place of ``tau``).

    References
    ----------
    Kini, Paraskevas, Oymak, Thrampoulidis, "Label-imbalanced and group-sensitive
    classification under overparameterization", NeurIPS 2021, eq. (VS-loss).
    """

    name = "vs"
    params = ("gamma", "tau", "Delta", "iota")

    def __init__(self, gamma: float = 0.3, tau: float = 1.0, Delta=None, iota=None):
        self.gamma = check.real_at_least("gamma", gamma, 0.0)
        self.tau = check.real_at_least("tau", tau, 0.0)
        self.Delta = _vector_param("Delta", Delta)
        self.iota = _vector_param("iota", iota, positive=False)

    def coefficients(self, counts):
        K = counts.size
        if self.Delta is None:
            scale = count_power(counts, self.gamma)
        else:
            scale = _sized("Delta", self.Delta, K)
        if self.iota is None:
            offset = self.tau * log_prior(counts)
        else:
            offset = _sized("iota", self.iota, K)
        return scale, offset, np.zeros(K)


class LDAM(ClassAffineLoss):
    r"""The label-distribution-aware margin loss:
    :math:`L(z, k) = \mathrm{CE}(s(z - \Delta_k e_k), k)`, :math:`\Delta_k = C
    n_k^{-1/4}` with ``C`` such that the largest margin (the smallest class's) is
    ``max_margin``.

    Parameters
    ----------
    max_margin : float
        The largest margin :math:`\ge 0`; 0.5, Cao et al.'s.
    s : float
        The scale :math:`s > 0`; 30, Cao et al.'s (their logits are cosines; here they
        are the LPM's, so ``s`` also scales the budget: the loss at ``Z`` with budget
        :math:`\sqrt{E_W E_H}` is the unscaled one at ``s Z``).
    margins : array_like, shape (K,), optional
        Margins :math:`\Delta_k \ge 0` given directly.

    References
    ----------
    Cao, Wei, Gaidon, Arechiga, Ma, "Learning imbalanced datasets with
    label-distribution-aware margin loss", NeurIPS 2019, eq. (13).
    """

    name = "ldam"
    params = ("max_margin", "s", "margins")
    shift_invariant = True

    def __init__(self, max_margin: float = 0.5, s: float = 30.0, margins=None):
        self.max_margin = check.real_at_least("max_margin", max_margin, 0.0)
        self.s = check.positive_real("s", s)
        self.margins = _vector_param("margins", margins, allow_zero=True)

    def coefficients(self, counts):
        K = counts.size
        if self.margins is None:
            margins = self.max_margin * (counts.min() / counts) ** 0.25
        else:
            margins = _sized("margins", self.margins, K)
        return np.full(K, self.s), np.zeros(K), -self.s * margins


CLASS_LOSSES.update(
    {cls.name: cls for cls in (LogitAdjusted, ClassDependentTemperature, VectorScaling, LDAM)}
)
