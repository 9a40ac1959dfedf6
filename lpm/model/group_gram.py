r"""The Gram matrices of grouped logits in group coordinates, for one point or a stack.

For grouped logits :math:`Z = E M E^\top + \sum_g s_g D_g D_g^\top`
(:class:`lpm.model.GroupedLogits`) the balanced classifiers have the Gram matrix
:math:`(Z^\top Z)^{1/2} = E P E^\top + \sum_g |s_g| D_g D_g^\top` with
:math:`P = (M^\top M)^{1/2}` (features: :math:`(M M^\top)^{1/2}`), so a class of group
``g`` has squared norm and two distinct classes of groups ``g, h`` have inner product

.. math:: \lVert w\rVert^2 = \frac{P_{gg}}{K_g} + |s_g|\Big(1 - \frac1{K_g}\Big),\qquad
          \langle w, w'\rangle = \frac{P_{gh}}{\sqrt{K_g K_h}} - \delta_{gh}\frac{|s_g|}{K_g}.

Every function here is elementwise over leading axes (no reduction, no BLAS call), so a
point gets the same numbers alone or in a stack of many. One or two groups have these
numbers in closed form, in floats (:func:`lpm.model.few_groups.gram_geometry`).
"""

from __future__ import annotations

import numpy as np


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
