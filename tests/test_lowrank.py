"""The low-rank factorization (method="lowrank") against independent formulations: the
SDP and nuclear-norm programs through conic solvers on long-tailed counts, the reduced
Newton solver on grouped counts; honesty of its certificate; its loss kernel; inputs."""

import math
import tracemalloc

import numpy as np
import pytest
from conftest import dense_cross_entropy
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm


def long_tailed_model(K, rho=100.0, E_W=1.0, E_H=5.0, **kw):
    return lpm.Model(lpm.counts.long_tailed(K, rho), E_W, E_H, **kw)


def max_diff(a, b):
    return float(np.abs(a - b).max())


# -- agreement with the conic formulations on long-tailed counts --------------------------
@pytest.mark.parametrize("K", [10, 30])
def test_long_tailed_agrees_with_the_sdp_and_the_nuclear_program(K):
    """Objective against the paper's SDP solved by Clarabel (default settings) to 1e-7.

    Clarabel's SDP point is not accurate enough for the Gram matrices: at its default
    settings its certified gap is ~1e-5 and its W W^T is off by ~5e-5 (still ~2e-5 at
    tolerances 1e-12, where it reports "optimal_inaccurate"). The Grams are therefore
    checked against the nuclear-norm program solved by SCS at the package's tight
    settings (certified gap ~1e-8), to 1e-5."""
    model = long_tailed_model(K)
    low = lpm.solve_model(model, method="lowrank")
    assert low.success and low.gap <= 1e-8, low.message
    sdp = lpm.solve_model(model, method="sdp", solver="CLARABEL")
    assert low.objective == pytest.approx(sdp.objective, abs=1e-7)
    assert low.objective <= sdp.objective + low.gap  # sdp's point is feasible
    nuc = lpm.solve_model(model, method="nuclear", solver="SCS")
    assert nuc.gap <= 1e-7, nuc.message
    assert low.objective == pytest.approx(nuc.objective, abs=1e-7)
    assert max_diff(low.classifier_gram(), nuc.classifier_gram()) <= 1e-5
    assert max_diff(low.feature_gram(), nuc.feature_gram()) <= 1e-5
    # the returned W, H realize the logits and meet the budgets
    np.testing.assert_allclose(low.H @ low.W.T, low.logits, atol=1e-10)
    assert abs(low.residuals.E_W) < 1e-10 and abs(low.residuals.E_H) < 1e-10


@settings(max_examples=6, deadline=None)
@given(
    counts=st.lists(st.floats(1.0, 1000.0), min_size=3, max_size=7, unique=True),
    log_E=st.floats(-1.0, 1.0),
)
def test_random_counts_agree_with_the_nuclear_program(counts, log_E):
    model = lpm.Model(counts, 10.0**log_E, 2.0)
    low = lpm.solve_model(model, method="lowrank")
    nuc = lpm.solve_model(model, method="nuclear")
    assert low.success, low.message
    assert low.objective == pytest.approx(nuc.objective, abs=1e-7)
    assert low.objective <= nuc.objective + low.gap
    assert max_diff(low.classifier_gram(), nuc.classifier_gram()) <= 1e-5


# -- agreement with the reduced solver on grouped counts -----------------------------------
@pytest.mark.parametrize(
    "K_A, K_B, R, E_W, E_H",
    [
        (5, 5, 10.0, 1.0, 5.0),  # below the collapse threshold
        (6, 4, 1e3, 1.0, 5.0),  # minority collapsed: a rank-deficient optimum
        (4, 8, 2.0, 0.2, 0.3),  # small budget
        (5, 7, math.inf, 1.0, 2.0),  # minority weight 0: rows the loss does not see
        (30, 20, 100.0, 1.0, 5.0),
    ],
)
def test_two_groups_agree_with_the_reduced_solver(K_A, K_B, R, E_W, E_H):
    model = lpm.Model.two_group(K_A, K_B, R, E_W, E_H)
    red = lpm.solve_model(model, method="reduced")
    low = lpm.solve_model(model, method="lowrank")
    assert low.success and low.gap <= 1e-8, low.message
    assert low.objective == pytest.approx(red.objective, abs=1e-8)
    assert max_diff(low.classifier_gram(), red.classifier_gram()) <= 1e-5
    assert max_diff(low.feature_gram(), red.feature_gram()) <= 1e-5


def test_three_groups_and_tight_tolerance_agree_with_the_reduced_solver():
    counts = np.repeat([200.0, 20.0, 1.0], [4, 3, 5])
    model = lpm.Model(counts, 1.0, 5.0)
    red = lpm.solve_model(model, method="reduced")
    low = lpm.solve_model(model, method="lowrank", gap_tol=1e-12)
    assert low.success, low.message
    assert low.objective == pytest.approx(red.objective, abs=1e-12)
    assert max_diff(low.classifier_gram(), red.classifier_gram()) <= 1e-7


@pytest.mark.parametrize(
    "loss, params, E",
    [
        ("label_smoothing", {"alpha": 0.1}, (1.0, 5.0)),  # budget binds
        ("label_smoothing", {"alpha": 0.2}, (50.0, 50.0)),  # budget slack
        ("squared", None, (0.05, 0.05)),  # binds
        ("squared", None, (1.0, 5.0)),  # slack
        ("squared_centered", None, (0.05, 0.05)),
    ],
)
def test_other_losses_agree_with_the_reduced_solver(loss, params, E):
    model = lpm.Model.two_group(5, 4, 20.0, *E, loss=loss, loss_params=params)
    red = lpm.solve_model(model, method="reduced")
    low = lpm.solve_model(model, method="lowrank")
    assert low.success, low.message
    assert low.objective == pytest.approx(red.objective, abs=1e-8)
    assert max_diff(low.classifier_gram(), red.classifier_gram()) <= 1e-5


def test_a_loss_without_a_fast_kernel_takes_the_generic_route():
    class PlainCE(lpm.CrossEntropy):
        """Cross-entropy under another type: evaluated by Loss.dense, no preconditioner."""

    model = long_tailed_model(12, 20.0)
    other = lpm.Model(model.counts, 1.0, 5.0, loss=PlainCE())
    a = lpm.solve_model(model, method="lowrank")
    b = lpm.solve_model(other, method="lowrank")
    assert b.success, b.message
    assert b.objective == pytest.approx(a.objective, abs=1e-8)


# -- rank adaptation ---------------------------------------------------------------------
def test_a_too_deep_rank_cut_is_repaired_by_the_certificate():
    model = long_tailed_model(30)
    ref = lpm.solve_model(model, method="lowrank", gap_tol=1e-11)
    # cutting every singular value below 0.9 of the largest leaves rank ~3 of 16: the
    # Frank-Wolfe gap finds the missing directions outside the span and adds them back
    sol = lpm.solve_model(model, method="lowrank", solver_options={"rank_rtol": 0.9})
    assert sol.success, sol.message
    assert min(h[3] for h in sol.history) < 10  # it was cut below the optimal rank
    assert sol.objective == pytest.approx(ref.objective, abs=1e-9)
    sv = np.linalg.svd(ref.logits, compute_uv=False)
    assert sol.history[-1][3] >= int((sv > 1e-6 * sv[0]).sum())


def test_start_from_given_logits():
    model = long_tailed_model(20)
    cold = lpm.solve_model(model, method="lowrank", gap_tol=1e-10)
    near = lpm.Model(lpm.counts.long_tailed(20, 90.0), 1.0, 5.0)
    warm_from = lpm.solve_model(near, method="lowrank").logits
    warm = lpm.solve_model(
        model, method="lowrank", gap_tol=1e-10, solver_options={"start": warm_from}
    )
    assert warm.success and warm.objective == pytest.approx(cold.objective, abs=1e-10)
    assert warm.iterations < cold.iterations


# -- the certificate is honest -------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    model = long_tailed_model(12, 50.0)
    best = lpm.solve_model(model, method="lowrank", gap_tol=1e-13)
    assert best.success, best.message
    return model, best


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), log_scale=st.floats(-6.0, 0.0))
def test_gap_bounds_the_true_suboptimality_of_perturbed_points(reference, seed, log_scale):
    model, best = reference
    Z = best.logits + 10.0**log_scale * np.random.default_rng(seed).standard_normal(
        best.logits.shape
    )
    # max_iter=0: the perturbed point (scaled onto the budget) is certified as it is
    sol = lpm.solve_model(model, method="lowrank", solver_options={"start": Z, "max_iter": 0})
    assert sol.iterations == 0
    true_suboptimality = sol.objective - best.objective
    assert true_suboptimality <= sol.gap + best.gap
    # and no looser than the Frank-Wolfe gap, by an independent route (tighter where the
    # bound at the point's dual point is: tests/test_dual_point.py)
    Zs = sol.logits
    _, G = dense_cross_entropy(model.pi, Zs)
    fw = float(np.vdot(G, Zs)) + model.tau * np.linalg.norm(G, 2)
    assert sol.gap <= fw * (1 + 1e-6) + 1e-12


@pytest.mark.parametrize("gap_tol", [1e-1, 1e-3, 1e-5])
def test_gap_of_an_early_stop_bounds_its_suboptimality(reference, gap_tol):
    model, best = reference
    sol = lpm.solve_model(model, method="lowrank", gap_tol=gap_tol)
    assert sol.success and sol.gap <= gap_tol
    assert 0 <= sol.objective - best.objective + best.gap
    assert sol.objective - best.objective <= sol.gap + best.gap


def test_the_certified_point_is_inside_the_ball_as_returned(monkeypatch):
    # the solver certifies its point just inside the nuclear ball, so the certificate
    # never scales it (which would cost an SVD and an evaluation, twice): the budget is
    # still used to 1e-12, and the Frank-Wolfe gap of the returned logits by an
    # independent dense route meets the target (the stop); the certified gap is no larger
    from lpm.model.logits import GroupedLogits

    scaled = []
    original = GroupedLogits.scaled
    monkeypatch.setattr(
        GroupedLogits, "scaled", lambda self, f: scaled.append(f) or original(self, f)
    )
    model = long_tailed_model(200)  # its point on the sphere was an ulp outside the ball
    sol = lpm.solve_model(model, method="lowrank", gap_tol=1e-6)
    assert sol.success and scaled == []
    Z = sol.logits
    nuclear = np.linalg.svd(Z, compute_uv=False).sum()
    assert sol.logits_repr.nuclear_norm() <= model.tau
    assert nuclear == pytest.approx(model.tau, rel=1e-12)
    _, G = dense_cross_entropy(model.pi, Z)
    fw = float(np.vdot(G, Z)) + model.tau * np.linalg.norm(G, 2)
    assert sol.gap <= fw * (1 + 1e-6) and fw <= 1e-6


def test_time_limit_returns_a_certified_unfinished_point():
    model = long_tailed_model(40)
    sol = lpm.solve_model(
        model, method="lowrank", gap_tol=1e-14, solver_options={"time_limit": 1e-9}
    )
    assert not sol.success and sol.status == "inaccurate"
    assert "time limit" in sol.message
    ref = lpm.solve_model(model, method="lowrank")
    assert sol.objective - ref.objective <= sol.gap + ref.gap


# -- determinism, dispatch, small K --------------------------------------------------------
def test_same_call_same_numbers():
    model = long_tailed_model(25)
    a = lpm.solve_model(model, method="lowrank")
    b = lpm.solve_model(model, method="lowrank")
    assert a.objective == b.objective and a.gap == b.gap and a.iterations == b.iterations
    np.testing.assert_array_equal(a.logits, b.logits)


def test_auto_uses_lowrank_for_many_classes_without_symmetry():
    assert lpm.choose_method(long_tailed_model(10)) == "lowrank"
    assert lpm.choose_method(long_tailed_model(9)) == "nuclear"
    assert lpm.choose_method(lpm.Model(lpm.counts.step(40, 20, 10))) == "reduced"
    # long-tailed counts repeat in the tail (847 distinct counts at K = 1000): far too
    # many groups for the reduced solver, which would need terabytes
    lt = lpm.Model(lpm.counts.long_tailed(1000, 100))
    assert 16 < lt.groups.G < 1000 and lpm.choose_method(lt) == "lowrank"
    sol = lpm.solve_counts(lpm.counts.long_tailed(15, 10), 1.0, 5.0)
    assert sol.method == "lowrank" and sol.success


def test_tiny_models():
    one = lpm.solve_model(lpm.Model([3.0]), method="lowrank")  # one class: the loss is 0
    assert one.success and one.objective == 0.0
    model = lpm.Model([1.0, 2.0], 1.0, 2.0)
    low = lpm.solve_model(model, method="lowrank")
    ref = lpm.solve_model(model, method="reduced")
    assert low.success, low.message
    assert low.objective == pytest.approx(ref.objective, abs=1e-9)


# -- inputs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(solver="SCS"), r"method='lowrank' uses its own L-BFGS solver \('lbfgs'\)"),
        (dict(solver_options={"tol": 1}), r"solver_options for method='lowrank' must be"),
        (dict(solver_options={"memory": 0}), r"memory must be an integer >= 1, got 0"),
        (dict(solver_options={"max_iter": -1}), r"max_iter must be an integer >= 0"),
        (dict(solver_options={"rank_rtol": 1.5}), r"rank_rtol must be in \(0, 1\)"),
        (dict(solver_options={"time_limit": 0}), r"time_limit must be a finite real number > 0"),
        (dict(solver_options={"start": np.eye(3)}), r"start must be a 6 x 6 logit matrix"),
        (dict(solver_options={"start": np.zeros((6, 6))}), r"start must be finite and nonzero"),
        (dict(solver_options={"start": np.full((6, 6), np.nan)}), r"start must be finite"),
        (dict(p=4), r"p must be an integer >= 5"),
        (dict(gap_tol=-1.0), r"gap_tol must be a finite real number > 0"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    model = lpm.Model([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    with pytest.raises(ValueError, match=pattern):
        lpm.solve_model(model, method="lowrank", **kwargs)


def test_the_memory_estimate_bounds_the_measured_peak():
    # the estimate that refuses a problem before any work (memory=8: 72 G^2 doubles)
    # against the peak of every allocation of a solve, counted by tracemalloc
    model = long_tailed_model(200)
    estimate = 8.0 * (40 + 4 * 8) * model.groups.G**2
    tracemalloc.start()
    try:
        sol = lpm.solve_model(model, method="lowrank", gap_tol=1e-4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sol.success
    assert 0.5 * estimate < peak <= estimate


def test_memory_is_checked_before_any_work():
    model = long_tailed_model(50)
    with pytest.raises(MemoryError, match=r"method='lowrank' needs about 0\.00\d+ GiB"):
        lpm.solve_model(model, method="lowrank", solver_options={"memory_limit": 1e5})


def test_per_class_budgets_are_refused():
    model = lpm.Model([1.0, 2.0, 3.0], constraint="per_class")
    with pytest.raises(ValueError, match="method='lowrank' needs the average norm constraint"):
        lpm.solve_model(model, method="lowrank")


# -- the preconditioner ------------------------------------------------------------------
def _dense_softmax_hessian(model, Z, alpha):
    """The Hessian of f in vec(Z) (row-major), written out: pi_k (diag(p_k) - p_k p_k^T)
    for each row; the targets of label smoothing do not enter it."""
    K = model.K
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    hess = np.zeros((K * K, K * K))
    for k in range(K):
        block = model.pi[k] * (np.diag(P[k]) - np.outer(P[k], P[k]))
        hess[k * K : (k + 1) * K, k * K : (k + 1) * K] = block
    return hess


@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_gauss_newton_diagonal_is_the_diagonal_of_jt_hessian_j(alpha):
    # the explicit route: Jacobian of Z = H W^T times the softmax Hessian of each row
    from lpm.solvers.grouped_factors import GroupedFactors

    K, p = 4, 3
    rng = np.random.default_rng(7)
    H, W = rng.standard_normal((K, p)), rng.standard_normal((K, p))
    loss = "ce" if alpha == 0 else lpm.get_loss("label_smoothing", alpha=alpha)
    model = lpm.Model([5.0, 3.0, 2.0, 1.0], 1.0, 2.0, loss=loss)
    hess = _dense_softmax_hessian(model, H @ W.T, alpha)
    J = np.zeros((K * K, 2 * K * p))  # d vec(Z) / d (vec H, vec W)
    for k in range(K):
        for j in range(K):
            J[k * K + j, k * p : (k + 1) * p] = W[j]
            J[k * K + j, K * p + j * p : K * p + (j + 1) * p] = H[k]
    expected = np.diag(J.T @ hess @ J)
    problem = GroupedFactors(model)  # every class its own group: M = Z = A B^T
    x = problem.pack(H, W, np.zeros(0))
    _, _, aux = problem.evaluate(x, curvature=True)
    np.testing.assert_allclose(problem.gauss_newton_diagonal(x, aux), expected, rtol=1e-10)


@pytest.mark.parametrize("width", [30, 15])  # above and below half the 40 rows
def test_rank_cut_keeps_the_group_block_and_balances_it(width):
    # a rank-2 block M = A B^T held by `width` columns: the cut (from M's own SVD when
    # the factors are wide, from their QR decompositions when narrow) keeps 2 + 2 spare
    # columns, the same M (dense SVD, to rounding), and balanced factors
    from lpm.solvers.grouped_factors import GroupedFactors

    model = lpm.Model(np.arange(40.0, 0.0, -1.0), 1.0, 2.0)  # 40 groups of one class
    problem = GroupedFactors(model)
    rng = np.random.default_rng(5)
    C = rng.standard_normal((2, width))
    A, B = rng.standard_normal((40, 2)) @ C, rng.standard_normal((40, 2)) @ C
    cut = problem.truncated(problem.pack(A, B, np.zeros(0)), 1e-3)
    A2, B2, _ = problem.split(cut)
    assert problem.r == 4
    M = A @ B.T
    np.testing.assert_allclose(A2 @ B2.T, M, atol=1e-12 * np.abs(M).max())
    sv = np.linalg.svd(M, compute_uv=False)[:4]
    np.testing.assert_allclose(A2.T @ A2, np.diag(sv), atol=1e-12 * sv[0])
    np.testing.assert_allclose(B2.T @ B2, np.diag(sv), atol=1e-12 * sv[0])


@pytest.mark.parametrize("loss", ["ce", "squared"])
def test_grouped_gauss_newton_diagonal_against_the_dense_hessian(loss):
    # groups of several classes: J = d vec(Z) / dx of Z = E A B^T E^T + sum_g s_g D_g D_g^T,
    # s_g = y_g^2 / (2 m_g), by central differences (exact: Z is bilinear in A, B and
    # quadratic in y), against the Hessian of f in the full K x K logits
    from lpm.solvers.grouped_factors import GroupedFactors

    model = lpm.Model([4.0, 4.0, 4.0, 2.0, 2.0, 1.0], 1.0, 2.0, loss=loss)
    problem = GroupedFactors(model)
    rng = np.random.default_rng(3)
    G, r = model.groups.G, 2
    x = problem.pack(rng.standard_normal((G, r)), rng.standard_normal((G, r)), rng.random(2))
    K = model.K
    J = np.zeros((K * K, x.size))
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 0.5
        J[:, i] = (problem.logits(x + e).dense() - problem.logits(x - e).dense()).ravel()
    Z = problem.logits(x).dense()
    if loss == "ce":
        hess = _dense_softmax_hessian(model, Z, 0.0)
    else:
        hess = np.kron(np.diag(model.pi), np.eye(K))  # 1/2 sum pi_k |z_k - e_k|^2
    expected = np.diag(J.T @ hess @ J)
    _, _, aux = problem.evaluate(x, curvature=True)
    np.testing.assert_allclose(problem.gauss_newton_diagonal(x, aux), expected, rtol=1e-9)


def test_numbers_do_not_depend_on_the_callers_blas_threads():
    # the iteration runs with one BLAS thread (blas_threads=1): the same call gives the
    # same bits under any thread setting of the caller, and the option is checked
    from threadpoolctl import threadpool_limits

    model = lpm.Model(lpm.counts.long_tailed(200, rho=100, n_max=5000), 1.0, 5.0)
    with threadpool_limits(2):
        a = lpm.solve_model(model, method="lowrank")
    with threadpool_limits(1):
        b = lpm.solve_model(model, method="lowrank")
    assert a.success and (a.objective, a.gap, a.iterations) == (b.objective, b.gap, b.iterations)
    np.testing.assert_array_equal(a.logits_repr.M, b.logits_repr.M)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="blas_threads"):
            lpm.solve_lowrank(model, blas_threads=bad)


@pytest.mark.parametrize("loss", ["ce", "squared", ("label_smoothing", 0.1)])
def test_grouped_slots_give_the_same_numbers(loss):
    # the constants made once per problem change no bit of the value, gradient or
    # curvature (groups of one class too, whose same-group slot no class carries)
    from lpm.model.logits import grouped_derivatives, grouped_slots

    loss = lpm.get_loss(loss[0], alpha=loss[1]) if isinstance(loss, tuple) else lpm.get_loss(loss)
    g = lpm.Model([9.0, 9.0, 4.0, 2.0, 2.0, 2.0, 1.0], 1.0, 2.0, loss=loss).groups
    rng = np.random.default_rng(11)
    M, s = rng.standard_normal((g.G, g.G)), np.abs(rng.standard_normal(g.G))
    s[g.sizes == 1] = 0.0
    slots = grouped_slots(g.sizes, g.weights)
    for curvature in (False, True):
        plain = grouped_derivatives(g.sizes, g.weights, M, s, loss, curvature)
        cached = grouped_derivatives(g.sizes, g.weights, M, s, loss, curvature, slots=slots)
        assert plain[0] == cached[0]
        for a, b in zip(plain[1:3], cached[1:3]):
            np.testing.assert_array_equal(a, b)
        if curvature:
            for a, b in zip(plain[3], cached[3]):
                np.testing.assert_array_equal(a, b)


@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
@settings(max_examples=30, deadline=None)
def test_support_norm_is_a_lower_bound_exact_on_the_top_pair(seed, r):
    # sigma_max(G Q), Q an orthonormal basis of span(B): never above sigma_max(G) (SVD),
    # and equal to it when the top right singular vector lies in the span
    from lpm.solvers.grouped_factors import support_norm

    rng = np.random.default_rng(seed)
    G = rng.standard_normal((12, 12))
    B = rng.standard_normal((12, r))
    top = np.linalg.norm(G, 2)
    assert support_norm(G, B) <= top * (1 + 1e-13)
    v = np.linalg.svd(G)[2][0]
    B[:, 0] = v + 1e-3 * B[:, 0] if r == 1 else v
    if r > 1:
        assert support_norm(G, B) == pytest.approx(top, rel=1e-13)
    else:  # a perturbed top vector: off by the square of the perturbation
        assert top - support_norm(G, B) <= 1e-4 * top


def test_single_precision_first_iterations_certify_the_same_optimum(monkeypatch):
    # the products of the iterations before the first rank review in single precision
    # (forced here on a small problem): the same optimum within the certified gaps, the
    # same numbers on a second call, and a stop inside that phase (max_iter) still returns
    # a point evaluated and certified in double precision
    from lpm.solvers import sphere_lbfgs

    counts = lpm.counts.long_tailed(40, rho=20, n_max=200)
    model = lpm.Model(counts, 1.0, 2.0)
    plain = lpm.solve_model(model, method="lowrank", gap_tol=1e-8)
    monkeypatch.setattr(sphere_lbfgs, "SINGLE_ROWS", 1)
    first = lpm.solve_model(model, method="lowrank", gap_tol=1e-8)
    again = lpm.solve_model(model, method="lowrank", gap_tol=1e-8)
    assert plain.success and first.success
    assert abs(first.objective - plain.objective) <= first.gap + plain.gap
    assert first.objective == again.objective and first.gap == again.gap
    early = lpm.solve_model(model, method="lowrank", gap_tol=1e-8, solver_options={"max_iter": 5})
    assert not early.success and early.iterations == 5
    assert plain.objective - plain.gap <= early.objective <= plain.objective + early.gap


def test_single_precision_only_from_the_etf_start(monkeypatch):
    # a warm start (a neighbouring solution) is near the optimum: its iterations and the
    # restricted solves of the structure test stay in double precision throughout
    from lpm.solvers import sphere_lbfgs
    from lpm.solvers.grouped_factors import GroupedFactors

    model = lpm.Model(lpm.counts.long_tailed(30, rho=20, n_max=200), 1.0, 2.0)
    base = lpm.solve_model(model, method="lowrank", gap_tol=1e-6)
    seen = []
    evaluate = GroupedFactors.evaluate

    def spy(self, x, curvature=False):
        seen.append(self.single)
        return evaluate(self, x, curvature)

    monkeypatch.setattr(sphere_lbfgs, "SINGLE_ROWS", 1)
    monkeypatch.setattr(GroupedFactors, "evaluate", spy)
    warm = lpm.solve_model(model, method="lowrank", gap_tol=1e-9, solver_options={"start": base})
    assert warm.success and seen and not any(seen)
    seen.clear()
    lpm.solve_model(model, method="lowrank", gap_tol=1e-6)
    assert seen[0] and not seen[-1]  # from the ETF: single first, double at the end
