r"""The objective of the two-group program in the coordinates of its Newton solver
(:mod:`lpm.solvers.two_groups`), with its first and second derivatives.

The program, from :mod:`lpm.solvers.two_groups`: group ``g``'s loss is
:math:`w_g\,\ell_g(p_g, q_g)` with :math:`\ell_g(p, q) = \log(1 + (K_g - 1)e^{-p} + K_h
e^{-q})` in its margins :math:`p_g = P_g\sigma_g`, :math:`q_g = A_g r c_g(\theta) +
B_g\sigma_g` (:math:`c_1 = \cos`, :math:`c_2 = \sin`), on the simplex
:math:`r + \sigma_1 + \sigma_2 = 1`. The solver runs Newton's method on :math:`\log f`.

:meth:`TwoGroupObjective.derivatives` gives the value, the gradient and the Hessian of
``log f`` in the four coordinates ``(theta, r, s1, s2)``, with the chain rule written out
in plain floating point (a numpy call on these few numbers costs more than the
arithmetic).
"""

from __future__ import annotations

import math

from ..certificates import SolverError
from ..model.few_groups import ce_row

_cos, _sin = math.cos, math.sin


class TwoGroupObjective:
    """One two-group problem: its constants and the objective in ``(theta, r, s1, s2)``
    (see the module docstring)."""

    __slots__ = ("w", "m", "n", "A", "B", "P", "tau", "beta", "_c")

    def __init__(self, K1, K2, w1, w2, tau):
        K = K1 + K2
        rootK = math.sqrt(K)
        self.beta = (rootK / (K1 * math.sqrt(K2)), -rootK / (K2 * math.sqrt(K1)))
        self.w = (w1, w2)
        self.m = (K1 - 1, K2 - 1)
        self.n = (K2, K1)
        self.A = (self.beta[0] * tau, self.beta[1] * tau)
        self.B = (tau / K1, tau / K2)
        self.P = (tau / (K1 - 1) if K1 > 1 else 0.0, tau / (K2 - 1) if K2 > 1 else 0.0)
        self.tau = tau
        self._c = (*self.A, *self.B, *self.P, w1, w2, *self.m, *self.n, *self.beta)

    def derivatives(self, x):
        """The objective at ``x = (theta, r, s1, s2)``, flat: ``(log f, its gradient (4,),
        its Hessian (16,: row-major 4 x 4), f, the gradient of f (4,), (df/dmu_1,
        df/dmu_2))``, in tuples (the solver's form of :meth:`evaluate`).

        Group ``g``'s margins are ``p = P_g s_g`` and ``q = A_g r c_g(theta) + B_g s_g``
        (``c_1 = cos``, ``c_2 = sin``); the chain rule is written out for both groups.
        """
        th, r, s1, s2 = x
        A1, A2, B1, B2, P1, P2, w1, w2, m1, m2, n1, n2, beta1, beta2 = self._c
        cs, sn = _cos(th), _sin(th)
        u1, u2 = A1 * cs, A2 * sn  # d q_g / d r
        t1, t2 = -A1 * r * sn, A2 * r * cs  # d q_g / d theta
        v1, lp1, lq1, lpp1, lpq1, lqq1 = ce_row(P1 * s1, u1 * r + B1 * s1, m1, n1)
        v2, lp2, lq2, lpp2, lpq2, lqq2 = ce_row(P2 * s2, u2 * r + B2 * s2, m2, n2)
        f = w1 * v1 + w2 * v2
        if f < 1e-290:  # below the normal double range precision is gone
            raise SolverError(
                "the loss falls below 1e-290, out of double precision: sqrt(E_W*E_H) is too "
                "large for this model (optimal margins of several hundred)"
            )
        L1, L2 = w1 * lq1, w2 * lq2  # weighted slopes and curvatures in q
        C1, C2 = w1 * lqq1, w2 * lqq2
        g0 = L1 * t1 + L2 * t2
        g1 = L1 * u1 + L2 * u2
        # d2 q_g / d theta2 = -r u_g and d2 q_g / d theta dr = t_g / r
        h00 = C1 * t1 * t1 + C2 * t2 * t2 - r * g1
        h01 = C1 * t1 * u1 + C2 * t2 * u2 - L1 * A1 * sn + L2 * A2 * cs
        h11 = C1 * u1 * u1 + C2 * u2 * u2
        if m1:
            g2 = w1 * lp1 * P1 + L1 * B1
            c1 = w1 * lpq1 * P1 + C1 * B1
            h02, h12 = c1 * t1, c1 * u1
            h22 = w1 * (lpp1 * P1 * P1 + 2.0 * lpq1 * P1 * B1) + C1 * B1 * B1
        else:  # one class: s_1 is not a variable
            g2 = h02 = h12 = h22 = 0.0
        if m2:
            g3 = w2 * lp2 * P2 + L2 * B2
            c2 = w2 * lpq2 * P2 + C2 * B2
            h03, h13 = c2 * t2, c2 * u2
            h33 = w2 * (lpp2 * P2 * P2 + 2.0 * lpq2 * P2 * B2) + C2 * B2 * B2
        else:
            g3 = h03 = h13 = h33 = 0.0
        # log f: with the budget binding, the same minimizer and multiplier signs
        inv = 1.0 / f
        a0, a1, a2, a3 = g0 * inv, g1 * inv, g2 * inv, g3 * inv
        b01, b02, b03 = h01 * inv - a0 * a1, h02 * inv - a0 * a2, h03 * inv - a0 * a3
        b12, b13, b23 = h12 * inv - a1 * a2, h13 * inv - a1 * a3, -a2 * a3
        # fmt: off
        hess = (
            h00 * inv - a0 * a0, b01, b02, b03,
            b01, h11 * inv - a1 * a1, b12, b13,
            b02, b12, h22 * inv - a2 * a2, b23,
            b03, b13, b23, h33 * inv - a3 * a3,
        )
        # fmt: on
        return math.log(f), (a0, a1, a2, a3), hess, f, (g0, g1, g2, g3), (L1 * beta1, L2 * beta2)

    def evaluate(self, x):
        """:meth:`derivatives` with the Hessian as a 4 x 4 nested list: ``(log f, its
        gradient, its Hessian, f, the gradient of f, (df/dmu_1, df/dmu_2))``."""
        log_f, a, H, f, g, dmu = self.derivatives(x)
        return log_f, list(a), [list(H[4 * i : 4 * i + 4]) for i in range(4)], f, list(g), dmu
