"""Theorem 1 (balanced classes): closed-form value, simplex-ETF classifiers and features,
self-duality, by every method."""

import math

import numpy as np
import pytest

import lpm
from lpm.geometry import etf_distance, self_duality_distance, simplex_etf_gram


def test_closed_form_value_example():
    # K = 10, E_W = E_H = 1: log(1 + 9 exp(-10/9))
    assert lpm.balanced_optimum(10, 1, 1).objective == pytest.approx(1.3769349204501935, rel=1e-15)


@pytest.mark.parametrize("K", [1, 2, 3, 7])
@pytest.mark.parametrize("E_W, E_H", [(1.0, 1.0), (0.5, 3.0), (4.0, 0.25)])
def test_closed_form_optimum_is_an_etf_with_theorem_1_norms(K, E_W, E_H):
    opt = lpm.balanced_optimum(K, E_W, E_H)
    assert (opt.W**2).sum() / K == pytest.approx(E_W, rel=1e-14)
    assert (opt.H**2).sum() / K == pytest.approx(E_H, rel=1e-14)
    if K > 1:
        np.testing.assert_allclose(opt.W @ opt.W.T, E_W * simplex_etf_gram(K), atol=1e-14)
        np.testing.assert_allclose(opt.H, math.sqrt(E_H / E_W) * opt.W, atol=1e-14)
        # its objective, computed from the loss, is the closed form
        Z = opt.H @ opt.W.T
        value, _ = lpm.CrossEntropy().dense(Z, np.full(K, 1.0 / K))
        assert value == pytest.approx(opt.objective, rel=1e-13)


@pytest.mark.parametrize("method", ["reduced", "nuclear", "sdp"])
# budget products 3, 1.5 and 5: a wrong power of E_W E_H cannot pass (at 1 it could)
@pytest.mark.parametrize("K, E_W, E_H", [(2, 2.0, 1.5), (4, 0.5, 3.0), (10, 1.0, 5.0)])
def test_every_method_finds_the_balanced_optimum(method, K, E_W, E_H):
    sol = lpm.solve_counts(np.full(K, 3.0), E_W, E_H, method=method)
    assert sol.success, sol.message
    assert sol.gap < 1e-6
    assert sol.objective == pytest.approx(lpm.balanced_optimum(K, E_W, E_H).objective, abs=1e-6)
    W, H = sol.W, sol.H
    assert W.shape == (K, K - 1) and H.shape == (K, K - 1)
    np.testing.assert_allclose(W @ W.T, E_W * simplex_etf_gram(K), atol=1e-5)
    np.testing.assert_allclose(H @ H.T, E_H * simplex_etf_gram(K), atol=1e-5)
    # H = sqrt(E_H / E_W) W up to a common rotation: equal Gram and cross-Gram
    np.testing.assert_allclose(H @ W.T, math.sqrt(E_H / E_W) * (W @ W.T), atol=1e-5)
    assert etf_distance(W) < 1e-5 and self_duality_distance(W, H) < 1e-5
    assert sol.is_simplex_etf(tol=1e-5)


def test_balanced_two_group_is_exactly_an_etf():
    assert lpm.solve(4, 6, 1.0).is_simplex_etf()  # exact test
    assert not lpm.solve(4, 6, 1.0 + 1e-6).is_simplex_etf()
    assert not lpm.solve(4, 6, 0.5).is_simplex_etf()


def test_squared_loss_with_one_hot_targets_is_not_an_etf_exactly():
    assert lpm.solve(3, 3, 1.0, loss="squared_centered").is_simplex_etf()
    assert not lpm.solve(3, 3, 1.0, E_W=0.1, E_H=0.1, loss="squared").is_simplex_etf()


def test_minority_cosine_of_the_balanced_model():
    sol = lpm.solve(5, 5, 1.0, 1, 5)
    assert sol.minority_cosine == pytest.approx(-1 / 9, abs=1e-14)
    assert sol.majority_cosine == pytest.approx(-1 / 9, abs=1e-14)
    assert sol.minority_collapsed is False
