r"""The Layer-Peeled Model: a classifier and last-layer features under norm budgets.

.. math::

    \min_{W, H}\; \frac{1}{N}\sum_{k=1}^{K}\sum_{i=1}^{n_k} L(W h_{k,i}, k)
    \quad\text{s.t.}\quad
    \frac1K\sum_k \lVert w_k\rVert^2 \le E_W,\qquad
    \frac1K\sum_k \frac{1}{n_k}\sum_i \lVert h_{k,i}\rVert^2 \le E_H .

Because the loss is convex in the logits, every optimum can be taken with the features of
a class equal to their mean (Jensen), and the program becomes one over class means
:math:`H \in \mathbb{R}^{K\times p}` with :math:`\lVert W\rVert_F^2 \le K E_W`,
:math:`\lVert H\rVert_F^2 \le K E_H` and objective :math:`\sum_k \pi_k L(W h_k, k)`,
:math:`\pi_k = n_k / N`. Only the loss weights :math:`\pi` and the product
:math:`E_W E_H` determine the optimal logits.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .. import _validation as check
from .groups import Groups, group_by_weight
from .losses import Loss, get_loss

CONSTRAINTS = ("average", "per_class")


class Model:
    r"""A Layer-Peeled Model with given class sizes, budgets and loss.

    The program (class-mean form; see the module docstring for the per-sample form) is

    .. math::

        \min_{W, H \in \mathbb{R}^{K\times p}}\; \sum_k \pi_k\, L(W h_k, k)
        \quad\text{s.t.}\quad \lVert W\rVert_F^2 \le K E_W,\;
        \lVert H\rVert_F^2 \le K E_H,

    with :math:`\pi_k \propto n_k \omega_k` (``counts`` times ``class_weights``, the
    oversampling factors). With ``constraint="per_class"`` the budgets bind every class:
    :math:`\lVert w_k\rVert^2 \le E_W`, :math:`\lVert h_k\rVert^2 \le E_H`.

    Parameters
    ----------
    counts : array_like, shape (K,)
        Positive sample counts (any positive reals; integers are only needed for
        per-sample features).
    E_W, E_H : float
        Positive, finite average squared-norm budgets of classifiers and features.
    loss : str or Loss
        ``"ce"`` (default), ``"label_smoothing"``, ``"squared"``, ``"squared_centered"``.
    class_weights : array_like, shape (K,), optional
        Positive loss multipliers (oversampling factors); they change the loss weights,
        not the constraints.
    minority : array_like, optional
        Classes reported by the minority statistics: integer indices, each once, or a
        boolean mask of ``K`` entries. Default: the classes with the smallest count, when
        counts are not all equal.
    constraint : {"average", "per_class"}
        Budget on the average squared norm (the LPM) or on every class.
    loss_params : dict, optional
        Parameters of a loss given by name (e.g. ``{"alpha": 0.1}``).
    """

    def __init__(
        self,
        counts,
        E_W: float = 1.0,
        E_H: float = 1.0,
        *,
        loss: str | Loss = "ce",
        class_weights=None,
        minority=None,
        constraint: str = "average",
        loss_params: dict | None = None,
    ):
        counts = check.positive_vector("counts", counts)
        K = counts.size
        if class_weights is None:
            mass = counts
        else:
            cw = check.positive_vector("class_weights", class_weights)
            if cw.size != K:
                raise ValueError(
                    f"class_weights must have one entry per class ({K}), got {cw.size}"
                )
            with np.errstate(over="ignore"):  # checked just below
                mass = counts * cw
            if not np.all(np.isfinite(mass)):
                raise ValueError(
                    "counts * class_weights overflows the double range; rescale them (only "
                    "their ratios matter)"
                )
        # normalized by the largest first: the sum of counts near 1e308 would overflow
        scaled = mass / mass.max()
        pi = scaled / scaled.sum()
        if np.any(pi == 0):
            raise ValueError(
                "the class weights span more than the double range (a class's share "
                "underflows to 0); rescale or drop the smallest classes"
            )
        if minority is None:
            minority = np.flatnonzero(counts == counts.min()) if np.ptp(counts) > 0 else []
        self._init(
            pi=pi,
            counts=counts,
            E_W=E_W,
            E_H=E_H,
            loss=loss,
            loss_params=loss_params,
            minority=minority,
            constraint=constraint,
            groups=None,
            label=f"counts (K={K})",
        )

    def _init(
        self, *, pi, counts, E_W, E_H, loss, loss_params, minority, constraint, groups, label
    ):
        self.E_W = check.positive_real("E_W", E_W)
        self.E_H = check.positive_real("E_H", E_H)
        self.loss = bind_loss(get_loss(loss, **(loss_params or {})), counts)
        self.constraint = check.choice("constraint", constraint, CONSTRAINTS)
        self.pi = pi
        self.counts = counts
        self.K = int(pi.size)
        self.minority = check.class_subset("minority", minority, self.K)
        if groups is not None:
            self.__dict__["groups"] = groups
        self.label = label
        self.two_group_params: tuple | None = None

    @classmethod
    def two_group(
        cls,
        K_A: int,
        K_B: int,
        R: float,
        E_W: float = 1.0,
        E_H: float = 1.0,
        *,
        loss: str | Loss = "ce",
        oversample: float = 1.0,
        constraint: str = "average",
        loss_params: dict | None = None,
    ) -> Model:
        r"""The two-group imbalanced model: ``K_A`` classes of ``R`` samples (majority),
        then ``K_B`` classes of 1 sample (minority).

        ``R = inf`` is the limit problem of the paper's Theorem 5: minority loss weight 0.
        ``oversample`` multiplies the minority loss weights (the paper's mitigation); the
        effective imbalance is ``R / oversample``.
        """
        K_A = check.class_count("K_A", K_A)
        K_B = check.class_count("K_B", K_B)
        R = check.positive_real("R", R, allow_inf=True)
        w = check.positive_real("oversample", oversample)
        K = K_A + K_B
        # the per-class arrays (weights, counts, labels, ...) before any is allocated
        check.memory((4, K), "the model's per-class arrays", None, f"K = {K} classes is too many")
        if math.isinf(R):
            pi_A, pi_B, counts = 1.0 / K_A, 0.0, None
        else:
            pi_A, pi_B = (float(v[0]) for v in two_group_weights(K_A, K_B, R, w))
            if pi_B == 0 or pi_A == 0:
                raise ValueError(
                    f"R / oversample = {R:g} / {w:g} is out of the double range (a group's "
                    f"weight underflows to 0); use R=inf for the limit problem"
                )
            counts = np.concatenate([np.full(K_A, R), np.ones(K_B)])
        pi = np.concatenate([np.full(K_A, pi_A), np.full(K_B, pi_B)])
        loss = get_loss(loss, **(loss_params or {}))
        if loss.class_dependent:  # grouped by weight and coefficients (see groups)
            groups = None
        elif pi_A == pi_B:
            groups = Groups(np.zeros(K, int), np.array([K]), np.array([pi_A]), np.array([0]))
        else:
            groups = Groups(
                np.repeat([0, 1], [K_A, K_B]),
                np.array([K_A, K_B]),
                np.array([pi_A, pi_B]),
                np.array([0, K_A]),
            )
        model = cls.__new__(cls)
        model._init(
            pi=pi,
            counts=counts,
            E_W=E_W,
            E_H=E_H,
            loss=loss,
            loss_params=None,
            minority=np.arange(K_A, K),
            constraint=constraint,
            groups=groups,
            label=f"K_A={K_A}, K_B={K_B}, R={R:g}" + (f", w_r={w:g}" if w != 1 else ""),
        )
        model.two_group_params = (K_A, K_B, R, w)
        return model

    # -- derived quantities -------------------------------------------------------------

    @cached_property
    def groups(self) -> Groups:
        """Classes grouped by equal loss weight (and, for a class-dependent loss, equal
        coefficients: :meth:`lpm.model.adjusted.ClassAffineLoss.class_table`)."""
        if self.loss.class_dependent:
            return group_by_weight(self.pi, self.loss.class_table())
        return group_by_weight(self.pi)

    @property
    def budget(self) -> float:
        r"""Radius per class of the nuclear-norm ball, :math:`\sqrt{E_W E_H}`."""
        return math.sqrt(self.E_W * self.E_H)

    @property
    def tau(self) -> float:
        r"""Nuclear-norm radius :math:`\tau = K\sqrt{E_W E_H}` of the logit matrix."""
        return self.K * self.budget

    @property
    def scale(self) -> float:
        r""":math:`c^2 = \sqrt{E_H/E_W}`: features are :math:`c` times, classifiers
        :math:`1/c` times the balanced factors of the logits."""
        return math.sqrt(self.E_H / self.E_W)

    @property
    def min_exact_dimension(self) -> int:
        """Smallest feature dimension p at which the convex relaxation is exact.

        A shift-invariant loss (cross-entropy, label smoothing) has an optimum with
        ``Z 1 = 0``, and a class-dependent one of :mod:`lpm.model.adjusted` one with
        ``Z v = 0`` (:meth:`lpm.Loss.invariant_direction`), so rank ``K - 1`` suffices;
        other losses need ``K``.
        """
        return max(1, self.K - 1) if self.loss.has_invariant_direction else self.K

    @property
    def majority(self) -> np.ndarray:
        """Classes not in :attr:`minority`."""
        mask = np.ones(self.K, bool)
        mask[self.minority] = False
        return np.flatnonzero(mask)

    @property
    def minority_group(self) -> int | None:
        """The group holding every minority class, or None when there is no such group."""
        if self.minority.size == 0:
            return None
        labels = self.groups.labels[self.minority]
        return int(labels[0]) if np.all(labels == labels[0]) else None

    def with_budgets(self, E_W: float, E_H: float) -> Model:
        """The same model with other budgets."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.E_W = check.positive_real("E_W", E_W)
        other.E_H = check.positive_real("E_H", E_H)
        return other

    def program(self) -> str:
        """The program this model stands for, in words."""
        c = "per class" if self.constraint == "per_class" else "on average"
        return (
            f"LPM ({self.label}, loss={self.loss!r}): minimize sum_k pi_k L(W h_k, k) over "
            f"W, H in R^(K x p), K={self.K}, with ||w_k||^2 <= E_W={self.E_W:g} and "
            f"||h_k||^2 <= E_H={self.E_H:g} {c}"
        )

    def __repr__(self) -> str:
        return f"Model({self.label}, E_W={self.E_W:g}, E_H={self.E_H:g}, loss={self.loss!r})"


def bind_loss(loss: Loss, counts) -> Loss:
    """``loss`` bound to the model's class counts (:meth:`lpm.Loss.bind`); a ValueError
    for a class-dependent loss and no counts (the limit ``R = inf``)."""
    if not loss.class_dependent:
        return loss
    if counts is None or not np.all(np.isfinite(counts)):
        raise ValueError(
            f"loss {loss.name!r} sets its parameters from the class counts, and the limit "
            "problem R = inf has none (its minority count is 0): use a finite R"
        )
    return loss.bind(counts)


def two_group_weights(K_A: int, K_B: int, R, oversample: float = 1.0):
    """Per-class loss weights ``(pi_A, pi_B)`` of the two-group model, arrays over ``R``
    (``R = inf``: ``pi_B = 0``). Written with the ratio ``oversample / R`` so that no
    ``K_A * R`` overflows for ``R`` near the top of the double range."""
    R = np.atleast_1d(np.asarray(R, float))
    pi_A, pi_B = np.empty_like(R), np.empty_like(R)
    # normalized by the larger weight: no overflow for R near either end of the range
    up = R >= oversample
    ratio = oversample / R[up]  # minority over majority weight (0 at R = inf)
    pi_A[up] = 1.0 / (K_A + K_B * ratio)
    pi_B[up] = ratio * pi_A[up]
    inverse = R[~up] / oversample
    pi_B[~up] = 1.0 / (K_B + K_A * inverse)
    pi_A[~up] = inverse * pi_B[~up]
    return pi_A, pi_B
