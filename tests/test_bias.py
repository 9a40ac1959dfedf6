"""Weight decay with a classifier bias (logits W h + b, b free or decayed): the reduced and
conic routes agree, the certificate bounds the true suboptimality, and the bias does not
move the collapse threshold."""

import math

import numpy as np
import pytest

import lpm
from lpm.certificates import NuclearPenaltyBias
from lpm.model.logits import DenseLogits

BIASES = [(True, 0.0), (True, 0.05)]


def objective(model, Z, b):
    """F(Z, b) written out: the loss of Z + 1 b^T, the nuclear penalty, the bias decay."""
    value, _ = model.loss.dense(Z + b[None, :], model.pi)
    nuc = np.linalg.svd(model.omega[:, None] * Z, compute_uv=False).sum()
    return value + model.beta * nuc + 0.5 * model.lambda_b * b @ b


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize(
    "loss,params", [("ce", None), ("label_smoothing", {"alpha": 0.1}), ("squared", None)]
)
@pytest.mark.parametrize("bias,lambda_b", BIASES)
def test_reduced_and_conic_routes_agree(bias, lambda_b, loss, params, per_sample):
    kw = dict(
        bias=bias, lambda_b=lambda_b, loss=loss, loss_params=params, per_sample_penalty=per_sample
    )
    red = lpm.solve_penalized(3, 2, 10.0, 1e-2, 2e-2, **kw)
    assert red.success and red.gap < 1e-12 and red.certificate == "nuclear_penalty_bias"
    con = lpm.solve_penalized(3, 2, 10.0, 1e-2, 2e-2, method="nuclear", **kw)
    assert con.success, con.message
    assert con.objective == pytest.approx(red.objective, rel=1e-7)
    assert con.objective - red.objective <= con.gap + red.gap
    np.testing.assert_allclose(con.bias, red.bias, atol=1e-6)
    np.testing.assert_allclose(con.classifier_gram(), red.classifier_gram(), atol=1e-5)
    # the reported objective is that of the logits H W^T and the bias, written out
    assert objective(red.model, red.logits, red.bias) == pytest.approx(red.objective, rel=1e-12)
    np.testing.assert_allclose(red.H @ red.W.T, red.logits, atol=1e-12)
    # a bias never hurts; the decay sits between the free bias and none
    none = lpm.solve_penalized(
        3, 2, 10.0, 1e-2, 2e-2, loss=loss, loss_params=params, per_sample_penalty=per_sample
    )
    assert red.objective <= none.objective + red.gap
    if lambda_b == 0 and loss != "squared":
        assert abs(red.bias.sum()) < 1e-12  # b + c 1 is the same model: centered


@pytest.mark.parametrize("lambda_b", [0.0, 0.05])
def test_certificate_bounds_the_true_suboptimality(lambda_b):
    best = lpm.solve_penalized(
        3, 2, 40.0, 2e-2, 1e-2, bias=True, lambda_b=lambda_b, per_sample_penalty=True
    )
    model = best.model
    rng = np.random.default_rng(11)
    Z0, b0 = best.logits, best.bias
    for scale in (1.0, 1e-1, 1e-3, 1e-6):
        Z = Z0 + scale * rng.standard_normal(Z0.shape)
        b = b0 + scale * rng.standard_normal(b0.shape)
        cert = NuclearPenaltyBias(model.beta, model.omega, b, lambda_b)
        bnd = cert.bound(model, DenseLogits(Z), None)
        assert bnd.value == pytest.approx(objective(model, Z, b), rel=1e-12)
        assert 0 <= bnd.value - best.objective <= bnd.gap + best.gap
    # at the optimum the bound closes
    cert = NuclearPenaltyBias(model.beta, model.omega, b0, lambda_b)
    assert cert.bound(model, DenseLogits(Z0), None).gap < 1e-12


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("bias,lambda_b", BIASES)
def test_the_bias_does_not_move_the_threshold(bias, lambda_b, per_sample):
    # the optimal bias is constant on groups, so a collapsed minority still gives its own
    # class and another minority class the same logit: gamma_B = pi_B, as without it
    for K_A, K_B, R in [(5, 5, 10.0), (3, 2, 40.0)]:
        beta = lpm.penalized_collapse_threshold(K_A, K_B, R, per_sample_penalty=per_sample)
        flags = []
        for f in (1 - 1e-6, 1 + 1e-6):
            sol = lpm.solve_penalized(
                K_A,
                K_B,
                R,
                beta * f,
                beta * f,
                bias=bias,
                lambda_b=lambda_b,
                per_sample_penalty=per_sample,
            )
            assert sol.success and sol.collapse.undecided == ""
            flags.append(sol.minority_collapsed)
            assert lpm.collapse_report(sol.model).minority_collapsed is flags[-1]
        assert flags == [False, True]
        assert abs(sol.bias[K_A:] - sol.bias[-1]).max() == 0.0  # constant on the minority


def test_large_bias_decay_is_no_bias():
    none = lpm.solve_penalized(3, 2, 10.0, 1e-2, 2e-2)
    stiff = lpm.solve_penalized(3, 2, 10.0, 1e-2, 2e-2, bias=True, lambda_b=1e9)
    assert stiff.objective == pytest.approx(none.objective, rel=1e-8)
    assert np.abs(stiff.bias).max() < 1e-8


def test_bias_bad_input():
    with pytest.raises(ValueError, match=r"lambda_b=0.1 is the decay of a bias: give bias=True"):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, lambda_b=0.1)
    with pytest.raises(ValueError, match=r"lambda_b must be a finite real number >= 0, got -1"):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, bias=True, lambda_b=-1)
    with pytest.raises(ValueError, match=r"lambda_b must be a finite real number >= 0, got nan"):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, bias=True, lambda_b=math.nan)
    with pytest.raises(ValueError, match=r"bias must be True or False, got 'yes'"):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, bias="yes")
    with pytest.raises(ValueError, match=r"a free bias \(lambda_b=0\) needs a positive loss"):
        lpm.solve_penalized(2, 2, math.inf, 1e-2, 1e-2, bias=True)
    with pytest.raises(ValueError, match=r"method='nonconvex' does not take a bias"):
        lpm.solve_penalized(2, 2, 3.0, 1e-2, 1e-2, bias=True, method="nonconvex")
    assert lpm.solve(2, 2, 3.0).bias is None
    assert lpm.solve_penalized(2, 2, math.inf, 1e-2, 1e-2, bias=True, lambda_b=1.0).success
