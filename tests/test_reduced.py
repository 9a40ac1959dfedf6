"""The reduced program: its algebra against the dense K x K objects, its derivatives,
and the independence of batched problems."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lpm
from lpm.model import group_by_weight
from lpm.model.logits import DenseLogits, GroupedLogits, helmert_basis
from lpm.model.losses import get_loss
from lpm.solvers.reduced import solve_constrained
from lpm.solvers.reduced_program import ReducedProgram


def random_grouped(sizes, seed):
    rng = np.random.default_rng(seed)
    counts = np.repeat(rng.permutation(np.arange(1, len(sizes) + 1)) * 1.7, sizes)
    model = lpm.Model(counts, 1.3, 0.7)
    g = model.groups
    M = rng.standard_normal((g.G, g.G))
    s = np.where(g.sizes > 1, rng.random(g.G) + 0.1, 0.0)
    return model, GroupedLogits(g, M, s)


def test_helmert_basis_is_orthonormal_and_centered():
    B = helmert_basis(7)
    np.testing.assert_allclose(B.T @ B, np.eye(6), atol=1e-15)
    np.testing.assert_allclose(B.sum(axis=0), 0, atol=1e-15)


@pytest.mark.parametrize("sizes", [[3, 2, 4], [1, 5], [4], [1, 1, 3]])
def test_grouped_objective_gradient_and_norms_match_dense(sizes):
    model, Zg = random_grouped(sizes, seed=len(sizes))
    Zd = DenseLogits(Zg.dense())
    vg, Gg = Zg.value_and_gradient(model)
    vd, Gd = Zd.value_and_gradient(model)
    assert vg == pytest.approx(vd, rel=1e-13)
    np.testing.assert_allclose(Gg.dense(), Gd.Z, atol=1e-14)
    assert Zg.nuclear_norm() == pytest.approx(Zd.nuclear_norm(), rel=1e-12)
    assert Gg.spectral_norm() == pytest.approx(Gd.spectral_norm(), rel=1e-12)
    assert Zg.frank_wolfe_gap(model) == pytest.approx(Zd.frank_wolfe_gap(model), rel=1e-10)
    np.testing.assert_allclose(Zg.classifier_gram(), Zd.classifier_gram(), atol=1e-12)
    np.testing.assert_allclose(Zg.feature_gram(), Zd.feature_gram(), atol=1e-12)
    F_H, F_W = Zg.factors(model.K)
    np.testing.assert_allclose(F_H @ F_W.T, Zd.Z, atol=1e-12)
    np.testing.assert_allclose(F_W @ F_W.T, Zd.classifier_gram(), atol=1e-12)


def test_grouping_orders_groups_by_first_appearance():
    g = group_by_weight(np.array([0.1, 0.3, 0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(g.labels, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(g.sizes, [2, 2, 1])
    np.testing.assert_array_equal(g.members(1), [1, 4])


@pytest.mark.parametrize("loss", ["ce", "squared"])
def test_newton_derivatives_match_finite_differences(loss):
    rng = np.random.default_rng(3)
    P = ReducedProgram(
        np.array([3, 2, 4]), rng.random((2, 3)), get_loss(loss), omega=rng.random((2, 3)) + 0.5
    )
    y = rng.standard_normal((2, P.ny)) * 0.5
    _, g, H = P.evaluate(y)
    eps = 1e-6
    for j in range(P.ny):
        e = np.zeros(P.ny)
        e[j] = eps
        vp, gp, _ = P.evaluate(y + e, hessian=False)
        vm, gm, _ = P.evaluate(y - e, hessian=False)
        np.testing.assert_allclose(g[:, j], (vp - vm) / (2 * eps), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(H[:, :, j], (gp - gm) / (2 * eps), rtol=1e-5, atol=1e-7)


@given(st.lists(st.floats(0.05, 3.0), min_size=1, max_size=8))
def test_a_problem_gets_the_same_numbers_alone_or_in_a_batch(log10_R):
    Rs = 10.0 ** np.array(log10_R)
    models = [lpm.Model.two_group(3, 4, R, 1, 2) for R in Rs]
    W = np.array([m.groups.weights for m in models])
    batch = solve_constrained([3, 4], W, get_loss("ce"), models[0].tau)
    for i, m in enumerate(models):
        alone = solve_constrained([3, 4], W[i], get_loss("ce"), m.tau)[0]
        np.testing.assert_array_equal(alone.logits.M, batch[i].logits.M)
        np.testing.assert_array_equal(alone.logits.s, batch[i].logits.s)


def test_solve_models_batches_and_matches_single_solves():
    models = [lpm.Model.two_group(5, 5, R, 1, 5) for R in (2.0, 30.0, 1e5)]
    batched = lpm.solve_models(models)
    for m, b in zip(models, batched):
        assert b.objective == lpm.solve_model(m).objective
        assert b.method == "reduced"


def test_reduced_solution_is_certified_to_machine_precision():
    for R in (1.0, 1.5, 10.0, 12.0, 100.0, 1e8, float("inf")):
        sol = lpm.solve(5, 5, R, 1, 5, method="reduced")
        assert sol.success and sol.status == "optimal"
        assert sol.gap < 1e-12
        assert sol.residuals.nuclear <= 1e-12


@pytest.mark.parametrize("E", [1e-6, 1e-2, 1.0, 100.0, 1e4, 9e4])
def test_newton_converges_across_budget_scales(E):
    # E_W E_H = 1e4 drives the loss to ~e^-110; the solver works on log f there
    Rs = 10.0 ** np.arange(0, 301, 20)
    models = [lpm.Model.two_group(5, 5, R, E, 1.0) for R in Rs]
    for sol in lpm.solve_models(models):
        assert sol.success, sol.message
        assert sol.gap <= 1e-9 * sol.objective  # relative: the objective can be ~1e-48


def test_reduced_refuses_programs_too_large_for_memory():
    counts = np.arange(1.0, 301.0)  # 300 distinct counts: 300 groups
    with pytest.raises(ValueError, match="the reduced program of 300 groups would need about"):
        lpm.solve_counts(counts, method="reduced")


def test_reduced_route_with_a_single_class():
    sol = lpm.solve_counts([4.0], 1.0, 2.0, method="reduced")
    assert sol.objective == 0.0 and sol.success
