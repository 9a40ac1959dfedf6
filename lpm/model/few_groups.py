r"""Grouped logits of one or two groups in plain floating point: the cross-entropy row,
the loss and its gradient, the singular values of the group block and the Gram matrices
of the classifiers and features, in closed form.

The two-group model is where users explore (curves, thresholds, phase diagrams), and
there a numpy call on its 2 x 2 group block costs more than the arithmetic: the loss and
gradient of :func:`lpm.model.logits.grouped_derivatives` take about 45 us through numpy
for one point and 4 us here, the Gram matrices about 30 us and 3 us. The numbers are
those of the general routes to rounding (tested); a point gets the same numbers alone
or in a sweep's batch, which computes each point with these functions too.

For grouped logits :math:`Z = E M E^\top + \sum_g s_g D_g D_g^\top`
(:class:`lpm.model.GroupedLogits`), row ``g`` of the loss has own logit
:math:`d_g = M_{gg}/K_g + (K_g - 1)s_g/K_g`, same-group logit
:math:`e_g = M_{gg}/K_g - s_g/K_g` and logit :math:`C_{gh} = M_{gh}/\sqrt{K_g K_h}` on the
other group, so in its margins :math:`p = d_g - e_g`, :math:`q = d_g - C_{gh}` it is the
row :func:`ce_row`. The balanced classifiers have the Gram matrix :math:`E P E^\top +
\sum_g |s_g| D_g D_g^\top`, :math:`P = (M^\top M)^{1/2}` (see
:mod:`lpm.model.group_gram`), in closed form for a 2 x 2 ``M`` by Cayley--Hamilton.
"""

from __future__ import annotations

import math

_exp, _log1p, _expm1 = math.exp, math.log1p, math.expm1


def ce_row(p: float, q: float, m: int, n: int):
    """Value and derivatives ``(value, d/dp, d/dq, d2/dp2, d2/dpdq, d2/dq2)`` of one
    compressed row of cross-entropy in its margins, ``log(1 + m e^-p + n e^-q)``: the
    arithmetic of :meth:`lpm.model.losses.CrossEntropy.rows` (shifted exponents,
    ``log1p``, second derivatives from the probabilities of the other classes)."""
    c = -q if q < 0.0 else 0.0
    if m and -p > c:
        c = -p
    e1 = m * _exp(-p - c) if m else 0.0
    e2 = n * _exp(-q - c) if n else 0.0
    if c:
        e0 = _exp(-c)
        value = c + _log1p(_expm1(-c) + e1 + e2)
    else:  # no shift (the usual case at an optimum): exp(-0) = 1, expm1(-0) = -0
        e0 = 1.0
        value = _log1p(e1 + e2)
    S = e0 + e1 + e2
    P0, P1, P2 = e0 / S, e1 / S, e2 / S
    return value, -P1, -P2, P1 * (P0 + P2), -P1 * P2, P2 * (P0 + P1)


def ce_derivatives(sizes, weights, M, s):
    """The cross-entropy of one- or two-group logits and its gradient in grouped
    coordinates: what :func:`lpm.model.logits.grouped_derivatives` returns for one point.

    Parameters
    ----------
    sizes : list of int, length G (1 or 2)
    weights : list of float, length G
        Loss weight of one class of each group.
    M : list of lists, G x G
    s : list of float, length G

    Returns
    -------
    value : float
    G_M : list of lists, G x G
        :math:`\\partial f/\\partial M`.
    gamma : list of float, length G
        :math:`\\partial f/\\partial s_g = (K_g - 1)\\gamma_g`.
    """
    G = len(sizes)
    roots = [math.sqrt(k) for k in sizes]
    value = 0.0
    G_M = [[0.0] * G for _ in range(G)]
    gamma = [0.0] * G
    for g in range(G):
        K, w, m = sizes[g], weights[g], sizes[g] - 1
        diag = M[g][g] / K
        own, same = diag + m * s[g] / K, diag - s[g] / K
        h = 1 - g
        other, n = (M[g][h] / (roots[g] * roots[h]), sizes[h]) if G == 2 else (own, 0)
        v, dp, dq = ce_row(own - same, own - other, m, n)[:3]
        value += K * w * v
        # the rows' derivatives in their logits: -dp on the same-group slot, -dq on the
        # other group's, dp + dq on the own logit (they sum to 0)
        g_own = w * (dp + dq)
        g_same = -w * dp / m if m else 0.0
        G_M[g][g] = g_own + m * g_same
        if G == 2:
            G_M[g][h] = -dq * (w * roots[g] / roots[h])
        gamma[g] = g_own - g_same
    return value, G_M, gamma


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


def gram_geometry(M, s, sizes, sv, side: str = "W"):
    """``(norm2, inner, cosines)`` of the classifiers (``side="W"``) or features
    (``"H"``) of one- or two-group logits, in closed form: what
    :func:`lpm.model.group_gram.gram_from_parts` and
    :func:`~lpm.model.group_gram.cosines_from_gram` compute from the SVD of ``M``.

    Parameters
    ----------
    M : list of lists, G x G (G = 1 or 2)
    s : list of float, length G
    sizes : list of int, length G
    sv : sequence of float
        The singular values of ``M``, largest first.

    Returns
    -------
    norm2 : list of float, length G
        Squared norm of a class of each group.
    inner, cosines : lists of lists, G x G
        Inner product and cosine of two distinct classes of groups g and h (inside a
        group on the diagonal); a cosine is NaN where a norm is 0, and inside a group it
        is evaluated as ``(rho - 1)/(rho + K_g - 1)``, ``rho = P_gg/|s_g|``, so that a
        simplex gives exactly ``-1/(K_g - 1)``.
    """
    G = len(sizes)
    if G == 1:
        P = [[sv[0]]]
    else:
        # (A A^T + s1 s2 I) / (s1 + s2) with A = M^T (classifiers) or M (features), on A
        # scaled by a power of two (exact) so that no square under- or overflows
        (a, b), (c, d) = (M[0][0], M[1][0]), (M[0][1], M[1][1])
        if side != "W":
            b, c = c, b
        top = max(abs(a), abs(b), abs(c), abs(d))
        if top > 0:
            e = math.frexp(top)[1]
            a, b, c, d = (math.ldexp(v, -e) for v in (a, b, c, d))
            s1, s2 = math.ldexp(sv[0], -e), math.ldexp(sv[1], -e)
            det, total = s1 * s2, s1 + s2
            cross = math.ldexp((a * c + b * d) / total, e)
            P = [
                [math.ldexp((a * a + b * b + det) / total, e), cross],
                [cross, math.ldexp((c * c + d * d + det) / total, e)],
            ]
        else:
            P = [[0.0, 0.0], [0.0, 0.0]]
    a = [abs(v) for v in s]
    norm2 = [P[g][g] / sizes[g] + a[g] * (1.0 - 1.0 / sizes[g]) for g in range(G)]
    inner = [
        [
            P[g][g] / sizes[g] - a[g] / sizes[g]
            if g == h
            else P[g][h] / math.sqrt(sizes[g] * sizes[h])
            for h in range(G)
        ]
        for g in range(G)
    ]
    cosines = [[math.nan] * G for _ in range(G)]
    for g in range(G):
        for h in range(G):
            if norm2[g] <= 0 or norm2[h] <= 0:
                continue
            if g == h:
                if a[g] > 0:
                    rho = P[g][g] / a[g]
                    value = (rho - 1.0) / (rho + (sizes[g] - 1))
                else:  # exactly 1 for a collapsed group
                    value = inner[g][g] / norm2[g]
            else:  # the roots apart: the product of two tiny norms would underflow
                value = inner[g][h] / (math.sqrt(norm2[g]) * math.sqrt(norm2[h]))
            cosines[g][h] = min(max(value, -1.0), 1.0)  # Cauchy-Schwarz: beyond is rounding
    return norm2, inner, cosines
