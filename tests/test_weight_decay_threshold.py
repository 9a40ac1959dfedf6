"""The collapse thresholds of weight decay in closed form (lpm.theory), checked against
the solver's exact collapse test at beta* (1 -/+ 1e-6); the budget's multiplier identity
of the constrained model; Hong and Ling's published thresholds."""

import math

import numpy as np
import pytest

import lpm
from lpm import theory

#: (loss, loss_params, c): the separation constant gamma_g = c pi_g at a collapsed point
LOSSES = [
    ("ce", None, 1.0),
    ("label_smoothing", {"alpha": 0.2}, 0.8),
    ("squared", None, 1.0),
    ("squared_centered", None, 1.0),
]
SETTINGS = [(5, 5, 10.0), (3, 2, 40.0), (2, 4, 3.0)]


def exact_collapse(K_A, K_B, R, beta, per_sample, loss, params):
    sol = lpm.solve_penalized(
        K_A, K_B, R, beta, beta, per_sample_penalty=per_sample, loss=loss, loss_params=params
    )
    assert sol.success and sol.collapse.undecided == ""
    return sol


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("loss,params,c", LOSSES)
@pytest.mark.parametrize("K_A,K_B,R", SETTINGS)
def test_exact_test_flips_at_the_closed_form(K_A, K_B, R, loss, params, c, per_sample):
    beta = lpm.penalized_collapse_threshold(
        K_A, K_B, R, per_sample_penalty=per_sample, loss=loss, loss_params=params
    )
    pi_B = 1.0 / (K_A * R + K_B)
    assert beta == pytest.approx(c * (math.sqrt(pi_B) if per_sample else pi_B), rel=1e-15)
    below = exact_collapse(K_A, K_B, R, beta * (1 - 1e-6), per_sample, loss, params)
    above = exact_collapse(K_A, K_B, R, beta * (1 + 1e-6), per_sample, loss, params)
    assert below.minority_collapsed is False and above.minority_collapsed is True
    assert lpm.collapse_report(above.model).minority_collapsed is True
    assert lpm.collapse_report(below.model).minority_collapsed is False
    # the gradient that separates the minority at the collapsed point is c pi_B, measured
    # against the penalty in the units of the norm (Omega): gamma = beta* whatever beta
    assert above.collapse.gamma[1] == pytest.approx(beta, rel=1e-12)
    # off the threshold the minority classifiers are measurably apart (and not above it)
    assert below.collapse.classifier_distance()[1] > 0
    assert above.minority_cosine == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("per_sample", [False, True])
def test_threshold_in_R_at_a_given_penalty(per_sample):
    for K_A, K_B, beta in [(5, 5, 0.01), (3, 2, 0.004), (2, 4, 0.08)]:
        if per_sample:
            beta = math.sqrt(beta)
        R0 = lpm.collapse_threshold(K_A, K_B, penalty=beta, per_sample_penalty=per_sample)
        assert R0 > 1
        # the two closed forms are inverse to each other
        back = lpm.penalized_collapse_threshold(K_A, K_B, R0, per_sample_penalty=per_sample)
        assert back == pytest.approx(beta, rel=1e-13)
        flags = [
            exact_collapse(K_A, K_B, R0 * f, beta, per_sample, "ce", None).minority_collapsed
            for f in (1 - 1e-6, 1 + 1e-6)
        ]
        assert flags == [False, True]
    # collapsed at balance already: R_0 = 1, as the budgeted threshold reports it
    assert lpm.collapse_threshold(5, 5, penalty=0.5) == 1.0
    assert lpm.solve_penalized(5, 5, 1.0, 0.5, 0.5).minority_collapsed is True


@pytest.mark.parametrize("per_sample", [False, True])
def test_every_group_of_any_counts_flips_at_its_own_beta(per_sample):
    counts = [40, 40, 7, 7, 7, 1, 1]
    base = lpm.PenalizedModel(counts, 1.0, 1.0, per_sample_penalty=per_sample)
    betas = theory.penalized_threshold_betas(base)
    assert np.all(np.diff(betas) < 0)  # heavier groups need more decay to collapse
    for g, beta in enumerate(betas):
        for f, expected in ((1 - 1e-6, False), (1 + 1e-6, True)):
            b = beta * f
            model = lpm.PenalizedModel(counts, b, b, per_sample_penalty=per_sample)
            report = lpm.collapse_report(model)
            assert report.undecided == ""
            assert bool(report.collapsed[g]) is expected
            # the lighter groups (smaller beta*) are collapsed, the heavier ones not
            assert list(report.collapsed) == list(betas <= b)


@pytest.mark.parametrize(
    "K_A,K_B,EWEH,loss,c",
    [
        (5, 5, 5.0, "ce", 1.0),
        (3, 4, 2.0, "ce", 1.0),
        (6, 2, 8.0, "ce", 1.0),
        (5, 5, 2.0, lpm.LabelSmoothing(0.1), 0.9),
        (3, 4, 0.5, lpm.LabelSmoothing(0.1), 0.9),
    ],
)
def test_budget_multiplier_identity(K_A, K_B, EWEH, loss, c):
    # at a collapsed point gamma_B = c pi_B, so the minority collapses exactly when the
    # budget's multiplier reaches c pi_B: R_0 solves lambda(R_0) = c / (K_A R_0 + K_B)
    R0 = lpm.collapse_threshold(K_A, K_B, 1.0, EWEH, loss=loss)
    for f in (1 - 1e-6, 1 + 1e-6, 0.5, 2.0):
        sol = lpm.solve(K_A, K_B, R0 * f, 1.0, EWEH, loss=loss)
        pi_B = 1.0 / (K_A * R0 * f + K_B)
        assert sol.minority_collapsed is (sol.multiplier >= c * pi_B) is (f > 1)
    lam = lpm.solve(K_A, K_B, R0 * (1 + 1e-9), 1.0, EWEH, loss=loss).multiplier
    assert lam == pytest.approx(c / (K_A * R0 + K_B), rel=1e-7)


def test_hong_ling_published_thresholds():
    # K = 10 classes, n_B = 100 samples per minority class, per-sample weight decay; their
    # lambda is the nuclear-norm weight of the K x N logits, beta = lambda sqrt(N)
    n_B = 100

    def lam_star(K_A, n_A):
        N = K_A * n_A + (10 - K_A) * n_B
        R = n_A / n_B
        return lpm.penalized_collapse_threshold(K_A, 10 - K_A, R, per_sample_penalty=True) / (
            math.sqrt(N)
        )

    assert lam_star(5, 500) == pytest.approx(0.00333, abs=5e-6)  # = 1/300
    assert lam_star(3, 500) == pytest.approx(0.004545, abs=5e-7)  # = 1/220

    def n_A_star(K_A, lam):
        # collapse iff lam >= sqrt(n_B) / N: the majority size at which N = sqrt(n_B)/lam
        return (math.sqrt(n_B) / lam - (10 - K_A) * n_B) / K_A

    assert n_A_star(5, 0.005) == pytest.approx(300.0, rel=1e-12)
    assert math.floor(n_A_star(3, 0.005)) == 433  # 433.33...

    def collapsed(K_A, n_A, lam):
        counts = [n_A] * K_A + [n_B] * (10 - K_A)
        beta = theory.hong_ling_beta(lam, sum(counts))
        model = lpm.PenalizedModel(counts, beta, beta, per_sample_penalty=True)
        return lpm.collapse_report(model).minority_collapsed

    # the exact test agrees on both sides of each published number
    for K_A, n_A, lam in [(5, 500, 1 / 300), (3, 500, 1 / 220)]:
        assert [collapsed(K_A, n_A, lam * f) for f in (1 - 1e-6, 1 + 1e-6)] == [False, True]
    assert [collapsed(5, 300 * f, 0.005) for f in (1 - 1e-6, 1 + 1e-6)] == [False, True]
    assert [collapsed(3, n, 0.005) for n in (433, 434)] == [False, True]


def test_threshold_bad_input():
    with pytest.raises(ValueError, match=r"penalty=0.01 gives the weight-decay model"):
        lpm.collapse_threshold(5, 5, 1.0, 5.0, penalty=0.01)
    with pytest.raises(ValueError, match=r"penalty must be a finite real number > 0, got -1"):
        lpm.collapse_threshold(5, 5, penalty=-1)
    with pytest.raises(ValueError, match=r"per_sample_penalty=True needs penalty="):
        lpm.collapse_threshold(5, 5, per_sample_penalty=True)
    with pytest.raises(ValueError, match=r"K_B must be an integer >= 2, got 1"):
        lpm.penalized_collapse_threshold(5, 1, 10.0)
    with pytest.raises(ValueError, match=r"for the closed-form threshold, got"):
        theory.collapsed_separation(type("Odd", (lpm.CrossEntropy,), {})())
    with pytest.raises(ValueError, match=r"R must be a positive real number or inf, got nan"):
        lpm.penalized_collapse_threshold(5, 5, math.nan)
    assert lpm.penalized_collapse_threshold(5, 5, math.inf) == 0.0  # weight 0: collapsed


def test_cli_threshold_of_weight_decay(capsys):
    import json

    from lpm.cli import main

    assert main(["threshold", "--K_A", "3", "--K_B", "2", "--penalty", "0.004", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["R0"] == lpm.collapse_threshold(3, 2, penalty=0.004) == (250 - 2) / 3
    assert "E_W" not in data and data["per_sample_penalty"] is False
    assert main(["threshold", "--penalty", "0.1", "--per-sample-penalty"]) == 0
    assert "R_0 = 19.0" in capsys.readouterr().out  # (1/0.1^2 - 5) / 5
    assert main(["threshold", "--per-sample-penalty"]) == 2
    assert "--per-sample-penalty needs --penalty" in capsys.readouterr().err


def test_group_thresholds_shown_in_the_docs():
    model = lpm.PenalizedModel([40, 40, 7, 7, 1, 1], 1, 1)
    np.testing.assert_allclose(
        theory.penalized_threshold_betas(model), [40 / 96, 7 / 96, 1 / 96], rtol=1e-15
    )
