r"""The result record every solver returns: :class:`Solution`.

A solution holds the certified point (its logits, and ``W``, ``H`` built from them on
request), the objective, a certified bound on its suboptimality, the solver's status and
the time it took. It is built by :func:`lpm.certificates.certify` and depends on the model
and the measurements below it only.

The exact tests a solution answers on request (is the minority collapsed? is the optimum
a simplex ETF?) solve the model's reduced program, a layer above this one; that layer
registers them here (:func:`register_exact_tests`), so this module never imports it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import _validation as check
from .. import geometry
from ..model.logits import DenseLogits, GroupedLogits, Logits
from ..model.model import Model
from .kinds import Certificate, NuclearBall, row_scaled

#: the two sides of a solution's geometry: the classifiers ``W`` and the features ``H``
SIDES = ("W", "H")


class SolverError(RuntimeError):
    """A solver ended without a usable solution (infeasible, failed, or no iterate)."""


#: what every certified result reports, in this order (``summary()`` of each result type)
RESULT_FIELDS = ("objective", "gap", "status", "success", "method", "solver", "time", "iterations")


def result_summary(result) -> dict:
    """The :data:`RESULT_FIELDS` of a certified result, as a plain dict."""
    return {name: getattr(result, name) for name in RESULT_FIELDS}


@dataclass(frozen=True)
class Residuals:
    r"""Constraint residuals of a solution (positive = violated).

    ``nuclear``: :math:`\lVert Z\rVert_* - \tau` (``-inf`` for the penalized form, which
    has no budget); ``E_W``, ``E_H``: average squared norm minus budget (largest per-class
    squared norm minus budget with per-class budgets) of the returned ``W`` and ``H``
    (``None`` until they are built, and for the penalized form); ``factorization``:
    :math:`\lVert H W^\top - Z\rVert_F / \lVert Z\rVert_F` for the certified logits ``Z``
    (0 up to rounding, unless ``p`` columns leave out singular values of a solver's
    full-rank ``Z``; ``None`` until ``W`` and ``H`` are built).
    """

    nuclear: float
    E_W: float | None = None
    E_H: float | None = None
    factorization: float | None = None


# -- the exact tests, registered by the analysis layer ------------------------------------
#: name -> function; filled by :mod:`lpm.analysis` when the package is imported
_EXACT_TESTS: dict[str, Callable] = {}

#: what :mod:`lpm.analysis` registers: ``collapse_report(model, start) -> CollapseReport``
#: (``start``: this solution, to start its solves from),
#: ``collapse_unavailable(model, certificate_kind, has_report) -> str | None`` and
#: ``etf_is_optimal(model) -> bool``
EXACT_TESTS = ("collapse_report", "collapse_unavailable", "etf_is_optimal")


def register_exact_tests(**tests: Callable) -> None:
    """Install the exact tests of :data:`EXACT_TESTS` (called once, by :mod:`lpm.analysis`)."""
    unknown = sorted(set(tests) - set(EXACT_TESTS))
    if unknown:
        raise ValueError(f"unknown exact tests {unknown}; known: {list(EXACT_TESTS)}")
    _EXACT_TESTS.update(tests)


def exact_test(name: str) -> Callable:
    try:
        return _EXACT_TESTS[name]
    except KeyError:  # only when lpm.certificates is used without the package around it
        raise RuntimeError(
            f"the exact test {name!r} is provided by lpm.analysis; import lpm first"
        ) from None


@dataclass
class Solution:
    r"""Solution of a Layer-Peeled Model, whatever method produced it.

    Every solution carries a certificate: ``gap`` bounds ``objective - optimum`` from
    above. It is computed in numpy from the returned point alone (not from solver
    output), plus a rounding allowance, for a feasible point (the solution is scaled into
    the budget first). :attr:`certificate` names the convex program it refers to
    (:mod:`lpm.certificates.kinds`); by default the Frank--Wolfe gap of the nuclear-norm
    form. Solutions are built by :func:`lpm.certificates.certify`, the one place that
    decides ``status`` and ``success``.

    Attributes
    ----------
    model : Model
    method : str
        ``"reduced"``, ``"nuclear"``, ``"sdp"``, ``"nonconvex"``, ...
    solver : str
        The numerical engine (``"newton"``, ``"SCS"``, ``"CLARABEL"``, ``"apg"``, ...).
    objective : float
        The objective of the returned solution (with per-sample features, of those).
    gap : float
        Certified upper bound on ``objective - optimal value``; ``inf`` when no
        certificate applies.
    success : bool
        ``gap <= gap_tol`` and the solver reported convergence.
    status : str
        ``"optimal"``, ``"inaccurate"`` (a feasible solution whose certificate is above
        ``gap_tol``) or ``"uncertified"`` (no certificate applies); a solver that fails
        outright raises :class:`SolverError`.
    message : str
        What the solver said.
    time : float
        Wall-clock seconds of the solve, certificate included.
    iterations : int or None
    multiplier : float
        :math:`\sigma_{\max}(-\nabla f)`: the Lagrange multiplier of the budget at an
        optimum where it binds (penalized form: :math:`\sigma_{\max}(\Omega^{-1}\nabla f)`,
        which equals the penalty weight at the optimum).
    p : int
        Columns of ``W`` and ``H``.
    certificate : str
        Kind of certificate: ``"nuclear_ball"``, ``"nuclear_penalty"``,
        ``"per_class_dual"`` or ``"none"``.
    sample_features, sample_labels : ndarray or None
        Per-sample features (``N x p``) and their classes (``N``), from solvers that
        optimize one feature per training sample (``features="sample"``).
    """

    model: Model
    method: str
    solver: str
    logits_repr: Logits
    time: float
    status: str
    success: bool
    message: str
    objective: float
    gap: float
    multiplier: float
    p: int
    iterations: int | None = None
    gap_tol: float = 1e-6
    residuals: Residuals | None = None
    history: list = field(default_factory=list, repr=False)
    certificate: str = NuclearBall.kind
    sample_features: np.ndarray | None = field(default=None, repr=False)
    sample_labels: np.ndarray | None = field(default=None, repr=False)
    _factors: tuple | None = field(default=None, repr=False)
    _collapse: object = field(default=None, repr=False)
    _certificate: Certificate | None = field(default=None, repr=False)

    def factors(self, memory_limit: float | None = None):
        """``(H, W)``, each ``K x p`` (see :attr:`W`)."""
        memory_limit = check.memory_limit(memory_limit)
        if self._factors is None:
            omega = self._omega()
            F_H, F_W = self._weighted_logits().factors(self.p, memory_limit)
            if omega is not None:  # balanced for the weighted norm ||Omega Z||_*
                F_H = F_H / omega[:, None]
            c = math.sqrt(self.model.scale)
            self._factors = (F_H * c, F_W / c)
        H, W = self._factors
        if self.residuals.E_W is None:
            cert = self._certificate or NuclearBall()
            self.residuals = Residuals(
                self.residuals.nuclear,
                *cert.budget_residuals(self.model, H, W),
                self._factorization_error(H, W),
            )
        return H, W

    def _factorization_error(self, H, W) -> float | None:
        """Relative Frobenius distance of ``H W^T`` from the certified logits (dense
        logits only: a grouped solution's factors are exact by construction)."""
        if not isinstance(self.logits_repr, DenseLogits):
            return 0.0
        Z = self.logits_repr.Z
        norm = np.linalg.norm(Z)
        return float(np.linalg.norm(H @ W.T - Z) / norm) if norm > 0 else 0.0

    def _omega(self) -> np.ndarray | None:
        return None if self._certificate is None else self._certificate.omega

    def _weighted_logits(self) -> Logits:
        r""":math:`\Omega Z`: the logits whose balanced factors are ``(W, H)`` up to scale
        (``Z`` itself unless the norm has row weights, as with a per-sample penalty)."""
        omega = self._omega()
        return self.logits_repr if omega is None else row_scaled(self.logits_repr, omega)

    @property
    def W(self) -> np.ndarray:
        """Classifiers, ``K x p`` (row ``k`` is ``w_k``).

        For the SDP they are factored from the solver's Gram matrix, for
        ``method="nonconvex"`` they are the solver's own iterates; otherwise the balanced
        factorization of the logits: ``W W^T = sqrt(E_W/E_H) (Z^T Z)^(1/2)``,
        ``H H^T = sqrt(E_H/E_W) (Z Z^T)^(1/2)``, which every optimal pair has up to a
        common rotation when the budget binds (penalized form: ``E_H/E_W`` is replaced by
        ``lambda_W/lambda_H``, and with the per-sample penalty the factorization is that
        of ``D^(1/2) Z``, features then multiplied by ``D^(-1/2)``). Built on first access; raises
        ``MemoryError`` when the array would not fit (use the grouped statistics).
        """
        return self.factors()[1]

    @property
    def H(self) -> np.ndarray:
        """Class-mean features, ``K x p`` (row ``k`` is ``h_k``); see :attr:`W`."""
        return self.factors()[0]

    @property
    def logits(self) -> np.ndarray:
        """The ``K x K`` logit matrix ``Z = H W^T``, ``Z[k, j] = <h_k, w_j>`` (without the
        bias of a model that has one: the logits are then ``Z + 1 bias^T``)."""
        return self.logits_repr.dense()

    @property
    def bias(self) -> np.ndarray | None:
        """The classifier bias ``b`` (K,) of a weight-decay model with ``bias=True``
        (logits ``W h + b``); None for every other model."""
        b = getattr(self._certificate, "bias", None)
        return None if b is None else b.copy()

    # -- geometry -------------------------------------------------------------------------
    def classifier_gram(self, memory_limit: float | None = None) -> np.ndarray:
        """``W W^T`` (K x K)."""
        memory_limit = check.memory_limit(memory_limit)
        if self._factors is not None or self.method == "sdp":
            W = self.factors(memory_limit)[1]
            return W @ W.T
        return self._weighted_logits().classifier_gram(memory_limit) / self.model.scale

    def feature_gram(self, memory_limit: float | None = None) -> np.ndarray:
        """``H H^T`` (K x K)."""
        memory_limit = check.memory_limit(memory_limit)
        if self._factors is not None or self.method == "sdp":
            H = self.factors(memory_limit)[0]
            return H @ H.T
        omega = self._omega()
        if omega is None:
            return self.logits_repr.feature_gram(memory_limit) * self.model.scale
        gram = row_scaled(self.logits_repr, omega).feature_gram(memory_limit)
        return gram / np.outer(omega, omega) * self.model.scale

    @property
    def gram(self) -> np.ndarray:
        """The ``2K x 2K`` Gram matrix ``[H; W][H; W]^T`` of the returned factors (for the
        SDP: the solver's matrix projected to rank ``p`` and into the budgets)."""
        H, W = self.factors()
        F = np.vstack([H, W])
        return F @ F.T

    def classifier_norms(self) -> np.ndarray:
        """Norm of each classifier ``||w_k||`` (K,)."""
        return np.sqrt(np.clip(np.diagonal(self.classifier_gram()), 0.0, None))

    def feature_norms(self) -> np.ndarray:
        """Norm of each class-mean feature ``||h_k||`` (K,)."""
        return np.sqrt(np.clip(np.diagonal(self.feature_gram()), 0.0, None))

    def etf_distance(self, side: str = "W") -> float:
        """:func:`lpm.geometry.etf_distance_gram` of the classifiers (``side="W"``) or the
        features (``side="H"``)."""
        side = check.choice("side", side, SIDES)
        gram = self.classifier_gram() if side == "W" else self.feature_gram()
        return geometry.etf_distance_gram(gram)

    def self_duality_distance(self) -> float:
        """:func:`lpm.geometry.self_duality_distance` of ``W`` and ``H``."""
        return geometry.self_duality_distance(self.W, self.H)

    def classifier_cosines(self) -> np.ndarray:
        """Pairwise cosines of the classifiers (K x K)."""
        return geometry.gram_cosines(self.classifier_gram())

    def feature_cosines(self) -> np.ndarray:
        """Pairwise cosines of the class-mean features (K x K)."""
        return geometry.gram_cosines(self.feature_gram())

    def _grouped(self) -> bool:
        return isinstance(self.logits_repr, GroupedLogits) and self._factors is None

    def group_geometry(self, side: str = "W"):
        """Per-group geometry without K x K arrays (grouped solutions only).

        Returns ``(norm2, inner)``: the squared norm of a class of each group (G,) and
        the inner product of two distinct classes of groups g and h (G x G), for the
        classifiers (``side="W"``) or the features (``side="H"``).
        """
        side = check.choice("side", side, SIDES)
        if not isinstance(self.logits_repr, GroupedLogits):
            raise ValueError("group_geometry needs a grouped solution (method='reduced')")
        omega = self._omega()
        base = self._weighted_logits()
        norm2, inner = base.group_gram(side)
        f = 1.0 / self.model.scale if side == "W" else self.model.scale
        if omega is not None and side == "H":  # H = Omega^-1 (balanced factor of Omega Z)
            og = omega[base.groups.first]
            norm2, inner = norm2 / og**2, inner / np.outer(og, og)
        return norm2 * f, inner * f

    def pair_stats(self, members, what: str = "the class set", side: str = "W"):
        """:class:`lpm.geometry.PairStats` of a set of classes (classifiers or features).

        Cosines are NaN, with the reason, when some of the vectors are 0 at the optimum:
        decided on the exact grouped solution, so a conic solver's near-zero noise is not
        reported as a cosine. ``members``: integer class indices, each once, or a boolean
        mask of ``K`` entries.
        """
        side = check.choice("side", side, SIDES)
        members = check.class_subset("members", members, self.model.K)
        if members.size < 2:
            return geometry.no_pairs_stats(members.size, what)
        if self._grouped():
            return self._group_pair_stats(
                self.logits_repr.groups.count_members(members), what, side
            )
        gram = self.classifier_gram() if side == "W" else self.feature_gram()
        stats = geometry.pair_stats_from_gram(gram, members, what)
        # zero-norm check against the exact reduced optimum, where that test applies
        if not stats.reason and self.collapse_unavailable() is None:
            exact = self.collapse.logits
            norm2 = exact.group_gram(side)[0][exact.groups.labels[members]]
            if np.any(norm2 == 0):
                note = (
                    " at the optimum (exact reduced solution); this solution's "
                    "small nonzero values there are solver error"
                )
                return geometry.zero_norm_stats(
                    members.size, int((norm2 == 0).sum()), what, stats.max_distance, note
                )
        return stats

    def _group_pair_stats(self, counts, what: str, side: str = "W"):
        """:class:`lpm.geometry.PairStats` of a class set given by its members per group
        (no per-class array: any K)."""
        norm2, inner = self.group_geometry(side)
        return geometry.pair_stats_from_groups(
            norm2, inner, self._weighted_logits().group_cosines(side), counts, what
        )

    def minority_stats(self):
        """Pair statistics of the minority classifiers (``model.minority``)."""
        if self._grouped():
            return self._group_pair_stats(self.model.minority_per_group, "the minority")
        return self.pair_stats(self.model.minority, "the minority")

    @property
    def minority_cosine(self) -> float:
        """Mean pairwise cosine of the minority classifiers; NaN (with a warning saying
        why) when there are fewer than two minority classes or they are 0 vectors."""
        stats = self.minority_stats()
        if stats.reason:
            warnings.warn(f"minority_cosine is NaN: {stats.reason}", RuntimeWarning, stacklevel=2)
        return stats.mean_cosine

    @property
    def minority_vanished(self) -> bool | None:
        """Whether minority classifiers are 0 vectors at the optimum, so that their
        cosines are undefined (:attr:`minority_cosine` is then NaN). For the two-group
        model this is a phase of its own: at large imbalance the whole minority block of
        the logits is exactly 0 (``docs/mathematics.md``). Decided on the exact grouped
        solution where there is one (the reduced route, or the exact collapse test's), so
        a conic solver's near-zero noise is not read as a classifier. None when there are
        no minority classes."""
        if self.model.minority_size == 0:
            return None
        if self._grouped():
            norm2, _ = self.group_geometry("W")
            return bool(np.any(norm2[self.model.minority_per_group > 0] <= 0))
        members = self.model.minority
        if self.collapse_unavailable() is None:
            exact = self.collapse.logits
            return bool(np.any(exact.group_gram("W")[0][exact.groups.labels[members]] <= 0))
        return bool(np.any(np.diagonal(self.classifier_gram())[members] <= 0))

    @property
    def majority_cosine(self) -> float:
        """Mean pairwise cosine of the majority classifiers (NaN for fewer than two)."""
        if self._grouped():
            return self._group_pair_stats(self.model.majority_per_group, "the majority").mean_cosine
        return self.pair_stats(self.model.majority, "the majority").mean_cosine

    def is_simplex_etf(self, tol: float | None = None) -> bool:
        """Whether the classifiers form a simplex ETF.

        ``tol=None`` (default): decided exactly for the model's optimum, by the optimality
        test at the best simplex-ETF point (:func:`lpm.analysis.etf_is_optimal`).
        ``tol=x``: the geometric test :func:`lpm.geometry.is_simplex_etf` on this
        solution's classifiers, and on its features, within ``x``.
        """
        if tol is None:
            return exact_test("etf_is_optimal")(self.model)
        tol = check.real_at_least("tol", tol, 0.0)
        return (
            geometry.etf_distance_gram(self.classifier_gram()) <= tol
            and geometry.etf_distance_gram(self.feature_gram()) <= tol
        )

    # -- exact collapse -------------------------------------------------------------------
    def collapse_unavailable(self) -> str | None:
        """Why the exact collapse test does not apply to this solution (None when it does),
        e.g. per-class budgets, an uncertified solve, or a model the exact test cannot
        handle quickly (:func:`lpm.analysis.collapse_unavailable` says which)."""
        return exact_test("collapse_unavailable")(
            self.model, self.certificate, self._collapse is not None
        )

    @property
    def collapse(self):
        """:class:`lpm.CollapseReport`: which groups' classifiers are exactly equal
        at the optimum, decided by the KKT test of the reduced program (for any method,
        the model's reduced program is solved for it).

        Raises
        ------
        ValueError
            When the test does not apply (the reason: :meth:`collapse_unavailable`).
        """
        if self._collapse is None:
            reason = self.collapse_unavailable()
            if reason is not None:
                raise ValueError(reason)
            self._collapse = exact_test("collapse_report")(self.model, self)
        elif callable(self._collapse):  # deferred by the solver until asked for
            self._collapse = self._collapse()
        return self._collapse

    @property
    def minority_collapsed(self) -> bool | None:
        """Whether all minority classifiers are exactly equal at the optimum (exact test).

        None when there are fewer than two minority classes or they span several groups,
        and when the test does not apply (:meth:`collapse_unavailable` says why)."""
        if self.collapse_unavailable() is not None:
            return None
        return self.collapse.minority_collapsed

    @property
    def collapsed_groups(self) -> list[np.ndarray]:
        """Class indices of every group (2 or more classes) whose classifiers coincide
        (exact test; ValueError when it does not apply)."""
        return self.collapse.collapsed_classes()

    # -- output ---------------------------------------------------------------------------
    def summary(self) -> dict:
        """Plain-Python summary (the row of a sweep table)."""
        return {**result_summary(self), "multiplier": self.multiplier}

    def __repr__(self) -> str:
        return (
            f"Solution({self.model.label}, method={self.method!r}, solver={self.solver!r}, "
            f"status={self.status!r}, objective={self.objective:.12g}, gap={self.gap:.2e}, "
            f"time={self.time:.3g}s)"
        )
