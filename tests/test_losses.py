"""Each loss: compressed rows agree with the full row, derivatives with finite
differences, and the cvxpy expression with the numpy value."""

import cvxpy as cp
import numpy as np
import pytest

import lpm
from lpm.model.losses import get_loss

LOSSES = [
    get_loss("ce"),
    get_loss("label_smoothing", alpha=0.2),
    get_loss("squared"),
    get_loss("squared_centered"),
]


def full_row_value(loss, z, k):
    """The loss written out directly from its definition, for one logit row."""
    K = z.size
    if loss.name == "ce":
        return np.log(np.exp(z).sum()) - z[k]
    if loss.name == "label_smoothing":
        y = np.full(K, loss.alpha / K)
        y[k] += 1 - loss.alpha
        return np.log(np.exp(z).sum()) - y @ z
    y = np.zeros(K)
    y[k] = 1.0
    if loss.name == "squared_centered":
        y -= 1.0 / K
    return 0.5 * ((z - y) ** 2).sum()


@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: l.name)
def test_dense_matches_definition_and_gradient(loss):
    rng = np.random.default_rng(0)
    K = 6
    Z = rng.standard_normal((K, K)) * 2
    w = rng.random(K)
    value, G = loss.dense(Z, w)
    assert value == pytest.approx(
        sum(w[k] * full_row_value(loss, Z[k], k) for k in range(K)), rel=1e-13
    )
    eps = 1e-6
    for i, j in [(0, 0), (1, 3), (5, 2)]:
        E = np.zeros((K, K))
        E[i, j] = eps
        fd = (loss.dense(Z + E, w)[0] - loss.dense(Z - E, w)[0]) / (2 * eps)
        assert G[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: l.name)
def test_compressed_row_equals_expanded_row(loss):
    # one row with own value 0.3, two classes at -1, three at 0.5, none at 9 (mult 0)
    V = np.array([[0.3, -1.0, 0.5, 9.0]])
    mult = np.array([[1.0, 2.0, 3.0, 0.0]])
    value, grad, hess = loss.rows(V, mult, hessian=True)
    z = np.array([0.3, -1, -1, 0.5, 0.5, 0.5])
    assert value[0] == pytest.approx(full_row_value(loss, z, 0), rel=1e-14)
    # derivative with respect to a distinct value = sum over its copies
    eps = 1e-6
    for j in range(3):
        E = np.zeros_like(V)
        E[0, j] = eps
        fd = (loss.rows(V + E, mult)[0] - loss.rows(V - E, mult)[0]) / (2 * eps)
        assert grad[0, j] == pytest.approx(fd[0], rel=1e-7, abs=1e-10)
        gfd = (loss.rows(V + E, mult)[1] - loss.rows(V - E, mult)[1]) / (2 * eps)
        np.testing.assert_allclose(hess[0, :3, j], gfd[0, :3], rtol=1e-6, atol=1e-9)
    assert grad[0, 3] == 0.0  # a value no class carries has no influence


@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: l.name)
def test_cvxpy_expression_matches_numpy(loss):
    rng = np.random.default_rng(1)
    K = 5
    Z0 = rng.standard_normal((K, K))
    w = rng.random(K)
    Z = cp.Parameter((K, K), value=Z0)
    assert loss.cvx(Z, w).value == pytest.approx(loss.dense(Z0, w)[0], rel=1e-12)


def test_cross_entropy_keeps_relative_accuracy_near_zero():
    # margin 60: the loss is log(1 + 4 e^-60) ~ 4 e^-60; a naive logsumexp returns 0
    V = np.array([[60.0, 0.0]])
    value, grad, hess = get_loss("ce").rows(V, np.array([[1.0, 4.0]]), hessian=True)
    expected = np.log1p(4 * np.exp(-60.0))
    assert value[0] == pytest.approx(expected, rel=1e-14)
    assert grad[0, 0] == pytest.approx(-4 * np.exp(-60.0) / (1 + 4 * np.exp(-60.0)), rel=1e-13)
    # p_own (1 - p_own) must not cancel to 0
    assert hess[0, 0, 0] == pytest.approx(4 * np.exp(-60.0), rel=1e-12)


def test_unconstrained_margins():
    # label smoothing: softmax of the minimizer row equals the smoothed targets
    ls = get_loss("label_smoothing", alpha=0.3)
    own, other = ls.unconstrained_margin(4)
    z = np.array([own, other, other, other])
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(p, [0.7 + 0.075, 0.075, 0.075, 0.075], rtol=1e-14)
    assert own + 3 * other == pytest.approx(0.0, abs=1e-15)  # centered (minimum norm)
    assert get_loss("ce").unconstrained_margin(4) is None
    assert get_loss("squared").unconstrained_margin(4) == (1.0, 0.0)


def test_get_loss_accepts_instances_and_names():
    assert get_loss(lpm.CrossEntropy()) == lpm.CrossEntropy()
    assert get_loss("cross_entropy") == lpm.CrossEntropy()
    with pytest.raises(ValueError, match="loss parameters are only accepted with a loss name"):
        get_loss(lpm.CrossEntropy(), alpha=0.1)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0, 800.0])
def test_fast_dense_softmax_matches_the_compressed_rows(alpha, scale):
    """The in-place dense kernel of the softmax losses against the generic route through
    compressed rows (two independent evaluations of the same formula)."""
    rng = np.random.default_rng(3)
    K = 9
    Z = scale * rng.standard_normal((K, K))
    Z[np.diag_indices(K)] += scale  # large margins: losses near 0 keep relative accuracy
    w = rng.random(K)
    w[2] = 0.0
    loss = get_loss("label_smoothing", alpha=alpha) if alpha else lpm.CrossEntropy()
    v_ref, G_ref = lpm.Loss.dense(loss, Z, w)  # the generic path
    v, G = loss.dense(Z, w)
    assert v == pytest.approx(v_ref, rel=1e-14, abs=1e-300)
    np.testing.assert_allclose(G, G_ref, rtol=1e-13, atol=1e-16 * np.abs(G_ref).max())
