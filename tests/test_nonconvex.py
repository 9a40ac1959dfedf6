"""The nonconvex (W, H) solver: it reaches the convex optimum from random starts, its
per-sample features collapse to the class means, and below the exact feature dimension
it reports that no certificate applies and never beats the convex optimum."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm


def rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("R", [1.0, 10.0, 1000.0])
def test_reaches_the_convex_optimum_from_random_starts(R):
    model = lpm.Model.two_group(3, 2, R, 1.0, 5.0)
    ref = lpm.solve_model(model, method="reduced")
    for seed in range(5):
        sol = lpm.solve_model(model, method="nonconvex", solver_options={"seed": seed})
        assert sol.success and sol.status == "optimal", sol.message
        assert sol.method == "nonconvex" and sol.solver == "apg"
        assert sol.p == model.K and sol.W.shape == (5, 5)
        assert rel(sol.objective, ref.objective) <= 1e-6
        # the certificate holds against the independent reduced optimum
        assert sol.objective - ref.objective <= sol.gap + ref.gap
        np.testing.assert_allclose(sol.classifier_gram(), ref.classifier_gram(), atol=1e-4)
        np.testing.assert_allclose(sol.feature_gram(), ref.feature_gram(), atol=1e-4)
        # the solver's own factors: within the budgets, and their logits are the logits
        assert (sol.W**2).sum() / model.K <= model.E_W * (1 + 1e-14)
        assert (sol.H**2).sum() / model.K <= model.E_H * (1 + 1e-14)
        np.testing.assert_allclose(sol.H @ sol.W.T, sol.logits, atol=1e-14)


def test_the_smallest_exact_dimension_is_certified():
    model = lpm.Model.two_group(4, 2, 30.0, 1.0, 2.0)
    ref = lpm.solve_model(model)
    sol = lpm.solve_model(model, method="nonconvex", p=model.K - 1)
    assert sol.success and sol.W.shape == (6, 5)
    assert sol.objective == pytest.approx(ref.objective, rel=1e-9)
    assert sol.minority_collapsed == ref.minority_collapsed


def test_per_sample_features_collapse_to_the_class_means():
    model = lpm.Model.two_group(2, 2, 12.0, 1.0, 3.0)  # 26 samples
    by_class = lpm.solve_model(model, method="nonconvex")
    ref = lpm.solve_model(model, method="reduced")
    sol = lpm.solve_model(
        model, method="nonconvex", solver_options={"features": "sample", "seed": 4}
    )
    assert sol.success, sol.message
    X, y = sol.sample_features, sol.sample_labels
    assert X.shape == (26, model.K) and np.bincount(y).tolist() == [12, 12, 1, 1]
    # the random start was far from collapsed; the optimum is collapsed
    assert lpm.nc1(X, y) < 1e-8
    assert rel(sol.objective, ref.objective) <= 1e-9
    # the class means are the class-feature solution (same Grams)
    means = np.array([X[y == k].mean(axis=0) for k in range(model.K)])
    np.testing.assert_allclose(means, sol.H, atol=1e-15)
    np.testing.assert_allclose(means @ means.T, by_class.feature_gram(), atol=1e-6)
    np.testing.assert_allclose(sol.classifier_gram(), by_class.classifier_gram(), atol=1e-6)
    # the per-sample budget: (1/K) sum_k (1/n_k) sum_i ||h_ki||^2 <= E_H
    n = np.bincount(y)
    assert ((X**2).sum(axis=1) / n[y]).sum() / model.K <= model.E_H * (1 + 1e-14)


def test_the_certificate_of_per_sample_features_counts_the_spread_within_classes():
    # stop early: features still spread, so the per-sample objective exceeds that of the
    # class means (Jensen) and the gap must cover it
    model = lpm.Model.two_group(2, 2, 5.0, 1.0, 1.0)
    ref = lpm.solve_model(model)
    sol = lpm.solve_model(
        model, method="nonconvex", solver_options={"features": "sample", "max_iter": 15}
    )
    assert not sol.success and sol.status == "inaccurate"
    assert "maximum number of iterations" in sol.message
    assert lpm.nc1(sol.sample_features, sol.sample_labels) > 1e-6
    assert 0 < sol.objective - ref.objective <= sol.gap


@settings(max_examples=6)
@given(
    K_A=st.integers(2, 4),
    K_B=st.integers(2, 3),
    log10_R=st.floats(0.0, 3.0),
    E=st.floats(0.3, 3.0),
    p=st.integers(1, 2),
    seed=st.integers(0, 100),
)
def test_below_the_exact_dimension_no_certificate_and_never_below_the_optimum(
    K_A, K_B, log10_R, E, p, seed
):
    model = lpm.Model.two_group(K_A, K_B, 10.0**log10_R, E, 1.0)
    ref = lpm.solve_model(model)
    sol = lpm.solve_model(
        model, method="nonconvex", p=p, solver_options={"seed": seed, "max_iter": 3000}
    )
    assert sol.W.shape == (model.K, p)
    assert sol.status == "uncertified" and not sol.success
    assert math.isinf(sol.gap) and sol.certificate == "none"
    assert "no certificate" in sol.message
    # a feasible point of the p-dimensional program is feasible for the convex one
    assert sol.objective >= ref.objective - 1e-12 * ref.objective


def test_rank_two_optimum_needs_more_than_two_dimensions():
    # K = 5 with cross-entropy needs p = 4: at p = 2 the optimum is strictly worse
    model = lpm.Model.two_group(3, 2, 10.0, 1.0, 5.0)
    ref = lpm.solve_model(model)
    low = lpm.solve_model(model, method="nonconvex", p=2, solver_options={"restarts": 3})
    assert low.objective > ref.objective + 1e-3


def test_same_seed_same_numbers_and_restarts_keep_the_best():
    model = lpm.Model.two_group(2, 3, 50.0, 1.0, 1.0)
    opts = {"seed": 7, "restarts": 2, "max_iter": 200}
    a = lpm.solve_model(model, method="nonconvex", solver_options=opts)
    b = lpm.solve_model(model, method="nonconvex", solver_options=opts)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert a.history == b.history
    singles = [
        lpm.solve_model(
            model, method="nonconvex", solver_options={"seed": 7, "restarts": r, "max_iter": 200}
        ).objective
        for r in (1, 2)
    ]
    assert a.objective == singles[1] <= singles[0]
    assert len(a.history) == a.iterations
    assert a.history[-1] == pytest.approx(a.objective, rel=1e-14)


def test_nonconvex_options_are_checked():
    with pytest.raises(ValueError, match=r"solver_options for method='nonconvex' must be among"):
        lpm.solve(2, 2, 3.0, method="nonconvex", solver_options={"step": 1})
    with pytest.raises(ValueError, match=r"features must be one of 'class', 'sample', got 'x'"):
        lpm.solve(2, 2, 3.0, method="nonconvex", solver_options={"features": "x"})
    with pytest.raises(ValueError, match=r"restarts must be an integer >= 1, got 0"):
        lpm.solve(2, 2, 3.0, method="nonconvex", solver_options={"restarts": 0})
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0, got -1"):
        lpm.solve(2, 2, 3.0, method="nonconvex", solver_options={"seed": -1})
    with pytest.raises(ValueError, match=r"tol must be a finite real number > 0"):
        lpm.solve(2, 2, 3.0, method="nonconvex", solver_options={"tol": 0})
    with pytest.raises(ValueError, match=r"own accelerated gradient solver"):
        lpm.solve(2, 2, 3.0, method="nonconvex", solver="SCS")
    with pytest.raises(ValueError, match=r"p must be an integer >= 1 .*, got 0"):
        lpm.solve(2, 2, 3.0, method="nonconvex", p=0)


def test_per_sample_features_need_integer_counts():
    with pytest.raises(ValueError, match=r"integer sample counts >= 1, got counts=\[2\.5, 1\.0\]"):
        lpm.solve_counts([2.5, 1.0], method="nonconvex", solver_options={"features": "sample"})
    with pytest.raises(ValueError, match=r"R = inf has no minority samples"):
        lpm.solve(2, 2, math.inf, method="nonconvex", solver_options={"features": "sample"})
