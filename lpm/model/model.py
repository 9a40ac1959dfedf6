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
from .groups import Groups, group_by_weight, span_counts
from .imbalance import RATIO_FREE, two_group_label, two_group_layout, two_group_pair
from .losses import Loss, get_loss
from .precision import (
    LOSS_FLOOR,
    MIN_BUDGET_PRODUCT,
    etf_loss,
    largest_product,
    max_budget_product,
    safe_ratio_sqrt,
)

CONSTRAINTS = ("average", "per_class")

#: the values of ``fixed_classifier=`` (``None``: the classifier is learned; the fixed
#: classifiers themselves are built in :mod:`lpm.model.fixed_classifier`)
FIXED_CLASSIFIERS = ("etf",)


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
        Positive, finite average squared-norm budgets of classifiers and features. Only
        their product matters for the logits: each alone may be any positive double,
        the product must be at least :data:`MIN_BUDGET_PRODUCT` and, for a loss without a
        finite minimizer, at most :func:`max_budget_product` (the optimal loss stays in
        double precision); outside, a ``ValueError`` names the range.
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
    fixed_classifier : {None, "etf"}
        ``"etf"``: the classifiers are not learned but fixed to a simplex ETF of the
        budget's norm, :math:`WW^\top = \tfrac{K E_W}{K-1}(I - J/K)`, and only the features
        are optimized (:mod:`lpm.model.fixed_classifier`; average budgets, ``K >= 2``).
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
        fixed_classifier: str | None = None,
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
            fixed_classifier=fixed_classifier,
        )

    def _init(
        self,
        *,
        pi,
        counts,
        E_W,
        E_H,
        loss,
        loss_params,
        minority,
        constraint,
        groups,
        label,
        fixed_classifier=None,
    ):
        self.E_W = check.positive_real("E_W", E_W)
        self.E_H = check.positive_real("E_H", E_H)
        if loss_params is not None or not isinstance(loss, Loss):  # (else get_loss is loss)
            loss = get_loss(loss, **check.mapping("loss_params", loss_params))
        self.loss = bind_loss(loss, counts)
        self.constraint = check.choice("constraint", constraint, CONSTRAINTS)
        if pi is not None:  # else (two groups) built on first access, see the properties
            self.pi = pi
            self.counts = counts
        if groups is not None:
            self.__dict__["groups"] = groups
        self.K = int(pi.size) if pi is not None else groups.K
        if minority is not None:  # (two groups: built on first access)
            self.minority = check.class_subset("minority", minority, self.K)
        self.label = label
        self.two_group_params: tuple | None = None
        self._check_budget_product()
        self.fixed_classifier = _fixed_classifier(fixed_classifier, self.K, self.constraint)
        if self.fixed_classifier:
            self.label += ", fixed ETF classifier"

    def _check_budget_product(self) -> None:
        """ValueError unless ``E_W E_H`` lies in the range where double precision
        determines the optimum: at least :data:`MIN_BUDGET_PRODUCT`, and, for a loss
        without a finite minimizer, small enough that the loss at the simplex-ETF point
        (an upper bound on the optimal value) stays above :data:`LOSS_FLOOR`.

        Only the product matters for the logits; each budget alone may be any positive
        double (the factors are scaled by :attr:`scale`, computed without overflow)."""
        product = self.E_W * self.E_H

        def given() -> str:  # written only for an error (a model is built in microseconds)
            return (
                f"got E_W={self.E_W:g}, E_H={self.E_H:g} (product "
                f"{check.product_text(self.E_W, self.E_H)})"
            )

        if not product >= MIN_BUDGET_PRODUCT:
            raise ValueError(
                f"E_W * E_H must be at least {MIN_BUDGET_PRODUCT:g}: below, the loss varies "
                f"over the budget by less than its rounding error and the optimum is not "
                f"determined in double precision; {given()}"
            )
        if self.K < 2 or self.loss.has_finite_minimizer:
            return
        if self.loss.class_dependent:
            # its ETF loss depends on the classes: checked at this product (one row per
            # group), the largest product computed only for the message
            value = etf_loss(self.loss, self.K, self.groups)
            top = product if value(0.5 * math.log(product)) >= LOSS_FLOOR else None
            top = largest_product(value) if top is None else top
        else:
            top = max_budget_product(self.loss, self.K)
        if not product <= top:
            raise ValueError(
                f"E_W * E_H must be at most {top:.4g} for K={self.K} classes and the loss "
                f"{self.loss!r}: beyond, the optimal loss is below {LOSS_FLOOR:g}, out of "
                f"double precision; {given()}"
            )

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
        fixed_classifier: str | None = None,
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
        pi_A, pi_B = two_group_pair(K_A, K_B, R, w)
        loss = get_loss(loss, **check.mapping("loss_params", loss_params))
        pi = counts = groups = None
        model = cls.__new__(cls)
        if loss.class_dependent:
            # the loss reads its coefficients off the per-class counts, so these are built
            # (and the classes grouped by weight and coefficients: see groups); R = inf
            # has no counts, which bind_loss refuses
            check.memory((2, K), "the per-class weights and counts", None, _PER_CLASS_HINT)
            pi = np.concatenate([np.full(K_A, pi_A), np.full(K_B, pi_B)])
            if not math.isinf(R):
                counts = np.concatenate([np.full(K_A, R), np.ones(K_B)])
        else:
            # groups of consecutive classes: no per-class array (labels, weights, counts)
            # is made until one is asked for, so that two groups work at any K
            groups, model.__dict__["_minority_counts"] = two_group_layout(K_A, K_B, pi_A, pi_B)
        model._init(
            pi=pi,
            counts=counts,
            E_W=E_W,
            E_H=E_H,
            loss=loss,
            loss_params=None,
            minority=None,
            constraint=constraint,
            groups=groups,
            label=two_group_label(K_A, K_B, R, w),
            fixed_classifier=fixed_classifier,
        )
        model.minority_range = (K_A, K)
        model.two_group_params = (K_A, K_B, R, w)
        return model

    def _at_ratio(self, R) -> Model:
        """This two-group model at the imbalance ``R``: the model
        ``Model.two_group(K_A, K_B, R, ...)`` with this one's other arguments, built
        without repeating the checks that do not depend on ``R`` (a sweep over ``R``
        builds one model per point): what it copies from this model is
        :data:`lpm.model.imbalance.RATIO_FREE`. For a model of :meth:`two_group` (or
        :meth:`with_budgets` of one); a class-dependent loss, whose coefficients depend on
        the counts, gets :meth:`two_group` itself."""
        K_A, K_B, _, w = self.two_group_params
        if self.loss.class_dependent:
            return Model.two_group(
                K_A,
                K_B,
                R,
                self.E_W,
                self.E_H,
                loss=self.loss,
                oversample=w,
                constraint=self.constraint,
                fixed_classifier=self.fixed_classifier,
            )
        R = check.positive_real("R", R, allow_inf=True)
        pi_A, pi_B = two_group_pair(K_A, K_B, R, w)
        model = type(self).__new__(type(self))
        state = model.__dict__
        for key in RATIO_FREE:  # what _init and two_group set that R does not change
            state[key] = self.__dict__[key]
        state["groups"], state["_minority_counts"] = two_group_layout(K_A, K_B, pi_A, pi_B)
        label = two_group_label(K_A, K_B, R, w)
        state["label"] = label + ", fixed ETF classifier" if self.fixed_classifier else label
        state["two_group_params"] = (K_A, K_B, R, w)
        return model

    # -- derived quantities -------------------------------------------------------------

    @cached_property
    def groups(self) -> Groups:
        """Classes grouped by equal loss weight (and, for a class-dependent loss, equal
        coefficients: :meth:`lpm.model.adjusted.ClassAffineLoss.class_table`)."""
        if self.loss.class_dependent:
            return group_by_weight(self.pi, self.loss.class_table())
        return group_by_weight(self.pi)

    # the per-class arrays of the two-group model, built on first access (K can be huge)
    @cached_property
    def pi(self) -> np.ndarray:
        """Loss weight ``pi_k`` of every class (K,)."""
        g = self.groups
        check.memory((self.K,), "the per-class loss weights", None, _PER_CLASS_HINT)
        return np.repeat(g.weights, g.sizes)

    @cached_property
    def counts(self) -> np.ndarray | None:
        """Sample count of every class (K,); None for ``R = inf`` (no minority samples)."""
        if self.two_group_params is None:
            return None
        K_A, K_B, R, _ = self.two_group_params
        if math.isinf(R):
            return None
        check.memory((self.K,), "the per-class sample counts", None, _PER_CLASS_HINT)
        return np.concatenate([np.full(K_A, R), np.ones(K_B)])

    @cached_property
    def minority(self) -> np.ndarray:
        """Indices of the minority classes."""
        lo, hi = self.__dict__["minority_range"]
        check.memory((hi - lo,), "the minority class indices", None, _PER_CLASS_HINT)
        return np.arange(lo, hi)

    @property
    def minority_per_group(self) -> np.ndarray:
        """Number of minority classes in each group (G,), with no per-class array for the
        two-group model."""
        counts = self.__dict__.get("_minority_counts")
        if counts is not None:  # the two-group model's minority, fixed when it is built
            return counts
        g = self.groups
        span = self.__dict__.get("minority_range")
        if span is not None and g.is_contiguous:  # counted once per model
            counts = span_counts(tuple(g.first.tolist()), tuple(g.sizes.tolist()), *span)
            self.__dict__["_minority_counts"] = counts
            return counts
        return g.count_members(self.minority)

    @property
    def minority_size(self) -> int:
        """Number of minority classes."""
        return int(self.minority_per_group.sum())

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
        return safe_ratio_sqrt(self.E_H, self.E_W)

    @property
    def min_exact_dimension(self) -> int:
        """Smallest feature dimension p at which the convex relaxation is exact.

        A shift-invariant loss (cross-entropy, label smoothing) has an optimum with
        ``Z 1 = 0``, and a class-dependent one of :mod:`lpm.model.adjusted` one with
        ``Z v = 0`` (:meth:`lpm.Loss.invariant_direction`), so rank ``K - 1`` suffices;
        other losses need ``K``. With a fixed ETF classifier the logits have ``Z 1 = 0``
        whatever the loss: ``K - 1``.
        """
        if getattr(self, "fixed_classifier", None):
            return self.K - 1
        return max(1, self.K - 1) if self.loss.has_invariant_direction else self.K

    @property
    def majority(self) -> np.ndarray:
        """Classes not in :attr:`minority`."""
        span = self.__dict__.get("minority_range")
        if span is not None:
            return np.arange(span[0])
        mask = np.ones(self.K, bool)
        mask[self.minority] = False
        return np.flatnonzero(mask)

    @property
    def majority_per_group(self) -> np.ndarray:
        """Number of majority classes (those not in :attr:`minority`) in each group (G,)."""
        return self.groups.sizes - self.minority_per_group

    @property
    def minority_group(self) -> int | None:
        """The group holding every minority class, or None when there is no such group."""
        holding = np.flatnonzero(self.minority_per_group)
        return int(holding[0]) if holding.size == 1 else None

    def with_budgets(self, E_W: float, E_H: float) -> Model:
        """The same model with other budgets."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.E_W = check.positive_real("E_W", E_W)
        other.E_H = check.positive_real("E_H", E_H)
        other._check_budget_product()
        return other

    def program(self) -> str:
        """The program this model stands for, in words."""
        c = "per class" if self.constraint == "per_class" else "on average"
        if getattr(self, "fixed_classifier", None):
            return (
                f"LPM ({self.label}, loss={self.loss!r}): minimize sum_k pi_k L(W h_k, k) over "
                f"H in R^(K x p), K={self.K}, with W fixed to a simplex ETF of ||W||_F^2 = "
                f"K E_W, E_W={self.E_W:g}, and ||h_k||^2 <= E_H={self.E_H:g} {c}"
            )
        return (
            f"LPM ({self.label}, loss={self.loss!r}): minimize sum_k pi_k L(W h_k, k) over "
            f"W, H in R^(K x p), K={self.K}, with ||w_k||^2 <= E_W={self.E_W:g} and "
            f"||h_k||^2 <= E_H={self.E_H:g} {c}"
        )

    def __repr__(self) -> str:
        return f"Model({self.label}, E_W={self.E_W:g}, E_H={self.E_H:g}, loss={self.loss!r})"


_PER_CLASS_HINT = (
    "the two-group model needs no per-class array: use the grouped statistics of its "
    "solution (minority_cosine, group_geometry, ...) with method='reduced'"
)


def _fixed_classifier(value, K: int, constraint: str) -> str | None:
    """``fixed_classifier=`` checked: None or ``"etf"``, the latter with ``K >= 2`` and
    average budgets."""
    if value is None:
        return None
    check.choice("fixed_classifier", value, FIXED_CLASSIFIERS + (None,))
    if K < 2:
        raise ValueError(f"fixed_classifier={value!r} needs K >= 2 classes, got K={K}")
    if constraint != "average":
        raise ValueError(
            f"fixed_classifier={value!r} needs constraint='average' (the fixed ETF already "
            f"has every ||w_k||^2 = E_W K/(K-1)), got constraint={constraint!r}"
        )
    return value


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
