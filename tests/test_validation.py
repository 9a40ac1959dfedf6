"""Bad input gets a ValueError that names the argument, the value and what is allowed."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(K_A=0), r"K_A must be an integer >= 1, got 0"),
        (dict(K_A=2.5), r"K_A must be an integer >= 1, got 2\.5"),
        (dict(K_A="3"), r"K_A must be an integer >= 1, got '3'"),
        (dict(K_B=-1), r"K_B must be an integer >= 1, got -1"),
        (dict(K_B=True), r"K_B must be an integer >= 1, got True"),
        (dict(R=0.0), r"R must be a positive real number or inf, got 0\.0"),
        (dict(R=-2), r"R must be a positive real number or inf, got -2"),
        (dict(R=math.nan), r"R must be a positive real number or inf, got nan"),
        (dict(R=-math.inf), r"R must be a positive real number or inf, got -inf"),
        (dict(E_W=0), r"E_W must be a finite real number > 0, got 0"),
        (dict(E_H=-1.0), r"E_H must be a finite real number > 0, got -1\.0"),
        (dict(E_W=math.inf), r"E_W must be a finite real number > 0, got inf"),
        (dict(E_H=math.nan), r"E_H must be a finite real number > 0, got nan"),
        (
            dict(method="newton"),
            r"method must be one of 'auto', 'reduced', 'nuclear', 'sdp', 'nonconvex', "
            r"'lowrank', got 'newton'",
        ),
        (dict(p=0), r"p must be an integer >= 4 \(the convex relaxation is exact only"),
        (dict(p=3), r"p must be an integer >= 4"),
        (dict(oversample=0), r"oversample must be a finite real number > 0, got 0"),
        (dict(loss="hinge"), r"loss must be one of 'ce', 'label_smoothing'"),
        (dict(constraint="max"), r"constraint must be one of 'average', 'per_class'"),
        (dict(gap_tol=-1), r"gap_tol must be a finite real number > 0, got -1"),
        (dict(K_A=10**30), r"K_A must be an integer <= 2\*\*40 \(memory\)"),
        (dict(R=1e308, oversample=1e-20), r"R / oversample = .* is out of the double range"),
        (dict(method="nuclear", solver="BOGUS"), r"solver must be a conic solver installed"),
        (dict(method="sdp", solver_options={"foo": 1}), r"solver_options \['foo'\] for SCS"),
        (
            dict(method="reduced", solver_options={"foo": 1}),
            r"solver_options for method='reduced' must be among \['decrement_tol', 'max_iter'\]",
        ),
        (
            dict(loss="label_smoothing", loss_params={"beta": 1}),
            r"label smoothing takes one parameter, alpha; got \['beta'\]",
        ),
        (
            dict(loss="label_smoothing", loss_params={"alpha": "x"}),
            r"alpha must be a real number in \[0, 1\), got 'x'",
        ),
    ],
)
def test_solve_rejects_bad_arguments(kwargs, pattern):
    args = dict(K_A=2, K_B=3, R=10.0, E_W=1.0, E_H=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        lpm.solve(**args)


@pytest.mark.parametrize(
    "counts, pattern",
    [
        ([3, 0, 2], r"counts must be finite and > 0 for every class; entry 1 is 0\.0"),
        ([3, -1, 2], r"entry 1 is -1\.0"),
        ([3, math.nan], r"entry 1 is nan"),
        ([math.inf, 1], r"entry 0 is inf"),
        ([], r"counts must be a non-empty 1-D sequence"),
        ([[1, 2], [3, 4]], r"counts must be a non-empty 1-D sequence .* shape \(2, 2\)"),
        (["a", "b"], r"counts must be a 1-D sequence of positive numbers"),
        (["5", "1"], r"counts must be a 1-D sequence of positive numbers"),
        ([True, True], r"counts must be a 1-D sequence of positive numbers"),
        ([1e-320, 1e300], r"class weights span more than the double range"),
    ],
)
def test_solve_counts_rejects_bad_counts(counts, pattern):
    with pytest.raises(ValueError, match=pattern):
        lpm.solve_counts(counts)


def test_class_weights_must_match_and_be_positive():
    with pytest.raises(ValueError, match=r"class_weights must have one entry per class \(3\)"):
        lpm.solve_counts([1, 2, 3], class_weights=[1, 2])
    with pytest.raises(ValueError, match=r"class_weights must be finite and > 0 .* entry 0"):
        lpm.solve_counts([1, 2, 3], class_weights=[0, 1, 1])


def test_threshold_rejects_single_minority_class_and_bad_rtol():
    with pytest.raises(ValueError, match=r"K_B must be an integer >= 2, got 1"):
        lpm.collapse_threshold(3, 1)
    with pytest.raises(ValueError, match=r"rtol must be a number in \(0, 0\.1\]"):
        lpm.collapse_threshold(3, 2, rtol=0)


def test_reduced_method_rejects_a_conic_solver():
    with pytest.raises(ValueError, match="method='reduced' uses its own Newton solver"):
        lpm.solve(2, 3, 10, method="reduced", solver="SCS")


def test_minority_indices_checked():
    with pytest.raises(ValueError, match=r"minority indices must lie in \[0, 3\)"):
        lpm.Model([1, 2, 3], minority=[5])
    with pytest.raises(ValueError, match=r"minority must be a list of integer class indices"):
        lpm.Model([1, 2, 3], minority=[0.5])
    # a boolean mask is read as a mask (it was refused before; never read as indices 0, 1)
    assert lpm.Model([1, 2, 3], minority=[True, False, True]).minority.tolist() == [0, 2]


def test_counts_near_the_top_of_the_double_range():
    # shares are computed relative to the largest count: no overflow of the sum
    big = lpm.solve_counts([1e308, 1e308, 1.0], 1.0, 1.0)
    small = lpm.solve_counts([1.0, 1.0, 1e-308], 1.0, 1.0)
    assert big.objective == pytest.approx(small.objective, rel=1e-12)
    assert big.objective > 0.2 and big.success
    with pytest.raises(ValueError, match="overflows the double range"):
        lpm.solve_counts([1e300, 1.0], class_weights=[1e10, 1.0])


def test_label_smoothing_alpha_checked():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\), got 1"):
        lpm.solve(2, 2, 3, loss="label_smoothing", loss_params={"alpha": 1})


def test_numpy_integers_are_accepted():
    sol = lpm.solve(np.int64(2), np.int32(3), np.float64(4.0))
    assert sol.success
    assert lpm.collapse_threshold(2, 3, rtol=np.float32(1e-6)) > 1
    assert len(lpm.sweep(2, 3, R=[1.0, 2.0], chunksize=np.int64(1))) == 2


def test_ratios_near_either_end_of_the_double_range():
    # weights normalized by the larger one: R = 1e-300 is the mirror of R = 1e300
    tiny = lpm.solve(5, 5, 1e-300, 1.0, 5.0)
    huge = lpm.solve(5, 5, 1e300, 1.0, 5.0)
    assert tiny.success and tiny.objective == pytest.approx(huge.objective, rel=1e-12)
    assert np.isfinite(lpm.Model.two_group(5, 5, 1e-309).pi).all()


def test_a_loss_that_cannot_be_hashed_still_solves():
    class Weighted(lpm.SquaredLoss):
        def __init__(self):
            super().__init__("centered")
            self.tag = np.zeros(2)  # an array attribute: unhashable

    model = lpm.Model([3.0, 2.0, 1.0], 1.0, 1.0, loss=Weighted())
    ref = lpm.solve_counts([3.0, 2.0, 1.0], 1.0, 1.0, loss="squared_centered")
    sol = lpm.solve_model(model, method="lowrank")
    assert sol.objective == pytest.approx(ref.objective, abs=1e-9)


def test_grouped_logits_are_read_only():
    sol = lpm.solve(5, 5, 10.0)
    Z = sol.logits_repr
    with pytest.raises(ValueError, match="read-only"):
        Z.s[0] = 1.0
    with pytest.raises(AttributeError):
        Z.s = Z.s * 0.5


# -- class subsets: one check wherever a set of classes is taken (issue 15) --------------
def _subset_takers(K):
    """Every public place that takes a set of classes, as f(subset) -> comparable value."""
    W = np.random.default_rng(K).standard_normal((K, K + 1))
    sol = lpm.solve_counts([4.0] * (K - K // 2) + [1.0] * (K // 2), 1.0, 5.0)
    return [
        ("minority", lambda s: lpm.minority_collapse_stats(W, s)),
        ("members", lambda s: sol.pair_stats(s)),
        ("minority", lambda s: lpm.Model(np.ones(K), minority=s).minority.tolist()),
        ("minority", lambda s: lpm.solve_counts(np.ones(K), minority=s).minority_stats()),
    ]


@settings(max_examples=15)
@given(K=st.integers(2, 7), data=st.data())
def test_a_mask_and_the_indices_it_marks_are_the_same_class_set(K, data):
    members = data.draw(st.sets(st.integers(0, K - 1)))
    order = data.draw(st.permutations(sorted(members)))
    dtype = data.draw(st.sampled_from([np.int8, np.uint8, np.int64, np.uint64]))
    mask = np.isin(np.arange(K), list(members))
    for name, take in _subset_takers(K):
        by_mask, by_index = take(mask), take(np.array(order, dtype=dtype))
        assert repr(by_mask) == repr(by_index), name  # repr: NaN (no pairs) equals NaN
        assert repr(take(list(mask))) == repr(by_mask)  # a list of booleans is a mask too


@pytest.mark.parametrize(
    "subset, pattern",
    [
        ([1, 1], r"must name each class once; classes \[1\] repeat"),
        ([0, -1], r"indices must lie in \[0, 4\) \(negative indices do not count from the end"),
        ([4], r"indices must lie in \[0, 4\)"),
        ([0.0, 1.0], r"must be a list of integer class indices in \[0, 4\) or a boolean mask"),
        ([True, False], r"as a boolean mask must have one entry per class \(4\), got shape \(2,\)"),
        ([[0, 1]], r"must be a list of integer class indices"),
        ("01", r"must be a list of integer class indices"),
    ],
)
def test_a_bad_class_set_is_refused_and_named(subset, pattern):
    for name, take in _subset_takers(4):
        with pytest.raises(ValueError, match=rf"{name} {pattern}"):
            take(subset)
