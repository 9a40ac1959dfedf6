"""Independent formulations agree: reduced (Newton), nuclear (cvxpy/SCS), SDP (cvxpy/SCS);
invariances of the model: only E_W E_H matters, classes can be permuted."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lpm

log_ratio = st.floats(-1.5, 2.5)


def assert_same_optimum(exact, other, obj_tol=1e-6, cos_tol=1e-5):
    """Objective, classifier Gram matrix, and classifier cosines wherever they are defined:
    a classifier that is 0 at the optimum (``exact``, the reduced solution) has no cosine,
    and a conic solver returns it as noise of norm ~1e-6."""
    assert exact.objective == pytest.approx(other.objective, abs=obj_tol)
    np.testing.assert_allclose(exact.classifier_gram(), other.classifier_gram(), atol=cos_tol)
    live = np.flatnonzero(exact.classifier_norms() > 1e-3)
    np.testing.assert_allclose(
        exact.classifier_cosines()[np.ix_(live, live)],
        other.classifier_cosines()[np.ix_(live, live)],
        atol=cos_tol,
    )


@settings(max_examples=12)
@given(K_A=st.integers(1, 4), K_B=st.integers(1, 4), log10_R=log_ratio, E=st.floats(0.2, 3.0))
# a classifier of norm ~1e-11 (its cosines are solver noise: compared only for live ones)
@example(K_A=3, K_B=1, log10_R=1.0, E=2.0)
def test_two_group_methods_agree(K_A, K_B, log10_R, E):
    R = 10.0**log10_R
    red = lpm.solve(K_A, K_B, R, E, 1.0, method="reduced")
    nuc = lpm.solve(K_A, K_B, R, E, 1.0, method="nuclear")
    sdp = lpm.solve(K_A, K_B, R, E, 1.0, method="sdp")
    assert red.gap < 1e-12
    for other in (nuc, sdp):
        assert other.gap < 1e-6, other.message
        assert_same_optimum(red, other)


@settings(max_examples=8)
@given(
    sizes=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    logs=st.lists(st.floats(0.0, 2.5), min_size=3, max_size=3, unique=True),
    E=st.floats(0.3, 3.0),
)
def test_three_group_methods_agree(sizes, logs, E):
    counts = np.repeat(10.0 ** np.array(logs), sizes)
    red = lpm.solve_counts(counts, E, 1.0, method="reduced")
    assert red.model.groups.G == 3
    for method in ("nuclear", "sdp"):
        assert_same_optimum(red, lpm.solve_counts(counts, E, 1.0, method=method))


def test_auto_picks_the_smallest_exact_route():
    assert lpm.solve(3, 4, 10).method == "reduced"
    assert lpm.choose_method(lpm.Model([1.0, 2.0, 3.0])) == "nuclear"  # G^2 + G > K^2
    assert lpm.choose_method(lpm.Model([1.0, 2.0], constraint="per_class")) == "sdp"


@given(
    K_A=st.integers(1, 30),
    K_B=st.integers(1, 30),
    log10_R=st.floats(-3, 8),
    E_W=st.floats(0.01, 30),
    E_H=st.floats(0.01, 30),
    log10_c=st.floats(-3, 3),
)
def test_only_the_product_of_the_budgets_matters(K_A, K_B, log10_R, E_W, E_H, log10_c):
    c = 10.0**log10_c
    R = 10.0**log10_R
    a = lpm.solve(K_A, K_B, R, E_W, E_H, method="reduced")
    b = lpm.solve(K_A, K_B, R, c * E_W, E_H / c, method="reduced")
    assert b.objective == pytest.approx(a.objective, rel=1e-10)
    # classifier geometry is the same up to the scale c (a classifier can sit at 0)
    na, ia = a.group_geometry("W")
    nb, ib = b.group_geometry("W")
    np.testing.assert_allclose(nb, c * na, rtol=1e-8, atol=1e-10 * c * na.max())
    np.testing.assert_allclose(ib, c * ia, rtol=1e-7, atol=1e-9 * c * na.max())
    assert b.minority_collapsed == a.minority_collapsed


@pytest.mark.parametrize("c", [0.05, 1.0, 30.0])
@pytest.mark.parametrize("R", [2.0, 40.0])
def test_only_the_product_matters_in_the_nonconvex_program(c, R):
    # the convex routes see only tau = K sqrt(E_W E_H); the nonconvex solver works on W
    # and H under their own budgets, so this is the invariance of the LPM itself
    ref = lpm.solve(3, 2, R, 1.0, 3.0, method="reduced")
    sol = lpm.solve(3, 2, R, c, 3.0 / c, method="nonconvex")
    assert sol.objective == pytest.approx(ref.objective, rel=1e-9)
    assert (sol.W**2).sum() / 5 == pytest.approx(c, rel=1e-9)
    np.testing.assert_allclose(sol.classifier_gram() / c, ref.classifier_gram(), atol=1e-5)


@settings(max_examples=20)
@given(
    counts=st.lists(st.sampled_from([1.0, 2.0, 5.0, 40.0]), min_size=2, max_size=7),
    seed=st.integers(0, 2**31),
)
def test_permuting_classes_permutes_the_solution(counts, seed):
    counts = np.array(counts)
    perm = np.random.default_rng(seed).permutation(counts.size)
    a = lpm.solve_counts(counts, 1.0, 2.0, method="reduced")
    b = lpm.solve_counts(counts[perm], 1.0, 2.0, method="reduced")
    assert b.objective == pytest.approx(a.objective, rel=1e-12)
    np.testing.assert_allclose(
        b.classifier_cosines(), a.classifier_cosines()[np.ix_(perm, perm)], atol=1e-10
    )
    np.testing.assert_allclose(b.logits, a.logits[np.ix_(perm, perm)], atol=1e-9)


def test_gap_bounds_the_true_suboptimality_of_perturbed_points():
    model = lpm.Model.two_group(4, 3, 20.0, 1.0, 2.0)
    best = lpm.solve_model(model)
    Z0 = best.logits
    rng = np.random.default_rng(7)
    from lpm.model.logits import DenseLogits

    for scale in (1e-1, 1e-3, 1e-5):
        Z = DenseLogits(Z0 + scale * rng.standard_normal(Z0.shape))
        nuc = Z.nuclear_norm()
        if nuc > model.tau:
            Z = Z.scaled(model.tau / nuc)
        value, _ = Z.value_and_gradient(model)
        gap = Z.frank_wolfe_gap(model)
        # the true optimum is best.objective to within its own (tiny) gap
        assert value - best.objective <= gap + best.gap
        assert gap > 0


def test_r_below_one_swaps_the_roles_of_the_groups():
    a = lpm.solve(3, 5, 0.1)
    b = lpm.solve_counts(np.r_[np.full(5, 10.0), np.ones(3)])
    assert a.objective == pytest.approx(b.objective, rel=1e-13)
    assert math.isclose(a.multiplier, b.multiplier, rel_tol=1e-10)
