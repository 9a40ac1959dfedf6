"""The result type shared by every solver."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import geometry
from .logits import DenseLogits, GroupedLogits, Logits
from .model import Model

EPS = np.finfo(float).eps


class SolverError(RuntimeError):
    """A solver ended without a usable solution (infeasible, failed, or no iterate)."""


@dataclass(frozen=True)
class Residuals:
    """Constraint residuals of a solution (positive = violated).

    ``nuclear``: :math:`\\lVert Z\\rVert_* - \\tau`; ``E_W``, ``E_H``: average squared norm
    minus budget, of the returned ``W`` and ``H`` (``None`` until they are built).
    """

    nuclear: float
    E_W: float | None = None
    E_H: float | None = None


@dataclass
class Solution:
    """Solution of a Layer-Peeled Model, whatever method produced it.

    Every solution carries a certificate: ``gap`` bounds ``objective - optimum`` from
    above. It is the Frank--Wolfe gap of the nuclear-norm form of the program, computed
    in numpy from the returned logits alone (not from solver output), plus a rounding
    allowance, for a feasible logit matrix (the solution is scaled into the budget first).

    Attributes
    ----------
    model : Model
    method : str
        ``"reduced"``, ``"nuclear"``, ``"sdp"``, ...
    solver : str
        The numerical engine (``"newton"``, ``"SCS"``, ``"CLARABEL"``, ...).
    objective : float
        The LPM objective of the returned solution.
    gap : float
        Certified upper bound on ``objective - optimal value``.
    success : bool
        ``gap <= gap_tol`` and the solver reported convergence.
    status : str
        ``"optimal"`` or ``"inaccurate"`` (a feasible solution whose certificate is
        above ``gap_tol``); a solver that fails outright raises :class:`SolverError`.
    message : str
        What the solver said.
    time : float
        Wall-clock seconds of the solve, certificate included.
    iterations : int or None
    multiplier : float
        :math:`\\sigma_{\\max}(-\\nabla f)`: the Lagrange multiplier of the budget at an
        optimum where it binds.
    p : int
        Columns of ``W`` and ``H``.
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
    _factors: tuple | None = field(default=None, repr=False)
    _collapse: object = field(default=None, repr=False)
    _gradient: Logits | None = field(default=None, repr=False)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def certify(
        cls,
        model: Model,
        logits: Logits,
        *,
        method: str,
        solver: str,
        started: float,
        p: int,
        gap_tol: float,
        message: str,
        converged: bool = True,
        iterations=None,
        factors=None,
        history=None,
        collapse=None,
    ):
        """Build a solution: make the logits feasible, compute objective and certificate."""
        import time

        nuc = logits.nuclear_norm()
        if nuc > model.tau:  # solver tolerance: pull the point back into the ball
            logits = logits.scaled(model.tau / nuc)
            nuc = logits.nuclear_norm()
            if factors is not None:
                f = math.sqrt(model.tau / max(nuc, 1e-300))
                factors = (factors[0] * f, factors[1] * f)
        value, grad = logits.value_and_gradient(model)
        inner = grad.inner(logits)
        sigma = grad.spectral_norm()
        raw_gap = inner + model.tau * sigma
        # rounding allowance: the terms above are sums of O(K^2) products (dense) or
        # O(G^2) (grouped), each accurate to a few ulps of its magnitude
        size = logits.K if isinstance(logits, DenseLogits) else logits.groups.G + 1
        allowance = 8 * size * EPS * (abs(inner) + model.tau * sigma + abs(value))
        gap = float(max(raw_gap, 0.0) + allowance)
        value, sigma = float(value), float(sigma)
        if not (math.isfinite(value) and math.isfinite(gap)):
            raise SolverError(f"{method}/{solver} returned a non-finite objective or gap")
        success = converged and gap <= gap_tol
        status = "optimal" if success else "inaccurate"
        if converged and not success:
            message = f"{message}; certified gap {gap:.3g} is above gap_tol={gap_tol:.3g}"
        sol = cls(
            model=model,
            method=method,
            solver=solver,
            logits_repr=logits,
            time=0.0,
            status=status,
            success=success,
            message=message,
            objective=value,
            gap=gap,
            multiplier=sigma,
            p=p,
            iterations=iterations,
            gap_tol=gap_tol,
            residuals=Residuals(nuc - model.tau),
            history=list(history or []),
            _factors=factors,
            _collapse=collapse,
            _gradient=grad,
        )
        sol.time = time.perf_counter() - started
        return sol

    # -- W, H and Z -----------------------------------------------------------------------
    def factors(self, memory_limit: float | None = None):
        """``(H, W)``, each ``K x p`` (see :attr:`W`)."""
        if self._factors is None:
            F_H, F_W = self.logits_repr.factors(self.p, memory_limit)
            c = math.sqrt(self.model.scale)
            self._factors = (F_H * c, F_W / c)
        H, W = self._factors
        if self.residuals.E_W is None:
            K = self.model.K
            self.residuals = Residuals(
                self.residuals.nuclear,
                float((W * W).sum() / K - self.model.E_W),
                float((H * H).sum() / K - self.model.E_H),
            )
        return H, W

    @property
    def W(self) -> np.ndarray:
        """Classifiers, ``K x p`` (row ``k`` is ``w_k``).

        For the conic methods they are factored from the solver's Gram matrix; otherwise
        the balanced factorization of the logits: ``W W^T = sqrt(E_W/E_H) (Z^T Z)^(1/2)``,
        ``H H^T = sqrt(E_H/E_W) (Z Z^T)^(1/2)``, which every optimal pair has up to a
        common rotation when the budget binds. Built on first access; raises
        ``MemoryError`` when the array would not fit (use the grouped statistics).
        """
        return self.factors()[1]

    @property
    def H(self) -> np.ndarray:
        """Class-mean features, ``K x p`` (row ``k`` is ``h_k``); see :attr:`W`."""
        return self.factors()[0]

    @property
    def logits(self) -> np.ndarray:
        """The ``K x K`` logit matrix ``Z = H W^T``, ``Z[k, j] = <h_k, w_j>``."""
        return self.logits_repr.dense()

    # -- geometry -------------------------------------------------------------------------
    def classifier_gram(self, memory_limit: float | None = None) -> np.ndarray:
        """``W W^T`` (K x K)."""
        if self._factors is not None or self.method == "sdp":
            W = self.factors(memory_limit)[1]
            return W @ W.T
        return self.logits_repr.classifier_gram(memory_limit) / self.model.scale

    def feature_gram(self, memory_limit: float | None = None) -> np.ndarray:
        """``H H^T`` (K x K)."""
        if self._factors is not None or self.method == "sdp":
            H = self.factors(memory_limit)[0]
            return H @ H.T
        return self.logits_repr.feature_gram(memory_limit) * self.model.scale

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
        if not isinstance(self.logits_repr, GroupedLogits):
            raise ValueError("group_geometry needs a grouped solution (method='reduced')")
        norm2, inner = self.logits_repr.group_gram(side)
        f = 1.0 / self.model.scale if side == "W" else self.model.scale
        return norm2 * f, inner * f

    def pair_stats(self, members, what: str = "the class set", side: str = "W"):
        """:class:`lpm.geometry.PairStats` of a set of classes (classifiers or features).

        Cosines are NaN, with the reason, when some of the vectors are 0 at the optimum:
        decided on the exact grouped solution, so a conic solver's near-zero noise is not
        reported as a cosine.
        """
        members = np.asarray(members, dtype=int)
        if members.size < 2:
            return geometry._no_pairs(members.size, what)
        if not self._grouped():
            gram = self.classifier_gram() if side == "W" else self.feature_gram()
            stats = geometry.pair_stats_from_gram(gram, members, what)
            if self.model.constraint == "average" and not stats.reason:
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
        norm2, inner = self.group_geometry(side)
        a = np.bincount(self.logits_repr.groups.labels[members], minlength=norm2.size)
        present = np.flatnonzero(a)
        dist2 = norm2[:, None] + norm2[None, :] - 2.0 * inner
        pairs = np.outer(a, a) - np.diag(a)  # ordered pairs of distinct members
        mask = np.zeros_like(pairs, dtype=bool)
        mask[np.ix_(present, present)] = True
        mask &= pairs > 0
        distance = float(np.sqrt(max(dist2[mask].max(), 0.0)))
        zero = present[norm2[present] <= 0]
        if zero.size:
            return geometry.zero_norm_stats(members.size, int(a[zero].sum()), what, distance)
        cos = self.logits_repr.group_cosines(side)
        # weighted mean written around one value, so a single group's cosine is exact
        c, w = cos[mask], pairs[mask] / pairs[mask].sum()
        mean = float(c[0] + w @ (c - c[0]))
        return geometry.PairStats(members.size, mean, float(cos[mask].min()), distance)

    def minority_stats(self):
        """Pair statistics of the minority classifiers (``model.minority``)."""
        return self.pair_stats(self.model.minority, "the minority")

    @property
    def minority_cosine(self) -> float:
        """Mean pairwise cosine of the minority classifiers; NaN (with a warning saying
        why) when there are fewer than two minority classes or they are 0 vectors."""
        stats = self.minority_stats()
        if stats.reason:
            import warnings

            warnings.warn(f"minority_cosine is NaN: {stats.reason}", RuntimeWarning, stacklevel=2)
        return stats.mean_cosine

    @property
    def majority_cosine(self) -> float:
        """Mean pairwise cosine of the majority classifiers (NaN for fewer than two)."""
        return self.pair_stats(self.model.majority, "the majority").mean_cosine

    def is_simplex_etf(self, tol: float | None = None) -> bool:
        """Whether the classifiers form a simplex ETF.

        ``tol=None`` (default): decided exactly for the model's optimum, by the optimality
        test at the best simplex-ETF point (:func:`lpm.collapse.etf_is_optimal`).
        ``tol=x``: the geometric test :func:`lpm.geometry.is_simplex_etf` on this
        solution's classifiers, and on its features, within ``x``.
        """
        if tol is None:
            from .collapse import etf_is_optimal

            return etf_is_optimal(self.model)
        from .geometry import etf_distance_gram

        return (
            etf_distance_gram(self.classifier_gram()) <= tol
            and etf_distance_gram(self.feature_gram()) <= tol
        )

    # -- exact collapse -------------------------------------------------------------------
    @property
    def collapse(self):
        """:class:`lpm.collapse.CollapseReport`: which groups' classifiers are exactly equal
        at the optimum, decided by the KKT test of the reduced program (for any method,
        the model's reduced program is solved for it)."""
        if self._collapse is None:
            from .collapse import collapse_report

            self._collapse = collapse_report(self.model)
        return self._collapse

    @property
    def minority_collapsed(self) -> bool | None:
        """Whether all minority classifiers are exactly equal at the optimum (exact test);
        None when there are fewer than two minority classes or they span several groups."""
        return self.collapse.minority_collapsed

    @property
    def collapsed_groups(self) -> list[np.ndarray]:
        """Class indices of every group (2 or more classes) whose classifiers coincide."""
        return self.collapse.collapsed_classes()

    # -- output ---------------------------------------------------------------------------
    def summary(self) -> dict:
        """Plain-Python summary (the row of a sweep table)."""
        return {
            "objective": self.objective,
            "gap": self.gap,
            "status": self.status,
            "success": self.success,
            "method": self.method,
            "solver": self.solver,
            "time": self.time,
            "iterations": self.iterations,
            "multiplier": self.multiplier,
        }

    def __repr__(self) -> str:
        return (
            f"Solution({self.model.label}, method={self.method!r}, solver={self.solver!r}, "
            f"status={self.status!r}, objective={self.objective:.12g}, gap={self.gap:.2e}, "
            f"time={self.time:.3g}s)"
        )
