"""A classifier fixed to a simplex ETF (Yang et al. 2022): the scalar program, the SDP with
the classifier block fixed and a direct program in H agree; no Minority Collapse by
construction; the features keep the ETF's angles and the minority's shrink."""

import math

import numpy as np
import pytest
from conftest import assert_same_row

import lpm
from lpm.certificates import FixedClassifierBall
from lpm.model.fixed_classifier import etf_classifier
from lpm.model.logits import DenseLogits
from lpm.studies.rows import solution_row


def direct_program(model):
    """min_H f(H W^T) s.t. ||H||_F^2 <= K E_H with W the fixed ETF, written in H itself
    (the tests' independent route, Clarabel)."""
    import cvxpy as cp

    K = model.K
    W = etf_classifier(K, model.E_W, K - 1)
    H = cp.Variable((K, K - 1))
    prob = cp.Problem(
        cp.Minimize(model.loss.cvx(H @ W.T, model.pi)), [cp.sum_squares(H) <= K * model.E_H]
    )
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return prob.value, H.value


CASES = [
    dict(counts=[10.0] * 5 + [1.0] * 5, E_H=5.0, loss="ce", loss_params=None),
    dict(counts=[100.0] * 3 + [1.0] * 2, E_H=1.0, loss="ce", loss_params=None),
    dict(counts=[50.0, 50.0, 5.0, 5.0, 1.0], E_H=2.0, loss="ce", loss_params=None),
    dict(
        counts=[10.0] * 3 + [1.0] * 3, E_H=0.5, loss="label_smoothing", loss_params={"alpha": 0.1}
    ),
    dict(counts=[10.0] * 3 + [1.0] * 3, E_H=0.2, loss="squared", loss_params=None),
    dict(counts=[10.0] * 3 + [1.0] * 3, E_H=50.0, loss="squared_centered", loss_params=None),
]


@pytest.mark.parametrize("case", CASES)
def test_routes_agree(case):
    kw = dict(loss=case["loss"], loss_params=case["loss_params"], fixed_classifier="etf")
    red = lpm.solve_counts(case["counts"], 1.0, case["E_H"], **kw)
    assert red.method == "reduced" and red.success and red.gap < 1e-13
    assert red.certificate == "fixed_classifier_ball"
    tight = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}
    sdp = lpm.solve_counts(
        case["counts"],
        1.0,
        case["E_H"],
        method="sdp",
        solver="CLARABEL",
        solver_options=tight,
        **kw,
    )
    assert sdp.success, sdp.message
    assert sdp.objective == pytest.approx(red.objective, rel=1e-7)
    assert sdp.objective - red.objective <= sdp.gap + red.gap
    np.testing.assert_allclose(sdp.feature_gram(), red.feature_gram(), atol=1e-4)
    np.testing.assert_allclose(sdp.classifier_gram(), red.classifier_gram(), atol=1e-12)
    value, H = direct_program(red.model)
    assert value == pytest.approx(red.objective, rel=1e-7)
    np.testing.assert_allclose(H @ H.T, red.feature_gram(), atol=1e-4)
    # the returned factors: W is the fixed ETF, H W^T the certified logits, H in budget
    K = red.model.K
    np.testing.assert_allclose(red.W, etf_classifier(K, 1.0, K - 1), atol=0)
    np.testing.assert_allclose(red.H @ red.W.T, red.logits, atol=1e-12)
    assert (red.H**2).sum() / K <= case["E_H"] * (1 + 1e-12)


def test_balanced_is_theorem_1_and_fixed_never_beats_learned():
    sol = lpm.solve_counts(np.ones(6), 1.0, 3.0, fixed_classifier="etf")
    assert sol.objective == pytest.approx(lpm.balanced_optimum(6, 1.0, 3.0).objective, rel=1e-14)
    for R in (2.0, 10.0, 1e3):
        fixed = lpm.solve(4, 3, R, 1.0, 5.0, fixed_classifier="etf")
        free = lpm.solve(4, 3, R, 1.0, 5.0)
        # the fixed ETF is feasible for the learned model: never better, here worse
        assert fixed.objective - free.objective > 10 * (fixed.gap + free.gap)


def test_no_minority_collapse_by_construction():
    K_A, K_B, E_W, E_H = 5, 5, 1.0, 5.0
    R0 = lpm.collapse_threshold(K_A, K_B, E_W, E_H)
    a2 = E_W * 10 / 9
    for R in (1.0, R0 * (1 + 1e-6), 100.0, 1e6, math.inf):
        free = lpm.solve(K_A, K_B, R, E_W, E_H)
        fixed = lpm.solve(K_A, K_B, R, E_W, E_H, fixed_classifier="etf")
        assert free.minority_collapsed is (R > R0)
        assert fixed.minority_collapsed is False
        assert lpm.collapse_report(fixed.model).minority_collapsed is False
        assert fixed.collapse.classifier_distance()[-1] == pytest.approx(math.sqrt(2 * a2))
        cos = fixed.classifier_cosines()
        np.testing.assert_allclose(cos[~np.eye(10, dtype=bool)], -1 / 9, atol=1e-14)
        assert fixed.is_simplex_etf()


def test_features_keep_the_etf_angles_and_the_minority_shrinks():
    K_A, K_B, E_W, E_H = 5, 5, 1.0, 5.0
    K = K_A + K_B
    ratios = []
    for R in (1.0, 10.0, 100.0, 1e3, 1e4):
        sol = lpm.solve(K_A, K_B, R, E_W, E_H, fixed_classifier="etf")
        cos = sol.feature_cosines()
        # every feature points along its own classifier: the ETF's angles, at every R
        np.testing.assert_allclose(cos[~np.eye(K, dtype=bool)], -1 / (K - 1), atol=1e-12)
        g = sol.model.groups
        t = sol.collapse.within  # feature lengths t_g: Z = diag(t)(I - J/K)
        tk = t[g.labels]
        np.testing.assert_allclose(
            sol.logits, np.diag(tk) - np.outer(tk, np.ones(K)) / K, atol=1e-13
        )
        # KKT of the scalar program, written out: pi_g (1 - p(t_g)) = mu t_g, with the
        # budget sum_g K_g t_g^2 = K^3 E_W E_H / (K-1)^2
        p_own = 1.0 / (1.0 + (K - 1) * np.exp(-t))
        mu = g.weights * (1 - p_own) / t
        assert np.ptp(mu) <= 1e-12 * mu.max()
        assert g.sizes @ t**2 == pytest.approx(K**3 * E_W * E_H / (K - 1) ** 2, rel=1e-14)
        norms = sol.feature_norms()
        ratios.append(norms[-1] / norms[0])
    assert ratios[0] == pytest.approx(1.0, rel=1e-14)
    assert np.all(np.diff(ratios) < 0)
    # measured: the minority features shrink about like 1/R
    np.testing.assert_allclose(ratios[1:], [0.31579, 0.041807, 0.0042505, 0.00042564], rtol=1e-4)
    limit = lpm.solve(K_A, K_B, math.inf, E_W, E_H, fixed_classifier="etf")
    assert np.all(limit.collapse.within[1] == 0.0)  # weight 0: minority features vanish


def test_certificate_bounds_a_perturbed_points_suboptimality():
    best = lpm.solve(3, 2, 30.0, 1.0, 2.0, fixed_classifier="etf")
    model = best.model
    cert = FixedClassifierBall()
    rng = np.random.default_rng(5)
    for scale in (1.0, 1e-2, 1e-5):
        Z = best.logits + scale * rng.standard_normal(best.logits.shape)
        b = cert.bound(model, DenseLogits(Z), None)
        Zb = b.logits.Z  # centered and scaled into the ball
        assert np.abs(Zb.sum(axis=1)).max() < 1e-12
        assert np.linalg.norm(Zb) <= 5 * math.sqrt(2.0 / 4) * (1 + 1e-12)
        assert 0 <= b.value - best.objective <= b.gap + best.gap


def test_fixed_classifier_bad_input():
    with pytest.raises(ValueError, match=r"fixed_classifier must be one of 'etf', None, got 'x'"):
        lpm.solve(2, 2, 3.0, fixed_classifier="x")
    for method in ("nuclear", "lowrank", "nonconvex"):
        with pytest.raises(ValueError, match=rf"got method='{method}'"):
            lpm.solve(2, 2, 3.0, method=method, fixed_classifier="etf")
    with pytest.raises(ValueError, match=r"needs constraint='average'"):
        lpm.solve(2, 2, 3.0, constraint="per_class", fixed_classifier="etf")
    with pytest.raises(ValueError, match=r"needs K >= 2 classes, got K=1"):
        lpm.Model([3.0], fixed_classifier="etf")
    odd = type("Odd", (lpm.CrossEntropy,), {})()
    with pytest.raises(ValueError, match=r"needs a loss that treats the other classes alike"):
        lpm.solve(2, 2, 3.0, loss=odd, fixed_classifier="etf")
    with pytest.raises(ValueError, match=r"takes no solver_options"):
        lpm.solve(2, 2, 3.0, fixed_classifier="etf", solver_options={"max_iter": 3})
    with pytest.raises(ValueError, match=r"p must be an integer >= 3"):
        lpm.solve(2, 2, 3.0, fixed_classifier="etf", p=2)
    wide = lpm.solve(2, 2, 3.0, fixed_classifier="etf", p=6)
    assert wide.W.shape == (4, 6) and np.all(wide.W[:, 3:] == 0)


def test_a_sweep_of_fixed_classifier_models_solves_their_program():
    # the batched rows of a sweep are for learned classifiers; a fixed-classifier model
    # gets the row of its own solution (it had got the learned model's: 0.2617 for 0.3782
    # at R = 10)
    models = [lpm.Model.two_group(5, 5, R, 1.0, 5.0, fixed_classifier="etf") for R in (1.0, 10.0)]
    table = lpm.sweep_models(models)
    for model, row in zip(models, table.rows):
        alone = solution_row(lpm.solve_model(model))
        assert_same_row({key: row[key] for key in alone}, alone)
        assert row["solver"] == "scalar"
    learned = lpm.solve(5, 5, 10.0, 1.0, 5.0).objective
    assert table.rows[1]["objective"] > learned + 0.1  # fixed never beats learned: here by 0.12
