r"""Newton directions of symmetric systems of order 1 to 3 in plain floating point.

The two-group solver (:mod:`lpm.solvers.two_groups`) takes a Newton step on a face of at
most three unknowns per iteration. A numpy call on such a system costs more than its
arithmetic (a 3 x 3 ``eigh`` about 15 us, the whole closed form below about 3 us), so
the step is computed here on Python floats: by the :math:`LDL^\top` factorization when
the matrix is clearly positive definite, else through its eigenvalues floored in
absolute value, the saddle-free step of :func:`lpm.solvers.newton.newton`,

.. math:: x = U\,|\Lambda|_\epsilon^{-1} U^\top g,\qquad
          |\lambda|_\epsilon = \max(|\lambda|, 10^{-14}\max_i|\lambda_i|),

with the eigenvalues in closed form (order 2; order 3: the trigonometric solution of the
characteristic cubic), and LAPACK where two eigenvalues of order 3 are too close for
the closed-form eigenvectors.
"""

from __future__ import annotations

import math

import numpy as np


def newton_direction(H, g):
    """``(x, decrement)`` with ``x = H^-1 g`` (saddle-free where ``H`` is not clearly
    positive definite) and ``decrement = g^T x``.

    Parameters
    ----------
    H : sequence of float
        The lower triangle of a symmetric matrix of order ``n = len(g)`` (1 to 3), row by
        row: ``(h00,)``, ``(h00, h10, h11)`` or ``(h00, h10, h11, h20, h21, h22)``.
    g : sequence of float, length n

    Returns
    -------
    x : list of float, length n
    decrement : float
    """
    n = len(g)
    if n == 1:
        h = max(abs(H[0]), 1e-300)
        return [g[0] / h], g[0] * g[0] / h
    a = H[0]
    if n == 2:
        b, d = H[1], H[2]
        tiny = 1e-14 * max(abs(a), abs(d))
        if a > tiny:
            l10 = b / a
            d1 = d - l10 * b
            if d1 > tiny:
                y0, y1 = g[0], g[1] - l10 * g[0]
                x1 = y1 / d1
                return [(y0 - b * x1) / a, x1], y0 * y0 / a + y1 * y1 / d1
        # the eigenvalues of a symmetric 2 x 2 in closed form
        mid, dev = 0.5 * (a + d), math.hypot(0.5 * (a - d), b)
        phi = 0.5 * math.atan2(2.0 * b, a - d)
        c, s = math.cos(phi), math.sin(phi)  # (c, s): eigenvector of mid + dev
        floor = max(1e-14 * (abs(mid) + dev), 1e-300)
        hi, lo = max(abs(mid + dev), floor), max(abs(mid - dev), floor)
        p_hi, p_lo = c * g[0] + s * g[1], c * g[1] - s * g[0]
        a_hi, a_lo = p_hi / hi, p_lo / lo
        return [c * a_hi - s * a_lo, s * a_hi + c * a_lo], a_hi * p_hi + a_lo * p_lo
    h10, h11, h20, h21, h22 = H[1], H[2], H[3], H[4], H[5]
    tiny = 1e-14 * max(abs(a), abs(h11), abs(h22))
    if a > tiny:
        l10 = h10 / a
        d1 = h11 - l10 * h10
        if d1 > tiny:
            l20 = h20 / a
            l21 = (h21 - l20 * h10) / d1
            d2 = h22 - l20 * h20 - l21 * l21 * d1
            if d2 > tiny:  # H = L D L^T, L unit lower triangular
                y0 = g[0]
                y1 = g[1] - l10 * y0
                y2 = g[2] - l20 * y0 - l21 * y1
                x2 = y2 / d2
                x1 = y1 / d1 - l21 * x2
                x0 = y0 / a - l10 * x1 - l20 * x2
                return [x0, x1, x2], y0 * y0 / a + y1 * y1 / d1 + y2 * y2 / d2
    eig = eigh3(H)
    if eig is None:  # eigenvalues too close for the closed form: LAPACK
        full = np.array([[a, h10, h20], [h10, h11, h21], [h20, h21, h22]])
        ev, U = np.linalg.eigh(full)
        eig = ev.tolist(), U.T.tolist()
    ev, vectors = eig
    floor = max(1e-14 * max(abs(ev[0]), abs(ev[1]), abs(ev[2])), 1e-300)
    x, decrement = [0.0, 0.0, 0.0], 0.0
    for lam, u in zip(ev, vectors):
        proj = u[0] * g[0] + u[1] * g[1] + u[2] * g[2]
        coef = proj / max(abs(lam), floor)
        decrement += coef * proj
        x[0], x[1], x[2] = x[0] + coef * u[0], x[1] + coef * u[1], x[2] + coef * u[2]
    return x, decrement


def eigh3(H):
    """``(eigenvalues, eigenvectors)`` of a symmetric 3 x 3 (its lower triangle, flat, as
    in :func:`newton_direction`) in closed form, or None when two eigenvalues are too
    close for it.

    The eigenvalues are the trigonometric solution of the characteristic cubic (largest,
    smallest, middle); the eigenvectors of the extreme two are the longest cross
    products of two rows of ``H - lambda I``, the middle one their cross product. The
    cross products lose accuracy as eigenvalues approach each other: below a relative gap
    of 1e-6 (or when the two vectors come out more than 1e-8 from orthogonal) None is
    returned and the caller asks LAPACK.
    """
    top = max(abs(v) for v in H)
    if not top > 0.0:
        return None
    # on H scaled by a power of two (exact), largest entry in [1/2, 1): no cube below
    # underflows; the eigenvalues are scaled back, the vectors are those of H
    scale = math.frexp(top)[1]
    a, b, c, d, e, f = (math.ldexp(v, -scale) for v in H)
    q = (a + c + f) / 3.0
    a0, c0, f0 = a - q, c - q, f - q
    p2 = a0 * a0 + c0 * c0 + f0 * f0 + 2.0 * (b * b + d * d + e * e)
    p = math.sqrt(p2 / 6.0)
    if not p * p * p > 0.0:  # a multiple of the identity (to rounding): LAPACK
        return None
    det = a0 * (c0 * f0 - e * e) - b * (b * f0 - e * d) + d * (b * e - c0 * d)
    h = max(-1.0, min(1.0, det / (2.0 * p * p * p)))
    phi = math.acos(h) / 3.0
    hi = q + 2.0 * p * math.cos(phi)
    lo = q + 2.0 * p * math.cos(phi + 2.0 * math.pi / 3.0)
    mid = 3.0 * q - hi - lo
    if min(hi - mid, mid - lo) <= 1e-6 * p:
        return None
    vectors = []
    for lam in (hi, lo):
        r0, r1, r2 = (a - lam, b, d), (b, c - lam, e), (d, e, f - lam)
        best, norm = None, 0.0
        for u, v in ((r0, r1), (r0, r2), (r1, r2)):
            w = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
            n2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
            if n2 > norm:
                best, norm = w, n2
        if best is None:
            return None
        s = 1.0 / math.sqrt(norm)
        vectors.append((best[0] * s, best[1] * s, best[2] * s))
    (u0, u1, u2), (v0, v1, v2) = vectors
    if abs(u0 * v0 + u1 * v1 + u2 * v2) > 1e-8:
        return None
    middle = (u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0)
    values = tuple(math.ldexp(v, scale) for v in (hi, lo, mid))
    return values, (vectors[0], vectors[1], middle)
