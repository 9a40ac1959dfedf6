r"""The solved problems of a two-group Newton batch (:mod:`lpm.solvers.two_groups`),
stacked: what a sweep's table reads, in arrays over the batch, and each problem's
:class:`lpm.solvers.reduced_program.ReducedResult` on demand.

A sweep of the two-group model needs of each point its group block, its within-group
values, the budget's multiplier and the active set with its KKT slacks; building a
result object and its logits for each of them costs more than the arithmetic of the
table (about 10 us a point against 29 us for the Newton solve itself, measured on the
Figure-3 curve). The numbers are those of the per-problem results, which are made from
these very arrays (:meth:`TwoGroupBatch.result`), so a problem gets the same bits alone
or in a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.groups import Groups
from ..model.logits import GroupedLogits
from .reduced_program import ReducedResult


@dataclass(frozen=True)
class TwoGroupBatch:
    r"""Stacked results of ``n`` two-group problems, in the units of the general solver.

    Attributes
    ----------
    M : ndarray, shape (n, 2, 2)
        The group blocks of the optimal grouped logits (rank one).
    s : ndarray, shape (n, 2)
        The within-group values :math:`s_g` (0 for a one-class group).
    multiplier : ndarray, shape (n,)
        The multiplier of :math:`\lVert Z\rVert_* \le \tau`.
    fixed : ndarray of bool, shape (n, 2)
        Groups of two or more classes held at :math:`s_g = 0` at the end (collapsed).
    kkt_slack : ndarray, shape (n, 2)
        :math:`\partial f/\partial s_g + \lambda (K_g - 1)`, at least 0 where held.
    y : ndarray, shape (n, 4)
        The solver's final coordinates :math:`(\theta, r, \sigma_1, \sigma_2)` (a warm
        start for a nearby problem).
    weights : ndarray, shape (n, 2)
        The problems' loss weight of one class of each group.
    tau : ndarray, shape (n,)
        The problems' nuclear-norm budgets.
    iterations, converged, messages, histories : lists of length n
        Each solve's Newton iterations, convergence flag, message and
        ``(log f, decrement)`` history.
    """

    M: np.ndarray
    s: np.ndarray
    multiplier: np.ndarray
    fixed: np.ndarray
    kkt_slack: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    tau: np.ndarray
    iterations: list
    converged: list
    messages: list
    histories: list

    @classmethod
    def stack(cls, points: list, states: list, weights: list, tau: list) -> TwoGroupBatch:
        """From each problem's ``(M, s, multiplier, fixed, kkt_slack)`` in floats, its
        solver state ``(x, held, converged, message, iterations, history, evaluation)``
        and its data: the weights ``(pi_1, pi_2)`` and the budget ``tau``, in floats."""
        n = len(points)
        M, s, multiplier, fixed, slack = zip(*points) if n else ((),) * 5
        arrays = [
            np.array(M, float).reshape(n, 2, 2),
            np.array(s, float).reshape(n, 2),
            np.array(multiplier, float).reshape(n),
            np.array(fixed, bool).reshape(n, 2),
            np.array(slack, float).reshape(n, 2),
            np.array([state[0] for state in states], float).reshape(n, 4),
            np.array(weights, float).reshape(n, 2),
            np.array(tau, float).reshape(n),
        ]
        for a in arrays:  # shared by the results made from them: read-only
            a.setflags(write=False)
        return cls(
            *arrays,
            iterations=[state[4] for state in states],
            converged=[state[2] for state in states],
            messages=[state[3] for state in states],
            histories=[state[5] for state in states],
        )

    def __len__(self) -> int:
        return len(self.iterations)

    def result(self, i: int, layout: Groups | None) -> ReducedResult:
        """Problem ``i``'s :class:`ReducedResult` (logits of the class ``layout``; none
        without one)."""
        return ReducedResult(
            logits=None if layout is None else GroupedLogits(layout, self.M[i], self.s[i]),
            multiplier=float(self.multiplier[i]),
            iterations=self.iterations[i],
            converged=self.converged[i],
            message=self.messages[i],
            fixed=self.fixed[i],
            kkt_slack=self.kkt_slack[i],
            history=self.histories[i],
            y=self.y[i],
        )

    def results(self, layouts) -> list[ReducedResult]:
        """Every problem's :meth:`result` (``layouts``: one per problem, or None)."""
        if layouts is None:
            return [self.result(i, None) for i in range(len(self))]
        return [self.result(i, layout) for i, layout in enumerate(layouts)]
