"""The solution object: W, H, residuals, huge K without K x K arrays, R = infinity in
every method that can express it."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm


def test_factors_meet_the_budgets_and_reproduce_the_logits():
    sol = lpm.solve(3, 4, 20.0, 0.7, 2.0)
    W, H = sol.W, sol.H
    assert W.shape == (7, 6)
    np.testing.assert_allclose(H @ W.T, sol.logits, atol=1e-12)
    assert sol.residuals.E_W == pytest.approx(0.0, abs=1e-12)
    assert sol.residuals.E_H == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(W @ W.T, sol.classifier_gram(), atol=1e-12)
    np.testing.assert_allclose(H @ H.T, sol.feature_gram(), atol=1e-12)


def test_larger_p_pads_with_zero_columns():
    sol = lpm.solve(3, 4, 20.0, p=9)
    assert sol.W.shape == (7, 9)
    np.testing.assert_allclose(sol.W @ sol.W.T, lpm.solve(3, 4, 20.0).classifier_gram(), atol=1e-12)


@pytest.mark.parametrize("method", ["reduced", "nuclear", "sdp"])
def test_infinite_imbalance_in_every_method(method):
    sol = lpm.solve(3, 3, math.inf, 1.0, 2.0, method=method)
    ref = lpm.solve(3, 3, math.inf, 1.0, 2.0, method="reduced")
    assert sol.success and sol.gap < 1e-6
    assert sol.objective == pytest.approx(ref.objective, abs=1e-7)
    assert sol.minority_collapsed is True
    assert sol.minority_cosine == pytest.approx(1.0, abs=1e-5)


def test_a_million_classes_without_k_by_k_arrays():
    # margins must beat log K ~ 14 for anything to happen: E_W E_H = 200
    sol = lpm.solve(600_000, 400_000, 1e3, 1.0, 200.0)
    assert sol.success and sol.gap < 1e-9
    assert sol.minority_collapsed is False and sol.collapse.within[1] > 1.0
    norm2, inner = sol.group_geometry("W")
    assert sol.minority_cosine == pytest.approx(inner[1, 1] / norm2[1], rel=1e-12)
    assert sol.majority_cosine == pytest.approx(inner[0, 0] / norm2[0], rel=1e-12)
    assert (norm2[0] * 600_000 + norm2[1] * 400_000) / 1e6 == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(MemoryError, match="W and H would be a 1000000 x 999999 array"):
        _ = sol.W
    with pytest.raises(MemoryError, match="the logit matrix Z would be"):
        _ = sol.logits


@pytest.mark.parametrize("method", ["reduced", "sdp"])
def test_minority_classifiers_at_the_origin_have_no_cosine(method):
    """With E_W E_H = 1 the collapsed minority classifiers are exactly 0 (the budget goes
    to the majority simplex): the cosine is undefined, whatever a solver's noise says."""
    sol = lpm.solve(5, 5, 100.0, 1.0, 1.0, method=method)
    assert sol.minority_collapsed is True
    with pytest.warns(RuntimeWarning, match="5 of the 5 vectors of the minority have norm 0"):
        assert math.isnan(sol.minority_cosine)
    exact = lpm.solve(5, 5, 100.0, 1.0, 1.0)
    assert exact.group_geometry("W")[0][1] == 0.0
    assert exact.majority_cosine == pytest.approx(-1 / 4, abs=1e-14)  # a 5-class simplex


def test_grouped_statistics_match_the_materialized_ones():
    sol = lpm.solve_counts(np.r_[np.full(4, 30.0), np.full(3, 2.0), np.full(2, 1.0)], 1.0, 3.0)
    W = sol.W
    for members in ([4, 5, 6], [0, 1, 2, 3], [2, 5, 7, 8]):
        grouped = sol.pair_stats(members)
        dense = lpm.geometry.pair_stats_from_gram(W @ W.T, members)
        assert grouped.mean_cosine == pytest.approx(dense.mean_cosine, abs=1e-12)
        assert grouped.min_cosine == pytest.approx(dense.min_cosine, abs=1e-12)
        assert grouped.max_distance == pytest.approx(dense.max_distance, abs=1e-10)


def test_solution_reports_status_time_and_summary():
    sol = lpm.solve(2, 2, 5.0)
    assert sol.status == "optimal" and sol.success and sol.time > 0
    row = sol.summary()
    assert row["method"] == "reduced" and row["gap"] == sol.gap
    assert "status='optimal'" in repr(sol)


def test_gap_tolerance_flags_a_solution_without_raising():
    sol = lpm.solve(3, 3, 10.0, method="sdp", solver_options={"eps_abs": 1e-3, "eps_rel": 1e-3})
    assert not sol.success and sol.status == "inaccurate"
    assert "above gap_tol" in sol.message
    assert math.isfinite(sol.objective) and sol.gap > 1e-6


def test_single_class_model():
    sol = lpm.solve_counts([3.0], 2.0, 0.5)
    assert sol.objective == 0.0 and sol.gap == 0.0
    assert lpm.balanced_optimum(1, 2.0, 0.5).objective == 0.0


def test_gram_norms_and_etf_distances():
    sol = lpm.solve(3, 3, 1.0, 2.0, 0.5)  # balanced: a simplex ETF, H = W / 2
    G = sol.gram
    assert G.shape == (12, 12)
    np.testing.assert_allclose(G[6:, 6:], sol.classifier_gram(), atol=1e-13)
    np.testing.assert_allclose(G[:6, 6:], sol.logits, atol=1e-13)
    np.testing.assert_allclose(sol.classifier_norms(), np.sqrt(2.0), rtol=1e-13)
    np.testing.assert_allclose(sol.feature_norms(), np.sqrt(0.5), rtol=1e-13)
    assert sol.etf_distance() < 1e-14 and sol.etf_distance("H") < 1e-14
    assert sol.self_duality_distance() < 1e-14
    skewed = lpm.solve(3, 3, 20.0, 2.0, 0.5)
    assert skewed.etf_distance() > 0.1 and skewed.self_duality_distance() > 1e-3


@pytest.mark.parametrize("EWEH", [1e-6, 1e-10, 1e-16])
def test_tiny_budgets_get_a_relative_gap_target(EWEH):
    # the loss varies by at most tau sigma_max(grad f(0)) over the whole budget; an
    # absolute 1e-6 target would accept any point there, so "optimal" means relative
    from lpm.solvers.dispatch import GAP_TOL, default_gap_tol, loss_range

    ref = lpm.solve(5, 5, 10.0, EWEH, 1.0)  # exact route
    span = loss_range(ref.model)
    # for these weights grad f(0) = -diag(pi)(I - J/K): sigma_max = max pi = 10/11 / 5
    assert span == pytest.approx(10 * math.sqrt(EWEH) * 2 / 11, rel=1e-12)
    floor = 1000 * np.finfo(float).eps * math.log(10)
    assert default_gap_tol(ref.model, "nonconvex") == pytest.approx(max(1e-6 * span, floor))
    assert ref.success and GAP_TOL["reduced"] > ref.gap
    low = lpm.solve(5, 5, 10.0, EWEH, 1.0, method="lowrank")
    assert low.success
    np.testing.assert_allclose(low.classifier_gram(), ref.classifier_gram(), atol=1e-6 * EWEH)
    # the nonconvex solver stalls far from the geometry at the smallest budgets: it must
    # say so rather than report "optimal"
    nc = lpm.solve(5, 5, 10.0, EWEH, 1.0, method="nonconvex")
    error = np.abs(nc.classifier_gram() - ref.classifier_gram()).max() / EWEH
    assert nc.success == (error < 1e-2)


@settings(max_examples=30)
@given(
    counts=st.lists(st.sampled_from([1.0, 2.0, 7.0, 50.0]), min_size=1, max_size=8),
    loss=st.sampled_from(["ce", "label_smoothing", "squared", "squared_centered"]),
    EWEH=st.floats(1e-8, 1e2),
)
def test_loss_range_closed_form_matches_the_gradient_at_zero(counts, loss, EWEH):
    # the closed form of f(0) and tau sigma_max(grad f(0)) against the dense gradient
    from lpm.solvers.dispatch import _loss_at_zero

    model = lpm.Model(counts, EWEH, 1.0, loss=loss)
    zero = np.zeros((model.K, model.K))
    f0, G = model.loss.dense(zero, model.pi)
    value, span = _loss_at_zero(model, exact=True)
    assert value == pytest.approx(f0, rel=1e-12)
    assert span == pytest.approx(model.tau * np.linalg.norm(G, 2), rel=1e-10, abs=1e-300)
    # the shortcut (a lower bound, taken only when it is at least 1) gives the same target
    _, quick = _loss_at_zero(model)
    assert quick <= span * (1 + 1e-12) and min(1.0, quick) == pytest.approx(min(1.0, span))


def test_factorization_residual_reports_dropped_singular_values():
    # SCS returns a full-rank Z; p = K - 1 columns leave out its smallest singular value,
    # and the residual says by how much H W^T misses the certified Z
    sol = lpm.solve(
        5, 5, 10.0, 1.0, 5.0, method="nuclear", solver_options={"eps_abs": 1e-5, "eps_rel": 1e-5}
    )
    S = np.linalg.svd(sol.logits, compute_uv=False)
    assert sol.residuals.factorization is None
    H, W = sol.H, sol.W
    assert np.linalg.norm(H @ W.T - sol.logits) > 0
    assert sol.residuals.factorization == pytest.approx(S[-1] / np.linalg.norm(S), rel=1e-6)
    assert sol.residuals.factorization > 0
    exact = lpm.solve(5, 5, 10.0, 1.0, 5.0)
    exact.W  # noqa: B018
    assert exact.residuals.factorization == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: lpm.solve(5, 5, 30.0, 1.0, 5.0),  # minority collapsed
        lambda: lpm.solve_counts([9.0, 9.0, 3.0, 3.0, 1.0], 1.0, 5.0),
        lambda: lpm.solve(5, 5, 30.0, 1.0, 5.0, fixed_classifier="etf"),
    ],
)
def test_collapse_report_made_on_first_use_is_the_same_and_picklable(make):
    # the solver defers the collapse report (and the report its block structure) to the
    # first access; the deferred form pickles (sweeps on process pools), and reading it
    # before or after a round trip gives the same report as a fresh solve's
    import pickle

    sol = make()
    copy = pickle.loads(pickle.dumps(sol))
    first, second = sol.collapse, copy.collapse
    np.testing.assert_array_equal(first.collapsed, second.collapsed)
    np.testing.assert_array_equal(first.gamma, second.gamma)
    assert (first.rank, first.block_margin) == (second.rank, second.block_margin) or (
        math.isnan(first.block_margin) and math.isnan(second.block_margin)
    )
    assert sol.minority_collapsed is make().minority_collapsed
    pickle.loads(pickle.dumps(sol))  # and once it is made
