"""The two-group imbalance: the per-class loss weights, the class layout and the label of
the two-group model (:meth:`lpm.Model.two_group`), ``K_A`` classes of ``R`` samples then
``K_B`` of one, the minority weights multiplied by ``oversample``."""

from __future__ import annotations

import math

import numpy as np

from .groups import Groups, span_counts


def two_group_weights(K_A: int, K_B: int, R, oversample: float = 1.0):
    """Per-class loss weights ``(pi_A, pi_B)`` of the two-group model, arrays over ``R``
    (``R = inf``: ``pi_B = 0``). Written with the ratio ``oversample / R`` so that no
    ``K_A * R`` overflows for ``R`` near the top of the double range."""
    R = np.atleast_1d(np.asarray(R, float))
    pairs = np.array([weight_pair(K_A, K_B, r, oversample) for r in R.ravel().tolist()])
    return pairs[:, 0].reshape(R.shape), pairs[:, 1].reshape(R.shape)


#: the attributes of a two-group model that do not depend on ``R`` (:meth:`lpm.Model._at_ratio`)
RATIO_FREE = ("E_W", "E_H", "loss", "constraint", "K", "fixed_classifier", "minority_range")


def two_group_pair(K_A: int, K_B: int, R: float, w: float) -> tuple[float, float]:
    """The per-class weights of the two-group model at ``R`` (``R`` and ``w`` checked),
    or a ValueError where one underflows to 0."""
    if math.isinf(R):
        return 1.0 / K_A, 0.0
    pi_A, pi_B = weight_pair(K_A, K_B, R, w)
    if pi_B == 0 or pi_A == 0:
        raise ValueError(
            f"R / oversample = {R:g} / {w:g} is out of the double range (a group's "
            f"weight underflows to 0); use R=inf for the limit problem"
        )
    return pi_A, pi_B


def two_group_layout(K_A: int, K_B: int, pi_A: float, pi_B: float):
    """``(groups, minority per group)`` of the two-group model: one group when the
    weights are equal, else the majority then the minority, consecutive."""
    K = K_A + K_B
    layout = ((K,), (0,)) if pi_A == pi_B else ((K_A, K_B), (0, K_A))
    groups = Groups.consecutive(layout[0], [pi_A] if pi_A == pi_B else [pi_A, pi_B])
    # the minority per group, shared by the models of a layout
    return groups, span_counts(layout[1], layout[0], K_A, K)


def two_group_label(K_A: int, K_B: int, R: float, w: float) -> str:
    return f"K_A={K_A}, K_B={K_B}, R={R:g}" + (f", w_r={w:g}" if w != 1 else "")


def weight_pair(K_A: int, K_B: int, R: float, oversample: float) -> tuple[float, float]:
    """:func:`two_group_weights` at one ``R``, in floats (a model is built in
    microseconds)."""
    # normalized by the larger weight: no overflow for R near either end of the range
    if R >= oversample:
        ratio = oversample / R  # minority over majority weight (0 at R = inf)
        pi_A = 1.0 / (K_A + K_B * ratio)
        return pi_A, ratio * pi_A
    inverse = R / oversample
    pi_B = 1.0 / (K_B + K_A * inverse)
    return inverse * pi_B, pi_B
