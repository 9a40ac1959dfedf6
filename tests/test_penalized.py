"""The weight-decay form: its routes agree, its certificate bounds the true suboptimality,
it has the closed forms it should, and it corresponds to the constrained form."""

import math

import numpy as np
import pytest
from conftest import dense_cross_entropy
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

import lpm
from lpm.certificates import NuclearPenalty
from lpm.model.logits import DenseLogits


def penalized_value(model, Z):
    """F(Z) = f(Z) + beta ||Omega Z||_*, written out directly."""
    value, _ = model.loss.dense(Z, model.pi)
    return value + model.beta * np.linalg.svd(model.omega[:, None] * Z, compute_uv=False).sum()


def factor_objective(model, W, H):
    """The weight-decay objective of (W, H) written out directly."""
    value, _ = model.loss.dense(H @ W.T, model.pi)
    c = model.pi if model.per_sample_penalty else np.ones(model.K)
    return value + 0.5 * model.lambda_W * (W**2).sum() + 0.5 * model.lambda_H * c @ (H**2).sum(1)


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("R", [1.0, 10.0, 1000.0])
def test_reduced_nuclear_and_nonconvex_routes_agree(per_sample, R):
    args = (3, 2, R, 5e-3, 1e-2)
    red = lpm.solve_penalized(*args, per_sample_penalty=per_sample, method="reduced")
    assert red.success and red.gap < 1e-12 and red.certificate == "nuclear_penalty"
    for method in ("nuclear", "nonconvex"):
        other = lpm.solve_penalized(*args, per_sample_penalty=per_sample, method=method)
        assert other.success, other.message
        assert other.objective == pytest.approx(red.objective, rel=1e-8)
        assert other.objective - red.objective <= other.gap + red.gap
        np.testing.assert_allclose(other.classifier_gram(), red.classifier_gram(), atol=1e-5)
        np.testing.assert_allclose(other.feature_gram(), red.feature_gram(), atol=1e-4)
    # the reported objective is that of the returned factors, and of their logits
    model = red.model
    assert factor_objective(model, red.W, red.H) == pytest.approx(red.objective, rel=1e-12)
    assert penalized_value(model, red.logits) == pytest.approx(red.objective, rel=1e-12)
    # grouped statistics agree with the K x K Gram matrices
    norm2, inner = red.group_geometry("H")
    gram = red.feature_gram()
    g = model.groups.labels
    assert gram[0, 0] == pytest.approx(norm2[g[0]], rel=1e-12)
    assert gram[3, 4] == pytest.approx(inner[g[3], g[4]], rel=1e-10, abs=1e-15)
    np.testing.assert_allclose(gram, red.H @ red.H.T, atol=1e-12)


def test_per_sample_penalty_matches_per_sample_features():
    # (lambda_H / 2N) sum_{k,i} ||h_ki||^2 with one feature per sample
    sol = lpm.solve_penalized(2, 2, 6.0, 1e-2, 2e-2, per_sample_penalty=True)
    feat = lpm.solve_penalized(
        2,
        2,
        6.0,
        1e-2,
        2e-2,
        per_sample_penalty=True,
        method="nonconvex",
        solver_options={"features": "sample"},
    )
    assert feat.success, feat.message
    assert feat.objective == pytest.approx(sol.objective, rel=1e-9)
    X, y = feat.sample_features, feat.sample_labels
    assert lpm.nc1(X, y) < 1e-8
    model = feat.model
    loss, _ = model.loss.dense(feat.H @ feat.W.T, model.pi)
    N = y.size
    direct = (
        loss + 0.5 * model.lambda_W * (feat.W**2).sum() + 0.5 * model.lambda_H * (X**2).sum() / N
    )
    assert direct == pytest.approx(feat.objective, rel=1e-12)


@pytest.mark.parametrize("beta", [0.05, 0.2, 0.3])
def test_balanced_closed_form(beta):
    # balanced: Z = c (I - J/K), F(c) = log(1 + (K-1) e^-c) + beta (K-1) c, minimized in
    # one dimension; for beta >= sigma_max(grad f(0)) = 1/K the optimum is Z = 0
    K = 4

    def F(c):
        return math.log1p((K - 1) * math.exp(-c)) + beta * (K - 1) * c

    best = optimize.minimize_scalar(F, bounds=(0, 50), method="bounded", options={"xatol": 1e-12})
    expected = min(F(best.x), F(0.0))
    for method in ("reduced", "nuclear", "nonconvex"):
        sol = lpm.solve_penalized_counts(np.ones(K), beta, beta, method=method)
        assert sol.success, sol.message
        assert sol.objective == pytest.approx(expected, rel=1e-9)
    if beta >= 1 / K:
        assert np.abs(lpm.solve_penalized_counts(np.ones(K), beta, beta).logits).max() < 1e-12


@pytest.mark.parametrize("per_sample", [False, True])
def test_certificate_bounds_the_true_suboptimality(per_sample):
    best = lpm.solve_penalized(3, 2, 40.0, 2e-2, 1e-2, per_sample_penalty=per_sample)
    model = best.model
    cert = NuclearPenalty(model.beta, model.omega)
    rng = np.random.default_rng(3)
    Z0 = best.logits
    points = [Z0 + s * rng.standard_normal(Z0.shape) for s in (1.0, 1e-1, 1e-3, 1e-6)]
    points += [np.zeros_like(Z0), 5.0 * rng.standard_normal(Z0.shape)]
    for Z in points:
        b = cert.bound(model, DenseLogits(Z), None)
        assert b.value == pytest.approx(penalized_value(model, Z), rel=1e-12)
        assert b.value - best.objective <= b.gap + best.gap
        assert b.gap >= 0
    # at the optimum the bound closes
    assert cert.bound(model, DenseLogits(Z0), None).gap < 1e-12


@settings(max_examples=10)
@given(
    K_A=st.integers(1, 3),
    K_B=st.integers(1, 3),
    log10_R=st.floats(0.0, 3.0),
    log10_lam=st.floats(-3.0, 0.0),
    scale=st.floats(1e-4, 2.0),
    seed=st.integers(0, 1000),
)
def test_certificate_bound_property(K_A, K_B, log10_R, log10_lam, scale, seed):
    model = lpm.PenalizedModel.two_group(K_A, K_B, 10.0**log10_R, 10.0**log10_lam, 0.5)
    best = lpm.solve_penalized_model(model, method="reduced")
    Z = best.logits + scale * np.random.default_rng(seed).standard_normal((model.K, model.K))
    b = NuclearPenalty(model.beta).bound(model, DenseLogits(Z), None)
    assert b.value - best.objective <= b.gap + best.gap
    # the bound is the Frank-Wolfe gap over the ball beta ||Z||_* <= min(f(0), F(Z)),
    # recomputed here independently (a looser radius would still pass the line above)
    f, G = dense_cross_entropy(model.pi, Z)
    f0, _ = dense_cross_entropy(model.pi, np.zeros_like(Z))
    nuc = np.linalg.svd(Z, compute_uv=False).sum()
    rho = min(f0, f + model.beta * nuc) / model.beta
    sigma = np.linalg.norm(G, 2)
    fw = float(np.vdot(G, Z)) + model.beta * nuc + rho * max(0.0, sigma - model.beta)
    assert b.gap == pytest.approx(fw, rel=1e-9, abs=1e-13)


def test_penalized_and_constrained_forms_correspond():
    pen = lpm.solve_penalized(3, 3, 20.0, 4e-3, 1e-2)
    K = pen.model.K
    E_W, E_H = (pen.W**2).sum() / K, (pen.H**2).sum() / K
    con = lpm.solve(3, 3, 20.0, E_W, E_H)
    np.testing.assert_allclose(con.classifier_gram(), pen.classifier_gram(), atol=1e-9)
    np.testing.assert_allclose(con.feature_gram(), pen.feature_gram(), atol=1e-9)
    # the budget's multiplier is the penalty weight, sigma_max(-grad f) = sqrt(lW lH)
    assert con.multiplier == pytest.approx(pen.model.beta, rel=1e-9)
    assert pen.multiplier == pytest.approx(pen.model.beta, rel=1e-12)
    assert con.minority_collapsed == pen.minority_collapsed


def test_exact_collapse_report_of_the_penalized_form():
    weak = lpm.solve_penalized(3, 3, 1e3, 1e-4, 1e-4)
    strong = lpm.solve_penalized(3, 3, 1e3, 1e-2, 1e-2)
    assert weak.minority_collapsed is False and strong.minority_collapsed is True
    assert strong.minority_cosine == pytest.approx(1.0, abs=1e-12)
    margin = strong.collapse.margin[1]
    assert margin > 0
    # the per-sample penalty keeps the minority apart at the same R (Hong and Ling)
    per = lpm.solve_penalized(3, 3, 1e3, 1e-2, 1e-2, per_sample_penalty=True)
    assert per.minority_collapsed is False
    d = per.collapse.classifier_distance()[1]
    W = per.W
    assert np.linalg.norm(W[3] - W[4]) == pytest.approx(d, rel=1e-9)


def test_penalized_bad_input():
    with pytest.raises(ValueError, match=r"lambda_W must be a finite real number > 0, got -1"):
        lpm.solve_penalized(2, 2, 3.0, -1, 1e-2)
    with pytest.raises(ValueError, match=r"lambda_H must be a finite real number > 0, got 0"):
        lpm.solve_penalized_counts([1, 2], 1e-2, 0)
    with pytest.raises(ValueError, match=r"method must be one of 'auto', 'reduced', 'nuclear', "):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, method="sdp")
    with pytest.raises(ValueError, match=r"per_sample_penalty=True needs a positive loss weight"):
        lpm.solve_penalized(2, 2, math.inf, 1e-2, 1e-2, per_sample_penalty=True)
    with pytest.raises(ValueError, match=r"p must be an integer >= 3"):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, method="nuclear", p=2)
    with pytest.raises(ValueError, match=r"class_weights must be finite and > 0 .* entry 1"):
        lpm.solve_penalized_counts([1, 2], 1e-2, 1e-2, class_weights=[1, -2])
    model = lpm.PenalizedModel([1, 2, 3], 1e-2, 1e-2)
    with pytest.raises(ValueError, match=r"a penalized model has no budget, so no E_W"):
        model.E_W  # noqa: B018
    with pytest.raises(ValueError, match=r"solve it with lpm.solve_penalized_model"):
        lpm.solve_model(model)


def test_no_certificate_below_the_exact_dimension():
    sol = lpm.solve_penalized(2, 2, 10.0, 1e-2, 1e-2, method="nonconvex", p=1)
    assert sol.status == "uncertified" and math.isinf(sol.gap) and not sol.success
    assert sol.objective >= lpm.solve_penalized(2, 2, 10.0, 1e-2, 1e-2).objective - 1e-12


def test_grouped_cosines_of_the_per_sample_penalty_are_those_of_W():
    # With a per-sample penalty W W^T is the Gram of (D^1/2 Z), not of Z; the grouped
    # statistics once took their cosines from Z and reported -0.0197 for a minority whose
    # classifiers have mean cosine 0.2847 (visible only with three or more groups)
    counts = [50, 50, 10, 10, 1, 1, 1]
    sol = lpm.solve_penalized_counts(counts, 0.02, 0.02, per_sample_penalty=True)
    assert sol.method == "reduced"
    W = sol.W
    for members in ([4, 5, 6], [2, 3], [0, 1], [2, 3, 4]):
        dense = lpm.minority_collapse_stats(W, members)
        grouped = sol.pair_stats(members)
        assert grouped.mean_cosine == pytest.approx(dense.mean_cosine, abs=1e-12)
        assert grouped.min_cosine == pytest.approx(dense.min_cosine, abs=1e-12)
    assert sol.minority_cosine == pytest.approx(0.28465700846501757, abs=1e-12)
