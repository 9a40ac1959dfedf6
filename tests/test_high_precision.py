"""The two-group solver against a 40-digit reference: the collapsed optimum of the
Figure-3 setting found by mpmath's root finder on the gradient of the same program, in
the same coordinates (an independent route: another arithmetic, another algorithm)."""

import math

import pytest

import lpm
from lpm.solvers import two_groups

mp = pytest.importorskip("mpmath")


def _reference(K_A, K_B, R, EWEH, start):
    """``(theta, r, f)`` at the optimum with the minority collapsed (s_B = 0), 40 digits.

    The program of :mod:`lpm.solvers.two_groups` on that face: counts ``R`` and 1, budget
    ``tau = K sqrt(E_W E_H)``, margins ``p = P_A (1 - r)``, ``q_A = A_A r cos(theta) +
    B_A (1 - r)``, ``q_B = A_B r sin(theta)``, written here from the paper's quantities.
    """
    with mp.workdps(40):
        K = K_A + K_B
        tau = K * mp.sqrt(EWEH)
        N = K_A * mp.mpf(R) + K_B
        w_A, w_B = K_A * mp.mpf(R) / N, K_B / N
        A_A = tau * mp.sqrt(K) / (K_A * mp.sqrt(K_B))
        A_B = -tau * mp.sqrt(K) / (K_B * mp.sqrt(K_A))

        def f(theta, r):
            s = 1 - r
            p, q_A = tau / (K_A - 1) * s, A_A * r * mp.cos(theta) + tau / K_A * s
            q_B = A_B * r * mp.sin(theta)
            loss_A = mp.log(1 + (K_A - 1) * mp.exp(-p) + K_B * mp.exp(-q_A))
            loss_B = mp.log(K_B + K_A * mp.exp(-q_B))  # p_B = 0: K_B - 1 + 1
            return w_A * loss_A + w_B * loss_B

        def gradient(theta, r):
            return [mp.diff(lambda t: f(t, r), theta), mp.diff(lambda u: f(theta, u), r)]

        theta, r = mp.findroot(gradient, (mp.mpf(start[0]), mp.mpf(start[1])))
        return theta, r, f(theta, r)


@pytest.mark.parametrize("R", [10**1.7, 100.0, 10**3.3])
def test_collapsed_optimum_to_the_last_digits(R):
    # R = 10^1.7 was 1.8e-12 off in theta before the final Newton step (issue 12)
    model = lpm.Model.two_group(5, 5, R, 1.0, 5.0)
    w = model.groups.weights
    problem = two_groups.TwoGroupObjective(5, 5, 5 * w[0], 5 * w[1], model.tau)
    x, held, converged = two_groups.solve_one(problem, [False] * 4, [False] * 4)[:3]
    assert converged and held[3] and x[3] == 0.0  # collapsed: R > R_0 = 12.19
    theta, r, f = _reference(5, 5, R, 5.0, x)
    assert abs(x[0] - float(theta)) < 2e-16 and abs(x[1] - float(r)) < 2e-16
    sol = lpm.solve(5, 5, R, 1.0, 5.0)
    # the stored logits lie four ulps inside the budget (so that their nuclear norm, by an
    # SVD, does not exceed it): the objective is above the optimum by about that much
    assert 0.0 <= sol.objective - float(f) < 5e-15 * float(f)
    assert sol.minority_cosine == 1.0 and math.isfinite(sol.gap) and sol.gap < 1e-14
