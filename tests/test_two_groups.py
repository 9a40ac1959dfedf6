"""The two-group solver (polar coordinates on the budget simplex) against the general
reduced Newton method, the grouped logits' own objective, finite differences and the
30-digit thresholds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.model.logits import GroupedLogits
from lpm.model.losses import get_loss
from lpm.solvers import two_groups
from lpm.solvers.newton import newton
from lpm.solvers.reduced import shared_layouts, solve_constrained
from lpm.solvers.reduced_program import ReducedProgram

CE = get_loss("ce")


def _problem(K_A, K_B, R, EWEH):
    model = lpm.Model.two_group(K_A, K_B, R, 1.0, EWEH)
    g = model.groups
    return model, two_groups.TwoGroupObjective(
        K_A, K_B, K_A * g.weights[0], K_B * g.weights[1], model.tau
    )


def _logits(model, problem, x):
    """The grouped logits of the polar point ``x = (theta, r, s1, s2)``."""
    K_A, K_B = model.groups.sizes
    q = np.array([math.sqrt(K_B / model.K), -math.sqrt(K_A / model.K)])
    mu = model.tau * x[1] * np.array([math.cos(x[0]), math.sin(x[0])])
    s = np.array([problem.P[0] * x[2], problem.P[1] * x[3]])
    return GroupedLogits(model.groups, np.outer(mu, q), s)


@pytest.mark.parametrize("K_A, K_B", [(5, 3), (2, 9), (40, 7)])
def test_polar_objective_is_the_grouped_objective_with_its_derivatives(K_A, K_B):
    model, problem = _problem(K_A, K_B, 7.0, 2.0)
    x = [-0.7, 0.3, 0.5, 0.2]
    log_f, g_log, H_log, f, g, _ = problem.evaluate(x)
    value, _ = _logits(model, problem, x).value_and_gradient(model)
    assert f == pytest.approx(value, rel=1e-14) and log_f == pytest.approx(math.log(value))
    eps = 1e-6
    for j in range(4):
        up, down = list(x), list(x)
        up[j] += eps
        down[j] -= eps
        ep, em = problem.evaluate(up), problem.evaluate(down)
        assert g[j] == pytest.approx((ep[3] - em[3]) / (2 * eps), rel=1e-7, abs=1e-10)
        for i in range(4):
            fd = (ep[1][i] - em[1][i]) / (2 * eps)
            assert H_log[i][j] == pytest.approx(fd, rel=1e-6, abs=1e-8)
        assert g_log[j] == pytest.approx(g[j] / f, rel=1e-14)


def _general(K_A, K_B, R, EWEH, force_zero=()):
    model = lpm.Model.two_group(K_A, K_B, R, 1.0, EWEH)
    g = model.groups
    program = ReducedProgram(g.sizes, g.weights[None], CE, groups=[g])
    return model, newton(program, t=np.array([model.tau / model.K]), force_zero=force_zero)[0]


@settings(max_examples=40, deadline=None)
@given(
    K_A=st.integers(1, 60),
    K_B=st.integers(1, 60),
    log10_R=st.floats(0.01, 40.0),
    log10_E=st.floats(-3.0, 3.0),
)
def test_agrees_with_the_general_newton_method(K_A, K_B, log10_R, log10_E):
    R, E = 10.0**log10_R, 10.0**log10_E
    model, ref = _general(K_A, K_B, R, E)
    g = model.groups
    fast = two_groups.solve_two_groups(g.sizes, [g.weights], CE, [model.tau], [g])[0]
    assert fast.converged and ref.converged
    v_fast, _ = fast.logits.value_and_gradient(model)
    v_ref, _ = ref.logits.value_and_gradient(model)
    assert v_fast <= v_ref * (1 + 1e-13)
    assert v_ref <= v_fast * (1 + 1e-13)
    np.testing.assert_array_equal(fast.fixed, ref.fixed)  # the exact collapse test
    assert fast.multiplier == pytest.approx(ref.multiplier, rel=1e-9)
    scale = model.tau
    np.testing.assert_allclose(fast.logits.M, ref.logits.M, atol=1e-8 * scale)
    np.testing.assert_allclose(fast.logits.s, ref.logits.s, atol=1e-8 * scale)
    held = fast.fixed
    np.testing.assert_allclose(fast.kkt_slack[held], ref.kkt_slack[held], rtol=1e-8)


def test_collapsed_restriction_agrees_with_the_general_method():
    for R in (2.0, 12.0, 300.0):
        model, ref = _general(5, 5, R, 5.0, force_zero=[1])
        g = model.groups
        fast = two_groups.solve_two_groups(
            g.sizes, [g.weights], CE, [model.tau], [g], force_zero=[1]
        )[0]
        assert fast.fixed[1] and fast.logits.s[1] == 0.0
        # d Lagrangian / d s_B = (K_B - 1)(lambda - gamma_B): the threshold's margin
        assert fast.kkt_slack[1] == pytest.approx(ref.kkt_slack[1], rel=1e-9)


def test_the_vanishing_phase_is_reached_exactly():
    # K_A = 7, K_B = 3, E_W E_H = 5: from R = 6.31 on the group block is 0 (W_B = H_B = 0)
    model = lpm.Model.two_group(7, 3, 20.0, 1.0, 5.0)
    g = model.groups
    res = two_groups.solve_two_groups(g.sizes, [g.weights], CE, [model.tau], [g])[0]
    assert res.converged and res.fixed[1]
    assert np.all(res.logits.M == 0.0)
    sol = lpm.solve(7, 3, 20.0, 1.0, 5.0)
    assert sol.success and sol.gap < 1e-12
    assert np.all(sol.group_geometry("W")[0][1] == 0.0)  # minority classifiers at 0


def test_a_warm_start_reaches_the_same_optimum():
    model = lpm.Model.two_group(5, 5, 100.0, 1.0, 5.0)
    g = model.groups
    cold = two_groups.solve_two_groups(g.sizes, [g.weights], CE, [model.tau], [g])[0]
    near = lpm.Model.two_group(5, 5, 99.9, 1.0, 5.0)  # the cold start is 4 steps away
    start = two_groups.solve_two_groups(
        g.sizes, [near.groups.weights], CE, [near.tau], [near.groups]
    )[0]
    warm = two_groups.solve_two_groups(
        g.sizes, [g.weights], CE, [model.tau], [g], starts=[start.y]
    )[0]
    assert warm.iterations < cold.iterations
    np.testing.assert_allclose(warm.logits.M, cold.logits.M, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(warm.fixed, cold.fixed)


def test_one_group_closed_form_is_the_balanced_optimum():
    # Theorem 1: log(1 + (K - 1) exp(-K sqrt(E_W E_H) / (K - 1)))
    for K, E in ((2, 1.0), (10, 5.0), (10**6, 0.3)):
        sol = (
            lpm.solve_counts(np.ones(K), 1.0, E) if K < 100 else lpm.solve(K // 2, K // 2, 1, 1, E)
        )
        closed = math.log1p((K - 1) * math.exp(-K * math.sqrt(E) / (K - 1)))
        assert sol.objective == pytest.approx(closed, rel=1e-14)
        assert sol.success and sol.gap < 1e-12
        if K < 100:
            assert sol.objective == pytest.approx(lpm.balanced_optimum(K, 1.0, E).objective)


def test_layouts_of_a_batch_hold_no_per_class_array():
    # a batch of n problems holds n G numbers, not n K: the labels are built only if a
    # caller asks for them (as the two-group model's own layout, issue 15)
    layouts = shared_layouts([3, 1_000_000], np.ones((50, 2)))
    assert all("labels" not in layout.__dict__ for layout in layouts)
    np.testing.assert_array_equal(layouts[7].labels[[0, 2, 3, -1]], [0, 0, 1, 1])


def test_batched_problems_are_solved_independently():
    Rs = [1.5, 12.0, 1e6]
    models = [lpm.Model.two_group(3, 4, R, 1.0, 2.0) for R in Rs]
    W = np.array([m.groups.weights for m in models])
    batch = solve_constrained([3, 4], W, CE, models[0].tau)
    for i in range(len(Rs)):
        alone = solve_constrained([3, 4], W[i], CE, models[0].tau)[0]
        np.testing.assert_array_equal(alone.logits.M, batch[i].logits.M)
        np.testing.assert_array_equal(alone.kkt_slack, batch[i].kkt_slack)
        assert alone.history == batch[i].history


@pytest.mark.parametrize(
    "EWEH, reference",
    [(5.0, 12.1924470803259352633575824317), (10.0, 81.1022060974359807348784117056)],
)
def test_thresholds_match_their_30_digit_values(EWEH, reference):
    R0 = lpm.collapse_threshold(5, 5, 1.0, EWEH, rtol=1e-13)
    assert R0 == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("rtol", [1e-6, 1e-8, 1e-11])
def test_threshold_is_within_rtol_of_its_30_digit_value(rtol):
    R0 = lpm.collapse_threshold(5, 5, 1.0, 10.0, rtol=rtol)
    assert abs(R0 / 81.1022060974359807348784117056 - 1) <= rtol


def test_a_threshold_along_a_path_is_the_threshold_alone_bit_for_bit():
    from lpm.analysis.threshold import threshold_path

    products = [0.3, 2.0, 1.0, 30.0, 7.0]  # out of order: warm starts from far away
    ticks = []
    path = threshold_path(2, 8, products, tick=lambda: ticks.append(1))
    assert len(ticks) == len(products)
    assert path == [lpm.collapse_threshold(2, 8, 1.0, e) for e in products]
    assert path == [lpm.collapse_threshold(2, 8, e, 1.0) for e in products]  # E_W E_H only


def test_threshold_search_needs_no_array_of_size_K():
    # K = 2e9 classes (64 GB for one array of K weights), nothing of that size allocated
    # (the old bracket held 308 x K x 8 bytes); the threshold follows its law at large K,
    # R_0 - 1 ~ c / K_A
    law = [(lpm.collapse_threshold(n, n, 1.0, 1.0, rtol=1e-12) - 1) * n for n in (10**6, 10**9)]
    assert law[1] == pytest.approx(law[0], rel=1e-4) and 3.0 < law[0] < 3.4


def _cold_and_tight(K_A, K_B, R, EWEH, swap=False):
    """The default solve (cold start) and one from the simplex-ETF start driven to the
    rounding floor (decrement 1e-45: only the stall rules stop it), in solver
    coordinates; ``swap``: the minority given as group 0."""
    model = lpm.Model.two_group(K_A, K_B, R, 1.0, EWEH)
    w = model.groups.weights
    sizes, weights = (K_A, K_B), (K_A * w[0], K_B * w[1])
    if swap:
        sizes, weights = sizes[::-1], weights[::-1]
    problem = two_groups.TwoGroupObjective(*sizes, *weights, model.tau)
    fixed = [False, False, sizes[0] == 1, sizes[1] == 1]
    cold = two_groups.solve_one(problem, fixed, fixed)
    etf = two_groups._start(problem, fixed)
    tight = two_groups.solve_one(problem, fixed, fixed, etf, 200, 1e-45)
    return cold, tight


@pytest.mark.parametrize(
    "K_A, K_B, R, EWEH",
    # points where stopping at the decrement tolerance left the coordinates 2e-12 and
    # 3e-12 off (within the square root of the tolerance); the final step puts them at
    # rounding (theta, the worst conditioned, within 1e-14)
    [(5, 5, 10**1.7, 5.0), (24, 34, 1.0917387977558732, 0.3602886379470356)],
)
def test_coordinates_are_exact_to_rounding(K_A, K_B, R, EWEH):
    cold, tight = _cold_and_tight(K_A, K_B, R, EWEH)
    assert cold[2] and tight[2] and cold[1] == tight[1]
    np.testing.assert_allclose(cold[0], tight[0], rtol=0, atol=2e-14)


@settings(max_examples=60, deadline=None)
@given(
    K_A=st.integers(1, 60),
    K_B=st.integers(2, 60),
    log10_R=st.floats(0.01, 8.0),
    log10_E=st.floats(-2.0, 2.0),
    swap=st.booleans(),
)
def test_the_collapsed_start_reaches_the_optimum_of_the_etf_start(K_A, K_B, log10_R, log10_E, swap):
    # the cold start guesses the minority collapsed; wherever the guess is wrong the
    # solve still ends at the same optimum, to rounding, with the same active set
    cold, tight = _cold_and_tight(K_A, K_B, 10.0**log10_R, 10.0**log10_E, swap)
    assert cold[2] and tight[2]
    assert cold[1] == tight[1]  # the exact collapse (and vanishing) verdicts
    free = cold[0][1] > 0.0  # theta means nothing once M = 0
    np.testing.assert_allclose(cold[0][int(not free) :], tight[0][int(not free) :], atol=2e-14)


def test_a_plainly_wrong_collapse_guess_is_dropped_at_the_first_evaluation():
    # R = 1.26 is far below R_0 = 12.19: the first evaluation releases the guess and the
    # solve is that of the simplex-ETF start, bit for bit, one evaluation later
    model = lpm.Model.two_group(5, 5, 1.26, 1.0, 5.0)
    w = model.groups.weights
    problem = two_groups.TwoGroupObjective(5, 5, 5 * w[0], 5 * w[1], model.tau)
    fixed = [False] * 4
    cold = two_groups.solve_one(problem, fixed, fixed)
    etf = two_groups.solve_one(problem, fixed, fixed, two_groups._start(problem, fixed))
    assert cold[0] == etf[0] and cold[1] == etf[1] and cold[5] == etf[5]


def test_the_figure_3_curve_takes_fewer_newton_steps_from_the_collapsed_start():
    # a regression guard on the work, not a timing (the counts are deterministic): 8.4
    # iterations a point before (simplex-ETF start, steps of a radian in theta), 5.0 now
    steps = []
    for i in range(1, 41):  # R = 1 is one group
        model = lpm.Model.two_group(5, 5, 10 ** (0.1 * i), 1.0, 5.0)
        w = model.groups.weights
        problem = two_groups.TwoGroupObjective(5, 5, 5 * w[0], 5 * w[1], model.tau)
        steps.append(two_groups.solve_one(problem, [False] * 4, [False] * 4)[4])
    assert sum(steps) / len(steps) < 5.5


@pytest.mark.parametrize("R, held", [(100.0, [False, False, False, True]), (3.0, [False] * 4)])
def test_the_final_step_moves_the_gradient_to_its_point(R, held):
    # after the final Newton step only the gradient of f is read (the multiplier and the
    # KKT slacks); it is moved to first order, off by |dx|^2: here dx ~ 1e-6, so 1e-12,
    # where the gradient before the step is 1e-6 off
    model = lpm.Model.two_group(5, 5, R, 1.0, 5.0)
    w = model.groups.weights
    problem = two_groups.TwoGroupObjective(5, 5, 5 * w[0], 5 * w[1], model.tau)
    x = list(two_groups.solve_one(problem, held, held)[0])
    x[0] += 1e-6
    x[1] += 1e-6
    x[2] -= 1e-6
    free = [i for i in (1, 2, 3) if not held[i]]
    before = problem.derivatives(x)
    d, _ = two_groups._tangent_step(x, before[1], before[2], free)
    moved = two_groups._final_step(x, d, free, before)[4]
    exact = problem.derivatives(x)[4]
    scale = max(abs(v) for v in exact)
    assert max(abs(a - b) for a, b in zip(moved, exact)) < 1e-10 * scale
    assert max(abs(a - b) for a, b in zip(before[4], exact)) > 1e-8 * scale
