"""The max-margin limit: the UF-SVM solved directly (lpm.solve_max_margin) against its
closed form SELI (lpm.seli), the dual certificate, and which diagonal the Gram takes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm
from lpm.certificates import max_margin_bound


def psd_sqrt(A):
    """Square root of a PSD matrix by eigh; eigenvalues at rounding level are 0 (each of
    these matrices has a null vector, whose eigenvalue of 1e-16 would give 1e-8)."""
    w, V = np.linalg.eigh(0.5 * (A + A.T))
    w = np.where(w > 1e-12 * w.max(), w, 0.0)
    return (V * np.sqrt(w)) @ V.T


def uf_svm_objective(W, H, counts):
    """0.5 ||W||^2 + 0.5 sum over samples of ||h_i||^2, every sample at its class mean."""
    return 0.5 * (W**2).sum() + 0.5 * counts @ (H**2).sum(axis=1)


COUNTS = [
    [1.0, 1.0, 1.0, 1.0],
    [10.0] * 3 + [1.0] * 2,
    [100.0] * 5 + [1.0] * 5,
    [1000.0] * 2 + [1.0] * 4,
    [500.0, 200.0, 80.0, 30.0, 10.0, 4.0, 1.0],
]


@pytest.mark.parametrize("counts", COUNTS)
def test_direct_solve_matches_seli(counts):
    counts = np.array(counts)
    sol = lpm.solve_max_margin(counts)
    assert sol.success and sol.status == "optimal", sol.message
    closed = lpm.seli(counts)
    assert sol.objective - closed.objective <= sol.gap + closed.gap
    assert sol.objective == pytest.approx(closed.objective, rel=1e-9)
    np.testing.assert_allclose(sol.classifier_gram(), closed.classifier_gram, atol=1e-6)
    np.testing.assert_allclose(sol.feature_gram(), closed.feature_gram, atol=1e-6)
    np.testing.assert_allclose(sol.logits, closed.logits, atol=1e-8)  # I - J/K
    # the factors are those Grams, reach every margin, and have the reported objective
    H, W = sol.factors()
    np.testing.assert_allclose(W @ W.T, sol.classifier_gram(), atol=1e-9)
    assert (np.diagonal(H @ W.T)[:, None] - H @ W.T + np.eye(counts.size)).min() >= 1 - 1e-9
    assert uf_svm_objective(W, H, counts) == pytest.approx(sol.objective, rel=1e-10)


@pytest.mark.parametrize("counts", COUNTS)
def test_seli_closed_form(counts):
    counts = np.array(counts)
    K = counts.size
    P = np.eye(K) - 1.0 / K
    geo = lpm.seli(counts)
    # the closed-form dual closes the gap: SELI is optimal at these counts
    assert geo.gap <= 1e-12 * geo.objective
    assert geo.dual.min() >= 0
    # the Gram takes diag(n) (the penalty sums over samples), not diag(pi)
    np.testing.assert_allclose(geo.classifier_gram, psd_sqrt(P @ np.diag(counts) @ P), atol=1e-10)
    pi = counts / counts.sum()
    pi_gram = psd_sqrt(P @ np.diag(pi) @ P)
    np.testing.assert_allclose(geo.classifier_gram, pi_gram * np.sqrt(counts.sum()), atol=1e-10)
    if counts.sum() != 1:
        assert np.abs(geo.classifier_gram - pi_gram).max() > 1e-3
    root = np.sqrt(counts)
    H_gram = psd_sqrt(root[:, None] * P * root[None, :]) / np.outer(root, root)
    np.testing.assert_allclose(geo.feature_gram, H_gram, atol=1e-10)
    # balanced: a simplex ETF; imbalanced: not
    cos = lpm.geometry.gram_cosines(geo.classifier_gram)
    off = cos[~np.eye(K, dtype=bool)]
    if np.ptp(counts) == 0:
        np.testing.assert_allclose(off, -1.0 / (K - 1), atol=1e-12)
    else:
        assert np.ptp(off) > 1e-3


@settings(max_examples=25)
@given(st.lists(st.floats(1.0, 1e4), min_size=2, max_size=9))
def test_seli_is_certified_optimal_at_any_counts(counts):
    geo = lpm.seli(counts)
    assert geo.gap <= 1e-11 * geo.objective
    # scaling the counts by c scales the classifier Gram by sqrt(c)
    scaled = lpm.seli(np.array(counts) * 4.0)
    np.testing.assert_allclose(
        scaled.classifier_gram, 2.0 * geo.classifier_gram, atol=1e-9 * geo.objective
    )


def test_certificate_bounds_a_perturbed_points_suboptimality():
    counts = np.array([50.0, 50.0, 5.0, 1.0, 1.0])
    best = lpm.seli(counts)
    rng = np.random.default_rng(0)
    for scale in (1.0, 0.1, 1e-3, 1e-6):
        Z = best.logits + scale * rng.standard_normal(best.logits.shape)
        Z = Z + np.diag(np.full(counts.size, 3.0 * scale))  # keep the margins positive
        b = max_margin_bound(counts, Z, [best.dual])
        # the point was made feasible: every margin >= 1
        m = np.diagonal(b.logits)[:, None] - b.logits + np.diag(np.full(counts.size, np.inf))
        assert m.min() >= 1 - 1e-12
        true = b.value - best.objective
        assert -1e-10 <= true <= b.gap + best.gap
        assert b.gap >= true
    # a candidate that is not a multiplier at all still gives a valid (loose) bound
    loose = max_margin_bound(counts, best.logits, [np.ones((5, 5))])
    assert loose.gap >= 0 and loose.dual_value <= best.objective + 1e-10


def test_max_margin_bad_input():
    with pytest.raises(ValueError, match=r"counts must be finite and > 0 for every class"):
        lpm.solve_max_margin([1.0, -1.0])
    with pytest.raises(ValueError, match=r"counts must have at least 2 classes, got 1"):
        lpm.solve_max_margin([3.0])
    with pytest.raises(ValueError, match=r"counts has 31 classes; .* takes at most 30"):
        lpm.solve_max_margin(np.ones(31))
    with pytest.raises(ValueError, match=r"solver must be a conic solver installed"):
        lpm.solve_max_margin([1.0, 2.0], solver="nope")
    with pytest.raises(lpm.SolverError, match=r"margin .* <= 0: infeasible"):
        max_margin_bound(np.ones(3), np.zeros((3, 3)), [])


def test_vanishing_regularization_limits(tmp_path):
    # budgets: the norm does not see the counts, the geometry tends to the simplex ETF;
    # per-sample weight decay tends to SELI (slowly: the margins grow like log(1/beta))
    from lpm import plotting

    d = plotting.limit_distances(
        5, 5, 10.0, EWEH=[10.0, 100.0, 1e3, 1e4], betas=[1e-2, 1e-4, 1e-6, 1e-8]
    )
    assert np.all(np.diff(d["budget_etf"]) < 0) and d["budget_etf"][-1] < 0.011
    assert d["budget_seli"][-1] > 0.4
    assert np.all(np.diff(d["sample_seli"]) < 0) and d["sample_seli"][-1] < 0.05
    assert d["sample_etf"][-1] > 0.5
    assert np.all(np.diff(d["mean_etf"]) < 0)  # class-mean decay: like the budget
    # the distances are those of the solutions' Grams
    sol = lpm.solve_penalized(5, 5, 10.0, 1e-8, 1e-8, per_sample_penalty=True)
    seli = lpm.seli([10.0] * 5 + [1.0] * 5).classifier_gram
    assert d["sample_seli"][-1] == lpm.gram_distance(sol.classifier_gram(), seli)
    fig = plotting.limits_figure(data=d)
    left, right = fig.axes[:2]
    assert left.get_xscale() == right.get_xscale() == "log"
    np.testing.assert_array_equal(left.get_lines()[0].get_ydata(), d["budget_etf"])
    np.testing.assert_array_equal(right.get_lines()[1].get_xdata(), 1 / d["beta"])
    plotting.save_figure(fig, tmp_path, "limits", formats=("png",))
    assert (tmp_path / "limits.png").read_bytes()[:4] == b"\x89PNG"


def test_seli_angles_shown_in_the_docs():
    rows = {10: (-0.1440, 0.0334, -0.1387, 0.6117), 100: (-0.1480, 0.3380, -0.1959, 0.4164)}
    for R, expected in rows.items():
        gram = lpm.seli([R] * 5 + [1] * 5).classifier_gram
        cos = lpm.geometry.gram_cosines(gram)
        norms = np.sqrt(np.diagonal(gram))
        got = (cos[0, 1], cos[5, 6], cos[0, 5], norms[5] / norms[0])
        np.testing.assert_allclose(got, expected, atol=5e-5)
    # no exact Minority Collapse in the max-margin limit, even far out
    gram = lpm.seli([1e6] * 5 + [1] * 5).classifier_gram
    assert 0.98 < lpm.geometry.gram_cosines(gram)[5, 6] < 1 - 1e-3


def test_max_margin_summary_reports_what_every_solution_does():
    import json

    mm = lpm.solve_max_margin([5, 5, 1])
    sol = lpm.solve(2, 1, 5.0, 1.0, 1.0)
    row = mm.summary()
    assert list(row) == [k for k in sol.summary() if k != "multiplier"]
    assert row["objective"] == mm.objective and row["gap"] == mm.gap
    assert row["status"] == "optimal" and row["success"] is True
    json.dumps(row)  # plain Python values
