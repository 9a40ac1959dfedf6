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

import numpy as np

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


def grouped_inner(M, s, N, t, mult) -> float:
    r""":math:`\langle Z, Y\rangle` of one- or two-group logits ``(M, s)`` and ``(N, t)``
    (lists), ``mult`` the multiplicities ``K_g - 1``: :math:`\sum M_{gh} N_{gh} + \sum_g
    (K_g - 1) s_g t_g`, summed in this order (numpy's ``vdot`` sums in an order of its
    BLAS; a batch must follow one order)."""
    total = 0.0
    for row_m, row_n in zip(M, N):
        for x, y in zip(row_m, row_n):
            total = total + x * y
    within = 0.0
    for k, x, y in zip(mult, s, t):
        within = within + k * (x * y)
    return total + within


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


# -- the same arithmetic on arrays over a batch of two-group points --------------------
# A sweep evaluates hundreds of points of the same two group sizes; these functions do,
# for (n,)-stacked points, the operations of the functions above in the same order
# (numpy's + - * / and sqrt round as Python's do, frexp and ldexp are exact) and evaluate
# every transcendental function by the C library of :mod:`math`, so each point gets the
# numbers it gets alone, bit for bit (numpy's own exp, log or cos may differ by an ulp).


def map_float(fn, a: np.ndarray) -> np.ndarray:
    """``fn`` (a function of :mod:`math`) elementwise over ``a``."""
    return np.fromiter(map(fn, a.ravel().tolist()), float, a.size).reshape(a.shape)


def ce_rows(p, q, m, mult, other):
    """:func:`ce_row` of stacked margins ``p, q`` (G, n), row ``g`` with ``m[g]`` (ints)
    same-group classes, and ``mult``, ``other`` (G, n): the same-group and other-group
    class counts as floats, operation for operation."""
    c = np.maximum(0.0, -q)  # the shift: where it is 0, its sign does not matter
    if all(m):
        c = np.maximum(c, -p)
    else:
        for g, k in enumerate(m):
            if k:
                c[g] = np.maximum(c[g], -p[g])
    e1 = mult * map_float(_exp, -p - c)  # 0 for a one-class group (m = 0)
    e2 = other * map_float(_exp, -q - c)
    shifted = c != 0.0
    if np.count_nonzero(shifted):
        at = np.nonzero(shifted)
        cs = c[at]
        e0 = np.ones_like(c)
        e0[at] = map_float(_exp, -cs)
        value = map_float(_log1p, e1 + e2)
        value[at] = cs + map_float(_log1p, map_float(_expm1, -cs) + e1[at] + e2[at])
        S = e0 + e1 + e2
        P0 = e0 / S
    else:
        value = map_float(_log1p, e1 + e2)
        S = 1.0 + e1 + e2
        P0 = 1.0 / S
    P1, P2 = e1 / S, e2 / S
    return value, -P1, -P2, P1 * (P0 + P2), -P1 * P2, P2 * (P0 + P1)


def ce_derivatives_pairs(sizes, weights, M, s):
    """:func:`ce_derivatives` of ``n`` two-group points at once: ``sizes`` (K_1, K_2)
    (ints), ``weights`` (n, 2), ``M`` (n, 2, 2), ``s`` (n, 2). Returns ``value`` (n,),
    ``G_M`` (n, 2, 2) and ``gamma`` (n, 2)."""
    n = weights.shape[0]
    roots = [math.sqrt(k) for k in sizes]
    m = [k - 1 for k in sizes]
    p, q = np.empty((2, n)), np.empty((2, n))
    for g in (0, 1):
        K, h = sizes[g], 1 - g
        diag = M[:, g, g] / K
        own, same = diag + m[g] * s[:, g] / K, diag - s[:, g] / K
        p[g], q[g] = own - same, own - M[:, g, h] / (roots[g] * roots[h])
    mult = np.array([np.full(n, float(m[0])), np.full(n, float(m[1]))])
    other = np.array([np.full(n, float(sizes[1])), np.full(n, float(sizes[0]))])
    v, dp, dq = ce_rows(p, q, m, mult, other)[:3]
    value = 0.0 + sizes[0] * weights[:, 0] * v[0] + sizes[1] * weights[:, 1] * v[1]
    G_M, gamma = np.empty((n, 2, 2)), np.empty((n, 2))
    for g in (0, 1):
        w, h = weights[:, g], 1 - g
        g_own = w * (dp[g] + dq[g])
        g_same = -w * dp[g] / m[g] if m[g] else 0.0
        G_M[:, g, g] = g_own + m[g] * g_same
        G_M[:, g, h] = -dq[g] * (w * roots[g] / roots[h])
        gamma[:, g] = g_own - g_same
    return value, G_M, gamma


def singular_values_pairs(M):
    """:func:`singular_values_2x2` of a stack ``M`` (n, 2, 2): ``(largest, smallest)``."""
    a, b, c, d = M[:, 0, 0], M[:, 0, 1], M[:, 1, 0], M[:, 1, 1]
    plus = np.array(list(map(math.hypot, (a + d).tolist(), (c - b).tolist())))
    minus = np.array(list(map(math.hypot, (a - d).tolist(), (b + c).tolist())))
    return 0.5 * (plus + minus), 0.5 * np.abs(plus - minus)


def gram_geometry_pairs(M, s, sizes, sv, side: str = "W"):
    """:func:`gram_geometry` of a stack of two-group points: ``M`` (n, 2, 2), ``s``
    (n, 2), ``sizes`` (K_1, K_2), ``sv`` their singular values ``(largest, smallest)``.
    Returns ``norm2`` (n, 2), ``inner`` and ``cosines`` (n, 2, 2)."""
    n = M.shape[0]
    a, b, c, d = M[:, 0, 0], M[:, 1, 0], M[:, 0, 1], M[:, 1, 1]
    if side != "W":
        b, c = c, b
    top = np.maximum(np.maximum(np.maximum(np.abs(a), np.abs(b)), np.abs(c)), np.abs(d))
    live = top > 0
    e = np.where(live, np.frexp(top)[1], 0)
    a, b, c, d = (np.ldexp(v, -e) for v in (a, b, c, d))
    s1, s2 = np.ldexp(sv[0], -e), np.ldexp(sv[1], -e)
    det, total = s1 * s2, s1 + s2
    with np.errstate(invalid="ignore", divide="ignore"):  # rows of M = 0: set below
        P = np.empty((n, 2, 2))
        P[:, 0, 1] = P[:, 1, 0] = np.ldexp((a * c + b * d) / total, e)
        P[:, 0, 0] = np.ldexp((a * a + b * b + det) / total, e)
        P[:, 1, 1] = np.ldexp((c * c + d * d + det) / total, e)
    P[~live] = 0.0
    A = np.abs(s)
    norm2, inner = np.empty((n, 2)), np.empty((n, 2, 2))
    for g in (0, 1):
        K = sizes[g]
        norm2[:, g] = P[:, g, g] / K + A[:, g] * (1.0 - 1.0 / K)
        inner[:, g, g] = P[:, g, g] / K - A[:, g] / K
    inner[:, 0, 1] = inner[:, 1, 0] = P[:, 0, 1] / math.sqrt(sizes[0] * sizes[1])
    cosines = np.full((n, 2, 2), math.nan)
    root = np.sqrt(norm2)
    with np.errstate(invalid="ignore", divide="ignore"):  # the lanes not taken
        for g in (0, 1):
            rho = P[:, g, g] / A[:, g]
            own = np.where(
                A[:, g] > 0, (rho - 1.0) / (rho + (sizes[g] - 1)), inner[:, g, g] / norm2[:, g]
            )
            cosines[:, g, g] = own
        cosines[:, 0, 1] = cosines[:, 1, 0] = inner[:, 0, 1] / (root[:, 0] * root[:, 1])
    cosines = np.minimum(np.maximum(cosines, -1.0), 1.0)
    dead = norm2 <= 0
    cosines[dead[:, :, None] | dead[:, None, :]] = math.nan
    return norm2, inner, cosines


def inner_pairs(M, s, N, t, mult):
    """:func:`grouped_inner` of stacks of two-group logits: ``M, N`` (n, 2, 2), ``s, t``
    (n, 2), ``mult`` (K_1 - 1, K_2 - 1)."""
    total = 0.0 + M[:, 0, 0] * N[:, 0, 0]
    for g, h in ((0, 1), (1, 0), (1, 1)):
        total = total + M[:, g, h] * N[:, g, h]
    within = 0.0 + mult[0] * (s[:, 0] * t[:, 0]) + mult[1] * (s[:, 1] * t[:, 1])
    return total + within
