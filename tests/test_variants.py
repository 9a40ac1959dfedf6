"""Variants of the model: oversampling, other losses (in every method), the NC1 metric."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.geometry import simplex_etf_gram

METHODS = ["reduced", "nuclear", "sdp", "nonconvex"]
LOSSES = [
    ("ce", None),
    ("label_smoothing", {"alpha": 0.2}),
    ("squared", None),
    ("squared_centered", None),
]


# -- oversampling -------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_oversampling_by_R_restores_the_balanced_etf(method):
    R = 200.0
    sol = lpm.solve(3, 3, R, 1.0, 5.0, oversample=R, method=method)
    expected = lpm.balanced_optimum(6, 1.0, 5.0).objective
    if method == "reduced":
        assert sol.model.groups.G == 1  # the weights are exactly equal
        assert sol.objective == pytest.approx(expected, rel=1e-14)
        assert sol.is_simplex_etf()  # exact test
    else:
        assert sol.objective == pytest.approx(expected, rel=1e-9)
    assert sol.objective - expected <= sol.gap
    np.testing.assert_allclose(sol.classifier_gram(), simplex_etf_gram(6), atol=1e-5)
    assert sol.minority_cosine == pytest.approx(-1 / 5, abs=1e-5)


def test_class_weights_are_oversampling_for_any_counts():
    R = 50.0
    a = lpm.solve_counts([R, R, 1, 1, 1], 1.0, 2.0, class_weights=[1, 1, R, R, R])
    assert a.objective == pytest.approx(lpm.balanced_optimum(5, 1.0, 2.0).objective, rel=1e-14)
    b = lpm.solve_counts([R, R, 1, 1, 1], 1.0, 2.0, class_weights=[1, 1, 5, 5, 5])
    c = lpm.solve(2, 3, R / 5, 1.0, 2.0)  # effective imbalance R / w_r
    assert b.objective == pytest.approx(c.objective, rel=1e-13)
    nc = lpm.solve_counts(
        [R, R, 1, 1, 1], 1.0, 2.0, class_weights=[1, 1, 5, 5, 5], method="nonconvex"
    )
    assert nc.objective == pytest.approx(c.objective, rel=1e-9)


def test_minority_cosine_falls_monotonically_with_oversampling():
    R = 200.0
    R0 = lpm.collapse_threshold(3, 3, 1.0, 5.0)
    w = np.geomspace(1.0, R, 25)
    sols = lpm.solve_models([lpm.Model.two_group(3, 3, R, 1.0, 5.0, oversample=x) for x in w])
    cos = np.array([s.minority_cosine for s in sols])
    collapsed = np.array([s.minority_collapsed for s in sols])
    # collapsed exactly while the effective imbalance R / w_r is above R_0
    np.testing.assert_array_equal(collapsed, R / w >= R0)
    assert np.all(cos[collapsed] == pytest.approx(1.0, abs=1e-12))
    free = cos[~collapsed]
    assert np.all(np.diff(free) < 0) and free[0] < 1.0
    assert cos[-1] == pytest.approx(-1 / 5, abs=1e-12)
    # the nonconvex solver honours oversampling too
    for i in (8, 16):
        nc = lpm.solve(3, 3, R, 1.0, 5.0, oversample=w[i], method="nonconvex")
        assert nc.minority_cosine == pytest.approx(cos[i], abs=1e-5)


def test_oversample_must_be_positive():
    with pytest.raises(ValueError, match=r"oversample must be a finite real number > 0, got -2"):
        lpm.solve(2, 2, 10.0, oversample=-2)
    with pytest.raises(ValueError, match=r"class_weights must be finite and > 0 .* entry 0"):
        lpm.solve_counts([1, 2], class_weights=[-1, 1], method="nonconvex")


# -- losses -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("loss, params", LOSSES, ids=[name for name, _ in LOSSES])
def test_balanced_geometry_of_each_loss(loss, params, method):
    # E_W E_H = 1/4 keeps every budget binding; one-hot squared loss: orthogonal frame
    # W W^T = E_W I; the others: simplex ETF W W^T = E_W K/(K-1) (I - J/K)
    K, E_W, E_H = 4, 0.5, 0.5
    sol = lpm.solve_counts(np.ones(K), E_W, E_H, loss=loss, loss_params=params, method=method)
    assert sol.success, sol.message
    assert "slack" not in sol.message
    if loss == "squared":
        expected = E_W * np.eye(K)
        assert sol.p == K
    else:
        expected = E_W * simplex_etf_gram(K)
    np.testing.assert_allclose(sol.classifier_gram(), expected, atol=1e-5)
    np.testing.assert_allclose(sol.feature_gram(), expected * E_H / E_W, atol=1e-5)


@pytest.mark.parametrize("loss, params", LOSSES, ids=[name for name, _ in LOSSES])
def test_convex_and_nonconvex_routes_agree_for_each_loss(loss, params):
    # E_W E_H = 0.3: the budget binds for every loss, so W W^T is unique
    args = dict(loss=loss, loss_params=params)
    red = lpm.solve(3, 2, 20.0, 0.3, 1.0, method="reduced", **args)
    nc = lpm.solve(3, 2, 20.0, 0.3, 1.0, method="nonconvex", **args)
    assert red.success and nc.success, nc.message
    assert "slack" not in red.message
    assert nc.objective == pytest.approx(red.objective, rel=1e-8)
    np.testing.assert_allclose(nc.classifier_gram(), red.classifier_gram(), atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("R", [1.0, 10.0, math.inf])
def test_slack_budget_squared_loss(method, R):
    # E_W E_H = 4 >= 1: the targets themselves fit in the budget, the optimum is 0
    for loss in ("squared", "squared_centered"):
        sol = lpm.solve(3, 2, R, 2.0, 2.0, loss=loss, method=method)
        assert sol.success, sol.message
        assert sol.objective == pytest.approx(0.0, abs=1e-12)
        assert "slack" in sol.message and "one choice among them" in sol.message
        assert sol.residuals.nuclear <= 1e-12


def test_slack_budget_label_smoothing_reaches_the_entropy_of_the_targets():
    # with a slack budget every row sits at softmax(z) = y, where the loss is H(y)
    K, alpha = 5, 0.3
    y = np.full(K, alpha / K)
    y[0] += 1 - alpha
    entropy = -(y * np.log(y)).sum()
    for R in (1.0, 7.0, math.inf):
        for method in ("reduced", "nuclear", "nonconvex"):
            sol = lpm.solve(
                3, 2, R, 3.0, 3.0, loss="label_smoothing", loss_params={"alpha": alpha},
                method=method,
            )  # fmt: skip
            assert sol.objective == pytest.approx(entropy, rel=1e-9)
            assert "slack" in sol.message
    # the reduced route's zero-weight rows (R = inf) are 0, the least-norm choice
    sol = lpm.solve(3, 2, math.inf, 3.0, 3.0, loss="label_smoothing", loss_params={"alpha": alpha})
    np.testing.assert_array_equal(sol.logits[3:], 0.0)


def test_loss_parameters_are_checked():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\), got -0\.1"):
        lpm.solve(2, 2, 3.0, loss="label_smoothing", loss_params={"alpha": -0.1})
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\), got 1\.5"):
        lpm.solve_penalized(
            2, 2, 3.0, 1e-2, 1e-2, loss="label_smoothing", loss_params={"alpha": 1.5}
        )


# -- NC1 ------------------------------------------------------------------------------------
def test_nc1_of_a_hand_example():
    # class 0: {0, 2} (mean 1, variance 1); class 1: {-1, -1}: Sigma_W = 1/2,
    # global mean 0, Sigma_B = (1 + 1)/2 = 1, NC1 = (1/2) / 2
    X = np.array([[0.0], [2.0], [-1.0], [-1.0]])
    assert lpm.nc1(X, np.array([0, 0, 1, 1])) == pytest.approx(0.25, rel=1e-15)


@settings(max_examples=20)
@given(
    K=st.integers(2, 5),
    p=st.integers(1, 8),
    extra=st.integers(0, 6),
    seed=st.integers(0, 2**31),
    c=st.floats(0.01, 100.0),
)
def test_nc1_matches_its_definition_and_is_invariant(K, p, extra, seed, c):
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(K), rng.integers(0, K, extra)]
    X = rng.standard_normal((y.size, p)) + 3 * rng.standard_normal((K, p))[y]
    value = lpm.nc1(X, y)
    means = np.array([X[y == k].mean(axis=0) for k in range(K)])
    D = X - means[y]
    B = means - X.mean(axis=0)
    direct = np.trace(D.T @ D / y.size @ np.linalg.pinv(B.T @ B / K, rcond=1e-12)) / K
    assert value == pytest.approx(direct, rel=1e-8)
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    shifted = c * X @ Q + rng.standard_normal(p)
    assert lpm.nc1(shifted, y) == pytest.approx(value, rel=1e-8)
    assert lpm.nc1(means[y], y) == 0.0


def test_nc1_bad_input():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"labels must use every class 0\.\.2; classes \[1\]"):
        lpm.nc1(X, np.array([0, 2, 2]))
    with pytest.raises(ValueError, match=r"labels must be a 1-D array of nonnegative integers"):
        lpm.nc1(X, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"features must be a 2-D array"):
        lpm.nc1(np.ones(3), np.array([0, 1, 1]))
    assert math.isnan(lpm.nc1(X, np.array([0, 1, 1])))  # class means coincide
