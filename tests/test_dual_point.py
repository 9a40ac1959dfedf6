"""The lower bound at any point and the Newton-corrected dual point
(:mod:`lpm.certificates.dual_point`): a bound that never exceeds the optimum (against
independently certified optima, and an interior-point solve), the Frank--Wolfe gap as
its case Z' = Z, its tightness near the optimum, and the low-rank solver's two stops."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lpm
from lpm.certificates import NuclearBall, certified_gap, lower_bound, newton_dual_point
from lpm.model.logits import GroupedLogits
from lpm.solvers.grouped_factors import GroupedFactors

CIFAR = lpm.counts.cifar_lt(100, 100)  # 85 distinct counts


@pytest.fixture(scope="module")
def cifar():
    """CIFAR-100-LT at E_W = 1, E_H = 5: the optimum to a Frank-Wolfe gap of 1e-12 (its
    objective is within that of the optimal value), and a point far from it."""
    model = lpm.Model(CIFAR, 1.0, 5.0)
    ref = lpm.solve_model(model, method="lowrank", gap_tol=1e-12)
    assert ref.success and ref.gap <= 1e-12, ref.message
    far = lpm.solve_model(model, method="lowrank", gap_tol=1e-4)
    return model, ref, far


def support(Z: GroupedLogits, rtol=1e-7):
    U, S, Vt = np.linalg.svd(Z.M)
    r = int((S > rtol * S[0]).sum())
    return U[:, :r], Vt[:r].T


def test_the_bound_at_a_feasible_point_is_its_frank_wolfe_gap(cifar):
    model, _, far = cifar
    Z = far.logits_repr
    f, grad = Z.value_and_gradient(model)
    low, size = lower_bound(model, Z)
    fw = grad.inner(Z) + model.tau * grad.spectral_norm()
    assert f - low == pytest.approx(fw, abs=1e-14 * size)
    assert fw > 1e-5  # a point far enough that the test below means something


def test_the_newton_dual_point_is_tight_where_the_frank_wolfe_gap_is_not(cifar):
    model, ref, far = cifar
    Z = far.logits_repr
    error = far.objective - ref.objective  # the objective's error, to 1e-12
    dual = newton_dual_point(model, Z, *support(Z))
    low, _ = lower_bound(model, dual)
    fw = certified_gap(model, Z)
    # measured: Frank-Wolfe gap 2.4e-5, error 2.8e-10, this bound 1.3e-9
    assert far.objective - low <= 10 * error + 1e-12
    assert far.objective - low >= error - 1e-12  # it is a lower bound
    assert fw >= 100 * (far.objective - low)
    # its gradient has the support's singular values at one value (the multiplier)
    _, grad = dual.value_and_gradient(model)
    sv = np.linalg.svd(-np.asarray(grad.M), compute_uv=False)
    r = support(Z)[0].shape[1]
    spread = np.ptp(sv[: r - 2]) / sv[0]
    assert spread < 1e-10  # measured 1.5e-15 (3.3e-5 at Z)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scale=st.sampled_from([1e-9, 1e-6, 1e-3, 1.0, 30.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_the_bound_never_exceeds_the_optimum_from_any_point(cifar, scale, seed):
    """Any Z', near the optimum or not, feasible or not: L(Z') <= f* <= the reference's
    objective (and a wrong sign or a missing term would break this near the optimum)."""
    model, ref, _ = cifar
    Z = ref.logits_repr
    rng = np.random.default_rng(seed)
    M = Z.M + scale * rng.standard_normal(Z.M.shape) * np.abs(Z.M).max()
    s = np.abs(Z.s + scale * rng.standard_normal(Z.s.shape) * np.abs(Z.s).max())
    low, size = lower_bound(model, GroupedLogits(Z.groups, M, s))
    assert low <= ref.objective + 1e-15 * size


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.integers(1, 400), min_size=3, max_size=6, unique=True),
    log_E=st.floats(-1.0, 1.5),
)
def test_the_dual_stop_is_honest_against_an_interior_point_solve(counts, log_E):
    """On random small counts the gap certified at the dual point bounds the distance to
    the optimum of the nuclear-norm program solved by Clarabel at tight tolerances."""
    model = lpm.Model(counts, 10.0**log_E, 1.0)
    sol = lpm.solve_model(
        model, method="lowrank", gap_tol=1e-9, solver_options={"dual_point": True}
    )
    assert sol.success and sol.gap <= 1e-9, sol.message
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
    conic = lpm.solve_model(model, method="nuclear", solver="CLARABEL", solver_options=tight)
    # the conic point is feasible: f* <= its objective (to its certified gap)
    assert sol.objective - conic.objective <= sol.gap + conic.gap


def test_the_dual_stop_takes_fewer_iterations_and_both_stops_agree(cifar):
    model, ref, _ = cifar
    fw = lpm.solve_model(model, method="lowrank", gap_tol=1e-8)
    dual = lpm.solve_model(
        model, method="lowrank", gap_tol=1e-8, solver_options={"dual_point": True}
    )
    assert fw.success and dual.success
    assert "dual point" in dual.message
    # measured: 67 iterations against 170
    assert dual.iterations * 2 <= fw.iterations
    for sol in (fw, dual):
        assert sol.gap <= 1e-8
        assert sol.objective - ref.objective <= sol.gap
        assert ref.objective - sol.objective <= ref.gap
    # the Frank-Wolfe stop reports the tighter bound at its point too (measured 6.8e-13)
    assert fw.gap < 1e-3 * fw.gap_tol


def test_the_certificate_takes_the_better_of_the_two_bounds(cifar):
    model, _, far = cifar
    Z = far.logits_repr
    fw = certified_gap(model, Z)
    # a useless dual point (0) changes nothing; a good one lowers the gap
    assert certified_gap(model, Z, NuclearBall(dual_point=Z.scaled(0.0))) == fw
    good = NuclearBall(dual_point=newton_dual_point(model, Z, *support(Z)))
    assert certified_gap(model, Z, good) < 1e-2 * fw


def test_no_dual_point_for_a_restricted_program_or_other_losses(cifar):
    model, ref, _ = cifar
    Z = ref.logits_repr
    held = np.zeros(model.groups.G, bool)
    held[-1] = True
    problem = GroupedFactors(model, collapsed=held)
    x = problem.from_logits(Z)
    f = problem.evaluate(x)[0]
    assert problem.dual_gap(f, x) == (np.inf, None)
    squared = lpm.Model(CIFAR[:12], 1.0, 5.0, loss="squared")
    sol = lpm.solve_model(squared, method="lowrank", solver_options={"dual_point": True})
    assert sol.success and "dual point" not in sol.message


def test_dual_point_option_must_be_a_bool():
    model = lpm.Model(CIFAR[:12], 1.0, 5.0)
    with pytest.raises(ValueError, match="dual_point"):
        lpm.solve_model(model, method="lowrank", solver_options={"dual_point": "yes"})


def test_the_support_ends_at_the_first_wide_gap_of_the_spectrum():
    """Spare columns of a factorization (values far below the support's, decaying) are
    left off the support; within the support no ratio of 30 is met."""
    from lpm.certificates.dual_point import _above_a_gap

    values = np.array([8.0, 4.0, 0.3, 0.04, 4e-4, 1.6e-4, 1e-14, 0.0])
    everything = np.ones(values.size, bool)
    np.testing.assert_array_equal(
        _above_a_gap(values, everything, first=True), [1, 1, 1, 1, 0, 0, 0, 0]
    )
    # the widest ratio instead (within-group values: a collapsing group falls fast)
    np.testing.assert_array_equal(
        _above_a_gap(values, everything, first=False), [1, 1, 1, 1, 1, 1, 0, 0]
    )
    # no wide gap: every positive candidate; candidates only
    smooth = np.array([1.0, 0.5, 0.2, 0.1])
    np.testing.assert_array_equal(
        _above_a_gap(smooth, np.array([1, 0, 1, 1], bool), first=True), [1, 0, 1, 1]
    )
