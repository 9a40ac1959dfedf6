r"""The exact structure of the optimum for any class counts: which groups collapse, which
classes vanish, and the rank of the classifiers' span, each decided by optimality.

For counts with many distinct values the reduced Newton solver is out of reach, and the
optimum is found by the grouped low-rank route (:mod:`lpm.solvers.lowrank`) only to its
tolerance, so no structure can be read off its numbers. It is decided as the two-group
test decides collapse (docs/mathematics.md, "Exact structure for any counts"):

1. solve the program to a tight certified gap, and read off it a candidate *face*: the
   groups whose within-group value ``s_g`` the gradient pushes to 0 (collapsed), and the
   groups whose rows and columns of the group block are at the noise level (vanished:
   classifiers and features 0);
2. solve the program restricted to that face (far fewer unknowns, and exactly on it);
3. check the remaining KKT conditions at the restricted optimum: for a group held
   collapsed, :math:`\gamma_g < \lambda` (the two-group test); for the group block, the
   largest singular value of :math:`-G_M` off the support below :math:`\lambda`
   (:func:`lpm.certificates.collapse.block_structure`), which certifies the rank and the
   vanished groups together. A margin below minus the noise releases that part of the
   face and the restricted solve is repeated; a margin within
   :data:`~lpm.certificates.DECISION_FACTOR` times the solve's own error leaves it
   *undecided*; above, the face is the optimum's: by uniqueness of the optimum
   (cross-entropy and label smoothing with positive weights, the squared losses) its
   collapses and vanishings are exact.
"""

from __future__ import annotations

import numpy as np

from ..certificates import DECISION_FACTOR, CollapseReport
from ..certificates.collapse import BlockStructure, block_structure, zero_groups
from ..model.logits import GroupedLogits
from ..model.model import Model
from ..solvers.dispatch import loss_at_zero
from ..solvers.lowrank import solve_face, solve_lowrank

#: the unrestricted solve that proposes the face stops at this gap, relative to the loss
BASE_RTOL = 1e-11
#: and the restricted solves at this one (the rounding floor of the low-rank iteration,
#: measured on ImageNet-LT: 3.7e-12 absolute for f(0) = 6.9)
FACE_RTOL = 1e-12
#: a group is proposed vanished when its rows and columns of the group block are below
#: this fraction of the block's largest entry (or of the budget sqrt(E_W E_H))
VANISH_RTOL = 1e-6
#: a group is proposed collapsed when its within-group value is below this fraction of the
#: budget per class sqrt(E_W E_H) (or when its KKT margin says so)
FREE_RTOL = 1e-8
#: at most this many restricted solves (each releases what the previous one disproved)
MAX_ROUNDS = 6


def _within(logits: GroupedLogits, grad: GroupedLogits, tau: float):
    """``(lam, gamma)``: the budget's multiplier and the singular value of -grad f on
    each group's within-group differences."""
    return -grad.inner(logits) / tau, -np.asarray(grad.s)


def structure_report(model: Model, start=None) -> CollapseReport:
    """The exact structure of the optimum of ``model`` (any counts, average budgets), by
    restricted solves and KKT margins (see the module docstring).

    Parameters
    ----------
    model : Model
    start : Solution or GroupedLogits, optional
        A solution of the model to start the solves from.

    Returns
    -------
    CollapseReport
        With ``collapsed``, ``vanished``, ``rank``, ``block_margin``, ``noise`` and
        ``undecided_groups``; its ``logits`` are the certified restricted optimum.
    """
    g = model.groups
    m = g.sizes - 1.0
    f0 = max(1.0, loss_at_zero(model))
    base = solve_lowrank(model, gap_tol=BASE_RTOL * f0, start=start)
    Z = base.logits_repr
    _, grad = Z.value_and_gradient(model)
    lam, gamma = _within(Z, grad, model.tau)
    # the base point's own error, on the margins' scale: the stationarity of the groups
    # clearly off collapse, and of the group block on its support
    free = (m > 0) & (Z.s > FREE_RTOL * model.budget)
    noise = float(np.abs(gamma[free] - lam).max(initial=0.0))
    noise = block_structure(Z, grad, model.tau, noise)[2]
    collapsed = (m > 0) & ((gamma < lam - DECISION_FACTOR * noise) | ~free)
    M = np.abs(Z.M)
    # on the scale of the logits' block (the budget, when the whole block vanishes)
    scale = max(float(M.max(initial=0.0)), model.budget)
    small = (M.max(axis=0, initial=0.0) <= VANISH_RTOL * scale) & (
        M.max(axis=1, initial=0.0) <= VANISH_RTOL * scale
    )
    vanished = small & ((m == 0) | collapsed)
    face_tol = FACE_RTOL * f0
    for _ in range(MAX_ROUNDS):
        Zr, res = solve_face(model, vanished, collapsed | vanished, Z, gap_tol=face_tol)
        _, grad = Zr.value_and_gradient(model)
        lam, gamma = _within(Zr, grad, model.tau)
        held = (m > 0) & (collapsed | vanished)
        live_within = (m > 0) & ~held
        noise = float(np.abs(gamma[live_within] - lam).max(initial=0.0))
        rank, block_margin, noise, _ = block_structure(Zr, grad, model.tau, noise)
        margins = np.where(held, lam - gamma, np.nan)
        wrong = held & (margins < -DECISION_FACTOR * noise)
        release = wrong.copy()
        if block_margin < -DECISION_FACTOR * noise and vanished.any():
            release |= vanished & _growing(Zr, grad, vanished)
        if not release.any():
            break
        collapsed &= ~release
        vanished &= ~release
        Z = Zr
    vanished = vanished & zero_groups(Zr)
    band = DECISION_FACTOR * noise
    undecided = held & (np.abs(margins) <= band)
    if abs(block_margin) <= band:
        undecided |= vanished  # the block's face, with its vanished groups, is undecided
    why = ""
    if undecided.any() or abs(block_margin) <= band:
        why = (
            f"{int(undecided.sum())} groups have KKT margins within {DECISION_FACTOR:g}x "
            f"the solve's error ({noise:.2e})"
            + (f"; the rank's margin is {block_margin:.2e}" if abs(block_margin) <= band else "")
        )
    return CollapseReport(
        model=model,
        sizes=g.sizes,
        within=np.where(held, 0.0, Zr.s),
        gamma=np.where(m > 0, gamma, 0.0),
        multiplier=float(lam),
        collapsed=held & ~undecided,
        minority_group=model.minority_group,
        logits=Zr,
        undecided="" if not why else why,
        undecided_groups=undecided,
        block=BlockStructure(
            vanished=vanished & ~undecided, rank=rank, margin=block_margin, noise=noise
        ),
    )


def _growing(Z: GroupedLogits, grad: GroupedLogits, vanished: np.ndarray) -> np.ndarray:
    """The vanished groups on which the top singular pair of -G_M off the support of the
    group block lives (where the block wants to grow)."""
    U, S, Vt = Z.svd
    rank = int((S > 1e-10 * S.max(initial=0.0)).sum()) if S.size else 0
    P = -np.asarray(grad.M)
    Uo, Vo = U[:, rank:], Vt[rank:].T
    C = Uo @ (Uo.T @ P @ Vo) @ Vo.T  # the block off the support
    u, _, vt = np.linalg.svd(C)
    weight = u[:, 0] ** 2 + vt[0] ** 2
    return vanished & (weight >= 0.5 * weight[vanished].max(initial=0.0))
