"""The class-dependent losses (logit adjustment, CDT, VS, LDAM): every evaluation against
the papers' definitions written out here, every route against the others, the
certificates, the exact collapse test and its threshold, and the refusals."""

import math

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import lpm
from lpm.model.logits import DenseLogits, GroupedLogits, grouped_derivatives

#: (name, parameters) of each loss, with LDAM at a small scale so that its loss is of
#: order one on these budgets (at s = 30 it is ~1e-30, where agreement means nothing)
CASES = [
    ("logit_adjusted", {}),
    ("logit_adjusted", {"tau": 0.5}),
    ("cdt", {}),
    ("vs", {}),
    ("vs", {"gamma": 0.2, "tau": 1.5}),
    ("ldam", {"s": 2.0}),
]
IDS = [f"{n}-{'-'.join(f'{k}{v}' for k, v in p.items())}" for n, p in CASES]


def direct_row(name: str, params: dict, counts: np.ndarray, z: np.ndarray, k: int) -> float:
    """L(z, k) from each paper's own formula (no code shared with the package)."""
    n = np.asarray(counts, float)
    prior = n / n.sum()
    if name == "logit_adjusted":  # Menon et al. (2021): CE on z + tau log pi
        u = z + params.get("tau", 1.0) * np.log(prior)
    elif name == "cdt":  # Ye et al. (2020): logits divided by (n_max / n_j)^gamma
        u = z / (n.max() / n) ** params.get("gamma", 0.3)
    elif name == "vs":  # Kini et al. (2021): Delta_j z_j + iota_j
        delta = (n / n.max()) ** params.get("gamma", 0.3)
        u = delta * z + params.get("tau", 1.0) * np.log(prior)
    else:  # Cao et al. (2019): s (z - Delta_k e_k), Delta_k = C / n_k^(1/4), max 0.5
        m = 1.0 / n**0.25
        m *= params.get("max_margin", 0.5) / m.max()
        u = z.astype(float).copy()
        u[k] -= m[k]
        u *= params.get("s", 30.0)
    return float(logsumexp(u) - u[k])


def direct(name, params, counts, Z, w) -> float:
    return sum(w[k] * direct_row(name, params, counts, Z[k], k) for k in range(len(counts)))


def bound(name, params, counts):
    return lpm.get_loss(name, **params).bind(counts)


COUNTS = np.array([40.0, 40.0, 7.0, 7.0, 7.0, 2.0])


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_dense_matches_the_definition_and_finite_differences(name, params):
    rng = np.random.default_rng(0)
    K = COUNTS.size
    Z = rng.standard_normal((K, K))
    w = rng.random(K)
    loss = bound(name, params, COUNTS)
    value, G = loss.dense(Z, w)
    assert value == pytest.approx(direct(name, params, COUNTS, Z, w), rel=1e-13)
    eps = 1e-6
    for i, j in [(0, 0), (1, 4), (5, 2), (3, 3)]:
        E = np.zeros((K, K))
        E[i, j] = eps
        fd = (direct(name, params, COUNTS, Z + E, w) - direct(name, params, COUNTS, Z - E, w)) / (
            2 * eps
        )
        assert G[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # the cvxpy expression of the conic routes
    assert loss.cvx(cp.Parameter((K, K), value=Z), w).value == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_compressed_rows_expand_to_the_definition(name, params):
    # row of class 2 (count 7): own value 0.3, its two same-count classes at -1, the two
    # classes of count 40 at 0.5, the class of count 2 at 1.2
    loss = bound(name, params, COUNTS)
    V = np.array([[0.3, -1.0, 0.5, 1.2]])
    mult = np.array([[1.0, 2.0, 2.0, 1.0]])
    classes = np.array([[2, 3, 0, 5]])
    value, grad, hess = loss.rows(V, mult, hessian=True, classes=classes)
    z = np.array([0.5, 0.5, 0.3, -1.0, -1.0, 1.2])
    assert value[0] == pytest.approx(direct_row(name, params, COUNTS, z, 2), rel=1e-13)
    eps = 1e-6
    for j in range(4):
        E = np.zeros_like(V)
        E[0, j] = eps
        up, down = (loss.rows(V + s * E, mult, classes=classes) for s in (1, -1))
        assert grad[0, j] == pytest.approx((up[0] - down[0])[0] / (2 * eps), rel=1e-7, abs=1e-10)
        np.testing.assert_allclose(
            hess[0, :, j], (up[1] - down[1])[0] / (2 * eps), rtol=1e-6, atol=1e-9
        )
    with pytest.raises(ValueError, match="classes"):
        loss.rows(V, mult)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_grouped_form_and_its_curvature(name, params):
    """Grouped logits evaluated in grouped form equal the dense evaluation of the same
    K x K matrix, and the curvature diag(d) - q q^T equals the Hessian in the slots."""
    model = lpm.Model(COUNTS, 1.0, 2.0, loss=name, loss_params=params)
    g = model.groups
    assert g.G == 3
    rng = np.random.default_rng(1)
    Z = GroupedLogits(g, rng.standard_normal((3, 3)), rng.random(3))
    value, grad = Z.value_and_gradient(model)
    v_dense, G_dense = model.loss.dense(Z.dense(), model.pi)
    assert value == pytest.approx(v_dense, rel=1e-13)
    assert value == pytest.approx(direct(name, params, COUNTS, Z.dense(), model.pi), rel=1e-13)
    np.testing.assert_allclose(GroupedLogits(g, grad.M, grad.s).dense(), G_dense, atol=1e-14)
    # the Hessian of one grouped row in its slot values (own, then X[0], X[1], X[2])
    rows = model.loss.on_groups(g.first)
    own = rng.standard_normal(3)
    X = rng.standard_normal((3, 3))
    mult = np.broadcast_to(g.sizes.astype(float), (3, 3)).copy()
    np.fill_diagonal(mult, g.sizes - 1.0)
    _, _, _, (d_own, d_X, q_own, q_X) = rows.grouped(own, X, mult, curvature=True)
    r = 1  # the row of the classes of count 7
    H = np.diag(np.r_[d_own[r], d_X[r]]) - np.outer(
        np.r_[q_own[r], q_X[r]], np.r_[q_own[r], q_X[r]]
    )
    eps = 1e-6
    for j in range(4):
        dO, dX = np.zeros(3), np.zeros((3, 3))
        (dO if j == 0 else dX[r])[r if j == 0 else j - 1] = eps
        up = rows.grouped(own + dO, X + dX, mult)
        down = rows.grouped(own - dO, X - dX, mult)
        fd = np.r_[(up[1] - down[1])[r], (up[2] - down[2])[r]] / (2 * eps)
        np.testing.assert_allclose(H[:, j], fd, rtol=1e-6, atol=1e-9)


@settings(max_examples=25)
@given(
    counts=st.lists(st.integers(1, 60), min_size=2, max_size=6),
    case=st.integers(0, len(CASES) - 1),
    seed=st.integers(0, 2**16),
)
def test_dense_matches_the_definition_for_any_counts(counts, case, seed):
    name, params = CASES[case]
    counts = np.array(counts, float)
    K = counts.size
    rng = np.random.default_rng(seed)
    Z, w = 2 * rng.standard_normal((K, K)), rng.random(K)
    value, _ = bound(name, params, counts).dense(Z, w)
    assert value == pytest.approx(direct(name, params, counts, Z, w), rel=1e-12)


def test_the_vs_family_contains_logit_adjustment_and_cdt():
    rng = np.random.default_rng(2)
    K = COUNTS.size
    Z, w = rng.standard_normal((K, K)), rng.random(K)

    def value(name, **params):
        return bound(name, params, COUNTS).dense(Z, w)[0]

    assert value("vs", gamma=0.0, tau=0.7) == pytest.approx(value("logit_adjusted", tau=0.7), 1e-14)
    assert value("vs", gamma=0.4, tau=0.0) == pytest.approx(value("cdt", gamma=0.4), rel=1e-14)
    for name, params in (("logit_adjusted", {"tau": 0.0}), ("cdt", {"gamma": 0.0})):
        assert value(name, **params) == pytest.approx(lpm.CrossEntropy().dense(Z, w)[0], 1e-14)


SMALL = [(3, 2, 4.0), (2, 3, 30.0)]


@pytest.mark.parametrize(("name", "params"), CASES[::2] + CASES[-1:], ids=IDS[::2] + IDS[-1:])
def test_routes_agree(name, params):
    """The reduced (Newton), low-rank (L-BFGS), nuclear-norm and SDP (cvxpy, Clarabel)
    programs reach the same objective, on two groups and on three."""
    models = [lpm.Model.two_group(*c, 1.0, 3.0, loss=name, loss_params=params) for c in SMALL]
    models.append(
        lpm.Model(np.array([9.0, 9.0, 3.0, 1.0, 1.0]), 1.0, 2.0, loss=name, loss_params=params)
    )
    for model in models:
        red = lpm.solve_model(model, method="reduced")
        assert red.success and red.gap < 1e-12
        assert not lpm.solvers.two_groups.handles(model.loss)  # the general solver's work
        for method in ("lowrank", "nuclear", "sdp"):
            sol = lpm.solve_model(
                model, method=method, solver=None if method == "lowrank" else "CLARABEL"
            )
            assert sol.objective == pytest.approx(red.objective, abs=1e-7), (method, model)
        np.testing.assert_allclose(
            lpm.solve_model(model, method="lowrank").classifier_gram(),
            red.classifier_gram(),
            atol=1e-6,
        )


@pytest.mark.parametrize("name", ["cdt", "vs"])
def test_no_shift_invariance_but_an_invariant_direction(name):
    """CDT and VS are not invariant under z -> z + t 1, but under z -> z + t / a: the
    optimum has Z a^-1 = 0, rank K - 1 suffices, and W, H at p = K - 1 are certified."""
    model = lpm.Model.two_group(3, 2, 10.0, 1.0, 3.0, loss=name)
    assert not model.loss.shift_invariant and model.min_exact_dimension == model.K - 1
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((5, 5))
    v = model.loss.invariant_direction(np.arange(5))
    moved = model.loss.dense(Z + 0.7 * v, model.pi)[0]
    assert moved == pytest.approx(model.loss.dense(Z, model.pi)[0], rel=1e-14)
    assert model.loss.dense(Z + 0.7, model.pi)[0] != pytest.approx(moved, rel=1e-6)
    red = lpm.solve_model(model, method="reduced")
    assert np.abs(red.logits @ v).max() < 1e-12 * np.abs(red.logits).max()
    sol = lpm.solve_model(model, method="nonconvex", p=model.K - 1)
    assert sol.certificate != "none" and sol.gap < 1e-6
    assert sol.objective == pytest.approx(red.objective, abs=1e-7)


@pytest.mark.parametrize(("name", "params"), CASES[::2], ids=IDS[::2])
def test_certificate_bounds_a_perturbed_points_suboptimality(name, params):
    model = lpm.Model.two_group(4, 3, 20.0, 1.0, 2.0, loss=name, loss_params=params)
    best = lpm.solve_model(model)
    rng = np.random.default_rng(7)
    for scale in (1e-1, 1e-3, 1e-5):
        Z = DenseLogits(best.logits + scale * rng.standard_normal(best.logits.shape))
        Z = Z.scaled(min(1.0, model.tau / Z.nuclear_norm()))
        value = direct(name, params, model.counts, Z.Z, model.pi)  # the true objective
        gap = Z.frank_wolfe_gap(model)
        assert 0 < value - best.objective <= gap + best.gap


def test_penalized_model_by_every_route():
    counts = np.array([20.0, 20.0, 4.0, 1.0, 1.0])
    for name in ("logit_adjusted", "vs"):
        model = lpm.PenalizedModel(counts, 0.05, 0.1, loss=name)
        red = lpm.solve_penalized_model(model, method="reduced")
        for method in ("nuclear", "nonconvex"):
            other = lpm.solve_penalized_model(
                model, method=method, solver="CLARABEL" if method == "nuclear" else None
            )
            assert other.objective == pytest.approx(red.objective, abs=1e-7)


@pytest.mark.parametrize(
    "loss", ["logit_adjusted", "cdt", "vs", lpm.LDAM(s=1.0)], ids=lambda x: str(x)
)
def test_threshold_flips_the_exact_test(loss):
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0, loss=loss)
    assert 1 < R0 < 1e4
    below, above = (
        lpm.Model.two_group(5, 5, R0 * (1 + d), 1.0, 5.0, loss=loss) for d in (-1e-6, 1e-6)
    )
    assert lpm.collapse_report(below).minority_collapsed is False
    assert lpm.collapse_report(above).minority_collapsed is True
    phi = lpm.collapse_margin(5, 5, [R0 * (1 - 1e-6), R0 * (1 + 1e-6)], 1.0, 5.0, loss=loss)
    assert phi[0] < 0 < phi[1]


def test_the_measured_thresholds():
    """R_0 on the paper's setting (K_A = K_B = 5, E_W = 1, E_H = 5) with each loss at its
    paper's defaults (the numbers of docs/beyond.md): each of these losses moves the onset
    of Minority Collapse *down*; oversampling by w_r moves it up to w_r R_0."""
    expected = {
        "ce": 12.1924470803,
        "logit_adjusted": 11.6467104695,
        "cdt": 5.94123441171,
        "vs": 5.01638856198,
    }
    for name, value in expected.items():
        assert lpm.collapse_threshold(5, 5, 1.0, 5.0, loss=name) == pytest.approx(value, rel=1e-8)


def test_threshold_against_the_conic_route():
    """Independent check of R_0 for VS: the nuclear-norm program (Clarabel) sees the
    within-minority singular value of the logits vanish linearly at R_0."""
    R0 = lpm.collapse_threshold(5, 5, 1.0, 5.0, loss="vs")
    Rs = R0 * (1 - np.array([0.08, 0.04]))
    within = []
    for R in Rs:
        sol = lpm.solve(5, 5, R, 1.0, 5.0, method="nuclear", solver="CLARABEL", loss="vs")
        within.append(GroupedLogits.from_dense(sol.model.groups, sol.logits).s[1])
    slope = (within[1] - within[0]) / (Rs[1] - Rs[0])
    assert within[0] > within[1] > 0
    assert Rs[1] - within[1] / slope == pytest.approx(R0, rel=5e-3)
    above = lpm.solve(5, 5, 1.05 * R0, 1.0, 5.0, method="nuclear", solver="CLARABEL", loss="vs")
    assert GroupedLogits.from_dense(above.model.groups, above.logits).s[1] < 1e-6


def test_explicit_vectors_refine_the_groups():
    """Per-class parameters given as vectors: classes of equal count but different
    margins are not interchangeable, and the reduced program sees that."""
    counts = np.array([5.0, 5.0, 5.0, 1.0])
    loss = lpm.LDAM(s=1.0, margins=[0.1, 0.1, 0.4, 0.5])
    model = lpm.Model(counts, 1.0, 2.0, loss=loss)
    assert model.groups.sizes.tolist() == [2, 1, 1]
    red = lpm.solve_model(model, method="reduced")
    nuc = lpm.solve_model(model, method="nuclear", solver="CLARABEL")
    assert red.objective == pytest.approx(nuc.objective, abs=1e-7)
    with pytest.raises(ValueError, match="same coefficients"):
        lpm.collapse_threshold(2, 2, loss=lpm.LDAM(margins=[0.1, 0.2, 0.3, 0.3]))


@pytest.mark.parametrize(
    ("name", "params", "what"),
    [
        ("logit_adjusted", {"tau": -1.0}, "tau"),
        ("logit_adjusted", {"tau": math.nan}, "tau"),
        ("logit_adjusted", {"prior": [0.5, 0.5]}, "prior"),
        ("cdt", {"gamma": -0.1}, "gamma"),
        ("cdt", {"gamma": math.inf}, "gamma"),
        ("cdt", {"temperatures": [1.0, 2.0, 3.0]}, "temperatures"),
        ("vs", {"tau": -2.0}, "tau"),
        ("vs", {"gamma": math.nan}, "gamma"),
        ("vs", {"Delta": [1.0, 0.5]}, "Delta"),
        ("vs", {"iota": [0.0, math.nan, 0.0, 0.0, 0.0]}, "iota"),
        ("ldam", {"s": 0.0}, "s"),
        ("ldam", {"max_margin": -0.5}, "max_margin"),
        ("ldam", {"margins": [0.1] * 7}, "margins"),
        ("ldam", {"scale": 30}, "scale"),
    ],
)
def test_bad_parameters_are_refused_by_name(name, params, what):
    with pytest.raises(ValueError, match=what):
        lpm.solve(3, 2, 10.0, loss=name, loss_params=params)


def test_refusals_of_use():
    with pytest.raises(ValueError, match="R = inf"):
        lpm.Model.two_group(3, 2, math.inf, loss="vs")
    with pytest.raises(ValueError, match="bind it first"):
        lpm.VectorScaling().dense(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="bound to 6 classes"):
        bound("cdt", {}, COUNTS).dense(np.zeros((3, 3)), np.ones(3))


def test_balanced_counts_give_cross_entropys_optimum():
    """At equal counts each loss is cross-entropy (LDAM: of margins s(z - 0.5 e_k)), and
    the optimum is the simplex ETF of Theorem 1."""
    for name, params in CASES:
        sol = lpm.solve_counts(np.full(6, 3.0), 1.0, 2.0, loss=name, loss_params=params)
        assert sol.is_simplex_etf()
        if name != "ldam":
            assert sol.objective == pytest.approx(
                lpm.balanced_optimum(6, 1.0, 2.0).objective, 1e-13
            )


def test_equal_weights_but_different_counts_are_two_groups():
    """Oversampling by w_r = R makes the loss weights equal; a count-dependent loss still
    tells the majority from the minority."""
    model = lpm.Model.two_group(3, 2, 8.0, 1.0, 2.0, loss="vs", oversample=8.0)
    assert model.groups.G == 2 and model.groups.weights[0] == model.groups.weights[1]
    red = lpm.solve_model(model)
    nuc = lpm.solve_model(model, method="nuclear", solver="CLARABEL")
    assert red.objective == pytest.approx(nuc.objective, abs=1e-7)


def test_grouped_derivatives_need_the_classes_of_a_class_dependent_loss():
    model = lpm.Model(COUNTS, loss="vs")
    g = model.groups
    with pytest.raises(ValueError, match="classes"):
        grouped_derivatives(g.sizes, g.weights, np.eye(3), np.ones(3), model.loss)


@pytest.mark.parametrize("name", ["logit_adjusted", "cdt", "vs"])
@pytest.mark.parametrize("R", [30.0, 1000.0])
def test_collapsed_minority_gradient_is_its_weight_times_its_scale(name, R):
    """At a collapsed minority the own and the other minority logits are equal, before
    and after the map, so the KKT quantity is gamma_B = pi_B a_B (cross-entropy: pi_B):
    the collapse test reads lambda >= pi_B (n_B / n_max)^gamma for CDT and VS."""
    model = lpm.Model.two_group(5, 5, R, 1.0, 5.0, loss=name)
    report = lpm.collapse_report(model)
    assert report.minority_collapsed
    a_B = (1.0 / R) ** 0.3 if name != "logit_adjusted" else 1.0
    assert report.gamma[1] == pytest.approx(model.pi[-1] * a_B, rel=1e-13)
    assert report.multiplier >= report.gamma[1]


def test_ldam_collapse_quantity():
    """LDAM: the own logit carries the margin, p_own = exp(-s Delta_B) p_other, and
    gamma_B = s pi_B (1 - p_own + p_other) at the collapsed optimum."""
    loss = lpm.LDAM(s=1.0)
    model = lpm.Model.two_group(5, 5, 50.0, 1.0, 5.0, loss=loss)
    report = lpm.collapse_report(model)
    assert report.minority_collapsed
    d, e, C = report.logits.entries()
    margin = model.loss.own[-1] / -1.0  # s Delta_B, s = 1
    row = np.r_[d[1] - margin, np.full(4, e[1]), np.full(5, C[1, 0])]
    p = np.exp(row - logsumexp(row))
    assert p[0] == pytest.approx(np.exp(-margin) * p[1], rel=1e-14)
    assert report.gamma[1] == pytest.approx(model.pi[-1] * (1 - p[0] + p[1]), rel=1e-12)


def test_per_class_budgets_by_the_sdp_and_the_nonconvex_route():
    for name, params in (("vs", {}), ("ldam", {"s": 2.0})):
        kw = dict(loss=name, loss_params=params, constraint="per_class")
        sdp = lpm.solve(3, 2, 10.0, 1.0, 2.0, method="sdp", solver="CLARABEL", **kw)
        direct_W_H = lpm.solve(3, 2, 10.0, 1.0, 2.0, method="nonconvex", **kw)
        assert direct_W_H.gap < 1e-9
        assert sdp.objective == pytest.approx(direct_W_H.objective, abs=1e-7)


@pytest.mark.parametrize("name", ["cdt", "vs"])
def test_permuting_classes_permutes_the_solution(name):
    counts = np.array([9.0, 1.0, 3.0, 9.0, 1.0])
    perm = np.array([3, 1, 4, 0, 2])
    a = lpm.solve_counts(counts, 1.0, 2.0, loss=name)
    b = lpm.solve_counts(counts[perm], 1.0, 2.0, loss=name)
    assert b.objective == pytest.approx(a.objective, rel=1e-13)
    np.testing.assert_allclose(
        b.classifier_gram(), a.classifier_gram()[np.ix_(perm, perm)], atol=1e-12
    )


@pytest.mark.parametrize("name, params", CASES + [("ldam", {})], ids=IDS + ["ldam-s30"])
def test_budget_range_from_the_etf_loss_of_the_classes(name, params):
    """The largest budget product accepted is where the loss at the simplex-ETF logits
    (feasible: an upper bound on the optimum) meets the double-precision floor, evaluated
    one row per group; the grouped value equals the papers' formulas at c (I - J/K)."""
    from lpm.model.precision import LOSS_FLOOR, etf_loss, largest_product

    model = lpm.Model(COUNTS, 1.0, 2.0, loss=name, loss_params=params)
    K = COUNTS.size
    value = etf_loss(model.loss, K, model.groups)
    c = K * math.sqrt(2.0) / (K - 1)
    etf = c * (np.eye(K) - 1.0 / K)
    assert value(0.5 * math.log(2.0)) == pytest.approx(
        direct(name, params, COUNTS, etf, model.pi), rel=1e-13
    )
    top = largest_product(value)
    assert value(0.5 * math.log(top)) >= LOSS_FLOOR > value(0.5 * math.log(top * 1.001))
    lpm.Model(COUNTS, top / 1.001, 1.0, loss=name, loss_params=params)
    with pytest.raises(ValueError, match=r"E_W \* E_H must be at most"):
        lpm.Model(COUNTS, top * 1.001, 1.0, loss=name, loss_params=params)
