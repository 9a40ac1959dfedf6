r"""The Gram matrices of grouped logits in group coordinates, for one point or a stack.

For grouped logits :math:`Z = E M E^\top + \sum_g s_g D_g D_g^\top`
(:class:`lpm.model.GroupedLogits`) the balanced classifiers have the Gram matrix
:math:`(Z^\top Z)^{1/2} = E P E^\top + \sum_g |s_g| D_g D_g^\top` with
:math:`P = (M^\top M)^{1/2}` (features: :math:`(M M^\top)^{1/2}`), so a class of group
``g`` has squared norm and two distinct classes of groups ``g, h`` have inner product

.. math:: \lVert w\rVert^2 = \frac{P_{gg}}{K_g} + |s_g|\Big(1 - \frac1{K_g}\Big),\qquad
          \langle w, w'\rangle = \frac{P_{gh}}{\sqrt{K_g K_h}} - \delta_{gh}\frac{|s_g|}{K_g}.

Every function here is elementwise over leading axes (no reduction, no BLAS call), so a
point gets the same numbers alone (:meth:`GroupedLogits.group_gram`) or in a stack of
many (a sweep's table, :mod:`lpm.studies.sweep`), bit for bit. With one or two groups
the square root is in closed form (:func:`psd_sqrt_small`), the singular values of ``M``
too (:func:`singular_values_2x2`): the two-group model needs no SVD.
"""

from __future__ import annotations

import math

import numpy as np


def singular_values_2x2(a: float, b: float, c: float, d: float) -> tuple[float, float]:
    r"""The singular values of :math:`\begin{pmatrix} a & b \\ c & d\end{pmatrix}`, largest
    first, in closed form: :math:`(\rho_+ + \rho_-)/2` and :math:`|\rho_+ - \rho_-|/2` with
    :math:`\rho_+ = \lVert(a + d, c - b)\rVert`, :math:`\rho_- = \lVert(a - d, b + c)\rVert`
    (the matrix is a rotation scaled by :math:`\rho_+` plus a reflection scaled by
    :math:`\rho_-`, whose singular values add and subtract). Each is accurate to a few
    ulps of the largest, as LAPACK's are; the nuclear norm is :math:`\max(\rho_+,\rho_-)`.
    """
    plus, minus = math.hypot(a + d, c - b), math.hypot(a - d, b + c)
    return 0.5 * (plus + minus), 0.5 * abs(plus - minus)


def psd_sqrt_small(A: np.ndarray, sv: np.ndarray) -> np.ndarray:
    r""":math:`(A A^\top)^{1/2}` of 1 x 1 or 2 x 2 matrices in closed form.

    For 2 x 2, Cayley--Hamilton gives :math:`\sqrt{B} = (B + \sqrt{\det B}\,I) /
    \sqrt{\operatorname{tr}B + 2\sqrt{\det B}}`; with :math:`B = A A^\top` this is
    :math:`(A A^\top + \sigma_1\sigma_2 I)/(\sigma_1 + \sigma_2)` (0 for ``A = 0``).

    Parameters
    ----------
    A : ndarray, shape (..., n, n), n = 1 or 2
    sv : ndarray, shape (..., n)
        The singular values of ``A``, largest first.

    Returns
    -------
    ndarray, shape (..., n, n)
    """
    if A.shape[-1] == 1:
        return sv[..., None].copy()
    a, b, c, d = A[..., 0, 0], A[..., 0, 1], A[..., 1, 0], A[..., 1, 1]
    det, total = sv[..., 0] * sv[..., 1], sv[..., 0] + sv[..., 1]
    live = total > 0
    total = np.where(live, total, 1.0)
    P = np.empty(A.shape)
    P[..., 0, 0] = (a * a + b * b + det) / total
    P[..., 0, 1] = P[..., 1, 0] = (a * c + b * d) / total
    P[..., 1, 1] = (c * c + d * d + det) / total
    P[~live] = 0.0
    return P


def gram_from_parts(P: np.ndarray, a: np.ndarray, sizes) -> tuple[np.ndarray, np.ndarray]:
    """``(norm2, inner)`` of the classes of each group (see the module docstring) from
    ``P`` (..., G, G) and ``a = |s|`` (..., G): ``norm2`` (..., G) and ``inner``
    (..., G, G), the same-group inner product on the diagonal."""
    Kg = np.asarray(sizes, dtype=float)
    d = np.arange(Kg.size)
    inner = P / np.sqrt(np.outer(Kg, Kg))
    within = np.diagonal(P, axis1=-2, axis2=-1) / Kg
    norm2 = within + a * (1.0 - 1.0 / Kg)
    inner[..., d, d] = within - a / Kg
    return norm2, inner


def cosines_from_gram(norm2, inner, P_diag, a, mult) -> np.ndarray:
    """Cosine of two distinct classes of groups g and h (..., G, G) from
    :func:`gram_from_parts`; NaN where a norm is 0. Inside a group it is evaluated as
    ``(rho - 1)/(rho + K_g - 1)``, ``rho = P_gg / |s_g|`` (``mult = K_g - 1``), so that a
    simplex gives exactly ``-1/(K_g - 1)``."""
    d = np.arange(np.shape(norm2)[-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = inner / np.sqrt(norm2[..., :, None] * norm2[..., None, :])
        rho = P_diag / a
        within = (rho - 1.0) / (rho + mult)
    cos[..., d, d] = np.where(a > 0, within, cos[..., d, d])
    cos[(norm2[..., :, None] <= 0) | (norm2[..., None, :] <= 0)] = np.nan
    return np.minimum(np.maximum(cos, -1.0), 1.0)  # Cauchy-Schwarz: beyond is rounding


def stacked_gram_parts(M: np.ndarray, s: np.ndarray, sv: np.ndarray, side: str = "W"):
    """``(P, |s|)`` of a stack of one- or two-group logits: ``M`` (n, G, G), ``s`` (n, G)
    and the singular values ``sv`` (n, G) of each ``M``; ``side`` "W" (classifiers) or
    "H" (features). What :meth:`GroupedLogits.group_gram` computes for each point."""
    A = np.swapaxes(M, -1, -2) if side == "W" else M
    return psd_sqrt_small(A, sv), np.abs(s)
