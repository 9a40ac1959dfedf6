r"""The result type shared by every solver, and the certificates it carries.

A solution is certified against a convex program whose optimal value equals the LPM's
(or lower-bounds it). The program is named by a *certificate kind*; each kind computes,
at the returned point, the convex objective and a bound on its distance to the optimum:

* :class:`NuclearBall` (default): :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le
  \tau`, bounded by the Frank--Wolfe gap :math:`\langle \nabla f, Z\rangle +
  \tau\,\sigma_{\max}(\nabla f)`.
* :class:`NuclearPenalty`: :math:`\min F(Z) = f(Z) + \beta \lVert \Omega Z\rVert_*`
  (weight decay), bounded by a Frank--Wolfe gap over a ball that must hold the optimum.
* :class:`lpm.sdp.PerClassDual`: the SDP with per-class budgets, bounded by a Lagrangian
  dual certificate.
* :class:`NoCertificate`: the feature dimension is below the one at which the convex
  program is exact; the gap is ``inf``.

:meth:`Solution.certify` is the one place where a bound becomes a solution: it adds the
rounding allowance and the excess of the returned point's own objective over the convex
objective of its logits (per-sample features, unbalanced factors), and decides status.
"""

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


# -- certificate kinds -------------------------------------------------------------------
@dataclass
class Bound:
    """What a certificate kind computes at a point.

    Attributes
    ----------
    logits : Logits
        The certified point (made feasible if the solver left it slightly outside).
    factors : tuple or None
        ``(H, W)``, scaled along with the logits.
    value : float
        Objective of the convex program at ``logits``.
    gap : float
        Upper bound on ``value - optimum`` before the rounding allowance (``inf`` when
        no certificate applies).
    magnitude : float
        Size of the terms summed into ``value`` and ``gap`` (sets the rounding allowance).
    multiplier : float
        See :attr:`Solution.multiplier`.
    residual : float
        :attr:`Residuals.nuclear`.
    note : str
        Appended to the solution's message.
    gradient : Logits or None
        The gradient of the loss at ``logits``, when the kind computed it (reused by the
        exact collapse report).
    """

    logits: Logits
    factors: tuple | None
    value: float
    gap: float
    magnitude: float
    multiplier: float
    residual: float
    note: str = ""
    gradient: Logits | None = None


def row_scaled(logits: Logits, omega: np.ndarray) -> Logits:
    r""":math:`\Omega Z` with :math:`\Omega` = diag(omega), omega of shape (K,); for grouped
    logits omega must be constant on each group."""
    omega = np.asarray(omega, dtype=float)
    if isinstance(logits, DenseLogits):
        return DenseLogits(omega[:, None] * logits.Z)
    og = omega[logits.groups.first]
    return GroupedLogits(logits.groups, og[:, None] * logits.M, og * logits.s)


def slack_note(model: Model) -> str:
    """A note when the budget is slack: exactly when the least-norm unconstrained
    minimizer of the loss fits in the nuclear-norm ball
    (:func:`lpm.reduced.unconstrained_minimizer`)."""
    from .reduced import unconstrained_minimizer

    Zu = unconstrained_minimizer(model.groups, model.loss)
    if Zu is None or Zu.nuclear_norm() > model.tau:
        return ""
    return (
        "the budget is slack (the loss's unconstrained minimizer fits in it): many (W, H) "
        "factor the optimal logits and the W, H returned are one choice among them"
    )


class Certificate:
    """A certificate kind: the convex program a solution's gap refers to."""

    #: short name stored in :attr:`Solution.certificate`
    kind: str = ""
    #: positive per-class weights of the norm (``None``: all 1); they define the balanced
    #: factorization of :meth:`Solution.factors`
    omega: np.ndarray | None = None

    def bound(self, model: Model, logits: Logits, factors) -> Bound:
        raise NotImplementedError

    def budget_residuals(self, model: Model, H: np.ndarray, W: np.ndarray):
        """``(E_W, E_H)`` of :class:`Residuals` for the factors ``H, W``."""
        K = model.K
        return float((W * W).sum() / K - model.E_W), float((H * H).sum() / K - model.E_H)


class NuclearBall(Certificate):
    r"""Frank--Wolfe gap of :math:`\min f(Z)` s.t. :math:`\lVert Z\rVert_* \le \tau`:

    .. math:: \mathrm{gap} = \langle\nabla f(Z), Z\rangle + \tau\,\sigma_{\max}(\nabla f(Z))
              \;\ge\; f(Z) - f^\star

    for every feasible ``Z`` (``f`` is convex and :math:`\min_{\lVert S\rVert_*\le\tau}
    \langle G, S\rangle = -\tau\,\sigma_{\max}(G)`). A point slightly outside the ball
    (solver tolerance) is scaled into it first.
    """

    kind = "nuclear_ball"

    def bound(self, model, logits, factors):
        nuc = logits.nuclear_norm()
        if nuc > model.tau:
            logits = logits.scaled(model.tau / nuc)
            nuc = logits.nuclear_norm()
            if factors is not None:
                f = math.sqrt(model.tau / max(nuc, 1e-300))
                factors = (factors[0] * f, factors[1] * f)
        value, grad = logits.value_and_gradient(model)
        inner = grad.inner(logits)
        sigma = grad.spectral_norm()
        return Bound(
            logits=logits,
            factors=factors,
            value=float(value),
            gap=float(inner + model.tau * sigma),
            magnitude=abs(inner) + model.tau * sigma + abs(value),
            multiplier=float(sigma),
            residual=nuc - model.tau,
            note=slack_note(model),
            gradient=grad,
        )


class NuclearPenalty(Certificate):
    r"""Certificate of the penalized (weight-decay) form
    :math:`\min_Z F(Z) = f(Z) + \beta\lVert \Omega Z\rVert_*`, :math:`\Omega` = diag(omega).

    Derivation. Every loss here is :math:`\ge 0`, so an optimum :math:`Z^\star` has
    :math:`\beta\lVert\Omega Z^\star\rVert_* = F^\star - f(Z^\star) \le \min(f(0), F(Z))`
    for any ``Z``: it lies in the ball :math:`B = \{S : \lVert \Omega S\rVert_* \le \rho\}`,
    :math:`\rho = \min(f(0), F(Z))/\beta`. ``f`` is convex, so for every ``S``,
    :math:`F(S) \ge f(Z) + \langle \nabla f(Z), S - Z\rangle + \beta\lVert\Omega S\rVert_*`.
    Over ``B`` (write ``S = r U`` with :math:`\lVert\Omega U\rVert_* = 1`, :math:`0 \le r
    \le \rho`; the dual norm of :math:`\lVert\Omega\,\cdot\rVert_*` is
    :math:`\sigma_{\max}(\Omega^{-1}\,\cdot)`),
    :math:`\min_{S\in B} \langle\nabla f, S\rangle + \beta\lVert\Omega S\rVert_* =
    -\rho\max(0, \sigma_{\max}(\Omega^{-1}\nabla f) - \beta)`. Hence, for every ``Z``,

    .. math:: F(Z) - F^\star \le \langle \nabla f(Z), Z\rangle + \beta\lVert\Omega Z\rVert_*
              + \rho\,\max\big(0,\ \sigma_{\max}(\Omega^{-1}\nabla f(Z)) - \beta\big),

    which vanishes at the optimum (there :math:`-\nabla f \in \beta\,\partial\lVert\Omega
    Z^\star\rVert_*`).

    Parameters
    ----------
    beta : float
        The penalty weight :math:`\sqrt{\lambda_W \lambda_H} > 0`.
    omega : ndarray, shape (K,), optional
        Positive row weights (:math:`\sqrt{\pi_k}` for the per-sample penalty).
    """

    kind = "nuclear_penalty"

    def __init__(self, beta: float, omega: np.ndarray | None = None):
        self.beta = float(beta)
        self.omega = None if omega is None else np.asarray(omega, dtype=float)

    def bound(self, model, logits, factors):
        value, grad = logits.value_and_gradient(model)
        weighted = logits if self.omega is None else row_scaled(logits, self.omega)
        dual = grad if self.omega is None else row_scaled(grad, 1.0 / self.omega)
        nuc = weighted.nuclear_norm()
        inner = grad.inner(logits)
        sigma = dual.spectral_norm()
        F = value + self.beta * nuc
        f0, _ = logits.scaled(0.0).value_and_gradient(model)
        rho = max(min(f0, F), 0.0) / self.beta
        return Bound(
            logits=logits,
            factors=factors,
            value=float(F),
            gap=float(inner + self.beta * nuc + rho * max(0.0, sigma - self.beta)),
            magnitude=abs(inner) + self.beta * nuc + rho * sigma + abs(F) + abs(f0),
            multiplier=float(sigma),
            residual=-math.inf,
        )

    def budget_residuals(self, model, H, W):
        return None, None


class NoCertificate(Certificate):
    """No certificate applies (the feature dimension is below the exact one): the gap is
    ``inf`` and the solution is never a success. The objective and multiplier are those
    of ``inner``, the kind that would apply at a large enough dimension."""

    kind = "none"

    def __init__(self, reason: str, inner: Certificate | None = None):
        self.reason = reason
        self.inner = inner or NuclearBall()
        self.omega = self.inner.omega

    def bound(self, model, logits, factors):
        b = self.inner.bound(model, logits, factors)
        b.gap = math.inf
        b.note = f"no certificate: {self.reason}"
        return b

    def budget_residuals(self, model, H, W):
        return self.inner.budget_residuals(model, H, W)


@dataclass
class Solution:
    r"""Solution of a Layer-Peeled Model, whatever method produced it.

    Every solution carries a certificate: ``gap`` bounds ``objective - optimum`` from
    above. It is computed in numpy from the returned point alone (not from solver
    output), plus a rounding allowance, for a feasible point (the solution is scaled into
    the budget first). :attr:`certificate` names the convex program it refers to (see the
    module docstring); by default the Frank--Wolfe gap of the nuclear-norm form.

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
    _gradient: Logits | None = field(default=None, repr=False)
    _certificate: Certificate | None = field(default=None, repr=False)

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
        certificate: Certificate | None = None,
        point_objective: float | None = None,
    ):
        """Build a solution: make the point feasible, compute objective and certificate.

        Parameters
        ----------
        certificate : Certificate, optional
            The certificate kind (default :class:`NuclearBall`).
        point_objective : float, optional
            The objective of the returned point in its own program, when it can exceed
            the convex objective of its logits (per-sample features, by Jensen; factors
            that are not balanced, by AM-GM). The two programs have the same optimal
            value, so the excess is added to the gap; this is the reported ``objective``.
        """
        import time

        certificate = certificate or NuclearBall()
        b = certificate.bound(model, logits, factors)
        # rounding allowance: the terms are sums of O(K^2) products (dense) or O(G^2)
        # (grouped), each accurate to a few ulps of its magnitude
        size = b.logits.K if isinstance(b.logits, DenseLogits) else b.logits.groups.G + 1
        allowance = 8 * size * EPS * b.magnitude
        value, excess = b.value, 0.0
        if point_objective is not None:
            point_objective = float(point_objective)
            allowance += 8 * size * EPS * abs(point_objective)
            if point_objective < value - allowance:
                raise SolverError(
                    f"{method}/{solver}: the point's objective {point_objective!r} is below "
                    f"the convex objective {value!r} of its logits, which is impossible"
                )
            excess = max(point_objective - value, 0.0)
            value = point_objective
        gap = float(max(b.gap, 0.0) + excess + allowance)
        value, sigma = float(value), float(b.multiplier)
        if not math.isfinite(value) or math.isnan(gap):
            raise SolverError(f"{method}/{solver} returned a non-finite objective or gap")
        if b.note:
            message = f"{message}; {b.note}"
        if math.isinf(gap):
            success, status = False, "uncertified"
        else:
            success = converged and gap <= gap_tol
            status = "optimal" if success else "inaccurate"
            if converged and not success:
                message = f"{message}; certified gap {gap:.3g} is above gap_tol={gap_tol:.3g}"
        sol = cls(
            model=model,
            method=method,
            solver=solver,
            logits_repr=b.logits,
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
            residuals=Residuals(b.residual),
            history=list(history or []),
            certificate=certificate.kind,
            _factors=b.factors,
            _collapse=collapse,
            _gradient=b.gradient,
            _certificate=certificate,
        )
        sol.time = time.perf_counter() - started
        return sol

    # -- W, H and Z -----------------------------------------------------------------------
    def factors(self, memory_limit: float | None = None):
        """``(H, W)``, each ``K x p`` (see :attr:`W`)."""
        if self._factors is None:
            omega = self._omega()
            base = self.logits_repr if omega is None else row_scaled(self.logits_repr, omega)
            F_H, F_W = base.factors(self.p, memory_limit)
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
        """The ``K x K`` logit matrix ``Z = H W^T``, ``Z[k, j] = <h_k, w_j>``."""
        return self.logits_repr.dense()

    # -- geometry -------------------------------------------------------------------------
    def classifier_gram(self, memory_limit: float | None = None) -> np.ndarray:
        """``W W^T`` (K x K)."""
        if self._factors is not None or self.method == "sdp":
            W = self.factors(memory_limit)[1]
            return W @ W.T
        omega = self._omega()
        base = self.logits_repr if omega is None else row_scaled(self.logits_repr, omega)
        return base.classifier_gram(memory_limit) / self.model.scale

    def feature_gram(self, memory_limit: float | None = None) -> np.ndarray:
        """``H H^T`` (K x K)."""
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
        omega = self._omega()
        base = self.logits_repr if omega is None else row_scaled(self.logits_repr, omega)
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
        reported as a cosine.
        """
        members = np.asarray(members, dtype=int)
        if members.size < 2:
            return geometry._no_pairs(members.size, what)
        if not self._grouped():
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
    def collapse_unavailable(self) -> str | None:
        """Why the exact collapse test does not apply to this solution (None when it does):
        a model with per-class budgets (the test uses the nuclear-norm form), more groups
        of equal count than the reduced program handles quickly
        (:data:`lpm.solve.REDUCED_MAX_G`), or an uncertified solve whose point need not
        be the model's optimum."""
        from .solve import REDUCED_MAX_G

        if self.model.constraint == "penalty" and self._collapse is None:
            return (
                "for weight decay the exact test comes with a reduced solve; solve with "
                "method='reduced' to get it"
            )
        if self.model.constraint not in ("average", "penalty"):
            return (
                f"the exact collapse test needs the average norm constraint; this model has "
                f"constraint={self.model.constraint!r}"
            )
        if self.certificate == NoCertificate.kind:
            return (
                "this solve is uncertified (feature dimension below the exactness bound), so "
                "the optimum the exact test describes need not be the returned point"
            )
        if self._collapse is None and self.model.groups.G > REDUCED_MAX_G:
            return (
                f"the exact test solves the reduced program, and this model has "
                f"{self.model.groups.G} groups of equal count (more than {REDUCED_MAX_G}: "
                f"slow); lpm.collapse.collapse_report(solution.model) runs it anyway"
            )
        return None

    @property
    def collapse(self):
        """:class:`lpm.collapse.CollapseReport`: which groups' classifiers are exactly equal
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
            from .collapse import collapse_report

            self._collapse = collapse_report(self.model)
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
