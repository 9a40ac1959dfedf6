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

#: dtype and row shape of the arrays ``M`` to ``y``, in :class:`TwoGroupBatch`'s order
_ROWS = ((float, (2, 2)), (float, (2,)), (float, ()), (bool, (2,)), (float, (2,)), (float, (4,)))


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
    def stack(cls, solved: list, weights, tau: list) -> TwoGroupBatch:
        """From each problem's ``(point, state)``: its ``(M, s, multiplier, fixed,
        kkt_slack)`` in floats and its solver state ``(x, held, converged, message,
        iterations, history, evaluation)``; and the problems' data: the weights
        ``(pi_1, pi_2)`` and the budgets ``tau``."""
        n = len(solved)
        points, states = [p for p, _ in solved], [s for _, s in solved]
        M, s, multiplier, fixed, slack = zip(*points) if n else ((),) * 5
        columns = (M, s, multiplier, fixed, slack, [state[0] for state in states])
        arrays = [np.array(c, t).reshape(n, *shape) for c, (t, shape) in zip(columns, _ROWS)]
        return cls._make(arrays, weights, tau, *([st[k] for st in states] for k in (4, 2, 3, 5)))

    @classmethod
    def from_columns(cls, columns: tuple, solved: dict, weights, tau: list) -> TwoGroupBatch:
        """From the C route's batch (``_two_group_newton.solve_columns``: the indices it
        defers, the arrays ``M`` to ``y`` as bytes, and the lists ``iterations`` to
        ``histories``), with the deferred problems ``solved`` in Python put in (index:
        ``(point, state)`` as in :meth:`stack`). The same arrays as :meth:`stack`'s."""
        _, *buffers, iterations, converged, messages, histories = columns
        n = len(iterations)
        arrays = [np.frombuffer(b, t).reshape(n, *shape) for b, (t, shape) in zip(buffers, _ROWS)]
        if solved:
            arrays = [a.copy() for a in arrays]
            for i, (point, state) in solved.items():
                for a, row in zip(arrays, (*point, state[0])):
                    a[i] = row
                iterations[i], converged[i], messages[i], histories[i] = (
                    state[k] for k in (4, 2, 3, 5)
                )
        return cls._make(arrays, weights, tau, iterations, converged, messages, histories)

    @classmethod
    def _make(cls, arrays, weights, tau, iterations, converged, messages, histories):
        n = len(iterations)
        arrays = [*arrays, np.array(weights, float).reshape(n, 2), np.array(tau, float).reshape(n)]
        for a in arrays:  # shared by the results made from them: read-only
            a.setflags(write=False)
        return cls(*arrays, iterations, converged, messages, histories)

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
