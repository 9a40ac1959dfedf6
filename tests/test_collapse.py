"""Exact Minority Collapse: the KKT test, the threshold R_0, and the R -> infinity limit."""

import math

import numpy as np
import pytest

import lpm

CASES = [(5, 5, 1.0, 5.0), (1, 2, 1.0, 1.0), (3, 7, 0.5, 2.0), (10, 2, 2.0, 2.0), (2, 30, 1.0, 1.0)]


@pytest.mark.parametrize("K_A, K_B, E_W, E_H", CASES)
def test_threshold_separates_collapsed_from_not(K_A, K_B, E_W, E_H):
    R0 = lpm.collapse_threshold(K_A, K_B, E_W, E_H)
    assert 1.0 < R0 < math.inf
    below = lpm.solve(K_A, K_B, R0 * (1 - 1e-6), E_W, E_H)
    above = lpm.solve(K_A, K_B, R0 * (1 + 1e-6), E_W, E_H)
    assert below.minority_collapsed is False
    assert above.minority_collapsed is True
    # below: the minority-difference singular value is positive (and small)
    assert 0 < below.collapse.within[1] < 1e-4
    # above: exactly zero, with a positive KKT margin
    assert above.collapse.within[1] == 0.0 and above.collapse.margin[1] > 0


def test_threshold_matches_the_margin_root():
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0, rtol=1e-10)
    phi = lpm.collapse_margin(5, 5, [R0 * (1 - 1e-8), R0 * (1 + 1e-8)], 1.0, 5.0)
    assert phi[0] < 0 < phi[1]


def test_sdp_minority_eigenvalue_shrinks_linearly_to_zero_at_threshold():
    """Independent check: the paper's SDP, solved to high accuracy, sees the within-minority
    eigenvalue of W W^T vanish linearly at the R_0 found by the exact test."""
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0)
    Rs = R0 * (1 - np.array([0.05, 0.025, 0.0125]))
    eig = []
    for R in Rs:
        sol = lpm.solve(5, 5, R, 1.0, 5.0, method="sdp")
        B = sol.classifier_gram()[5:, 5:]
        C = np.eye(5) - 1 / 5
        eig.append(np.linalg.eigvalsh(C @ B @ C)[-4:].mean())
    eig = np.array(eig)
    assert np.all(eig > 0) and np.all(np.diff(eig) < 0)
    # the ratio eig / (R0 - R) settles: linear vanishing with a finite slope
    ratio = eig / (R0 - Rs)
    assert abs(ratio[2] - ratio[1]) < 0.6 * abs(ratio[1] - ratio[0])
    # extrapolating the last two points linearly hits zero at R0
    slope = (eig[2] - eig[1]) / (Rs[2] - Rs[1])
    assert Rs[2] - eig[2] / slope == pytest.approx(R0, rel=2e-3)


def test_threshold_grows_with_budget_product_and_minority_share():
    products = [0.25, 1.0, 4.0, 16.0]
    for K_A, K_B in [(5, 5), (2, 6)]:
        R0 = [lpm.collapse_threshold(K_A, K_B, e, 1.0) for e in products]
        assert np.all(np.diff(R0) > 0), R0
    for K_A in (2, 5):
        R0 = [lpm.collapse_threshold(K_A, K_B, 1.0, 1.0) for K_B in (2, 4, 8, 16)]
        assert np.all(np.diff(R0) > 0), R0


def test_weak_regularization_gives_astronomical_but_finite_threshold():
    R0 = lpm.collapse_threshold(5, 5, 100.0, 100.0)
    assert 1e80 < R0 < 1e100
    assert lpm.solve(5, 5, R0 * 1.001, 100.0, 100.0).minority_collapsed
    assert not lpm.solve(5, 5, R0 * 0.999, 100.0, 100.0).minority_collapsed


def test_infinite_imbalance_is_the_limit_of_large_imbalance():
    limit = lpm.solve(4, 3, math.inf, 3.0, 3.0)
    assert limit.success and limit.minority_collapsed
    assert limit.objective == pytest.approx(lpm.solve(4, 3, 1e15, 3.0, 3.0).objective, rel=1e-12)
    Rs = 10.0 ** np.arange(0, 13)
    sols = [lpm.solve(4, 3, R, 3.0, 3.0) for R in Rs]
    logits = [np.linalg.norm(s.logits - limit.logits) for s in sols]
    assert np.all(np.diff(logits) < 0)  # the whole solution converges monotonically
    assert logits[-1] < 1e-9
    grams = [np.linalg.norm(s.classifier_gram() - limit.classifier_gram()) for s in sols[:9]]
    assert np.all(np.diff(grams) < 0)
    # Theorem 5, sharpened: exactly collapsed from R_0 on
    R0 = lpm.collapse_threshold(4, 3, 3.0, 3.0)
    assert [s.minority_collapsed for s in sols] == list(Rs >= R0)


def test_small_budgets_reach_the_limit_exactly():
    """With little budget the minority features vanish once collapsed, so the classifiers
    equal those of the R = infinity problem exactly, not only in the limit."""
    limit = lpm.solve(4, 3, math.inf, 1.0, 2.0)
    for R in (10.0, 1e3, 1e6):
        sol = lpm.solve(4, 3, R, 1.0, 2.0)
        np.testing.assert_allclose(sol.classifier_gram(), limit.classifier_gram(), atol=1e-12)
        np.testing.assert_allclose(
            sol.feature_gram()[:4, :4], limit.feature_gram()[:4, :4], atol=1e-12
        )
        assert np.abs(sol.H[4:]).max() < 1e-12  # minority features at the origin


def test_multiplier_matches_section_7_formula():
    """lambda = u^T (-grad f) v for the top singular pair of Z; gamma_B from the softmax."""
    sol = lpm.solve(5, 5, 100.0, 1.0, 5.0)
    Z = sol.logits
    _, G = lpm.CrossEntropy().dense(Z, sol.model.pi)
    U, S, Vt = np.linalg.svd(Z)
    assert U[:, 0] @ (-G) @ Vt[0] == pytest.approx(sol.multiplier, rel=1e-10)
    # gamma_B = pi_B (1 - p_own + p_other) for a minority row
    k = 7
    p = np.exp(Z[k] - Z[k].max())
    p /= p.sum()
    gamma = sol.model.pi[k] * (1 - p[k] + p[k + 1])
    assert sol.collapse.gamma[1] == pytest.approx(gamma, rel=1e-10)
    assert sol.collapse.margin[1] == pytest.approx(sol.multiplier - gamma, rel=1e-8)


def test_collapse_of_any_group():
    counts = np.r_[np.full(3, 1000.0), np.full(4, 1.0), np.full(2, 50.0)]
    sol = lpm.solve_counts(counts, 1.0, 1.0)
    collapsed = [tuple(c) for c in sol.collapsed_groups]
    assert (3, 4, 5, 6) in collapsed
    assert sol.minority_collapsed is True
    # the same decision from a conic solution of the same model
    assert lpm.solve_counts(counts, 1.0, 1.0, method="nuclear").minority_collapsed is True


def test_single_minority_class_has_no_cosine():
    sol = lpm.solve(3, 1, 10.0)
    with pytest.warns(RuntimeWarning, match="the minority has 1 class; pairwise statistics"):
        assert math.isnan(sol.minority_cosine)
    assert sol.minority_collapsed is None


def test_threshold_near_the_end_of_double_precision():
    R0 = lpm.collapse_threshold(5, 5, 300.0, 300.0)
    assert 1e270 < R0 < 1e280
    below, above = lpm.collapse_margin(5, 5, [R0 * 0.999, R0 * 1.001], 300.0, 300.0)
    assert below < 0 <= above
    # refused up front, naming the allowed range (issue 15; before: a SolverError from
    # the Newton solver once the loss had underflowed)
    with pytest.raises(ValueError, match=r"E_W \* E_H must be at most 3\.636e\+05 for K=10"):
        lpm.collapse_threshold(5, 5, 1000.0, 1000.0)
    with pytest.raises(ValueError, match="out of double precision"):
        lpm.solve(5, 5, 10.0, 1000.0, 1000.0)


@pytest.mark.parametrize("R", [1.5, 5.0, 40.0])
def test_report_distances_match_the_classifiers(R):
    # CollapseReport.classifier_distance (from s_g) against the distance of two rows of W
    sol = lpm.solve(4, 3, R, 0.5, 6.0)
    dist = sol.collapse.classifier_distance()
    W = sol.W
    assert dist[0] == pytest.approx(np.linalg.norm(W[0] - W[1]), rel=1e-9, abs=1e-12)
    assert dist[1] == pytest.approx(np.linalg.norm(W[4] - W[6]), rel=1e-9, abs=1e-12)
    assert (dist[1] == 0) == sol.minority_collapsed


def test_threshold_for_many_majority_classes():
    # the bracket reaches R = 1e307: the weights are written without K_A * R (which
    # overflows from K_A = 18 on)
    for K_A in (17, 18, 100):
        R0 = lpm.collapse_threshold(K_A, 2, 1.0, 1.0)
        below = lpm.solve(K_A, 2, R0 * (1 - 1e-6), 1.0, 1.0)
        above = lpm.solve(K_A, 2, R0 * (1 + 1e-6), 1.0, 1.0)
        assert below.minority_collapsed is False and above.minority_collapsed is True


def test_label_smoothing_threshold_where_the_test_decides_and_not_where_it_cannot():
    ls = lpm.get_loss("label_smoothing", alpha=0.1)
    R0 = lpm.collapse_threshold(5, 5, 1.0, 1.0, loss=ls)  # budget binding: decided
    assert lpm.solve(5, 5, R0 * (1 - 1e-6), 1.0, 1.0, loss=ls).minority_collapsed is False
    assert lpm.solve(5, 5, R0 * (1 + 1e-6), 1.0, 1.0, loss=ls).minority_collapsed is True
    # E_W E_H = 5: the budget's multiplier vanishes as R grows (label smoothing has a
    # finite minimizer) and the margin sinks into rounding: no threshold is claimed, and
    # a solve there reports the collapse as undecided rather than guessing
    with pytest.raises(lpm.SolverError, match="R_0 ~ .* could not be confirmed"):
        lpm.collapse_threshold(5, 5, 1.0, 5.0, loss=ls)
    far = lpm.solve(5, 5, 1e12, 1.0, 5.0, loss=ls)
    assert far.minority_collapsed is None
    assert "rounding noise" in far.collapse.undecided
    with pytest.raises(ValueError, match="undecided"):
        far.collapsed_groups  # noqa: B018


def test_never_collapsing_is_claimed_only_where_the_exact_test_decides_it():
    # R_0 = inf rests on the full solve at R = inf: with label smoothing at E_W E_H = 5
    # the budget is slack there and the margin is rounding (-7e-18 on one machine), so
    # the claim is refused whatever the bracket found on the way; at E_W E_H = 1 the
    # budget binds and the test decides (collapsed: no claim of inf either)
    from lpm.analysis.threshold import _confirm_never

    ls = lpm.get_loss("label_smoothing", alpha=0.1)
    with pytest.raises(lpm.SolverError, match="R_0 ~ inf could not be confirmed.*slack"):
        _confirm_never(5, 5, 5.0, ls)
    with pytest.raises(lpm.SolverError, match="says collapsed, against the sign"):
        _confirm_never(5, 5, 1.0, ls)


def test_squared_loss_with_a_slack_budget_never_collapses():
    # the squared loss's own minimizer Z = I has ||Z||_* = K <= tau = K sqrt(5): the budget
    # never binds, Z = I is the optimum at every finite R, and its classifiers are
    # orthogonal. R_0 = inf, and the exact test agrees at every R (it once looked for a
    # root of the margin of a restricted program whose budget was wrongly held binding)
    assert lpm.collapse_threshold(5, 5, 1.0, 5.0, loss="squared") == math.inf
    for R in (1.0, 1e3, 1e19, 1e300):
        sol = lpm.solve(5, 5, R, 1.0, 5.0, loss="squared")
        assert sol.multiplier == 0.0 and sol.minority_collapsed is False
        assert sol.minority_cosine == 0.0
    # with a binding budget (tau = 5 < K = 10) there is no such shortcut
    with pytest.raises(lpm.SolverError, match="R_0 not found"):
        lpm.collapse_threshold(5, 5, 1.0, 0.25, loss="squared")


def test_a_slack_budget_at_infinite_imbalance_leaves_collapse_undetermined():
    # minority weight 0 and the unconstrained minimizer inside the ball: any minority
    # classifiers are optimal, so "collapsed" is not a property of the optimum
    sol = lpm.solve(5, 5, math.inf, 1.0, 1.0, loss="squared")
    assert sol.minority_collapsed is None and "not unique" in sol.collapse.undecided


@pytest.mark.parametrize("rtol", [1e-8, 1e-13])
def test_threshold_at_tight_rtol_is_confirmed(rtol):
    # below 1e-9 the confirmation is made at R_0 (1 -/+ 1e-9): the margin closer to
    # the root is beneath what the exact test resolves, not a reason to fail
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0, rtol=rtol)
    assert R0 == pytest.approx(12.1924470806, rel=1e-10)
    assert lpm.collapse_threshold(1, 2, 1.0, 1.0, rtol=1e-14) == pytest.approx(13.4667830638)


def test_etf_test_at_large_budgets_and_zero_loss():
    from lpm.analysis import etf_is_optimal

    # cross-entropy at a large budget: the optimum's loss is ~1e-18 and the ETF's ~5e-15;
    # the allowance follows the gradient's own rounding, so imbalance is still seen
    assert not etf_is_optimal(lpm.Model.two_group(5, 5, 1e8, 1.0, 1000.0))
    assert not etf_is_optimal(lpm.Model.two_group(5, 5, 2.0, 1.0, 1000.0))
    assert etf_is_optimal(lpm.Model.two_group(5, 5, 1.0, 1.0, 1000.0))
    # squared loss with centered targets reaches 0 at the ETF, for any K
    for K in (3, 10, 1000):
        assert lpm.solve_counts([1.0] * K, 1, 1, loss="squared_centered").is_simplex_etf()
        assert not lpm.solve_counts([1.0] * K, 1, 1, loss="squared").is_simplex_etf()
