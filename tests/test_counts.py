"""Count generators: exact floors (checked in integer arithmetic), shapes, and input checks."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm


def is_floor_of_power(n: int, n_max: int, rho: float, k: int, K: int) -> bool:
    """n == floor(n_max * rho^(-k/(K-1))), decided exactly: raise both sides of
    n <= n_max rho^(-k/(K-1)) < n + 1 to the power K-1 (all terms positive)."""
    e = K - 1
    r = Fraction(rho)  # the float rho, exactly
    lo = Fraction(n) ** e * r**k <= Fraction(n_max) ** e
    hi = Fraction(n_max) ** e < Fraction(n + 1) ** e * r**k
    return lo and hi


def test_long_tailed_known_values():
    # CIFAR-10-LT with imbalance factor 100
    np.testing.assert_array_equal(
        lpm.counts.long_tailed(10, 100), [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    )
    counts = lpm.counts.long_tailed(100, 100)
    assert counts[0] == 5000 and counts[-1] == 50 and counts.dtype == np.int64


def test_long_tailed_exact_powers_are_not_rounded_down():
    # 16^(-k/4) = 1, 1/2, 1/4, 1/8, 1/16: every count is an exact integer
    np.testing.assert_array_equal(lpm.counts.long_tailed(5, 16, n_max=16), [16, 8, 4, 2, 1])
    np.testing.assert_array_equal(lpm.counts.long_tailed(3, 49, n_max=49), [49, 7, 1])
    np.testing.assert_array_equal(lpm.counts.long_tailed(4, 1000, n_max=1000), [1000, 100, 10, 1])


@given(b=st.integers(2, 7), K=st.integers(2, 9), c=st.integers(1, 60))
def test_long_tailed_perfect_powers(b, K, c):
    # rho = b^(K-1): n_k = c b^(K-1-k) exactly, a case where float arithmetic loses a unit
    counts = lpm.counts.long_tailed(K, b ** (K - 1), n_max=c * b ** (K - 1))
    assert counts.tolist() == [c * b ** (K - 1 - k) for k in range(K)]


def test_long_tailed_limits():
    np.testing.assert_array_equal(lpm.counts.long_tailed(1, 10), [5000])
    np.testing.assert_array_equal(lpm.counts.long_tailed(6, 1, n_max=7), [7] * 6)
    np.testing.assert_array_equal(lpm.counts.long_tailed(2, 5000), [5000, 1])


@settings(max_examples=60)
@given(
    K=st.integers(2, 40),
    rho=st.floats(1.0, 500.0),
    n_max=st.integers(500, 10**6),
)
def test_long_tailed_is_the_exact_floor(K, rho, n_max):
    counts = lpm.counts.long_tailed(K, rho, n_max=n_max)
    assert counts.shape == (K,) and counts.dtype == np.int64
    assert counts[0] == n_max
    assert np.all(np.diff(counts) <= 0)
    for k, n in enumerate(counts.tolist()):
        assert is_floor_of_power(n, n_max, rho, k, K), (k, n)


def test_step_counts():
    np.testing.assert_array_equal(lpm.counts.step(5, 2, 10), [5000, 5000, 5000, 500, 500])
    np.testing.assert_array_equal(lpm.counts.step(3, 0, 5, n_max=7), [7, 7, 7])
    np.testing.assert_array_equal(lpm.counts.step(3, 3, 2.5, n_max=10), [4, 4, 4])
    assert lpm.counts.step(2, 1, 3.0, n_max=10).tolist() == [10, 3]
    # R is taken exactly: 1 + 2^-52 is above 1, so floor(9 / R) is 8
    assert lpm.counts.step(2, 1, 1.0 + 2.0**-52, n_max=9).tolist() == [9, 8]
    assert lpm.counts.step(1, 1, 3.0, n_max=10).tolist() == [3]


@settings(max_examples=40)
@given(
    K=st.integers(1, 30),
    data=st.data(),
    R=st.floats(1.0, 1000.0),
    n_max=st.integers(1000, 10**7),
)
def test_step_matches_two_groups(K, data, R, n_max):
    n_min = data.draw(st.integers(0, K))
    counts = lpm.counts.step(K, n_min, R, n_max=n_max)
    small = math.floor(Fraction(n_max) / Fraction(R))
    assert counts.tolist() == [n_max] * (K - n_min) + [small] * n_min


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: lpm.counts.long_tailed(0, 10), r"K must be an integer >= 1, got 0"),
        (lambda: lpm.counts.long_tailed(2.5, 10), r"K must be an integer >= 1, got 2\.5"),
        (lambda: lpm.counts.long_tailed("3", 10), r"K must be an integer >= 1, got '3'"),
        (
            lambda: lpm.counts.long_tailed(5, 0.5),
            r"rho must be a finite real number >= 1, got 0\.5",
        ),
        (lambda: lpm.counts.long_tailed(5, math.nan), r"rho must be .* got nan"),
        (lambda: lpm.counts.long_tailed(5, math.inf), r"rho must be .* got inf"),
        (lambda: lpm.counts.long_tailed(5, "10"), r"rho must be .* got '10'"),
        (lambda: lpm.counts.long_tailed(5, 10, n_max=0), r"n_max must be an integer >= 1, got 0"),
        (
            lambda: lpm.counts.long_tailed(5, 100, n_max=50),
            r"rho=100 leaves the smallest class with floor\(n_max / rho\) = 0 samples",
        ),
        (lambda: lpm.counts.step(0, 0, 10), r"K must be an integer >= 1, got 0"),
        (
            lambda: lpm.counts.step(4, -1, 10),
            r"n_minority_classes must be an integer >= 0, got -1",
        ),
        (lambda: lpm.counts.step(4, 5, 10), r"n_minority_classes must be an integer in \[0, K=4\]"),
        (lambda: lpm.counts.step(4, 2, 0.9), r"R must be a finite real number >= 1, got 0\.9"),
        (lambda: lpm.counts.step(4, 2, math.inf), r"R must be a finite real number >= 1, got inf"),
        (lambda: lpm.counts.step(4, 2, 10, n_max=5), r"R=10 leaves the smallest class"),
        (lambda: lpm.counts.step(4, 0, 10, n_max=5), r"R=10 leaves the smallest class"),
        (lambda: lpm.counts.step(4, 2, 10, n_max=True), r"n_max must be an integer >= 1"),
    ],
)
def test_count_generators_reject_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_counts_feed_a_model():
    model = lpm.Model(lpm.counts.step(6, 3, 10), 1.0, 5.0)
    assert model.groups.G == 2
    ref = lpm.Model.two_group(3, 3, 10.0, 1.0, 5.0)
    np.testing.assert_allclose(model.pi, ref.pi, rtol=1e-15)
